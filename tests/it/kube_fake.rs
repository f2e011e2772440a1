//! The fake Kubernetes API itself, driven by the kube client and kube-runtime as controllers use
//! them: watchers over lists and watches, server-side apply of objects and their status,
//! generation, optimistic concurrency on replace, and the real error `Status` bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher::{self, Event};
use serde_json::{Value, json};

use crate::common::root;
use crate::support::kube_api::{self, KubeApi};

const GIT_API: &str = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/api";
const EA: &str = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/externalartifacts/api-verified";
const WAIT: Duration = Duration::from_secs(2);

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures/kube/flux").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

fn flux(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", kind), plural)
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(WAIT, stream.next()).await.expect("an event within the deadline").expect("an open stream")
}

fn revision(object: &DynamicObject) -> &str {
    object.data["status"]["artifact"]["revision"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn watcher_sees_the_initial_object_then_a_change() {
    let (url, recorder) = KubeApi::start(vec![fixture("gitrepository-api.json")]).await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(kube_api::client(&url), "flux-system", &flux("GitRepository", "gitrepositories"));
    let mut events = kube::runtime::watcher(api, watcher::Config::default()).boxed();

    assert!(matches!(next(&mut events).await.unwrap(), Event::Init));
    let Event::InitApply(initial) = next(&mut events).await.unwrap() else { panic!("expected the listed object") };
    assert_eq!(initial.metadata.name.as_deref(), Some("api"));
    assert_eq!(initial.types.as_ref().map(|t| t.kind.as_str()), Some("GitRepository"));
    assert!(revision(&initial).starts_with("main@sha1:"));
    assert!(matches!(next(&mut events).await.unwrap(), Event::InitDone));

    let newer = "main@sha1:0123456789abcdef0123456789abcdef01234567";
    recorder.update(GIT_API, |o| o["status"]["artifact"]["revision"] = newer.into()).expect("stored");
    let Event::Apply(changed) = next(&mut events).await.unwrap() else { panic!("expected the change") };
    assert_eq!(revision(&changed), newer);
    assert_eq!(changed.metadata.resource_version, Some(recorder.resource_version().to_string()));
    // A status change made by another writer does not bump generation.
    assert_eq!(changed.metadata.generation, Some(1));

    let requests = recorder.requests();
    let watch =
        requests.iter().find(|r| r.query.as_deref().is_some_and(|q| q.contains("watch=true"))).expect("a watch");
    assert_eq!(watch.path, "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories");
}

#[tokio::test]
async fn watch_across_namespaces_sees_inserts_and_deletes() {
    let (url, recorder) = KubeApi::start(vec![fixture("ocirepository-api.json")]).await;
    let api: Api<DynamicObject> = Api::all_with(kube_api::client(&url), &flux("OCIRepository", "ocirepositories"));
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.types.kind, "OCIRepositoryList");
    assert_eq!(list.metadata.resource_version, Some(recorder.resource_version().to_string()));
    assert_eq!(list.items.len(), 1);

    let mut events = kube::runtime::watcher(api, watcher::Config::default()).boxed();
    while !matches!(next(&mut events).await.unwrap(), Event::InitDone) {}
    let mut other = fixture("ocirepository-api.json");
    other["metadata"]["namespace"] = "team-a".into();
    other["metadata"].as_object_mut().unwrap().remove("uid");
    recorder.insert(other);
    let Event::Apply(added) = next(&mut events).await.unwrap() else { panic!("expected the insert") };
    assert_eq!(added.metadata.namespace.as_deref(), Some("team-a"));
    assert_ne!(added.metadata.uid, Some("7b1e4d92-0c3a-4f58-a6d2-91c8e5f3b720".into()));

    recorder.delete("/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories/api").expect("deleted");
    let Event::Delete(deleted) = next(&mut events).await.unwrap() else { panic!("expected the delete") };
    assert_eq!(deleted.metadata.namespace.as_deref(), Some("flux-system"));
    assert!(recorder.get("/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories/api").is_none());
}

#[tokio::test]
async fn watch_from_a_forgotten_version_is_expired() {
    let (url, recorder) = KubeApi::start(vec![fixture("gitrepository-api.json")]).await;
    let before = recorder.resource_version();
    recorder.update(GIT_API, |o| o["spec"]["interval"] = "5m0s".into()).expect("stored");
    recorder.compact();
    let api: Api<DynamicObject> =
        Api::namespaced_with(kube_api::client(&url), "flux-system", &flux("GitRepository", "gitrepositories"));
    let mut stream = api.watch(&WatchParams::default(), &before.to_string()).await.unwrap().boxed();
    let WatchEvent::Error(status) = next(&mut stream).await.unwrap() else { panic!("expected the 410 event") };
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert_eq!(status.message, format!("too old resource version: {before} ({})", before + 1));
}

#[tokio::test]
async fn apply_creates_then_status_apply_changes_only_status() {
    let (url, recorder) = KubeApi::start(vec![]).await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(kube_api::client(&url), "flux-system", &flux("ExternalArtifact", "externalartifacts"));
    let apply = PatchParams::apply("syncgate").force();
    let source_ref = json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "VerifiedSource", "name": "api"});
    let object = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                        "metadata": {"name": "api-verified", "namespace": "flux-system"},
                        "spec": {"sourceRef": source_ref}, "status": {"ignored": true}});
    let created = api.patch("api-verified", &apply, &Patch::Apply(&object)).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(created.data.get("status"), None, "status is not written through the object");
    assert_eq!(recorder.get(EA).unwrap()["spec"]["sourceRef"], source_ref);

    let mut status = fixture("externalartifact-api-verified.json");
    status.as_object_mut().unwrap().remove("spec");
    status["metadata"] = json!({"name": "api-verified", "namespace": "flux-system"});
    status["spec"] = json!({"sourceRef": {"name": "ignored"}});
    let with_status = api.patch_status("api-verified", &apply, &Patch::Apply(&status)).await.unwrap();
    assert_eq!(with_status.data["status"], fixture("externalartifact-api-verified.json")["status"]);
    assert_eq!(with_status.data["spec"]["sourceRef"], source_ref, "spec is not written through /status");
    assert_eq!(with_status.metadata.generation, Some(1));
    let version = with_status.metadata.resource_version.clone().unwrap();
    assert!(version > created.metadata.resource_version.clone().unwrap());

    // The same apply again stores nothing new (no resourceVersion, no watch event).
    let again = api.patch_status("api-verified", &apply, &Patch::Apply(&status)).await.unwrap();
    assert_eq!(again.metadata.resource_version, Some(version.clone()));

    let mut changed = object.clone();
    changed["spec"]["sourceRef"]["name"] = "api-2".into();
    let respecced = api.patch("api-verified", &apply, &Patch::Apply(&changed)).await.unwrap();
    assert_eq!(respecced.metadata.generation, Some(2));
    assert_eq!(respecced.data["status"], with_status.data["status"], "status survives a spec apply");

    let merged = api
        .patch_status("api-verified", &PatchParams::default(), &Patch::Merge(json!({"status": {"conditions": []}})))
        .await
        .unwrap();
    assert_eq!(merged.data["status"]["conditions"], json!([]));
    assert_eq!(merged.data["status"]["artifact"], with_status.data["status"]["artifact"]);
    assert_eq!(merged.metadata.generation, Some(2));

    assert_eq!(recorder.patches(EA).len(), 2);
    assert_eq!(recorder.patches(&format!("{EA}/status")).len(), 3);
    let first = recorder.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(first.content_type.as_deref(), Some("application/apply-patch+yaml"));
    let query = first.query.unwrap_or_default();
    assert!(query.contains("fieldManager=syncgate") && query.contains("force=true"), "{query}");
    let collection = EA.rsplit_once('/').unwrap().0;
    assert_eq!(recorder.list(collection).len(), 1);

    let missing = api.patch_status("gone", &apply, &Patch::Apply(&status)).await.unwrap_err();
    assert!(
        matches!(missing, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"),
        "status of a missing object"
    );
}

