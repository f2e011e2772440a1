//! `syncgate serve` as a real process: Argo CD's CMP protocol spoken by a client that is not ours
//! (Python grpcio, stubs generated from the same proto files), syncgate.v1 over tonic with the
//! report checked against `syncgate check -o json`, policy hot reload, metrics, health, graceful
//! shutdown, and `syncgate generate` handing its rendered manifests to the daemon.

use std::path::Path;
use std::time::{Duration, Instant};

use sha2::Digest as _;
use syncgate::server::proto::plugin::app_stream_request::Request as Message;
use syncgate::server::proto::plugin::{AppStreamRequest, EnvEntry, File, ManifestRequestMetadata};
use syncgate::server::proto::syncgate::v1::{Context, EvaluateRequest, EvaluateResponse, VerifyImageRequest};

use crate::common::{Run, root, run, syncgate, write};
use crate::support::daemon::Daemon;

/// Denies privileged containers; missing resource requests are only reported (a warning).
const POLICY: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: gate}
spec:
  rules:
    disallow-privileged: enforce
    require-resource-requests: report
";

fn deployment(name: &str, privileged: bool) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: {name}
          image: nginx:1.27
          securityContext:
            privileged: {privileged}
"
    )
}

/// A daemon over `POLICY` (offline), the policy file in `dir`.
fn daemon_with_policy(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let policy = write(dir, "policy.yaml", POLICY);
    let mut args = vec!["--offline", "-p", policy.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    Daemon::start(&args, env)
}

/// A repository with `apps/web/deploy.yaml`.
fn repository(dir: &Path, privileged: bool) -> std::path::PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("apps/web")).expect("create the app directory");
    write(&repo.join("apps/web"), "deploy.yaml", &deployment("web", privileged));
    write(&repo, "README.md", "not a manifest\n");
    repo
}

/// `tests/python/cmp_client.py` against the daemon's CMP socket, for `apps/web` of `repo`.
fn python_client(daemon: &Daemon, repo: &Path, extra: &[&str]) -> serde_json::Value {
    let env = ["ARGOCD_APP_NAME=web", "ARGOCD_APP_NAMESPACE=shop", "ARGOCD_APP_PROJECT_NAME=team-a"].map(str::to_owned);
    crate::support::daemon::python_cmp_client(daemon, repo, "apps/web", &env, extra)
}

#[test]
fn python_grpc_client_gets_the_manifests_of_an_allowed_app() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let result = python_client(&daemon, &repository(dir.path(), false), &[]);
    assert_eq!(result["check"]["response"]["isDiscoveryConfigured"], false, "{result:#}");
    assert_eq!(result["check"]["response"]["provideGitCreds"], false, "{result:#}");
    assert_eq!(result["match"]["response"]["isSupported"], true, "{result:#}");
    assert_eq!(result["parameters"]["response"]["parameterAnnouncements"][0]["name"], "policy", "{result:#}");
    assert_eq!(result["generate"]["ok"], true, "{result:#}");
    let manifests = result["generate"]["response"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 1, "{result:#}");
    let document: serde_json::Value = serde_json::from_str(manifests[0].as_str().unwrap()).unwrap();
    assert_eq!(document["kind"], "Deployment");
    assert_eq!(document["metadata"]["name"], "web");
    // The report-mode finding travels with the manifest, as `generate` annotates it.
    let warnings = document["metadata"]["annotations"]["syncgate.dev/warnings"].as_str().unwrap_or_default();
    assert!(warnings.starts_with("require-resource-requests: "), "{document:#}");
    let logs = daemon.logs();
    let line = logs.lines().find(|l| l.contains("\"rpc\":\"GenerateManifest\"")).expect("a request log line");
    let line: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(line["app"], "web");
    assert_eq!(line["project"], "team-a");
    assert_eq!(line["namespace"], "shop");
    assert_eq!(line["decision"], "allow");
    assert_eq!(line["warn"], 1);
    assert!(line["duration_ms"].is_u64(), "{line}");
}

#[test]
fn python_grpc_client_sees_a_denial_as_unknown_with_the_syncgate_message() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let result = python_client(&daemon, &repository(dir.path(), true), &[]);
    let generate = &result["generate"];
    assert_eq!(generate["ok"], false, "{result:#}");
    assert_eq!(generate["code"], "UNKNOWN", "{result:#}");
    let details = generate["details"].as_str().unwrap();
    assert!(details.starts_with("syncgate denied 1 of 1 resources:\nDeployment shop/web container web:"), "{details}");
    assert!(details.contains("[disallow-privileged at spec.template.spec.containers[0].securityContext.privileged]"));
    assert!(details.contains("\n  fix: remove securityContext.privileged"), "{details}");
}

