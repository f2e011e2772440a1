//! Reconciling one `VerifiedSource`: read the upstream Flux source, fetch and check its
//! artifact, render and gate it, store what passes in Flux's artifact format, and publish the
//! result on the ExternalArtifact (spec and `/status`), on the VerifiedSource's `/status`, as a
//! Kubernetes Event and as a notification-controller event.
//!
//! A revision that fails is never published: the ExternalArtifact keeps its previous
//! `status.artifact` (kustomize-controller reads only that), and its `Ready` condition carries
//! the same message the Argo CD path shows.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::{Resource as _, ResourceExt as _};
use serde_json::{Value, json};

use super::fetch::{FetchLimits, fetch};
use super::source::{Artifact, Condition, FLUX_SOURCE_API, SourceKind, VerifiedSource};
use super::status::{self, Reason, Verdict};
use super::storage::{Retention, Storage};
use crate::gate::{Context, Gate, GateError};
use crate::report::Decision;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "syncgate";
/// The file the published artifact holds: every rendered, pinned manifest.
pub const MANIFESTS_FILE: &str = "manifests.yaml";
/// How long one Kubernetes API call may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a notification-controller post may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry delay while the upstream source has no artifact yet.
const NOT_READY_RETRY: Duration = Duration::from_secs(30);

/// How the reconciler behaves (from the controller's flags).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host (and port) consumers reach the artifact server at.
    pub advertised: String,
    /// Superseded artifacts kept.
    pub retention: Retention,
    /// Bounds on upstream downloads.
    pub fetch: FetchLimits,
    /// Refuse sourceRefs to other namespaces.
    pub no_cross_namespace_refs: bool,
    /// Deadline for fetch, render, gate and store.
    pub timeout: Duration,
    /// notification-controller's event receiver.
    pub events_addr: Option<String>,
    /// Where upstream artifacts are unpacked (a fresh directory per reconcile, removed after).
    pub work_dir: PathBuf,
}

/// A Kubernetes write failed; the reconcile is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A write to the API server failed.
    #[error("cannot update {what}: {message}")]
    Api {
        /// The object.
        what: String,
        /// Why.
        message: String,
    },
}

/// What one reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// The conclusion; `None` when suspended.
    pub verdict: Option<Verdict>,
    /// The upstream revision looked at.
    pub upstream_revision: Option<String>,
    /// When to look again without a trigger.
    pub requeue: Duration,
}

/// The upstream artifact as the source publishes it.
#[derive(Debug, Clone)]
struct Upstream {
    url: String,
    digest: String,
    revision: String,
    origin: String,
    repo_url: Option<String>,
}

