//! One named test per way a signature, attestation or bundle must be refused, each asserting that the message says what did not match.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use syncgate::verify::check::{COSIGN_SIGN_PREDICATE, IMAGE_ATTESTATION, IMAGE_SIGNATURE};
use syncgate_testsign::certificate::{CaOptions, CertificateAuthority, LeafRequest, SubjectAlternativeName};
use syncgate_testsign::cosign::BUNDLE_ANNOTATION;
use syncgate_testsign::key::PublicKey;
use syncgate_testsign::tlog::{TransparencyLog, signed_entry_timestamp_payload};

use super::*;

/// The subject Fulcio gives the trusted release workflow.
const RELEASE_SUBJECT: &str = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.0";
/// The `subjectRegExp` of [`KEYLESS`], as the refusal quotes it.
const SUBJECT_REGEXP: &str = r"https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*";
/// The builder id [`PROVENANCE`] requires.
const GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0";
/// Predicate type of cosign vulnerability scan attestations.
const VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// The refusal text of `outcome`, checked to be a decided refusal under `rule` that mentions every needle.
fn refusal(outcome: &Outcome, rule: &str, needles: &[&str]) -> String {
    let text = refused(outcome);
    let tag = format!("[{rule}] ");
    assert!(text.lines().any(|line| line.starts_with(&tag)), "expected a {rule} refusal, got:\n{text}");
    if let Err(refusals) = outcome {
        assert!(refusals.iter().all(|r| !r.undecided), "a refusal is marked undecided:\n{text}");
    }
    for needle in needles {
        assert!(text.contains(needle), "the refusal does not mention {needle:?}:\n{text}");
    }
    text
}

/// `sha256:<hex>` of a key's SubjectPublicKeyInfo, as the verifier names keys.
fn fingerprint(key: &PublicKey) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(key.spki_der())))
}

/// The hex part of a `sha256:<hex>` digest.
fn hex_of(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// First eight bytes in hex followed by an ellipsis, as the verifier abbreviates hashes.
fn short_hex(bytes: &[u8]) -> String {
    format!("{}…", hex::encode(&bytes[..8]))
}

/// `<first 4 bytes>…<last 6 bytes> (<n> bytes)`, as the verifier abbreviates signatures.
fn short_signature(signature: &[u8]) -> String {
    let n = signature.len();
    format!("{}…{} ({n} bytes)", hex::encode(&signature[..4]), hex::encode(&signature[n - 6..]))
}

/// `127.0.0.1:PORT/acme/api@sha256:…`, how refusals name the image.
fn pinned(world: &World, digest: &str) -> String {
    format!("{}/{REPO}@{digest}", world.registry.host())
}

/// The integrated time recorded in a legacy layer's Rekor bundle annotation.
fn integrated_time(layer: &SignatureLayer) -> Timestamp {
    let annotation: serde_json::Value =
        serde_json::from_str(&layer.annotations[BUNDLE_ANNOTATION]).expect("bundle annotation is JSON");
    let seconds = annotation["Payload"]["integratedTime"].as_i64().expect("integrated time");
    Timestamp::from_second(seconds).expect("timestamp")
}

/// Now, whole seconds, moved by `offset`.
fn now_plus(offset: SignedDuration) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now").checked_add(offset).expect("in range")
}

/// Appends `count` unrelated entries to the test log so that later entries have non-empty inclusion proofs.
fn fill_log(world: &mut World, count: usize) {
    for n in 0..count {
        let other = KeyPair::generate(Algorithm::EcdsaP256).expect("key");
        let payload = format!("unrelated artifact {n}").into_bytes();
        let signature = other.sign(&payload).expect("sign");
        world.log(body::hashedrekord(&signature, &other.public_pem(), &sha2::Sha256::digest(&payload)));
    }
}

/// Pushes an image and a valid keyless signature of it from the release workflow.
fn signed_image(world: &mut World, tag: &str) -> Descriptor {
    let image = world.image(tag);
    let layer = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).expect("push signature");
    image
}

/// A simple-signing payload for `digest` and `key`'s signature over it.
fn signed_payload(world: &World, digest: &str, key: &KeyPair) -> (Vec<u8>, Vec<u8>) {
    let payload = simple_signing_payload(&world.pusher.docker_reference(REPO), digest);
    let signature = key.sign(&payload).expect("sign");
    (payload, signature)
}

