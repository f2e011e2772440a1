//! `syncgate flux-controller` end to end, against the fake Kubernetes API (Flux's GitRepository
//! and ExternalArtifact JSON, status subresources, watches, Lease), a live registry with the
//! Argo CD example's signed `acme/api:1.4`, upstream artifacts served by `python3 -m http.server`,
//! a notification-controller stand-in recording event posts, and Flux's fetch done by the Python
//! consumer (download, sha256 against `status.artifact.digest`, untar).
//!
//! One controller run covers: a revision that passes (published, image pinned), a new revision
//! that fails (not published, the old artifact kept, `Ready=False/VerificationFailed` with the
//! status message on the ExternalArtifact, the VerifiedSource, a Kubernetes Event and a Flux
//! event), an upstream that is missing, an upstream whose digest lies, and a suspended
//! VerifiedSource. A restart after the storage was lost re-creates the same artifact.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::argocd_example::Example;
use crate::flux_artifact::{StaticServer, python};
use crate::support::kube_api::{KubeApi, Recorder};

const NS: &str = "flux-system";
const GIT: &str = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories";
const EA: &str = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/externalartifacts";
const VS: &str = "/apis/syncgate.dev/v1alpha1/namespaces/flux-system/verifiedsources";
const WAIT: Duration = Duration::from_secs(60);

/// The controller process; killed on drop.
struct Controller {
    child: Child,
    logs: PathBuf,
}

impl Controller {
    fn logs(&self) -> String {
        std::fs::read_to_string(&self.logs).unwrap_or_default()
    }

