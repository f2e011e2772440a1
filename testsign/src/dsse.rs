//! DSSE envelopes (signing over the pre-authentication encoding) and in-toto Statements. Types have public
//! fields so tests can alter a signed envelope or statement before serialising it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::key::{KeyError, KeyPair};

/// DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1 type URI.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// in-toto Statement v0.1 type URI (what cosign v2 `attest` writes).
pub const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";
/// Predicate type cosign v3 uses for plain image signatures made as DSSE bundles.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Key ID; cosign writes an empty string.
    pub keyid: String,
    /// Raw signature bytes (base64 in JSON).
    pub sig: Vec<u8>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Payload type, normally [`IN_TOTO_PAYLOAD_TYPE`].
    pub payload_type: String,
    /// Raw payload bytes (base64 in JSON).
    pub payload: Vec<u8>,
    /// Signatures over [`Envelope::pae`].
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// An unsigned envelope.
    #[must_use]
    pub fn new(payload_type: &str, payload: Vec<u8>) -> Self {
        Envelope { payload_type: payload_type.to_owned(), payload, signatures: Vec::new() }
    }

    /// An envelope signed once by `key` with an empty key ID.
    pub fn sign(payload_type: &str, payload: Vec<u8>, key: &KeyPair) -> Result<Self, KeyError> {
        let mut envelope = Self::new(payload_type, payload);
        envelope.add_signature(key, "")?;
        Ok(envelope)
    }

    /// An in-toto statement signed by `key`.
    pub fn sign_statement(statement: &Statement, key: &KeyPair) -> Result<Self, KeyError> {
        Self::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_json().into_bytes(), key)
    }

    /// Appends a signature by `key` over the current payload type and payload.
    pub fn add_signature(&mut self, key: &KeyPair, keyid: &str) -> Result<(), KeyError> {
        let sig = key.sign(&self.pae())?;
        self.signatures.push(EnvelopeSignature { keyid: keyid.to_owned(), sig });
        Ok(())
    }

    /// The pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The envelope as JSON, field order as cosign writes it:
    /// `{"payloadType","payload","signatures":[{"keyid","sig"}]}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let signatures: Vec<Value> =
            self.signatures.iter().map(|s| json!({"keyid": s.keyid, "sig": STANDARD.encode(&s.sig)})).collect();
        let value = json!({
            "payloadType": self.payload_type,
            "payload": STANDARD.encode(&self.payload),
            "signatures": signatures,
        });
        value.to_string()
    }
}

/// The DSSE v1 pre-authentication encoding of `payload_type` and `payload`.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// An in-toto subject: a name and its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Subject name; omitted from JSON when empty (cosign v3 signs nameless subjects).
    pub name: String,
    /// Digests by algorithm, e.g. `sha256 → <hex>`.
    pub digest: BTreeMap<String, String>,
    /// Optional subject annotations (cosign v3 puts `sign -a` annotations here).
    pub annotations: Option<Map<String, Value>>,
}

impl Subject {
    /// A subject with one SHA-256 digest (hex, with or without a `sha256:` prefix).
    #[must_use]
    pub fn sha256(name: &str, digest_hex: &str) -> Self {
        let hex = digest_hex.strip_prefix("sha256:").unwrap_or(digest_hex);
        Subject {
            name: name.to_owned(),
            digest: BTreeMap::from([("sha256".to_owned(), hex.to_owned())]),
            annotations: None,
        }
    }
}

/// An in-toto Statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `_type`, normally [`STATEMENT_V1`].
    pub statement_type: String,
    /// Subjects.
    pub subjects: Vec<Subject>,
    /// Predicate type URI.
    pub predicate_type: String,
    /// Predicate body.
    pub predicate: Value,
}

impl Statement {
    /// A v1 statement about one SHA-256 subject.
    #[must_use]
    pub fn new(subject_name: &str, digest_hex: &str, predicate_type: &str, predicate: Value) -> Self {
        Statement {
            statement_type: STATEMENT_V1.to_owned(),
            subjects: vec![Subject::sha256(subject_name, digest_hex)],
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// The statement cosign v3 signs for an image: nameless subject, predicate type
    /// [`COSIGN_SIGN_PREDICATE_TYPE`], empty predicate.
    #[must_use]
    pub fn cosign_sign(image_digest: &str) -> Self {
        Self::new("", image_digest, COSIGN_SIGN_PREDICATE_TYPE, json!({}))
    }

    /// The statement as compact JSON: `{"_type","subject","predicateType","predicate"}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let subjects: Vec<Value> = self
            .subjects
            .iter()
            .map(|s| {
                let mut object = Map::new();
                if !s.name.is_empty() {
                    object.insert("name".to_owned(), json!(s.name));
                }
                object.insert("digest".to_owned(), json!(s.digest));
                if let Some(annotations) = &s.annotations {
                    object.insert("annotations".to_owned(), Value::Object(annotations.clone()));
                }
                Value::Object(object)
            })
            .collect();
        json!({
            "_type": self.statement_type,
            "subject": subjects,
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn statement_json_has_in_toto_shape() {
        let statement =
            Statement::new("registry.test/app", "sha256:abcd", "https://slsa.dev/provenance/v1", json!({"x": 1}));
        assert_eq!(
            statement.to_json(),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.test/app","digest":{"sha256":"abcd"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"x":1}}"#
        );
        assert_eq!(
            Statement::cosign_sign("ef01").to_json(),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ef01"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#
        );
    }
}
