//! The command line: clap definitions, settings resolution, and one function per subcommand that
//! loads inputs, calls [`crate::pipeline`], writes the output and picks the exit code.
//!
//! Exit codes everywhere: 0 allowed (or verified), 1 denied (or not verified, or a policy test
//! mismatched), 2 usage, input or configuration error. Data goes to stdout, diagnostics to stderr.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::argocd::AppEnv;
use crate::cache::{CacheOptions, CachedResolver};
use crate::config::{ConfigFile, RegistryFlags, RegistrySettings};
use crate::gate::{Gate, GateParts, PolicySource, Tenancies};
use crate::image::ImageRef;
use crate::krm;
use crate::manifest::{self, Limits, Stream};
use crate::pipeline::{self, CheckOptions};
use crate::policy::{self, PolicySet, RunMode};
use crate::registry::{Registry, RegistryOptions, Resolve};
use crate::render::Renderer;
use crate::report::{self, Decision, Report};
use crate::testcase;
use crate::verify::{EvidenceStore, Verifier};

/// syncgate: the last gate between rendered manifests and the cluster.
#[derive(Debug, Parser)]
#[command(name = "syncgate", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate manifests (files, directories, or - for stdin) against policies and print a report,
    /// or (`--output manifests`) the manifests with every image pinned to the digest it resolved.
    Check(CheckArgs),
    /// Argo CD Config Management Plugin `generate`: render the application directory (the current
    /// directory), gate it, and print only the manifests on stdout (images pinned); a denial goes to
    /// stderr with exit 1, where Argo CD shows it as the Application's condition.
    Generate(GenerateArgs),
    /// Helm post-renderer (Helm 3 `--post-renderer`, or the Helm 4 plugin): manifests on stdin, the
    /// same manifests with images pinned on stdout, or a denial on stderr and exit 1.
    PostRender(PostRenderArgs),
    /// KRM function (kpt, kustomize exec functions): a ResourceList on stdin, the same list on
    /// stdout with images pinned when allowed and a `results` entry per finding; a denial exits 1
    /// with the items unchanged and the results still written. `functionConfig` may be a ConfigMap
    /// (data: policy, mode, namespace, offline) or a syncgate policy document.
    Fn(FnArgs),
    /// Resolve one image and print it pinned to its digest; with --policy, also verify its signatures
    /// and attestations against the ImagePolicies that match it and print the evidence.
    Verify(VerifyArgs),
    /// Verify a Sigstore bundle (v0.1–v0.3) for a file or digest, offline, against a trusted root.
    VerifyBundle(VerifyBundleArgs),
    /// Inspect or empty the caches (resolutions and verified evidence).
    Cache(CacheArgs),
    /// Run policy test cases (files named syncgate-test.yaml under DIR) and compare expected verdicts.
    Test(TestArgs),
    /// Run the daemon: Argo CD's Config Management Plugin protocol and the syncgate.v1 API over
    /// gRPC (unix sockets, optionally TCP), Prometheus metrics, health and readiness, policy hot
    /// reload; SIGTERM drains requests in flight and exits 0.
    Serve(ServeArgs),
    /// Flux verified-source controller: watch VerifiedSources and their Flux sources, fetch each
    /// new upstream revision, render and gate it, and publish what passes as an ExternalArtifact
    /// (images pinned) from its own artifact server; a revision that fails is not published and
    /// the ExternalArtifact says why.
    FluxController(FluxControllerArgs),
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable, grouped by resource.
    Text,
    /// The JSON report contract.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// JUnit XML, one test case per resource × rule.
    Junit,
    /// The manifests, images pinned, when allowed (the text report goes to stderr).
    Manifests,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Each rule runs in the mode its policy gives it.
    Enforce,
    /// Everything is report-only: findings become warnings and nothing denies.
    Report,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Registry access and resolution caches (shared by every command that talks to registries).
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Registry reached over plain HTTP (repeatable; e.g. a loopback test registry).
    #[arg(
        long = "insecure-registry",
        value_name = "HOST:PORT",
        env = "SYNCGATE_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure: Vec<String>,
    /// PEM bundle of extra CA certificates for registries.
    #[arg(long, value_name = "PEM", env = "SYNCGATE_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Docker config.json (file or directory); default $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
    #[arg(long = "registry-config", value_name = "FILE|DIR")]
    pub docker_config: Option<PathBuf>,
    /// Mounted kubernetes.io/dockerconfigjson secret (file or directory; repeatable).
    #[arg(long = "pull-secret", value_name = "FILE|DIR", env = "SYNCGATE_PULL_SECRETS", value_delimiter = ',')]
    pub pull_secrets: Vec<PathBuf>,
    /// Per-request timeout in seconds [default: 10].
    #[arg(long = "registry-timeout", value_name = "SECONDS", env = "SYNCGATE_REGISTRY_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Deadline for resolving all images, in seconds [default: 30, below Argo CD's 60].
    #[arg(long, value_name = "SECONDS", env = "SYNCGATE_DEADLINE")]
    pub deadline: Option<u64>,
    /// Parallel requests per registry [default: 8].
    #[arg(long = "registry-concurrency", value_name = "N", env = "SYNCGATE_REGISTRY_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// On-disk cache directory [default: $XDG_CACHE_HOME/syncgate].
    #[arg(long = "cache-dir", value_name = "DIR", env = "SYNCGATE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not use the on-disk cache.
    #[arg(long = "no-disk-cache")]
    pub no_disk_cache: bool,
    /// Shared cache: `redis://[:password@]host:port/db` or `rediss://` (needs --cache-key-file).
    #[arg(long = "cache", value_name = "URL", env = "SYNCGATE_CACHE", hide_env_values = true)]
    pub redis: Option<String>,
    /// File holding the HMAC key that authenticates cache entries stored outside the process; also
    /// enables keeping verified signature evidence on disk and in Redis.
    #[arg(long = "cache-key-file", value_name = "FILE", env = "SYNCGATE_CACHE_KEY_FILE")]
    pub cache_key_file: Option<PathBuf>,
    /// Config file (registries and cache settings); flags and environment take precedence.
    #[arg(long, value_name = "FILE", env = "SYNCGATE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Policy and evaluation settings shared by `check` and `post-render`.
