//! Sigstore trust roots: the `trusted_root.json` document (protobuf-JSON of
//! `dev.sigstore.trustroot.v1.TrustedRoot`) naming the transparency logs, certificate authorities and
//! CT logs to trust and when, and certificate path validation against those authorities.
//!
//! Loading is strict about what it reads and lenient about what it does not: unknown fields are
//! ignored (the format evolves) and `timestampAuthorities` is skipped, but a field of the wrong type,
//! bad base64, an unusable key or certificate, or a key that contradicts its `keyDetails` is an error
//! naming the JSON path (`tlogs[1].publicKey.rawBytes`). This module never fetches a trust root (TUF
//! is someone else's job) and never decides what a policy requires of a signer.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use super::certificate::{Certificate, CertificateError};
use super::key::{KeyAlgorithm, KeyError, PublicKey};

/// The trust root media type, version 0.1.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// The trust root media type, version 0.2.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.2";

/// Every accepted media type: the two above and their `…trustedroot.v0.N+json` spellings.
const MEDIA_TYPES: [&str; 4] = [
    MEDIA_TYPE_V0_1,
    MEDIA_TYPE_V0_2,
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];

/// DER contents of the `id-kp-codeSigning` OID (1.3.6.1.5.5.7.3.3).
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Protobuf-JSON bytes: standard base64, padding optional.
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// Protobuf-JSON bytes: URL-safe base64, padding optional.
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A time window; a missing bound is open. Both bounds are inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    /// First instant of the window, if bounded.
    pub start: Option<Timestamp>,
    /// Last instant of the window, if bounded.
    pub end: Option<Timestamp>,
}

impl Validity {
    /// Whether `at` lies within the window.
    #[must_use]
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|start| start <= at) && self.end.is_none_or(|end| at <= end)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.start, self.end) {
            (Some(start), Some(end)) => write!(f, "from {start} to {end}"),
            (Some(start), None) => write!(f, "from {start} on"),
            (None, Some(end)) => write!(f, "until {end}"),
            (None, None) => f.write_str("at any time"),
        }
    }
}

/// A transparency log (Rekor) or certificate transparency log, with the key its signatures verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransparencyLog {
    /// Where the log is served, e.g. `https://rekor.sigstore.dev`.
    pub base_url: String,
    /// The log ID (`logId.keyId`) in lowercase hex.
    pub log_id: String,
    /// The log's public key.
    pub key: PublicKey,
    /// When the key may be used (`publicKey.validFor`).
    pub valid_for: Validity,
}

/// A certificate authority (Fulcio) and the chain that identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateAuthority {
    /// Where the authority is served, e.g. `https://fulcio.sigstore.dev`; empty when not given.
    pub uri: String,
    /// Its certificates as listed: leaf-most (intermediate) first, root last. Never empty.
    pub chain: Vec<Certificate>,
    /// When certificates it issued are accepted.
    pub valid_for: Validity,
}

/// A validated certificate path: the certificate authority it leads to, and the certificate that
/// signed the leaf (an intermediate of the authority or of the signature, or the authority's root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificatePath<'r, 'c> {
    /// The certificate authority of the trust root the path leads to.
    pub authority: &'r CertificateAuthority,
    /// The leaf's issuer on the validated path: whose key the leaf's signature verified with.
    pub issuer: &'c Certificate,
}

/// Everything a Sigstore verification trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustRoot {
    /// Transparency logs (Rekor).
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate authorities (Fulcio).
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate transparency logs.
    pub ctlogs: Vec<TransparencyLog>,
}

/// Why a `trusted_root.json` document cannot be used. Every variant names the JSON path.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootError {
    /// The document is not JSON, or a field has the wrong type.
    #[error("{}", if path == "." { "not a valid trusted root JSON document" } else { path.as_str() })]
    Json {
        /// Path of the offending field (`.` for the document itself).
        path: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The media type is missing or not a supported trust root version.
    #[error("mediaType: {}, expected {MEDIA_TYPE_V0_1} or {MEDIA_TYPE_V0_2}", quoted_or_missing(found.as_deref()))]
    MediaType {
        /// The media type found, if any.
        found: Option<String>,
    },
    /// A required field is missing or empty.
    #[error("{path}: missing")]
    Missing {
        /// Path of the field.
        path: String,
    },
    /// A bytes field is not base64.
    #[error("{path}: not valid base64")]
    Base64 {
        /// Path of the field.
        path: String,
        /// What the decoder said.
        #[source]
        source: base64::DecodeError,
    },
    /// A public key cannot be used.
    #[error("{path}")]
    Key {
        /// Path of the field.
        path: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// `keyDetails` names another scheme than the key in `rawBytes` is.
    #[error("{path}: {found} does not match the key in rawBytes, which is {key}")]
    KeyDetailsMismatch {
        /// Path of the field.
        path: String,
        /// The value found.
        found: String,
        /// The scheme of the key.
        key: KeyAlgorithm,
    },
    /// `keyDetails` names a scheme this crate does not verify.
    #[error(
        "{path}: {found} is not a supported signature scheme: expected PKIX_ECDSA_P256_SHA_256, \
         PKIX_ECDSA_P384_SHA_384, PKIX_ED25519 or PKIX_RSA_PKCS1V15_*_SHA256"
    )]
    UnsupportedKeyDetails {
        /// Path of the field.
        path: String,
        /// The value found.
        found: String,
    },
    /// A certificate cannot be used.
    #[error("{path}")]
    Certificate {
        /// Path of the field.
        path: String,
        /// Why.
        #[source]
        source: CertificateError,
    },
    /// A root certificate cannot serve as a trust anchor.
    #[error("{path}: cannot be used as a trust anchor: {reason}")]
    TrustAnchor {
        /// Path of the certificate.
        path: String,
        /// Why.
        reason: String,
    },
    /// A time is not an RFC 3339 timestamp.
    #[error("{path}: not an RFC 3339 timestamp: {value:?}")]
    Time {
        /// Path of the field.
        path: String,
        /// The value found.
        value: String,
        /// What the parser said.
        #[source]
        source: jiff::Error,
    },
    /// A validity window ends before it starts.
    #[error("{path}: ends ({end}) before it starts ({start})")]
    InvertedValidity {
        /// Path of the window.
        path: String,
        /// Its start.
        start: Timestamp,
        /// Its end.
        end: Timestamp,
    },
}

/// `found` quoted, or `missing`.
fn quoted_or_missing(found: Option<&str>) -> String {
    found.map_or_else(|| "missing".to_owned(), |found| format!("{found:?}"))
}

