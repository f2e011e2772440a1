//! A fake Kubernetes API server for kube client and controller tests: serves namespaced objects by
//! their REST path with the JSON shapes the real API server returns, keeps a resourceVersion history
//! so kube-runtime watchers and controllers run against it, and records every request.
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
//!
//! What it serves, as kube-apiserver does:
//!
//! - `GET`, `POST`, `PUT`, `PATCH`, `DELETE` on `/api/v1/namespaces/NS/PLURAL[/NAME[/status]]` and
//!   `/apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME[/status]]`; lists (`<Kind>List`, the current
//!   `metadata.resourceVersion`) per namespace and across namespaces (`/apis/GROUP/VERSION/PLURAL`).
//! - Watches (`watch=true`): newline-delimited `ADDED`/`MODIFIED`/`DELETED` events after the
//!   requested resourceVersion, then live ones, closed after `timeoutSeconds` (at most 290); synthetic
//!   `ADDED` events for resourceVersion `""`/`"0"`; `sendInitialEvents=true` ends the initial
//!   events with the `k8s.io/initial-events-end` `BOOKMARK`; the `410 Expired` `ERROR` event for a
//!   resourceVersion older than the kept history (everything since start, or since
//!   [`Recorder::compact`]).
//! - One resourceVersion counter for all writes, test-side ones included. Creates fill `uid`,
//!   `creationTimestamp` and, for custom resources, `generation: 1`; `generation` grows when
//!   anything but `metadata` (and `status`, for kinds with a status subresource) changes. A write
//!   that changes nothing is not stored and emits no event.
//! - Status subresource for `gitrepositories`, `ocirepositories`, `buckets`, `helmcharts`,
//!   `helmrepositories`, `externalartifacts`, `verifiedsources`, `kustomizations`, `helmreleases`:
//!   writes to the object keep the stored `.status`, writes to `/status` change only `.status`.
//! - `PUT` with a stale `metadata.resourceVersion` is `409 Conflict`, `POST` of an existing name
//!   `409 AlreadyExists`, a missing object `404 NotFound`, apply without `fieldManager`
//!   `422 Invalid`, all with the real `Status` bodies. `DELETE` answers with the object for custom
//!   resources and a `Success` `Status` for built-in ones.
//! - List items of built-in kinds carry no `apiVersion`/`kind`; custom resources' do.
//!
//! Approximations (tests must not rely on the real behaviour here):
//!
//! - Server-side apply (`application/apply-patch+yaml`) has no field ownership: the applied
//!   object is merged into the stored one (maps merged key by key, lists and scalars replaced,
//!   `null` removes), so fields a manager stops sending stay, and `force` changes nothing. No
//!   `managedFields` are written. Strategic merge patch is treated as JSON merge patch (lists are
//!   replaced, not merged by key); JSON patch is not supported (`415`).
//! - No admission, defaulting, schema validation, finalizers or `deletionTimestamp` (`DELETE`
//!   removes at once), no cluster-scoped objects, no authentication or RBAC.
//! - Label selectors support `k=v`, `k==v`, `k!=v`, `k` and `!k` (no set-based `in`/`notin`);
//!   field selectors `metadata.name` and `metadata.namespace`. A watched object that stops
//!   matching a selector is not reported as `DELETED`.
//! - `limit` and `continue` are ignored (the whole list in one page); list `resourceVersion`
//!   parameters are ignored (always the latest); no periodic `BOOKMARK` events.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

/// Plurals served with a status subresource (Flux sources and consumers, syncgate's own kinds).
const STATUS_SUBRESOURCE: &[&str] = &[
    "gitrepositories",
    "ocirepositories",
    "buckets",
    "helmcharts",
    "helmrepositories",
    "externalartifacts",
    "verifiedsources",
    "kustomizations",
    "helmreleases",
];

