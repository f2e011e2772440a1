//! `syncgate-registry-bench`: image resolution against a real registry, compared in the same run with
//! syncgate's own offline check and with `skopeo inspect`.
//!
//! Starts Debian's `docker-registry` (plain HTTP) and `redis-server` on free loopback ports, pushes one
//! small image (umoci + skopeo) and turns it into IMAGES repositories with a distinct tag and a distinct
//! manifest each (blob mounts plus an annotated manifest), then generates a stream of RESOURCES
//! workloads (1–2 containers each) referencing those images, and a policy with `require-image-digest`
//! and `disallow-latest-tag`. Setup time is printed apart and not measured. Then, RUNS times,
//! interleaved, it measures:
//!
//! - in-process resolution: a fresh `Registry` behind a memory-only `CachedResolver`, `resolve_all` over
//!   `images_of(stream)`: cold wall time and registry requests per image, then warm from memory;
//! - `syncgate check STREAM --output manifests` in a new process: cold (empty `--cache-dir`), warm from
//!   disk, warm from Redis (`--no-disk-cache --cache redis://…`), and, as floors for the warm paths,
//!   `check --offline` of the same documents with the digests written in (the CLI's pinned output,
//!   which is allowed and emitted like the online runs' output) and of the stream as written (denied:
//!   every image is unpinned, so it reports instead of emitting);
//! - the peer, `skopeo inspect --format '{{.Digest}}'` for every image, one at a time and 16 in
//!   parallel; its digests must equal syncgate's;
//!
//! and prints medians and their ratios. Requests made by other processes (the CLI, skopeo) are counted
//! from the registry's access log. Needs docker-registry, skopeo, umoci and redis-server (scripts/test
//! installs them) and the `syncgate` binary next to this one. Usage:
//! `cargo build --release --bins && target/release/syncgate-registry-bench [IMAGES [RESOURCES [RUNS]]]`
//! (defaults 200, 2000, 3).

#![allow(clippy::print_stdout, reason = "a benchmark command prints its figures")]

#[path = "servers.rs"]
mod servers;
#[path = "workloads.rs"]
mod workloads;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use futures::StreamExt as _;
use servers::{Server, WorkDir, require, start, start_registry};
use sha2::Digest as _;
use syncgate::cache::{CacheOptions, CachedResolver};
use syncgate::registry::{Registry, RegistryOptions};

/// The programs the benchmark runs, with the Debian package of each.
const TOOLS: [(&str, &str); 4] = [
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("redis-server", "redis-server"),
];

/// The resolution deadline of the in-process measurement (the CLI's default).
const DEADLINE: Duration = Duration::from_secs(30);

/// skopeo processes in flight in the parallel peer measurement.
const SKOPEO_PARALLEL: usize = 16;

/// Manifest media types asked for when reading the base image back.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize, name: &str| -> anyhow::Result<usize> {
        args.get(i).map_or(Ok(default), |s| s.parse()).with_context(|| format!("{name} must be a number"))
    };
    let (images, resources, runs) = (number(0, 200, "IMAGES")?, number(1, 2000, "RESOURCES")?, number(2, 3, "RUNS")?);
    ensure!(images > 0 && runs > 0, "IMAGES and RUNS must be at least 1");
    ensure!(resources >= images, "RESOURCES ({resources}) must be at least IMAGES ({images}) so every image is used");
    for (program, package) in TOOLS {
        require(program, package)?;
    }
    let syncgate = syncgate_binary()?;
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("syncgate-registry-bench: {images} images, {resources} resources, {runs} runs, {cpus} CPUs");
    if cfg!(debug_assertions) {
        println!("note: this is a debug build; figures are only meaningful from `cargo build --release --bins`");
    }
    let work = WorkDir::create("syncgate-registry-bench")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start Tokio")?;
    let env = setup(&work.0, &runtime, images)?;
    let (text, sites) = generate(&env.images, resources);
    std::fs::write(&env.stream, &text).context("cannot write the stream")?;
    std::fs::write(&env.policy, POLICY).context("cannot write the policy")?;
    std::fs::write(&env.key_file, hex(&rand::random::<[u8; 32]>())).context("cannot write the cache key")?;
    println!(
        "stream: {resources} resources (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), {sites} image references \
         to {images} images ({:.1} each), {:.2} MiB; policy: require-image-digest, disallow-latest-tag (enforce)",
        sites as f64 / images as f64,
        text.len() as f64 / 1_048_576.0
    );
    let samples = measure(&env, &runtime, &syncgate, sites, runs)?;
    samples.print(images, runs);
    Ok(())
}

