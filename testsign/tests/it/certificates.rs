//! Certificates: chains checked by `openssl verify`, extensions read back with an independent DER reader and
//! with `openssl x509 -text`, and the embedded SCT verified by rebuilding the precertificate by hand.

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest as _, Sha256};
use syncgate_testsign::certificate::{
    CaOptions, CertificateAuthority, FulcioClaims, GithubWorkflow, IssuedCertificate, LeafRequest, RawExtension,
    SubjectAlternativeName,
};
use syncgate_testsign::ctlog::CtLog;
use syncgate_testsign::key::{Algorithm, KeyPair};

use crate::support::{Scratch, der, der_encode, openssl, openssl_ok, openssl_verifies};

const SHA: &str = "4f2d3a9c1e0b8f7d6c5b4a3928171615141312ab";

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        out.extend(chunk);
    }
    out
}

fn fulcio(n: u64) -> Vec<u8> {
    oid(&[1, 3, 6, 1, 4, 1, 57264, 1, n])
}

/// (OID content, critical, extnValue) of every extension, and the TBS pieces before the extensions.
fn extensions(certificate: &[u8]) -> Vec<(Vec<u8>, bool, Vec<u8>)> {
    let (_, cert, _, _) = der(certificate);
    let (_, tbs, _, _) = der(cert);
    let mut rest = tbs;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (tag, content, _, next) = der(rest);
        if tag == 0xa3 {
            let (_, mut list, _, _) = der(content);
            while !list.is_empty() {
                let (_, extension, _, next_ext) = der(list);
                let (_, id, _, after) = der(extension);
                let (critical, after) = if after[0] == 0x01 {
                    let (_, flag, _, after) = der(after);
                    (flag[0] != 0, after)
                } else {
                    (false, after)
                };
                let (_, value, _, _) = der(after);
                out.push((id.to_vec(), critical, value.to_vec()));
                list = next_ext;
            }
        }
        rest = next;
    }
    out
}

fn extension(certificate: &[u8], id: &[u8]) -> Option<(bool, Vec<u8>)> {
    extensions(certificate).into_iter().find(|(o, _, _)| o == id).map(|(_, c, v)| (c, v))
}

fn verify_chain(ca: &CertificateAuthority, leaf: &IssuedCertificate) -> std::process::Output {
    let scratch = Scratch::new();
    openssl(&[
        "verify",
        "-CAfile",
        &scratch.file("root.pem", ca.root_pem()),
        "-untrusted",
        &scratch.file("intermediate.pem", ca.intermediate_pem()),
        "-purpose",
        "any",
        &scratch.file("leaf.pem", &leaf.pem),
    ])
}

fn github_leaf(ca: &CertificateAuthority) -> (KeyPair, IssuedCertificate) {
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let request =
        LeafRequest::github_actions(key.public_key().clone(), "acme/app", "release.yml", "refs/heads/main", SHA);
    let leaf = ca.issue(&request).unwrap();
    (key, leaf)
}

