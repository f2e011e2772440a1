//! `syncgate serve`: the daemon. One process serves Argo CD's Config Management Plugin protocol on
//! a unix socket (in place of `argocd-cmp-server`), syncgate's own `syncgate.v1` API on a unix
//! socket (and optionally TCP), `grpc.health.v1` on both, and Prometheus metrics, `/healthz` and
//! `/readyz` over HTTP. Policy sets reload in the background; SIGTERM drains and exits 0.
//!
//! The services only convert between the wire and [`Gate`]; every decision is the gate's. Each
//! request logs one structured line (rpc, application, project, namespace, decision, duration,
//! finding counts).

mod api;
pub mod client;
mod cmp;
pub mod extract;
pub mod metrics;
pub mod proto;

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::cache::CachedResolver;
use crate::gate::Gate;
use crate::registry::Registry;
use crate::report::{Report, Status};

pub use extract::ExtractLimits;
pub use metrics::Metrics;

/// Largest gRPC message accepted or sent, both ways (Argo CD's `ARGOCD_GRPC_MAX_SIZE_MB` default).
pub const MAX_MESSAGE_BYTES: usize = 100 << 20;

/// The CMP socket's file name: Argo CD dials `<plugin name>-<version>.sock` for an Application
/// whose `plugin.name` is `syncgate-v1`.
pub const CMP_SOCKET_NAME: &str = "syncgate-v1.sock";

/// Where Argo CD's repo-server looks for plugin sockets unless `ARGOCD_PLUGINSOCKFILEPATH` says.
pub const CMP_SOCKET_DIR: &str = "/home/argocd/cmp-server/plugins";

/// How the daemon listens and behaves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The Config Management Plugin socket.
    pub cmp_socket: PathBuf,
    /// The `syncgate.v1` unix socket.
    pub socket: PathBuf,
    /// Optional TCP address for `syncgate.v1`.
    pub listen: Option<SocketAddr>,
    /// Address of the HTTP server for `/metrics`, `/healthz` and `/readyz`.
    pub metrics_addr: SocketAddr,
    /// Where CMP requests unpack their archives (wiped at start).
    pub work_dir: PathBuf,
    /// How often policy files are checked for changes.
    pub reload_interval: Duration,
    /// How long in-flight requests may run after SIGTERM.
    pub shutdown_grace: Duration,
    /// Bounds on each CMP archive's contents.
    pub extract: ExtractLimits,
    /// Largest compressed archive a CMP request may stream.
    pub max_archive_bytes: u64,
    /// Requests (CMP generations and `Evaluate` calls) worked on at once; more wait, within their
    /// deadline. Bounds memory and scratch space: each holds an archive, its files and a stream.
    pub max_concurrent: usize,
}

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A socket or address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The socket path or address.
        address: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A path where the socket should go exists and is not a socket.
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket {
        /// The path.
        path: String,
    },
    /// The work directory could not be prepared.
    #[error("cannot prepare the work directory {path}: {reason}")]
    WorkDir {
        /// The directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A server failed while running.
    #[error("{server} server failed: {reason}")]
    Server {
        /// Which server.
        server: &'static str,
        /// What happened.
        reason: String,
    },
}

/// What every service shares.
#[derive(Debug)]
pub(crate) struct State {
    /// The policies, resolver and renderer.
    pub(crate) gate: Arc<Gate>,
    /// The exported metrics.
    pub(crate) metrics: Metrics,
    /// Set once every socket listens; cleared when shutting down.
    pub(crate) ready: AtomicBool,
    /// Permits for requests worked on at once ([`ServeOptions::max_concurrent`]).
    pub(crate) permits: tokio::sync::Semaphore,
}