#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// Policy file or directory (repeatable; `fn` may take its policies from functionConfig instead).
    #[arg(long, short = 'p', value_name = "FILE|DIR", env = "SYNCGATE_POLICY", value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    /// Skip registry work: evaluate image references as written and rewrite nothing.
    #[arg(long, env = "SYNCGATE_OFFLINE")]
    pub offline: bool,
    /// `report` makes every rule report-only (the first rollout step); `enforce` uses each rule's own mode.
    #[arg(long, value_enum, default_value = "enforce", env = "SYNCGATE_MODE")]
    pub mode: ModeArg,
    /// Namespace for namespaced resources that set none.
    #[arg(long, short = 'n', default_value = "default", env = "SYNCGATE_NAMESPACE")]
    pub namespace: String,
    /// Evaluate exception expiry at this RFC 3339 time instead of now (reproducible runs).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,
    /// Largest accepted input per file or stdin, in bytes.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    pub max_input_bytes: usize,
    /// Check every resource against this `Tenant` of the policies: its namespaces (the destination
    /// namespace is --namespace), source repositories and kinds.
    #[arg(long, value_name = "NAME", env = "SYNCGATE_TENANT", conflicts_with = "project")]
    pub tenant: Option<String>,
    /// Check every resource against this Argo CD AppProject (or Tenant) from --projects.
    #[arg(long, value_name = "NAME", requires = "projects")]
    pub project: Option<String>,
    /// AppProject (or Tenant) documents: a file or directory (e.g. a mounted ConfigMap).
    #[arg(long, value_name = "FILE|DIR", env = "SYNCGATE_PROJECTS", requires = "project")]
    pub projects: Option<PathBuf>,
    /// The repository the manifests come from, checked against the scope's source repositories.
    #[arg(long, value_name = "URL", env = "SYNCGATE_SOURCE_REPO")]
    pub source_repo: Option<String>,
    /// Registry access and caches.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl GateArgs {
    /// `check` and `post-render` need policies on the command line (or `SYNCGATE_POLICY`).
    fn require_policy(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.policy.is_empty(), "no policies: give --policy FILE|DIR (or SYNCGATE_POLICY)");
        Ok(())
    }
}

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Manifest files or directories (*.yaml, *.yml, *.json, recursively); - reads stdin.
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: Output,
    /// When to colour text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Policies, modes and registry access.
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Where named policy sets come from, and how strictly they run (shared by `generate` and `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct PolicySetArgs {
    /// Policy file or directory forming the `default` set (repeatable).
    #[arg(long, short = 'p', value_name = "FILE|DIR", env = "SYNCGATE_POLICY", value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    /// Directory of named policy sets, one subdirectory each (e.g. one mounted ConfigMap per set);
    /// the Application's `policy` plugin parameter picks one, `default` otherwise.
    #[arg(long, value_name = "DIR", env = "SYNCGATE_POLICY_DIR", conflicts_with = "policy")]
    pub policy_dir: Option<PathBuf>,
    /// Skip registry work: evaluate image references as written and rewrite nothing.
    #[arg(long, env = "SYNCGATE_OFFLINE")]
    pub offline: bool,
    /// `report` makes every rule report-only (an operator decision: Applications cannot choose it).
    #[arg(long, value_enum, default_value = "enforce", env = "SYNCGATE_MODE")]
    pub mode: ModeArg,
    /// Deadline for running kustomize or helm, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, env = "SYNCGATE_RENDER_TIMEOUT")]
    pub render_timeout: u64,
    /// Largest accepted input per file or rendered output, in bytes.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    pub max_input_bytes: usize,
    /// Argo CD AppProjects (or syncgate Tenants) from a file or directory (e.g. a mounted ConfigMap):
    /// every resource is checked against the Application's project.
    #[arg(long, value_name = "FILE|DIR", env = "SYNCGATE_PROJECTS", conflicts_with = "projects_from_cluster")]
    pub projects: Option<PathBuf>,
    /// Read each Application and its AppProject from the Kubernetes API (in-cluster config or
    /// KUBECONFIG; needs get on applications and appprojects): gives the project on Argo CD
    /// before 3.0 and the destination cluster.
    #[arg(long, env = "SYNCGATE_PROJECTS_FROM_CLUSTER")]
    pub projects_from_cluster: bool,
    /// Argo CD's namespace (AppProjects, and Applications without a namespace prefix).
    #[arg(long, value_name = "NS", default_value = "argocd", env = "SYNCGATE_ARGOCD_NAMESPACE")]
    pub argocd_namespace: String,
    /// Post a Kubernetes Event (Warning, reason SyncgateDenied) on the Application for each denial
    /// (needs create on events in the Application's namespace).
    #[arg(long, env = "SYNCGATE_EVENTS")]
    pub events: bool,
    /// Registry access and caches.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Socket of a running `syncgate serve`: when it accepts a connection, the rendered manifests
    /// are gated there (its policies and caches); otherwise in this process.
    #[arg(long, value_name = "PATH", env = "SYNCGATE_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Policy sets, modes and registry access.
    #[command(flatten)]
    pub sets: PolicySetArgs,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config Management Plugin socket [default: $ARGOCD_PLUGINSOCKFILEPATH/syncgate-v1.sock, else
    /// /home/argocd/cmp-server/plugins/syncgate-v1.sock].
    #[arg(long, value_name = "PATH", env = "SYNCGATE_CMP_SOCKET")]
    pub cmp_socket: Option<PathBuf>,
    /// Unix socket of the syncgate.v1 API.
    #[arg(long, value_name = "PATH", env = "SYNCGATE_SOCKET", default_value = "/var/run/syncgate/syncgate.sock")]
    pub socket: PathBuf,
    /// Also serve the syncgate.v1 API on this TCP address (plaintext: keep it on a private network).
    #[arg(long, value_name = "ADDR", env = "SYNCGATE_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR", env = "SYNCGATE_METRICS_ADDR", default_value = "0.0.0.0:9464")]
    pub metrics_addr: std::net::SocketAddr,
    /// Where Config Management Plugin requests unpack their archives; wiped at start.
    #[arg(long, value_name = "DIR", env = "ARGOCD_CMP_WORKDIR", default_value = "/tmp/_cmp_server")]
    pub work_dir: PathBuf,
    /// How often the policy files are checked for changes, in seconds.
    #[arg(long, value_name = "SECONDS", env = "SYNCGATE_RELOAD_INTERVAL", default_value_t = 10)]
    pub reload_interval: u64,
    /// How long requests in flight may run after SIGTERM, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 25)]
    pub shutdown_grace: u64,
    /// Requests worked on at once (CMP generations and Evaluate calls); more wait in line within
    /// their deadline. Bounds memory and /tmp use.
    #[arg(long, value_name = "N", env = "SYNCGATE_MAX_CONCURRENT", default_value_t = 16)]
    pub max_concurrent: usize,
    /// Log format on stderr.
    #[arg(long, value_enum, env = "SYNCGATE_LOG_FORMAT", default_value = "json")]
    pub log_format: LogFormat,
    /// Policy sets, modes and registry access.
    #[command(flatten)]
    pub sets: PolicySetArgs,
}

/// Arguments of `flux-controller`. Flag names follow Flux's artifact SDK where they mean the same.
#[derive(Debug, clap::Args)]
pub struct FluxControllerArgs {
    /// Print the VerifiedSource CustomResourceDefinition as YAML and exit.
    #[arg(long)]
    pub print_crd: bool,
    /// Where artifacts are stored (an emptyDir or a PVC).
    #[arg(long, value_name = "DIR", env = "SYNCGATE_STORAGE_PATH", default_value = "/data")]
    pub storage_path: PathBuf,
    /// Address the artifact server listens on.
    #[arg(long, value_name = "ADDR", env = "SYNCGATE_STORAGE_ADDR", default_value = "0.0.0.0:9090")]
    pub storage_addr: std::net::SocketAddr,
    /// Host (and port) consumers reach the artifact server at, used in artifact URLs.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        env = "SYNCGATE_STORAGE_ADV_ADDR",
        default_value = "syncgate.flux-system.svc.cluster.local."
    )]
    pub storage_adv_addr: String,
    /// How long superseded artifacts stay servable, as a Go duration.
    #[arg(long, value_name = "DURATION", env = "SYNCGATE_ARTIFACT_RETENTION_TTL", default_value = "1m")]
    pub artifact_retention_ttl: String,
    /// Most artifacts kept per VerifiedSource, the current one included.
    #[arg(long, value_name = "N", env = "SYNCGATE_ARTIFACT_RETENTION_RECORDS", default_value_t = 2)]
    pub artifact_retention_records: usize,
    /// notification-controller's event receiver, e.g.
    /// `http://notification-controller.flux-system.svc.cluster.local./`; no Flux events without it.
    #[arg(long, value_name = "URL", env = "SYNCGATE_EVENTS_ADDR")]
    pub events_addr: Option<String>,
    /// Take a Lease before reconciling and serving, so only one replica acts.
    #[arg(long, env = "SYNCGATE_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Namespace of the Lease [default: $POD_NAMESPACE, else flux-system].
    #[arg(long, value_name = "NS", env = "SYNCGATE_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, value_name = "NAME", default_value = "syncgate-flux-controller")]
    pub leader_election_id: String,
    /// Only watch VerifiedSources in this namespace [default: all namespaces].
    #[arg(long, value_name = "NS", env = "SYNCGATE_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Refuse sourceRefs to another namespace (as Flux's flag of the same name).
    #[arg(long, env = "SYNCGATE_NO_CROSS_NAMESPACE_REFS")]
    pub no_cross_namespace_refs: bool,
    /// VerifiedSources reconciled at once.
    #[arg(long, value_name = "N", env = "SYNCGATE_CONCURRENT", default_value_t = 4)]
    pub concurrent: u16,
    /// Largest upstream artifact downloaded, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    pub max_download_mib: u64,
    /// Deadline for one reconcile (download, render, registries, signatures, storage), in seconds.
    #[arg(long, value_name = "SECONDS", env = "SYNCGATE_RECONCILE_TIMEOUT", default_value_t = 120)]
    pub reconcile_timeout: u64,
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR", env = "SYNCGATE_METRICS_ADDR", default_value = "0.0.0.0:9464")]
    pub metrics_addr: std::net::SocketAddr,
    /// Log format on stderr.
    #[arg(long, value_enum, env = "SYNCGATE_LOG_FORMAT", default_value = "json")]
    pub log_format: LogFormat,
    /// Policy sets, modes and registry access.
    #[command(flatten)]
    pub sets: PolicySetArgs,
}

