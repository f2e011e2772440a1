//! Signatures and provenance: which signing material is stored next to a pinned image, and whether it
//! proves what the image's `ImagePolicy` demands, verified against the digest the registry step pinned.
//!
//! [`Verifier`] is the edge (registry reads, a cache of evidence by digest and policy hash in memory
//! and, through an [`EvidenceStore`], on disk and in Redis; trust roots fetched from TUF repositories
//! by [`tuf::TufRoots`]); [`check::evaluate`] is the pure decision over what was read, with the trust
//! root already resolved.

pub mod bundle;
pub mod certificate;
pub mod check;
pub mod discover;
pub mod dsse;
pub mod evidence;
pub mod key;
pub mod require;
pub mod sct;
pub mod tlog;
pub mod trust;
pub mod tuf;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::BoxFuture;

use crate::cache::{CachedResolver, StoredEvidence};
use crate::registry::Resolve;

use self::check::{COSIGN_SIGN_PREDICATE, IMAGE_SIGNATURE, Outcome};
pub use self::evidence::Verification;
use self::evidence::{Evidence, Refusal};
use self::trust::TrustRoot;
use self::tuf::TufRoots;
use crate::image::{Digest, ImageRef};
use crate::policy::image::{ImagePolicy, TrustRootSource};
use crate::registry::Artifacts;

/// What verification said about one pinned image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageCheck {
    /// No `ImagePolicy` matches it; the set's `noMatch` decides.
    NoMatch(crate::policy::image::NoMatch),
    /// One outcome per matching `ImagePolicy`, in load order.
    Checked(Vec<PolicyOutcome>),
}

/// The outcome of one `ImagePolicy` for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// The policy's name.
    pub policy: std::sync::Arc<str>,
    /// The policy's mode.
    pub mode: crate::report::Mode,
    /// Whether it has attestation requirements (an `image-attestation` pass is then recorded).
    pub attestations: bool,
    /// Evidence, or why not.
    pub outcome: Outcome,
}

/// Checks one pinned image against one `ImagePolicy`. Implemented by [`Verifier`]; tests may use fakes.
pub trait Verify: Send + Sync {
    /// Reads the image's signing material and checks it against `policy`. Never fails: what cannot be
    /// decided is a refusal marked `undecided`, which denies under enforce.
    fn verify<'a>(&'a self, policy: &'a ImagePolicy, image: &'a ImageRef, digest: &'a Digest)
    -> BoxFuture<'a, Outcome>;
}

/// Keeps verified evidence between processes: opaque bytes under a key, for at most a TTL. Implemented
/// by [`CachedResolver`], which keeps it in its disk and Redis tiers sealed with HMAC-SHA256, and only
/// when an HMAC key is configured (evidence lets an image skip verification, so a checksum is not
/// enough).
pub trait EvidenceStore: Send + Sync {
    /// The bytes stored under `key`, if an intact entry exists that expires within `ttl` from now (and
    /// has not expired), with how much longer it is valid. Every problem is a miss, logged by the store.
    fn load<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Option<StoredEvidence>>;

    /// Stores `value` under `key` for `ttl`. Best effort: failures are logged by the store.
    fn store<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, ()>;
}

impl<R: Resolve> EvidenceStore for CachedResolver<R> {
    fn load<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Option<StoredEvidence>> {
        Box::pin(self.load_evidence(key, ttl))
    }

    fn store<'a>(&'a self, key: &'a str, value: &'a [u8], ttl: Duration) -> BoxFuture<'a, ()> {
        Box::pin(self.store_evidence(key, value, ttl))
    }
}

/// How long verified evidence is reused for a digest and policy hash (the signatures of a digest do
/// not change; a re-check picks up new trust roots and revocations).
pub const EVIDENCE_TTL: Duration = Duration::from_secs(60 * 60);

/// Most evidence entries kept in memory.
const EVIDENCE_ENTRIES: usize = 10_000;

/// Evidence in memory: when it was remembered and for how long it is reused.
struct Remembered {
    evidence: Evidence,
    at: Instant,
    valid_for: Duration,
}

impl Remembered {
    fn is_fresh(&self) -> bool {
        self.at.elapsed() < self.valid_for
    }
}

/// One verification in flight: its outcome once known, behind the lock its leader holds meanwhile.
type Flight = Arc<tokio::sync::Mutex<Option<Outcome>>>;