/// Runs the daemon until `shutdown` completes (the CLI passes SIGTERM/SIGINT), then stops
/// accepting, lets in-flight requests finish within [`ServeOptions::shutdown_grace`], removes the
/// socket files and returns.
pub async fn serve(
    gate: Arc<Gate>,
    resolver: Option<Arc<CachedResolver<Registry>>>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    prepare_work_dir(&options.work_dir)?;
    let state = Arc::new(State {
        metrics: Metrics::new(Arc::clone(&gate), resolver),
        gate,
        ready: AtomicBool::new(false),
        permits: tokio::sync::Semaphore::new(options.max_concurrent.max(1)),
    });
    let listeners = Listeners::bind(&options).await?;
    let metrics_address =
        listeners.metrics.local_addr().map_or_else(|_| options.metrics_addr.to_string(), |a| a.to_string());

    let reporter = HealthReporter::new();
    let health = || HealthServer::new(HealthService::from_health_reporter(reporter.clone()));
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let plugin = cmp::Plugin::new(Arc::clone(&state), &options);
    let mut grpc = tokio::task::JoinSet::new();
    let router = tonic::transport::Server::builder().add_service(plugin.into_server()).add_service(health());
    grpc.spawn(
        router.serve_with_incoming_shutdown(UnixListenerStream::new(listeners.cmp), until_stopped(stopped.clone())),
    );
    let api = || api::Api::new(Arc::clone(&state)).into_server();
    let router = tonic::transport::Server::builder().add_service(api()).add_service(health());
    grpc.spawn(
        router.serve_with_incoming_shutdown(UnixListenerStream::new(listeners.api), until_stopped(stopped.clone())),
    );
    if let Some(listener) = listeners.tcp {
        let router = tonic::transport::Server::builder().add_service(api()).add_service(health());
        grpc.spawn(
            router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), until_stopped(stopped.clone())),
        );
    }

    let (stop_http, http_stopped) = watch::channel(false);
    let http = tokio::spawn(
        axum::serve(listeners.metrics, http_router(Arc::clone(&state)))
            .with_graceful_shutdown(until_stopped(http_stopped))
            .into_future(),
    );
    let reload = tokio::spawn(reload_policies(Arc::clone(&state), options.reload_interval, stopped.clone()));

    for service in ["", cmp::SERVICE, api::SERVICE] {
        reporter.set_service_status(service, tonic_health::ServingStatus::Serving).await;
    }
    state.ready.store(true, Ordering::SeqCst);
    tracing::info!(
        cmp_socket = %options.cmp_socket.display(),
        socket = %options.socket.display(),
        listen = options.listen.map(|a| a.to_string()),
        metrics = %metrics_address,
        fingerprint = %state.gate.sets().fingerprint,
        "syncgate serving"
    );

    // Run until the shutdown signal, or until a server fails on its own.
    let failure = tokio::select! {
        () = shutdown => None,
        Some(result) = grpc.join_next() => Some(describe("gRPC", result)),
    };
    tracing::info!("shutting down: no new connections; waiting for requests in flight");
    state.ready.store(false, Ordering::SeqCst);
    for service in ["", cmp::SERVICE, api::SERVICE] {
        reporter.set_service_status(service, tonic_health::ServingStatus::NotServing).await;
    }
    let _ = stop.send(true);
    remove_socket(&options.cmp_socket);
    remove_socket(&options.socket);
    let failure = drain(&mut grpc, options.shutdown_grace).await.or(failure.flatten());
    let _ = stop_http.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(2), http).await;
    reload.abort();
    remove_socket(&options.cmp_socket);
    remove_socket(&options.socket);
    tracing::info!("stopped");
    match failure {
        Some(reason) => Err(ServeError::Server { server: "gRPC", reason }),
        None => Ok(()),
    }
}

/// Every listener, bound before anything is served (a taken address fails the start).
struct Listeners {
    cmp: tokio::net::UnixListener,
    api: tokio::net::UnixListener,
    tcp: Option<tokio::net::TcpListener>,
    metrics: tokio::net::TcpListener,
}

impl Listeners {
    async fn bind(options: &ServeOptions) -> Result<Listeners, ServeError> {
        let tcp = |address: SocketAddr| async move {
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| ServeError::Bind { address: address.to_string(), source })
        };
        Ok(Listeners {
            cmp: bind_unix(&options.cmp_socket)?,
            api: bind_unix(&options.socket)?,
            tcp: match options.listen {
                Some(address) => Some(tcp(address).await?),
                None => None,
            },
            metrics: tcp(options.metrics_addr).await?,
        })
    }
}

