//! `cargo bench --bench cmp`: Argo CD Config Management Plugin requests under concurrency, the
//! process-per-request way (what the stock `argocd-cmp-server` does: run `syncgate generate` for
//! each request) against the daemon (`syncgate serve` answering `GenerateManifest` on its socket),
//! both measured in the same run on the same application, policies, registry and images.
//!
//! Setup, printed apart and not measured: Debian's `docker-registry` on a free loopback port; IMAGES
//! distinct images, each with a keyless cosign signature from the release workflow and an SLSA v1
//! provenance attestation (the project's test signer); a policy directory with one set, `default`:
//! a `WorkloadPolicy` (restricted profile, digests and resource requests enforced) and an
//! `ImagePolicy` demanding the signature and the provenance; an application of plain YAML, 10
//! Deployments (two containers each, 20 image sites referencing the images by tag, round robin)
//! and 10 Services, and its `.tar.gz` as Argo CD streams it (the repository root, with the
//! application under `apps/shop`); an HMAC key file for the caches.
//!
//! Then, ROUNDS times with CONCURRENCY requests in flight at once (round 1 cold, later ones warm),
//! one round of each mode, the process-per-request round first in odd rounds and second in even
//! ones (so both modes see the same history of the machine and the disk):
//!
//! - process-per-request: for each request, the repository unpacked from the archive into a fresh
//!   directory (as the stock server does) and `syncgate generate` (the release binary) run in the
//!   application directory with the CMP environment, one disk cache directory and the HMAC key file
//!   shared by every process (so verified evidence and resolutions persist between processes, as
//!   they would in a sidecar). Receiving the gRPC stream, which the stock server also does, is left
//!   out, so these latencies are a lower bound. Every process must exit 0 with the pinned manifests
//!   on stdout. Memory and CPU: each child runs under `/usr/bin/time -f '%M %U %S'` (max RSS and
//!   user + system CPU of the child, from `wait4`) when that program exists; otherwise memory is not
//!   measured for this mode, and the output says so. The CPU of the stock server's part (unpacking,
//!   spawning) is this benchmark's own over the round (`/proc/self/stat`), added to the children's.
//! - daemon: one `syncgate serve` (same policies, its own empty disk cache, the same key file), and
//!   per request a new connection to its CMP socket (as the repo-server dials per call) streaming
//!   the metadata (appName, appRelPath, checksum = SHA-256 of the compressed bytes, size, env) and
//!   the archive in 1024-byte chunks. Every response must carry the pinned manifests. CPU: the
//!   daemon's user + system time over the round (`/proc/<pid>/stat`). Memory: its `VmRSS` once
//!   ready (idle) and its `VmHWM` after all rounds, which must stay within a bound: idle + 64 MiB +
//!   CONCURRENCY x (256 KiB + 32 x the application's YAML bytes). Per request in flight: its HTTP/2
//!   connection (64 KiB flow-control window plus read and write buffers) and the parsed documents,
//!   report and JSON response (the parsed tree is the largest, well under 32x the text); fixed:
//!   allocator arenas of the blocking threads (extraction, directory reads, disk cache),
//!   verification material and the caches.
//!
//! Latencies are per request, from the start of the unpacking or the dialling of the socket to the
//! process's exit or the response; p50 and p99 are nearest-rank. Printed: p50, p99 and max per mode
//! and round, requests per second, registry requests per request (from the registry's access log),
//! the ratios daemon / process-per-request (the peer measured in the same run), CPU per request,
//! memory, and the error count, which must be 0.
//!
//! Everything lives under `$TMPDIR` (registry storage, caches, request directories). Both modes
//! create and delete about 16 files and directories per request; on ext4 without a journal, inode
//! allocation skips recently deleted inodes one by one, so that cost grows with the churn of the
//! run. `TMPDIR=/dev/shm` measures without it. Usage:
//! `cargo bench --bench cmp [-- CONCURRENCY [ROUNDS [IMAGES]]]` (defaults 64, 3, 20).

