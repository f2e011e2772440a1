//! `syncgate-bench`: generates a 10,000-resource stream of mixed workloads and measures, in the same
//! run, `check --offline` against the floor (parse + emit of the same stream with the same YAML
//! crate), and peak memory against the input size. Where `checkov` is on PATH it is run on the same
//! manifests with the equivalent checks and that ratio is printed too.
//!
//! Each measurement runs in a fresh child process (this binary, re-invoked with a sub-mode) so peak
//! RSS (`VmHWM`) belongs to that measurement alone. The stream is mostly compliant (four in five pods
//! hardened), as a production cluster's would be. Usage:
//! `cargo run --release --bin syncgate-bench [-- RESOURCES [RUNS]]`. To see where the time goes, time a
//! prefix of the check alone: `BENCH_STAGE=parse|typed target/release/syncgate-bench --check FILE POLICY text`.

#![allow(clippy::print_stdout, reason = "a benchmark command prints its figures")]

#[path = "workloads.rs"]
mod workloads;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--floor") => measure_floor(Path::new(&args[1])),
        Some("--check") => measure_check(Path::new(&args[1]), Path::new(&args[2]), &args[3]),
        _ => {
            let resources = args.first().map_or(Ok(10_000), |s| s.parse()).context("RESOURCES must be a number")?;
            let runs = args.get(1).map_or(Ok(5), |s| s.parse()).context("RUNS must be a number")?;
            compare(resources, runs)
        }
    }
}

/// One child measurement: wall seconds and peak RSS in bytes.
struct Sample {
    seconds: f64,
    peak_rss: u64,
}

fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn report_sample(start: Instant, sink: usize) {
    let seconds = start.elapsed().as_secs_f64();
    // The sink length is printed so the work cannot be optimised away.
    println!("{seconds} {} {sink}", peak_rss());
}

/// The floor: what the same YAML crate needs to read the stream and write it back.
fn measure_floor(input: &Path) -> anyhow::Result<()> {
    let start = Instant::now();
    let text = std::fs::read_to_string(input)?;
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple_with_options(
        &text,
        serde_saphyr::options! { budget: serde_saphyr::budget! { max_events: usize::MAX, max_nodes: usize::MAX, max_documents: usize::MAX } },
    )?;
    let out = serde_saphyr::to_string_multiple(&docs)?;
    report_sample(start, out.len());
    Ok(())
}

/// What `syncgate check --offline -o FORMAT` does, through the same library calls as the CLI.
fn measure_check(input: &Path, policy: &Path, format: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    let limits = syncgate::manifest::Limits::default();
    let policies = syncgate::policy::load(&[policy.to_path_buf()], &limits)?;
    let options = syncgate::pipeline::CheckOptions {
        default_namespace: "default".into(),
        run_mode: syncgate::policy::RunMode::AsConfigured,
        now: jiff::Timestamp::now(),
        tenancy: None,
    };
    let mut checker = syncgate::pipeline::Checker::new(&policies, &options);
    match std::env::var("BENCH_STAGE").as_deref() {
        Ok("parse") => {
            let mut n = 0;
            syncgate::manifest::visit(&[input.to_path_buf()], &limits, &mut |d| {
                n += d.root.line as usize;
                Ok::<(), syncgate::manifest::ManifestError>(())
            })?;
            report_sample(start, n);
            return Ok(());
        }
        Ok("typed") => {
            let mut n = 0;
            syncgate::manifest::visit(&[input.to_path_buf()], &limits, &mut |d| {
                for r in d.resources(0)? {
                    let w = syncgate::policy::Workload::new(r, &policies.kinds, "default")?;
                    n += w.images.len();
                }
                Ok::<(), syncgate::pipeline::PipelineError>(())
            })?;
            report_sample(start, n);
            return Ok(());
        }
        _ => {}
    }
    syncgate::manifest::visit(&[input.to_path_buf()], &limits, &mut |d| checker.document(&d))?;
    let report = checker.finish();
    let mut sink = Counting(0);
    match format {
        "json" => syncgate::report::write_json(&report, &mut sink)?,
        _ => syncgate::report::write_text(&report, &mut sink, false)?,
    }
    report_sample(start, sink.0);
    Ok(())
}

