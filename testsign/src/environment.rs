//! A persisted signing environment: the test CA, transparency log and CT log saved as JSON state files in a
//! directory, so that separate runs of the command-line signer (benchmarks, examples) extend the same log and
//! issue from the same CA. Also writes `trusted_root.json` and a `ClientTrustConfig` next to the state.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::certificate::{CaOptions, CertificateAuthority, CertificateError, IssuedCertificate, LeafRequest};
use crate::ctlog::CtLog;
use crate::key::{Algorithm, KeyError, KeyPair};
use crate::tlog::{Entry, LogError, LogLeaf, TransparencyLog};
use crate::trust::TrustedRoot;

/// File holding the CA keys and certificates.
pub const CA_FILE: &str = "ca.json";
/// File holding the transparency log key and entries.
pub const TLOG_FILE: &str = "tlog.json";
/// File holding the CT log key.
pub const CTLOG_FILE: &str = "ctlog.json";
/// The trusted root written on every save.
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";
/// The client trust configuration written on every save.
pub const TRUST_CONFIG_FILE: &str = "trust_config.json";
/// Intermediate then root, PEM.
pub const CA_CHAIN_FILE: &str = "ca_chain.pem";
/// The transparency log public key, PEM.
pub const TLOG_PUBLIC_KEY_FILE: &str = "rekor.pub";
/// The CT log public key, PEM.
pub const CTLOG_PUBLIC_KEY_FILE: &str = "ctfe.pub";
/// Lock file serialising processes that share an environment.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive lock on an environment directory, released when dropped.
#[derive(Debug)]
pub struct EnvironmentLock {
    _file: std::fs::File,
}

