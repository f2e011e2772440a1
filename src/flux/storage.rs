//! The artifact storage directory: where archives and their records live, atomic writes,
//! retention, and re-verification at start-up.
//!
//! Layout: `<root>/<namespace>/<name>/<digest hex>.tar.gz` with `<digest hex>.json` (a
//! [`Record`]) beside it. The HTTP path of an artifact is its path below the root. Files are
//! written to a `.tmp-*` file in the same directory and renamed into place, the archive before its
//! record, so a reader never sees a partial archive and a record always has its archive.
//! Archives that fail re-verification move to `<root>/.quarantine/` (not servable: namespaces
//! never start with a dot).
//!
//! This module owns the files; it does not decide which artifact is current (the reconciler
//! does) and does not serve them ([`super::serve`]).

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::artifact::{self, ArtifactError, Record};

/// Directory (below the root) holding archives that failed re-verification.
pub const QUARANTINE: &str = ".quarantine";
const ARCHIVE_SUFFIX: &str = ".tar.gz";
const RECORD_SUFFIX: &str = ".json";
const TEMP_PREFIX: &str = ".tmp-";

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A namespace or name is not a Kubernetes object name, so it cannot name a directory.
    #[error("{value:?} is not a valid namespace or name")]
    InvalidName {
        /// The value given.
        value: String,
    },
    /// Packing the archive failed.
    #[error("cannot pack the artifact")]
    Pack(#[source] ArtifactError),
    /// A file operation failed.
    #[error("cannot update {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// How long and how many superseded artifacts stay servable (kustomize-controller may still be
/// downloading the previous URL). Same meaning as Flux's `--artifact-retention-ttl` and
/// `--artifact-retention-records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Most artifacts kept per object, the current one included.
    pub records: usize,
    /// Superseded artifacts older than this are removed.
    pub ttl: Duration,
}

impl Default for Retention {
    /// Flux's defaults: 2 records, 1 minute.
    fn default() -> Self {
        Retention { records: 2, ttl: Duration::from_secs(60) }
    }
}

/// One stored artifact: its record and where the archive is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The record written with the archive.
    pub record: Record,
    /// Path of the archive relative to the storage root, with `/` separators: the URL path.
    pub path: String,
}

/// What [`Storage::verify_all`] found wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The archive's sha256 or size differs from its record; both moved to quarantine.
    Mismatch {
        /// Archive path relative to the root.
        path: String,
        /// The recorded digest.
        expected: String,
        /// The digest of the bytes on disk.
        actual: String,
    },
    /// A record whose archive is missing; the record moved to quarantine.
    MissingArchive {
        /// Record path relative to the root.
        path: String,
    },
    /// An archive with no (readable) record; moved to quarantine.
    Unrecorded {
        /// Archive path relative to the root.
        path: String,
    },
    /// A leftover temporary file from an interrupted write; removed.
    Leftover {
        /// Path relative to the root.
        path: String,
    },
}

/// The outcome of [`Storage::verify_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Artifacts whose archive matches its record.
    pub verified: Vec<Stored>,
    /// Everything else, already quarantined or removed.
    pub problems: Vec<Problem>,
}

