//! A Rekor-like transparency log: an in-memory RFC 6962 Merkle tree over canonicalized entry bodies, signed
//! entry timestamps (SETs), inclusion proofs and signed checkpoints in Rekor's note format. The log signs
//! whatever it is given; it does not validate bodies, so tests can log inconsistent ones on purpose.

pub mod body;
pub mod merkle;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::json;

use crate::canonical;
use crate::key::{Algorithm, KeyError, KeyPair, PublicKey};

/// Hostname of the default log; its checkpoints read `rekor.test - <tree id>`.
pub const DEFAULT_HOSTNAME: &str = "rekor.test";

/// Why the log could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Key generation or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The requested entry does not exist.
    #[error("log index {index} is out of range: the log holds {size} entries")]
    IndexOutOfRange {
        /// Requested index.
        index: u64,
        /// Current tree size.
        size: u64,
    },
}

/// An inclusion proof for one entry against one tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the entry in the tree.
    pub log_index: u64,
    /// Root hash of the tree of `tree_size` leaves.
    pub root_hash: Vec<u8>,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Audit path, from the leaf's sibling upwards.
    pub hashes: Vec<Vec<u8>>,
    /// Signed checkpoint (note) committing to `tree_size` and `root_hash`.
    pub checkpoint: String,
}

/// One logged entry with everything a verifier needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Index in the log.
    pub log_index: u64,
    /// Log ID: lowercase hex SHA-256 of the log's public key (SPKI DER).
    pub log_id: String,
    /// Unix seconds at which the entry was integrated.
    pub integrated_time: i64,
    /// The canonicalized body, as logged.
    pub body: Vec<u8>,
    /// Signature over the canonical JSON `{"body","integratedTime","logID","logIndex"}`.
    pub signed_entry_timestamp: Vec<u8>,
    /// Inclusion proof against the tree as it was when the entry was returned.
    pub inclusion_proof: InclusionProof,
}

impl Entry {
    /// `(kind, apiVersion)` read from the body, e.g. `("hashedrekord", "0.0.1")`.
    #[must_use]
    pub fn kind_version(&self) -> Option<(String, String)> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some((value.get("kind")?.as_str()?.to_owned(), value.get("apiVersion")?.as_str()?.to_owned()))
    }

    /// Rekor's entry UUID: hex of the RFC 6962 leaf hash of the body.
    #[must_use]
    pub fn uuid(&self) -> String {
        hex::encode(merkle::leaf_hash(&self.body))
    }
}

/// The canonical JSON a SET signs: `{"body":<base64 body>,"integratedTime":…,"logID":"<hex>","logIndex":…}`.
#[must_use]
pub fn signed_entry_timestamp_payload(body: &[u8], integrated_time: i64, log_id: &str, log_index: u64) -> Vec<u8> {
    canonical::to_vec(&json!({
        "body": STANDARD.encode(body),
        "integratedTime": integrated_time,
        "logID": log_id,
        "logIndex": log_index,
    }))
}

/// A logged body and its integration time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLeaf {
    /// The body as appended.
    pub body: Vec<u8>,
    /// Unix seconds.
    pub integrated_time: i64,
}

/// A transparency log with an ECDSA P-256 key.
#[derive(Debug)]
pub struct TransparencyLog {
    key: KeyPair,
    hostname: String,
    tree_id: u64,
    leaves: Vec<LogLeaf>,
    tree: merkle::Tree,
    /// Start of the key's validity in the trusted root.
    pub valid_from: Timestamp,
}

impl TransparencyLog {
    /// An empty log at `rekor.test` with a fresh P-256 key.
    pub fn new() -> Result<Self, LogError> {
        Self::with_hostname(DEFAULT_HOSTNAME)
    }

    /// An empty log at `hostname` with a fresh P-256 key.
    pub fn with_hostname(hostname: &str) -> Result<Self, LogError> {
        Ok(Self::from_key(KeyPair::generate(Algorithm::EcdsaP256)?, hostname))
    }

