//! Signatures and provenance against a real registry: material made by the project's own test signer
//! (real keys, a test Fulcio-like CA, a test Rekor with a real Merkle tree) is pushed to Debian's
//! `docker-registry` under cosign's legacy tags and as Sigstore bundle referrers, and verified by the
//! same `Verifier` the gate uses. `negative` holds one named test per way a signature must be refused.

pub(crate) mod cli;
mod negative;
mod persist;
mod tuf;

use std::path::PathBuf;

use sha2::Digest as _;
use syncgate::image::{Digest, ImageRef};
use syncgate::manifest::Limits;
use syncgate::policy::{self, PolicySet};
use syncgate::registry::{Registry, RegistryOptions};
use syncgate::verify::check::Outcome;
use syncgate::verify::{Verifier, Verify as _};
use syncgate_testsign::bundle::{Bundle, BundleContent, BundleVersion, Signer};
use syncgate_testsign::certificate::{GithubWorkflow, IssuedCertificate};
use syncgate_testsign::cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload};
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::environment::SigningEnvironment;
use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::provenance::ProvenanceBuild;
use syncgate_testsign::registry::{Descriptor, Registry as Pusher};
use syncgate_testsign::tlog::{Entry, body};

use crate::support::proxy::FaultProxy;
use crate::support::registry::TestRegistry;

/// The repository every test signs in.
pub(crate) const REPO: &str = "acme/api";
/// The GitHub repository of the trusted release workflow.
pub(crate) const SOURCE: &str = "acme/api";
/// The trusted workflow file.
pub(crate) const WORKFLOW: &str = ".github/workflows/release.yml";
/// The trusted release ref.
pub(crate) const RELEASE_REF: &str = "refs/tags/v1.4.0";
/// The commit the release was built from.
pub(crate) const COMMIT: &str = "5a1d3e4b2c7f8091a2b3c4d5e6f708192a3b4c5d";
/// GitHub Actions' OIDC issuer.
pub(crate) const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// SLSA provenance v1.
pub(crate) const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
/// SLSA provenance v0.2.
pub(crate) const SLSA_V0_2: &str = "https://slsa.dev/provenance/v0.2";

/// A registry, a signing environment (CA, transparency log), a release key and a directory holding
/// `trusted_root.json`, `release.pub` and the policies.
pub(crate) struct World {
    pub(crate) registry: TestRegistry,
    pub(crate) pusher: Pusher,
    pub(crate) env: SigningEnvironment,
    pub(crate) key: std::sync::Arc<KeyPair>,
    pub(crate) dir: tempfile::TempDir,
    images: usize,
}

