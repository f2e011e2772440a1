//! Public keys that verify signatures: SubjectPublicKeyInfo parsing (PEM or DER), the four
//! algorithms Sigstore and cosign sign with, verification, fingerprints, and the PEM reader shared
//! with certificates.
//!
//! Supported: ECDSA P-256 with SHA-256, ECDSA P-384 with SHA-384 (signatures in ASN.1 DER, as cosign
//! writes them), Ed25519, and RSA PKCS#1 v1.5 with SHA-256 for moduli of 2048 to 8192 bits (cosign's
//! default for RSA keys). Anything else is refused when the key is read, naming what was found, so a
//! key that loads is a key that can verify. This module never fetches keys and knows nothing of
//! certificates, logs or policies.

use std::fmt;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use x509_parser::asn1_rs::Tag;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey as ParsedSpkiKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// PEM label of a SubjectPublicKeyInfo block.
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// `rsaEncryption` (RFC 8017).
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// `id-ecPublicKey` (RFC 5480).
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// `id-Ed25519` (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";
/// `prime256v1` / `secp256r1` / NIST P-256.
const OID_CURVE_P256: &str = "1.2.840.10045.3.1.7";
/// `secp384r1` / NIST P-384.
const OID_CURVE_P384: &str = "1.3.132.0.34";

/// Smallest RSA modulus accepted, in bits.
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const RSA_MAX_BITS: usize = 8192;

/// Names of public key algorithms that are recognised but not supported, for error messages.
const KNOWN_ALGORITHMS: [(&str, &str); 10] = [
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.3.101.113", "Ed448"),
    ("1.3.132.1.12", "ECDH"),
    ("1.2.156.10197.1.301", "SM2"),
    ("2.16.840.1.101.3.4.3.17", "ML-DSA-44"),
    ("2.16.840.1.101.3.4.3.18", "ML-DSA-65"),
    ("2.16.840.1.101.3.4.3.19", "ML-DSA-87"),
];

/// Names of elliptic curves that are recognised but not supported, for error messages.
const KNOWN_CURVES: [(&str, &str); 7] = [
    ("1.3.132.0.35", "P-521 (secp521r1)"),
    ("1.3.132.0.10", "secp256k1"),
    ("1.3.132.0.33", "P-224 (secp224r1)"),
    ("1.2.840.10045.3.1.1", "P-192 (prime192v1)"),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
];

/// A signature scheme: key type and the hash it signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256; signatures are ASN.1 DER `Ecdsa-Sig-Value`.
    EcdsaP256Sha256,
    /// ECDSA on NIST P-384 with SHA-384; signatures are ASN.1 DER `Ecdsa-Sig-Value`.
    EcdsaP384Sha384,
    /// Ed25519 (pure EdDSA over the whole message).
    Ed25519,
    /// RSA PKCS#1 v1.5 with SHA-256, any modulus from 2048 to 8192 bits.
    RsaPkcs1Sha256,
}

impl KeyAlgorithm {
    /// The aws-lc-rs verification algorithm for this scheme.
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::Ed25519 => &signature::ED25519,
            Self::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EcdsaP256Sha256 => "ECDSA P-256 SHA-256",
            Self::EcdsaP384Sha384 => "ECDSA P-384 SHA-384",
            Self::Ed25519 => "Ed25519",
            Self::RsaPkcs1Sha256 => "RSA PKCS#1 v1.5 SHA-256",
        })
    }
}

