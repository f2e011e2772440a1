//! The resolution cache: a tiered cache (memory → disk → Redis) in front of any [`Resolve`].
//!
//! Owns what is cached, for how long and under which key. It caches successful answers only (an error
//! is always asked again), never decides anything about an image, and treats every tier as optional:
//! a corrupt, foreign or tampered entry, an unwritable directory or an unreachable Redis is logged
//! and costs a refetch, never a failed sync. Only configuration mistakes are errors ([`CacheError`]).
//!
//! Keys hash everything an answer depends on: the caller's scope (credentials, TLS settings), the
//! normalised registry, repository, tag and digest. Entries stored outside the process carry their
//! key, value and expiry under a seal: an HMAC-SHA256 when [`CacheOptions::hmac_key`] is set, a
//! SHA-256 checksum otherwise. Redis entries are always HMAC-signed, so whoever can write to Redis
//! cannot point a tag at another digest.
//!
//! The disk and Redis tiers also keep verified evidence for the verifier ([`CachedResolver::load_evidence`],
//! [`CachedResolver::store_evidence`]): opaque bytes under the caller's key, sealed with HMAC-SHA256
//! over a domain of their own. An evidence entry says "this digest satisfied this policy", so a forged
//! one would skip verification: evidence is stored and read only when an HMAC key is configured, never
//! under a checksum. Evidence in memory is the verifier's business.

mod disk;
mod entry;
mod evidence;
mod memory;
mod redis;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use sha2::{Digest as _, Sha256};

use self::disk::DiskTier;
use self::entry::{Entry, Expect, Rejection, Sealer};
use self::memory::MemoryTier;
use self::redis::{Fetch, RedisTier, redact_url};
use crate::image::{Digest, ImageRef};
use crate::registry::{Resolve, ResolveError, Resolved};

/// The shortest HMAC key accepted, in bytes.
pub const MIN_HMAC_KEY_BYTES: usize = 16;

/// Domain separation for key hashes; bump it when what a key covers changes.
const KEY_DOMAIN: &[u8] = b"syncgate-resolve-key-v1\0";

/// Domain separation for evidence key hashes.
const EVIDENCE_KEY_DOMAIN: &[u8] = b"syncgate-evidence-key-v1\0";

/// The disk tier's subdirectory (of the namespace directory) holding evidence entries.
const EVIDENCE_DIR: &str = "evidence";

/// How the cache is set up. Every tier but memory is off unless configured.
#[derive(Clone)]
pub struct CacheOptions {
    /// How long a tag → digest answer is trusted (tags move). Zero disables caching of tag answers.
    pub tag_ttl: Duration,
    /// How long an answer for a reference that carries a digest is trusted (its content cannot
    /// change; only its availability can). Zero disables caching of such answers.
    pub digest_ttl: Duration,
    /// Most entries in the in-process tier; zero disables that tier.
    pub memory_entries: usize,
    /// Directory for the on-disk tier (created 0700 if missing); `None` disables it. A directory that
    /// cannot be created is logged and the tier left off.
    pub disk_dir: Option<PathBuf>,
    /// Redis for the shared tier: `redis://[:password@]host:port/db`, or `rediss://…` for TLS. Requires
    /// [`CacheOptions::hmac_key`]. `None` disables it.
    pub redis_url: Option<String>,
    /// PEM file of the CA that signed the Redis server's certificate, for `rediss://` with a private
    /// CA; `None` trusts the bundled web PKI roots.
    pub redis_ca_cert: Option<PathBuf>,
    /// Secret key (at least [`MIN_HMAC_KEY_BYTES`] bytes, the same on every replica) for signing
    /// entries stored outside the process. Required with Redis; also used on disk when set. Without
    /// it, no evidence is stored or read outside the process.
    pub hmac_key: Option<Vec<u8>>,
    /// Prefix of every key and name of the disk directory, e.g. to separate environments sharing a
    /// Redis. Letters, digits and `:._-` only.
    pub namespace: String,
    /// What else the answers depend on, supplied by the caller (e.g. a hash of the credential identity
    /// and the TLS settings): answers cached under one scope are never returned under another.
    pub scope: String,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            tag_ttl: Duration::from_secs(5 * 60),
            digest_ttl: Duration::from_secs(24 * 60 * 60),
            memory_entries: 10_000,
            disk_dir: None,
            redis_url: None,
            redis_ca_cert: None,
            hmac_key: None,
            namespace: "syncgate:v1".to_owned(),
            scope: String::new(),
        }
    }
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("tag_ttl", &self.tag_ttl)
            .field("digest_ttl", &self.digest_ttl)
            .field("memory_entries", &self.memory_entries)
            .field("disk_dir", &self.disk_dir)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_ca_cert", &self.redis_ca_cert)
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "***"))
            .field("namespace", &self.namespace)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A cache configuration that cannot work. Nothing that happens while resolving is a `CacheError`.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Redis is configured but no HMAC key is, so tag entries could be redirected by anyone able to
    /// write to Redis.
    #[error(
        "the Redis cache needs an HMAC key, so that whoever can write to Redis cannot point a tag at \
         another digest: pass `--cache-key-file FILE` (or set `cache.keyFile` in the config file) naming a \
         file with at least 32 random bytes shared by every replica, e.g. made with `openssl rand -base64 32` \
         and mounted from a Secret; or remove the Redis URL"
    )]
    RedisWithoutHmacKey,
    /// The HMAC key is too short to be a secret.
    #[error(
        "the cache HMAC key is {len} bytes long; use at least {MIN_HMAC_KEY_BYTES} (32 random bytes \
         recommended, e.g. `openssl rand -base64 32`)"
    )]
    HmacKeyTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The namespace contains characters that are unsafe in keys, glob patterns or file names.
    #[error("invalid cache namespace {namespace:?}: use letters, digits and `:._-` only")]
    InvalidNamespace {
        /// The namespace as given.
        namespace: String,
    },
    /// The Redis URL does not parse, or TLS settings do not fit it.
    #[error("invalid Redis URL {url}")]
    RedisUrl {
        /// The URL, password redacted.
        url: String,
        /// What the Redis client said.
        #[source]
        source: ::redis::RedisError,
    },
    /// The Redis CA certificate file cannot be read.
    #[error("cannot read the Redis CA certificate {}", path.display())]
    RedisCaCert {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// A [`Resolve`] that answers from memory, disk or Redis when it can and asks `R` otherwise.
///
/// A hit in a lower tier fills the tiers above it; an answer from `R` fills all of them, keeping the
/// expiry it was first given (a tag answer is never trusted for longer than `tag_ttl` in total).
pub struct CachedResolver<R> {
    inner: R,
    namespace: String,
    scope: String,
    tag_ttl: Duration,
    digest_ttl: Duration,
    sealer: Sealer,
    memory: MemoryTier,
    disk: Option<Arc<DiskTier>>,
    /// The evidence subdirectory of the disk tier (created on first write).
    evidence_disk: Option<Arc<DiskTier>>,
    /// A configured disk directory that could not be set up, and why (the tier is then off).
    disk_unusable: Option<(PathBuf, String)>,
    redis: Option<RedisTier>,
    counters: Counters,
    /// Whether a failed disk write has been reported (reported once per process).
    disk_write_reported: AtomicBool,
}

/// One cache key, with what checking an entry for it requires.
struct Key {
    /// `<namespace>:resolve:<hash>`: the Redis key and the key stored in every entry.
    name: String,
    /// The hex hash: the disk file stem.
    hash: String,
    /// How long an answer for it may be cached.
    ttl: Duration,
    /// For a digest reference, the digest the answer must carry.
    digest: Option<Digest>,
}

impl Key {
    /// What an entry read for this key must satisfy.
    fn expect(&self, require_hmac: bool, now_ms: u64) -> Expect<'_> {
        Expect { key: &self.name, require_hmac, now_ms, max_ttl_ms: millis(self.ttl), digest: self.digest.as_ref() }
    }
}

