//! Rekor entry bodies in their canonical (JCS) form, as the log stores them and as bundles carry them in
//! `canonicalizedBody`: `hashedrekord` 0.0.1, `dsse` 0.0.1 and `intoto` 0.0.2. Keys are base64 PEM (certificate
//! or public key), as Rekor's canonical value holds them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::canonical;
use crate::dsse::Envelope;

/// `hashedrekord` 0.0.1: the signature, the signer (PEM certificate or public key) and the SHA-256 of the
/// signed payload.
#[must_use]
pub fn hashedrekord(signature: &[u8], signer_pem: &str, payload_sha256: &[u8]) -> Vec<u8> {
    canonical::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(payload_sha256)}},
            "signature": {
                "content": STANDARD.encode(signature),
                "publicKey": {"content": STANDARD.encode(signer_pem)},
            },
        },
    }))
}

/// `dsse` 0.0.1 for `envelope` as serialised by [`Envelope::to_json`]: envelope hash (SHA-256 of that JSON),
/// payload hash, and one `{signature, verifier}` per envelope signature, sorted by signature as Rekor sorts them.
#[must_use]
pub fn dsse_body(envelope: &Envelope, signer_pem: &str) -> Vec<u8> {
    dsse_body_for_json(envelope, envelope.to_json().as_bytes(), signer_pem)
}

/// `dsse` 0.0.1 where the envelope was submitted as `envelope_json` (its SHA-256 is the envelope hash).
#[must_use]
pub fn dsse_body_for_json(envelope: &Envelope, envelope_json: &[u8], signer_pem: &str) -> Vec<u8> {
    let verifier = STANDARD.encode(signer_pem);
    let mut signatures: Vec<String> = envelope.signatures.iter().map(|s| STANDARD.encode(&s.sig)).collect();
    signatures.sort();
    let signatures: Vec<Value> =
        signatures.into_iter().map(|signature| json!({"signature": signature, "verifier": verifier})).collect();
    canonical::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_json))},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&envelope.payload))},
            "signatures": signatures,
        },
    }))
}

/// `intoto` 0.0.2, what cosign v2 `attest --rekor-entry-type intoto` logs: the envelope without its payload,
/// each signature stored as base64 of the envelope's base64 `sig` string (Rekor's double encoding) next to the
/// base64 PEM key, plus the SHA-256 of the envelope JSON (`hash`) and of the payload (`payloadHash`).
#[must_use]
pub fn intoto_body(envelope: &Envelope, signer_pem: &str) -> Vec<u8> {
    intoto_body_for_json(envelope, envelope.to_json().as_bytes(), signer_pem)
}

/// `intoto` 0.0.2 where the envelope was submitted as `envelope_json`.
#[must_use]
pub fn intoto_body_for_json(envelope: &Envelope, envelope_json: &[u8], signer_pem: &str) -> Vec<u8> {
    let public_key = STANDARD.encode(signer_pem);
    let signatures: Vec<Value> = envelope
        .signatures
        .iter()
        .map(|s| {
            let mut object = Map::new();
            if !s.keyid.is_empty() {
                object.insert("keyid".to_owned(), json!(s.keyid));
            }
            object.insert("publicKey".to_owned(), json!(public_key));
            object.insert("sig".to_owned(), json!(STANDARD.encode(STANDARD.encode(&s.sig))));
            Value::Object(object)
        })
        .collect();
    canonical::to_vec(&json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {
            "content": {
                "envelope": {"payloadType": envelope.payload_type, "signatures": signatures},
                "hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_json))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&envelope.payload))},
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::EnvelopeSignature;

    #[test]
    fn hashedrekord_is_canonical() {
        let body = String::from_utf8(hashedrekord(&[1, 2, 3], "PEM\n", &[0xab; 32])).unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"AQID","publicKey":{{"content":"UEVNCg=="}}}}}}}}"#,
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn dsse_and_intoto_bodies_follow_rekor_schemas() {
        let envelope = Envelope {
            payload_type: "application/vnd.in-toto+json".to_owned(),
            payload: b"{}".to_vec(),
            signatures: vec![EnvelopeSignature { keyid: String::new(), sig: vec![0xff] }],
        };
        let dsse: Value = serde_json::from_slice(&dsse_body(&envelope, "K")).unwrap();
        assert_eq!(dsse["kind"], "dsse");
        assert_eq!(dsse["spec"]["signatures"], json!([{"signature": "/w==", "verifier": "Sw=="}]));
        assert_eq!(dsse["spec"]["payloadHash"]["value"], hex::encode(Sha256::digest(b"{}")));
        assert_eq!(dsse["spec"]["envelopeHash"]["value"], hex::encode(Sha256::digest(envelope.to_json())));

        let intoto: Value = serde_json::from_slice(&intoto_body(&envelope, "K")).unwrap();
        assert_eq!(intoto["apiVersion"], "0.0.2");
        // "/w==" base64-encoded again.
        assert_eq!(
            intoto["spec"]["content"]["envelope"]["signatures"],
            json!([{"publicKey": "Sw==", "sig": "L3c9PQ=="}])
        );
        assert!(intoto["spec"]["content"]["envelope"].get("payload").is_none());
    }
}
