//! The registry client: resolves an image reference to the digest of the manifest bytes a registry
//! serves, over the OCI distribution API.
//!
//! Owns the resolution protocol: one `GET /v2/<name>/manifests/<reference>` per image (after a
//! cached `GET /v2/` that learns how the registry authenticates, and a cached bearer token per
//! repository when it uses a token service), the local digest computation and its checks, and the
//! mapping of every failure to a [`ResolveError`]. Concurrent resolutions of one reference share a
//! single request, and each registry host has its own concurrency limit.
//!
//! It never trusts the registry's `Docker-Content-Digest`: the digest is computed from the bytes
//! received, and a header that disagrees fails the resolution. For an index or manifest list the
//! index's own digest is returned, never a platform's. It never logs or reports credentials.
//!
//! The manifest model and media types come from `oci-client`; the HTTP exchanges use `reqwest` (the
//! client `oci-client` itself is built on) directly, because `oci-client`'s manifest calls hide the
//! response headers and status codes the retry policy needs, read bodies without a size limit, and
//! keep their HTTP client private, so requests could not be counted or limited per registry.

mod auth;
mod credentials;
mod transport;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use oci_client::errors::{OciEnvelope, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE,
    OciManifest,
};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use sha2::Digest as _;
use tokio::sync::Semaphore;

use self::auth::{Challenge, Token, TokenRequest, basic_header};
use self::credentials::{Credential, Credentials, Found, normalise_host};
use self::transport::{Failure, Reply, RetryPolicy, Transport};
use super::{Artifacts, Resolve, ResolveError, Resolved};
use crate::image::{DOCKER_HUB, Digest, ImageRef};

/// The host that serves Docker Hub's registry API.
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

/// The manifest media types asked for, in order of preference.
const ACCEPTED_MEDIA_TYPES: [&str; 4] =
    [OCI_IMAGE_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, IMAGE_MANIFEST_LIST_MEDIA_TYPE];

/// Content types that say nothing about the manifest kind; the body's `mediaType` decides then.
const GENERIC_CONTENT_TYPES: [&str; 3] = ["application/json", "application/octet-stream", "text/plain"];

/// Largest `/v2/` or token service response read.
const MAX_AUTH_BODY: usize = 1024 * 1024;

/// How long a failed `/v2/` probe is remembered, so that a registry that is down is probed (with
/// retries) once for a batch of images rather than once per image.
const PROBE_FAILURE_TTL: Duration = Duration::from_secs(5);

/// The `Docker-Content-Digest` response header.
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// How [`Registry`] talks to registries. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Limit for one HTTP request, connect to last body byte (default 10 s).
    pub request_timeout: Duration,
    /// Limit for one whole resolution, retries and token requests included (default 30 s, well
    /// below Argo CD's 60 s plugin timeout).
    pub deadline: Duration,
    /// Retries after a failed attempt (429, 5xx, timeout, connection refused or reset); default 3.
    pub retries: u32,
    /// Backoff before the first retry, doubled for each further one, with jitter (default 200 ms).
    pub retry_backoff: Duration,
    /// Longest backoff between two attempts (default 5 s); a `Retry-After` may ask for longer, up
    /// to the deadline.
    pub retry_backoff_max: Duration,
    /// Requests in flight to one registry host at most (default 8).
    pub concurrency_per_registry: usize,
    /// Largest manifest accepted, in bytes (default 4 MiB).
    pub max_manifest_bytes: usize,
    /// Docker config: a file, or a directory holding `config.json`. `None` means
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; a missing default is no config.
    pub docker_config: Option<PathBuf>,
    /// Mounted `kubernetes.io/dockerconfigjson` secrets: each a file, or a directory holding
    /// `.dockerconfigjson`. They take precedence over everything else, in this order.
    pub pull_secrets: Vec<PathBuf>,
    /// `PATH` used to find `docker-credential-*` helpers; `None` inherits the process's.
    pub credential_helper_path: Option<OsString>,
    /// Limit for one credential helper run (default 10 s).
    pub credential_helper_timeout: Duration,
    /// PEM bundle of extra CA certificates to trust (added to the system roots).
    pub ca_bundle: Option<PathBuf>,
    /// Registries (`host:port`) reached over plain HTTP; every other registry needs HTTPS.
    pub insecure: Vec<String>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(5),
            concurrency_per_registry: 8,
            max_manifest_bytes: 4 * 1024 * 1024,
            docker_config: None,
            pull_secrets: Vec::new(),
            credential_helper_path: None,
            credential_helper_timeout: Duration::from_secs(10),
            ca_bundle: None,
            insecure: Vec::new(),
        }
    }
}

