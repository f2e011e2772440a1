//! Signed images the benchmarks verify: each pushed to the registry with a keyless cosign signature
//! (certificate + Rekor bundle) from a GitHub release workflow under its `.sig` tag and an SLSA v1
//! provenance attestation under its `.att` tag, made by the project's test signer; and the
//! `ImagePolicy` text that trusts that workflow.

use anyhow::Context as _;
use sha2::Digest as _;
use syncgate::image::{Digest, ImageRef};
use syncgate_testsign::certificate::GithubWorkflow;
use syncgate_testsign::cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload};
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::environment::SigningEnvironment;
use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::provenance::ProvenanceBuild;
use syncgate_testsign::registry::Registry as Pusher;
use syncgate_testsign::tlog::body;

use crate::servers::WorkDir;

/// The repository prefix of the benchmark images: image `n` is `<host>/bench/app-<n>:v2.0.0`.
pub(crate) const REPO: &str = "bench/app";

/// An `ImagePolicy` demanding the release workflow's keyless signature on every benchmark image,
/// with the trust root in `trusted_root.json` next to the policy file.
pub(crate) const SIGNATURE_ONLY: &str = r"apiVersion: syncgate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: signed}
spec:
  images: ['*/bench/app-*']
  trustRoot: {file: trusted_root.json}
  authorities:
    - name: release-workflow
      keyless:
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: 'https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*'
        extensions:
          sourceRepositoryURI: https://github.com/acme/app
";

/// Appended to [`SIGNATURE_ONLY`]: also an SLSA v1 provenance attestation from that repository.
pub(crate) const PROVENANCE: &str = r"  attestations:
    - name: provenance
      predicateType: https://slsa.dev/provenance/v1
      slsa:
        sourceRepository: https://github.com/acme/app
        sourceRef: {regExp: 'refs/tags/v.*'}
";

/// One pushed image: its reference and digest.
pub(crate) struct Image {
    pub(crate) reference: ImageRef,
    pub(crate) digest: Digest,
}

/// Pushes `count` images to the registry at `host`, each with a keyless signature and an SLSA v1
/// attestation; writes the trust root to `<work>/trusted_root.json`.
pub(crate) fn sign_images(work: &WorkDir, host: &str, count: usize) -> anyhow::Result<Vec<Image>> {
    let mut env = SigningEnvironment::generate().context("signing environment")?;
    std::fs::write(work.0.join("trusted_root.json"), env.trusted_root().to_json())?;
    let pusher = Pusher::new(&format!("http://{host}"));
    let workflow =
        GithubWorkflow::new("acme/app", ".github/workflows/release.yml", "refs/tags/v2.0.0", &"ab".repeat(20));
    let build = ProvenanceBuild::container(workflow.clone());
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let repo = format!("{REPO}-{n}");
        let image = pusher.push_image(&repo, "v2.0.0", &[("app.txt", format!("app {n}\n").as_bytes())])?;
        let key = KeyPair::generate(Algorithm::EcdsaP256)?;
        let certificate = env.issue(&workflow.leaf_request(key.public_key().clone()))?;
        let payload = simple_signing_payload(&pusher.docker_reference(&repo), &image.digest);
        let signature = key.sign(&payload)?;
        let entry = env.log_now(body::hashedrekord(&signature, &certificate.pem, &sha2::Sha256::digest(&payload)))?;
        let layer = SignatureLayer::new(payload, &signature)
            .with_certificate(&certificate)
            .with_bundle(&RekorBundle::from_entry(&entry));
        pusher.push_signatures(&repo, &image.digest, &[layer])?;
        let statement = Statement::new(
            &pusher.docker_reference(&repo),
            &image.digest,
            "https://slsa.dev/provenance/v1",
            build.slsa_v1(),
        );
        let envelope = Envelope::sign_statement(&statement, &key)?;
        let entry = env.log_now(body::dsse_body(&envelope, &certificate.pem))?;
        let layer = AttestationLayer::new(&envelope, "https://slsa.dev/provenance/v1")
            .with_certificate(&certificate)
            .with_bundle(&RekorBundle::from_entry(&entry));
        pusher.push_attestations(&repo, &image.digest, &[layer])?;
        out.push(Image { reference: format!("{host}/{repo}:v2.0.0").parse()?, digest: Digest::parse(&image.digest)? });
    }
    Ok(out)
}