impl TrustRoot {
    /// Reads a `trusted_root.json` document (media type version 0.1 or 0.2).
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustRootError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let raw: RawTrustedRoot = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| TrustRootError::Json { path: error.path().to_string(), source: error.into_inner() })?;
        deserializer.end().map_err(|source| TrustRootError::Json { path: ".".to_owned(), source })?;
        match raw.media_type.as_deref() {
            Some(media_type) if MEDIA_TYPES.contains(&media_type) => {}
            found => return Err(TrustRootError::MediaType { found: found.map(str::to_owned) }),
        }
        let logs = |raw: Option<Vec<RawLog>>, field: &str| -> Result<Vec<TransparencyLog>, TrustRootError> {
            raw.unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(index, log)| transparency_log(log, &format!("{field}[{index}]")))
                .collect()
        };
        Ok(Self {
            tlogs: logs(raw.tlogs, "tlogs")?,
            certificate_authorities: raw
                .certificate_authorities
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(index, authority)| certificate_authority(authority, &format!("certificateAuthorities[{index}]")))
                .collect::<Result<_, _>>()?,
            // A CT log whose key cannot be read (staging lists a PKCS#1 RSA key) is left out rather than
            // failing the whole trust root: SCT verification is optional, and an SCT from a left-out
            // log then counts as one from a log the trust root does not list.
            ctlogs: raw
                .ctlogs
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .filter_map(|(index, log)| match transparency_log(log, &format!("ctlogs[{index}]")) {
                    Ok(log) => Some(log),
                    Err(error) => {
                        tracing::debug!(%error, "certificate transparency log left out of the trust root");
                        None
                    }
                })
                .collect(),
        })
    }

    /// A trust root that trusts nothing: for key-only verification without any log.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// The transparency log with this log ID (hex, either case).
    #[must_use]
    pub fn tlog(&self, log_id_hex: &str) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|log| log.log_id.eq_ignore_ascii_case(log_id_hex))
    }

    /// Path from `leaf` (+ `intermediates` shipped with the signature) to a CA root, valid at `at`,
    /// code-signing EKU; the CA's validFor must contain `at`. Returns the CA that issued it.
    ///
    /// Every certificate on the path must be valid at `at`, the root included. The leaf must list the
    /// code-signing extended key usage; intermediates may omit the extension but must not exclude code
    /// signing. A path counts for a certificate authority only if each of its intermediates is listed by
    /// that authority or supplied by the caller.
    pub fn verify_certificate(
        &self,
        leaf: &Certificate,
        intermediates: &[Certificate],
        at: Timestamp,
    ) -> Result<&CertificateAuthority, CertificateError> {
        self.verify_certificate_path(leaf, intermediates, at).map(|path| path.authority)
    }

    /// As [`TrustRoot::verify_certificate`], and also returns the certificate that issued `leaf` on the
    /// validated path (what an embedded SCT's issuer key hash is computed over).
    pub fn verify_certificate_path<'r: 'c, 'i: 'c, 'c>(
        &'r self,
        leaf: &Certificate,
        intermediates: &'i [Certificate],
        at: Timestamp,
    ) -> Result<CertificatePath<'r, 'c>, CertificateError> {
        if self.certificate_authorities.is_empty() {
            return Err(CertificateError::NoCertificateAuthority);
        }
        leaf.check_code_signing()?;
        leaf.check_valid_at(at)?;
        let time = u64::try_from(at.as_second())
            .map(|seconds| UnixTime::since_unix_epoch(Duration::from_secs(seconds)))
            .map_err(|_| CertificateError::TimeOutOfRange { at })?;
        let invalid_path = |reason: String| CertificateError::InvalidPath { certificate: leaf.display_name(), reason };

        // One trust anchor per authority, in order; `anchored[i]` is the authority of `anchors[i]`.
        let mut anchors: Vec<TrustAnchor<'static>> = Vec::new();
        let mut anchored: Vec<usize> = Vec::new();
        for (index, authority) in self.certificate_authorities.iter().enumerate() {
            let Some(root) = authority.chain.last() else {
                continue;
            };
            let der = CertificateDer::from(root.der());
            if let Ok(anchor) = webpki::anchor_from_trusted_cert(&der) {
                anchors.push(anchor.to_owned());
                anchored.push(index);
            }
        }
        let pool: Vec<CertificateDer<'_>> = self
            .certificate_authorities
            .iter()
            .flat_map(|authority| authority.chain.split_last().map_or(&[][..], |(_, below_root)| below_root))
            .chain(intermediates)
            .map(|certificate| CertificateDer::from(certificate.der()))
            .collect();
        let leaf_der = CertificateDer::from(leaf.der());
        let end_entity = EndEntityCert::try_from(&leaf_der).map_err(|error| invalid_path(describe_webpki(&error)))?;

        let chosen = Cell::new(None);
        let chosen_issuer: Cell<Option<&'c Certificate>> = Cell::new(None);
        let turned_down = RefCell::new(Vec::new());
        let attribute = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let index = anchors
                .iter()
                .position(|anchor| std::ptr::eq(anchor, path.anchor()))
                .and_then(|position| anchored.get(position).copied())
                .ok_or(webpki::Error::UnknownIssuer)?;
            let authority = self.certificate_authorities.get(index).ok_or(webpki::Error::UnknownIssuer)?;
            let known = |der: &[u8]| authority.chain.iter().chain(intermediates).find(|known| known.der() == der);
            if !path.intermediate_certificates().all(|certificate| known(certificate.der().as_ref()).is_some()) {
                return Err(webpki::Error::UnknownIssuer);
            }
            if !authority.valid_for.contains(at) || authority.chain.last().is_some_and(|root| !root.is_valid_at(at)) {
                turned_down.borrow_mut().push(index);
                return Err(webpki::Error::UnknownIssuer);
            }
            // The first intermediate signed the leaf; without intermediates the root (the anchor) did.
            let issuer = match path.intermediate_certificates().next() {
                Some(certificate) => known(certificate.der().as_ref()),
                None => authority.chain.last(),
            };
            chosen.set(Some(index));
            chosen_issuer.set(issuer);
            Ok(())
        };
        let verified = end_entity.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &pool,
            time,
            KeyUsage::required_if_present(CODE_SIGNING),
            None,
            Some(&attribute),
        );
        match verified {
            Ok(_) => chosen
                .get()
                .and_then(|index| self.certificate_authorities.get(index))
                .zip(chosen_issuer.get())
                .map(|(authority, issuer)| CertificatePath { authority, issuer })
                .ok_or_else(|| invalid_path("the validated path leads to no listed certificate authority".to_owned())),
            Err(error) => Err(match turned_down.borrow().first() {
                Some(&index) => self.authority_not_valid(index, leaf, at),
                None => self.path_error(&error, leaf, intermediates, at),
            }),
        }
    }

    /// The error for a path that verified but leads to an authority (or root) not valid at `at`.
    fn authority_not_valid(&self, index: usize, leaf: &Certificate, at: Timestamp) -> CertificateError {
        let Some(authority) = self.certificate_authorities.get(index) else {
            return CertificateError::UnknownIssuer {
                certificate: leaf.display_name(),
                issuer: leaf.issuer_name().to_owned(),
            };
        };
        match authority.chain.last() {
            Some(root) if root.not_before() > at => {
                CertificateError::IssuerNotYetValid { issuer: root.display_name(), not_before: root.not_before(), at }
            }
            Some(root) if root.not_after() < at => {
                CertificateError::IssuerExpired { issuer: root.display_name(), not_after: root.not_after(), at }
            }
            _ => CertificateError::AuthorityNotValidAt {
                certificate: leaf.display_name(),
                authority: if authority.uri.is_empty() {
                    format!("certificateAuthorities[{index}]")
                } else {
                    authority.uri.clone()
                },
                window: authority.valid_for.to_string(),
                at,
            },
        }
    }

    /// The error for a failed path search, naming the issuing certificate at fault when it can be found.
    fn path_error(
        &self,
        error: &webpki::Error,
        leaf: &Certificate,
        intermediates: &[Certificate],
        at: Timestamp,
    ) -> CertificateError {
        // Every certificate that may be on the path, the leaf's own issuer (by name) first.
        let mut candidates: Vec<&Certificate> =
            self.certificate_authorities.iter().flat_map(|authority| &authority.chain).chain(intermediates).collect();
        candidates.sort_by_key(|candidate| candidate.subject_name() != leaf.issuer_name());
        let certificate = leaf.display_name();
        match error {
            webpki::Error::CertExpired { not_after, .. } => {
                match candidates
                    .iter()
                    .find(|issuer| issuer.not_after() < at && same_second(issuer.not_after(), *not_after))
                {
                    Some(issuer) => CertificateError::IssuerExpired {
                        issuer: issuer.display_name(),
                        not_after: issuer.not_after(),
                        at,
                    },
                    None => CertificateError::InvalidPath {
                        certificate,
                        reason: format!("an issuing certificate on the path expired at {}", unix_timestamp(*not_after)),
                    },
                }
            }
            webpki::Error::CertNotValidYet { not_before, .. } => {
                match candidates
                    .iter()
                    .find(|issuer| issuer.not_before() > at && same_second(issuer.not_before(), *not_before))
                {
                    Some(issuer) => CertificateError::IssuerNotYetValid {
                        issuer: issuer.display_name(),
                        not_before: issuer.not_before(),
                        at,
                    },
                    None => CertificateError::InvalidPath {
                        certificate,
                        reason: format!(
                            "an issuing certificate on the path is not valid before {}",
                            unix_timestamp(*not_before)
                        ),
                    },
                }
            }
            webpki::Error::RequiredEkuNotFoundContext(_) | webpki::Error::EmptyEkuExtension => {
                match candidates.iter().find(|issuer| issuer.excludes_code_signing()) {
                    Some(issuer) => CertificateError::IssuerNotForCodeSigning {
                        issuer: issuer.display_name(),
                        found: issuer.describe_extended_key_usage(),
                    },
                    None => CertificateError::InvalidPath {
                        certificate,
                        reason: "an issuing certificate on the path does not allow code signing".to_owned(),
                    },
                }
            }
            webpki::Error::InvalidSignatureForPublicKey => {
                CertificateError::BadSignature { certificate, issuer: leaf.issuer_name().to_owned() }
            }
            webpki::Error::UnknownIssuer => {
                CertificateError::UnknownIssuer { certificate, issuer: leaf.issuer_name().to_owned() }
            }
            other => CertificateError::InvalidPath { certificate, reason: describe_webpki(other) },
        }
    }
}