/// Kinds of plurals a list may be asked for before any object of them exists.
const KINDS: &[(&str, &str)] = &[
    ("gitrepositories", "GitRepository"),
    ("ocirepositories", "OCIRepository"),
    ("buckets", "Bucket"),
    ("helmcharts", "HelmChart"),
    ("helmrepositories", "HelmRepository"),
    ("externalartifacts", "ExternalArtifact"),
    ("verifiedsources", "VerifiedSource"),
    ("kustomizations", "Kustomization"),
    ("helmreleases", "HelmRelease"),
    ("leases", "Lease"),
    ("events", "Event"),
    ("configmaps", "ConfigMap"),
    ("secrets", "Secret"),
    ("appprojects", "AppProject"),
    ("applications", "Application"),
];

/// Longest watch the fake keeps open, whatever `timeoutSeconds` asks.
const MAX_WATCH: Duration = Duration::from_secs(290);

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// `GET`, `POST`, …
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
    /// The query string, when there was one.
    pub(crate) query: Option<String>,
    /// The `Content-Type` header, when there was one.
    pub(crate) content_type: Option<String>,
    /// The body parsed as JSON, when there was one.
    pub(crate) body: Option<Value>,
}

/// One stored change, as a watch reports it.
struct Change {
    version: u64,
    kind: &'static str,
    path: String,
    object: Value,
}

/// The objects and their history, behind one lock so checks and writes are atomic.
struct Store {
    /// Object path → stored object.
    objects: BTreeMap<String, Value>,
    history: Vec<Change>,
    /// The last resourceVersion handed out.
    version: u64,
    /// Watches from a resourceVersion below this one get `410 Expired`.
    compacted: u64,
    changed: watch::Sender<u64>,
}

impl Store {
    /// Stores `object` at `path` under the next resourceVersion and tells watchers.
    fn put(&mut self, path: &str, mut object: Value, kind: &'static str) -> Value {
        self.version += 1;
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("resourceVersion".into(), json!(self.version.to_string()));
        }
        if kind == "DELETED" {
            self.objects.remove(path);
        } else {
            self.objects.insert(path.to_owned(), object.clone());
        }
        self.history.push(Change { version: self.version, kind, path: path.to_owned(), object: object.clone() });
        self.changed.send_replace(self.version);
        object
    }

    /// Stores `new` over `old` at `path` (keeping server-set metadata, bumping `generation` for
    /// custom resources when more than metadata and status changed); a no-op write stores nothing.
    fn update(&mut self, path: &str, target: &Target, old: &Value, mut new: Value) -> Value {
        for key in ["uid", "creationTimestamp", "resourceVersion", "generation"] {
            match old["metadata"].get(key) {
                Some(value) => new["metadata"][key] = value.clone(),
                None => {
                    if let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                        metadata.remove(key);
                    }
                }
            }
        }
        if new == *old {
            return new;
        }
        if target.is_custom() && spec_changed(old, &new, target.has_status()) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        self.put(path, new, "MODIFIED")
    }
}

/// Whether anything but `metadata` (and `status`, with a status subresource) differs.
fn spec_changed(old: &Value, new: &Value, has_status: bool) -> bool {
    let strip = |object: &Value| {
        let mut object = object.as_object().cloned().unwrap_or_default();
        object.remove("metadata");
        if has_status {
            object.remove("status");
        }
        object
    };
    strip(old) != strip(new)
}

struct Inner {
    store: Mutex<Store>,
    overrides: Mutex<HashMap<String, (u16, Value)>>,
    method_overrides: Mutex<HashMap<(String, String), (u16, Value)>>,
    requests: Mutex<Vec<Recorded>>,
    delay: Mutex<Duration>,
}

