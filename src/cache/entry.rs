//! The stored form of one cached answer, shared by the disk and Redis tiers: its key, value, expiry
//! and a seal (a SHA-256 checksum, or an HMAC-SHA256 when a key is configured).
//!
//! Owns encoding and checking entries. It never touches storage and never logs: a bad entry is a
//! [`Rejection`] that the tier reading it reports.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::image::Digest;
use crate::registry::Resolved;

/// Version of the stored format; an entry with another version is foreign.
const FORMAT_VERSION: u64 = 1;

/// Prefix of an HMAC-SHA256 seal.
const HMAC_PREFIX: &str = "hmac-sha256:";

/// Prefix of a plain SHA-256 checksum seal.
const CHECKSUM_PREFIX: &str = "sha256:";

/// Domain separation for the sealed message, so a seal made for anything else never verifies.
const SEAL_DOMAIN: &[u8] = b"syncgate-cache-entry-v1\0";

/// How far in the future (beyond the configured TTL) an expiry may lie before the entry is distrusted,
/// to absorb clock differences between replicas.
pub(super) const CLOCK_SKEW_MS: u64 = 60_000;

/// An answer together with the moment (milliseconds since the Unix epoch) it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The cached answer.
    pub(crate) resolved: Resolved,
    /// Absolute expiry, milliseconds since the Unix epoch.
    pub(crate) expires_at_ms: u64,
}

/// The stored JSON, field for field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u64,
    key: String,
    digest: String,
    media_type: String,
    expires_at_ms: u64,
    seal: String,
}

/// Why a stored entry was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// The entry has expired (normal; not worth a warning).
    Expired,
    /// The entry expires later than the configured TTL allows (written under a longer TTL; not worth a
    /// warning, it is replaced).
    BeyondTtl,
    /// The bytes are not an entry: truncated, not JSON, missing fields, a malformed digest.
    Corrupt(String),
    /// The entry belongs to another key, namespace or format version.
    Foreign(String),
    /// The entry carries no HMAC where one is required.
    Unsigned,
    /// The checksum or HMAC does not match the contents (tampered, or signed with another key).
    BadSeal,
    /// The entry answers a digest reference with another digest.
    NotContentAddressed {
        /// The digest the reference carries.
        expected: String,
        /// The digest the entry holds.
        found: String,
    },
}

impl Rejection {
    /// Whether this is an ordinary miss rather than a sign of corruption or tampering.
    pub(crate) fn is_ordinary(&self) -> bool {
        matches!(self, Self::Expired | Self::BeyondTtl)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired => f.write_str("expired"),
            Self::BeyondTtl => f.write_str("expires later than the configured TTL allows"),
            Self::Corrupt(detail) => write!(f, "corrupt or truncated: {detail}"),
            Self::Foreign(detail) => write!(f, "foreign entry: {detail}"),
            Self::Unsigned => f.write_str("not signed with an HMAC"),
            Self::BadSeal => f.write_str("checksum or HMAC does not match (tampered or signed with another key)"),
            Self::NotContentAddressed { expected, found } => {
                write!(f, "holds digest {found} for a reference pinned to {expected}")
            }
        }
    }
}

/// What an entry must satisfy to be used.
pub(crate) struct Expect<'a> {
    /// The key it must have been written for.
    pub(crate) key: &'a str,
    /// Whether a plain checksum is refused (Redis always; disk when an HMAC key is configured).
    pub(crate) require_hmac: bool,
    /// Now, milliseconds since the Unix epoch.
    pub(crate) now_ms: u64,
    /// The longest TTL an entry of this kind may have been written with.
    pub(crate) max_ttl_ms: u64,
    /// For a digest reference: the digest the answer must carry.
    pub(crate) digest: Option<&'a Digest>,
}

/// Seals entries and checks seals, with a SHA-256 checksum or, when a key is configured, HMAC-SHA256.
#[derive(Clone)]
pub(crate) struct Sealer {
    /// The keyed MAC, ready to clone per use; `None` when no HMAC key is configured.
    mac: Option<Hmac<Sha256>>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("hmac", &self.mac.is_some()).finish()
    }
}

impl Sealer {
    /// A sealer using HMAC-SHA256 under `key`, or plain checksums without one.
    pub(crate) fn new(key: Option<&[u8]>) -> Result<Self, hmac::digest::InvalidLength> {
        let mac = key.map(Hmac::<Sha256>::new_from_slice).transpose()?;
        Ok(Self { mac })
    }

    /// Whether seals are HMACs (a key is configured) rather than plain checksums.
    pub(crate) fn is_keyed(&self) -> bool {
        self.mac.is_some()
    }

