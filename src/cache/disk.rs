//! The on-disk tier: one file per key in a private directory per namespace, so answers survive the
//! process (Argo CD starts a new one per `generate`).
//!
//! Owns file names, permissions (0700 directories, 0600 files) and atomic replacement: an entry is
//! written to a temporary file in the same directory and renamed over the old one, so concurrent
//! processes only ever see whole entries. It never interprets what it stores (see `entry`).

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

use super::entry::hex;

/// Suffix of an entry file.
const ENTRY_SUFFIX: &str = ".json";

/// Suffix of a temporary file being written.
const TEMP_SUFFIX: &str = ".tmp";

/// Entries are a few hundred bytes; anything larger than this is not one of ours.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Temporary files older than this are leftovers of a process that died mid-write.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// One entry file as listed: its key hash (the file stem) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The file stem, the hex hash part of the cache key.
    pub(crate) name: String,
    /// Size in bytes.
    pub(crate) bytes: u64,
}

/// The directory of one namespace's entries.
#[derive(Debug)]
pub(crate) struct DiskTier {
    dir: PathBuf,
}

impl DiskTier {
    /// Opens (creating it if needed, mode 0700) the directory for `namespace` under `root`.
    pub(crate) fn open(root: &Path, namespace: &str) -> io::Result<Self> {
        let dir = root.join(namespace_dir(namespace));
        create_private_dir(&dir)?;
        Ok(Self { dir })
    }

    /// A tier in the subdirectory `name` of this one. Nothing is created until the first write.
    pub(crate) fn child(&self, name: &str) -> Self {
        Self { dir: self.dir.join(name) }
    }

