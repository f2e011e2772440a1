//! STAND-IN for the trust-root module: [`TrustRoot::from_json`] only checks that the bytes are a JSON
//! object. The real module (Sigstore `trusted_root.json`: logs, certificate authorities) replaces this
//! file with the same signatures.

/// The keys and certificates a Sigstore deployment is trusted through (`trusted_root.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    _private: (),
}

/// Why a trust root could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootError {
    /// The bytes are not JSON.
    #[error("not JSON")]
    Json(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("expected a JSON object (a Sigstore trusted_root.json)")]
    NotAnObject,
}

impl TrustRoot {
    /// Parses a `trusted_root.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustRootError> {
        match serde_json::from_slice::<serde_json::Value>(bytes).map_err(TrustRootError::Json)? {
            serde_json::Value::Object(_) => Ok(TrustRoot { _private: () }),
            _ => Err(TrustRootError::NotAnObject),
        }
    }
}
