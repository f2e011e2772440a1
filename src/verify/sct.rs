//! Signed certificate timestamps (RFC 6962) embedded in keyless certificates: the CT log's promise that
//! it logged the certificate, which Fulcio embeds in every leaf (extension `1.3.6.1.4.1.11129.2.4.2`).
//!
//! An embedded SCT signs the *precertificate*, not the certificate that carries it (RFC 6962 §3.2):
//! version, signature type `certificate_timestamp`, timestamp, entry type `precert_entry`, the SHA-256
//! of the issuer's SubjectPublicKeyInfo, the leaf's TBSCertificate with the SCT list extension removed
//! (re-encoded as DER, with the enclosing lengths fixed) and the SCT's extensions. At least one SCT must
//! come from a CT log of the trust root (matched by log id), verify with that log's key, and be dated
//! within the log's `validFor`; this is what cosign, policy-controller and sigstore-go check by
//! default. Pure: no I/O, no clock.

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use super::certificate::Certificate;
use super::key::KeyAlgorithm;
use super::trust::{TransparencyLog, TrustRoot};

/// The embedded SCT list extension (RFC 6962 §3.3).
pub const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";

/// DER contents of [`OID_SCT_LIST`].
const OID_SCT_LIST_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

/// DER tag of a BOOLEAN (an extension's `critical` flag).
const TAG_BOOLEAN: u8 = 0x01;
/// DER tag of an OCTET STRING (an extension's value, and the SCT list inside it).
const TAG_OCTET_STRING: u8 = 0x04;
/// DER tag of an OBJECT IDENTIFIER.
const TAG_OID: u8 = 0x06;
/// DER tag of a SEQUENCE.
const TAG_SEQUENCE: u8 = 0x30;
/// `[3] EXPLICIT Extensions` of a TBSCertificate.
const TAG_EXTENSIONS: u8 = 0xa3;

/// `Version` v1, the only SCT version RFC 6962 defines.
const SCT_VERSION_V1: u8 = 0;
/// `SignatureType.certificate_timestamp`.
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
/// `LogEntryType.precert_entry`.
const ENTRY_TYPE_PRECERT: [u8; 2] = [0x00, 0x01];
/// Largest TBSCertificate an SCT can sign (`opaque TBSCertificate<1..2^24-1>`).
const MAX_TBS_LEN: usize = (1 << 24) - 1;

/// An embedded SCT that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSct {
    /// The CT log's id (SHA-256 of its key), lowercase hex.
    pub log_id: String,
    /// Where the CT log is served, as the trust root lists it.
    pub base_url: String,
    /// When the log promised to include the certificate.
    pub timestamp: Timestamp,
}

/// Why a certificate's embedded SCTs do not prove that a trusted CT log logged it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SctError {
    /// The certificate has no SCT list extension.
    #[error(
        "certificate \"{certificate}\" has no embedded SCT (extension {OID_SCT_LIST}), and the authority requires \
         one from a certificate transparency log of the trust root (sct: required)"
    )]
    Missing {
        /// Which certificate.
        certificate: String,
    },
    /// The SCT list extension is not an OCTET STRING holding a TLS-encoded SCT list.
    #[error("certificate \"{certificate}\" has a malformed SCT list (extension {OID_SCT_LIST}): {reason}")]
    MalformedList {
        /// Which certificate.
        certificate: String,
        /// What is wrong.
        reason: String,
    },
    /// The TBSCertificate cannot be rebuilt without the SCT list extension.
    #[error("certificate \"{certificate}\" cannot be rebuilt as the precertificate its SCTs sign: {reason}")]
    Precertificate {
        /// Which certificate.
        certificate: String,
        /// What is wrong.
        reason: String,
    },
    /// One SCT of the list cannot be read.
    #[error("embedded SCT is malformed: {reason}")]
    MalformedSct {
        /// What is wrong.
        reason: String,
    },
    /// An SCT of a version other than v1.
    #[error("embedded SCT has version {version}, but only version 0 (v1, RFC 6962) is supported")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The SCT names a CT log the trust root does not list.
    #[error("embedded SCT is from certificate transparency log {log_id}, which the trust root does not list ({known})")]
    UnknownLog {
        /// The SCT's log id, lowercase hex.
        log_id: String,
        /// The CT logs the trust root lists, in words.
        known: String,
    },
    /// The SCT's signature scheme is not the one of the log's key.
    #[error("embedded SCT from certificate transparency log {log} is signed with {found}, but the log's key is {key}")]
    Algorithm {
        /// The log (base URL and id).
        log: String,
        /// The hash and signature algorithms the SCT names.
        found: String,
        /// The log key's scheme.
        key: KeyAlgorithm,
    },
    /// The SCT's signature does not verify with the log's key over this certificate and issuer.
    #[error(
        "embedded SCT from certificate transparency log {log} has an invalid signature: the log did not sign this \
         certificate as issued by \"{issuer}\""
    )]
    BadSignature {
        /// The log (base URL and id).
        log: String,
        /// The issuer whose key hash the signature was checked over.
        issuer: String,
    },
    /// The SCT is dated outside the window in which the trust root accepts the log.
    #[error(
        "embedded SCT from certificate transparency log {log} is dated {timestamp}, but the trust root accepts that \
         log {window}"
    )]
    OutsideValidity {
        /// The log (base URL and id).
        log: String,
        /// The SCT's timestamp.
        timestamp: Timestamp,
        /// The log's `validFor` window, in words.
        window: String,
    },
    /// Several SCTs, none of which verifies.
    #[error("none of the {} embedded SCTs verifies: {}", errors.len(), numbered(errors))]
    NoneVerifies {
        /// Why each SCT failed, in list order.
        errors: Vec<SctError>,
    },
}

/// `SCT 0: …; SCT 1: …`.
fn numbered(errors: &[SctError]) -> String {
    errors.iter().enumerate().map(|(index, error)| format!("SCT {index}: {error}")).collect::<Vec<_>>().join("; ")
}