/// Arguments of `post-render`.
#[derive(Debug, clap::Args)]
pub struct PostRenderArgs {
    /// Policies, modes and registry access.
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Arguments of `fn`: those of `post-render`; `--policy` may be left out because `functionConfig` may
/// carry or name the policies (then it adds to them). A `ConfigMap` functionConfig's `data` takes
/// precedence over these.
#[derive(Debug, clap::Args)]
pub struct FnArgs {
    /// Policies, modes, scope and registry access.
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The image reference, e.g. ghcr.io/acme/api:1.4.2.
    pub image: String,
    /// Policy file or directory holding ImagePolicies (repeatable); without it, only resolve.
    #[arg(long, short = 'p', value_name = "FILE|DIR", value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: EvidenceOutput,
    /// Registry access and caches.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Output formats of `verify` and `verify-bundle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvidenceOutput {
    /// Human-readable.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `verify-bundle`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["artifact", "digest"])))]
#[command(group(clap::ArgGroup::new("signer").required(true).args(["key", "certificate_identity"])))]
pub struct VerifyBundleArgs {
    /// The Sigstore bundle (JSON).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The file the bundle signs.
    #[arg(long, value_name = "FILE")]
    pub artifact: Option<PathBuf>,
    /// The sha256 digest of what the bundle signs, instead of the file.
    #[arg(long, value_name = "sha256:HEX")]
    pub digest: Option<String>,
    /// Sigstore trusted_root.json (Fulcio CAs, Rekor keys).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: PathBuf,
    /// Expected certificate subject (SAN), e.g. a workflow URI or an email.
    #[arg(long, value_name = "ID", requires = "certificate_oidc_issuer")]
    pub certificate_identity: Option<String>,
    /// Expected OIDC issuer of the certificate.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
    /// Public key (PEM) for key-signed bundles.
    #[arg(long, value_name = "FILE", conflicts_with = "certificate_identity")]
    pub key: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: EvidenceOutput,
}

/// What to do with the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheAction {
    /// Print entry counts per tier.
    Stats,
    /// Remove syncgate's entries from every tier.
    Clear,
}

/// Arguments of `cache`.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// `stats` or `clear`.
    #[arg(value_enum)]
    pub action: CacheAction,
    /// Registry access and caches.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Directory searched recursively for syncgate-test.yaml files (or one such file).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Parses the command line, runs it, and maps the result to an exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(args) => init_logging(args.log_format, "info"),
        Command::FluxController(args) => init_logging(args.log_format, "info"),
        _ => init_logging(LogFormat::Text, "warn"),
    }
    let result = match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Generate(args) => run_generate(&args),
        Command::PostRender(args) => run_post_render(&args),
        Command::Fn(args) => run_fn(&args),
        Command::Verify(args) => run_verify(&args),
        Command::VerifyBundle(args) => run_verify_bundle(&args),
        Command::Cache(args) => run_cache(&args),
        Command::Test(args) => run_test(&args),
        Command::Serve(args) => run_serve(&args),
        Command::FluxController(args) => run_flux_controller(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr, filtered by `SYNCGATE_LOG` (default: `default_level`). JSON lines carry a
/// timestamp and the event's fields at the top level; text lines of one-shot commands carry no time.
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SYNCGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).try_init(),
        LogFormat::Text if default_level == "info" => builder.try_init(),
        LogFormat::Text => builder.without_time().try_init(),
    };
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

