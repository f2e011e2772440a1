//! X.509 certificates as signers present them: DER and PEM parsing, validity window, public key, and
//! what a Fulcio certificate says about its signer (the subject alternative name and the
//! `1.3.6.1.4.1.57264.1.*` extensions). Also the errors of certificate path validation, which
//! [`super::trust::TrustRoot::verify_certificate`] performs.
//!
//! Parsing decides nothing about trust: a certificate that parses is only well-formed. Fulcio
//! extensions `.1.1`–`.1.6` hold the UTF-8 string itself as the extension value; `.1.8`–`.1.23` hold
//! a DER UTF8String; a value that is not what its OID calls for is an error naming the OID, never a
//! silently missing claim.

use std::fmt;

use jiff::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{ExtendedKeyUsage, GeneralName};
use x509_parser::prelude::FromDer as _;
use x509_parser::time::ASN1Time;

use super::key::{self, KeyError, PemError, PublicKey};

/// PEM label of a certificate block.
const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// Arc of Fulcio's certificate extensions (`1.3.6.1.4.1.57264.1.N`).
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";

/// OtherName type of Fulcio's username identities (a SAN OtherName, not an extension).
pub const OID_OTHER_NAME_USERNAME: &str = "1.3.6.1.4.1.57264.1.7";

/// `id-kp-codeSigning`.
pub const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";

/// Extended Key Usage extension OID, for error messages.
const OID_EXTENDED_KEY_USAGE: &str = "2.5.29.37";

/// What a Fulcio certificate says about its signer. Strings exactly as in the certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerIdentity {
    /// Subject alternative name: the URI, else the email address, else the Fulcio username OtherName
    /// (`1.3.6.1.4.1.57264.1.7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// OIDC issuer: `1.3.6.1.4.1.57264.1.8` (DER UTF8String), else the deprecated `.1.1` (raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Build Signer URI (`.1.9`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_signer_uri: Option<String>,
    /// Build Signer Digest (`.1.10`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_signer_digest: Option<String>,
    /// Runner Environment (`.1.11`), e.g. `github-hosted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_environment: Option<String>,
    /// Source Repository URI (`.1.12`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_uri: Option<String>,
    /// Source Repository Digest (`.1.13`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_digest: Option<String>,
    /// Source Repository Ref (`.1.14`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_ref: Option<String>,
    /// Source Repository Identifier (`.1.15`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_identifier: Option<String>,
    /// Source Repository Owner URI (`.1.16`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_owner_uri: Option<String>,
    /// Source Repository Owner Identifier (`.1.17`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_owner_identifier: Option<String>,
    /// Build Config URI (`.1.18`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_config_uri: Option<String>,
    /// Build Config Digest (`.1.19`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_config_digest: Option<String>,
    /// Build Trigger (`.1.20`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_trigger: Option<String>,
    /// Run Invocation URI (`.1.21`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_invocation_uri: Option<String>,
    /// Source Repository Visibility At Signing (`.1.22`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_visibility: Option<String>,
    /// Deployment Environment (`.1.23`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_environment: Option<String>,
    /// GitHub Workflow Trigger (`.1.2`, deprecated, raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_trigger: Option<String>,
    /// GitHub Workflow SHA (`.1.3`, deprecated, raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_sha: Option<String>,
    /// GitHub Workflow Name (`.1.4`, deprecated, raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_name: Option<String>,
    /// GitHub Workflow Repository (`.1.5`, deprecated, raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_repository: Option<String>,
    /// GitHub Workflow Ref (`.1.6`, deprecated, raw string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow_ref: Option<String>,
}

/// How a Fulcio extension value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// The extension value is the UTF-8 string itself (`.1.1`–`.1.6`).
    Raw,
    /// The extension value is a DER UTF8String (`.1.8` on).
    Utf8String,
}

/// Name and encoding of the Fulcio extension `1.3.6.1.4.1.57264.1.{arc}` that [`SignerIdentity`] reads.
fn fulcio_extension(arc: usize) -> Option<(&'static str, Encoding)> {
    Some(match arc {
        1 => ("Issuer (V1)", Encoding::Raw),
        2 => ("GitHub Workflow Trigger", Encoding::Raw),
        3 => ("GitHub Workflow SHA", Encoding::Raw),
        4 => ("GitHub Workflow Name", Encoding::Raw),
        5 => ("GitHub Workflow Repository", Encoding::Raw),
        6 => ("GitHub Workflow Ref", Encoding::Raw),
        8 => ("Issuer (V2)", Encoding::Utf8String),
        9 => ("Build Signer URI", Encoding::Utf8String),
        10 => ("Build Signer Digest", Encoding::Utf8String),
        11 => ("Runner Environment", Encoding::Utf8String),
        12 => ("Source Repository URI", Encoding::Utf8String),
        13 => ("Source Repository Digest", Encoding::Utf8String),
        14 => ("Source Repository Ref", Encoding::Utf8String),
        15 => ("Source Repository Identifier", Encoding::Utf8String),
        16 => ("Source Repository Owner URI", Encoding::Utf8String),
        17 => ("Source Repository Owner Identifier", Encoding::Utf8String),
        18 => ("Build Config URI", Encoding::Utf8String),
        19 => ("Build Config Digest", Encoding::Utf8String),
        20 => ("Build Trigger", Encoding::Utf8String),
        21 => ("Run Invocation URI", Encoding::Utf8String),
        22 => ("Source Repository Visibility At Signing", Encoding::Utf8String),
        23 => ("Deployment Environment", Encoding::Utf8String),
        _ => return None,
    })
}