/// Waits up to `grace` for the gRPC servers to finish their requests in flight, then aborts
/// them; returns the first failure a server reported.
async fn drain(
    grpc: &mut tokio::task::JoinSet<Result<(), tonic::transport::Error>>,
    grace: Duration,
) -> Option<String> {
    let drained = tokio::time::timeout(grace, async {
        let mut first = None;
        while let Some(result) = grpc.join_next().await {
            first = first.or(describe("gRPC", result));
        }
        first
    })
    .await;
    drained.unwrap_or_else(|_| {
        tracing::warn!(?grace, "requests still in flight after the grace period; exiting anyway");
        grpc.abort_all();
        None
    })
}

fn describe(
    server: &str,
    result: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> Option<String> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{server}: {error}")),
        Err(error) => Some(format!("{server}: {error}")),
    }
}

/// Wipes and recreates the work directory (as `argocd-cmp-server` does), refusing directories that
/// are obviously not its own.
fn prepare_work_dir(dir: &Path) -> Result<(), ServeError> {
    let fail = |reason: String| ServeError::WorkDir { path: dir.display().to_string(), reason };
    let depth = dir.components().filter(|c| matches!(c, std::path::Component::Normal(_))).count();
    if !dir.is_absolute() || depth < 2 {
        return Err(fail("give an absolute path at least two levels deep (it is wiped at start)".into()));
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))
}

/// Binds a unix socket at `path`, removing a stale socket first.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, ServeError> {
    let bind_error = |source| ServeError::Bind { address: path.display().to_string(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(bind_error)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path).map_err(bind_error)?,
        Ok(_) => return Err(ServeError::NotASocket { path: path.display().to_string() }),
        Err(_) => {}
    }
    tokio::net::UnixListener::bind(path).map_err(bind_error)
}

fn remove_socket(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// `/metrics`, `/healthz`, `/readyz`.
fn http_router(state: Arc<State>) -> axum::Router {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    async fn metrics(axum::extract::State(state): axum::extract::State<Arc<State>>) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        match state.metrics.encode() {
            Ok(text) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                .into_response(),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n").into_response(),
        }
    }
    async fn ready(axum::extract::State(state): axum::extract::State<Arc<State>>) -> (StatusCode, &'static str) {
        if state.ready.load(Ordering::SeqCst) && !state.gate.sets().sets.is_empty() {
            (StatusCode::OK, "ready\n")
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
        }
    }
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

/// Checks the policy files every `interval`: new valid files go live; invalid ones are logged
/// (once per distinct error) and the previous sets stay live.
async fn reload_policies(state: Arc<State>, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = ticks.tick() => {}
        }
        let gate = Arc::clone(&state.gate);
        match tokio::task::spawn_blocking(move || gate.reload()).await {
            Ok(Ok(true)) => {
                last_error = None;
                state.metrics.reloaded();
                let sets = state.gate.sets();
                let names: Vec<&str> = sets.sets.keys().map(String::as_str).collect();
                tracing::info!(fingerprint = %sets.fingerprint, sets = ?names, "policies reloaded");
            }
            Ok(Ok(false)) => last_error = None,
            Ok(Err(error)) => {
                let text = error.to_string();
                if last_error.as_deref() != Some(&text) {
                    state.metrics.reload_failed();
                    tracing::error!(
                        error = %text,
                        fingerprint = %state.gate.sets().fingerprint,
                        "policy reload failed; the previous policies stay active"
                    );
                    last_error = Some(text);
                }
            }
            Err(error) => tracing::error!(error = %error, "policy reload task failed"),
        }
    }
}

/// One request's log line, filled in as the request learns who it is for.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    /// The application (`ARGOCD_APP_NAME` or the context's `application`).
    pub(crate) app: String,
    /// The project.
    pub(crate) project: String,
    /// The destination namespace.
    pub(crate) namespace: String,
    /// The policy set.
    pub(crate) policy_set: String,
    /// `allow`, `deny`, or empty when undecided.
    pub(crate) decision: &'static str,
    /// Counts of fail / warn / error findings.
    pub(crate) findings: (usize, usize, usize),
}