/// A keyless Sigstore bundle of `statement` from `workflow`, logged in the test log, left open for tampering.
fn keyless_bundle(
    world: &mut World,
    version: BundleVersion,
    statement: &Statement,
    workflow: &GithubWorkflow,
) -> Bundle {
    let (key, certificate) = world.keyless(workflow);
    let envelope = Envelope::sign_statement(statement, &key).expect("sign statement");
    let entry = world.log(body::dsse_body(&envelope, &certificate.pem));
    Bundle::new(version, Signer::Certificate(&certificate), BundleContent::Dsse(envelope), &entry)
}

/// Publishes `bundle` as a cosign v3 signature referrer of `image`.
fn push_signature_bundle(world: &World, image: &Descriptor, bundle: &str) {
    world
        .pusher
        .push_referrer_bundle(REPO, image, bundle.as_bytes(), Some(COSIGN_SIGN_PREDICATE))
        .expect("push bundle");
}

/// A legacy attestation layer of `envelope` (which signs `statement`), carrying `certificate`, logged as `dsse`.
fn attestation_by(
    world: &mut World,
    statement: &Statement,
    envelope: &Envelope,
    certificate: &IssuedCertificate,
) -> AttestationLayer {
    let entry = world.log(body::dsse_body(envelope, &certificate.pem));
    AttestationLayer::new(envelope, &statement.predicate_type)
        .with_certificate(certificate)
        .with_bundle(&RekorBundle::from_entry(&entry))
}

/// `spec` lines of a policy trusting the release workflow and the release key.
fn workflow_and_key() -> String {
    format!("{KEYLESS}{}", KEYED.replace("  authorities:\n", ""))
}

/// The leaf request of the release workflow for a fresh key, and that key.
fn release_request() -> (KeyPair, LeafRequest) {
    let key = KeyPair::generate(Algorithm::EcdsaP256).expect("ephemeral key");
    let request = World::release_workflow().leaf_request(key.public_key().clone());
    (key, request)
}

// ---------------------------------------------------------------------------------------------------------------
// Key signatures

#[tokio::test]
async fn key_signature_by_another_key_is_refused_naming_the_authority_key() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let intruder = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let layer = world.key_signature(&image.digest, &intruder, true);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let expected = fingerprint(world.key.public_key());
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &pinned(&world, &image.digest),
            "ImagePolicy release requires a signature from one of its authorities; 0 satisfied",
            &format!("authority \"release-key\" (key {expected})"),
            &format!("sha256-{}.sig layer 0", hex_of(&image.digest)),
            &format!("signature does not verify with the authority's key {expected}"),
        ],
    );
}

#[tokio::test]
async fn signature_payload_of_another_image_copied_to_this_sig_tag_names_both_digests() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let other = world.image("1.3.0");
    let key = std::sync::Arc::clone(&world.key);
    let copied = world.key_signature(&other.digest, &key, true);
    world.pusher.push_signatures(REPO, &image.digest, &[copied]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "signed payload is for digest {}, not the pinned {} (a signature copied from another image)",
            other.digest, image.digest
        )],
    );
}

#[tokio::test]
async fn payload_changed_after_signing_does_not_verify_with_the_key() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let mut layer = world.key_signature(&image.digest, &key, true);
    let original = String::from_utf8(layer.payload.clone()).unwrap();
    let tampered = original.replace("\"optional\":null", "\"optional\":{\"approved\":\"yes\"}");
    assert_ne!(original, tampered);
    layer.payload = tampered.into_bytes();
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let expected = fingerprint(world.key.public_key());
    refusal(&outcome, IMAGE_SIGNATURE, &[&format!("signature does not verify with the authority's key {expected}")]);
}

#[tokio::test]
async fn key_signature_without_a_log_entry_is_refused_when_the_log_is_required() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let layer = world.key_signature(&image.digest, &key, false);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "authority \"release-key\"",
            "no transparency log entry, and the authority requires one (transparencyLog: required)",
        ],
    );
}

#[tokio::test]
async fn key_signature_without_a_log_entry_is_accepted_when_the_log_is_optional() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let layer = world.key_signature(&image.digest, &key, false);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(&format!("{KEYED}      transparencyLog: optional\n"));
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified without a log entry");
    assert_eq!(evidence.signatures.len(), 1);
    assert_eq!(evidence.signatures[0].authority, "release-key");
    assert!(evidence.signatures[0].log.is_none(), "{:?}", evidence.signatures[0].log);
}

// ---------------------------------------------------------------------------------------------------------------
// Transparency log entries of legacy signatures

