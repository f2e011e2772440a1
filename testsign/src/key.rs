//! Signing keys: generation (ECDSA P-256/P-384, Ed25519, RSA-2048), signing, public-key export, and the
//! password-encrypted `cosign.key` format. Nothing here verifies signatures; that is the verifier's job.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::asn1::{self, KeyKind};
use crate::pem;

/// PEM label cosign writes for encrypted private keys.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label older cosign releases wrote for encrypted private keys (accepted when reading).
pub const LEGACY_COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// scrypt cost cosign uses: N = 2^15 = 32768.
pub const COSIGN_SCRYPT_LOG_N: u8 = 15;

/// Why a key could not be made, read, used or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The crypto library refused to generate a key.
    #[error("generating a {0} key failed")]
    Generate(Algorithm),
    /// The bytes are not a key of a supported algorithm.
    #[error("unsupported or malformed {what}: expected ECDSA P-256/P-384, Ed25519 or RSA")]
    Unsupported {
        /// Which structure was being read ("PKCS#8 private key", "SubjectPublicKeyInfo").
        what: &'static str,
    },
    /// The crypto library rejected a PKCS#8 document.
    #[error("{algorithm} PKCS#8 private key rejected: {reason}")]
    Rejected {
        /// The algorithm the document claims.
        algorithm: Algorithm,
        /// The library's reason.
        reason: String,
    },
    /// Signing failed inside the crypto library.
    #[error("signing with the {0} key failed")]
    Sign(Algorithm),
    /// A PEM document could not be read.
    #[error(transparent)]
    Pem(#[from] pem::PemError),
    /// The scrypt parameters are invalid.
    #[error("invalid scrypt parameters N=2^{log_n}, r={r}, p={p}")]
    ScryptParameters {
        /// log2 of N.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
    },
    /// The encrypted key document is not the JSON cosign writes.
    #[error("encrypted private key is malformed: {0}")]
    CosignKeyFormat(String),
    /// The secretbox did not open: wrong password or tampered ciphertext.
    #[error("decrypting the private key failed: wrong password or corrupted ciphertext")]
    Decrypt,
}

/// A key algorithm this crate can generate and sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256, ASN.1 DER signatures (cosign's default).
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384, ASN.1 DER signatures.
    EcdsaP384,
    /// Ed25519 (pure, over the message).
    Ed25519,
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
}

impl Algorithm {
    /// All algorithms, in a stable order.
    pub const ALL: [Algorithm; 4] =
        [Algorithm::EcdsaP256, Algorithm::EcdsaP384, Algorithm::Ed25519, Algorithm::Rsa2048];

    /// Short name used on the command line and in state files: `p256`, `p384`, `ed25519`, `rsa2048`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "p256",
            Algorithm::EcdsaP384 => "p384",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Rsa2048 => "rsa2048",
        }
    }

    /// The `PublicKeyDetails` name used in Sigstore trusted roots.
    #[must_use]
    pub fn key_details(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
            Algorithm::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
            Algorithm::Ed25519 => "PKIX_ED25519",
            Algorithm::Rsa2048 => "PKIX_RSA_PKCS1V15_2048_SHA256",
        }
    }

    /// The `openssl dgst` digest option matching the signature scheme (`None` for Ed25519, which signs the
    /// message itself).
    #[must_use]
    pub fn digest_name(self) -> Option<&'static str> {
        match self {
            Algorithm::EcdsaP256 | Algorithm::Rsa2048 => Some("sha256"),
            Algorithm::EcdsaP384 => Some("sha384"),
            Algorithm::Ed25519 => None,
        }
    }

    fn from_kind(kind: KeyKind) -> Self {
        match kind {
            KeyKind::P256 => Algorithm::EcdsaP256,
            KeyKind::P384 => Algorithm::EcdsaP384,
            KeyKind::Ed25519 => Algorithm::Ed25519,
            KeyKind::Rsa => Algorithm::Rsa2048,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ecdsa-p256" => Ok(Algorithm::EcdsaP256),
            "p384" | "p-384" | "ecdsa-p384" => Ok(Algorithm::EcdsaP384),
            "ed25519" => Ok(Algorithm::Ed25519),
            "rsa" | "rsa2048" | "rsa-2048" => Ok(Algorithm::Rsa2048),
            other => Err(format!("unknown key algorithm {other:?}: expected p256, p384, ed25519 or rsa2048")),
        }
    }
}