/// Why a [`Registry`] could not be set up. Paths are named; secrets never appear.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The CA bundle could not be read.
    #[error("cannot read CA bundle {}", path.display())]
    ReadCaBundle {
        /// The configured bundle.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The CA bundle holds no usable PEM certificate.
    #[error("CA bundle {} holds no usable PEM certificate: {reason}", path.display())]
    InvalidCaBundle {
        /// The configured bundle.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A docker config or pull secret could not be read.
    #[error("cannot read registry credentials {}", path.display())]
    ReadCredentials {
        /// The docker config or pull secret file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A docker config or pull secret is malformed.
    #[error("invalid registry credentials in {}: {reason}", path.display())]
    InvalidCredentials {
        /// The docker config or pull secret file.
        path: PathBuf,
        /// What is wrong (the registry key and field, never a value).
        reason: String,
    },
    /// An option is out of range.
    #[error("invalid registry option: {reason}")]
    InvalidOption {
        /// Which option, and why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the registry HTTP client: {reason}")]
    HttpClient {
        /// The cause.
        reason: String,
    },
}

/// A client for OCI registries implementing [`Resolve`]. Clones are cheap and share everything: the
/// HTTP connection pool, credentials, tokens, per-registry limits, counters and resolutions in flight.
/// Resolutions run as Tokio tasks, so [`Resolve::resolve`] must be awaited inside a Tokio runtime.
#[derive(Clone)]
pub struct Registry {
    /// State shared with in-flight resolutions.
    inner: Arc<Inner>,
}

/// A resolution in flight, awaited by every caller asking for the same reference.
type Flight = Shared<BoxFuture<'static, Result<Resolved, ResolveError>>>;

/// Everything a resolution needs.
struct Inner {
    /// The shared HTTP client (one connection pool).
    http: reqwest::Client,
    /// Timeouts and retries.
    policy: RetryPolicy,
    /// Limit for one resolution.
    deadline: Duration,
    /// Requests in flight per registry host.
    concurrency: usize,
    /// Largest manifest accepted.
    max_manifest_bytes: usize,
    /// Registries reached over plain HTTP (normalised `host:port`).
    insecure: HashSet<String>,
    /// Credential sources.
    credentials: Credentials,
    /// Requests sent, by kind.
    counters: Counters,
    /// Per registry host state.
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// Resolutions in flight, by normalised reference.
    flights: Mutex<HashMap<String, Flight>>,
}

/// Requests sent, by kind.
#[derive(Default)]
struct Counters {
    /// Manifest GETs (every attempt).
    manifests: AtomicU64,
    /// `GET /v2/` pings.
    pings: AtomicU64,
    /// Token service requests.
    tokens: AtomicU64,
    /// Blob GETs.
    blobs: AtomicU64,
    /// Referrers API GETs.
    referrers: AtomicU64,
    /// Attempts of any kind that failed: transport errors, timeouts, oversized bodies, 429 and 5xx.
    errors: AtomicU64,
}

/// What is known about one registry host.
struct Host {
    /// The concurrency limit.
    permits: Semaphore,
    /// The credential, looked up once.
    credential: tokio::sync::OnceCell<Found>,
    /// How the registry authenticates, learned from `GET /v2/` (and updated by a 401); the async
    /// lock makes concurrent resolutions share one probe.
    probe: tokio::sync::Mutex<Probe>,
    /// Bearer tokens per repository; the async lock makes concurrent resolutions share one fetch.
    tokens: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Token>>>>>,
    /// Set once the registry answered a referrers API request with 404: it has no referrers API.
    no_referrers_api: AtomicBool,
}

/// What the `GET /v2/` probe of a registry found out.
enum Probe {
    /// Not probed yet.
    Unknown,
    /// How the registry authenticates.
    Known(Challenge),
    /// The probe failed at `at`; resolutions within [`PROBE_FAILURE_TTL`] fail the same way.
    Failed {
        /// The failure, as reported for the resolution that probed.
        error: ResolveError,
        /// When it failed.
        at: Instant,
    },
}

/// An `Authorization` header value and whether it reused a cached token.
struct Authorization {
    /// The header value, if anything is sent.
    header: Option<HeaderValue>,
    /// Whether it is a cached bearer token (which may have been revoked early).
    cached: bool,
}

/// One resolution: the reference, its registry and the clock.
struct Job<'a> {
    /// The reference.
    image: &'a ImageRef,
    /// The reference, normalised, for errors.
    name: String,
    /// The registry as `host[:port]`.
    registry: &'a str,
    /// `scheme://host[:port]` of the registry API.
    base: String,
    /// When the resolution must be over.
    deadline: Instant,
    /// The registry's state.
    host: Arc<Host>,
}

impl Registry {
    /// Builds a client: reads the CA bundle, the docker config and the pull secrets (credential
    /// helpers run later, once per registry, when first needed).
    pub fn new(options: RegistryOptions) -> Result<Self, RegistryError> {
        let RegistryOptions {
            request_timeout,
            deadline,
            retries,
            retry_backoff,
            retry_backoff_max,
            concurrency_per_registry,
            max_manifest_bytes,
            docker_config,
            pull_secrets,
            credential_helper_path,
            credential_helper_timeout,
            ca_bundle,
            insecure,
        } = options;
        let invalid = |reason: &str| Err(RegistryError::InvalidOption { reason: reason.to_owned() });
        if concurrency_per_registry == 0 {
            return invalid("concurrency_per_registry must be at least 1");
        }
        if request_timeout.is_zero() || deadline.is_zero() {
            return invalid("request_timeout and deadline must be longer than zero");
        }
        if max_manifest_bytes == 0 {
            return invalid("max_manifest_bytes must be at least 1");
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("syncgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_max_idle_per_host(concurrency_per_registry);
        if let Some(path) = ca_bundle {
            let pem = match std::fs::read(&path) {
                Ok(pem) => pem,
                Err(source) => return Err(RegistryError::ReadCaBundle { path, source }),
            };
            let certificates = match reqwest::Certificate::from_pem_bundle(&pem) {
                Ok(certificates) if !certificates.is_empty() => certificates,
                Ok(_) => {
                    let reason = "no \"BEGIN CERTIFICATE\" block found".to_owned();
                    return Err(RegistryError::InvalidCaBundle { path, reason });
                }
                Err(error) => return Err(RegistryError::InvalidCaBundle { path, reason: error.to_string() }),
            };
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder.build().map_err(|error| RegistryError::HttpClient { reason: error.to_string() })?;
        let credentials = Credentials::load(
            docker_config.as_deref(),
            &pull_secrets,
            credential_helper_path,
            credential_helper_timeout,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                policy: RetryPolicy {
                    request_timeout,
                    retries,
                    backoff: retry_backoff,
                    backoff_max: retry_backoff_max,
                },
                deadline,
                concurrency: concurrency_per_registry,
                max_manifest_bytes,
                insecure: insecure.iter().map(|host| normalise_host(host)).collect(),
                credentials,
                counters: Counters::default(),
                hosts: Mutex::default(),
                flights: Mutex::default(),
            }),
        })
    }

    /// HTTP requests sent so far: manifest, blob and referrers GETs, `/v2/` pings and token requests,
    /// retries included.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.manifest_requests() + self.blob_requests() + self.referrers_requests() + self.auth_requests()
    }

    /// Blob GETs sent so far (signature payloads, attestations, bundles), retries included.
    #[must_use]
    pub fn blob_requests(&self) -> u64 {
        self.inner.counters.blobs.load(Ordering::Relaxed)
    }

    /// Referrers API GETs sent so far, retries included (at most one per registry that lacks the API).
    #[must_use]
    pub fn referrers_requests(&self) -> u64 {
        self.inner.counters.referrers.load(Ordering::Relaxed)
    }

    /// Manifest GETs sent so far, retries included (one per resolved image when nothing fails).
    #[must_use]
    pub fn manifest_requests(&self) -> u64 {
        self.inner.counters.manifests.load(Ordering::Relaxed)
    }

    /// Authentication requests sent so far: one `GET /v2/` per registry host, plus one token
    /// request per repository (and per token expiry) on registries with a token service.
    #[must_use]
    pub fn auth_requests(&self) -> u64 {
        self.inner.counters.pings.load(Ordering::Relaxed) + self.inner.counters.tokens.load(Ordering::Relaxed)
    }

    /// Request attempts that failed so far: transport errors, timeouts, oversized bodies, and 429 or
    /// 5xx answers (each retry counted).
    #[must_use]
    pub fn request_errors(&self) -> u64 {
        self.inner.counters.errors.load(Ordering::Relaxed)
    }

    /// Joins the resolution of `image` in flight, or starts one.
    fn flight(&self, image: &ImageRef) -> Flight {
        let key = image.to_string();
        let mut flights = self.inner.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(&key) {
            return flight.clone();
        }
        let inner = Arc::clone(&self.inner);
        let task_key = key.clone();
        let owned = image.clone();
        // A task, so the resolution finishes (and leaves the table) even if every caller gives up.
        let task = tokio::spawn(async move {
            let result = Arc::clone(&inner).resolve(&owned).await;
            inner.flights.lock().unwrap_or_else(PoisonError::into_inner).remove(&task_key);
            result
        });
        let (name, registry) = (key.clone(), image.registry().to_owned());
        let flight = async move {
            task.await.unwrap_or_else(|error| {
                Err(ResolveError::Unavailable {
                    image: name,
                    registry,
                    detail: format!("resolution task failed: {error}"),
                })
            })
        }
        .boxed()
        .shared();
        flights.insert(key, flight.clone());
        flight
    }
}

/// A manifest or index fetched by reference, with the digest of the bytes served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The digest of `body`, computed locally (and checked against the reference if it is a digest).
    pub digest: Digest,
    /// The media type the registry served it as, if it said.
    pub media_type: Option<String>,
    /// The bytes.
    pub body: Vec<u8>,
}