/// The policy every measurement evaluates.
const POLICY: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: registry-bench}
spec:
  rules:
    require-image-digest: enforce
    disallow-latest-tag: enforce
";

/// Fails naming the Debian package when `program` is not on `PATH`.
/// The `syncgate` binary built alongside this one.
fn syncgate_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate this binary")?;
    let path = exe.parent().context("this binary has no directory")?.join("syncgate");
    ensure!(path.is_file(), "{} not found: build both binaries with `cargo build --release --bins`", path.display());
    Ok(path)
}

/// `redis-server` without persistence.
fn start_redis(dir: &Path, port: u16) -> anyhow::Result<Server> {
    let log = dir.join("redis.log");
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run redis-server")?;
    let mut server = Server { name: "redis-server", child, log };
    let url = redis_url(port);
    server.wait_until(|| redis_query::<String>(&url, "PING").is_ok_and(|pong| pong == "PONG"))?;
    Ok(server)
}

fn redis_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}/0")
}

/// One argument-less Redis command.
fn redis_query<T: redis::FromRedisValue>(url: &str, command: &str) -> anyhow::Result<T> {
    let client = redis::Client::open(url)?;
    let mut connection = client.get_connection_with_timeout(Duration::from_millis(500))?;
    Ok(redis::cmd(command).query(&mut connection)?)
}

/// Runs `command`; fails with its output unless it succeeds.
fn run(command: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let output = command.output().with_context(|| format!("cannot run {what}"))?;
    ensure!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output.stdout)
}

/// The servers, files and images every measurement uses.
struct Env {
    /// Keeps the registry running.
    _registry: Server,
    /// Keeps Redis running.
    _redis: Server,
    /// `127.0.0.1:PORT` of the registry.
    host: String,
    redis_url: String,
    access_log: AccessLog,
    dir: PathBuf,
    stream: PathBuf,
    policy: PathBuf,
    key_file: PathBuf,
    /// Every image reference, as written in the stream.
    images: Vec<String>,
    /// The digest of the manifest pushed for each image.
    digests: HashMap<String, String>,
}

/// Starts the servers and fills the registry; prints how long that took.
fn setup(dir: &Path, runtime: &tokio::runtime::Runtime, count: usize) -> anyhow::Result<Env> {
    let start_servers = Instant::now();
    let (registry, registry_port) = start("docker-registry", |port| start_registry(dir, port))?;
    let (redis, redis_port) = start("redis-server", |port| start_redis(dir, port))?;
    let host = format!("127.0.0.1:{registry_port}");
    let servers = start_servers.elapsed().as_secs_f64();

    let start_base = Instant::now();
    push_base(dir, &host)?;
    let base = start_base.elapsed().as_secs_f64();

    let start_images = Instant::now();
    let pushed = runtime.block_on(make_images(&host, count))?;
    let made = start_images.elapsed().as_secs_f64();
    let distinct: HashSet<&String> = pushed.iter().map(|(_, digest)| digest).collect();
    ensure!(distinct.len() == count, "expected {count} distinct manifest digests, got {}", distinct.len());
    println!(
        "setup (not measured): docker-registry on {host} and redis-server on 127.0.0.1:{redis_port} started in \
         {servers:.2} s; base image built (umoci) and pushed (skopeo) in {base:.2} s; {count} repositories with a \
         distinct tag and manifest each (blob mounts + manifest PUT) in {made:.2} s"
    );
    Ok(Env {
        _registry: registry,
        _redis: redis,
        redis_url: redis_url(redis_port),
        access_log: AccessLog(dir.join("registry.log")),
        dir: dir.to_path_buf(),
        stream: dir.join("stream.yaml"),
        policy: dir.join("policy.yaml"),
        key_file: dir.join("cache.key"),
        images: pushed.iter().map(|(image, _)| image.clone()).collect(),
        digests: pushed.into_iter().collect(),
        host,
    })
}

