//! The stored form of verified evidence, shared by the disk and Redis tiers: its key, value (opaque
//! bytes, base64), expiry and an HMAC-SHA256 seal over all three.
//!
//! An evidence entry says "this digest satisfied this policy", so a forged one would skip verification.
//! Only HMAC seals are therefore made and accepted here, never a plain checksum, and they are made over
//! a domain of their own: a resolution entry, or anything else sealed under the same key, never passes
//! for evidence. Like `entry`, it never touches storage and never logs: a bad entry is a [`Rejection`]
//! that the tier reading it reports.

use base64::Engine as _;
use serde::Deserialize;

use super::entry::{CLOCK_SKEW_MS, Rejection, Sealer};

/// Version of the stored format; an entry with another version is foreign.
const FORMAT_VERSION: u64 = 1;

/// Domain separation for the sealed message: differs from resolution entries' on purpose.
const SEAL_DOMAIN: &[u8] = b"syncgate-cache-evidence-v1\0";

/// Largest value stored, so that an encoded entry stays below the disk tier's size limit.
pub(crate) const MAX_VALUE_BYTES: usize = 40 * 1024;

/// The stored JSON, field for field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u64,
    key: String,
    value: String,
    expires_at_ms: u64,
    seal: String,
}

/// A value read back, with the moment (milliseconds since the Unix epoch) it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The bytes stored.
    pub(crate) value: Vec<u8>,
    /// Absolute expiry, milliseconds since the Unix epoch.
    pub(crate) expires_at_ms: u64,
}