#[tokio::test]
async fn log_entry_from_a_log_missing_from_the_trust_root_names_both_log_ids() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let (payload, signature) = signed_payload(&world, &image.digest, &key);
    let mut rogue = TransparencyLog::new().unwrap();
    let entry =
        rogue.append_now(body::hashedrekord(&signature, &key.public_pem(), &sha2::Sha256::digest(&payload))).unwrap();
    let layer = SignatureLayer::new(payload, &signature).with_bundle(&RekorBundle::from_entry(&entry));
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let trusted = world.env.log.log_id();
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "log entry 0 comes from log {}, which the trust root does not list (it lists: {}…)",
            rogue.log_id(),
            &trusted[..16]
        )],
    );
}

#[tokio::test]
async fn signed_entry_timestamp_forged_with_another_log_key_does_not_verify() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let (payload, signature) = signed_payload(&world, &image.digest, &key);
    let entry = world.log(body::hashedrekord(&signature, &key.public_pem(), &sha2::Sha256::digest(&payload)));
    let rogue = TransparencyLog::new().unwrap();
    let mut bundle = RekorBundle::from_entry(&entry);
    bundle.signed_entry_timestamp = rogue
        .key()
        .sign(&signed_entry_timestamp_payload(&entry.body, entry.integrated_time, &entry.log_id, entry.log_index))
        .unwrap();
    let layer = SignatureLayer::new(payload, &signature).with_bundle(&bundle);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "signed entry timestamp of log entry {} does not verify with the key of log {}",
            entry.log_index, entry.log_id
        )],
    );
}

#[tokio::test]
async fn signed_entry_timestamp_with_an_altered_integrated_time_does_not_verify() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (key, certificate) = world.keyless(&World::release_workflow());
    let (payload, signature) = signed_payload(&world, &image.digest, &key);
    let entry = world.log(body::hashedrekord(&signature, &certificate.pem, &sha2::Sha256::digest(&payload)));
    let mut bundle = RekorBundle::from_entry(&entry);
    bundle.integrated_time -= 120;
    let layer = SignatureLayer::new(payload, &signature).with_certificate(&certificate).with_bundle(&bundle);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &format!(
                "signed entry timestamp of log entry {} does not verify with the key of log {}",
                entry.log_index, entry.log_id
            ),
            &format!("\"integratedTime\":{}", entry.integrated_time - 120),
        ],
    );
}

#[tokio::test]
async fn log_entry_recording_another_signature_names_both_signatures() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let (payload, logged) = signed_payload(&world, &image.digest, &key);
    let presented = key.sign(&payload).unwrap();
    assert_ne!(logged, presented, "ECDSA signatures are randomised");
    let entry = world.log(body::hashedrekord(&logged, &key.public_pem(), &sha2::Sha256::digest(&payload)));
    let layer = SignatureLayer::new(payload, &presented).with_bundle(&RekorBundle::from_entry(&entry));
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "log entry records signature(s) {}, the signature being verified is {}",
            short_signature(&logged),
            short_signature(&presented)
        )],
    );
}

#[tokio::test]
async fn log_entry_recording_another_payload_names_both_hashes() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let other = world.image("1.3.0");
    let key = std::sync::Arc::clone(&world.key);
    let (payload, signature) = signed_payload(&world, &image.digest, &key);
    let (other_payload, other_signature) = signed_payload(&world, &other.digest, &key);
    let other_hash = sha2::Sha256::digest(&other_payload);
    let entry = world.log(body::hashedrekord(&other_signature, &key.public_pem(), &other_hash));
    let hash = sha2::Sha256::digest(&payload);
    let layer = SignatureLayer::new(payload, &signature).with_bundle(&RekorBundle::from_entry(&entry));
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "log entry records artifact hash sha256:{}, expected sha256:{}",
            hex::encode(other_hash),
            hex::encode(hash)
        )],
    );
}

#[tokio::test]
async fn log_entry_naming_another_verifier_key_names_both_keys() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let (payload, signature) = signed_payload(&world, &image.digest, &key);
    let stranger = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let entry = world.log(body::hashedrekord(&signature, &stranger.public_pem(), &sha2::Sha256::digest(&payload)));
    let layer = SignatureLayer::new(payload, &signature).with_bundle(&RekorBundle::from_entry(&entry));
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "log entry names verifier key {}, expected key {}",
            fingerprint(stranger.public_key()),
            fingerprint(key.public_key())
        )],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Keyless identities