    /// SIGTERM, and the exit status within `within`.
    fn terminate(mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the controller talks to.
struct World {
    example: Example,
    upstream: tempfile::TempDir,
    server: StaticServer,
    storage: tempfile::TempDir,
    kubeconfig: PathBuf,
    storage_port: u16,
    metrics_port: u16,
    events_port: u16,
}

impl World {
    fn start_controller(&self) -> Controller {
        let logs = self.storage.path().with_extension("log");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&logs).expect("log file");
        let home = self.example.home.path();
        let child = Command::new(env!("CARGO_BIN_EXE_syncgate"))
            .current_dir(crate::common::root())
            .env_clear()
            .env("HOME", home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOSTNAME", "syncgate-0")
            .env("KUBECONFIG", &self.kubeconfig)
            .env("SYNCGATE_POLICY_DIR", self.example.dir.path().join("policies"))
            .env("SYNCGATE_INSECURE_REGISTRIES", self.example.registry.host())
            .arg("flux-controller")
            .arg("--storage-path")
            .arg(self.storage.path())
            .args(["--storage-addr", &format!("127.0.0.1:{}", self.storage_port)])
            .args(["--storage-adv-addr", &format!("127.0.0.1:{}", self.storage_port)])
            .args(["--metrics-addr", &format!("127.0.0.1:{}", self.metrics_port)])
            .args(["--events-addr", &format!("http://127.0.0.1:{}/", self.events_port)])
            .args(["--leader-election-namespace", NS, "--log-format", "text"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start syncgate flux-controller");
        Controller { child, logs }
    }

    /// A GitRepository as source-controller stores it, whose artifact is `file` on the upstream
    /// server with `digest` at `revision`.
    fn git_repository(&self, name: &str, file: &str, digest: &str, revision: &str) -> Value {
        let text =
            std::fs::read_to_string(crate::common::root().join("tests/fixtures/kube/flux/gitrepository-api.json"))
                .expect("fixture");
        let mut object: Value = serde_json::from_str(&text).expect("fixture JSON");
        object["metadata"]["name"] = json!(name);
        let artifact = &mut object["status"]["artifact"];
        artifact["url"] = json!(self.server.url(file));
        artifact["digest"] = json!(digest);
        artifact["revision"] = json!(revision);
        artifact["path"] = json!(format!("gitrepository/flux-system/{name}/{file}"));
        object
    }
}

/// Packs `files` the way source-controller packs a checkout into `<dir>/<file>`; returns the digest.
fn upstream_artifact(dir: &Path, file: &str, files: &[(&str, &str)]) -> String {
    let tree = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = tree.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("file");
    }
    let out = std::fs::File::create(dir.join(file)).expect("archive");
    syncgate::flux::artifact::pack(tree.path(), out).expect("pack").digest
}

fn verified_source(name: &str, source: &str, extra: &Value) -> Value {
    let mut spec =
        json!({"sourceRef": {"kind": "GitRepository", "name": source}, "path": "./deploy", "interval": "10m"});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "VerifiedSource",
           "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

/// Records notification-controller event posts.
async fn events_receiver(events: Arc<Mutex<Vec<Value>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let events = Arc::clone(&events);
        async move {
            if let Ok(event) = serde_json::from_slice::<Value>(&body) {
                events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(event);
            }
            axum::http::StatusCode::ACCEPTED
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// One line of the scripted demo (`scripts/flux-demo` shows these lines).
#[expect(clippy::print_stdout, reason = "the scripted demo reads these lines")]
fn demo_note(text: &str) {
    println!("demo:    {text}");
}

/// One step of the scripted demo: what the ExternalArtifact says.
#[expect(clippy::print_stdout, reason = "the scripted demo reads these lines")]
fn demo(step: &str, ea: &Value) {
    let ready = condition(ea, "Ready");
    println!("demo: {step}");
    println!(
        "demo:    ExternalArtifact {}: Ready={} reason={}",
        ea["metadata"]["name"].as_str().unwrap_or_default(),
        ready["status"].as_str().unwrap_or_default(),
        ready["reason"].as_str().unwrap_or_default()
    );
    for line in ready["message"].as_str().unwrap_or_default().lines() {
        println!("demo:      {line}");
    }
    let revision = ea["status"]["artifact"]["revision"].as_str().unwrap_or("(none published)");
    println!("demo:    status.artifact.revision: {revision}");
}

fn condition(object: &Value, type_: &str) -> Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_).cloned())
        .unwrap_or(Value::Null)
}

async fn wait_for(recorder: &Recorder, controller: &Controller, what: &str, done: impl Fn(&Recorder) -> bool) {
    assert!(
        recorder.wait_until(WAIT, done).await,
        "timed out waiting for {what}; controller logs:\n{}",
        controller.logs()
    );
}

/// Times, uids and generated ports out of a status, for golden files.
fn stable(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").expect("regex");
    let uids = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").expect("regex");
    // The archive holds the registry's address (a free port), so its digest and size vary.
    let archives = regex::Regex::new(r"/[0-9a-f]{64}\.tar\.gz").expect("regex");
    let sizes = regex::Regex::new(r#""size": \d+"#).expect("regex");
    let text = uids.replace_all(&times.replace_all(&text, "[TIME]"), "[UID]").into_owned();
    let text = archives.replace_all(&text, "/[HEX].tar.gz").into_owned();
    sizes.replace_all(&text, r#""size": "[SIZE]""#).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one controller run walks the pass and fail paths in order")]
async fn verified_sources_publish_what_passes_and_keep_the_last_verified_artifact_on_failure() {
    let example = tokio::task::spawn_blocking(Example::new).await.expect("example");
    let allowed = example.app("allowed");
    let read = |path: PathBuf| std::fs::read_to_string(path).expect("example file");
    let upstream = tempfile::tempdir().expect("temp dir");
    let good = upstream_artifact(
        upstream.path(),
        "good.tar.gz",
        &[
            ("deploy/deployment.yaml", &read(allowed.join("deployment.yaml"))),
            ("deploy/service.yaml", &read(allowed.join("service.yaml"))),
            ("README.md", "api\n"),
        ],
    );
    let bad = upstream_artifact(
        upstream.path(),
        "bad.tar.gz",
        &[("deploy/api.yaml", &read(example.app("privileged").join("api.yaml")))],
    );
    let server = StaticServer::start(upstream.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let events_port = events_receiver(Arc::clone(&events)).await;
    let storage = tempfile::tempdir().expect("temp dir");
    let kubeconfig = example.dir.path().join("kubeconfig");
    let mut world = World {
        example,
        upstream,
        server,
        storage,
        kubeconfig: kubeconfig.clone(),
        storage_port: crate::support::free_port(),
        metrics_port: crate::support::free_port(),
        events_port,
    };
    let good_revision = "main@sha1:5f1c0e2d9a7b3c4e8f6a1b2c3d4e5f6a7b8c9d0e";
    let bad_revision = "main@sha1:9d0e5f1c0e2d9a7b3c4e8f6a1b2c3d4e5f6a7b8c";
    let lying_digest = format!("sha256:{}", "ab".repeat(32));
    let (url, recorder) = KubeApi::start(vec![
        world.git_repository("api", "good.tar.gz", &good, good_revision),
        world.git_repository("tampered", "good.tar.gz", &lying_digest, good_revision),
        verified_source("api", "api", &json!({"artifactName": "api-verified"})),
        {
            // A tenant who may write VerifiedSource status forged an artifact there: it must never
            // reach the ExternalArtifact.
            let mut orphan = verified_source("orphan", "nope", &json!({}));
            orphan["status"] = json!({"artifact": {"digest": lying_digest, "lastUpdateTime": "2026-01-01T00:00:00Z",
                "path": "x", "revision": "forged", "url": "http://evil.example/x.tar.gz"}});
            orphan
        },
        verified_source("badname", "api", &json!({"artifactName": "Bad_Name"})),
        verified_source("chain", "api-verified", &json!({"sourceRef": {"kind": "ExternalArtifact", "name": "api-verified"}})),
        verified_source("tampered", "tampered", &json!({})),
        verified_source("paused", "api", &json!({"suspend": true})),
        verified_source("wrongpath", "api", &json!({"path": "./nope"})),
        verified_source("unknownset", "api", &json!({"policy": "staging"})),
        verified_source("foreign", "api", &json!({"artifactName": "other-producer"})),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
               "metadata": {"name": "other-producer", "namespace": NS},
               "spec": {"sourceRef": {"apiVersion": "source.extensions.fluxcd.io/v1beta1", "kind": "ArtifactGenerator", "name": "bundle"}}}),
    ])
    .await;
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\nusers: [{{name: syncgate, user: {{token: test}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: syncgate, namespace: flux-system}}}}]\ncurrent-context: fake\n"
        ),
    )
    .expect("kubeconfig");
    let controller = world.start_controller();
    let ea_path = format!("{EA}/api-verified");

    // 1. The revision passes: published with the image pinned, Lease held.
    wait_for(&recorder, &controller, "api-verified Ready=True", |r| {
        r.get(&ea_path).is_some_and(|ea| condition(&ea, "Ready")["status"] == "True")
    })
    .await;
    let ea = recorder.get(&ea_path).expect("ExternalArtifact");
    assert_eq!(
        ea["spec"]["sourceRef"],
        json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "VerifiedSource", "name": "api", "namespace": NS})
    );
    assert_eq!(ea["metadata"]["ownerReferences"][0]["kind"], "VerifiedSource");
    let artifact = ea["status"]["artifact"].clone();
    let digest = artifact["digest"].as_str().expect("digest").to_owned();
    assert_eq!(artifact["revision"], json!(format!("{good_revision}@{digest}")));
    assert_eq!(artifact["metadata"]["org.opencontainers.image.revision"], good_revision);
    let artifact_url = artifact["url"].as_str().expect("url").to_owned();
    assert!(artifact_url.starts_with(&format!("http://127.0.0.1:{}/flux-system/api-verified/", world.storage_port)));
    let dest = tempfile::tempdir().expect("temp dir");
    let consumed = {
        let (url, digest, dest) =
            (artifact_url.clone(), digest.clone(), dest.path().to_str().expect("utf-8").to_owned());
        tokio::task::spawn_blocking(move || python(&["consume", "--url", &url, "--digest", &digest, "--dest", &dest]))
            .await
            .expect("consumer")
            .expect("Flux's fetch accepts the artifact")
    };
    assert_eq!(consumed["sha256"], json!(digest));
    let manifests = std::fs::read_to_string(dest.path().join("manifests.yaml")).expect("manifests.yaml");
    let pinned = format!("image: {}/acme/api:1.4@{}", world.example.registry.host(), world.example.signed);
    assert!(manifests.contains(&pinned), "{manifests}");
    assert!(manifests.contains("kind: Service"), "{manifests}");
    let vs = recorder.get(&format!("{VS}/api")).expect("VerifiedSource");
    assert_eq!(vs["status"]["artifact"], artifact);
    assert_eq!(vs["status"]["lastAttemptedRevision"], good_revision);
    assert_eq!(condition(&vs, "SourceVerified")["status"], "True");
    let lease = recorder.get("/apis/coordination.k8s.io/v1/namespaces/flux-system/leases/syncgate-flux-controller");
    let holder = lease.as_ref().and_then(|l| l["spec"]["holderIdentity"].as_str()).unwrap_or_default().to_owned();
    assert!(holder.starts_with("syncgate-0_"), "{lease:?}");
    demo("1. upstream main@sha1:5f1c… passes", &ea);
    demo_note(&format!("manifests.yaml in the artifact: {}", pinned.trim_start_matches("image: ")));

