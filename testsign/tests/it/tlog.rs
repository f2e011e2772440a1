//! Transparency log: Merkle roots recomputed from proofs with RFC 9162's verification algorithm, SETs and
//! checkpoints checked by openssl over text built by hand from the specifications.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use syncgate_testsign::tlog::{InclusionProof, TransparencyLog, body};

use crate::support::{Scratch, openssl_ok, openssl_verifies};

fn hash_leaf(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0]);
    h.update(data);
    h.finalize().into()
}

fn hash_children(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
fn root_from_proof(leaf: &[u8], proof: &InclusionProof) -> Option<[u8; 32]> {
    if proof.log_index >= proof.tree_size {
        return None;
    }
    let (mut fn_, mut sn) = (proof.log_index, proof.tree_size - 1);
    let mut r = hash_leaf(leaf);
    for p in &proof.hashes {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = hash_children(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// MTH of RFC 6962 §2.1, straight from the definition.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let mut k = 1;
    while k * 2 < leaves.len() {
        k *= 2;
    }
    hash_children(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

/// Checks a checkpoint against the log's key, returning (origin, size, root).
fn check_checkpoint(log: &TransparencyLog, checkpoint: &str) -> (String, u64, Vec<u8>) {
    let (note, signatures) = checkpoint.split_once("\n\n").expect("blank line between note and signatures");
    let note = format!("{note}\n");
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(lines.len(), 3, "{checkpoint}");
    let signature_line = signatures.strip_suffix('\n').expect("signature line ends with a newline");
    let (name, blob) = signature_line.strip_prefix("\u{2014} ").unwrap().split_once(' ').unwrap();
    assert_eq!(name, "rekor.test");
    let blob = STANDARD.decode(blob).unwrap();
    let spki = STANDARD
        .decode(log.public_key().to_pem().lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    assert_eq!(&blob[..4], &Sha256::digest(&spki)[..4], "key hint is the first four bytes of the log ID");
    assert!(
        openssl_verifies(&log.public_key().to_pem(), note.as_bytes(), &blob[4..], Some("sha256")),
        "checkpoint signature"
    );
    (lines[0].to_owned(), lines[1].parse().unwrap(), STANDARD.decode(lines[2]).unwrap())
}

#[test]
fn log_id_is_sha256_of_the_public_key_der() {
    let log = TransparencyLog::new().unwrap();
    let scratch = Scratch::new();
    let der = scratch.path().join("pub.der");
    openssl_ok(&[
        "pkey",
        "-pubin",
        "-in",
        &scratch.file("pub.pem", log.public_key().to_pem()),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let digest = openssl_ok(&["dgst", "-sha256", "-r", der.to_str().unwrap()]);
    assert_eq!(digest.split_whitespace().next().unwrap(), log.log_id());
    assert!(log.origin().starts_with("rekor.test - "));
    assert!(log.origin()["rekor.test - ".len()..].bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn every_proof_leads_to_the_signed_root_for_every_tree_size() {
    let mut log = TransparencyLog::new().unwrap();
    let bodies: Vec<Vec<u8>> = (0..21u8).map(|i| body::hashedrekord(&[i], "PEM", &[i; 32])).collect();
    for (i, b) in bodies.iter().enumerate() {
        let entry = log.append(b.clone(), 1_700_000_000 + i as i64).unwrap();
        assert_eq!(entry.log_index, i as u64);
        assert_eq!(entry.inclusion_proof.tree_size, i as u64 + 1);
        assert_eq!(root_from_proof(b, &entry.inclusion_proof).unwrap().to_vec(), entry.inclusion_proof.root_hash);
        // Every earlier entry has a valid proof against the grown tree.
        for (j, earlier) in bodies[..=i].iter().enumerate() {
            let proof = log.proof(j as u64).unwrap();
            assert_eq!(root_from_proof(earlier, &proof).unwrap(), log.root_hash(), "size {} index {j}", i + 1);
        }
    }
    // Root of the full tree recomputed from scratch, independently.
    let leaves: Vec<[u8; 32]> = bodies.iter().map(|b| hash_leaf(b)).collect();
    assert_eq!(mth(&leaves), log.root_hash());

    let proof = log.proof(5).unwrap();
    let (origin, size, root) = check_checkpoint(&log, &proof.checkpoint);
    assert_eq!((origin, size, root), (log.origin(), 21, log.root_hash().to_vec()));
    // A proof for the wrong leaf or a tampered path does not lead to the root.
    assert_ne!(root_from_proof(&bodies[6], &proof).map(|r| r.to_vec()), Some(proof.root_hash.clone()));
    let mut tampered = proof.clone();
    tampered.hashes[0][0] ^= 1;
    assert_ne!(root_from_proof(&bodies[5], &tampered).map(|r| r.to_vec()), Some(proof.root_hash));
    assert!(log.proof(21).is_err());
}

#[test]
fn signed_entry_timestamp_signs_the_canonical_payload() {
    let mut log = TransparencyLog::new().unwrap();
    log.append(b"{}".to_vec(), 1).unwrap();
    let body = body::hashedrekord(b"sig", "-----BEGIN PUBLIC KEY-----\n", &[7; 32]);
    let entry = log.append(body.clone(), 1_700_000_123).unwrap();
    let payload = format!(
        r#"{{"body":"{}","integratedTime":1700000123,"logID":"{}","logIndex":1}}"#,
        STANDARD.encode(&body),
        log.log_id()
    );
    assert!(openssl_verifies(
        &log.public_key().to_pem(),
        payload.as_bytes(),
        &entry.signed_entry_timestamp,
        Some("sha256")
    ));
    assert!(!openssl_verifies(
        &log.public_key().to_pem(),
        payload.replace("1700000123", "1700000124").as_bytes(),
        &entry.signed_entry_timestamp,
        Some("sha256")
    ));
    assert_eq!(entry.kind_version(), Some(("hashedrekord".into(), "0.0.1".into())));
    assert_eq!(entry.uuid(), hex::encode(hash_leaf(&body)));
}

#[test]
fn restored_log_continues_the_same_tree() {
    let mut log = TransparencyLog::new().unwrap();
    for i in 0..5u8 {
        log.append(vec![i], i64::from(i)).unwrap();
    }
    let key = syncgate_testsign::KeyPair::from_pkcs8_der(log.key().pkcs8_der()).unwrap();
    let restored = TransparencyLog::restore(key, log.hostname(), log.leaves().to_vec());
    assert_eq!(restored.root_hash(), log.root_hash());
    assert_eq!(restored.origin(), log.origin());
    assert!(!restored.entry(3).unwrap().signed_entry_timestamp.is_empty());
}