#[test]
fn python_grpc_client_with_a_wrong_checksum_gets_a_checksum_error() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let result = python_client(&daemon, &repository(dir.path(), false), &["--bad-checksum"]);
    let generate = &result["generate"];
    assert_eq!(generate["ok"], false, "{result:#}");
    assert_eq!(generate["code"], "INVALID_ARGUMENT", "{result:#}");
    assert!(generate["details"].as_str().unwrap().contains("file checksum validation error"), "{result:#}");
}

#[test]
fn python_grpc_client_with_a_path_traversal_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let result = python_client(&daemon, &repository(dir.path(), false), &["--traversal"]);
    let generate = &result["generate"];
    assert_eq!(generate["ok"], false, "{result:#}");
    assert_eq!(generate["code"], "INVALID_ARGUMENT", "{result:#}");
    let details = generate["details"].as_str().unwrap();
    assert!(details.contains("\"../escape.yaml\" points outside the application directory"), "{details}");
    // Nothing was written outside the request's directory, and that directory is gone.
    let started = Instant::now();
    while std::fs::read_dir(&daemon.work_dir).unwrap().next().is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "work dir not cleaned up");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!daemon.dir.path().join("escape.yaml").exists());
    assert!(!daemon.work_dir.join("escape.yaml").exists());
}

/// `syncgate check - -o json --offline -p examples/quickstart/policies` on `input`.
fn check_json(input: &str) -> Run {
    let home = tempfile::tempdir().expect("temp dir");
    run(syncgate(home.path())
        .args(["check", "-", "-o", "json", "--offline", "-p", "examples/quickstart/policies"])
        .write_stdin(input.to_owned()))
}