/// Verifies images over a registry, remembering what it proved and the trust roots it fetched.
///
/// Evidence is looked up in memory, then in the [`EvidenceStore`] if one is set (what another process
/// proved), and only then verified; evidence verified here goes to both. Concurrent calls for the
/// same digest and policy share one verification and its outcome (a daemon's cold start under
/// load would otherwise read and check the same material once per request).
pub struct Verifier<A> {
    store: A,
    ttl: Duration,
    /// Evidence by digest and policy hash.
    evidence: Mutex<HashMap<(String, String), Remembered>>,
    /// Verifications in flight, by digest and policy hash.
    flights: Mutex<HashMap<(String, String), Flight>>,
    persisted: Option<Arc<dyn EvidenceStore>>,
    tuf: TufRoots,
}

impl<A: Artifacts> Verifier<A> {
    /// A verifier reading from `store`, caching evidence for [`EVIDENCE_TTL`].
    pub fn new(store: A) -> Self {
        Self::with_ttl(store, EVIDENCE_TTL)
    }

    /// A verifier caching evidence for `ttl` (zero: no caching).
    pub fn with_ttl(store: A, ttl: Duration) -> Self {
        Verifier {
            store,
            ttl,
            evidence: Mutex::default(),
            flights: Mutex::default(),
            persisted: None,
            tuf: TufRoots::new(),
        }
    }

    /// Also keeps evidence in `persisted`, for other processes (and reads theirs).
    #[must_use]
    pub fn with_store(mut self, persisted: Arc<dyn EvidenceStore>) -> Self {
        self.persisted = Some(persisted);
        self
    }

    /// Fetches `trustRoot: {tuf: …}` trust roots with `roots` (refresh interval, default cache
    /// directory) instead of [`TufRoots::new`].
    #[must_use]
    pub fn with_tuf_roots(mut self, roots: TufRoots) -> Self {
        self.tuf = roots;
        self
    }

    /// The registry client.
    pub fn store(&self) -> &A {
        &self.store
    }

    /// The trust root `policy` names: its file, or what its TUF repository serves (fetched on first
    /// use), or an empty one when it needs none.
    async fn trust_root(&self, policy: &ImagePolicy) -> Result<Arc<TrustRoot>, tuf::TufError> {
        match &policy.trust_root {
            None => Ok(Arc::new(TrustRoot::empty())),
            Some(TrustRootSource::File(file)) => Ok(Arc::clone(&file.root)),
            Some(TrustRootSource::Tuf(source)) => self.tuf.trust_root(source).await,
        }
    }

    async fn verify_uncached(&self, policy: &ImagePolicy, image: &ImageRef, digest: &Digest) -> Outcome {
        let name = image_name(image);
        let trust = match self.trust_root(policy).await {
            Ok(trust) => trust,
            Err(error) => return Err(vec![undecided(&name, digest, &error.to_string())]),
        };
        let attestations = !policy.attestations.is_empty();
        // Legacy tags first: one manifest and one blob per signature, and no referrer lookups at all
        // when they already satisfy the policy.
        let mut material = match discover::legacy(&self.store, image, digest, attestations).await {
            Ok(material) => material,
            Err(error) => return Err(vec![undecided(&name, digest, &error.to_string())]),
        };
        let outcome = check::evaluate(policy, &trust, &name, digest, &material);
        if outcome.is_ok() {
            return outcome;
        }
        let wanted = |announced: Option<&str>| {
            announced
                .is_none_or(|p| p == COSIGN_SIGN_PREDICATE || policy.attestations.iter().any(|a| a.predicate_type == p))
        };
        match discover::referred(&self.store, image, digest, &wanted, &mut material.skipped).await {
            Ok(bundles) if bundles.is_empty() => outcome,
            Ok(bundles) => {
                material.bundles = bundles;
                check::evaluate(policy, &trust, &name, digest, &material)
            }
            Err(error) => Err(vec![undecided(&name, digest, &error.to_string())]),
        }
    }

    /// Verifies once for every caller waiting on the same flight: the first to take its lock
    /// verifies and leaves the outcome for the others. A leader that is cancelled leaves nothing,
    /// and the next waiter verifies instead.
    async fn verify_shared(
        &self,
        key: (String, String),
        policy: &ImagePolicy,
        image: &ImageRef,
        digest: &Digest,
    ) -> Outcome {
        let flight =
            Arc::clone(self.flights.lock().unwrap_or_else(PoisonError::into_inner).entry(key.clone()).or_default());
        let mut shared = flight.lock().await;
        if let Some(outcome) = shared.as_ref() {
            return outcome.clone();
        }
        let outcome = match self.cached(&key) {
            // A flight that ended between this caller's cache miss and its joining.
            Some(evidence) => Ok(evidence),
            None => self.verify_and_remember(key.clone(), policy, image, digest).await,
        };
        *shared = Some(outcome.clone());
        // Callers from now on find the evidence in memory, or (after a refusal) verify anew.
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if flights.get(&key).is_some_and(|current| Arc::ptr_eq(current, &flight)) {
            flights.remove(&key);
        }
        outcome
    }