    /// The seal for `message`.
    pub(super) fn seal(&self, message: &[u8]) -> String {
        match &self.mac {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                format!("{HMAC_PREFIX}{}", hex(&mac.finalize().into_bytes()))
            }
            None => format!("{CHECKSUM_PREFIX}{}", hex(&Sha256::digest(message))),
        }
    }

    /// Checks `seal` against `message`.
    pub(super) fn check(&self, seal: &str, message: &[u8], require_hmac: bool) -> Result<(), Rejection> {
        if let Some(tag) = seal.strip_prefix(HMAC_PREFIX) {
            let Some(mac) = &self.mac else {
                return Err(Rejection::Foreign("signed with an HMAC key, but none is configured".to_owned()));
            };
            let tag = unhex(tag).ok_or(Rejection::BadSeal)?;
            let mut mac = mac.clone();
            mac.update(message);
            return mac.verify_slice(&tag).map_err(|_| Rejection::BadSeal);
        }
        if let Some(sum) = seal.strip_prefix(CHECKSUM_PREFIX) {
            if require_hmac || self.mac.is_some() {
                return Err(Rejection::Unsigned);
            }
            return if sum == hex(&Sha256::digest(message)) { Ok(()) } else { Err(Rejection::BadSeal) };
        }
        Err(Rejection::Unsigned)
    }
}

/// The bytes a seal covers: key, value and expiry, each length-prefixed so no two entries share them.
fn sealed_message(key: &str, digest: &str, media_type: &str, expires_at_ms: u64) -> Vec<u8> {
    let mut message = Vec::with_capacity(SEAL_DOMAIN.len() + key.len() + digest.len() + media_type.len() + 32);
    message.extend_from_slice(SEAL_DOMAIN);
    for part in [key, digest, media_type] {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part.as_bytes());
    }
    message.extend_from_slice(&expires_at_ms.to_be_bytes());
    message
}

/// Encodes `entry` for `key` as sealed JSON.
pub(crate) fn encode(key: &str, entry: &Entry, sealer: &Sealer) -> Vec<u8> {
    let digest = entry.resolved.digest.as_str();
    let media_type = entry.resolved.media_type.as_str();
    let seal = sealer.seal(&sealed_message(key, digest, media_type, entry.expires_at_ms));
    serde_json::json!({
        "version": FORMAT_VERSION,
        "key": key,
        "digest": digest,
        "media_type": media_type,
        "expires_at_ms": entry.expires_at_ms,
        "seal": seal,
    })
    .to_string()
    .into_bytes()
}

