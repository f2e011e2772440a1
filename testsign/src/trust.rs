//! Sigstore trust material: `trusted_root.json` (protobuf-JSON of `dev.sigstore.trustroot.v1.TrustedRoot`) and
//! the `ClientTrustConfig` wrapper some clients read. Built from the test CA and logs; every field is public so
//! that tests can write roots that are wrong on purpose.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::certificate::CertificateAuthority;
use crate::ctlog::CtLog;
use crate::key::PublicKey;
use crate::tlog::TransparencyLog;

/// Media type of trusted roots.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// Media type of client trust configurations.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// Media type of signing configurations.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// A transparency or CT log as a trusted root lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInstance {
    /// `baseUrl`.
    pub base_url: String,
    /// `hashAlgorithm`, e.g. `SHA2_256`.
    pub hash_algorithm: String,
    /// `publicKey.rawBytes`: SPKI DER.
    pub public_key_der: Vec<u8>,
    /// `publicKey.keyDetails`, e.g. `PKIX_ECDSA_P256_SHA_256`.
    pub key_details: String,
    /// `publicKey.validFor.start`.
    pub valid_from: Timestamp,
    /// `publicKey.validFor.end`, if any.
    pub valid_until: Option<Timestamp>,
    /// `logId.keyId`: raw bytes (SHA-256 of the SPKI for honest logs).
    pub log_id: Vec<u8>,
}

impl LogInstance {
    fn from_key(base_url: String, key: &PublicKey, valid_from: Timestamp) -> Self {
        LogInstance {
            base_url,
            hash_algorithm: "SHA2_256".to_owned(),
            public_key_der: key.spki_der().to_vec(),
            key_details: key.algorithm().key_details().to_owned(),
            valid_from,
            valid_until: None,
            log_id: key.sha256().to_vec(),
        }
    }

    /// The transparency log's entry.
    #[must_use]
    pub fn transparency_log(log: &TransparencyLog) -> Self {
        Self::from_key(log.base_url(), log.public_key(), log.valid_from)
    }

    /// The CT log's entry.
    #[must_use]
    pub fn ct_log(log: &CtLog) -> Self {
        Self::from_key(log.base_url().to_owned(), log.public_key(), log.valid_from)
    }

    fn to_value(&self) -> Value {
        json!({
            "baseUrl": self.base_url,
            "hashAlgorithm": self.hash_algorithm,
            "publicKey": {
                "rawBytes": STANDARD.encode(&self.public_key_der),
                "keyDetails": self.key_details,
                "validFor": time_range(self.valid_from, self.valid_until),
            },
            "logId": {"keyId": STANDARD.encode(&self.log_id)},
        })
    }
}

/// A certificate authority as a trusted root lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInstance {
    /// `subject.organization`.
    pub organization: String,
    /// `subject.commonName`.
    pub common_name: String,
    /// `uri`.
    pub uri: String,
    /// `certChain.certificates`: intermediate(s) first, root last.
    pub chain_der: Vec<Vec<u8>>,
    /// `validFor.start`.
    pub valid_from: Timestamp,
    /// `validFor.end`, if any.
    pub valid_until: Option<Timestamp>,
}

impl CaInstance {
    /// The CA's entry: its chain, valid from its certificates' `not_before`.
    #[must_use]
    pub fn certificate_authority(ca: &CertificateAuthority) -> Self {
        let options = ca.options();
        CaInstance {
            organization: options.organization.clone(),
            common_name: options.root_common_name.clone(),
            uri: options.uri.clone(),
            chain_der: ca.chain_der(),
            valid_from: options.not_before,
            valid_until: None,
        }
    }

    fn to_value(&self) -> Value {
        let certificates: Vec<Value> =
            self.chain_der.iter().map(|der| json!({"rawBytes": STANDARD.encode(der)})).collect();
        json!({
            "subject": {"organization": self.organization, "commonName": self.common_name},
            "uri": self.uri,
            "certChain": {"certificates": certificates},
            "validFor": time_range(self.valid_from, self.valid_until),
        })
    }
}

