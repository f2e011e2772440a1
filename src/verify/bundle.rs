//! Sigstore bundles v0.1, v0.2 and v0.3 (protobuf-JSON): parsing and offline verification against a trust root.
//!
//! Owns the bundle shape and the order of checks; signatures over DSSE, log entries and certificate paths are
//! delegated to `dsse`, `tlog` and `trust`. RFC 3161 timestamps and Rekor v2 entries are not supported.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    VerificationAlgorithm,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::certificate::{Certificate, CertificateError, SignerIdentity};
use super::dsse::{DsseError, Envelope, Statement, decode_base64};
use super::key::{KeyAlgorithm, PublicKey};
use super::tlog::{
    InclusionProof, LogEntry, LogProof, Logged, SignerMaterial, TlogError, check_dsse, check_hashedrekord, verify_entry,
};
use super::trust::TrustRoot;

const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
const MEDIA_TYPE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const MEDIA_TYPE_V0_3_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";

/// Protobuf name of the only message digest that can be compared with an artifact's sha256.
const SHA2_256: &str = "SHA2_256";

/// Bundle format version, from the media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleVersion {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`: SET or inclusion proof.
    V0_1,
    /// `…;version=0.2`: inclusion proof with checkpoint required.
    V0_2,
    /// `application/vnd.dev.sigstore.bundle.v0.3+json`: as v0.2, single leaf certificate.
    V0_3,
}

impl BundleVersion {
    fn from_media_type(media_type: &str) -> Result<Self, BundleError> {
        match media_type {
            MEDIA_TYPE_V0_1 => Ok(Self::V0_1),
            MEDIA_TYPE_V0_2 => Ok(Self::V0_2),
            MEDIA_TYPE_V0_3 | MEDIA_TYPE_V0_3_ALT => Ok(Self::V0_3),
            other => Err(BundleError::UnknownVersion { media_type: other.to_owned() }),
        }
    }
}

/// Who signed, as the bundle's verification material says.
// A bundle holds one signer; boxing the certificate would only complicate matching on it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum BundleSigner {
    /// A certificate (Fulcio), with any further certificates the bundle ships (v0.1/v0.2 chains).
    Certificate {
        /// Signing certificate.
        leaf: Certificate,
        /// Further certificates, leaf-most first.
        chain: Vec<Certificate>,
    },
    /// A public key known to the verifier; the bundle only carries a hint.
    PublicKey {
        /// Key hint, if any.
        hint: Option<String>,
    },
}

/// What was signed.
#[derive(Debug, Clone)]
pub enum BundleContent {
    /// A signature over an artifact, with the artifact's digest.
    MessageSignature {
        /// Protobuf `HashAlgorithm` name, e.g. `SHA2_256`.
        digest_algorithm: String,
        /// Artifact digest.
        digest: Vec<u8>,
        /// Signature bytes.
        signature: Vec<u8>,
    },
    /// A DSSE envelope.
    Dsse {
        /// The parsed envelope.
        envelope: Envelope,
        /// The `dsseEnvelope` JSON as found in the bundle (re-serialized, field order kept).
        json: Vec<u8>,
    },
}

/// A parsed Sigstore bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Format version.
    pub version: BundleVersion,
    /// Verification material.
    pub signer: BundleSigner,
    /// Transparency-log entries.
    pub tlog_entries: Vec<LogEntry>,
    /// Signed content.
    pub content: BundleContent,
}

/// Who the verifier expects to have signed.
#[derive(Debug, Clone)]
pub enum Expected {
    /// This public key; any certificate in the bundle must carry it and is not checked against a CA.
    Key(PublicKey),
    /// A certificate from a trust-root CA naming exactly this OIDC issuer and subject.
    Identity {
        /// OIDC issuer, e.g. `https://token.actions.githubusercontent.com`.
        issuer: String,
        /// Certificate subject (SAN), e.g. a workflow URI or an email address.
        subject: String,
    },
}

/// Outcome of a successful bundle verification.
#[derive(Debug, Clone)]
pub struct BundleVerified {
    /// Certificate identity; `None` for key-based bundles.
    pub signer: Option<SignerIdentity>,
    /// Fingerprint of the key that verified the signature.
    pub key_fingerprint: String,
    /// The log entry that anchors the signature (the one with a signed time when a certificate is used).
    pub logged: Logged,
    /// The in-toto statement of a DSSE bundle.
    pub statement: Option<Statement>,
}

