//! The command-line tool end to end: keygen, env, push-image, sign and attest in both formats against a real
//! docker-registry, with the persisted environment growing across runs.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use syncgate_testsign::environment::SigningEnvironment;
use syncgate_testsign::key::KeyPair;
use syncgate_testsign::registry::{Registry, digest_tag};

use crate::support::{LocalRegistry, Scratch, openssl, openssl_verifies};

fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_syncgate-testsign"))
        .args(args)
        .env("COSIGN_PASSWORD", "correct horse")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sign_and_attest_through_the_command_line() {
    let server = LocalRegistry::start();
    let scratch = Scratch::new();
    let env_dir = scratch.path().join("env");
    let key_dir = scratch.path().join("keys");
    let url = server.base_url.as_str();

    run(&["env", "--out", path(&env_dir)]);
    let root: Value = serde_json::from_slice(&std::fs::read(env_dir.join("trusted_root.json")).unwrap()).unwrap();
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 1);

    let image = run(&["push-image", "--registry", url, "--image", "test/cli:v1"]);
    let digest = image["digest"].as_str().unwrap().to_owned();

    run(&["keygen", "--out", path(&key_dir), "--scrypt-log-n", "10"]);
    let key_text = std::fs::read_to_string(key_dir.join("cosign.key")).unwrap();
    let key = KeyPair::from_cosign_private_key(&key_text, b"correct horse").unwrap();
    assert_eq!(std::fs::read_to_string(key_dir.join("cosign.pub")).unwrap(), key.public_pem());

    let signed = run(&[
        "sign",
        "--registry",
        url,
        "--image",
        "test/cli:v1",
        "--key",
        path(&key_dir.join("cosign.key")),
        "--env",
        path(&env_dir),
        "-a",
        "team=platform",
    ]);
    assert_eq!(signed["digest"], digest.as_str());
    assert_eq!(signed["logIndex"], 0);
    run(&[
        "sign",
        "--registry",
        url,
        "--image",
        "test/cli:v1",
        "--keyless",
        "--env",
        path(&env_dir),
        "--github-repo",
        "acme/app",
        "--format",
        "bundle",
    ]);
    let predicate = scratch.file("predicate.json", r#"{"buildDefinition":{"buildType":"x"}}"#);
    run(&[
        "attest",
        "--registry",
        url,
        "--image",
        &format!("test/cli@{digest}"),
        "--keyless",
        "--env",
        path(&env_dir),
        "--identity",
        "dev@acme.test",
        "--issuer",
        "https://accounts.acme.test",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--predicate",
        &predicate,
        "--tlog-kind",
        "intoto",
    ]);

    // The environment persisted every entry.
    let environment = SigningEnvironment::load(&env_dir).unwrap();
    assert_eq!(environment.log.size(), 3);
    let kinds: Vec<_> = (0..3).map(|i| environment.log.entry(i).unwrap().kind_version().unwrap().0).collect();
    assert_eq!(kinds, ["hashedrekord", "dsse", "intoto"]);

    let registry = Registry::new(url);
    let (_, raw) = registry.get_manifest("test/cli", &digest_tag(&digest, "sig").unwrap()).unwrap().unwrap();
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    let layer = &manifest["layers"][0];
    let payload = registry.get_blob("test/cli", layer["digest"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&payload).ends_with(r#""optional":{"team":"platform"}}"#));
    let signature =
        STANDARD.decode(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap()).unwrap();
    assert!(openssl_verifies(&key.public_pem(), &payload, &signature, Some("sha256")));
    assert!(layer["annotations"]["dev.sigstore.cosign/bundle"].is_string());

    // The keyless attestation certificate chains to the environment's CA.
    let (_, raw) = registry.get_manifest("test/cli", &digest_tag(&digest, "att").unwrap()).unwrap().unwrap();
    let att: Value = serde_json::from_slice(&raw).unwrap();
    let certificate = att["layers"][0]["annotations"]["dev.sigstore.cosign/certificate"].as_str().unwrap();
    let chain = std::fs::read_to_string(env_dir.join("ca_chain.pem")).unwrap();
    let (intermediate, root) = chain.split_at(chain.find("-----END CERTIFICATE-----\n").unwrap() + 26);
    let out = openssl(&[
        "verify",
        "-CAfile",
        &scratch.file("root.pem", root),
        "-untrusted",
        &scratch.file("int.pem", intermediate),
        "-purpose",
        "any",
        &scratch.file("leaf.pem", certificate),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (_, raw) = registry.get_manifest("test/cli", &digest_tag(&digest, "").unwrap()).unwrap().unwrap();
    let index: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
}

#[test]
fn helpful_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_syncgate-testsign"))
        .args(["sign", "--registry", "http://127.0.0.1:9", "--image", "nope", "--keyless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs a tag or digest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn parallel_signers_extend_one_log() {
    let server = LocalRegistry::start();
    let scratch = Scratch::new();
    let env_dir = scratch.path().join("env");
    run(&["push-image", "--registry", &server.base_url, "--image", "test/par:v1"]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_syncgate-testsign"))
                .args(["sign", "--registry", &server.base_url, "--image", "test/par:v1", "--keyless", "--env"])
                .arg(&env_dir)
                .args(["--identity", "ci@acme.test", "--issuer", "https://accounts.acme.test", "--format", "bundle"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Each process held the environment lock from load to save: no entry was lost.
    assert_eq!(SigningEnvironment::load(&env_dir).unwrap().log.size(), 4);
}