/// Builds a one-layer image with umoci and pushes it as `base:1` with skopeo.
fn push_base(dir: &Path, host: &str) -> anyhow::Result<()> {
    let layout = dir.join("layout");
    let image = format!("{}:base", layout.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(&layout), "umoci init")?;
    run(Command::new("umoci").args(["new", "--image", &image]), "umoci new")?;
    let file = dir.join("hello.txt");
    std::fs::write(&file, "syncgate registry benchmark\n").context("cannot write the layer file")?;
    run(Command::new("umoci").args(["insert", "--image", &image]).arg(&file).arg("/hello.txt"), "umoci insert")?;
    run(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{image}"))
            .arg(format!("docker://{host}/base:1")),
        "skopeo copy",
    )?;
    Ok(())
}

/// What pushing one variant of the base image needs.
struct Pusher<'a> {
    http: reqwest::Client,
    host: &'a str,
    manifest: serde_json::Value,
    media_type: String,
    blobs: Vec<String>,
}

/// Makes `app-N:1.N` for N in 0..count: mounts the base image's blobs into each repository and puts a
/// manifest that differs from the base only by an annotation. Returns each reference and its digest.
async fn make_images(host: &str, count: usize) -> anyhow::Result<Vec<(String, String)>> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let response = http
        .get(format!("http://{host}/v2/base/manifests/1"))
        .header("accept", ACCEPT)
        .send()
        .await?
        .error_for_status()
        .context("cannot read the base manifest back")?;
    // umoci leaves `mediaType` out of the manifest (OCI allows it); the registry's Content-Type says it.
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let manifest: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
    let media_type = manifest["mediaType"]
        .as_str()
        .map(str::to_owned)
        .or(content_type)
        .context("the base manifest has no media type")?;
    let mut blobs = vec![manifest["config"]["digest"].as_str().context("the base manifest has no config")?.to_owned()];
    for layer in manifest["layers"].as_array().context("the base manifest has no layers")? {
        blobs.push(layer["digest"].as_str().context("a layer has no digest")?.to_owned());
    }
    let pusher = Pusher { http, host, manifest, media_type, blobs };
    let results: Vec<anyhow::Result<(String, String)>> =
        futures::stream::iter(0..count).map(|n| pusher.variant(n)).buffered(16).collect().await;
    results.into_iter().collect()
}