#[tokio::test]
async fn right_issuer_wrong_subject_names_the_subject_regexp_and_the_found_subject() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let nightly = GithubWorkflow::new(SOURCE, ".github/workflows/nightly.yml", RELEASE_REF, COMMIT);
    let layer = world.keyless_signature(&image.digest, &nightly);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "authority \"release-workflow\" (keyless",
            &format!(
                "certificate subject: expected matching {SUBJECT_REGEXP}, found https://github.com/acme/api/.github/workflows/nightly.yml@refs/tags/v1.4.0"
            ),
        ],
    );
    assert!(!text.contains("certificate issuer"), "the issuer matched:\n{text}");
    assert!(!text.contains("extension "), "the extensions matched:\n{text}");
}

#[tokio::test]
async fn wrong_oidc_issuer_names_the_expected_and_found_issuer() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (key, mut request) = release_request();
    request.claims.issuer = Some("https://oidc.evil.example".to_owned());
    request.claims.issuer_v1 = Some("https://oidc.evil.example".to_owned());
    let certificate = world.env.issue(&request).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!("certificate issuer: expected {GITHUB_ISSUER}, found https://oidc.evil.example")],
    );
    assert!(!text.contains("certificate subject"), "the subject matched:\n{text}");
}

#[tokio::test]
async fn valid_signature_from_another_repository_workflow_names_subject_and_source_repository() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let evil = GithubWorkflow::new("evil/api", WORKFLOW, RELEASE_REF, COMMIT);
    let layer = world.keyless_signature(&image.digest, &evil);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &format!(
                "certificate subject: expected matching {SUBJECT_REGEXP}, found https://github.com/evil/api/.github/workflows/release.yml@refs/tags/v1.4.0"
            ),
            "extension sourceRepositoryURI (1.3.6.1.4.1.57264.1.12): expected https://github.com/acme/api, found https://github.com/evil/api",
        ],
    );
}

#[tokio::test]
async fn right_repository_wrong_ref_names_subject_and_source_repository_ref() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let main = GithubWorkflow::new(SOURCE, WORKFLOW, "refs/heads/main", COMMIT);
    let layer = world.keyless_signature(&image.digest, &main);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &format!(
                "certificate subject: expected matching {SUBJECT_REGEXP}, found https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main"
            ),
            "extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14): expected matching refs/tags/v.*, found refs/heads/main",
        ],
    );
    assert!(!text.contains("sourceRepositoryURI"), "the repository matched:\n{text}");
}

#[tokio::test]
async fn required_extension_absent_from_the_certificate_is_named_with_its_oid() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let request = LeafRequest::new(
        key.public_key().clone(),
        SubjectAlternativeName::Uri(RELEASE_SUBJECT.to_owned()),
        GITHUB_ISSUER,
    );
    let certificate = world.env.issue(&request).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "extension sourceRepositoryURI (1.3.6.1.4.1.57264.1.12): expected https://github.com/acme/api, found nothing (extension not in the certificate)",
            "extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14): expected matching refs/tags/v.*, found nothing (extension not in the certificate)",
        ],
    );
    assert!(!text.contains("certificate subject"), "the subject matched:\n{text}");
}

#[tokio::test]
async fn keyless_authority_refuses_a_bare_key_signature() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let layer = world.key_signature(&image.digest, &key, true);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "authority \"release-workflow\" (keyless",
            "signed with a bare key; the authority requires a keyless certificate",
        ],
    );
}

#[tokio::test]
async fn key_authority_refuses_a_certificate_signature_naming_both_keys() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (ephemeral, certificate) = world.keyless(&World::release_workflow());
    let layer = world.certified_signature(&image.digest, &ephemeral, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            // What was found: the key the shipped certificate carries, and whose certificate it is.
            &format!(
                "signed with the key {} of the certificate for https://github.com/{SOURCE}/{WORKFLOW}@{RELEASE_REF} \
                 (issuer {GITHUB_ISSUER})",
                fingerprint(ephemeral.public_key())
            ),
            // What was required.
            &format!("not with the authority's key {}", fingerprint(world.key.public_key())),
        ],
    );
}

#[tokio::test]
async fn keyless_signature_by_a_key_other_than_the_certificate_key_does_not_verify() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (certified, certificate) = world.keyless(&World::release_workflow());
    let other = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let layer = world.certified_signature(&image.digest, &other, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "signature does not verify with its certificate's key",
            &format!("key {}", fingerprint(certified.public_key())),
        ],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates

#[tokio::test]
async fn certificate_expired_before_the_log_integrated_the_signature_names_both_times() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (key, request) = release_request();
    let not_before = now_plus(SignedDuration::from_hours(-2));
    let certificate = world.env.issue(&request.valid_from(not_before)).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    let at = integrated_time(&layer);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let not_after = not_before.checked_add(SignedDuration::from_mins(10)).unwrap();
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "certificate \"{RELEASE_SUBJECT}\" expired: valid from {not_before} to {not_after}, checked at {at}"
        )],
    );
}

#[tokio::test]
async fn certificate_not_yet_valid_when_the_log_integrated_the_signature_names_both_times() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (key, request) = release_request();
    let not_before = now_plus(SignedDuration::from_hours(1));
    let certificate = world.env.issue(&request.valid_from(not_before)).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    let at = integrated_time(&layer);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let not_after = not_before.checked_add(SignedDuration::from_mins(10)).unwrap();
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "certificate \"{RELEASE_SUBJECT}\" is not yet valid: valid from {not_before} to {not_after}, checked at {at}"
        )],
    );
}

#[tokio::test]
async fn certificate_from_a_ca_missing_from_the_trust_root_is_not_trusted() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let rogue = CertificateAuthority::new().unwrap();
    let (key, request) = release_request();
    let certificate = rogue.issue_with_sct(&request, &world.env.ctlog).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &format!("certificate \"{RELEASE_SUBJECT}\""),
            "O=syncgate.test, CN=syncgate-test-intermediate",
            "is not issued by any certificate authority in the trust root",
        ],
    );
}

#[tokio::test]
async fn certificate_from_a_differently_named_untrusted_ca_names_its_issuer() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let rogue = CertificateAuthority::with_options(CaOptions {
        organization: "evil.example".to_owned(),
        intermediate_common_name: "evil-intermediate".to_owned(),
        root_common_name: "evil-root".to_owned(),
        ..CaOptions::default()
    })
    .unwrap();
    let (key, request) = release_request();
    let certificate = rogue.issue_with_sct(&request, &world.env.ctlog).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "certificate \"{RELEASE_SUBJECT}\" (issuer \"O=evil.example, CN=evil-intermediate\") is not issued by any certificate authority in the trust root"
        )],
    );
}

#[tokio::test]
async fn leaf_without_the_code_signing_usage_is_refused_naming_the_usage() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let (key, mut request) = release_request();
    request.code_signing = false;
    let certificate = world.env.issue(&request).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "certificate \"{RELEASE_SUBJECT}\" is not valid for code signing (1.3.6.1.5.5.7.3.3): it has no extended key usage extension"
        )],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Thresholds and absence

#[tokio::test]
async fn no_signature_at_all_names_the_tag_that_was_looked_for() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            &pinned(&world, &image.digest),
            "ImagePolicy release requires a signature from one of its authorities",
            "but no signature was found",
            &format!("looked for tag sha256-{}.sig", hex_of(&image.digest)),
        ],
    );
}

#[tokio::test]
async fn require_all_with_only_the_workflow_signature_names_the_unsatisfied_key_authority() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let set = world.policy(&format!("  require: all\n{}", workflow_and_key()));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "ImagePolicy release requires signatures from all 2 authorities; 1 satisfied",
            &format!("authority \"release-key\" (key {})", fingerprint(world.key.public_key())),
        ],
    );
    assert!(!text.contains("authority \"release-workflow\""), "the workflow authority was satisfied:\n{text}");
}

#[tokio::test]
async fn require_two_of_three_with_only_the_key_signature_names_both_unsatisfied_authorities() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let layer = world.key_signature(&image.digest, &key, true);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let backup = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    world.policy(KEYED);
    std::fs::write(world.policy_path().with_file_name("backup.pub"), backup.public_pem()).unwrap();
    let spec = format!("  require: 2\n{}    - name: backup-key\n      key: {{file: backup.pub}}\n", workflow_and_key());
    let set = world.policy(&spec);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "ImagePolicy release requires signatures from 2 of its 3 authorities; 1 satisfied",
            "authority \"release-workflow\" (keyless",
            "signed with a bare key; the authority requires a keyless certificate",
            &format!("authority \"backup-key\" (key {})", fingerprint(backup.public_key())),
            &format!("signature does not verify with the authority's key {}", fingerprint(backup.public_key())),
        ],
    );
    assert!(!text.contains("authority \"release-key\""), "the release key was satisfied:\n{text}");
}

