//! `trustRoot: {tuf: …}` against real TUF repositories: each test builds one with tough's own editor
//! (a fresh Ed25519 key for every role, consistent snapshots, as Sigstore's repository has) holding
//! the test signing environment's `trusted_root.json`, serves it over plain HTTP from a small static
//! file server on a free loopback port, and verifies a keyless-signed image with the same `Verifier`
//! the gate uses: fetched and verified, expired timestamp metadata refused, a target that does not
//! match its targets metadata refused, an unreachable repository refused as undecided without a
//! cache and served from the cache with one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use jiff::{SignedDuration, Timestamp};
use syncgate::image::Digest;
use syncgate::manifest::Limits;
use syncgate::policy::{self, PolicySet};
use syncgate::verify::check::Outcome;
use syncgate::verify::tuf::TufRoots;
use syncgate::verify::{Verifier, Verify as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tough::editor::RepositoryEditor;
use tough::editor::signed::{PathExists, SignedRole};
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::{KeyHolder, RoleKeys, RoleType, Root};
use tough::sign::Sign as _;

use super::{KEYLESS, REPO, World, refused};

/// A TUF repository on disk: metadata at the top, targets under `targets/`.
struct TufRepository {
    dir: tempfile::TempDir,
    key: PathBuf,
    /// The signed `1.root.json`, shipped to the policy as its initial root.
    root: Vec<u8>,
    /// The target last published.
    target: Vec<u8>,
}

impl TufRepository {
    /// A repository whose root (version 1, one Ed25519 key for every role) is written, with nothing
    /// published yet.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("repository dir");
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("TUF key");
        let key = dir.path().join("key.pk8");
        std::fs::write(&key, pkcs8.as_ref()).expect("write key");
        let public = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("TUF key").tuf_key();
        let key_id = public.key_id().expect("key id");
        let roles = [RoleType::Root, RoleType::Timestamp, RoleType::Snapshot, RoleType::Targets]
            .into_iter()
            .map(|role| {
                let keys = RoleKeys {
                    keyids: vec![key_id.clone()],
                    threshold: std::num::NonZeroU64::MIN,
                    _extra: std::collections::HashMap::new(),
                };
                (role, keys)
            })
            .collect();
        let root = Root {
            spec_version: "1.0.0".to_owned(),
            consistent_snapshot: true,
            version: std::num::NonZeroU64::MIN,
            expires: in_days(365),
            keys: std::collections::HashMap::from([(key_id, public)]),
            roles,
            _extra: std::collections::HashMap::new(),
        };
        let keys: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: key.clone() })];
        let signed = SignedRole::new(root.clone(), &KeyHolder::Root(root), &keys, &SystemRandom::new())
            .await
            .expect("sign root");
        let root = signed.buffer().clone();
        std::fs::create_dir_all(dir.path().join("public/targets")).expect("repository layout");
        std::fs::write(dir.path().join("public/1.root.json"), &root).expect("write root");
        TufRepository { dir, key, root, target: Vec::new() }
    }

    /// The directory the server serves.
    fn public(&self) -> PathBuf {
        self.dir.path().join("public")
    }

    /// Publishes `target` as `trusted_root.json`: targets, snapshot and timestamp metadata at
    /// `version`, the timestamp expiring at `timestamp_expires`, the rest in a year.
    async fn publish(&mut self, target: &[u8], version: u64, timestamp_expires: Timestamp) {
        let staging = self.dir.path().join(format!("staging-{version}"));
        std::fs::create_dir_all(&staging).expect("staging dir");
        std::fs::write(staging.join("trusted_root.json"), target).expect("stage target");
        let root_path = self.dir.path().join("root.json");
        std::fs::write(&root_path, &self.root).expect("root for the editor");
        let version = std::num::NonZeroU64::new(version).expect("version");
        let mut editor = RepositoryEditor::new(&root_path).await.expect("editor");
        editor.add_target_path(staging.join("trusted_root.json")).await.expect("add target");
        editor
            .snapshot_version(version)
            .snapshot_expires(in_days(365))
            .timestamp_version(version)
            .timestamp_expires(timestamp_expires)
            .targets_version(version)
            .expect("targets version")
            .targets_expires(in_days(365))
            .expect("targets expiry");
        let keys: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: self.key.clone() })];
        let signed = editor.sign(&keys).await.expect("sign repository");
        signed.write(self.public()).await.expect("write metadata");
        signed.copy_targets(&staging, self.public().join("targets"), PathExists::Replace).await.expect("copy target");
        self.target = target.to_vec();
    }

    /// The published target file (`targets/<sha256>.trusted_root.json`).
    fn target_file(&self) -> PathBuf {
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&self.target));
        self.public().join("targets").join(format!("{hash}.trusted_root.json"))
    }
}