    /// An empty log using `key`. The tree ID is derived from the key, so it is stable across restarts.
    #[must_use]
    pub fn from_key(key: KeyPair, hostname: &str) -> Self {
        let id = key.public_key().sha256();
        let tree_id = u64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]]) >> 1;
        let valid_from =
            Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(Timestamp::UNIX_EPOCH);
        TransparencyLog {
            key,
            hostname: hostname.to_owned(),
            tree_id,
            leaves: Vec::new(),
            tree: merkle::Tree::new(),
            valid_from,
        }
    }

    /// A log using `key` that already holds `leaves` (as read back from a state file).
    #[must_use]
    pub fn restore(key: KeyPair, hostname: &str, leaves: Vec<LogLeaf>) -> Self {
        let mut log = Self::from_key(key, hostname);
        for leaf in &leaves {
            log.tree.push(merkle::leaf_hash(&leaf.body));
        }
        log.leaves = leaves;
        log
    }

    /// The signing key.
    #[must_use]
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The public key verifiers use.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// Hostname; also the checkpoint signer name.
    #[must_use]
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// `https://<hostname>`, written to the trusted root.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("https://{}", self.hostname)
    }

    /// Numeric tree ID (as Rekor's Trillian tree ID).
    #[must_use]
    pub fn tree_id(&self) -> u64 {
        self.tree_id
    }

    /// Checkpoint origin line: `<hostname> - <tree id>`.
    #[must_use]
    pub fn origin(&self) -> String {
        format!("{} - {}", self.hostname, self.tree_id)
    }

    /// Log ID as raw bytes: SHA-256 of the public key's SPKI DER.
    #[must_use]
    pub fn log_id_bytes(&self) -> [u8; 32] {
        self.key.public_key().sha256()
    }

    /// Log ID as lowercase hex.
    #[must_use]
    pub fn log_id(&self) -> String {
        hex::encode(self.log_id_bytes())
    }

    /// Number of entries.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Every entry body with its integration time, in log order.
    #[must_use]
    pub fn leaves(&self) -> &[LogLeaf] {
        &self.leaves
    }

    /// Root hash of the current tree.
    #[must_use]
    pub fn root_hash(&self) -> [u8; 32] {
        self.tree.root()
    }

    /// Appends `body` (expected to be canonical JSON; see [`body`]) integrated at `integrated_time` (Unix
    /// seconds) and returns the entry with a SET and an inclusion proof against the tree including it.
    pub fn append(&mut self, body: Vec<u8>, integrated_time: i64) -> Result<Entry, LogError> {
        self.tree.push(merkle::leaf_hash(&body));
        self.leaves.push(LogLeaf { body, integrated_time });
        self.entry(self.size() - 1)
    }

    /// Appends `body` integrated now.
    pub fn append_now(&mut self, body: Vec<u8>) -> Result<Entry, LogError> {
        self.append(body, Timestamp::now().as_second())
    }

    /// The entry at `index` with a fresh SET and an inclusion proof against the current tree.
    pub fn entry(&self, index: u64) -> Result<Entry, LogError> {
        let leaf = self.leaf(index)?;
        Ok(Entry {
            log_index: index,
            log_id: self.log_id(),
            integrated_time: leaf.integrated_time,
            body: leaf.body.clone(),
            signed_entry_timestamp: self.signed_entry_timestamp(&leaf.body, leaf.integrated_time, index)?,
            inclusion_proof: self.proof(index)?,
        })
    }

    /// An inclusion proof for `index` against the current tree, with a checkpoint for that tree.
    pub fn proof(&self, index: u64) -> Result<InclusionProof, LogError> {
        self.leaf(index)?;
        let position = usize::try_from(index).unwrap_or(usize::MAX);
        let root = self.root_hash();
        Ok(InclusionProof {
            log_index: index,
            root_hash: root.to_vec(),
            tree_size: self.size(),
            hashes: self.tree.inclusion_path(position).into_iter().map(|h| h.to_vec()).collect(),
            checkpoint: self.sign_checkpoint(self.size(), &root)?,
        })
    }

    /// A signed checkpoint for the current tree.
    pub fn checkpoint(&self) -> Result<String, LogError> {
        self.sign_checkpoint(self.size(), &self.root_hash())
    }

    /// Signs a checkpoint for any size and root (honest or not), in Rekor's signed-note format:
    /// `<origin>\n<size>\n<base64 root>\n\n— <hostname> <base64(key hint ‖ signature)>\n`, where the key hint is
    /// the first four bytes of the log ID and the ECDSA signature covers the note text up to the blank line.
    pub fn sign_checkpoint(&self, tree_size: u64, root_hash: &[u8]) -> Result<String, LogError> {
        let note = format!("{}\n{}\n{}\n", self.origin(), tree_size, STANDARD.encode(root_hash));
        let signature = self.key.sign(note.as_bytes())?;
        let mut signed = self.log_id_bytes()[..4].to_vec();
        signed.extend_from_slice(&signature);
        Ok(format!("{note}\n\u{2014} {} {}\n", self.hostname, STANDARD.encode(signed)))
    }

    /// Signs a SET for any body, time and index under this log's ID.
    pub fn signed_entry_timestamp(
        &self,
        body: &[u8],
        integrated_time: i64,
        log_index: u64,
    ) -> Result<Vec<u8>, LogError> {
        Ok(self.key.sign(&signed_entry_timestamp_payload(body, integrated_time, &self.log_id(), log_index))?)
    }

    fn leaf(&self, index: u64) -> Result<&LogLeaf, LogError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.leaves.get(i))
            .ok_or(LogError::IndexOutOfRange { index, size: self.size() })
    }
}