/// The fake's handle: what it stores, served and received, and knobs to change its answers.
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
        let (changed, _) = watch::channel(59_999);
        let store =
            Store { objects: BTreeMap::new(), history: Vec::new(), version: 59_999, compacted: 59_999, changed };
        let inner = Arc::new(Inner {
            store: Mutex::new(store),
            overrides: Mutex::default(),
            method_overrides: Mutex::default(),
            requests: Mutex::default(),
            delay: Mutex::default(),
        });
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
    /// Adds or replaces an object as another writer would (its `status` included): stamps a new
    /// resourceVersion, fills `uid`, `creationTimestamp` and (custom resources) `generation` when
    /// missing, keeping the stored object's, and emits `ADDED` or `MODIFIED`. A `generation` given
    /// in `object` is kept; a missing one grows when more than metadata and status changed.
    pub(crate) fn insert(&self, object: Value) -> Value {
        let path = object_path(&object).expect("object with apiVersion, kind, metadata.name and metadata.namespace");
        let target = parse_path(&path).expect("object path");
        let mut store = lock(&self.inner.store);
        let old = store.objects.get(&path).cloned();
        let mut object = object;
        let version = store.version + 1;
        let metadata = object["metadata"].as_object_mut().expect("metadata");
        for key in ["uid", "creationTimestamp"] {
            if !metadata.contains_key(key) {
                let value = old.as_ref().and_then(|old| old["metadata"].get(key).cloned());
                metadata.insert(key.into(), value.unwrap_or_else(|| server_filled(key, version)));
            }
        }
        if target.is_custom() && !metadata.contains_key("generation") {
            let generation = match &old {
                Some(old) => {
                    let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                    if spec_changed(old, &object, target.has_status()) { generation + 1 } else { generation }
                }
                None => 1,
            };
            object["metadata"]["generation"] = json!(generation);
        }
        store.put(&path, object, if old.is_some() { "MODIFIED" } else { "ADDED" })
    }

    /// Changes a stored object in place (as another controller's update would), with the
    /// `generation` rules of a write to the object itself; `None` when there is none at `path`.
    pub(crate) fn update(&self, path: &str, change: impl FnOnce(&mut Value)) -> Option<Value> {
        let target = parse_path(path)?;
        let mut store = lock(&self.inner.store);
        let old = store.objects.get(path)?.clone();
        let mut new = old.clone();
        change(&mut new);
        Some(store.update(path, &target, &old, new))
    }

    /// Removes the object at `path`, emitting `DELETED`; returns it as it was stored.
    pub(crate) fn delete(&self, path: &str) -> Option<Value> {
        let mut store = lock(&self.inner.store);
        let object = store.objects.get(path)?.clone();
        store.put(path, object.clone(), "DELETED");
        Some(object)
    }

    /// The object stored at `path` (an object path, not a `/status` one).
    pub(crate) fn get(&self, path: &str) -> Option<Value> {
        lock(&self.inner.store).objects.get(path).cloned()
    }

    /// The objects stored under a collection path (`/apis/G/V/namespaces/NS/PLURAL`), by name.
    pub(crate) fn list(&self, collection: &str) -> Vec<Value> {
        let prefix = format!("{}/", collection.trim_end_matches('/'));
        let store = lock(&self.inner.store);
        store
            .objects
            .iter()
            .filter(|(path, _)| path.strip_prefix(&prefix).is_some_and(|rest| !rest.contains('/')))
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// The last resourceVersion handed out.
    pub(crate) fn resource_version(&self) -> u64 {
        lock(&self.inner.store).version
    }

    /// Forgets the history: watches from an older resourceVersion get the `410 Expired` event.
    pub(crate) fn compact(&self) {
        let mut store = lock(&self.inner.store);
        store.compacted = store.version;
        store.history.clear();
    }

    /// Answers every request to `path` with `status` and `body` (a `Status` object, usually).
    pub(crate) fn respond(&self, path: &str, status: u16, body: Value) {
        lock(&self.inner.overrides).insert(path.to_owned(), (status, body));
    }

    /// Answers `method` requests to `path` with `status` and `body`; wins over [`Self::respond`].
    pub(crate) fn respond_to(&self, method: &str, path: &str, status: u16, body: Value) {
        lock(&self.inner.method_overrides).insert((method.to_owned(), path.to_owned()), (status, body));
    }

    /// Drops every answer set with [`Self::respond`] and [`Self::respond_to`].
    pub(crate) fn clear_responses(&self) {
        lock(&self.inner.overrides).clear();
        lock(&self.inner.method_overrides).clear();
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

    /// The JSON bodies of the `method` requests to `path`, in arrival order.
    pub(crate) fn bodies(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r.method == method && r.path == path).filter_map(|r| r.body).collect()
    }

    /// The bodies of the `PATCH` requests to `path` (`…/NAME` or `…/NAME/status`), in order.
    pub(crate) fn patches(&self, path: &str) -> Vec<Value> {
        self.bodies("PATCH", path)
    }

    /// Polls `done` (every 10 ms) until it holds or `timeout` passes; whether it held.
    pub(crate) async fn wait_until(&self, timeout: Duration, done: impl Fn(&Recorder) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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

/// `plural.group`, or `plural` for the core group, as the API server names resources in messages.
fn resource(group: &str, plural: &str) -> String {
    if group.is_empty() { plural.to_owned() } else { format!("{plural}.{group}") }
}

/// `details` of a `Status` about one object.
fn details(group: &str, plural: &str, name: &str) -> Value {
    if group.is_empty() {
        json!({"name": name, "kind": plural})
    } else {
        json!({"name": name, "group": group, "kind": plural})
    }
}

/// A `Failure` `Status`, as the API server writes it.
fn failure(code: u16, reason: &str, message: &str, details: Value) -> Value {
    let mut status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code});
    status["details"] = details;
    status
}

