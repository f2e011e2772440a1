//! DSSE envelopes and the in-toto statements they carry: parsing, PAE, signature and subject checks.
//!
//! Offline and pure: no log entries here (see `tlog`) and no predicate semantics (see `require`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

use super::key::PublicKey;

/// Payload type of an in-toto statement inside a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in the standard or URL-safe alphabet, padded or not (DSSE and protobuf-JSON allow both).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD_LENIENT.decode(text).or_else(|err| URL_SAFE_LENIENT.decode(text).map_err(|_| err))
}

/// Why an envelope or statement was rejected.
#[derive(Debug, thiserror::Error)]
pub enum DsseError {
    /// The envelope is not JSON of the DSSE shape.
    #[error("DSSE envelope is not JSON of the form {{payload, payloadType, signatures[{{keyid, sig}}]}}")]
    Json(#[source] serde_json::Error),
    /// A field of the envelope is unusable.
    #[error("malformed DSSE envelope: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// No signature of the envelope verifies with the key.
    #[error("no signature of the DSSE envelope verifies with key {fingerprint} ({count} signature(s) tried)")]
    SignatureInvalid {
        /// Fingerprint of the key tried.
        fingerprint: String,
        /// How many signatures the envelope carries.
        count: usize,
    },
    /// The payload is not an in-toto statement.
    #[error("DSSE payload type is {found:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}")]
    NotInToto {
        /// The envelope's payload type.
        found: String,
    },
    /// The payload claims to be in-toto but is not a statement.
    #[error("malformed in-toto statement: {reason}")]
    Statement {
        /// What is wrong.
        reason: String,
    },
    /// No subject of the statement names the artifact.
    #[error("no subject of the in-toto statement has sha256 {expected}; subjects: {}", found.join(", "))]
    SubjectMismatch {
        /// The artifact's sha256 (hex).
        expected: String,
        /// Each subject as `name sha256:<hex>` (or its other digests when it has no sha256).
        found: Vec<String>,
    },
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Key hint; `None` when absent or empty.
    pub keyid: Option<String>,
    /// Raw signature bytes (ASN.1 DER for ECDSA).
    pub sig: Vec<u8>,
}

/// A DSSE envelope with its payload decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Media type of the payload.
    pub payload_type: String,
    /// Decoded payload bytes.
    pub payload: Vec<u8>,
    /// Signatures over the PAE of type and payload.
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawSignature>,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
}

impl Envelope {
    /// Parses DSSE JSON (also the protobuf-JSON `dsseEnvelope` of a bundle, which has the same shape).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DsseError> {
        let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(DsseError::Json)?;
        let payload = decode_base64(&raw.payload)
            .map_err(|e| DsseError::Malformed { reason: format!("payload is not base64: {e}") })?;
        if raw.signatures.is_empty() {
            return Err(DsseError::Malformed { reason: "expected at least one signature, found none".into() });
        }
        let signatures = raw
            .signatures
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let sig = decode_base64(&s.sig)
                    .map_err(|e| DsseError::Malformed { reason: format!("signatures[{i}].sig is not base64: {e}") })?;
                Ok(EnvelopeSignature { keyid: s.keyid.filter(|k| !k.is_empty()), sig })
            })
            .collect::<Result<Vec<_>, DsseError>>()?;
        Ok(Self { payload_type: raw.payload_type, payload, signatures })
    }

    /// Pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(payload)> <payload>` (lengths in ASCII decimal).
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        let header = format!("DSSEv1 {} {} {} ", self.payload_type.len(), self.payload_type, self.payload.len());
        let mut out = Vec::with_capacity(header.len() + self.payload.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Succeeds when some signature verifies over the PAE with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), DsseError> {
        let pae = self.pae();
        if self.signatures.iter().any(|s| key.verify(&pae, &s.sig).is_ok()) {
            Ok(())
        } else {
            Err(DsseError::SignatureInvalid { fingerprint: key.fingerprint(), count: self.signatures.len() })
        }
    }
}

/// One subject of an in-toto statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subject {
    /// Subject name (file name, purl, image reference…).
    pub name: String,
    /// Digests by algorithm name (`sha256`, `sha512`, …), hex as written in the statement.
    pub digest: BTreeMap<String, String>,
}

