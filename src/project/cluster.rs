//! The kube edge of tenancy: AppProjects and Applications read from the Kubernetes API, and Warning
//! Events posted on an Application when syncgate denies it.
//!
//! Owns the API calls, a short in-memory cache of AppProjects (concurrent lookups of one name share
//! one request), timeouts, and turning API failures into messages that say what was asked and what
//! would help. It decides nothing; events are best effort and never fail the caller.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde::Deserialize;
use tokio::time::Instant;

use super::ProjectError;
use super::appproject::{ARGO_API_VERSION, typed};
use super::scope::{Destination, Scope};

/// How long a fetched AppProject is reused.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long one API request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Argo CD's control-plane namespace in a default install.
pub const DEFAULT_NAMESPACE: &str = "argocd";
/// Longest Event message; longer ones are cut and marked.
const EVENT_MESSAGE_LIMIT: usize = 1024;
const TRUNCATED: &str = "… [truncated]";

fn app_project_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AppProject"), "appprojects")
}

fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"), "applications")
}

/// Splits Argo CD's `ARGOCD_APP_NAME` into `(namespace, name)`: `<namespace>_<name>` for an
/// Application outside the control-plane namespace (apps in any namespace), plain `<name>` for one
/// inside it. Neither part can contain `_` (both are DNS names), so the first `_` separates them.
#[must_use]
pub fn split_app_name<'a>(instance: &'a str, control_plane_ns: &'a str) -> (&'a str, &'a str) {
    match instance.split_once('_') {
        Some((namespace, name)) => (namespace, name),
        None => (control_plane_ns, instance),
    }
}

/// What syncgate needs from an Argo CD Application (what the plugin environment lacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Namespace the Application lives in.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `metadata.uid`, for Events.
    pub uid: Option<String>,
    /// `spec.project`, `default` when empty (as Argo CD reads it).
    pub project: String,
    /// `spec.destination`: the server or name it sets (the other stays unknown: Argo CD resolves it
    /// from its cluster list, which syncgate does not read) and the namespace.
    pub destination: Destination,
    /// `spec.source.repoURL`, then every `spec.sources[].repoURL`, in order.
    pub repo_urls: Vec<String>,
}

#[derive(Deserialize, Default)]
struct RawApplication {
    #[serde(default)]
    spec: RawApplicationSpec,
}

#[derive(Deserialize, Default)]
struct RawApplicationSpec {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    destination: Option<RawDestination>,
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default)]
    sources: Option<Vec<RawSource>>,
}