/// Reconciles VerifiedSources.
pub struct Reconciler {
    client: kube::Client,
    gate: Arc<Gate>,
    storage: Storage,
    http: reqwest::Client,
    recorder: Recorder,
    settings: Settings,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Reconciler {
    /// A reconciler writing through `client`, gating with `gate`, storing in `storage`.
    pub fn new(client: kube::Client, gate: Arc<Gate>, storage: Storage, settings: Settings) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: "syncgate".to_owned(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        let recorder = Recorder::new(client.clone(), reporter);
        let http = reqwest::Client::builder()
            .timeout(settings.fetch.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Reconciler { client, gate, storage, http, recorder, settings }
    }

    /// The storage artifacts are written to.
    #[must_use]
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// How long superseded artifacts stay servable.
    #[must_use]
    pub fn retention_ttl(&self) -> Duration {
        self.settings.retention.ttl
    }

    /// Reconciles `vs` once.
    pub async fn reconcile(&self, vs: &VerifiedSource) -> Result<Reconciled, ReconcileError> {
        let interval = super::duration::parse(&vs.spec.interval).unwrap_or(Duration::from_secs(600)).max(MIN_INTERVAL);
        if vs.spec.suspend {
            tracing::debug!(namespace = ?vs.namespace(), name = %vs.name_any(), "suspended");
            return Ok(Reconciled { verdict: None, upstream_revision: None, requeue: interval });
        }
        let namespace = vs.namespace().unwrap_or_default();
        let output = output_name(vs);
        let artifacts: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &external_artifact_resource());
        if let Some(message) = invalid_names(vs, &output) {
            let verdict = Verdict::Failed { reason: Reason::InvalidSpec, message };
            self.publish(vs, &output, None, false, None, &verdict).await?;
            return Ok(Reconciled { verdict: Some(verdict), upstream_revision: None, requeue: interval });
        }
        let existing = self.get(&artifacts, &output).await;
        let (upstream, verdict) = match &existing {
            Err(message) => {
                (None, Verdict::Failed { reason: Reason::StorageOperationFailed, message: message.clone() })
            }
            Ok(Some(ea)) if !published_by(ea, vs) => (
                None,
                Verdict::Failed {
                    reason: Reason::InvalidSpec,
                    message: format!(
                        "ExternalArtifact {namespace}/{output} exists and is not published by VerifiedSource {namespace}/{}; set spec.artifactName to another name, or delete that ExternalArtifact",
                        vs.name_any()
                    ),
                },
            ),
            Ok(_) => match tokio::time::timeout(self.settings.timeout, self.produce(vs, &namespace, &output)).await {
                Ok(produced) => produced,
                Err(_) => (
                    None,
                    Verdict::Failed {
                        reason: Reason::VerificationFailed,
                        message: format!(
                            "could not decide within {} s (download, render, registries, signatures); nothing new is published",
                            self.settings.timeout.as_secs()
                        ),
                    },
                ),
            },
        };
        let revision = upstream.as_ref().map(|u| u.revision.clone());
        let may_write_artifact =
            matches!(existing, Ok(None)) || matches!(&existing, Ok(Some(ea)) if published_by(ea, vs));
        let previous = existing.ok().flatten();
        self.publish(vs, &output, previous.as_ref(), may_write_artifact, revision.as_deref(), &verdict).await?;
        let requeue = match &verdict {
            Verdict::Failed { reason: Reason::FetchFailed, .. } => NOT_READY_RETRY.min(interval),
            _ => interval,
        };
        Ok(Reconciled { verdict: Some(verdict), upstream_revision: revision, requeue })
    }

    /// Fetch, render, gate, store. Returns the upstream (when it was read) and the verdict.
    async fn produce(&self, vs: &VerifiedSource, namespace: &str, output: &str) -> (Option<Upstream>, Verdict) {
        let failed = |reason, message| Verdict::Failed { reason, message };
        let source = &vs.spec.source_ref;
        let source_namespace = source.namespace.clone().unwrap_or_else(|| namespace.to_owned());
        let what = format!("{} {source_namespace}/{}", source.kind, source.name);
        if self.settings.no_cross_namespace_refs && source_namespace != namespace {
            return (
                None,
                failed(
                    Reason::InvalidSpec,
                    format!(
                        "cross-namespace references are refused (--no-cross-namespace-refs): {what} is not in {namespace}"
                    ),
                ),
            );
        }
        if source.kind == SourceKind::ExternalArtifact && source_namespace == namespace && source.name == output {
            return (None, failed(Reason::InvalidSpec, format!("{what} is this VerifiedSource's own output")));
        }
        let api_version = source.api_version.clone().unwrap_or_else(|| FLUX_SOURCE_API.to_owned());
        let sources: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &source_namespace, &source_resource(&api_version, source.kind));
        let object = match self.get(&sources, &source.name).await {
            Ok(Some(object)) => object,
            Ok(None) => return (None, failed(Reason::FetchFailed, format!("{what} not found"))),
            Err(message) => return (None, failed(Reason::FetchFailed, message)),
        };
        if source.kind == SourceKind::ExternalArtifact
            && object.data.pointer("/spec/sourceRef/kind").and_then(Value::as_str) == Some("VerifiedSource")
        {
            return (
                None,
                failed(
                    Reason::InvalidSpec,
                    format!(
                        "{what} is itself published by a VerifiedSource; point spec.sourceRef at that VerifiedSource's source instead (chains of VerifiedSources could loop)"
                    ),
                ),
            );
        }
        let Some(upstream) = upstream_of(&object) else {
            return (
                None,
                failed(
                    Reason::FetchFailed,
                    format!("{what} has no artifact yet (source-controller has not fetched it, or it is not Ready)"),
                ),
            );
        };
        let verdict = self.verify(vs, namespace, output, &what, &upstream).await;
        (Some(upstream), verdict)
    }