impl World {
    pub(crate) fn new() -> Self {
        let registry = TestRegistry::start();
        let pusher = Pusher::new(&format!("http://{}", registry.host()));
        let env = SigningEnvironment::generate().expect("signing environment");
        let key = std::sync::Arc::new(KeyPair::generate(Algorithm::EcdsaP256).expect("release key"));
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("trusted_root.json"), env.trusted_root().to_json()).expect("trusted root");
        std::fs::write(dir.path().join("release.pub"), key.public_pem()).expect("release key file");
        World { registry, pusher, env, key, dir, images: 0 }
    }

    /// Pushes a distinct image to `REPO` under `tag` and returns its descriptor.
    pub(crate) fn image(&mut self, tag: &str) -> Descriptor {
        self.images += 1;
        let content = format!("build {} of {tag}\n", self.images);
        self.pusher.push_image(REPO, tag, &[("hello.txt", content.as_bytes())]).expect("push image")
    }

    /// `127.0.0.1:PORT/acme/api:TAG`.
    pub(crate) fn reference(&self, tag: &str) -> ImageRef {
        format!("{}/{REPO}:{tag}", self.registry.host()).parse().expect("image reference")
    }

    /// The trusted release workflow run.
    pub(crate) fn release_workflow() -> GithubWorkflow {
        GithubWorkflow::new(SOURCE, WORKFLOW, RELEASE_REF, COMMIT)
    }

    /// A fresh signing key with a certificate for `workflow`.
    pub(crate) fn keyless(&self, workflow: &GithubWorkflow) -> (KeyPair, IssuedCertificate) {
        let key = KeyPair::generate(Algorithm::EcdsaP256).expect("ephemeral key");
        let certificate = self.env.issue(&workflow.leaf_request(key.public_key().clone())).expect("certificate");
        (key, certificate)
    }

    /// Logs `body` in the test transparency log.
    pub(crate) fn log(&mut self, body: Vec<u8>) -> Entry {
        self.env.log_now(body).expect("log entry")
    }

    /// A legacy simple-signing signature of `digest` by `key`, logged when `logged`.
    pub(crate) fn key_signature(&mut self, digest: &str, key: &KeyPair, logged: bool) -> SignatureLayer {
        let payload = simple_signing_payload(&self.pusher.docker_reference(REPO), digest);
        let signature = key.sign(&payload).expect("sign");
        let layer = SignatureLayer::new(payload.clone(), &signature);
        if !logged {
            return layer;
        }
        let entry = self.log(body::hashedrekord(&signature, &key.public_pem(), &sha2::Sha256::digest(&payload)));
        layer.with_bundle(&RekorBundle::from_entry(&entry))
    }

    /// A legacy keyless signature of `digest` from `workflow`'s run, with certificate and Rekor bundle.
    pub(crate) fn keyless_signature(&mut self, digest: &str, workflow: &GithubWorkflow) -> SignatureLayer {
        let (key, certificate) = self.keyless(workflow);
        self.certified_signature(digest, &key, &certificate)
    }

    /// A legacy signature of `digest` by `key`, carrying `certificate`, logged.
    pub(crate) fn certified_signature(
        &mut self,
        digest: &str,
        key: &KeyPair,
        certificate: &IssuedCertificate,
    ) -> SignatureLayer {
        let payload = simple_signing_payload(&self.pusher.docker_reference(REPO), digest);
        let signature = key.sign(&payload).expect("sign");
        let entry = self.log(body::hashedrekord(&signature, &certificate.pem, &sha2::Sha256::digest(&payload)));
        SignatureLayer::new(payload, &signature)
            .with_certificate(certificate)
            .with_bundle(&RekorBundle::from_entry(&entry))
    }

    /// An in-toto statement about `digest`.
    pub(crate) fn statement(&self, digest: &str, predicate_type: &str, predicate: serde_json::Value) -> Statement {
        Statement::new(&self.pusher.docker_reference(REPO), digest, predicate_type, predicate)
    }

    /// A legacy keyless attestation (DSSE, `dsse` log entry) of `statement` from `workflow`.
    pub(crate) fn keyless_attestation(&mut self, statement: &Statement, workflow: &GithubWorkflow) -> AttestationLayer {
        let (key, certificate) = self.keyless(workflow);
        let envelope = Envelope::sign_statement(statement, &key).expect("sign statement");
        let entry = self.log(body::dsse_body(&envelope, &certificate.pem));
        AttestationLayer::new(&envelope, &statement.predicate_type)
            .with_certificate(&certificate)
            .with_bundle(&RekorBundle::from_entry(&entry))
    }

    /// SLSA v1 provenance of `digest` built from `workflow` by the slsa-github-generator.
    pub(crate) fn provenance(&self, digest: &str, workflow: &GithubWorkflow) -> Statement {
        let build = ProvenanceBuild::container(workflow.clone());
        self.statement(digest, SLSA_V1, build.slsa_v1())
    }

    /// A cosign v3 signature bundle (DSSE, `https://sigstore.dev/cosign/sign/v1`) of `digest` from
    /// `workflow`, as JSON.
    pub(crate) fn signature_bundle(
        &mut self,
        version: BundleVersion,
        digest: &str,
        workflow: &GithubWorkflow,
    ) -> String {
        let statement = Statement::cosign_sign(digest);
        self.statement_bundle(version, &statement, workflow)
    }

    /// A Sigstore bundle of `statement` from `workflow`, as JSON.
    pub(crate) fn statement_bundle(
        &mut self,
        version: BundleVersion,
        statement: &Statement,
        workflow: &GithubWorkflow,
    ) -> String {
        let (key, certificate) = self.keyless(workflow);
        let envelope = Envelope::sign_statement(statement, &key).expect("sign statement");
        let entry = self.log(body::dsse_body(&envelope, &certificate.pem));
        Bundle::new(version, Signer::Certificate(&certificate), BundleContent::Dsse(envelope), &entry).to_json()
    }

    /// Writes an `ImagePolicy` with `spec` (YAML lines, two-space indented under `spec:`) plus
    /// `images` and `trustRoot`, and loads it.
    pub(crate) fn policy(&self, spec: &str) -> PolicySet {
        let text = format!(
            "apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {{name: release}}\nspec:\n  images: [\"{}/{REPO}\"]\n  trustRoot: {{file: trusted_root.json}}\n{spec}",
            self.registry.host()
        );
        let path = self.dir.path().join("policy.yaml");
        std::fs::write(&path, text).expect("write policy");
        policy::load(&[path], &Limits::default()).expect("valid policy")
    }

    /// The path of the policy last written by [`World::policy`].
    pub(crate) fn policy_path(&self) -> PathBuf {
        self.dir.path().join("policy.yaml")
    }

    /// A registry client for the test registry (or a proxy in front of it).
    pub(crate) fn client(host: &str) -> Registry {
        Registry::new(RegistryOptions { insecure: vec![host.to_owned()], ..RegistryOptions::default() })
            .expect("registry client")
    }

    /// Verifies `tag` (pinned to `digest`) against the set's first `ImagePolicy`.
    pub(crate) async fn verify(&self, set: &PolicySet, tag: &str, digest: &str) -> Outcome {
        let verifier = Verifier::new(Self::client(&self.registry.host()));
        let digest = Digest::parse(digest).expect("digest");
        verifier.verify(&set.images[0], &self.reference(tag), &digest).await
    }
}