/// `Status` for a missing object, exactly as the API server writes it.
pub(crate) fn not_found(group: &str, plural: &str, name: &str) -> Value {
    let message = format!("{} \"{name}\" not found", resource(group, plural));
    failure(404, "NotFound", &message, details(group, plural, name))
}

/// `Status` for an update from a stale resourceVersion, as the API server writes it.
pub(crate) fn conflict(group: &str, plural: &str, name: &str) -> Value {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        resource(group, plural)
    );
    failure(409, "Conflict", &message, details(group, plural, name))
}

/// `Status` for a create of a name that exists, as the API server writes it.
pub(crate) fn already_exists(group: &str, plural: &str, name: &str) -> Value {
    let message = format!("{} \"{name}\" already exists", resource(group, plural));
    failure(409, "AlreadyExists", &message, details(group, plural, name))
}

/// `Status` for a request the caller's RBAC does not allow, as the API server writes it.
pub(crate) fn forbidden(group: &str, plural: &str, name: &str, namespace: &str, user: &str) -> Value {
    let message = format!(
        "{} \"{name}\" is forbidden: User \"{user}\" cannot get resource \"{plural}\" in API group \"{group}\" in the namespace \"{namespace}\"",
        resource(group, plural)
    );
    failure(403, "Forbidden", &message, json!({"name": name, "group": group, "kind": plural}))
}

/// `Status` for a server-side apply without `fieldManager`, as the API server writes it.
fn field_manager_required() -> Value {
    failure(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
            {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}),
    )
}

fn bad_request(message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": "BadRequest", "code": 400})
}

fn method_not_allowed() -> Value {
    failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", json!({}))
}

/// The REST path of a namespaced object: `/api/v1/namespaces/NS/PLURAL/NAME` for the core group,
/// `/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME` otherwise.
pub(crate) fn object_path(object: &Value) -> Option<String> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let name = object.get("metadata")?.get("name")?.as_str()?;
    let namespace = object.get("metadata")?.get("namespace")?.as_str()?;
    let prefix = if api_version.contains('/') { format!("/apis/{api_version}") } else { format!("/api/{api_version}") };
    Some(format!("{prefix}/namespaces/{namespace}/{}/{name}", plural(kind)))
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

/// What a REST path names.
#[derive(Debug, Clone)]
struct Target {
    group: String,
    version: String,
    /// `None` for a collection across all namespaces.
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    /// `true` for `…/NAME/status`.
    status: bool,
}

impl Target {
    fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Custom resources (served from CRDs) as opposed to built-in kinds.
    fn is_custom(&self) -> bool {
        self.group.contains('.') && !self.group.ends_with(".k8s.io")
    }

    fn has_status(&self) -> bool {
        STATUS_SUBRESOURCE.contains(&self.plural.as_str())
    }

    /// The object path (without `/status`).
    fn object_path(&self) -> Option<String> {
        let prefix = if self.group.is_empty() { "/api".to_owned() } else { format!("/apis/{}", self.group) };
        Some(format!(
            "{prefix}/{}/namespaces/{}/{}/{}",
            self.version,
            self.namespace.as_ref()?,
            self.plural,
            self.name.as_ref()?
        ))
    }

