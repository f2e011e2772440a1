//! Tenancy against a fake Kubernetes API serving the exact JSON shapes of the real one: AppProjects
//! fetched and checked, the cache, failures that say what was asked, Applications, denial Events.
//!
//! Exercised: the kube client's requests and the API server's answers as recorded shapes. Not
//! exercised: a real API server's authentication, RBAC evaluation and watch semantics.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use syncgate::project::{ClusterProjects, Destination, Events, Projects, RULE_DESTINATION, Subject};

use crate::common::root;
use crate::support::kube_api::{self, KubeApi};

const TEAM_A: &str = "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team-a";
const PAYMENTS: &str = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/payments";
const EVENTS: &str = "/api/v1/namespaces/argocd/events";

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures/kube").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

async fn fake() -> (String, kube_api::Recorder) {
    KubeApi::start(vec![fixture("appproject-team-a.json"), fixture("application-payments.json")]).await
}

fn deployment(namespace: &str) -> Subject<'_> {
    Subject {
        api_version: "apps/v1",
        kind: "Deployment",
        name: "api",
        namespace: Some(namespace),
        cluster_scoped: false,
    }
}

#[tokio::test]
async fn app_project_is_fetched_and_checked() {
    let (url, recorder) = fake().await;
    let projects = Projects::cluster(kube_api::client(&url), "argocd");
    let scope = projects.scope("team-a").await.unwrap();
    assert_eq!((scope.kind(), scope.name()), ("AppProject", "team-a"));

    let destination = Destination { namespace: "team-a-payments".into(), ..Destination::default() };
    assert_eq!(scope.check_source("https://github.com/acme/team-a-payments.git"), None);
    assert!(scope.check_source("https://github.com/acme/other").is_some());
    assert!(scope.check_resource(&deployment("team-a-web"), &destination).is_empty());
    let denials = scope.check_resource(&deployment("team-a-system"), &destination);
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0].rule, RULE_DESTINATION);
    assert!(denials[0].message.contains("denied by entry `*:!team-a-system`"), "{}", denials[0].message);

    let requests = recorder.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("GET", TEAM_A));
}

#[tokio::test]
async fn lookups_within_the_ttl_hit_the_cache() {
    let (url, recorder) = fake().await;
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd");
    let first = projects.scope("team-a").await.unwrap();
    let second = projects.scope("team-a").await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(recorder.count("GET", TEAM_A), 1);
}

#[tokio::test]
async fn concurrent_lookups_share_one_request() {
    let (url, recorder) = fake().await;
    recorder.set_delay(Duration::from_millis(200));
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd");
    let lookups = (0..8).map(|_| projects.scope("team-a"));
    let scopes = futures::future::join_all(lookups).await;
    assert!(scopes.iter().all(Result::is_ok));
    assert_eq!(recorder.count("GET", TEAM_A), 1);
}

#[tokio::test]
async fn lookups_after_the_ttl_fetch_again() {
    let (url, recorder) = fake().await;
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd").with_ttl(Duration::from_millis(50));
    projects.scope("team-a").await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    projects.scope("team-a").await.unwrap();
    assert_eq!(recorder.count("GET", TEAM_A), 2);
}

#[tokio::test]
async fn missing_app_project_is_a_not_found_error() {
    let (url, recorder) = fake().await;
    let projects = Projects::cluster(kube_api::client(&url), "argocd");
    let err = projects.scope("team-x").await.unwrap_err().to_string();
    assert_eq!(
        err,
        "AppProject \"team-x\" not found in namespace argocd (Kubernetes API: appprojects.argoproj.io \"team-x\" not found)"
    );
    // Failures are not cached: the next lookup asks again.
    let _ = projects.scope("team-x").await;
    assert_eq!(recorder.count("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team-x"), 2);
}