/// An output sink that only counts bytes, standing in for a pipe to the next tool.
struct Counting(usize);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run_child(args: &[&str]) -> anyhow::Result<Sample> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(args).output()?;
    if !out.status.success() {
        bail!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8(out.stdout)?;
    let mut parts = text.split_whitespace();
    let seconds = parts.next().context("no time")?.parse()?;
    let peak_rss = parts.next().context("no rss")?.parse()?;
    Ok(Sample { seconds, peak_rss })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn compare(resources: usize, runs: usize) -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/out");
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("stream.yaml");
    // Every production rule and the restricted profile (the manifest fuzz target uses it too).
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/policy.yaml");
    std::fs::write(&input, generate(resources))?;
    let size = std::fs::metadata(&input)?.len();
    let (input_s, policy_s) = (input.to_string_lossy().into_owned(), policy.to_string_lossy().into_owned());
    println!("stream: {resources} resources, {:.1} MiB ({})", size as f64 / 1_048_576.0, input.display());

    let mut floor = Vec::new();
    let mut check = Vec::new();
    let mut json = Vec::new();
    let (mut floor_rss, mut check_rss, mut json_rss) = (0, 0, 0);
    for _ in 0..runs {
        // Interleave the measurements so machine noise hits all alike.
        let f = run_child(&["--floor", &input_s])?;
        let c = run_child(&["--check", &input_s, &policy_s, "text"])?;
        let j = run_child(&["--check", &input_s, &policy_s, "json"])?;
        floor.push(f.seconds);
        check.push(c.seconds);
        json.push(j.seconds);
        floor_rss = floor_rss.max(f.peak_rss);
        check_rss = check_rss.max(c.peak_rss);
        json_rss = json_rss.max(j.peak_rss);
    }
    let (floor_s, check_s, json_s) = (median(floor), median(check), median(json));
    let ratio = check_s / floor_s;
    let budget = 3 * size + 50 * 1_048_576;
    println!(
        "floor (serde-saphyr parse + emit, same stream): median {floor_s:.3} s over {runs} runs, peak RSS {:.1} MiB",
        mib(floor_rss)
    );
    println!("check --offline (text report): median {check_s:.3} s, peak RSS {:.1} MiB", mib(check_rss));
    println!(
        "check --offline -o json (every finding, passes included): median {json_s:.3} s ({:.2}x floor), peak RSS {:.1} MiB",
        json_s / floor_s,
        mib(json_rss)
    );
    println!("time ratio check/floor: {ratio:.2}x (target <= 1.50x) {}", verdict(ratio <= 1.5));
    println!(
        "peak RSS: {:.1} MiB vs budget 3 x input + 50 MiB = {:.1} MiB ({:.2}x of budget) {}",
        mib(check_rss.max(json_rss)),
        mib(budget),
        check_rss.max(json_rss) as f64 / budget as f64,
        verdict(check_rss.max(json_rss) <= budget)
    );
    checkov(&input, check_s)?;
    Ok(())
}