    /// The directory holding the entries.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{ENTRY_SUFFIX}"))
    }

    /// The bytes stored under `name`, or `None` if there is no such entry.
    pub(crate) fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let file = match fs::File::open(self.path(name)) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut bytes = Vec::new();
        file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "larger than any cache entry"));
        }
        Ok(Some(bytes))
    }

    /// Atomically replaces the entry `name` with `bytes` (temporary file in the same directory, then
    /// rename). Creates the directory (0700) if it is missing.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let temp = self.dir.join(format!(".{name}.{}.{:016x}{TEMP_SUFFIX}", std::process::id(), rand::random::<u64>()));
        let created = match write_private_new(&temp, bytes) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                create_private_dir(&self.dir).and_then(|()| write_private_new(&temp, bytes))
            }
            other => other,
        };
        let result = created.and_then(|()| fs::rename(&temp, self.path(name)));
        if result.is_err() {
            // Best effort: the temporary file may not even exist.
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Every entry file, with its size.
    pub(crate) fn list(&self) -> io::Result<Vec<Listed>> {
        let mut listed = Vec::new();
        for item in read_dir_or_empty(&self.dir)? {
            let item = item?;
            let file_name = item.file_name();
            let Some(name) = file_name.to_str().and_then(|name| name.strip_suffix(ENTRY_SUFFIX)) else { continue };
            if name.starts_with('.') {
                continue;
            }
            let metadata = match item.metadata() {
                Ok(metadata) => metadata,
                // Removed by another process between listing and looking.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if metadata.is_file() {
                listed.push(Listed { name: name.to_owned(), bytes: metadata.len() });
            }
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// Removes every entry and every stale temporary file; returns how many entries were removed.
    pub(crate) fn clear(&self) -> io::Result<usize> {
        let mut removed = 0;
        for item in read_dir_or_empty(&self.dir)? {
            let item = item?;
            let file_name = item.file_name();
            let Some(name) = file_name.to_str() else { continue };
            let entry = name.ends_with(ENTRY_SUFFIX) && !name.starts_with('.');
            let stale_temp = name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && is_stale(&item);
            if !entry && !stale_temp {
                continue;
            }
            match fs::remove_file(item.path()) {
                Ok(()) => removed += usize::from(entry),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(removed)
    }
}

/// The directory name for a namespace: the namespace with anything but `[A-Za-z0-9._-]` replaced by
/// `_`, plus a short hash of the exact namespace so two namespaces never share a directory.
pub(crate) fn namespace_dir(namespace: &str) -> String {
    let readable: String = namespace
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let hash = hex(&Sha256::digest(namespace.as_bytes()));
    format!("{readable}-{}", hash.get(..8).unwrap_or_default())
}

fn read_dir_or_empty(dir: &Path) -> io::Result<impl Iterator<Item = io::Result<fs::DirEntry>>> {
    let items = match fs::read_dir(dir) {
        Ok(items) => Some(items),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    Ok(items.into_iter().flatten())
}

fn is_stale(item: &fs::DirEntry) -> bool {
    item.metadata()
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STALE_TEMP_AGE)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    // The directory may predate this process with looser permissions; it is ours, so tighten them.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Creates `path` (which must not exist) readable by its owner only, and writes `bytes` to it.
fn write_private_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips() {
        let root = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(root.path(), "syncgate:v1").unwrap();
        assert_eq!(tier.read("abc").unwrap(), None);
        tier.write("abc", b"one").unwrap();
        tier.write("abc", b"two").unwrap();
        assert_eq!(tier.read("abc").unwrap(), Some(b"two".to_vec()));
        assert_eq!(tier.list().unwrap(), vec![Listed { name: "abc".to_owned(), bytes: 3 }]);
        let names: Vec<_> = fs::read_dir(tier.dir()).unwrap().map(|item| item.unwrap().file_name()).collect();
        assert_eq!(names, vec!["abc.json"], "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("cache");
        let tier = DiskTier::open(&base, "ns").unwrap();
        tier.write("abc", b"x").unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&base), 0o700);
        assert_eq!(mode(tier.dir()), 0o700);
        assert_eq!(mode(&tier.dir().join("abc.json")), 0o600);
    }

    #[test]
    fn oversized_file_is_an_error_not_an_entry() {
        let root = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(root.path(), "ns").unwrap();
        fs::write(tier.dir().join("big.json"), vec![b' '; 70 * 1024]).unwrap();
        assert_eq!(tier.read("big").unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn clear_removes_only_this_namespace() {
        let root = tempfile::tempdir().unwrap();
        let ours = DiskTier::open(root.path(), "a:b").unwrap();
        let theirs = DiskTier::open(root.path(), "a_b").unwrap();
        assert_ne!(ours.dir(), theirs.dir());
        ours.write("1", b"x").unwrap();
        ours.write("2", b"x").unwrap();
        theirs.write("1", b"x").unwrap();
        fs::write(ours.dir().join(".1.7.0000000000000000.tmp"), b"in flight").unwrap();
        assert_eq!(ours.clear().unwrap(), 2);
        assert!(ours.list().unwrap().is_empty());
        assert!(ours.dir().join(".1.7.0000000000000000.tmp").exists(), "a fresh temporary file may be in use");
        assert_eq!(theirs.list().unwrap().len(), 1);
    }

    #[test]
    fn child_directory_is_created_on_first_write_and_kept_apart() {
        let root = tempfile::tempdir().unwrap();
        let parent = DiskTier::open(root.path(), "ns").unwrap();
        let child = parent.child("evidence");
        assert!(!child.dir().exists(), "nothing is created before a write");
        assert_eq!(child.read("abc").unwrap(), None);
        assert!(child.list().unwrap().is_empty());
        assert_eq!(child.clear().unwrap(), 0);
        child.write("abc", b"x").unwrap();
        parent.write("abc", b"y").unwrap();
        assert_eq!(child.read("abc").unwrap(), Some(b"x".to_vec()));
        assert_eq!(parent.list().unwrap().len(), 1, "the child directory is not an entry of its parent");
        assert_eq!(parent.clear().unwrap(), 1);
        assert_eq!(child.read("abc").unwrap(), Some(b"x".to_vec()));
    }

    #[test]
    fn namespace_dir_is_readable_and_unique() {
        assert!(namespace_dir("syncgate:v1").starts_with("syncgate_v1-"));
        assert_ne!(namespace_dir("a:b"), namespace_dir("a_b"));
        assert!(!namespace_dir("../../etc").contains('/'));
    }
}