/// Checks that at least one SCT embedded in `leaf` was issued by a CT log of `trust` for `leaf` as
/// issued by `issuer` (the certificate whose key signed `leaf`), and is dated within that log's
/// `validFor`. Returns the first SCT that verifies.
pub fn verify_embedded_scts(
    leaf: &Certificate,
    issuer: &Certificate,
    trust: &TrustRoot,
) -> Result<VerifiedSct, SctError> {
    let precertificate = Precertificate::from_certificate(leaf.der())
        .map_err(|reason| SctError::Precertificate { certificate: leaf.display_name(), reason })?;
    let Some(extension) = precertificate.sct_list else {
        return Err(SctError::Missing { certificate: leaf.display_name() });
    };
    let scts =
        sct_list(extension).map_err(|reason| SctError::MalformedList { certificate: leaf.display_name(), reason })?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.public_key().spki_der()).into();
    let signed = SignedParts { tbs: &precertificate.tbs, issuer_key_hash: &issuer_key_hash, issuer };
    verify_any(&scts, &signed, trust)
}

/// What every SCT of a certificate signs besides its own fields.
struct SignedParts<'a> {
    /// The precertificate's TBSCertificate (the leaf's, without the SCT list extension).
    tbs: &'a [u8],
    /// SHA-256 of the issuer's SubjectPublicKeyInfo.
    issuer_key_hash: &'a [u8; 32],
    /// The issuer, for messages.
    issuer: &'a Certificate,
}

/// The first of `scts` (serialized SCTs) that verifies, or why none does.
fn verify_any(scts: &[&[u8]], signed: &SignedParts<'_>, trust: &TrustRoot) -> Result<VerifiedSct, SctError> {
    let mut errors = Vec::new();
    for serialized in scts {
        match SignedCertificateTimestamp::parse(serialized).and_then(|sct| sct.verify(signed, trust)) {
            Ok(verified) => return Ok(verified),
            Err(error) => errors.push(error),
        }
    }
    match errors.pop() {
        Some(error) if errors.is_empty() => Err(error),
        Some(error) => {
            errors.push(error);
            Err(SctError::NoneVerifies { errors })
        }
        // `sct_list` never returns an empty list; report it the same way if it did.
        None => Err(SctError::MalformedSct { reason: "the SCT list is empty".to_owned() }),
    }
}

/// One `SignedCertificateTimestamp` (RFC 6962 §3.2), version 1.
#[derive(Debug)]
struct SignedCertificateTimestamp<'a> {
    /// SHA-256 of the log's key (32 bytes).
    log_id: &'a [u8],
    /// Milliseconds since the epoch, as signed.
    timestamp_ms: u64,
    /// The same instant.
    timestamp: Timestamp,
    /// `CtExtensions`, signed along (empty in practice).
    extensions: &'a [u8],
    /// `HashAlgorithm` of the signature (4: SHA-256).
    hash_algorithm: u8,
    /// `SignatureAlgorithm` of the signature (3: ECDSA).
    signature_algorithm: u8,
    /// The signature (ASN.1 DER for ECDSA).
    signature: &'a [u8],
}

impl<'a> SignedCertificateTimestamp<'a> {
    /// Reads one serialized SCT; nothing may follow its signature.
    fn parse(bytes: &'a [u8]) -> Result<Self, SctError> {
        let malformed = |reason: String| SctError::MalformedSct { reason };
        let mut reader = TlsReader::new(bytes);
        let version = reader.u8("the version").map_err(malformed)?;
        if version != SCT_VERSION_V1 {
            return Err(SctError::UnsupportedVersion { version });
        }
        let log_id = reader.take(32, "the log id").map_err(malformed)?;
        let timestamp_ms = reader.u64("the timestamp").map_err(malformed)?;
        let extensions = reader.vector16("the extensions").map_err(malformed)?;
        let hash_algorithm = reader.u8("the hash algorithm").map_err(malformed)?;
        let signature_algorithm = reader.u8("the signature algorithm").map_err(malformed)?;
        let signature = reader.vector16("the signature").map_err(malformed)?;
        if !reader.rest.is_empty() {
            return Err(malformed(format!("{} bytes follow the signature", reader.rest.len())));
        }
        let timestamp = i64::try_from(timestamp_ms)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .ok_or_else(|| malformed(format!("timestamp {timestamp_ms} ms is out of range")))?;
        Ok(Self { log_id, timestamp_ms, timestamp, extensions, hash_algorithm, signature_algorithm, signature })
    }