impl Pusher<'_> {
    async fn variant(&self, n: usize) -> anyhow::Result<(String, String)> {
        let (repo, tag) = (format!("app-{n}"), format!("1.{n}"));
        for blob in &self.blobs {
            self.mount(&repo, blob).await.with_context(|| format!("cannot put blob {blob} into {repo}"))?;
        }
        let mut manifest = self.manifest.clone();
        manifest
            .as_object_mut()
            .context("the base manifest is not an object")?
            .insert("annotations".into(), serde_json::json!({ "dev.syncgate.bench/image": format!("{repo}:{tag}") }));
        let body = serde_json::to_vec(&manifest)?;
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(&body));
        let response = self
            .http
            .put(format!("http://{}/v2/{repo}/manifests/{tag}", self.host))
            .header("content-type", &self.media_type)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let served = response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_owned);
        ensure!(status.as_u16() == 201, "PUT manifest {repo}:{tag}: {status}: {}", response.text().await?);
        ensure!(
            served.as_deref() == Some(digest.as_str()),
            "the registry stored {repo}:{tag} as {served:?}, not {digest}"
        );
        Ok((format!("{}/{repo}:{tag}", self.host), digest))
    }

    /// Mounts `blob` from `base` into `repo`, or uploads it if the registry declines the mount.
    async fn mount(&self, repo: &str, blob: &str) -> anyhow::Result<()> {
        let host = self.host;
        let response =
            self.http.post(format!("http://{host}/v2/{repo}/blobs/uploads/?mount={blob}&from=base")).send().await?;
        match response.status().as_u16() {
            201 => Ok(()),
            202 => {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .context("upload started without a Location")?;
                let location =
                    if location.starts_with('/') { format!("http://{host}{location}") } else { location.to_owned() };
                let separator = if location.contains('?') { '&' } else { '?' };
                let bytes = self
                    .http
                    .get(format!("http://{host}/v2/base/blobs/{blob}"))
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let put = self
                    .http
                    .put(format!("{location}{separator}digest={blob}"))
                    .header("content-type", "application/octet-stream")
                    .body(bytes)
                    .send()
                    .await?;
                ensure!(put.status().as_u16() == 201, "blob upload: {}", put.status());
                Ok(())
            }
            _ => bail!("blob mount: {}: {}", response.status(), response.text().await?),
        }
    }
}

/// Requests the registry logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Requests {
    all: u64,
    manifests: u64,
}

impl Requests {
    fn since(self, before: Requests) -> Requests {
        Requests { all: self.all - before.all, manifests: self.manifests - before.manifests }
    }

    fn max(self, other: Requests) -> Requests {
        Requests { all: self.all.max(other.all), manifests: self.manifests.max(other.manifests) }
    }
}

/// The registry's access log (one combined-log-format line per request).
struct AccessLog(PathBuf);

impl AccessLog {
    fn read(&self) -> anyhow::Result<Requests> {
        let text = std::fs::read_to_string(&self.0).context("cannot read the registry log")?;
        let mut requests = Requests::default();
        for line in text.lines() {
            // `… "GET /v2/app-1/manifests/1.1 HTTP/1.1" 200 …`
            let Some(path) = line.split('"').nth(1).and_then(|request| request.split(' ').nth(1)) else { continue };
            if path.starts_with("/v2/") {
                requests.all += 1;
                requests.manifests += u64::from(path.contains("/manifests/"));
            }
        }
        Ok(requests)
    }

    /// The counts once the log has stopped growing (a line is written after its response is sent).
    fn settled(&self) -> anyhow::Result<Requests> {
        let mut last = self.read()?;
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(30));
            let now = self.read()?;
            if now == last {
                break;
            }
            last = now;
        }
        Ok(last)
    }

    /// Runs `f`, returning its result and the requests the registry logged meanwhile.
    fn around<T>(&self, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Requests)> {
        let before = self.settled()?;
        let out = f()?;
        Ok((out, self.settled()?.since(before)))
    }
}

/// Wall seconds of every run, and the most requests any run made (warm runs must make none).
#[derive(Default)]
struct Samples {
    cold_in: Vec<f64>,
    warm_memory: Vec<f64>,
    cold_process: Vec<f64>,
    warm_disk: Vec<f64>,
    warm_redis: Vec<f64>,
    offline: Vec<f64>,
    offline_pinned: Vec<f64>,
    skopeo_sequential: Vec<f64>,
    skopeo_parallel: Vec<f64>,
    in_process: InProcess,
    cold_process_requests: Requests,
    skopeo_requests: Requests,
    redis_keys: u64,
}

/// What one in-process cold + warm resolution found.
#[derive(Default)]
struct InProcess {
    manifests: u64,
    requests: u64,
    auth: u64,
    logged: Requests,
    memory_hits: u64,
}