impl RegistryArgs {
    fn settings(&self) -> anyhow::Result<RegistrySettings> {
        let file = match &self.config {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::default(),
        };
        let flags = RegistryFlags {
            insecure: self.insecure.clone(),
            ca_bundle: self.ca_bundle.clone(),
            docker_config: self.docker_config.clone(),
            pull_secrets: self.pull_secrets.clone(),
            request_timeout: self.request_timeout,
            deadline: self.deadline,
            concurrency_per_registry: self.concurrency,
            cache_dir: self.cache_dir.clone(),
            no_disk_cache: self.no_disk_cache,
            redis: self.redis.clone(),
            cache_key_file: self.cache_key_file.clone(),
        };
        Ok(RegistrySettings::resolve(flags, &file)?)
    }
}

/// A verifier over the registry client behind `resolver`, keeping evidence in the resolver's disk
/// and Redis tiers as well as in memory (the resolver stores nothing there without an HMAC key).
fn verifier(resolver: &Arc<CachedResolver<Registry>>) -> Verifier<Registry> {
    let persisted = Arc::clone(resolver) as Arc<dyn EvidenceStore>;
    Verifier::new(resolver.inner().clone()).with_store(persisted)
}

/// The registry client behind the cache tiers the settings ask for.
fn resolver(settings: &RegistrySettings) -> anyhow::Result<CachedResolver<Registry>> {
    let registry = Registry::new(RegistryOptions {
        insecure: settings.insecure.clone(),
        ca_bundle: settings.ca_bundle.clone(),
        docker_config: settings.docker_config.clone(),
        pull_secrets: settings.pull_secrets.clone(),
        request_timeout: settings.request_timeout,
        deadline: settings.deadline,
        retries: settings.retries,
        concurrency_per_registry: settings.concurrency_per_registry,
        ..RegistryOptions::default()
    })
    .context("invalid registry settings")?;
    let cache = CacheOptions {
        tag_ttl: settings.tag_ttl,
        disk_dir: settings.cache_dir.clone(),
        redis_url: settings.redis.clone(),
        hmac_key: settings.cache_key.clone(),
        scope: cache_scope(settings),
        ..CacheOptions::default()
    };
    CachedResolver::new(registry, cache).context("invalid cache settings")
}

/// What a cached answer depends on besides the reference: which registries are plain HTTP, the CA
/// bundle and the credential sources (an answer seen with one identity is not reused for another).
fn cache_scope(settings: &RegistrySettings) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    for part in [
        format!("{:?}", settings.insecure),
        format!("{:?}", settings.ca_bundle),
        format!("{:?}", settings.docker_config),
        format!("{:?}", settings.pull_secrets),
        std::env::var("DOCKER_CONFIG").unwrap_or_default(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize()[..8])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn check_options(gate: &GateArgs, policies: &PolicySet) -> anyhow::Result<CheckOptions> {
    let scope = match (&gate.tenant, &gate.project, &gate.projects) {
        (Some(name), _, _) => {
            let Some(scope) = policies.tenant(name) else {
                let known: Vec<&str> = policies.tenants.iter().map(|t| t.name()).collect();
                let known = if known.is_empty() {
                    "they define none".to_owned()
                } else {
                    format!("found: {}", known.join(", "))
                };
                anyhow::bail!("no Tenant named \"{name}\" in the policies ({known})");
            };
            Some(Arc::clone(scope))
        }
        (None, Some(name), Some(path)) => {
            let projects = crate::project::FileProjects::load(path)
                .with_context(|| format!("invalid projects in {}", path.display()))?;
            Some(projects.get(name)?)
        }
        _ => None,
    };
    if scope.is_none() && gate.source_repo.is_some() {
        anyhow::bail!("--source-repo needs a scope to check it against: give --tenant, or --project with --projects");
    }
    let tenancy = scope.map(|scope| pipeline::Tenancy {
        scope: Ok(scope),
        destination: crate::project::Destination { server: None, name: None, namespace: gate.namespace.clone() },
        repo_url: gate.source_repo.clone(),
        application: source_id(gate.source_repo.as_deref().unwrap_or_default()),
    });
    Ok(CheckOptions {
        default_namespace: gate.namespace.clone(),
        run_mode: match gate.mode {
            ModeArg::Enforce => RunMode::AsConfigured,
            ModeArg::Report => RunMode::ReportOnly,
        },
        now: gate.now.unwrap_or_else(jiff::Timestamp::now),
        tenancy,
    })
}

/// What source-level findings are about outside Argo CD: the repository itself.
fn source_id(url: &str) -> report::ResourceId {
    report::ResourceId {
        api_version: "syncgate.dev/v1alpha1".into(),
        kind: "Source".into(),
        namespace: None,
        name: url.into(),
    }
}

/// The gate with registry work: the whole stream in memory, every distinct image resolved, checked
/// against those digests, then pinned when allowed.
fn gate_online(stream: &mut Stream, policies: &PolicySet, gate: &GateArgs) -> anyhow::Result<Report> {
    let settings = gate.registry.settings()?;
    let resolver = Arc::new(resolver(&settings)?);
    let verifier = verifier(&resolver);
    let options = check_options(gate, policies)?;
    let report = runtime()?
        .block_on(pipeline::gate(stream, policies, &options, resolver.as_ref(), &verifier, settings.deadline))
        .context("invalid input")?;
    Ok(report)
}

fn run_check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let gate = &args.gate;
    if args.paths.iter().any(|p| p.as_os_str() == "-") && std::io::stdin().is_terminal() {
        anyhow::bail!("no manifests to check: give files or directories, or pipe a stream into `syncgate check -`");
    }
    let limits = Limits { max_bytes: gate.max_input_bytes, ..Limits::default() };
    gate.require_policy()?;
    let policies = policy::load(&gate.policy, &limits).context("invalid policy")?;
    let (report, stream) = if gate.offline {
        if args.output == Output::Manifests {
            let stream = manifest::load(&args.paths, &limits).context("invalid input")?;
            let report =
                pipeline::check(&stream, &policies, &check_options(gate, &policies)?).context("invalid input")?;
            (report, Some(stream))
        } else {
            // Offline checks stream document by document: memory follows the findings.
            let options = check_options(gate, &policies)?;
            let mut checker = pipeline::Checker::new(&policies, &options);
            manifest::visit(&args.paths, &limits, &mut |document| checker.document(&document))
                .context("invalid input")?;
            (checker.finish(), None)
        }
    } else {
        let mut stream = manifest::load(&args.paths, &limits).context("invalid input")?;
        let report = gate_online(&mut stream, &policies, gate)?;
        (report, Some(stream))
    };
    let stdout = std::io::stdout();
    let color = use_color(args.color, stdout.is_terminal());
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.output {
        Output::Text => report::write_text(&report, &mut out, color)?,
        Output::Json => report::write_json(&report, &mut out)?,
        Output::Sarif => report::write_sarif(&report, &policy::catalog(), &mut out)?,
        Output::Junit => report::write_junit(&report, &mut out)?,
        Output::Manifests => write_manifests(&report, stream.as_ref(), &mut out)?,
    }
    out.flush()?;
    Ok(exit_code(&report))
}