#![allow(clippy::print_stdout, reason = "a benchmark command prints its figures")]

#[path = "servers.rs"]
mod servers;
#[path = "signing.rs"]
mod signing;

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use sha2::Digest as _;
use syncgate::server::proto::plugin::app_stream_request::Request as Message;
use syncgate::server::proto::plugin::config_management_plugin_service_client::ConfigManagementPluginServiceClient;
use syncgate::server::proto::plugin::{AppStreamRequest, EnvEntry, File, ManifestRequestMetadata};
use tonic::transport::Endpoint;

use servers::{Server, WorkDir, require, start, start_registry};
use signing::{Image, PROVENANCE, SIGNATURE_ONLY, sign_images};

/// Deployments (and as many Services) in the application.
const DEPLOYMENTS: usize = 10;
/// Containers per Deployment, each an image site.
const CONTAINERS: usize = 2;
/// Where the application sits in the repository archive.
const APP_PATH: &str = "apps/shop";
/// Argo CD's chunk size (`ARGOCD_CMP_CHUNK_SIZE` default).
const CHUNK: usize = 1024;
/// A request that takes longer fails the benchmark.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Fixed part of the daemon's memory bound.
const FIXED_BOUND: u64 = 64 << 20;
/// Per-request part of the bound besides the documents: an HTTP/2 connection's buffers.
const CONNECTION_BOUND: u64 = 256 << 10;
/// Parsed documents, report and response per byte of YAML text.
const DOCUMENT_FACTOR: u64 = 32;

const WORKLOAD_POLICY: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: production}
spec:
  profile: restricted
  mode: enforce
  rules:
    require-image-digest: enforce
    disallow-privileged: enforce
    require-resource-requests: enforce
";

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it, to
    // check that they start, and the test suite must not run a benchmark.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("syncgate cmp bench: run it with `cargo bench --bench cmp`");
        return Ok(());
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let number = |index: usize, default: usize, name: &str| -> anyhow::Result<usize> {
        args.get(index).map_or(Ok(default), |text| text.parse().with_context(|| format!("{name} must be a number")))
    };
    let concurrency = number(0, 64, "CONCURRENCY")?;
    let rounds = number(1, 3, "ROUNDS")?;
    let count = number(2, 20, "IMAGES")?;
    ensure!(concurrency > 0 && rounds > 0 && count > 0, "CONCURRENCY, ROUNDS and IMAGES must be at least 1");
    require("docker-registry", "docker-registry")?;
    if cfg!(debug_assertions) {
        println!("note: a debug build; figures are only meaningful from `cargo bench`");
    }

    let work = WorkDir::create("syncgate-cmp-bench")?;
    let started = Instant::now();
    let (_registry, port) = start("docker-registry", |port| start_registry(&work.0, port))?;
    let host = format!("127.0.0.1:{port}");
    let images = sign_images(&work, &host, count)?;
    let setup = Setup::write(&work.0, &host, &images)?;
    println!(
        "syncgate cmp bench: {concurrency} concurrent GenerateManifest requests x {rounds} rounds (round 1 cold)\n\
         app: {DEPLOYMENTS} Deployments ({} image sites over {count} signed + attested images) and {DEPLOYMENTS} \
         Services, {:.1} KiB of YAML, {:.1} KiB .tar.gz ({} x {CHUNK}-byte chunks)",
        setup.expected.len(),
        setup.yaml_bytes as f64 / 1024.0,
        setup.archive.len() as f64 / 1024.0,
        setup.archive.len().div_ceil(CHUNK),
    );
    println!(
        "setup: registry, images, policies, app and archive in {:.1} s (not measured)",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start Tokio")?;
    let setup = Arc::new(setup);

    let time = Some(PathBuf::from("/usr/bin/time")).filter(|path| path.is_file());
    let daemon = Daemon::start(&work.0, &setup)?;
    let idle = daemon.status_kib("VmRSS")?;
    let (mut process, mut daemon_rounds) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    // Interleaved, alternating which mode goes first, so that both see the same history of the
    // machine and the disk (deleted inodes, page cache, other load).
    for round in 0..rounds {
        for daemon_turn in [round % 2 == 1, round % 2 == 0] {
            let requests = registry_requests(&setup.registry_log)?;
            let mut measured = if daemon_turn {
                let pid = daemon.server.child.id().to_string();
                let cpu = cpu_seconds(&pid)?.0;
                let mut measured = runtime.block_on(daemon_round(&setup, &daemon.socket, concurrency))?;
                measured.cpu = Some(cpu_seconds(&pid)?.0 - cpu);
                measured
            } else {
                let (own, children) = cpu_seconds("self")?;
                let mut measured = runtime.block_on(process_round(&setup, time.as_deref(), round, concurrency))?;
                // The server's share: the processes (from /usr/bin/time, which leaves its own cost
                // out, or else every child this benchmark waited for) and the unpacking and
                // spawning done here.
                let (own_after, children_after) = cpu_seconds("self")?;
                let processes = measured.cpu.unwrap_or(children_after - children);
                measured.cpu = Some(processes + own_after - own);
                measured
            };
            measured.registry = registry_requests(&setup.registry_log)? - requests;
            if daemon_turn { &mut daemon_rounds } else { &mut process }.push(measured);
        }
    }
    let memory = (idle, daemon.status_kib("VmHWM")?, daemon.status_kib("VmRSS")?);
    let daemon_log = daemon.server.log_text();
    drop(daemon);

    report(&setup, concurrency, &process, &daemon_rounds, time.is_some(), memory, &daemon_log)
}