async fn evaluate(daemon: &Daemon, manifests: &str, context: Context) -> Result<EvaluateResponse, tonic::Status> {
    let request = EvaluateRequest { manifests: manifests.as_bytes().to_vec(), context: Some(context) };
    daemon.api().await.evaluate(request).await.map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_reports_exactly_what_check_prints() {
    let daemon = Daemon::start(&["--offline", "-p", "examples/quickstart/policies"], &[]);
    let shop = std::fs::read_to_string(root().join("examples/quickstart/rendered/shop.yaml")).unwrap();
    let allowed = shop.split("---\n# Someone").next().unwrap().to_owned();
    for (input, decision, documents, code) in [(&shop, "deny", 0, 1), (&allowed, "allow", 2, 0)] {
        let response = evaluate(&daemon, input, Context::default()).await.unwrap();
        assert_eq!(response.decision, decision);
        assert_eq!(response.manifests.len(), documents);
        assert_eq!(response.policy_set, "default");
        let check = check_json(input);
        assert_eq!(check.code, code, "{}", check.stderr);
        assert_eq!(response.report_json, check.stdout, "the daemon's report differs from syncgate check's");
        let report: serde_json::Value = serde_json::from_str(&response.report_json).unwrap();
        assert_eq!(report["decision"], decision);
        if decision == "deny" {
            assert!(response.message.starts_with("syncgate denied 1 of 3 resources:"), "{}", response.message);
        } else {
            let first: serde_json::Value = serde_json::from_str(&response.manifests[0]).unwrap();
            assert_eq!(first["kind"], "Service");
            assert!(response.message.starts_with("syncgate allowed 2 resources"), "{}", response.message);
        }
    }
    let status = evaluate(&daemon, "kind: [unclosed", Context::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let unknown = Context { policy_set: "nope".into(), ..Context::default() };
    let status = evaluate(&daemon, &allowed, unknown).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert!(status.message().contains("unknown policy set \"nope\" (available: default)"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_image_offline_is_an_error_naming_the_reason_also_over_tcp() {
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let daemon = Daemon::start(&["--offline", "-p", "examples/quickstart/policies", "--listen", &listen], &[]);
    let tcp = tonic::transport::Endpoint::try_from(format!("http://{listen}")).unwrap().connect().await.unwrap();
    let mut over_tcp = syncgate::server::proto::syncgate::v1::gate_client::GateClient::new(tcp);
    let request = VerifyImageRequest { image: "ghcr.io/acme/api:1.4.2".into(), policy_set: String::new() };
    let status = over_tcp.verify_image(request.clone()).await.unwrap_err();
    assert!(status.message().contains("runs offline and cannot resolve images"), "{status:?}");
    let status = daemon.api().await.verify_image(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("runs offline and cannot resolve images"), "{status:?}");
    let request = VerifyImageRequest { image: "Not A Reference".into(), policy_set: String::new() };
    let status = daemon.api().await.verify_image(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_image_and_evaluate_against_a_real_registry_with_signed_images() {
    let (world, signed, unsigned) = crate::signatures::cli::signed_world();
    let host = world.registry.host();
    let policy = world.policy_path();
    let daemon = Daemon::start(&["--insecure-registry", &host, "-p", policy.to_str().unwrap()], &[]);
    let image = |tag: &str| format!("{host}/{}:{tag}", crate::signatures::REPO);
    let verify = |tag: &str| {
        let request = VerifyImageRequest { image: image(tag), policy_set: String::new() };
        async { daemon.api().await.verify_image(request).await.unwrap().into_inner() }
    };
    let answer = verify("1.4.0").await;
    assert!(answer.verified, "{}", answer.evidence_json);
    let evidence: serde_json::Value = serde_json::from_str(&answer.evidence_json).unwrap();
    assert_eq!(evidence["digest"], signed.as_str());
    assert_eq!(evidence["results"][0]["verified"], true, "{evidence:#}");
    let answer = verify("1.5.0-rc").await;
    assert!(!answer.verified, "{}", answer.evidence_json);
    let evidence: serde_json::Value = serde_json::from_str(&answer.evidence_json).unwrap();
    assert_eq!(evidence["digest"], unsigned.as_str());

    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: api, namespace: shop}}\nspec:\n  containers: [{{name: api, image: \"{}\"}}]\n",
        image("1.4.0")
    );
    let response = evaluate(&daemon, &manifest, Context::default()).await.unwrap();
    assert_eq!(response.decision, "allow", "{}", response.message);
    assert!(response.manifests[0].contains(&format!("{}@{signed}", image("1.4.0"))), "{:?}", response.manifests);
    let metrics = daemon.get("/metrics").unwrap().1;
    let manifest_requests = metrics
        .lines()
        .find_map(|l| l.strip_prefix("syncgate_registry_requests_total{kind=\"manifest\"} "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_default();
    assert!(manifest_requests >= 2, "{metrics}");
    assert!(metrics.contains("syncgate_verification_duration_seconds_count{source=\"image\"} 2"), "{metrics}");
    assert!(metrics.contains("syncgate_verification_duration_seconds_count{source=\"rendered\"} 1"), "{metrics}");
    assert!(metrics.contains("syncgate_cache_hits_total{tier=\"memory\"} "), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_denial_by_project_and_namespace_and_health_is_serving() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let context = Context { project: "team-a".into(), namespace: "shop".into(), ..Context::default() };
    let response = evaluate(&daemon, &deployment("api", true), context).await.unwrap();
    assert_eq!(response.decision, "deny");
    let (status, metrics) = daemon.get("/metrics").unwrap();
    assert_eq!(status, 200);
    for line in [
        "syncgate_decisions_total{decision=\"deny\",project=\"team-a\",namespace=\"shop\"} 1",
        "syncgate_findings_total{rule=\"disallow-privileged\",status=\"fail\",mode=\"enforce\",project=\"team-a\",namespace=\"shop\"} 1",
        "syncgate_findings_total{rule=\"require-resource-requests\",status=\"warn\",mode=\"report\",project=\"team-a\",namespace=\"shop\"} 1",
        "syncgate_request_duration_seconds_count{rpc=\"Evaluate\"} 1",
        "syncgate_policy_reload_errors_total 0",
        "syncgate_cache_hits_total{tier=\"memory\"} 0",
        "syncgate_registry_requests_total{kind=\"manifest\"} 0",
        "syncgate_registry_request_errors_total 0",
    ] {
        assert!(metrics.contains(line), "missing {line}\n{metrics}");
    }
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
    assert_eq!(daemon.get("/healthz").unwrap().0, 200);
    assert_eq!(daemon.get("/readyz").unwrap().0, 200);
    let channel = crate::support::daemon::channel(&daemon.cmp_socket).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["", "plugin.ConfigManagementPluginService", "syncgate.v1.Gate"] {
        let request = tonic_health::pb::HealthCheckRequest { service: service.into() };
        let answer = health.check(request).await.unwrap().into_inner();
        assert_eq!(answer.status(), tonic_health::pb::health_check_response::ServingStatus::Serving, "{service}");
    }
}

/// Replaces the policy file in one step, so the reloader never reads half a file.
fn replace(path: &Path, text: &str) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, text).expect("write the new policy");
    std::fs::rename(&staged, path).expect("replace the policy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_change_keeps_the_old_policy_and_a_fix_goes_live() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &["--reload-interval", "1"], &[]);
    let policy = dir.path().join("policy.yaml");
    let privileged = deployment("api", true);
    let decide = || async { evaluate(&daemon, &privileged, Context::default()).await.unwrap().decision };
    assert_eq!(decide().await, "deny");

    replace(
        &policy,
        "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: gate}\nspec: {rules: [\n",
    );
    let logs = daemon.wait_for_log("policy reload failed; the previous policies stay active", Duration::from_secs(10));
    let line = logs.lines().find(|l| l.contains("policy reload failed")).unwrap();
    assert!(line.contains("\"level\":\"ERROR\"") && line.contains("policy.yaml"), "{line}");
    assert_eq!(decide().await, "deny", "the previous policy still applies");
    let metrics = daemon.get("/metrics").unwrap().1;
    assert!(metrics.contains("syncgate_policy_reload_errors_total 1"), "{metrics}");

    replace(&policy, &POLICY.replace("disallow-privileged: enforce", "disallow-privileged: report"));
    daemon.wait_for_log("policies reloaded", Duration::from_secs(10));
    assert_eq!(decide().await, "allow", "the fixed policy is live");
    let metrics = daemon.get("/metrics").unwrap().1;
    assert!(metrics.contains("syncgate_policy_reloads_total 1"), "{metrics}");
}

fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_path(path).expect("archive path");
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append(&header, text.as_bytes()).expect("archive entry");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar.into_inner().expect("tar")).expect("gzip");
    gz.finish().expect("gzip")
}

/// A daemon whose "kustomize" takes `seconds` to print the app's deploy.yaml, so requests stay in
/// flight; and the CMP stream of an app using it.
fn slow_daemon(dir: &Path, seconds: u32, extra: &[&str]) -> (Daemon, Vec<AppStreamRequest>) {
    let kustomize = write(dir, "slow-kustomize", &format!("#!/bin/sh\nsleep {seconds}\nexec cat deploy.yaml\n"));
    std::fs::set_permissions(&kustomize, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let daemon = daemon_with_policy(dir, extra, &[("SYNCGATE_KUSTOMIZE", kustomize.to_str().expect("UTF-8 path"))]);
    let archive = tar_gz(&[
        ("app/kustomization.yaml", "resources: [deploy.yaml]\n"),
        ("app/deploy.yaml", &deployment("web", false)),
    ]);
    let metadata = ManifestRequestMetadata {
        app_name: "app".into(),
        app_rel_path: "app".into(),
        checksum: hex::encode(sha2::Sha256::digest(&archive)),
        size: i64::try_from(archive.len()).expect("small archive"),
        env: vec![EnvEntry { name: "ARGOCD_APP_NAMESPACE".into(), value: "shop".into() }],
    };
    let mut messages = vec![AppStreamRequest { request: Some(Message::Metadata(metadata)) }];
    messages.extend(
        archive.chunks(1024).map(|c| AppStreamRequest { request: Some(Message::File(File { chunk: c.to_vec() })) }),
    );
    (daemon, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_removes_the_sockets_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (mut daemon, messages) = slow_daemon(dir.path(), 2, &[]);
    let mut client = daemon.cmp().await;
    let in_flight = tokio::spawn(async move { client.generate_manifest(tokio_stream::iter(messages)).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    daemon.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!daemon.cmp_socket.exists(), "the CMP socket is gone as soon as shutdown starts");
    assert!(!daemon.api_socket.exists(), "the API socket is gone as soon as shutdown starts");
    let response = in_flight.await.unwrap().unwrap_or_else(|s| panic!("{s:?}\n{}", daemon.logs())).into_inner();
    assert_eq!(response.manifests.len(), 1, "the request in flight finished");
    let status = tokio::task::block_in_place(|| daemon.wait(Duration::from_secs(10)));
    assert!(status.success(), "exit status {status}\n{}", daemon.logs());
    let logs = daemon.logs();
    assert!(logs.contains("shutting down: no new connections; waiting for requests in flight"), "{logs}");
    assert!(logs.contains("\"message\":\"stopped\""), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_stops_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, messages) = slow_daemon(dir.path(), 5, &[]);
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    request.set_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let status = daemon.cmp().await.generate_manifest(request).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(
        matches!(status.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled),
        "{status:?}\n{}",
        daemon.logs()
    );
    let started = Instant::now();
    while std::fs::read_dir(&daemon.work_dir).unwrap().next().is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "the request's directory was not removed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = daemon.wait_for_log("\"rpc\":\"GenerateManifest\"", Duration::from_secs(5));
    assert!(logs.contains("within the request deadline of 1s"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_requests_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, messages) = slow_daemon(dir.path(), 2, &[]);
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let mut client = daemon.cmp().await;
        let messages = messages.clone();
        calls.spawn(async move { client.generate_manifest(tokio_stream::iter(messages)).await });
    }
    while let Some(answer) = calls.join_next().await {
        assert_eq!(answer.unwrap().unwrap().into_inner().manifests.len(), 1);
    }
    // Four two-second renders one after another would take eight.
    assert!(started.elapsed() < Duration::from_secs(6), "took {:?}", started.elapsed());
}

/// `syncgate generate` in `app` with the CMP environment, plus `env` and `args`.
fn generate(app: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp dir");
    run(syncgate(home.path())
        .current_dir(app)
        .env("ARGOCD_APP_NAME", "web")
        .env("ARGOCD_APP_NAMESPACE", "shop")
        .env("ARGOCD_APP_PROJECT_NAME", "team-a")
        .envs(env.iter().copied())
        .arg("generate")
        .args(args))
}

#[test]
fn generate_through_the_daemon_prints_what_it_prints_alone() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon_with_policy(dir.path(), &[], &[]);
    let policy = dir.path().join("policy.yaml");
    let socket = daemon.api_socket.to_str().unwrap();
    for privileged in [false, true] {
        let app = dir.path().join(format!("app-{privileged}"));
        std::fs::create_dir(&app).unwrap();
        write(&app, "deploy.yaml", &deployment("web", privileged));
        write(
            &app,
            "service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{port: 80}]\n",
        );
        let alone = generate(&app, &[], &["--offline", "-p", policy.to_str().unwrap()]);
        // No policy flags: only the daemon can decide.
        let served = generate(&app, &[("SYNCGATE_SOCKET", socket)], &[]);
        assert_eq!(alone.code, i32::from(privileged), "{}", alone.stderr);
        assert_eq!((served.code, &served.stdout, &served.stderr), (alone.code, &alone.stdout, &alone.stderr));
        if privileged {
            assert!(served.stdout.is_empty());
            assert!(served.stderr.starts_with("syncgate denied 1 of 2 resources:"), "{}", served.stderr);
        } else {
            assert!(served.stdout.starts_with("apiVersion: apps/v1\nkind: Deployment\n"), "{}", served.stdout);
            assert!(served.stdout.contains("syncgate.dev/warnings: "), "{}", served.stdout);
            assert!(served.stderr.starts_with("syncgate warning: Deployment shop/web: "), "{}", served.stderr);
        }
    }
    let logs = daemon.logs();
    assert_eq!(logs.matches("\"rpc\":\"Evaluate\"").count(), 2, "both runs went through the daemon:\n{logs}");
    assert!(logs.contains("\"project\":\"team-a\""), "{logs}");
}

/// The daemon works on `--max-concurrent` requests at once; one that waits past the deadline
/// `generate` passes is given up, and `generate` says so (exit 2, nothing on stdout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_through_a_busy_daemon_gives_up_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, messages) = slow_daemon(dir.path(), 4, &["--max-concurrent", "1"]);
    let mut cmp = daemon.cmp().await;
    let busy = tokio::spawn(async move { cmp.generate_manifest(tokio_stream::iter(messages)).await });
    // The slow generation holds the only permit.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    write(&app, "deploy.yaml", &deployment("web", false));
    let socket = daemon.api_socket.to_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        generate(&app, &[("SYNCGATE_SOCKET", socket.as_str()), ("SYNCGATE_DEADLINE", "1")], &[])
    })
    .await
    .unwrap();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("DeadlineExceeded") || out.stderr.contains("deadline"), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "gave up at its deadline: {:?}", started.elapsed());
    assert!(busy.await.unwrap().is_ok(), "the slow request still completes");
}

#[test]
fn generate_with_a_dead_socket_gates_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.yaml", POLICY);
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    write(&app, "deploy.yaml", &deployment("web", false));
    // A stale socket file (its listener is gone), and no file at all.
    let dead = dir.path().join("nobody-listens.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    for socket in [dead.clone(), dir.path().join("absent.sock")] {
        let env = [("SYNCGATE_SOCKET", socket.to_str().unwrap()), ("SYNCGATE_LOG", "info")];
        let out = generate(&app, &env, &["--offline", "-p", policy.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.starts_with("apiVersion: apps/v1\nkind: Deployment\n"), "{}", out.stdout);
        let fallback: Vec<&str> = out.stderr.lines().filter(|l| l.contains("syncgate daemon unreachable")).collect();
        assert_eq!(fallback.len(), 1, "{}", out.stderr);
        assert!(fallback[0].contains("gating in this process") && fallback[0].contains(socket.to_str().unwrap()));
    }
}
