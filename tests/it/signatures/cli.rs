//! The commands end to end with an `ImagePolicy`: `check` allows and pins a signed image and denies
//! an unsigned one with a message naming the rule, the resource, the image and what was missing;
//! `verify --policy` prints the evidence (text and JSON); `verify-bundle` checks bundle files offline.
//! Human-readable outputs are golden files, with ports, digests, times and key fingerprints masked.

use std::path::Path;

use syncgate_testsign::bundle::{Bundle, BundleContent, BundleVersion, Signer};
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::tlog::body;

use super::{KEYLESS, PROVENANCE, REPO, World};
use crate::common::{Run, run, syncgate};

/// Asserts `text` against golden file `name`, with what changes between runs masked: registry ports,
/// digests, times, log indexes, hashes.
fn assert_golden(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "[REGISTRY]");
    settings.add_filter(r"sha256:[0-9a-f]{64}", "[DIGEST]");
    settings.add_filter(r"sha256-[0-9a-f]{64}", "[DIGEST-TAG]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    settings.add_filter(r"(index|Index)( |\x22: )\d+", "$1$2[N]");
    settings.add_filter(r"[0-9a-f]{64}", "[HEX]");
    settings.add_filter(r"/tmp/\.tmp\w+", "[DIR]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: {image}\n"
    )
}

/// `syncgate ARGS --insecure-registry HOST` from the policy directory's parent, isolated HOME.
fn syncgate_in(world: &World, home: &Path, args: &[&str], stdin: Option<String>) -> Run {
    let mut command = syncgate(home);
    command.args(args).args(["--insecure-registry", &world.registry.host()]);
    if let Some(stdin) = stdin {
        command.write_stdin(stdin);
    }
    run(&mut command)
}

/// A world with `1.4.0` signed by the release workflow and attested, and `1.5.0-rc` unsigned.
pub(crate) fn signed_world() -> (World, String, String) {
    let mut world = World::new();
    let signed = world.image("1.4.0");
    let workflow = World::release_workflow();
    let signature = world.keyless_signature(&signed.digest, &workflow);
    world.pusher.push_signatures(REPO, &signed.digest, &[signature]).expect("test material");
    let statement = world.provenance(&signed.digest, &workflow);
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &signed.digest, &[attestation]).expect("test material");
    let unsigned = world.image("1.5.0-rc");
    world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    (world, signed.digest, unsigned.digest)
}

#[test]
fn check_allows_a_signed_image_and_pins_it_to_the_verified_digest() {
    let (world, digest, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.4.0", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", policy.to_str().unwrap(), "--output", "manifests"],
        Some(deployment(&image)),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("image: {image}@{digest}")), "{}", out.stdout);
}

#[test]
fn check_denies_an_unsigned_image_naming_rule_resource_image_and_fix() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.5.0-rc", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", policy.to_str().unwrap(), "--color", "never"],
        Some(deployment(&image)),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_golden("check_unsigned_text", &out.stdout);
}

#[test]
fn check_json_report_carries_the_evidence_of_verified_images() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.4.0", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", policy.to_str().unwrap(), "--output", "json"],
        Some(deployment(&image)),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_golden("check_signed_json_evidence", &serde_json::to_string_pretty(&report["evidence"]).unwrap());
}

#[test]
fn verify_prints_the_evidence_as_text_and_json() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.4.0", world.registry.host());
    let policy = world.policy_path();
    let text = syncgate_in(&world, home.path(), &["verify", &image, "-p", policy.to_str().unwrap()], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_golden("verify_signed_text", &text.stdout);
    let json =
        syncgate_in(&world, home.path(), &["verify", &image, "-p", policy.to_str().unwrap(), "-o", "json"], None);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_golden("verify_signed_json", &json.stdout);
}

#[test]
fn verify_of_an_unsigned_image_exits_1_and_says_what_is_missing() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.5.0-rc", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(&world, home.path(), &["verify", &image, "-p", policy.to_str().unwrap()], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_golden("verify_unsigned_text", &out.stdout);
}