/// Allowed: the (pinned) manifests on stdout, warnings on stderr. Denied: nothing on stdout, the
/// report on stderr.
fn write_manifests(report: &Report, stream: Option<&Stream>, out: &mut dyn Write) -> anyhow::Result<()> {
    let stderr = std::io::stderr();
    let color = use_color(ColorArg::Auto, stderr.is_terminal());
    let denied = report.decision == Decision::Deny;
    if denied || report.summary.warn > 0 || report.summary.error > 0 {
        let mut err = std::io::BufWriter::new(stderr.lock());
        report::write_text(report, &mut err, color)?;
        err.flush()?;
    }
    if !denied && let Some(stream) = stream {
        out.write_all(stream.emit().context("cannot write the manifests")?.as_bytes())?;
    }
    Ok(())
}

fn exit_code(report: &Report) -> ExitCode {
    match report.decision {
        Decision::Allow => ExitCode::SUCCESS,
        Decision::Deny => ExitCode::from(1),
    }
}

impl PolicySetArgs {
    /// The gate these settings describe: policy sets loaded, registry client and verifier built,
    /// projects and the Kubernetes client set up. Runs inside the async runtime (the Kubernetes
    /// client needs one).
    pub async fn gate(&self) -> anyhow::Result<Gate> {
        Ok(self.gate_and_resolver().await?.0)
    }

    /// The gate, and the cached registry client behind it (whose counters the daemon exports; it
    /// exists even offline, when the gate does not use it).
    pub async fn gate_and_resolver(&self) -> anyhow::Result<(Gate, Arc<CachedResolver<Registry>>)> {
        let source = match (&self.policy_dir, self.policy.is_empty()) {
            (Some(dir), _) => PolicySource::Root(dir.clone()),
            (None, false) => PolicySource::Paths(self.policy.clone()),
            (None, true) => anyhow::bail!(
                "no policies: give --policy FILE|DIR or --policy-dir DIR (SYNCGATE_POLICY, SYNCGATE_POLICY_DIR)"
            ),
        };
        let limits = Limits { max_bytes: self.max_input_bytes, ..Limits::default() };
        let settings = self.registry.settings()?;
        let cached = Arc::new(resolver(&settings)?);
        let verifier = Arc::new(verifier(&cached)) as Arc<dyn crate::verify::Verify>;
        let resolver = (!self.offline).then(|| Arc::clone(&cached) as Arc<dyn Resolve>);
        let renderer = self.renderer();
        let client = if self.projects_from_cluster || self.events {
            Some(kube::Client::try_default().await.context(
                "cannot reach the Kubernetes API (in-cluster config or KUBECONFIG) for --projects-from-cluster/--events",
            )?)
        } else {
            None
        };
        let projects = match (&self.projects, &client) {
            (Some(path), _) => Some(
                crate::project::Projects::from_path(path)
                    .with_context(|| format!("invalid projects in {}", path.display()))?,
            ),
            (None, Some(client)) if self.projects_from_cluster => {
                Some(crate::project::Projects::cluster(client.clone(), &self.argocd_namespace))
            }
            _ => None,
        };
        let events = client.filter(|_| self.events).map(crate::project::Events::new);
        let tenancies = Tenancies { projects, events, argocd_namespace: self.argocd_namespace.clone() };
        let gate = Gate::new(GateParts {
            source,
            resolver,
            verifier,
            renderer: Arc::new(renderer),
            limits,
            deadline: settings.deadline,
            run_mode: match self.mode {
                ModeArg::Enforce => RunMode::AsConfigured,
                ModeArg::Report => RunMode::ReportOnly,
            },
            tenancies,
        })?;
        Ok((gate, cached))
    }

    fn renderer(&self) -> Renderer {
        let limits = Limits { max_bytes: self.max_input_bytes, ..Limits::default() };
        Renderer::from_path(std::time::Duration::from_secs(self.render_timeout), limits)
    }
}

