//! A certificate-transparency log that only signs: it issues RFC 6962 signed certificate timestamps (SCTs) for
//! precertificates so that leaf certificates carry an embedded SCT as Fulcio's do. It keeps no log.

use jiff::Timestamp;

use crate::asn1;
use crate::key::{Algorithm, KeyError, KeyPair, PublicKey};

/// OID 1.3.6.1.4.1.11129.2.4.2: embedded SCT list extension.
pub const OID_SCT_LIST: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// A CT log signing key (ECDSA P-256, as Sigstore's CT log uses).
#[derive(Debug)]
pub struct CtLog {
    key: KeyPair,
    base_url: String,
    /// Start of the key's validity in the trusted root.
    pub valid_from: Timestamp,
}

impl CtLog {
    /// Generates a CT log with a fresh P-256 key, listed at `https://ctfe.test`.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::from_key(KeyPair::generate(Algorithm::EcdsaP256)?, "https://ctfe.test"))
    }

    /// Uses an existing key.
    #[must_use]
    pub fn from_key(key: KeyPair, base_url: &str) -> Self {
        let valid_from =
            Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(Timestamp::UNIX_EPOCH);
        CtLog { key, base_url: base_url.to_owned(), valid_from }
    }

    /// The log's signing key.
    #[must_use]
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The base URL written to the trusted root.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The log ID: SHA-256 of the public key's SubjectPublicKeyInfo.
    #[must_use]
    pub fn log_id(&self) -> [u8; 32] {
        self.key.public_key().sha256()
    }

    /// Issues a serialized `SignedCertificateTimestamp` (version 1) for a precertificate entry: the signature
    /// covers version, signature type, timestamp, entry type `precert_entry`, the issuer key hash, the
    /// TBSCertificate (without the SCT extension) and empty extensions.
    pub fn sign_precertificate(
        &self,
        tbs_certificate: &[u8],
        issuer_key_hash: &[u8; 32],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, KeyError> {
        let mut signed = Vec::with_capacity(tbs_certificate.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
        signed.extend_from_slice(issuer_key_hash);
        let length = u32::try_from(tbs_certificate.len()).unwrap_or(u32::MAX).to_be_bytes();
        signed.extend_from_slice(&length[1..]); // opaque TBSCertificate<1..2^24-1>
        signed.extend_from_slice(tbs_certificate);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no CtExtensions
        let signature = self.key.sign(&signed)?;

        let mut sct = Vec::with_capacity(signature.len() + 48);
        sct.push(0);
        sct.extend_from_slice(&self.log_id());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.push(4); // hash algorithm sha256
        sct.push(3); // signature algorithm ecdsa
        sct.extend_from_slice(&u16::try_from(signature.len()).unwrap_or(u16::MAX).to_be_bytes());
        sct.extend_from_slice(&signature);
        Ok(sct)
    }
}

/// The extnValue content of the embedded SCT list extension: an OCTET STRING holding the TLS-encoded
/// `SignedCertificateTimestampList` (each SCT with a 2-byte length, the list with a 2-byte length).
#[must_use]
pub fn sct_list_extension_value(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for sct in scts {
        list.extend_from_slice(&u16::try_from(sct.len()).unwrap_or(u16::MAX).to_be_bytes());
        list.extend_from_slice(sct);
    }
    let mut tls = u16::try_from(list.len()).unwrap_or(u16::MAX).to_be_bytes().to_vec();
    tls.extend_from_slice(&list);
    asn1::encode(asn1::OCTET_STRING, &tls)
}