/// Why a bundle was rejected.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The media type names no supported bundle version.
    #[error(
        "unknown bundle media type {media_type:?}; expected {MEDIA_TYPE_V0_1}, {MEDIA_TYPE_V0_2} or {MEDIA_TYPE_V0_3}"
    )]
    UnknownVersion {
        /// The media type found.
        media_type: String,
    },
    /// The document is not JSON of the bundle shape.
    #[error("bundle is not protobuf-JSON of a Sigstore bundle")]
    Json(#[source] serde_json::Error),
    /// A part of the bundle is missing or unusable.
    #[error("malformed bundle: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// A certificate in the bundle could not be parsed.
    #[error("bundle certificate {field} is unusable")]
    Certificate {
        /// Where in the bundle.
        field: String,
        /// Parse failure.
        #[source]
        source: CertificateError,
    },
    /// The DSSE envelope is malformed, its signature invalid, or its statement unsuitable.
    #[error(transparent)]
    Dsse(#[from] DsseError),
    /// A log entry failed verification or does not describe this signature.
    #[error(transparent)]
    Tlog(#[from] TlogError),
    /// The bundle has no log entry to verify.
    #[error(
        "bundle has no transparency log entry; offline verification requires one (RFC 3161 timestamps are not supported)"
    )]
    NoTlogEntry,
    /// Only inclusion proofs verified, so no log signed the integrated time a certificate must be checked at.
    #[error(
        "no log entry carries a signed entry timestamp, so the integrated time is unsigned and cannot anchor \
         the certificate's validity (entries: {log_indexes})"
    )]
    UnsignedIntegratedTime {
        /// Indexes of the entries, comma-separated.
        log_indexes: String,
    },
    /// A key was expected but the bundle names an identity-less key hint, or vice versa.
    #[error("expected {expected}, found {found}")]
    SignerKindMismatch {
        /// What the verifier expects.
        expected: String,
        /// What the bundle carries.
        found: String,
    },
    /// The bundle's certificate carries another key than the expected one.
    #[error("bundle certificate carries key {found}, expected key {expected}")]
    KeyMismatch {
        /// Expected key fingerprint.
        expected: String,
        /// Certificate key fingerprint.
        found: String,
    },
    /// The log integrated the entry outside the certificate's validity.
    #[error("log integrated time {integrated} is outside the certificate validity {not_before} .. {not_after}")]
    IntegratedTimeOutsideValidity {
        /// Integrated time (signed by the log).
        integrated: jiff::Timestamp,
        /// Certificate start.
        not_before: jiff::Timestamp,
        /// Certificate end.
        not_after: jiff::Timestamp,
    },
    /// The certificate does not chain to a trust-root CA.
    #[error("certificate for {subject} does not chain to a trust-root certificate authority at {at}")]
    Untrusted {
        /// Certificate subject.
        subject: String,
        /// Verification time.
        at: jiff::Timestamp,
        /// Path validation failure.
        #[source]
        source: Box<CertificateError>,
    },
    /// The certificate names another issuer or subject.
    #[error(
        "certificate identity mismatch: expected subject {expected_subject:?} from issuer {expected_issuer:?}, \
         found subject {found_subject:?} from issuer {found_issuer:?}"
    )]
    IdentityMismatch {
        /// Expected issuer.
        expected_issuer: String,
        /// Expected subject.
        expected_subject: String,
        /// Issuer in the certificate.
        found_issuer: String,
        /// Subject in the certificate.
        found_subject: String,
    },
    /// The message digest cannot be compared with a sha256.
    #[error("message digest algorithm is {found}, expected {SHA2_256} to compare with the artifact's sha256")]
    UnsupportedDigest {
        /// Digest algorithm in the bundle.
        found: String,
    },
    /// The message digest is not the artifact's.
    #[error("bundle signs message digest sha256:{found}, the artifact is sha256:{expected}")]
    MessageDigestMismatch {
        /// Artifact sha256 (hex).
        expected: String,
        /// Digest in the bundle (hex).
        found: String,
    },
    /// The key type cannot verify a signature from a digest alone.
    #[error("a {algorithm:?} key cannot verify a message signature from the artifact digest alone")]
    UnsupportedMessageKey {
        /// Key algorithm.
        algorithm: KeyAlgorithm,
    },
    /// The message signature does not verify.
    #[error("message signature does not verify with key {fingerprint} over digest sha256:{digest}")]
    SignatureInvalid {
        /// Key fingerprint.
        fingerprint: String,
        /// Digest (hex).
        digest: String,
    },
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf-JSON shapes