/// Everything the requests share: the application, its archive, the environment, what to expect.
struct Setup {
    /// Bytes of YAML in the application.
    yaml_bytes: u64,
    /// The repository as Argo CD streams it: gzip(tar).
    archive: Vec<u8>,
    /// The CMP environment (what argocd-cmp-server passes to the command and to the metadata).
    app_env: Vec<(String, String)>,
    /// What `syncgate generate` additionally gets from the sidecar's own environment.
    process_env: Vec<(String, String)>,
    /// Daemon flags besides sockets and addresses.
    daemon_args: Vec<String>,
    /// `host/repo:tag@digest` for every image site: each must appear in every answer.
    expected: Vec<String>,
    /// The `syncgate` binary.
    syncgate: PathBuf,
    /// Where each round's application copies go.
    scratch: PathBuf,
    /// The registry's access log.
    registry_log: PathBuf,
}

impl Setup {
    fn write(dir: &Path, host: &str, images: &[Image]) -> anyhow::Result<Setup> {
        let policies = dir.join("policies/default");
        std::fs::create_dir_all(&policies)?;
        std::fs::write(policies.join("workload.yaml"), WORKLOAD_POLICY)?;
        std::fs::write(policies.join("images.yaml"), format!("{SIGNATURE_ONLY}{PROVENANCE}"))?;
        std::fs::copy(dir.join("trusted_root.json"), policies.join("trusted_root.json"))?;
        let key = dir.join("cache.key");
        std::fs::write(&key, hex::encode(rand::random::<[u8; 32]>()))?;

        let mut files = Vec::new();
        let mut expected = Vec::new();
        for i in 0..DEPLOYMENTS {
            let sites: Vec<&Image> = (0..CONTAINERS).map(|c| &images[(i * CONTAINERS + c) % images.len()]).collect();
            for image in &sites {
                expected.push(format!("{}@{}", image.reference, image.digest));
            }
            let text = format!("{}---\n{}", deployment(i, &sites), service(i));
            files.push((format!("app-{i}.yaml"), text));
        }
        let yaml_bytes = files.iter().map(|(_, text)| text.len() as u64).sum();
        let mut entries: Vec<(String, &str)> = vec![("README.md".into(), "The shop's manifests.\n")];
        entries.extend(files.iter().map(|(name, text)| (format!("{APP_PATH}/{name}"), text.as_str())));
        let archive = tar_gz(&entries)?;

        let app_env: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", "shop"),
            ("ARGOCD_APP_NAMESPACE", "shop"),
            ("ARGOCD_APP_PROJECT_NAME", "default"),
            ("ARGOCD_APP_REVISION", "5a1d3e4b2c7f8091a2b3c4d5e6f708192a3b4c5d"),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/acme/shop-deploy"),
            ("ARGOCD_APP_SOURCE_PATH", APP_PATH),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main"),
            ("ARGOCD_ENV_POLICY", "default"),
            ("KUBE_VERSION", "1.33.1"),
            ("KUBE_API_VERSIONS", "apps/v1,apps/v1/Deployment,v1,v1/Service"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let path = |p: PathBuf| p.display().to_string();
        let process_env = vec![
            ("HOME".to_owned(), path(dir.join("home"))),
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
            ("SYNCGATE_POLICY_DIR".to_owned(), path(dir.join("policies"))),
            ("SYNCGATE_INSECURE_REGISTRIES".to_owned(), host.to_owned()),
            ("SYNCGATE_CACHE_DIR".to_owned(), path(dir.join("process-cache"))),
            ("SYNCGATE_CACHE_KEY_FILE".to_owned(), path(key.clone())),
        ];
        let daemon_args = vec![
            "--policy-dir".to_owned(),
            path(dir.join("policies")),
            "--insecure-registry".to_owned(),
            host.to_owned(),
            "--cache-dir".to_owned(),
            path(dir.join("daemon-cache")),
            "--cache-key-file".to_owned(),
            path(key),
        ];
        Ok(Setup {
            yaml_bytes,
            archive,
            app_env,
            process_env,
            daemon_args,
            expected,
            syncgate: PathBuf::from(env!("CARGO_BIN_EXE_syncgate")),
            scratch: dir.join("copies"),
            registry_log: dir.join("registry.log"),
        })
    }

    /// The metadata and chunk messages of one `GenerateManifest` call.
    fn messages(&self) -> anyhow::Result<Vec<AppStreamRequest>> {
        let metadata = ManifestRequestMetadata {
            app_name: "shop".into(),
            app_rel_path: APP_PATH.into(),
            checksum: hex::encode(sha2::Sha256::digest(&self.archive)),
            size: i64::try_from(self.archive.len())?,
            env: self
                .app_env
                .iter()
                .map(|(name, value)| EnvEntry { name: name.clone(), value: value.clone() })
                .collect(),
        };
        let mut out = vec![AppStreamRequest { request: Some(Message::Metadata(metadata)) }];
        out.extend(
            self.archive
                .chunks(CHUNK)
                .map(|chunk| AppStreamRequest { request: Some(Message::File(File { chunk: chunk.to_vec() })) }),
        );
        Ok(out)
    }

    /// Every image site came back pinned to the digest that was pushed (and so verified).
    fn check(&self, manifests: &str) -> anyhow::Result<()> {
        ensure!(!manifests.trim().is_empty(), "no manifests");
        let pinned = manifests.matches("@sha256:").count();
        ensure!(pinned == self.expected.len(), "{pinned} pinned images, expected {}", self.expected.len());
        if let Some(missing) = self.expected.iter().find(|e| !manifests.contains(e.as_str())) {
            bail!("{missing} is not in the answer");
        }
        Ok(())
    }
}

/// A restricted-profile compliant Deployment running one container per image.
fn deployment(i: usize, images: &[&Image]) -> String {
    let mut containers = String::new();
    for (c, image) in images.iter().enumerate() {
        let _ = write!(
            containers,
            "        - name: c{c}
          image: {}
          resources:
            requests: {{cpu: 100m, memory: 64Mi}}
            limits: {{memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
",
            image.reference
        );
    }
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}}}}}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
{containers}"
    )
}