impl Artifacts for Registry {
    fn manifest<'a>(
        &'a self,
        repository: &'a ImageRef,
        reference: &'a str,
        accept: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
        async move {
            let inner = &self.inner;
            let mut job = inner.job(repository);
            job.name = format!("{}/{}:{reference}", repository.registry(), repository.repository());
            let request = Get {
                url: format!("{}/v2/{}/manifests/{reference}", job.base, repository.repository()),
                accept: Some(accept.join(", ")),
                counter: &inner.counters.manifests,
                limit: inner.max_manifest_bytes,
                what: "manifest".to_owned(),
            };
            let reply = inner.get_within(&job, &request).await?;
            let Some(reply) = reply else { return Ok(None) };
            let media_type = content_type(&reply.headers);
            let digest = match Digest::parse(reference) {
                Ok(pinned) => {
                    let actual = digest_of(pinned.algorithm(), &reply.body);
                    if actual != pinned.as_str() {
                        return Err(job.mismatch(pinned.as_str(), actual));
                    }
                    pinned
                }
                Err(_) => Digest::parse(&digest_of("sha256", &reply.body))
                    .map_err(|error| job.invalid(format!("cannot compute the digest: {error}")))?,
            };
            Ok(Some(Fetched { digest, media_type, body: reply.body }))
        }
        .boxed()
    }

    fn blob<'a>(
        &'a self,
        repository: &'a ImageRef,
        digest: &'a Digest,
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, ResolveError>> {
        async move {
            let inner = &self.inner;
            let mut job = inner.job(repository);
            job.name = format!("{}/{}@{digest}", repository.registry(), repository.repository());
            let request = Get {
                url: format!("{}/v2/{}/blobs/{digest}", job.base, repository.repository()),
                accept: None,
                counter: &inner.counters.blobs,
                limit,
                what: format!("blob {digest}"),
            };
            let Some(reply) = inner.get_within(&job, &request).await? else { return Ok(None) };
            let actual = digest_of(digest.algorithm(), &reply.body);
            if actual != digest.as_str() {
                return Err(job.mismatch(digest.as_str(), actual));
            }
            Ok(Some(reply.body))
        }
        .boxed()
    }

    fn referrers<'a>(
        &'a self,
        repository: &'a ImageRef,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
        async move {
            let inner = &self.inner;
            let mut job = inner.job(repository);
            if job.host.no_referrers_api.load(Ordering::Relaxed) {
                return Ok(None);
            }
            job.name = format!("{}/{} referrers of {subject}", repository.registry(), repository.repository());
            let request = Get {
                url: format!("{}/v2/{}/referrers/{subject}", job.base, repository.repository()),
                accept: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned()),
                counter: &inner.counters.referrers,
                limit: inner.max_manifest_bytes,
                what: "referrers index".to_owned(),
            };
            let Some(reply) = inner.get_within(&job, &request).await? else {
                // A registry with the referrers API never answers 404 (OCI distribution spec 1.1).
                job.host.no_referrers_api.store(true, Ordering::Relaxed);
                return Ok(None);
            };
            let media_type = content_type(&reply.headers);
            let digest = Digest::parse(&digest_of("sha256", &reply.body))
                .map_err(|error| job.invalid(format!("cannot compute the digest: {error}")))?;
            Ok(Some(Fetched { digest, media_type, body: reply.body }))
        }
        .boxed()
    }
}