#[tokio::test]
async fn unreachable_registry_is_an_undecided_refusal() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let set = world.policy(KEYLESS);
    world.registry.stop();
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refused(&outcome);
    let Err(refusals) = &outcome else { unreachable!("refused() accepted evidence") };
    assert_eq!(refusals.len(), 1, "{text}");
    assert!(refusals[0].undecided, "a registry outage must be undecided, not a verdict: {text}");
    assert_eq!(refusals[0].rule, IMAGE_SIGNATURE);
    assert!(text.contains(&pinned(&world, &image.digest)), "{text}");
    assert!(text.contains("cannot verify signatures, so the image is refused"), "{text}");
}

// ---------------------------------------------------------------------------------------------------------------
// Legacy attestations

#[tokio::test]
async fn attestation_about_another_digest_names_the_pinned_and_the_attested_digest() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let other = world.image("1.3.0");
    let workflow = World::release_workflow();
    let statement = world.provenance(&other.digest, &workflow);
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[
            "ImagePolicy release requires attestation \"provenance\" of type https://slsa.dev/provenance/v1; none satisfies it",
            &format!("sha256-{}.att layer 0", hex_of(&image.digest)),
            &format!(
                "no subject of the in-toto statement has sha256 {}; subjects: {} {}",
                hex_of(&image.digest),
                world.pusher.docker_reference(REPO),
                other.digest
            ),
        ],
    );
    assert!(!text.contains("[image-signature]"), "the signature was valid:\n{text}");
}

#[tokio::test]
async fn provenance_from_another_builder_names_the_expected_and_found_builder_id() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let mut build = ProvenanceBuild::container(workflow.clone());
    build.builder_id = "https://github.com/acme/api/.github/workflows/homemade-builder.yml@refs/heads/main".to_owned();
    let statement = world.statement(&image.digest, SLSA_V1, build.slsa_v1());
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[&format!(
            "SLSA builder id: expected {GENERATOR}, found https://github.com/acme/api/.github/workflows/homemade-builder.yml@refs/heads/main"
        )],
    );
    assert!(!text.contains("SLSA source"), "the source matched:\n{text}");
}

#[tokio::test]
async fn provenance_built_from_a_branch_names_the_expected_and_found_source_ref() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let branch = GithubWorkflow::new(SOURCE, WORKFLOW, "refs/heads/main", COMMIT);
    let statement = world.provenance(&image.digest, &branch);
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &["SLSA source ref: expected matching refs/tags/v.*, found refs/heads/main"],
    );
    assert!(!text.contains("SLSA builder id"), "the builder matched:\n{text}");
    assert!(!text.contains("SLSA source repository"), "the repository matched:\n{text}");
}

#[tokio::test]
async fn provenance_from_another_source_repository_names_trigger_and_material() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let fork = GithubWorkflow::new("evil/api", WORKFLOW, RELEASE_REF, COMMIT);
    let statement = world.provenance(&image.digest, &fork);
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[
            "SLSA source repository (trigger, predicate.buildDefinition.externalParameters.workflow.repository): expected https://github.com/acme/api, found https://github.com/evil/api",
            "SLSA source repository (material, predicate.buildDefinition.resolvedDependencies[0].uri): expected https://github.com/acme/api, found https://github.com/evil/api",
        ],
    );
}

#[tokio::test]
async fn attestation_with_altered_envelope_signature_bytes_does_not_verify() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let statement = world.provenance(&image.digest, &workflow);
    let (key, certificate) = world.keyless(&workflow);
    let mut envelope = Envelope::sign_statement(&statement, &key).unwrap();
    let last = envelope.signatures[0].sig.len() - 1;
    envelope.signatures[0].sig[last] ^= 0x01;
    let attestation = attestation_by(&mut world, &statement, &envelope, &certificate);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[
            "signature does not verify with its certificate's key",
            &format!(
                "no signature of the DSSE envelope verifies with key {} (1 signature(s) tried)",
                fingerprint(key.public_key())
            ),
        ],
    );
}

#[tokio::test]
async fn attestation_statement_changed_after_signing_does_not_verify() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let statement = world.provenance(&image.digest, &workflow);
    let (key, certificate) = world.keyless(&workflow);
    let mut envelope = Envelope::sign_statement(&statement, &key).unwrap();
    let original = String::from_utf8(envelope.payload.clone()).unwrap();
    let rewritten = original.replace(COMMIT, "0000000000000000000000000000000000000000");
    assert_ne!(original, rewritten);
    envelope.payload = rewritten.into_bytes();
    let attestation = attestation_by(&mut world, &statement, &envelope, &certificate);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[&format!(
            "no signature of the DSSE envelope verifies with key {} (1 signature(s) tried)",
            fingerprint(key.public_key())
        )],
    );
}