fn service(i: usize) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  labels: {{app: app-{i}}}
spec:
  selector: {{app: app-{i}}}
  ports:
    - {{name: http, port: 80, targetPort: 8080}}
"
    )
}

fn tar_gz(files: &[(String, &str)]) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_path(path)?;
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append(&header, text.as_bytes())?;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner()?)?;
    Ok(gz.finish()?)
}

/// One request's latency and, when measured, the max RSS of its process in KiB and the CPU
/// seconds (user + system) it used.
struct Sample {
    seconds: f64,
    rss_kib: Option<u64>,
    cpu: Option<f64>,
}

/// One round: every request's sample, its wall time, the CPU seconds the server side used, and the
/// requests the registry logged.
struct Round {
    samples: Vec<Sample>,
    wall: f64,
    cpu: Option<f64>,
    registry: u64,
}

/// `concurrency` processes of `syncgate generate` at once, each in its own fresh copy of the
/// repository, unpacked from the archive as the stock server does for every request.
async fn process_round(
    setup: &Arc<Setup>,
    time: Option<&Path>,
    round: usize,
    concurrency: usize,
) -> anyhow::Result<Round> {
    let base = setup.scratch.join(format!("round-{round}"));
    std::fs::create_dir_all(&base)?;
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..concurrency {
        let setup = Arc::clone(setup);
        let time = time.map(Path::to_path_buf);
        let dir = base.join(n.to_string());
        calls.spawn(async move {
            let sample = run_generate(&setup, time.as_deref(), &dir).await;
            // The stock server removes the request's directory after answering: not timed.
            let _ = tokio::fs::remove_dir_all(&dir).await;
            sample
        });
    }
    let round = collect(calls, started, "syncgate generate").await;
    let _ = std::fs::remove_dir_all(&base);
    round
}

