//! Cosign's legacy registry material: the simple-signing payload, `.sig` signature layers, `.att` attestation
//! layers, and the `dev.sigstore.cosign/bundle` Rekor annotation. Layers are plain data with public fields so
//! tests can tamper with annotations before pushing.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::certificate::IssuedCertificate;
use crate::dsse::Envelope;
use crate::key::{KeyError, KeyPair};
use crate::tlog::Entry;

/// Media type of simple-signing signature layers.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Media type of DSSE attestation layers.
pub const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer annotation: base64 signature over the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: PEM signing certificate.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: PEM certificate chain.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: Rekor bundle JSON.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation on attestations: the predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// `critical.type` of cosign signatures.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// The simple-signing payload cosign signs, compact, with `"optional":null`.
#[must_use]
pub fn simple_signing_payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    simple_signing_payload_with(docker_reference, digest, None)
}

/// The simple-signing payload with `optional` set to `annotations` (cosign `sign -a k=v`; keys sorted as Go
/// marshals maps), or `null` when `None`.
#[must_use]
pub fn simple_signing_payload_with(
    docker_reference: &str,
    digest: &str,
    annotations: Option<&BTreeMap<String, Value>>,
) -> Vec<u8> {
    let optional = annotations.map_or(Value::Null, |a| json!(a));
    json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": optional,
    })
    .to_string()
    .into_bytes()
}

/// cosign's Rekor bundle annotation: `{"SignedEntryTimestamp","Payload":{"body","integratedTime","logIndex","logID"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorBundle {
    /// SET bytes.
    pub signed_entry_timestamp: Vec<u8>,
    /// Canonical body bytes (base64 in JSON).
    pub body: Vec<u8>,
    /// Unix seconds.
    pub integrated_time: i64,
    /// Log index.
    pub log_index: u64,
    /// Hex log ID.
    pub log_id: String,
}

impl RekorBundle {
    /// The bundle for a logged entry.
    #[must_use]
    pub fn from_entry(entry: &Entry) -> Self {
        RekorBundle {
            signed_entry_timestamp: entry.signed_entry_timestamp.clone(),
            body: entry.body.clone(),
            integrated_time: entry.integrated_time,
            log_index: entry.log_index,
            log_id: entry.log_id.clone(),
        }
    }

    /// The annotation value, field order as cosign's Go structs.
    #[must_use]
    pub fn to_json(&self) -> String {
        json!({
            "SignedEntryTimestamp": STANDARD.encode(&self.signed_entry_timestamp),
            "Payload": {
                "body": STANDARD.encode(&self.body),
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": self.log_id,
            },
        })
        .to_string()
    }
}

/// One layer of a `.sig` image: the payload blob and its descriptor annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    /// Blob content (the signed payload).
    pub payload: Vec<u8>,
    /// Descriptor media type.
    pub media_type: String,
    /// Descriptor annotations.
    pub annotations: BTreeMap<String, String>,
}

impl SignatureLayer {
    /// A simple-signing layer carrying `signature` over `payload`.
    #[must_use]
    pub fn new(payload: Vec<u8>, signature: &[u8]) -> Self {
        SignatureLayer {
            payload,
            media_type: SIMPLE_SIGNING_MEDIA_TYPE.to_owned(),
            annotations: BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), STANDARD.encode(signature))]),
        }
    }

    /// Signs `payload` with `key`.
    pub fn sign(payload: Vec<u8>, key: &KeyPair) -> Result<Self, KeyError> {
        let signature = key.sign(&payload)?;
        Ok(Self::new(payload, &signature))
    }

    /// Adds the certificate and chain annotations.
    #[must_use]
    pub fn with_certificate(mut self, certificate: &IssuedCertificate) -> Self {
        self.annotations.insert(CERTIFICATE_ANNOTATION.to_owned(), certificate.pem.clone());
        self.annotations.insert(CHAIN_ANNOTATION.to_owned(), certificate.chain_pem.clone());
        self
    }

    /// Adds the Rekor bundle annotation.
    #[must_use]
    pub fn with_bundle(mut self, bundle: &RekorBundle) -> Self {
        self.annotations.insert(BUNDLE_ANNOTATION.to_owned(), bundle.to_json());
        self
    }

    /// The signature carried in the annotation, decoded.
    #[must_use]
    pub fn signature(&self) -> Option<Vec<u8>> {
        STANDARD.decode(self.annotations.get(SIGNATURE_ANNOTATION)?).ok()
    }
}

/// One layer of a `.att` image: a DSSE envelope blob and its descriptor annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationLayer {
    /// Blob content (the envelope JSON).
    pub envelope_json: Vec<u8>,
    /// Descriptor media type.
    pub media_type: String,
    /// Descriptor annotations.
    pub annotations: BTreeMap<String, String>,
}

impl AttestationLayer {
    /// A layer for `envelope` with the `predicateType` annotation and, as cosign writes it, an empty signature
    /// annotation (the signature lives inside the envelope).
    #[must_use]
    pub fn new(envelope: &Envelope, predicate_type: &str) -> Self {
        Self::from_json(envelope.to_json().into_bytes(), predicate_type)
    }

    /// A layer holding `envelope_json` verbatim.
    #[must_use]
    pub fn from_json(envelope_json: Vec<u8>, predicate_type: &str) -> Self {
        AttestationLayer {
            envelope_json,
            media_type: DSSE_ENVELOPE_MEDIA_TYPE.to_owned(),
            annotations: BTreeMap::from([
                (SIGNATURE_ANNOTATION.to_owned(), String::new()),
                (PREDICATE_TYPE_ANNOTATION.to_owned(), predicate_type.to_owned()),
            ]),
        }
    }

    /// Adds the certificate and chain annotations.
    #[must_use]
    pub fn with_certificate(mut self, certificate: &IssuedCertificate) -> Self {
        self.annotations.insert(CERTIFICATE_ANNOTATION.to_owned(), certificate.pem.clone());
        self.annotations.insert(CHAIN_ANNOTATION.to_owned(), certificate.chain_pem.clone());
        self
    }

    /// Adds the Rekor bundle annotation.
    #[must_use]
    pub fn with_bundle(mut self, bundle: &RekorBundle) -> Self {
        self.annotations.insert(BUNDLE_ANNOTATION.to_owned(), bundle.to_json());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_byte_identical_to_cosign() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            String::from_utf8(simple_signing_payload("127.0.0.1:5000/test/app", &digest)).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:5000/test/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
        let annotations = BTreeMap::from([("team".to_owned(), json!("a")), ("env".to_owned(), json!("prod"))]);
        let payload = String::from_utf8(simple_signing_payload_with("r", &digest, Some(&annotations))).unwrap();
        assert!(payload.ends_with(r#""optional":{"env":"prod","team":"a"}}"#), "{payload}");
    }

    #[test]
    fn rekor_bundle_annotation_layout() {
        let bundle = RekorBundle {
            signed_entry_timestamp: vec![1],
            body: b"{}".to_vec(),
            integrated_time: 1_700_000_000,
            log_index: 7,
            log_id: "ab".to_owned(),
        };
        assert_eq!(
            bundle.to_json(),
            r#"{"SignedEntryTimestamp":"AQ==","Payload":{"body":"e30=","integratedTime":1700000000,"logIndex":7,"logID":"ab"}}"#
        );
    }
}