/// Argo CD runs this in the application directory with the CMP environment; stdout is read as the
/// manifests, stderr becomes the error shown on the Application. With `--socket` naming a daemon
/// that accepts a connection, the rendered stream is gated there; otherwise in this process.
fn run_generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let env = AppEnv::from_process();
    let dir = std::env::current_dir().context("cannot read the current directory")?;
    let runtime = runtime()?;
    if let Some(socket) = &args.socket {
        match runtime.block_on(crate::server::client::Client::connect(socket)) {
            Ok(client) => {
                let generated = runtime.block_on(generate_in_daemon(client, &args.sets, &dir, &env))?;
                return print_generated(&generated);
            }
            Err(error) => tracing::info!(%error, "syncgate daemon unreachable; gating in this process"),
        }
    }
    let gate = runtime.block_on(args.sets.gate())?;
    let gated = runtime.block_on(gate.generate(&dir, &env))?;
    let generated = if gated.report.decision == Decision::Deny {
        Generated::Denied(gated.message())
    } else {
        let warnings = gated
            .report
            .findings
            .iter()
            .filter(|f| f.status == report::Status::Warn)
            .map(|f| {
                warning_line(&f.resource.kind, f.resource.namespace.as_deref(), &f.resource.name, &f.message, &f.rule)
            })
            .collect();
        Generated::Allowed { warnings, yaml: gated.yaml()? }
    };
    print_generated(&generated)
}

/// What `generate` prints.
enum Generated {
    /// The status message (stderr, exit 1).
    Denied(String),
    /// Warning lines (stderr) and the manifests (stdout, exit 0).
    Allowed { warnings: Vec<String>, yaml: String },
}

fn warning_line(kind: &str, namespace: Option<&str>, name: &str, message: &str, rule: &str) -> String {
    let namespace = namespace.map(|n| format!("{n}/")).unwrap_or_default();
    format!("syncgate warning: {kind} {namespace}{name}: {message} [{rule}]")
}

fn print_generated(generated: &Generated) -> anyhow::Result<ExitCode> {
    let mut err = std::io::stderr().lock();
    match generated {
        Generated::Denied(message) => {
            writeln!(err, "{message}")?;
            Ok(ExitCode::from(1))
        }
        Generated::Allowed { warnings, yaml } => {
            for line in warnings {
                writeln!(err, "{line}")?;
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Renders here, gates in the daemon, and turns its answer into what the in-process path prints.
async fn generate_in_daemon(
    mut client: crate::server::client::Client,
    sets: &PolicySetArgs,
    dir: &std::path::Path,
    env: &AppEnv,
) -> anyhow::Result<Generated> {
    use crate::server::proto::syncgate::v1::Context as WireContext;
    let started = std::time::Instant::now();
    let renderer = sets.renderer();
    let (_, stream) = crate::gate::render_app(&renderer, dir, env).await?;
    let yaml = stream.emit().context("cannot serialise the rendered manifests")?;
    let context = WireContext {
        policy_set: env.parameter("policy").unwrap_or_default().to_owned(),
        namespace: env.destination_namespace.clone().unwrap_or_default(),
        application: env.app_name.clone().unwrap_or_default(),
        project: env.project.clone().unwrap_or_default(),
        repo_url: env.repo_url.clone().unwrap_or_default(),
        revision: env.revision.clone().unwrap_or_default(),
        parameters: env.parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    // The whole request's deadline, less what rendering took here.
    let deadline = sets.registry.settings()?.deadline.saturating_sub(started.elapsed());
    let response = client.evaluate(yaml.into_bytes(), context, deadline).await?;
    if response.decision != "allow" {
        return Ok(Generated::Denied(response.message));
    }
    let report: serde_json::Value =
        serde_json::from_str(&response.report_json).context("invalid report from the daemon")?;
    let warnings = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"] == "warn")
        .map(|f| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let resource = &f["resource"];
            warning_line(
                &text(&resource["kind"]),
                resource["namespace"].as_str(),
                &text(&resource["name"]),
                &text(&f["message"]),
                &text(&f["rule"]),
            )
        })
        .collect();
    let limits = Limits { max_bytes: sets.max_input_bytes, ..Limits::default() };
    let mut documents = Vec::with_capacity(response.manifests.len());
    for (index, json) in response.manifests.iter().enumerate() {
        let root = manifest::parse_str(json, &limits)
            .context("invalid manifest from the daemon")?
            .into_iter()
            .next()
            .unwrap_or_else(|| manifest::Node::new(manifest::Value::Null));
        documents.push(manifest::Document { file: None, index, root });
    }
    let yaml = Stream { documents }.emit().context("cannot write the manifests")?;
    Ok(Generated::Allowed { warnings, yaml })
}

fn run_serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    use crate::server::{self, ServeOptions};
    let runtime = runtime()?;
    let (gate, resolver) = runtime.block_on(args.sets.gate_and_resolver())?;
    let cmp_socket = args.cmp_socket.clone().unwrap_or_else(|| {
        let dir = std::env::var_os("ARGOCD_PLUGINSOCKFILEPATH")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from(server::CMP_SOCKET_DIR), PathBuf::from);
        dir.join(server::CMP_SOCKET_NAME)
    });
    let options = ServeOptions {
        cmp_socket,
        socket: args.socket.clone(),
        listen: args.listen,
        metrics_addr: args.metrics_addr,
        work_dir: args.work_dir.clone(),
        reload_interval: std::time::Duration::from_secs(args.reload_interval.max(1)),
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
        extract: server::ExtractLimits::default(),
        max_archive_bytes: server::MAX_MESSAGE_BYTES as u64,
        max_concurrent: args.max_concurrent,
    };
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        server::serve(Arc::new(gate), Some(resolver), options, shutdown).await.context("syncgate serve")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_flux_controller(args: &FluxControllerArgs) -> anyhow::Result<ExitCode> {
    use crate::flux::{controller, fetch::FetchLimits, lease::LeaseSettings, reconcile, storage};
    if args.print_crd {
        let yaml = crate::flux::source::crd_yaml().context("cannot write the CRD")?;
        let mut out = std::io::stdout().lock();
        write!(out, "---\n{yaml}").context("cannot write to stdout")?;
        return Ok(ExitCode::SUCCESS);
    }
    let ttl = crate::flux::duration::parse(&args.artifact_retention_ttl).with_context(|| {
        format!("--artifact-retention-ttl {:?} is not a duration such as 1m", args.artifact_retention_ttl)
    })?;
    let runtime = runtime()?;
    let (gate, resolver) = runtime.block_on(args.sets.gate_and_resolver())?;
    let gate = Arc::new(gate);
    let storage = storage::Storage::open(&args.storage_path)
        .with_context(|| format!("cannot open the artifact storage {}", args.storage_path.display()))?;
    let settings = reconcile::Settings {
        advertised: args.storage_adv_addr.clone(),
        retention: storage::Retention { records: args.artifact_retention_records.max(1), ttl },
        fetch: FetchLimits {
            max_download_bytes: args.max_download_mib.saturating_mul(1 << 20),
            ..FetchLimits::default()
        },
        no_cross_namespace_refs: args.no_cross_namespace_refs,
        timeout: std::time::Duration::from_secs(args.reconcile_timeout.max(1)),
        events_addr: args.events_addr.clone().filter(|a| !a.is_empty()),
        work_dir: std::env::temp_dir(),
    };
    let lease_namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok().filter(|ns| !ns.is_empty()))
        .unwrap_or_else(|| "flux-system".to_owned());
    let options = controller::ControllerOptions {
        storage_addr: args.storage_addr,
        metrics_addr: args.metrics_addr,
        watch_namespace: args.watch_namespace.clone().filter(|ns| !ns.is_empty()),
        concurrent: args.concurrent.max(1),
        lease: args.leader_elect.then(|| LeaseSettings::new(&lease_namespace, &args.leader_election_id)),
        reload_interval: std::time::Duration::from_secs(10),
    };
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("cannot reach the Kubernetes API (in-cluster config or KUBECONFIG)")?;
        let reconciler = reconcile::Reconciler::new(client.clone(), Arc::clone(&gate), storage, settings);
        let metrics = crate::server::metrics::Metrics::new(Arc::clone(&gate), Some(resolver));
        let shutdown = shutdown_signal()?;
        controller::run(client, gate, reconciler, metrics, options, shutdown).await.context("syncgate flux-controller")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGTERM or SIGINT (logged); daemons drain and exit 0 after it. Needs a runtime.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
            _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "signal received"),
        }
    })
}

