//! Canonical JSON as Rekor writes it (RFC 8785 for the values used here): object keys sorted by UTF-16 code
//! units, no insignificant whitespace, minimal string escaping. Integers only; floating-point numbers are written
//! as serde_json formats them, which RFC 8785 does not always agree with.

use serde_json::Value;

/// Serialises `value` canonically.
#[must_use]
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

/// Serialises `value` canonically as a string.
#[must_use]
pub fn to_string(value: &Value) -> String {
    String::from_utf8(to_vec(value)).unwrap_or_default()
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // serde_json escapes exactly '"', '\\' and control characters (short forms for \b \t \n \f \r, otherwise
    // lower-case \u00xx), which is what RFC 8785 prescribes.
    if let Ok(bytes) = serde_json::to_vec(value) {
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level_without_spaces() {
        let value = json!({"spec": {"b": 1, "a": [ {"z": "x", "y": null} ]}, "kind": "k", "apiVersion": "0.0.1"});
        assert_eq!(to_string(&value), r#"{"apiVersion":"0.0.1","kind":"k","spec":{"a":[{"y":null,"z":"x"}],"b":1}}"#);
    }

    #[test]
    fn strings_use_minimal_escapes() {
        let value = json!({"s": "a/\u{1}\n\"é"});
        assert_eq!(to_string(&value), "{\"s\":\"a/\\u0001\\n\\\"é\"}");
    }
}
