//! Test signer for syncgate: produces real cosign-format signing material with real keys, written from the
//! cosign, Rekor, Fulcio and Sigstore specifications and independent of syncgate's verifier.
//!
//! The pieces:
//!
//! - [`key`]: ECDSA P-256/P-384, Ed25519 and RSA-2048 keys, signing, `cosign.key` encryption.
//! - [`certificate`]: a Fulcio-like CA (root + intermediate) issuing short-lived code-signing leaves with
//!   Fulcio's OID extensions; [`ctlog`] embeds SCTs in them.
//! - [`tlog`]: a Rekor-like log (RFC 6962 Merkle tree, SETs, inclusion proofs, signed checkpoints) and the
//!   canonical entry bodies in [`tlog::body`].
//! - [`trust`]: `trusted_root.json` for all of the above.
//! - [`cosign`], [`dsse`], [`provenance`], [`bundle`]: what gets signed and how it is packaged (simple-signing
//!   payloads, `.sig`/`.att` layers, DSSE envelopes, in-toto statements, SLSA predicates, Sigstore bundles).
//! - [`registry`]: pushing it all to an OCI registry over HTTP, including cosign v3 referrers.
//! - [`environment`]: the CA and logs persisted in a directory for the command-line tool.
//!
//! Everything that ends up in a signature is reachable through public fields, so negative tests can build a
//! correct object, break one part, and serialise it.
//!
//! ```no_run
//! use syncgate_testsign::cosign::{RekorBundle, SignatureLayer, simple_signing_payload};
//! use syncgate_testsign::key::{Algorithm, KeyPair};
//! use syncgate_testsign::registry::Registry;
//! use syncgate_testsign::tlog::{TransparencyLog, body};
//! use sha2::{Digest, Sha256};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::new("http://127.0.0.1:5000");
//! let digest = registry.resolve("test/app", "v1")?;
//! let key = KeyPair::generate(Algorithm::EcdsaP256)?;
//! let payload = simple_signing_payload(&registry.docker_reference("test/app"), &digest);
//! let signature = key.sign(&payload)?;
//! let mut log = TransparencyLog::new()?;
//! let entry = log.append_now(body::hashedrekord(&signature, &key.public_pem(), &Sha256::digest(&payload)))?;
//! let layer = SignatureLayer::new(payload, &signature).with_bundle(&RekorBundle::from_entry(&entry));
//! registry.push_signatures("test/app", &digest, &[layer])?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod asn1;
pub mod bundle;
pub mod canonical;
pub mod certificate;
pub mod cosign;
pub mod ctlog;
pub mod dsse;
pub mod environment;
pub mod key;
pub mod pem;
pub mod provenance;
pub mod registry;
pub mod tlog;
pub mod trust;

pub use bundle::{Bundle, BundleContent, BundleVersion};
pub use certificate::{CertificateAuthority, GithubWorkflow, IssuedCertificate, LeafRequest, SubjectAlternativeName};
pub use cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload};
pub use ctlog::CtLog;
pub use dsse::{Envelope, Statement};
pub use environment::SigningEnvironment;
pub use key::{Algorithm, KeyPair, PublicKey};
pub use registry::Registry;
pub use tlog::{Entry, InclusionProof, TransparencyLog};
pub use trust::TrustedRoot;

/// Any failure of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Key generation, loading or signing.
    #[error(transparent)]
    Key(#[from] key::KeyError),
    /// Certificate issuance.
    #[error(transparent)]
    Certificate(#[from] certificate::CertificateError),
    /// Transparency log.
    #[error(transparent)]
    Log(#[from] tlog::LogError),
    /// Registry access.
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    /// Persisted environment.
    #[error(transparent)]
    Environment(#[from] environment::EnvironmentError),
}
