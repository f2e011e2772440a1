//! Rekor transparency-log entries: signed entry timestamps (SET), RFC 6962 inclusion proofs, signed checkpoints,
//! and whether an entry body describes exactly the signature being verified.
//!
//! Offline only: entries come from bundles or cosign annotations and log keys from the trust root. Fetching from a
//! log, consistency proofs between checkpoints and Rekor v2 (tiled) entries are out of scope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::certificate::Certificate;
use super::dsse::{Envelope, decode_base64};
use super::key::PublicKey;
use super::trust::{TransparencyLog, TrustRoot};

/// Proof that an entry is a leaf of a log's Merkle tree (RFC 6962), with the checkpoint signing that tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the leaf in the proven tree (for sharded Rekor: the index within the shard).
    pub log_index: u64,
    /// Root hash of the tree of `tree_size` leaves.
    pub root_hash: Vec<u8>,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes from the leaf upwards.
    pub hashes: Vec<Vec<u8>>,
    /// Signed note committing to `tree_size` and `root_hash`; empty when the producer left it out.
    pub checkpoint: String,
}

/// One transparency-log entry as shipped with a signature (bundle `tlogEntries[]` or cosign annotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Index of the entry in the log (for sharded Rekor: the global index).
    pub log_index: u64,
    /// Lowercase hex of the log ID (sha256 of the log key's SPKI DER for Rekor).
    pub log_id: String,
    /// Seconds since the Unix epoch at which the log integrated the entry.
    pub integrated_time: i64,
    /// Declared kind and version, e.g. `("hashedrekord", "0.0.1")`.
    pub kind: Option<(String, String)>,
    /// Canonicalized entry body (JSON), base64-decoded.
    pub body: Vec<u8>,
    /// The log's signature over the canonical entry (inclusion promise).
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// Merkle inclusion proof with checkpoint.
    pub inclusion_proof: Option<InclusionProof>,
}

/// Which proofs of logging verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogProof {
    /// Only the signed entry timestamp.
    SignedEntryTimestamp,
    /// Only the inclusion proof and its checkpoint; the integrated time is then not signed by the log.
    InclusionProof,
    /// Both.
    Both,
}

/// A verified log entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logged {
    /// Index of the entry in the log.
    pub log_index: u64,
    /// Lowercase hex of the log ID.
    pub log_id: String,
    /// Base URL of the log, from the trust root.
    pub log_url: String,
    /// When the log integrated the entry.
    #[serde(serialize_with = "serialize_timestamp", deserialize_with = "deserialize_timestamp")]
    pub integrated_time: jiff::Timestamp,
    /// Which proofs verified.
    pub proof: LogProof,
}

fn serialize_timestamp<S: serde::Serializer>(at: &jiff::Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(at)
}

/// Reads back what [`serialize_timestamp`] wrote (RFC 3339).
fn deserialize_timestamp<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<jiff::Timestamp, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Who signed the artifact, as the log entry body must record it.
#[derive(Debug, Clone, Copy)]
pub enum SignerMaterial<'a> {
    /// A bare public key (cosign `--key`).
    Key(&'a PublicKey),
    /// A (Fulcio) certificate; the body must record this very certificate.
    Certificate(&'a Certificate),
}

/// Why a log entry was rejected.
#[derive(Debug, thiserror::Error)]
pub enum TlogError {
    /// The cosign `dev.sigstore.cosign/bundle` annotation is unusable.
    #[error("malformed cosign bundle annotation: {reason}")]
    MalformedAnnotation {
        /// What is wrong.
        reason: String,
    },
    /// The entry names a log the trust root does not list.
    #[error("log entry {log_index} comes from log {log_id}, which the trust root does not list (it lists: {known})")]
    UnknownLog {
        /// Entry index.
        log_index: u64,
        /// Log ID of the entry (hex).
        log_id: String,
        /// Log IDs the trust root lists (abbreviated), comma-separated.
        known: String,
    },
    /// The log's key was not valid when the entry was integrated.
    #[error("key of log {log_id} is not valid at integrated time {at} (trust root: valid {window})")]
    LogKeyNotValid {
        /// Log ID (hex).
        log_id: String,
        /// Integrated time.
        at: jiff::Timestamp,
        /// Validity window from the trust root.
        window: String,
    },
    /// The integrated time is not a representable timestamp.
    #[error("log entry {log_index} has integrated time {seconds}, which is not a valid timestamp")]
    BadIntegratedTime {
        /// Entry index.
        log_index: u64,
        /// The raw value.
        seconds: i64,
    },
    /// The entry carries no proof that could be verified.
    #[error("log entry {log_index} carries neither a signed entry timestamp nor an inclusion proof with a checkpoint")]
    NoProof {
        /// Entry index.
        log_index: u64,
    },
    /// An inclusion proof with a checkpoint is required (bundle v0.2+) but absent.
    #[error("an inclusion proof with a signed checkpoint is required, but log entry {log_index} has {found}")]
    MissingInclusionProof {
        /// Entry index.
        log_index: u64,
        /// What the entry has instead.
        found: &'static str,
    },
    /// The signed entry timestamp does not verify.
    #[error(
        "signed entry timestamp of log entry {log_index} does not verify with the key of log {log_id} \
         (signed payload: {payload})"
    )]
    BadSignedEntryTimestamp {
        /// Entry index.
        log_index: u64,
        /// Log ID (hex).
        log_id: String,
        /// The canonical JSON that was checked, body abbreviated.
        payload: String,
    },
    /// The inclusion proof cannot be evaluated.
    #[error("malformed inclusion proof: {reason}")]
    MalformedInclusionProof {
        /// What is wrong.
        reason: String,
    },
    /// The inclusion proof does not lead to its root hash.
    #[error(
        "inclusion proof for leaf {leaf_index} of {tree_size} does not lead to its root: computed {computed}, \
         proof says {expected}"
    )]
    BadInclusionProof {
        /// Leaf index in the proven tree.
        leaf_index: u64,
        /// Tree size.
        tree_size: u64,
        /// Root computed from the body and the proof hashes (hex prefix).
        computed: String,
        /// Root stated by the proof (hex prefix).
        expected: String,
    },
    /// The checkpoint is not a signed note of the expected shape.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What is wrong.
        reason: String,
    },
    /// No checkpoint signature carries the log key's hash.
    #[error("checkpoint is not signed by log {log_id}: expected key hash {expected_key_hash}, found {found}")]
    CheckpointUnknownKey {
        /// Log ID (hex).
        log_id: String,
        /// First four bytes of sha256(log key SPKI), hex.
        expected_key_hash: String,
        /// Signatures present, as `name (key hash)`.
        found: String,
    },
    /// The checkpoint signature with the log's key hash does not verify.
    #[error("checkpoint signature by {signer:?} does not verify with the key of log {log_id}")]
    CheckpointSignatureInvalid {
        /// Log ID (hex).
        log_id: String,
        /// Signer name on the signature line.
        signer: String,
    },
    /// The checkpoint commits to another root than the proof.
    #[error("checkpoint root hash {checkpoint} differs from the inclusion proof root {proof}")]
    CheckpointRootMismatch {
        /// Root in the checkpoint (hex prefix).
        checkpoint: String,
        /// Root in the proof (hex prefix).
        proof: String,
    },
    /// The checkpoint commits to another tree size than the proof.
    #[error("checkpoint tree size {checkpoint} differs from the inclusion proof tree size {proof}")]
    CheckpointSizeMismatch {
        /// Size in the checkpoint.
        checkpoint: u64,
        /// Size in the proof.
        proof: u64,
    },
    /// The entry body is not a Rekor entry of the expected shape.
    #[error("malformed log entry body: {reason}")]
    MalformedBody {
        /// What is wrong.
        reason: String,
    },
    /// The declared kind differs from the body's.
    #[error("log entry declares kind {declared} but its body is {found}")]
    KindMismatch {
        /// `kind version` from the entry metadata.
        declared: String,
        /// `kind apiVersion` from the body.
        found: String,
    },
    /// The body kind cannot describe this kind of signature.
    #[error("log entry body is {found}; expected {expected}")]
    UnsupportedKind {
        /// Kinds accepted here.
        expected: &'static str,
        /// `kind apiVersion` of the body.
        found: String,
    },
    /// The body records other signature bytes.
    #[error("log entry records signature(s) {found}, the signature being verified is {expected}")]
    BodySignatureMismatch {
        /// Signature(s) being verified (abbreviated).
        expected: String,
        /// Signature(s) in the body (abbreviated).
        found: String,
    },
    /// The body records another verifier (certificate or key).
    #[error("log entry names verifier {found}, expected {expected}")]
    BodyVerifierMismatch {
        /// The signer being verified.
        expected: String,
        /// Verifier(s) in the body.
        found: String,
    },
    /// The body records another hash.
    #[error("log entry records {what} {found}, expected {expected}")]
    BodyHashMismatch {
        /// Which hash (`artifact hash`, `payload hash`).
        what: &'static str,
        /// Expected `algorithm:hex`.
        expected: String,
        /// Recorded `algorithm:hex`.
        found: String,
    },
    /// The intoto body records another payload type.
    #[error("log entry records payload type {found:?}, the envelope has {expected:?}")]
    BodyPayloadTypeMismatch {
        /// Envelope payload type.
        expected: String,
        /// Recorded payload type.
        found: String,
    },
}