async fn run_generate(setup: &Arc<Setup>, time: Option<&Path>, dir: &Path) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let unpacked = {
        let (setup, dir) = (Arc::clone(setup), dir.to_path_buf());
        tokio::task::spawn_blocking(move || {
            tar::Archive::new(flate2::read::GzDecoder::new(&setup.archive[..])).unpack(&dir)
        })
    };
    unpacked.await?.context("cannot unpack the archive")?;
    let rss_file = dir.with_extension("rss");
    let mut command = match time {
        Some(time) => {
            let mut command = tokio::process::Command::new(time);
            command.args(["-f", "%M %U %S", "-o"]).arg(&rss_file).arg(&setup.syncgate);
            command
        }
        None => tokio::process::Command::new(&setup.syncgate),
    };
    command
        .arg("generate")
        .current_dir(dir.join(APP_PATH))
        .env_clear()
        .envs(setup.app_env.iter().chain(&setup.process_env).map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(REQUEST_TIMEOUT, command.output())
        .await
        .map_err(|_| anyhow!("no exit within {REQUEST_TIMEOUT:?}"))?
        .context("cannot run syncgate generate")?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.success(), "exit {}; stderr:\n{stderr}", output.status);
    setup.check(&String::from_utf8_lossy(&output.stdout)).with_context(|| format!("stderr:\n{stderr}"))?;
    let (rss_kib, cpu) = match time {
        Some(_) => {
            // GNU time writes "Command exited with non-zero status N" first on failure; the last
            // line is the format: max RSS (KiB), user and system CPU seconds.
            let text = std::fs::read_to_string(&rss_file).context("no output from /usr/bin/time")?;
            let fields: Vec<&str> = text.lines().last().unwrap_or_default().split_whitespace().collect();
            let [rss, user, system] = fields[..] else { bail!("unexpected /usr/bin/time output {text:?}") };
            let seconds = |text: &str| text.parse::<f64>().context("CPU seconds from /usr/bin/time");
            (Some(rss.parse().context("max RSS from /usr/bin/time")?), Some(seconds(user)? + seconds(system)?))
        }
        None => (None, None),
    };
    Ok(Sample { seconds, rss_kib, cpu })
}

