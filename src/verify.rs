//! Signatures and provenance: which signing material is stored next to a pinned image, and whether it
//! proves what the image's `ImagePolicy` demands, verified against the digest the registry step pinned.
//!
//! [`Verifier`] is the edge (registry reads, a cache of evidence by digest and policy hash, trust roots
//! fetched from TUF repositories by [`tuf::TufRoots`]); [`check::evaluate`] is the pure decision over
//! what was read, with the trust root already resolved.

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

/// How long verified evidence is reused for a digest and policy hash (the signatures of a digest do
/// not change; a re-check picks up new trust roots and revocations).
pub const EVIDENCE_TTL: Duration = Duration::from_secs(60 * 60);

/// Most evidence entries kept in memory.
const EVIDENCE_ENTRIES: usize = 10_000;

/// Verifies images over a registry, remembering what it proved and the trust roots it fetched.
pub struct Verifier<A> {
    store: A,
    ttl: Duration,
    evidence: Mutex<HashMap<(String, String), (Evidence, Instant)>>,
    tuf: TufRoots,
}

impl<A: Artifacts> Verifier<A> {
    /// A verifier reading from `store`, caching evidence for [`EVIDENCE_TTL`].
    pub fn new(store: A) -> Self {
        Self::with_ttl(store, EVIDENCE_TTL)
    }

    /// A verifier caching evidence for `ttl` (zero: no caching).
    pub fn with_ttl(store: A, ttl: Duration) -> Self {
        Verifier { store, ttl, evidence: Mutex::default(), tuf: TufRoots::new() }
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
        let name = format!("{}/{}", image.registry(), image.repository());
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

    fn cached(&self, key: &(String, String)) -> Option<Evidence> {
        let cache = self.evidence.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(key).filter(|(_, at)| at.elapsed() < self.ttl).map(|(evidence, _)| evidence.clone())
    }

    fn remember(&self, key: (String, String), evidence: &Evidence) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.evidence.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= EVIDENCE_ENTRIES {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if cache.len() >= EVIDENCE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (evidence.clone(), Instant::now()));
    }
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
            let outcome = self.verify_uncached(policy, image, digest).await;
            if let Ok(evidence) = &outcome {
                self.remember(key, evidence);
            }
            outcome
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
