//! `syncgate-testsign`: command-line front end of the test signer, for benchmarks and examples. Generates
//! cosign key pairs and a persisted CA/log environment, pushes test images, and signs or attests images in a
//! registry in cosign's legacy (`.sig`/`.att`) or v3 bundle (referrer) format.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use syncgate_testsign::bundle::{Bundle, BundleContent, BundleVersion, Signer};
use syncgate_testsign::certificate::{
    GITHUB_ACTIONS_ISSUER, GithubWorkflow, IssuedCertificate, LeafRequest, SubjectAlternativeName,
};
use syncgate_testsign::cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload_with};
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::environment::{self, EnvironmentLock, SigningEnvironment, TRUSTED_ROOT_FILE};
use syncgate_testsign::key::{Algorithm, COSIGN_SCRYPT_LOG_N, KeyPair};
use syncgate_testsign::registry::Registry;
use syncgate_testsign::tlog::{Entry, body};

type Failure = Box<dyn std::error::Error>;

/// Test signer producing real cosign-format signatures, attestations and Sigstore bundles.
#[derive(Parser)]
#[command(name = "syncgate-testsign", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write cosign.key (encrypted with $COSIGN_PASSWORD, empty if unset) and cosign.pub.
    Keygen {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Key algorithm: p256, p384, ed25519, rsa2048.
        #[arg(long, default_value = "p256")]
        algorithm: Algorithm,
        /// scrypt cost as log2(N); cosign uses 15.
        #[arg(long, default_value_t = COSIGN_SCRYPT_LOG_N)]
        scrypt_log_n: u8,
    },
    /// Create (or keep) a CA, transparency log and CT log in DIR and write trusted_root.json.
    Env {
        /// Environment directory.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing environment.
        #[arg(long)]
        force: bool,
    },
    /// Push a small single-layer test image and print its digest.
    PushImage {
        /// Registry base URL, e.g. http://127.0.0.1:5000.
        #[arg(long)]
        registry: String,
        /// Image as repo:tag.
        #[arg(long)]
        image: String,
        /// Content of /hello in the image.
        #[arg(long, default_value = "hello\n")]
        content: String,
    },
    /// Sign an image: simple-signing `.sig` layer (legacy) or cosign v3 DSSE bundle referrer (bundle).
    Sign {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// Annotations (key=value) for the signed payload.
        #[arg(short = 'a', long = "annotation")]
        annotations: Vec<String>,
    },
    /// Sign a file and write a Sigstore bundle (message signature, or a DSSE statement about the file).
    SignBlob {
        /// File to sign.
        #[arg(long)]
        file: PathBuf,
        /// Where to write the bundle JSON.
        #[arg(long)]
        bundle: PathBuf,
        /// Bundle version: 0.1, 0.2 or 0.3.
        #[arg(long, default_value = "0.3")]
        bundle_version: String,
        /// Wrap an in-toto statement with this predicate type in DSSE instead of signing the file directly.
        #[arg(long)]
        predicate_type: Option<String>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Attest an image with an in-toto statement: `.att` layer (legacy) or bundle referrer (bundle).
    Attest {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// Predicate type URI.
        #[arg(long)]
        predicate_type: String,
        /// JSON file holding the predicate.
        #[arg(long)]
        predicate: PathBuf,
        /// Rekor entry type for legacy attestations.
        #[arg(long, value_enum, default_value_t = EntryKind::Dsse)]
        tlog_kind: EntryKind,
    },
}

#[derive(Args)]
struct Target {
    /// Registry base URL, e.g. http://127.0.0.1:5000.
    #[arg(long)]
    registry: String,
    /// Image as repo:tag or repo@sha256:….
    #[arg(long)]
    image: String,
    /// legacy (`.sig`/`.att` tags) or bundle (v0.3 bundle referrer + tag-schema index).
    #[arg(long, value_enum, default_value_t = Format::Legacy)]
    format: Format,
}