/// Writes a bundle of `artifact` in `version`, keyless from the release workflow, and returns its path.
fn blob_bundle(
    world: &mut World,
    dir: &Path,
    version: BundleVersion,
    artifact: &[u8],
    dsse: bool,
) -> std::path::PathBuf {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(artifact);
    let (key, certificate) = world.keyless(&World::release_workflow());
    let (content, body) = if dsse {
        let statement =
            Statement::new("artifact.txt", &hex::encode(digest), "https://example.com/test/v1", serde_json::json!({}));
        let envelope = Envelope::sign_statement(&statement, &key).expect("test material");
        let body = body::dsse_body(&envelope, &certificate.pem);
        (BundleContent::Dsse(envelope), body)
    } else {
        let signature = key.sign(artifact).expect("test material");
        let body = body::hashedrekord(&signature, &certificate.pem, &digest);
        (BundleContent::message_signature(&digest, &signature), body)
    };
    let entry = world.log(body);
    let bundle = Bundle::new(version, Signer::Certificate(&certificate), content, &entry);
    let path = dir.join(format!("bundle-{version:?}-{dsse}.json"));
    std::fs::write(&path, bundle.to_json()).expect("test material");
    path
}

#[test]
fn verify_bundle_checks_every_bundle_version_offline_and_refuses_another_identity() {
    let mut world = World::new();
    let home = tempfile::tempdir().unwrap();
    let dir = world.dir.path().to_path_buf();
    let artifact = dir.join("artifact.txt");
    std::fs::write(&artifact, b"release notes 1.4.0\n").unwrap();
    let trusted_root = dir.join("trusted_root.json");
    let identity = format!("https://github.com/{}/{}@{}", super::SOURCE, super::WORKFLOW, super::RELEASE_REF);
    for version in [BundleVersion::V0_1, BundleVersion::V0_2, BundleVersion::V0_3] {
        for dsse in [false, true] {
            let bundle = blob_bundle(&mut world, &dir, version, b"release notes 1.4.0\n", dsse);
            let args = |identity: &str| {
                vec![
                    "verify-bundle".to_owned(),
                    "--bundle".to_owned(),
                    bundle.display().to_string(),
                    "--artifact".to_owned(),
                    artifact.display().to_string(),
                    "--trusted-root".to_owned(),
                    trusted_root.display().to_string(),
                    "--certificate-identity".to_owned(),
                    identity.to_owned(),
                    "--certificate-oidc-issuer".to_owned(),
                    super::GITHUB_ISSUER.to_owned(),
                ]
            };
            let ok = run(syncgate(home.path()).args(args(&identity)));
            assert_eq!(ok.code, 0, "{version:?} dsse={dsse}: {}{}", ok.stdout, ok.stderr);
            assert!(ok.stdout.starts_with(&format!("verified: signed by {identity}")), "{}", ok.stdout);
            let other = run(syncgate(home.path())
                .args(args("https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main")));
            assert_eq!(other.code, 1, "{version:?} dsse={dsse}: {}{}", other.stdout, other.stderr);
            assert!(other.stdout.contains("evil/api"), "{}", other.stdout);
        }
    }
}