    async fn verify(
        &self,
        vs: &VerifiedSource,
        namespace: &str,
        output: &str,
        what: &str,
        upstream: &Upstream,
    ) -> Verdict {
        let failed = |reason, message| Verdict::Failed { reason, message };
        let work = match tempdir_in(&self.settings.work_dir) {
            Ok(work) => work,
            Err(e) => {
                return failed(
                    Reason::StorageOperationFailed,
                    format!("cannot create a work directory in {}: {e}", self.settings.work_dir.display()),
                );
            }
        };
        let unpacked = work.path().join("source");
        if let Err(e) = std::fs::create_dir(&unpacked) {
            return failed(Reason::StorageOperationFailed, format!("cannot create {}: {e}", unpacked.display()));
        }
        if let Err(e) = fetch(&self.http, &upstream.url, &upstream.digest, &unpacked, &self.settings.fetch).await {
            return failed(
                Reason::FetchFailed,
                format!("cannot fetch the artifact of {what}: {}", crate::verify::explain(&e)),
            );
        }
        let Some(dir) = join_within(&unpacked, &vs.spec.path) else {
            return failed(Reason::InvalidSpec, format!("spec.path {:?} leaves the artifact", vs.spec.path));
        };
        if !dir.is_dir() {
            return failed(
                Reason::BuildFailed,
                format!("path {:?} not found in the artifact of {what} (revision {})", vs.spec.path, upstream.revision),
            );
        }
        let context = Context {
            policy_set: vs.spec.policy.clone(),
            namespace: namespace.to_owned(),
            now: jiff::Timestamp::now(),
            application: None,
            project: self.gate.sets().has_tenants().then(|| namespace.to_owned()),
            repo_url: upstream.repo_url.clone(),
        };
        let gated = match self.gate.render_and_gate(&dir, &context).await {
            Ok(gated) => gated,
            Err(GateError::UnknownSet { name, available }) => {
                return failed(
                    Reason::InvalidSpec,
                    format!("spec.policy: unknown policy set {name:?}; the controller has: {available}"),
                );
            }
            Err(e @ (GateError::Render(_) | GateError::Empty { .. } | GateError::Pipeline(_))) => {
                return failed(Reason::BuildFailed, e.to_string());
            }
            Err(e) => {
                return failed(Reason::VerificationFailed, format!("cannot decide, so nothing is published: {e}"));
            }
        };
        if gated.report.decision == Decision::Deny {
            return failed(Reason::VerificationFailed, gated.message());
        }
        let yaml = match gated.yaml() {
            Ok(yaml) => yaml,
            Err(e) => return failed(Reason::StorageOperationFailed, e.to_string()),
        };
        let out = work.path().join("out");
        if let Err(e) = std::fs::create_dir(&out).and_then(|()| std::fs::write(out.join(MANIFESTS_FILE), yaml)) {
            return failed(Reason::StorageOperationFailed, format!("cannot write the rendered manifests: {e}"));
        }
        let storage = self.storage.clone();
        let (namespace, output, revision, origin) =
            (namespace.to_owned(), output.to_owned(), upstream.revision.clone(), upstream.origin.clone());
        let stored =
            tokio::task::spawn_blocking(move || storage.store(&namespace, &output, &out, &revision, Some(&origin)))
                .await;
        match stored {
            Ok(Ok(stored)) => {
                let summary = summary(&gated.report, &gated.policy_set);
                Verdict::Published { stored, summary }
            }
            Ok(Err(e)) => failed(
                Reason::StorageOperationFailed,
                format!("cannot store the artifact: {}", crate::verify::explain(&e)),
            ),
            Err(e) => failed(Reason::StorageOperationFailed, format!("cannot store the artifact: {e}")),
        }
    }

