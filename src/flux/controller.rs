//! The `flux-controller` process: re-verify storage, take the Lease, serve artifacts, and run
//! the watch loop that reconciles VerifiedSources when they change, when their upstream source
//! publishes a new revision, and every `spec.interval`.
//!
//! Only spec changes (generation) and `reconcile.fluxcd.io/requestedAt` trigger a VerifiedSource;
//! only a new `status.artifact.revision` triggers its source. The controller's own status writes
//! therefore never trigger it again.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::{Predicate as _, PredicateConfig};
use kube::runtime::{WatchStreamExt as _, predicates, watcher};
use tokio::sync::watch;

use super::lease::{Elector, LeaseError, LeaseSettings};
use super::reconcile::{RECONCILE_REQUESTED_AT, ReconcileError, Reconciler, source_resource};
use super::source::{FLUX_SOURCE_API, SourceKind, VerifiedSource};
use crate::gate::Gate;
use crate::server::metrics::Metrics;

/// How the process runs.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Where the artifact server listens.
    pub storage_addr: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub metrics_addr: SocketAddr,
    /// Only this namespace; `None` = all.
    pub watch_namespace: Option<String>,
    /// VerifiedSources reconciled at once.
    pub concurrent: u16,
    /// The election; `None` = act at once (a single replica).
    pub lease: Option<LeaseSettings>,
    /// How often policy files are checked for changes.
    pub reload_interval: Duration,
}