    /// Whether the object stored at `path` belongs to this collection.
    fn contains(&self, path: &str) -> bool {
        parse_path(path).is_some_and(|t| {
            t.group == self.group
                && t.plural == self.plural
                && self.namespace.as_ref().is_none_or(|namespace| t.namespace.as_ref() == Some(namespace))
        })
    }
}

/// What a REST path names, or `None` for paths the fake does not serve.
fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => ((*group).to_owned(), (*version).to_owned(), rest),
        _ => return None,
    };
    let target = |namespace: Option<&str>, plural: &str, name: Option<&str>, status: bool| Target {
        group: group.clone(),
        version: version.clone(),
        namespace: namespace.map(str::to_owned),
        plural: plural.to_owned(),
        name: name.map(str::to_owned),
        status,
    };
    match rest {
        [plural] => Some(target(None, plural, None, false)),
        ["namespaces", ns, plural] => Some(target(Some(ns), plural, None, false)),
        ["namespaces", ns, plural, name] => Some(target(Some(ns), plural, Some(name), false)),
        ["namespaces", ns, plural, name, "status"] => Some(target(Some(ns), plural, Some(name), true)),
        _ => None,
    }
}

/// A server-filled metadata value for a create at resourceVersion `version`.
fn server_filled(key: &str, version: u64) -> Value {
    match key {
        "uid" => json!(format!("00000000-0000-4000-8000-{version:012}")),
        _ => json!(jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// RFC 7386 JSON merge patch of `patch` into `target` (also the fake's server-side apply merge).
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The query parameters, decoded.
fn query_pairs(uri: &Uri) -> HashMap<String, String> {
    let query = uri.query().unwrap_or_default();
    url_decode_pairs(query)
}

fn url_decode_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `object` matches the `labelSelector` and `fieldSelector` parameters.
fn selected(object: &Value, query: &HashMap<String, String>) -> bool {
    let labels = &object["metadata"]["labels"];
    let label_ok = query.get("labelSelector").is_none_or(|selector| {
        selector.split(',').map(str::trim).filter(|r| !r.is_empty()).all(|requirement| {
            if let Some((key, value)) = requirement.split_once("!=") {
                labels[key.trim()].as_str() != Some(value.trim())
            } else if let Some((key, value)) = requirement.split_once("==").or_else(|| requirement.split_once('=')) {
                labels[key.trim()].as_str() == Some(value.trim())
            } else if let Some(key) = requirement.strip_prefix('!') {
                labels.get(key.trim()).is_none()
            } else {
                labels.get(requirement).is_some()
            }
        })
    });
    let field_ok = query.get("fieldSelector").is_none_or(|selector| {
        selector.split(',').map(str::trim).filter(|r| !r.is_empty()).all(|requirement| {
            let (field, value, equal) = match requirement.split_once("!=") {
                Some((field, value)) => (field, value, false),
                None => match requirement.split_once("==").or_else(|| requirement.split_once('=')) {
                    Some((field, value)) => (field, value, true),
                    None => return true,
                },
            };
            let actual = match field.trim() {
                "metadata.name" => object["metadata"]["name"].as_str(),
                "metadata.namespace" => object["metadata"]["namespace"].as_str(),
                _ => return true,
            };
            (actual == Some(value.trim())) == equal
        })
    });
    label_ok && field_ok
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("response")
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    lock(&inner.requests).push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        content_type: content_type.clone(),
        body: serde_json::from_slice(&body).ok(),
    });
    let delay = *lock(&inner.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let method_override = lock(&inner.method_overrides).get(&(method.to_string(), path.clone())).cloned();
    if let Some((status, body)) = method_override.or_else(|| lock(&inner.overrides).get(&path).cloned()) {
        return json_response(status, &body);
    }
    let Some(target) = parse_path(&path) else {
        return json_response(
            404,
            &failure(404, "NotFound", "the server could not find the requested resource", json!({})),
        );
    };
    let query = query_pairs(&uri);
    if target.name.is_none() {
        return match method {
            Method::GET if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) => {
                watch_response(&inner, target, &query)
            }
            Method::GET => list(&inner, &target, &query),
            Method::POST if target.namespace.is_some() => create(&inner, &target, &body),
            _ => json_response(405, &method_not_allowed()),
        };
    }
    if target.status && !target.has_status() {
        return json_response(
            404,
            &failure(404, "NotFound", "the server could not find the requested resource", json!({})),
        );
    }
    match method {
        Method::GET => {
            let store = lock(&inner.store);
            match target.object_path().and_then(|p| store.objects.get(&p)) {
                Some(object) => json_response(200, object),
                None => json_response(404, &missing(&target)),
            }
        }
        Method::PUT => replace(&inner, &target, &body),
        Method::PATCH => patch(&inner, &target, &query, content_type.as_deref(), &body),
        Method::DELETE => delete(&inner, &target),
        _ => json_response(405, &method_not_allowed()),
    }
}

fn missing(target: &Target) -> Value {
    not_found(&target.group, &target.plural, target.name.as_deref().unwrap_or_default())
}

/// The kind of the objects of `target`'s collection.
fn kind_of(store: &Store, target: &Target) -> String {
    if let Some(kind) =
        store.objects.iter().find(|(path, _)| target.contains(path)).and_then(|(_, object)| object["kind"].as_str())
    {
        return kind.to_owned();
    }
    if let Some((_, kind)) = KINDS.iter().find(|(plural, _)| *plural == target.plural) {
        return (*kind).to_owned();
    }
    let singular = target.plural.strip_suffix('s').unwrap_or(&target.plural);
    let mut chars = singular.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn list(inner: &Inner, target: &Target, query: &HashMap<String, String>) -> Response {
    let store = lock(&inner.store);
    let items: Vec<Value> = store
        .objects
        .iter()
        .filter(|(path, object)| target.contains(path) && selected(object, query))
        .map(|(_, object)| {
            let mut object = object.clone();
            if !target.is_custom()
                && let Some(object) = object.as_object_mut()
            {
                object.remove("apiVersion");
                object.remove("kind");
            }
            object
        })
        .collect();
    let body = json!({
        "kind": format!("{}List", kind_of(&store, target)),
        "apiVersion": target.api_version(),
        "metadata": {"resourceVersion": store.version.to_string()},
        "items": items,
    });
    json_response(200, &body)
}

/// The request body as a JSON object.
fn parse_body(body: &Bytes) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

fn unknown_format() -> Response {
    json_response(400, &bad_request("the body of the request was in an unknown format"))
}

fn create(inner: &Inner, target: &Target, body: &Bytes) -> Response {
    let Some(mut object) = parse_body(body) else {
        return unknown_format();
    };
    let mut store = lock(&inner.store);
    let version = store.version + 1;
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let metadata = object["metadata"].as_object_mut().expect("metadata");
    if !metadata.contains_key("name")
        && let Some(prefix) = metadata.get("generateName").and_then(Value::as_str)
    {
        let generated = format!("{prefix}{version:x}");
        metadata.insert("name".into(), json!(generated));
    }
    metadata.insert("namespace".into(), json!(target.namespace));
    metadata.insert("uid".into(), server_filled("uid", version));
    metadata.insert("creationTimestamp".into(), server_filled("creationTimestamp", version));
    if target.is_custom() {
        metadata.insert("generation".into(), json!(1));
    }
    if target.has_status()
        && let Some(object) = object.as_object_mut()
    {
        object.remove("status");
    }
    let Some(name) = object["metadata"]["name"].as_str().map(str::to_owned) else {
        return json_response(400, &bad_request("name or generateName is required"));
    };
    let mut named = target.clone();
    named.name = Some(name.clone());
    let path = named.object_path().expect("namespaced object path");
    if store.objects.contains_key(&path) {
        return json_response(409, &already_exists(&target.group, &target.plural, &name));
    }
    let stored = store.put(&path, object, "ADDED");
    json_response(201, &stored)
}

/// Whether a write names a resourceVersion other than the stored one (the API server's `409`).
fn stale(stored: &Value, body: &Value) -> bool {
    body["metadata"]["resourceVersion"]
        .as_str()
        .is_some_and(|version| !version.is_empty() && Some(version) != stored["metadata"]["resourceVersion"].as_str())
}

fn conflict_response(target: &Target) -> Response {
    json_response(409, &conflict(&target.group, &target.plural, target.name.as_deref().unwrap_or_default()))
}

/// What a write of `written` to `target` stores over `old`: only `.status` for `/status`, all but
/// `.status` for the object of a kind with a status subresource, all of it otherwise.
fn scoped(target: &Target, old: &Value, written: &Value) -> Value {
    let mut new = if target.status { old.clone() } else { written.clone() };
    if target.status || target.has_status() {
        let status = if target.status { written.get("status") } else { old.get("status") };
        let object = new.as_object_mut().expect("object");
        match status {
            Some(status) => {
                object.insert("status".into(), status.clone());
            }
            None => {
                object.remove("status");
            }
        }
    }
    new
}

fn replace(inner: &Inner, target: &Target, body: &Bytes) -> Response {
    let Some(written) = parse_body(body) else {
        return unknown_format();
    };
    let name = target.name.as_deref().unwrap_or_default();
    if let Some(body_name) = written["metadata"]["name"].as_str()
        && body_name != name
    {
        let message = format!("the name of the object ({body_name}) does not match the name on the URL ({name})");
        return json_response(400, &bad_request(&message));
    }
    let path = target.object_path().expect("object path");
    let mut store = lock(&inner.store);
    let Some(old) = store.objects.get(&path).cloned() else {
        return json_response(404, &missing(target));
    };
    if target.is_custom() && written["metadata"]["resourceVersion"].as_str().is_none_or(str::is_empty) {
        let kind = old["kind"].as_str().unwrap_or_default();
        let message = format!(
            "{kind}.{} \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            target.group
        );
        let details = json!({"name": name, "group": target.group, "kind": kind, "causes": [
            {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update", "field": "metadata.resourceVersion"}]});
        return json_response(422, &failure(422, "Invalid", &message, details));
    }
    if stale(&old, &written) {
        return conflict_response(target);
    }
    let mut written = written;
    written["metadata"]["namespace"] = json!(target.namespace);
    let new = scoped(target, &old, &written);
    let stored = store.update(&path, target, &old, new);
    json_response(200, &stored)
}

fn patch(
    inner: &Inner,
    target: &Target,
    query: &HashMap<String, String>,
    content_type: Option<&str>,
    body: &Bytes,
) -> Response {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let apply = match media_type {
        "application/apply-patch+yaml" => true,
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => false,
        _ => {
            let message = format!("the server does not support the patch type {media_type:?}");
            return json_response(415, &failure(415, "UnsupportedMediaType", &message, json!({})));
        }
    };
    if apply && query.get("fieldManager").is_none_or(String::is_empty) {
        return json_response(422, &field_manager_required());
    }
    let Some(written) = parse_body(body) else {
        return unknown_format();
    };
    let name = target.name.as_deref().unwrap_or_default();
    let path = target.object_path().expect("object path");
    let mut store = lock(&inner.store);
    let existing = store.objects.get(&path).cloned();
    // As the API server: a missing object first (apply creates, except through /status), then
    // the applied object's name.
    if existing.is_none() && (!apply || target.status) {
        return json_response(404, &missing(target));
    }
    if apply
        && let Some(body_name) = written["metadata"]["name"].as_str()
        && body_name != name
    {
        let message = format!("the name of the object ({body_name}) does not match the name on the URL ({name})");
        return json_response(400, &bad_request(&message));
    }
    let Some(old) = existing else {
        let mut object = json!({"apiVersion": target.api_version(), "kind": kind_of(&store, target)});
        merge(&mut object, &written);
        let version = store.version + 1;
        object["metadata"]["name"] = json!(name);
        object["metadata"]["namespace"] = json!(target.namespace);
        object["metadata"]["uid"] = server_filled("uid", version);
        object["metadata"]["creationTimestamp"] = server_filled("creationTimestamp", version);
        if target.is_custom() {
            object["metadata"]["generation"] = json!(1);
        }
        if target.has_status() {
            object.as_object_mut().expect("object").remove("status");
        }
        let stored = store.put(&path, object, "ADDED");
        return json_response(201, &stored);
    };
    if stale(&old, &written) {
        return conflict_response(target);
    }
    let mut merged = old.clone();
    merge(&mut merged, &written);
    merged["metadata"]["name"] = json!(name);
    merged["metadata"]["namespace"] = json!(target.namespace);
    let new = scoped(target, &old, &merged);
    let stored = store.update(&path, target, &old, new);
    json_response(200, &stored)
}

fn delete(inner: &Inner, target: &Target) -> Response {
    let path = target.object_path().expect("object path");
    let mut store = lock(&inner.store);
    let Some(object) = store.objects.get(&path).cloned() else {
        return json_response(404, &missing(target));
    };
    store.put(&path, object.clone(), "DELETED");
    if target.is_custom() {
        return json_response(200, &object);
    }
    let mut details = details(&target.group, &target.plural, target.name.as_deref().unwrap_or_default());
    details["uid"] = object["metadata"]["uid"].clone();
    json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    )
}

/// One watch event line.
fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// What a watch sends first: lines, and the resourceVersion after which history follows (`None`
/// when the watch ends after the lines).
fn watch_start(store: &Store, target: &Target, query: &HashMap<String, String>) -> (Vec<Bytes>, Option<u64>) {
    let requested = query.get("resourceVersion").map(String::as_str).unwrap_or_default();
    let initial = || -> Vec<Bytes> {
        store
            .objects
            .iter()
            .filter(|(path, object)| target.contains(path) && selected(object, query))
            .map(|(_, object)| event_line("ADDED", object))
            .collect()
    };
    if query.get("sendInitialEvents").map(String::as_str) == Some("true") {
        let mut lines = initial();
        let bookmark = json!({"kind": kind_of(store, target), "apiVersion": target.api_version(),
            "metadata": {"resourceVersion": store.version.to_string(),
                         "annotations": {"k8s.io/initial-events-end": "true"}}});
        lines.push(event_line("BOOKMARK", &bookmark));
        return (lines, Some(store.version));
    }
    if requested.is_empty() || requested == "0" {
        return (initial(), Some(store.version));
    }
    match requested.parse::<u64>() {
        Ok(version) if version >= store.compacted => {
            (history_lines(store, target, query, version), Some(store.version))
        }
        _ => {
            let message = format!("too old resource version: {requested} ({})", store.compacted);
            let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": message, "reason": "Expired", "code": 410});
            (vec![event_line("ERROR", &status)], None)
        }
    }
}

/// The events of `target`'s collection after resourceVersion `from`.
fn history_lines(store: &Store, target: &Target, query: &HashMap<String, String>, from: u64) -> Vec<Bytes> {
    store
        .history
        .iter()
        .filter(|change| change.version > from && target.contains(&change.path) && selected(&change.object, query))
        .map(|change| event_line(change.kind, &change.object))
        .collect()
}

fn watch_response(inner: &Arc<Inner>, target: Target, query: &HashMap<String, String>) -> Response {
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(MAX_WATCH, |seconds| Duration::from_secs(seconds).min(MAX_WATCH));
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let inner = Arc::clone(inner);
    let query = query.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let (mut changes, lines, mut after) = {
            let store = lock(&inner.store);
            let changes = store.changed.subscribe();
            let (lines, after) = watch_start(&store, &target, &query);
            (changes, lines, after)
        };
        let mut pending = lines;
        loop {
            for line in pending.drain(..) {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            let Some(from) = after else { return };
            tokio::select! {
                result = changes.changed() => if result.is_err() { return },
                () = tokio::time::sleep_until(deadline) => return,
                () = tx.closed() => return,
            }
            changes.borrow_and_update();
            let store = lock(&inner.store);
            pending = history_lines(&store, &target, &query, from);
            after = Some(store.version);
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<Bytes, Infallible>);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .expect("response")
}