#[tokio::test]
async fn apply_without_field_manager_is_invalid() {
    let (url, recorder) = KubeApi::start(vec![fixture("externalartifact-api-verified.json")]).await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(kube_api::client(&url), "flux-system", &flux("ExternalArtifact", "externalartifacts"));
    let patch = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                       "metadata": {"name": "api-verified"}, "spec": {}});
    let err = api.patch("api-verified", &PatchParams::default(), &Patch::Apply(&patch)).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!("expected an API error: {err}") };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    assert_eq!(recorder.get(EA).unwrap()["metadata"]["generation"], 1);
}

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    }
}

#[tokio::test]
async fn lease_replace_from_a_stale_version_conflicts() {
    let (url, recorder) = KubeApi::start(vec![]).await;
    let leases: Api<Lease> = Api::namespaced(kube_api::client(&url), "flux-system");
    let created = leases.create(&PostParams::default(), &lease("syncgate", "pod-a")).await.unwrap();
    assert!(created.metadata.resource_version.is_some() && created.metadata.uid.is_some());
    assert_eq!(created.metadata.generation, None, "built-in kinds without generation");

    let err = leases.create(&PostParams::default(), &lease("syncgate", "pod-b")).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!("expected an API error: {err}") };
    assert_eq!((status.code, status.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(status.message, "leases.coordination.k8s.io \"syncgate\" already exists");

    let mut renewed = created.clone();
    renewed.spec.as_mut().unwrap().lease_transitions = Some(1);
    let renewed = leases.replace("syncgate", &PostParams::default(), &renewed).await.unwrap();
    assert_ne!(renewed.metadata.resource_version, created.metadata.resource_version);

    let mut stale = created.clone();
    stale.spec.as_mut().unwrap().holder_identity = Some("pod-b".into());
    let err = leases.replace("syncgate", &PostParams::default(), &stale).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!("expected an API error: {err}") };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"syncgate\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let path = "/apis/coordination.k8s.io/v1/namespaces/flux-system/leases/syncgate";
    assert_eq!(recorder.get(path).unwrap()["spec"]["holderIdentity"], "pod-a");

    // Answers can be forced per method, e.g. a transient failure of the renewal only.
    let forbidden = kube_api::forbidden("coordination.k8s.io", "leases", "syncgate", "flux-system", "system:anonymous");
    recorder.respond_to("PUT", path, 403, forbidden);
    let err = leases.replace("syncgate", &PostParams::default(), &renewed).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 403));
    assert!(leases.get("syncgate").await.is_ok());
    recorder.clear_responses();
    leases.replace("syncgate", &PostParams::default(), &renewed).await.unwrap();

    let err = leases.replace("other", &PostParams::default(), &lease("other", "pod-a")).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404), "replace of a missing lease");

    let listed = leases.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1, "items without apiVersion/kind still parse");
    let deleted = leases.delete("syncgate", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_right(), "built-in kinds answer a delete with a Status");
    assert!(recorder.get(path).is_none());
}