/// Hex of the first 8 bytes, with an ellipsis when longer.
fn short_hex(bytes: &[u8]) -> String {
    if bytes.len() > 8 { format!("{}…", hex::encode(&bytes[..8])) } else { hex::encode(bytes) }
}

/// First 16 hex digits of a log ID, enough to tell logs apart.
fn abbreviate_log_id(log_id: &str) -> String {
    log_id.get(..16).map_or_else(|| log_id.to_owned(), |head| format!("{head}…"))
}

/// Head and tail of a signature, which share long DER prefixes.
fn abbreviate_signature(sig: &[u8]) -> String {
    if sig.len() <= 12 {
        return hex::encode(sig);
    }
    format!("{}…{} ({} bytes)", hex::encode(&sig[..4]), hex::encode(&sig[sig.len() - 6..]), sig.len())
}

// ---------------------------------------------------------------------------------------------------------------
// Cosign annotation

#[derive(Deserialize)]
struct CosignAnnotation {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: CosignPayload,
}

#[derive(Deserialize)]
struct CosignPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: u64,
    #[serde(rename = "logID")]
    log_id: String,
}

impl LogEntry {
    /// cosign's `dev.sigstore.cosign/bundle` annotation: {"SignedEntryTimestamp","Payload":{"body","integratedTime","logIndex","logID"}}
    pub fn from_cosign_annotation(json: &str) -> Result<Self, TlogError> {
        let malformed = |reason: String| TlogError::MalformedAnnotation { reason };
        let raw: CosignAnnotation = serde_json::from_str(json).map_err(|e| malformed(e.to_string()))?;
        let body =
            decode_base64(&raw.payload.body).map_err(|e| malformed(format!("Payload.body is not base64: {e}")))?;
        let set = decode_base64(&raw.signed_entry_timestamp)
            .map_err(|e| malformed(format!("SignedEntryTimestamp is not base64: {e}")))?;
        let log_id = hex::decode(&raw.payload.log_id)
            .map_err(|e| malformed(format!("Payload.logID {:?} is not hex: {e}", raw.payload.log_id)))?;
        let kind = serde_json::from_slice::<BodyHeader>(&body).ok().map(|h| (h.kind, h.api_version));
        Ok(Self {
            log_index: raw.payload.log_index,
            log_id: hex::encode(log_id),
            integrated_time: raw.payload.integrated_time,
            kind,
            body,
            signed_entry_timestamp: Some(set),
            inclusion_proof: None,
        })
    }