impl<R: Resolve> CachedResolver<R> {
    /// Puts a cache configured by `options` in front of `inner`. Creates the disk directory (or warns
    /// and runs without the disk tier if it cannot); does not connect to Redis (that happens on first
    /// use).
    pub fn new(inner: R, options: CacheOptions) -> Result<Self, CacheError> {
        let CacheOptions {
            tag_ttl,
            digest_ttl,
            memory_entries,
            disk_dir,
            redis_url,
            redis_ca_cert,
            hmac_key,
            namespace,
            scope,
        } = options;
        if namespace.is_empty()
            || !namespace.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-'))
        {
            return Err(CacheError::InvalidNamespace { namespace });
        }
        if let Some(key) = &hmac_key
            && key.len() < MIN_HMAC_KEY_BYTES
        {
            return Err(CacheError::HmacKeyTooShort { len: key.len() });
        }
        if redis_url.is_some() && hmac_key.is_none() {
            return Err(CacheError::RedisWithoutHmacKey);
        }
        // HMAC accepts keys of any length, so this cannot fail; reported as too short if it ever did.
        let sealer = Sealer::new(hmac_key.as_deref())
            .map_err(|_| CacheError::HmacKeyTooShort { len: hmac_key.as_ref().map_or(0, Vec::len) })?;
        // An unusable directory is the environment's problem, not the configuration's: the cache runs
        // without its disk tier rather than failing the sync.
        let (disk, disk_unusable) = match disk_dir.map(|dir| (DiskTier::open(&dir, &namespace), dir)) {
            None => (None, None),
            Some((Ok(disk), _)) => (Some(Arc::new(disk)), None),
            Some((Err(err), dir)) => {
                tracing::warn!(
                    dir = %dir.display(),
                    error = %err,
                    "cannot use the disk cache directory; continuing without it"
                );
                (None, Some((dir, err.to_string())))
            }
        };
        let evidence_disk = disk.as_ref().map(|disk| Arc::new(disk.child(EVIDENCE_DIR)));
        let redis = redis_url
            .map(|url| {
                let ca_cert = redis_ca_cert
                    .map(|path| std::fs::read(&path).map_err(|source| CacheError::RedisCaCert { path, source }))
                    .transpose()?;
                RedisTier::new(&url, ca_cert).map_err(|source| CacheError::RedisUrl { url: redact_url(&url), source })
            })
            .transpose()?;
        Ok(Self {
            inner,
            namespace,
            scope,
            tag_ttl,
            digest_ttl,
            sealer,
            memory: MemoryTier::new(memory_entries),
            disk,
            evidence_disk,
            disk_unusable,
            redis,
            counters: Counters::default(),
            disk_write_reported: AtomicBool::new(false),
        })
    }

    /// The resolver behind the cache.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The key an answer for `image` is cached under: `<namespace>:resolve:<sha256 hex>`, the hash
    /// covering the scope and the normalised registry, repository, tag and digest. Also the Redis key;
    /// the disk file is `<sha256 hex>.json` in the namespace directory.
    pub fn cache_key(&self, image: &ImageRef) -> String {
        self.key(image).name
    }