/// Every measurement, `runs` times, interleaved.
fn measure(
    env: &Env,
    runtime: &tokio::runtime::Runtime,
    syncgate: &Path,
    sites: usize,
    runs: usize,
) -> anyhow::Result<Samples> {
    let limits = syncgate::manifest::Limits::default();
    let policies = syncgate::policy::load(std::slice::from_ref(&env.policy), &limits).context("invalid policy")?;
    let stream = syncgate::manifest::load(std::slice::from_ref(&env.stream), &limits).context("invalid stream")?;
    let images = syncgate::pipeline::images_of(&stream, &policies.kinds);
    let (found, pushed): (HashSet<&String>, HashSet<&String>) = (images.iter().collect(), env.images.iter().collect());
    ensure!(found == pushed, "the stream references {} images, not the {} pushed", found.len(), pushed.len());
    let cli = Cli { exe: syncgate, env };
    let pinned = env.dir.join("pinned.yaml");
    let mut s = Samples::default();
    for run in 0..runs {
        let ((cold, warm, found), logged) = env.access_log.around(|| in_process(runtime, env, &images))?;
        s.cold_in.push(cold);
        s.warm_memory.push(warm);
        if found.requests >= s.in_process.requests {
            s.in_process = InProcess { logged, ..found };
        }

        let cache_dir = env.dir.join(format!("cache-{run}"));
        std::fs::create_dir_all(&cache_dir)?;
        let dir_args = [OsString::from("--cache-dir"), cache_dir.into_os_string()];
        let (cold, requests) = env.access_log.around(|| cli.online(&dir_args, None))?;
        s.cold_process.push(cold);
        s.cold_process_requests = s.cold_process_requests.max(requests);
        let (warm, requests) = env.access_log.around(|| cli.online(&dir_args, None))?;
        expect_none("warm (disk, new process)", requests)?;
        s.warm_disk.push(warm);

        let redis_args = [
            OsString::from("--no-disk-cache"),
            "--cache".into(),
            env.redis_url.clone().into(),
            "--cache-key-file".into(),
            env.key_file.clone().into(),
        ];
        // Fills Redis (entries live five minutes), keeping the pinned output for the checks below.
        cli.online(&redis_args, Some(&pinned))?;
        verify_pinned(&std::fs::read_to_string(&pinned)?, env, sites)?;
        s.redis_keys = redis_query(&env.redis_url, "DBSIZE")?;
        let (warm, requests) = env.access_log.around(|| cli.online(&redis_args, None))?;
        expect_none("warm (Redis, new process)", requests)?;
        s.warm_redis.push(warm);

        s.offline.push(cli.offline(&env.stream, 1)?);
        s.offline_pinned.push(cli.offline(&pinned, 0)?);

        let (sequential, requests) = env.access_log.around(|| skopeo_all(env, 1))?;
        s.skopeo_sequential.push(sequential);
        s.skopeo_requests = s.skopeo_requests.max(requests);
        s.skopeo_parallel.push(skopeo_all(env, SKOPEO_PARALLEL)?);
    }
    Ok(s)
}

fn expect_none(what: &str, requests: Requests) -> anyhow::Result<()> {
    ensure!(requests.all == 0, "{what} sent {} requests to the registry; expected none", requests.all);
    Ok(())
}