    /// Writes the verdict: ExternalArtifact spec and status (unless another producer owns it),
    /// VerifiedSource status, garbage collection, and events when the conditions changed.
    async fn publish(
        &self,
        vs: &VerifiedSource,
        output: &str,
        existing: Option<&DynamicObject>,
        may_write_artifact: bool,
        revision: Option<&str>,
        verdict: &Verdict,
    ) -> Result<(), ReconcileError> {
        let namespace = vs.namespace().unwrap_or_default();
        let now = now();
        let previous_artifact: Option<Artifact> = existing
            .and_then(|ea| ea.data.pointer("/status/artifact"))
            .and_then(|a| serde_json::from_value(a.clone()).ok());
        // What stays published on failure is only ever what the ExternalArtifact itself holds
        // (never the VerifiedSource's status, which its namespace's users may be able to write).
        let artifact = match verdict {
            Verdict::Published { stored, .. } => Some(status::artifact(stored, &self.settings.advertised)),
            Verdict::Failed { .. } => previous_artifact,
        };
        let mut ea_uid = existing.and_then(|ea| ea.metadata.uid.clone());
        let mut failure = None;
        if may_write_artifact {
            match self.write_external_artifact(vs, output, existing, artifact.as_ref(), revision, verdict, &now).await {
                Ok(uid) => ea_uid = uid,
                Err(error) => failure = Some(error),
            }
        }
        // The ExternalArtifact could not be written: the VerifiedSource says so (the new artifact,
        // if any, is not published), then the reconcile is retried.
        let fallback;
        let (verdict, artifact) = match &failure {
            Some(ReconcileError::Api { what, message }) => {
                fallback = Verdict::Failed {
                    reason: Reason::StorageOperationFailed,
                    message: format!("cannot update {what}: {message}"),
                };
                (
                    &fallback,
                    existing
                        .and_then(|ea| ea.data.pointer("/status/artifact"))
                        .and_then(|a| serde_json::from_value::<Artifact>(a.clone()).ok()),
                )
            }
            None => (verdict, artifact),
        };
        if let (Verdict::Published { stored, .. }, None) = (verdict, &failure) {
            let storage = self.storage.clone();
            let (ns, name, digest, retention) =
                (namespace.clone(), output.to_owned(), stored.record.digest.clone(), self.settings.retention);
            let collected = tokio::task::spawn_blocking(move || {
                storage.collect_garbage(&ns, &name, &digest, retention, jiff::Timestamp::now())
            })
            .await;
            if let Ok(Err(e)) = collected {
                tracing::warn!(namespace, name = output, error = %crate::verify::explain(&e), "cannot remove superseded artifacts");
            }
        }
        let previous = vs.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
        let conditions = status::conditions(verdict, revision, vs.metadata.generation, &previous, &now);
        let mut vs_status = json!({
            "observedGeneration": vs.metadata.generation,
            "conditions": conditions,
        });
        if let Some(artifact) = &artifact {
            vs_status["artifact"] = json!(artifact);
        }
        if let Some(revision) = revision {
            vs_status["lastAttemptedRevision"] = json!(revision);
        }
        if let Some(requested) = vs.annotations().get(RECONCILE_REQUESTED_AT) {
            vs_status["lastHandledReconcileAt"] = json!(requested);
        }
        let body = json!({
            "apiVersion": VerifiedSource::api_version(&()), "kind": "VerifiedSource",
            "metadata": {"name": vs.name_any(), "namespace": namespace},
            "status": vs_status,
        });
        let sources: Api<VerifiedSource> = Api::namespaced(self.client.clone(), &namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        timed(sources.patch_status(&vs.name_any(), &params, &Patch::Apply(body))).await.map_err(|message| {
            ReconcileError::Api { what: format!("VerifiedSource {namespace}/{} status", vs.name_any()), message }
        })?;
        if status::changed(&previous, &conditions) {
            self.announce(vs, output, ea_uid, revision, verdict).await;
        }
        failure.map_or(Ok(()), Err)
    }

    /// Creates the ExternalArtifact when it does not exist (a plain create, so two VerifiedSources
    /// naming the same output cannot both claim it), applies its spec and ownership, then its
    /// status. Returns its uid.
    #[expect(clippy::too_many_arguments, reason = "the parts of one status write")]
    async fn write_external_artifact(
        &self,
        vs: &VerifiedSource,
        output: &str,
        existing: Option<&DynamicObject>,
        artifact: Option<&Artifact>,
        revision: Option<&str>,
        verdict: &Verdict,
        now: &str,
    ) -> Result<Option<String>, ReconcileError> {
        let namespace = vs.namespace().unwrap_or_default();
        let what = format!("ExternalArtifact {namespace}/{output}");
        let artifacts: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &external_artifact_resource());
        let desired = external_artifact(vs, output);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let written = if existing.is_none() {
            let object: DynamicObject = serde_json::from_value(desired)
                .map_err(|e| ReconcileError::Api { what: what.clone(), message: e.to_string() })?;
            match tokio::time::timeout(API_TIMEOUT, artifacts.create(&kube::api::PostParams::default(), &object)).await
            {
                Ok(Ok(created)) => created,
                Ok(Err(kube::Error::Api(status))) if status.code == 409 => {
                    return Err(ReconcileError::Api {
                        what,
                        message: "it was created by someone else meanwhile; it is left alone (is spec.artifactName also used by another VerifiedSource or producer?)".to_owned(),
                    });
                }
                Ok(Err(e)) => return Err(ReconcileError::Api { what, message: crate::verify::explain(&e) }),
                Err(_) => {
                    return Err(ReconcileError::Api {
                        what,
                        message: format!("the Kubernetes API did not answer within {} s", API_TIMEOUT.as_secs()),
                    });
                }
            }
        } else {
            timed(artifacts.patch(output, &params, &Patch::Apply(desired)))
                .await
                .map_err(|message| ReconcileError::Api { what: what.clone(), message })?
        };
        let previous: Vec<Condition> = existing.map(conditions_of).unwrap_or_default();
        let conditions = status::conditions(verdict, revision, written.metadata.generation, &previous, now);
        let mut status = json!({"conditions": conditions});
        if let Some(artifact) = artifact {
            status["artifact"] = json!(artifact);
        }
        let body = json!({
            "apiVersion": FLUX_SOURCE_API, "kind": "ExternalArtifact",
            "metadata": {"name": output, "namespace": namespace},
            "status": status,
        });
        timed(artifacts.patch_status(output, &params, &Patch::Apply(body)))
            .await
            .map_err(|message| ReconcileError::Api { what: format!("{what} status"), message })?;
        Ok(written.metadata.uid)
    }