/// Whether a certificate time and a webpki time are the same second.
fn same_second(time: Timestamp, unix: UnixTime) -> bool {
    u64::try_from(time.as_second()).is_ok_and(|seconds| seconds == unix.as_secs())
}

/// A webpki time as a timestamp (the epoch if out of range, which certificate times never are).
fn unix_timestamp(unix: UnixTime) -> Timestamp {
    i64::try_from(unix.as_secs()).ok().and_then(|seconds| Timestamp::from_second(seconds).ok()).unwrap_or_default()
}

/// A webpki error in words.
fn describe_webpki(error: &webpki::Error) -> String {
    match error {
        webpki::Error::CaUsedAsEndEntity => "it is a CA certificate, not a signing certificate".to_owned(),
        webpki::Error::EndEntityUsedAsCa => "a certificate on the path is used as an issuer but is not a CA".to_owned(),
        webpki::Error::PathLenConstraintViolated => {
            "the path is longer than a CA's path length constraint allows".to_owned()
        }
        webpki::Error::NameConstraintViolation => "a CA's name constraints exclude the certificate".to_owned(),
        webpki::Error::UnsupportedCriticalExtension => {
            "a certificate on the path has a critical extension that is not understood".to_owned()
        }
        webpki::Error::UnsupportedSignatureAlgorithmContext(_)
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate on the path is signed with an unsupported algorithm".to_owned()
        }
        webpki::Error::MaximumPathDepthExceeded
        | webpki::Error::MaximumPathBuildCallsExceeded
        | webpki::Error::MaximumSignatureChecksExceeded => "the path search exceeded its limits".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Reads one `tlogs[]` or `ctlogs[]` entry at `path`.
fn transparency_log(raw: RawLog, path: &str) -> Result<TransparencyLog, TrustRootError> {
    let base_url = raw.base_url.filter(|url| !url.is_empty()).ok_or_else(|| missing(format!("{path}.baseUrl")))?;
    let public_key = raw.public_key.ok_or_else(|| missing(format!("{path}.publicKey")))?;
    let key_path = format!("{path}.publicKey.rawBytes");
    let der = decode_base64(public_key.raw_bytes, &key_path)?;
    let key = PublicKey::from_spki_der(&der).map_err(|source| TrustRootError::Key { path: key_path, source })?;
    if let Some(details) = public_key.key_details {
        check_key_details(&details, &key, format!("{path}.publicKey.keyDetails"))?;
    }
    let valid_for = validity(public_key.valid_for, &format!("{path}.publicKey.validFor"))?;
    let key_id = decode_base64(raw.log_id.and_then(|log_id| log_id.key_id), &format!("{path}.logId.keyId"))?;
    Ok(TransparencyLog { base_url, log_id: hex::encode(key_id), key, valid_for })
}

/// Reads one `certificateAuthorities[]` entry at `path`.
fn certificate_authority(raw: RawAuthority, path: &str) -> Result<CertificateAuthority, TrustRootError> {
    let chain_path = format!("{path}.certChain.certificates");
    let certificates = raw.cert_chain.and_then(|chain| chain.certificates).unwrap_or_default();
    if certificates.is_empty() {
        return Err(missing(chain_path));
    }
    let chain = certificates
        .into_iter()
        .enumerate()
        .map(|(index, certificate)| {
            let path = format!("{chain_path}[{index}].rawBytes");
            let der = decode_base64(certificate.raw_bytes, &path)?;
            Certificate::from_der(&der).map_err(|source| TrustRootError::Certificate { path, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(root) = chain.last() {
        let der = CertificateDer::from(root.der());
        webpki::anchor_from_trusted_cert(&der).map_err(|error| TrustRootError::TrustAnchor {
            path: format!("{chain_path}[{}]", chain.len() - 1),
            reason: describe_webpki(&error),
        })?;
    }
    Ok(CertificateAuthority {
        uri: raw.uri.unwrap_or_default(),
        chain,
        valid_for: validity(raw.valid_for, &format!("{path}.validFor"))?,
    })
}

/// A `Missing` error for `path`.
fn missing(path: String) -> TrustRootError {
    TrustRootError::Missing { path }
}

/// The bytes of a protobuf-JSON bytes field (standard or URL-safe base64, padding optional); required.
fn decode_base64(value: Option<String>, path: &str) -> Result<Vec<u8>, TrustRootError> {
    let value = value.filter(|value| !value.is_empty()).ok_or_else(|| missing(path.to_owned()))?;
    let engine = if value.contains(['-', '_']) { &BASE64_URL_SAFE } else { &BASE64_STANDARD };
    engine.decode(value.as_bytes()).map_err(|source| TrustRootError::Base64 { path: path.to_owned(), source })
}

/// Reads a `validFor` time range at `path`; a missing range is unbounded.
fn validity(raw: Option<RawValidity>, path: &str) -> Result<Validity, TrustRootError> {
    let Some(raw) = raw else {
        return Ok(Validity::default());
    };
    let time = |value: Option<String>, field: &str| {
        value
            .map(|value| {
                value.parse::<Timestamp>().map_err(|source| TrustRootError::Time {
                    path: format!("{path}.{field}"),
                    value: value.clone(),
                    source,
                })
            })
            .transpose()
    };
    let validity = Validity { start: time(raw.start, "start")?, end: time(raw.end, "end")? };
    match (validity.start, validity.end) {
        (Some(start), Some(end)) if end < start => {
            Err(TrustRootError::InvertedValidity { path: path.to_owned(), start, end })
        }
        _ => Ok(validity),
    }
}

/// Checks `keyDetails` against the key read from `rawBytes`.
fn check_key_details(details: &ProtoEnum, key: &PublicKey, path: String) -> Result<(), TrustRootError> {
    let (found, expected) = match details {
        ProtoEnum::Name(name) => (name.clone(), key_details_scheme(name, None)),
        ProtoEnum::Number(number) => (number.to_string(), key_details_scheme("", Some(*number))),
    };
    match expected {
        Scheme::Unspecified => Ok(()),
        Scheme::Supported(algorithm) if algorithm == key.algorithm() => Ok(()),
        Scheme::Supported(_) => Err(TrustRootError::KeyDetailsMismatch { path, found, key: key.algorithm() }),
        Scheme::Unsupported => Err(TrustRootError::UnsupportedKeyDetails { path, found }),
    }
}

/// What a `PublicKeyDetails` value calls for.
enum Scheme {
    /// `PUBLIC_KEY_DETAILS_UNSPECIFIED`: the key decides.
    Unspecified,
    /// A scheme this crate verifies.
    Supported(KeyAlgorithm),
    /// Anything else: RSA-PSS, Ed25519ph, P-521, post-quantum, unknown values.
    Unsupported,
}

/// The scheme of a `PublicKeyDetails` value, by name or by number.
fn key_details_scheme(name: &str, number: Option<i64>) -> Scheme {
    match (name, number) {
        ("PUBLIC_KEY_DETAILS_UNSPECIFIED", _) | (_, Some(0)) => Scheme::Unspecified,
        ("PKIX_ECDSA_P256_SHA_256", _) | (_, Some(5)) => Scheme::Supported(KeyAlgorithm::EcdsaP256Sha256),
        ("PKIX_ECDSA_P384_SHA_384", _) | (_, Some(12)) => Scheme::Supported(KeyAlgorithm::EcdsaP384Sha384),
        ("PKIX_ED25519", _) | (_, Some(7)) => Scheme::Supported(KeyAlgorithm::Ed25519),
        (
            "PKIX_RSA_PKCS1V15_2048_SHA256"
            | "PKIX_RSA_PKCS1V15_3072_SHA256"
            | "PKIX_RSA_PKCS1V15_4096_SHA256"
            | "PKIX_RSA_PKCS1V5",
            _,
        )
        | (_, Some(3 | 9 | 10 | 11)) => Scheme::Supported(KeyAlgorithm::RsaPkcs1Sha256),
        _ => Scheme::Unsupported,
    }
}

/// `dev.sigstore.trustroot.v1.TrustedRoot`, as far as it is read. Unknown fields are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrustedRoot {
    media_type: Option<String>,
    tlogs: Option<Vec<RawLog>>,
    certificate_authorities: Option<Vec<RawAuthority>>,
    ctlogs: Option<Vec<RawLog>>,
}

/// `TransparencyLogInstance`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    base_url: Option<String>,
    /// Read for its type only: every Sigstore log hashes with SHA-256.
    #[serde(rename = "hashAlgorithm")]
    _hash_algorithm: Option<ProtoEnum>,
    public_key: Option<RawPublicKey>,
    log_id: Option<RawLogId>,
}

/// `dev.sigstore.common.v1.PublicKey`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    key_details: Option<ProtoEnum>,
    valid_for: Option<RawValidity>,
}

/// `LogId`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: Option<String>,
}

/// `CertificateAuthority`; `subject` is not read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    uri: Option<String>,
    cert_chain: Option<RawChain>,
    valid_for: Option<RawValidity>,
}