/// A PEM text that does not hold the block that was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// The text holds no `-----BEGIN …-----` line at all.
    #[error("no PEM block found: expected a \"-----BEGIN {expected}-----\" line")]
    NoBlock {
        /// The label that was expected.
        expected: &'static str,
    },
    /// A block has another label than the one expected.
    #[error("expected a PEM block labelled \"{expected}\", found \"{found}\"{}", label_hint(found))]
    WrongLabel {
        /// The label that was expected.
        expected: &'static str,
        /// The label found.
        found: String,
    },
    /// More blocks than allowed.
    #[error("expected exactly one PEM block labelled \"{expected}\", found {count}")]
    TooManyBlocks {
        /// The label that was expected.
        expected: &'static str,
        /// How many blocks there are.
        count: usize,
    },
    /// A block is structurally broken: no END line, headers, bad base64, nothing inside.
    #[error("malformed PEM at line {line}: {reason}")]
    Malformed {
        /// 1-based line number where the problem is.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Advice appended to a wrong-label message for labels people commonly paste by mistake.
fn label_hint(found: &str) -> &'static str {
    match found {
        "RSA PUBLIC KEY" => {
            " (a PKCS#1 RSA key; convert it to a SubjectPublicKeyInfo with \
             `openssl rsa -RSAPublicKey_in -in key.pem -pubout`)"
        }
        label if label.contains("PRIVATE KEY") => " (a private key; give the public key instead)",
        _ => "",
    }
}

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    /// The label between `BEGIN ` and `-----`.
    pub(crate) label: String,
    /// The decoded contents.
    pub(crate) der: Vec<u8>,
}

/// Reads every PEM block of `text` (RFC 7468): text around and between blocks is ignored, lines may
/// end in CRLF and carry surrounding whitespace. Blocks with headers (legacy encrypted PEM) are refused.
pub(crate) fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, PemError> {
    /// The block being read: label, line of its BEGIN, base64 collected so far.
    struct Open<'a> {
        label: &'a str,
        line: usize,
        base64: String,
    }

    let mut blocks = Vec::new();
    let mut open: Option<Open<'_>> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        let begin = line.strip_prefix("-----BEGIN ").and_then(|rest| rest.strip_suffix("-----"));
        let Some(block) = open.as_mut() else {
            if let Some(label) = begin {
                open = Some(Open { label, line: line_no, base64: String::new() });
            }
            continue;
        };
        if let Some(end) = line.strip_prefix("-----END ").and_then(|rest| rest.strip_suffix("-----")) {
            if end != block.label {
                return Err(PemError::Malformed {
                    line: line_no,
                    reason: format!(
                        "\"-----END {end}-----\" closes the \"{}\" block opened at line {}",
                        block.label, block.line
                    ),
                });
            }
            if block.base64.is_empty() {
                return Err(PemError::Malformed {
                    line: block.line,
                    reason: format!("the \"{}\" block is empty", block.label),
                });
            }
            let der = STANDARD.decode(block.base64.as_bytes()).map_err(|error| PemError::Malformed {
                line: block.line,
                reason: format!("the \"{}\" block is not valid base64: {error}", block.label),
            })?;
            blocks.push(PemBlock { label: block.label.to_owned(), der });
            open = None;
        } else if begin.is_some() {
            return Err(PemError::Malformed {
                line: line_no,
                reason: format!(
                    "a new block begins before the \"{}\" block opened at line {} ends",
                    block.label, block.line
                ),
            });
        } else if line.contains(':') {
            return Err(PemError::Malformed {
                line: line_no,
                reason: format!(
                    "the \"{}\" block has headers (\"{line}\"); encrypted or annotated PEM is not supported",
                    block.label
                ),
            });
        } else {
            block.base64.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    if let Some(block) = open {
        return Err(PemError::Malformed {
            line: block.line,
            reason: format!("the \"{}\" block has no \"-----END {}-----\" line", block.label, block.label),
        });
    }
    Ok(blocks)
}

/// The contents of every block of `text`, all of which must be labelled `label`; at least one.
pub(crate) fn pem_blocks_labelled(text: &str, label: &'static str) -> Result<Vec<Vec<u8>>, PemError> {
    let blocks = pem_blocks(text)?;
    if blocks.is_empty() {
        return Err(PemError::NoBlock { expected: label });
    }
    blocks
        .into_iter()
        .map(|block| {
            if block.label == label {
                Ok(block.der)
            } else {
                Err(PemError::WrongLabel { expected: label, found: block.label })
            }
        })
        .collect()
}

/// The contents of the single block of `text`, which must be labelled `label`.
pub(crate) fn pem_block_labelled(text: &str, label: &'static str) -> Result<Vec<u8>, PemError> {
    let mut blocks = pem_blocks_labelled(text, label)?;
    match blocks.pop() {
        Some(der) if blocks.is_empty() => Ok(der),
        _ => Err(PemError::TooManyBlocks { expected: label, count: blocks.len() + 1 }),
    }
}