/// The refusal messages of an outcome that must be a refusal.
#[allow(clippy::panic, reason = "a failed test assertion")]
pub(crate) fn refused(outcome: &Outcome) -> String {
    match outcome {
        Ok(evidence) => panic!("expected a refusal, got evidence {evidence:?}"),
        Err(refusals) => refusals.iter().map(|r| format!("[{}] {}", r.rule, r.message)).collect::<Vec<_>>().join("\n"),
    }
}

/// `spec` lines of a policy trusting the release workflow (keyless).
pub(crate) const KEYLESS: &str = r"  authorities:
    - name: release-workflow
      keyless:
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: 'https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*'
        extensions:
          sourceRepositoryURI: https://github.com/acme/api
          sourceRepositoryRef: {regExp: 'refs/tags/v.*'}
";

/// `spec` lines of a policy trusting the release key.
pub(crate) const KEYED: &str = "  authorities:
    - name: release-key
      key: {file: release.pub}
";

/// `spec` lines requiring SLSA v1 provenance from the generator for the release tag.
pub(crate) const PROVENANCE: &str = r"  attestations:
    - name: provenance
      predicateType: https://slsa.dev/provenance/v1
      slsa:
        builderID: https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0
        sourceRepository: https://github.com/acme/api
        sourceRef: {regExp: 'refs/tags/v.*'}
        workflowPath: .github/workflows/release.yml
";

#[tokio::test]
async fn key_signature_with_a_log_entry_verifies_and_names_the_key_and_log_index() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let layer = world.key_signature(&image.digest, &key, true);
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYED);
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    assert_eq!(evidence.digest, image.digest);
    assert_eq!(evidence.signatures.len(), 1);
    let signature = &evidence.signatures[0];
    assert_eq!(signature.authority, "release-key");
    let fingerprint = format!("sha256:{}", hex::encode(sha2::Sha256::digest(world.key.public_key().spki_der())));
    assert_eq!(serde_json::to_value(&signature.signer).unwrap()["fingerprint"], fingerprint.as_str());
    assert!(signature.source.contains(".sig layer 0"), "{}", signature.source);
    let log = signature.log.as_ref().expect("logged");
    assert_eq!(log.log_id, world.env.log.log_id());
}

#[tokio::test]
async fn keyless_signature_from_the_release_workflow_verifies_with_its_identity() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let layer = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    let signer = serde_json::to_value(&evidence.signatures[0].signer).unwrap();
    assert_eq!(signer["kind"], "keyless");
    assert_eq!(signer["subject"], format!("https://github.com/{SOURCE}/{WORKFLOW}@{RELEASE_REF}"));
    assert_eq!(signer["issuer"], GITHUB_ISSUER);
    assert_eq!(signer["sourceRepositoryUri"], format!("https://github.com/{SOURCE}"));
    assert_eq!(signer["sourceRepositoryDigest"], COMMIT);
    assert_eq!(signer["sourceRepositoryRef"], RELEASE_REF);
    assert!(evidence.signatures[0].log.is_some());
}