/// A kube-runtime controller mirroring each GitRepository's revision into an ExternalArtifact by
/// server-side apply, re-run by the watch when the revision changes.
#[tokio::test]
async fn controller_reconciles_on_watch_events() {
    let (url, recorder) = KubeApi::start(vec![fixture("gitrepository-api.json")]).await;
    let client = kube_api::client(&url);
    let repos: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "flux-system", &flux("GitRepository", "gitrepositories"));
    let artifacts: Api<DynamicObject> =
        Api::namespaced_with(client, "flux-system", &flux("ExternalArtifact", "externalartifacts"));
    let runs = Arc::new(AtomicUsize::new(0));
    let context = Arc::new((artifacts, Arc::clone(&runs)));
    let controller = Controller::new_with(repos, watcher::Config::default(), flux("GitRepository", "gitrepositories"))
        .run(
            |repo: Arc<DynamicObject>, context: Arc<(Api<DynamicObject>, Arc<AtomicUsize>)>| async move {
                context.1.fetch_add(1, Ordering::SeqCst);
                let name = format!("{}-verified", repo.metadata.name.as_deref().unwrap_or_default());
                let object = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                                    "metadata": {"name": name},
                                    "spec": {"sourceRef": {"kind": "GitRepository", "name": repo.metadata.name}}});
                context.0.patch(&name, &PatchParams::apply("syncgate"), &Patch::Apply(&object)).await?;
                let status = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                                    "metadata": {"name": name},
                                    "status": {"artifact": {"revision": revision(&repo)}}});
                context.0.patch_status(&name, &PatchParams::apply("syncgate"), &Patch::Apply(&status)).await?;
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_, _, _| Action::requeue(Duration::from_secs(60)),
            context,
        )
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    let first = fixture("gitrepository-api.json")["status"]["artifact"]["revision"].clone();
    assert!(
        recorder.wait_until(WAIT, |r| r.get(EA).is_some_and(|ea| ea["status"]["artifact"]["revision"] == first)).await
    );
    let newer = "main@sha1:89abcdef0123456789abcdef0123456789abcdef";
    recorder.update(GIT_API, |o| o["status"]["artifact"]["revision"] = newer.into()).expect("stored");
    assert!(
        recorder.wait_until(WAIT, |r| r.get(EA).is_some_and(|ea| ea["status"]["artifact"]["revision"] == newer)).await
    );
    assert_eq!(recorder.get(EA).unwrap()["metadata"]["generation"], 1);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    controller.abort();
}

#[tokio::test]
async fn streaming_list_watcher_ends_the_initial_events_with_a_bookmark() {
    let (url, recorder) = KubeApi::start(vec![fixture("gitrepository-api.json")]).await;
    let api: Api<DynamicObject> = Api::all_with(kube_api::client(&url), &flux("GitRepository", "gitrepositories"));
    let mut events = kube::runtime::watcher(api, watcher::Config::default().streaming_lists()).boxed();
    assert!(matches!(next(&mut events).await.unwrap(), Event::Init));
    assert!(
        matches!(next(&mut events).await.unwrap(), Event::InitApply(repo) if repo.metadata.name.as_deref() == Some("api"))
    );
    assert!(matches!(next(&mut events).await.unwrap(), Event::InitDone));
    recorder.update(GIT_API, |o| o["spec"]["ref"]["branch"] = "release".into()).expect("stored");
    let Event::Apply(changed) = next(&mut events).await.unwrap() else { panic!("expected the change") };
    assert_eq!(changed.metadata.generation, Some(2), "a spec change bumps generation");
    assert!(recorder.requests().iter().all(|r| r.query.as_deref().is_some_and(|q| q.contains("watch=true"))));
}