fn in_days(days: i64) -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(24 * days)
}

/// A static file server on a free loopback port, stopped when dropped.
struct FileServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    async fn start(root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, root.clone()));
            }
        });
        FileServer { addr, requests, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one `GET` with the file under `root`, or 404.
async fn serve(mut stream: TcpStream, root: PathBuf) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buffer[..n]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
    let file = (!path.split('/').any(|part| part == ".." || part.is_empty()))
        .then(|| std::fs::read(root.join(&path)).ok())
        .flatten();
    let response = match file {
        Some(body) => {
            let mut response =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
            response.extend_from_slice(&body);
            response
        }
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// A world with `1.4.0` signed by the release workflow, and a repository serving its trust root.
async fn signed_world() -> (World, Digest, TufRepository) {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let layer = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).expect("push signature");
    let mut repository = TufRepository::new().await;
    repository.publish(world.env.trusted_root().to_json().as_bytes(), 1, in_days(1)).await;
    std::fs::write(world.dir.path().join("tuf-root.json"), &repository.root).expect("initial root");
    (world, Digest::parse(&image.digest).expect("digest"), repository)
}

/// Writes and loads the keyless policy with `trustRoot: {tuf: {url, root: tuf-root.json, cacheDir}}`.
fn tuf_policy(world: &World, url: &str, cache: &Path) -> PolicySet {
    let text = format!(
        "apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {{name: release}}\nspec:\n  images: [\"{}/{REPO}\"]\n  trustRoot:\n    tuf:\n      url: {url}\n      root: tuf-root.json\n      cacheDir: {}\n{KEYLESS}",
        world.registry.host(),
        cache.display()
    );
    let path = world.dir.path().join("policy.yaml");
    std::fs::write(&path, text).expect("write policy");
    policy::load(&[path], &Limits::default()).expect("valid policy")
}

/// Verifies `1.4.0` against the set's policy with `verifier`.
async fn verify(
    world: &World,
    verifier: &Verifier<syncgate::registry::Registry>,
    set: &PolicySet,
    digest: &Digest,
) -> Outcome {
    verifier.verify(&set.images[0], &world.reference("1.4.0"), digest).await
}

fn verifier(world: &World) -> Verifier<syncgate::registry::Registry> {
    Verifier::new(World::client(&world.registry.host()))
}

/// A loopback URL nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn keyless_signature_verifies_with_a_trust_root_fetched_over_tuf() {
    let (world, digest, repository) = signed_world().await;
    let server = FileServer::start(repository.public()).await;
    let cache = world.dir.path().join("tuf-cache");
    let set = tuf_policy(&world, &server.url(), &cache);
    assert_eq!(server.requests(), 0, "loading the policy fetches nothing");

    let evidence = verify(&world, &verifier(&world), &set, &digest).await.expect("verified");
    let signer = serde_json::to_value(&evidence.signatures[0].signer).expect("signer");
    assert_eq!(signer["kind"], "keyless");
    assert!(evidence.signatures[0].log.is_some());
    // 2.root.json (absent), timestamp, snapshot, targets, the target.
    assert_eq!(server.requests(), 5);
    let records: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .flat_map(|repository| std::fs::read_dir(repository.expect("entry").path()).expect("repository dir"))
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(records.iter().any(|name| name.starts_with("target-")), "{records:?}");
    assert!(records.iter().any(|name| name == "metadata"), "{records:?}");
}

#[tokio::test]
async fn expired_timestamp_metadata_is_refused() {
    let (world, digest, mut repository) = signed_world().await;
    repository
        .publish(world.env.trusted_root().to_json().as_bytes(), 2, Timestamp::now() - SignedDuration::from_hours(1))
        .await;
    let server = FileServer::start(repository.public()).await;
    let set = tuf_policy(&world, &server.url(), &world.dir.path().join("tuf-cache"));

    let outcome = verify(&world, &verifier(&world), &set, &digest).await;
    let message = refused(&outcome);
    let expected = format!(
        "cannot verify signatures, so the image is refused: TUF repository {}/ failed verification: timestamp metadata is expired",
        server.url()
    );
    assert!(message.contains(&expected), "{message}");
    assert!(outcome.unwrap_err()[0].undecided);
}

