//! Registries: resolve image tags to digests over the OCI distribution API, with the digest computed
//! locally from the manifest bytes that were fetched (a registry's `Docker-Content-Digest` is never
//! trusted), credentials, timeouts, retries, per-registry concurrency limits and singleflight.
//!
//! Owns talking to registries. It decides nothing: a failure is a [`ResolveError`] that the pipeline
//! turns into a finding naming the image, the registry and the cause.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::image::{Digest, ImageRef};

mod client;

pub use client::{Fetched, Registry, RegistryError, RegistryOptions};

/// What a registry said about one image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The digest of the manifest (or index) bytes that were fetched, computed locally.
    pub digest: Digest,
    /// The manifest's media type (OCI or Docker manifest, index or manifest list).
    pub media_type: String,
}

/// Why an image could not be resolved. Every variant names the image and the registry; none ever
/// contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The registry has no such tag or digest (404 / MANIFEST_UNKNOWN / NAME_UNKNOWN).
    #[error("{image}: not found in registry {registry}: {detail}")]
    NotFound {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// What the registry said.
        detail: String,
    },
    /// The registry refused the credentials, or demands some (401 / 403).
    #[error("{image}: registry {registry} refused access (HTTP {status}): {detail}")]
    Unauthorized {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// 401 or 403.
        status: u16,
        /// What the registry said, or which credential source was used.
        detail: String,
    },
    /// The registry could not be reached or kept failing (connection refused or reset, 5xx or 429
    /// after retries, TLS errors).
    #[error("{image}: registry {registry} is unavailable: {detail}")]
    Unavailable {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// The last cause.
        detail: String,
    },
    /// No answer within the per-request timeout or the overall deadline.
    #[error("{image}: registry {registry} did not answer within {after:?}")]
    Timeout {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// The timeout or deadline that passed.
        after: Duration,
    },
    /// The content does not match the digest that was asked for or announced: a pinned reference
    /// whose manifest hashes differently, or a `Docker-Content-Digest` header that disagrees with the
    /// bytes served.
    #[error("{image}: registry {registry} served content with digest {actual}, not {expected}")]
    DigestMismatch {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// The digest asked for or announced.
        expected: String,
        /// The digest of the bytes served.
        actual: String,
    },
    /// The registry answered with something that is not a manifest (wrong media type, too large,
    /// not JSON).
    #[error("{image}: registry {registry} served an invalid manifest: {detail}")]
    InvalidManifest {
        /// The reference as normalised.
        image: String,
        /// Registry `host[:port]`.
        registry: String,
        /// What is wrong.
        detail: String,
    },
}

/// Turns an image reference into the digest a registry serves for it. Implemented by the registry
/// client and by the cache in front of it; tests use hand-written fakes.
pub trait Resolve: Send + Sync {
    /// Resolves one reference. A reference that already carries a digest is checked against the
    /// registry's content, not re-resolved, and keeps its digest.
    fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>>;
}

/// Reads what is stored next to an image in its repository: signature and attestation manifests,
/// their blobs, and referrers. Implemented by the registry client (same credentials, limits and
/// deadline as resolution); tests use real registries or hand-written fakes.
pub trait Artifacts: Send + Sync {
    /// `GET /v2/<repository>/manifests/<reference>` in `repository`'s repository, asking for
    /// `accept`. `None` when the registry has no such manifest.
    fn manifest<'a>(
        &'a self,
        repository: &'a ImageRef,
        reference: &'a str,
        accept: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>>;

    /// `GET /v2/<repository>/blobs/<digest>`, at most `limit` bytes, checked against `digest`. `None`
    /// when the registry has no such blob.
    fn blob<'a>(
        &'a self,
        repository: &'a ImageRef,
        digest: &'a Digest,
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, ResolveError>>;

    /// `GET /v2/<repository>/referrers/<subject>`: the referrers index, or `None` when the registry
    /// has no referrers API (then the referrers tag schema, `sha256-<hex>`, is the fallback).
    fn referrers<'a>(
        &'a self,
        repository: &'a ImageRef,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>>;
}
