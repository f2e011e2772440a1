//! Fuzz target for signing material read from registries and files: Sigstore bundles (parsed and
//! verified against a real trust root), trust roots, DSSE envelopes and in-toto statements, cosign
//! Rekor bundle annotations, certificates and public keys. Nothing may panic; the first byte picks
//! the reader.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syncgate::verify::bundle::{self, Bundle, Expected};
use syncgate::verify::certificate::Certificate;
use syncgate::verify::dsse::{Envelope, Statement};
use syncgate::verify::key::PublicKey;
use syncgate::verify::tlog::{self, LogEntry};
use syncgate::verify::trust::TrustRoot;

static TRUST: LazyLock<TrustRoot> = LazyLock::new(|| {
    TrustRoot::from_json(include_bytes!("../../tests/fixtures/sigstore/trusted_root.staging.json"))
        .expect("the staging trust root loads")
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(parsed) = Bundle::from_json(rest) {
                let expected = Expected::Identity {
                    issuer: "https://token.actions.githubusercontent.com".to_owned(),
                    subject: "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1".to_owned(),
                };
                let _ = bundle::verify_bundle(&parsed, &[0; 32], &TRUST, &expected);
                for entry in &parsed.tlog_entries {
                    let _ = tlog::verify_entry(entry, &TRUST, true);
                }
            }
        }
        1 => {
            let _ = TrustRoot::from_json(rest);
        }
        2 => {
            if let Ok(envelope) = Envelope::from_json(rest) {
                let _ = envelope.pae();
                if let Ok(statement) = Statement::from_envelope(&envelope) {
                    let _ = statement.check_subject(&"0".repeat(64));
                }
            }
        }
        3 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(entry) = LogEntry::from_cosign_annotation(text)
            {
                let _ = tlog::verify_entry(&entry, &TRUST, false);
            }
        }
        4 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = Certificate::chain_from_pem(text);
                let _ = PublicKey::from_pem(text);
            }
            let _ = Certificate::from_der(rest);
        }
        _ => {
            let _ = PublicKey::from_spki_der(rest);
        }
    }
});