    // 2. Missing upstream, lying upstream, suspended.
    wait_for(&recorder, &controller, "orphan and tampered failures", |r| {
        [format!("{EA}/orphan"), format!("{EA}/tampered")]
            .iter()
            .all(|path| r.get(path).is_some_and(|ea| condition(&ea, "Ready")["status"] == "False"))
    })
    .await;
    let orphan = recorder.get(&format!("{EA}/orphan")).expect("orphan EA");
    assert_eq!(condition(&orphan, "Ready")["reason"], "FetchFailed");
    assert_eq!(condition(&orphan, "Ready")["message"], "GitRepository flux-system/nope not found");
    assert!(orphan["status"].get("artifact").is_none(), "nothing was ever published: {orphan}");
    let tampered = recorder.get(&format!("{EA}/tampered")).expect("tampered EA");
    let message = condition(&tampered, "Ready")["message"].as_str().unwrap_or_default().to_owned();
    assert_eq!(condition(&tampered, "Ready")["reason"], "FetchFailed");
    assert!(message.contains(&lying_digest) && message.contains(&good), "{message}");
    assert!(tampered["status"].get("artifact").is_none());
    assert!(recorder.get(&format!("{EA}/paused")).is_none(), "a suspended VerifiedSource publishes nothing");
    assert!(recorder.patches(&format!("{VS}/paused/status")).is_empty());
    // A path the artifact lacks, an unknown policy set, and another producer's ExternalArtifact.
    wait_for(&recorder, &controller, "wrongpath, unknownset and foreign failures", |r| {
        [format!("{VS}/wrongpath"), format!("{VS}/unknownset"), format!("{VS}/foreign")]
            .iter()
            .all(|path| r.get(path).is_some_and(|vs| condition(&vs, "Ready")["status"] == "False"))
    })
    .await;
    // (chain may first find api-verified missing; its publication triggers chain again.)
    wait_for(&recorder, &controller, "badname and chain refused", |r| {
        [format!("{VS}/badname"), format!("{VS}/chain")]
            .iter()
            .all(|path| r.get(path).is_some_and(|vs| condition(&vs, "Ready")["reason"] == "InvalidSpec"))
    })
    .await;
    let ready = |name: &str| condition(&recorder.get(&format!("{VS}/{name}")).expect("VerifiedSource"), "Ready");
    assert_eq!(ready("badname")["reason"], "InvalidSpec");
    assert_eq!(
        ready("badname")["message"],
        "spec.artifactName \"Bad_Name\" is not a Kubernetes object name (lowercase letters, digits, '-' and '.')"
    );
    assert!(!recorder.requests().iter().any(|r| r.path.contains("Bad_Name")), "no API call names it");
    assert_eq!(ready("chain")["reason"], "InvalidSpec");
    assert!(ready("chain")["message"].as_str().unwrap_or_default().contains("is itself published by a VerifiedSource"));
    assert_eq!(ready("wrongpath")["reason"], "BuildFailed");
    assert_eq!(
        ready("wrongpath")["message"],
        format!(
            "path \"./nope\" not found in the artifact of GitRepository flux-system/api (revision {good_revision})"
        )
    );
    assert_eq!(ready("unknownset")["reason"], "InvalidSpec");
    assert_eq!(
        ready("unknownset")["message"],
        "spec.policy: unknown policy set \"staging\"; the controller has: default"
    );
    assert_eq!(ready("foreign")["reason"], "InvalidSpec");
    assert_eq!(
        ready("foreign")["message"],
        "ExternalArtifact flux-system/other-producer exists and is not published by VerifiedSource flux-system/foreign; set spec.artifactName to another name, or delete that ExternalArtifact"
    );
    assert!(
        recorder.patches(&format!("{EA}/other-producer")).is_empty(),
        "another producer's ExternalArtifact is never written"
    );
    assert!(recorder.patches(&format!("{EA}/other-producer/status")).is_empty());
    demo("2. VerifiedSource orphan points at a missing GitRepository", &orphan);
    demo("   VerifiedSource tampered: the GitRepository's digest lies", &tampered);