    /// The Kubernetes Event on the VerifiedSource and the notification-controller event on the
    /// ExternalArtifact (Flux Alerts can select ExternalArtifacts, not VerifiedSources).
    async fn announce(
        &self,
        vs: &VerifiedSource,
        output: &str,
        ea_uid: Option<String>,
        revision: Option<&str>,
        verdict: &Verdict,
    ) {
        let reason = verdict.reason();
        let message = verdict.message(revision);
        let event = KubeEvent {
            type_: if reason == Reason::Succeeded { EventType::Normal } else { EventType::Warning },
            reason: reason.as_str().to_owned(),
            note: Some(crate::project::truncate_message(&message, 1024)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        match tokio::time::timeout(NOTIFY_TIMEOUT, self.recorder.publish(&event, &vs.object_ref(&()))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(name = %vs.name_any(), error = %crate::verify::explain(&e), "cannot post the Kubernetes event");
            }
            Err(_) => tracing::warn!(name = %vs.name_any(), "posting the Kubernetes event timed out"),
        }
        let Some(address) = &self.settings.events_addr else { return };
        let namespace = vs.namespace().unwrap_or_default();
        let body = flux_event(&namespace, output, ea_uid.as_deref(), revision, verdict, &now());
        let sent = self.http.post(address).timeout(NOTIFY_TIMEOUT).json(&body).send().await;
        match sent {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(
                address,
                status = response.status().as_u16(),
                "notification-controller refused the event"
            ),
            Err(e) => {
                tracing::warn!(address, error = %crate::verify::explain(&e), "cannot post the event to notification-controller");
            }
        }
    }

    async fn get(&self, api: &Api<DynamicObject>, name: &str) -> Result<Option<DynamicObject>, String> {
        timed(api.get_opt(name)).await
    }
}

/// The label on every ExternalArtifact syncgate publishes (and the selector that finds them).
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=syncgate";

/// Shortest `spec.interval` honoured: a smaller one would make the controller fetch, render and
/// verify in a tight loop.
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);