#[derive(Args)]
struct SignerArgs {
    /// cosign.key to sign with (password from $COSIGN_PASSWORD).
    #[arg(long, conflicts_with = "keyless")]
    key: Option<PathBuf>,
    /// Sign with an ephemeral key and a certificate from the environment's CA.
    #[arg(long)]
    keyless: bool,
    /// Environment directory (CA + logs); created if missing. Required for keyless and bundle signing; with
    /// --key it adds a transparency-log entry.
    #[arg(long)]
    env: Option<PathBuf>,
    /// Certificate identity: a URI (contains "://") or an e-mail address.
    #[arg(long)]
    identity: Option<String>,
    /// OIDC issuer written to the certificate.
    #[arg(long, default_value = GITHUB_ACTIONS_ISSUER)]
    issuer: String,
    /// Use a GitHub Actions identity for owner/repo instead of --identity.
    #[arg(long)]
    github_repo: Option<String>,
    /// Workflow file of the GitHub identity.
    #[arg(long, default_value = ".github/workflows/release.yml")]
    github_workflow: String,
    /// Git ref of the GitHub identity.
    #[arg(long, default_value = "refs/heads/main")]
    github_ref: String,
    /// Commit SHA of the GitHub identity (default: derived from the repository name).
    #[arg(long)]
    github_sha: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Legacy,
    Bundle,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EntryKind {
    Dsse,
    Intoto,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out, algorithm, scrypt_log_n } => keygen(&out, algorithm, scrypt_log_n),
        Command::Env { out, force } => environment(&out, force),
        Command::PushImage { registry, image, content } => push_image(&registry, &image, &content),
        Command::Sign { target, signer, annotations } => sign(&target, &signer, &annotations),
        Command::SignBlob { file, bundle, bundle_version, predicate_type, signer } => {
            sign_blob(&file, &bundle, &bundle_version, predicate_type.as_deref(), &signer)
        }
        Command::Attest { target, signer, predicate_type, predicate, tlog_kind } => {
            attest(&target, &signer, &predicate_type, &predicate, tlog_kind)
        }
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(2)
        }
    }
}

fn password() -> Vec<u8> {
    std::env::var("COSIGN_PASSWORD").unwrap_or_default().into_bytes()
}

fn write(path: &Path, content: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, content).map_err(|e| format!("writing {}: {e}", path.display()).into())
}

fn keygen(out: &Path, algorithm: Algorithm, scrypt_log_n: u8) -> Result<Value, Failure> {
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let key = KeyPair::generate(algorithm)?;
    write(&out.join("cosign.key"), key.cosign_private_key_with_cost(&password(), scrypt_log_n)?.as_bytes())?;
    write(&out.join("cosign.pub"), key.public_pem().as_bytes())?;
    Ok(
        json!({"privateKey": out.join("cosign.key"), "publicKey": out.join("cosign.pub"), "algorithm": algorithm.name()}),
    )
}

fn environment(out: &Path, force: bool) -> Result<Value, Failure> {
    let _lock = environment::lock(out)?;
    let environment = if force { SigningEnvironment::generate()? } else { SigningEnvironment::load_or_create(out)? };
    environment.save(out)?;
    Ok(json!({
        "trustedRoot": out.join(TRUSTED_ROOT_FILE),
        "logId": environment.log.log_id(),
        "logSize": environment.log.size(),
    }))
}

/// Splits `repo:tag` or `repo@digest`.
fn split_image(image: &str) -> Result<(&str, &str), Failure> {
    if let Some((repo, digest)) = image.split_once('@') {
        return Ok((repo, digest));
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(colon) => Ok((&image[..slash + colon], &image[slash + colon + 1..])),
        None => Err(format!("image {image:?} needs a tag or digest (repo:tag or repo@sha256:…)").into()),
    }
}

fn push_image(registry: &str, image: &str, content: &str) -> Result<Value, Failure> {
    let (repo, tag) = split_image(image)?;
    let registry = Registry::new(registry);
    let descriptor = registry.push_image(repo, tag, &[("hello", content.as_bytes())])?;
    Ok(
        json!({"image": format!("{}@{}", registry.docker_reference(repo), descriptor.digest), "digest": descriptor.digest}),
    )
}

/// The key that signs, and what identifies it in the log and in bundles.
struct Signing {
    key: KeyPair,
    certificate: Option<IssuedCertificate>,
    environment: Option<(SigningEnvironment, PathBuf)>,
    _lock: Option<EnvironmentLock>,
}

