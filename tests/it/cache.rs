//! The resolution cache against real tiers: a temp directory for the disk tier (written by several
//! resolvers, threads and processes at once) and a real `redis-server` (plain, with a password, with
//! TLS, tampered with, and down). The registry behind the cache is a counting fake.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rstest::rstest;
use sha2::{Digest as _, Sha256};
use syncgate::cache::{
    CacheCleared, CacheCounters, CacheError, CacheOptions, CachedResolver, DiskStats, RedisStats, TierCleared,
    TierCounters,
};
use syncgate::image::{Digest, ImageRef};
use syncgate::registry::{Resolve, ResolveError, Resolved};

use crate::support::free_port;
use crate::support::redis::TestRedis;

/// The HMAC key most tests configure.
const KEY: &[u8] = b"syncgate test hmac key: 32 bytes";

/// Another valid HMAC key, as another deployment (or an attacker guessing) would have.
const OTHER_KEY: &[u8] = b"a different key, also 32 bytes!!";

const MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// A registry fake: answers every tag with a digest derived from the reference and a generation
/// (bump it to "move" every tag), answers a digest reference with its own digest, fails on request,
/// and counts calls. Clones share their state.
#[derive(Clone, Default)]
struct Fake {
    calls: Arc<AtomicUsize>,
    generation: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
}