/// `X509CertificateChain`.
#[derive(Deserialize)]
struct RawChain {
    certificates: Option<Vec<RawCertificate>>,
}

/// `X509Certificate`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCertificate {
    raw_bytes: Option<String>,
}

/// `TimeRange`.
#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

/// A protobuf enum in JSON: its name, or its number.
enum ProtoEnum {
    /// The value name, e.g. `PKIX_ED25519`.
    Name(String),
    /// The value number, e.g. `7`.
    Number(i64),
}

impl<'de> Deserialize<'de> for ProtoEnum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Accepts a string or an integer.
        struct ProtoEnumVisitor;

        impl Visitor<'_> for ProtoEnumVisitor {
            type Value = ProtoEnum;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an enum value name or number")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<ProtoEnum, E> {
                Ok(ProtoEnum::Name(value.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ProtoEnum, E> {
                Ok(ProtoEnum::Number(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ProtoEnum, E> {
                i64::try_from(value)
                    .map(ProtoEnum::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }
        }

        deserializer.deserialize_any(ProtoEnumVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::fmt::Write as _;

    use base64::engine::general_purpose::STANDARD;
    use rcgen::ExtendedKeyUsagePurpose;
    use serde_json::{Value, json};

    use super::super::certificate::test_pki::{Authority, PUBLIC_GOOD_LEAF, at, leaf_params};
    use super::*;

    /// The public-good `trusted_root.json` as published by sigstore/root-signing (targets/trusted_root.json,
    /// with the Rekor v2 log of 2025 and the self-signed timestamp authority).
    const PUBLIC_GOOD: &str = r#"{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [
    {
      "baseUrl": "https://rekor.sigstore.dev",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2021-01-12T11:53:27Z"
        }
      },
      "logId": {
        "keyId": "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
      }
    },
    {
      "baseUrl": "https://log2025-1.rekor.sigstore.dev",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MCowBQYDK2VwAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie244=",
        "keyDetails": "PKIX_ED25519",
        "validFor": {
          "start": "2025-09-23T00:00:00Z"
        }
      },
      "logId": {
        "keyId": "zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY/QXf44Y1wUeP6A="
      }
    }
  ],
  "certificateAuthorities": [
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore"
      },
      "uri": "https://fulcio.sigstore.dev",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIIB+DCCAX6gAwIBAgITNVkDZoCiofPDsy7dfm6geLbuhzAKBggqhkjOPQQDAzAqMRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIxMDMwNzAzMjAyOVoXDTMxMDIyMzAzMjAyOVowKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTB2MBAGByqGSM49AgEGBSuBBAAiA2IABLSyA7Ii5k+pNO8ZEWY0ylemWDowOkNa3kL+GZE5Z5GWehL9/A9bRNA3RbrsZ5i0JcastaRL7Sp5fp/jD5dxqc/UdTVnlvS16an+2Yfswe/QuLolRUCrcOE2+2iA5+tzd6NmMGQwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwHQYDVR0OBBYEFMjFHQBBmiQpMlEk6w2uSu1KBtPsMB8GA1UdIwQYMBaAFMjFHQBBmiQpMlEk6w2uSu1KBtPsMAoGCCqGSM49BAMDA2gAMGUCMH8liWJfMui6vXXBhjDgY4MwslmN/TJxVe/83WrFomwmNf056y1X48F9c4m3a3ozXAIxAKjRay5/aj/jsKKGIkmQatjI8uupHr/+CxFvaJWmpYqNkLDGRU+9orzh5hI2RrcuaQ=="
          }
        ]
      },
      "validFor": {
        "start": "2021-03-07T03:20:29Z",
        "end": "2022-12-31T23:59:59.999Z"
      }
    },
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore"
      },
      "uri": "https://fulcio.sigstore.dev",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIICGjCCAaGgAwIBAgIUALnViVfnU0brJasmRkHrn/UnfaQwCgYIKoZIzj0EAwMwKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTAeFw0yMjA0MTMyMDA2MTVaFw0zMTEwMDUxMzU2NThaMDcxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEeMBwGA1UEAxMVc2lnc3RvcmUtaW50ZXJtZWRpYXRlMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE8RVS/ysH+NOvuDZyPIZtilgUF9NlarYpAd9HP1vBBH1U5CV77LSS7s0ZiH4nE7Hv7ptS6LvvR/STk798LVgMzLlJ4HeIfF3tHSaexLcYpSASr1kS0N/RgBJz/9jWCiXno3sweTAOBgNVHQ8BAf8EBAMCAQYwEwYDVR0lBAwwCgYIKwYBBQUHAwMwEgYDVR0TAQH/BAgwBgEB/wIBADAdBgNVHQ4EFgQU39Ppz1YkEZb5qNjpKFWixi4YZD8wHwYDVR0jBBgwFoAUWMAeX5FFpWapesyQoZMi0CrFxfowCgYIKoZIzj0EAwMDZwAwZAIwPCsQK4DYiZYDPIaDi5HFKnfxXx6ASSVmERfsynYBiX2X6SJRnZU84/9DZdnFvvxmAjBOt6QpBlc4J/0DxvkTCqpclvziL6BCCPnjdlIB3Pu3BxsPmygUY7Ii2zbdCdliiow="
          },
          {
            "rawBytes": "MIIB9zCCAXygAwIBAgIUALZNAPFdxHPwjeDloDwyYChAO/4wCgYIKoZIzj0EAwMwKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTAeFw0yMTEwMDcxMzU2NTlaFw0zMTEwMDUxMzU2NThaMCoxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjERMA8GA1UEAxMIc2lnc3RvcmUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAT7XeFT4rb3PQGwS4IajtLk3/OlnpgangaBclYpsYBr5i+4ynB07ceb3LP0OIOZdxexX69c5iVuyJRQ+Hz05yi+UF3uBWAlHpiS5sh0+H2GHE7SXrk1EC5m1Tr19L9gg92jYzBhMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBRYwB5fkUWlZql6zJChkyLQKsXF+jAfBgNVHSMEGDAWgBRYwB5fkUWlZql6zJChkyLQKsXF+jAKBggqhkjOPQQDAwNpADBmAjEAj1nHeXZp+13NWBNa+EDsDP8G1WWg1tCMWP/WHPqpaVo0jhsweNFZgSs0eE7wYI4qAjEA2WB9ot98sIkoF3vZYdd3/VtWB5b9TNMea7Ix/stJ5TfcLLeABLE4BNJOsQ4vnBHJ"
          }
        ]
      },
      "validFor": {
        "start": "2022-04-13T20:06:15Z"
      }
    }
  ],
  "ctlogs": [
    {
      "baseUrl": "https://ctfe.sigstore.dev/test",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbfwR+RJudXscgRBRpKX1XFDy3PyudDxz/SfnRi1fT8ekpfBd2O1uoz7jr3Z8nKzxA69EUQ+eFCFI3zeubPWU7w==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2021-03-14T00:00:00Z",
          "end": "2022-10-31T23:59:59.999Z"
        }
      },
      "logId": {
        "keyId": "CGCS8ChS/2hF0dFrJ4ScRWcYrBY9wzjSbea8IgY2b3I="
      }
    },
    {
      "baseUrl": "https://ctfe.sigstore.dev/2022",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiPSlFi0CmFTfEjCUqF9HuCEcYXNKAaYalIJmBZ8yyezPjTqhxrKBpMnaocVtLJBI1eM3uXnQzQGAJdJ4gs9Fyw==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2022-10-20T00:00:00Z"
        }
      },
      "logId": {
        "keyId": "3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4="
      }
    }
  ],
  "timestampAuthorities": [
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore-tsa-selfsigned"
      },
      "uri": "https://timestamp.sigstore.dev/api/v1/timestamp",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIICEDCCAZagAwIBAgIUOhNULwyQYe68wUMvy4qOiyojiwwwCgYIKoZIzj0EAwMwOTEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MSAwHgYDVQQDExdzaWdzdG9yZS10c2Etc2VsZnNpZ25lZDAeFw0yNTA0MDgwNjU5NDNaFw0zNTA0MDYwNjU5NDNaMC4xFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEVMBMGA1UEAxMMc2lnc3RvcmUtdHNhMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE4ra2Z8hKNig2T9kFjCAToGG30jky+WQv3BzL+mKvh1SKNR/UwuwsfNCg4sryoYAd8E6isovVA3M4aoNdm9QDi50Z8nTEyvqgfDPtTIwXItfiW/AFf1V7uwkbkAoj0xxco2owaDAOBgNVHQ8BAf8EBAMCB4AwHQYDVR0OBBYEFIn9eUOHz9BlRsMCRscsc1t9tOsDMB8GA1UdIwQYMBaAFJjsAe9/u1H/1JUeb4qImFMHic6/MBYGA1UdJQEB/wQMMAoGCCsGAQUFBwMIMAoGCCqGSM49BAMDA2gAMGUCMDtpsV/6KaO0qyF/UMsX2aSUXKQFdoGTptQGc0ftq1csulHPGG6dsmyMNd3JB+G3EQIxAOajvBcjpJmKb4Nv+2Taoj8Uc5+b6ih6FXCCKraSqupe07zqswMcXJTe1cExvHvvlw=="
          },
          {
            "rawBytes": "MIIB9zCCAXygAwIBAgIUV7f0GLDOoEzIh8LXSW80OJiUp14wCgYIKoZIzj0EAwMwOTEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MSAwHgYDVQQDExdzaWdzdG9yZS10c2Etc2VsZnNpZ25lZDAeFw0yNTA0MDgwNjU5NDNaFw0zNTA0MDYwNjU5NDNaMDkxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEgMB4GA1UEAxMXc2lnc3RvcmUtdHNhLXNlbGZzaWduZWQwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAQUQNtfRT/ou3YATa6wB/kKTe70cfJwyRIBovMnt8RcJph/COE82uyS6FmppLLL1VBPGcPfpQPYJNXzWwi8icwhKQ6W/Qe2h3oebBb2FHpwNJDqo+TMaC/tdfkv/ElJB72jRTBDMA4GA1UdDwEB/wQEAwIBBjASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBSY7AHvf7tR/9SVHm+KiJhTB4nOvzAKBggqhkjOPQQDAwNpADBmAjEAwGEGrfGZR1cen1R8/DTVMI943LssZmJRtDp/i7SfGHmGRP6gRbuj9vOK3b67Z0QQAjEAuT2H673LQEaHTcyQSZrkp4mX7WwkmF+sVbkYY5mXN+RMH13KUEHHOqASaemYWK/E"
          }
        ]
      },
      "validFor": {
        "start": "2025-07-04T00:00:00Z"
      }
    }
  ]
}"#;

    const WORKFLOW: &str = "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0";

    /// An error and its causes, joined the way the CLI prints them.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            write!(message, ": {cause}").unwrap();
            source = cause.source();
        }
        message
    }

    fn public_good() -> Value {
        serde_json::from_str(PUBLIC_GOOD).unwrap()
    }

    fn load(document: &Value) -> Result<TrustRoot, TrustRootError> {
        TrustRoot::from_json(document.to_string().as_bytes())
    }

    fn load_error(document: &Value) -> String {
        chain(&load(document).unwrap_err())
    }

    #[test]
    fn reads_the_public_good_trust_root() {
        let root = TrustRoot::from_json(PUBLIC_GOOD.as_bytes()).unwrap();
        assert_eq!(root.tlogs.len(), 2);
        let rekor = &root.tlogs[0];
        assert_eq!(rekor.base_url, "https://rekor.sigstore.dev");
        assert_eq!(rekor.log_id, "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
        assert_eq!(rekor.key.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        // Rekor v1 log IDs are the SHA-256 of the log key.
        assert_eq!(rekor.key.fingerprint(), format!("sha256:{}", rekor.log_id));
        assert_eq!(rekor.valid_for, Validity { start: Some("2021-01-12T11:53:27Z".parse().unwrap()), end: None });
        assert_eq!(root.tlogs[1].base_url, "https://log2025-1.rekor.sigstore.dev");
        assert_eq!(root.tlogs[1].key.algorithm(), KeyAlgorithm::Ed25519);

        assert_eq!(root.certificate_authorities.len(), 2);
        let fulcio = &root.certificate_authorities[1];
        assert_eq!(fulcio.uri, "https://fulcio.sigstore.dev");
        assert_eq!(fulcio.chain.len(), 2);
        assert_eq!(fulcio.chain[0].display_name(), "O=sigstore.dev, CN=sigstore-intermediate");
        assert_eq!(fulcio.chain[1].display_name(), "O=sigstore.dev, CN=sigstore");
        assert_eq!(fulcio.chain[1].public_key().algorithm(), KeyAlgorithm::EcdsaP384Sha384);
        assert_eq!(root.certificate_authorities[0].valid_for.end, Some("2022-12-31T23:59:59.999Z".parse().unwrap()));

        assert_eq!(root.ctlogs.len(), 2);
        assert_eq!(root.ctlogs[1].base_url, "https://ctfe.sigstore.dev/2022");
        assert_eq!(root.ctlogs[1].log_id, "dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e");

        assert_eq!(root.tlog("C0D23D6AD406973F9559F3BA2D1CA01F84147D8FFC5B8445C224F98B9591801D"), Some(rekor));
        assert!(root.tlog("00").is_none());
    }

    #[test]
    fn verifies_a_public_good_fulcio_certificate_at_its_integrated_time() {
        let root = TrustRoot::from_json(PUBLIC_GOOD.as_bytes()).unwrap();
        let leaf = Certificate::from_der(&STANDARD.decode(PUBLIC_GOOD_LEAF).unwrap()).unwrap();
        let integrated = Timestamp::from_second(1_710_888_076).unwrap();
        let authority = root.verify_certificate(&leaf, &[], integrated).unwrap();
        assert_eq!(authority, &root.certificate_authorities[1]);

        let later = Timestamp::from_second(1_710_889_000).unwrap();
        assert_eq!(
            root.verify_certificate(&leaf, &[], later).unwrap_err().to_string(),
            "certificate \"https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2\" \
             expired: valid from 2024-03-19T22:41:15Z to 2024-03-19T22:51:15Z, checked at 2024-03-19T22:56:40Z"
        );
    }

    #[test]
    fn accepts_both_media_type_versions_and_spellings() {
        for media_type in MEDIA_TYPES {
            let mut document = public_good();
            document["mediaType"] = json!(media_type);
            load(&document).unwrap();
        }
    }

    #[test]
    fn refuses_other_media_types() {
        let mut document = public_good();
        document["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
        assert_eq!(
            load_error(&document),
            "mediaType: \"application/vnd.dev.sigstore.bundle+json;version=0.1\", expected \
             application/vnd.dev.sigstore.trustedroot+json;version=0.1 or \
             application/vnd.dev.sigstore.trustedroot+json;version=0.2"
        );
        document.as_object_mut().unwrap().remove("mediaType");
        assert!(load_error(&document).starts_with("mediaType: missing, expected "));
    }

    #[test]
    fn ignores_unknown_fields_and_timestamp_authorities() {
        let mut document = public_good();
        document["someFutureField"] = json!({"nested": [1, 2, 3]});
        document["tlogs"][0]["publicKey"]["futureKeyField"] = json!(true);
        document["tlogs"][0]["checkpointKeyId"] = json!({"keyId": "AAAA"});
        document["certificateAuthorities"][0]["operator"] = json!("sigstore.dev");
        document["timestampAuthorities"] = json!([{"anything": "goes", "validFor": 5}]);
        let root = load(&document).unwrap();
        assert_eq!(root.tlogs.len(), 2);
        document["timestampAuthorities"] = json!("not even a list");
        load(&document).unwrap();
    }

    #[test]
    fn accepts_null_and_absent_optional_fields_and_url_safe_base64() {
        let mut document = public_good();
        document["ctlogs"] = Value::Null;
        document["tlogs"][1]["publicKey"]["validFor"] = Value::Null;
        document["tlogs"][1]["hashAlgorithm"] = json!(1);
        document["tlogs"][1]["publicKey"]["keyDetails"] = json!(7);
        // URL-safe alphabet without padding, as protobuf-JSON readers must accept.
        document["tlogs"][1]["logId"]["keyId"] = json!("zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY_QXf44Y1wUeP6A");
        let root = load(&document).unwrap();
        assert!(root.ctlogs.is_empty());
        assert_eq!(root.tlogs[1].valid_for, Validity::default());
        assert_eq!(root.tlogs[1].log_id, "cf1199155bddd051268d1f16ac5c0c75c009f6fb5a63f4177f8e18d7051e3fa0");
    }

    #[test]
    fn an_unreadable_ct_log_is_left_out_not_fatal() {
        let mut document = public_good();
        document["ctlogs"][1]["publicKey"]["rawBytes"] = json!("AAAA");
        let root = load(&document).unwrap();
        assert_eq!(root.ctlogs.len(), 1);
        assert_eq!(root.tlogs.len(), public_good()["tlogs"].as_array().unwrap().len());
    }

    #[test]
    fn malformed_documents_name_the_json_path() {
        type Edit = fn(&mut Value);
        let cases: [(Edit, &str); 13] = [
            (
                |d| d["tlogs"][1]["publicKey"]["rawBytes"] = json!("AAAA"),
                "tlogs[1].publicKey.rawBytes: not a valid SubjectPublicKeyInfo: ",
            ),
            (
                |d| d["tlogs"][0]["logId"]["keyId"] = json!("not base64!"),
                "tlogs[0].logId.keyId: not valid base64: Invalid symbol 32, offset 3.",
            ),
            (|d| d["tlogs"][0]["baseUrl"] = json!(5), "tlogs[0].baseUrl: invalid type: integer `5`, expected a string"),
            (|d| d["tlogs"] = json!({}), "tlogs: invalid type: map, expected a sequence"),
            (
                |d| d["tlogs"][0]["publicKey"]["keyDetails"] = json!({"name": "x"}),
                "tlogs[0].publicKey.keyDetails: invalid type: map, expected an enum value name or number",
            ),
            (
                |d| {
                    d["tlogs"][0]["logId"].as_object_mut().unwrap().remove("keyId");
                },
                "tlogs[0].logId.keyId: missing",
            ),
            (
                |d| d["tlogs"][0]["publicKey"]["keyDetails"] = json!("PKIX_ECDSA_P384_SHA_384"),
                "tlogs[0].publicKey.keyDetails: PKIX_ECDSA_P384_SHA_384 does not match the key in rawBytes, \
                 which is ECDSA P-256 SHA-256",
            ),
            (
                |d| d["tlogs"][0]["publicKey"]["keyDetails"] = json!("PKIX_RSA_PSS_2048_SHA256"),
                "tlogs[0].publicKey.keyDetails: PKIX_RSA_PSS_2048_SHA256 is not a supported signature scheme",
            ),
            (
                |d| d["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = json!("MAMCAQE="),
                "certificateAuthorities[0].certChain.certificates[0].rawBytes: not a valid X.509 certificate: ",
            ),
            (
                |d| d["certificateAuthorities"][1]["certChain"]["certificates"] = json!([]),
                "certificateAuthorities[1].certChain.certificates: missing",
            ),
            (
                |d| d["certificateAuthorities"][1]["validFor"]["start"] = json!("last tuesday"),
                "certificateAuthorities[1].validFor.start: not an RFC 3339 timestamp: \"last tuesday\": ",
            ),
            (
                |d| d["certificateAuthorities"][0]["validFor"]["end"] = json!("2020-01-01T00:00:00Z"),
                "certificateAuthorities[0].validFor: ends (2020-01-01T00:00:00Z) before it starts \
                 (2021-03-07T03:20:29Z)",
            ),
            (
                |d| {
                    d["tlogs"][1]["publicKey"]["rawBytes"] =
                        json!("MCowBQYDK2VxAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie244=");
                },
                "tlogs[1].publicKey.rawBytes: unsupported public key algorithm Ed448 (1.3.101.113): \
                 expected ECDSA P-256, ECDSA P-384, Ed25519 or RSA",
            ),
        ];
        for (edit, expected) in cases {
            let mut document = public_good();
            edit(&mut document);
            let message = load_error(&document);
            assert!(message.starts_with(expected), "expected {expected:?}\n   found {message:?}");
        }
    }

    #[test]
    fn not_json_is_reported_as_such() {
        let error = TrustRoot::from_json(b"<html>").unwrap_err();
        assert_eq!(chain(&error), "not a valid trusted root JSON document: expected value at line 1 column 1");
        let trailing = format!("{PUBLIC_GOOD} []");
        assert!(
            chain(&TrustRoot::from_json(trailing.as_bytes()).unwrap_err())
                .starts_with("not a valid trusted root JSON document: trailing characters")
        );
        assert!(TrustRoot::from_json(b"{\"tlogs\": [").unwrap_err().source().is_some());
    }

    #[test]
    fn validity_bounds_are_inclusive() {
        let window = Validity { start: Some(at(2024, 1, 1, 0)), end: Some(at(2024, 1, 2, 0)) };
        assert!(window.contains(at(2024, 1, 1, 0)));
        assert!(window.contains(at(2024, 1, 2, 0)));
        assert!(!window.contains(at(2024, 1, 2, 1)));
        assert!(!window.contains(at(2023, 12, 31, 1439)));
        assert!(Validity::default().contains(at(1999, 1, 1, 0)));
        assert_eq!(window.to_string(), "from 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z");
        assert_eq!(Validity { start: window.start, end: None }.to_string(), "from 2024-01-01T00:00:00Z on");
    }

    #[test]
    fn the_empty_trust_root_trusts_nothing() {
        let root = TrustRoot::empty();
        assert!(root.tlogs.is_empty() && root.ctlogs.is_empty() && root.certificate_authorities.is_empty());
        let ca = Authority::root("root", &rcgen::PKCS_ECDSA_P256_SHA256);
        let leaf = Certificate::from_der(&ca.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(
            root.verify_certificate(&leaf, &[], at(2024, 6, 1, 725)).unwrap_err(),
            CertificateError::NoCertificateAuthority
        );
    }

    /// A Fulcio-like hierarchy: a P-384 root and intermediate, listed as one authority valid 2022 on.
    struct Fulcio {
        root: Authority,
        intermediate: Authority,
    }

    impl Fulcio {
        fn new() -> Self {
            let root = Authority::root("sigstore", &rcgen::PKCS_ECDSA_P384_SHA384);
            let intermediate = root.intermediate(
                "sigstore-intermediate",
                &rcgen::PKCS_ECDSA_P384_SHA384,
                Some(vec![ExtendedKeyUsagePurpose::CodeSigning]),
            );
            Self { root, intermediate }
        }

        fn authority(&self, valid_for: Validity) -> CertificateAuthority {
            CertificateAuthority {
                uri: "https://fulcio.syncgate.test".to_owned(),
                chain: vec![self.intermediate.certificate(), self.root.certificate()],
                valid_for,
            }
        }

        fn trust_root(&self) -> TrustRoot {
            let valid_for = Validity { start: Some(at(2022, 1, 1, 0)), end: None };
            TrustRoot { certificate_authorities: vec![self.authority(valid_for)], ..TrustRoot::default() }
        }

        fn leaf(&self, algorithm: &'static rcgen::SignatureAlgorithm) -> Certificate {
            Certificate::from_der(&self.intermediate.issue(&leaf_params(WORKFLOW), algorithm)).unwrap()
        }
    }

    /// Inside the leaf's ten-minute window.
    fn signing_time() -> Timestamp {
        at(2024, 6, 1, 725)
    }

    #[test]
    fn a_chain_to_a_listed_authority_verifies_for_every_leaf_key() {
        let fulcio = Fulcio::new();
        let root = fulcio.trust_root();
        for algorithm in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
            &rcgen::PKCS_RSA_SHA256,
        ] {
            let leaf = fulcio.leaf(algorithm);
            let authority = root.verify_certificate(&leaf, &[], signing_time()).unwrap();
            assert_eq!(authority.uri, "https://fulcio.syncgate.test");
        }
    }

    #[test]
    fn roots_of_every_key_type_work() {
        for algorithm in [&rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_ED25519, &rcgen::PKCS_ECDSA_P256_SHA256] {
            let ca = Authority::root("other root", algorithm);
            let root = TrustRoot {
                certificate_authorities: vec![CertificateAuthority {
                    uri: String::new(),
                    chain: vec![ca.certificate()],
                    valid_for: Validity::default(),
                }],
                ..TrustRoot::default()
            };
            let leaf =
                Certificate::from_der(&ca.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
            root.verify_certificate(&leaf, &[], signing_time()).unwrap();
        }
    }

    #[test]
    fn an_intermediate_supplied_with_the_signature_completes_the_path() {
        let fulcio = Fulcio::new();
        let root = TrustRoot {
            certificate_authorities: vec![CertificateAuthority {
                uri: "https://fulcio.syncgate.test".to_owned(),
                chain: vec![fulcio.root.certificate()],
                valid_for: Validity::default(),
            }],
            ..TrustRoot::default()
        };
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert!(matches!(
            root.verify_certificate(&leaf, &[], signing_time()),
            Err(CertificateError::UnknownIssuer { .. })
        ));
        // cosign's chain annotation carries the intermediate and the root.
        let supplied = [fulcio.intermediate.certificate(), fulcio.root.certificate()];
        root.verify_certificate(&leaf, &supplied, signing_time()).unwrap();
    }

    #[test]
    fn the_path_names_the_certificate_that_signed_the_leaf() {
        let fulcio = Fulcio::new();
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        // An intermediate of the same name and root but another key is on offer too; it did not sign the leaf.
        let impostor = fulcio.root.intermediate(
            "sigstore-intermediate",
            &rcgen::PKCS_ECDSA_P384_SHA384,
            Some(vec![ExtendedKeyUsagePurpose::CodeSigning]),
        );
        let supplied = [impostor.certificate()];
        let root = fulcio.trust_root();
        let path = root.verify_certificate_path(&leaf, &supplied, signing_time()).unwrap();
        assert_eq!(path.issuer, &fulcio.intermediate.certificate());
        assert_eq!(path.authority, &root.certificate_authorities[0]);

        // The intermediate only comes with the signature.
        let root_only = TrustRoot {
            certificate_authorities: vec![CertificateAuthority {
                uri: "https://fulcio.syncgate.test".to_owned(),
                chain: vec![fulcio.root.certificate()],
                valid_for: Validity::default(),
            }],
            ..TrustRoot::default()
        };
        let supplied = [impostor.certificate(), fulcio.intermediate.certificate()];
        let path = root_only.verify_certificate_path(&leaf, &supplied, signing_time()).unwrap();
        assert_eq!(path.issuer, &supplied[1]);

        // A leaf the root signed itself.
        let direct = Certificate::from_der(&fulcio.root.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ED25519)).unwrap();
        let path = root_only.verify_certificate_path(&direct, &[], signing_time()).unwrap();
        assert_eq!(path.issuer, &fulcio.root.certificate());
    }

    #[test]
    fn a_trust_root_loaded_from_json_verifies_its_certificates() {
        let fulcio = Fulcio::new();
        let mut document = public_good();
        document["certificateAuthorities"][1]["uri"] = json!("https://fulcio.syncgate.test");
        document["certificateAuthorities"][1]["certChain"]["certificates"] = json!([
            {"rawBytes": STANDARD.encode(fulcio.intermediate.der())},
            {"rawBytes": STANDARD.encode(fulcio.root.der())},
        ]);
        let root = load(&document).unwrap();
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        let authority = root.verify_certificate(&leaf, &[], signing_time()).unwrap();
        assert_eq!(authority, &root.certificate_authorities[1]);
    }

    #[test]
    fn an_expired_or_not_yet_valid_leaf_is_refused_with_its_window() {
        let fulcio = Fulcio::new();
        let root = fulcio.trust_root();
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            root.verify_certificate(&leaf, &[], at(2024, 6, 1, 740)).unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" expired: valid from 2024-06-01T12:00:00Z to 2024-06-01T12:10:00Z, \
                 checked at 2024-06-01T12:20:00Z"
            )
        );
        assert_eq!(
            root.verify_certificate(&leaf, &[], at(2024, 6, 1, 700)).unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" is not yet valid: valid from 2024-06-01T12:00:00Z to \
                 2024-06-01T12:10:00Z, checked at 2024-06-01T11:40:00Z"
            )
        );
    }

    #[test]
    fn a_leaf_from_an_untrusted_authority_is_refused() {
        let trusted = Fulcio::new();
        let rogue_root = Authority::root("rogue", &rcgen::PKCS_ECDSA_P384_SHA384);
        let rogue = rogue_root.intermediate("rogue intermediate", &rcgen::PKCS_ECDSA_P384_SHA384, None);
        let leaf = Certificate::from_der(&rogue.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        let error = trusted.trust_root().verify_certificate(&leaf, &[rogue.certificate()], signing_time()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "certificate \"{WORKFLOW}\" (issuer \"O=syncgate.test, CN=rogue intermediate\") is not issued by \
                 any certificate authority in the trust root"
            )
        );
    }

    #[test]
    fn an_impostor_with_the_authoritys_name_is_refused() {
        let trusted = Fulcio::new();
        // Same names as the trusted hierarchy, other keys.
        let impostor = Fulcio::new();
        let leaf = impostor.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        let error = trusted.trust_root().verify_certificate(&leaf, &[], signing_time()).unwrap_err();
        assert_eq!(
            error,
            CertificateError::BadSignature {
                certificate: WORKFLOW.to_owned(),
                issuer: "O=syncgate.test, CN=sigstore-intermediate".to_owned()
            }
        );
    }

    #[test]
    fn the_authoritys_window_must_contain_the_signing_time() {
        let fulcio = Fulcio::new();
        let window = Validity { start: Some(at(2021, 3, 7, 0)), end: Some(at(2022, 12, 31, 0)) };
        let root = TrustRoot { certificate_authorities: vec![fulcio.authority(window)], ..TrustRoot::default() };
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            root.verify_certificate(&leaf, &[], signing_time()).unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" chains to the certificate authority https://fulcio.syncgate.test, which \
                 the trust root accepts from 2021-03-07T00:00:00Z to 2022-12-31T00:00:00Z, not at 2024-06-01T12:05:00Z"
            )
        );
    }

    #[test]
    fn a_later_listing_of_the_same_authority_can_cover_the_signing_time() {
        let fulcio = Fulcio::new();
        let old = Validity { start: None, end: Some(at(2022, 12, 31, 0)) };
        let current = Validity { start: Some(at(2023, 1, 1, 0)), end: None };
        let mut second = fulcio.authority(current);
        second.uri = "https://fulcio.syncgate.test/current".to_owned();
        let root = TrustRoot { certificate_authorities: vec![fulcio.authority(old), second], ..TrustRoot::default() };
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        let authority = root.verify_certificate(&leaf, &[], signing_time()).unwrap();
        assert_eq!(authority.uri, "https://fulcio.syncgate.test/current");
    }

    #[test]
    fn a_path_through_another_authoritys_intermediate_does_not_count_for_it() {
        // Two listings share a root; only the first lists the intermediate, and it is not valid now.
        let fulcio = Fulcio::new();
        let expired_listing = fulcio.authority(Validity { start: None, end: Some(at(2023, 1, 1, 0)) });
        let root_only = CertificateAuthority {
            uri: "https://root-only.syncgate.test".to_owned(),
            chain: vec![fulcio.root.certificate()],
            valid_for: Validity::default(),
        };
        let root = TrustRoot { certificate_authorities: vec![expired_listing, root_only], ..TrustRoot::default() };
        let leaf = fulcio.leaf(&rcgen::PKCS_ECDSA_P256_SHA256);
        let error = root.verify_certificate(&leaf, &[], signing_time()).unwrap_err();
        assert!(matches!(error, CertificateError::AuthorityNotValidAt { .. }), "{error}");
        // Supplying the intermediate makes the root-only listing a valid path of its own.
        let authority = root.verify_certificate(&leaf, &[fulcio.intermediate.certificate()], signing_time()).unwrap();
        assert_eq!(authority.uri, "https://root-only.syncgate.test");
    }

    #[test]
    fn a_leaf_without_code_signing_is_refused() {
        let fulcio = Fulcio::new();
        let mut params = leaf_params(WORKFLOW);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        let leaf = Certificate::from_der(&fulcio.intermediate.issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(
            fulcio.trust_root().verify_certificate(&leaf, &[], signing_time()).unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" is not valid for code signing (1.3.6.1.5.5.7.3.3): its extended key \
                 usages are emailProtection (1.3.6.1.5.5.7.3.4)"
            )
        );
        params.extended_key_usages.clear();
        let leaf = Certificate::from_der(&fulcio.intermediate.issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert!(matches!(
            fulcio.trust_root().verify_certificate(&leaf, &[], signing_time()),
            Err(CertificateError::NotForCodeSigning { .. })
        ));
    }

    #[test]
    fn an_intermediate_restricted_to_other_usages_is_refused_and_one_without_the_extension_is_not() {
        let root_ca = Authority::root("root", &rcgen::PKCS_ECDSA_P384_SHA384);
        let server_only = root_ca.intermediate(
            "tls intermediate",
            &rcgen::PKCS_ECDSA_P384_SHA384,
            Some(vec![ExtendedKeyUsagePurpose::ServerAuth]),
        );
        let unrestricted = root_ca.intermediate("plain intermediate", &rcgen::PKCS_ECDSA_P384_SHA384, None);
        let root = TrustRoot {
            certificate_authorities: vec![
                CertificateAuthority {
                    uri: "https://tls.syncgate.test".to_owned(),
                    chain: vec![server_only.certificate(), root_ca.certificate()],
                    valid_for: Validity::default(),
                },
                CertificateAuthority {
                    uri: "https://plain.syncgate.test".to_owned(),
                    chain: vec![unrestricted.certificate(), root_ca.certificate()],
                    valid_for: Validity::default(),
                },
            ],
            ..TrustRoot::default()
        };
        let leaf =
            Certificate::from_der(&server_only.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(
            root.verify_certificate(&leaf, &[], signing_time()).unwrap_err().to_string(),
            "issuing certificate \"O=syncgate.test, CN=tls intermediate\" does not allow code signing \
             (1.3.6.1.5.5.7.3.3): its extended key usages are serverAuth (1.3.6.1.5.5.7.3.1)"
        );
        let leaf =
            Certificate::from_der(&unrestricted.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(root.verify_certificate(&leaf, &[], signing_time()).unwrap().uri, "https://plain.syncgate.test");
    }

    #[test]
    fn an_expired_intermediate_is_named() {
        let root_ca = Authority::root("root", &rcgen::PKCS_ECDSA_P384_SHA384);
        let old = root_ca.intermediate_valid("old intermediate", (2021, 1, 1), (2023, 1, 1));
        let root = TrustRoot {
            certificate_authorities: vec![CertificateAuthority {
                uri: "https://old.syncgate.test".to_owned(),
                chain: vec![old.certificate(), root_ca.certificate()],
                valid_for: Validity::default(),
            }],
            ..TrustRoot::default()
        };
        let leaf = Certificate::from_der(&old.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(
            root.verify_certificate(&leaf, &[], signing_time()).unwrap_err().to_string(),
            "issuing certificate \"O=syncgate.test, CN=old intermediate\" expired at 2023-01-01T00:00:00Z, \
             checked at 2024-06-01T12:05:00Z"
        );
    }

    #[test]
    fn an_expired_root_is_named() {
        let root_ca = Authority::root_valid("short-lived root", (2020, 1, 1), (2024, 1, 1));
        let root = TrustRoot {
            certificate_authorities: vec![CertificateAuthority {
                uri: "https://short.syncgate.test".to_owned(),
                chain: vec![root_ca.certificate()],
                valid_for: Validity::default(),
            }],
            ..TrustRoot::default()
        };
        let leaf =
            Certificate::from_der(&root_ca.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(
            root.verify_certificate(&leaf, &[], signing_time()).unwrap_err().to_string(),
            "issuing certificate \"O=syncgate.test, CN=short-lived root\" expired at 2024-01-01T00:00:00Z, \
             checked at 2024-06-01T12:05:00Z"
        );
    }

    #[test]
    fn a_ca_certificate_is_not_a_signing_certificate() {
        let fulcio = Fulcio::new();
        let root = fulcio.trust_root();
        // The intermediate lists code signing but is a CA.
        let error = root.verify_certificate(&fulcio.intermediate.certificate(), &[], signing_time()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "certificate \"O=syncgate.test, CN=sigstore-intermediate\" cannot be validated against the trust root: \
             it is a CA certificate, not a signing certificate"
        );
    }
}