/// Why a certificate cannot be read, or cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The PEM text holds no certificate, or something else.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The bytes are not a DER X.509 certificate.
    #[error("not a valid X.509 certificate: {reason}")]
    Der {
        /// What the parser said.
        reason: String,
    },
    /// The certificate's public key cannot be used.
    #[error("certificate public key")]
    PublicKey {
        /// Why.
        #[source]
        source: KeyError,
    },
    /// An extension this module reads is not encoded as its OID calls for.
    #[error("certificate extension {oid} ({name}) is malformed: {reason}")]
    Extension {
        /// The extension OID.
        oid: String,
        /// What the extension is.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The subject alternative name cannot be read.
    #[error("certificate subject alternative name is malformed: {reason}")]
    SubjectAlternativeName {
        /// What is wrong.
        reason: String,
    },
    /// The trust root lists no certificate authority.
    #[error("the trust root lists no certificate authority, so no certificate can be trusted")]
    NoCertificateAuthority,
    /// The verification time is not representable (before 1970).
    #[error("cannot verify certificates at {at}: the time is before 1970")]
    TimeOutOfRange {
        /// The verification time.
        at: Timestamp,
    },
    /// The certificate's window ends before the verification time.
    #[error("certificate \"{certificate}\" expired: valid from {not_before} to {not_after}, checked at {at}")]
    Expired {
        /// Which certificate (its SAN subject or distinguished name).
        certificate: String,
        /// Start of its validity.
        not_before: Timestamp,
        /// End of its validity.
        not_after: Timestamp,
        /// The verification time.
        at: Timestamp,
    },
    /// The certificate's window starts after the verification time.
    #[error("certificate \"{certificate}\" is not yet valid: valid from {not_before} to {not_after}, checked at {at}")]
    NotYetValid {
        /// Which certificate.
        certificate: String,
        /// Start of its validity.
        not_before: Timestamp,
        /// End of its validity.
        not_after: Timestamp,
        /// The verification time.
        at: Timestamp,
    },
    /// The certificate does not carry the code-signing extended key usage.
    #[error("certificate \"{certificate}\" is not valid for code signing ({OID_CODE_SIGNING}): {found}")]
    NotForCodeSigning {
        /// Which certificate.
        certificate: String,
        /// What it allows instead.
        found: String,
    },
    /// No path leads from the certificate to a certificate authority of the trust root.
    #[error(
        "certificate \"{certificate}\" (issuer \"{issuer}\") is not issued by any certificate authority in \
         the trust root"
    )]
    UnknownIssuer {
        /// Which certificate.
        certificate: String,
        /// The issuer it names.
        issuer: String,
    },
    /// A path exists, but the certificate authority it leads to is not accepted at the verification time.
    #[error(
        "certificate \"{certificate}\" chains to the certificate authority {authority}, which the trust root \
         accepts {window}, not at {at}"
    )]
    AuthorityNotValidAt {
        /// Which certificate.
        certificate: String,
        /// The certificate authority (its URI, or its place in the trust root).
        authority: String,
        /// The authority's `validFor` window, in words.
        window: String,
        /// The verification time.
        at: Timestamp,
    },
    /// A certificate on the path (intermediate or root) is expired at the verification time.
    #[error("issuing certificate \"{issuer}\" expired at {not_after}, checked at {at}")]
    IssuerExpired {
        /// Which issuing certificate.
        issuer: String,
        /// End of its validity.
        not_after: Timestamp,
        /// The verification time.
        at: Timestamp,
    },
    /// A certificate on the path (intermediate or root) is not yet valid at the verification time.
    #[error("issuing certificate \"{issuer}\" is not valid before {not_before}, checked at {at}")]
    IssuerNotYetValid {
        /// Which issuing certificate.
        issuer: String,
        /// Start of its validity.
        not_before: Timestamp,
        /// The verification time.
        at: Timestamp,
    },
    /// An intermediate on the path restricts its extended key usages and code signing is not among them.
    #[error("issuing certificate \"{issuer}\" does not allow code signing ({OID_CODE_SIGNING}): {found}")]
    IssuerNotForCodeSigning {
        /// Which issuing certificate.
        issuer: String,
        /// What it allows instead.
        found: String,
    },
    /// The named issuer exists in the trust root but its key did not sign the certificate.
    #[error(
        "certificate \"{certificate}\" (issuer \"{issuer}\") is not issued by any certificate authority in the \
         trust root: no trust-root certificate named \"{issuer}\" signed it (another certificate authority uses \
         that name, or the certificate was forged)"
    )]
    BadSignature {
        /// Which certificate.
        certificate: String,
        /// The issuer it names.
        issuer: String,
    },
    /// Path validation failed for another reason.
    #[error("certificate \"{certificate}\" cannot be validated against the trust root: {reason}")]
    InvalidPath {
        /// Which certificate.
        certificate: String,
        /// What failed.
        reason: String,
    },
}

/// An X.509 certificate: its DER, and the fields signature verification needs, read once.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: PublicKey,
    not_before: Timestamp,
    not_after: Timestamp,
    identity: SignerIdentity,
    subject_name: String,
    issuer_name: String,
    serial: String,
    extended_key_usage: Option<Vec<String>>,
}