/// A public key as a DER SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: Algorithm,
    spki: Vec<u8>,
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo. RSA keys of any size report [`Algorithm::Rsa2048`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let (kind, _) = asn1::parse_spki(der).ok_or(KeyError::Unsupported { what: "SubjectPublicKeyInfo" })?;
        Ok(PublicKey { algorithm: Algorithm::from_kind(kind), spki: der.to_vec() })
    }

    /// Reads the first `PUBLIC KEY` PEM block.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::from_spki_der(&pem::decode(text, "PUBLIC KEY")?)
    }

    /// The key algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM `PUBLIC KEY` block, as `cosign.pub` holds it.
    #[must_use]
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki)
    }

    /// SHA-256 of the SubjectPublicKeyInfo: a transparency log's ID, a CT log's ID, a key hint.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.spki).into()
    }

    /// The subjectPublicKey bits inside the SPKI.
    pub(crate) fn key_bits(&self) -> &[u8] {
        asn1::parse_spki(&self.spki).map(|(_, bits)| bits).unwrap_or_default()
    }
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key with its public half, ready to sign.
pub struct KeyPair {
    algorithm: Algorithm,
    pkcs8: Vec<u8>,
    public: PublicKey,
    signer: Signer,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm)
            .field("public_sha256", &hex::encode(self.public.sha256()))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a fresh key.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let failed = |_| KeyError::Generate(algorithm);
        let pkcs8 = match algorithm {
            Algorithm::EcdsaP256 => {
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).and_then(|k| k.to_pkcs8v1()).map_err(failed)?
            }
            Algorithm::EcdsaP384 => {
                EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).and_then(|k| k.to_pkcs8v1()).map_err(failed)?
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate().and_then(|k| k.to_pkcs8v1()).map_err(failed)?,
            Algorithm::Rsa2048 => {
                let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der: Pkcs8V1Der<'static> = key.as_der().map_err(failed)?;
                return Self::from_pkcs8_der(der.as_ref());
            }
        };
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Loads a PKCS#8 (v1 or v2) DER private key; the algorithm is read from the document.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let kind = asn1::pkcs8_kind(der).ok_or(KeyError::Unsupported { what: "PKCS#8 private key" })?;
        let algorithm = Algorithm::from_kind(kind);
        let rejected = |reason: String| KeyError::Rejected { algorithm, reason };
        let (signer, spki) = match kind {
            KeyKind::P256 | KeyKind::P384 => {
                let alg = if kind == KeyKind::P256 {
                    &ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let key = EcdsaKeyPair::from_pkcs8(alg, der).map_err(|e| rejected(e.to_string()))?;
                let spki = key.public_key().as_der().map_err(|e| rejected(e.to_string()))?.as_ref().to_vec();
                (Signer::Ecdsa(key), spki)
            }
            KeyKind::Ed25519 => {
                let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| rejected(e.to_string()))?;
                let spki = key.public_key().as_der().map_err(|e| rejected(e.to_string()))?.as_ref().to_vec();
                (Signer::Ed25519(key), spki)
            }
            KeyKind::Rsa => {
                let key = RsaKeyPair::from_pkcs8(der).map_err(|e| rejected(e.to_string()))?;
                let spki = key.public_key().as_der().map_err(|e| rejected(e.to_string()))?.as_ref().to_vec();
                (Signer::Rsa(key), spki)
            }
        };
        Ok(KeyPair { algorithm, pkcs8: der.to_vec(), public: PublicKey { algorithm, spki }, signer })
    }

    /// The key algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Signs `message`: ECDSA → ASN.1 DER (r, s) over SHA-256 (P-256) or SHA-384 (P-384); Ed25519 → 64 bytes;
    /// RSA → PKCS#1 v1.5 with SHA-256.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Sign(self.algorithm);
        match &self.signer {
            Signer::Ecdsa(key) => Ok(key.sign(&SystemRandom::new(), message).map_err(failed)?.as_ref().to_vec()),
            Signer::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            Signer::Rsa(key) => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).map_err(failed)?;
                Ok(signature)
            }
        }
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public half as a PEM `PUBLIC KEY` block (`cosign.pub`).
    #[must_use]
    pub fn public_pem(&self) -> String {
        self.public.to_pem()
    }

    /// The private key as PKCS#8 DER.
    #[must_use]
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The private key as an unencrypted PEM `PRIVATE KEY` block (for tools such as openssl).
    #[must_use]
    pub fn private_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    /// The private key encrypted as `cosign generate-key-pair` writes `cosign.key`: PEM `ENCRYPTED SIGSTORE
    /// PRIVATE KEY` around JSON holding scrypt (N=32768, r=8, p=1, 32-byte salt) and a NaCl secretbox
    /// (XSalsa20-Poly1305, 24-byte nonce) over the PKCS#8 DER.
    pub fn cosign_private_key(&self, password: &[u8]) -> Result<String, KeyError> {
        self.cosign_private_key_with_cost(password, COSIGN_SCRYPT_LOG_N)
    }

    /// As [`KeyPair::cosign_private_key`] with scrypt N = 2^`log_n` (for fast tests; cosign itself uses 15).
    pub fn cosign_private_key_with_cost(&self, password: &[u8], log_n: u8) -> Result<String, KeyError> {
        let mut salt = [0u8; 32];
        let mut nonce = [0u8; 24];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyError::Generate(self.algorithm))?;
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyError::Generate(self.algorithm))?;
        let (r, p) = (8, 1);
        let secret = derive_key(password, &salt, log_n, r, p)?;
        let ciphertext = XSalsa20Poly1305::new(Key::from_slice(&secret))
            .encrypt(Nonce::from_slice(&nonce), self.pkcs8.as_slice())
            .map_err(|_| KeyError::CosignKeyFormat("secretbox sealing failed".to_owned()))?;
        let document = EncryptedKey {
            kdf: Kdf {
                name: "scrypt".to_owned(),
                params: ScryptParams { n: 1u64 << log_n, r, p },
                salt: STANDARD.encode(salt),
            },
            cipher: Cipher { name: "nacl/secretbox".to_owned(), nonce: STANDARD.encode(nonce) },
            ciphertext: STANDARD.encode(ciphertext),
        };
        let json = serde_json::to_vec(&document).map_err(|e| KeyError::CosignKeyFormat(e.to_string()))?;
        Ok(pem::encode(COSIGN_PRIVATE_KEY_LABEL, &json))
    }

    /// Decrypts a `cosign.key` document (either PEM label) with `password`.
    pub fn from_cosign_private_key(text: &str, password: &[u8]) -> Result<Self, KeyError> {
        let json = match pem::decode(text, COSIGN_PRIVATE_KEY_LABEL) {
            Ok(json) => json,
            Err(pem::PemError::Missing { .. }) => pem::decode(text, LEGACY_COSIGN_PRIVATE_KEY_LABEL)?,
            Err(other) => return Err(other.into()),
        };
        let document: EncryptedKey =
            serde_json::from_slice(&json).map_err(|e| KeyError::CosignKeyFormat(e.to_string()))?;
        if document.kdf.name != "scrypt" || document.cipher.name != "nacl/secretbox" {
            return Err(KeyError::CosignKeyFormat(format!(
                "expected kdf scrypt and cipher nacl/secretbox, found {} and {}",
                document.kdf.name, document.cipher.name
            )));
        }
        let n = document.kdf.params.n;
        if !n.is_power_of_two() || n < 2 {
            return Err(KeyError::CosignKeyFormat(format!("scrypt N must be a power of two, found {n}")));
        }
        let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
        let decode = |field: &str, value: &str| {
            STANDARD.decode(value).map_err(|e| KeyError::CosignKeyFormat(format!("{field} is not base64: {e}")))
        };
        let salt = decode("kdf.salt", &document.kdf.salt)?;
        let nonce = decode("cipher.nonce", &document.cipher.nonce)?;
        let ciphertext = decode("ciphertext", &document.ciphertext)?;
        if nonce.len() != 24 {
            return Err(KeyError::CosignKeyFormat(format!("nonce must be 24 bytes, found {}", nonce.len())));
        }
        let secret = derive_key(password, &salt, log_n, document.kdf.params.r, document.kdf.params.p)?;
        let pkcs8 = XSalsa20Poly1305::new(Key::from_slice(&secret))
            .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
            .map_err(|_| KeyError::Decrypt)?;
        Self::from_pkcs8_der(&pkcs8)
    }
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], KeyError> {
    let invalid = || KeyError::ScryptParameters { log_n, r, p };
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|_| invalid())?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out).map_err(|_| invalid())?;
    Ok(out)
}

/// JSON inside `cosign.key`, field order as go-securesystemslib `encrypted` marshals it.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}
