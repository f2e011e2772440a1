//! Bundles, trusted roots, DSSE, in-toto and SLSA: JSON layouts checked field by field against the protobuf
//! specs and schemas, signatures checked by openssl over encodings rebuilt by hand.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use syncgate_testsign::bundle::{Bundle, BundleContent, BundleVersion, Signer, VerificationMaterial};
use syncgate_testsign::certificate::{CertificateAuthority, GithubWorkflow, LeafRequest};
use syncgate_testsign::cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload};
use syncgate_testsign::ctlog::CtLog;
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::provenance::{ProvenanceBuild, SLSA_PROVENANCE_V0_2, SLSA_PROVENANCE_V1};
use syncgate_testsign::tlog::{TransparencyLog, body};
use syncgate_testsign::trust::TrustedRoot;

use crate::support::openssl_verifies;

const DIGEST: &str = "sha256:9d5c3b1fd0b9f5f18c0d8a3c8a6a2f3c4e5d6b7a8f9e0d1c2b3a4f5e6d7c8b9a";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn b64(value: &Value) -> Vec<u8> {
    STANDARD.decode(value.as_str().unwrap()).unwrap()
}

struct Setup {
    ca: CertificateAuthority,
    log: TransparencyLog,
    ctlog: CtLog,
    key: KeyPair,
}

fn setup() -> Setup {
    Setup {
        ca: CertificateAuthority::new().unwrap(),
        log: TransparencyLog::new().unwrap(),
        ctlog: CtLog::generate().unwrap(),
        key: KeyPair::generate(Algorithm::EcdsaP256).unwrap(),
    }
}

#[test]
fn message_signature_bundles_in_every_version() {
    let mut s = setup();
    let certificate =
        s.ca.issue_with_sct(
            &LeafRequest::github_actions(s.key.public_key().clone(), "acme/app", "release.yml", "refs/heads/main", SHA),
            &s.ctlog,
        )
        .unwrap();
    let artifact = b"artifact bytes";
    let digest = Sha256::digest(artifact);
    let signature = s.key.sign(artifact).unwrap();
    let entry = s.log.append_now(body::hashedrekord(&signature, &certificate.pem, &digest)).unwrap();

    for version in [BundleVersion::V0_1, BundleVersion::V0_2, BundleVersion::V0_3] {
        let bundle = Bundle::new(
            version,
            Signer::Certificate(&certificate),
            BundleContent::message_signature(&digest, &signature),
            &entry,
        );
        let value: Value = serde_json::from_str(&bundle.to_json()).unwrap();
        assert_eq!(value["mediaType"], version.media_type());
        let material = &value["verificationMaterial"];
        match version {
            BundleVersion::V0_3 => {
                assert_eq!(b64(&material["certificate"]["rawBytes"]), certificate.der);
                assert!(material.get("x509CertificateChain").is_none());
            }
            _ => assert_eq!(b64(&material["x509CertificateChain"]["certificates"][0]["rawBytes"]), certificate.der),
        }
        let tlog = &material["tlogEntries"][0];
        assert_eq!(tlog["logIndex"], "0", "int64 as a string");
        assert_eq!(tlog["integratedTime"], entry.integrated_time.to_string());
        assert_eq!(hex::encode(b64(&tlog["logId"]["keyId"])), s.log.log_id());
        assert_eq!(tlog["kindVersion"], json!({"kind": "hashedrekord", "version": "0.0.1"}));
        assert_eq!(b64(&tlog["canonicalizedBody"]), entry.body);
        assert_eq!(b64(&tlog["inclusionPromise"]["signedEntryTimestamp"]), entry.signed_entry_timestamp);
        let proof = &tlog["inclusionProof"];
        assert_eq!(proof["treeSize"], "1");
        assert_eq!(b64(&proof["rootHash"]), s.log.root_hash());
        assert!(proof["checkpoint"]["envelope"].as_str().unwrap().starts_with("rekor.test - "));
        let message = &value["messageSignature"];
        assert_eq!(message["messageDigest"]["algorithm"], "SHA2_256");
        assert_eq!(b64(&message["messageDigest"]["digest"]), digest.as_slice());
        assert!(openssl_verifies(&s.key.public_pem(), artifact, &b64(&message["signature"]), Some("sha256")));
    }
    // The logged body names the certificate and the artifact digest.
    let logged: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(b64(&logged["spec"]["signature"]["publicKey"]["content"]), certificate.pem.as_bytes());
    assert_eq!(logged["spec"]["data"]["hash"]["value"], hex::encode(digest));
}

