//! Flux artifacts over real HTTP: our artifact server checked by a consumer that is not our code
//! (`tests/python/flux_consumer.py`, Python stdlib doing what Flux's fetcher does), and upstream
//! source-controller-style artifacts fetched, verified and unpacked by `flux::fetch` from a
//! `python3 -m http.server`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use syncgate::flux::fetch::{FetchError, FetchLimits, fetch};
use syncgate::flux::serve::serve;
use syncgate::flux::storage::Storage;
use syncgate::server::extract::ExtractError;

fn consumer() -> std::path::PathBuf {
    crate::common::root().join("tests/python/flux_consumer.py")
}

fn write(dir: &Path, rel: &str, content: &str, mode: u32) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file below dir")).expect("create parents");
    std::fs::write(&path, content).expect("write the file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("set its mode");
}

/// A rendered app directory as the controller would publish it.
fn app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "kustomization.yaml", "resources:\n- manifests.yaml\n", 0o644);
    write(dir.path(), "manifests.yaml", "apiVersion: v1\nkind: ConfigMap\n", 0o664);
    write(dir.path(), "overlays/prod/patch.yaml", "kind: Patch\n", 0o644);
    write(dir.path(), "hooks/check.sh", "#!/bin/sh\n", 0o755);
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd.yaml")).expect("symlink");
    dir
}

