//! Sigstore bundles (protobuf-JSON of `dev.sigstore.bundle.v1.Bundle`) in versions 0.1, 0.2 and 0.3, for message
//! signatures and DSSE envelopes, signed by certificates or by keys. [`Bundle::new`] lays the bundle out as each
//! version expects; the result has public fields so tests can break any part before calling [`Bundle::to_json`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::certificate::IssuedCertificate;
use crate::dsse::Envelope;
use crate::key::PublicKey;
use crate::tlog::{Entry, InclusionProof};

/// Bundle media type, version 0.1.
pub const BUNDLE_V0_1_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// Bundle media type, version 0.2.
pub const BUNDLE_V0_2_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// Bundle media type, version 0.3 (also the OCI artifact and layer type cosign v3 uses).
pub const BUNDLE_V0_3_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A bundle format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BundleVersion {
    /// v0.1: certificate chain, inclusion promise (SET) required, inclusion proof optional.
    V0_1,
    /// v0.2: certificate chain, inclusion proof with checkpoint required.
    V0_2,
    /// v0.3: single leaf certificate, inclusion proof with checkpoint required.
    V0_3,
}

impl BundleVersion {
    /// The `mediaType` string.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => BUNDLE_V0_1_MEDIA_TYPE,
            BundleVersion::V0_2 => BUNDLE_V0_2_MEDIA_TYPE,
            BundleVersion::V0_3 => BUNDLE_V0_3_MEDIA_TYPE,
        }
    }
}

/// Who signed, as the bundle's `verificationMaterial` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationMaterial {
    /// `x509CertificateChain.certificates` (leaf first), v0.1/v0.2 style.
    X509CertificateChain(Vec<Vec<u8>>),
    /// `certificate.rawBytes` (leaf only), v0.3 style.
    Certificate(Vec<u8>),
    /// `publicKey.hint` for key-signed bundles.
    PublicKey {
        /// Free-form key hint; this crate writes base64 SHA-256 of the SPKI.
        hint: String,
    },
}

/// The signer handed to [`Bundle::new`].
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// A certificate from the test CA.
    Certificate(&'a IssuedCertificate),
    /// A bare public key.
    PublicKey(&'a PublicKey),
}

/// What was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleContent {
    /// `messageSignature`: a signature over an artifact with the artifact's digest.
    MessageSignature {
        /// `messageDigest.algorithm`, e.g. `SHA2_256`.
        algorithm: String,
        /// `messageDigest.digest`.
        digest: Vec<u8>,
        /// `signature`.
        signature: Vec<u8>,
    },
    /// `dsseEnvelope`.
    Dsse(Envelope),
}

impl BundleContent {
    /// A message signature over an artifact whose SHA-256 is `artifact_sha256`.
    #[must_use]
    pub fn message_signature(artifact_sha256: &[u8], signature: &[u8]) -> Self {
        BundleContent::MessageSignature {
            algorithm: "SHA2_256".to_owned(),
            digest: artifact_sha256.to_vec(),
            signature: signature.to_vec(),
        }
    }
}

/// One `tlogEntries` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEntry {
    /// `logIndex`.
    pub log_index: u64,
    /// `logId.keyId`, raw bytes.
    pub log_id: Vec<u8>,
    /// `kindVersion.kind`.
    pub kind: String,
    /// `kindVersion.version`.
    pub version: String,
    /// `integratedTime`, Unix seconds.
    pub integrated_time: i64,
    /// `inclusionPromise.signedEntryTimestamp`; `None` omits the promise.
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// `inclusionProof`; `None` omits the proof.
    pub inclusion_proof: Option<InclusionProof>,
    /// Whether the inclusion proof carries its checkpoint.
    pub include_checkpoint: bool,
    /// `canonicalizedBody`.
    pub canonicalized_body: Vec<u8>,
}

impl TlogEntry {
    /// Everything the log returned for `entry`: promise, proof with checkpoint, body.
    #[must_use]
    pub fn from_entry(entry: &Entry) -> Self {
        let (kind, version) = entry.kind_version().unwrap_or_default();
        TlogEntry {
            log_index: entry.log_index,
            log_id: hex::decode(&entry.log_id).unwrap_or_default(),
            kind,
            version,
            integrated_time: entry.integrated_time,
            signed_entry_timestamp: Some(entry.signed_entry_timestamp.clone()),
            inclusion_proof: Some(entry.inclusion_proof.clone()),
            include_checkpoint: true,
            canonicalized_body: entry.body.clone(),
        }
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("logIndex".to_owned(), json!(self.log_index.to_string()));
        object.insert("logId".to_owned(), json!({"keyId": STANDARD.encode(&self.log_id)}));
        object.insert("kindVersion".to_owned(), json!({"kind": self.kind, "version": self.version}));
        object.insert("integratedTime".to_owned(), json!(self.integrated_time.to_string()));
        if let Some(set) = &self.signed_entry_timestamp {
            object.insert("inclusionPromise".to_owned(), json!({"signedEntryTimestamp": STANDARD.encode(set)}));
        }
        if let Some(proof) = &self.inclusion_proof {
            let mut value = Map::new();
            value.insert("logIndex".to_owned(), json!(proof.log_index.to_string()));
            value.insert("rootHash".to_owned(), json!(STANDARD.encode(&proof.root_hash)));
            value.insert("treeSize".to_owned(), json!(proof.tree_size.to_string()));
            value.insert(
                "hashes".to_owned(),
                json!(proof.hashes.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>()),
            );
            if self.include_checkpoint {
                value.insert("checkpoint".to_owned(), json!({"envelope": proof.checkpoint}));
            }
            object.insert("inclusionProof".to_owned(), Value::Object(value));
        }
        object.insert("canonicalizedBody".to_owned(), json!(STANDARD.encode(&self.canonicalized_body)));
        Value::Object(object)
    }
}