    fn key(&self, image: &ImageRef) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(KEY_DOMAIN);
        let parts = [
            Some(self.scope.as_str()),
            Some(image.registry()),
            Some(image.repository()),
            image.tag(),
            image.digest().map(Digest::as_str),
        ];
        for part in parts {
            match part {
                Some(text) => {
                    hasher.update([1]);
                    hasher.update((text.len() as u64).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
                None => hasher.update([0]),
            }
        }
        let hash = entry::hex(&hasher.finalize());
        let digest = image.digest().cloned();
        let ttl = if digest.is_some() { self.digest_ttl } else { self.tag_ttl };
        Key { name: format!("{}:resolve:{hash}", self.namespace), hash, ttl, digest }
    }

    async fn resolve_cached(&self, image: &ImageRef) -> Result<Resolved, ResolveError> {
        let key = self.key(image);
        let now = now_ms();
        if let Some(entry) = self.memory.get(&key.name, now) {
            self.counters.memory.hit();
            return Ok(entry.resolved);
        }
        self.counters.memory.miss();
        if let Some(entry) = self.read_disk(&key, now).await {
            self.memory.insert(&key.name, entry.clone(), now);
            return Ok(entry.resolved);
        }
        if let Some(entry) = self.read_redis(&key, now).await {
            self.memory.insert(&key.name, entry.clone(), now);
            self.write_disk(&key, &entry).await;
            return Ok(entry.resolved);
        }
        self.counters.inner_calls.fetch_add(1, Ordering::Relaxed);
        let resolved = self.inner.resolve(image).await?;
        if let Some(expected) = &key.digest
            && *expected != resolved.digest
        {
            tracing::debug!(
                %image,
                digest = %resolved.digest,
                "answer for a digest reference carries another digest; not cached"
            );
            return Ok(resolved);
        }
        if key.ttl.is_zero() {
            return Ok(resolved);
        }
        let now = now_ms();
        let entry = Entry { resolved, expires_at_ms: now.saturating_add(millis(key.ttl)) };
        self.memory.insert(&key.name, entry.clone(), now);
        self.write_disk(&key, &entry).await;
        self.write_redis(&key, &entry).await;
        Ok(entry.resolved)
    }

    /// Reports an entry that was not used: quietly when it simply expired, as a warning otherwise.
    fn reject(&self, tier: &'static str, key: &Key, rejection: &Rejection) {
        if rejection.is_ordinary() {
            tracing::debug!(tier, key = %key.name, reason = %rejection, "cache entry not used");
        } else {
            let counters = if tier == "disk" { &self.counters.disk } else { &self.counters.redis };
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tier, key = %key.name, reason = %rejection, "ignoring cache entry and resolving again");
        }
    }

    async fn read_disk(&self, key: &Key, now: u64) -> Option<Entry> {
        let disk = Arc::clone(self.disk.as_ref()?);
        let name = key.hash.clone();
        let read = tokio::task::spawn_blocking(move || disk.read(&name)).await;
        let found = match read {
            Ok(Ok(Some(bytes))) => match entry::decode(&bytes, &key.expect(false, now), &self.sealer) {
                Ok(entry) => Some(entry),
                Err(rejection) => {
                    self.reject("disk", key, &rejection);
                    None
                }
            },
            Ok(Ok(None)) => None,
            Ok(Err(err)) => {
                self.reject("disk", key, &Rejection::Corrupt(format!("unreadable: {err}")));
                None
            }
            Err(err) => {
                tracing::warn!(key = %key.name, error = %err, "disk cache read did not complete");
                None
            }
        };
        self.counters.disk.record(found.is_some());
        found
    }

    async fn write_disk(&self, key: &Key, entry: &Entry) {
        let Some(disk) = &self.disk else { return };
        self.write_file(disk, key, entry::encode(&key.name, entry, &self.sealer)).await;
    }

    /// Writes `bytes` as `key`'s file in `disk` (the answers' directory or the evidence one); a failure
    /// is reported once per process and costs nothing else.
    async fn write_file(&self, disk: &Arc<DiskTier>, key: &Key, bytes: Vec<u8>) {
        let disk = Arc::clone(disk);
        let name = key.hash.clone();
        let written = tokio::task::spawn_blocking(move || disk.write(&name, &bytes)).await;
        let error = match written {
            Ok(Ok(())) => return,
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        if self.disk_write_reported.swap(true, Ordering::Relaxed) {
            tracing::debug!(key = %key.name, %error, "cannot write disk cache entry");
        } else {
            let dir = self.disk.as_ref().map(|disk| disk.dir().display().to_string()).unwrap_or_default();
            tracing::warn!(%dir, %error, "cannot write to the disk cache; continuing without storing answers there");
        }
    }

    async fn read_redis(&self, key: &Key, now: u64) -> Option<Entry> {
        let redis = self.redis.as_ref()?;
        let found = match redis.get(&key.name).await {
            Fetch::Found(bytes) => match entry::decode(&bytes, &key.expect(true, now), &self.sealer) {
                Ok(entry) => Some(entry),
                Err(rejection) => {
                    self.reject("redis", key, &rejection);
                    None
                }
            },
            Fetch::WrongType => {
                self.reject("redis", key, &Rejection::Foreign("not a string value".to_owned()));
                None
            }
            Fetch::Missing | Fetch::Unavailable => None,
        };
        self.counters.redis.record(found.is_some());
        found
    }

    async fn write_redis(&self, key: &Key, entry: &Entry) {
        let Some(redis) = &self.redis else { return };
        let remaining = entry.expires_at_ms.saturating_sub(now_ms());
        if remaining == 0 {
            return;
        }
        let bytes = entry::encode(&key.name, entry, &self.sealer);
        redis.set(&key.name, &bytes, Duration::from_millis(remaining)).await;
    }

    /// The evidence key for the caller's `key`: `<namespace>:evidence:<sha256 hex>`, the hash covering
    /// the scope and `key`. Also the Redis key; the disk file is `<sha256 hex>.json` in the `evidence`
    /// subdirectory of the namespace directory.
    pub fn evidence_key(&self, key: &str) -> String {
        self.evidence_key_for(key, Duration::ZERO).name
    }

    fn evidence_key_for(&self, key: &str, ttl: Duration) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(EVIDENCE_KEY_DOMAIN);
        for part in [self.scope.as_str(), key] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let hash = entry::hex(&hasher.finalize());
        Key { name: format!("{}:evidence:{hash}", self.namespace), hash, ttl, digest: None }
    }