    /// Verifies the SCT with the CT log of `trust` it names.
    fn verify(&self, signed: &SignedParts<'_>, trust: &TrustRoot) -> Result<VerifiedSct, SctError> {
        let log_id = hex::encode(self.log_id);
        let logs: Vec<&TransparencyLog> =
            trust.ctlogs.iter().filter(|log| log.log_id.eq_ignore_ascii_case(&log_id)).collect();
        if logs.is_empty() {
            return Err(SctError::UnknownLog { log_id, known: known_logs(trust) });
        }
        let message = self.signed_data(signed)?;
        // The same key may be listed more than once (with different windows): any listing will do.
        let mut first_error = None;
        for log in logs {
            let outcome = self.check_signature(log, &message, signed.issuer).and_then(|()| {
                if log.valid_for.contains(self.timestamp) {
                    Ok(VerifiedSct {
                        log_id: log.log_id.clone(),
                        base_url: log.base_url.clone(),
                        timestamp: self.timestamp,
                    })
                } else {
                    Err(SctError::OutsideValidity {
                        log: describe_log(log),
                        timestamp: self.timestamp,
                        window: log.valid_for.to_string(),
                    })
                }
            });
            match outcome {
                Ok(verified) => return Ok(verified),
                // A signature that verified with one listing says more than a failure with another.
                Err(error @ SctError::OutsideValidity { .. }) => first_error = Some(error),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or(SctError::UnknownLog { log_id, known: known_logs(trust) }))
    }

    /// Checks the `DigitallySigned` signature with `log`'s key.
    fn check_signature(&self, log: &TransparencyLog, message: &[u8], issuer: &Certificate) -> Result<(), SctError> {
        let key = log.key.algorithm();
        if !scheme_fits(key, self.hash_algorithm, self.signature_algorithm) {
            return Err(SctError::Algorithm {
                log: describe_log(log),
                found: describe_scheme(self.hash_algorithm, self.signature_algorithm),
                key,
            });
        }
        log.key
            .verify(message, self.signature)
            .map_err(|_| SctError::BadSignature { log: describe_log(log), issuer: issuer.display_name() })
    }

    /// The `digitally-signed` struct of RFC 6962 §3.2 for a precertificate entry.
    fn signed_data(&self, signed: &SignedParts<'_>) -> Result<Vec<u8>, SctError> {
        let too_long = |what: &str, len: usize| SctError::MalformedSct {
            reason: format!("{what} of {len} bytes is too long to sign"),
        };
        if signed.tbs.len() > MAX_TBS_LEN {
            return Err(too_long("the TBSCertificate", signed.tbs.len()));
        }
        let tbs_len = u32::try_from(signed.tbs.len())
            .map_err(|_| too_long("the TBSCertificate", signed.tbs.len()))?
            .to_be_bytes();
        let extensions_len =
            u16::try_from(self.extensions.len()).map_err(|_| too_long("the extensions", self.extensions.len()))?;
        let mut data = Vec::with_capacity(signed.tbs.len() + self.extensions.len() + 50);
        data.push(SCT_VERSION_V1);
        data.push(SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP);
        data.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        data.extend_from_slice(&ENTRY_TYPE_PRECERT);
        data.extend_from_slice(signed.issuer_key_hash);
        data.extend_from_slice(tbs_len.get(1..).unwrap_or_default());
        data.extend_from_slice(signed.tbs);
        data.extend_from_slice(&extensions_len.to_be_bytes());
        data.extend_from_slice(self.extensions);
        Ok(data)
    }
}

/// Whether an SCT's `SignatureAndHashAlgorithm` is the scheme of a log key.
fn scheme_fits(key: KeyAlgorithm, hash: u8, signature: u8) -> bool {
    matches!(
        (key, hash, signature),
        (KeyAlgorithm::EcdsaP256Sha256, 4, 3)
            | (KeyAlgorithm::EcdsaP384Sha384, 5, 3)
            | (KeyAlgorithm::RsaPkcs1Sha256, 4, 1)
            | (KeyAlgorithm::Ed25519, 8, 7)
    )
}

/// A TLS `SignatureAndHashAlgorithm` in words, e.g. `SHA-256 with ECDSA`.
fn describe_scheme(hash: u8, signature: u8) -> String {
    let hash = match hash {
        0 => "no hash".to_owned(),
        1 => "MD5".to_owned(),
        2 => "SHA-1".to_owned(),
        3 => "SHA-224".to_owned(),
        4 => "SHA-256".to_owned(),
        5 => "SHA-384".to_owned(),
        6 => "SHA-512".to_owned(),
        8 => "no separate hash".to_owned(),
        other => format!("hash algorithm {other}"),
    };
    let signature = match signature {
        0 => "anonymous".to_owned(),
        1 => "RSA".to_owned(),
        2 => "DSA".to_owned(),
        3 => "ECDSA".to_owned(),
        7 => "Ed25519".to_owned(),
        other => format!("signature algorithm {other}"),
    };
    format!("{hash} with {signature}")
}

/// `https://ctfe.sigstore.dev/2022 (log id dd3d…)`.
fn describe_log(log: &TransparencyLog) -> String {
    format!("{} (log id {})", log.base_url, log.log_id)
}

/// The CT logs of the trust root, in words.
fn known_logs(trust: &TrustRoot) -> String {
    if trust.ctlogs.is_empty() {
        "it lists no certificate transparency log".to_owned()
    } else {
        let logs: Vec<String> = trust.ctlogs.iter().map(describe_log).collect();
        format!("it lists {}", logs.join(", "))
    }
}

/// The serialized SCTs of an SCT list extension value (the extnValue octets): a DER OCTET STRING
/// holding `SignedCertificateTimestampList`, i.e. a 2-byte length and 2-byte-length-prefixed SCTs.
fn sct_list(extension_value: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (octets, rest) = der::element(extension_value).map_err(|reason| format!("the extension value: {reason}"))?;
    if octets.tag != TAG_OCTET_STRING {
        return Err(format!("the extension value is not a DER OCTET STRING (tag 0x{:02x})", octets.tag));
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the OCTET STRING", rest.len()));
    }
    let mut reader = TlsReader::new(octets.content);
    let list = reader.vector16("the list")?;
    if !reader.rest.is_empty() {
        return Err(format!("{} bytes follow the list", reader.rest.len()));
    }
    if list.is_empty() {
        return Err("the list holds no SCT".to_owned());
    }
    let mut reader = TlsReader::new(list);
    let mut scts = Vec::new();
    while !reader.rest.is_empty() {
        let sct = reader.vector16(&format!("SCT {}", scts.len()))?;
        if sct.is_empty() {
            return Err(format!("SCT {} is empty", scts.len()));
        }
        scts.push(sct);
    }
    Ok(scts)
}

/// Reads TLS presentation-language fields (big-endian integers, length-prefixed vectors).
struct TlsReader<'a> {
    /// What has not been read yet.
    rest: &'a [u8],
}