impl Signing {
    fn new(args: &SignerArgs) -> Result<Self, Failure> {
        let lock = args.env.as_deref().map(environment::lock).transpose()?;
        let mut environment = match &args.env {
            Some(dir) => Some((SigningEnvironment::load_or_create(dir)?, dir.clone())),
            None => None,
        };
        if let Some(path) = &args.key {
            let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            let key = KeyPair::from_cosign_private_key(&text, &password())?;
            return Ok(Signing { key, certificate: None, environment, _lock: lock });
        }
        if !args.keyless {
            return Err("choose --key FILE or --keyless".into());
        }
        let Some((env, _)) = environment.as_mut() else {
            return Err("--keyless needs --env DIR (the CA and logs to use)".into());
        };
        let key = KeyPair::generate(Algorithm::EcdsaP256)?;
        let request = match (&args.github_repo, &args.identity) {
            (Some(repo), _) => {
                let sha =
                    args.github_sha.clone().unwrap_or_else(|| hex::encode(&Sha256::digest(repo.as_bytes())[..20]));
                GithubWorkflow::new(repo, &args.github_workflow, &args.github_ref, &sha)
                    .leaf_request(key.public_key().clone())
            }
            (None, Some(identity)) => {
                let subject = if identity.contains("://") {
                    SubjectAlternativeName::Uri(identity.clone())
                } else {
                    SubjectAlternativeName::Email(identity.clone())
                };
                LeafRequest::new(key.public_key().clone(), subject, &args.issuer)
            }
            (None, None) => return Err("--keyless needs --identity or --github-repo".into()),
        };
        let certificate = env.issue(&request)?;
        Ok(Signing { key, certificate: Some(certificate), environment, _lock: lock })
    }

    /// PEM of what the log records as the verifier: the certificate, or the public key.
    fn signer_pem(&self) -> String {
        self.certificate.as_ref().map_or_else(|| self.key.public_pem(), |c| c.pem.clone())
    }

    fn bundle_signer(&self) -> Signer<'_> {
        self.certificate.as_ref().map_or_else(|| Signer::PublicKey(self.key.public_key()), Signer::Certificate)
    }

    /// Appends `body` to the environment's log (if any) and saves the environment.
    fn log(&mut self, body: Vec<u8>) -> Result<Option<Entry>, Failure> {
        let Some((environment, dir)) = self.environment.as_mut() else {
            return Ok(None);
        };
        let entry = environment.log_now(body)?;
        environment.save(dir)?;
        Ok(Some(entry))
    }
}

fn bundle_needs_log(entry: Option<Entry>) -> Result<Entry, Failure> {
    entry.ok_or_else(|| "--format bundle needs a transparency log entry: pass --env DIR".into())
}

fn sign(target: &Target, args: &SignerArgs, annotations: &[String]) -> Result<Value, Failure> {
    let (repo, reference) = split_image(&target.image)?;
    let registry = Registry::new(&target.registry);
    let subject = registry.head_manifest(repo, reference)?;
    let mut signing = Signing::new(args)?;
    let mut optional = BTreeMap::new();
    for annotation in annotations {
        let (k, v) = annotation.split_once('=').ok_or_else(|| format!("annotation {annotation:?} is not key=value"))?;
        optional.insert(k.to_owned(), Value::String(v.to_owned()));
    }

    let (pushed, entry) = match target.format {
        Format::Legacy => {
            let payload = simple_signing_payload_with(
                &registry.docker_reference(repo),
                &subject.digest,
                (!optional.is_empty()).then_some(&optional),
            );
            let signature = signing.key.sign(&payload)?;
            let entry =
                signing.log(body::hashedrekord(&signature, &signing.signer_pem(), &Sha256::digest(&payload)))?;
            let mut layer = SignatureLayer::new(payload, &signature);
            if let Some(certificate) = &signing.certificate {
                layer = layer.with_certificate(certificate);
            }
            if let Some(entry) = &entry {
                layer = layer.with_bundle(&RekorBundle::from_entry(entry));
            }
            (registry.push_signatures(repo, &subject.digest, &[layer])?, entry)
        }
        Format::Bundle => {
            let mut statement = Statement::cosign_sign(&subject.digest);
            if !optional.is_empty() {
                statement.subjects[0].annotations = Some(optional.into_iter().collect());
            }
            let envelope = Envelope::sign_statement(&statement, &signing.key)?;
            let entry = bundle_needs_log(signing.log(body::dsse_body(&envelope, &signing.signer_pem()))?)?;
            let bundle =
                Bundle::new(BundleVersion::V0_3, signing.bundle_signer(), BundleContent::Dsse(envelope), &entry);
            let pushed = registry.push_referrer_bundle(
                repo,
                &subject,
                bundle.to_json().as_bytes(),
                Some(&statement.predicate_type),
            )?;
            (pushed, Some(entry))
        }
    };
    Ok(summary(&registry, repo, &subject.digest, &pushed.digest, entry.as_ref()))
}