#[derive(Deserialize, Default)]
struct RawDestination {
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawSource {
    #[serde(default, rename = "repoURL")]
    repo_url: Option<String>,
}

/// One cached AppProject.
#[derive(Debug)]
struct Cached {
    at: Instant,
    scope: Arc<Scope>,
}

/// A per-name slot: whoever holds its lock is fetching, later callers wait and reuse the result.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// AppProjects (`appprojects.argoproj.io/v1alpha1`) and Applications read from the Kubernetes API.
///
/// AppProjects are cached for [`DEFAULT_TTL`] (see [`ClusterProjects::with_ttl`]); concurrent lookups
/// of one name wait for a single request. Failures are not cached. Applications are read fresh.
pub struct ClusterProjects {
    client: kube::Client,
    namespace: String,
    ttl: Duration,
    timeout: Duration,
    slots: std::sync::Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for ClusterProjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterProjects")
            .field("namespace", &self.namespace)
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClusterProjects {
    /// AppProjects in `namespace` (Argo CD's control-plane namespace) through `client`.
    #[must_use]
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        ClusterProjects {
            client,
            namespace: namespace.to_owned(),
            ttl: DEFAULT_TTL,
            timeout: DEFAULT_TIMEOUT,
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Like [`ClusterProjects::new`] with the in-cluster or kubeconfig client
    /// (`kube::Client::try_default`).
    pub async fn try_default(namespace: &str) -> Result<Self, ProjectError> {
        let client = kube::Client::try_default().await.map_err(|e| ProjectError::Api {
            what: format!("AppProjects in namespace {namespace}"),
            detail: format!(
                "no client configuration (in-cluster service account or kubeconfig): {}",
                crate::verify::explain(&e)
            ),
        })?;
        Ok(Self::new(client, namespace))
    }

    /// How long a fetched AppProject is reused (default 30 s).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long one API request may take (default 10 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The namespace AppProjects are read from.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The AppProject `name`, from the cache when fetched less than the TTL ago.
    pub async fn scope(&self, name: &str) -> Result<Arc<Scope>, ProjectError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(name.to_owned()).or_default())
        };
        let mut cached = slot.lock().await;
        if let Some(entry) = cached.as_ref()
            && entry.at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(&entry.scope));
        }
        match self.fetch_project(name).await {
            Ok(scope) => {
                let scope = Arc::new(scope);
                *cached = Some(Cached { at: Instant::now(), scope: Arc::clone(&scope) });
                Ok(scope)
            }
            Err(error) => {
                // Keep the map to names that exist; a stale entry is not served after its TTL.
                *cached = None;
                drop(cached);
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                if slots.get(name).is_some_and(|s| Arc::ptr_eq(s, &slot)) && Arc::strong_count(&slot) <= 2 {
                    slots.remove(name);
                }
                Err(error)
            }
        }
    }

    async fn fetch_project(&self, name: &str) -> Result<Scope, ProjectError> {
        let what = format!("AppProject {name:?} in namespace {}", self.namespace);
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &app_project_resource());
        let object = self.get(&api, name, &what, "appprojects.argoproj.io").await?;
        let json = serde_json::to_value(&object).map_err(|e| ProjectError::Api {
            what: what.clone(),
            detail: format!("the answer is not an object: {e}"),
        })?;
        Scope::from_app_project(&json)
    }

    /// The Application `namespace`/`name`: its project, destination and repository URLs.
    pub async fn application(&self, namespace: &str, name: &str) -> Result<Application, ProjectError> {
        let what = format!("Application {name:?} in namespace {namespace}");
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &application_resource());
        let object = self.get(&api, name, &what, "applications.argoproj.io").await?;
        let json = serde_json::to_value(&object).map_err(|e| ProjectError::Api {
            what: what.clone(),
            detail: format!("the answer is not an object: {e}"),
        })?;
        let raw: RawApplication = typed(&json, "Application")?;
        let spec = raw.spec;
        let destination = spec.destination.unwrap_or_default();
        let known = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(Application {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: object.metadata.uid.clone(),
            project: known(spec.project).unwrap_or_else(|| "default".to_owned()),
            destination: Destination {
                server: known(destination.server),
                name: known(destination.name),
                namespace: destination.namespace.unwrap_or_default(),
            },
            repo_urls: spec
                .source
                .into_iter()
                .chain(spec.sources.unwrap_or_default())
                .filter_map(|s| known(s.repo_url))
                .collect(),
        })
    }

    async fn get(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        what: &str,
        resource: &str,
    ) -> Result<DynamicObject, ProjectError> {
        match tokio::time::timeout(self.timeout, api.get(name)).await {
            Ok(Ok(object)) => Ok(object),
            Ok(Err(error)) => Err(api_error(what, resource, api_namespace(what), &error)),
            Err(_) => Err(ProjectError::Api {
                what: what.to_owned(),
                detail: format!("no answer within {}s", self.timeout.as_secs_f32()),
            }),
        }
    }
}

/// The namespace part of a `… in namespace X` description.
fn api_namespace(what: &str) -> &str {
    what.rsplit_once(" in namespace ").map_or("", |(_, ns)| ns)
}

/// Says what failed and what would help.
fn api_error(what: &str, resource: &str, namespace: &str, error: &kube::Error) -> ProjectError {
    match error {
        kube::Error::Api(status) if status.code == 404 => {
            let (subject, _) = what.rsplit_once(" in namespace ").unwrap_or((what, ""));
            ProjectError::NotFound {
                what: subject.to_owned(),
                place: format!("in namespace {namespace} (Kubernetes API: {})", status.message),
            }
        }
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => ProjectError::Api {
            what: what.to_owned(),
            detail: format!(
                "{} {}: {}; syncgate's service account needs get on {resource} in namespace {namespace}",
                status.code, status.reason, status.message
            ),
        },
        kube::Error::Api(status) => ProjectError::Api {
            what: what.to_owned(),
            detail: format!("the API server answered {} {}: {}", status.code, status.reason, status.message),
        },
        other => {
            // kube's own wrapper text ("ServiceError: …") says nothing its causes do not.
            let cause = std::error::Error::source(other).map_or_else(|| other.to_string(), crate::verify::explain);
            ProjectError::Api { what: what.to_owned(), detail: format!("cannot reach the API server: {cause}") }
        }
    }
}