/// The storage directory.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Storage rooted at `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| StorageError::Io { path: root.clone(), source })?;
        Ok(Storage { root })
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Packs `dir` and stores it for `namespace/name` with its record. Packing the same content
    /// again yields the same file, which is replaced atomically with identical bytes.
    pub fn store(
        &self,
        namespace: &str,
        name: &str,
        dir: &Path,
        upstream_revision: &str,
        origin_revision: Option<&str>,
    ) -> Result<Stored, StorageError> {
        let object = self.object_dir(namespace, name)?;
        fs::create_dir_all(&object).map_err(|source| StorageError::Io { path: object.clone(), source })?;
        let (temp, packed) = write_temp(&object, |file| artifact::pack(dir, file).map_err(StorageError::Pack))?;
        let mut record = Record::new(&packed, upstream_revision, origin_revision);
        // Re-storing the same content for the same revision keeps the first record's time, so the
        // published artifact (and the objects that show it) do not change on re-verification.
        if let Some(earlier) = read_record(&object.join(format!("{}{RECORD_SUFFIX}", record.digest_hex())))
            && (Record { created: record.created.clone(), ..earlier.clone() }) == record
        {
            record.created = earlier.created;
        }
        let archive = object.join(format!("{}{ARCHIVE_SUFFIX}", record.digest_hex()));
        rename(&temp, &archive)?;
        let json = serde_json::to_vec_pretty(&record)
            .map_err(|e| StorageError::Io { path: archive.clone(), source: io::Error::other(e) })?;
        let (temp, ()) = write_temp(&object, |file| {
            file.write_all(&json).map_err(|source| StorageError::Io { path: object.clone(), source })
        })?;
        rename(&temp, &object.join(format!("{}{RECORD_SUFFIX}", record.digest_hex())))?;
        sync_dir(&object)?;
        Ok(Stored { path: format!("{namespace}/{name}/{}{ARCHIVE_SUFFIX}", record.digest_hex()), record })
    }

    /// The artifacts stored for `namespace/name`, newest first.
    pub fn list(&self, namespace: &str, name: &str) -> Result<Vec<Stored>, StorageError> {
        let object = self.object_dir(namespace, name)?;
        let mut stored = Vec::new();
        let entries = match fs::read_dir(&object) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(stored),
            Err(source) => return Err(StorageError::Io { path: object, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| StorageError::Io { path: object.clone(), source })?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(hex) = file.strip_suffix(RECORD_SUFFIX) else { continue };
            if file.starts_with('.') {
                continue;
            }
            if let Some(record) = read_record(&entry.path()) {
                stored.push(Stored { path: format!("{namespace}/{name}/{hex}{ARCHIVE_SUFFIX}"), record });
            }
        }
        stored.sort_by(|a, b| created(&b.record).cmp(&created(&a.record)).then(b.path.cmp(&a.path)));
        Ok(stored)
    }

    /// Removes superseded artifacts of `namespace/name` per `retention`, never the one whose
    /// digest is `current`. Returns the archive paths removed.
    pub fn collect_garbage(
        &self,
        namespace: &str,
        name: &str,
        current: &str,
        retention: Retention,
        now: jiff::Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let ttl = jiff::SignedDuration::try_from(retention.ttl).unwrap_or(jiff::SignedDuration::MAX);
        let mut kept = usize::from(self.list(namespace, name)?.iter().any(|s| s.record.digest == current));
        let mut removed = Vec::new();
        for stored in self.list(namespace, name)? {
            if stored.record.digest == current {
                continue;
            }
            let expired = created(&stored.record).is_none_or(|at| now.duration_since(at) > ttl);
            if expired || kept >= retention.records {
                self.remove(&stored)?;
                removed.push(stored.path);
            } else {
                kept += 1;
            }
        }
        Ok(removed)
    }

    /// Re-hashes every stored archive against its record (run at start-up: the volume may be a
    /// PVC that outlived the process, or an emptyDir someone wrote to). Mismatched, unrecorded
    /// and orphaned files move to quarantine; temporary leftovers are removed.
    pub fn verify_all(&self) -> Result<Verification, StorageError> {
        let mut outcome = Verification::default();
        for namespace in subdirs(&self.root)? {
            for name in subdirs(&self.root.join(&namespace))? {
                self.verify_object(&namespace, &name, &mut outcome)?;
            }
        }
        outcome.verified.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(outcome)
    }

    fn verify_object(&self, namespace: &str, name: &str, outcome: &mut Verification) -> Result<(), StorageError> {
        let object = self.root.join(namespace).join(name);
        let io_error = |source| StorageError::Io { path: object.clone(), source };
        let mut files: Vec<String> = Vec::new();
        for entry in fs::read_dir(&object).map_err(io_error)? {
            files.push(entry.map_err(io_error)?.file_name().to_string_lossy().into_owned());
        }
        files.sort();
        let relative = |file: &str| format!("{namespace}/{name}/{file}");
        for file in &files {
            let path = object.join(file);
            if file.starts_with(TEMP_PREFIX) {
                remove_file(&path)?;
                outcome.problems.push(Problem::Leftover { path: relative(file) });
            } else if let Some(hex) = file.strip_suffix(ARCHIVE_SUFFIX) {
                let record_path = object.join(format!("{hex}{RECORD_SUFFIX}"));
                let Some(record) = read_record(&record_path).filter(|r| r.digest_hex() == hex) else {
                    self.quarantine(&path)?;
                    outcome.problems.push(Problem::Unrecorded { path: relative(file) });
                    continue;
                };
                let (actual, size) = hash_file(&path)?;
                if actual == record.digest && size == record.size {
                    outcome.verified.push(Stored { path: relative(file), record });
                } else {
                    self.quarantine(&path)?;
                    self.quarantine(&record_path)?;
                    outcome.problems.push(Problem::Mismatch { path: relative(file), expected: record.digest, actual });
                }
            } else if let Some(hex) = file.strip_suffix(RECORD_SUFFIX)
                && !object.join(format!("{hex}{ARCHIVE_SUFFIX}")).exists()
            {
                self.quarantine(&path)?;
                outcome.problems.push(Problem::MissingArchive { path: relative(file) });
            }
        }
        Ok(())
    }

    fn object_dir(&self, namespace: &str, name: &str) -> Result<PathBuf, StorageError> {
        for value in [namespace, name] {
            if !is_object_name(value) {
                return Err(StorageError::InvalidName { value: value.to_owned() });
            }
        }
        Ok(self.root.join(namespace).join(name))
    }

    /// Every `(namespace, name)` with a directory in the storage, sorted.
    pub fn objects(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut objects = Vec::new();
        for namespace in subdirs(&self.root)? {
            for name in subdirs(&self.root.join(&namespace))? {
                objects.push((namespace.clone(), name));
            }
        }
        Ok(objects)
    }

    /// Removes every artifact of `namespace/name` whose record is older than `ttl` at `now`, and
    /// the directory once it is empty: for outputs no VerifiedSource publishes any more (deleted,
    /// or renamed with `artifactName`). Returns the archive paths removed.
    pub fn collect_abandoned(
        &self,
        namespace: &str,
        name: &str,
        ttl: Duration,
        now: jiff::Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let ttl = jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::MAX);
        let mut removed = Vec::new();
        let stored = self.list(namespace, name)?;
        let mut kept = 0;
        for artifact in stored {
            if created(&artifact.record).is_none_or(|at| now.duration_since(at) > ttl) {
                self.remove(&artifact)?;
                removed.push(artifact.path);
            } else {
                kept += 1;
            }
        }
        if kept == 0 {
            // Only succeeds when empty (a write racing in keeps it); nothing else to do otherwise.
            let _ = fs::remove_dir(self.object_dir(namespace, name)?);
        }
        Ok(removed)
    }

    fn remove(&self, stored: &Stored) -> Result<(), StorageError> {
        let archive = self.root.join(&stored.path);
        let record = archive.with_file_name(format!("{}{RECORD_SUFFIX}", stored.record.digest_hex()));
        // The record goes first: an archive without a record is quarantined at the next start-up,
        // a record without its archive would be listed as servable.
        remove_file(&record)?;
        remove_file(&archive)
    }

    fn quarantine(&self, path: &Path) -> Result<(), StorageError> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let target = self.root.join(QUARANTINE).join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| StorageError::Io { path: parent.to_owned(), source })?;
        }
        rename(path, &target)
    }
}