/// `der` as a PEM block labelled `label`, base64 lines of 64 characters, LF line ends.
pub(crate) fn encode_pem(label: &str, der: &[u8]) -> String {
    let mut pem = String::new();
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\n");
    for (index, character) in STANDARD.encode(der).chars().enumerate() {
        if index > 0 && index % 64 == 0 {
            pem.push('\n');
        }
        pem.push(character);
    }
    pem.push_str("\n-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    pem
}

/// Why a public key cannot be read, or a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The PEM text holds no single `PUBLIC KEY` block.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The bytes are not a DER SubjectPublicKeyInfo.
    #[error("not a valid SubjectPublicKeyInfo: {reason}")]
    Spki {
        /// What the DER parser said.
        reason: String,
    },
    /// The key algorithm is not one of the four supported.
    #[error(
        "unsupported public key algorithm {}{oid}{}: expected ECDSA P-256, ECDSA P-384, Ed25519 or RSA",
        name.map_or(String::new(), |name| format!("{name} (")),
        if name.is_some() { ")" } else { "" }
    )]
    UnsupportedAlgorithm {
        /// The algorithm OID found.
        oid: String,
        /// Its name, when known.
        name: Option<&'static str>,
    },
    /// An EC key on a curve other than P-256 and P-384.
    #[error(
        "unsupported elliptic curve {}{oid}{}: expected P-256 (1.2.840.10045.3.1.7) or P-384 (1.3.132.0.34)",
        name.map_or(String::new(), |name| format!("{name} (")),
        if name.is_some() { ")" } else { "" }
    )]
    UnsupportedCurve {
        /// The curve OID found.
        oid: String,
        /// Its name, when known.
        name: Option<&'static str>,
    },
    /// The algorithm parameters do not fit the algorithm (an EC key without a named curve, say).
    #[error("invalid {algorithm} key parameters: {reason}")]
    Parameters {
        /// The algorithm, as named in the SubjectPublicKeyInfo.
        algorithm: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An RSA modulus outside 2048..=8192 bits.
    #[error("RSA key of {bits} bits: expected {RSA_MIN_BITS} to {RSA_MAX_BITS} bits")]
    RsaKeySize {
        /// The modulus length found.
        bits: usize,
    },
    /// The key material does not decode for its algorithm (an EC point off the curve, say).
    #[error("invalid {algorithm} public key: {reason}")]
    InvalidKey {
        /// The algorithm.
        algorithm: KeyAlgorithm,
        /// What the cryptographic library said.
        reason: String,
    },
    /// The signature does not verify over the message with this key.
    #[error("signature does not verify with the {algorithm} key {fingerprint}")]
    BadSignature {
        /// The key's algorithm.
        algorithm: KeyAlgorithm,
        /// The key's fingerprint (`sha256:<hex>`).
        fingerprint: String,
    },
}

/// A public key able to verify signatures, with the SubjectPublicKeyInfo it was read from.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    parsed: ParsedPublicKey,
}