/// The bytes a seal covers: domain, key, value and expiry, each length-prefixed.
fn sealed_message(key: &str, value: &[u8], expires_at_ms: u64) -> Vec<u8> {
    let mut message = Vec::with_capacity(SEAL_DOMAIN.len() + key.len() + value.len() + 24);
    message.extend_from_slice(SEAL_DOMAIN);
    for part in [key.as_bytes(), value] {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(&expires_at_ms.to_be_bytes());
    message
}

/// Encodes `value` for `key` as HMAC-sealed JSON; `None` when `sealer` has no HMAC key (evidence is
/// never stored under a checksum).
pub(crate) fn encode(key: &str, value: &[u8], expires_at_ms: u64, sealer: &Sealer) -> Option<Vec<u8>> {
    if !sealer.is_keyed() {
        return None;
    }
    let seal = sealer.seal(&sealed_message(key, value, expires_at_ms));
    let json = serde_json::json!({
        "version": FORMAT_VERSION,
        "key": key,
        "value": base64::engine::general_purpose::STANDARD.encode(value),
        "expires_at_ms": expires_at_ms,
        "seal": seal,
    });
    Some(json.to_string().into_bytes())
}

/// Decodes and checks stored bytes: written for `key`, sealed with this HMAC key, not expired at
/// `now_ms`, and not expiring later than `max_ttl_ms` (plus clock skew) from now.
pub(crate) fn decode(
    bytes: &[u8],
    key: &str,
    now_ms: u64,
    max_ttl_ms: u64,
    sealer: &Sealer,
) -> Result<Opened, Rejection> {
    let stored: Stored = serde_json::from_slice(bytes).map_err(|err| Rejection::Corrupt(err.to_string()))?;
    if stored.version != FORMAT_VERSION {
        return Err(Rejection::Foreign(format!("format version {}", stored.version)));
    }
    if stored.key != key {
        return Err(Rejection::Foreign(format!("written for key {}", stored.key)));
    }
    let value = base64::engine::general_purpose::STANDARD
        .decode(&stored.value)
        .map_err(|err| Rejection::Corrupt(format!("value is not base64: {err}")))?;
    sealer.check(&stored.seal, &sealed_message(&stored.key, &value, stored.expires_at_ms), true)?;
    if stored.expires_at_ms <= now_ms {
        return Err(Rejection::Expired);
    }
    if stored.expires_at_ms > now_ms.saturating_add(max_ttl_ms).saturating_add(CLOCK_SKEW_MS) {
        return Err(Rejection::BeyondTtl);
    }
    Ok(Opened { value, expires_at_ms: stored.expires_at_ms })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::cache::entry::{self, Entry};
    use crate::image::Digest;
    use crate::registry::Resolved;

    const KEY: &str = "syncgate:v1:evidence:00ff";
    const NOW: u64 = 1_800_000_000_000;
    const HOUR: u64 = 3_600_000;
    const VALUE: &[u8] = br#"{"digest":"sha256:aa","policyHash":"sha256:bb"}"#;

    fn keyed() -> Sealer {
        Sealer::new(Some(b"0123456789abcdef0123456789abcdef")).unwrap()
    }

    fn sealed(sealer: &Sealer) -> Vec<u8> {
        encode(KEY, VALUE, NOW + HOUR, sealer).unwrap()
    }

    /// Rewrites one JSON field of an encoded entry, keeping its seal.
    fn rewrite(bytes: &[u8], field: &str, value: serde_json::Value) -> Vec<u8> {
        let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        json[field] = value;
        json.to_string().into_bytes()
    }

    #[test]
    fn round_trips() {
        let bytes = sealed(&keyed());
        let opened = decode(&bytes, KEY, NOW, HOUR, &keyed()).unwrap();
        assert_eq!(opened, Opened { value: VALUE.to_vec(), expires_at_ms: NOW + HOUR });
        assert!(String::from_utf8(bytes).unwrap().contains("\"seal\":\"hmac-sha256:"));
    }

    #[rstest]
    #[case::value_swapped("value", serde_json::json!(base64::engine::general_purpose::STANDARD.encode(b"{}")))]
    #[case::expiry_extended("expires_at_ms", serde_json::json!(NOW + HOUR + 1))]
    fn tampering_breaks_the_seal(#[case] field: &str, #[case] value: serde_json::Value) {
        let bytes = rewrite(&sealed(&keyed()), field, value);
        assert_eq!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::BadSeal));
    }

    #[test]
    fn another_hmac_key_does_not_verify() {
        let bytes = sealed(&Sealer::new(Some(b"another key of thirty-two bytes!")).unwrap());
        assert_eq!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::BadSeal));
    }

    #[test]
    fn nothing_is_sealed_or_opened_without_an_hmac_key() {
        let checksum = Sealer::new(None).unwrap();
        assert_eq!(encode(KEY, VALUE, NOW + HOUR, &checksum), None);
        let bytes = sealed(&keyed());
        assert!(matches!(decode(&bytes, KEY, NOW, HOUR, &checksum), Err(Rejection::Foreign(_))));
    }

    #[test]
    fn a_checksum_seal_is_refused() {
        let digest = hex_sha256(&sealed_message(KEY, VALUE, NOW + HOUR));
        let bytes = rewrite(&sealed(&keyed()), "seal", serde_json::json!(format!("sha256:{digest}")));
        assert_eq!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::Unsigned));
        assert_eq!(decode(&bytes, KEY, NOW, HOUR, &Sealer::new(None).unwrap()), Err(Rejection::Unsigned));
    }

    fn hex_sha256(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        entry::hex(&sha2::Sha256::digest(bytes))
    }

    #[test]
    fn expired_and_overlong_entries_are_ordinary_misses() {
        let bytes = sealed(&keyed());
        assert_eq!(decode(&bytes, KEY, NOW + HOUR, HOUR, &keyed()), Err(Rejection::Expired));
        assert_eq!(decode(&bytes, KEY, NOW, 1_000, &keyed()), Err(Rejection::BeyondTtl));
        assert!(decode(&bytes, KEY, NOW, HOUR - CLOCK_SKEW_MS, &keyed()).is_ok(), "clock skew is absorbed");
    }

    #[test]
    fn entry_for_another_key_is_foreign() {
        let bytes = encode("syncgate:v1:evidence:1234", VALUE, NOW + HOUR, &keyed()).unwrap();
        let rejection = decode(&bytes, KEY, NOW, HOUR, &keyed()).unwrap_err();
        assert!(matches!(&rejection, Rejection::Foreign(detail) if detail.contains("evidence:1234")), "{rejection}");
        let bytes = rewrite(&sealed(&keyed()), "version", serde_json::json!(2));
        assert!(matches!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::Foreign(_))));
    }

    #[test]
    fn a_resolution_entry_never_passes_for_evidence() {
        let resolution = Entry {
            resolved: Resolved {
                digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
                media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            },
            expires_at_ms: NOW + HOUR,
        };
        let bytes = entry::encode(KEY, &resolution, &keyed());
        assert!(matches!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::Corrupt(_))));
        // Even a value carrying the same fields under the resolution seal's domain does not verify.
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let forged = serde_json::json!({
            "version": FORMAT_VERSION,
            "key": KEY,
            "value": base64::engine::general_purpose::STANDARD.encode(VALUE),
            "expires_at_ms": NOW + HOUR,
            "seal": json["seal"],
        });
        assert_eq!(decode(forged.to_string().as_bytes(), KEY, NOW, HOUR, &keyed()), Err(Rejection::BadSeal));
    }

    #[rstest]
    #[case::empty(|_| 0)]
    #[case::half(|len| len / 2)]
    #[case::all_but_last_byte(|len| len - 1)]
    fn truncated_entry_is_corrupt(#[case] keep: fn(usize) -> usize) {
        let bytes = sealed(&keyed());
        assert!(matches!(decode(&bytes[..keep(bytes.len())], KEY, NOW, HOUR, &keyed()), Err(Rejection::Corrupt(_))));
    }

    #[test]
    fn value_that_is_not_base64_is_corrupt() {
        let bytes = rewrite(&sealed(&keyed()), "value", serde_json::json!("not base64!"));
        assert!(matches!(decode(&bytes, KEY, NOW, HOUR, &keyed()), Err(Rejection::Corrupt(_))));
    }
}