/// `python3 tests/python/flux_consumer.py ARGS`, its JSON stdout on success, or stderr on failure.
pub(crate) fn python(args: &[&str]) -> Result<Value, String> {
    let out = Command::new("python3").arg(consumer()).args(args).output().expect("python3 runs");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the consumer prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_consumer_downloads_verifies_and_extracts_our_artifact() {
    let root = tempfile::tempdir().unwrap();
    let storage = Storage::open(root.path()).unwrap();
    let app = app();
    let stored =
        storage.store("flux-system", "api-verified", app.path(), "main@sha1:5f1c0e2d", Some("5f1c0e2d")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_ready, ready) = tokio::sync::watch::channel(true);
    let served = storage.clone();
    tokio::spawn(async move { serve(listener, &served, ready).await });

    let url = format!("http://{addr}/{}", stored.path);
    let digest = stored.record.digest.clone();
    let dest = tempfile::tempdir().unwrap();
    let dest_arg = dest.path().to_str().unwrap().to_owned();
    let report = tokio::task::spawn_blocking(move || {
        python(&["consume", "--url", &url, "--digest", &digest, "--dest", &dest_arg])
    })
    .await
    .unwrap()
    .expect("the consumer accepts our artifact");

    assert_eq!(report["sha256"], json!(stored.record.digest));
    assert_eq!(report["size"], json!(stored.record.size));
    assert_eq!(report["content_length"], json!(stored.record.size));
    assert_eq!(report["gzip"], json!({"magic": "1f8b08", "flags": 0, "mtime": 0, "xfl": 0, "os": 255}));
    assert_eq!(report["filter"], json!("data"));
    let members: Vec<(String, String, String)> = report["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(
                (&m["uid"], &m["gid"], &m["uname"], &m["gname"], &m["mtime"], &m["format"]),
                (&json!(0), &json!(0), &json!(""), &json!(""), &json!(0), &json!("ustar")),
                "{m}"
            );
            (
                m["name"].as_str().unwrap().to_owned(),
                m["type"].as_str().unwrap().to_owned(),
                m["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        (".", "5", "0o750"),
        ("hooks", "5", "0o750"),
        ("hooks/check.sh", "0", "0o700"),
        ("kustomization.yaml", "0", "0o600"),
        ("manifests.yaml", "0", "0o600"),
        ("overlays", "5", "0o750"),
        ("overlays/prod", "5", "0o750"),
        ("overlays/prod/patch.yaml", "0", "0o600"),
    ];
    let want: Vec<_> = want.iter().map(|(n, t, m)| ((*n).to_owned(), (*t).to_owned(), (*m).to_owned())).collect();
    assert_eq!(members, want, "the symlink is left out, everything else in Go's Walk order");
    assert_eq!(
        report["files"],
        json!({
            "hooks/check.sh": "#!/bin/sh\n",
            "kustomization.yaml": "resources:\n- manifests.yaml\n",
            "manifests.yaml": "apiVersion: v1\nkind: ConfigMap\n",
            "overlays/prod/patch.yaml": "kind: Patch\n",
        })
    );

    // A consumer holding a different digest refuses the same bytes.
    let url = format!("http://{addr}/{}", stored.path);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let refused = tokio::task::spawn_blocking(move || python(&["consume", "--url", &url, "--digest", &wrong]))
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("digest mismatch"), "{refused}");
}

#[test]
fn packing_the_same_app_twice_stores_identical_bytes_whatever_the_mtimes() {
    let app = app();
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let first = Storage::open(one.path()).unwrap().store("ns", "a", app.path(), "r", None).unwrap();
    std::fs::File::options()
        .write(true)
        .open(app.path().join("manifests.yaml"))
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    let second = Storage::open(two.path()).unwrap().store("ns", "a", app.path(), "r", None).unwrap();
    assert_eq!(first.record.digest, second.record.digest);
    assert_eq!(
        std::fs::read(one.path().join(&first.path)).unwrap(),
        std::fs::read(two.path().join(&second.path)).unwrap()
    );
}

/// `python3 -m http.server` over `dir` on a free loopback port; killed on drop.
pub(crate) struct StaticServer {
    child: Child,
    port: u16,
}

impl StaticServer {
    #[expect(clippy::panic, reason = "a server that never listens must fail the test")]
    pub(crate) fn start(dir: &Path) -> StaticServer {
        let port = crate::support::free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server starts");
        let server = StaticServer { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("http.server did not listen on {port}");
    }

    pub(crate) fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds `upstream.tar.gz` (and `evil.tar.gz`) in `dir` the way source-controller does; returns
/// their digests.
fn build_upstream(dir: &Path) -> (String, String) {
    let src = tempfile::tempdir().expect("temp dir");
    write(src.path(), "apps/prod/api/kustomization.yaml", "resources: [deploy.yaml]\n", 0o644);
    write(src.path(), "apps/prod/api/deploy.yaml", "kind: Deployment\n", 0o644);
    write(src.path(), "README.md", "upstream\n", 0o644);
    let src_arg = src.path().to_str().expect("UTF-8 temp path");
    let build = |name: &str, evil: bool| {
        let out = dir.join(name);
        let mut args = vec!["build-upstream", "--dir", src_arg, "--out", out.to_str().expect("UTF-8 temp path")];
        if evil {
            args.push("--evil");
        }
        python(&args).expect("the upstream archive builds")["digest"].as_str().expect("a digest").to_owned()
    };
    (build("upstream.tar.gz", false), build("evil.tar.gz", true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_artifact_is_fetched_verified_and_extracted() {
    let upstream = tempfile::tempdir().unwrap();
    let (digest, evil_digest) = build_upstream(upstream.path());
    let server = StaticServer::start(upstream.path());
    let client = reqwest::Client::new();
    let limits = FetchLimits::default();

    let dest = tempfile::tempdir().unwrap();
    let fetched = fetch(&client, &server.url("upstream.tar.gz"), &digest, dest.path(), &limits).await.unwrap();
    assert_eq!(fetched.digest.as_str(), digest);
    assert_eq!(fetched.size, std::fs::metadata(upstream.path().join("upstream.tar.gz")).unwrap().len());
    assert_eq!((fetched.extracted.files, fetched.extracted.directories), (3, 3));
    assert_eq!(std::fs::read_to_string(dest.path().join("apps/prod/api/deploy.yaml")).unwrap(), "kind: Deployment\n");

    // The published digest does not match the bytes: nothing is unpacked, both digests named.
    let other = format!("sha256:{}", "ab".repeat(32));
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(&client, &server.url("upstream.tar.gz"), &other, dest.path(), &limits).await.unwrap_err();
    assert!(matches!(err, FetchError::DigestMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&other) && message.contains(&digest), "{message}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);

    // A correctly digested but hostile archive is refused by the extractor.
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(&client, &server.url("evil.tar.gz"), &evil_digest, dest.path(), &limits).await.unwrap_err();
    assert!(matches!(err, FetchError::Extract { source: ExtractError::Traversal { .. }, .. }), "{err:?}");
    assert!(!dest.path().parent().unwrap().join("escape.yaml").exists());

    // Size cap and HTTP errors.
    let small = FetchLimits { max_download_bytes: 64, ..limits };
    let err = fetch(&client, &server.url("upstream.tar.gz"), &digest, dest.path(), &small).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { limit: 64, .. }), "{err:?}");
    let err = fetch(&client, &server.url("missing.tar.gz"), &digest, dest.path(), &limits).await.unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err:?}");
}