#[tokio::test]
async fn slsa_provenance_attestation_verifies_within_five_requests_and_zero_when_cached() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let workflow = World::release_workflow();
    let signature = world.keyless_signature(&image.digest, &workflow);
    world.pusher.push_signatures(REPO, &image.digest, &[signature]).unwrap();
    let statement = world.provenance(&image.digest, &workflow);
    let attestation = world.keyless_attestation(&statement, &workflow);
    world.pusher.push_attestations(REPO, &image.digest, &[attestation]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));

    let client = World::client(&world.registry.host());
    let verifier = Verifier::new(client.clone());
    let digest = Digest::parse(&image.digest).unwrap();
    let reference = world.reference("1.4.0");
    let before = client.requests() - client.auth_requests();
    let evidence = verifier.verify(&set.images[0], &reference, &digest).await.expect("verified");
    let requests = client.requests() - client.auth_requests() - before;
    assert!(requests <= 5, "{requests} registry requests for a signature and one attestation");
    let provenance = evidence.attestations[0].provenance.as_ref().expect("provenance");
    assert_eq!(provenance.source_repository.as_deref(), Some("https://github.com/acme/api"));
    assert_eq!(provenance.source_ref.as_deref(), Some(RELEASE_REF));
    assert_eq!(provenance.source_digest.as_deref(), Some(COMMIT));

    let before = client.requests();
    verifier.verify(&set.images[0], &reference, &digest).await.expect("verified from the cache");
    assert_eq!(client.requests(), before, "a cached verification sends no request");
}

#[tokio::test]
async fn legacy_signature_verifies_within_three_requests() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let layer = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(KEYLESS);
    let client = World::client(&world.registry.host());
    let verifier = Verifier::new(client.clone());
    let digest = Digest::parse(&image.digest).unwrap();
    verifier.verify(&set.images[0], &world.reference("1.4.0"), &digest).await.expect("verified");
    let requests = client.manifest_requests() + client.blob_requests() + client.referrers_requests();
    assert!(requests <= 3, "{requests} registry requests for one legacy signature");
}

#[tokio::test]
async fn cosign_v3_bundle_is_found_through_the_referrers_tag_schema() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let bundle = world.signature_bundle(BundleVersion::V0_3, &image.digest, &World::release_workflow());
    world
        .pusher
        .push_referrer_bundle(REPO, &image, bundle.as_bytes(), Some(syncgate::verify::check::COSIGN_SIGN_PREDICATE))
        .unwrap();
    let set = world.policy(KEYLESS);
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    assert!(evidence.signatures[0].source.starts_with("referrer sha256:"), "{}", evidence.signatures[0].source);
    let log = evidence.signatures[0].log.as_ref().expect("logged");
    assert_eq!(serde_json::to_value(log).unwrap()["proof"], "both");
}

#[tokio::test]
async fn cosign_v3_bundle_is_found_through_the_referrers_api() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let bundle = world.signature_bundle(BundleVersion::V0_3, &image.digest, &World::release_workflow());
    world
        .pusher
        .push_referrer_bundle(REPO, &image, bundle.as_bytes(), Some(syncgate::verify::check::COSIGN_SIGN_PREDICATE))
        .unwrap();
    let set = world.policy(KEYLESS);
    let proxy = FaultProxy::start(world.registry.addr()).await;
    proxy.serve_referrers_api();
    let client = World::client(&proxy.host());
    let verifier = Verifier::new(client.clone());
    let reference: ImageRef = format!("{}/{REPO}:1.4.0", proxy.host()).parse().unwrap();
    let digest = Digest::parse(&image.digest).unwrap();
    let evidence = verifier.verify(&set.images[0], &reference, &digest).await.expect("verified");
    assert!(evidence.signatures[0].source.starts_with("referrer sha256:"));
    let log = proxy.log();
    let hex = image.digest.trim_start_matches("sha256:");
    assert!(log.iter().any(|line| line.contains(&format!("/referrers/sha256:{hex}"))), "{log:#?}");
    assert!(!log.iter().any(|line| line.ends_with(&format!("/manifests/sha256-{hex}"))), "{log:#?}");
    assert_eq!(client.referrers_requests(), 1);
}