/// An in-toto statement (v0.1 or v1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// `_type`, e.g. `https://in-toto.io/Statement/v1`.
    pub statement_type: String,
    /// What the statement is about.
    pub subjects: Vec<Subject>,
    /// Predicate type URI, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: String,
    /// The predicate as JSON (`null` when absent).
    pub predicate: serde_json::Value,
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    #[serde(default)]
    subject: Vec<RawSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

const STATEMENT_TYPE_PREFIX: &str = "https://in-toto.io/Statement/";

impl Statement {
    /// Reads the statement from an envelope whose payload type is `application/vnd.in-toto+json`.
    pub fn from_envelope(envelope: &Envelope) -> Result<Self, DsseError> {
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(DsseError::NotInToto { found: envelope.payload_type.clone() });
        }
        let raw: RawStatement =
            serde_json::from_slice(&envelope.payload).map_err(|e| DsseError::Statement { reason: e.to_string() })?;
        if !raw.statement_type.starts_with(STATEMENT_TYPE_PREFIX) {
            return Err(DsseError::Statement {
                reason: format!("_type is {:?}, expected {STATEMENT_TYPE_PREFIX}v0.1 or v1", raw.statement_type),
            });
        }
        if raw.subject.is_empty() {
            return Err(DsseError::Statement { reason: "expected at least one subject, found none".into() });
        }
        Ok(Self {
            statement_type: raw.statement_type,
            subjects: raw.subject.into_iter().map(|s| Subject { name: s.name, digest: s.digest }).collect(),
            predicate_type: raw.predicate_type,
            predicate: raw.predicate,
        })
    }

    /// Succeeds when some subject's `digest.sha256` equals `sha256_hex` (case-insensitive).
    pub fn check_subject(&self, sha256_hex: &str) -> Result<(), DsseError> {
        let matches = |s: &Subject| s.digest.get("sha256").is_some_and(|d| d.eq_ignore_ascii_case(sha256_hex));
        if self.subjects.iter().any(matches) {
            return Ok(());
        }
        let found = self
            .subjects
            .iter()
            .map(|s| {
                let name = if s.name.is_empty() { String::new() } else { format!("{} ", s.name) };
                s.digest.get("sha256").map_or_else(
                    || {
                        let algorithms: Vec<&str> = s.digest.keys().map(String::as_str).collect();
                        format!("{}(no sha256; has {})", name, algorithms.join(", "))
                    },
                    |d| format!("{name}sha256:{d}"),
                )
            })
            .collect();
        Err(DsseError::SubjectMismatch { expected: sha256_hex.to_ascii_lowercase(), found })
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use sha2::{Digest as _, Sha256};

    use super::*;
    use crate::verify::tlog::testing::TestKey;

    fn statement_json(sha256_hex: &str) -> Vec<u8> {
        serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [
                {"name": "registry.example/app", "digest": {"sha256": sha256_hex}},
                {"name": "other", "digest": {"sha512": "ab"}}
            ],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "https://example/build"}}
        })
        .to_string()
        .into_bytes()
    }

    fn signed_envelope_json(key: &TestKey, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let unsigned =
            Envelope { payload_type: payload_type.into(), payload: payload.to_vec(), signatures: Vec::new() };
        let sig = key.sign(&unsigned.pae());
        serde_json::json!({
            "payloadType": payload_type,
            "payload": STANDARD.encode(payload),
            "signatures": [{"keyid": "", "sig": STANDARD.encode(sig)}]
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn pae_matches_the_dsse_specification_layout() {
        let envelope = Envelope {
            payload_type: "http://example.com/HelloWorld".into(),
            payload: b"hello world".to_vec(),
            signatures: vec![],
        };
        assert_eq!(envelope.pae(), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    #[test]
    fn envelope_signed_with_the_key_verifies() {
        let key = TestKey::generate();
        let json = signed_envelope_json(&key, IN_TOTO_PAYLOAD_TYPE, &statement_json("aa"));
        let envelope = Envelope::from_json(&json).expect("parses");
        assert_eq!(envelope.signatures[0].keyid, None);
        envelope.verify(&key.public_key()).expect("verifies");
    }

    #[test]
    fn envelope_accepts_url_safe_unpadded_base64() {
        let key = TestKey::generate();
        let payload = b"\xfb\xff\xfe payload with bytes that differ between alphabets".to_vec();
        let unsigned = Envelope { payload_type: "text/plain".into(), payload: payload.clone(), signatures: vec![] };
        let sig = key.sign(&unsigned.pae());
        let json = serde_json::json!({
            "payloadType": "text/plain",
            "payload": URL_SAFE_NO_PAD.encode(&payload),
            "signatures": [{"keyid": "k1", "sig": URL_SAFE_NO_PAD.encode(sig)}]
        });
        let envelope = Envelope::from_json(json.to_string().as_bytes()).expect("parses");
        assert_eq!(envelope.payload, payload);
        assert_eq!(envelope.signatures[0].keyid.as_deref(), Some("k1"));
        envelope.verify(&key.public_key()).expect("verifies");
    }

    #[test]
    fn envelope_signature_by_another_key_is_rejected() {
        let signer = TestKey::generate();
        let other = TestKey::generate();
        let json = signed_envelope_json(&signer, IN_TOTO_PAYLOAD_TYPE, &statement_json("aa"));
        let envelope = Envelope::from_json(&json).expect("parses");
        let err = envelope.verify(&other.public_key()).expect_err("wrong key");
        assert!(matches!(err, DsseError::SignatureInvalid { count: 1, .. }), "{err}");
        assert!(err.to_string().contains(&other.public_key().fingerprint()), "{err}");
    }

    #[test]
    fn envelope_with_tampered_payload_type_is_rejected() {
        let key = TestKey::generate();
        let json = signed_envelope_json(&key, IN_TOTO_PAYLOAD_TYPE, &statement_json("aa"));
        let mut envelope = Envelope::from_json(&json).expect("parses");
        envelope.payload_type = "application/json".into();
        assert!(matches!(envelope.verify(&key.public_key()), Err(DsseError::SignatureInvalid { .. })));
    }

    #[test]
    fn envelope_without_signatures_is_malformed() {
        let json = br#"{"payloadType":"x","payload":"eA==","signatures":[]}"#;
        let err = Envelope::from_json(json).expect_err("no signatures");
        assert!(matches!(err, DsseError::Malformed { .. }), "{err}");
    }

    #[test]
    fn statement_is_read_and_subject_matches_case_insensitively() {
        let digest = hex::encode(Sha256::digest(b"artifact"));
        let key = TestKey::generate();
        let envelope = Envelope::from_json(&signed_envelope_json(&key, IN_TOTO_PAYLOAD_TYPE, &statement_json(&digest)))
            .expect("parses");
        let statement = Statement::from_envelope(&envelope).expect("statement");
        assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");
        assert_eq!(statement.subjects.len(), 2);
        assert_eq!(statement.predicate["buildDefinition"]["buildType"], "https://example/build");
        statement.check_subject(&digest.to_ascii_uppercase()).expect("subject matches");
    }

    #[test]
    fn statement_subject_mismatch_lists_what_was_found() {
        let digest = hex::encode(Sha256::digest(b"artifact"));
        let wanted = hex::encode(Sha256::digest(b"another artifact"));
        let key = TestKey::generate();
        let envelope = Envelope::from_json(&signed_envelope_json(&key, IN_TOTO_PAYLOAD_TYPE, &statement_json(&digest)))
            .expect("parses");
        let statement = Statement::from_envelope(&envelope).expect("statement");
        let err = statement.check_subject(&wanted).expect_err("mismatch");
        let DsseError::SubjectMismatch { expected, found } = &err else { panic!("unexpected {err}") };
        assert_eq!(expected, &wanted);
        assert_eq!(
            found,
            &vec![format!("registry.example/app sha256:{digest}"), "other (no sha256; has sha512)".into()]
        );
    }

    #[test]
    fn payload_type_other_than_in_toto_is_rejected() {
        let key = TestKey::generate();
        let envelope =
            Envelope::from_json(&signed_envelope_json(&key, "application/vnd.cyclonedx+json", b"{}")).expect("parses");
        let err = Statement::from_envelope(&envelope).expect_err("not in-toto");
        assert!(matches!(&err, DsseError::NotInToto { found } if found == "application/vnd.cyclonedx+json"), "{err}");
    }

    #[test]
    fn statement_with_unknown_type_is_rejected() {
        let key = TestKey::generate();
        let payload = br#"{"_type":"https://example/Other","subject":[{"name":"a","digest":{"sha256":"aa"}}],"predicateType":"p"}"#;
        let envelope = Envelope::from_json(&signed_envelope_json(&key, IN_TOTO_PAYLOAD_TYPE, payload)).expect("parses");
        assert!(matches!(Statement::from_envelope(&envelope), Err(DsseError::Statement { .. })));
    }
}