/// A fresh registry client behind a memory-only cache resolves every image (cold), then the same
/// resolver does it again (warm). Returns both wall times.
fn in_process(
    runtime: &tokio::runtime::Runtime,
    env: &Env,
    images: &[String],
) -> anyhow::Result<(f64, f64, InProcess)> {
    let start = Instant::now();
    let registry = Registry::new(RegistryOptions { insecure: vec![env.host.clone()], ..RegistryOptions::default() })?;
    let cache = CacheOptions { disk_dir: None, redis_url: None, ..CacheOptions::default() };
    let resolver = CachedResolver::new(registry, cache)?;
    let resolutions = runtime.block_on(syncgate::pipeline::resolve_all(&resolver, images.to_vec(), DEADLINE));
    let cold = start.elapsed().as_secs_f64();
    verify_resolutions(&resolutions, env, "cold")?;
    let registry = resolver.inner();
    let (manifests, requests, auth) = (registry.manifest_requests(), registry.requests(), registry.auth_requests());

    let start = Instant::now();
    let resolutions = runtime.block_on(syncgate::pipeline::resolve_all(&resolver, images.to_vec(), DEADLINE));
    let warm = start.elapsed().as_secs_f64();
    verify_resolutions(&resolutions, env, "warm")?;
    ensure!(
        registry.requests() == requests,
        "warm (memory) sent {} requests to the registry; expected none",
        registry.requests() - requests
    );
    let memory_hits = resolver.counters().memory.hits;
    Ok((cold, warm, InProcess { manifests, requests, auth, logged: Requests::default(), memory_hits }))
}

fn verify_resolutions(resolutions: &syncgate::pipeline::Resolutions, env: &Env, what: &str) -> anyhow::Result<()> {
    for (image, pushed) in &env.digests {
        match resolutions.get(image) {
            Some(Ok(resolved)) if resolved.digest.as_str() == pushed => {}
            Some(Ok(resolved)) => {
                bail!("{what}: syncgate resolved {image} to {}, but {pushed} was pushed", resolved.digest)
            }
            Some(Err(error)) => bail!("{what}: syncgate could not resolve {image}: {error}"),
            None => bail!("{what}: syncgate did not resolve {image}"),
        }
    }
    Ok(())
}

/// Every image site of the CLI's output is pinned to the digest pushed for it.
fn verify_pinned(text: &str, env: &Env, sites: usize) -> anyhow::Result<()> {
    let pinned = text.matches("@sha256:").count();
    ensure!(pinned == sites, "syncgate check pinned {pinned} of {sites} image references");
    for (image, digest) in &env.digests {
        ensure!(text.contains(&format!("{image}@{digest}")), "syncgate check did not pin {image} to {digest}");
    }
    Ok(())
}

/// `syncgate check` in a new process.
struct Cli<'a> {
    exe: &'a Path,
    env: &'a Env,
}

impl Cli<'_> {
    /// `check STREAM --output manifests` against the registry, with `cache` flags; stdout to `keep`
    /// or discarded. Must allow.
    fn online(&self, cache: &[OsString], keep: Option<&Path>) -> anyhow::Result<f64> {
        let mut args: Vec<OsString> = vec!["check".into(), self.env.stream.clone().into(), "-p".into()];
        args.extend([self.env.policy.clone().into(), "--insecure-registry".into(), self.env.host.clone().into()]);
        args.extend(["--output".into(), "manifests".into()]);
        args.extend(cache.iter().cloned());
        let stdout = match keep {
            Some(path) => Stdio::from(File::create(path).with_context(|| format!("cannot create {}", path.display()))?),
            None => Stdio::null(),
        };
        self.run(&args, stdout, 0)
    }

    /// `check INPUT --offline --output manifests`, expecting exit `code` (1: denied).
    fn offline(&self, input: &Path, code: i32) -> anyhow::Result<f64> {
        let args: Vec<OsString> = vec![
            "check".into(),
            input.into(),
            "-p".into(),
            self.env.policy.clone().into(),
            "--offline".into(),
            "--output".into(),
            "manifests".into(),
        ];
        self.run(&args, Stdio::null(), code)
    }

    fn run(&self, args: &[OsString], stdout: Stdio, code: i32) -> anyhow::Result<f64> {
        let stderr_path = self.env.dir.join("syncgate.stderr");
        let stderr = File::create(&stderr_path).context("cannot create the stderr file")?;
        let mut command = Command::new(self.exe);
        command.args(args).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SYNCGATE_") {
                command.env_remove(name);
            }
        }
        let start = Instant::now();
        let status = command.status().context("cannot run syncgate")?;
        let seconds = start.elapsed().as_secs_f64();
        if status.code() != Some(code) {
            let stderr: String = std::fs::read_to_string(&stderr_path).unwrap_or_default().chars().take(4000).collect();
            bail!("syncgate {args:?} exited with {status}, expected {code}:\n{stderr}");
        }
        Ok(seconds)
    }
}

