//! `examples/argocd/` end to end: the example is copied, its registry address (`127.0.0.1:5000`)
//! replaced by the test registry's, `acme/api:1.4` pushed and signed with a fresh key written to
//! `keys/cosign.pub`, `acme/unsigned:1.0` pushed unsigned, and each app generated exactly as
//! argocd-cmp-server runs the plugin (cwd = app directory, CMP environment, `syncgate generate`).

use std::path::{Path, PathBuf};

use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::registry::Registry as Pusher;

use crate::common::{Run, root, run, syncgate};
use crate::support::registry::TestRegistry;

/// The example, copied and pointed at a live registry with signed and unsigned images.
pub(crate) struct Example {
    pub(crate) registry: TestRegistry,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) home: tempfile::TempDir,
    pub(crate) signed: String,
}

impl Example {
    pub(crate) fn new() -> Example {
        Example::of("examples/argocd")
    }

    /// The example directory `path` (relative to the repository), set up the same way: its
    /// `keys/cosign.pub` signs `acme/api:1.4`.
    pub(crate) fn of(path: &str) -> Example {
        let registry = TestRegistry::start();
        let host = registry.host();
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&root().join(path), dir.path(), &host);
        let key = KeyPair::generate(Algorithm::EcdsaP256).expect("key");
        std::fs::create_dir_all(dir.path().join("keys")).expect("keys dir");
        std::fs::write(dir.path().join("keys/cosign.pub"), key.public_pem()).expect("public key");
        let pusher = Pusher::new(&format!("http://{host}"));
        let api = pusher.push_image("acme/api", "1.4", &[("api", b"api 1.4\n")]).expect("push api");
        let payload =
            syncgate_testsign::cosign::simple_signing_payload(&pusher.docker_reference("acme/api"), &api.digest);
        let signature = key.sign(&payload).expect("sign");
        let layer = syncgate_testsign::cosign::SignatureLayer::new(payload, &signature);
        pusher.push_signatures("acme/api", &api.digest, &[layer]).expect("push signature");
        pusher.push_image("acme/unsigned", "1.0", &[("worker", b"worker 1.0\n")]).expect("push unsigned");
        Example { registry, dir, home: tempfile::tempdir().expect("temp dir"), signed: api.digest }
    }

    pub(crate) fn app(&self, name: &str) -> PathBuf {
        self.dir.path().join("apps").join(name)
    }

    /// `syncgate generate` in `apps/<name>` with team-a's CMP environment plus `env`.
    pub(crate) fn generate(&self, name: &str, env: &[(&str, &str)]) -> Run {
        let mut command = syncgate(self.home.path());
        command
            .current_dir(self.app(name))
            .arg("generate")
            .env("ARGOCD_APP_NAME", name)
            .env("ARGOCD_APP_NAMESPACE", "team-a")
            .env("ARGOCD_APP_PROJECT_NAME", "team-a")
            .env("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/acme/team-a-apps")
            .env("ARGOCD_APP_SOURCE_PATH", format!("examples/argocd/apps/{name}"))
            .env("ARGOCD_APP_REVISION", "5a1d3e4b2c7f8091a2b3c4d5e6f708192a3b4c5d")
            .env("ARGOCD_ENV_POLICY", "default")
            .env("SYNCGATE_POLICY_DIR", self.dir.path().join("policies"))
            .env("SYNCGATE_INSECURE_REGISTRIES", self.registry.host());
        for (key, value) in env {
            command.env(key, value);
        }
        run(&mut command)
    }
}

/// Copies `from` into `to`, replacing the example registry address in every text file.
pub(crate) fn copy_tree(from: &Path, to: &Path, host: &str) {
    for entry in std::fs::read_dir(from).expect("example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("dir");
            copy_tree(&entry.path(), &target, host);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("text file");
            std::fs::write(&target, text.replace("127.0.0.1:5000", host)).expect("copy");
        }
    }
}