    /// Canonical JSON (RFC 8785) the SET signs: keys sorted, no whitespace, body re-encoded as standard base64.
    fn signed_entry_timestamp_payload(&self, body_b64: &str) -> String {
        let quoted = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        format!(
            "{{\"body\":{},\"integratedTime\":{},\"logID\":{},\"logIndex\":{}}}",
            quoted(body_b64),
            self.integrated_time,
            quoted(&self.log_id),
            self.log_index
        )
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Merkle inclusion (RFC 6962 §2.1, RFC 9162 §2.1.3.2)

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// RFC 6962 leaf hash: sha256(0x00 || data).
fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// RFC 6962 interior node hash: sha256(0x01 || left || right).
fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Root implied by an inclusion proof: the inner part of the path (below the point where the paths to `index` and
/// to the last leaf diverge) is chained by the index bits, the border part always from the left.
fn root_from_inclusion_proof(index: u64, size: u64, leaf: [u8; 32], hashes: &[Vec<u8>]) -> Result<[u8; 32], TlogError> {
    let malformed = |reason: String| TlogError::MalformedInclusionProof { reason };
    if index >= size {
        return Err(malformed(format!("leaf index {index} is outside a tree of {size} leaves")));
    }
    let inner = u64::BITS - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    let expected = usize::try_from(inner + border).map_err(|e| malformed(e.to_string()))?;
    if hashes.len() != expected {
        return Err(malformed(format!(
            "expected {expected} hashes for leaf {index} in a tree of {size} leaves, found {}",
            hashes.len()
        )));
    }
    if let Some((i, h)) = hashes.iter().enumerate().find(|(_, h)| h.len() != 32) {
        return Err(malformed(format!("hash {i} has {} bytes, expected 32", h.len())));
    }
    let (inner_hashes, border_hashes) = hashes.split_at(expected - border as usize);
    let mut node = leaf;
    for (level, sibling) in inner_hashes.iter().enumerate() {
        node = if (index >> level) & 1 == 0 { node_hash(&node, sibling) } else { node_hash(sibling, &node) };
    }
    for sibling in border_hashes {
        node = node_hash(sibling, &node);
    }
    Ok(node)
}

// ---------------------------------------------------------------------------------------------------------------
// Checkpoints (signed notes)

/// A signature line of a signed note: `— <name> <base64(key hash || signature)>`.
struct NoteSignature {
    name: String,
    key_hash: [u8; 4],
    signature: Vec<u8>,
}

/// A parsed checkpoint: the signed text and what it commits to.
struct Checkpoint<'a> {
    /// Everything before the blank line, including the final newline: the signed bytes.
    note: &'a str,
    size: u64,
    root_hash: Vec<u8>,
    signatures: Vec<NoteSignature>,
}

const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

fn parse_checkpoint(text: &str) -> Result<Checkpoint<'_>, TlogError> {
    let malformed = |reason: String| TlogError::MalformedCheckpoint { reason };
    let split = text
        .rfind("\n\n")
        .ok_or_else(|| malformed("expected a blank line between the note and its signatures, found none".into()))?;
    let (note, signature_block) = (&text[..=split], &text[split + 2..]);
    if signature_block.is_empty() || !signature_block.ends_with('\n') {
        return Err(malformed("expected newline-terminated signature lines after the blank line".into()));
    }
    let mut lines = note.lines();
    let origin = lines.next().unwrap_or_default();
    if origin.is_empty() {
        return Err(malformed("expected an origin line, found an empty line".into()));
    }
    let size_line = lines.next().unwrap_or_default();
    let size = size_line
        .parse::<u64>()
        .map_err(|_| malformed(format!("expected a decimal tree size on line 2, found {size_line:?}")))?;
    let root_line = lines.next().unwrap_or_default();
    let root_hash = STANDARD
        .decode(root_line)
        .map_err(|_| malformed(format!("expected a base64 root hash on line 3, found {root_line:?}")))?;
    let signatures = signature_block
        .lines()
        .map(|line| {
            let rest = line.strip_prefix(SIGNATURE_LINE_PREFIX).ok_or_else(|| {
                malformed(format!("expected a signature line starting with an em dash, found {line:?}"))
            })?;
            let (name, encoded) = rest
                .split_once(' ')
                .ok_or_else(|| malformed(format!("expected `— <name> <signature>`, found {line:?}")))?;
            let bytes =
                STANDARD.decode(encoded).map_err(|_| malformed(format!("signature of {name:?} is not base64")))?;
            match (bytes.get(..4), bytes.get(4..)) {
                (Some(hash), Some(sig)) if !sig.is_empty() => Ok(NoteSignature {
                    name: name.to_owned(),
                    key_hash: [hash[0], hash[1], hash[2], hash[3]],
                    signature: sig.to_vec(),
                }),
                _ => Err(malformed(format!("signature of {name:?} is {} bytes, too short", bytes.len()))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Checkpoint { note, size, root_hash, signatures })
}

/// Rekor's key hash for signed notes: the first four bytes of sha256(SPKI DER).
fn note_key_hash(key: &PublicKey) -> [u8; 4] {
    let digest = Sha256::digest(key.spki_der());
    [digest[0], digest[1], digest[2], digest[3]]
}

fn verify_checkpoint(proof: &InclusionProof, log: &TransparencyLog) -> Result<(), TlogError> {
    let checkpoint = parse_checkpoint(&proof.checkpoint)?;
    let key_hash = note_key_hash(&log.key);
    let candidates: Vec<&NoteSignature> = checkpoint.signatures.iter().filter(|s| s.key_hash == key_hash).collect();
    let Some(first) = candidates.first() else {
        let found = checkpoint
            .signatures
            .iter()
            .map(|s| format!("{} ({})", s.name, hex::encode(s.key_hash)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(TlogError::CheckpointUnknownKey {
            log_id: log.log_id.clone(),
            expected_key_hash: hex::encode(key_hash),
            found,
        });
    };
    if !candidates.iter().any(|s| log.key.verify(checkpoint.note.as_bytes(), &s.signature).is_ok()) {
        return Err(TlogError::CheckpointSignatureInvalid { log_id: log.log_id.clone(), signer: first.name.clone() });
    }
    if checkpoint.root_hash != proof.root_hash {
        return Err(TlogError::CheckpointRootMismatch {
            checkpoint: short_hex(&checkpoint.root_hash),
            proof: short_hex(&proof.root_hash),
        });
    }
    if checkpoint.size != proof.tree_size {
        return Err(TlogError::CheckpointSizeMismatch { checkpoint: checkpoint.size, proof: proof.tree_size });
    }
    Ok(())
}

fn verify_inclusion_proof(entry: &LogEntry, proof: &InclusionProof, log: &TransparencyLog) -> Result<(), TlogError> {
    let computed = root_from_inclusion_proof(proof.log_index, proof.tree_size, leaf_hash(&entry.body), &proof.hashes)?;
    if computed.as_slice() != proof.root_hash.as_slice() {
        return Err(TlogError::BadInclusionProof {
            leaf_index: proof.log_index,
            tree_size: proof.tree_size,
            computed: short_hex(&computed),
            expected: short_hex(&proof.root_hash),
        });
    }
    verify_checkpoint(proof, log)
}

fn verify_signed_entry_timestamp(entry: &LogEntry, set: &[u8], log: &TransparencyLog) -> Result<(), TlogError> {
    let body_b64 = STANDARD.encode(&entry.body);
    let payload = entry.signed_entry_timestamp_payload(&body_b64);
    log.key.verify(payload.as_bytes(), set).map_err(|_| {
        let abbreviated = body_b64.get(..16).map_or_else(|| body_b64.clone(), |head| format!("{head}…"));
        TlogError::BadSignedEntryTimestamp {
            log_index: entry.log_index,
            log_id: entry.log_id.clone(),
            payload: entry.signed_entry_timestamp_payload(&abbreviated),
        }
    })
}

fn describe_window(log: &TransparencyLog) -> String {
    let start = log.valid_for.start.map_or_else(|| "-".to_owned(), |t| t.to_string());
    let end = log.valid_for.end.map_or_else(|| "open".to_owned(), |t| t.to_string());
    format!("{start} .. {end}")
}

/// Verifies the SET (canonical JSON {"body","integratedTime","logID","logIndex"}) and/or the inclusion
/// proof (RFC 6962 leaf/node hashes) + signed checkpoint (signed note) against the log key chosen by
/// log_id from `trust`. `require_inclusion_proof` for bundles v0.2+. At least one proof must verify.
///
/// Every proof that is present must verify; an inclusion proof without checkpoint is ignored unless one is required.
pub fn verify_entry(entry: &LogEntry, trust: &TrustRoot, require_inclusion_proof: bool) -> Result<Logged, TlogError> {
    let log = trust.tlog(&entry.log_id).ok_or_else(|| TlogError::UnknownLog {
        log_index: entry.log_index,
        log_id: entry.log_id.clone(),
        known: if trust.tlogs.is_empty() {
            "none".to_owned()
        } else {
            trust.tlogs.iter().map(|t| abbreviate_log_id(&t.log_id)).collect::<Vec<_>>().join(", ")
        },
    })?;
    let integrated_time = jiff::Timestamp::from_second(entry.integrated_time)
        .map_err(|_| TlogError::BadIntegratedTime { log_index: entry.log_index, seconds: entry.integrated_time })?;
    if entry.integrated_time > 0 && !log.valid_for.contains(integrated_time) {
        return Err(TlogError::LogKeyNotValid {
            log_id: log.log_id.clone(),
            at: integrated_time,
            window: describe_window(log),
        });
    }
    if let Some((kind, version)) = &entry.kind {
        let header = parse_body_header(&entry.body)?;
        if &header.kind != kind || &header.api_version != version {
            return Err(TlogError::KindMismatch {
                declared: format!("{kind} {version}"),
                found: format!("{} {}", header.kind, header.api_version),
            });
        }
    }
    let proof = entry.inclusion_proof.as_ref().filter(|p| !p.checkpoint.is_empty());
    if require_inclusion_proof && proof.is_none() {
        let found = if entry.inclusion_proof.is_some() { "an inclusion proof without checkpoint" } else { "none" };
        return Err(TlogError::MissingInclusionProof { log_index: entry.log_index, found });
    }
    let set = entry.signed_entry_timestamp.as_deref().filter(|s| !s.is_empty());
    if let Some(set) = set {
        verify_signed_entry_timestamp(entry, set, log)?;
    }
    if let Some(proof) = proof {
        verify_inclusion_proof(entry, proof, log)?;
    }
    let proof = match (set.is_some(), proof.is_some()) {
        (true, true) => LogProof::Both,
        (true, false) => LogProof::SignedEntryTimestamp,
        (false, true) => LogProof::InclusionProof,
        (false, false) => return Err(TlogError::NoProof { log_index: entry.log_index }),
    };
    Ok(Logged {
        log_index: entry.log_index,
        log_id: log.log_id.clone(),
        log_url: log.base_url.clone(),
        integrated_time,
        proof,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Entry bodies

#[derive(Deserialize)]
struct BodyHeader {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(default)]
    spec: serde_json::Value,
}

impl BodyHeader {
    fn describe(&self) -> String {
        format!("{} {}", self.kind, self.api_version)
    }
}

fn parse_body_header(body: &[u8]) -> Result<BodyHeader, TlogError> {
    serde_json::from_slice(body).map_err(|e| TlogError::MalformedBody { reason: format!("not a Rekor entry: {e}") })
}

fn parse_spec<T: serde::de::DeserializeOwned>(header: BodyHeader) -> Result<T, TlogError> {
    let kind = header.describe();
    serde_json::from_value(header.spec).map_err(|e| TlogError::MalformedBody { reason: format!("{kind} spec: {e}") })
}

#[derive(Deserialize)]
struct HashValue {
    algorithm: String,
    value: String,
}

impl HashValue {
    /// Fails unless this is sha256 of exactly `expected`.
    fn check(&self, what: &'static str, expected: &[u8]) -> Result<(), TlogError> {
        if self.algorithm.eq_ignore_ascii_case("sha256") && self.value.eq_ignore_ascii_case(&hex::encode(expected)) {
            return Ok(());
        }
        Err(TlogError::BodyHashMismatch {
            what,
            expected: format!("sha256:{}", hex::encode(expected)),
            found: format!("{}:{}", self.algorithm, self.value),
        })
    }
}

#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Deserialize)]
struct HashedRekordData {
    hash: HashValue,
}

#[derive(Deserialize)]
struct HashedRekordSignature {
    content: String,
    #[serde(rename = "publicKey")]
    public_key: HashedRekordPublicKey,
}

#[derive(Deserialize)]
struct HashedRekordPublicKey {
    content: String,
}

#[derive(Deserialize)]
struct DsseSpec {
    #[serde(rename = "payloadHash")]
    payload_hash: HashValue,
    signatures: Vec<DsseSignature>,
}

#[derive(Deserialize)]
struct DsseSignature {
    signature: String,
    verifier: String,
}

#[derive(Deserialize)]
struct IntotoSpec {
    content: IntotoContent,
}

#[derive(Deserialize)]
struct IntotoContent {
    envelope: IntotoEnvelope,
    #[serde(rename = "payloadHash")]
    payload_hash: HashValue,
}

#[derive(Deserialize)]
struct IntotoEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: Option<String>,
    signatures: Vec<IntotoSignature>,
}

#[derive(Deserialize)]
struct IntotoSignature {
    sig: String,
    #[serde(rename = "publicKey")]
    public_key: String,
}

/// Verification material recorded in a body: base64 of a PEM certificate or public key.
enum RecordedVerifier {
    Certificate(Box<Certificate>),
    Key(PublicKey),
}

impl RecordedVerifier {
    fn parse(field: &str, b64_pem: &str) -> Result<Self, TlogError> {
        let malformed = |reason: String| TlogError::MalformedBody { reason: format!("{field}: {reason}") };
        let pem = decode_base64(b64_pem).map_err(|e| malformed(format!("not base64: {e}")))?;
        let pem = String::from_utf8(pem).map_err(|_| malformed("not PEM text".into()))?;
        if pem.contains("-----BEGIN CERTIFICATE-----") {
            Certificate::from_pem(&pem).map(|c| Self::Certificate(Box::new(c))).map_err(|e| malformed(e.to_string()))
        } else if pem.contains("-----BEGIN PUBLIC KEY-----") {
            PublicKey::from_pem(&pem).map(Self::Key).map_err(|e| malformed(e.to_string()))
        } else {
            Err(malformed("expected a PEM CERTIFICATE or PUBLIC KEY block".into()))
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Certificate(c) => describe_certificate(c),
            Self::Key(k) => format!("key {}", k.fingerprint()),
        }
    }
}

fn describe_certificate(certificate: &Certificate) -> String {
    let digest = Sha256::digest(certificate.der());
    let subject = certificate.identity().subject.as_deref().unwrap_or("<no subject>");
    format!("certificate for {subject} (sha256:{})", short_hex(&digest))
}

impl SignerMaterial<'_> {
    /// Whether a recorded verifier is this signer. A certificate signer requires that very certificate; a key signer
    /// accepts the key itself or a certificate for it.
    fn is(&self, recorded: &RecordedVerifier) -> bool {
        match (self, recorded) {
            (Self::Certificate(mine), RecordedVerifier::Certificate(theirs)) => mine.der() == theirs.der(),
            (Self::Certificate(_), RecordedVerifier::Key(_)) => false,
            (Self::Key(mine), RecordedVerifier::Key(theirs)) => mine.spki_der() == theirs.spki_der(),
            (Self::Key(mine), RecordedVerifier::Certificate(theirs)) => {
                mine.spki_der() == theirs.public_key().spki_der()
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Certificate(c) => describe_certificate(c),
            Self::Key(k) => format!("key {}", k.fingerprint()),
        }
    }
}

/// The entry body must describe exactly this signature: hashedrekord 0.0.1 — same signature bytes, same
/// verifier (PEM of the certificate or the public key, compare DER), data hash = sha256(payload).
pub fn check_hashedrekord(
    body: &[u8],
    signature: &[u8],
    signer: SignerMaterial<'_>,
    payload_sha256: &[u8],
) -> Result<(), TlogError> {
    let header = parse_body_header(body)?;
    if (header.kind.as_str(), header.api_version.as_str()) != ("hashedrekord", "0.0.1") {
        return Err(TlogError::UnsupportedKind { expected: "hashedrekord 0.0.1", found: header.describe() });
    }
    let spec: HashedRekordSpec = parse_spec(header)?;
    spec.data.hash.check("artifact hash", payload_sha256)?;
    let recorded_signature = decode_base64(&spec.signature.content)
        .map_err(|e| TlogError::MalformedBody { reason: format!("spec.signature.content is not base64: {e}") })?;
    if recorded_signature != signature {
        return Err(TlogError::BodySignatureMismatch {
            expected: abbreviate_signature(signature),
            found: abbreviate_signature(&recorded_signature),
        });
    }
    let recorded = RecordedVerifier::parse("spec.signature.publicKey.content", &spec.signature.public_key.content)?;
    if !signer.is(&recorded) {
        return Err(TlogError::BodyVerifierMismatch { expected: signer.describe(), found: recorded.describe() });
    }
    Ok(())
}

/// dsse 0.0.1 and intoto 0.0.2 bodies for an envelope: payload hash, envelope signature(s), verifier.
///
/// The recorded signatures must be exactly the envelope's, and at least one of them must be recorded with this
/// signer as verifier. The recorded envelope hash is not compared: Rekor hashes the envelope bytes as submitted,
/// which a bundle's re-serialized `dsseEnvelope` does not reproduce, so `_envelope_json` is not consulted.
pub fn check_dsse(
    body: &[u8],
    envelope: &Envelope,
    _envelope_json: &[u8],
    signer: SignerMaterial<'_>,
) -> Result<(), TlogError> {
    let header = parse_body_header(body)?;
    let payload_sha256 = Sha256::digest(&envelope.payload);
    let recorded: Vec<(Vec<u8>, RecordedVerifier)> = match (header.kind.as_str(), header.api_version.as_str()) {
        ("dsse", "0.0.1") => {
            let spec: DsseSpec = parse_spec(header)?;
            spec.payload_hash.check("payload hash", &payload_sha256)?;
            spec.signatures
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let sig = decode_base64(&s.signature).map_err(|e| TlogError::MalformedBody {
                        reason: format!("spec.signatures[{i}].signature is not base64: {e}"),
                    })?;
                    Ok((sig, RecordedVerifier::parse(&format!("spec.signatures[{i}].verifier"), &s.verifier)?))
                })
                .collect::<Result<_, TlogError>>()?
        }
        ("intoto", "0.0.2") => {
            let spec: IntotoSpec = parse_spec(header)?;
            spec.content.payload_hash.check("payload hash", &payload_sha256)?;
            if let Some(recorded_type) = &spec.content.envelope.payload_type
                && recorded_type != &envelope.payload_type
            {
                return Err(TlogError::BodyPayloadTypeMismatch {
                    expected: envelope.payload_type.clone(),
                    found: recorded_type.clone(),
                });
            }
            spec.content
                .envelope
                .signatures
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // intoto 0.0.2 stores base64 of the envelope's (already base64) signature string.
                    let sig = decode_base64(&s.sig)
                        .ok()
                        .and_then(|inner| String::from_utf8(inner).ok())
                        .and_then(|inner| decode_base64(inner.trim()).ok())
                        .ok_or_else(|| TlogError::MalformedBody {
                            reason: format!("spec.content.envelope.signatures[{i}].sig is not double base64"),
                        })?;
                    let field = format!("spec.content.envelope.signatures[{i}].publicKey");
                    Ok((sig, RecordedVerifier::parse(&field, &s.public_key)?))
                })
                .collect::<Result<_, TlogError>>()?
        }
        _ => {
            return Err(TlogError::UnsupportedKind {
                expected: "dsse 0.0.1 or intoto 0.0.2",
                found: header.describe(),
            });
        }
    };
    let mut recorded_sigs: Vec<&[u8]> = recorded.iter().map(|(s, _)| s.as_slice()).collect();
    let mut envelope_sigs: Vec<&[u8]> = envelope.signatures.iter().map(|s| s.sig.as_slice()).collect();
    recorded_sigs.sort_unstable();
    envelope_sigs.sort_unstable();
    if recorded_sigs != envelope_sigs {
        let list = |sigs: &[&[u8]]| sigs.iter().map(|s| abbreviate_signature(s)).collect::<Vec<_>>().join(", ");
        return Err(TlogError::BodySignatureMismatch { expected: list(&envelope_sigs), found: list(&recorded_sigs) });
    }
    if !recorded.iter().any(|(_, verifier)| signer.is(verifier)) {
        let found = recorded.iter().map(|(_, v)| v.describe()).collect::<Vec<_>>().join(", ");
        return Err(TlogError::BodyVerifierMismatch { expected: signer.describe(), found });
    }
    Ok(())
}

/// Test support shared by the `tlog`, `dsse` and `bundle` tests: a signing key, a certificate authority and an
/// in-memory log that builds a real Merkle tree, SETs and signed checkpoints.
#[cfg(test)]
pub(crate) mod testing {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::{InclusionProof, LogEntry, leaf_hash, node_hash, note_key_hash};
    use crate::verify::certificate::Certificate;
    use crate::verify::key::PublicKey;
    use crate::verify::trust::{TransparencyLog, TrustRoot, Validity};

    /// A P-256 key pair.
    pub(crate) struct TestKey {
        pair: EcdsaKeyPair,
        pkcs8: Vec<u8>,
    }

    impl TestKey {
        pub(crate) fn generate() -> Self {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .expect("generate key");
            let pkcs8 = doc.as_ref().to_vec();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).expect("load key");
            Self { pair, pkcs8 }
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
            self.pair.sign(&SystemRandom::new(), message).expect("sign").as_ref().to_vec()
        }

        pub(crate) fn spki_der(&self) -> Vec<u8> {
            self.pair.public_key().as_der().expect("spki").as_ref().to_vec()
        }

        pub(crate) fn public_key(&self) -> PublicKey {
            PublicKey::from_spki_der(&self.spki_der()).expect("public key")
        }

        pub(crate) fn rcgen(&self) -> rcgen::KeyPair {
            rcgen::KeyPair::try_from(self.pkcs8.as_slice()).expect("rcgen key")
        }
    }

    pub(crate) const TEST_ISSUER: &str = "https://token.actions.githubusercontent.com";
    pub(crate) const TEST_SUBJECT: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";

    /// A CA that issues Fulcio-style leaf certificates valid for ten minutes from `not_before`.
    pub(crate) struct TestCa {
        key: TestKey,
        params: rcgen::CertificateParams,
        pub(crate) certificate: Certificate,
    }

    impl TestCa {
        pub(crate) fn new() -> Self {
            let key = TestKey::generate();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            let id = hex::encode(
                &sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), key.spki_der()))[..4],
            );
            params.distinguished_name.push(rcgen::DnType::CommonName, format!("test-intermediate-{id}"));
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2040, 1, 1);
            let cert = params.self_signed(&key.rcgen()).expect("ca cert");
            let certificate = Certificate::from_der(cert.der()).expect("parse ca");
            Self { key, params, certificate }
        }

        /// Leaf for `key` with SAN URI `subject` and Fulcio issuer extension (OID .1.8, DER UTF8String).
        pub(crate) fn issue(&self, key: &TestKey, issuer: &str, subject: &str, not_before: i64) -> Certificate {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params.subject_alt_names = vec![rcgen::SanType::URI(subject.try_into().expect("ia5"))];
            let mut utf8 = vec![0x0c, u8::try_from(issuer.len()).expect("short issuer")];
            utf8.extend_from_slice(issuer.as_bytes());
            params.custom_extensions =
                vec![rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], utf8)];
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
            let start = u64::try_from(not_before).expect("after 1970");
            params.not_before = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(start);
            params.not_after = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(start + 600);
            let ca_key = self.key.rcgen();
            let issuer = rcgen::Issuer::from_params(&self.params, &ca_key);
            let cert = params.signed_by(&key.rcgen(), &issuer).expect("leaf");
            Certificate::from_der(cert.der()).expect("parse leaf")
        }
    }

    /// RFC 6962 Merkle tree hash of `leaves` (recursive definition, independent of the verifier's iteration).
    pub(crate) fn tree_hash(leaves: &[Vec<u8>]) -> [u8; 32] {
        match leaves.len() {
            0 => sha2::Digest::finalize(sha2::Sha256::default()).into(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n);
                node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
            }
        }
    }

    /// Largest power of two smaller than `n` (n > 1).
    fn split_point(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// RFC 6962 PATH(m, D[n]): audit path for leaf `m`, lowest level first.
    pub(crate) fn audit_path(m: usize, leaves: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n);
        if m < k {
            let mut path = audit_path(m, &leaves[..k]);
            path.push(tree_hash(&leaves[k..]).to_vec());
            path
        } else {
            let mut path = audit_path(m - k, &leaves[k..]);
            path.push(tree_hash(&leaves[..k]).to_vec());
            path
        }
    }

    pub(crate) const TEST_LOG_URL: &str = "https://rekor.test";

    /// An in-memory Rekor-like log.
    pub(crate) struct TestLog {
        pub(crate) key: TestKey,
        pub(crate) leaves: Vec<Vec<u8>>,
        pub(crate) name: String,
    }

    impl TestLog {
        pub(crate) fn new() -> Self {
            let mut leaves: Vec<Vec<u8>> = (0..5).map(|i| format!("{{\"filler\":{i}}}").into_bytes()).collect();
            leaves.shrink_to_fit();
            Self { key: TestKey::generate(), leaves, name: "rekor.test".into() }
        }

        pub(crate) fn log_id(&self) -> String {
            hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
                sha2::Sha256::default(),
                self.key.spki_der(),
            )))
        }

        pub(crate) fn transparency_log(&self) -> TransparencyLog {
            TransparencyLog {
                base_url: TEST_LOG_URL.into(),
                log_id: self.log_id(),
                key: self.key.public_key(),
                valid_for: Validity { start: None, end: None },
            }
        }

        pub(crate) fn trust_root(&self) -> TrustRoot {
            let mut root = TrustRoot::empty();
            root.tlogs.push(self.transparency_log());
            root
        }

        /// Canonical SET payload, written out independently of the code under test.
        pub(crate) fn sign_set(&self, body: &[u8], integrated_time: i64, log_index: u64) -> Vec<u8> {
            let payload = format!(
                r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{log_index}}}"#,
                STANDARD.encode(body),
                self.log_id()
            );
            self.key.sign(payload.as_bytes())
        }

        /// Signed note over `origin`, size, base64 root and optional extension lines.
        pub(crate) fn checkpoint(&self, size: u64, root: &[u8], extra: &[&str]) -> String {
            let mut note = format!("{} - 1193050959916656506\n{size}\n{}\n", self.name, STANDARD.encode(root));
            for line in extra {
                note.push_str(line);
                note.push('\n');
            }
            let mut sig = note_key_hash(&self.key.public_key()).to_vec();
            sig.extend(self.key.sign(note.as_bytes()));
            format!("{note}\n\u{2014} {} {}\n", self.name, STANDARD.encode(sig))
        }

        /// Appends `body`, then a few more leaves so the entry is not the last one, and returns a complete entry.
        pub(crate) fn log(&mut self, body: &[u8], integrated_time: i64) -> LogEntry {
            let index = self.leaves.len();
            self.leaves.push(body.to_vec());
            for i in 0..3 {
                self.leaves.push(format!("{{\"after\":{i}}}").into_bytes());
            }
            let size = self.leaves.len();
            let root = tree_hash(&self.leaves);
            let log_index = u64::try_from(index).expect("index");
            let tree_size = u64::try_from(size).expect("size");
            let header: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let kind = match (header["kind"].as_str(), header["apiVersion"].as_str()) {
                (Some(k), Some(v)) => Some((k.to_owned(), v.to_owned())),
                _ => None,
            };
            LogEntry {
                log_index,
                log_id: self.log_id(),
                integrated_time,
                kind,
                body: body.to_vec(),
                signed_entry_timestamp: Some(self.sign_set(body, integrated_time, log_index)),
                inclusion_proof: Some(InclusionProof {
                    log_index,
                    root_hash: root.to_vec(),
                    tree_size,
                    hashes: audit_path(index, &self.leaves),
                    checkpoint: self.checkpoint(tree_size, &root, &[]),
                }),
            }
        }
    }

    /// hashedrekord 0.0.1 body as Rekor canonicalizes it (keys sorted, compact).
    pub(crate) fn hashedrekord_body(artifact_sha256: &[u8], signature: &[u8], verifier_pem: &str) -> Vec<u8> {
        format!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
            hex::encode(artifact_sha256),
            STANDARD.encode(signature),
            STANDARD.encode(verifier_pem)
        )
        .into_bytes()
    }

    /// dsse 0.0.1 body.
    pub(crate) fn dsse_body(envelope_json: &[u8], payload: &[u8], signatures: &[(&[u8], &str)]) -> Vec<u8> {
        let sha =
            |b: &[u8]| hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), b)));
        let sigs: Vec<serde_json::Value> = signatures
            .iter()
            .map(|(sig, pem)| serde_json::json!({"signature": STANDARD.encode(sig), "verifier": STANDARD.encode(pem)}))
            .collect();
        serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": sha(envelope_json)},
                "payloadHash": {"algorithm": "sha256", "value": sha(payload)},
                "signatures": sigs
            }
        })
        .to_string()
        .into_bytes()
    }

    /// PEM of a certificate.
    pub(crate) fn certificate_pem(certificate: &Certificate) -> String {
        let b64 = STANDARD.encode(certificate.der());
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use sha2::{Digest as _, Sha256};

    use super::testing::{
        TEST_ISSUER, TEST_LOG_URL, TEST_SUBJECT, TestCa, TestKey, TestLog, audit_path, certificate_pem,
        hashedrekord_body, tree_hash,
    };
    use super::*;
    use crate::verify::dsse::IN_TOTO_PAYLOAD_TYPE;

    const T0: i64 = 1_712_085_549;

    fn signed_hashedrekord(log: &mut TestLog) -> (LogEntry, TestKey, Vec<u8>, [u8; 32]) {
        let signer = TestKey::generate();
        let artifact: [u8; 32] = Sha256::digest(b"artifact").into();
        let signature = signer.sign(b"artifact");
        let body = hashedrekord_body(&artifact, &signature, &signer.public_key().to_pem());
        (log.log(&body, T0), signer, signature, artifact)
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_of_trees_of_many_sizes() {
        for size in 1..=17usize {
            let leaves: Vec<Vec<u8>> = (0..size).map(|i| format!("leaf {i}").into_bytes()).collect();
            let root = tree_hash(&leaves);
            for (index, leaf) in leaves.iter().enumerate() {
                let path = audit_path(index, &leaves);
                let computed = root_from_inclusion_proof(index as u64, size as u64, leaf_hash(leaf), &path)
                    .unwrap_or_else(|e| panic!("size {size} index {index}: {e}"));
                assert_eq!(computed, root, "size {size} index {index}");
            }
        }
    }

    #[test]
    fn inclusion_proof_with_wrong_hash_count_is_malformed() {
        let leaves: Vec<Vec<u8>> = (0..7).map(|i| vec![i]).collect();
        let mut path = audit_path(2, &leaves);
        path.pop();
        let err = root_from_inclusion_proof(2, 7, leaf_hash(&leaves[2]), &path).expect_err("short proof");
        assert!(matches!(err, TlogError::MalformedInclusionProof { .. }), "{err}");
        let err = root_from_inclusion_proof(7, 7, leaf_hash(&leaves[2]), &[]).expect_err("index out of range");
        assert!(err.to_string().contains("outside a tree of 7"), "{err}");
    }

    #[test]
    fn entry_with_set_and_proof_verifies_both() {
        let mut log = TestLog::new();
        let (entry, ..) = signed_hashedrekord(&mut log);
        let logged = verify_entry(&entry, &log.trust_root(), true).expect("verifies");
        assert_eq!(logged.proof, LogProof::Both);
        assert_eq!(logged.log_index, 5);
        assert_eq!(logged.log_url, TEST_LOG_URL);
        assert_eq!(logged.log_id, log.log_id());
        assert_eq!(logged.integrated_time.as_second(), T0);
        let json = serde_json::to_value(&logged).expect("serializes");
        assert_eq!(json["proof"], "both");
        assert_eq!(json["integratedTime"], "2024-04-02T19:19:09Z");
    }

    #[test]
    fn entry_with_only_a_set_verifies_when_no_proof_is_required() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.inclusion_proof = None;
        let logged = verify_entry(&entry, &log.trust_root(), false).expect("verifies");
        assert_eq!(logged.proof, LogProof::SignedEntryTimestamp);
    }

    #[test]
    fn entry_with_only_a_proof_verifies() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.signed_entry_timestamp = None;
        let logged = verify_entry(&entry, &log.trust_root(), true).expect("verifies");
        assert_eq!(logged.proof, LogProof::InclusionProof);
    }

    #[test]
    fn checkpoint_with_extension_lines_and_foreign_cosignature_verifies() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        let mut checkpoint = log.checkpoint(proof.tree_size, &proof.root_hash, &["Timestamp: 1712085549123456789"]);
        let witness = TestKey::generate();
        let mut witness_sig = note_key_hash(&witness.public_key()).to_vec();
        witness_sig.extend(witness.sign(b"unrelated"));
        writeln!(checkpoint, "\u{2014} witness.example {}", STANDARD.encode(witness_sig)).expect("write");
        proof.checkpoint = checkpoint;
        verify_entry(&entry, &log.trust_root(), true).expect("verifies");
    }

    #[test]
    fn set_over_other_content_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.signed_entry_timestamp = Some(log.sign_set(&entry.body, T0 + 1, entry.log_index));
        let err = verify_entry(&entry, &log.trust_root(), false).expect_err("bad SET");
        assert!(matches!(err, TlogError::BadSignedEntryTimestamp { .. }), "{err}");
        assert!(err.to_string().contains(&format!("\"integratedTime\":{T0}")), "{err}");
    }

    #[test]
    fn set_from_a_log_missing_from_the_trust_root_is_rejected() {
        let mut log = TestLog::new();
        let (entry, ..) = signed_hashedrekord(&mut log);
        let other = TestLog::new();
        let err = verify_entry(&entry, &other.trust_root(), false).expect_err("unknown log");
        let TlogError::UnknownLog { log_id, known, .. } = &err else { panic!("unexpected {err}") };
        assert_eq!(log_id, &log.log_id());
        assert_eq!(known, &format!("{}…", &other.log_id()[..16]));
    }

    #[test]
    fn log_key_outside_its_validity_is_rejected() {
        let mut log = TestLog::new();
        let (entry, ..) = signed_hashedrekord(&mut log);
        let mut trust = log.trust_root();
        trust.tlogs[0].valid_for.end = Some(jiff::Timestamp::from_second(T0 - 1).expect("ts"));
        let err = verify_entry(&entry, &trust, false).expect_err("expired log key");
        assert!(matches!(err, TlogError::LogKeyNotValid { .. }), "{err}");
    }

    #[test]
    fn proof_that_does_not_lead_to_its_root_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        proof.hashes[1][0] ^= 0x01;
        let root = proof.root_hash.clone();
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("bad proof");
        let TlogError::BadInclusionProof { computed, expected, .. } = &err else { panic!("unexpected {err}") };
        assert_eq!(expected, &short_hex(&root));
        assert_ne!(computed, expected);
    }

    #[test]
    fn proof_for_another_body_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.body.push(b' ');
        entry.signed_entry_timestamp = None;
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("bad proof");
        assert!(matches!(err, TlogError::BadInclusionProof { .. }), "{err}");
    }

    #[test]
    fn checkpoint_root_differing_from_the_proof_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        proof.checkpoint = log.checkpoint(proof.tree_size, &[7u8; 32], &[]);
        let root = proof.root_hash.clone();
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("root differs");
        let TlogError::CheckpointRootMismatch { checkpoint, proof: proof_root } = &err else {
            panic!("unexpected {err}")
        };
        assert_eq!(checkpoint, &short_hex(&[7u8; 32]));
        assert_eq!(proof_root, &short_hex(&root));
    }

    #[test]
    fn checkpoint_size_differing_from_the_proof_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        proof.checkpoint = log.checkpoint(proof.tree_size + 1, &proof.root_hash, &[]);
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("size differs");
        assert!(matches!(err, TlogError::CheckpointSizeMismatch { checkpoint: 10, proof: 9 }), "{err}");
    }

    #[test]
    fn checkpoint_with_invalid_signature_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        // Same note, but signed over a different size line: key hash matches, signature does not.
        let forged = log.checkpoint(proof.tree_size + 1, &proof.root_hash, &[]);
        let genuine = log.checkpoint(proof.tree_size, &proof.root_hash, &[]);
        let signature_line = forged.rsplit_once("\n\n").expect("split").1;
        proof.checkpoint = format!("{}\n\n{signature_line}", genuine.rsplit_once("\n\n").expect("split").0);
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("bad signature");
        assert!(
            matches!(&err, TlogError::CheckpointSignatureInvalid { signer, .. } if signer == "rekor.test"),
            "{err}"
        );
    }

    #[test]
    fn checkpoint_signed_by_an_unknown_key_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        let impostor = TestLog { key: TestKey::generate(), leaves: Vec::new(), name: "rekor.test".into() };
        let proof = entry.inclusion_proof.as_mut().expect("proof");
        proof.checkpoint = impostor.checkpoint(proof.tree_size, &proof.root_hash, &[]);
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("unknown key");
        let TlogError::CheckpointUnknownKey { expected_key_hash, found, .. } = &err else { panic!("unexpected {err}") };
        assert_eq!(expected_key_hash, &log.log_id()[..8]);
        assert!(found.starts_with("rekor.test ("), "{err}");
    }

    #[test]
    fn malformed_checkpoints_are_reported() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        for bad in
            ["no blank line\n", "origin\nnot-a-number\nAAAA\n\n\u{2014} x AAAAAAAA\n", "o\n1\nAAAA\n\n- x AAAAAAAA\n"]
        {
            entry.inclusion_proof.as_mut().expect("proof").checkpoint = bad.into();
            let err = verify_entry(&entry, &log.trust_root(), true).expect_err("malformed");
            assert!(matches!(err, TlogError::MalformedCheckpoint { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn bundle_v02_without_proof_or_checkpoint_is_rejected() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.inclusion_proof.as_mut().expect("proof").checkpoint.clear();
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("no checkpoint");
        assert!(matches!(err, TlogError::MissingInclusionProof { found: "an inclusion proof without checkpoint", .. }));
        // Without the requirement, the checkpoint-less proof is ignored and the SET carries the entry.
        assert_eq!(verify_entry(&entry, &log.trust_root(), false).expect("SET").proof, LogProof::SignedEntryTimestamp);
        entry.inclusion_proof = None;
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("no proof");
        assert!(matches!(err, TlogError::MissingInclusionProof { found: "none", .. }), "{err}");
        entry.signed_entry_timestamp = None;
        let err = verify_entry(&entry, &log.trust_root(), false).expect_err("nothing");
        assert!(matches!(err, TlogError::NoProof { .. }), "{err}");
    }

    #[test]
    fn declared_kind_must_match_the_body() {
        let mut log = TestLog::new();
        let (mut entry, ..) = signed_hashedrekord(&mut log);
        entry.kind = Some(("dsse".into(), "0.0.1".into()));
        let err = verify_entry(&entry, &log.trust_root(), true).expect_err("kind mismatch");
        assert_eq!(err.to_string(), "log entry declares kind dsse 0.0.1 but its body is hashedrekord 0.0.1");
    }

    #[test]
    fn cosign_annotation_is_read_and_its_set_verifies() {
        let mut log = TestLog::new();
        let (entry, ..) = signed_hashedrekord(&mut log);
        let annotation = serde_json::json!({
            "SignedEntryTimestamp": STANDARD.encode(entry.signed_entry_timestamp.as_deref().expect("set")),
            "Payload": {
                "body": STANDARD.encode(&entry.body),
                "integratedTime": T0,
                "logIndex": entry.log_index,
                "logID": log.log_id()
            }
        });
        let parsed = LogEntry::from_cosign_annotation(&annotation.to_string()).expect("parses");
        assert_eq!(parsed.kind, Some(("hashedrekord".into(), "0.0.1".into())));
        assert_eq!(parsed.body, entry.body);
        assert!(parsed.inclusion_proof.is_none());
        let logged = verify_entry(&parsed, &log.trust_root(), false).expect("verifies");
        assert_eq!(logged.proof, LogProof::SignedEntryTimestamp);
    }

    #[test]
    fn cosign_annotation_with_bad_log_id_is_malformed() {
        let annotation =
            r#"{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}}"#;
        let err = LogEntry::from_cosign_annotation(annotation).expect_err("bad hex");
        assert!(matches!(err, TlogError::MalformedAnnotation { .. }), "{err}");
    }

    #[test]
    fn hashedrekord_body_matching_key_signature_and_hash_passes() {
        let mut log = TestLog::new();
        let (entry, signer, signature, artifact) = signed_hashedrekord(&mut log);
        let key = signer.public_key();
        check_hashedrekord(&entry.body, &signature, SignerMaterial::Key(&key), &artifact).expect("consistent");
    }

    #[test]
    fn hashedrekord_body_matching_certificate_passes_and_key_of_that_certificate_too() {
        let ca = TestCa::new();
        let signer = TestKey::generate();
        let leaf = ca.issue(&signer, TEST_ISSUER, TEST_SUBJECT, T0 - 60);
        let artifact: [u8; 32] = Sha256::digest(b"artifact").into();
        let signature = signer.sign(b"artifact");
        let body = hashedrekord_body(&artifact, &signature, &certificate_pem(&leaf));
        check_hashedrekord(&body, &signature, SignerMaterial::Certificate(&leaf), &artifact).expect("certificate");
        check_hashedrekord(&body, &signature, SignerMaterial::Key(leaf.public_key()), &artifact).expect("its key");
    }

    #[test]
    fn hashedrekord_body_with_another_signature_is_rejected() {
        let mut log = TestLog::new();
        let (entry, signer, _, artifact) = signed_hashedrekord(&mut log);
        let other_signature = signer.sign(b"something else");
        let key = signer.public_key();
        let err = check_hashedrekord(&entry.body, &other_signature, SignerMaterial::Key(&key), &artifact)
            .expect_err("signature differs");
        assert!(matches!(err, TlogError::BodySignatureMismatch { .. }), "{err}");
    }

    #[test]
    fn hashedrekord_body_with_another_verifier_is_rejected() {
        let mut log = TestLog::new();
        let (entry, _, signature, artifact) = signed_hashedrekord(&mut log);
        let stranger = TestKey::generate().public_key();
        let err = check_hashedrekord(&entry.body, &signature, SignerMaterial::Key(&stranger), &artifact)
            .expect_err("verifier differs");
        let TlogError::BodyVerifierMismatch { expected, .. } = &err else { panic!("unexpected {err}") };
        assert_eq!(expected, &format!("key {}", stranger.fingerprint()));
    }

    #[test]
    fn hashedrekord_body_recording_a_key_does_not_satisfy_a_certificate_signer() {
        let ca = TestCa::new();
        let signer = TestKey::generate();
        let leaf = ca.issue(&signer, TEST_ISSUER, TEST_SUBJECT, T0 - 60);
        let artifact: [u8; 32] = Sha256::digest(b"artifact").into();
        let signature = signer.sign(b"artifact");
        let body = hashedrekord_body(&artifact, &signature, &signer.public_key().to_pem());
        let err = check_hashedrekord(&body, &signature, SignerMaterial::Certificate(&leaf), &artifact)
            .expect_err("key recorded, certificate expected");
        assert!(err.to_string().contains(&format!("certificate for {TEST_SUBJECT}")), "{err}");
    }

    #[test]
    fn hashedrekord_body_with_another_hash_is_rejected() {
        let mut log = TestLog::new();
        let (entry, signer, signature, artifact) = signed_hashedrekord(&mut log);
        let other: [u8; 32] = Sha256::digest(b"other").into();
        let key = signer.public_key();
        let err = check_hashedrekord(&entry.body, &signature, SignerMaterial::Key(&key), &other).expect_err("hash");
        assert_eq!(
            err.to_string(),
            format!(
                "log entry records artifact hash sha256:{}, expected sha256:{}",
                hex::encode(artifact),
                hex::encode(other)
            )
        );
    }

    #[test]
    fn unsupported_body_kind_is_rejected() {
        let key = TestKey::generate().public_key();
        let body = br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#;
        let err = check_hashedrekord(body, b"sig", SignerMaterial::Key(&key), &[0; 32]).expect_err("rekord");
        assert_eq!(err.to_string(), "log entry body is rekord 0.0.1; expected hashedrekord 0.0.1");
        let envelope =
            Envelope { payload_type: IN_TOTO_PAYLOAD_TYPE.into(), payload: b"{}".to_vec(), signatures: vec![] };
        let err = check_dsse(body, &envelope, b"{}", SignerMaterial::Key(&key)).expect_err("rekord");
        assert!(matches!(err, TlogError::UnsupportedKind { expected: "dsse 0.0.1 or intoto 0.0.2", .. }), "{err}");
    }

    fn signed_envelope(key: &TestKey, payload: &[u8]) -> (Envelope, Vec<u8>) {
        let mut envelope =
            Envelope { payload_type: IN_TOTO_PAYLOAD_TYPE.into(), payload: payload.to_vec(), signatures: vec![] };
        let sig = key.sign(&envelope.pae());
        envelope.signatures.push(crate::verify::dsse::EnvelopeSignature { keyid: None, sig: sig.clone() });
        let json = serde_json::json!({
            "payload": STANDARD.encode(payload),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": STANDARD.encode(&sig), "keyid": ""}]
        })
        .to_string()
        .into_bytes();
        (envelope, json)
    }

    fn intoto_body(envelope: &Envelope, json: &[u8], verifier_pem: &str) -> Vec<u8> {
        let sigs: Vec<serde_json::Value> = envelope
            .signatures
            .iter()
            .map(|s| {
                serde_json::json!({
                    "publicKey": STANDARD.encode(verifier_pem),
                    "sig": STANDARD.encode(STANDARD.encode(&s.sig))
                })
            })
            .collect();
        serde_json::json!({
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": {"content": {
                "envelope": {"payloadType": envelope.payload_type, "signatures": sigs},
                "hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(json))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&envelope.payload))}
            }}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn dsse_body_matching_the_envelope_passes() {
        let signer = TestKey::generate();
        let (envelope, json) = signed_envelope(&signer, b"{\"_type\":\"x\"}");
        let pem = signer.public_key().to_pem();
        let body = super::testing::dsse_body(&json, &envelope.payload, &[(&envelope.signatures[0].sig, &pem)]);
        let key = signer.public_key();
        check_dsse(&body, &envelope, &json, SignerMaterial::Key(&key)).expect("consistent");
    }

    #[test]
    fn intoto_body_with_double_base64_signature_matching_the_envelope_passes() {
        let ca = TestCa::new();
        let signer = TestKey::generate();
        let leaf = ca.issue(&signer, TEST_ISSUER, TEST_SUBJECT, T0 - 60);
        let (envelope, json) = signed_envelope(&signer, b"{\"_type\":\"x\"}");
        let body = intoto_body(&envelope, &json, &certificate_pem(&leaf));
        check_dsse(&body, &envelope, &json, SignerMaterial::Certificate(&leaf)).expect("consistent");
    }

    #[test]
    fn dsse_body_with_another_payload_hash_is_rejected() {
        let signer = TestKey::generate();
        let (envelope, json) = signed_envelope(&signer, b"payload");
        let pem = signer.public_key().to_pem();
        let body = super::testing::dsse_body(&json, b"other payload", &[(&envelope.signatures[0].sig, &pem)]);
        let key = signer.public_key();
        let err = check_dsse(&body, &envelope, &json, SignerMaterial::Key(&key)).expect_err("payload hash");
        assert!(matches!(err, TlogError::BodyHashMismatch { what: "payload hash", .. }), "{err}");
    }

    #[test]
    fn dsse_body_with_other_signatures_is_rejected() {
        let signer = TestKey::generate();
        let (envelope, json) = signed_envelope(&signer, b"payload");
        let pem = signer.public_key().to_pem();
        let other_sig = signer.sign(b"different");
        let body = super::testing::dsse_body(&json, &envelope.payload, &[(&other_sig, &pem)]);
        let key = signer.public_key();
        let err = check_dsse(&body, &envelope, &json, SignerMaterial::Key(&key)).expect_err("signature");
        assert!(matches!(err, TlogError::BodySignatureMismatch { .. }), "{err}");
    }

    #[test]
    fn dsse_body_with_another_verifier_is_rejected() {
        let signer = TestKey::generate();
        let (envelope, json) = signed_envelope(&signer, b"payload");
        let stranger = TestKey::generate().public_key();
        let body =
            super::testing::dsse_body(&json, &envelope.payload, &[(&envelope.signatures[0].sig, &stranger.to_pem())]);
        let key = signer.public_key();
        let err = check_dsse(&body, &envelope, &json, SignerMaterial::Key(&key)).expect_err("verifier");
        let TlogError::BodyVerifierMismatch { found, .. } = &err else { panic!("unexpected {err}") };
        assert_eq!(found, &format!("key {}", stranger.fingerprint()));
    }

    #[test]
    fn intoto_body_with_another_payload_type_is_rejected() {
        let signer = TestKey::generate();
        let (mut envelope, json) = signed_envelope(&signer, b"payload");
        let body = intoto_body(&envelope, &json, &signer.public_key().to_pem());
        envelope.payload_type = "text/plain".into();
        let key = signer.public_key();
        let err = check_dsse(&body, &envelope, &json, SignerMaterial::Key(&key)).expect_err("payload type");
        assert!(matches!(err, TlogError::BodyPayloadTypeMismatch { .. }), "{err}");
    }
}