/// Names that cannot be Kubernetes object names are refused before any API call (they would
/// otherwise end up in request paths).
fn invalid_names(vs: &VerifiedSource, output: &str) -> Option<String> {
    let reference = &vs.spec.source_ref;
    let fields = [
        ("spec.artifactName", Some(output)),
        ("spec.sourceRef.name", Some(reference.name.as_str())),
        ("spec.sourceRef.namespace", reference.namespace.as_deref()),
    ];
    fields.into_iter().find_map(|(field, value)| {
        let value = value?;
        (!super::storage::is_object_name(value)).then(|| {
            format!("{field} {value:?} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
        })
    })
}

/// Annotation `flux reconcile` sets to ask for a reconcile now.
pub const RECONCILE_REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// The ExternalArtifact `vs` publishes.
#[must_use]
pub fn output_name(vs: &VerifiedSource) -> String {
    vs.spec.artifact_name.clone().unwrap_or_else(|| vs.name_any())
}

/// `ExternalArtifact` in `source.toolkit.fluxcd.io/v1`.
#[must_use]
pub fn external_artifact_resource() -> ApiResource {
    source_resource(FLUX_SOURCE_API, SourceKind::ExternalArtifact)
}

/// A Flux source kind in `api_version`.
#[must_use]
pub fn source_resource(api_version: &str, kind: SourceKind) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: api_version.to_owned(),
        kind: kind.as_str().to_owned(),
        plural: kind.plural().to_owned(),
    }
}