impl<'a> TlsReader<'a> {
    /// A reader at the start of `bytes`.
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next `len` bytes, which make up `what`.
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], String> {
        let (taken, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or_else(|| format!("truncated: {what} needs {len} bytes, {} remain", self.rest.len()))?;
        self.rest = rest;
        Ok(taken)
    }

    /// One byte.
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?.first().copied().unwrap_or_default())
    }

    /// A big-endian `uint16`.
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let bytes = self.take(2, what)?;
        Ok(bytes.iter().fold(0, |value, byte| (value << 8) | u16::from(*byte)))
    }

    /// A big-endian `uint64`.
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let bytes = self.take(8, what)?;
        Ok(bytes.iter().fold(0, |value, byte| (value << 8) | u64::from(*byte)))
    }

    /// A vector with a 2-byte length.
    fn vector16(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.u16(&format!("the length of {what}"))?;
        let available = self.rest.len();
        self.take(usize::from(len), what).map_err(|_| format!("{what} declares {len} bytes but {available} remain"))
    }
}

/// A leaf read as the precertificate its SCTs sign.
struct Precertificate<'a> {
    /// The TBSCertificate without the SCT list extension, DER.
    tbs: Vec<u8>,
    /// The SCT list extension's value (extnValue octets), if the leaf has one.
    sct_list: Option<&'a [u8]>,
}

impl<'a> Precertificate<'a> {
    /// Splits a DER certificate into its TBSCertificate without the SCT list extension and that
    /// extension's value. Every other byte of the TBSCertificate is copied as it is; the extensions
    /// SEQUENCE, its `[3]` wrapper and the TBSCertificate SEQUENCE get new lengths, and the `[3]`
    /// wrapper is dropped when the SCT list was the only extension.
    fn from_certificate(der: &'a [u8]) -> Result<Self, String> {
        let (certificate, rest) = der::element(der)?;
        if certificate.tag != TAG_SEQUENCE || !rest.is_empty() {
            return Err("the certificate is not a single DER SEQUENCE".to_owned());
        }
        let (tbs, _) = der::element(certificate.content)?;
        if tbs.tag != TAG_SEQUENCE {
            return Err(format!("the TBSCertificate is not a SEQUENCE (tag 0x{:02x})", tbs.tag));
        }
        let mut rebuilt = Vec::with_capacity(tbs.content.len());
        let mut sct_list = None;
        let mut fields = tbs.content;
        while !fields.is_empty() {
            let (field, rest) = der::element(fields)?;
            fields = rest;
            if field.tag != TAG_EXTENSIONS {
                rebuilt.extend_from_slice(field.encoded);
                continue;
            }
            let (extensions, rest) = der::element(field.content)?;
            if extensions.tag != TAG_SEQUENCE || !rest.is_empty() {
                return Err("the [3] extensions field does not hold exactly one SEQUENCE".to_owned());
            }
            let mut kept = Vec::with_capacity(extensions.content.len());
            let mut items = extensions.content;
            while !items.is_empty() {
                let (extension, rest) = der::element(items)?;
                items = rest;
                if extension.tag != TAG_SEQUENCE {
                    return Err(format!("an extension is not a SEQUENCE (tag 0x{:02x})", extension.tag));
                }
                match sct_extension_value(extension.content)? {
                    Some(value) => {
                        if sct_list.replace(value).is_some() {
                            return Err(format!("extension {OID_SCT_LIST} appears more than once"));
                        }
                    }
                    None => kept.extend_from_slice(extension.encoded),
                }
            }
            if !kept.is_empty() {
                rebuilt.extend(der::encode(TAG_EXTENSIONS, &der::encode(TAG_SEQUENCE, &kept)));
            }
        }
        Ok(Self { tbs: der::encode(TAG_SEQUENCE, &rebuilt), sct_list })
    }
}

/// The extnValue octets of an `Extension` SEQUENCE's content if it is the SCT list extension.
fn sct_extension_value(extension: &[u8]) -> Result<Option<&[u8]>, String> {
    let (oid, rest) = der::element(extension)?;
    if oid.tag != TAG_OID {
        return Err(format!("an extension does not start with an OID (tag 0x{:02x})", oid.tag));
    }
    if oid.content != OID_SCT_LIST_DER {
        return Ok(None);
    }
    let (mut value, mut rest) = der::element(rest)?;
    if value.tag == TAG_BOOLEAN {
        (value, rest) = der::element(rest)?;
    }
    if value.tag != TAG_OCTET_STRING || !rest.is_empty() {
        return Err(format!("extension {OID_SCT_LIST} does not end with its OCTET STRING value"));
    }
    Ok(Some(value.content))
}