impl RequestLog {
    /// Takes the decision and counts from `report`, and counts it in the metrics.
    pub(crate) fn decided(&mut self, report: &Report, metrics: &Metrics) {
        self.decision = match report.decision {
            crate::report::Decision::Allow => "allow",
            crate::report::Decision::Deny => "deny",
        };
        let count = |status| report.findings.iter().filter(|f| f.status == status).count();
        self.findings = (count(Status::Fail), count(Status::Warn), count(Status::Error));
        metrics.decided(report, metrics::Subject { project: &self.project, namespace: &self.namespace });
    }

    /// Writes the line and records the duration.
    pub(crate) fn finish(&self, rpc: &'static str, started: Instant, metrics: &Metrics, error: Option<&tonic::Status>) {
        let elapsed = started.elapsed();
        metrics.request(rpc, elapsed.as_secs_f64());
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let (fail, warn, error_findings) = self.findings;
        // A denial is a decision, logged like an allow; only undecided requests are warnings.
        match error.filter(|_| self.decision.is_empty()) {
            None => tracing::info!(
                rpc,
                app = %self.app,
                project = %self.project,
                namespace = %self.namespace,
                policy_set = %self.policy_set,
                decision = self.decision,
                duration_ms,
                fail,
                warn,
                error_findings,
                "request"
            ),
            Some(status) => tracing::warn!(
                rpc,
                app = %self.app,
                project = %self.project,
                namespace = %self.namespace,
                policy_set = %self.policy_set,
                decision = "error",
                duration_ms,
                fail,
                warn,
                error_findings,
                code = ?status.code(),
                error = %status.message(),
                "request"
            ),
        }
    }
}

/// Parses the `grpc-timeout` header (`<digits><H|M|S|m|u|n>`), the caller's deadline.
pub(crate) fn grpc_timeout(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Runs `work` within the caller's deadline, a little before it so the answer says why.
pub(crate) async fn within_deadline<T>(
    deadline: Option<Duration>,
    what: &str,
    work: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, tonic::Status> {
    let Some(deadline) = deadline else { return work.await };
    let budget = deadline.saturating_sub(deadline / 50).saturating_sub(Duration::from_millis(20));
    tokio::time::timeout(budget, work).await.unwrap_or_else(|_| {
        Err(tonic::Status::deadline_exceeded(format!(
            "syncgate did not finish {what} within the request deadline of {deadline:?}"
        )))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::gate::{Gate, GateParts, PolicySource};
    use crate::manifest::Limits;
    use crate::render::Renderer;

    /// An offline gate over the policy file or directory at `policy`.
    pub(crate) fn offline_gate(policy: &Path) -> Gate {
        let registry = crate::registry::Registry::new(crate::registry::RegistryOptions::default()).unwrap();
        let verifier = Arc::new(crate::verify::Verifier::new(registry)) as Arc<dyn crate::verify::Verify>;
        Gate::new(GateParts {
            source: PolicySource::Paths(vec![policy.to_path_buf()]),
            resolver: None,
            verifier,
            renderer: Arc::new(Renderer {
                kustomize: None,
                helm: None,
                timeout: Duration::from_secs(5),
                limits: Limits::default(),
            }),
            limits: Limits::default(),
            deadline: Duration::from_secs(5),
            run_mode: crate::policy::RunMode::AsConfigured,
            tenancies: crate::gate::Tenancies::default(),
        })
        .unwrap()
    }

    #[test]
    fn grpc_timeout_units() {
        let mut metadata = tonic::metadata::MetadataMap::new();
        assert_eq!(super::grpc_timeout(&metadata), None);
        for (value, expected) in [
            ("59999m", Duration::from_millis(59_999)),
            ("90S", Duration::from_secs(90)),
            ("2M", Duration::from_secs(120)),
            ("1H", Duration::from_secs(3600)),
            ("500u", Duration::from_micros(500)),
            ("7n", Duration::from_nanos(7)),
        ] {
            metadata.insert("grpc-timeout", value.parse().unwrap());
            assert_eq!(super::grpc_timeout(&metadata), Some(expected), "{value}");
        }
        for bad in ["", "m", "123456789S", "10x", "-1S"] {
            metadata.insert("grpc-timeout", bad.parse().unwrap());
            assert_eq!(super::grpc_timeout(&metadata), None, "{bad}");
        }
    }
}