impl Fake {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// What the fake answers for `image` right now.
    fn digest_for(&self, image: &ImageRef) -> Digest {
        if let Some(digest) = image.digest() {
            return digest.clone();
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let hash = Sha256::digest(format!("{image}#{generation}"));
        Digest::parse(&format!("sha256:{hash:x}")).expect("a sha256 digest")
    }

    fn move_tags(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Resolve for Fake {
    fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = if self.failing.load(Ordering::SeqCst) {
            Err(ResolveError::Unavailable {
                image: image.to_string(),
                registry: image.registry().to_owned(),
                detail: "connection refused".to_owned(),
            })
        } else {
            Ok(Resolved { digest: self.digest_for(image), media_type: MEDIA_TYPE.to_owned() })
        };
        Box::pin(async move { answer })
    }
}

fn image(text: &str) -> ImageRef {
    ImageRef::parse(text).expect("a valid image reference")
}

/// A digest reference (its answer is immutable content).
fn pinned() -> ImageRef {
    image("ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

fn cached(fake: &Fake, options: CacheOptions) -> CachedResolver<Fake> {
    CachedResolver::new(fake.clone(), options).expect("a valid cache configuration")
}

fn disk(dir: &Path) -> CacheOptions {
    CacheOptions { disk_dir: Some(dir.to_path_buf()), ..CacheOptions::default() }
}

fn shared(redis: &TestRedis) -> CacheOptions {
    CacheOptions { redis_url: Some(redis.url()), hmac_key: Some(KEY.to_vec()), ..CacheOptions::default() }
}

/// Every file in the namespace directories under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for namespace in std::fs::read_dir(dir).expect("cache directory") {
        for file in std::fs::read_dir(namespace.expect("namespace directory").path()).expect("namespace directory") {
            files.push(file.expect("cache file").path());
        }
    }
    files.sort();
    files
}

/// The disk file holding `key` (`<namespace>:resolve:<hash>` → `<hash>.json`).
fn entry_file(dir: &Path, key: &str) -> PathBuf {
    let name = format!("{}.json", key.rsplit(':').next().unwrap_or_default());
    let found = files_under(dir).into_iter().find(|path| path.file_name().is_some_and(|file| *file == *name));
    assert!(found.is_some(), "no disk entry for {key} in {}", dir.display());
    found.unwrap_or_default()
}

/// Captures what the cache logs, for the current thread (tokio tests run on one).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }

    fn warnings(&self) -> Vec<String> {
        self.text().lines().filter(|line| line.contains(" WARN ")).map(str::to_owned).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Memory

#[tokio::test]
async fn memory_hit_answers_without_the_registry() {
    let fake = Fake::default();
    let cache = cached(&fake, CacheOptions::default());
    let nginx = image("nginx:1.27");
    let first = cache.resolve(&nginx).await.unwrap();
    assert_eq!(first, Resolved { digest: fake.digest_for(&nginx), media_type: MEDIA_TYPE.to_owned() });
    assert_eq!(cache.resolve(&image("docker.io/library/nginx:1.27")).await.unwrap(), first, "same normalised key");
    assert_eq!(fake.calls(), 1);
    let counters = cache.counters();
    assert_eq!(counters.memory, TierCounters { hits: 1, misses: 1, rejected: 0 });
    assert_eq!(counters.inner_calls, 1);
}

#[tokio::test]
async fn tag_answer_expires_after_the_tag_ttl() {
    let fake = Fake::default();
    let cache = cached(&fake, CacheOptions { tag_ttl: Duration::from_millis(800), ..CacheOptions::default() });
    let api = image("ghcr.io/acme/api:stable");
    let before = cache.resolve(&api).await.unwrap().digest;
    fake.move_tags();
    assert_eq!(cache.resolve(&api).await.unwrap().digest, before, "still cached");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let after = cache.resolve(&api).await.unwrap().digest;
    assert_ne!(after, before, "the moved tag is seen once the TTL has passed");
    assert_eq!(after, fake.digest_for(&api));
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn digest_reference_is_kept_longer_than_a_tag() {
    let fake = Fake::default();
    let dir = tempfile::tempdir().unwrap();
    let options = CacheOptions { tag_ttl: Duration::from_millis(200), ..disk(dir.path()) };
    let cache = cached(&fake, options.clone());
    let tag = image("ghcr.io/acme/api:stable");
    cache.resolve(&tag).await.unwrap();
    cache.resolve(&pinned()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    cache.resolve(&tag).await.unwrap();
    cache.resolve(&pinned()).await.unwrap();
    assert_eq!(fake.calls(), 3, "the tag was asked again, the digest reference was not");
    let next_process = Fake::default();
    cached(&next_process, options).resolve(&pinned()).await.unwrap();
    assert_eq!(next_process.calls(), 0, "the digest answer is still on disk");
}

// ---------------------------------------------------------------------------------------------
// Disk

#[tokio::test]
async fn new_process_answers_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let tag = image("ghcr.io/acme/api:1.4");
    let first = cached(&Fake::default(), disk(dir.path()));
    let answers = (first.resolve(&tag).await.unwrap(), first.resolve(&pinned()).await.unwrap());

    let fake = Fake::default();
    let second = cached(&fake, disk(dir.path()));
    assert_eq!((second.resolve(&tag).await.unwrap(), second.resolve(&pinned()).await.unwrap()), answers);
    second.resolve(&tag).await.unwrap();
    assert_eq!(fake.calls(), 0);
    let counters = second.counters();
    assert_eq!(counters.disk, TierCounters { hits: 2, misses: 0, rejected: 0 });
    assert_eq!(counters.memory.hits, 1, "a disk hit fills memory");
}

#[cfg(unix)]
#[tokio::test]
async fn disk_entries_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cache");
    cached(&Fake::default(), disk(&dir)).resolve(&image("nginx:1")).await.unwrap();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files = files_under(&dir);
    assert_eq!(files.len(), 1);
    assert_eq!(mode(files[0].parent().unwrap()), 0o700);
    assert_eq!(mode(&files[0]), 0o600);
}

#[tokio::test]
async fn another_scope_does_not_see_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let scoped = |scope: &str| CacheOptions { scope: scope.to_owned(), ..disk(dir.path()) };
    cached(&Fake::default(), scoped("creds:alice")).resolve(&image("registry.test/app:1")).await.unwrap();
    let fake = Fake::default();
    cached(&fake, scoped("creds:bob")).resolve(&image("registry.test/app:1")).await.unwrap();
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn unusable_disk_directory_is_skipped_with_a_warning() {
    let (logs, _guard) = Logs::capture();
    let file = tempfile::NamedTempFile::new().unwrap();
    let dir = file.path().join("cache");
    let fake = Fake::default();
    let cache = cached(&fake, disk(&dir));
    cache.resolve(&image("nginx:1")).await.unwrap();
    cache.resolve(&image("nginx:1")).await.unwrap();
    assert_eq!(fake.calls(), 1, "memory still works");
    assert!(logs.warnings().iter().any(|line| line.contains("cannot use the disk cache directory")), "{}", logs.text());
    assert!(matches!(cache.stats().await.disk, DiskStats::Unreadable { .. }));
    assert!(matches!(cache.clear().await.disk, TierCleared::Failed(_)));
}

#[tokio::test]
async fn expired_disk_entry_is_refetched_without_a_warning() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let options = CacheOptions { tag_ttl: Duration::from_millis(150), ..disk(dir.path()) };
    cached(&Fake::default(), options.clone()).resolve(&image("nginx:1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let fake = Fake::default();
    let cache = cached(&fake, options);
    cache.resolve(&image("nginx:1")).await.unwrap();
    assert_eq!(fake.calls(), 1);
    assert_eq!(cache.counters().disk, TierCounters { hits: 0, misses: 1, rejected: 0 });
    assert!(logs.warnings().is_empty(), "{}", logs.text());
}

/// Ways a disk entry can go bad.
#[derive(Debug, Clone, Copy)]
enum Damage {
    Garbage,
    Empty,
    Truncated,
    /// Another key's (valid) entry copied over this one.
    Foreign,
    /// The digest replaced, seal kept.
    DigestSwapped,
    /// Written by a process with another HMAC key.
    SignedWithAnotherKey,
    /// Written with a plain checksum, read where an HMAC key is configured.
    ChecksumWhereHmacIsExpected,
}

#[rstest]
#[case::garbage(Damage::Garbage)]
#[case::empty(Damage::Empty)]
#[case::truncated(Damage::Truncated)]
#[case::foreign(Damage::Foreign)]
#[case::digest_swapped(Damage::DigestSwapped)]
#[case::signed_with_another_key(Damage::SignedWithAnotherKey)]
#[case::checksum_where_hmac_is_expected(Damage::ChecksumWhereHmacIsExpected)]
#[tokio::test]
async fn damaged_disk_entry_is_ignored_logged_and_refetched(#[case] damage: Damage) {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let (writer_key, reader_key) = match damage {
        Damage::SignedWithAnotherKey => (Some(OTHER_KEY), Some(KEY)),
        Damage::ChecksumWhereHmacIsExpected => (None, Some(KEY)),
        Damage::DigestSwapped => (Some(KEY), Some(KEY)),
        _ => (None, None),
    };
    let options = |key: Option<&[u8]>| CacheOptions { hmac_key: key.map(<[u8]>::to_vec), ..disk(dir.path()) };
    let target = image("ghcr.io/acme/api:1.4");
    let neighbour = image("ghcr.io/acme/web:1.4");
    let writer = cached(&Fake::default(), options(writer_key));
    writer.resolve(&target).await.unwrap();
    writer.resolve(&neighbour).await.unwrap();
    let key = writer.cache_key(&target);
    let path = entry_file(dir.path(), &key);
    let stored = std::fs::read(&path).unwrap();
    match damage {
        Damage::Garbage => std::fs::write(&path, b"\x00\xffnot an entry").unwrap(),
        Damage::Empty => std::fs::write(&path, b"").unwrap(),
        Damage::Truncated => std::fs::write(&path, &stored[..stored.len() / 2]).unwrap(),
        Damage::Foreign => {
            std::fs::copy(entry_file(dir.path(), &writer.cache_key(&neighbour)), &path).map(drop).unwrap();
        }
        Damage::DigestSwapped => {
            let mut json: serde_json::Value = serde_json::from_slice(&stored).unwrap();
            json["digest"] = serde_json::json!(format!("sha256:{}", "e".repeat(64)));
            std::fs::write(&path, json.to_string()).unwrap();
        }
        Damage::SignedWithAnotherKey | Damage::ChecksumWhereHmacIsExpected => {}
    }

    let fake = Fake::default();
    let reader = cached(&fake, options(reader_key));
    assert_eq!(reader.resolve(&target).await.unwrap().digest, fake.digest_for(&target));
    assert_eq!(fake.calls(), 1, "refetched");
    assert_eq!(reader.counters().disk.rejected, 1);
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(warnings[0].contains("ignoring cache entry") && warnings[0].contains(&key), "{}", warnings[0]);

    let next = Fake::default();
    cached(&next, options(reader_key)).resolve(&target).await.unwrap();
    assert_eq!(next.calls(), 0, "the refetched answer replaced the bad entry");
}

/// Environment variable that turns [`disk_writer_child`] from a no-op into a writer on that directory.
const CHILD_DIR: &str = "SYNCGATE_TEST_CACHE_CHILD_DIR";

/// Images every writer resolves, all sharing one small set of files.
const HAMMERED_IMAGES: usize = 12;

/// Resolves [`HAMMERED_IMAGES`] images through a fresh resolver per round on `dir` for `run_for`, with
/// a tag TTL so short that entries are rewritten all the time, checking every answer. Returns the
/// counters summed over rounds.
async fn hammer(dir: &Path, run_for: Duration) -> CacheCounters {
    let images: Vec<_> = (0..HAMMERED_IMAGES).map(|i| image(&format!("registry.test/team/app{i}:v1"))).collect();
    let options = CacheOptions { tag_ttl: Duration::from_millis(30), hmac_key: Some(KEY.to_vec()), ..disk(dir) };
    let mut total = CacheCounters::default();
    let deadline = Instant::now() + run_for;
    while Instant::now() < deadline {
        let fake = Fake::default();
        let cache = cached(&fake, options.clone());
        for image in &images {
            assert_eq!(cache.resolve(image).await.expect("resolved").digest, fake.digest_for(image));
        }
        let counters = cache.counters();
        total.disk.hits += counters.disk.hits;
        total.disk.misses += counters.disk.misses;
        total.disk.rejected += counters.disk.rejected;
        total.inner_calls += counters.inner_calls;
    }
    total
}

/// After writers are done: only whole entry files (no temporary files left), all valid.
async fn assert_only_valid_entries(dir: &Path) {
    let files = files_under(dir);
    assert_eq!(files.len(), HAMMERED_IMAGES, "{files:#?}");
    assert!(files.iter().all(|file| file.extension().is_some_and(|ext| ext == "json")), "{files:#?}");
    let options = CacheOptions { hmac_key: Some(KEY.to_vec()), ..disk(dir) };
    let stats = cached(&Fake::default(), options).stats().await;
    assert!(
        matches!(stats.disk, DiskStats::Entries { entries, invalid: 0, .. } if entries == HAMMERED_IMAGES as u64),
        "{stats}"
    );
}

/// Not a test on its own: the body of each child process of
/// `two_processes_writing_at_once_leave_only_valid_entries`, which sets [`CHILD_DIR`].
#[tokio::test]
#[ignore = "helper run as a child process by two_processes_writing_at_once_leave_only_valid_entries"]
async fn disk_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let counters = hammer(Path::new(&dir), Duration::from_millis(1500)).await;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "writer-result hits={} misses={} rejected={} inner={}",
        counters.disk.hits, counters.disk.misses, counters.disk.rejected, counters.inner_calls
    )
    .unwrap();
}

#[test]
fn two_processes_writing_at_once_leave_only_valid_entries() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["cache::disk_writer_child", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
                .env(CHILD_DIR, dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        // libtest prints the test name on the same line, before the body's output.
        let line = stdout.lines().find_map(|line| line.split_once("writer-result ")).map(|(_, rest)| rest);
        let line = line.unwrap_or_else(|| panic!("no writer-result in the child's output:\n{stdout}"));
        let field = |name: &str| -> u64 {
            let prefix = format!("{name}=");
            line.split(' ').find_map(|part| part.strip_prefix(&prefix)).unwrap().parse().unwrap()
        };
        assert_eq!(field("rejected"), 0, "a writer saw a torn or invalid entry: {line}");
        assert!(field("hits") > 0 && field("inner") > 0, "the writer both read and wrote: {line}");
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(assert_only_valid_entries(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_threads_with_separate_resolvers_leave_only_valid_entries() {
    let dir = tempfile::tempdir().unwrap();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            tokio::spawn(async move { hammer(&dir, Duration::from_millis(800)).await })
        })
        .collect();
    for writer in writers {
        let counters = writer.await.unwrap();
        assert_eq!(counters.disk.rejected, 0, "{counters}");
        assert!(counters.disk.hits > 0 && counters.inner_calls > 0, "{counters}");
    }
    assert_only_valid_entries(dir.path()).await;
}

// ---------------------------------------------------------------------------------------------
// Redis

#[tokio::test]
async fn redis_answers_other_replicas_with_redis_ttls() {
    let redis = TestRedis::start();
    let tag = image("ghcr.io/acme/api:1.4");
    let first = cached(&Fake::default(), shared(&redis));
    let answers = (first.resolve(&tag).await.unwrap(), first.resolve(&pinned()).await.unwrap());

    let fake = Fake::default();
    let second = cached(&fake, shared(&redis));
    assert_eq!((second.resolve(&tag).await.unwrap(), second.resolve(&pinned()).await.unwrap()), answers);
    assert_eq!(fake.calls(), 0);
    assert_eq!(second.counters().redis, TierCounters { hits: 2, misses: 0, rejected: 0 });

    let mut connection = redis.connection();
    let mut ttl = |key: String| -> i64 { redis::cmd("TTL").arg(key).query(&mut connection).unwrap() };
    let tag_ttl = ttl(first.cache_key(&tag));
    assert!((290..=300).contains(&tag_ttl), "tag entries live 5 minutes: {tag_ttl}");
    let digest_ttl = ttl(first.cache_key(&pinned()));
    assert!((86_390..=86_400).contains(&digest_ttl), "digest entries live 24 hours: {digest_ttl}");
}

#[tokio::test]
async fn redis_hit_fills_disk_and_memory() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let tag = image("ghcr.io/acme/api:1.4");
    cached(&Fake::default(), shared(&redis)).resolve(&tag).await.unwrap();

    let fake = Fake::default();
    let both = cached(&fake, CacheOptions { disk_dir: Some(dir.path().to_path_buf()), ..shared(&redis) });
    both.resolve(&tag).await.unwrap();
    both.resolve(&tag).await.unwrap();
    let counters = both.counters();
    assert_eq!((counters.redis.hits, counters.memory.hits, fake.calls()), (1, 1, 0));

    let disk_only = Fake::default();
    let options = CacheOptions { hmac_key: Some(KEY.to_vec()), ..disk(dir.path()) };
    cached(&disk_only, options).resolve(&tag).await.unwrap();
    assert_eq!(disk_only.calls(), 0, "the Redis answer was written to disk");
}

#[tokio::test]
async fn redis_with_a_password() {
    let redis = TestRedis::with_password("s3cret-pass");
    assert!(redis.url().contains(":s3cret-pass@"));
    let tag = image("ghcr.io/acme/api:1.4");
    cached(&Fake::default(), shared(&redis)).resolve(&tag).await.unwrap();
    let fake = Fake::default();
    cached(&fake, shared(&redis)).resolve(&tag).await.unwrap();
    assert_eq!(fake.calls(), 0);

    let (logs, _guard) = Logs::capture();
    let wrong = CacheOptions { redis_url: Some(redis.url().replace("s3cret-pass", "wrong-pass")), ..shared(&redis) };
    let fake = Fake::default();
    cached(&fake, wrong).resolve(&tag).await.unwrap();
    assert_eq!(fake.calls(), 1, "a refused password means no Redis, not no answer");
    let text = logs.text();
    assert!(text.contains("redis cache unavailable"), "{text}");
    assert!(!text.contains("wrong-pass") && !text.contains("s3cret-pass"), "{text}");
}

/// Ways a Redis entry can be forged or damaged by someone who can write to Redis.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    /// The tag redirected to another digest, seal kept.
    DigestSwapped,
    /// The expiry pushed out, seal kept.
    ExpiryExtended,
    /// The seal emptied.
    Unsigned,
    /// A plain checksum where an HMAC is required.
    ChecksumInsteadOfHmac,
    /// Written by someone with another HMAC key.
    SignedWithAnotherKey,
    /// Not an entry at all.
    Garbage,
    /// The key holds a hash, not a string.
    NotAString,
}

#[rstest]
#[case::digest_swapped(Tamper::DigestSwapped)]
#[case::expiry_extended(Tamper::ExpiryExtended)]
#[case::unsigned(Tamper::Unsigned)]
#[case::checksum_instead_of_hmac(Tamper::ChecksumInsteadOfHmac)]
#[case::signed_with_another_key(Tamper::SignedWithAnotherKey)]
#[case::garbage(Tamper::Garbage)]
#[case::not_a_string(Tamper::NotAString)]
#[tokio::test]
async fn tampered_redis_entry_is_ignored_logged_and_refetched(#[case] tamper: Tamper) {
    let (logs, _guard) = Logs::capture();
    let redis = TestRedis::start();
    let tag = image("ghcr.io/acme/api:1.4");
    let writer_key = if matches!(tamper, Tamper::SignedWithAnotherKey) { OTHER_KEY } else { KEY };
    let writer = cached(&Fake::default(), CacheOptions { hmac_key: Some(writer_key.to_vec()), ..shared(&redis) });
    writer.resolve(&tag).await.unwrap();
    let key = writer.cache_key(&tag);

    let forged = format!("sha256:{}", "e".repeat(64));
    let mut connection = redis.connection();
    let stored: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    let replacement = match tamper {
        Tamper::DigestSwapped => {
            json["digest"] = serde_json::json!(forged);
            Some(json.to_string())
        }
        Tamper::ExpiryExtended => {
            json["expires_at_ms"] = serde_json::json!(json["expires_at_ms"].as_u64().unwrap() + 1_000);
            Some(json.to_string())
        }
        Tamper::Unsigned => {
            json["seal"] = serde_json::json!("");
            Some(json.to_string())
        }
        Tamper::ChecksumInsteadOfHmac => {
            json["seal"] = serde_json::json!(format!("sha256:{}", "0".repeat(64)));
            Some(json.to_string())
        }
        Tamper::Garbage => Some("{\"digest\":".to_owned()),
        Tamper::SignedWithAnotherKey => None,
        Tamper::NotAString => {
            let _: u64 = redis::cmd("DEL").arg(&key).query(&mut connection).unwrap();
            let _: u64 = redis::cmd("HSET").arg(&key).arg("digest").arg(&forged).query(&mut connection).unwrap();
            None
        }
    };
    if let Some(replacement) = replacement {
        let () = redis::cmd("SET").arg(&key).arg(replacement).arg("EX").arg(300).query(&mut connection).unwrap();
    }

    let fake = Fake::default();
    let reader = cached(&fake, shared(&redis));
    let answer = reader.resolve(&tag).await.unwrap();
    assert_eq!(answer.digest, fake.digest_for(&tag));
    assert_ne!(answer.digest.as_str(), forged);
    assert_eq!(fake.calls(), 1, "refetched from the registry");
    assert_eq!(reader.counters().redis, TierCounters { hits: 0, misses: 1, rejected: 1 });
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(warnings[0].contains("ignoring cache entry") && warnings[0].contains(&key), "{}", warnings[0]);
    let text = logs.text();
    for secret in [KEY, OTHER_KEY] {
        assert!(!text.contains(std::str::from_utf8(secret).unwrap()), "the HMAC key is never logged: {text}");
    }

    let next = Fake::default();
    assert_eq!(cached(&next, shared(&redis)).resolve(&tag).await.unwrap(), answer);
    assert_eq!(next.calls(), 0, "the refetched answer replaced the bad entry");
}

#[tokio::test]
async fn redis_down_costs_one_warning_and_no_failure() {
    let (logs, _guard) = Logs::capture();
    let options = CacheOptions {
        redis_url: Some(format!("redis://127.0.0.1:{}/0", free_port())),
        hmac_key: Some(KEY.to_vec()),
        ..CacheOptions::default()
    };
    let fake = Fake::default();
    let cache = cached(&fake, options);
    let started = Instant::now();
    for i in 0..5 {
        cache.resolve(&image(&format!("registry.test/app{i}:1"))).await.unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(fake.calls(), 5);
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(warnings[0].contains("redis cache unavailable"), "{}", warnings[0]);
    assert!(matches!(cache.stats().await.redis, RedisStats::Unavailable { .. }));
}

#[tokio::test]
async fn redis_dying_mid_run_is_survived() {
    let mut redis = TestRedis::start();
    let fake = Fake::default();
    let cache = cached(&fake, shared(&redis));
    cache.resolve(&image("registry.test/app:1")).await.unwrap();
    redis.stop();
    let started = Instant::now();
    cache.resolve(&image("registry.test/app:2")).await.unwrap();
    cache.resolve(&image("registry.test/app:1")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(fake.calls(), 2, "the second image from the registry, the first from memory");
}

#[rstest]
#[case::plain("redis://127.0.0.1:6379/0")]
#[case::tls("rediss://redis.example:6380/0")]
fn redis_without_an_hmac_key_is_a_configuration_error(#[case] url: &str) {
    let options = CacheOptions { redis_url: Some(url.to_owned()), ..CacheOptions::default() };
    let err = CachedResolver::new(Fake::default(), options).err().unwrap();
    assert!(matches!(err, CacheError::RedisWithoutHmacKey), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("HMAC key") && message.contains("--cache-key-file"), "{message}");
}

#[test]
fn invalid_redis_url_is_a_configuration_error_without_the_password() {
    let options = CacheOptions {
        redis_url: Some("http://:hunter2@redis:6379".to_owned()),
        hmac_key: Some(KEY.to_vec()),
        ..CacheOptions::default()
    };
    let err = CachedResolver::new(Fake::default(), options).err().unwrap();
    assert!(matches!(err, CacheError::RedisUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn rediss_with_a_private_ca() {
    let redis = TestRedis::with_tls();
    assert!(redis.url().starts_with("rediss://"));
    let options = CacheOptions { redis_ca_cert: Some(redis.ca_cert().to_path_buf()), ..shared(&redis) };
    let tag = image("ghcr.io/acme/api:1.4");
    cached(&Fake::default(), options.clone()).resolve(&tag).await.unwrap();
    let fake = Fake::default();
    let replica = cached(&fake, options);
    replica.resolve(&tag).await.unwrap();
    assert_eq!(fake.calls(), 0, "answered over TLS");
    assert!(matches!(replica.stats().await.redis, RedisStats::Keys { keys: 1, .. }));

    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    cached(&fake, shared(&redis)).resolve(&tag).await.unwrap();
    assert_eq!(fake.calls(), 1, "without the CA the server is not trusted, so Redis is skipped");
    assert!(logs.text().contains("redis cache unavailable"), "{}", logs.text());
}

// ---------------------------------------------------------------------------------------------
// Stats, clear, errors

#[tokio::test]
async fn stats_and_clear_cover_every_tier_and_only_this_namespace() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let options = CacheOptions { disk_dir: Some(dir.path().to_path_buf()), ..shared(&redis) };
    let fake = Fake::default();
    let cache = cached(&fake, options.clone());
    for i in 0..3 {
        cache.resolve(&image(&format!("registry.test/app{i}:1"))).await.unwrap();
    }
    // Neighbours that clearing must leave alone: a namespace extending ours, and an unrelated key.
    let neighbour = cached(&Fake::default(), CacheOptions { namespace: "syncgate:v1:staging".to_owned(), ..options });
    neighbour.resolve(&image("registry.test/app0:1")).await.unwrap();
    let mut connection = redis.connection();
    let () = redis::cmd("SET").arg("unrelated").arg("keep me").query(&mut connection).unwrap();

    let stats = cache.stats().await;
    assert_eq!(stats.memory_entries, 3);
    assert!(matches!(stats.disk, DiskStats::Entries { entries: 3, expired: 0, invalid: 0, bytes, .. } if bytes > 0));
    assert!(matches!(&stats.redis, RedisStats::Keys { keys: 3, namespace, .. } if namespace == "syncgate:v1"));
    let text = stats.to_string();
    assert!(text.starts_with("memory: 3 entries\ndisk:   3 entries (0 expired, 0 invalid), "), "{text}");
    assert!(text.contains("redis:  3 keys and 0 evidence keys under syncgate:v1 at 127.0.0.1:"), "{text}");

    let cleared = cache.clear().await;
    assert_eq!(cleared, CacheCleared { memory: 3, disk: TierCleared::Removed(3), redis: TierCleared::Removed(3) });
    let stats = cache.stats().await;
    assert_eq!(stats.memory_entries, 0);
    assert!(matches!(stats.disk, DiskStats::Entries { entries: 0, .. }), "{stats}");
    assert!(matches!(stats.redis, RedisStats::Keys { keys: 0, .. }), "{stats}");

    let neighbour_stats = neighbour.stats().await;
    assert!(matches!(neighbour_stats.disk, DiskStats::Entries { entries: 1, .. }), "{neighbour_stats}");
    assert!(matches!(neighbour_stats.redis, RedisStats::Keys { keys: 1, .. }), "{neighbour_stats}");
    let unrelated: String = redis::cmd("GET").arg("unrelated").query(&mut connection).unwrap();
    assert_eq!(unrelated, "keep me");

    cache.resolve(&image("registry.test/app0:1")).await.unwrap();
    assert_eq!(fake.calls(), 4, "cleared answers are fetched again");
}

#[tokio::test]
async fn stats_show_tiers_that_are_not_configured() {
    let stats = cached(&Fake::default(), CacheOptions::default()).stats().await;
    assert_eq!(stats.to_string(), "memory: 0 entries\ndisk:   not configured\nredis:  not configured\n");
}

#[tokio::test]
async fn errors_are_not_cached_in_any_tier() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let options = CacheOptions { disk_dir: Some(dir.path().to_path_buf()), ..shared(&redis) };
    let fake = Fake::default();
    let cache = cached(&fake, options);
    let api = image("ghcr.io/acme/api:1.4");
    fake.fail(true);
    assert!(matches!(cache.resolve(&api).await, Err(ResolveError::Unavailable { .. })));
    assert!(matches!(cache.resolve(&api).await, Err(ResolveError::Unavailable { .. })));
    let stats = cache.stats().await;
    assert_eq!(stats.memory_entries, 0);
    assert!(matches!(stats.disk, DiskStats::Entries { entries: 0, .. }), "{stats}");
    assert!(matches!(stats.redis, RedisStats::Keys { keys: 0, .. }), "{stats}");
    fake.fail(false);
    assert_eq!(cache.resolve(&api).await.unwrap().digest, fake.digest_for(&api));
    assert_eq!(fake.calls(), 3);
}
