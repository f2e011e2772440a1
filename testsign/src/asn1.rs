//! Just enough DER to read key and certificate structures and to write the small values that certificate
//! extensions carry. It parses trusted, self-produced encodings only and is not a general ASN.1 library.

/// DER tag of a SEQUENCE.
pub(crate) const SEQUENCE: u8 = 0x30;
/// DER tag of an OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// DER tag of a UTF8String.
pub(crate) const UTF8_STRING: u8 = 0x0c;
/// DER tag of an OBJECT IDENTIFIER.
pub(crate) const OBJECT_IDENTIFIER: u8 = 0x06;
/// DER tag of a BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// DER tag of an INTEGER.
pub(crate) const INTEGER: u8 = 0x02;

/// Content octets of OID 1.2.840.10045.2.1 (id-ecPublicKey).
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// Content octets of OID 1.2.840.10045.3.1.7 (prime256v1).
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Content octets of OID 1.3.132.0.34 (secp384r1).
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// Content octets of OID 1.3.101.112 (Ed25519).
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// Content octets of OID 1.2.840.113549.1.1.1 (rsaEncryption).
pub(crate) const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One decoded TLV: its tag, its content octets and the whole encoding (header included).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

/// Reads one TLV from the front of `input`; returns it and the remaining bytes.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    let header = input.len() - rest.len();
    let content = &rest[..length];
    let encoded = &input[..header + length];
    Some((Tlv { tag, content, encoded }, &rest[length..]))
}

/// Reads one TLV that must carry `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    let (tlv, rest) = read(input)?;
    (tlv.tag == tag).then_some((tlv, rest))
}

/// Encodes a TLV with a definite DER length.
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let length = content.len();
    if length < 0x80 {
        // Guarded above: fits in seven bits.
        out.push(u8::try_from(length).unwrap_or(0));
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// The algorithm identifier found in a SubjectPublicKeyInfo or a PKCS#8 PrivateKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// id-ecPublicKey on prime256v1.
    P256,
    /// id-ecPublicKey on secp384r1.
    P384,
    /// Ed25519.
    Ed25519,
    /// rsaEncryption.
    Rsa,
}

/// Maps an AlgorithmIdentifier SEQUENCE content to the key kind it names.
fn key_kind(algorithm_identifier: &[u8]) -> Option<KeyKind> {
    let (oid, rest) = expect(algorithm_identifier, OBJECT_IDENTIFIER)?;
    match oid.content {
        OID_EC_PUBLIC_KEY => {
            let (curve, _) = expect(rest, OBJECT_IDENTIFIER)?;
            match curve.content {
                OID_P256 => Some(KeyKind::P256),
                OID_P384 => Some(KeyKind::P384),
                _ => None,
            }
        }
        OID_ED25519 => Some(KeyKind::Ed25519),
        OID_RSA_ENCRYPTION => Some(KeyKind::Rsa),
        _ => None,
    }
}

/// Splits a SubjectPublicKeyInfo into its key kind and the subjectPublicKey bits (unused-bits octet dropped).
pub(crate) fn parse_spki(spki: &[u8]) -> Option<(KeyKind, &[u8])> {
    let (outer, _) = expect(spki, SEQUENCE)?;
    let (algorithm, rest) = expect(outer.content, SEQUENCE)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (&unused, key) = bits.content.split_first()?;
    if unused != 0 {
        return None;
    }
    Some((key_kind(algorithm.content)?, key))
}

/// Reads the key kind of a PKCS#8 PrivateKeyInfo.
pub(crate) fn pkcs8_kind(pkcs8: &[u8]) -> Option<KeyKind> {
    let (outer, _) = expect(pkcs8, SEQUENCE)?;
    let (_version, rest) = expect(outer.content, INTEGER)?;
    let (algorithm, _) = expect(rest, SEQUENCE)?;
    key_kind(algorithm.content)
}

/// Returns the complete DER encoding of the TBSCertificate inside a certificate.
pub(crate) fn tbs_certificate(certificate: &[u8]) -> Option<&[u8]> {
    let (outer, _) = expect(certificate, SEQUENCE)?;
    let (tbs, _) = expect(outer.content, SEQUENCE)?;
    Some(tbs.encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let encoded = encode(OCTET_STRING, &content);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tlv, rest) = read(&encoded).unwrap();
        assert_eq!(tlv.content, &content[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn truncated_input_is_rejected() {
        assert!(read(&[0x04, 0x05, 1, 2]).is_none());
        assert!(read(&[0x04]).is_none());
    }
}
