//! STAND-IN for the public-key module: [`PublicKey::from_pem`] only checks that a `PUBLIC KEY` PEM
//! block is present. The real module (SPKI parsing, signature verification) replaces this file with
//! the same signatures.

/// A public key from a PEM `PUBLIC KEY` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pem: String,
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text holds no `-----BEGIN PUBLIC KEY-----` … `-----END PUBLIC KEY-----` block.
    #[error("no PEM \"PUBLIC KEY\" block found (expected -----BEGIN PUBLIC KEY-----)")]
    NoPublicKeyBlock,
}

impl PublicKey {
    /// Reads the first `PUBLIC KEY` (SPKI) PEM block of `pem`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let start = pem.find(BEGIN).ok_or(KeyError::NoPublicKeyBlock)?;
        let end = pem[start..].find(END).ok_or(KeyError::NoPublicKeyBlock)? + start + END.len();
        Ok(PublicKey { pem: pem[start..end].to_owned() })
    }
}