    /// Evidence stored under `key` by this or another process (disk first, then Redis), if an entry
    /// exists that is sealed with this HMAC key, written for this key, unexpired, and not expiring
    /// later than `ttl` (plus clock skew) from now. Always `None` without an HMAC key. A corrupt,
    /// foreign or tampered entry is logged and counted as a miss, never an error. A Redis hit is also
    /// written to disk, with its expiry.
    pub async fn load_evidence(&self, key: &str, ttl: Duration) -> Option<StoredEvidence> {
        if !self.sealer.is_keyed() || ttl.is_zero() {
            return None;
        }
        let key = self.evidence_key_for(key, ttl);
        let now = now_ms();
        let mut found = self.read_evidence_disk(&key, now).await;
        if found.is_none()
            && let Some(opened) = self.read_evidence_redis(&key, now).await
        {
            if let Some(disk) = &self.evidence_disk
                && let Some(bytes) = evidence::encode(&key.name, &opened.value, opened.expires_at_ms, &self.sealer)
            {
                self.write_file(disk, &key, bytes).await;
            }
            found = Some(opened);
        }
        self.counters.evidence.record(found.is_some());
        found.map(|opened| StoredEvidence {
            value: opened.value,
            expires_in: Duration::from_millis(opened.expires_at_ms.saturating_sub(now)),
        })
    }

    /// Stores `value` as the evidence for `key` in the disk and Redis tiers for `ttl`. Does nothing
    /// without an HMAC key, with a zero `ttl`, or for a value over 40 KiB; failures are logged.
    pub async fn store_evidence(&self, key: &str, value: &[u8], ttl: Duration) {
        if !self.sealer.is_keyed() || ttl.is_zero() {
            return;
        }
        let key = self.evidence_key_for(key, ttl);
        if value.len() > evidence::MAX_VALUE_BYTES {
            tracing::debug!(key = %key.name, bytes = value.len(), "evidence too large to store; not stored");
            return;
        }
        let expires_at_ms = now_ms().saturating_add(millis(ttl));
        let Some(bytes) = evidence::encode(&key.name, value, expires_at_ms, &self.sealer) else { return };
        if let Some(disk) = &self.evidence_disk {
            self.write_file(disk, &key, bytes.clone()).await;
        }
        if let Some(redis) = &self.redis {
            redis.set(&key.name, &bytes, ttl).await;
        }
    }