fn time_range(start: Timestamp, end: Option<Timestamp>) -> Value {
    let mut range = Map::new();
    range.insert("start".to_owned(), json!(rfc3339(start)));
    if let Some(end) = end {
        range.insert("end".to_owned(), json!(rfc3339(end)));
    }
    Value::Object(range)
}

/// RFC 3339 in UTC with a `Z` suffix and whole seconds, as protobuf-JSON writes `google.protobuf.Timestamp`.
pub(crate) fn rfc3339(at: Timestamp) -> String {
    crate::certificate::truncate(at).to_string()
}

/// A Sigstore trusted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    /// `mediaType`.
    pub media_type: String,
    /// `tlogs`.
    pub tlogs: Vec<LogInstance>,
    /// `certificateAuthorities`.
    pub certificate_authorities: Vec<CaInstance>,
    /// `ctlogs`.
    pub ctlogs: Vec<LogInstance>,
    /// `timestampAuthorities` (always written, usually empty).
    pub timestamp_authorities: Vec<CaInstance>,
}

impl TrustedRoot {
    /// A trusted root listing these CAs, transparency logs and CT logs.
    #[must_use]
    pub fn new(cas: &[&CertificateAuthority], tlogs: &[&TransparencyLog], ctlogs: &[&CtLog]) -> Self {
        TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.to_owned(),
            tlogs: tlogs.iter().map(|log| LogInstance::transparency_log(log)).collect(),
            certificate_authorities: cas.iter().map(|ca| CaInstance::certificate_authority(ca)).collect(),
            ctlogs: ctlogs.iter().map(|log| LogInstance::ct_log(log)).collect(),
            timestamp_authorities: Vec::new(),
        }
    }

    /// Shorthand for `TrustedRoot::new(…).to_json()`.
    #[must_use]
    pub fn json(cas: &[&CertificateAuthority], tlogs: &[&TransparencyLog], ctlogs: &[&CtLog]) -> String {
        Self::new(cas, tlogs, ctlogs).to_json()
    }

    /// The protobuf-JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        json!({
            "mediaType": self.media_type,
            "tlogs": self.tlogs.iter().map(LogInstance::to_value).collect::<Vec<_>>(),
            "certificateAuthorities": self.certificate_authorities.iter().map(CaInstance::to_value).collect::<Vec<_>>(),
            "ctlogs": self.ctlogs.iter().map(LogInstance::to_value).collect::<Vec<_>>(),
            "timestampAuthorities": self.timestamp_authorities.iter().map(CaInstance::to_value).collect::<Vec<_>>(),
        })
    }

    /// Pretty-printed `trusted_root.json`.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }

    /// A `ClientTrustConfig` wrapping this root with a signing configuration naming the first CA and log
    /// (needed by clients such as sigstore-python's `--trust-config`; offline verification ignores the URLs).
    #[must_use]
    pub fn client_trust_config_json(&self) -> String {
        let start = self
            .tlogs
            .iter()
            .map(|l| l.valid_from)
            .chain(self.certificate_authorities.iter().map(|c| c.valid_from))
            .min();
        let valid_for = json!({"start": rfc3339(start.unwrap_or(Timestamp::UNIX_EPOCH))});
        let service =
            |url: &str| json!({"url": url, "majorApiVersion": 1, "validFor": valid_for, "operator": "syncgate.test"});
        let ca_urls: Vec<Value> = self.certificate_authorities.iter().take(1).map(|c| service(&c.uri)).collect();
        let tlog_urls: Vec<Value> = self.tlogs.iter().take(1).map(|l| service(&l.base_url)).collect();
        let value = json!({
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": self.to_value(),
            "signingConfig": {
                "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
                "caUrls": ca_urls,
                "oidcUrls": [service("https://oauth2.syncgate.test/auth")],
                "rekorTlogUrls": tlog_urls,
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}
