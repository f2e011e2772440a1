//! Keys: signatures checked by openssl, public keys compared with what openssl derives, cosign.key layout
//! and decryption.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use syncgate_testsign::key::{
    Algorithm, COSIGN_PRIVATE_KEY_LABEL, KeyError, KeyPair, LEGACY_COSIGN_PRIVATE_KEY_LABEL, PublicKey,
};
use syncgate_testsign::pem;

use crate::support::{Scratch, openssl, openssl_verifies};

#[test]
fn signatures_verify_with_openssl_for_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let key = KeyPair::generate(algorithm).unwrap();
        let message = format!("payload signed with {algorithm}");
        let signature = key.sign(message.as_bytes()).unwrap();
        assert!(
            openssl_verifies(&key.public_pem(), message.as_bytes(), &signature, algorithm.digest_name()),
            "{algorithm}: openssl rejected the signature"
        );
        assert!(
            !openssl_verifies(&key.public_pem(), b"another message", &signature, algorithm.digest_name()),
            "{algorithm}: openssl accepted the signature for another message"
        );
    }
}

#[test]
fn ecdsa_signatures_are_asn1_der() {
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let signature = key.sign(b"x").unwrap();
    let scratch = Scratch::new();
    let out = openssl(&["asn1parse", "-inform", "DER", "-in", &scratch.file("sig", &signature)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("SEQUENCE") && text.matches("INTEGER").count() == 2, "{text}");
}

#[test]
fn public_key_pem_is_what_openssl_derives_from_the_private_key() {
    for algorithm in Algorithm::ALL {
        let key = KeyPair::generate(algorithm).unwrap();
        let scratch = Scratch::new();
        let out = openssl(&["pkey", "-in", &scratch.file("key.pem", key.private_pem()), "-pubout"]);
        assert!(out.status.success(), "{algorithm}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), key.public_pem(), "{algorithm}");
        assert_eq!(PublicKey::from_pem(&key.public_pem()).unwrap().algorithm(), algorithm);
    }
}

#[test]
fn cosign_key_has_cosign_layout_and_decrypts() {
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let text = key.cosign_private_key_with_cost(b"hunter2", 10).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    let json: serde_json::Value =
        serde_json::from_slice(&pem::decode(&text, COSIGN_PRIVATE_KEY_LABEL).unwrap()).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["kdf", "cipher", "ciphertext"]);
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"], serde_json::json!({"N": 1024, "r": 8, "p": 1}));
    assert_eq!(STANDARD.decode(json["kdf"]["salt"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    assert_eq!(STANDARD.decode(json["cipher"]["nonce"].as_str().unwrap()).unwrap().len(), 24);
    // secretbox prepends a 16-byte Poly1305 tag to the PKCS#8 document.
    let ciphertext = STANDARD.decode(json["ciphertext"].as_str().unwrap()).unwrap();
    assert_eq!(ciphertext.len(), key.pkcs8_der().len() + 16);

    let back = KeyPair::from_cosign_private_key(&text, b"hunter2").unwrap();
    assert_eq!(back.pkcs8_der(), key.pkcs8_der());
    // The decrypted PKCS#8 is a key openssl reads, with the same public half.
    let scratch = Scratch::new();
    let out = openssl(&["pkey", "-inform", "DER", "-in", &scratch.file("k.der", back.pkcs8_der()), "-pubout"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), key.public_pem());
    assert!(matches!(KeyPair::from_cosign_private_key(&text, b"wrong"), Err(KeyError::Decrypt)));
}

#[test]
fn default_cosign_key_uses_cosign_cost() {
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let text = key.cosign_private_key(b"").unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&pem::decode(&text, COSIGN_PRIVATE_KEY_LABEL).unwrap()).unwrap();
    assert_eq!(json["kdf"]["params"], serde_json::json!({"N": 32768, "r": 8, "p": 1}));
    assert_eq!(KeyPair::from_cosign_private_key(&text, b"").unwrap().public_pem(), key.public_pem());
}

#[test]
fn legacy_label_is_accepted() {
    let key = KeyPair::generate(Algorithm::Ed25519).unwrap();
    let text = key
        .cosign_private_key_with_cost(b"pw", 4)
        .unwrap()
        .replace(COSIGN_PRIVATE_KEY_LABEL, LEGACY_COSIGN_PRIVATE_KEY_LABEL);
    assert_eq!(KeyPair::from_cosign_private_key(&text, b"pw").unwrap().algorithm(), Algorithm::Ed25519);
}