    /// Reports an evidence entry that was not used: quietly when it simply expired, as a warning
    /// otherwise (the image is then verified again).
    fn reject_evidence(&self, tier: &'static str, key: &Key, rejection: &Rejection) {
        if rejection.is_ordinary() {
            tracing::debug!(tier, key = %key.name, reason = %rejection, "cached evidence not used");
        } else {
            self.counters.evidence.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tier, key = %key.name, reason = %rejection, "ignoring cached evidence and verifying again");
        }
    }

    fn open_evidence(&self, tier: &'static str, key: &Key, bytes: &[u8], now: u64) -> Option<evidence::Opened> {
        match evidence::decode(bytes, &key.name, now, millis(key.ttl), &self.sealer) {
            Ok(opened) => Some(opened),
            Err(rejection) => {
                self.reject_evidence(tier, key, &rejection);
                None
            }
        }
    }

    async fn read_evidence_disk(&self, key: &Key, now: u64) -> Option<evidence::Opened> {
        let disk = Arc::clone(self.evidence_disk.as_ref()?);
        let name = key.hash.clone();
        match tokio::task::spawn_blocking(move || disk.read(&name)).await {
            Ok(Ok(Some(bytes))) => self.open_evidence("disk", key, &bytes, now),
            Ok(Ok(None)) => None,
            Ok(Err(err)) => {
                self.reject_evidence("disk", key, &Rejection::Corrupt(format!("unreadable: {err}")));
                None
            }
            Err(err) => {
                tracing::warn!(key = %key.name, error = %err, "disk cache read did not complete");
                None
            }
        }
    }

    async fn read_evidence_redis(&self, key: &Key, now: u64) -> Option<evidence::Opened> {
        let redis = self.redis.as_ref()?;
        match redis.get(&key.name).await {
            Fetch::Found(bytes) => self.open_evidence("redis", key, &bytes, now),
            Fetch::WrongType => {
                self.reject_evidence("redis", key, &Rejection::Foreign("not a string value".to_owned()));
                None
            }
            Fetch::Missing | Fetch::Unavailable => None,
        }
    }

    /// What each tier holds right now.
    pub async fn stats(&self) -> CacheStats {
        let memory_entries = self.memory.len(now_ms());
        let disk = match (&self.disk, &self.disk_unusable) {
            (None, None) => DiskStats::NotConfigured,
            (None, Some((dir, error))) => DiskStats::Unreadable { dir: dir.clone(), error: error.clone() },
            (Some(disk), _) => {
                let disk = Arc::clone(disk);
                let evidence = self.evidence_disk.clone();
                let sealer = self.sealer.clone();
                let namespace = self.namespace.clone();
                let dir = disk.dir().to_path_buf();
                let counted = move || disk_stats(&disk, evidence.as_deref(), &sealer, &namespace);
                match tokio::task::spawn_blocking(counted).await {
                    Ok(Ok(stats)) => stats,
                    Ok(Err(err)) => DiskStats::Unreadable { dir, error: err.to_string() },
                    Err(err) => DiskStats::Unreadable { dir, error: err.to_string() },
                }
            }
        };
        let redis = match &self.redis {
            None => RedisStats::NotConfigured,
            Some(redis) => {
                let keys = redis.count(&self.redis_pattern("resolve")).await;
                let evidence = match keys {
                    Some(_) => redis.count(&self.redis_pattern("evidence")).await,
                    None => None,
                };
                match (keys, evidence) {
                    (Some(keys), Some(evidence)) => RedisStats::Keys {
                        target: redis.target().to_owned(),
                        namespace: self.namespace.clone(),
                        keys,
                        evidence,
                    },
                    _ => RedisStats::Unavailable { target: redis.target().to_owned() },
                }
            }
        };
        CacheStats { memory_entries, disk, redis }
    }

    /// Empties every tier, answers and evidence, touching only keys and files under this cache's
    /// namespace.
    pub async fn clear(&self) -> CacheCleared {
        let memory = self.memory.clear() as u64;
        let disk = match (&self.disk, &self.disk_unusable) {
            (None, None) => TierCleared::NotConfigured,
            (None, Some((dir, error))) => TierCleared::Failed(format!("{}: {error}", dir.display())),
            (Some(disk), _) => {
                let disk = Arc::clone(disk);
                let evidence = self.evidence_disk.clone();
                let cleared = move || {
                    let answers = disk.clear()?;
                    Ok::<_, io::Error>(answers + evidence.map_or(Ok(0), |evidence| evidence.clear())?)
                };
                match tokio::task::spawn_blocking(cleared).await {
                    Ok(Ok(removed)) => TierCleared::Removed(removed as u64),
                    Ok(Err(err)) => TierCleared::Failed(err.to_string()),
                    Err(err) => TierCleared::Failed(err.to_string()),
                }
            }
        };
        let redis = match &self.redis {
            None => TierCleared::NotConfigured,
            Some(redis) => {
                let answers = redis.clear(&self.redis_pattern("resolve")).await;
                let evidence = match answers {
                    Some(_) => redis.clear(&self.redis_pattern("evidence")).await,
                    None => None,
                };
                match answers.zip(evidence) {
                    Some((answers, evidence)) => TierCleared::Removed(answers + evidence),
                    None => TierCleared::Failed(format!("redis at {} is unavailable", redis.target())),
                }
            }
        };
        CacheCleared { memory, disk, redis }
    }

    /// How often each tier answered, so far.
    pub fn counters(&self) -> CacheCounters {
        CacheCounters {
            memory: self.counters.memory.snapshot(),
            disk: self.counters.disk.snapshot(),
            redis: self.counters.redis.snapshot(),
            evidence: self.counters.evidence.snapshot(),
            inner_calls: self.counters.inner_calls.load(Ordering::Relaxed),
        }
    }

    /// The SCAN pattern of exactly this namespace's keys of one `kind` (`resolve`, `evidence`):
    /// `<namespace>:<kind>:` and 64 hex digits, so a namespace that merely starts with this one
    /// (`syncgate:v1:staging`) is never touched. The namespace holds no glob characters.
    fn redis_pattern(&self, kind: &str) -> String {
        format!("{}:{kind}:{}", self.namespace, "[0-9a-f]".repeat(64))
    }
}

impl<R: Resolve> Resolve for CachedResolver<R> {
    fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>> {
        Box::pin(self.resolve_cached(image))
    }
}

/// Counts the disk tier's entries and checks each one; counts the evidence entries.
fn disk_stats(disk: &DiskTier, evidence: Option<&DiskTier>, sealer: &Sealer, namespace: &str) -> io::Result<DiskStats> {
    let now = now_ms();
    let (mut entries, mut bytes, mut expired, mut invalid) = (0, 0, 0, 0);
    for listed in disk.list()? {
        let stored = match disk.read(&listed.name) {
            Ok(Some(stored)) => stored,
            // Removed by another process since the listing.
            Ok(None) => continue,
            Err(_) => {
                (entries, bytes, invalid) = (entries + 1, bytes + listed.bytes, invalid + 1);
                continue;
            }
        };
        entries += 1;
        bytes += listed.bytes;
        let key = format!("{namespace}:resolve:{}", listed.name);
        let expect = Expect { key: &key, require_hmac: false, now_ms: now, max_ttl_ms: u64::MAX, digest: None };
        match entry::decode(&stored, &expect, sealer) {
            Ok(_) => {}
            Err(Rejection::Expired) => expired += 1,
            Err(_) => invalid += 1,
        }
    }
    let mut evidence_entries = 0;
    for listed in evidence.map(DiskTier::list).transpose()?.unwrap_or_default() {
        evidence_entries += 1;
        bytes += listed.bytes;
    }
    Ok(DiskStats::Entries {
        dir: disk.dir().to_path_buf(),
        entries,
        bytes,
        expired,
        invalid,
        evidence: evidence_entries,
    })
}