impl Resolve for Registry {
    fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>> {
        // Joining or starting the flight happens on first poll, inside the caller's runtime.
        async move { self.flight(image).await }.boxed()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("manifest_requests", &self.manifest_requests())
            .field("auth_requests", &self.auth_requests())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Resolves `image` within the deadline.
    async fn resolve(self: Arc<Self>, image: &ImageRef) -> Result<Resolved, ResolveError> {
        let job = self.job(image);
        match tokio::time::timeout(self.deadline, self.resolve_within(&job)).await {
            Ok(result) => result,
            Err(_) => Err(job.timeout(self.deadline)),
        }
    }

    /// One GET within the deadline: `Some(reply)` for 200, `None` for 404, an error otherwise.
    async fn get_within(&self, job: &Job<'_>, request: &Get<'_>) -> Result<Option<Reply>, ResolveError> {
        let exchange = async {
            let (reply, found) = self.get(job, request).await?;
            match reply.status {
                StatusCode::OK => Ok(Some(reply)),
                StatusCode::NOT_FOUND => Ok(None),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(job.refused(reply.status, found, &reply)),
                status => Err(job.unavailable(format!(
                    "{}: unexpected HTTP {}{}",
                    request.what,
                    status.as_u16(),
                    registry_says(&reply)
                ))),
            }
        };
        match tokio::time::timeout(self.deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(job.timeout(self.deadline)),
        }
    }

    /// The state for one resolution of `image`.
    fn job<'a>(&self, image: &'a ImageRef) -> Job<'a> {
        let registry = image.registry();
        let key = normalise_host(registry);
        let scheme = if self.insecure.contains(&key) { "http" } else { "https" };
        let endpoint = if registry == DOCKER_HUB { DOCKER_HUB_ENDPOINT } else { registry };
        let host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(hosts.entry(key).or_insert_with(|| {
                Arc::new(Host {
                    permits: Semaphore::new(self.concurrency),
                    credential: tokio::sync::OnceCell::new(),
                    probe: tokio::sync::Mutex::new(Probe::Unknown),
                    tokens: Mutex::default(),
                    no_referrers_api: AtomicBool::new(false),
                })
            }))
        };
        Job {
            image,
            name: image.to_string(),
            registry,
            base: format!("{scheme}://{endpoint}"),
            deadline: Instant::now() + self.deadline,
            host,
        }
    }

    /// Credential, challenge, token, then the manifest GET (once more after a 401 that a fresh
    /// challenge or token may cure).
    async fn resolve_within(&self, job: &Job<'_>) -> Result<Resolved, ResolveError> {
        let reference = match job.image.digest() {
            Some(digest) => digest.to_string(),
            None => job.image.tag().unwrap_or("latest").to_owned(),
        };
        let request = Get {
            url: format!("{}/v2/{}/manifests/{reference}", job.base, job.image.repository()),
            accept: Some(ACCEPTED_MEDIA_TYPES.join(", ")),
            counter: &self.counters.manifests,
            limit: self.max_manifest_bytes,
            what: "manifest".to_owned(),
        };
        let (reply, found) = self.get(job, &request).await?;
        match reply.status {
            StatusCode::OK => verify(job, &reply),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(job.refused(reply.status, found, &reply)),
            StatusCode::NOT_FOUND => Err(job.not_found(&reply)),
            status => Err(job.unavailable(format!("unexpected HTTP {}{}", status.as_u16(), registry_says(&reply)))),
        }
    }

    /// One authenticated GET in the job's repository: credential, challenge, token, then the request
    /// (once more after a 401 that a fresh challenge or token may cure). Returns the final reply,
    /// whatever its status, and the credential used.
    async fn get<'j>(&self, job: &'j Job<'_>, request: &Get<'_>) -> Result<(Reply, &'j Found), ResolveError> {
        let found = job.host.credential.get_or_init(|| self.credentials.lookup(job.registry)).await;
        let challenge = self.challenge(job).await?;
        let authorization = self.authorization(job, &challenge, found, false).await?;
        let mut reply = self.send(job, request, authorization.header.as_ref()).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            let announced = Challenge::from_headers(www_authenticate(&reply.headers));
            let changed = reply.headers.contains_key(WWW_AUTHENTICATE) && announced != challenge;
            if changed {
                *job.host.probe.lock().await = Probe::Known(announced.clone());
            }
            let current = if changed { announced } else { challenge };
            if changed || authorization.cached {
                let fresh = self.authorization(job, &current, found, true).await?;
                if fresh.header != authorization.header || authorization.cached {
                    reply = self.send(job, request, fresh.header.as_ref()).await?;
                }
            }
        }
        Ok((reply, found))
    }

    /// A transport for `job`, counting into `counter`.
    fn transport<'a>(&'a self, job: &'a Job<'_>, counter: &'a AtomicU64) -> Transport<'a> {
        Transport {
            client: &self.http,
            permits: &job.host.permits,
            counter,
            errors: &self.counters.errors,
            policy: &self.policy,
            deadline: job.deadline,
        }
    }

    /// How the registry authenticates: `GET /v2/` once per host, then cached (a failure for
    /// [`PROBE_FAILURE_TTL`]).
    async fn challenge(&self, job: &Job<'_>) -> Result<Challenge, ResolveError> {
        let mut probe = job.host.probe.lock().await;
        match &*probe {
            Probe::Known(challenge) => return Ok(challenge.clone()),
            Probe::Failed { error, at } if at.elapsed() < PROBE_FAILURE_TTL => return Err(job.retarget(error)),
            Probe::Failed { .. } | Probe::Unknown => {}
        }
        let url = format!("{}/v2/", job.base);
        let reply = match self.transport(job, &self.counters.pings).send(|client| client.get(&url), MAX_AUTH_BODY).await
        {
            Ok(reply) => reply,
            Err(failure) => {
                let error = job.failed(failure, "");
                *probe = Probe::Failed { error: error.clone(), at: Instant::now() };
                return Err(error);
            }
        };
        // Only a 401 asks for credentials; anything else lets the manifest request speak for itself.
        let challenge = if reply.status == StatusCode::UNAUTHORIZED {
            Challenge::from_headers(www_authenticate(&reply.headers))
        } else {
            Challenge::None
        };
        tracing::debug!(registry = job.registry, ?challenge, "registry authentication");
        *probe = Probe::Known(challenge.clone());
        Ok(challenge)
    }

    /// The `Authorization` header for the manifest request; `refresh` skips the token cache.
    async fn authorization(
        &self,
        job: &Job<'_>,
        challenge: &Challenge,
        found: &Found,
        refresh: bool,
    ) -> Result<Authorization, ResolveError> {
        let header = |value: String, cached: bool| {
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                job.unauthorized(
                    StatusCode::UNAUTHORIZED,
                    format!("the credentials from {} contain characters not allowed in an HTTP header", found.source),
                )
            })?;
            value.set_sensitive(true);
            Ok(Authorization { header: Some(value), cached })
        };
        match (challenge, &found.credential) {
            (_, Some(Credential::RegistryToken(token))) => header(format!("Bearer {token}"), false),
            (Challenge::Basic, Some(Credential::Basic { username, password })) => {
                header(basic_header(username, password), false)
            }
            (Challenge::None | Challenge::Basic, _) => Ok(Authorization { header: None, cached: false }),
            (Challenge::Bearer { realm, service }, credential) => {
                let (token, cached) =
                    self.token(job, realm, service.as_deref(), credential.as_ref(), found, refresh).await?;
                header(token.header(), cached)
            }
        }
    }

    /// A pull token for the job's repository, from the cache unless `refresh`; `true` if cached.
    async fn token(
        &self,
        job: &Job<'_>,
        realm: &str,
        service: Option<&str>,
        credential: Option<&Credential>,
        found: &Found,
        refresh: bool,
    ) -> Result<(Token, bool), ResolveError> {
        let slot = {
            let mut tokens = job.host.tokens.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(tokens.entry(job.image.repository().to_owned()).or_default())
        };
        let mut slot = slot.lock().await;
        if !refresh && let Some(token) = slot.as_ref().filter(|token| token.is_fresh()) {
            return Ok((token.clone(), true));
        }
        let request = TokenRequest::new(realm, service, job.image.repository(), credential)
            .map_err(|detail| job.unauthorized(StatusCode::UNAUTHORIZED, detail))?;
        let url = request.url();
        let realm_host = url.host_str().unwrap_or_default();
        let realm_host = url.port().map_or_else(|| realm_host.to_owned(), |port| format!("{realm_host}:{port}"));
        if request.sends_secret() && url.scheme() == "http" && !self.insecure.contains(&normalise_host(&realm_host)) {
            return Err(job.unauthorized(
                StatusCode::UNAUTHORIZED,
                format!(
                    "refusing to send the credentials from {} to the plain-HTTP token service {realm_host}",
                    found.source
                ),
            ));
        }
        let started = Instant::now();
        let reply = self
            .transport(job, &self.counters.tokens)
            .send(|client| request.build(client), MAX_AUTH_BODY)
            .await
            .map_err(|failure| job.failed(failure, &format!("token service {realm_host}: ")))?;
        match reply.status {
            StatusCode::OK => {
                let token = Token::from_response(&reply.body, started)
                    .map_err(|detail| job.unavailable(format!("token service {realm_host}: {detail}")))?;
                *slot = Some(token.clone());
                Ok((token, false))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(job.unauthorized(
                reply.status,
                format!("token service {realm_host} refused {}{}", credential_phrase(found), registry_says(&reply)),
            )),
            status => Err(job.unavailable(format!(
                "token service {realm_host}: unexpected HTTP {}{}",
                status.as_u16(),
                registry_says(&reply)
            ))),
        }
    }

    /// Sends `request` with `authorization`.
    async fn send(
        &self,
        job: &Job<'_>,
        request: &Get<'_>,
        authorization: Option<&HeaderValue>,
    ) -> Result<Reply, ResolveError> {
        self.transport(job, request.counter)
            .send(
                |client| {
                    let mut builder = client.get(&request.url);
                    if let Some(accept) = &request.accept {
                        builder = builder.header(ACCEPT, accept);
                    }
                    match authorization {
                        Some(value) => builder.header(AUTHORIZATION, value.clone()),
                        None => builder,
                    }
                },
                request.limit,
            )
            .await
            .map_err(|failure| match failure {
                Failure::TooLarge { limit } => {
                    job.invalid(format!("{} is larger than the {limit}-byte limit", request.what))
                }
                failure => job.failed(failure, ""),
            })
    }
}