#[tokio::test]
async fn slsa_v0_2_provenance_in_a_v0_2_bundle_referrer_verifies() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let workflow = World::release_workflow();
    let signature = world.signature_bundle(BundleVersion::V0_2, &image.digest, &workflow);
    world
        .pusher
        .push_referrer_bundle(REPO, &image, signature.as_bytes(), Some(syncgate::verify::check::COSIGN_SIGN_PREDICATE))
        .unwrap();
    let build = ProvenanceBuild::container(workflow.clone());
    let statement = world.statement(&image.digest, SLSA_V0_2, build.slsa_v0_2());
    let attestation = world.statement_bundle(BundleVersion::V0_3, &statement, &workflow);
    world.pusher.push_referrer_bundle(REPO, &image, attestation.as_bytes(), Some(SLSA_V0_2)).unwrap();
    let set = world.policy(&format!("{KEYLESS}{}", PROVENANCE.replace(SLSA_V1, SLSA_V0_2)));
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    assert_eq!(evidence.attestations[0].predicate_type, SLSA_V0_2);
}

#[tokio::test]
async fn legacy_attestation_logged_as_intoto_verifies() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let workflow = World::release_workflow();
    let signature = world.keyless_signature(&image.digest, &workflow);
    world.pusher.push_signatures(REPO, &image.digest, &[signature]).unwrap();
    let statement = world.provenance(&image.digest, &workflow);
    let (key, certificate) = world.keyless(&workflow);
    let envelope = Envelope::sign_statement(&statement, &key).unwrap();
    let entry = world.log(body::intoto_body(&envelope, &certificate.pem));
    let layer = AttestationLayer::new(&envelope, SLSA_V1)
        .with_certificate(&certificate)
        .with_bundle(&RekorBundle::from_entry(&entry));
    world.pusher.push_attestations(REPO, &image.digest, &[layer]).unwrap();
    let set = world.policy(&format!("{KEYLESS}{PROVENANCE}"));
    world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
}

#[tokio::test]
async fn require_all_is_met_by_a_key_and_a_workflow_signature() {
    let mut world = World::new();
    let image = world.image("1.4.0");
    let key = std::sync::Arc::clone(&world.key);
    let by_key = world.key_signature(&image.digest, &key, true);
    let by_workflow = world.keyless_signature(&image.digest, &World::release_workflow());
    world.pusher.push_signatures(REPO, &image.digest, &[by_key, by_workflow]).unwrap();
    let both = format!("  require: all\n{KEYLESS}{}", KEYED.replace("  authorities:\n", ""));
    let set = world.policy(&both);
    let evidence = world.verify(&set, "1.4.0", &image.digest).await.expect("verified");
    let authorities: Vec<&str> = evidence.signatures.iter().map(|s| s.authority.as_str()).collect();
    assert_eq!(authorities, ["release-workflow", "release-key"]);
}

#[tokio::test]
async fn key_signatures_of_every_supported_algorithm_verify() {
    let mut world = World::new();
    for (n, algorithm) in [Algorithm::EcdsaP384, Algorithm::Ed25519, Algorithm::Rsa2048].into_iter().enumerate() {
        let tag = format!("1.4.{n}");
        let image = world.image(&tag);
        let key = KeyPair::generate(algorithm).expect("key");
        std::fs::write(world.dir.path().join("signer.pub"), key.public_pem()).expect("key file");
        let layer = world.key_signature(&image.digest, &key, false);
        world.pusher.push_signatures(REPO, &image.digest, &[layer]).unwrap();
        let set = world.policy(
            "  authorities:\n    - name: signer\n      key: {file: signer.pub}\n      transparencyLog: optional\n",
        );
        let evidence = world.verify(&set, &tag, &image.digest).await.unwrap_or_else(|refusals| {
            panic!("{algorithm:?}: {}", refusals.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))
        });
        assert_eq!(evidence.signatures[0].authority, "signer", "{algorithm:?}");
        assert!(evidence.signatures[0].log.is_none(), "{algorithm:?}");
    }
}