/// Evidence read back by [`CachedResolver::load_evidence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvidence {
    /// The bytes stored.
    pub value: Vec<u8>,
    /// How much longer the entry is valid.
    pub expires_in: Duration,
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What the cache holds, per tier (for `syncgate cache stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    /// Live entries in this process's memory.
    pub memory_entries: usize,
    /// The disk tier.
    pub disk: DiskStats,
    /// The Redis tier.
    pub redis: RedisStats,
}

/// What the disk tier holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskStats {
    /// No disk directory is configured.
    NotConfigured,
    /// The directory could not be created or listed.
    Unreadable {
        /// The namespace directory.
        dir: PathBuf,
        /// Why.
        error: String,
    },
    /// The directory was listed and every entry checked.
    Entries {
        /// The namespace directory.
        dir: PathBuf,
        /// Answer files.
        entries: u64,
        /// The total size of answer and evidence files.
        bytes: u64,
        /// Answers past their expiry (replaced on next use).
        expired: u64,
        /// Answers that are corrupt, foreign or fail their checksum/HMAC (replaced on next use).
        invalid: u64,
        /// Evidence files (in the `evidence` subdirectory; checked when read).
        evidence: u64,
    },
}

/// What the Redis tier holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisStats {
    /// No Redis URL is configured.
    NotConfigured,
    /// Redis did not answer.
    Unavailable {
        /// `host:port/db`.
        target: String,
    },
    /// Keys under the namespace.
    Keys {
        /// `host:port/db`.
        target: String,
        /// The namespace counted.
        namespace: String,
        /// How many answer keys it holds.
        keys: u64,
        /// How many evidence keys it holds.
        evidence: u64,
    },
}

impl fmt::Display for CacheStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory: {} entries", self.memory_entries)?;
        match &self.disk {
            DiskStats::NotConfigured => writeln!(f, "disk:   not configured")?,
            DiskStats::Unreadable { dir, error } => writeln!(f, "disk:   unreadable ({}: {error})", dir.display())?,
            DiskStats::Entries { dir, entries, bytes, expired, invalid, evidence } => writeln!(
                f,
                "disk:   {entries} entries ({expired} expired, {invalid} invalid), {evidence} evidence entries, \
                 {bytes} bytes in {}",
                dir.display()
            )?,
        }
        match &self.redis {
            RedisStats::NotConfigured => writeln!(f, "redis:  not configured"),
            RedisStats::Unavailable { target } => writeln!(f, "redis:  unavailable ({target})"),
            RedisStats::Keys { target, namespace, keys, evidence } => {
                writeln!(f, "redis:  {keys} keys and {evidence} evidence keys under {namespace} at {target}")
            }
        }
    }
}

/// What [`CachedResolver::clear`] removed, per tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheCleared {
    /// Entries dropped from memory.
    pub memory: u64,
    /// The disk tier.
    pub disk: TierCleared,
    /// The Redis tier.
    pub redis: TierCleared,
}

/// The outcome of clearing one tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierCleared {
    /// The tier is not configured.
    NotConfigured,
    /// Entries (disk) or keys (Redis) removed.
    Removed(u64),
    /// The tier could not be cleared.
    Failed(String),
}

impl fmt::Display for TierCleared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured => f.write_str("not configured"),
            Self::Removed(count) => write!(f, "removed {count}"),
            Self::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

impl fmt::Display for CacheCleared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory: removed {}", self.memory)?;
        writeln!(f, "disk:   {}", self.disk)?;
        writeln!(f, "redis:  {}", self.redis)
    }
}

/// Hits and misses of one tier since the resolver was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierCounters {
    /// Lookups answered by this tier.
    pub hits: u64,
    /// Lookups this tier could not answer (including rejected entries and an unavailable tier).
    pub misses: u64,
    /// Entries found but ignored as corrupt, foreign or tampered (a subset of misses).
    pub rejected: u64,
}

/// Hit/miss counters of every tier, and how often the resolver behind the cache was asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// The in-process tier.
    pub memory: TierCounters,
    /// The disk tier (zero when not configured).
    pub disk: TierCounters,
    /// The Redis tier (zero when not configured).
    pub redis: TierCounters,
    /// Evidence lookups in the disk and Redis tiers together (zero without an HMAC key).
    pub evidence: TierCounters,
    /// Calls to the resolver behind the cache.
    pub inner_calls: u64,
}

impl fmt::Display for CacheCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tiers = [("memory", self.memory), ("disk", self.disk), ("redis", self.redis), ("evidence", self.evidence)];
        for (name, tier) in tiers {
            write!(f, "{name}: {} hits, {} misses ({} rejected); ", tier.hits, tier.misses, tier.rejected)?;
        }
        write!(f, "resolver: {} calls", self.inner_calls)
    }
}

#[derive(Debug, Default)]
struct AtomicTier {
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
}

impl AtomicTier {
    fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, hit: bool) {
        if hit { self.hit() } else { self.miss() }
    }

    fn snapshot(&self) -> TierCounters {
        TierCounters {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    memory: AtomicTier,
    disk: AtomicTier,
    redis: AtomicTier,
    evidence: AtomicTier,
    inner_calls: AtomicU64,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use rstest::rstest;

    use super::*;

    /// Answers every reference with a digest derived from its text and counts the calls.
    #[derive(Default)]
    struct Fake {
        calls: AtomicUsize,
    }

    impl Resolve for Fake {
        fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let digest = match image.digest() {
                Some(digest) => digest.clone(),
                None => Digest::parse(&format!("sha256:{}", entry::hex(&Sha256::digest(image.to_string())))).unwrap(),
            };
            Box::pin(async move {
                Ok(Resolved { digest, media_type: "application/vnd.oci.image.manifest.v1+json".to_owned() })
            })
        }
    }

    fn cache(options: CacheOptions) -> CachedResolver<Fake> {
        CachedResolver::new(Fake::default(), options).unwrap()
    }

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    const PINNED: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[rstest]
    #[case::tag("ghcr.io/acme/api:1.0", "ghcr.io/acme/api:1.1")]
    #[case::repository("ghcr.io/acme/api:1.0", "ghcr.io/acme/web:1.0")]
    #[case::registry("ghcr.io/acme/api:1.0", "quay.io/acme/api:1.0")]
    #[case::registry_port("127.0.0.1:5000/api:1.0", "127.0.0.1:5001/api:1.0")]
    #[case::digest_added(
        "ghcr.io/acme/api:1.0",
        "ghcr.io/acme/api:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )]
    #[case::tag_vs_digest_only(
        "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "ghcr.io/acme/api:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )]
    fn keys_differ_when_anything_the_answer_depends_on_differs(#[case] a: &str, #[case] b: &str) {
        let cache = cache(CacheOptions::default());
        assert_ne!(cache.cache_key(&image(a)), cache.cache_key(&image(b)));
    }

    #[test]
    fn keys_differ_by_scope_and_namespace_but_not_by_spelling() {
        let plain = cache(CacheOptions::default());
        let scoped = cache(CacheOptions { scope: "creds:abc".to_owned(), ..CacheOptions::default() });
        let other_ns = cache(CacheOptions { namespace: "staging".to_owned(), ..CacheOptions::default() });
        let nginx = image("nginx:1.27");
        assert_ne!(plain.cache_key(&nginx), scoped.cache_key(&nginx));
        assert!(other_ns.cache_key(&nginx).starts_with("staging:resolve:"));
        assert_eq!(plain.cache_key(&nginx), plain.cache_key(&image("docker.io/library/nginx:1.27")));
        let key = plain.cache_key(&nginx);
        let hash = key.strip_prefix("syncgate:v1:resolve:").unwrap();
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!key.contains("nginx"), "keys reveal nothing about the image or scope");
    }

    #[test]
    fn digest_references_get_the_digest_ttl() {
        let cache = cache(CacheOptions { tag_ttl: Duration::from_secs(1), ..CacheOptions::default() });
        assert_eq!(cache.key(&image("nginx:1")).ttl, Duration::from_secs(1));
        assert_eq!(cache.key(&image(&format!("nginx:1@{PINNED}"))).ttl, Duration::from_secs(24 * 60 * 60));
    }

    #[rstest]
    #[case::empty("")]
    #[case::glob("syncgate:*")]
    #[case::space("sync gate")]
    #[case::slash("../etc")]
    fn bad_namespaces_are_refused(#[case] namespace: &str) {
        let options = CacheOptions { namespace: namespace.to_owned(), ..CacheOptions::default() };
        assert!(matches!(CachedResolver::new(Fake::default(), options), Err(CacheError::InvalidNamespace { .. })));
    }

    #[test]
    fn short_hmac_key_is_refused() {
        let options = CacheOptions { hmac_key: Some(b"short".to_vec()), ..CacheOptions::default() };
        let err = CachedResolver::new(Fake::default(), options).err().unwrap();
        assert!(matches!(err, CacheError::HmacKeyTooShort { len: 5 }), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let options = CacheOptions {
            redis_url: Some("redis://:hunter2@redis:6379/0".to_owned()),
            hmac_key: Some(b"topsecretkeytopsecretkey".to_vec()),
            ..CacheOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("redis://:***@redis:6379/0"), "{shown}");
    }

    #[tokio::test]
    async fn memory_only_cache_counts_hits_and_misses() {
        let cache = cache(CacheOptions::default());
        let nginx = image("nginx:1.27");
        let first = cache.resolve(&nginx).await.unwrap();
        let second = cache.resolve(&nginx).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(cache.inner().calls.load(Ordering::Relaxed), 1);
        let counters = cache.counters();
        assert_eq!((counters.memory.hits, counters.memory.misses, counters.inner_calls), (1, 1, 1));
        assert_eq!(counters.disk, TierCounters::default());
    }

    #[tokio::test]
    async fn zero_ttl_caches_nothing() {
        let cache = cache(CacheOptions { tag_ttl: Duration::ZERO, ..CacheOptions::default() });
        let nginx = image("nginx:1.27");
        cache.resolve(&nginx).await.unwrap();
        cache.resolve(&nginx).await.unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::Relaxed), 2);
    }

    const HMAC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const EVIDENCE: &[u8] = br#"{"digest":"sha256:aa"}"#;
    const HOUR: Duration = Duration::from_secs(60 * 60);

    fn on_disk(dir: &std::path::Path, hmac_key: Option<&[u8]>) -> CachedResolver<Fake> {
        cache(CacheOptions {
            disk_dir: Some(dir.to_path_buf()),
            hmac_key: hmac_key.map(<[u8]>::to_vec),
            ..CacheOptions::default()
        })
    }

    /// The disk file of evidence stored under `key`.
    fn evidence_file(cache: &CachedResolver<Fake>, key: &str) -> PathBuf {
        let disk = cache.evidence_disk.as_ref().unwrap();
        disk.dir().join(format!("{}.json", cache.evidence_key_for(key, HOUR).hash))
    }

    #[tokio::test]
    async fn evidence_round_trips_through_disk_for_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let writer = on_disk(dir.path(), Some(HMAC_KEY));
        writer.store_evidence("k", EVIDENCE, HOUR).await;
        let file = evidence_file(&writer, "k");
        assert!(file.parent().unwrap().ends_with(EVIDENCE_DIR), "{}", file.display());
        let reader = on_disk(dir.path(), Some(HMAC_KEY));
        let stored = reader.load_evidence("k", HOUR).await.unwrap();
        assert_eq!(stored.value, EVIDENCE);
        assert!(stored.expires_in <= HOUR && stored.expires_in > Duration::from_secs(59 * 60));
        assert_eq!(reader.load_evidence("another", HOUR).await, None);
        assert_eq!(reader.counters().evidence, TierCounters { hits: 1, misses: 1, rejected: 0 });
        assert!(reader.evidence_key("k").starts_with("syncgate:v1:evidence:"));
        assert_ne!(reader.evidence_key("k"), reader.evidence_key("another"));
        let scoped = cache(CacheOptions { scope: "creds:abc".to_owned(), ..CacheOptions::default() });
        assert_ne!(reader.evidence_key("k"), scoped.evidence_key("k"));
    }

    #[tokio::test]
    async fn without_an_hmac_key_no_evidence_is_written_or_read() {
        let dir = tempfile::tempdir().unwrap();
        let keyed = on_disk(dir.path(), Some(HMAC_KEY));
        keyed.store_evidence("k", EVIDENCE, HOUR).await;
        let checksummed = on_disk(dir.path(), None);
        assert_eq!(checksummed.load_evidence("k", HOUR).await, None, "not even an entry sealed with a key");
        checksummed.store_evidence("other", EVIDENCE, HOUR).await;
        assert!(!evidence_file(&checksummed, "other").exists());
        assert_eq!(checksummed.counters().evidence, TierCounters::default(), "not even looked up");
        let fresh = tempfile::tempdir().unwrap();
        let checksummed = on_disk(fresh.path(), None);
        checksummed.store_evidence("k", EVIDENCE, HOUR).await;
        assert!(!checksummed.evidence_disk.as_ref().unwrap().dir().exists(), "nothing written at all");
    }

    #[tokio::test]
    async fn tampered_evidence_is_a_counted_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        cache.store_evidence("k", EVIDENCE, HOUR).await;
        let file = evidence_file(&cache, "k");
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        json["value"] = serde_json::json!("eyJkaWdlc3QiOiJzaGEyNTY6YmIifQ==");
        std::fs::write(&file, json.to_string()).unwrap();
        assert_eq!(cache.load_evidence("k", HOUR).await, None);
        assert_eq!(cache.counters().evidence, TierCounters { hits: 0, misses: 1, rejected: 1 });
    }

    #[tokio::test]
    async fn evidence_sealed_with_another_hmac_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        on_disk(dir.path(), Some(b"another key of thirty-two bytes!")).store_evidence("k", EVIDENCE, HOUR).await;
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        assert_eq!(cache.load_evidence("k", HOUR).await, None);
        assert_eq!(cache.counters().evidence.rejected, 1);
    }

    #[tokio::test]
    async fn evidence_of_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        cache.store_evidence("k", EVIDENCE, HOUR).await;
        std::fs::copy(evidence_file(&cache, "k"), evidence_file(&cache, "other")).unwrap();
        assert_eq!(cache.load_evidence("other", HOUR).await, None);
        assert_eq!(cache.counters().evidence.rejected, 1);
    }

    #[tokio::test]
    async fn expired_or_overlong_evidence_is_an_ordinary_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        cache.store_evidence("short", EVIDENCE, Duration::from_millis(1)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(cache.load_evidence("short", HOUR).await, None);
        cache.store_evidence("long", EVIDENCE, HOUR).await;
        assert_eq!(cache.load_evidence("long", Duration::from_secs(1)).await, None, "beyond the caller's TTL");
        assert_eq!(cache.counters().evidence, TierCounters { hits: 0, misses: 2, rejected: 0 });
        assert!(cache.load_evidence("long", HOUR).await.is_some());
    }

    #[tokio::test]
    async fn stats_and_clear_include_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        cache.resolve(&image("nginx:1.27")).await.unwrap();
        cache.store_evidence("a", EVIDENCE, HOUR).await;
        cache.store_evidence("b", EVIDENCE, HOUR).await;
        let stats = cache.stats().await;
        assert!(matches!(stats.disk, DiskStats::Entries { entries: 1, evidence: 2, invalid: 0, .. }), "{stats}");
        let cleared = cache.clear().await;
        assert_eq!(cleared.disk, TierCleared::Removed(3));
        assert_eq!(cache.load_evidence("a", HOUR).await, None);
    }

    #[tokio::test]
    async fn oversized_evidence_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = on_disk(dir.path(), Some(HMAC_KEY));
        cache.store_evidence("big", &vec![b'x'; evidence::MAX_VALUE_BYTES + 1], HOUR).await;
        assert!(!evidence_file(&cache, "big").exists());
        let largest = vec![b'x'; evidence::MAX_VALUE_BYTES];
        cache.store_evidence("largest", &largest, HOUR).await;
        assert_eq!(cache.load_evidence("largest", HOUR).await.map(|stored| stored.value), Some(largest));
    }

    #[test]
    fn stats_read_well() {
        let stats = CacheStats {
            memory_entries: 3,
            disk: DiskStats::Entries {
                dir: PathBuf::from("/var/cache/syncgate/syncgate_v1-1234abcd"),
                entries: 2,
                bytes: 700,
                expired: 1,
                invalid: 0,
                evidence: 4,
            },
            redis: RedisStats::Unavailable { target: "redis:6379/0".to_owned() },
        };
        assert_eq!(
            stats.to_string(),
            "memory: 3 entries\n\
             disk:   2 entries (1 expired, 0 invalid), 4 evidence entries, 700 bytes in \
             /var/cache/syncgate/syncgate_v1-1234abcd\n\
             redis:  unavailable (redis:6379/0)\n"
        );
        let stats = CacheStats {
            memory_entries: 0,
            disk: DiskStats::NotConfigured,
            redis: RedisStats::Keys {
                target: "redis:6379/0".to_owned(),
                namespace: "syncgate:v1".to_owned(),
                keys: 4,
                evidence: 2,
            },
        };
        assert_eq!(
            stats.to_string(),
            "memory: 0 entries\ndisk:   not configured\nredis:  4 keys and 2 evidence keys under syncgate:v1 at \
             redis:6379/0\n"
        );
    }
}