#[tokio::test]
async fn attestation_signed_by_an_authority_the_requirement_does_not_list_is_refused() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let statement = world.provenance(&image.digest, &workflow);
    let (ephemeral, certificate) = world.keyless(&workflow);
    let envelope = Envelope::sign_statement(&statement, &ephemeral).unwrap();
    let attestation = attestation_by(&mut world, &statement, &envelope, &certificate);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let key_only = PROVENANCE.replace("      slsa:\n", "      authorities: [release-key]\n      slsa:\n");
    let set = world.policy(&format!("{}{key_only}", workflow_and_key()));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[
            "ImagePolicy release requires attestation \"provenance\" of type https://slsa.dev/provenance/v1; none satisfies it",
            &format!("authority \"release-key\" (key {})", fingerprint(world.key.public_key())),
            // What was found: the release workflow's certificate and its key; what was required.
            &format!(
                "signed with the key {} of the certificate for https://github.com/{SOURCE}/{WORKFLOW}@{RELEASE_REF}",
                fingerprint(ephemeral.public_key())
            ),
            &format!("not with the authority's key {}", fingerprint(world.key.public_key())),
        ],
    );
    assert!(!text.contains("[image-signature]"), "the signature was valid:\n{text}");
    assert!(!text.contains("authority \"release-workflow\""), "release-workflow is not listed:\n{text}");
}

#[tokio::test]
async fn missing_attestation_of_the_required_type_names_the_type_and_the_tag() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    let text = refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[&format!(
            "ImagePolicy release requires attestation \"provenance\" of type https://slsa.dev/provenance/v1, but none \
             was found (looked for tag sha256-{}.att",
            hex_of(&image.digest)
        )],
    );
    assert!(!text.contains("[image-signature]"), "the signature was valid:\n{text}");
}

#[tokio::test]
async fn attestation_of_another_type_does_not_satisfy_the_required_type() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let scan = world.statement(&image.digest, VULN, json!({"scanner": {"result": {"summary": {"CRITICAL": 0}}}}));
    let attestation = world.keyless_attestation(&scan, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &["requires attestation \"provenance\" of type https://slsa.dev/provenance/v1, but none was found"],
    );
}

#[tokio::test]
async fn vulnerability_scan_with_critical_findings_fails_the_equals_zero_condition() {
    let mut world = World::new();
    let image = signed_image(&mut world, "1.4.0");
    let workflow = World::release_workflow();
    let scan = world.statement(&image.digest, VULN, json!({"scanner": {"result": {"summary": {"CRITICAL": 3}}}}));
    let attestation = world.keyless_attestation(&scan, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let conditions = format!(
        "  attestations:\n    - name: vulnerabilities\n      predicateType: {VULN}\n      conditions:\n        - {{path: predicate.scanner.result.summary.CRITICAL, equals: 0}}\n"
    );
    let set = world.policy(&format!("{KEYLESS}{conditions}"));
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_ATTESTATION,
        &[
            &format!("ImagePolicy release requires attestation \"vulnerabilities\" of type {VULN}; none satisfies it"),
            &format!("sha256-{}.att layer 0", hex_of(&image.digest)),
            "predicate.scanner.result.summary.CRITICAL: expected 0, found 3",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Sigstore bundles (cosign v3 referrers)

#[tokio::test]
async fn bundle_with_an_altered_inclusion_proof_hash_names_the_computed_and_stated_roots() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    fill_log(&mut world, 5);
    let statement = Statement::cosign_sign(&image.digest);
    let mut bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    let entry = &mut bundle.tlog_entries[0];
    let proof = entry.inclusion_proof.as_mut().expect("inclusion proof");
    assert!(!proof.hashes.is_empty(), "the log holds earlier entries");
    proof.hashes[0][0] ^= 0x01;
    let (leaf, size, root) = (proof.log_index, proof.tree_size, short_hex(&proof.root_hash));
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "referrer sha256:",
            &format!("inclusion proof for leaf {leaf} of {size} does not lead to its root: computed "),
            &format!("proof says {root}"),
        ],
    );
}

#[tokio::test]
async fn bundle_checkpoint_signed_over_another_root_names_both_roots() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    fill_log(&mut world, 2);
    let statement = Statement::cosign_sign(&image.digest);
    let mut bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    let other_root = sha2::Sha256::digest(b"a tree the log never had").to_vec();
    let proof = bundle.tlog_entries[0].inclusion_proof.as_mut().expect("inclusion proof");
    proof.checkpoint = world.env.log.sign_checkpoint(proof.tree_size, &other_root).unwrap();
    let real_root = short_hex(&proof.root_hash);
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "checkpoint root hash {} differs from the inclusion proof root {real_root}",
            short_hex(&other_root)
        )],
    );
}