/// One GET on a registry API.
struct Get<'c> {
    /// The full URL.
    url: String,
    /// The `Accept` header, if any.
    accept: Option<String>,
    /// Counts the request.
    counter: &'c AtomicU64,
    /// Largest body accepted.
    limit: usize,
    /// What is fetched, for errors (`manifest`, `blob sha256:…`).
    what: String,
}

impl Job<'_> {
    /// [`ResolveError::NotFound`] from a 404 reply.
    fn not_found(&self, reply: &Reply) -> ResolveError {
        let code =
            error_envelope(reply).and_then(|envelope| envelope.errors.into_iter().next()).map(|error| error.code);
        let detail = match (code, self.image.digest()) {
            (Some(OciErrorCode::NameUnknown), _) => format!("repository {:?} not found", self.image.repository()),
            (_, Some(digest)) => format!("manifest {digest} not found"),
            (_, None) => format!("tag {:?} not found", self.image.tag().unwrap_or("latest")),
        };
        ResolveError::NotFound { image: self.name.clone(), registry: self.registry.to_owned(), detail }
    }

    /// [`ResolveError::Unauthorized`] for a 401 or 403 on the manifest.
    fn refused(&self, status: StatusCode, found: &Found, reply: &Reply) -> ResolveError {
        let detail = match (&found.credential, status) {
            (None, _) => format!("{} and the registry requires credentials{}", found.source, registry_says(reply)),
            (Some(_), StatusCode::FORBIDDEN) => {
                format!("the credentials from {} have no pull access{}", found.source, registry_says(reply))
            }
            (Some(_), _) => format!("the credentials from {} were refused{}", found.source, registry_says(reply)),
        };
        self.unauthorized(status, detail)
    }

    /// `error` (from another resolution on the same registry) reported for this job's image.
    fn retarget(&self, error: &ResolveError) -> ResolveError {
        let mut error = error.clone();
        match &mut error {
            ResolveError::NotFound { image, .. }
            | ResolveError::Unauthorized { image, .. }
            | ResolveError::Unavailable { image, .. }
            | ResolveError::Timeout { image, .. }
            | ResolveError::DigestMismatch { image, .. }
            | ResolveError::InvalidManifest { image, .. } => image.clone_from(&self.name),
        }
        error
    }

    /// [`ResolveError::Unauthorized`].
    fn unauthorized(&self, status: StatusCode, detail: String) -> ResolveError {
        ResolveError::Unauthorized {
            image: self.name.clone(),
            registry: self.registry.to_owned(),
            status: status.as_u16(),
            detail,
        }
    }

    /// [`ResolveError::Unavailable`].
    fn unavailable(&self, detail: String) -> ResolveError {
        ResolveError::Unavailable { image: self.name.clone(), registry: self.registry.to_owned(), detail }
    }

    /// [`ResolveError::Timeout`].
    fn timeout(&self, after: Duration) -> ResolveError {
        ResolveError::Timeout { image: self.name.clone(), registry: self.registry.to_owned(), after }
    }

    /// [`ResolveError::InvalidManifest`].
    fn invalid(&self, detail: String) -> ResolveError {
        ResolveError::InvalidManifest { image: self.name.clone(), registry: self.registry.to_owned(), detail }
    }

    /// [`ResolveError::DigestMismatch`].
    fn mismatch(&self, expected: &str, actual: String) -> ResolveError {
        ResolveError::DigestMismatch {
            image: self.name.clone(),
            registry: self.registry.to_owned(),
            expected: expected.to_owned(),
            actual,
        }
    }

    /// Maps a transport failure; `prefix` names the request when it is not the registry API itself.
    fn failed(&self, failure: Failure, prefix: &str) -> ResolveError {
        let tries = |attempts: u32| if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
        let with_note = |text: String, note: Option<String>| match note {
            Some(note) => format!("{prefix}{text} ({note})"),
            None => format!("{prefix}{text}"),
        };
        match failure {
            Failure::Status { reply, note } => {
                let status = reply.status.as_u16();
                let reason = if reply.status == StatusCode::TOO_MANY_REQUESTS { " (too many requests)" } else { "" };
                self.unavailable(with_note(
                    format!("HTTP {status}{reason}{}{}", tries(reply.attempts), registry_says(&reply)),
                    note,
                ))
            }
            Failure::Transport { detail, attempts, note } => {
                self.unavailable(with_note(format!("{detail}{}", tries(attempts)), note))
            }
            Failure::Timeout { after } => self.timeout(after),
            Failure::TooLarge { limit } if prefix.is_empty() => {
                self.invalid(format!("manifest is larger than the {limit}-byte limit"))
            }
            Failure::TooLarge { limit } => self.unavailable(format!("{prefix}response larger than {limit} bytes")),
        }
    }
}