impl Certificate {
    /// Parses a DER certificate; nothing may follow it.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let (rest, parsed) = X509Certificate::from_der(der)
            .map_err(|error| CertificateError::Der { reason: key::describe_der_error(&error) })?;
        if !rest.is_empty() {
            return Err(CertificateError::Der { reason: format!("{} bytes of trailing data", rest.len()) });
        }
        let public_key = PublicKey::from_spki_der(parsed.public_key().raw)
            .map_err(|source| CertificateError::PublicKey { source })?;
        let validity = parsed.validity();
        Ok(Self {
            der: der.to_vec(),
            public_key,
            not_before: timestamp(validity.not_before, "notBefore")?,
            not_after: timestamp(validity.not_after, "notAfter")?,
            identity: signer_identity(&parsed)?,
            subject_name: parsed.subject().to_string(),
            issuer_name: parsed.issuer().to_string(),
            serial: parsed.raw_serial_as_string(),
            extended_key_usage: extended_key_usage(&parsed)?,
        })
    }

    /// Parses the single `CERTIFICATE` PEM block of `pem`; text around it is ignored.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        Self::from_der(&key::pem_block_labelled(pem, CERTIFICATE_LABEL)?)
    }

    /// Parses one or more `CERTIFICATE` PEM blocks, in order (a chain as cosign writes it, leaf first).
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>, CertificateError> {
        key::pem_blocks_labelled(pem, CERTIFICATE_LABEL)?.iter().map(|der| Self::from_der(der)).collect()
    }

    /// The DER encoding, exactly as read.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Start of the validity window (inclusive).
    #[must_use]
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the validity window (inclusive).
    #[must_use]
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// What the certificate says about its signer.
    #[must_use]
    pub fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    /// The subject distinguished name, e.g. `O=sigstore.dev, CN=sigstore`; empty for Fulcio leaves.
    pub(crate) fn subject_name(&self) -> &str {
        &self.subject_name
    }

    /// The issuer distinguished name, e.g. `O=sigstore.dev, CN=sigstore-intermediate`.
    pub(crate) fn issuer_name(&self) -> &str {
        &self.issuer_name
    }

    /// How messages name this certificate: its SAN subject, else its subject DN, else its serial.
    pub(crate) fn display_name(&self) -> String {
        if let Some(subject) = &self.identity.subject {
            subject.clone()
        } else if !self.subject_name.is_empty() {
            self.subject_name.clone()
        } else {
            format!("serial {}", self.serial)
        }
    }

    /// Whether `at` lies within `[notBefore, notAfter]`.
    pub(crate) fn is_valid_at(&self, at: Timestamp) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Fails unless `at` lies within the validity window.
    pub(crate) fn check_valid_at(&self, at: Timestamp) -> Result<(), CertificateError> {
        let (certificate, not_before, not_after) = (self.display_name(), self.not_before, self.not_after);
        if at < not_before {
            Err(CertificateError::NotYetValid { certificate, not_before, not_after, at })
        } else if at > not_after {
            Err(CertificateError::Expired { certificate, not_before, not_after, at })
        } else {
            Ok(())
        }
    }

    /// Fails unless the certificate lists the code-signing extended key usage.
    pub(crate) fn check_code_signing(&self) -> Result<(), CertificateError> {
        match &self.extended_key_usage {
            Some(usages) if usages.iter().any(|usage| usage == OID_CODE_SIGNING) => Ok(()),
            usages => Err(CertificateError::NotForCodeSigning {
                certificate: self.display_name(),
                found: describe_usages(usages.as_deref()),
            }),
        }
    }

    /// Whether the certificate restricts its extended key usages to a set without code signing.
    pub(crate) fn excludes_code_signing(&self) -> bool {
        self.extended_key_usage.as_ref().is_some_and(|usages| !usages.iter().any(|usage| usage == OID_CODE_SIGNING))
    }

    /// Its extended key usages, in words, for messages.
    pub(crate) fn describe_extended_key_usage(&self) -> String {
        describe_usages(self.extended_key_usage.as_deref())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject_name)
            .field("issuer", &self.issuer_name)
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("identity", &self.identity)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// `usages` in words: "it has no extended key usage extension" or "its extended key usages are …".
fn describe_usages(usages: Option<&[String]>) -> String {
    match usages {
        None => "it has no extended key usage extension".to_owned(),
        Some([]) => "its extended key usage extension is empty".to_owned(),
        Some(usages) => {
            let named: Vec<String> = usages
                .iter()
                .map(|oid| match usage_name(oid) {
                    Some(name) => format!("{name} ({oid})"),
                    None => oid.clone(),
                })
                .collect();
            format!("its extended key usages are {}", named.join(", "))
        }
    }
}

/// The RFC 5280 name of a key purpose.
fn usage_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        OID_CODE_SIGNING => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        _ => return None,
    })
}

/// A certificate time as a timestamp.
fn timestamp(time: ASN1Time, field: &str) -> Result<Timestamp, CertificateError> {
    Timestamp::from_second(time.timestamp())
        .map_err(|error| CertificateError::Der { reason: format!("{field} {time} is out of range: {error}") })
}

/// The extended key usages as dotted OIDs, `None` without the extension.
fn extended_key_usage(parsed: &X509Certificate<'_>) -> Result<Option<Vec<String>>, CertificateError> {
    let extension = parsed.extended_key_usage().map_err(|error| CertificateError::Extension {
        oid: OID_EXTENDED_KEY_USAGE.to_owned(),
        name: "Extended Key Usage",
        reason: error.to_string(),
    })?;
    Ok(extension.map(|extension| usage_oids(extension.value)))
}

/// Every key purpose of an Extended Key Usage extension, as dotted OIDs.
fn usage_oids(usage: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let flags = [
        (usage.any, "2.5.29.37.0"),
        (usage.server_auth, "1.3.6.1.5.5.7.3.1"),
        (usage.client_auth, "1.3.6.1.5.5.7.3.2"),
        (usage.code_signing, OID_CODE_SIGNING),
        (usage.email_protection, "1.3.6.1.5.5.7.3.4"),
        (usage.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (usage.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ];
    flags
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, oid)| (*oid).to_owned())
        .chain(usage.other.iter().map(x509_parser::oid_registry::Oid::to_id_string))
        .collect()
}

/// Reads the SAN subject and the Fulcio extensions.
fn signer_identity(parsed: &X509Certificate<'_>) -> Result<SignerIdentity, CertificateError> {
    // Extension values by arc (`1.3.6.1.4.1.57264.1.{arc}`).
    let mut values: [Option<String>; 24] = Default::default();
    for extension in parsed.extensions() {
        let oid = extension.oid.to_id_string();
        let Some(arc) = oid.strip_prefix(FULCIO_ARC).and_then(|arc| arc.parse::<usize>().ok()) else {
            continue;
        };
        let (Some((name, encoding)), Some(slot)) = (fulcio_extension(arc), values.get_mut(arc)) else {
            continue;
        };
        let malformed = |reason: String| CertificateError::Extension { oid: oid.clone(), name, reason };
        let value = match encoding {
            Encoding::Raw => std::str::from_utf8(extension.value)
                .map_err(|error| malformed(format!("the value is not UTF-8: {error}")))?,
            Encoding::Utf8String => utf8_string(extension.value).map_err(malformed)?,
        };
        if slot.is_some() {
            return Err(malformed("the extension appears more than once".to_owned()));
        }
        *slot = Some(value.to_owned());
    }
    let mut take = |arc: usize| values.get_mut(arc).and_then(Option::take);
    Ok(SignerIdentity {
        subject: san_subject(parsed)?,
        issuer: take(8).or_else(|| take(1)),
        build_signer_uri: take(9),
        build_signer_digest: take(10),
        runner_environment: take(11),
        source_repository_uri: take(12),
        source_repository_digest: take(13),
        source_repository_ref: take(14),
        source_repository_identifier: take(15),
        source_repository_owner_uri: take(16),
        source_repository_owner_identifier: take(17),
        build_config_uri: take(18),
        build_config_digest: take(19),
        build_trigger: take(20),
        run_invocation_uri: take(21),
        source_repository_visibility: take(22),
        deployment_environment: take(23),
        github_workflow_trigger: take(2),
        github_workflow_sha: take(3),
        github_workflow_name: take(4),
        github_workflow_repository: take(5),
        github_workflow_ref: take(6),
    })
}