/// `concurrency` `GenerateManifest` calls at once, each on its own connection.
async fn daemon_round(setup: &Arc<Setup>, socket: &Path, concurrency: usize) -> anyhow::Result<Round> {
    let mut requests = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        requests.push(setup.messages()?);
    }
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for messages in requests {
        let socket = socket.to_path_buf();
        let setup = Arc::clone(setup);
        calls.spawn(async move { generate_manifest(&setup, &socket, messages).await });
    }
    collect(calls, started, "GenerateManifest").await
}

async fn generate_manifest(setup: &Setup, socket: &Path, messages: Vec<AppStreamRequest>) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let channel = Endpoint::try_from(format!("unix:{}", socket.display()))?.connect().await?;
    let mut client = ConfigManagementPluginServiceClient::new(channel);
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    request.set_timeout(REQUEST_TIMEOUT);
    let response = client
        .generate_manifest(request)
        .await
        .map_err(|status| anyhow!("{:?}: {}", status.code(), status.message()))?
        .into_inner();
    let seconds = started.elapsed().as_secs_f64();
    setup.check(&response.manifests.join("\n"))?;
    Ok(Sample { seconds, rss_kib: None, cpu: None })
}

/// Waits for every call; any failure fails the round, naming how many failed and the first reason.
async fn collect(
    mut calls: tokio::task::JoinSet<anyhow::Result<Sample>>,
    started: Instant,
    what: &str,
) -> anyhow::Result<Round> {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined.map_err(anyhow::Error::from).and_then(|result| result) {
            Ok(sample) => samples.push(sample),
            Err(error) => errors.push(format!("{error:#}")),
        }
    }
    let wall = started.elapsed().as_secs_f64();
    if let Some(first) = errors.first() {
        bail!("{} of {} {what} requests failed; the first: {first}", errors.len(), errors.len() + samples.len());
    }
    let cpu = samples.iter().map(|s| s.cpu).sum::<Option<f64>>();
    Ok(Round { samples, wall, cpu, registry: 0 })
}

/// A running `syncgate serve`.
struct Daemon {
    server: Server,
    socket: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, setup: &Setup) -> anyhow::Result<Daemon> {
        let base = dir.join("daemon");
        let socket = base.join("plugins/syncgate-v1.sock");
        let (server, _) = start("syncgate serve", |port| {
            let log = base.join("serve.log");
            std::fs::create_dir_all(&base)?;
            let child = Command::new(&setup.syncgate)
                .env_clear()
                .env("HOME", dir.join("home"))
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .arg("serve")
                .arg("--cmp-socket")
                .arg(&socket)
                .arg("--socket")
                .arg(base.join("run/syncgate.sock"))
                .arg("--work-dir")
                .arg(base.join("work"))
                .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
                .args(&setup.daemon_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()
                .context("cannot run syncgate serve")?;
            let mut server = Server { name: "syncgate serve", child, log };
            server.wait_until(|| http_status(port, "/readyz") == Some(200))?;
            Ok(server)
        })?;
        Ok(Daemon { server, socket })
    }

    /// A `kB` field of `/proc/<pid>/status`, in KiB.
    fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let pid = self.server.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/{pid}/status"))
    }
}

/// User + system CPU seconds of process `pid` (or `self`) and of the children it waited for:
/// `/proc/<pid>/stat` fields 14 + 15 and 16 + 17, in USER_HZ ticks, 100 per second on Linux.
fn cpu_seconds(pid: &str) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).context("unexpected /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).context("no CPU time in stat");
    Ok(((tick(14)? + tick(15)?) as f64 / 100.0, (tick(16)? + tick(17)?) as f64 / 100.0))
}