fn run_post_render(args: &PostRenderArgs) -> anyhow::Result<ExitCode> {
    let gate = &args.gate;
    let limits = Limits { max_bytes: gate.max_input_bytes, ..Limits::default() };
    gate.require_policy()?;
    let policies = policy::load(&gate.policy, &limits).context("invalid policy")?;
    let mut input = Vec::new();
    std::io::stdin()
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut input)
        .context("cannot read the manifests from stdin")?;
    let documents = manifest::parse_bytes(&input, None, &limits).context("invalid input")?;
    // The trees hold everything from here on: release the raw input before gating and emitting.
    drop(input);
    let mut stream = Stream { documents };
    let report = if gate.offline {
        pipeline::check(&stream, &policies, &check_options(gate, &policies)?).context("invalid input")?
    } else {
        gate_online(&mut stream, &policies, gate)?
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_manifests(&report, Some(&stream), &mut out)?;
    out.flush()?;
    Ok(exit_code(&report))
}

impl FnArgs {
    /// The gate settings of one run. Precedence: the `ConfigMap` functionConfig's `data` > flags >
    /// environment > defaults; its `data.policy` adds to `--policy`.
    fn settings(&self, config: &krm::FunctionConfig) -> GateArgs {
        let mut gate = self.gate.clone();
        if let krm::FunctionConfig::Settings(settings) = config {
            gate.policy.extend(settings.policy.iter().cloned());
            if let Some(mode) = settings.mode {
                gate.mode = match mode {
                    RunMode::AsConfigured => ModeArg::Enforce,
                    RunMode::ReportOnly => ModeArg::Report,
                };
            }
            if let Some(namespace) = &settings.namespace {
                gate.namespace.clone_from(namespace);
            }
            if let Some(offline) = settings.offline {
                gate.offline = offline;
            }
        }
        gate
    }
}