    /// Evidence another process stored, or a verification here; evidence is remembered and stored.
    async fn verify_and_remember(
        &self,
        key: (String, String),
        policy: &ImagePolicy,
        image: &ImageRef,
        digest: &Digest,
    ) -> Outcome {
        if let Some((evidence, valid_for)) = self.load_persisted(policy, image, digest).await {
            self.remember(key, &evidence, valid_for);
            return Ok(evidence);
        }
        let outcome = self.verify_uncached(policy, image, digest).await;
        if let Ok(evidence) = &outcome {
            self.remember(key, evidence, self.ttl);
            self.persist(policy, image, digest, evidence).await;
        }
        outcome
    }

    fn cached(&self, key: &(String, String)) -> Option<Evidence> {
        let cache = self.evidence.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(key).filter(|remembered| remembered.is_fresh()).map(|remembered| remembered.evidence.clone())
    }

    /// Keeps `evidence` in memory for `valid_for` (at most the TTL).
    fn remember(&self, key: (String, String), evidence: &Evidence, valid_for: Duration) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.evidence.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= EVIDENCE_ENTRIES {
            cache.retain(|_, remembered| remembered.is_fresh());
            if cache.len() >= EVIDENCE_ENTRIES {
                cache.clear();
            }
        }
        let remembered =
            Remembered { evidence: evidence.clone(), at: Instant::now(), valid_for: valid_for.min(self.ttl) };
        cache.insert(key, remembered);
    }

    /// Evidence another process (or this one) stored for `image` at `digest` under `policy`, if the
    /// store has an intact entry and it is about exactly these: its digest, policy hash, image and
    /// policy name must be the ones asked for. Anything else is logged and verified again.
    async fn load_persisted(
        &self,
        policy: &ImagePolicy,
        image: &ImageRef,
        digest: &Digest,
    ) -> Option<(Evidence, Duration)> {
        let persisted = self.persisted.as_ref().filter(|_| !self.ttl.is_zero())?;
        let name = image_name(image);
        let key = persisted_key(policy, &name, digest);
        let stored = persisted.load(&key, self.ttl).await?;
        match serde_json::from_slice::<Evidence>(&stored.value) {
            Ok(evidence)
                if evidence.digest == digest.as_str()
                    && evidence.policy_hash == policy.hash
                    && evidence.image == name
                    && evidence.policy == *policy.name =>
            {
                Some((evidence, stored.expires_in))
            }
            Ok(evidence) => {
                tracing::warn!(
                    image = %name,
                    %digest,
                    policy = %policy.name,
                    stored = %format_args!("{}@{} under {} ({})", evidence.image, evidence.digest, evidence.policy, evidence.policy_hash),
                    "cached evidence is about another image, digest or policy; verifying again"
                );
                None
            }
            Err(error) => {
                tracing::warn!(image = %name, %digest, policy = %policy.name, %error, "cached evidence does not parse; verifying again");
                None
            }
        }
    }

    /// Hands `evidence` to the store, if there is one.
    async fn persist(&self, policy: &ImagePolicy, image: &ImageRef, digest: &Digest, evidence: &Evidence) {
        let Some(persisted) = self.persisted.as_ref().filter(|_| !self.ttl.is_zero()) else { return };
        let key = persisted_key(policy, &image_name(image), digest);
        match serde_json::to_vec(evidence) {
            Ok(value) => persisted.store(&key, &value, self.ttl).await,
            Err(error) => tracing::debug!(%digest, %error, "cannot serialise evidence; not stored"),
        }
    }
}

/// `registry/repository` of `image`, as evidence names it.
fn image_name(image: &ImageRef) -> String {
    format!("{}/{}", image.registry(), image.repository())
}

/// The key evidence is stored under: digest, policy hash, image and policy name (the store hashes it).
fn persisted_key(policy: &ImagePolicy, image: &str, digest: &Digest) -> String {
    format!("{digest}\0{}\0{image}\0{}", policy.hash, policy.name)
}