/// `skopeo inspect` of every image with `parallel` processes in flight; fails unless every digest
/// equals the one pushed (and so the one syncgate resolved).
fn skopeo_all(env: &Env, parallel: usize) -> anyhow::Result<f64> {
    let images = &env.images;
    let start = Instant::now();
    let digests: Vec<String> = if parallel <= 1 {
        images.iter().map(|image| skopeo_digest(image)).collect::<anyhow::Result<_>>()?
    } else {
        let next = &AtomicUsize::new(0);
        let done = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..parallel)
                .map(|_| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        while let Some(image) = images.get(next.fetch_add(1, Ordering::Relaxed)) {
                            out.push((image, skopeo_digest(image)));
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().map_err(|_| anyhow!("a skopeo worker thread panicked")))
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let by_image: HashMap<&String, String> = done
            .into_iter()
            .flatten()
            .map(|(image, digest)| digest.map(|d| (image, d)))
            .collect::<anyhow::Result<_>>()?;
        images
            .iter()
            .map(|image| by_image.get(image).cloned().context("skopeo skipped an image"))
            .collect::<anyhow::Result<_>>()?
    };
    let seconds = start.elapsed().as_secs_f64();
    for (image, digest) in images.iter().zip(&digests) {
        let pushed = env.digests.get(image).context("unknown image")?;
        ensure!(digest == pushed, "skopeo says {image} is {digest}, syncgate resolved {pushed}");
    }
    Ok(seconds)
}

fn skopeo_digest(image: &str) -> anyhow::Result<String> {
    let stdout = run(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{image}"))
            .stdin(Stdio::null()),
        "skopeo inspect",
    )?;
    Ok(String::from_utf8(stdout).context("skopeo printed no UTF-8")?.trim().to_owned())
}

fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn verdict(ok: bool) -> &'static str {
    if ok { "OK" } else { "OVER TARGET" }
}

