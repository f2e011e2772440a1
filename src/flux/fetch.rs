//! Fetching an upstream Flux artifact: download `status.artifact.url` within a deadline and a
//! size cap, check the bytes against `status.artifact.digest`, and unpack them with the hostile
//! archive extractor ([`crate::server::extract`]).
//!
//! This is what Flux's own fetcher does for kustomize-controller (download, verify, untar); the
//! digest is checked before a single entry is unpacked. Deciding when to fetch (revision change)
//! is the reconciler's job.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sha2::Digest as _;

use crate::image::Digest;
use crate::server::extract::{self, ExtractError, ExtractLimits, Extracted};

/// Bounds on one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// The whole download (connect, headers, body) must finish within this.
    pub timeout: Duration,
    /// Most compressed bytes accepted.
    pub max_download_bytes: u64,
    /// Bounds on the unpacked tree.
    pub extract: ExtractLimits,
}

impl Default for FetchLimits {
    /// 2 minutes, 128 MiB compressed, and the extractor's defaults.
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(120),
            max_download_bytes: 128 << 20,
            extract: ExtractLimits::default(),
        }
    }
}

/// What a successful fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The verified digest (equal to the one asked for).
    pub digest: Digest,
    /// Compressed bytes downloaded.
    pub size: u64,
    /// What was unpacked.
    pub extracted: Extracted,
}

/// Why an upstream artifact was not fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `status.artifact.digest` is not a digest this fetcher can check.
    #[error("upstream digest {digest:?} is not a sha256, sha384 or sha512 digest")]
    InvalidDigest {
        /// The digest as published.
        digest: String,
    },
    /// The request failed (connection, TLS, protocol).
    #[error("cannot download {url}")]
    Request {
        /// The URL.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-success status.
    #[error("downloading {url} failed with HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The download did not finish within the deadline.
    #[error("downloading {url} did not finish within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The artifact is larger than the cap.
    #[error("artifact at {url} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// The bytes do not hash to the published digest.
    #[error("artifact at {url} has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// The URL.
        url: String,
        /// The published digest.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The verified archive could not be unpacked safely.
    #[error("cannot unpack the artifact from {url}")]
    Extract {
        /// The URL.
        url: String,
        /// The extractor's refusal.
        #[source]
        source: ExtractError,
    },
}

/// Downloads the artifact at `url`, verifies it against `digest` (`<algo>:<hex>`) and unpacks it
/// into `dest`, an existing empty directory. Nothing is unpacked unless the digest matches; an
/// extraction error can leave part of the tree behind, so `dest` should be a fresh temporary
/// directory that is discarded on error.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    digest: &str,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, FetchError> {
    let expected = Digest::parse(digest).map_err(|_| FetchError::InvalidDigest { digest: digest.to_owned() })?;
    let bytes = tokio::time::timeout(limits.timeout, download(client, url, limits.max_download_bytes))
        .await
        .map_err(|_| FetchError::Timeout { url: url.to_owned(), timeout: limits.timeout })??;
    let actual = digest_of(expected.algorithm(), &bytes);
    if actual != expected.as_str() {
        return Err(FetchError::DigestMismatch { url: url.to_owned(), expected: expected.as_str().to_owned(), actual });
    }
    let size = bytes.len() as u64;
    let dest = dest.to_owned();
    let extract_limits = limits.extract;
    let extracted = tokio::task::spawn_blocking(move || {
        extract::extract(bytes.as_slice(), &dest, &extract_limits, &AtomicBool::new(false))
    })
    .await
    .unwrap_or(Err(ExtractError::Cancelled))
    .map_err(|source| FetchError::Extract { url: url.to_owned(), source })?;
    Ok(Fetched { digest: expected, size, extracted })
}

async fn download(client: &reqwest::Client, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
    let request_error = |source| FetchError::Request { url: url.to_owned(), source };
    let mut response = client.get(url).send().await.map_err(request_error)?;
    if !response.status().is_success() {
        return Err(FetchError::Status { url: url.to_owned(), status: response.status().as_u16() });
    }
    let too_large = || FetchError::TooLarge { url: url.to_owned(), limit };
    if response.content_length().is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `<algorithm>:<hex>` of `bytes`; `algorithm` is one [`Digest`] accepts.
fn digest_of(algorithm: &str, bytes: &[u8]) -> String {
    let hex = match algorithm {
        "sha384" => hex::encode(sha2::Sha384::digest(bytes)),
        "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
        _ => hex::encode(sha2::Sha256::digest(bytes)),
    };
    format!("{algorithm}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_names_the_algorithm() {
        assert_eq!(digest_of("sha256", b""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(digest_of("sha512", b"").starts_with("sha512:cf83e135"));
    }

    #[tokio::test]
    async fn unsupported_digest_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let client = reqwest::Client::new();
        let err = fetch(&client, "http://127.0.0.1:9/x.tar.gz", "sha1:abc", dir.path(), &FetchLimits::default())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::InvalidDigest { .. }), "{err}");
    }
}