#[tokio::test]
async fn a_target_that_does_not_match_the_targets_metadata_is_refused() {
    let (world, digest, repository) = signed_world().await;
    let file = repository.target_file();
    let mut tampered = std::fs::read(&file).expect("target");
    tampered[0] = b' ';
    std::fs::write(&file, &tampered).expect("tamper");
    let server = FileServer::start(repository.public()).await;
    let set = tuf_policy(&world, &server.url(), &world.dir.path().join("tuf-cache"));

    let outcome = verify(&world, &verifier(&world), &set, &digest).await;
    let message = refused(&outcome);
    assert!(
        message.contains(&format!("TUF repository {}/ failed verification: Hash mismatch for", server.url())),
        "{message}"
    );
    assert!(message.contains(".trusted_root.json"), "{message}");
    assert!(outcome.unwrap_err()[0].undecided);
}

#[tokio::test]
async fn an_unreachable_repository_without_a_cache_is_refused_as_undecided() {
    let (world, digest, _repository) = signed_world().await;
    let url = closed_port_url();
    let set = tuf_policy(&world, &url, &world.dir.path().join("tuf-cache"));

    let outcome = verify(&world, &verifier(&world), &set, &digest).await;
    let message = refused(&outcome);
    assert!(
        message.contains(&format!("TUF repository {url}/ cannot be reached and no trusted root fetched from it under unexpired metadata is cached")),
        "{message}"
    );
    assert!(message.contains("/timestamp.json"), "names what failed: {message}");
    assert!(outcome.unwrap_err()[0].undecided);
}

#[tokio::test]
async fn an_unreachable_repository_with_a_fresh_cache_still_verifies() {
    let (world, digest, repository) = signed_world().await;
    let server = FileServer::start(repository.public()).await;
    let url = server.url();
    let cache = world.dir.path().join("tuf-cache");
    let set = tuf_policy(&world, &url, &cache);
    verify(&world, &verifier(&world), &set, &digest).await.expect("verified, fetched");
    let fetched = server.requests();

    // A second process asks the repository again (a copy on disk could have been planted by whoever
    // can write the cache directory), reusing tough's cached metadata.
    verify(&world, &verifier(&world), &set, &digest).await.expect("verified again");
    assert!(server.requests() > fetched, "a new process asks the repository");

    // The repository goes away; a verifier that asks every time falls back to the cached copy,
    // fetched under metadata that has not expired.
    drop(server);
    let asking = verifier(&world).with_tuf_roots(TufRoots::new().with_refresh_interval(Duration::ZERO));
    verify(&world, &asking, &set, &digest).await.expect("verified with the cached trust root");
    // So does a new process.
    verify(&world, &verifier(&world), &set, &digest).await.expect("verified with the cached trust root");

    // Without the cache, the same outage is a refusal.
    let elsewhere = tuf_policy(&world, &url, &world.dir.path().join("empty-cache"));
    let outcome = verify(&world, &asking, &elsewhere, &digest).await;
    assert!(refused(&outcome).contains("cannot be reached"), "{}", refused(&outcome));
}

#[tokio::test]
async fn a_repository_failing_verification_is_refused_even_with_a_cached_copy() {
    let (world, digest, mut repository) = signed_world().await;
    let server = FileServer::start(repository.public()).await;
    let cache = world.dir.path().join("tuf-cache");
    let set = tuf_policy(&world, &server.url(), &cache);
    verify(&world, &verifier(&world), &set, &digest).await.expect("verified, fetched and cached");

    repository
        .publish(world.env.trusted_root().to_json().as_bytes(), 2, Timestamp::now() - SignedDuration::from_hours(1))
        .await;
    let asking = verifier(&world).with_tuf_roots(TufRoots::new().with_refresh_interval(Duration::ZERO));
    let outcome = verify(&world, &asking, &set, &digest).await;
    assert!(refused(&outcome).contains("failed verification: timestamp metadata is expired"), "{}", refused(&outcome));

    // The cached copy is discarded: a later process asks the repository again, and is refused too.
    let later = verify(&world, &verifier(&world), &set, &digest).await;
    assert!(refused(&later).contains("failed verification: timestamp metadata is expired"), "{}", refused(&later));
}