/// A Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `mediaType`.
    pub media_type: String,
    /// `verificationMaterial` signer part.
    pub verification_material: VerificationMaterial,
    /// `verificationMaterial.tlogEntries`.
    pub tlog_entries: Vec<TlogEntry>,
    /// `messageSignature` or `dsseEnvelope`.
    pub content: BundleContent,
}

impl Bundle {
    /// A bundle laid out as `version` expects: v0.1 and v0.2 carry the certificate chain, v0.3 the leaf
    /// certificate; all carry the inclusion promise and the inclusion proof with its checkpoint. The proof is
    /// optional in v0.1, but current clients (sigstore-python 4) refuse entries without one; set
    /// `tlog_entries[0].inclusion_proof = None` for a promise-only v0.1 bundle. Certificate chains hold the
    /// leaf only, as current clients write them.
    #[must_use]
    pub fn new(version: BundleVersion, signer: Signer<'_>, content: BundleContent, entry: &Entry) -> Self {
        let verification_material = match (signer, version) {
            (Signer::PublicKey(key), _) => VerificationMaterial::PublicKey { hint: key_hint(key) },
            (Signer::Certificate(certificate), BundleVersion::V0_3) => {
                VerificationMaterial::Certificate(certificate.der.clone())
            }
            (Signer::Certificate(certificate), _) => {
                VerificationMaterial::X509CertificateChain(vec![certificate.der.clone()])
            }
        };
        Bundle {
            media_type: version.media_type().to_owned(),
            verification_material,
            tlog_entries: vec![TlogEntry::from_entry(entry)],
            content,
        }
    }

    /// The protobuf-JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut material = Map::new();
        match &self.verification_material {
            VerificationMaterial::X509CertificateChain(chain) => {
                let certificates: Vec<Value> =
                    chain.iter().map(|der| json!({"rawBytes": STANDARD.encode(der)})).collect();
                material.insert("x509CertificateChain".to_owned(), json!({"certificates": certificates}));
            }
            VerificationMaterial::Certificate(der) => {
                material.insert("certificate".to_owned(), json!({"rawBytes": STANDARD.encode(der)}));
            }
            VerificationMaterial::PublicKey { hint } => {
                material.insert("publicKey".to_owned(), json!({"hint": hint}));
            }
        }
        material.insert(
            "tlogEntries".to_owned(),
            Value::Array(self.tlog_entries.iter().map(TlogEntry::to_value).collect()),
        );

        let mut bundle = Map::new();
        bundle.insert("mediaType".to_owned(), json!(self.media_type));
        bundle.insert("verificationMaterial".to_owned(), Value::Object(material));
        match &self.content {
            BundleContent::MessageSignature { algorithm, digest, signature } => {
                bundle.insert(
                    "messageSignature".to_owned(),
                    json!({
                        "messageDigest": {"algorithm": algorithm, "digest": STANDARD.encode(digest)},
                        "signature": STANDARD.encode(signature),
                    }),
                );
            }
            BundleContent::Dsse(envelope) => {
                let signatures: Vec<Value> = envelope
                    .signatures
                    .iter()
                    .map(|s| {
                        let mut signature = Map::new();
                        signature.insert("sig".to_owned(), json!(STANDARD.encode(&s.sig)));
                        if !s.keyid.is_empty() {
                            signature.insert("keyid".to_owned(), json!(s.keyid));
                        }
                        Value::Object(signature)
                    })
                    .collect();
                bundle.insert(
                    "dsseEnvelope".to_owned(),
                    json!({
                        "payload": STANDARD.encode(&envelope.payload),
                        "payloadType": envelope.payload_type,
                        "signatures": signatures,
                    }),
                );
            }
        }
        Value::Object(bundle)
    }

    /// Compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// `dsse-envelope` or `message-signature`, the `dev.sigstore.bundle.content` annotation value.
    #[must_use]
    pub fn content_kind(&self) -> &'static str {
        match self.content {
            BundleContent::MessageSignature { .. } => "message-signature",
            BundleContent::Dsse(_) => "dsse-envelope",
        }
    }
}

/// The key hint this crate writes: base64 SHA-256 of the SPKI DER.
#[must_use]
pub fn key_hint(key: &PublicKey) -> String {
    STANDARD.encode(Sha256::digest(key.spki_der()))
}