#[test]
fn dsse_bundle_with_key_and_tampering() {
    let mut s = setup();
    let statement = Statement::new("", DIGEST, SLSA_PROVENANCE_V1, json!({"buildDefinition": {}}));
    let envelope = Envelope::sign_statement(&statement, &s.key).unwrap();
    // PAE rebuilt by hand from the DSSE specification.
    let payload = statement.to_json();
    let pae = format!("DSSEv1 28 application/vnd.in-toto+json {} {payload}", payload.len());
    assert!(openssl_verifies(&s.key.public_pem(), pae.as_bytes(), &envelope.signatures[0].sig, Some("sha256")));

    let entry = s.log.append_now(body::dsse_body(&envelope, &s.key.public_pem())).unwrap();
    let mut bundle = Bundle::new(
        BundleVersion::V0_3,
        Signer::PublicKey(s.key.public_key()),
        BundleContent::Dsse(envelope.clone()),
        &entry,
    );
    let value: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    assert_eq!(
        value["verificationMaterial"]["publicKey"]["hint"],
        STANDARD.encode(Sha256::digest(s.key.public_key().spki_der()))
    );
    let dsse = &value["dsseEnvelope"];
    assert_eq!(dsse["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(b64(&dsse["payload"]), payload.as_bytes());
    assert!(dsse["signatures"][0].get("keyid").is_none(), "empty keyid is omitted as protobuf-JSON does");
    let logged: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(logged["kind"], "dsse");
    assert_eq!(logged["spec"]["payloadHash"]["value"], hex::encode(Sha256::digest(payload.as_bytes())));
    assert_eq!(logged["spec"]["signatures"][0]["signature"], STANDARD.encode(&envelope.signatures[0].sig));
    assert_eq!(b64(&logged["spec"]["signatures"][0]["verifier"]), s.key.public_pem().as_bytes());

    // Tampering is a matter of editing fields before serialising.
    bundle.tlog_entries[0].inclusion_proof = None;
    bundle.tlog_entries[0].signed_entry_timestamp = None;
    bundle.verification_material = VerificationMaterial::PublicKey { hint: "other".into() };
    let value: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    let tlog = &value["verificationMaterial"]["tlogEntries"][0];
    assert!(tlog.get("inclusionProof").is_none() && tlog.get("inclusionPromise").is_none());
}

#[test]
fn trusted_root_lists_ca_logs_and_ct_logs() {
    let s = setup();
    let root: Value = serde_json::from_str(&TrustedRoot::json(&[&s.ca], &[&s.log], &[&s.ctlog])).unwrap();
    assert_eq!(root["mediaType"], "application/vnd.dev.sigstore.trustedroot+json;version=0.1");
    let tlog = &root["tlogs"][0];
    assert_eq!(tlog["baseUrl"], "https://rekor.test");
    assert_eq!(tlog["hashAlgorithm"], "SHA2_256");
    assert_eq!(tlog["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(b64(&tlog["publicKey"]["rawBytes"]), s.log.public_key().spki_der());
    assert_eq!(hex::encode(b64(&tlog["logId"]["keyId"])), s.log.log_id());
    assert!(tlog["publicKey"]["validFor"]["start"].as_str().unwrap().ends_with('Z'));
    let ca = &root["certificateAuthorities"][0];
    assert_eq!(b64(&ca["certChain"]["certificates"][0]["rawBytes"]), s.ca.intermediate_der());
    assert_eq!(b64(&ca["certChain"]["certificates"][1]["rawBytes"]), s.ca.root_der());
    assert_eq!(ca["subject"], json!({"organization": "syncgate.test", "commonName": "syncgate-test-root"}));
    assert_eq!(ca["validFor"]["start"], s.ca.options().not_before.to_string());
    assert_eq!(b64(&root["ctlogs"][0]["logId"]["keyId"]), s.ctlog.log_id());
    assert_eq!(root["timestampAuthorities"], json!([]));
    let config: Value =
        serde_json::from_str(&TrustedRoot::new(&[&s.ca], &[&s.log], &[]).client_trust_config_json()).unwrap();
    assert_eq!(config["mediaType"], "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json");
    assert_eq!(config["signingConfig"]["rekorTlogUrls"][0]["url"], "https://rekor.test");
}

#[test]
fn legacy_layers_carry_cosign_annotations() {
    let mut s = setup();
    let certificate = s
        .ca
        .issue(&LeafRequest::github_actions(s.key.public_key().clone(), "acme/app", "ci.yml", "refs/heads/main", SHA))
        .unwrap();
    let payload = simple_signing_payload("127.0.0.1:5000/acme/app", DIGEST);
    let signature = s.key.sign(&payload).unwrap();
    let entry = s.log.append_now(body::hashedrekord(&signature, &certificate.pem, &Sha256::digest(&payload))).unwrap();
    let layer = SignatureLayer::new(payload.clone(), &signature)
        .with_certificate(&certificate)
        .with_bundle(&RekorBundle::from_entry(&entry));
    assert_eq!(layer.media_type, "application/vnd.dev.cosign.simplesigning.v1+json");
    let signature_b64 = &layer.annotations["dev.cosignproject.cosign/signature"];
    assert!(openssl_verifies(&s.key.public_pem(), &payload, &STANDARD.decode(signature_b64).unwrap(), Some("sha256")));
    assert_eq!(layer.annotations["dev.sigstore.cosign/certificate"], certificate.pem);
    assert_eq!(layer.annotations["dev.sigstore.cosign/chain"], certificate.chain_pem);
    let rekor: Value = serde_json::from_str(&layer.annotations["dev.sigstore.cosign/bundle"]).unwrap();
    assert_eq!(rekor["Payload"]["logID"], s.log.log_id());
    assert_eq!(b64(&rekor["Payload"]["body"]), entry.body);
    assert_eq!(b64(&rekor["SignedEntryTimestamp"]), entry.signed_entry_timestamp);

    let statement = Statement::new("127.0.0.1:5000/acme/app", DIGEST, SLSA_PROVENANCE_V0_2, json!({}));
    let envelope = Envelope::sign_statement(&statement, &s.key).unwrap();
    let attestation = AttestationLayer::new(&envelope, SLSA_PROVENANCE_V0_2);
    assert_eq!(attestation.media_type, "application/vnd.dsse.envelope.v1+json");
    assert_eq!(attestation.annotations["predicateType"], SLSA_PROVENANCE_V0_2);
    let json: Value = serde_json::from_slice(&attestation.envelope_json).unwrap();
    assert_eq!(json.as_object().unwrap().keys().collect::<Vec<_>>(), ["payloadType", "payload", "signatures"]);
    assert_eq!(json["signatures"][0]["keyid"], "");
    let intoto: Value = serde_json::from_slice(&body::intoto_body(&envelope, &s.key.public_pem())).unwrap();
    assert_eq!(intoto["spec"]["content"]["hash"]["value"], hex::encode(Sha256::digest(&attestation.envelope_json)));
    let double = b64(&intoto["spec"]["content"]["envelope"]["signatures"][0]["sig"]);
    assert_eq!(String::from_utf8(double).unwrap(), STANDARD.encode(&envelope.signatures[0].sig));
}

#[test]
fn slsa_predicates_have_generator_shape() {
    let build = ProvenanceBuild::container(GithubWorkflow::new(
        "acme/app",
        ".github/workflows/release.yml",
        "refs/tags/v1.2.3",
        SHA,
    ));
    let v02 = build.slsa_v0_2();
    assert_eq!(
        v02["builder"]["id"],
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
    );
    assert_eq!(v02["buildType"], "https://github.com/slsa-framework/slsa-github-generator/container@v1");
    assert_eq!(v02["invocation"]["configSource"]["uri"], "git+https://github.com/acme/app@refs/tags/v1.2.3");
    assert_eq!(v02["invocation"]["configSource"]["digest"]["sha1"], SHA);
    assert_eq!(v02["invocation"]["configSource"]["entryPoint"], ".github/workflows/release.yml");
    assert_eq!(v02["invocation"]["environment"]["github_ref_type"], "tag");
    assert_eq!(v02["materials"][0]["uri"], "git+https://github.com/acme/app@refs/tags/v1.2.3");
    let v1 = build.slsa_v1();
    assert_eq!(
        v1["buildDefinition"]["externalParameters"]["workflow"],
        json!({"ref": "refs/tags/v1.2.3", "repository": "https://github.com/acme/app", "path": ".github/workflows/release.yml"})
    );
    assert_eq!(v1["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"], SHA);
    assert_eq!(v1["runDetails"]["builder"]["id"], build.builder_id);

    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let request = build.leaf_request(key.public_key().clone());
    assert_eq!(request.claims.build_signer_uri.as_deref(), Some(build.builder_id.as_str()));
    assert_eq!(
        request.claims.build_config_uri.as_deref(),
        Some("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3")
    );
}