/// The few DER operations the precertificate rebuild needs: read one element, write one element.
mod der {
    /// One DER element.
    pub(super) struct Element<'a> {
        /// The identifier octet (low tag numbers only).
        pub(super) tag: u8,
        /// The content octets.
        pub(super) content: &'a [u8],
        /// The whole encoding: identifier, length and content.
        pub(super) encoded: &'a [u8],
    }

    /// Reads the element at the start of `input` (definite, minimally encoded length of at most four
    /// octets); returns it and what follows it.
    pub(super) fn element(input: &[u8]) -> Result<(Element<'_>, &[u8]), String> {
        let [tag, first, after_header @ ..] = input else {
            return Err("truncated DER: an element needs a tag and a length".to_owned());
        };
        if tag & 0x1f == 0x1f {
            return Err(format!("DER tag 0x{tag:02x} uses the high tag number form, which is not expected here"));
        }
        let (len, after_length) = if *first < 0x80 {
            (usize::from(*first), after_header)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(format!("DER element with tag 0x{tag:02x} has an indefinite length"));
            }
            if count > 4 {
                return Err(format!("DER element with tag 0x{tag:02x} has a {count}-octet length"));
            }
            let (octets, rest) = after_header
                .split_at_checked(count)
                .ok_or_else(|| format!("truncated DER: the length of tag 0x{tag:02x} is cut short"))?;
            let len = octets.iter().fold(0usize, |len, octet| (len << 8) | usize::from(*octet));
            if octets.first() == Some(&0) || len < 0x80 {
                return Err(format!("DER element with tag 0x{tag:02x} has a non-minimal length"));
            }
            (len, rest)
        };
        let (content, rest) = after_length.split_at_checked(len).ok_or_else(|| {
            format!(
                "truncated DER: the element with tag 0x{tag:02x} declares {len} bytes but {} follow",
                after_length.len()
            )
        })?;
        let header = input.len() - after_length.len();
        let encoded = input.get(..header + len).unwrap_or(input);
        Ok((Element { tag: *tag, content, encoded }, rest))
    }

    /// `tag`, the minimal DER length of `content`, and `content`.
    pub(super) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = Vec::with_capacity(len + 6);
        out.push(tag);
        if len < 0x80 {
            out.push(u8::try_from(len).unwrap_or_default());
        } else {
            let octets = len.to_be_bytes();
            let skip = octets.iter().take_while(|octet| **octet == 0).count();
            let significant = octets.get(skip..).unwrap_or_default();
            out.push(0x80 | u8::try_from(significant.len()).unwrap_or_default());
            out.extend_from_slice(significant);
        }
        out.extend_from_slice(content);
        out
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use syncgate_testsign::certificate::{CertificateAuthority, LeafRequest, RawExtension};
    use syncgate_testsign::ctlog::{self, CtLog};
    use syncgate_testsign::key::{Algorithm, KeyPair};
    use syncgate_testsign::trust::TrustedRoot;

    use super::super::certificate::test_pki::PUBLIC_GOOD_LEAF;
    use super::*;

    const PUBLIC_GOOD_ROOT: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sigstore/trusted_root.public-good.json"));
    const SUBJECT: &str = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.0";

    /// A CA, a CT log, and a trust root listing both.
    struct Fixture {
        ca: CertificateAuthority,
        ctlog: CtLog,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture { ca: CertificateAuthority::new().unwrap(), ctlog: CtLog::generate().unwrap() }
        }

        fn request() -> LeafRequest {
            let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
            LeafRequest::github_actions(
                key.public_key().clone(),
                "acme/api",
                ".github/workflows/release.yml",
                "refs/tags/v1.4.0",
                "5a1d3e4b2c7f8091a2b3c4d5e6f708192a3b4c5d",
            )
        }

        /// A leaf with an SCT from the fixture's CT log, DER.
        fn leaf_with_sct(&self) -> Vec<u8> {
            self.ca.issue_with_sct(&Self::request(), &self.ctlog).unwrap().der
        }

        fn intermediate(&self) -> Certificate {
            Certificate::from_der(self.ca.intermediate_der()).unwrap()
        }

        fn trust_root(&self) -> TrustRoot {
            trust_root(&TrustedRoot::new(&[&self.ca], &[], &[&self.ctlog]))
        }

        fn log_id(&self) -> String {
            hex::encode(self.ctlog.log_id())
        }
    }

    fn trust_root(root: &TrustedRoot) -> TrustRoot {
        TrustRoot::from_json(root.to_json().as_bytes()).unwrap()
    }

    fn certificate(der: &[u8]) -> Certificate {
        Certificate::from_der(der).unwrap()
    }

    /// Where `needle` starts in `haystack`.
    fn position(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).position(|window| window == needle).unwrap()
    }

    /// The serialized SCTs and the precertificate parts of a leaf issued with an SCT.
    fn parts(der: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let precertificate = Precertificate::from_certificate(der).unwrap();
        let scts = sct_list(precertificate.sct_list.unwrap()).unwrap().into_iter().map(<[u8]>::to_vec).collect();
        (scts, precertificate.tbs)
    }

    // ---- the five ways an SCT check ends ----

    #[test]
    fn a_valid_embedded_sct_verifies() {
        let fixture = Fixture::new();
        let leaf = certificate(&fixture.leaf_with_sct());
        let verified = verify_embedded_scts(&leaf, &fixture.intermediate(), &fixture.trust_root()).unwrap();
        assert_eq!(
            verified,
            VerifiedSct {
                log_id: fixture.log_id(),
                base_url: "https://ctfe.test".to_owned(),
                timestamp: leaf.not_before()
            }
        );
    }

    #[test]
    fn an_sct_from_a_ct_log_missing_from_the_trust_root_names_its_log_id() {
        let fixture = Fixture::new();
        let leaf = certificate(&fixture.leaf_with_sct());
        let other = CtLog::generate().unwrap();
        let root = trust_root(&TrustedRoot::new(&[&fixture.ca], &[], &[&other]));
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &root).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "embedded SCT is from certificate transparency log {}, which the trust root does not list (it lists \
                 https://ctfe.test (log id {}))",
                fixture.log_id(),
                hex::encode(other.log_id())
            )
        );

        let without_ct_logs = trust_root(&TrustedRoot::new(&[&fixture.ca], &[], &[]));
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &without_ct_logs).unwrap_err();
        assert!(error.to_string().ends_with("(it lists no certificate transparency log)"), "{error}");
    }

    #[test]
    fn a_tampered_sct_signature_does_not_verify_and_names_the_log() {
        let fixture = Fixture::new();
        let mut der = fixture.leaf_with_sct();
        // log id (32), timestamp (8), no extensions (2), hash and signature algorithm (2), length (2), signature.
        let sct = position(&der, &fixture.ctlog.log_id());
        let length_at = sct + 32 + 8 + 2 + 2;
        let signature_len = usize::from(u16::from_be_bytes([der[length_at], der[length_at + 1]]));
        let last = length_at + 2 + signature_len - 1;
        der[last] ^= 0x01;
        let error =
            verify_embedded_scts(&certificate(&der), &fixture.intermediate(), &fixture.trust_root()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "embedded SCT from certificate transparency log https://ctfe.test (log id {}) has an invalid \
                 signature: the log did not sign this certificate as issued by \
                 \"O=syncgate.test, CN=syncgate-test-intermediate\"",
                fixture.log_id()
            )
        );
    }

    #[test]
    fn a_leaf_without_sct_is_refused() {
        let fixture = Fixture::new();
        let leaf = certificate(&fixture.ca.issue(&Fixture::request()).unwrap().der);
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &fixture.trust_root()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "certificate \"{SUBJECT}\" has no embedded SCT (extension 1.3.6.1.4.1.11129.2.4.2), and the authority \
                 requires one from a certificate transparency log of the trust root (sct: required)"
            )
        );
    }

    #[test]
    fn an_sct_dated_outside_the_ct_logs_validity_is_refused() {
        let fixture = Fixture::new();
        let leaf = certificate(&fixture.leaf_with_sct());
        let mut root = TrustedRoot::new(&[&fixture.ca], &[], &[&fixture.ctlog]);
        let start = leaf.not_before() - jiff::SignedDuration::from_hours(48);
        let end = leaf.not_before() - jiff::SignedDuration::from_secs(1);
        root.ctlogs[0].valid_from = start;
        root.ctlogs[0].valid_until = Some(end);
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &trust_root(&root)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "embedded SCT from certificate transparency log https://ctfe.test (log id {}) is dated {}, but the \
                 trust root accepts that log from {start} to {end}",
                fixture.log_id(),
                leaf.not_before()
            )
        );

        // A log that only starts after the SCT is refused the same way; one that covers it is fine.
        root.ctlogs[0].valid_from = leaf.not_before() + jiff::SignedDuration::from_secs(1);
        root.ctlogs[0].valid_until = None;
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &trust_root(&root)).unwrap_err();
        assert!(matches!(error, SctError::OutsideValidity { .. }), "{error}");
        root.ctlogs[0].valid_from = leaf.not_before();
        verify_embedded_scts(&leaf, &fixture.intermediate(), &trust_root(&root)).unwrap();
    }

    // ---- what the SCT signs ----

    #[test]
    fn an_sct_checked_against_another_issuer_does_not_verify() {
        let fixture = Fixture::new();
        let leaf = certificate(&fixture.leaf_with_sct());
        let root = certificate(fixture.ca.root_der());
        let error = verify_embedded_scts(&leaf, &root, &fixture.trust_root()).unwrap_err();
        assert!(matches!(error, SctError::BadSignature { ref issuer, .. } if issuer.contains("syncgate-test-root")));
    }

    #[test]
    fn a_certificate_altered_after_it_was_logged_does_not_verify() {
        let fixture = Fixture::new();
        let mut der = fixture.leaf_with_sct();
        let at = position(&der, b"github.com/acme/api");
        der[at + "github.com/".len()] = b'x';
        let leaf = certificate(&der);
        assert_eq!(leaf.identity().subject.as_deref(), Some(SUBJECT.replace("/acme/", "/xcme/").as_str()));
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &fixture.trust_root()).unwrap_err();
        assert!(matches!(error, SctError::BadSignature { .. }), "{error}");
    }

    #[test]
    fn the_precertificate_is_what_the_ct_log_signed() {
        // The test CT log signs the TBSCertificate its CA wrote before adding the SCT list; rebuilding it
        // from the final certificate must give the same bytes, so a fresh SCT over them verifies too.
        let fixture = Fixture::new();
        let der = fixture.leaf_with_sct();
        let (scts, tbs) = parts(&der);
        assert_eq!(scts.len(), 1);
        let issuer = fixture.intermediate();
        let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.public_key().spki_der()).into();
        let at = fixture.ctlog.valid_from.as_millisecond() + 3_600_123;
        let fresh = fixture.ctlog.sign_precertificate(&tbs, &issuer_key_hash, u64::try_from(at).unwrap()).unwrap();
        let signed = SignedParts { tbs: &tbs, issuer_key_hash: &issuer_key_hash, issuer: &issuer };
        let verified = verify_any(&[&fresh], &signed, &fixture.trust_root()).unwrap();
        assert_eq!(verified.timestamp, Timestamp::from_millisecond(at).unwrap(), "milliseconds are kept");
        assert!(tbs.len() < der.len() - 100, "the SCT list and the signature are gone");
    }

    #[test]
    fn one_valid_sct_among_others_is_enough_and_otherwise_every_failure_is_listed() {
        let fixture = Fixture::new();
        let (scts, tbs) = parts(&fixture.leaf_with_sct());
        let issuer = fixture.intermediate();
        let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.public_key().spki_der()).into();
        let signed = SignedParts { tbs: &tbs, issuer_key_hash: &issuer_key_hash, issuer: &issuer };
        let stranger = CtLog::generate().unwrap().sign_precertificate(&tbs, &issuer_key_hash, 1).unwrap();
        let mut future = scts[0].clone();
        future[0] = 1;
        let trust = fixture.trust_root();

        let verified = verify_any(&[&stranger, &future, &scts[0]], &signed, &trust).unwrap();
        assert_eq!(verified.log_id, fixture.log_id());

        let error = verify_any(&[&stranger, &future], &signed, &trust).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(
                "none of the 2 embedded SCTs verifies: SCT 0: embedded SCT is from certificate transparency log "
            ),
            "{message}"
        );
        assert!(
            message.ends_with("; SCT 1: embedded SCT has version 1, but only version 0 (v1, RFC 6962) is supported"),
            "{message}"
        );
    }

    #[test]
    fn an_sct_signed_with_another_scheme_than_the_log_key_is_refused() {
        let fixture = Fixture::new();
        let (mut scts, tbs) = parts(&fixture.leaf_with_sct());
        let issuer = fixture.intermediate();
        let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.public_key().spki_der()).into();
        let signed = SignedParts { tbs: &tbs, issuer_key_hash: &issuer_key_hash, issuer: &issuer };
        // Version (1), log id (32), timestamp (8), extensions length (2), then the hash algorithm.
        scts[0][43] = 5;
        let error = verify_any(&[&scts[0]], &signed, &fixture.trust_root()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "embedded SCT from certificate transparency log https://ctfe.test (log id {}) is signed with SHA-384 \
                 with ECDSA, but the log's key is ECDSA P-256 SHA-256",
                fixture.log_id()
            )
        );
    }

    // ---- the public-good instance ----

    #[test]
    fn the_public_good_fulcio_leaf_carries_a_valid_sct_from_the_2022_ct_log() {
        let trust = TrustRoot::from_json(PUBLIC_GOOD_ROOT.as_bytes()).unwrap();
        let leaf = certificate(&STANDARD.decode(PUBLIC_GOOD_LEAF).unwrap());
        let integrated = Timestamp::from_second(1_710_888_076).unwrap();
        let path = trust.verify_certificate_path(&leaf, &[], integrated).unwrap();
        assert_eq!(path.issuer.subject_name(), "O=sigstore.dev, CN=sigstore-intermediate");

        let verified = verify_embedded_scts(&leaf, path.issuer, &trust).unwrap();
        assert_eq!(verified.base_url, "https://ctfe.sigstore.dev/2022");
        assert_eq!(verified.log_id, "dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e");
        assert_eq!(verified.timestamp.to_string(), "2024-03-19T22:41:15.966Z");

        // The same SCT over the root's key hash, or with the 2022 log left out, does not verify.
        let root = path.authority.chain.last().unwrap();
        assert!(matches!(verify_embedded_scts(&leaf, root, &trust), Err(SctError::BadSignature { .. })));
        let mut without_2022 = trust.clone();
        without_2022.ctlogs.retain(|log| log.base_url != "https://ctfe.sigstore.dev/2022");
        let error = verify_embedded_scts(&leaf, path.issuer, &without_2022).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "embedded SCT is from certificate transparency log \
                 dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e, which the trust root does not list \
                 (it lists https://ctfe.sigstore.dev/test (log id "
            ),
            "{error}"
        );
    }

    // ---- malformed input ----

    #[test]
    fn a_malformed_sct_list_says_what_is_wrong() {
        let octets = |content: &[u8]| der::encode(TAG_OCTET_STRING, content);
        let cases: [(Vec<u8>, &str); 8] = [
            (der::encode(0x0c, b"sct"), "the extension value is not a DER OCTET STRING (tag 0x0c)"),
            ([octets(&[0, 0]), vec![0]].concat(), "1 bytes follow the OCTET STRING"),
            (octets(&[0]), "truncated: the length of the list needs 2 bytes, 1 remain"),
            (octets(&[0, 5, 0, 1]), "the list declares 5 bytes but 2 remain"),
            (octets(&[0, 0, 9]), "1 bytes follow the list"),
            (octets(&[0, 0]), "the list holds no SCT"),
            (octets(&[0, 5, 0, 1, 7, 0, 0]), "SCT 1 is empty"),
            (octets(&[0, 4, 0, 1, 7, 0]), "truncated: the length of SCT 1 needs 2 bytes, 1 remain"),
        ];
        for (value, expected) in cases {
            assert_eq!(sct_list(&value).unwrap_err(), expected);
        }
        assert_eq!(sct_list(&octets(&[0, 3, 0, 1, 7])).unwrap(), [&[7u8][..]]);
        assert_eq!(
            sct_list(&[0x04, 0x05, 0x00]).unwrap_err(),
            "the extension value: truncated DER: the element with tag 0x04 declares 5 bytes but 1 follow"
        );

        // End to end: a certificate whose SCT list extension holds something else.
        let fixture = Fixture::new();
        let mut request = Fixture::request();
        request.extra_extensions.push(RawExtension {
            oid: ctlog::OID_SCT_LIST.to_vec(),
            critical: false,
            value: octets(&[0, 4, 0, 4, 0xde, 0xad]),
        });
        let leaf = certificate(&fixture.ca.issue(&request).unwrap().der);
        let error = verify_embedded_scts(&leaf, &fixture.intermediate(), &fixture.trust_root()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "certificate \"{SUBJECT}\" has a malformed SCT list (extension 1.3.6.1.4.1.11129.2.4.2): SCT 0 declares \
                 4 bytes but 2 remain"
            )
        );
    }

    #[test]
    fn a_malformed_sct_says_what_is_wrong() {
        let fixture = Fixture::new();
        let (scts, _) = parts(&fixture.leaf_with_sct());
        let sct = &scts[0];
        let reason = |bytes: &[u8]| match SignedCertificateTimestamp::parse(bytes).unwrap_err() {
            SctError::MalformedSct { reason } => reason,
            other => panic!("expected a malformed SCT, got {other}"),
        };
        assert_eq!(reason(&sct[..20]), "truncated: the log id needs 32 bytes, 19 remain");
        assert_eq!(reason(&sct[..45]), "truncated: the length of the signature needs 2 bytes, 0 remain");
        assert_eq!(
            reason(&sct[..sct.len() - 1]),
            format!("the signature declares {} bytes but {} remain", sct.len() - 47, sct.len() - 48)
        );
        assert_eq!(reason(&[sct.as_slice(), &[0, 0]].concat()), "2 bytes follow the signature");
        let mut far_future = sct.clone();
        far_future[33..41].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(reason(&far_future), format!("timestamp {} ms is out of range", u64::MAX));
        assert!(matches!(
            SignedCertificateTimestamp::parse(&[2]).unwrap_err(),
            SctError::UnsupportedVersion { version: 2 }
        ));
    }

    // ---- the DER rebuild ----

    /// An `Extension` SEQUENCE: OID, optional critical flag, OCTET STRING value.
    fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let mut content = der::encode(TAG_OID, oid);
        if critical {
            content.extend([TAG_BOOLEAN, 1, 0xff]);
        }
        content.extend(der::encode(TAG_OCTET_STRING, value));
        der::encode(TAG_SEQUENCE, &content)
    }

    /// A certificate SEQUENCE around a TBSCertificate of `fields`, with a dummy algorithm and signature.
    fn wrapped(fields: &[Vec<u8>]) -> Vec<u8> {
        let tbs = der::encode(TAG_SEQUENCE, &fields.concat());
        der::encode(TAG_SEQUENCE, &[tbs, der::encode(TAG_SEQUENCE, &[0x05, 0x00]), vec![0x03, 0x01, 0x00]].concat())
    }

    fn extensions(items: &[Vec<u8>]) -> Vec<u8> {
        der::encode(TAG_EXTENSIONS, &der::encode(TAG_SEQUENCE, &items.concat()))
    }

    #[test]
    fn the_rebuild_drops_only_the_sct_list_and_fixes_every_enclosing_length() {
        let serial = vec![0x02, 0x01, 0x07];
        let before = extension(&[0x55, 0x1d, 0x0f], true, &[0x03, 0x02, 0x07, 0x80]);
        // Long enough that removing the SCT list moves the lengths from two octets to one.
        let after = extension(&[0x55, 0x1d, 0x11], false, &[0x61; 100]);
        let list = der::encode(TAG_OCTET_STRING, &[0x00, 0x03, 0x00, 0x01, 0x2a]);
        let sct = extension(OID_SCT_LIST_DER, false, &[list.clone(), vec![0x00; 200]].concat());
        let certificate = wrapped(&[serial.clone(), extensions(&[before.clone(), sct, after.clone()])]);
        assert_eq!(certificate[1], 0x82, "the certificate length takes two octets");

        let precertificate = Precertificate::from_certificate(&certificate).unwrap();
        let expected = der::encode(TAG_SEQUENCE, &[serial.clone(), extensions(&[before, after])].concat());
        assert_eq!(precertificate.tbs, expected);
        assert_eq!(precertificate.tbs[1], 0x81, "{:02x?}", &precertificate.tbs[..4]);
        assert_eq!(precertificate.sct_list.map(<[u8]>::len), Some(list.len() + 200));

        // A critical SCT list, and one that is the only extension: the [3] wrapper goes too.
        let only = extension(OID_SCT_LIST_DER, true, &list);
        let sole = wrapped(&[serial.clone(), extensions(&[only])]);
        let precertificate = Precertificate::from_certificate(&sole).unwrap();
        assert_eq!(precertificate.tbs, der::encode(TAG_SEQUENCE, &serial));
        assert_eq!(precertificate.sct_list, Some(list.as_slice()));

        // No extensions at all: the TBSCertificate is unchanged.
        let plain = wrapped(std::slice::from_ref(&serial));
        let precertificate = Precertificate::from_certificate(&plain).unwrap();
        assert_eq!(precertificate.tbs, der::encode(TAG_SEQUENCE, &serial));
        assert_eq!(precertificate.sct_list, None);
    }

    #[test]
    fn the_rebuild_refuses_what_is_not_der() {
        let serial = vec![0x02, 0x01, 0x07];
        let sct = extension(OID_SCT_LIST_DER, false, &der::encode(TAG_OCTET_STRING, &[0, 0]));
        let error = |der: &[u8]| Precertificate::from_certificate(der).err().unwrap();
        assert_eq!(
            error(&wrapped(&[serial.clone(), extensions(&[sct.clone(), sct.clone()])])),
            "extension 1.3.6.1.4.1.11129.2.4.2 appears more than once"
        );
        assert_eq!(error(&[0x30, 0x80, 0x00, 0x00]), "DER element with tag 0x30 has an indefinite length");
        assert_eq!(error(&[0x30, 0x81, 0x05]), "DER element with tag 0x30 has a non-minimal length");
        assert_eq!(error(&[0x30, 0x82, 0x00, 0x85]), "DER element with tag 0x30 has a non-minimal length");
        assert_eq!(error(&[0x30, 0x85, 1, 1, 1, 1, 1]), "DER element with tag 0x30 has a 5-octet length");
        assert_eq!(
            error(&[0x30, 0x03, 0x30]),
            "truncated DER: the element with tag 0x30 declares 3 bytes but 1 follow"
        );
        assert_eq!(error(&[0x30]), "truncated DER: an element needs a tag and a length");
        assert_eq!(
            error(&[0x30, 0x02, 0x1f, 0x00]),
            "DER tag 0x1f uses the high tag number form, which is not expected here"
        );
        assert_eq!(error(&[0x30, 0x00, 0x00]), "the certificate is not a single DER SEQUENCE");
        assert_eq!(
            error(&wrapped(&[der::encode(TAG_EXTENSIONS, &[0x02, 0x01, 0x00])])),
            "the [3] extensions field does not hold exactly one SEQUENCE"
        );
        assert_eq!(
            error(&wrapped(&[extensions(&[der::encode(TAG_SEQUENCE, &[0x02, 0x01, 0x00])])])),
            "an extension does not start with an OID (tag 0x02)"
        );
        let unterminated =
            der::encode(TAG_SEQUENCE, &[der::encode(TAG_OID, OID_SCT_LIST_DER), vec![0x02, 0x01, 0x00]].concat());
        assert_eq!(
            error(&wrapped(&[extensions(&[unterminated])])),
            "extension 1.3.6.1.4.1.11129.2.4.2 does not end with its OCTET STRING value"
        );
    }

    #[test]
    fn der_lengths_are_written_minimally() {
        assert_eq!(der::encode(0x04, &[]), [0x04, 0x00]);
        assert_eq!(der::encode(0x04, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(der::encode(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(der::encode(0x04, &[0; 0x100])[..4], [0x04, 0x82, 0x01, 0x00]);
        assert_eq!(der::encode(0x04, &vec![0; 0x1_0000])[..5], [0x04, 0x83, 0x01, 0x00, 0x00]);
        for len in [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000] {
            let encoded = der::encode(0x04, &vec![0xab; len]);
            let (element, rest) = der::element(&encoded).unwrap();
            assert_eq!(
                (element.tag, element.content.len(), element.encoded.len(), rest.len()),
                (0x04, len, encoded.len(), 0)
            );
        }
    }
}