/// Checks a 200 manifest reply and computes its digest.
fn verify(job: &Job<'_>, reply: &Reply) -> Result<Resolved, ResolveError> {
    let body = &reply.body;
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| job.invalid(format!("not JSON ({} bytes)", body.len())))?;
    let schema_version = value.get("schemaVersion").and_then(serde_json::Value::as_u64);
    if schema_version != Some(2) {
        return Err(job.invalid(match schema_version {
            Some(version) => format!("schemaVersion {version} is not supported (only 2)"),
            None => "no schemaVersion: not an image manifest or index".to_owned(),
        }));
    }
    let manifest: OciManifest = serde_json::from_value(value)
        .map_err(|_| job.invalid("neither an image manifest nor an image index".to_owned()))?;
    let (declared, is_index) = match &manifest {
        OciManifest::Image(image) => (image.media_type.as_deref(), false),
        OciManifest::ImageIndex(index) => (index.media_type.as_deref(), true),
    };
    let content_type = content_type(&reply.headers);
    let media_type = match content_type.as_deref() {
        Some(content_type) if ACCEPTED_MEDIA_TYPES.contains(&content_type) => {
            if let Some(declared) = declared.filter(|declared| *declared != content_type) {
                return Err(
                    job.invalid(format!("served as {content_type} but the manifest declares mediaType {declared}"))
                );
            }
            content_type.to_owned()
        }
        Some(content_type) if !GENERIC_CONTENT_TYPES.contains(&content_type) => {
            return Err(job.invalid(format!("unsupported media type {content_type}")));
        }
        _ => match declared {
            Some(declared) if ACCEPTED_MEDIA_TYPES.contains(&declared) => declared.to_owned(),
            Some(declared) => return Err(job.invalid(format!("unsupported media type {declared}"))),
            None if is_index => OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned(),
            None => OCI_IMAGE_MEDIA_TYPE.to_owned(),
        },
    };
    let media_type_is_index = media_type == OCI_IMAGE_INDEX_MEDIA_TYPE || media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE;
    if media_type_is_index != is_index {
        let body_kind = if is_index { "an image index" } else { "an image manifest" };
        return Err(job.invalid(format!("served as {media_type} but the body is {body_kind}")));
    }

    if let Some(header) = reply.headers.get(DOCKER_CONTENT_DIGEST) {
        let announced = header
            .to_str()
            .ok()
            .and_then(|text| Digest::parse(text.trim()).ok())
            .ok_or_else(|| job.invalid("the Docker-Content-Digest header is not a valid digest".to_owned()))?;
        let actual = digest_of(announced.algorithm(), body);
        if actual != announced.as_str() {
            return Err(job.mismatch(announced.as_str(), actual));
        }
    }
    let digest = match job.image.digest() {
        Some(pinned) => {
            let actual = digest_of(pinned.algorithm(), body);
            if actual != pinned.as_str() {
                return Err(job.mismatch(pinned.as_str(), actual));
            }
            pinned.clone()
        }
        None => Digest::parse(&digest_of("sha256", body))
            .map_err(|error| job.invalid(format!("cannot compute the digest: {error}")))?,
    };
    Ok(Resolved { digest, media_type })
}