/// Whether `value` can be a namespace or object name: a DNS subdomain (lowercase alphanumerics,
/// `-` and `.`, alphanumeric at both ends, at most 253 bytes). Rules out `/`, `..` and dot files.
#[must_use]
pub fn is_object_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !value.contains("..")
}

/// Whether `file` is an archive name this storage writes: 64 lowercase hex digits + `.tar.gz`.
#[must_use]
pub fn is_archive_name(file: &str) -> bool {
    file.strip_suffix(ARCHIVE_SUFFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn created(record: &Record) -> Option<jiff::Timestamp> {
    record.created.parse().ok()
}

fn read_record(path: &Path) -> Option<Record> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// `sha256:<hex>` and size of a file.
fn hash_file(path: &Path) -> Result<(String, u64), StorageError> {
    let io_error = |source| StorageError::Io { path: path.to_owned(), source };
    let mut file = fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((format!("sha256:{}", hex::encode(hasher.finalize())), size))
}

/// Directory names below `dir` that can be object names (skips the quarantine and stray files).
fn subdirs(dir: &Path) -> Result<Vec<String>, StorageError> {
    let io_error = |source| StorageError::Io { path: dir.to_owned(), source };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_object_name(&name) && entry.file_type().map_err(io_error)?.is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Writes through `write` into a new temporary file in `dir` (removed again on failure), synced;
/// the caller renames it into place.
fn write_temp<T>(
    dir: &Path,
    write: impl FnOnce(&mut fs::File) -> Result<T, StorageError>,
) -> Result<(PathBuf, T), StorageError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join(format!("{TEMP_PREFIX}{}-{:016x}", std::process::id(), rand::random::<u64>()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| StorageError::Io { path: path.clone(), source })?;
    let filled = write(&mut file).and_then(|value| {
        file.sync_all().map(|()| value).map_err(|source| StorageError::Io { path: path.clone(), source })
    });
    if filled.is_err() {
        let _ = fs::remove_file(&path);
    }
    filled.map(|value| (path, value))
}

fn rename(from: &Path, to: &Path) -> Result<(), StorageError> {
    fs::rename(from, to).map_err(|source| StorageError::Io { path: to.to_owned(), source })
}

fn remove_file(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StorageError::Io { path: path.to_owned(), source: e }),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StorageError::Io { path: dir.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("manifests.yaml"), content).unwrap();
        dir
    }

    /// Stores `content` with its record's creation time set to `age` before `now`.
    fn store_aged(storage: &Storage, content: &str, now: jiff::Timestamp, age_secs: i64) -> Stored {
        let stored = storage.store("flux-system", "api", app(content).path(), "main@sha1:abc", Some("abc")).unwrap();
        let mut record = stored.record.clone();
        record.created = (now - jiff::SignedDuration::from_secs(age_secs)).to_string();
        let path = storage.root().join("flux-system/api").join(format!("{}.json", record.digest_hex()));
        fs::write(path, serde_json::to_vec(&record).unwrap()).unwrap();
        Stored { record, path: stored.path }
    }

    #[test]
    fn store_writes_archive_and_record_under_namespace_and_name() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        let stored =
            storage.store("flux-system", "api", app("kind: A\n").path(), "main@sha1:abc", Some("abc")).unwrap();
        let hex = stored.record.digest_hex().to_owned();
        assert_eq!(stored.path, format!("flux-system/api/{hex}.tar.gz"));
        let bytes = fs::read(root.path().join(&stored.path)).unwrap();
        assert_eq!(stored.record.digest, format!("sha256:{}", hex::encode(Sha256::digest(&bytes))));
        assert_eq!(stored.record.size, bytes.len() as u64);
        assert_eq!(stored.record.revision, format!("main@sha1:abc@{}", stored.record.digest));
        assert_eq!(storage.list("flux-system", "api").unwrap(), [stored]);
        let leftovers: Vec<_> = fs::read_dir(root.path().join("flux-system/api"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn storing_the_same_content_again_keeps_the_first_record() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        let now = jiff::Timestamp::now();
        let first = store_aged(&storage, "kind: A\n", now, 3600);
        let again = storage.store("flux-system", "api", app("kind: A\n").path(), "main@sha1:abc", Some("abc")).unwrap();
        assert_eq!(again, first);
        let other = storage.store("flux-system", "api", app("kind: A\n").path(), "main@sha1:def", Some("def")).unwrap();
        assert_ne!(other.record.created, first.record.created, "a new revision is a new record");
    }

    #[test]
    fn abandoned_outputs_are_removed_after_the_ttl() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        let now = jiff::Timestamp::now();
        store_aged(&storage, "kind: A\n", now, 3600);
        let fresh = storage.store("flux-system", "other", app("kind: B\n").path(), "r", None).unwrap();
        assert_eq!(
            storage.objects().unwrap(),
            [("flux-system".to_owned(), "api".to_owned()), ("flux-system".to_owned(), "other".to_owned())]
        );
        let ttl = Duration::from_secs(60);
        assert_eq!(storage.collect_abandoned("flux-system", "api", ttl, now).unwrap().len(), 1);
        assert!(!root.path().join("flux-system/api").exists(), "the empty directory goes too");
        assert!(
            storage.collect_abandoned("flux-system", "other", ttl, now).unwrap().is_empty(),
            "younger than the TTL"
        );
        assert_eq!(storage.list("flux-system", "other").unwrap(), [fresh]);
    }

    #[test]
    fn names_that_could_escape_the_root_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        for (namespace, name) in [("..", "api"), ("ns", "../x"), ("ns", "a/b"), (".quarantine", "api"), ("", "api")] {
            assert!(
                matches!(
                    storage.store(namespace, name, app("x").path(), "r", None),
                    Err(StorageError::InvalidName { .. })
                ),
                "{namespace}/{name}"
            );
        }
    }

    #[test]
    fn retention_keeps_current_and_newest_within_ttl_and_count() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        let now = jiff::Timestamp::now();
        let oldest = store_aged(&storage, "1", now, 300);
        let old = store_aged(&storage, "2", now, 30);
        let previous = store_aged(&storage, "3", now, 20);
        let current = store_aged(&storage, "4", now, 10);
        let retention = Retention { records: 2, ttl: Duration::from_secs(60) };
        let mut removed =
            storage.collect_garbage("flux-system", "api", &current.record.digest, retention, now).unwrap();
        removed.sort();
        let mut want = vec![oldest.path.clone(), old.path.clone()];
        want.sort();
        assert_eq!(removed, want);
        let left: Vec<_> = storage.list("flux-system", "api").unwrap().into_iter().map(|s| s.path).collect();
        assert_eq!(left, [current.path.clone(), previous.path.clone()]);
        assert!(!root.path().join(&oldest.path).exists());

        // Past the TTL only the current one stays, however old it is.
        let later = now + jiff::SignedDuration::from_secs(3600);
        let removed = storage.collect_garbage("flux-system", "api", &current.record.digest, retention, later).unwrap();
        assert_eq!(removed, [previous.path]);
        assert_eq!(storage.list("flux-system", "api").unwrap(), [current]);
    }

    #[test]
    fn verify_all_quarantines_tampered_and_orphaned_files() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path()).unwrap();
        let good = storage.store("flux-system", "api", app("good").path(), "r1", None).unwrap();
        let bad = storage.store("flux-system", "web", app("bad").path(), "r2", None).unwrap();
        let mut tampered = fs::read(root.path().join(&bad.path)).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 0xff;
        fs::write(root.path().join(&bad.path), &tampered).unwrap();
        let orphan = format!("flux-system/api/{}.tar.gz", "0".repeat(64));
        fs::write(root.path().join(&orphan), b"not recorded").unwrap();
        fs::write(root.path().join("flux-system/api/.tmp-123"), b"partial").unwrap();

        let outcome = storage.verify_all().unwrap();
        assert_eq!(outcome.verified, [good]);
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(&tampered)));
        assert_eq!(
            outcome.problems,
            [
                Problem::Leftover { path: "flux-system/api/.tmp-123".to_owned() },
                Problem::Unrecorded { path: orphan.clone() },
                Problem::Mismatch { path: bad.path.clone(), expected: bad.record.digest.clone(), actual },
            ]
        );
        assert!(!root.path().join(&bad.path).exists());
        assert!(root.path().join(QUARANTINE).join(&bad.path).exists());
        assert!(root.path().join(QUARANTINE).join(&orphan).exists());
        assert!(storage.list("flux-system", "web").unwrap().is_empty());
        // A second pass finds nothing left to fix.
        assert!(storage.verify_all().unwrap().problems.is_empty());
    }

    #[test]
    fn archive_names_are_hex_digests_only() {
        assert!(is_archive_name(&format!("{}.tar.gz", "a".repeat(64))));
        for bad in
            ["x.tar.gz", "../etc.tar.gz", &format!("{}.json", "a".repeat(64)), &format!("{}.tar.gz", "A".repeat(64))]
        {
            assert!(!is_archive_name(bad), "{bad}");
        }
    }
}