/// A KRM function run: the ResourceList on stdin; on stdout the same list with `results`, images
/// pinned when allowed; exit 1 when denied (the list still written), 2 with nothing on stdout when
/// the input or the configuration is wrong.
fn run_fn(args: &FnArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits { max_bytes: args.gate.max_input_bytes, ..Limits::default() };
    if std::io::stdin().is_terminal() {
        anyhow::bail!("no ResourceList on stdin: `syncgate fn` is run by kpt or kustomize (or pipe one in)");
    }
    let mut input = Vec::new();
    std::io::stdin()
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut input)
        .context("cannot read the ResourceList from stdin")?;
    let mut list = krm::ResourceList::parse(&input, &limits).context("invalid ResourceList")?;
    drop(input);
    let config = list.config().context("invalid ResourceList")?;
    let gate = args.settings(&config);
    let mut documents = if gate.policy.is_empty() {
        Stream::default()
    } else {
        manifest::load(&gate.policy, &limits).context("invalid policy")?
    };
    if let krm::FunctionConfig::Policy(document) = &config {
        documents.documents.push(document.clone());
    }
    if documents.documents.is_empty() {
        anyhow::bail!(
            "no policies: give a functionConfig (a syncgate policy document, or a ConfigMap with data.policy), or --policy FILE|DIR (SYNCGATE_POLICY)"
        );
    }
    let policies = policy::document::from_stream(&documents).context("invalid policy")?;
    let options = check_options(&gate, &policies)?;
    let (report, rewrites) = if gate.offline {
        (
            pipeline::check(&list.items, &policies, &options)
                .context("invalid ResourceList item (document N is items[N])")?,
            Vec::new(),
        )
    } else {
        let settings = gate.registry.settings()?;
        let resolver = Arc::new(resolver(&settings)?);
        let verifier = verifier(&resolver);
        runtime()?
            .block_on(pipeline::gate_unpinned(
                &list.items,
                &policies,
                &options,
                resolver.as_ref(),
                &verifier,
                settings.deadline,
            ))
            .context("invalid ResourceList item (document N is items[N])")?
    };
    let results = krm::results(&report, &list.items, &rewrites);
    if report.decision == Decision::Allow {
        pipeline::pin(&mut list.items, &rewrites);
    }
    let yaml = list.emit(&results)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    out.write_all(yaml.as_bytes())?;
    out.flush()?;
    Ok(exit_code(&report))
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let image: ImageRef = args.image.parse().context("invalid image reference")?;
    let policies = if args.policy.is_empty() {
        None
    } else {
        let policies = policy::load(&args.policy, &Limits::default()).context("invalid policy")?;
        anyhow::ensure!(
            policies.no_match().is_some(),
            "no ImagePolicy in {}: nothing to verify the image against",
            args.policy.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        Some(policies)
    };
    let settings = args.registry.settings()?;
    let resolver = Arc::new(resolver(&settings)?);
    let deadline = settings.deadline;
    let runtime = runtime()?;
    let answer = runtime.block_on(async { tokio::time::timeout(deadline, resolver.resolve(&image)).await });
    let found = match answer {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            let _ = writeln!(std::io::stderr(), "not verified: {error}");
            return Ok(ExitCode::from(1));
        }
        Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "not verified: {image}: registry {} did not answer within {deadline:?}",
                image.registry()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let Some(policies) = policies else {
        let pinned = crate::image::Pinned::new(image, found.digest);
        writeln!(out, "{pinned}")?;
        writeln!(out, "mediaType: {}", found.media_type)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let verifier = verifier(&resolver);
    let mut resolutions = pipeline::Resolutions::new();
    resolutions.insert(args.image.clone(), Ok(found.clone()));
    let verifications = runtime.block_on(pipeline::verify_all(&verifier, &policies, &resolutions, deadline));
    let check = verifications.get(&args.image).cloned();
    let verification = crate::verify::Verification::new(&image, &found.digest, check);
    match args.output {
        EvidenceOutput::Text => verification.write_text(&mut out)?,
        EvidenceOutput::Json => verification.write_json(&mut out)?,
    }
    out.flush()?;
    Ok(if verification.verified { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn run_verify_bundle(args: &VerifyBundleArgs) -> anyhow::Result<ExitCode> {
    use crate::verify::bundle::{self, Bundle, Expected};
    use crate::verify::key::PublicKey;
    use crate::verify::trust::TrustRoot;
    let read = |path: &PathBuf, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
    };
    let bundle_bytes = read(&args.bundle, "bundle")?;
    let trust = TrustRoot::from_json(&read(&args.trusted_root, "trusted root")?)
        .with_context(|| format!("invalid trusted root {}", args.trusted_root.display()))?;
    let expected = match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(path), _, _) => {
            let pem = String::from_utf8(read(path, "key")?).context("the key file is not UTF-8 PEM")?;
            Expected::Key(PublicKey::from_pem(&pem).with_context(|| format!("invalid key {}", path.display()))?)
        }
        (None, Some(subject), Some(issuer)) => Expected::Identity { issuer: issuer.clone(), subject: subject.clone() },
        _ => anyhow::bail!("give --key, or --certificate-identity with --certificate-oidc-issuer"),
    };
    let artifact = match (&args.artifact, &args.digest) {
        (Some(path), _) => {
            use sha2::Digest as _;
            sha2::Sha256::digest(read(path, "artifact")?).to_vec()
        }
        (None, Some(digest)) => {
            let hex = digest.strip_prefix("sha256:").context("--digest must be sha256:<64 hex digits>")?;
            anyhow::ensure!(
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                "--digest must be sha256:<64 hex digits>"
            );
            hex::decode(hex).context("--digest must be sha256:<64 hex digits>")?
        }
        (None, None) => anyhow::bail!("give --artifact or --digest"),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let verified = Bundle::from_json(&bundle_bytes)
        .map_err(|error| error.to_string())
        .and_then(|parsed| bundle::verify_bundle(&parsed, &artifact, &trust, &expected).map_err(|e| e.to_string()));
    let code = match (&verified, args.output) {
        (Ok(verified), EvidenceOutput::Text) => {
            let signer = verified.signer.as_ref().and_then(|s| s.subject.clone());
            let issuer = verified.signer.as_ref().and_then(|s| s.issuer.clone());
            match (signer, issuer) {
                (Some(subject), Some(issuer)) => writeln!(out, "verified: signed by {subject} (issuer {issuer})")?,
                (Some(subject), None) => writeln!(out, "verified: signed by {subject}")?,
                _ => writeln!(out, "verified: signed with key {}", verified.key_fingerprint)?,
            }
            let log = &verified.logged;
            writeln!(out, "  logged in {} at index {}, {}", log.log_url, log.log_index, log.integrated_time)?;
            if let Some(statement) = &verified.statement {
                writeln!(out, "  statement: {}", statement.predicate_type)?;
            }
            ExitCode::SUCCESS
        }
        (Ok(verified), EvidenceOutput::Json) => {
            let json = serde_json::json!({
                "verified": true,
                "signer": verified.signer,
                "keyFingerprint": verified.key_fingerprint,
                "log": verified.logged,
                "statement": verified.statement,
            });
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
            ExitCode::SUCCESS
        }
        (Err(reason), EvidenceOutput::Text) => {
            writeln!(out, "not verified: {reason}")?;
            ExitCode::from(1)
        }
        (Err(reason), EvidenceOutput::Json) => {
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({"verified": false, "reason": reason}))?;
            writeln!(out)?;
            ExitCode::from(1)
        }
    };
    out.flush()?;
    Ok(code)
}

fn run_cache(args: &CacheArgs) -> anyhow::Result<ExitCode> {
    let settings = args.registry.settings()?;
    let resolver = resolver(&settings)?;
    let runtime = runtime()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.action {
        CacheAction::Stats => writeln!(out, "{}", runtime.block_on(resolver.stats()))?,
        CacheAction::Clear => writeln!(out, "{}", runtime.block_on(resolver.clear()))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Colour only on a terminal, never with a non-empty `NO_COLOR` (unless forced with `--color always`).
fn use_color(arg: ColorArg, terminal: bool) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn run_test(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let outcome = testcase::run(&args.dir)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    testcase::write_summary(&outcome, &mut out)?;
    out.flush()?;
    Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