fn sign_blob(
    file: &Path,
    out: &Path,
    version: &str,
    predicate_type: Option<&str>,
    args: &SignerArgs,
) -> Result<Value, Failure> {
    let version = match version {
        "0.1" => BundleVersion::V0_1,
        "0.2" => BundleVersion::V0_2,
        "0.3" => BundleVersion::V0_3,
        other => return Err(format!("unknown bundle version {other:?}: expected 0.1, 0.2 or 0.3").into()),
    };
    let artifact = std::fs::read(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let digest = Sha256::digest(&artifact);
    let mut signing = Signing::new(args)?;
    let (content, body) = match predicate_type {
        None => {
            let signature = signing.key.sign(&artifact)?;
            let body = body::hashedrekord(&signature, &signing.signer_pem(), &digest);
            (BundleContent::message_signature(&digest, &signature), body)
        }
        Some(predicate_type) => {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let statement = Statement::new(&name, &hex::encode(digest), predicate_type, json!({}));
            let envelope = Envelope::sign_statement(&statement, &signing.key)?;
            let body = body::dsse_body(&envelope, &signing.signer_pem());
            (BundleContent::Dsse(envelope), body)
        }
    };
    let entry = bundle_needs_log(signing.log(body)?)?;
    let bundle = Bundle::new(version, signing.bundle_signer(), content, &entry);
    write(out, bundle.to_json().as_bytes())?;
    Ok(json!({"bundle": out, "sha256": hex::encode(digest), "logIndex": entry.log_index}))
}

fn attest(
    target: &Target,
    args: &SignerArgs,
    predicate_type: &str,
    predicate: &Path,
    kind: EntryKind,
) -> Result<Value, Failure> {
    let (repo, reference) = split_image(&target.image)?;
    let registry = Registry::new(&target.registry);
    let subject = registry.head_manifest(repo, reference)?;
    let text = std::fs::read(predicate).map_err(|e| format!("reading {}: {e}", predicate.display()))?;
    let predicate: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{} is not JSON: {e}", predicate.display()))?;
    let mut signing = Signing::new(args)?;
    let statement = Statement::new(&registry.docker_reference(repo), &subject.digest, predicate_type, predicate);
    let envelope = Envelope::sign_statement(&statement, &signing.key)?;

    let (pushed, entry) = match target.format {
        Format::Legacy => {
            let body = match kind {
                EntryKind::Dsse => body::dsse_body(&envelope, &signing.signer_pem()),
                EntryKind::Intoto => body::intoto_body(&envelope, &signing.signer_pem()),
            };
            let entry = signing.log(body)?;
            let mut layer = AttestationLayer::new(&envelope, predicate_type);
            if let Some(certificate) = &signing.certificate {
                layer = layer.with_certificate(certificate);
            }
            if let Some(entry) = &entry {
                layer = layer.with_bundle(&RekorBundle::from_entry(entry));
            }
            (registry.push_attestations(repo, &subject.digest, &[layer])?, entry)
        }
        Format::Bundle => {
            let entry = bundle_needs_log(signing.log(body::dsse_body(&envelope, &signing.signer_pem()))?)?;
            let bundle =
                Bundle::new(BundleVersion::V0_3, signing.bundle_signer(), BundleContent::Dsse(envelope), &entry);
            let pushed =
                registry.push_referrer_bundle(repo, &subject, bundle.to_json().as_bytes(), Some(predicate_type))?;
            (pushed, Some(entry))
        }
    };
    Ok(summary(&registry, repo, &subject.digest, &pushed.digest, entry.as_ref()))
}

fn summary(registry: &Registry, repo: &str, digest: &str, pushed: &str, entry: Option<&Entry>) -> Value {
    json!({
        "image": format!("{}@{digest}", registry.docker_reference(repo)),
        "digest": digest,
        "pushed": pushed,
        "logIndex": entry.map(|e| e.log_index),
    })
}