/// Decodes and checks stored bytes against what `expect` requires.
pub(crate) fn decode(bytes: &[u8], expect: &Expect<'_>, sealer: &Sealer) -> Result<Entry, Rejection> {
    let stored: Stored = serde_json::from_slice(bytes).map_err(|err| Rejection::Corrupt(err.to_string()))?;
    if stored.version != FORMAT_VERSION {
        return Err(Rejection::Foreign(format!("format version {}", stored.version)));
    }
    if stored.key != expect.key {
        return Err(Rejection::Foreign(format!("written for key {}", stored.key)));
    }
    let message = sealed_message(&stored.key, &stored.digest, &stored.media_type, stored.expires_at_ms);
    sealer.check(&stored.seal, &message, expect.require_hmac)?;
    let digest = Digest::parse(&stored.digest).map_err(|err| Rejection::Corrupt(err.to_string()))?;
    if let Some(expected) = expect.digest
        && *expected != digest
    {
        return Err(Rejection::NotContentAddressed { expected: expected.to_string(), found: digest.to_string() });
    }
    if stored.expires_at_ms <= expect.now_ms {
        return Err(Rejection::Expired);
    }
    if stored.expires_at_ms > expect.now_ms.saturating_add(expect.max_ttl_ms).saturating_add(CLOCK_SKEW_MS) {
        return Err(Rejection::BeyondTtl);
    }
    Ok(Entry { resolved: Resolved { digest, media_type: stored.media_type }, expires_at_ms: stored.expires_at_ms })
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The bytes of a hex string, or `None` if it is not one.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const KEY: &str = "syncgate:v1:resolve:00ff";
    const NOW: u64 = 1_800_000_000_000;
    const HOUR: u64 = 3_600_000;

    fn digest(fill: char) -> Digest {
        Digest::parse(&format!("sha256:{}", fill.to_string().repeat(64))).unwrap()
    }

    fn entry() -> Entry {
        Entry {
            resolved: Resolved {
                digest: digest('a'),
                media_type: "application/vnd.oci.image.index.v1+json".to_owned(),
            },
            expires_at_ms: NOW + HOUR,
        }
    }

    fn expect(require_hmac: bool) -> Expect<'static> {
        Expect { key: KEY, require_hmac, now_ms: NOW, max_ttl_ms: HOUR, digest: None }
    }

    fn keyed() -> Sealer {
        Sealer::new(Some(b"0123456789abcdef0123456789abcdef")).unwrap()
    }

    /// Rewrites one JSON field of an encoded entry, keeping its seal.
    fn rewrite(bytes: &[u8], field: &str, value: serde_json::Value) -> Vec<u8> {
        let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        json[field] = value;
        json.to_string().into_bytes()
    }

    #[rstest]
    #[case::checksum(Sealer::new(None).unwrap(), false)]
    #[case::hmac(keyed(), true)]
    fn round_trips(#[case] sealer: Sealer, #[case] require_hmac: bool) {
        let bytes = encode(KEY, &entry(), &sealer);
        assert_eq!(decode(&bytes, &expect(require_hmac), &sealer), Ok(entry()));
    }

    #[rstest]
    #[case::digest_swapped("digest", serde_json::json!(digest('b').to_string()))]
    #[case::media_type_swapped("media_type", serde_json::json!("application/vnd.oci.image.manifest.v1+json"))]
    #[case::expiry_extended("expires_at_ms", serde_json::json!(NOW + HOUR + 1))]
    fn tampering_breaks_the_seal(#[case] field: &str, #[case] value: serde_json::Value) {
        for sealer in [Sealer::new(None).unwrap(), keyed()] {
            let bytes = rewrite(&encode(KEY, &entry(), &sealer), field, value.clone());
            assert_eq!(decode(&bytes, &expect(false), &sealer), Err(Rejection::BadSeal));
        }
    }

    #[test]
    fn another_hmac_key_does_not_verify() {
        let bytes = encode(KEY, &entry(), &Sealer::new(Some(b"another key of thirty-two bytes!")).unwrap());
        assert_eq!(decode(&bytes, &expect(true), &keyed()), Err(Rejection::BadSeal));
    }

    #[test]
    fn checksum_is_refused_where_hmac_is_required() {
        let bytes = encode(KEY, &entry(), &Sealer::new(None).unwrap());
        assert_eq!(decode(&bytes, &expect(true), &keyed()), Err(Rejection::Unsigned));
        assert_eq!(decode(&bytes, &expect(false), &keyed()), Err(Rejection::Unsigned), "a keyed sealer wants an HMAC");
    }

    #[test]
    fn missing_seal_is_unsigned() {
        let bytes = rewrite(&encode(KEY, &entry(), &keyed()), "seal", serde_json::json!(""));
        assert_eq!(decode(&bytes, &expect(true), &keyed()), Err(Rejection::Unsigned));
    }

    #[test]
    fn hmac_entry_without_a_configured_key_is_foreign() {
        let bytes = encode(KEY, &entry(), &keyed());
        assert!(matches!(decode(&bytes, &expect(false), &Sealer::new(None).unwrap()), Err(Rejection::Foreign(_))));
    }

    #[test]
    fn entry_for_another_key_is_foreign() {
        let bytes = encode("syncgate:v1:resolve:1234", &entry(), &keyed());
        let rejection = decode(&bytes, &expect(true), &keyed()).unwrap_err();
        assert!(matches!(&rejection, Rejection::Foreign(detail) if detail.contains("resolve:1234")), "{rejection}");
    }

    #[test]
    fn other_format_version_is_foreign() {
        let bytes = rewrite(&encode(KEY, &entry(), &keyed()), "version", serde_json::json!(2));
        assert!(matches!(decode(&bytes, &expect(true), &keyed()), Err(Rejection::Foreign(_))));
    }

    #[rstest]
    #[case::empty(|_| 0)]
    #[case::half(|len| len / 2)]
    #[case::all_but_last_byte(|len| len - 1)]
    fn truncated_entry_is_corrupt(#[case] keep: fn(usize) -> usize) {
        let bytes = encode(KEY, &entry(), &keyed());
        let truncated = &bytes[..keep(bytes.len())];
        assert!(matches!(decode(truncated, &expect(true), &keyed()), Err(Rejection::Corrupt(_))));
    }

    #[test]
    fn expired_and_overlong_entries_are_ordinary_misses() {
        let sealer = keyed();
        let bytes = encode(KEY, &entry(), &sealer);
        let later = Expect { now_ms: NOW + HOUR, ..expect(true) };
        assert_eq!(decode(&bytes, &later, &sealer), Err(Rejection::Expired));
        let shorter_ttl = Expect { max_ttl_ms: 1_000, ..expect(true) };
        assert_eq!(decode(&bytes, &shorter_ttl, &sealer), Err(Rejection::BeyondTtl));
        assert!(Rejection::Expired.is_ordinary() && Rejection::BeyondTtl.is_ordinary());
        assert!(!Rejection::BadSeal.is_ordinary());
    }

    #[test]
    fn digest_reference_must_get_its_own_digest_back() {
        let sealer = keyed();
        let bytes = encode(KEY, &entry(), &sealer);
        let pinned = digest('c');
        let rejection = decode(&bytes, &Expect { digest: Some(&pinned), ..expect(true) }, &sealer).unwrap_err();
        assert!(matches!(rejection, Rejection::NotContentAddressed { .. }));
        let same = digest('a');
        assert!(decode(&bytes, &Expect { digest: Some(&same), ..expect(true) }, &sealer).is_ok());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0x00, 0x7f, 0xff]), "007fff");
        assert_eq!(unhex("007fff"), Some(vec![0x00, 0x7f, 0xff]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