#[test]
fn leaf_chains_to_the_root_for_both_ca_curves() {
    for algorithm in [Algorithm::EcdsaP384, Algorithm::EcdsaP256] {
        let ca = CertificateAuthority::with_options(CaOptions { algorithm, ..CaOptions::default() }).unwrap();
        let (_, leaf) = github_leaf(&ca);
        let out = verify_chain(&ca, &leaf);
        assert!(
            out.status.success(),
            "{algorithm}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(leaf.chain_pem, format!("{}{}", ca.intermediate_pem(), ca.root_pem()));
    }
}

#[test]
fn leaf_from_another_ca_does_not_chain() {
    let trusted = CertificateAuthority::new().unwrap();
    let other = CertificateAuthority::new().unwrap();
    let (_, leaf) = github_leaf(&other);
    assert!(!verify_chain(&trusted, &leaf).status.success());
}

#[test]
fn leaf_of_every_key_algorithm_chains() {
    let ca = CertificateAuthority::new().unwrap();
    for algorithm in Algorithm::ALL {
        let key = KeyPair::generate(algorithm).unwrap();
        let leaf = ca
            .issue(&LeafRequest::new(
                key.public_key().clone(),
                SubjectAlternativeName::Email("dev@acme.test".into()),
                "https://accounts.acme.test",
            ))
            .unwrap();
        let out = verify_chain(&ca, &leaf);
        assert!(out.status.success(), "{algorithm}: {}", String::from_utf8_lossy(&out.stderr));
        // The certificate carries exactly the signer's key.
        let scratch = Scratch::new();
        let public = openssl_ok(&["x509", "-in", &scratch.file("leaf.pem", &leaf.pem), "-noout", "-pubkey"]);
        assert_eq!(public, key.public_pem(), "{algorithm}");
    }
}

#[test]
fn fulcio_extensions_are_encoded_as_fulcio_does() {
    let ca = CertificateAuthority::new().unwrap();
    let (_, leaf) = github_leaf(&ca);
    let issuer = "https://token.actions.githubusercontent.com";
    let identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";

    // .1.1–.1.6: raw strings.
    for (n, want) in [(1, issuer), (2, "push"), (3, SHA), (4, "release"), (5, "acme/app"), (6, "refs/heads/main")] {
        assert_eq!(extension(&leaf.der, &fulcio(n)), Some((false, want.as_bytes().to_vec())), ".1.{n}");
    }
    // .1.8+: DER UTF8String.
    let utf8 = |s: &str| der_encode(0x0c, s.as_bytes());
    for (n, want) in [
        (8, issuer),
        (9, identity),
        (10, SHA),
        (11, "github-hosted"),
        (12, "https://github.com/acme/app"),
        (13, SHA),
        (14, "refs/heads/main"),
        (16, "https://github.com/acme"),
        (18, identity),
        (19, SHA),
        (20, "push"),
        (22, "public"),
        (24, "repo:acme/app:ref:refs/heads/main"),
    ] {
        assert_eq!(extension(&leaf.der, &fulcio(n)), Some((false, utf8(want))), ".1.{n}");
    }
    let (_, run) = extension(&leaf.der, &fulcio(21)).unwrap();
    assert!(String::from_utf8_lossy(&run).contains("https://github.com/acme/app/actions/runs/"));
    assert!(extension(&leaf.der, &fulcio(23)).is_none(), "no deployment environment unless set");

    // SAN critical (empty subject), URI; KU critical digitalSignature; EKU code signing.
    let (critical, san) = extension(&leaf.der, &oid(&[2, 5, 29, 17])).unwrap();
    assert!(critical);
    let (_, names, _, _) = der(&san);
    let (tag, uri, _, _) = der(names);
    assert_eq!((tag, uri), (0x86, identity.as_bytes()));
    let (critical, ku) = extension(&leaf.der, &oid(&[2, 5, 29, 15])).unwrap();
    assert!(critical);
    assert_eq!(ku, [0x03, 0x02, 0x07, 0x80]);
    let (_, eku) = extension(&leaf.der, &oid(&[2, 5, 29, 37])).unwrap();
    assert_eq!(eku, der_encode(0x30, &der_encode(0x06, &oid(&[1, 3, 6, 1, 5, 5, 7, 3, 3]))));

    let scratch = Scratch::new();
    let text = openssl_ok(&["x509", "-in", &scratch.file("leaf.pem", &leaf.pem), "-noout", "-text"]);
    for needle in [
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "Code Signing",
        "X509v3 Subject Alternative Name: critical",
        &format!("URI:{identity}"),
        "1.3.6.1.4.1.57264.1.1:",
        "1.3.6.1.4.1.57264.1.8:",
        "1.3.6.1.4.1.57264.1.24:",
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier",
        "Subject: \n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn leaf_is_valid_for_ten_minutes_from_not_before() {
    let ca = CertificateAuthority::new().unwrap();
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let start = Timestamp::from_second(Timestamp::now().as_second() - 3600).unwrap();
    let request = LeafRequest::new(
        key.public_key().clone(),
        SubjectAlternativeName::Email("a@b.test".into()),
        "https://issuer.test",
    )
    .valid_from(start);
    let leaf = ca.issue(&request).unwrap();
    let scratch = Scratch::new();
    let leaf_path = scratch.file("leaf.pem", &leaf.pem);
    let dates = openssl_ok(&["x509", "-in", &leaf_path, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601"]);
    let expected_start = start.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    let expected_end = (start + SignedDuration::from_mins(10)).strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    assert!(dates.contains(&format!("notBefore={expected_start}")), "{dates}");
    assert!(dates.contains(&format!("notAfter={expected_end}")), "{dates}");
    // Expired now; valid inside the window.
    assert!(!verify_chain(&ca, &leaf).status.success());
    let root = scratch.file("root.pem", ca.root_pem());
    let intermediate = scratch.file("int.pem", ca.intermediate_pem());
    let at = (start.as_second() + 300).to_string();
    openssl_ok(&[
        "verify",
        "-attime",
        &at,
        "-CAfile",
        &root,
        "-untrusted",
        &intermediate,
        "-purpose",
        "any",
        &leaf_path,
    ]);
}

#[test]
fn options_remove_usages_and_add_raw_extensions() {
    let ca = CertificateAuthority::new().unwrap();
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let mut request = LeafRequest::new(
        key.public_key().clone(),
        SubjectAlternativeName::Uri("https://x.test".into()),
        "https://issuer.test",
    );
    request.code_signing = false;
    request.digital_signature = false;
    request.claims = FulcioClaims { issuer: Some("https://only-v2.test".into()), ..FulcioClaims::default() };
    request.extra_extensions.push(RawExtension {
        oid: vec![1, 3, 6, 1, 4, 1, 57264, 1, 99],
        critical: false,
        value: b"odd".to_vec(),
    });
    let leaf = ca.issue(&request).unwrap();
    assert!(extension(&leaf.der, &oid(&[2, 5, 29, 37])).is_none());
    assert!(extension(&leaf.der, &oid(&[2, 5, 29, 15])).is_none());
    assert!(extension(&leaf.der, &fulcio(1)).is_none());
    assert_eq!(extension(&leaf.der, &fulcio(8)).unwrap().1, der_encode(0x0c, b"https://only-v2.test"));
    assert_eq!(extension(&leaf.der, &fulcio(99)).unwrap().1, b"odd");
}

#[test]
fn ca_certificates_look_like_fulcio() {
    let ca = CertificateAuthority::new().unwrap();
    let scratch = Scratch::new();
    let root = openssl_ok(&["x509", "-in", &scratch.file("root.pem", ca.root_pem()), "-noout", "-text"]);
    assert!(root.contains("CA:TRUE, pathlen:1") && root.contains("Certificate Sign, CRL Sign"), "{root}");
    assert!(root.contains("ecdsa-with-SHA384") && root.contains("NIST CURVE: P-384"), "{root}");
    let intermediate = openssl_ok(&["x509", "-in", &scratch.file("int.pem", ca.intermediate_pem()), "-noout", "-text"]);
    assert!(intermediate.contains("CA:TRUE, pathlen:0") && intermediate.contains("Code Signing"), "{intermediate}");
    assert!(intermediate.contains("Issuer: O = syncgate.test, CN = syncgate-test-root"), "{intermediate}");
}

#[test]
fn embedded_sct_verifies_over_the_rebuilt_precertificate() {
    let ca = CertificateAuthority::new().unwrap();
    let ctlog = CtLog::generate().unwrap();
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let workflow = GithubWorkflow::new("acme/app", "release.yml", "refs/tags/v1.0.0", SHA);
    let leaf = ca.issue_with_sct(&workflow.leaf_request(key.public_key().clone()), &ctlog).unwrap();
    assert!(verify_chain(&ca, &leaf).status.success());

    let scratch = Scratch::new();
    let text = openssl_ok(&["x509", "-in", &scratch.file("leaf.pem", &leaf.pem), "-noout", "-text"]);
    assert!(text.contains("CT Precertificate SCTs"), "{text}");

    // Parse the SCT list by hand.
    let sct_oid = oid(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2]);
    let (_, value) = extension(&leaf.der, &sct_oid).unwrap();
    let (tag, list, _, _) = der(&value);
    assert_eq!(tag, 0x04);
    let total = u16::from_be_bytes([list[0], list[1]]) as usize;
    assert_eq!(total, list.len() - 2);
    let sct_len = u16::from_be_bytes([list[2], list[3]]) as usize;
    let sct = &list[4..4 + sct_len];
    assert_eq!(sct[0], 0, "v1");
    assert_eq!(&sct[1..33], ctlog.log_id());
    let timestamp = &sct[33..41];
    assert_eq!(&sct[41..43], [0, 0], "no extensions");
    assert_eq!(&sct[43..45], [4, 3], "sha256 + ecdsa");
    let sig_len = u16::from_be_bytes([sct[45], sct[46]]) as usize;
    let signature = &sct[47..47 + sig_len];

    // Rebuild the TBSCertificate without the SCT extension.
    let (_, cert, _, _) = der(&leaf.der);
    let (_, tbs, _, _) = der(cert);
    let mut rebuilt = Vec::new();
    let mut rest = tbs;
    while !rest.is_empty() {
        let (tag, content, whole, next) = der(rest);
        if tag == 0xa3 {
            let (_, mut list, _, _) = der(content);
            let mut kept = Vec::new();
            while !list.is_empty() {
                let (_, ext, whole_ext, next_ext) = der(list);
                let (_, id, _, _) = der(ext);
                if id != sct_oid {
                    kept.extend_from_slice(whole_ext);
                }
                list = next_ext;
            }
            rebuilt.extend(der_encode(0xa3, &der_encode(0x30, &kept)));
        } else {
            rebuilt.extend_from_slice(whole);
        }
        rest = next;
    }
    let precert_tbs = der_encode(0x30, &rebuilt);
    let issuer_key_hash = Sha256::digest(ca.intermediate_key().public_key().spki_der());

    let mut signed = vec![0u8, 0u8];
    signed.extend_from_slice(timestamp);
    signed.extend_from_slice(&[0, 1]);
    signed.extend_from_slice(&issuer_key_hash);
    signed.extend_from_slice(&(precert_tbs.len() as u32).to_be_bytes()[1..]);
    signed.extend_from_slice(&precert_tbs);
    signed.extend_from_slice(&[0, 0]);
    assert!(openssl_verifies(&ctlog.public_key().to_pem(), &signed, signature, Some("sha256")));
}