#[tokio::test]
async fn forbidden_lookup_says_which_permission_is_missing() {
    let (url, recorder) = fake().await;
    recorder.respond(
        TEAM_A,
        403,
        kube_api::forbidden(
            "argoproj.io",
            "appprojects",
            "team-a",
            "argocd",
            "system:serviceaccount:argocd:argocd-repo-server",
        ),
    );
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd");
    let err = projects.scope("team-a").await.unwrap_err().to_string();
    assert!(
        err.starts_with(
            "cannot read AppProject \"team-a\" in namespace argocd from the Kubernetes API: 403 Forbidden: "
        ),
        "{err}"
    );
    assert!(
        err.ends_with("syncgate's service account needs get on appprojects.argoproj.io in namespace argocd"),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_api_is_an_error_naming_the_request() {
    let port = crate::support::free_port();
    let projects = ClusterProjects::new(kube_api::client(&format!("http://127.0.0.1:{port}")), "argocd");
    let err = projects.scope("team-a").await.unwrap_err().to_string();
    assert!(
        err.starts_with("cannot read AppProject \"team-a\" in namespace argocd from the Kubernetes API: cannot reach the API server: "),
        "{err}"
    );
    assert!(err.ends_with("Connection refused (os error 111)"), "{err}");
}

#[tokio::test]
async fn slow_api_times_out() {
    let (url, recorder) = fake().await;
    recorder.set_delay(Duration::from_secs(5));
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd").with_timeout(Duration::from_millis(100));
    let err = projects.scope("team-a").await.unwrap_err().to_string();
    assert_eq!(
        err,
        "cannot read AppProject \"team-a\" in namespace argocd from the Kubernetes API: no answer within 0.1s"
    );
}

#[tokio::test]
async fn application_fills_what_the_plugin_environment_lacks() {
    let (url, _recorder) = fake().await;
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd");
    let (namespace, name) = syncgate::project::split_app_name("payments", projects.namespace());
    let app = projects.application(namespace, name).await.unwrap();
    assert_eq!(app.project, "team-a");
    assert_eq!(app.uid.as_deref(), Some("0b8e6a43-5f0c-4c1e-a7c2-93d1f6e2b7a5"));
    assert_eq!(
        app.destination,
        Destination {
            server: Some("https://kubernetes.default.svc".into()),
            name: None,
            namespace: "team-a-payments".into()
        }
    );
    assert_eq!(app.repo_urls, ["https://github.com/acme/team-a-payments.git"]);

    let err = projects.application("argocd", "gone").await.unwrap_err().to_string();
    assert_eq!(
        err,
        "Application \"gone\" not found in namespace argocd (Kubernetes API: applications.argoproj.io \"gone\" not found)"
    );
}

#[tokio::test]
async fn application_with_several_sources_and_no_project() {
    let mut app = fixture("application-payments.json");
    app["metadata"]["name"] = "multi".into();
    app["metadata"]["namespace"] = "team-a".into();
    app["spec"]["project"] = "".into();
    app["spec"].as_object_mut().unwrap().remove("source");
    app["spec"]["sources"] = serde_json::json!([{"repoURL": "https://github.com/acme/a.git"}, {"repoURL": "https://charts.acme.io", "chart": "x"}]);
    app["spec"]["destination"] = serde_json::json!({"name": "prod-eu", "namespace": "team-a"});
    let (url, _recorder) = KubeApi::start(vec![app]).await;
    let projects = ClusterProjects::new(kube_api::client(&url), "argocd");
    let (namespace, name) = syncgate::project::split_app_name("team-a_multi", "argocd");
    let app = projects.application(namespace, name).await.unwrap();
    assert_eq!(app.project, "default");
    assert_eq!(app.repo_urls, ["https://github.com/acme/a.git", "https://charts.acme.io"]);
    assert_eq!(app.destination.server, None);
    assert_eq!(app.destination.name.as_deref(), Some("prod-eu"));
}

#[tokio::test]
async fn denial_event_is_posted_on_the_application() {
    let (url, recorder) = fake().await;
    let events = Events::new(kube_api::client(&url));
    let message = format!("Deployment team-a-system/api: {}", "x".repeat(2000));
    events.application_denied("argocd", "payments", &message).await;

    // The Application is read for its uid (Argo CD's UI lists events by uid), then the event posted.
    let requests: Vec<_> = recorder.requests().into_iter().map(|r| (r.method, r.path, r.query)).collect();
    assert_eq!(
        requests,
        [("GET".to_owned(), PAYMENTS.to_owned(), None), ("POST".to_owned(), EVENTS.to_owned(), Some(String::new()))]
    );
    let posts: Vec<_> = recorder.requests().into_iter().filter(|r| r.method == "POST").collect();
    let body = posts[0].body.clone().expect("JSON body");
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["kind"], "Event");
    assert_eq!(body["metadata"]["namespace"], "argocd");
    assert!(body["metadata"]["name"].as_str().unwrap().starts_with("payments."));
    assert_eq!(
        body["involvedObject"],
        serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "name": "payments",
                           "namespace": "argocd", "uid": "0b8e6a43-5f0c-4c1e-a7c2-93d1f6e2b7a5"})
    );
    assert_eq!(body["type"], "Warning");
    assert_eq!(body["reason"], "SyncgateDenied");
    assert_eq!(body["source"], serde_json::json!({"component": "syncgate"}));
    assert_eq!(body["reportingComponent"], "syncgate");
    assert_eq!(body["count"], 1);
    assert!(body["firstTimestamp"].is_string() && body["firstTimestamp"] == body["lastTimestamp"]);
    let sent = body["message"].as_str().unwrap();
    assert!(sent.len() <= 1024, "{}", sent.len());
    assert!(sent.starts_with("Deployment team-a-system/api: xxx"));
    assert!(sent.ends_with("… [truncated]"));
}

#[tokio::test]
async fn event_failures_are_not_fatal() {
    let port = crate::support::free_port();
    let events = Events::new(kube_api::client(&format!("http://127.0.0.1:{port}")));
    events.application_denied("argocd", "payments", "denied").await;

    let (url, recorder) = fake().await;
    recorder.respond(EVENTS, 403, kube_api::forbidden("", "events", "", "argocd", "system:serviceaccount:argocd:x"));
    Events::new(kube_api::client(&url)).application_denied("argocd", "payments", "denied").await;
    assert_eq!(recorder.count("POST", EVENTS), 1);
}