#[test]
fn verify_bundle_with_a_key_and_a_digest() {
    use sha2::Digest as _;
    let mut world = World::new();
    let home = tempfile::tempdir().unwrap();
    let dir = world.dir.path().to_path_buf();
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    std::fs::write(dir.join("signer.pub"), key.public_pem()).unwrap();
    let artifact = b"chart-1.4.0.tgz contents";
    let digest = sha2::Sha256::digest(artifact);
    let signature = key.sign(artifact).unwrap();
    let entry = world.log(body::hashedrekord(&signature, &key.public_pem(), &digest));
    let bundle = Bundle::new(
        BundleVersion::V0_3,
        Signer::PublicKey(key.public_key()),
        BundleContent::message_signature(&digest, &signature),
        &entry,
    );
    std::fs::write(dir.join("bundle.json"), bundle.to_json()).unwrap();
    let out = run(syncgate(home.path()).current_dir(&dir).args([
        "verify-bundle",
        "--bundle",
        "bundle.json",
        "--digest",
        &format!("sha256:{}", hex::encode(digest)),
        "--trusted-root",
        "trusted_root.json",
        "--key",
        "signer.pub",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    let wrong = run(syncgate(home.path()).current_dir(&dir).args([
        "verify-bundle",
        "--bundle",
        "bundle.json",
        "--digest",
        &format!("sha256:{}", "0".repeat(64)),
        "--trusted-root",
        "trusted_root.json",
        "--key",
        "signer.pub",
    ]));
    assert_eq!(wrong.code, 1, "{}{}", wrong.stdout, wrong.stderr);
    assert!(wrong.stdout.starts_with("not verified: "), "{}", wrong.stdout);
}

#[test]
fn check_text_report_shows_what_was_verified() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.4.0", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", policy.to_str().unwrap(), "--color", "never"],
        Some(deployment(&image)),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_golden("check_signed_text", &out.stdout);
}

#[test]
fn an_exception_turns_a_missing_signature_into_a_warning_until_it_expires() {
    let (world, _, _) = signed_world();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/{REPO}:1.5.0-rc", world.registry.host());
    let exception = world.dir.path().join("exception.yaml");
    std::fs::write(
        &exception,
        "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: rc-testing}\nspec:\n  rules: [image-signature, image-attestation]\n  match:\n    namespaces: [shop]\n    images: ['*/acme/api:1.5.0-rc']\n  expires: '2099-01-01T00:00:00Z'\n  reason: release candidate under test, INC-1234\n",
    )
    .unwrap();
    let policy = world.policy_path();
    let policies = format!("{},{}", policy.display(), exception.display());
    let out =
        syncgate_in(&world, home.path(), &["check", "-", "-p", &policies, "-o", "json"], Some(deployment(&image)));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let warned: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "warn")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["image-attestation", "image-signature"]);
    let expired = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", &policies, "--now", "2099-06-01T00:00:00Z"],
        Some(deployment(&image)),
    );
    assert_eq!(expired.code, 1, "{}{}", expired.stdout, expired.stderr);
}

#[test]
fn an_image_no_image_policy_matches_follows_no_match() {
    let world = World::new();
    world.pusher.push_image("other/tool", "1.0", &[("t", b"tool")]).expect("push");
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/other/tool:1.0", world.registry.host());
    for (no_match, code, status) in [("deny", 1, "fail"), ("warn", 0, "warn"), ("allow", 0, "pass")] {
        world.policy(&format!("  noMatch: {no_match}\n{KEYLESS}"));
        let policy = world.policy_path();
        let out = syncgate_in(
            &world,
            home.path(),
            &["check", "-", "-p", policy.to_str().unwrap(), "-o", "json"],
            Some(deployment(&image)),
        );
        assert_eq!(out.code, code, "noMatch {no_match}: {}{}", out.stdout, out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "image-policy-match")
            .unwrap_or_else(|| panic!("noMatch {no_match}: no image-policy-match finding in {}", out.stdout));
        assert_eq!(finding["status"], status, "noMatch {no_match}");
        if status != "pass" {
            assert!(finding["message"].as_str().unwrap().contains("matched by no ImagePolicy"), "{finding}");
        }
    }
}

#[test]
fn check_denies_a_signature_from_another_repository_workflow_saying_what_did_not_match() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let attacker = syncgate_testsign::certificate::GithubWorkflow::new(
        "evil/api",
        ".github/workflows/release.yml",
        "refs/heads/main",
        "0123456789abcdef0123456789abcdef01234567",
    );
    let signature = world.keyless_signature(&image.digest, &attacker);
    world.pusher.push_signatures(REPO, &image.digest, &[signature]).expect("push");
    world.policy(KEYLESS);
    let home = tempfile::tempdir().unwrap();
    let reference = format!("{}/{REPO}:1.4.0", world.registry.host());
    let policy = world.policy_path();
    let out = syncgate_in(
        &world,
        home.path(),
        &["check", "-", "-p", policy.to_str().unwrap(), "--color", "never"],
        Some(deployment(&reference)),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_golden("check_other_repository_text", &out.stdout);
}