/// Posts Kubernetes Events about syncgate's decisions. Best effort: failures are logged, never
/// returned.
#[derive(Clone)]
pub struct Events {
    client: kube::Client,
    timeout: Duration,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Events {
    /// Events through `client`.
    #[must_use]
    pub fn new(client: kube::Client) -> Self {
        Events { client, timeout: DEFAULT_TIMEOUT }
    }

    /// How long each request may take (default 10 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Posts a Warning Event (reason `SyncgateDenied`, source component `syncgate`) on the Argo CD
    /// Application `app_namespace`/`app_name`, so the denial shows next to it. The Application is
    /// read first for its uid (Argo CD's UI lists events by uid); the message is cut to 1024 bytes.
    /// Errors are logged with `tracing::warn!` and otherwise ignored.
    pub async fn application_denied(&self, app_namespace: &str, app_name: &str, message: &str) {
        let applications: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), app_namespace, &application_resource());
        let uid = match tokio::time::timeout(self.timeout, applications.get(app_name)).await {
            Ok(Ok(app)) => app.metadata.uid,
            Ok(Err(error)) => {
                tracing::debug!(app_namespace, app_name, error = %crate::verify::explain(&error), "cannot read the Application for its uid; posting the event without it");
                None
            }
            Err(_) => None,
        };
        let event = denial_event(app_namespace, app_name, uid, message, k8s_openapi::jiff::Timestamp::now());
        let events: Api<Event> = Api::namespaced(self.client.clone(), app_namespace);
        match tokio::time::timeout(self.timeout, events.create(&PostParams::default(), &event)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(app_namespace, app_name, error = %crate::verify::explain(&error), "cannot post the denial event on the Application");
            }
            Err(_) => {
                tracing::warn!(
                    app_namespace,
                    app_name,
                    timeout_s = self.timeout.as_secs_f32(),
                    "posting the denial event on the Application timed out"
                );
            }
        }
    }
}

/// The Event for a denial of `app_name` at `now` (named like client-go's recorder: `<app>.<nanos hex>`).
fn denial_event(
    app_namespace: &str,
    app_name: &str,
    uid: Option<String>,
    message: &str,
    now: k8s_openapi::jiff::Timestamp,
) -> Event {
    let nanos = u128::try_from(now.as_nanosecond()).unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{app_name}.{nanos:x}")),
            namespace: Some(app_namespace.to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(ARGO_API_VERSION.to_owned()),
            kind: Some("Application".to_owned()),
            name: Some(app_name.to_owned()),
            namespace: Some(app_namespace.to_owned()),
            uid,
            ..ObjectReference::default()
        },
        reason: Some("SyncgateDenied".to_owned()),
        message: Some(truncate_message(message, EVENT_MESSAGE_LIMIT)),
        type_: Some("Warning".to_owned()),
        source: Some(EventSource { component: Some("syncgate".to_owned()), host: None }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        reporting_component: Some("syncgate".to_owned()),
        reporting_instance: Some(std::env::var("HOSTNAME").unwrap_or_else(|_| "syncgate".to_owned())),
        ..Event::default()
    }
}

/// `message` cut to at most `limit` bytes on a character boundary, ending in a marker when cut.
#[must_use]
pub fn truncate_message(message: &str, limit: usize) -> String {
    if message.len() <= limit {
        return message.to_owned();
    }
    let mut end = limit.saturating_sub(TRUNCATED.len());
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_name_with_namespace_is_split_at_the_underscore() {
        assert_eq!(split_app_name("team-a_payments", "argocd"), ("team-a", "payments"));
        assert_eq!(split_app_name("payments", "argocd"), ("argocd", "payments"));
        assert_eq!(split_app_name("", "argocd"), ("argocd", ""));
    }

    #[test]
    fn long_event_messages_are_cut_to_1024_bytes_with_a_marker() {
        let short = "x".repeat(1024);
        assert_eq!(truncate_message(&short, 1024), short);
        let long = "é".repeat(1000);
        let cut = truncate_message(&long, 1024);
        assert!(cut.len() <= 1024, "{}", cut.len());
        assert!(cut.ends_with(TRUNCATED));
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn denial_event_shape() {
        let now: k8s_openapi::jiff::Timestamp = "2026-01-12T09:30:11Z".parse().unwrap();
        let event = denial_event("argocd", "payments", Some("u-1".into()), "denied", now);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["involvedObject"]["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(json["involvedObject"]["kind"], "Application");
        assert_eq!(json["involvedObject"]["uid"], "u-1");
        assert_eq!(json["type"], "Warning");
        assert_eq!(json["reason"], "SyncgateDenied");
        assert_eq!(json["source"]["component"], "syncgate");
        assert_eq!(json["firstTimestamp"], "2026-01-12T09:30:11Z");
        assert!(json["metadata"]["name"].as_str().unwrap().starts_with("payments."));
    }
}
