//! PEM armour: writes blocks with 64-character base64 lines as Go's `encoding/pem` does, and reads blocks back
//! by label. It knows nothing about what the blocks contain.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a PEM document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// No block with the wanted label was found.
    #[error("no PEM block labelled {label:?} found")]
    Missing {
        /// The label that was looked for.
        label: String,
    },
    /// A block was opened but never closed.
    #[error("PEM block labelled {label:?} has no END line")]
    Unterminated {
        /// The label of the open block.
        label: String,
    },
    /// The body of a block is not base64.
    #[error("PEM block labelled {label:?} is not valid base64")]
    Base64 {
        /// The label of the block.
        label: String,
        /// The decoding failure.
        #[source]
        source: base64::DecodeError,
    },
}

/// Encodes `der` as one PEM block labelled `label`, ending with a newline.
#[must_use]
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes every block labelled `label`, in document order. Other blocks are skipped.
pub fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != begin {
            continue;
        }
        let mut body = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            if inner == end {
                closed = true;
                break;
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(PemError::Unterminated { label: label.to_owned() });
        }
        let der = STANDARD.decode(body).map_err(|source| PemError::Base64 { label: label.to_owned(), source })?;
        blocks.push(der);
    }
    Ok(blocks)
}

/// Decodes the first block labelled `label`.
pub fn decode(text: &str, label: &str) -> Result<Vec<u8>, PemError> {
    decode_all(text, label)?.into_iter().next().ok_or_else(|| PemError::Missing { label: label.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_64_characters_and_round_trip() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.lines().filter(|l| !l.starts_with("-----")).all(|l| l.len() <= 64));
        assert_eq!(text.lines().nth(1).unwrap().len(), 64);
        let doubled = format!("{text}{}", encode("CERTIFICATE", b"second"));
        assert_eq!(decode_all(&doubled, "CERTIFICATE").unwrap(), vec![der, b"second".to_vec()]);
    }

    #[test]
    fn missing_label_is_reported() {
        let err = decode(&encode("PUBLIC KEY", b"x"), "CERTIFICATE").unwrap_err();
        assert_eq!(err.to_string(), "no PEM block labelled \"CERTIFICATE\" found");
    }
}