/// The media type of a reply's `Content-Type`, lowercased, without parameters.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .filter(|value| !value.is_empty())
}

/// The values of the `WWW-Authenticate` headers.
fn www_authenticate(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers.get_all(WWW_AUTHENTICATE).iter().filter_map(|value| value.to_str().ok())
}

/// The OCI error envelope of an error reply, if it has one.
fn error_envelope(reply: &Reply) -> Option<OciEnvelope> {
    serde_json::from_slice::<OciEnvelope>(&reply.body).ok()
}

/// `: registry says "…" (CODE)` from an error reply's OCI envelope, or nothing.
fn registry_says(reply: &Reply) -> String {
    let Some(error) = error_envelope(reply).and_then(|envelope| envelope.errors.into_iter().next()) else {
        return String::new();
    };
    let code =
        serde_json::to_value(&error.code).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default();
    let message: String = error.message.chars().take(200).collect();
    match (message.is_empty(), code.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!(": {code}"),
        (false, true) => format!(": registry says {message:?}"),
        (false, false) => format!(": registry says {message:?} ({code})"),
    }
}

/// `the credentials from <source>` or `anonymous access`.
fn credential_phrase(found: &Found) -> String {
    match found.credential {
        Some(_) => format!("the credentials from {}", found.source),
        None => found.source.clone(),
    }
}