    // 3. A new revision that fails: not published; the verified one stays; everyone says why.
    recorder.update(&format!("{GIT}/api"), |repo| {
        let artifact = &mut repo["status"]["artifact"];
        artifact["url"] = json!(world.server.url("bad.tar.gz"));
        artifact["digest"] = json!(bad);
        artifact["revision"] = json!(bad_revision);
    });
    wait_for(&recorder, &controller, "api-verified Ready=False", |r| {
        r.get(&ea_path).is_some_and(|ea| condition(&ea, "Ready")["reason"] == "VerificationFailed")
    })
    .await;
    let ea = recorder.get(&ea_path).expect("ExternalArtifact");
    assert_eq!(ea["status"]["artifact"], artifact, "the last verified artifact stays published");
    let message = condition(&ea, "Ready")["message"].as_str().expect("message").to_owned();
    assert!(
        message.starts_with("syncgate denied 1 of 2 resources:\nDeployment team-a/api container api: "),
        "{message}"
    );
    assert!(
        message.contains("[disallow-privileged at spec.template.spec.containers[0].securityContext.privileged]"),
        "{message}"
    );
    assert!(message.contains("  fix: "), "{message}");
    let still = reqwest::get(&artifact_url).await.expect("GET artifact");
    assert_eq!(still.status(), 200, "the previous artifact is still served");
    let vs = recorder.get(&format!("{VS}/api")).expect("VerifiedSource");
    assert_eq!(condition(&vs, "Ready")["message"], json!(message));
    assert_eq!(vs["status"]["lastAttemptedRevision"], bad_revision);
    assert_eq!(vs["status"]["artifact"], artifact);
    wait_for(&recorder, &controller, "the Warning event", |r| {
        r.bodies("POST", "/apis/events.k8s.io/v1/namespaces/flux-system/events")
            .iter()
            .any(|e| e["reason"] == "VerificationFailed")
    })
    .await;
    let kube_event = recorder
        .bodies("POST", "/apis/events.k8s.io/v1/namespaces/flux-system/events")
        .into_iter()
        .find(|e| e["reason"] == "VerificationFailed")
        .expect("event");
    assert_eq!(kube_event["type"], "Warning");
    assert_eq!(kube_event["regarding"]["kind"], "VerifiedSource");
    // The same message, cut at the 1 KiB events.k8s.io allows, with a marker.
    let note = kube_event["note"].as_str().expect("note");
    let kept = note.strip_suffix("… [truncated]").unwrap_or(note);
    assert!(message.starts_with(kept) && note.len() <= 1024, "{note}");
    let flux_event = {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let found = events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|e| e["reason"] == "VerificationFailed")
                .cloned();
            if let Some(event) = found {
                break event;
            }
            assert!(std::time::Instant::now() < deadline, "no notification event; logs:\n{}", controller.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(flux_event["message"], json!(message));
    assert_eq!(flux_event["severity"], "error");
    assert_eq!(flux_event["involvedObject"]["kind"], "ExternalArtifact");
    demo("3. upstream main@sha1:9d0e… runs privileged: refused, the verified artifact stays", &ea);
    assert_eq!(flux_event["metadata"]["source.toolkit.fluxcd.io/revision"], bad_revision);
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", world.metrics_port))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    for outcome in ["Succeeded", "VerificationFailed", "FetchFailed", "BuildFailed", "InvalidSpec"] {
        let line = format!("syncgate_flux_reconciles_total{{reason=\"{outcome}\",namespace=\"flux-system\"}} ");
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    crate::generate::assert_golden("flux_externalartifact_status_denied", &stable(&ea["status"]));
    crate::generate::assert_golden("flux_verifiedsource_status_denied", &stable(&vs["status"]));
    let mut flux_event = flux_event;
    flux_event["involvedObject"]["uid"] = json!("[UID]");
    crate::generate::assert_golden("flux_notification_event_denied", &stable(&flux_event));

    // 3b. Someone deletes the ExternalArtifact: it is published again at once (not at the 10m
    //     interval), still refusing the current revision, and with nothing the controller did not
    //     just verify (fail closed: kustomize-controller keeps what it applied).
    let creates_before = recorder.count("POST", EA);
    recorder.delete(&ea_path);
    wait_for(&recorder, &controller, "api-verified published again", |r| {
        r.count("POST", EA) > creates_before
            && r.get(&ea_path).is_some_and(|ea| condition(&ea, "Ready")["reason"] == "VerificationFailed")
    })
    .await;
    let again = recorder.get(&ea_path).expect("ExternalArtifact");
    assert!(again["status"].get("artifact").is_none(), "{again}");
    assert_eq!(again["spec"]["sourceRef"]["kind"], "VerifiedSource");

    // 4. Storage lost while stopped, upstream back to the verified revision: the restarted
    //    controller re-creates the very same artifact (same digest, same URL). SIGTERM releases
    //    the Lease, so the new process leads at once instead of waiting out its 15 s.
    let logs = controller.logs();
    let status =
        tokio::task::spawn_blocking(move || controller.terminate(Duration::from_secs(10))).await.expect("stop");
    assert!(status.is_some_and(|s| s.success()), "SIGTERM: {status:?}\n{logs}");
    let lease = recorder.get("/apis/coordination.k8s.io/v1/namespaces/flux-system/leases/syncgate-flux-controller");
    assert!(lease.as_ref().is_some_and(|l| l["spec"].get("holderIdentity").is_none()), "released: {lease:?}");
    recorder.update(&format!("{GIT}/api"), |repo| {
        let artifact = &mut repo["status"]["artifact"];
        artifact["url"] = json!(world.server.url("good.tar.gz"));
        artifact["digest"] = json!(good);
        artifact["revision"] = json!(good_revision);
    });
    std::fs::remove_dir_all(world.storage.path()).expect("lose the storage");
    std::fs::create_dir(world.storage.path()).expect("empty storage");
    world.storage_port = crate::support::free_port();
    let controller = world.start_controller();
    wait_for(&recorder, &controller, "api-verified Ready=True again", |r| {
        r.get(&ea_path).is_some_and(|ea| condition(&ea, "Ready")["status"] == "True")
    })
    .await;
    let ea = recorder.get(&ea_path).expect("ExternalArtifact");
    assert_eq!(ea["status"]["artifact"]["digest"], json!(digest), "deterministic: the same bytes");
    assert_eq!(ea["status"]["artifact"]["revision"], artifact["revision"]);
    let url = ea["status"]["artifact"]["url"].as_str().expect("url").to_owned();
    let bytes = reqwest::get(&url).await.expect("GET").bytes().await.expect("body");
    assert_eq!(format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))), digest);
    demo("4. storage lost, controller restarted: the same artifact again", &ea);
    drop(controller);
    drop(world.upstream);
}