/// The ExternalArtifact's desired spec and ownership: `spec.sourceRef` names the VerifiedSource,
/// which also owns it (deleting the VerifiedSource deletes it).
fn external_artifact(vs: &VerifiedSource, output: &str) -> Value {
    let api_version = VerifiedSource::api_version(&()).into_owned();
    json!({
        "apiVersion": FLUX_SOURCE_API,
        "kind": "ExternalArtifact",
        "metadata": {
            "name": output,
            "namespace": vs.namespace(),
            "labels": {"app.kubernetes.io/managed-by": "syncgate"},
            "ownerReferences": [{
                "apiVersion": api_version, "kind": "VerifiedSource", "name": vs.name_any(),
                "uid": vs.uid().unwrap_or_default(), "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {"sourceRef": {"apiVersion": api_version, "kind": "VerifiedSource", "name": vs.name_any(), "namespace": vs.namespace()}},
    })
}

/// Whether `ea` is this VerifiedSource's output (its sourceRef names it).
fn published_by(ea: &DynamicObject, vs: &VerifiedSource) -> bool {
    let reference = ea.data.pointer("/spec/sourceRef");
    let field = |name: &str| reference.and_then(|r| r.get(name)).and_then(Value::as_str);
    field("kind") == Some("VerifiedSource")
        && field("name") == Some(vs.name_any().as_str())
        && field("namespace").is_none_or(|ns| Some(ns) == vs.namespace().as_deref())
}

fn conditions_of(object: &DynamicObject) -> Vec<Condition> {
    object.data.pointer("/status/conditions").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default()
}

/// The upstream artifact a Flux source publishes, when it has one.
fn upstream_of(object: &DynamicObject) -> Option<Upstream> {
    let artifact = object.data.pointer("/status/artifact")?;
    let text = |name: &str| artifact.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let revision = text("revision")?;
    let origin = artifact
        .pointer("/metadata/org.opencontainers.image.revision")
        .and_then(Value::as_str)
        .map_or_else(|| revision.clone(), str::to_owned);
    Some(Upstream {
        url: text("url")?,
        digest: text("digest")?,
        revision,
        origin,
        repo_url: object.data.pointer("/spec/url").and_then(Value::as_str).map(str::to_owned),
    })
}

/// The event notification-controller's receiver takes (`eventv1.Event`).
#[must_use]
pub fn flux_event(
    namespace: &str,
    output: &str,
    ea_uid: Option<&str>,
    revision: Option<&str>,
    verdict: &Verdict,
    timestamp: &str,
) -> Value {
    let mut involved =
        json!({"apiVersion": FLUX_SOURCE_API, "kind": "ExternalArtifact", "name": output, "namespace": namespace});
    if let Some(uid) = ea_uid {
        involved["uid"] = json!(uid);
    }
    let mut event = json!({
        "involvedObject": involved,
        "severity": if verdict.reason() == Reason::Succeeded { "info" } else { "error" },
        "timestamp": timestamp,
        "message": verdict.message(revision),
        "reason": verdict.reason().as_str(),
        "reportingController": "syncgate",
    });
    if let Ok(instance) = std::env::var("HOSTNAME") {
        event["reportingInstance"] = json!(instance);
    }
    if let Some(revision) = revision {
        event["metadata"] = json!({"source.toolkit.fluxcd.io/revision": revision});
    }
    event
}

/// A summary of what passed, for the `SourceVerified` message.
fn summary(report: &crate::report::Report, set: &str) -> String {
    let s = &report.summary;
    let warnings = if s.warn > 0 { format!(", {} report-only findings", s.warn) } else { String::new() };
    format!(
        "verified with policy set '{set}': {} resources, {} images pinned to verified digests{warnings}",
        s.resources, s.images
    )
}

/// `relative` joined below `root` without leaving it (`..` beyond the root is refused; a
/// leading `/` is relative to the root, as Flux's securejoin treats it).
fn join_within(root: &Path, relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.iter().fold(root.to_owned(), |path, part| path.join(part)))
}

fn tempdir_in(dir: &Path) -> std::io::Result<tempfile::TempDir> {
    std::fs::create_dir_all(dir)?;
    tempfile::Builder::new().prefix("syncgate-flux-").tempdir_in(dir)
}

/// An API call within [`API_TIMEOUT`], its error as text.
async fn timed<T>(call: impl Future<Output = Result<T, kube::Error>>) -> Result<T, String> {
    match tokio::time::timeout(API_TIMEOUT, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(crate::verify::explain(&e)),
        Err(_) => Err(format!("the Kubernetes API did not answer within {} s", API_TIMEOUT.as_secs())),
    }
}

/// Now, RFC 3339 to the second (as Kubernetes writes times).
fn now() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_artifact() {
        let root = Path::new("/w/source");
        assert_eq!(join_within(root, "./"), Some(PathBuf::from("/w/source")));
        assert_eq!(join_within(root, "./deploy/prod"), Some(PathBuf::from("/w/source/deploy/prod")));
        assert_eq!(join_within(root, "/deploy"), Some(PathBuf::from("/w/source/deploy")));
        assert_eq!(join_within(root, "deploy/../base"), Some(PathBuf::from("/w/source/base")));
        assert_eq!(join_within(root, "../etc"), None);
    }

    #[test]
    fn the_flux_event_names_the_external_artifact_and_revision() {
        let verdict = Verdict::Failed { reason: Reason::VerificationFailed, message: "syncgate denied".into() };
        let event = flux_event("flux-system", "api-verified", Some("u-1"), Some("main@sha1:abc"), &verdict, "t");
        assert_eq!(event["involvedObject"]["kind"], "ExternalArtifact");
        assert_eq!(event["involvedObject"]["uid"], "u-1");
        assert_eq!(event["severity"], "error");
        assert_eq!(event["reason"], "VerificationFailed");
        assert_eq!(event["metadata"]["source.toolkit.fluxcd.io/revision"], "main@sha1:abc");
    }
}
