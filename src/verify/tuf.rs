//! Sigstore trust roots fetched from a TUF repository (`trustRoot: {tuf: …}`), as cosign and the
//! Sigstore clients fetch `trusted_root.json` from `https://tuf-repo-cdn.sigstore.dev`.
//!
//! [`TufSource`] is what an `ImagePolicy` names, checked at load (only the initial `root.json` is
//! read then). [`TufRoots`] fetches the target on first use with `tough`, which verifies what TUF
//! prescribes: the chain of root versions from the initial root, signature thresholds, versions
//! (rollback), expiry (freeze), and the target's length and hashes against the targets metadata.
//!
//! Owns the HTTP transport (a timeout per request, a size limit per document, one deadline for a
//! whole refresh), the refresh schedule ([`REFRESH_INTERVAL`]), the on-disk cache (tough's datastore
//! and the last verified target, per repository URL) and the fail-closed rules: a repository that
//! cannot be reached falls back, with a warning, to a copy fetched under metadata that has not
//! expired; a repository that answers but fails verification is refused, cached copy or not. It never
//! decides what a policy requires of a signer.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tough::schema::{Root, Signed};
use tough::{
    Bytes, ExpirationEnforcement, IntoVec as _, Limits, RepositoryLoader, TargetName, Transport, TransportError,
    TransportErrorKind, TransportStream,
};

use super::explain;
use super::trust::TrustRoot;

/// The target fetched when a policy names none.
pub const DEFAULT_TARGET: &str = "trusted_root.json";

/// How long a fetched trust root is used before the repository is asked again (in a process, and
/// the disk cache only stands in for an unreachable repository), provided its metadata has not expired.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// After a failed refresh, how long the repository is left alone: verifications meanwhile get the
/// fallback (or the failure) without another round of requests.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Limit for one HTTP request, connect to last body byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Limit for one whole refresh (root updates, timestamp, snapshot, targets, the target), well within
/// the verification deadline and Argo CD's 60 s.
pub const REFRESH_DEADLINE: Duration = Duration::from_secs(20);

/// Largest `root.json`, `timestamp.json` or `snapshot.json` read.
pub const MAX_METADATA_BYTES: u64 = 1024 * 1024;

/// Largest `targets.json` read.
pub const MAX_TARGETS_METADATA_BYTES: u64 = 4 * 1024 * 1024;

/// Largest target read (the targets metadata may allow less, never more).
pub const MAX_TARGET_BYTES: u64 = 4 * 1024 * 1024;

/// Most root versions walked in one refresh.
const MAX_ROOT_UPDATES: u64 = 128;

/// Largest HTTP response body read, whatever the document.
const MAX_RESPONSE_BYTES: u64 = MAX_TARGETS_METADATA_BYTES;

/// Largest disk cache record read (the base64 target plus a few short fields).
const MAX_RECORD_BYTES: u64 = MAX_TARGET_BYTES * 2;

/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;

/// Where tough keeps its metadata, inside a repository's cache directory.
const DATASTORE_DIR: &str = "metadata";

/// The `trustRoot.tuf` settings of an `ImagePolicy`, checked at load.
#[derive(Clone)]
pub struct TufSource {
    /// Base URL of the metadata (`root.json`, `timestamp.json`, …).
    pub url: Url,
    /// Base URL of the targets.
    pub targets_url: Url,
    /// Where the initial root was read from.
    pub root_path: PathBuf,
    /// The initial trusted `root.json`, as read.
    pub initial_root: Arc<[u8]>,
    /// The cache directory the policy names; `None` for [`TufRoots`]' default.
    pub cache_dir: Option<PathBuf>,
    /// The target holding the Sigstore trusted root.
    pub target: String,
}