impl PublicKey {
    /// Reads the single `PUBLIC KEY` (SubjectPublicKeyInfo) PEM block of `pem`; text around it is ignored.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_block_labelled(pem, PUBLIC_KEY_LABEL)?;
        Self::from_spki_der(&der)
    }

    /// Reads a DER SubjectPublicKeyInfo, refusing unsupported algorithms, curves and RSA sizes.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let (rest, spki) = SubjectPublicKeyInfo::from_der(der)
            .map_err(|error| KeyError::Spki { reason: describe_der_error(&error) })?;
        if !rest.is_empty() {
            return Err(KeyError::Spki { reason: format!("{} bytes of trailing data", rest.len()) });
        }
        if spki.subject_public_key.unused_bits != 0 {
            return Err(KeyError::Spki {
                reason: format!(
                    "the key bit string has {} unused bits, expected 0",
                    spki.subject_public_key.unused_bits
                ),
            });
        }
        let algorithm = spki_algorithm(&spki)?;
        let parsed = ParsedPublicKey::new(algorithm.verification(), der)
            .map_err(|rejected| KeyError::InvalidKey { algorithm, reason: rejected.to_string() })?;
        Ok(Self { algorithm, spki: der.to_vec(), parsed })
    }

    /// Checks that `signature` is a valid signature of `message` (ECDSA signatures in ASN.1 DER).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| KeyError::BadSignature { algorithm: self.algorithm, fingerprint: self.fingerprint() })
    }

    /// The signature scheme of this key.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo, exactly as read.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// `sha256:<lowercase hex>` of the DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki)))
    }

    /// The key as a `PUBLIC KEY` PEM block.
    #[must_use]
    pub fn to_pem(&self) -> String {
        encode_pem(PUBLIC_KEY_LABEL, &self.spki)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.spki == other.spki
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The supported scheme a SubjectPublicKeyInfo describes, or why it is not supported.
fn spki_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> Result<KeyAlgorithm, KeyError> {
    let oid = spki.algorithm.algorithm.to_id_string();
    let parameters = spki.algorithm.parameters.as_ref();
    match oid.as_str() {
        OID_EC_PUBLIC_KEY => {
            let Some(parameters) = parameters else {
                return Err(KeyError::Parameters { algorithm: "EC", reason: "no named curve".to_owned() });
            };
            let curve = parameters.as_oid().map_err(|_| KeyError::Parameters {
                algorithm: "EC",
                reason: format!(
                    "expected a named curve OID, found ASN.1 tag {}; explicit curve parameters are not supported",
                    parameters.tag()
                ),
            })?;
            match curve.to_id_string().as_str() {
                OID_CURVE_P256 => Ok(KeyAlgorithm::EcdsaP256Sha256),
                OID_CURVE_P384 => Ok(KeyAlgorithm::EcdsaP384Sha384),
                other => {
                    Err(KeyError::UnsupportedCurve { oid: other.to_owned(), name: known_name(&KNOWN_CURVES, other) })
                }
            }
        }
        OID_ED25519 => match parameters {
            None => Ok(KeyAlgorithm::Ed25519),
            Some(parameters) => Err(KeyError::Parameters {
                algorithm: "Ed25519",
                reason: format!("parameters must be absent, found ASN.1 tag {}", parameters.tag()),
            }),
        },
        OID_RSA_ENCRYPTION => {
            if let Some(parameters) = parameters
                && parameters.tag() != Tag::Null
            {
                return Err(KeyError::Parameters {
                    algorithm: "RSA",
                    reason: format!("parameters must be NULL, found ASN.1 tag {}", parameters.tag()),
                });
            }
            let bits = match spki.parsed() {
                Ok(ParsedSpkiKey::RSA(rsa)) => modulus_bits(rsa.modulus),
                _ => return Err(KeyError::Spki { reason: "the RSA key is not a valid RSAPublicKey".to_owned() }),
            };
            if (RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                Ok(KeyAlgorithm::RsaPkcs1Sha256)
            } else {
                Err(KeyError::RsaKeySize { bits })
            }
        }
        other => {
            Err(KeyError::UnsupportedAlgorithm { oid: other.to_owned(), name: known_name(&KNOWN_ALGORITHMS, other) })
        }
    }
}

/// What the DER parser said, without its Rust debug wrapping.
pub(crate) fn describe_der_error(error: &x509_parser::nom::Err<X509Error>) -> String {
    match error {
        x509_parser::nom::Err::Error(error) | x509_parser::nom::Err::Failure(error) => error.to_string(),
        x509_parser::nom::Err::Incomplete(_) => "truncated DER".to_owned(),
    }
}

/// The name of `oid` in `table`, if listed.
fn known_name(table: &[(&str, &'static str)], oid: &str) -> Option<&'static str> {
    table.iter().find(|(known, _)| *known == oid).map(|(_, name)| *name)
}

/// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
fn modulus_bits(modulus: &[u8]) -> usize {
    let significant: &[u8] = match modulus.iter().position(|byte| *byte != 0) {
        Some(first) => &modulus[first..],
        None => &[],
    };
    match significant.first() {
        Some(first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
        RSA_PKCS1_SHA256, RsaKeyPair,
    };

    use super::*;

    /// Signs a message with a test key.
    type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;

    /// A freshly generated key: its SPKI DER and its signer.
    struct TestKey {
        spki: Vec<u8>,
        sign: Signer,
    }

    fn test_key(algorithm: KeyAlgorithm) -> TestKey {
        match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 | KeyAlgorithm::EcdsaP384Sha384 => {
                let signing = if algorithm == KeyAlgorithm::EcdsaP256Sha256 {
                    &ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let pair = EcdsaKeyPair::generate(signing).unwrap();
                let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
                let sign =
                    Box::new(move |message: &[u8]| pair.sign(&SystemRandom::new(), message).unwrap().as_ref().to_vec());
                TestKey { spki, sign }
            }
            KeyAlgorithm::Ed25519 => {
                let pair = Ed25519KeyPair::generate().unwrap();
                let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
                TestKey { spki, sign: Box::new(move |message: &[u8]| pair.sign(message).as_ref().to_vec()) }
            }
            KeyAlgorithm::RsaPkcs1Sha256 => rsa_key(KeySize::Rsa2048),
        }
    }

    fn rsa_key(size: KeySize) -> TestKey {
        let pair = RsaKeyPair::generate(size).unwrap();
        let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
        let sign = Box::new(move |message: &[u8]| {
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
            signature
        });
        TestKey { spki, sign }
    }

    const ALL: [KeyAlgorithm; 4] = [
        KeyAlgorithm::EcdsaP256Sha256,
        KeyAlgorithm::EcdsaP384Sha384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::RsaPkcs1Sha256,
    ];

    /// A DER TLV with a short or long length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(u8::try_from(len).unwrap());
        } else if len < 0x100 {
            out.extend([0x81, u8::try_from(len).unwrap()]);
        } else {
            out.extend([0x82, u8::try_from(len >> 8).unwrap(), u8::try_from(len & 0xff).unwrap()]);
        }
        out.extend_from_slice(content);
        out
    }

    /// A SubjectPublicKeyInfo with the given algorithm OID (DER content bytes), parameters and key bits.
    fn spki(algorithm_oid: &[u8], parameters: Option<&[u8]>, key: &[u8]) -> Vec<u8> {
        let mut algorithm = tlv(0x06, algorithm_oid);
        if let Some(parameters) = parameters {
            algorithm.extend_from_slice(parameters);
        }
        let mut bits = vec![0];
        bits.extend_from_slice(key);
        let mut body = tlv(0x30, &algorithm);
        body.extend(tlv(0x03, &bits));
        tlv(0x30, &body)
    }

    #[test]
    fn every_algorithm_verifies_and_rejects_a_tampered_message() {
        for algorithm in ALL {
            let key = test_key(algorithm);
            let public = PublicKey::from_spki_der(&key.spki).unwrap();
            assert_eq!(public.algorithm(), algorithm);
            assert_eq!(public.spki_der(), key.spki.as_slice());
            let signature = (key.sign)(b"payload");
            public.verify(b"payload", &signature).unwrap();
            let error = public.verify(b"payloaD", &signature).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("signature does not verify with the {algorithm} key {}", public.fingerprint())
            );
            let mut tampered = signature.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert!(public.verify(b"payload", &tampered).is_err(), "{algorithm}: tampered signature accepted");
        }
    }

    #[test]
    fn a_signature_by_another_key_is_rejected() {
        for algorithm in ALL {
            let signer = test_key(algorithm);
            let other = PublicKey::from_spki_der(&test_key(algorithm).spki).unwrap();
            let signature = (signer.sign)(b"payload");
            assert!(matches!(other.verify(b"payload", &signature), Err(KeyError::BadSignature { .. })));
        }
    }

    #[test]
    fn a_signature_of_another_algorithm_is_rejected() {
        let ecdsa = test_key(KeyAlgorithm::EcdsaP256Sha256);
        let ed25519 = PublicKey::from_spki_der(&test_key(KeyAlgorithm::Ed25519).spki).unwrap();
        assert!(ed25519.verify(b"payload", &(ecdsa.sign)(b"payload")).is_err());
    }

    #[test]
    fn larger_rsa_keys_are_supported() {
        let key = rsa_key(KeySize::Rsa4096);
        let public = PublicKey::from_spki_der(&key.spki).unwrap();
        assert_eq!(public.algorithm(), KeyAlgorithm::RsaPkcs1Sha256);
        public.verify(b"payload", &(key.sign)(b"payload")).unwrap();
    }

    #[test]
    fn fingerprint_is_sha256_of_the_spki() {
        let key = test_key(KeyAlgorithm::Ed25519);
        let public = PublicKey::from_spki_der(&key.spki).unwrap();
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(&key.spki)));
        assert_eq!(public.fingerprint(), expected);
        assert_eq!(public.fingerprint().len(), "sha256:".len() + 64);
    }

    #[test]
    fn the_public_good_rekor_key_fingerprint_is_its_log_id() {
        // Rekor's log ID is the SHA-256 of its key's SubjectPublicKeyInfo.
        let pem = "-----BEGIN PUBLIC KEY-----\n\
                   MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr\n\
                   kBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n\
                   -----END PUBLIC KEY-----\n";
        let key = PublicKey::from_pem(pem).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        assert_eq!(key.fingerprint(), "sha256:c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
    }

    #[test]
    fn pem_round_trips_and_tolerates_crlf_and_surrounding_text() {
        let key = PublicKey::from_spki_der(&test_key(KeyAlgorithm::EcdsaP384Sha384).spki).unwrap();
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), key);

        let crlf = format!(
            "Cosign public key, generated for the release team.\r\n\r\n  {}  \r\ntrailing notes\r\n",
            pem.replace('\n', "\r\n")
        );
        assert_eq!(PublicKey::from_pem(&crlf).unwrap(), key);
    }

    #[test]
    fn pem_without_a_block_is_refused() {
        let error = PublicKey::from_pem("just some text\n").unwrap_err();
        assert_eq!(error.to_string(), "no PEM block found: expected a \"-----BEGIN PUBLIC KEY-----\" line");
        assert_eq!(PublicKey::from_pem("").unwrap_err(), KeyError::Pem(PemError::NoBlock { expected: "PUBLIC KEY" }));
    }

    #[test]
    fn pem_with_the_wrong_label_is_refused_with_a_hint() {
        let body = STANDARD.encode(test_key(KeyAlgorithm::Ed25519).spki);
        let certificate = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        assert_eq!(
            PublicKey::from_pem(&certificate).unwrap_err().to_string(),
            "expected a PEM block labelled \"PUBLIC KEY\", found \"CERTIFICATE\""
        );
        let pkcs1 = format!("-----BEGIN RSA PUBLIC KEY-----\n{body}\n-----END RSA PUBLIC KEY-----\n");
        let message = PublicKey::from_pem(&pkcs1).unwrap_err().to_string();
        assert!(
            message.starts_with("expected a PEM block labelled \"PUBLIC KEY\", found \"RSA PUBLIC KEY\" (a PKCS#1")
        );
        let private = format!("-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n");
        assert!(
            PublicKey::from_pem(&private)
                .unwrap_err()
                .to_string()
                .ends_with("(a private key; give the public key instead)")
        );
    }

    #[test]
    fn malformed_pem_is_refused_with_the_line() {
        let body = STANDARD.encode(test_key(KeyAlgorithm::Ed25519).spki);
        let cases = [
            (
                format!("-----BEGIN PUBLIC KEY-----\n{body}\n"),
                "malformed PEM at line 1: the \"PUBLIC KEY\" block has no \"-----END PUBLIC KEY-----\" line",
            ),
            (
                format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END CERTIFICATE-----\n"),
                "malformed PEM at line 3: \"-----END CERTIFICATE-----\" closes the \"PUBLIC KEY\" block opened \
                 at line 1",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".to_owned(),
                "malformed PEM at line 1: the \"PUBLIC KEY\" block is empty",
            ),
            (
                "x\n-----BEGIN PUBLIC KEY-----\nnot*base64\n-----END PUBLIC KEY-----\n".to_owned(),
                "malformed PEM at line 2: the \"PUBLIC KEY\" block is not valid base64: Invalid symbol 42, offset 3.",
            ),
            (
                format!("-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n{body}\n-----END PUBLIC KEY-----\n"),
                "malformed PEM at line 2: the \"PUBLIC KEY\" block has headers (\"Proc-Type: 4,ENCRYPTED\"); \
                 encrypted or annotated PEM is not supported",
            ),
        ];
        for (pem, expected) in cases {
            assert_eq!(PublicKey::from_pem(&pem).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn two_public_key_blocks_are_refused() {
        let pem = PublicKey::from_spki_der(&test_key(KeyAlgorithm::Ed25519).spki).unwrap().to_pem();
        assert_eq!(
            PublicKey::from_pem(&format!("{pem}{pem}")).unwrap_err().to_string(),
            "expected exactly one PEM block labelled \"PUBLIC KEY\", found 2"
        );
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        // Ed448: 1.3.101.113.
        let ed448 = spki(&[0x2b, 0x65, 0x71], None, &[7; 57]);
        assert_eq!(
            PublicKey::from_spki_der(&ed448).unwrap_err().to_string(),
            "unsupported public key algorithm Ed448 (1.3.101.113): expected ECDSA P-256, ECDSA P-384, Ed25519 or RSA"
        );
        // An unknown OID, 1.2.3.4.
        let unknown = spki(&[0x2a, 0x03, 0x04], None, &[1, 2, 3]);
        assert_eq!(
            PublicKey::from_spki_der(&unknown).unwrap_err(),
            KeyError::UnsupportedAlgorithm { oid: "1.2.3.4".to_owned(), name: None }
        );
    }

    #[test]
    fn unsupported_curves_are_named() {
        const EC_PUBLIC_KEY: [u8; 7] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        // secp521r1: 1.3.132.0.35.
        let p521 = spki(&EC_PUBLIC_KEY, Some(&tlv(0x06, &[0x2b, 0x81, 0x04, 0x00, 0x23])), &[4; 133]);
        assert_eq!(
            PublicKey::from_spki_der(&p521).unwrap_err().to_string(),
            "unsupported elliptic curve P-521 (secp521r1) (1.3.132.0.35): \
             expected P-256 (1.2.840.10045.3.1.7) or P-384 (1.3.132.0.34)"
        );
        // secp256k1: 1.3.132.0.10.
        let k1 = spki(&EC_PUBLIC_KEY, Some(&tlv(0x06, &[0x2b, 0x81, 0x04, 0x00, 0x0a])), &[4; 65]);
        assert!(matches!(
            PublicKey::from_spki_der(&k1),
            Err(KeyError::UnsupportedCurve { name: Some("secp256k1"), .. })
        ));
        let no_curve = spki(&EC_PUBLIC_KEY, None, &[4; 65]);
        assert_eq!(
            PublicKey::from_spki_der(&no_curve).unwrap_err().to_string(),
            "invalid EC key parameters: no named curve"
        );
    }

    #[test]
    fn an_ec_point_off_the_curve_is_refused() {
        let good = test_key(KeyAlgorithm::EcdsaP256Sha256).spki;
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x55;
        let error = PublicKey::from_spki_der(&bad).unwrap_err();
        assert!(matches!(error, KeyError::InvalidKey { algorithm: KeyAlgorithm::EcdsaP256Sha256, .. }), "{error}");
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        // RSAPublicKey { modulus: 1024-bit, exponent: 65537 }.
        let mut modulus = vec![0x00, 0xc0];
        modulus.extend([0x11; 127]);
        let mut rsa = tlv(0x02, &modulus);
        rsa.extend(tlv(0x02, &[0x01, 0x00, 0x01]));
        let rsa = tlv(0x30, &rsa);
        let der = spki(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01], Some(&[0x05, 0x00]), &rsa);
        assert_eq!(
            PublicKey::from_spki_der(&der).unwrap_err().to_string(),
            "RSA key of 1024 bits: expected 2048 to 8192 bits"
        );
    }

    #[test]
    fn garbage_and_trailing_data_are_refused() {
        assert!(
            PublicKey::from_spki_der(b"not der")
                .unwrap_err()
                .to_string()
                .starts_with("not a valid SubjectPublicKeyInfo: ")
        );
        let mut der = test_key(KeyAlgorithm::Ed25519).spki;
        der.push(0);
        assert_eq!(
            PublicKey::from_spki_der(&der).unwrap_err().to_string(),
            "not a valid SubjectPublicKeyInfo: 1 bytes of trailing data"
        );
    }

    #[test]
    fn modulus_bits_ignores_leading_zeros() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0x00, 0x00]), 0);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
