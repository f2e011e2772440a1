//! A fake Kubernetes API server for kube client tests: serves namespaced objects by their REST path
//! with the JSON shapes the real API server returns (the object as stored, `201` with server-filled
//! metadata for a create, `404`/`403` `Status` objects), and records every request.
//!
//! No Kubernetes API server can run on the test machines; this is what kube code is tested against.
//! It speaks plain HTTP/1.1 on 127.0.0.1 and serves until the test's runtime shuts down.
//!
//! ```text
//! let (url, recorder) = KubeApi::start(vec![fixture("appproject-team-a.json")]).await;
//! let client = support::kube_api::client(&url);
//! // … use the client …
//! assert_eq!(recorder.count("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team-a"), 1);
//! ```

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// `GET`, `POST`, …
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
    /// The query string, when there was one.
    pub(crate) query: Option<String>,
    /// The body parsed as JSON, when there was one.
    pub(crate) body: Option<Value>,
}

#[derive(Default)]
struct Inner {
    objects: Mutex<HashMap<String, Value>>,
    overrides: Mutex<HashMap<String, (u16, Value)>>,
    requests: Mutex<Vec<Recorded>>,
    delay: Mutex<Duration>,
    next_version: AtomicU64,
}

/// The fake's handle: what it served and received, and knobs to change its answers.
#[derive(Clone)]
pub(crate) struct Recorder {
    inner: Arc<Inner>,
}

/// Starts fake Kubernetes API servers.
pub(crate) struct KubeApi;

impl KubeApi {
    /// Serves `objects` (each needs `apiVersion`, `kind`, `metadata.name` and `metadata.namespace`)
    /// on a free loopback port; returns the base URL (`http://127.0.0.1:PORT`) and the recorder.
    pub(crate) async fn start(objects: Vec<Value>) -> (String, Recorder) {
        let inner = Arc::new(Inner { next_version: AtomicU64::new(60_000), ..Inner::default() });
        let recorder = Recorder { inner: Arc::clone(&inner) };
        for object in objects {
            recorder.insert(object);
        }
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let app = axum::Router::new().fallback(handle).with_state(inner);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}"), recorder)
    }
}

impl Recorder {
    /// Adds or replaces an object.
    pub(crate) fn insert(&self, object: Value) {
        let path = object_path(&object).expect("object with apiVersion, kind, metadata.name and metadata.namespace");
        lock(&self.inner.objects).insert(path, object);
    }

    /// Answers every request to `path` with `status` and `body` (a `Status` object, usually).
    pub(crate) fn respond(&self, path: &str, status: u16, body: Value) {
        lock(&self.inner.overrides).insert(path.to_owned(), (status, body));
    }

    /// Waits this long before every answer.
    pub(crate) fn set_delay(&self, delay: Duration) {
        *lock(&self.inner.delay) = delay;
    }

    /// Every request so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }

    /// How many `method` requests went to `path`.
    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path == path).count()
    }
}

/// A lock that survives a panicking test thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A kube client for the fake at `url` (no credentials, no TLS).
pub(crate) fn client(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("fake API URL"));
    kube::Client::try_from(config).expect("kube client")
}

/// `Status` for a missing object, exactly as the API server writes it.
pub(crate) fn not_found(group: &str, plural: &str, name: &str) -> Value {
    let resource = if group.is_empty() { plural.to_owned() } else { format!("{plural}.{group}") };
    let details = if group.is_empty() {
        json!({"name": name, "kind": plural})
    } else {
        json!({"name": name, "group": group, "kind": plural})
    };
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": format!("{resource} \"{name}\" not found"), "reason": "NotFound", "details": details, "code": 404})
}

/// `Status` for a request the caller's RBAC does not allow, as the API server writes it.
pub(crate) fn forbidden(group: &str, plural: &str, name: &str, namespace: &str, user: &str) -> Value {
    let resource = if group.is_empty() { plural.to_owned() } else { format!("{plural}.{group}") };
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": format!("{resource} \"{name}\" is forbidden: User \"{user}\" cannot get resource \"{plural}\" in API group \"{group}\" in the namespace \"{namespace}\""),
           "reason": "Forbidden", "details": {"name": name, "group": group, "kind": plural}, "code": 403})
}

/// The REST path of a namespaced object: `/api/v1/namespaces/NS/PLURAL/NAME` for the core group,
/// `/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME` otherwise.
pub(crate) fn object_path(object: &Value) -> Option<String> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let name = object.get("metadata")?.get("name")?.as_str()?;
    let namespace = object.get("metadata")?.get("namespace")?.as_str()?;
    Some(format!("{}/{name}", collection_path(api_version, namespace, &plural(kind))))
}

fn collection_path(api_version: &str, namespace: &str, plural: &str) -> String {
    let prefix = if api_version.contains('/') { format!("/apis/{api_version}") } else { format!("/api/{api_version}") };
    format!("{prefix}/namespaces/{namespace}/{plural}")
}

/// Lowercase plural of a kind (enough for the kinds tests use).
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// `(group, version, namespace, plural, name)` of a REST path.
fn parse_path(path: &str) -> Option<(String, String, String, String, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => ((*group).to_owned(), (*version).to_owned(), rest),
        _ => return None,
    };
    match rest {
        ["namespaces", ns, plural] => Some((group, version, (*ns).to_owned(), (*plural).to_owned(), None)),
        ["namespaces", ns, plural, name] => {
            Some((group, version, (*ns).to_owned(), (*plural).to_owned(), Some((*name).to_owned())))
        }
        _ => None,
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("response")
}

async fn handle(State(inner): State<Arc<Inner>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    lock(&inner.requests).push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        body: serde_json::from_slice(&body).ok(),
    });
    let delay = *lock(&inner.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, body)) = lock(&inner.overrides).get(&path).cloned() {
        return json_response(status, &body);
    }
    let Some((group, _version, namespace, plural, name)) = parse_path(&path) else {
        return json_response(
            404,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                          "message": "the server could not find the requested resource", "reason": "NotFound",
                                          "details": {}, "code": 404}),
        );
    };
    match (method, name) {
        (Method::GET, Some(name)) => match lock(&inner.objects).get(&path) {
            Some(object) => json_response(200, object),
            None => json_response(404, &not_found(&group, &plural, &name)),
        },
        (Method::POST, None) => {
            let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
                return json_response(
                    400,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                                  "message": "the body of the request was in an unknown format", "reason": "BadRequest", "code": 400}),
                );
            };
            let version = inner.next_version.fetch_add(1, Ordering::Relaxed);
            let metadata = object.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| json!({})));
            if let Some(metadata) = metadata.and_then(Value::as_object_mut) {
                if !metadata.contains_key("name")
                    && let Some(prefix) = metadata.get("generateName").and_then(Value::as_str)
                {
                    let generated = format!("{prefix}{version:x}");
                    metadata.insert("name".into(), json!(generated));
                }
                metadata.insert("namespace".into(), json!(namespace));
                metadata.insert("uid".into(), json!(format!("00000000-0000-4000-8000-{version:012}")));
                metadata.insert("resourceVersion".into(), json!(version.to_string()));
                metadata.insert("creationTimestamp".into(), json!("2026-02-03T14:05:13Z"));
            }
            if let Some(path) = object_path(&object) {
                lock(&inner.objects).insert(path, object.clone());
            }
            json_response(201, &object)
        }
        _ => json_response(
            405,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "the server does not allow this method on the requested resource",
                                        "reason": "MethodNotAllowed", "details": {}, "code": 405}),
        ),
    }
}