/// Requests to `/v2/…` in the registry's access log, once it has stopped growing (a line is
/// written after its response is sent).
fn registry_requests(log: &Path) -> anyhow::Result<u64> {
    let count = || -> anyhow::Result<u64> {
        let text = std::fs::read_to_string(log).context("cannot read the registry log")?;
        // `… "GET /v2/bench/app-1/manifests/v2.0.0 HTTP/1.1" 200 …`
        Ok(text
            .lines()
            .filter(|line| {
                line.split('"')
                    .nth(1)
                    .and_then(|request| request.split(' ').nth(1))
                    .is_some_and(|p| p.starts_with("/v2/"))
            })
            .count() as u64)
    };
    let mut last = count()?;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(30));
        let now = count()?;
        if now == last {
            break;
        }
        last = now;
    }
    Ok(last)
}

/// The status of `GET path` on 127.0.0.1:`port`.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head).ok()?.split(' ').nth(1)?.parse().ok()
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], per_cent: usize) -> f64 {
    let rank = (sorted.len() * per_cent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// p50, p99 and max latency in seconds, and requests per second, of `rounds` together.
struct Figures {
    p50: f64,
    p99: f64,
    max: f64,
    per_second: f64,
    /// Registry requests per request.
    registry: f64,
}

impl Figures {
    fn of(rounds: &[Round]) -> Figures {
        let mut sorted: Vec<f64> = rounds.iter().flat_map(|r| r.samples.iter().map(|s| s.seconds)).collect();
        sorted.sort_by(f64::total_cmp);
        let requests: usize = rounds.iter().map(|r| r.samples.len()).sum();
        let wall: f64 = rounds.iter().map(|r| r.wall).sum();
        Figures {
            p50: percentile(&sorted, 50),
            p99: percentile(&sorted, 99),
            max: sorted.last().copied().unwrap_or(f64::NAN),
            per_second: requests as f64 / wall,
            registry: rounds.iter().map(|r| r.registry).sum::<u64>() as f64 / requests as f64,
        }
    }

    fn row(&self, label: &str) -> String {
        format!(
            "  {label:<38} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.2}",
            self.p50 * 1e3,
            self.p99 * 1e3,
            self.max * 1e3,
            self.per_second,
            self.registry
        )
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(
    setup: &Setup,
    concurrency: usize,
    process: &[Round],
    daemon: &[Round],
    rss_measured: bool,
    (idle, peak, after): (u64, u64, u64),
    daemon_log: &str,
) -> anyhow::Result<()> {
    println!(
        "\nlatency per request (ms), throughput and registry requests per request, {concurrency} requests in flight:"
    );
    println!("  {:<38} {:>9} {:>9} {:>9} {:>9} {:>9}", "", "p50", "p99", "max", "req/s", "registry");
    let mut warm = Vec::new();
    for (name, rounds) in [("process-per-request", process), ("daemon", daemon)] {
        for (n, round) in rounds.iter().enumerate() {
            let label = format!("{name} round {} ({})", n + 1, if n == 0 { "cold" } else { "warm" });
            println!("{}", Figures::of(std::slice::from_ref(round)).row(&label));
        }
        let figures = (rounds.len() > 1).then(|| Figures::of(&rounds[1..]));
        if let Some(figures) = &figures {
            println!("{}", figures.row(&format!("{name} warm (rounds 2-{})", rounds.len())));
        }
        warm.push(figures);
    }
    let cold = (Figures::of(&process[..1]), Figures::of(&daemon[..1]));
    println!("\ndaemon / process-per-request, same run (below 1: the daemon is faster):");
    println!(
        "  cold  p50 {:.3}x  p99 {:.3}x  req/s {:.2}x",
        cold.1.p50 / cold.0.p50,
        cold.1.p99 / cold.0.p99,
        cold.1.per_second / cold.0.per_second
    );
    if let [Some(process), Some(daemon)] = &warm[..] {
        println!(
            "  warm  p50 {:.3}x  p99 {:.3}x  req/s {:.2}x",
            daemon.p50 / process.p50,
            daemon.p99 / process.p99,
            daemon.per_second / process.per_second
        );
    }

    println!(
        "\nCPU per request (ms, user + system; process-per-request: the syncgate process plus the unpacking and \
         spawning; daemon: the daemon):"
    );
    let cpu = |rounds: &[Round]| -> Option<f64> {
        let requests: usize = rounds.iter().map(|r| r.samples.len()).sum();
        Some(rounds.iter().map(|r| r.cpu).sum::<Option<f64>>()? * 1e3 / requests as f64)
    };
    let split = |rounds: &[Round]| (cpu(&rounds[..1]), (rounds.len() > 1).then(|| cpu(&rounds[1..])).flatten());
    let (process_cpu, daemon_cpu) = (split(process), split(daemon));
    let show = |value: Option<f64>| value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"));
    println!("  process-per-request  cold {:>8}  warm {:>8}", show(process_cpu.0), show(process_cpu.1));
    println!("  daemon               cold {:>8}  warm {:>8}", show(daemon_cpu.0), show(daemon_cpu.1));
    if let ((Some(pc), Some(pw)), (Some(dc), Some(dw))) = (process_cpu, daemon_cpu) {
        println!("  daemon / process     cold {:>7.3}x  warm {:>7.3}x", dc / pc, dw / pw);
    }

    println!("\nmemory:");
    if rss_measured {
        for (label, rounds) in [("cold", &process[..1]), ("warm", &process[1..])] {
            let mut rss: Vec<u64> = rounds.iter().flat_map(|r| r.samples.iter().filter_map(|s| s.rss_kib)).collect();
            if rss.is_empty() {
                continue;
            }
            rss.sort_unstable();
            let largest_sum = rounds.iter().map(|r| r.samples.iter().filter_map(|s| s.rss_kib).sum()).max();
            println!(
                "  process-per-request {label}: max RSS per process median {:.1} MiB, largest {:.1} MiB; \
                 summed over a round's {concurrency} processes {:.1} MiB",
                mib(rss[rss.len() / 2]),
                mib(rss[rss.len() - 1]),
                mib(largest_sum.unwrap_or_default()),
            );
        }
    } else {
        println!("  process-per-request: not measured (no /usr/bin/time)");
    }
    let per_request = CONNECTION_BOUND + DOCUMENT_FACTOR * setup.yaml_bytes;
    let bound = idle + (FIXED_BOUND + concurrency as u64 * per_request) / 1024;
    let within = peak <= bound;
    println!(
        "  daemon: idle VmRSS {:.1} MiB, peak VmHWM {:.1} MiB (+{:.1} MiB under load), VmRSS after {:.1} MiB",
        mib(idle),
        mib(peak),
        mib(peak.saturating_sub(idle)),
        mib(after)
    );
    println!(
        "  daemon bound: idle + 64 MiB + {concurrency} x (256 KiB + {DOCUMENT_FACTOR} x {:.1} KiB YAML) = {:.1} MiB: {}",
        setup.yaml_bytes as f64 / 1024.0,
        mib(bound),
        if within { "OK" } else { "EXCEEDED" }
    );
    let logged = daemon_log.matches("\"rpc\":\"GenerateManifest\"").count();
    let failed = daemon_log.matches("\"decision\":\"error\"").count();
    println!(
        "\nerrors: 0 of {} process-per-request and {} daemon requests (daemon logged {logged} GenerateManifest, {failed} errors)",
        process.iter().map(|r| r.samples.len()).sum::<usize>(),
        daemon.iter().map(|r| r.samples.len()).sum::<usize>(),
    );
    ensure!(failed == 0, "the daemon logged {failed} failed requests");
    ensure!(within, "the daemon's peak RSS {:.1} MiB exceeds its bound of {:.1} MiB", mib(peak), mib(bound));
    Ok(())
}