#[tokio::test]
async fn bundle_checkpoint_signed_by_another_log_names_both_key_hashes() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let statement = Statement::cosign_sign(&image.digest);
    let mut bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    let rogue = TransparencyLog::new().unwrap();
    let proof = bundle.tlog_entries[0].inclusion_proof.as_mut().expect("inclusion proof");
    proof.checkpoint = rogue.sign_checkpoint(proof.tree_size, &proof.root_hash).unwrap();
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!(
            "checkpoint is not signed by log {}: expected key hash {}, found rekor.test ({})",
            world.env.log.log_id(),
            hex::encode(&world.env.log.log_id_bytes()[..4]),
            hex::encode(&rogue.log_id_bytes()[..4])
        )],
    );
}

#[tokio::test]
async fn bundle_v0_3_without_an_inclusion_proof_is_refused() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let statement = Statement::cosign_sign(&image.digest);
    let mut bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    bundle.tlog_entries[0].inclusion_proof = None;
    let index = bundle.tlog_entries[0].log_index;
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[&format!("an inclusion proof with a signed checkpoint is required, but log entry {index} has none")],
    );
}

#[tokio::test]
async fn bundle_with_an_unknown_media_type_version_names_it_and_the_known_ones() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let statement = Statement::cosign_sign(&image.digest);
    let mut bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    bundle.media_type = "application/vnd.dev.sigstore.bundle.v0.9+json".to_owned();
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "unknown bundle media type \"application/vnd.dev.sigstore.bundle.v0.9+json\"",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
        ],
    );
}

#[tokio::test]
async fn bundle_statement_about_another_digest_names_both_digests() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let other = world.image("1.3.0");
    let statement = Statement::cosign_sign(&other.digest);
    let bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &World::release_workflow());
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "referrer sha256:",
            &format!("no subject of the in-toto statement has sha256 {}; subjects:", hex_of(&image.digest)),
            &other.digest,
        ],
    );
}

#[tokio::test]
async fn bundle_from_another_repository_workflow_names_subject_and_source_repository() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let statement = Statement::cosign_sign(&image.digest);
    let evil = GithubWorkflow::new("evil/api", WORKFLOW, RELEASE_REF, COMMIT);
    let bundle = keyless_bundle(&mut world, BundleVersion::V0_3, &statement, &evil);
    push_signature_bundle(&world, &image, &bundle.to_json());
    let set = world.policy(KEYLESS);
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "referrer sha256:",
            "found https://github.com/evil/api/.github/workflows/release.yml@refs/tags/v1.4.0",
            "extension sourceRepositoryURI (1.3.6.1.4.1.57264.1.12): expected https://github.com/acme/api, found https://github.com/evil/api",
        ],
    );
}

/// [`KEYLESS`] with `sct: required` on the release workflow authority.
fn keyless_requiring_sct() -> String {
    format!("{KEYLESS}        sct: required\n")
}

#[tokio::test]
async fn sct_required_accepts_a_certificate_with_a_valid_embedded_sct() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    // The test CA embeds an SCT from the CT log the trust root lists.
    let layer = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(&keyless_requiring_sct());
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    assert_eq!(evidence.signatures[0].authority, "release-workflow");
}

#[tokio::test]
async fn sct_required_refuses_a_certificate_issued_without_sct() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let request = World::release_workflow().leaf_request(key.public_key().clone());
    let certificate = world.env.ca.issue(&request).unwrap();
    let layer = world.certified_signature(&image.digest, &key, &certificate);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();

    // Without the demand the signature is fine; with it, the missing SCT is named.
    world.verify(&world.policy(KEYLESS), "1.4.0", &image.digest).await.expect("verified without sct: required");
    let set = world.policy(&keyless_requiring_sct());
    let outcome = world.verify(&set, "1.4.0", &image.digest).await;
    refusal(
        &outcome,
        IMAGE_SIGNATURE,
        &[
            "sha256-",
            &format!(
                "certificate \"{RELEASE_SUBJECT}\" has no embedded SCT (extension 1.3.6.1.4.1.11129.2.4.2), and the \
                 authority requires one from a certificate transparency log of the trust root (sct: required)"
            ),
        ],
    );
}