/// Takes the exclusive lock of `dir` (created if missing), waiting for other holders. Processes that load,
/// append to and save the same environment hold it from load to save so that no log entry is lost.
pub fn lock(dir: &Path) -> Result<EnvironmentLock, EnvironmentError> {
    std::fs::create_dir_all(dir).map_err(|source| EnvironmentError::Io {
        action: "creating",
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(LOCK_FILE);
    let io = |source| EnvironmentError::Io { action: "locking", path: path.clone(), source };
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(EnvironmentLock { _file: file })
}

/// Why an environment could not be created, read or written.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    /// Filesystem failure.
    #[error("{action} {path} failed")]
    Io {
        /// `reading` or `writing`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what this crate writes.
    #[error("state file {path} is malformed: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate problem.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A log problem.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// CA, transparency log and CT log that belong together.
#[derive(Debug)]
pub struct SigningEnvironment {
    /// The certificate authority.
    pub ca: CertificateAuthority,
    /// The transparency log.
    pub log: TransparencyLog,
    /// The CT log whose SCTs leaf certificates embed.
    pub ctlog: CtLog,
}

impl SigningEnvironment {
    /// Fresh keys for everything, default options.
    pub fn generate() -> Result<Self, EnvironmentError> {
        Ok(SigningEnvironment {
            ca: CertificateAuthority::new()?,
            log: TransparencyLog::new()?,
            ctlog: CtLog::generate()?,
        })
    }

    /// The trusted root for this environment.
    #[must_use]
    pub fn trusted_root(&self) -> TrustedRoot {
        TrustedRoot::new(&[&self.ca], &[&self.log], &[&self.ctlog])
    }

    /// Issues a leaf certificate with an embedded SCT.
    pub fn issue(&self, request: &LeafRequest) -> Result<IssuedCertificate, CertificateError> {
        self.ca.issue_with_sct(request, &self.ctlog)
    }

    /// Logs `body` now.
    pub fn log_now(&mut self, body: Vec<u8>) -> Result<Entry, LogError> {
        self.log.append_now(body)
    }

    /// Whether `dir` holds a saved environment.
    #[must_use]
    pub fn exists(dir: &Path) -> bool {
        dir.join(CA_FILE).is_file() && dir.join(TLOG_FILE).is_file() && dir.join(CTLOG_FILE).is_file()
    }

    /// Reads a saved environment.
    pub fn load(dir: &Path) -> Result<Self, EnvironmentError> {
        let ca: CaState = read_json(&dir.join(CA_FILE))?;
        let tlog: TlogState = read_json(&dir.join(TLOG_FILE))?;
        let ctlog: CtlogState = read_json(&dir.join(CTLOG_FILE))?;
        let bad = |file: &str, reason: String| EnvironmentError::State { path: dir.join(file), reason };
        let bytes = |file: &str, value: &str| STANDARD.decode(value).map_err(|e| bad(file, e.to_string()));

        let options = CaOptions {
            algorithm: ca.algorithm,
            organization: ca.organization,
            root_common_name: ca.root_common_name,
            intermediate_common_name: ca.intermediate_common_name,
            not_before: ca.not_before,
            not_after: ca.not_after,
            uri: ca.uri,
        };
        let ca = CertificateAuthority::from_parts(
            options,
            KeyPair::from_pkcs8_der(&bytes(CA_FILE, &ca.root_key)?)?,
            bytes(CA_FILE, &ca.root_certificate)?,
            KeyPair::from_pkcs8_der(&bytes(CA_FILE, &ca.intermediate_key)?)?,
            bytes(CA_FILE, &ca.intermediate_certificate)?,
        )?;

        let mut leaves = Vec::with_capacity(tlog.entries.len());
        for entry in tlog.entries {
            leaves.push(LogLeaf { body: bytes(TLOG_FILE, &entry.body)?, integrated_time: entry.integrated_time });
        }
        let mut log =
            TransparencyLog::restore(KeyPair::from_pkcs8_der(&bytes(TLOG_FILE, &tlog.key)?)?, &tlog.hostname, leaves);
        log.valid_from = tlog.valid_from;

        let mut ct = CtLog::from_key(KeyPair::from_pkcs8_der(&bytes(CTLOG_FILE, &ctlog.key)?)?, &ctlog.base_url);
        ct.valid_from = ctlog.valid_from;
        Ok(SigningEnvironment { ca, log, ctlog: ct })
    }

    /// Reads the environment in `dir`, or generates and saves one if there is none.
    pub fn load_or_create(dir: &Path) -> Result<Self, EnvironmentError> {
        if Self::exists(dir) {
            return Self::load(dir);
        }
        let environment = Self::generate()?;
        environment.save(dir)?;
        Ok(environment)
    }

    /// Writes state files, `trusted_root.json`, `trust_config.json` and PEM files to `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<(), EnvironmentError> {
        std::fs::create_dir_all(dir).map_err(|source| EnvironmentError::Io {
            action: "creating",
            path: dir.to_owned(),
            source,
        })?;
        let options = self.ca.options();
        let ca = CaState {
            algorithm: options.algorithm,
            organization: options.organization.clone(),
            root_common_name: options.root_common_name.clone(),
            intermediate_common_name: options.intermediate_common_name.clone(),
            not_before: options.not_before,
            not_after: options.not_after,
            uri: options.uri.clone(),
            root_key: STANDARD.encode(self.ca.root_key().pkcs8_der()),
            root_certificate: STANDARD.encode(self.ca.root_der()),
            intermediate_key: STANDARD.encode(self.ca.intermediate_key().pkcs8_der()),
            intermediate_certificate: STANDARD.encode(self.ca.intermediate_der()),
        };
        let tlog = TlogState {
            hostname: self.log.hostname().to_owned(),
            key: STANDARD.encode(self.log.key().pkcs8_der()),
            valid_from: self.log.valid_from,
            entries: self
                .log
                .leaves()
                .iter()
                .map(|leaf| LeafState { body: STANDARD.encode(&leaf.body), integrated_time: leaf.integrated_time })
                .collect(),
        };
        let ctlog = CtlogState {
            base_url: self.ctlog.base_url().to_owned(),
            key: STANDARD.encode(self.ctlog.key().pkcs8_der()),
            valid_from: self.ctlog.valid_from,
        };
        write_json(&dir.join(CA_FILE), &ca)?;
        write_json(&dir.join(TLOG_FILE), &tlog)?;
        write_json(&dir.join(CTLOG_FILE), &ctlog)?;
        let root = self.trusted_root();
        write(&dir.join(TRUSTED_ROOT_FILE), root.to_json().as_bytes())?;
        write(&dir.join(TRUST_CONFIG_FILE), root.client_trust_config_json().as_bytes())?;
        write(&dir.join(CA_CHAIN_FILE), self.ca.chain_pem().as_bytes())?;
        write(&dir.join(TLOG_PUBLIC_KEY_FILE), self.log.public_key().to_pem().as_bytes())?;
        write(&dir.join(CTLOG_PUBLIC_KEY_FILE), self.ctlog.public_key().to_pem().as_bytes())?;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaState {
    algorithm: Algorithm,
    organization: String,
    root_common_name: String,
    intermediate_common_name: String,
    not_before: Timestamp,
    not_after: Timestamp,
    uri: String,
    root_key: String,
    root_certificate: String,
    intermediate_key: String,
    intermediate_certificate: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlogState {
    hostname: String,
    key: String,
    valid_from: Timestamp,
    entries: Vec<LeafState>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeafState {
    body: String,
    integrated_time: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtlogState {
    base_url: String,
    key: String,
    valid_from: Timestamp,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EnvironmentError> {
    let bytes = std::fs::read(path).map_err(|source| EnvironmentError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| EnvironmentError::State { path: path.to_owned(), reason: e.to_string() })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EnvironmentError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| EnvironmentError::State { path: path.to_owned(), reason: e.to_string() })?;
    write(path, &bytes)
}

/// Writes through a temporary file and a rename so that a crash never leaves half a state file.
fn write(path: &Path, bytes: &[u8]) -> Result<(), EnvironmentError> {
    let temporary = path.with_extension("tmp");
    let io = |source| EnvironmentError::Io { action: "writing", path: path.to_owned(), source };
    std::fs::write(&temporary, bytes).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}