/// Why the controller stopped other than by a shutdown request.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The storage directory could not be checked.
    #[error("cannot re-verify the artifact storage: {0}")]
    Storage(#[from] super::storage::StorageError),
    /// Leadership was lost; the process exits so a restart rejoins the election.
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

struct Shared {
    reconciler: Reconciler,
    metrics: Arc<Metrics>,
}

/// Runs until `shutdown` completes or leadership is lost.
pub async fn run(
    client: kube::Client,
    gate: Arc<Gate>,
    reconciler: Reconciler,
    metrics: Metrics,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ControllerError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let ready = Arc::new(AtomicBool::new(false));
    let metrics = Arc::new(metrics);
    let ops = tokio::net::TcpListener::bind(options.metrics_addr)
        .await
        .map_err(|source| ControllerError::Bind { addr: options.metrics_addr, source })?;
    tokio::spawn(serve_ops(ops, Arc::clone(&metrics), Arc::clone(&ready), Arc::clone(&gate)));
    tokio::spawn(reload_policies(Arc::clone(&gate), options.reload_interval, stop_rx.clone()));

    let storage = reconciler.storage().clone();
    let checked = tokio::task::spawn_blocking(move || storage.verify_all()).await.unwrap_or_else(|e| {
        Err(super::storage::StorageError::Io { path: ".".into(), source: std::io::Error::other(e) })
    })?;
    for problem in &checked.problems {
        tracing::warn!(problem = ?problem, "stored artifact failed re-verification and was set aside");
    }
    tracing::info!(verified = checked.verified.len(), quarantined = checked.problems.len(), "artifact storage checked");

    let mut elector = options.lease.clone().map(|settings| Elector::new(client.clone(), settings));
    if let Some(elector) = &mut elector {
        tracing::info!(identity = elector.identity(), "waiting for the lease");
        let mut stopped = stop_rx.clone();
        tokio::select! {
            () = elector.acquire() => tracing::info!(identity = elector.identity(), "lease acquired; leading"),
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
    }

    let listener = tokio::net::TcpListener::bind(options.storage_addr)
        .await
        .map_err(|source| ControllerError::Bind { addr: options.storage_addr, source })?;
    let (served_tx, served_rx) = watch::channel(true);
    let storage = reconciler.storage().clone();
    tokio::spawn(async move {
        if let Err(e) = super::serve::serve(listener, &storage, served_rx).await {
            tracing::error!(error = %e, "artifact server stopped");
        }
    });
    ready.store(true, Ordering::SeqCst);

    let shared = Arc::new(Shared { reconciler, metrics: Arc::clone(&metrics) });
    let mut stopped = stop_rx.clone();
    let controller = watch_loop(client, shared, &options, async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    });
    let outcome = if let Some(elector) = &mut elector {
        tokio::select! {
            () = controller => Ok(()),
            lost = elector.hold() => Err(ControllerError::Lease(lost)),
        }
    } else {
        controller.await;
        Ok(())
    };
    drop(served_tx);
    if outcome.is_ok()
        && let Some(elector) = &mut elector
    {
        elector.release().await;
    }
    outcome
}

/// The kube-runtime controller: VerifiedSources (spec and reconcile requests) and the four
/// Flux source kinds (new artifact revisions) mapped to the VerifiedSources that reference them.
async fn watch_loop(
    client: kube::Client,
    shared: Arc<Shared>,
    options: &ControllerOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let verified: Api<VerifiedSource> = match &options.watch_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (reader, writer) = reflector::store();
    let triggers = watcher(verified, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation.combine(requested_at), PredicateConfig::default());
    tokio::spawn(collect_abandoned(
        reader.clone(),
        shared.reconciler.storage().clone(),
        shared.reconciler.retention_ttl(),
    ));
    let mut controller = Controller::for_stream(triggers, reader.clone())
        .with_config(ControllerConfig::default().concurrency(options.concurrent));
    for kind in SourceKind::ALL {
        let resource = source_resource(FLUX_SOURCE_API, kind);
        // With --watch-namespace the sources are watched there too (namespaced RBAC is enough;
        // cross-namespace sources then trigger only at their VerifiedSource's interval).
        let api: Api<DynamicObject> = match &options.watch_namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let revisions = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .predicate_filter(artifact_revision, PredicateConfig::default());
        let store = reader.clone();
        controller =
            controller.watches_stream_with(revisions, move |source| referencing(&store, kind, &source), resource);
    }
    // A deleted ExternalArtifact of ours is published again at once, not at the next interval.
    let resource = super::reconcile::external_artifact_resource();
    let api: Api<DynamicObject> = match &options.watch_namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let deletions = watcher(api, watcher::Config::default().labels(super::reconcile::MANAGED_BY_SELECTOR))
        .default_backoff()
        .filter_map(|event| {
            futures::future::ready(match event {
                Ok(watcher::Event::Delete(object)) => Some(Ok(object)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
        });
    controller = controller.watches_stream_with(deletions, |artifact| owner(&artifact), resource);
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, shared)
        .for_each(|outcome| async move {
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

async fn reconcile(vs: Arc<VerifiedSource>, shared: Arc<Shared>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let result = shared.reconciler.reconcile(&vs).await;
    shared.metrics.request("flux.Reconcile", started.elapsed().as_secs_f64());
    if result.is_err() {
        shared.metrics.reconciled("ApiError", &vs.namespace().unwrap_or_default());
    }
    let reconciled = result?;
    let namespace = vs.namespace().unwrap_or_default();
    if let Some(verdict) = &reconciled.verdict {
        shared.metrics.reconciled(verdict.reason().as_str(), &namespace);
        tracing::info!(
            namespace,
            name = %vs.name_any(),
            revision = reconciled.upstream_revision.as_deref().unwrap_or(""),
            reason = verdict.reason().as_str(),
            message = %verdict.message(reconciled.upstream_revision.as_deref()),
            "reconciled"
        );
    } else {
        tracing::debug!(namespace, name = %vs.name_any(), "suspended; skipped");
    }
    Ok(Action::requeue(reconciled.requeue))
}

#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
fn error_policy(vs: Arc<VerifiedSource>, error: &ReconcileError, _shared: Arc<Shared>) -> Action {
    tracing::warn!(namespace = ?vs.namespace(), name = %vs.name_any(), error = %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(15))
}

/// Every 10 minutes (first once the VerifiedSources are listed), removes the stored artifacts of
/// outputs no VerifiedSource publishes any more, once they are older than the retention TTL.
async fn collect_abandoned(store: Store<VerifiedSource>, storage: super::storage::Storage, ttl: Duration) {
    if store.wait_until_ready().await.is_err() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(600));
    loop {
        ticks.tick().await;
        let published: std::collections::HashSet<(String, String)> = store
            .state()
            .iter()
            .map(|vs| (vs.namespace().unwrap_or_default(), super::reconcile::output_name(vs)))
            .collect();
        let storage = storage.clone();
        let removed = tokio::task::spawn_blocking(move || -> Result<Vec<String>, super::storage::StorageError> {
            let mut removed = Vec::new();
            for (namespace, name) in storage.objects()? {
                if !published.contains(&(namespace.clone(), name.clone())) {
                    removed.extend(storage.collect_abandoned(&namespace, &name, ttl, jiff::Timestamp::now())?);
                }
            }
            Ok(removed)
        })
        .await;
        match removed {
            Ok(Ok(paths)) if !paths.is_empty() => {
                tracing::info!(removed = ?paths, "removed artifacts no VerifiedSource publishes");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %crate::verify::explain(&e), "cannot remove abandoned artifacts"),
            Err(e) => tracing::warn!(error = %e, "abandoned-artifact collection failed"),
        }
    }
}

/// VerifiedSources whose sourceRef names `source`.
fn referencing(
    store: &Store<VerifiedSource>,
    kind: SourceKind,
    source: &DynamicObject,
) -> Vec<ObjectRef<VerifiedSource>> {
    let name = source.name_any();
    let namespace = source.namespace().unwrap_or_default();
    store
        .state()
        .iter()
        .filter(|vs| {
            let reference = &vs.spec.source_ref;
            reference.kind == kind
                && reference.name == name
                && reference.namespace.clone().or_else(|| vs.namespace()).as_deref() == Some(namespace.as_str())
        })
        .map(|vs| ObjectRef::from_obj(vs.as_ref()))
        .collect()
}

/// The VerifiedSource that owns an ExternalArtifact, from its controller owner reference.
fn owner(artifact: &DynamicObject) -> Option<ObjectRef<VerifiedSource>> {
    let reference = artifact
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.kind == "VerifiedSource" && r.controller == Some(true))?;
    Some(ObjectRef::new(&reference.name).within(&artifact.namespace()?))
}

/// Hash of `status.artifact.revision` (a source triggers only when it publishes a new one).
fn artifact_revision(source: &DynamicObject) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let revision = source.data.pointer("/status/artifact/revision")?.as_str()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    revision.hash(&mut hasher);
    Some(hasher.finish())
}

/// Hash of the `reconcile.fluxcd.io/requestedAt` annotation (`flux reconcile`).
fn requested_at(vs: &VerifiedSource) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let value = vs.annotations().get(RECONCILE_REQUESTED_AT)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    Some(hasher.finish())
}

/// `/metrics`, `/healthz`, `/readyz` (ready once leading and serving, with policies loaded).
async fn serve_ops(listener: tokio::net::TcpListener, metrics: Arc<Metrics>, ready: Arc<AtomicBool>, gate: Arc<Gate>) {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    use axum::routing::get;
    let metrics_route = get(move || {
        let metrics = Arc::clone(&metrics);
        async move {
            match metrics.encode() {
                Ok(text) => {
                    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                        .into_response()
                }
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n").into_response(),
            }
        }
    });
    let ready_route = get(move || {
        let ready = ready.load(Ordering::SeqCst) && !gate.sets().sets.is_empty();
        async move { if ready { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") } }
    });
    let router = axum::Router::new()
        .route("/metrics", metrics_route)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", ready_route);
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}

/// Checks the policy files every `interval`; invalid new files are logged and the previous sets
/// stay live.
async fn reload_policies(gate: Arc<Gate>, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = ticks.tick() => {}
        }
        let gate = Arc::clone(&gate);
        match tokio::task::spawn_blocking(move || gate.reload()).await {
            Ok(Ok(true)) => tracing::info!("policies reloaded"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "new policy files are invalid; the previous policies stay live"),
            Err(e) => tracing::warn!(error = %e, "policy reload failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(namespace: &str, name: &str, source: &serde_json::Value) -> Arc<VerifiedSource> {
        let mut object =
            VerifiedSource::new(name, serde_json::from_value(serde_json::json!({"sourceRef": source})).unwrap());
        object.metadata.namespace = Some(namespace.to_owned());
        Arc::new(object)
    }

    #[test]
    fn a_source_maps_to_the_verified_sources_naming_it() {
        let (reader, mut writer) = reflector::store::<VerifiedSource>();
        for object in [
            vs("flux-system", "api", &serde_json::json!({"kind": "GitRepository", "name": "api"})),
            vs(
                "team-a",
                "api",
                &serde_json::json!({"kind": "GitRepository", "name": "api", "namespace": "flux-system"}),
            ),
            vs("flux-system", "other", &serde_json::json!({"kind": "OCIRepository", "name": "api"})),
        ] {
            writer.apply_watcher_event(&watcher::Event::Apply((*object).clone()));
        }
        let mut source = DynamicObject::new("api", &source_resource(FLUX_SOURCE_API, SourceKind::GitRepository));
        source.metadata.namespace = Some("flux-system".to_owned());
        let mut names: Vec<String> = referencing(&reader, SourceKind::GitRepository, &source)
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        names.sort();
        assert_eq!(names, ["flux-system/api", "team-a/api"]);
    }

    #[test]
    fn only_a_new_revision_triggers_a_source() {
        let mut source = DynamicObject::new("api", &source_resource(FLUX_SOURCE_API, SourceKind::GitRepository));
        assert_eq!(artifact_revision(&source), None);
        source.data = serde_json::json!({"status": {"artifact": {"revision": "main@sha1:a"}}});
        let a = artifact_revision(&source);
        source.data["status"]["conditions"] = serde_json::json!([{"type": "Ready"}]);
        assert_eq!(artifact_revision(&source), a);
        source.data["status"]["artifact"]["revision"] = serde_json::json!("main@sha1:b");
        assert_ne!(artifact_revision(&source), a);
    }
}