fn has_kubectl() -> bool {
    std::process::Command::new("kubectl").args(["version", "--client"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_allowed_app_syncs_with_its_image_pinned_to_the_signed_digest() {
    if !has_kubectl() {
        eprintln!("skipped: kubectl not found (apps/allowed is a kustomize app)");
        return;
    }
    let example = Example::new();
    let out = example.generate("allowed", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pinned = format!("{}/acme/api:1.4@{}", example.registry.host(), example.signed);
    assert!(out.stdout.contains(&format!("image: {pinned}")), "{}", out.stdout);
    assert!(out.stdout.contains("kind: Service"), "{}", out.stdout);
}

#[test]
fn the_unsigned_app_is_denied_by_image_signature() {
    let example = Example::new();
    let out = example.generate("unsigned", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("syncgate denied 1 of 2 resources:\nDeployment team-a/worker container worker: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[image-signature at spec.template.spec.containers[0].image]"), "{}", out.stderr);
}

#[test]
fn the_privileged_app_is_denied_by_disallow_privileged() {
    let example = Example::new();
    let out = example.generate("privileged", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("[disallow-privileged at spec.template.spec.containers[0].securityContext.privileged]")
    );
    assert!(!out.stderr.contains("image-signature"), "the image is signed: {}", out.stderr);
}

#[test]
fn the_cross_namespace_app_is_denied_by_the_project_for_the_service_and_the_cluster_role() {
    let example = Example::new();
    let projects = example.dir.path().join("projects/team-a.yaml");
    let out = example.generate("cross-namespace", &[("SYNCGATE_PROJECTS", projects.to_str().expect("utf-8"))]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("syncgate denied 2 of 3 resources:\n"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Service team-b/api: namespace \"team-b\" is not an allowed destination of AppProject team-a"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ClusterRole team-a-node-reader: resource rbac.authorization.k8s.io:ClusterRole is not permitted in AppProject team-a"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Deployment team-a/api"), "the workload itself passes: {}", out.stderr);
    crate::generate::assert_golden("argocd_example_cross_namespace", &out.stderr);
}

#[test]
fn the_same_app_is_denied_by_the_equivalent_tenant_without_argo_cd() {
    let example = Example::new();
    let policies = example.dir.path().join("policies/default");
    std::fs::copy(example.dir.path().join("projects/team-a-tenant.yaml"), policies.join("tenant.yaml")).expect("copy");
    let mut command = syncgate(example.home.path());
    command
        .arg("check")
        .arg(example.app("cross-namespace"))
        .args(["--policy", policies.to_str().expect("utf-8"), "--tenant", "team-a", "-n", "team-a", "-o", "json"])
        .args(["--source-repo", "https://github.com/acme/other", "--insecure-registry", &example.registry.host()]);
    let out = run(&mut command);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json report");
    let failed: Vec<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                format!("{}/{}", f["resource"]["kind"].as_str().unwrap(), f["resource"]["name"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("project-destination".to_owned(), "Service/api".to_owned()),
            ("project-cluster-resource".to_owned(), "ClusterRole/team-a-node-reader".to_owned()),
            ("project-source-repo".to_owned(), "Source/https://github.com/acme/other".to_owned()),
        ]
    );
}

/// The CMP environment of `apps/<name>` as `NAME=VALUE` entries for the Python client.
fn cmp_env(name: &str) -> Vec<String> {
    [
        ("ARGOCD_APP_NAME", name.to_owned()),
        ("ARGOCD_APP_NAMESPACE", "team-a".to_owned()),
        ("ARGOCD_APP_PROJECT_NAME", "team-a".to_owned()),
        ("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/acme/team-a-apps".to_owned()),
        ("ARGOCD_ENV_POLICY", "default".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| format!("{k}={v}"))
    .collect()
}

/// A denied sync reads the same everywhere it surfaces: `syncgate generate`'s stderr (what Argo CD's
/// stock CMP server puts in the Application condition), the native CMP protocol's error (exercised by
/// the Python grpcio client), and the syncgate.v1 API's message; the API's JSON report is byte for
/// byte `syncgate check -o json` of the same stream and scope. Golden files pin the message and the
/// report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_sync_reads_the_same_in_generate_the_cmp_protocol_the_api_and_the_json_report() {
    use syncgate::server::proto::syncgate::v1::{Context, EvaluateRequest};

    use crate::support::daemon::{Daemon, python_cmp_client};
    let example = Example::new();
    let projects = example.dir.path().join("projects/team-a.yaml");
    let projects = projects.to_str().expect("utf-8");
    let policy_dir = example.dir.path().join("policies");
    let host = example.registry.host();

    // 1. The plugin command, run by argocd-cmp-server.
    let generated = example.generate("cross-namespace", &[("SYNCGATE_PROJECTS", projects)]);
    assert_eq!(generated.code, 1, "{}", generated.stderr);
    let message = generated.stderr.trim_end().to_owned();

    // 2. The daemon speaking Argo CD's CMP protocol to a grpcio client.
    let daemon = Daemon::start(
        &["--policy-dir", policy_dir.to_str().expect("utf-8"), "--insecure-registry", &host, "--projects", projects],
        &[],
    );
    let result =
        python_cmp_client(&daemon, example.dir.path(), "apps/cross-namespace", &cmp_env("cross-namespace"), &[]);
    assert_eq!(result["generate"]["code"], "UNKNOWN", "{result:#}");
    assert_eq!(result["generate"]["details"].as_str().expect("details"), message, "CMP protocol vs generate");

    // 3. The syncgate.v1 API on the rendered stream, and `syncgate check -o json` on the same.
    let rendered = std::fs::read_to_string(example.app("cross-namespace").join("api.yaml")).expect("manifests");
    let context = Context {
        policy_set: "default".into(),
        namespace: "team-a".into(),
        project: "team-a".into(),
        repo_url: "https://github.com/acme/team-a-apps".into(),
        ..Context::default()
    };
    let request = EvaluateRequest { manifests: rendered.clone().into_bytes(), context: Some(context) };
    let response = daemon.api().await.evaluate(request).await.expect("evaluate").into_inner();
    assert_eq!(response.decision, "deny");
    assert_eq!(response.message, message, "syncgate.v1 vs generate");
    let mut check = syncgate(example.home.path());
    check
        .args(["check", "-", "-o", "json", "-n", "team-a", "--insecure-registry", &host])
        .args(["--policy", policy_dir.join("default").to_str().expect("utf-8")])
        .args(["--project", "team-a", "--projects", projects])
        .args(["--source-repo", "https://github.com/acme/team-a-apps"])
        .write_stdin(rendered);
    let check = run(&mut check);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_eq!(response.report_json, check.stdout, "syncgate.v1 report vs syncgate check -o json");
    let report: serde_json::Value = serde_json::from_str(&check.stdout).expect("JSON report");
    for finding in report["findings"].as_array().expect("findings").iter().filter(|f| f["status"] == "fail") {
        let text = finding["message"].as_str().expect("message");
        assert!(message.contains(text), "the message lists every violation: {text}\n{message}");
    }
    crate::generate::assert_golden("argocd_denied_message", &message);
    crate::generate::assert_golden("argocd_denied_report_json", &check.stdout);
}

/// `syncgate generate` as on Argo CD 2.x (no `ARGOCD_APP_PROJECT_NAME`), reading the Application and
/// its AppProject from a fake Kubernetes API (exact JSON shapes, found through KUBECONFIG as in a
/// real sidecar's kubeconfig), and posting the denial as an Event on the Application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_from_the_cluster_deny_the_cross_namespace_app_and_post_an_event() {
    use crate::support::kube_api::KubeApi;
    let example = Example::new();
    let project_yaml = std::fs::read_to_string(example.dir.path().join("projects/team-a.yaml")).expect("project");
    let mut project: serde_json::Value = serde_saphyr::from_str(&project_yaml).expect("project YAML");
    project["metadata"]["uid"] = "6f1c2f7e-3b1a-4d0e-9f2a-2c4d5e6f7a8b".into();
    project["metadata"]["resourceVersion"] = "48121".into();
    project["metadata"]["generation"] = 3.into();
    project["metadata"]["creationTimestamp"] = "2026-01-10T08:00:00Z".into();
    project["status"] = serde_json::json!({});
    let application = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "cross-namespace", "namespace": "argocd", "uid": "0c6e0b8a-1d2f-4e3a-8b5c-7d9e1f2a3b4c",
                     "resourceVersion": "91230", "generation": 7, "creationTimestamp": "2026-01-12T09:41:02Z"},
        "spec": {
            "project": "team-a",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "team-a"},
            "source": {"repoURL": "https://github.com/acme/team-a-apps", "path": "examples/argocd/apps/cross-namespace",
                       "targetRevision": "main", "plugin": {"name": "syncgate-v1"}}
        },
        "status": {"sync": {"status": "Unknown"}, "health": {"status": "Healthy"}}
    });
    let (url, recorder) = KubeApi::start(vec![project, application]).await;
    let kubeconfig = example.dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\nusers: [{{name: syncgate, user: {{token: test}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: syncgate, namespace: argocd}}}}]\ncurrent-context: fake\n"
        ),
    )
    .expect("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let mut env = vec![
            ("KUBECONFIG", kubeconfig.as_str()),
            ("SYNCGATE_PROJECTS_FROM_CLUSTER", "true"),
            ("SYNCGATE_EVENTS", "true"),
            ("ARGOCD_APP_PROJECT_NAME", ""),
        ];
        env.push(("SYNCGATE_ARGOCD_NAMESPACE", "argocd"));
        example.generate("cross-namespace", &env)
    })
    .await
    .expect("generate");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("syncgate denied 2 of 3 resources:\n"), "{}", out.stderr);
    let expected = "Service team-b/api: namespace \"team-b\" on server https://kubernetes.default.svc is not an allowed destination of AppProject team-a";
    assert!(out.stderr.contains(expected), "{}", out.stderr);
    let paths: Vec<(String, String)> = recorder.requests().into_iter().map(|r| (r.method, r.path)).collect();
    for expected in [
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/cross-namespace"),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team-a"),
        ("POST", "/api/v1/namespaces/argocd/events"),
    ] {
        assert!(paths.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} not in {paths:?}");
    }
    let event = recorder.requests().into_iter().find(|r| r.method == "POST").and_then(|r| r.body).expect("event body");
    assert_eq!(event["reason"], "SyncgateDenied");
    assert_eq!(event["involvedObject"]["name"], "cross-namespace");
    // The same message, cut at 1 KiB (the limit events.k8s.io documents) with a marker.
    let sent = event["message"].as_str().expect("message");
    let kept = sent.strip_suffix("… [truncated]").expect("a long message is marked as truncated");
    assert!(out.stderr.starts_with(kept) && sent.len() <= 1024, "{sent}");
}