impl<A: Artifacts> Verify for Verifier<A> {
    fn verify<'a>(
        &'a self,
        policy: &'a ImagePolicy,
        image: &'a ImageRef,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Outcome> {
        async move {
            let key = (digest.to_string(), policy.hash.clone());
            if let Some(evidence) = self.cached(&key) {
                return Ok(evidence);
            }
            self.verify_shared(key, policy, image, digest).await
        }
        .boxed()
    }
}

/// An error with its causes, `outer: inner: innermost` (errors here do not repeat their causes).
pub(crate) fn explain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A refusal for material that could not be read.
fn undecided(image: &str, digest: &Digest, detail: &str) -> Refusal {
    Refusal {
        rule: IMAGE_SIGNATURE,
        message: format!("{image}@{digest}: cannot verify signatures, so the image is refused: {detail}"),
        undecided: true,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::manifest::Limits;
    use crate::registry::{Fetched, ResolveError};

    /// A registry that is down, counting what it was asked; each answer takes `delay`.
    #[derive(Default)]
    struct Down {
        asked: AtomicUsize,
        delay: Duration,
    }

    impl Down {
        fn slow() -> Down {
            Down { delay: Duration::from_millis(20), ..Down::default() }
        }

        fn fail<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, ResolveError>> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            let error = ResolveError::Unavailable {
                image: "ghcr.io/acme/api".into(),
                registry: "ghcr.io".into(),
                detail: "connection refused".into(),
            };
            let delay = self.delay;
            async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Err(error)
            }
            .boxed()
        }
    }

    impl Artifacts for Down {
        fn manifest<'a>(
            &'a self,
            _: &'a ImageRef,
            _: &'a str,
            _: &'a [&'a str],
        ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
            self.fail()
        }

        fn blob<'a>(
            &'a self,
            _: &'a ImageRef,
            _: &'a Digest,
            _: usize,
        ) -> BoxFuture<'a, Result<Option<Vec<u8>>, ResolveError>> {
            self.fail()
        }

        fn referrers<'a>(
            &'a self,
            _: &'a ImageRef,
            _: &'a Digest,
        ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
            self.fail()
        }
    }

    /// An evidence store in memory, remembering the TTL it was given.
    #[derive(Default)]
    struct Memory {
        entries: Mutex<HashMap<String, Vec<u8>>>,
    }

    impl EvidenceStore for Memory {
        fn load<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Option<StoredEvidence>> {
            let value = self.entries.lock().unwrap().get(key).cloned();
            async move { value.map(|value| StoredEvidence { value, expires_in: ttl }) }.boxed()
        }

        fn store<'a>(&'a self, key: &'a str, value: &'a [u8], _: Duration) -> BoxFuture<'a, ()> {
            self.entries.lock().unwrap().insert(key.to_owned(), value.to_vec());
            async {}.boxed()
        }
    }

    fn policy() -> ImagePolicy {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/image-policy/acme-release.yaml");
        let set = crate::policy::load(&[PathBuf::from(path)], &Limits::default()).unwrap();
        set.images[0].clone()
    }

    fn digest(fill: char) -> Digest {
        Digest::parse(&format!("sha256:{}", fill.to_string().repeat(64))).unwrap()
    }

    fn evidence(policy: &ImagePolicy, image: &str, digest: &Digest) -> Evidence {
        Evidence {
            image: image.to_owned(),
            digest: digest.to_string(),
            policy: policy.name.to_string(),
            policy_hash: policy.hash.clone(),
            signatures: vec![evidence::Signature {
                authority: "release-key".to_owned(),
                signer: evidence::Signer::Key { fingerprint: "sha256:00".to_owned() },
                source: "sha256-….sig layer 0".to_owned(),
                log: None,
            }],
            attestations: Vec::new(),
        }
    }

    fn verifier(store: &Arc<Memory>) -> Verifier<Down> {
        Verifier::new(Down::default()).with_store(Arc::clone(store) as Arc<dyn EvidenceStore>)
    }

    #[tokio::test]
    async fn stored_evidence_for_exactly_this_image_digest_and_policy_skips_the_registry() {
        let policy = policy();
        let image: ImageRef = "ghcr.io/acme/api:1.4.0".parse().unwrap();
        let pinned = digest('a');
        let stored = evidence(&policy, "ghcr.io/acme/api", &pinned);
        let store = Arc::new(Memory::default());
        let key = persisted_key(&policy, "ghcr.io/acme/api", &pinned);
        store.entries.lock().unwrap().insert(key, serde_json::to_vec(&stored).unwrap());
        let verifier = verifier(&store);
        assert_eq!(verifier.verify(&policy, &image, &pinned).await, Ok(stored.clone()));
        assert_eq!(verifier.verify(&policy, &image, &pinned).await, Ok(stored), "then from memory");
        assert_eq!(verifier.store().asked.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn stored_evidence_about_anything_else_is_verified_again() {
        let policy = policy();
        let image: ImageRef = "ghcr.io/acme/api:1.4.0".parse().unwrap();
        let pinned = digest('a');
        let key = persisted_key(&policy, "ghcr.io/acme/api", &pinned);
        let other_policy =
            Evidence { policy_hash: "sha256:other".to_owned(), ..evidence(&policy, "ghcr.io/acme/api", &pinned) };
        for stored in [
            serde_json::to_vec(&evidence(&policy, "ghcr.io/acme/api", &digest('b'))).unwrap(),
            serde_json::to_vec(&evidence(&policy, "ghcr.io/acme/web", &pinned)).unwrap(),
            serde_json::to_vec(&other_policy).unwrap(),
            b"{\"not\": \"evidence\"}".to_vec(),
        ] {
            let store = Arc::new(Memory::default());
            store.entries.lock().unwrap().insert(key.clone(), stored);
            let verifier = verifier(&store);
            let outcome = verifier.verify(&policy, &image, &pinned).await;
            assert!(matches!(&outcome, Err(refusals) if refusals[0].undecided), "{outcome:?}");
            assert!(verifier.store().asked.load(Ordering::Relaxed) > 0, "the registry was asked");
        }
    }

    #[tokio::test]
    async fn concurrent_calls_for_one_digest_share_one_verification_and_its_outcome() {
        let policy = policy();
        let image: ImageRef = "ghcr.io/acme/api:1.4.0".parse().unwrap();
        let pinned = digest('a');
        let alone = Verifier::new(Down::slow());
        let expected = alone.verify(&policy, &image, &pinned).await;
        assert!(matches!(&expected, Err(refusals) if refusals[0].undecided), "{expected:?}");
        let per_verification = alone.store().asked.load(Ordering::Relaxed);

        let verifier = Verifier::new(Down::slow());
        let outcomes = futures::future::join_all((0..8).map(|_| verifier.verify(&policy, &image, &pinned))).await;
        assert!(outcomes.iter().all(|outcome| *outcome == expected), "{outcomes:?}");
        assert_eq!(verifier.store().asked.load(Ordering::Relaxed), per_verification, "one verification for all");
        assert!(verifier.flights.lock().unwrap().is_empty(), "the flight ended");
        // A refusal is not remembered: a later call verifies again.
        assert_eq!(verifier.verify(&policy, &image, &pinned).await, expected);
        assert_eq!(verifier.store().asked.load(Ordering::Relaxed), 2 * per_verification);
    }

    #[tokio::test]
    async fn a_cancelled_verification_hands_over_to_the_next_caller() {
        let policy = policy();
        let image: ImageRef = "ghcr.io/acme/api:1.4.0".parse().unwrap();
        let pinned = digest('a');
        let verifier = Verifier::new(Down::slow());
        let mut leader = verifier.verify(&policy, &image, &pinned);
        assert!((&mut leader).now_or_never().is_none(), "the leader waits for the registry");
        let mut follower = verifier.verify(&policy, &image, &pinned);
        assert!((&mut follower).now_or_never().is_none(), "the follower waits for the leader");
        drop(leader);
        let outcome = follower.await;
        assert!(matches!(&outcome, Err(refusals) if refusals[0].undecided), "{outcome:?}");
        assert!(verifier.flights.lock().unwrap().is_empty(), "the follower ended the flight");
    }

    #[test]
    fn keys_differ_by_digest_policy_and_image() {
        let policy = policy();
        let key = persisted_key(&policy, "ghcr.io/acme/api", &digest('a'));
        assert_ne!(key, persisted_key(&policy, "ghcr.io/acme/api", &digest('b')));
        assert_ne!(key, persisted_key(&policy, "ghcr.io/acme/web", &digest('a')));
        let renamed = ImagePolicy { name: "other".into(), ..policy.clone() };
        assert_ne!(key, persisted_key(&renamed, "ghcr.io/acme/api", &digest('a')));
        let changed = ImagePolicy { hash: "sha256:other".to_owned(), ..policy.clone() };
        assert_ne!(key, persisted_key(&changed, "ghcr.io/acme/api", &digest('a')));
    }
}