/// The SAN subject: the first URI, else the first email address, else the first Fulcio username.
fn san_subject(parsed: &X509Certificate<'_>) -> Result<Option<String>, CertificateError> {
    let san = parsed
        .subject_alternative_name()
        .map_err(|error| CertificateError::SubjectAlternativeName { reason: error.to_string() })?;
    let Some(san) = san else {
        return Ok(None);
    };
    let (mut uri, mut email, mut username) = (None, None, None);
    for name in &san.value.general_names {
        match name {
            GeneralName::URI(value) => {
                uri.get_or_insert(*value);
            }
            GeneralName::RFC822Name(value) => {
                email.get_or_insert(*value);
            }
            GeneralName::OtherName(oid, value) if oid.to_id_string() == OID_OTHER_NAME_USERNAME => {
                // OtherName value: [0] EXPLICIT UTF8String.
                let decoded =
                    der_content(value, 0xa0, "an explicit [0] tag").and_then(utf8_string).map_err(|reason| {
                        CertificateError::SubjectAlternativeName {
                            reason: format!("OtherName {OID_OTHER_NAME_USERNAME}: {reason}"),
                        }
                    })?;
                username.get_or_insert(decoded);
            }
            GeneralName::Invalid(tag, _) if tag.0 == 1 || tag.0 == 6 => {
                let kind = if tag.0 == 1 { "an email address (rfc822Name)" } else { "a URI" };
                return Err(CertificateError::SubjectAlternativeName {
                    reason: format!("{kind} is not a valid IA5String"),
                });
            }
            _ => {}
        }
    }
    Ok(uri.or(email).or(username).map(str::to_owned))
}

/// The text of a DER UTF8String that makes up all of `bytes`.
fn utf8_string(bytes: &[u8]) -> Result<&str, String> {
    let content = der_content(bytes, 0x0c, "a DER UTF8String")?;
    std::str::from_utf8(content).map_err(|error| format!("the UTF8String is not UTF-8: {error}"))
}

/// The content of the single DER element that makes up all of `bytes`, which must have tag `tag`.
fn der_content<'a>(bytes: &'a [u8], tag: u8, what: &str) -> Result<&'a [u8], String> {
    let Some((&found, rest)) = bytes.split_first() else {
        return Err(format!("expected {what}, found nothing"));
    };
    if found != tag {
        return Err(format!("expected {what} (tag 0x{tag:02x}), found tag 0x{found:02x}"));
    }
    let Some((&first, rest)) = rest.split_first() else {
        return Err(format!("{what} is truncated: no length"));
    };
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(format!("{what} has an invalid length"));
        }
        let (len_bytes, rest) = rest.split_at(count);
        (len_bytes.iter().fold(0, |len, byte| (len << 8) | usize::from(*byte)), rest)
    };
    if rest.len() == len { Ok(rest) } else { Err(format!("{what} declares {len} bytes but {} follow", rest.len())) }
}

#[cfg(test)]
pub(crate) mod test_pki {
    //! A throwaway PKI for tests: roots, intermediates and Fulcio-style leaves made with rcgen.