/// `algorithm:hex` of `bytes`, for sha256, sha384 or sha512 (the algorithms [`Digest`] accepts).
fn digest_of(algorithm: &str, bytes: &[u8]) -> String {
    let hash = match algorithm {
        "sha384" => sha2::Sha384::digest(bytes).to_vec(),
        "sha512" => sha2::Sha512::digest(bytes).to_vec(),
        _ => sha2::Sha256::digest(bytes).to_vec(),
    };
    let algorithm = if matches!(algorithm, "sha384" | "sha512") { algorithm } else { "sha256" };
    let mut text = String::with_capacity(algorithm.len() + 1 + hash.len() * 2);
    text.push_str(algorithm);
    text.push(':');
    for byte in hash {
        text.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        text.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    text
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const MANIFEST: &str = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:2eb0f58a47d875219a333751bb5cdb687cefd86d169dc6775551fb0ea93acecf","size":292},"layers":[]}"#;
    const DOCKER: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:2eb0f58a47d875219a333751bb5cdb687cefd86d169dc6775551fb0ea93acecf","size":292},"layers":[]}"#;
    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    const EMPTY_SHA256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn host() -> Arc<Host> {
        Arc::new(Host {
            permits: Semaphore::new(1),
            credential: tokio::sync::OnceCell::new(),
            probe: tokio::sync::Mutex::new(Probe::Unknown),
            tokens: Mutex::default(),
            no_referrers_api: AtomicBool::new(false),
        })
    }

    fn job(image: &ImageRef) -> Job<'_> {
        Job {
            image,
            name: image.to_string(),
            registry: image.registry(),
            base: String::new(),
            deadline: Instant::now(),
            host: host(),
        }
    }

    fn reply(content_type: Option<&str>, digest_header: Option<&str>, body: &str) -> Reply {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        if let Some(value) = digest_header {
            headers.insert(DOCKER_CONTENT_DIGEST, HeaderValue::from_str(value).unwrap());
        }
        Reply { status: StatusCode::OK, headers, body: body.as_bytes().to_vec(), attempts: 1 }
    }

    fn check(reference: &str, reply: &Reply) -> Result<Resolved, ResolveError> {
        let image: ImageRef = reference.parse().unwrap();
        verify(&job(&image), reply)
    }

    fn invalid(detail: &str) -> Result<&'static str, String> {
        Err(detail.to_owned())
    }

    #[rstest]
    #[case::oci_manifest_without_media_type(Some(OCI_IMAGE_MEDIA_TYPE), MANIFEST, Ok(OCI_IMAGE_MEDIA_TYPE))]
    #[case::content_type_parameters(
        Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        MANIFEST,
        Ok(OCI_IMAGE_MEDIA_TYPE)
    )]
    #[case::docker_manifest(Some(IMAGE_MANIFEST_MEDIA_TYPE), DOCKER, Ok(IMAGE_MANIFEST_MEDIA_TYPE))]
    #[case::oci_index(Some(OCI_IMAGE_INDEX_MEDIA_TYPE), INDEX, Ok(OCI_IMAGE_INDEX_MEDIA_TYPE))]
    #[case::generic_content_type_uses_declared(Some("application/json"), DOCKER, Ok(IMAGE_MANIFEST_MEDIA_TYPE))]
    #[case::no_content_type_infers_index(None, r#"{"schemaVersion":2,"manifests":[]}"#, Ok(OCI_IMAGE_INDEX_MEDIA_TYPE))]
    #[case::no_content_type_infers_manifest(None, MANIFEST, Ok(OCI_IMAGE_MEDIA_TYPE))]
    #[case::index_type_but_manifest_body(
        Some(OCI_IMAGE_INDEX_MEDIA_TYPE),
        MANIFEST,
        invalid("served as application/vnd.oci.image.index.v1+json but the body is an image manifest")
    )]
    #[case::declared_type_disagrees(
        Some(OCI_IMAGE_MEDIA_TYPE),
        DOCKER,
        invalid(
            "served as application/vnd.oci.image.manifest.v1+json but the manifest declares mediaType application/vnd.docker.distribution.manifest.v2+json"
        )
    )]
    #[case::schema_1(
        Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
        r#"{"schemaVersion":1}"#,
        invalid("schemaVersion 1 is not supported (only 2)")
    )]
    #[case::schema_1_content_type(
        Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
        MANIFEST,
        invalid("unsupported media type application/vnd.docker.distribution.manifest.v1+prettyjws")
    )]
    #[case::html(Some("text/html"), "<html></html>", invalid("not JSON (13 bytes)"))]
    #[case::json_but_not_a_manifest(
        Some(OCI_IMAGE_MEDIA_TYPE),
        r#"{"schemaVersion":2,"hello":1}"#,
        invalid("neither an image manifest nor an image index")
    )]
    fn media_types(#[case] content_type: Option<&str>, #[case] body: &str, #[case] expected: Result<&str, String>) {
        let result = check("ghcr.io/acme/api:1", &reply(content_type, None, body));
        match (result, expected) {
            (Ok(resolved), Ok(media_type)) => {
                assert_eq!(resolved.media_type, media_type);
                assert_eq!(resolved.digest.as_str(), digest_of("sha256", body.as_bytes()));
            }
            (Err(ResolveError::InvalidManifest { detail, image, registry }), Err(expected)) => {
                assert_eq!(detail, expected);
                assert_eq!((image.as_str(), registry.as_str()), ("ghcr.io/acme/api:1", "ghcr.io"));
            }
            (result, expected) => panic!("{result:?} vs {expected:?}"),
        }
    }

    #[test]
    fn docker_content_digest_must_match_the_bytes() {
        let right = digest_of("sha256", MANIFEST.as_bytes());
        let sha512 = digest_of("sha512", MANIFEST.as_bytes());
        for header in [right.as_str(), sha512.as_str()] {
            let resolved = check("ghcr.io/acme/api:1", &reply(Some(OCI_IMAGE_MEDIA_TYPE), Some(header), MANIFEST));
            assert_eq!(resolved.unwrap().digest.as_str(), right, "the sha256 digest is returned");
        }
        let error = check("ghcr.io/acme/api:1", &reply(Some(OCI_IMAGE_MEDIA_TYPE), Some(EMPTY_SHA256), MANIFEST));
        assert_eq!(
            error,
            Err(ResolveError::DigestMismatch {
                image: "ghcr.io/acme/api:1".to_owned(),
                registry: "ghcr.io".to_owned(),
                expected: EMPTY_SHA256.to_owned(),
                actual: right,
            })
        );
        let error = check("ghcr.io/acme/api:1", &reply(Some(OCI_IMAGE_MEDIA_TYPE), Some("md5:abc"), MANIFEST));
        assert!(matches!(error, Err(ResolveError::InvalidManifest { .. })), "{error:?}");
    }

    #[test]
    fn pinned_digest_is_checked_with_its_algorithm_and_kept() {
        let sha512 = digest_of("sha512", MANIFEST.as_bytes());
        let resolved =
            check(&format!("ghcr.io/acme/api:1@{sha512}"), &reply(Some(OCI_IMAGE_MEDIA_TYPE), None, MANIFEST));
        assert_eq!(resolved.unwrap().digest.as_str(), sha512);
        let error =
            check(&format!("ghcr.io/acme/api@{EMPTY_SHA256}"), &reply(Some(OCI_IMAGE_MEDIA_TYPE), None, MANIFEST));
        assert!(
            matches!(&error, Err(ResolveError::DigestMismatch { expected, .. }) if expected == EMPTY_SHA256),
            "{error:?}"
        );
    }

    #[test]
    fn digests_of_known_inputs() {
        assert_eq!(digest_of("sha256", b""), EMPTY_SHA256);
        assert_eq!(
            digest_of("sha384", b""),
            "sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
        );
        assert!(Digest::parse(&digest_of("sha512", b"x")).is_ok());
    }

    #[test]
    fn shared_probe_failures_name_each_image() {
        let first: ImageRef = "ghcr.io/acme/api:1".parse().unwrap();
        let second: ImageRef = "ghcr.io/acme/web:2".parse().unwrap();
        let error = job(&first).unavailable("connection refused after 4 attempts".to_owned());
        assert_eq!(
            job(&second).retarget(&error),
            ResolveError::Unavailable {
                image: "ghcr.io/acme/web:2".to_owned(),
                registry: "ghcr.io".to_owned(),
                detail: "connection refused after 4 attempts".to_owned(),
            }
        );
    }

    #[rstest]
    #[case::no_envelope(b"oops".as_slice(), "")]
    #[case::message_and_code(br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#.as_slice(), r#": registry says "requested access to the resource is denied" (DENIED)"#)]
    #[case::code_only(br#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#.as_slice(), ": TOOMANYREQUESTS")]
    fn registry_messages(#[case] body: &[u8], #[case] expected: &str) {
        let reply =
            Reply { status: StatusCode::FORBIDDEN, headers: HeaderMap::new(), body: body.to_vec(), attempts: 1 };
        assert_eq!(registry_says(&reply), expected);
    }

    #[test]
    fn options_are_validated() {
        let error = Registry::new(RegistryOptions { concurrency_per_registry: 0, ..RegistryOptions::default() });
        assert_eq!(
            error.unwrap_err().to_string(),
            "invalid registry option: concurrency_per_registry must be at least 1"
        );
    }
}