/// Two replicas against one Lease: the second waits while the first renews, takes over once the
/// first stops renewing for the lease duration, and the first then finds its leadership lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_takes_the_lease_only_after_it_expires() {
    use syncgate::flux::lease::{Elector, LeaseSettings};
    let (url, recorder) = KubeApi::start(vec![]).await;
    let settings = |identity: &str| LeaseSettings {
        identity: identity.to_owned(),
        duration: Duration::from_secs(1),
        renew_deadline: Duration::from_millis(800),
        retry_period: Duration::from_millis(100),
        ..LeaseSettings::new(NS, "syncgate-flux-controller")
    };
    let client = crate::support::kube_api::client(&url);
    let mut first = Elector::new(client.clone(), settings("one"));
    first.acquire().await;
    let path = "/apis/coordination.k8s.io/v1/namespaces/flux-system/leases/syncgate-flux-controller";
    assert_eq!(recorder.get(path).expect("lease")["spec"]["holderIdentity"], "one");

    // While "one" renews, "two" does not get it.
    let mut second = Elector::new(client, settings("two"));
    let holding = tokio::spawn(async move {
        let lost = first.hold().await;
        (first, lost)
    });
    let waited = tokio::time::timeout(Duration::from_millis(1500), second.acquire()).await;
    assert!(waited.is_err(), "a renewed lease was taken over");

    // "one" stops renewing (as a frozen process would): "two" takes over after the duration.
    holding.abort();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), second.acquire()).await.expect("takes over an expired lease");
    assert!(started.elapsed() >= Duration::from_millis(500), "took over before the lease expired");
    let lease = recorder.get(path).expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "two");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}