impl fmt::Debug for TufSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TufSource")
            .field("url", &self.url.as_str())
            .field("targets_url", &self.targets_url.as_str())
            .field("root_path", &self.root_path)
            .field("cache_dir", &self.cache_dir)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl TufSource {
    /// The `sha256` of the initial root, in hex.
    fn initial_root_sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.initial_root))
    }

    /// Identifies everything that decides what is fetched and where it is kept.
    fn identity(&self, cache: Option<&Path>) -> String {
        let mut hasher = Sha256::new();
        for part in [self.url.as_str(), self.targets_url.as_str(), &self.target, &self.initial_root_sha256()] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        if let Some(cache) = cache {
            hasher.update(cache.as_os_str().as_encoded_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Why an initial `root.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InitialRootError {
    /// Not JSON, or not TUF root metadata.
    #[error("not a TUF root.json: {0}")]
    Parse(#[source] serde_json::Error),
    /// Not signed by a threshold of the root keys it lists.
    #[error("not signed by a threshold of its own root keys: {0}")]
    Signature(#[source] tough::schema::Error),
}

/// Checks an initial `root.json`: TUF root metadata signed by a threshold of its own root keys
/// (its expiry does not matter: newer versions are fetched). Returns its version.
pub fn check_initial_root(bytes: &[u8]) -> Result<u64, InitialRootError> {
    let root: Signed<Root> = serde_json::from_slice(bytes).map_err(InitialRootError::Parse)?;
    root.signed.verify_role(&root).map_err(InitialRootError::Signature)?;
    Ok(root.signed.version.get())
}

/// Why no trust root could be had from a TUF repository. Every variant names the repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TufError {
    /// The repository could not be reached (connection, timeout, HTTP status), and no copy fetched
    /// under unexpired metadata is cached.
    #[error(
        "TUF repository {url} cannot be reached and no trusted root fetched from it under unexpired metadata is cached: {reason}"
    )]
    Unreachable {
        /// The metadata URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The repository answered, but TUF verification failed: expired metadata, signatures below the
    /// threshold, a rollback, a target whose length or hash does not match the targets metadata.
    #[error("TUF repository {url} failed verification: {reason}")]
    Verification {
        /// The metadata URL.
        url: String,
        /// What tough reported.
        reason: String,
    },
    /// The targets metadata does not list the target.
    #[error("TUF repository {url} lists no target {target:?}")]
    MissingTarget {
        /// The metadata URL.
        url: String,
        /// The target asked for.
        target: String,
    },
    /// The target verified, but it is not a Sigstore trusted root.
    #[error("target {target:?} of TUF repository {url} is not a valid trusted root: {reason}")]
    InvalidTarget {
        /// The metadata URL.
        url: String,
        /// The target.
        target: String,
        /// What the trust root parser said.
        reason: String,
    },
    /// Something on this side failed: the HTTP client, the datastore directory.
    #[error("TUF repository {url}: {reason}")]
    Local {
        /// The metadata URL.
        url: String,
        /// What failed.
        reason: String,
    },
}

impl TufError {
    /// Whether the repository could not be reached (a cached copy may stand in).
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TufError::Unreachable { .. })
    }
}

/// A trust root verified by TUF, with what its freshness is judged by.
#[derive(Clone)]
struct VerifiedRoot {
    root: Arc<TrustRoot>,
    /// When it was fetched and verified.
    fetched: Timestamp,
    /// The earliest expiry of the root, timestamp, snapshot and targets metadata it was verified under.
    expires: Timestamp,
    /// Read from the disk cache (written by an earlier process): only a stand-in for an unreachable
    /// repository, never a reason to skip asking it, since whoever can write the cache directory
    /// could have put it there.
    from_disk: bool,
}

/// What a process knows about one source.
#[derive(Default)]
struct State {
    current: Option<VerifiedRoot>,
    /// Whether the cache directory was set up and the disk cache looked at.
    opened: bool,
    /// The source's cache directory, when there is a usable one.
    cache: Option<PathBuf>,
    /// The last failed refresh, and when.
    failure: Option<(Instant, TufError)>,
}

/// Trust roots fetched from TUF repositories, shared by every verification of a process.
pub struct TufRoots {
    refresh: Duration,
    default_cache_dir: Option<PathBuf>,
    client: OnceLock<Result<reqwest::Client, String>>,
    sources: Mutex<HashMap<String, Arc<tokio::sync::Mutex<State>>>>,
}

impl Default for TufRoots {
    fn default() -> Self {
        Self::new()
    }
}

impl TufRoots {
    /// Refreshing every [`REFRESH_INTERVAL`], caching under `$XDG_CACHE_HOME/syncgate/tuf` (else
    /// `~/.cache/syncgate/tuf`) unless a policy names its `cacheDir`.
    #[must_use]
    pub fn new() -> Self {
        TufRoots {
            refresh: REFRESH_INTERVAL,
            default_cache_dir: crate::config::default_cache_dir().map(|dir| dir.join("tuf")),
            client: OnceLock::new(),
            sources: Mutex::default(),
        }
    }

    /// Uses a fetched trust root for `interval` before asking the repository again (zero: ask on
    /// every verification that is not answered from the evidence cache).
    #[must_use]
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh = interval;
        self
    }

    /// Caches under `dir` for policies that name no `cacheDir` (`None`: no disk cache for them).
    #[must_use]
    pub fn with_default_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.default_cache_dir = dir;
        self
    }

    /// The trust root `source` serves: a copy fetched within the refresh interval, else a fresh
    /// fetch, else (repository unreachable) a copy fetched under metadata that has not expired.
    pub async fn trust_root(&self, source: &TufSource) -> Result<Arc<TrustRoot>, TufError> {
        let base = source.cache_dir.as_ref().or(self.default_cache_dir.as_ref());
        let slot = {
            let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(sources.entry(source.identity(base.map(PathBuf::as_path))).or_default())
        };
        let mut state = slot.lock().await;
        if !state.opened {
            state.opened = true;
            state.cache = base.and_then(|base| open_cache(source, base));
            state.current = state.cache.as_deref().and_then(|dir| read_record(source, dir));
        }
        let cache = state.cache.clone();
        let now = Timestamp::now();
        if let Some(current) = state.current.as_ref().filter(|c| self.is_fresh(c, now)) {
            return Ok(Arc::clone(&current.root));
        }
        if let Some((at, error)) = &state.failure
            && at.elapsed() < RETRY_AFTER
        {
            return fallback(&state, error, now).ok_or_else(|| error.clone());
        }

        let attempt = tokio::time::timeout(REFRESH_DEADLINE, self.fetch(source, cache.as_deref())).await;
        let result = attempt.unwrap_or_else(|_| {
            Err(TufError::Unreachable {
                url: source.url.to_string(),
                reason: format!("no complete answer within {}s", REFRESH_DEADLINE.as_secs()),
            })
        });
        match result {
            Ok((fetched, bytes)) => {
                if let Some(dir) = &cache
                    && let Err(error) = write_record(source, dir, &fetched, &bytes)
                {
                    tracing::warn!(url = %source.url, dir = %dir.display(), %error, "cannot cache the trusted root fetched from the TUF repository");
                }
                let root = Arc::clone(&fetched.root);
                state.current = Some(fetched);
                state.failure = None;
                Ok(root)
            }
            Err(error) => {
                state.failure = Some((Instant::now(), error.clone()));
                let Some(root) = fallback(&state, &error, now) else {
                    if !error.is_unreachable() {
                        // A repository that fails verification is not papered over with an older
                        // copy, in this process or a later one.
                        state.current = None;
                        if let Some(dir) = &cache {
                            remove_record(source, dir);
                        }
                    }
                    return Err(error);
                };
                if let Some(current) = &state.current {
                    tracing::warn!(
                        url = %source.url,
                        %error,
                        fetched = %current.fetched,
                        expires = %current.expires,
                        "TUF repository unreachable; using the trusted root fetched earlier under metadata that has not expired"
                    );
                }
                Ok(root)
            }
        }
    }

    /// Fetched by this process within the refresh interval, under metadata that has not expired.
    fn is_fresh(&self, fetched: &VerifiedRoot, now: Timestamp) -> bool {
        let age = now.duration_since(fetched.fetched);
        !fetched.from_disk && now < fetched.expires && !age.is_negative() && age.unsigned_abs() < self.refresh
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(REQUEST_TIMEOUT)
                    .connect_timeout(REQUEST_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
                    .user_agent(concat!("syncgate/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| format!("cannot build the HTTP client: {}", explain(&error)))
            })
            .clone()
    }

    /// One TUF update and target download; the target's bytes are returned for the disk cache.
    async fn fetch(&self, source: &TufSource, cache: Option<&Path>) -> Result<(VerifiedRoot, Vec<u8>), TufError> {
        let url = source.url.to_string();
        let client = self.client().map_err(|reason| TufError::Local { url: url.clone(), reason })?;
        let mut loader = RepositoryLoader::new(&source.initial_root, source.url.clone(), source.targets_url.clone())
            .transport(HttpTransport { client })
            .limits(Limits {
                max_root_size: MAX_METADATA_BYTES,
                max_targets_size: MAX_TARGETS_METADATA_BYTES,
                max_timestamp_size: MAX_METADATA_BYTES,
                max_snapshot_size: MAX_METADATA_BYTES,
                max_root_updates: MAX_ROOT_UPDATES,
            })
            .expiration_enforcement(ExpirationEnforcement::Safe);
        if let Some(dir) = cache {
            loader = loader.datastore(dir.join(DATASTORE_DIR));
        }
        let repository = loader.load().await.map_err(|error| classify(&url, &error))?;

        let missing = || TufError::MissingTarget { url: url.clone(), target: source.target.clone() };
        let name = TargetName::new(source.target.as_str()).map_err(|_| missing())?;
        let listed = repository.targets().signed.find_target(&name, false).map_err(|_| missing())?;
        if listed.length > MAX_TARGET_BYTES {
            return Err(TufError::Verification {
                url,
                reason: format!(
                    "target {:?} is {} bytes, more than the {} MiB accepted",
                    source.target,
                    listed.length,
                    MAX_TARGET_BYTES / (1024 * 1024)
                ),
            });
        }
        let stream =
            repository.read_target(&name).await.map_err(|error| classify(&url, &error))?.ok_or_else(missing)?;
        let bytes = stream.into_vec().await.map_err(|error| classify(&url, &error))?;
        let root = TrustRoot::from_json(&bytes).map_err(|error| TufError::InvalidTarget {
            url: url.clone(),
            target: source.target.clone(),
            reason: explain(&error),
        })?;
        let expires = [
            repository.root().signed.expires,
            repository.timestamp().signed.expires,
            repository.snapshot().signed.expires,
            repository.targets().signed.expires,
        ]
        .into_iter()
        .min()
        .unwrap_or_else(Timestamp::now);
        Ok((VerifiedRoot { root: Arc::new(root), fetched: Timestamp::now(), expires, from_disk: false }, bytes))
    }
}

/// The source's directory under `base` (one per metadata URL), created (mode 0700) if needed;
/// `None`, with a warning, when it cannot be.
fn open_cache(source: &TufSource, base: &Path) -> Option<PathBuf> {
    let url_hash = hex::encode(Sha256::digest(source.url.as_str().as_bytes()));
    let dir = base.join(url_hash.get(..16).unwrap_or_default());
    match create_private_dir(&dir.join(DATASTORE_DIR)) {
        Ok(()) => Some(dir),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "cannot create the TUF cache directory; fetching without a disk cache");
            None
        }
    }
}

/// The copy that stands in for an unreachable repository: fetched under metadata that has not
/// expired. Never for a repository that failed verification.
fn fallback(state: &State, error: &TufError, now: Timestamp) -> Option<Arc<TrustRoot>> {
    if !error.is_unreachable() {
        return None;
    }
    state.current.as_ref().filter(|c| now < c.expires).map(|c| Arc::clone(&c.root))
}

/// Maps a tough error to what it means here: unreachable (the transport failed), local (the
/// datastore), or a verification failure (everything else), with the innermost tough error as reason.
fn classify(url: &str, error: &tough::error::Error) -> TufError {
    let mut innermost = error;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(failure) = current.downcast_ref::<NetworkFailure>() {
            return TufError::Unreachable { url: url.to_owned(), reason: failure.to_string() };
        }
        if let Some(tough) = current.downcast_ref::<tough::error::Error>() {
            innermost = tough;
        }
        cause = current.source();
    }
    let reason = innermost.to_string();
    match innermost {
        tough::error::Error::DatastoreCreate { .. }
        | tough::error::Error::DatastoreOpen { .. }
        | tough::error::Error::DatastoreRemove { .. }
        | tough::error::Error::DatastoreSerialize { .. }
        | tough::error::Error::DatastoreInit { .. }
        | tough::error::Error::DirCreate { .. } => TufError::Local { url: url.to_owned(), reason },
        _ => TufError::Verification { url: url.to_owned(), reason },
    }
}

/// A request that did not get a usable answer: what marks a failure as the repository being
/// unreachable rather than failing verification.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {reason}")]
struct NetworkFailure {
    url: String,
    reason: String,
}

/// A response larger than any document accepted: a verification failure, not an outage.
#[derive(Debug, thiserror::Error)]
#[error("{url}: response larger than {limit} bytes")]
struct TooLarge {
    url: String,
    limit: u64,
}

/// HTTP(S) for tough: one GET per document, [`REQUEST_TIMEOUT`] each, bodies capped, no retries
/// (the refresh schedule is the retry).
#[derive(Debug, Clone)]
struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    async fn get(&self, url: &Url) -> Result<Vec<u8>, TransportError> {
        let unreachable = |kind: TransportErrorKind, reason: String| {
            TransportError::new_with_cause(kind, url.as_str(), NetworkFailure { url: url.to_string(), reason })
        };
        let too_large = || {
            TransportError::new_with_cause(
                TransportErrorKind::Other,
                url.as_str(),
                TooLarge { url: url.to_string(), limit: MAX_RESPONSE_BYTES },
            )
        };
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|error| unreachable(TransportErrorKind::Other, explain(&error)))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(unreachable(TransportErrorKind::FileNotFound, format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(unreachable(TransportErrorKind::Other, format!("HTTP {status}")));
        }
        if response.content_length().is_some_and(|length| length > MAX_RESPONSE_BYTES) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|error| unreachable(TransportErrorKind::Other, explain(&error)))?
        {
            if (body.len() + chunk.len()) as u64 > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[tough::async_trait]
impl Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TransportError::new(TransportErrorKind::UnsupportedUrlScheme, url.as_str()));
        }
        let body = self.get(&url).await?;
        Ok(Box::pin(futures::stream::once(futures::future::ready(Ok(Bytes::from(body))))))
    }
}

/// The last verified target of one source, as kept on disk next to tough's datastore.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Record {
    url: String,
    targets_url: String,
    target: String,
    /// `sha256` (hex) of the initial root the copy was verified from.
    initial_root: String,
    /// RFC 3339.
    fetched: String,
    /// RFC 3339: the earliest expiry of the metadata it was verified under.
    expires: String,
    /// `sha256` (hex) of the content.
    sha256: String,
    /// The target, base64.
    content: String,
}

/// The record's file: one per targets URL, target and initial root, in the repository's directory.
fn record_path(source: &TufSource, dir: &Path) -> PathBuf {
    let mut hasher = Sha256::new();
    for part in [source.targets_url.as_str(), &source.target, &source.initial_root_sha256()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let hash = hex::encode(hasher.finalize());
    dir.join(format!("target-{}.json", hash.get(..16).unwrap_or_default()))
}

/// The cached copy for `source`, if there is a readable one that matches it; anything else is
/// ignored (and refetched).
fn read_record(source: &TufSource, dir: &Path) -> Option<VerifiedRoot> {
    let path = record_path(source, dir);
    let ignored = |reason: &str| {
        tracing::debug!(path = %path.display(), reason, "cached trusted root not used");
        None
    };
    let mut bytes = Vec::new();
    match std::fs::File::open(&path) {
        Ok(file) => {
            if let Err(error) = file.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes) {
                return ignored(&error.to_string());
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
        Err(error) => return ignored(&error.to_string()),
    }
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return ignored("too large");
    }
    let Ok(record) = serde_json::from_slice::<Record>(&bytes) else { return ignored("not a cache record") };
    if record.url != source.url.as_str()
        || record.targets_url != source.targets_url.as_str()
        || record.target != source.target
        || record.initial_root != source.initial_root_sha256()
    {
        return ignored("made for other settings");
    }
    let Ok(content) = STANDARD.decode(&record.content) else { return ignored("bad base64") };
    if hex::encode(Sha256::digest(&content)) != record.sha256 {
        return ignored("content does not match its sha256");
    }
    let (Ok(fetched), Ok(expires)) = (record.fetched.parse::<Timestamp>(), record.expires.parse::<Timestamp>()) else {
        return ignored("bad timestamps");
    };
    let Ok(root) = TrustRoot::from_json(&content) else { return ignored("not a valid trusted root") };
    Some(VerifiedRoot { root: Arc::new(root), fetched, expires, from_disk: true })
}

/// Writes the record for a verified target (temporary file in the same directory, then rename).
fn write_record(source: &TufSource, dir: &Path, fetched: &VerifiedRoot, content: &[u8]) -> io::Result<()> {
    let record = Record {
        url: source.url.to_string(),
        targets_url: source.targets_url.to_string(),
        target: source.target.clone(),
        initial_root: source.initial_root_sha256(),
        fetched: fetched.fetched.to_string(),
        expires: fetched.expires.to_string(),
        sha256: hex::encode(Sha256::digest(content)),
        content: STANDARD.encode(content),
    };
    let bytes = serde_json::to_vec(&record).map_err(io::Error::other)?;
    let path = record_path(source, dir);
    let temp = dir.join(format!(".target.{}.{:016x}.tmp", std::process::id(), rand::random::<u64>()));
    let result = write_private_new(&temp, &bytes).and_then(|()| std::fs::rename(&temp, &path));
    if result.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Removes the record for `source` (best effort, with a warning when it fails).
fn remove_record(source: &TufSource, dir: &Path) {
    let path = record_path(source, dir);
    if let Err(error) = std::fs::remove_file(&path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove the cached trusted root");
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates `path` (which must not exist) readable by its owner only, and writes `bytes` to it.
fn write_private_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}