impl Samples {
    fn print(&self, images: usize, runs: usize) {
        let n = images as f64;
        let (cold_in, cold_process) = (median(&self.cold_in), median(&self.cold_process));
        let (warm_disk, warm_redis) = (median(&self.warm_disk), median(&self.warm_redis));
        let (pinned, offline) = (median(&self.offline_pinned), median(&self.offline));
        let (sequential, parallel) = (median(&self.skopeo_sequential), median(&self.skopeo_parallel));
        let in_process = &self.in_process;
        println!("medians over {runs} runs; registry requests of other processes from the registry's access log\n");
        println!("resolution in-process (fresh Registry + memory-only CachedResolver, resolve_all over images_of):");
        println!(
            "  cold:                 {cold_in:8.3} s  {:.2} manifest GETs per image ({}; target <= 1) {}, {:.3} requests \
             per image ({}: {} auth; access log: {})",
            in_process.manifests as f64 / n,
            in_process.manifests,
            verdict(in_process.manifests as f64 / n <= 1.0),
            in_process.requests as f64 / n,
            in_process.requests,
            in_process.auth,
            in_process.logged.all
        );
        println!(
            "  warm (memory):        {:8.4} s  0 registry requests ({} memory hits)",
            median(&self.warm_memory),
            in_process.memory_hits
        );
        println!("syncgate check -o manifests, new process (same stream and policy; stdout discarded):");
        let cold = self.cold_process_requests;
        println!(
            "  cold (empty cache):   {cold_process:8.3} s  {:.3} requests per image ({} manifest GETs, {} in all)",
            cold.all as f64 / n,
            cold.manifests,
            cold.all
        );
        println!("  warm (disk):          {warm_disk:8.3} s  0 registry requests");
        println!("  warm (Redis):         {warm_redis:8.3} s  0 registry requests ({} keys in Redis)", self.redis_keys);
        println!("  --offline, the pinned output (same documents; allows, emits them): {pinned:.3} s");
        println!("  --offline, the stream as written (denies: reports every unpinned image on stderr): {offline:.3} s");
        let peer = self.skopeo_requests;
        println!(
            "skopeo inspect --format '{{{{.Digest}}}}', one process per image (digests equal syncgate's for all {images}):"
        );
        println!(
            "  one at a time:        {sequential:8.3} s  {:.3} requests per image ({} manifest GETs, {} in all)",
            peer.all as f64 / n,
            peer.manifests,
            peer.all
        );
        println!("  {SKOPEO_PARALLEL} in parallel:       {parallel:8.3} s");
        println!("ratios (same run):");
        for (what, ratio) in [
            ("skopeo sequential / syncgate cold in-process", sequential / cold_in),
            ("skopeo sequential / syncgate check cold, new process", sequential / cold_process),
        ] {
            println!("  {what}: {ratio:.1}x (target >= 20x) {}", verdict(ratio >= 20.0));
        }
        // The new-process run also parses, checks and emits 2,000 resources, which skopeo does not: its
        // resolution share is the cold run minus the offline run of the same documents.
        let resolution_share = (cold_process - pinned).max(f64::EPSILON);
        println!(
            "  skopeo sequential / resolution share of the new-process run (cold - offline pinned output, {resolution_share:.3} s): {:.1}x",
            sequential / resolution_share
        );
        println!("  skopeo {SKOPEO_PARALLEL}-parallel / syncgate cold in-process: {:.1}x", parallel / cold_in);
        println!(
            "  skopeo {SKOPEO_PARALLEL}-parallel / syncgate check cold, new process: {:.1}x",
            parallel / cold_process
        );
        for (floor, what) in [(pinned, "of the pinned output (like for like)"), (offline, "of the stream as written")] {
            let ratio = warm_disk / floor;
            println!("  warm disk / offline check {what}: {ratio:.2}x (target <= 2x) {}", verdict(ratio <= 2.0));
            println!("  warm Redis / offline check {what}: {:.2}x", warm_redis / floor);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A deterministic stream of `resources` workloads of every kind: resource `i` runs `images[i % n]`,
/// and every other one a sidecar too, so each image is used by about `resources / n` main containers
/// and half as many sidecars. Returns the stream and its number of image references.
fn generate(images: &[String], resources: usize) -> (String, usize) {
    let n = images.len();
    let mut out = String::with_capacity(resources * 900);
    let mut sites = 0;
    for i in 0..resources {
        let ns = format!("team-{}", i % 23);
        let sidecar = (i % 2 == 1).then(|| images[(i / 2 + n / 2) % n].as_str());
        sites += 1 + usize::from(sidecar.is_some());
        let pod = pod_spec(&images[i % n], sidecar);
        let doc = workloads::workload(i, i, &ns, &pod);
        out.push_str("---\n");
        out.push_str(&doc);
    }
    (out, sites)
}

fn pod_spec(image: &str, sidecar: Option<&str>) -> String {
    let mut s = format!(
        "containers:\n- name: main\n  image: {image}\n  ports:\n  - containerPort: 8080\n  env:\n  - name: LOG_LEVEL\n    value: info\n  resources:\n    requests: {{cpu: 100m, memory: 128Mi}}\n    limits: {{memory: 256Mi}}\n"
    );
    if let Some(sidecar) = sidecar {
        let _ = write!(
            s,
            "- name: sidecar\n  image: {sidecar}\n  args: [--port, \"9090\"]\n  resources:\n    requests: {{cpu: 10m, memory: 32Mi}}\n"
        );
    }
    s
}