/// int64/uint64 fields are JSON strings in protobuf-JSON; numbers are accepted too.
fn proto_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(i64),
        Text(String),
    }
    match Repr::deserialize(deserializer)? {
        Repr::Number(n) => Ok(n),
        Repr::Text(s) => s.parse().map_err(|_| serde::de::Error::custom(format!("expected an integer, found {s:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    verification_material: Option<RawMaterial>,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    public_key: Option<RawKeyIdentifier>,
    x509_certificate_chain: Option<RawChain>,
    certificate: Option<RawCertificate>,
    #[serde(default)]
    tlog_entries: Vec<RawTlogEntry>,
}

#[derive(Deserialize)]
struct RawKeyIdentifier {
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawCertificate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCertificate {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTlogEntry {
    #[serde(default, deserialize_with = "proto_int")]
    log_index: i64,
    log_id: Option<RawLogId>,
    kind_version: Option<RawKindVersion>,
    #[serde(default, deserialize_with = "proto_int")]
    integrated_time: i64,
    inclusion_promise: Option<RawInclusionPromise>,
    inclusion_proof: Option<RawInclusionProof>,
    #[serde(default)]
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInclusionPromise {
    #[serde(default)]
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInclusionProof {
    #[serde(default, deserialize_with = "proto_int")]
    log_index: i64,
    #[serde(default)]
    root_hash: String,
    #[serde(default, deserialize_with = "proto_int")]
    tree_size: i64,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    #[serde(default)]
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: Option<RawMessageDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawMessageDigest {
    #[serde(default)]
    algorithm: Value,
    digest: String,
}

fn malformed(reason: impl Into<String>) -> BundleError {
    BundleError::Malformed { reason: reason.into() }
}

fn bytes_field(field: &str, text: &str) -> Result<Vec<u8>, BundleError> {
    decode_base64(text).map_err(|e| malformed(format!("{field} is not base64: {e}")))
}

fn unsigned(field: &str, value: i64) -> Result<u64, BundleError> {
    u64::try_from(value).map_err(|_| malformed(format!("{field} is {value}, expected a non-negative integer")))
}

fn certificate(field: String, raw: &RawCertificate) -> Result<Certificate, BundleError> {
    let der = bytes_field(&field, &raw.raw_bytes)?;
    Certificate::from_der(&der).map_err(|source| BundleError::Certificate { field, source })
}

/// Protobuf `HashAlgorithm` as its enum name (JSON may carry the name or the number).
fn hash_algorithm_name(value: &Value) -> String {
    match value {
        Value::String(name) => name.clone(),
        Value::Number(n) => match n.as_u64() {
            Some(1) => SHA2_256.to_owned(),
            Some(2) => "SHA2_384".to_owned(),
            Some(3) => "SHA2_512".to_owned(),
            Some(4) => "SHA3_256".to_owned(),
            Some(5) => "SHA3_384".to_owned(),
            _ => format!("HashAlgorithm({n})"),
        },
        Value::Null => "HASH_ALGORITHM_UNSPECIFIED".to_owned(),
        other => other.to_string(),
    }
}

fn signer(version: BundleVersion, material: &RawMaterial) -> Result<BundleSigner, BundleError> {
    match (&material.public_key, &material.x509_certificate_chain, &material.certificate) {
        (Some(key), None, None) => Ok(BundleSigner::PublicKey { hint: key.hint.clone().filter(|h| !h.is_empty()) }),
        (None, Some(_), None) if version == BundleVersion::V0_3 => {
            Err(malformed("v0.3 bundles carry a single `certificate`, found `x509CertificateChain`"))
        }
        (None, Some(chain), None) => {
            let mut certificates = chain
                .certificates
                .iter()
                .enumerate()
                .map(|(i, c)| certificate(format!("verificationMaterial.x509CertificateChain.certificates[{i}]"), c))
                .collect::<Result<Vec<_>, _>>()?;
            if certificates.is_empty() {
                return Err(malformed("x509CertificateChain has no certificates"));
            }
            let leaf = certificates.remove(0);
            Ok(BundleSigner::Certificate { leaf, chain: certificates })
        }
        (None, None, Some(raw)) => Ok(BundleSigner::Certificate {
            leaf: certificate("verificationMaterial.certificate".to_owned(), raw)?,
            chain: Vec::new(),
        }),
        (None, None, None) => {
            Err(malformed("verificationMaterial has none of publicKey, x509CertificateChain, certificate"))
        }
        _ => Err(malformed("verificationMaterial has more than one of publicKey, x509CertificateChain, certificate")),
    }
}

fn log_entry(i: usize, raw: &RawTlogEntry) -> Result<LogEntry, BundleError> {
    let field = |name: &str| format!("verificationMaterial.tlogEntries[{i}].{name}");
    let log_id = raw.log_id.as_ref().ok_or_else(|| malformed(format!("{} is missing", field("logId"))))?;
    let log_id = hex::encode(bytes_field(&field("logId.keyId"), &log_id.key_id)?);
    let body = bytes_field(&field("canonicalizedBody"), &raw.canonicalized_body)?;
    if body.is_empty() {
        return Err(malformed(format!("{} is empty", field("canonicalizedBody"))));
    }
    let signed_entry_timestamp = match &raw.inclusion_promise {
        Some(promise) if !promise.signed_entry_timestamp.is_empty() => {
            Some(bytes_field(&field("inclusionPromise.signedEntryTimestamp"), &promise.signed_entry_timestamp)?)
        }
        _ => None,
    };
    let inclusion_proof = raw
        .inclusion_proof
        .as_ref()
        .map(|proof| {
            let hashes = proof
                .hashes
                .iter()
                .enumerate()
                .map(|(j, h)| bytes_field(&field(&format!("inclusionProof.hashes[{j}]")), h))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, BundleError>(InclusionProof {
                log_index: unsigned(&field("inclusionProof.logIndex"), proof.log_index)?,
                root_hash: bytes_field(&field("inclusionProof.rootHash"), &proof.root_hash)?,
                tree_size: unsigned(&field("inclusionProof.treeSize"), proof.tree_size)?,
                hashes,
                checkpoint: proof.checkpoint.as_ref().map(|c| c.envelope.clone()).unwrap_or_default(),
            })
        })
        .transpose()?;
    Ok(LogEntry {
        log_index: unsigned(&field("logIndex"), raw.log_index)?,
        log_id,
        integrated_time: raw.integrated_time,
        kind: raw.kind_version.as_ref().map(|kv| (kv.kind.clone(), kv.version.clone())),
        body,
        signed_entry_timestamp,
        inclusion_proof,
    })
}

fn content(raw: &RawBundle) -> Result<BundleContent, BundleError> {
    match (&raw.message_signature, &raw.dsse_envelope) {
        (Some(message), None) => {
            let digest = message
                .message_digest
                .as_ref()
                .ok_or_else(|| malformed("messageSignature.messageDigest is missing"))?;
            Ok(BundleContent::MessageSignature {
                digest_algorithm: hash_algorithm_name(&digest.algorithm),
                digest: bytes_field("messageSignature.messageDigest.digest", &digest.digest)?,
                signature: bytes_field("messageSignature.signature", &message.signature)?,
            })
        }
        (None, Some(value)) => {
            let json = serde_json::to_vec(value).map_err(BundleError::Json)?;
            let envelope = Envelope::from_json(&json)?;
            Ok(BundleContent::Dsse { envelope, json })
        }
        (Some(_), Some(_)) => Err(malformed("bundle has both messageSignature and dsseEnvelope, expected one")),
        (None, None) => Err(malformed("bundle has neither messageSignature nor dsseEnvelope")),
    }
}

impl Bundle {
    /// Parses protobuf-JSON (`*.sigstore.json`, OCI referrer layer blobs).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let document: Value = serde_json::from_slice(bytes).map_err(BundleError::Json)?;
        let media_type = document.get("mediaType").and_then(Value::as_str).unwrap_or_default();
        let version = BundleVersion::from_media_type(media_type)?;
        let raw: RawBundle = serde_json::from_value(document).map_err(BundleError::Json)?;
        let material =
            raw.verification_material.as_ref().ok_or_else(|| malformed("verificationMaterial is missing"))?;
        let signer = signer(version, material)?;
        let tlog_entries =
            material.tlog_entries.iter().enumerate().map(|(i, e)| log_entry(i, e)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { version, signer, tlog_entries, content: content(&raw)? })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/// Verifies an ECDSA or RSA signature over a message from its SHA-256 digest alone.
fn verify_message_digest(key: &PublicKey, sha256: &[u8], signature: &[u8]) -> Result<(), BundleError> {
    let algorithm: &'static dyn VerificationAlgorithm = match key.algorithm() {
        KeyAlgorithm::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1,
        KeyAlgorithm::EcdsaP384Sha384 => &ECDSA_P384_SHA256_ASN1,
        KeyAlgorithm::RsaPkcs1Sha256 => &RSA_PKCS1_2048_8192_SHA256,
        algorithm @ KeyAlgorithm::Ed25519 => return Err(BundleError::UnsupportedMessageKey { algorithm }),
    };
    let invalid = || BundleError::SignatureInvalid { fingerprint: key.fingerprint(), digest: hex::encode(sha256) };
    let digest = digest::Digest::import_less_safe(sha256, &digest::SHA256).map_err(|_| invalid())?;
    UnparsedPublicKey::new(algorithm, key.spki_der()).verify_digest(&digest, signature).map_err(|_| invalid())
}

fn check_identity(identity: &SignerIdentity, issuer: &str, subject: &str) -> Result<(), BundleError> {
    if identity.issuer.as_deref() == Some(issuer) && identity.subject.as_deref() == Some(subject) {
        return Ok(());
    }
    Err(BundleError::IdentityMismatch {
        expected_issuer: issuer.to_owned(),
        expected_subject: subject.to_owned(),
        found_issuer: identity.issuer.clone().unwrap_or_else(|| "<none>".to_owned()),
        found_subject: identity.subject.clone().unwrap_or_else(|| "<none>".to_owned()),
    })
}

/// Checks a certificate at the log's signed integrated time: validity window, CA path (identity only), identity.
fn check_certificate(
    leaf: &Certificate,
    chain: &[Certificate],
    logged: &[Logged],
    trust: &TrustRoot,
    expected: &Expected,
) -> Result<usize, BundleError> {
    let Some(anchor) = logged.iter().position(|l| l.proof != LogProof::InclusionProof) else {
        let log_indexes = logged.iter().map(|l| l.log_index.to_string()).collect::<Vec<_>>().join(", ");
        return Err(BundleError::UnsignedIntegratedTime { log_indexes });
    };
    let at = logged[anchor].integrated_time;
    if at < leaf.not_before() || at > leaf.not_after() {
        return Err(BundleError::IntegratedTimeOutsideValidity {
            integrated: at,
            not_before: leaf.not_before(),
            not_after: leaf.not_after(),
        });
    }
    if let Expected::Identity { issuer, subject } = expected {
        trust.verify_certificate(leaf, chain, at).map_err(|source| BundleError::Untrusted {
            subject: leaf.identity().subject.clone().unwrap_or_else(|| "<no subject>".to_owned()),
            at,
            source: Box::new(source),
        })?;
        check_identity(leaf.identity(), issuer, subject)?;
    }
    Ok(anchor)
}

/// Offline: signature (message or DSSE) against the key / certificate; certificate path to a trust-root
/// CA at the log's integrated time; identity exact match; tlog entry verified (v0.1: SET or proof,
/// v0.2+: inclusion proof + checkpoint required) and consistent with the content; the artifact's sha256
/// equals the message digest (message signature) or a statement subject (DSSE).
///
/// Every log entry must verify. With a certificate, at least one entry must carry a signed entry timestamp:
/// its integrated time is the signing time (no RFC 3161 support). With [`Expected::Key`] a certificate in the
/// bundle must carry that key; its CA path and identity are not checked.
pub fn verify_bundle(
    bundle: &Bundle,
    artifact_sha256: &[u8],
    trust: &TrustRoot,
    expected: &Expected,
) -> Result<BundleVerified, BundleError> {
    let (key, certificate) = match (&bundle.signer, expected) {
        (BundleSigner::PublicKey { .. }, Expected::Key(key)) => (key, None),
        (BundleSigner::PublicKey { hint }, Expected::Identity { issuer, subject }) => {
            return Err(BundleError::SignerKindMismatch {
                expected: format!("a certificate for {subject:?} from issuer {issuer:?}"),
                found: format!("a public-key bundle (hint {:?})", hint.as_deref().unwrap_or_default()),
            });
        }
        (BundleSigner::Certificate { leaf, chain }, Expected::Key(key)) => {
            if leaf.public_key().spki_der() != key.spki_der() {
                return Err(BundleError::KeyMismatch {
                    expected: key.fingerprint(),
                    found: leaf.public_key().fingerprint(),
                });
            }
            (key, Some((leaf, chain)))
        }
        (BundleSigner::Certificate { leaf, chain }, Expected::Identity { .. }) => {
            (leaf.public_key(), Some((leaf, chain)))
        }
    };
    let material = match certificate {
        Some((leaf, _)) => SignerMaterial::Certificate(leaf),
        None => SignerMaterial::Key(key),
    };

    if bundle.tlog_entries.is_empty() {
        return Err(BundleError::NoTlogEntry);
    }
    let require_inclusion_proof = bundle.version != BundleVersion::V0_1;
    let mut logged = bundle
        .tlog_entries
        .iter()
        .map(|entry| verify_entry(entry, trust, require_inclusion_proof))
        .collect::<Result<Vec<_>, _>>()?;
    let anchor = match certificate {
        Some((leaf, chain)) => check_certificate(leaf, chain, &logged, trust, expected)?,
        None => 0,
    };

    let statement = match &bundle.content {
        BundleContent::MessageSignature { digest_algorithm, digest, signature } => {
            if digest_algorithm != SHA2_256 {
                return Err(BundleError::UnsupportedDigest { found: digest_algorithm.clone() });
            }
            verify_message_digest(key, digest, signature)?;
            for entry in &bundle.tlog_entries {
                check_hashedrekord(&entry.body, signature, material, digest)?;
            }
            if digest.as_slice() != artifact_sha256 {
                return Err(BundleError::MessageDigestMismatch {
                    expected: hex::encode(artifact_sha256),
                    found: hex::encode(digest),
                });
            }
            None
        }
        BundleContent::Dsse { envelope, json } => {
            envelope.verify(key)?;
            for entry in &bundle.tlog_entries {
                check_dsse(&entry.body, envelope, json, material)?;
            }
            let statement = Statement::from_envelope(envelope)?;
            statement.check_subject(&hex::encode(artifact_sha256))?;
            Some(statement)
        }
    };

    Ok(BundleVerified {
        signer: certificate.map(|(leaf, _)| leaf.identity().clone()),
        key_fingerprint: key.fingerprint(),
        logged: logged.swap_remove(anchor),
        statement,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};

    use super::*;
    use crate::verify::dsse::IN_TOTO_PAYLOAD_TYPE;
    use crate::verify::tlog::testing::{
        TEST_ISSUER, TEST_LOG_URL, TEST_SUBJECT, TestCa, TestKey, TestLog, certificate_pem, dsse_body,
        hashedrekord_body,
    };
    use crate::verify::trust::{CertificateAuthority, Validity};

    const T0: i64 = 1_712_085_549;
    const ARTIFACT: &[u8] = b"registry.example/app@sha256:0123";

    fn artifact_sha256() -> [u8; 32] {
        Sha256::digest(ARTIFACT).into()
    }

    /// A log, a CA in the trust root, and a signer holding a leaf issued a minute before `T0`.
    struct World {
        log: TestLog,
        ca: TestCa,
        signer: TestKey,
        leaf: Certificate,
    }

    impl World {
        fn new() -> Self {
            let ca = TestCa::new();
            let signer = TestKey::generate();
            let leaf = ca.issue(&signer, TEST_ISSUER, TEST_SUBJECT, T0 - 60);
            Self { log: TestLog::new(), ca, signer, leaf }
        }

        fn trust(&self) -> TrustRoot {
            let mut trust = self.log.trust_root();
            trust.certificate_authorities.push(CertificateAuthority {
                uri: "https://fulcio.test".into(),
                chain: vec![self.ca.certificate.clone()],
                valid_for: Validity { start: None, end: None },
            });
            trust
        }

        /// Logs a hashedrekord entry for a message signature and returns (entry, signature).
        fn log_message(&mut self, verifier_pem: &str, integrated_time: i64) -> (LogEntry, Vec<u8>) {
            let signature = self.signer.sign(ARTIFACT);
            let body = hashedrekord_body(&artifact_sha256(), &signature, verifier_pem);
            (self.log.log(&body, integrated_time), signature)
        }
    }

    fn identity() -> Expected {
        Expected::Identity { issuer: TEST_ISSUER.into(), subject: TEST_SUBJECT.into() }
    }

    fn entry_json(entry: &LogEntry) -> Value {
        let mut value = json!({
            "logIndex": entry.log_index.to_string(),
            "logId": {"keyId": STANDARD.encode(hex::decode(&entry.log_id).expect("hex"))},
            "kindVersion": {"kind": entry.kind.as_ref().expect("kind").0, "version": entry.kind.as_ref().expect("kind").1},
            "integratedTime": entry.integrated_time.to_string(),
            "canonicalizedBody": STANDARD.encode(&entry.body)
        });
        if let Some(set) = &entry.signed_entry_timestamp {
            value["inclusionPromise"] = json!({"signedEntryTimestamp": STANDARD.encode(set)});
        }
        if let Some(proof) = &entry.inclusion_proof {
            value["inclusionProof"] = json!({
                "logIndex": proof.log_index.to_string(),
                "rootHash": STANDARD.encode(&proof.root_hash),
                "treeSize": proof.tree_size.to_string(),
                "hashes": proof.hashes.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": proof.checkpoint}
            });
        }
        value
    }

    fn certificate_material(leaf: &Certificate) -> Value {
        json!({"certificate": {"rawBytes": STANDARD.encode(leaf.der())}})
    }

    fn chain_material(leaf: &Certificate) -> Value {
        json!({"x509CertificateChain": {"certificates": [{"rawBytes": STANDARD.encode(leaf.der())}]}})
    }

    fn bundle_json(media_type: &str, mut material: Value, entries: &[&LogEntry], content: (&str, Value)) -> Vec<u8> {
        material["tlogEntries"] = Value::Array(entries.iter().map(|e| entry_json(e)).collect());
        let mut bundle = json!({"mediaType": media_type, "verificationMaterial": material});
        bundle[content.0] = content.1;
        serde_json::to_vec_pretty(&bundle).expect("json")
    }

    fn message_content(digest: &[u8], signature: &[u8]) -> (&'static str, Value) {
        (
            "messageSignature",
            json!({
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
                "signature": STANDARD.encode(signature)
            }),
        )
    }

    fn statement(sha256: &[u8]) -> Vec<u8> {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "registry.example/app", "digest": {"sha256": hex::encode(sha256)}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {}
        })
        .to_string()
        .into_bytes()
    }

    /// A DSSE envelope signed by `key`, as bundle content and as the JSON a log would have received.
    fn dsse_content(key: &TestKey, payload_type: &str, payload: &[u8]) -> ((&'static str, Value), Vec<u8>, Vec<u8>) {
        let unsigned = Envelope { payload_type: payload_type.into(), payload: payload.to_vec(), signatures: vec![] };
        let sig = key.sign(&unsigned.pae());
        let value = json!({
            "payload": STANDARD.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": STANDARD.encode(&sig)}]
        });
        let json = serde_json::to_vec(&value).expect("json");
        (("dsseEnvelope", value), json, sig)
    }

    fn v03_message_bundle(world: &mut World) -> Vec<u8> {
        let (entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        )
    }

    #[test]
    fn v03_message_signature_bundle_verifies_against_identity() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        assert_eq!(bundle.version, BundleVersion::V0_3);
        let verified = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect("verifies");
        let signer = verified.signer.expect("identity");
        assert_eq!(signer.subject.as_deref(), Some(TEST_SUBJECT));
        assert_eq!(signer.issuer.as_deref(), Some(TEST_ISSUER));
        assert_eq!(verified.key_fingerprint, world.signer.public_key().fingerprint());
        assert_eq!(verified.logged.proof, LogProof::Both);
        assert_eq!(verified.logged.log_url, TEST_LOG_URL);
        assert_eq!(verified.logged.integrated_time.as_second(), T0);
        assert!(verified.statement.is_none());
    }

    #[test]
    fn alternative_v03_media_type_is_accepted() {
        let mut world = World::new();
        let mut doc: Value = serde_json::from_slice(&v03_message_bundle(&mut world)).expect("json");
        doc["mediaType"] = MEDIA_TYPE_V0_3_ALT.into();
        let bundle = Bundle::from_json(&serde_json::to_vec(&doc).expect("json")).expect("parses");
        assert_eq!(bundle.version, BundleVersion::V0_3);
    }

    #[test]
    fn v01_bundle_with_chain_and_only_a_set_verifies() {
        let mut world = World::new();
        let (mut entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        entry.inclusion_proof = None;
        let json = bundle_json(
            MEDIA_TYPE_V0_1,
            chain_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        assert!(matches!(&bundle.signer, BundleSigner::Certificate { chain, .. } if chain.is_empty()));
        let verified = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect("verifies");
        assert_eq!(verified.logged.proof, LogProof::SignedEntryTimestamp);
    }

    #[test]
    fn v02_dsse_bundle_verifies_and_returns_the_statement() {
        let mut world = World::new();
        let (content, envelope_json, sig) =
            dsse_content(&world.signer, IN_TOTO_PAYLOAD_TYPE, &statement(&artifact_sha256()));
        let pem = certificate_pem(&world.leaf);
        let body = dsse_body(&envelope_json, &statement(&artifact_sha256()), &[(&sig, &pem)]);
        let entry = world.log.log(&body, T0);
        let json = bundle_json(MEDIA_TYPE_V0_2, chain_material(&world.leaf), &[&entry], content);
        let bundle = Bundle::from_json(&json).expect("parses");
        let verified = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect("verifies");
        let statement = verified.statement.expect("statement");
        assert_eq!(statement.predicate_type, "https://sigstore.dev/cosign/sign/v1");
    }

    #[test]
    fn public_key_bundle_verifies_with_the_expected_key() {
        let mut world = World::new();
        let key = world.signer.public_key();
        let (entry, signature) = world.log_message(&key.to_pem(), T0);
        let material = json!({"publicKey": {"hint": "c2lnbmVy"}});
        let json = bundle_json(MEDIA_TYPE_V0_3, material, &[&entry], message_content(&artifact_sha256(), &signature));
        let bundle = Bundle::from_json(&json).expect("parses");
        assert!(matches!(&bundle.signer, BundleSigner::PublicKey { hint: Some(h) } if h == "c2lnbmVy"));
        let verified = verify_bundle(&bundle, &artifact_sha256(), &world.log.trust_root(), &Expected::Key(key.clone()))
            .expect("verifies");
        assert!(verified.signer.is_none());
        assert_eq!(verified.key_fingerprint, key.fingerprint());
    }

    #[test]
    fn int64_fields_as_json_numbers_are_accepted() {
        let mut world = World::new();
        let mut doc: Value = serde_json::from_slice(&v03_message_bundle(&mut world)).expect("json");
        let entry = &mut doc["verificationMaterial"]["tlogEntries"][0];
        entry["logIndex"] = json!(5);
        entry["integratedTime"] = json!(T0);
        entry["inclusionProof"]["treeSize"] = json!(9);
        let bundle = Bundle::from_json(&serde_json::to_vec(&doc).expect("json")).expect("parses");
        assert_eq!(bundle.tlog_entries[0].log_index, 5);
        assert_eq!(bundle.tlog_entries[0].integrated_time, T0);
        verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect("verifies");
    }

    #[test]
    fn unknown_media_type_is_rejected() {
        let mut world = World::new();
        let mut doc: Value = serde_json::from_slice(&v03_message_bundle(&mut world)).expect("json");
        doc["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json".into();
        let err = Bundle::from_json(&serde_json::to_vec(&doc).expect("json")).expect_err("unknown version");
        assert!(
            matches!(&err, BundleError::UnknownVersion { media_type } if media_type.ends_with("v0.4+json")),
            "{err}"
        );
        assert!(err.to_string().contains(MEDIA_TYPE_V0_3), "{err}");
    }

    #[test]
    fn v03_bundle_with_certificate_chain_is_malformed() {
        let mut world = World::new();
        let (entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            chain_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        assert!(matches!(Bundle::from_json(&json), Err(BundleError::Malformed { .. })));
    }

    #[test]
    fn v02_bundle_without_checkpoint_is_rejected() {
        let mut world = World::new();
        let (mut entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        entry.inclusion_proof.as_mut().expect("proof").checkpoint.clear();
        let json = bundle_json(
            MEDIA_TYPE_V0_2,
            chain_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("no checkpoint");
        assert!(matches!(err, BundleError::Tlog(TlogError::MissingInclusionProof { .. })), "{err}");
    }

    #[test]
    fn bundle_with_bad_set_is_rejected() {
        let mut world = World::new();
        let (mut entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        entry.signed_entry_timestamp = Some(world.log.sign_set(&entry.body, T0, entry.log_index + 1));
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("bad SET");
        assert!(matches!(err, BundleError::Tlog(TlogError::BadSignedEntryTimestamp { .. })), "{err}");
    }

    #[test]
    fn bundle_logged_by_a_log_missing_from_the_trust_root_is_rejected() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        let mut trust = world.trust();
        trust.tlogs.clear();
        let err = verify_bundle(&bundle, &artifact_sha256(), &trust, &identity()).expect_err("unknown log");
        assert!(matches!(err, BundleError::Tlog(TlogError::UnknownLog { .. })), "{err}");
    }

    #[test]
    fn bundle_without_log_entries_is_rejected() {
        let world = World::new();
        let signature = world.signer.sign(ARTIFACT);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("no entry");
        assert!(matches!(err, BundleError::NoTlogEntry), "{err}");
    }

    #[test]
    fn certificate_bundle_with_only_an_inclusion_proof_has_no_signed_time() {
        let mut world = World::new();
        let (mut entry, signature) = world.log_message(&certificate_pem(&world.leaf), T0);
        entry.signed_entry_timestamp = None;
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("unsigned time");
        assert!(matches!(err, BundleError::UnsignedIntegratedTime { .. }), "{err}");
    }

    #[test]
    fn message_digest_other_than_the_artifact_is_rejected() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        let other: [u8; 32] = Sha256::digest(b"another image").into();
        let err = verify_bundle(&bundle, &other, &world.trust(), &identity()).expect_err("digest");
        let BundleError::MessageDigestMismatch { expected, found } = &err else { panic!("unexpected {err}") };
        assert_eq!(expected, &hex::encode(other));
        assert_eq!(found, &hex::encode(artifact_sha256()));
    }

    #[test]
    fn message_signature_that_does_not_verify_is_rejected() {
        let mut world = World::new();
        let bad_signature = world.signer.sign(b"not the artifact");
        let body = hashedrekord_body(&artifact_sha256(), &bad_signature, &certificate_pem(&world.leaf));
        let entry = world.log.log(&body, T0);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &bad_signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("signature");
        assert!(matches!(err, BundleError::SignatureInvalid { .. }), "{err}");
    }

    #[test]
    fn identity_with_another_subject_or_issuer_is_rejected() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        let expected = Expected::Identity { issuer: TEST_ISSUER.into(), subject: "https://github.com/evil/app".into() };
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &expected).expect_err("subject");
        assert_eq!(
            err.to_string(),
            format!(
                "certificate identity mismatch: expected subject \"https://github.com/evil/app\" from issuer \
                 \"{TEST_ISSUER}\", found subject \"{TEST_SUBJECT}\" from issuer \"{TEST_ISSUER}\""
            )
        );
        let expected =
            Expected::Identity { issuer: "https://accounts.google.com".into(), subject: TEST_SUBJECT.into() };
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &expected).expect_err("issuer");
        assert!(matches!(err, BundleError::IdentityMismatch { .. }), "{err}");
    }

    #[test]
    fn integrated_time_outside_certificate_validity_is_rejected() {
        let mut world = World::new();
        let late = T0 + 3600;
        let (entry, signature) = world.log_message(&certificate_pem(&world.leaf), late);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("expired");
        let BundleError::IntegratedTimeOutsideValidity { integrated, not_after, .. } = &err else {
            panic!("unexpected {err}")
        };
        assert_eq!(integrated.as_second(), late);
        assert_eq!(not_after.as_second(), T0 + 540);
    }

    #[test]
    fn certificate_from_an_unknown_ca_is_rejected() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        let mut trust = world.trust();
        trust.certificate_authorities[0].chain = vec![TestCa::new().certificate];
        let err = verify_bundle(&bundle, &artifact_sha256(), &trust, &identity()).expect_err("untrusted");
        assert!(matches!(err, BundleError::Untrusted { .. }), "{err}");
    }

    #[test]
    fn public_key_bundle_cannot_satisfy_an_identity() {
        let mut world = World::new();
        let key = world.signer.public_key();
        let (entry, signature) = world.log_message(&key.to_pem(), T0);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            json!({"publicKey": {}}),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("kind");
        assert!(matches!(err, BundleError::SignerKindMismatch { .. }), "{err}");
    }

    #[test]
    fn certificate_bundle_with_another_key_than_expected_is_rejected() {
        let mut world = World::new();
        let bundle = Bundle::from_json(&v03_message_bundle(&mut world)).expect("parses");
        let stranger = TestKey::generate().public_key();
        let err =
            verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &Expected::Key(stranger)).expect_err("key");
        assert!(matches!(err, BundleError::KeyMismatch { .. }), "{err}");
    }

    #[test]
    fn log_body_recording_another_signature_is_rejected() {
        let mut world = World::new();
        let signature = world.signer.sign(ARTIFACT);
        let other = world.signer.sign(ARTIFACT);
        let body = hashedrekord_body(&artifact_sha256(), &other, &certificate_pem(&world.leaf));
        let entry = world.log.log(&body, T0);
        let json = bundle_json(
            MEDIA_TYPE_V0_3,
            certificate_material(&world.leaf),
            &[&entry],
            message_content(&artifact_sha256(), &signature),
        );
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("body");
        assert!(matches!(err, BundleError::Tlog(TlogError::BodySignatureMismatch { .. })), "{err}");
    }

    #[test]
    fn dsse_signature_by_another_key_is_rejected() {
        let mut world = World::new();
        let intruder = TestKey::generate();
        let (content, envelope_json, sig) =
            dsse_content(&intruder, IN_TOTO_PAYLOAD_TYPE, &statement(&artifact_sha256()));
        let body = dsse_body(&envelope_json, &statement(&artifact_sha256()), &[(&sig, &certificate_pem(&world.leaf))]);
        let entry = world.log.log(&body, T0);
        let json = bundle_json(MEDIA_TYPE_V0_3, certificate_material(&world.leaf), &[&entry], content);
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("dsse");
        assert!(matches!(err, BundleError::Dsse(DsseError::SignatureInvalid { .. })), "{err}");
    }

    #[test]
    fn dsse_payload_that_is_not_in_toto_is_rejected() {
        let mut world = World::new();
        let payload = b"{\"critical\":{}}";
        let (content, envelope_json, sig) =
            dsse_content(&world.signer, "application/vnd.dev.cosign.simplesigning.v1+json", payload);
        let body = dsse_body(&envelope_json, payload, &[(&sig, &certificate_pem(&world.leaf))]);
        let entry = world.log.log(&body, T0);
        let json = bundle_json(MEDIA_TYPE_V0_3, certificate_material(&world.leaf), &[&entry], content);
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("not in-toto");
        assert!(matches!(err, BundleError::Dsse(DsseError::NotInToto { .. })), "{err}");
    }

    #[test]
    fn dsse_statement_about_another_artifact_is_rejected() {
        let mut world = World::new();
        let other: [u8; 32] = Sha256::digest(b"another image").into();
        let (content, envelope_json, sig) = dsse_content(&world.signer, IN_TOTO_PAYLOAD_TYPE, &statement(&other));
        let body = dsse_body(&envelope_json, &statement(&other), &[(&sig, &certificate_pem(&world.leaf))]);
        let entry = world.log.log(&body, T0);
        let json = bundle_json(MEDIA_TYPE_V0_3, certificate_material(&world.leaf), &[&entry], content);
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("subject");
        let BundleError::Dsse(DsseError::SubjectMismatch { expected, found }) = &err else {
            panic!("unexpected {err}")
        };
        assert_eq!(expected, &hex::encode(artifact_sha256()));
        assert_eq!(found, &vec![format!("registry.example/app sha256:{}", hex::encode(other))]);
    }

    #[test]
    fn dsse_bundle_whose_log_entry_is_a_hashedrekord_is_rejected() {
        let mut world = World::new();
        let (content, _, _) = dsse_content(&world.signer, IN_TOTO_PAYLOAD_TYPE, &statement(&artifact_sha256()));
        let (entry, _) = world.log_message(&certificate_pem(&world.leaf), T0);
        let json = bundle_json(MEDIA_TYPE_V0_3, certificate_material(&world.leaf), &[&entry], content);
        let bundle = Bundle::from_json(&json).expect("parses");
        let err = verify_bundle(&bundle, &artifact_sha256(), &world.trust(), &identity()).expect_err("kind");
        assert!(matches!(err, BundleError::Tlog(TlogError::UnsupportedKind { .. })), "{err}");
    }

    // Public-good fixtures, see tests/fixtures/sigstore/README.md.

    const STAGING_BUNDLE: &[u8] = include_bytes!("../../tests/fixtures/sigstore/bundle_v3.txt.sigstore.json");
    const STAGING_ARTIFACT: &[u8] = include_bytes!("../../tests/fixtures/sigstore/bundle_v3.txt");
    const STAGING_ROOT: &[u8] = include_bytes!("../../tests/fixtures/sigstore/trusted_root.staging.json");
    const STAGING_V01_BUNDLE: &[u8] = include_bytes!("../../tests/fixtures/sigstore/bundle.txt.sigstore.json");
    const STAGING_V01_ARTIFACT: &[u8] = include_bytes!("../../tests/fixtures/sigstore/bundle.txt");
    const NPM_BUNDLE: &[u8] =
        include_bytes!("../../tests/fixtures/sigstore/sigstore.js-2.0.0-provenance.sigstore.json");
    const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("../../tests/fixtures/sigstore/trusted_root.public-good.json");

    #[test]
    fn real_v03_staging_bundle_verifies() {
        let bundle = Bundle::from_json(STAGING_BUNDLE).expect("parses");
        assert_eq!(bundle.version, BundleVersion::V0_3);
        let trust = TrustRoot::from_json(STAGING_ROOT).expect("trust root");
        let expected = Expected::Identity {
            issuer: "https://github.com/login/oauth".into(),
            subject: "william@yossarian.net".into(),
        };
        let artifact: [u8; 32] = Sha256::digest(STAGING_ARTIFACT).into();
        let verified = verify_bundle(&bundle, &artifact, &trust, &expected).expect("verifies");
        assert_eq!(verified.logged.proof, LogProof::Both);
        assert_eq!(verified.logged.log_url, "https://rekor.sigstage.dev");
        assert_eq!(verified.logged.log_index, 25_915_956);
        let tampered: [u8; 32] = Sha256::digest(b"DO NOT MODIFY ME!").into();
        let err = verify_bundle(&bundle, &tampered, &trust, &expected).expect_err("other artifact");
        assert!(matches!(err, BundleError::MessageDigestMismatch { .. }), "{err}");
    }

    #[test]
    fn real_v01_staging_bundle_with_p384_certificate_verifies() {
        let bundle = Bundle::from_json(STAGING_V01_BUNDLE).expect("parses");
        assert_eq!(bundle.version, BundleVersion::V0_1);
        let trust = TrustRoot::from_json(STAGING_ROOT).expect("trust root");
        let expected =
            Expected::Identity { issuer: "https://github.com/login/oauth".into(), subject: "a@tny.town".into() };
        let artifact: [u8; 32] = Sha256::digest(STAGING_V01_ARTIFACT).into();
        let verified = verify_bundle(&bundle, &artifact, &trust, &expected).expect("verifies");
        assert_eq!(verified.logged.proof, LogProof::Both);
        assert_eq!(verified.logged.integrated_time.as_second(), 1_682_468_469);
    }

    #[test]
    fn real_v01_npm_provenance_bundle_verifies_up_to_its_sha512_subject() {
        let bundle = Bundle::from_json(NPM_BUNDLE).expect("parses");
        assert_eq!(bundle.version, BundleVersion::V0_1);
        let entry = &bundle.tlog_entries[0];
        assert_eq!(entry.kind, Some(("intoto".into(), "0.0.2".into())));
        let proof = entry.inclusion_proof.as_ref().expect("proof");
        assert_ne!(proof.log_index, entry.log_index, "sharded log: proof index is shard-local");
        let trust = TrustRoot::from_json(PUBLIC_GOOD_ROOT).expect("trust root");
        let logged = verify_entry(entry, &trust, true).expect("SET, inclusion proof and checkpoint verify");
        assert_eq!(logged.proof, LogProof::Both);
        let BundleSigner::Certificate { leaf, .. } = &bundle.signer else { panic!("certificate bundle") };
        let BundleContent::Dsse { envelope, json } = &bundle.content else { panic!("dsse bundle") };
        check_dsse(&entry.body, envelope, json, SignerMaterial::Certificate(leaf)).expect("intoto body consistent");
        let expected = Expected::Identity {
            issuer: "https://token.actions.githubusercontent.com".into(),
            subject: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main".into(),
        };
        let artifact: [u8; 32] = Sha256::digest(b"sigstore-2.0.0.tgz").into();
        let err = verify_bundle(&bundle, &artifact, &trust, &expected).expect_err("subject is sha512 only");
        let BundleError::Dsse(DsseError::SubjectMismatch { found, .. }) = &err else { panic!("unexpected {err}") };
        assert_eq!(found, &vec!["pkg:npm/sigstore@2.0.0 (no sha256; has sha512)".to_owned()]);
    }
}