fn checkov(input: &Path, syncgate_seconds: f64) -> anyhow::Result<()> {
    let Ok(found) = which("checkov") else {
        println!("checkov: not on PATH, peer ratio not measured (pip install checkov to compare)");
        return Ok(());
    };
    // The checks closest to syncgate's rules (checkov's Kubernetes framework ids).
    let checks = "CKV_K8S_16,CKV_K8S_17,CKV_K8S_18,CKV_K8S_19,CKV_K8S_20,CKV_K8S_22,CKV_K8S_23,CKV_K8S_25,CKV_K8S_26,CKV_K8S_28,CKV_K8S_10,CKV_K8S_12,CKV_K8S_14,CKV_K8S_40,CKV_K8S_43,CKV_K8S_31";
    let scan_dir = input.parent().context("input has a parent")?.join("checkov");
    std::fs::create_dir_all(&scan_dir)?;
    std::fs::copy(input, scan_dir.join("stream.yaml"))?;
    let start = Instant::now();
    let out = Command::new(found)
        .args(["--framework", "kubernetes", "--quiet", "--compact", "-o", "json", "--check", checks, "-d"])
        .arg(&scan_dir)
        .output()?;
    let seconds = start.elapsed().as_secs_f64();
    // checkov prints one JSON object (or a list of them) with a summary of what it evaluated.
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let summary = if parsed.is_array() { &parsed[0]["summary"] } else { &parsed["summary"] };
    println!(
        "checkov {} (same manifests, {} equivalent checks; it reported {} passed, {} failed): {seconds:.3} s, {:.1}x the time of syncgate check",
        out.status,
        checks.split(',').count(),
        summary["passed"],
        summary["failed"],
        seconds / syncgate_seconds
    );
    Ok(())
}

fn which(name: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .context("not found")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "OK" } else { "OVER TARGET" }
}

/// A deterministic stream of mixed resources: every workload kind, hardened and careless pods,
/// Services and ConfigMaps between them.
#[must_use]
fn generate(resources: usize) -> String {
    let mut seed: u64 = 0x5EED;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let mut out = String::with_capacity(resources * 1200);
    for i in 0..resources {
        let ns = format!("team-{}", i % 37);
        let hardened = next() % 5 != 0;
        let image = match next() % 10 {
            0 => format!("ghcr.io/acme/svc-{i}:1.{}.0", i % 9),
            1 => format!("nginx:{}", if i % 2 == 0 { "latest" } else { "1.27" }),
            2 => format!("registry.k8s.io/pause:3.{}@sha256:{:064x}", i % 10, i),
            _ => format!("ghcr.io/acme/svc-{i}:1.{}.0@sha256:{:064x}", i % 9, i),
        };
        let pod = pod_spec(&image, hardened, next() % 7 == 0);
        let doc = match i % 10 {
            0 => format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: {ns}\nspec:\n  selector: {{app: svc-{i}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            ),
            1 => format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {ns}\ndata:\n  config.yaml: |\n    level: info\n    replicas: {}\n",
                i % 5
            ),
            k => workloads::workload(k - 2, i, &ns, &pod),
        };
        out.push_str("---\n");
        out.push_str(&doc);
    }
    out
}

fn pod_spec(image: &str, hardened: bool, host: bool) -> String {
    let mut s = String::new();
    if host {
        s.push_str("hostNetwork: true\nvolumes:\n- name: host\n  hostPath: {path: /var/run}\n");
    }
    if hardened {
        s.push_str("securityContext:\n  runAsNonRoot: true\n  seccompProfile: {type: RuntimeDefault}\n");
    }
    let _ = write!(
        s,
        "containers:\n- name: main\n  image: {image}\n  ports:\n  - containerPort: 8080\n  env:\n  - name: LOG_LEVEL\n    value: info\n  resources:\n    requests: {{cpu: 100m, memory: 128Mi}}\n    limits: {{memory: 256Mi}}\n"
    );
    if hardened {
        s.push_str("  securityContext:\n    allowPrivilegeEscalation: false\n    readOnlyRootFilesystem: true\n    capabilities: {drop: [ALL]}\n");
    } else {
        s.push_str("  securityContext:\n    privileged: true\n");
    }
    let _ = write!(
        s,
        "- name: sidecar\n  image: ghcr.io/acme/proxy:2.1.0@sha256:{:064x}\n  args: [--port, \"9090\"]\n  resources:\n    requests: {{cpu: 10m, memory: 32Mi}}\n  securityContext:\n    allowPrivilegeEscalation: false\n    readOnlyRootFilesystem: true\n    capabilities: {{drop: [ALL]}}\n",
        0xface
    );
    s
}