    use std::time::Duration;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
        KeyPair, KeyUsagePurpose, SanType, SignatureAlgorithm, date_time_ymd,
    };

    use super::Certificate;

    /// A public-good Fulcio leaf (GitHub Actions, trailofbits/rfc8785.py release v0.1.2), issued by
    /// `sigstore-intermediate` on 2024-03-19 and logged in Rekor at 1710888076; base64 DER.
    pub(crate) const PUBLIC_GOOD_LEAF: &str = "MIIGzzCCBlSgAwIBAgIUM29bvYkrDKnBVZmVeloTUMlZqNYwCgYIKoZIzj0EAwMwNzEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MR4wHAYDVQQDExVzaWdzdG9yZS1pbnRlcm1lZGlhdGUwHhcNMjQwMzE5MjI0MTE1WhcNMjQwMzE5MjI1MTE1WjAAMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1q8wmpmK0vesCD05ZE1o5Jyu+g/CtLZLXNEZiIomh1jquPMCZrhlPdOfzQws+E+IUBX3pcVUxtn4rYKnMH39oaOCBXMwggVvMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNVHQ4EFgQU0PaUbhtp84Orb2YatvZkIjkZiOEwHwYDVR0jBBgwFoAU39Ppz1YkEZb5qNjpKFWixi4YZD8wZgYDVR0RAQH/BFwwWoZYaHR0cHM6Ly9naXRodWIuY29tL3RyYWlsb2ZiaXRzL3JmYzg3ODUucHkvLmdpdGh1Yi93b3JrZmxvd3MvcmVsZWFzZS55bWxAcmVmcy90YWdzL3YwLjEuMjA5BgorBgEEAYO/MAEBBCtodHRwczovL3Rva2VuLmFjdGlvbnMuZ2l0aHVidXNlcmNvbnRlbnQuY29tMBUGCisGAQQBg78wAQIEB3JlbGVhc2UwNgYKKwYBBAGDvzABAwQoZDhiNGE2NDQ1ZjM4YzQ4YjkxMzdhODA5OTcwNmQ5YjgwNzMxNDZlNDAVBgorBgEEAYO/MAEEBAdyZWxlYXNlMCQGCisGAQQBg78wAQUEFnRyYWlsb2ZiaXRzL3JmYzg3ODUucHkwHgYKKwYBBAGDvzABBgQQcmVmcy90YWdzL3YwLjEuMjA7BgorBgEEAYO/MAEIBC0MK2h0dHBzOi8vdG9rZW4uYWN0aW9ucy5naXRodWJ1c2VyY29udGVudC5jb20waAYKKwYBBAGDvzABCQRaDFhodHRwczovL2dpdGh1Yi5jb20vdHJhaWxvZmJpdHMvcmZjODc4NS5weS8uZ2l0aHViL3dvcmtmbG93cy9yZWxlYXNlLnltbEByZWZzL3RhZ3MvdjAuMS4yMDgGCisGAQQBg78wAQoEKgwoZDhiNGE2NDQ1ZjM4YzQ4YjkxMzdhODA5OTcwNmQ5YjgwNzMxNDZlNDAdBgorBgEEAYO/MAELBA8MDWdpdGh1Yi1ob3N0ZWQwOQYKKwYBBAGDvzABDAQrDClodHRwczovL2dpdGh1Yi5jb20vdHJhaWxvZmJpdHMvcmZjODc4NS5weTA4BgorBgEEAYO/MAENBCoMKGQ4YjRhNjQ0NWYzOGM0OGI5MTM3YTgwOTk3MDZkOWI4MDczMTQ2ZTQwIAYKKwYBBAGDvzABDgQSDBByZWZzL3RhZ3MvdjAuMS4yMBkGCisGAQQBg78wAQ8ECwwJNzY4MjEzOTk3MC4GCisGAQQBg78wARAEIAweaHR0cHM6Ly9naXRodWIuY29tL3RyYWlsb2ZiaXRzMBcGCisGAQQBg78wAREECQwHMjMxNDQyMzBoBgorBgEEAYO/MAESBFoMWGh0dHBzOi8vZ2l0aHViLmNvbS90cmFpbG9mYml0cy9yZmM4Nzg1LnB5Ly5naXRodWIvd29ya2Zsb3dzL3JlbGVhc2UueW1sQHJlZnMvdGFncy92MC4xLjIwOAYKKwYBBAGDvzABEwQqDChkOGI0YTY0NDVmMzhjNDhiOTEzN2E4MDk5NzA2ZDliODA3MzE0NmU0MBcGCisGAQQBg78wARQECQwHcmVsZWFzZTBcBgorBgEEAYO/MAEVBE4MTGh0dHBzOi8vZ2l0aHViLmNvbS90cmFpbG9mYml0cy9yZmM4Nzg1LnB5L2FjdGlvbnMvcnVucy84MzUxMDU4NTAxL2F0dGVtcHRzLzEwFgYKKwYBBAGDvzABFgQIDAZwdWJsaWMwgYoGCisGAQQB1nkCBAIEfAR6AHgAdgDdPTBqxscRMmMZHhyZZzcCokpeuN48rf+HinKALynujgAAAY5Y4EK+AAAEAwBHMEUCIDagfjpw1AZX374vFXGDSZgJ9Kqrcq7Tk/Us3f7nmVQ1AiEA4esGBrDhflbIUujUmYC3eUWFFBgXHfABLiSDwciTQw8wCgYIKoZIzj0EAwMDaQAwZgIxAM6gKI5vKoqcvTkv87Foq3WXNYmAhPj3qaQ5ocXQXsWzHeNWGB6lSHTG3ENyapqYBgIxAMJW9ly3JXEdI5ydHfz+GZoh1kyc0XFUPp4V4kVjnUXY+KtoQWKSPHaZMkYC/szXhg==";

    /// A timestamp `minutes` after midnight UTC of a day.
    pub(crate) fn at(year: i16, month: i8, date: i8, minutes: i64) -> jiff::Timestamp {
        let midnight = jiff::civil::date(year, month, date).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
        midnight + jiff::SignedDuration::from_mins(minutes)
    }

    /// A key pair for an rcgen signature algorithm (RSA keys are 2048 bits).
    pub(crate) fn key_pair(algorithm: &'static SignatureAlgorithm) -> KeyPair {
        if algorithm == &rcgen::PKCS_RSA_SHA256 {
            KeyPair::generate_rsa_for(algorithm, rcgen::RsaKeySize::_2048).unwrap()
        } else {
            KeyPair::generate_for(algorithm).unwrap()
        }
    }

    /// A certificate authority able to issue certificates.
    pub(crate) struct Authority {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl Authority {
        /// A self-signed root valid 2020–2040.
        pub(crate) fn root(name: &str, algorithm: &'static SignatureAlgorithm) -> Self {
            let params = ca_params(name, None);
            Self { issuer: CertifiedIssuer::self_signed(params, key_pair(algorithm)).unwrap() }
        }

        /// A self-signed root valid from midnight UTC of `from` to midnight UTC of `until`.
        pub(crate) fn root_valid(name: &str, from: (i32, u8, u8), until: (i32, u8, u8)) -> Self {
            let mut params = ca_params(name, None);
            params.not_before = date_time_ymd(from.0, from.1, from.2);
            params.not_after = date_time_ymd(until.0, until.1, until.2);
            Self { issuer: CertifiedIssuer::self_signed(params, key_pair(&rcgen::PKCS_ECDSA_P384_SHA384)).unwrap() }
        }

        /// An intermediate issued by `self`, valid 2021–2039, restricted to `usages` when given.
        pub(crate) fn intermediate(
            &self,
            name: &str,
            algorithm: &'static SignatureAlgorithm,
            usages: Option<Vec<ExtendedKeyUsagePurpose>>,
        ) -> Self {
            let mut params = ca_params(name, usages);
            params.not_before = date_time_ymd(2021, 1, 1);
            params.not_after = date_time_ymd(2039, 1, 1);
            Self { issuer: CertifiedIssuer::signed_by(params, key_pair(algorithm), &self.issuer).unwrap() }
        }

        /// An intermediate valid from midnight UTC of `from` to midnight UTC of `until` (year, month, day).
        pub(crate) fn intermediate_valid(&self, name: &str, from: (i32, u8, u8), until: (i32, u8, u8)) -> Self {
            let mut params = ca_params(name, None);
            params.not_before = date_time_ymd(from.0, from.1, from.2);
            params.not_after = date_time_ymd(until.0, until.1, until.2);
            let key = key_pair(&rcgen::PKCS_ECDSA_P384_SHA384);
            Self { issuer: CertifiedIssuer::signed_by(params, key, &self.issuer).unwrap() }
        }

        /// Its certificate, DER.
        pub(crate) fn der(&self) -> Vec<u8> {
            self.issuer.der().to_vec()
        }

        /// Its certificate, parsed.
        pub(crate) fn certificate(&self) -> Certificate {
            Certificate::from_der(&self.der()).unwrap()
        }

        /// Issues a certificate for `params` and a fresh key of `algorithm`; returns its DER.
        pub(crate) fn issue(&self, params: &CertificateParams, algorithm: &'static SignatureAlgorithm) -> Vec<u8> {
            params.signed_by(&key_pair(algorithm), &self.issuer).unwrap().der().to_vec()
        }
    }

    fn ca_params(name: &str, usages: Option<Vec<ExtendedKeyUsagePurpose>>) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, "syncgate.test");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.extended_key_usages = usages.unwrap_or_default();
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2040, 1, 1);
        params
    }

    /// Fulcio-style leaf parameters: empty subject, SAN URI, code signing, valid ten minutes from
    /// 2024-06-01T12:00:00Z, no Fulcio extensions yet.
    pub(crate) fn leaf_params(san_uri: &str) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.subject_alt_names = vec![SanType::URI(san_uri.try_into().unwrap())];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = date_time_ymd(2024, 6, 1) + Duration::from_secs(12 * 3600);
        params.not_after = params.not_before + Duration::from_secs(600);
        params
    }

    /// A Fulcio extension `1.3.6.1.4.1.57264.1.{arc}` with a raw value.
    pub(crate) fn raw_extension(arc: u64, value: &[u8]) -> CustomExtension {
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, arc], value.to_vec())
    }

    /// A Fulcio extension `1.3.6.1.4.1.57264.1.{arc}` holding a DER UTF8String.
    pub(crate) fn utf8_extension(arc: u64, value: &str) -> CustomExtension {
        raw_extension(arc, &der_utf8_string(value))
    }

    /// A DER UTF8String.
    pub(crate) fn der_utf8_string(value: &str) -> Vec<u8> {
        let mut out = vec![0x0c];
        let len = value.len();
        if len < 0x80 {
            out.push(u8::try_from(len).unwrap());
        } else {
            out.extend([0x82, u8::try_from(len >> 8).unwrap(), u8::try_from(len & 0xff).unwrap()]);
        }
        out.extend_from_slice(value.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{ExtendedKeyUsagePurpose, OtherNameValue, SanType};

    use super::key::KeyAlgorithm;
    use super::test_pki::{self, Authority, at, der_utf8_string, leaf_params, raw_extension, utf8_extension};
    use super::*;

    const WORKFLOW: &str = "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0";

    fn issuer() -> Authority {
        Authority::root("test root", &rcgen::PKCS_ECDSA_P384_SHA384)
    }

    #[test]
    fn reads_every_fulcio_extension() {
        let ca = issuer();
        let mut params = leaf_params(WORKFLOW);
        params.custom_extensions = vec![
            utf8_extension(8, "https://token.actions.githubusercontent.com"),
            utf8_extension(9, "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0"),
            utf8_extension(10, "4f1c0a5e9b6f6d1f2a3b4c5d6e7f8091a2b3c4d5"),
            utf8_extension(11, "github-hosted"),
            utf8_extension(12, "https://github.com/syncgate/syncgate"),
            utf8_extension(13, "9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0"),
            utf8_extension(14, "refs/tags/v1.2.0"),
            utf8_extension(15, "812345678"),
            utf8_extension(16, "https://github.com/syncgate"),
            utf8_extension(17, "98765432"),
            utf8_extension(18, "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0"),
            utf8_extension(19, "9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0"),
            utf8_extension(20, "push"),
            utf8_extension(21, "https://github.com/syncgate/syncgate/actions/runs/1234/attempts/1"),
            utf8_extension(22, "public"),
            utf8_extension(23, "production"),
            // Token Subject (.1.24) is not part of SignerIdentity and must not disturb parsing.
            utf8_extension(24, "repo:syncgate/syncgate:ref:refs/tags/v1.2.0"),
            raw_extension(1, b"https://token.actions.githubusercontent.com/legacy"),
            raw_extension(2, b"push"),
            raw_extension(3, b"9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0"),
            raw_extension(4, b"Release"),
            raw_extension(5, b"syncgate/syncgate"),
            raw_extension(6, b"refs/tags/v1.2.0"),
        ];
        let certificate = Certificate::from_der(&ca.issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        let expected = SignerIdentity {
            subject: Some(WORKFLOW.to_owned()),
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            build_signer_uri: Some(
                "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0".to_owned(),
            ),
            build_signer_digest: Some("4f1c0a5e9b6f6d1f2a3b4c5d6e7f8091a2b3c4d5".to_owned()),
            runner_environment: Some("github-hosted".to_owned()),
            source_repository_uri: Some("https://github.com/syncgate/syncgate".to_owned()),
            source_repository_digest: Some("9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0".to_owned()),
            source_repository_ref: Some("refs/tags/v1.2.0".to_owned()),
            source_repository_identifier: Some("812345678".to_owned()),
            source_repository_owner_uri: Some("https://github.com/syncgate".to_owned()),
            source_repository_owner_identifier: Some("98765432".to_owned()),
            build_config_uri: Some(
                "https://github.com/syncgate/syncgate/.github/workflows/release.yml@refs/tags/v1.2.0".to_owned(),
            ),
            build_config_digest: Some("9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0".to_owned()),
            build_trigger: Some("push".to_owned()),
            run_invocation_uri: Some("https://github.com/syncgate/syncgate/actions/runs/1234/attempts/1".to_owned()),
            source_repository_visibility: Some("public".to_owned()),
            deployment_environment: Some("production".to_owned()),
            github_workflow_trigger: Some("push".to_owned()),
            github_workflow_sha: Some("9c2e41aa0b1c2d3e4f5061728394a5b6c7d8e9f0".to_owned()),
            github_workflow_name: Some("Release".to_owned()),
            github_workflow_repository: Some("syncgate/syncgate".to_owned()),
            github_workflow_ref: Some("refs/tags/v1.2.0".to_owned()),
        };
        assert_eq!(certificate.identity(), &expected);
        assert_eq!(certificate.public_key().algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        assert_eq!(certificate.not_before(), at(2024, 6, 1, 720));
        assert_eq!(certificate.not_after(), at(2024, 6, 1, 730));
    }

    #[test]
    fn identity_serializes_in_camel_case() {
        let identity = SignerIdentity {
            subject: Some("a".to_owned()),
            source_repository_owner_uri: Some("b".to_owned()),
            ..SignerIdentity::default()
        };
        let json = serde_json::to_value(&identity).unwrap();
        assert_eq!(json["subject"], "a");
        assert_eq!(json["sourceRepositoryOwnerUri"], "b");
        assert!(json["issuer"].is_null());
    }

    #[test]
    fn reads_a_public_good_github_actions_certificate() {
        use base64::Engine as _;

        let der = base64::engine::general_purpose::STANDARD.decode(test_pki::PUBLIC_GOOD_LEAF).unwrap();
        let certificate = Certificate::from_der(&der).unwrap();
        let workflow = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";
        let commit = "d8b4a6445f38c48b9137a8099706d9b8073146e4";
        let expected = SignerIdentity {
            subject: Some(workflow.to_owned()),
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            build_signer_uri: Some(workflow.to_owned()),
            build_signer_digest: Some(commit.to_owned()),
            runner_environment: Some("github-hosted".to_owned()),
            source_repository_uri: Some("https://github.com/trailofbits/rfc8785.py".to_owned()),
            source_repository_digest: Some(commit.to_owned()),
            source_repository_ref: Some("refs/tags/v0.1.2".to_owned()),
            source_repository_identifier: Some("768213997".to_owned()),
            source_repository_owner_uri: Some("https://github.com/trailofbits".to_owned()),
            source_repository_owner_identifier: Some("2314423".to_owned()),
            build_config_uri: Some(workflow.to_owned()),
            build_config_digest: Some(commit.to_owned()),
            build_trigger: Some("release".to_owned()),
            run_invocation_uri: Some(
                "https://github.com/trailofbits/rfc8785.py/actions/runs/8351058501/attempts/1".to_owned(),
            ),
            source_repository_visibility: Some("public".to_owned()),
            deployment_environment: None,
            github_workflow_trigger: Some("release".to_owned()),
            github_workflow_sha: Some(commit.to_owned()),
            github_workflow_name: Some("release".to_owned()),
            github_workflow_repository: Some("trailofbits/rfc8785.py".to_owned()),
            github_workflow_ref: Some("refs/tags/v0.1.2".to_owned()),
        };
        assert_eq!(certificate.identity(), &expected);
        assert_eq!(certificate.issuer_name(), "O=sigstore.dev, CN=sigstore-intermediate");
        assert_eq!(certificate.not_before().to_string(), "2024-03-19T22:41:15Z");
        assert_eq!(certificate.not_after().to_string(), "2024-03-19T22:51:15Z");
        certificate.check_code_signing().unwrap();
    }

    #[test]
    fn the_v1_issuer_is_used_when_there_is_no_v2_issuer() {
        let mut params = leaf_params(WORKFLOW);
        params.custom_extensions = vec![raw_extension(1, b"https://accounts.google.com")];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(certificate.identity().issuer.as_deref(), Some("https://accounts.google.com"));
        assert_eq!(certificate.identity().build_signer_uri, None);
    }

    #[test]
    fn email_subject() {
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names = vec![SanType::Rfc822Name("release@syncgate.dev".try_into().unwrap())];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ED25519)).unwrap();
        assert_eq!(certificate.identity().subject.as_deref(), Some("release@syncgate.dev"));
        assert_eq!(certificate.public_key().algorithm(), KeyAlgorithm::Ed25519);
    }

    #[test]
    fn other_name_subject() {
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names = vec![SanType::OtherName((
            vec![1, 3, 6, 1, 4, 1, 57264, 1, 7],
            OtherNameValue::Utf8String("foo!oidc.local".to_owned()),
        ))];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_RSA_SHA256)).unwrap();
        assert_eq!(certificate.identity().subject.as_deref(), Some("foo!oidc.local"));
        assert_eq!(certificate.public_key().algorithm(), KeyAlgorithm::RsaPkcs1Sha256);
    }

    #[test]
    fn uri_wins_over_email_and_other_name() {
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names = vec![
            SanType::OtherName((vec![1, 3, 6, 1, 4, 1, 57264, 1, 7], OtherNameValue::Utf8String("user".to_owned()))),
            SanType::Rfc822Name("release@syncgate.dev".try_into().unwrap()),
            SanType::URI(WORKFLOW.try_into().unwrap()),
        ];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P384_SHA384)).unwrap();
        assert_eq!(certificate.identity().subject.as_deref(), Some(WORKFLOW));
        assert_eq!(certificate.public_key().algorithm(), KeyAlgorithm::EcdsaP384Sha384);
    }

    #[test]
    fn other_other_names_are_ignored() {
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names =
            vec![SanType::OtherName((vec![1, 2, 3, 4], OtherNameValue::Utf8String("unrelated".to_owned())))];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(certificate.identity().subject, None);
    }

    #[test]
    fn no_san_and_no_extensions_give_an_empty_identity() {
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names.clear();
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(certificate.identity(), &SignerIdentity::default());
    }

    #[test]
    fn a_v2_extension_with_a_raw_value_is_refused() {
        let mut params = leaf_params(WORKFLOW);
        params.custom_extensions = vec![raw_extension(14, b"refs/heads/main")];
        let error = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "certificate extension 1.3.6.1.4.1.57264.1.14 (Source Repository Ref) is malformed: \
             expected a DER UTF8String (tag 0x0c), found tag 0x72"
        );
    }

    #[test]
    fn malformed_extensions_name_the_oid() {
        let cases: [(rcgen::CustomExtension, &str); 5] = [
            (
                raw_extension(2, &[0x70, 0xff, 0x73]),
                "certificate extension 1.3.6.1.4.1.57264.1.2 (GitHub Workflow Trigger) is malformed: \
                 the value is not UTF-8: invalid utf-8 sequence of 1 bytes from index 1",
            ),
            (
                raw_extension(8, &[0x0c, 0x02, 0xc3, 0x28]),
                "certificate extension 1.3.6.1.4.1.57264.1.8 (Issuer (V2)) is malformed: \
                 the UTF8String is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
            ),
            (
                raw_extension(9, &[0x13, 0x01, 0x61]),
                "certificate extension 1.3.6.1.4.1.57264.1.9 (Build Signer URI) is malformed: \
                 expected a DER UTF8String (tag 0x0c), found tag 0x13",
            ),
            (
                raw_extension(11, &[0x0c, 0x05, 0x61]),
                "certificate extension 1.3.6.1.4.1.57264.1.11 (Runner Environment) is malformed: \
                 a DER UTF8String declares 5 bytes but 1 follow",
            ),
            (
                raw_extension(23, &[]),
                "certificate extension 1.3.6.1.4.1.57264.1.23 (Deployment Environment) is malformed: \
                 expected a DER UTF8String, found nothing",
            ),
        ];
        for (extension, expected) in cases {
            let mut params = leaf_params(WORKFLOW);
            params.custom_extensions = vec![extension];
            let error = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn long_extension_values_use_long_form_lengths() {
        let long = "x".repeat(300);
        assert_eq!(utf8_string(&der_utf8_string(&long)).unwrap(), long);
        let mut params = leaf_params(WORKFLOW);
        params.custom_extensions = vec![utf8_extension(21, &long)];
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(certificate.identity().run_invocation_uri.as_deref(), Some(long.as_str()));
    }

    #[test]
    fn a_malformed_username_other_name_names_the_oid() {
        // [0] EXPLICIT wrapping a PrintableString instead of a UTF8String.
        let error = der_content(&[0xa0, 0x03, 0x13, 0x01, 0x61], 0xa0, "an explicit [0] tag").and_then(utf8_string);
        assert_eq!(error.unwrap_err(), "expected a DER UTF8String (tag 0x0c), found tag 0x13");
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names =
            vec![SanType::OtherName((vec![1, 3, 6, 1, 4, 1, 57264, 1, 7], OtherNameValue::Utf8String(String::new())))];
        // An empty username is well-formed and kept as is.
        let certificate = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256)).unwrap();
        assert_eq!(certificate.identity().subject.as_deref(), Some(""));
    }

    #[test]
    fn duplicate_fulcio_extensions_are_refused() {
        let mut params = leaf_params(WORKFLOW);
        params.custom_extensions = vec![utf8_extension(12, "a"), utf8_extension(12, "b")];
        let der = issuer().issue(&params, &rcgen::PKCS_ECDSA_P256_SHA256);
        let message = Certificate::from_der(&der).unwrap_err().to_string();
        assert!(message.contains("1.3.6.1.4.1.57264.1.12"), "{message}");
    }

    #[test]
    fn pem_single_and_chain() {
        let root = issuer();
        let intermediate = root.intermediate("test intermediate", &rcgen::PKCS_ECDSA_P384_SHA384, None);
        let leaf = intermediate.issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ECDSA_P256_SHA256);
        let pem = |der: &[u8]| key::encode_pem("CERTIFICATE", der);

        let single = Certificate::from_pem(&format!("leaf:\r\n{}", pem(&leaf).replace('\n', "\r\n"))).unwrap();
        assert_eq!(single.der(), leaf.as_slice());

        let chain_pem = format!("{}{}{}", pem(&leaf), pem(&intermediate.der()), pem(&root.der()));
        let chain = Certificate::chain_from_pem(&chain_pem).unwrap();
        assert_eq!(chain.len(), 3);
        assert_eq!(chain[0].der(), leaf.as_slice());
        assert_eq!(chain[2], root.certificate());
        assert_eq!(
            Certificate::from_pem(&chain_pem).unwrap_err().to_string(),
            "expected exactly one PEM block labelled \"CERTIFICATE\", found 3"
        );
        assert_eq!(
            Certificate::from_pem("nothing here").unwrap_err().to_string(),
            "no PEM block found: expected a \"-----BEGIN CERTIFICATE-----\" line"
        );
        let key_pem = single.public_key().to_pem();
        assert_eq!(
            Certificate::chain_from_pem(&format!("{}{key_pem}", pem(&leaf))).unwrap_err().to_string(),
            "expected a PEM block labelled \"CERTIFICATE\", found \"PUBLIC KEY\""
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let message = Certificate::from_der(b"\x30\x03\x02\x01\x01").unwrap_err().to_string();
        assert!(message.starts_with("not a valid X.509 certificate: "), "{message}");
        let mut der = issuer().der();
        der.push(0);
        assert_eq!(
            Certificate::from_der(&der).unwrap_err().to_string(),
            "not a valid X.509 certificate: 1 bytes of trailing data"
        );
    }

    #[test]
    fn validity_and_code_signing_checks() {
        let certificate = Certificate::from_der(&issuer().issue(&leaf_params(WORKFLOW), &rcgen::PKCS_ED25519)).unwrap();
        certificate.check_valid_at(at(2024, 6, 1, 720)).unwrap();
        certificate.check_valid_at(at(2024, 6, 1, 730)).unwrap();
        certificate.check_code_signing().unwrap();
        assert_eq!(
            certificate.check_valid_at(at(2024, 6, 1, 731)).unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" expired: valid from 2024-06-01T12:00:00Z to 2024-06-01T12:10:00Z, \
                 checked at 2024-06-01T12:11:00Z"
            )
        );
        assert!(matches!(certificate.check_valid_at(at(2024, 6, 1, 719)), Err(CertificateError::NotYetValid { .. })));

        let mut params = leaf_params(WORKFLOW);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let server = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ED25519)).unwrap();
        assert_eq!(
            server.check_code_signing().unwrap_err().to_string(),
            format!(
                "certificate \"{WORKFLOW}\" is not valid for code signing (1.3.6.1.5.5.7.3.3): its extended key \
                 usages are serverAuth (1.3.6.1.5.5.7.3.1), clientAuth (1.3.6.1.5.5.7.3.2)"
            )
        );
        params.extended_key_usages.clear();
        let none = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ED25519)).unwrap();
        assert!(none.check_code_signing().unwrap_err().to_string().ends_with("it has no extended key usage extension"));
    }

    #[test]
    fn display_name_falls_back_to_the_subject_dn_then_the_serial() {
        let root = issuer().certificate();
        assert_eq!(root.display_name(), "O=syncgate.test, CN=test root");
        let mut params = leaf_params(WORKFLOW);
        params.subject_alt_names.clear();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0a, 0xbc]));
        let anonymous = Certificate::from_der(&issuer().issue(&params, &rcgen::PKCS_ED25519)).unwrap();
        assert_eq!(anonymous.display_name(), "serial 0a:bc");
    }
}
