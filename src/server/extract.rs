//! Safe extraction of the `.tar.gz` Argo CD's repo-server streams to a Config Management Plugin.
//!
//! The archive comes from another container and is treated as hostile: only regular files,
//! directories and symlinks are accepted (Argo CD's sender writes nothing else); absolute paths,
//! `..` components, writes through symlinks and symlinks that resolve outside the destination are
//! refused; hard links, devices and FIFOs refuse the whole archive; the uncompressed stream, the
//! number of entries and each file are bounded, so a decompression bomb stops at the limit. Modes
//! are reset to 0755 (directories) and 0644 (files), as Argo CD does without `preserveFileMode`.
//!
//! Blocking I/O: run it on a blocking thread.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Bounds on what one archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Most uncompressed bytes read from the gzip stream (tar headers and padding included).
    pub max_uncompressed_bytes: u64,
    /// Most entries (files, directories, symlinks).
    pub max_entries: usize,
    /// Largest single file.
    pub max_file_bytes: u64,
}

impl Default for ExtractLimits {
    /// 512 MiB uncompressed, 50 000 entries, 64 MiB per file.
    fn default() -> Self {
        ExtractLimits { max_uncompressed_bytes: 512 << 20, max_entries: 50_000, max_file_bytes: 64 << 20 }
    }
}

/// What was extracted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Regular files written.
    pub files: usize,
    /// Directories created.
    pub directories: usize,
    /// Symlinks created.
    pub symlinks: usize,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Why an archive was refused. Every variant names the entry where one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The gzip or tar framing is broken.
    #[error("invalid archive: {0}")]
    Corrupt(String),
    /// An entry's path is absolute or climbs out with `..`.
    #[error("archive entry {path:?} points outside the application directory")]
    Traversal {
        /// The path as written in the archive.
        path: String,
    },
    /// A symlink resolves outside the destination.
    #[error("archive symlink {path:?} -> {target:?} resolves outside the application directory")]
    SymlinkEscape {
        /// The link.
        path: String,
        /// Its target as written.
        target: String,
    },
    /// An entry would be written through a symlink, or over an existing entry.
    #[error("archive entry {path:?} {reason}")]
    Conflict {
        /// The path as written in the archive.
        path: String,
        /// What is in the way.
        reason: &'static str,
    },
    /// A hard link, device, FIFO or other special entry.
    #[error("archive entry {path:?} is a {kind}; only regular files, directories and symlinks are accepted")]
    Unsupported {
        /// The path as written in the archive.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A limit was reached.
    #[error("archive exceeds the limit of {limit} {what}")]
    Limit {
        /// `uncompressed bytes`, `entries` or `bytes per file`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The caller gave up (the request's deadline passed or it was cancelled).
    #[error("extraction cancelled")]
    Cancelled,
    /// Writing to the destination failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The destination path.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Counts what the tar reader pulls out of the decompressor and fails past the limit.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
}

/// Marks the I/O error [`Bounded`] raises, so it maps back to [`ExtractError::Limit`].
#[derive(Debug)]
struct LimitReached;

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("uncompressed size limit reached")
    }
}

impl std::error::Error for LimitReached {}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read >= self.limit {
            // One byte past the limit proves the stream is longer; a stream of exactly `limit`
            // bytes still reads to its end.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LimitReached)),
            };
        }
        let room = usize::try_from(self.limit - self.read).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        Ok(n)
    }
}

fn is_limit(error: &io::Error) -> bool {
    error.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<LimitReached>)
}

/// Unpacks the gzip-compressed tar `archive` into `dest` (an existing, empty directory), checking
/// `cancel` between entries.
pub fn extract(
    archive: impl Read,
    dest: &Path,
    limits: &ExtractLimits,
    cancel: &AtomicBool,
) -> Result<Extracted, ExtractError> {
    let root = fs::canonicalize(dest).map_err(|source| write_error(dest, source))?;
    let gzip = flate2::read::MultiGzDecoder::new(archive);
    let bounded = Bounded { inner: gzip, read: 0, limit: limits.max_uncompressed_bytes };
    let mut tar = tar::Archive::new(bounded);
    let mut unpacker = Unpacker { root, limits, done: Extracted::default(), links: Vec::new() };
    let mut entries = 0usize;
    for entry in tar.entries().map_err(|e| unpacker.corrupt(&e))? {
        if cancel.load(Ordering::Relaxed) {
            return Err(ExtractError::Cancelled);
        }
        let entry = entry.map_err(|e| unpacker.corrupt(&e))?;
        if matches!(entry.header().entry_type(), tar::EntryType::XGlobalHeader) {
            continue;
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(ExtractError::Limit { what: "entries", limit: limits.max_entries as u64 });
        }
        unpacker.entry(entry)?;
    }
    // Checked again once the tree is complete: a later entry can change what a link resolves to.
    for (relative, shown, link) in &unpacker.links {
        if !resolves_inside(&unpacker.root, relative) {
            return Err(ExtractError::SymlinkEscape { path: shown.clone(), target: link.display().to_string() });
        }
    }
    Ok(unpacker.done)
}

/// The state of one extraction.
struct Unpacker<'a> {
    /// The canonical destination.
    root: PathBuf,
    limits: &'a ExtractLimits,
    done: Extracted,
    /// Symlinks created: relative path, path as written, target.
    links: Vec<(PathBuf, String, PathBuf)>,
}

impl Unpacker<'_> {
    /// An I/O error of the archive stream: the uncompressed limit, or broken framing.
    fn corrupt(&self, error: &io::Error) -> ExtractError {
        if is_limit(error) {
            ExtractError::Limit { what: "uncompressed bytes", limit: self.limits.max_uncompressed_bytes }
        } else {
            ExtractError::Corrupt(error.to_string())
        }
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), ExtractError> {
        let raw = entry.path().map_err(|e| self.corrupt(&e))?.into_owned();
        let shown = raw.display().to_string();
        let Some(relative) = relative_path(&raw) else {
            return Err(ExtractError::Traversal { path: shown });
        };
        if relative.as_os_str().is_empty() {
            // `./` itself: the destination exists already.
            return Ok(());
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => self.directory(&relative, shown),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // Refused on the declared size before anything is written.
                if entry.header().size().map_err(|e| self.corrupt(&e))? > self.limits.max_file_bytes {
                    return Err(ExtractError::Limit { what: "bytes per file", limit: self.limits.max_file_bytes });
                }
                self.file(&mut entry, &relative, shown)
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(|e| self.corrupt(&e))?
                    .ok_or_else(|| ExtractError::Corrupt(format!("symlink {shown:?} has no target")))?
                    .into_owned();
                self.symlink(relative, shown, link)
            }
            other => Err(ExtractError::Unsupported { path: shown, kind: kind_name(other) }),
        }
    }

    fn directory(&mut self, relative: &Path, shown: String) -> Result<(), ExtractError> {
        ensure_parents(&self.root, relative, &shown)?;
        let target = self.root.join(relative);
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(ExtractError::Conflict { path: shown, reason: "is already a file or symlink" }),
            Err(_) => {
                fs::DirBuilder::new().mode(0o755).create(&target).map_err(|e| write_error(&target, e))?;
                self.done.directories += 1;
                Ok(())
            }
        }
    }

    fn file(&mut self, content: &mut impl Read, relative: &Path, shown: String) -> Result<(), ExtractError> {
        let max = self.limits.max_file_bytes;
        ensure_parents(&self.root, relative, &shown)?;
        let target = self.root.join(relative);
        // create_new never follows a symlink and never overwrites.
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&target).map_err(|e| {
            match e.kind() {
                io::ErrorKind::AlreadyExists => {
                    ExtractError::Conflict { path: shown, reason: "appears twice in the archive" }
                }
                _ => write_error(&target, e),
            }
        })?;
        let written = io::copy(&mut content.take(max + 1), &mut file)
            .map_err(|e| if is_limit(&e) { self.corrupt(&e) } else { write_error(&target, e) })?;
        if written > max {
            return Err(ExtractError::Limit { what: "bytes per file", limit: max });
        }
        self.done.files += 1;
        self.done.bytes += written;
        Ok(())
    }

    fn symlink(&mut self, relative: PathBuf, shown: String, link: PathBuf) -> Result<(), ExtractError> {
        if link.is_absolute() || link.as_os_str().is_empty() {
            return Err(ExtractError::SymlinkEscape { path: shown, target: link.display().to_string() });
        }
        ensure_parents(&self.root, &relative, &shown)?;
        let target = self.root.join(&relative);
        std::os::unix::fs::symlink(&link, &target).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                ExtractError::Conflict { path: shown.clone(), reason: "appears twice in the archive" }
            }
            _ => write_error(&target, e),
        })?;
        if !resolves_inside(&self.root, &relative) {
            return Err(ExtractError::SymlinkEscape { path: shown, target: link.display().to_string() });
        }
        self.links.push((relative, shown, link));
        self.done.symlinks += 1;
        Ok(())
    }
}

fn write_error(path: &Path, source: io::Error) -> ExtractError {
    ExtractError::Write { path: path.display().to_string(), source }
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

/// The archive path as a plain relative path: `.` components dropped; `None` when it is absolute
/// or has a `..` component.
pub(crate) fn relative_path(raw: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Creates the missing parent directories of `relative` below `root`, refusing to pass through a
/// symlink or a file (which would write outside what the archive describes).
fn ensure_parents(root: &Path, relative: &Path, shown: &str) -> Result<(), ExtractError> {
    let Some(parent) = relative.parent() else { return Ok(()) };
    let mut at = root.to_path_buf();
    for part in parent.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ExtractError::Conflict { path: shown.to_owned(), reason: "lies below a symlink" });
            }
            Ok(_) => return Err(ExtractError::Conflict { path: shown.to_owned(), reason: "lies below a file" }),
            Err(_) => fs::DirBuilder::new().mode(0o755).create(&at).map_err(|e| write_error(&at, e))?,
        }
    }
    Ok(())
}

/// Whether the symlink at `relative` (below the canonical `root`) resolves inside `root`,
/// following every symlink on the way as the kernel would; components that do not exist are taken
/// as written. At most 40 links are followed (Linux's own limit).
pub(crate) fn resolves_inside(root: &Path, relative: &Path) -> bool {
    const MAX_HOPS: usize = 40;
    // Position below the root: real directories (or names that do not exist) only.
    let mut position: Vec<OsString> = Vec::new();
    // Components still to walk: the link's own path, with link targets spliced in as they are met.
    let mut queue: VecDeque<OsString> = relative.components().map(|c| c.as_os_str().to_owned()).collect();
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        match Path::new(&part).components().next() {
            None | Some(Component::CurDir) => {}
            Some(Component::ParentDir) => {
                if position.pop().is_none() {
                    return false;
                }
            }
            Some(Component::RootDir | Component::Prefix(_)) => return false,
            Some(Component::Normal(name)) => {
                position.push(name.to_owned());
                let here: PathBuf =
                    std::iter::once(root.as_os_str().to_owned()).chain(position.iter().cloned()).collect();
                let Ok(meta) = fs::symlink_metadata(&here) else { continue };
                if !meta.file_type().is_symlink() {
                    continue;
                }
                hops += 1;
                if hops > MAX_HOPS {
                    return false;
                }
                let Ok(target) = fs::read_link(&here) else { return false };
                if target.is_absolute() {
                    return false;
                }
                position.pop();
                for component in target.components().rev() {
                    queue.push_front(component.as_os_str().to_owned());
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// Builds a .tar.gz from raw headers, so tests can write what `tar::Builder` refuses.
    struct Archive {
        builder: tar::Builder<Vec<u8>>,
    }

    impl Archive {
        fn new() -> Self {
            Archive { builder: tar::Builder::new(Vec::new()) }
        }

        fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
            let mut header = tar::Header::new_gnu();
            // set_path refuses `..` and absolute paths; write the name bytes directly.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_entry_type(kind);
            header.set_size(size);
            header.set_mode(0o777);
            header.set_cksum();
            header
        }

        fn file(mut self, path: &str, content: &[u8]) -> Self {
            let header = Self::header(path, tar::EntryType::Regular, content.len() as u64);
            self.builder.append(&header, content).unwrap();
            self
        }

        fn dir(mut self, path: &str) -> Self {
            let header = Self::header(path, tar::EntryType::Directory, 0);
            self.builder.append(&header, io::empty()).unwrap();
            self
        }

        fn special(mut self, path: &str, kind: tar::EntryType, link: &str) -> Self {
            let mut header = Self::header(path, kind, 0);
            header.set_link_name(link).unwrap();
            header.set_cksum();
            self.builder.append(&header, io::empty()).unwrap();
            self
        }

        fn symlink(self, path: &str, target: &str) -> Self {
            self.special(path, tar::EntryType::Symlink, target)
        }

        fn gzip(self) -> Vec<u8> {
            let tar = self.builder.into_inner().unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&tar).unwrap();
            gz.finish().unwrap()
        }
    }

    fn unpack(archive: &[u8], limits: &ExtractLimits) -> (tempfile::TempDir, Result<Extracted, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("repo");
        fs::create_dir(&dest).unwrap();
        let result = extract(archive, &dest, limits, &AtomicBool::new(false));
        (dir, result)
    }

    #[test]
    fn files_directories_and_inner_symlinks_are_extracted_with_reset_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let archive = Archive::new()
            .dir("./")
            .dir("app/")
            .file("app/deploy.yaml", b"kind: x\n")
            .file("./base/svc.yaml", b"kind: y\n")
            .symlink("app/base", "../base")
            .gzip();
        let (dir, result) = unpack(&archive, &ExtractLimits::default());
        let done = result.unwrap();
        assert_eq!(done, Extracted { files: 2, directories: 1, symlinks: 1, bytes: 16 });
        let repo = dir.path().join("repo");
        assert_eq!(fs::read_to_string(repo.join("app/base/svc.yaml")).unwrap(), "kind: y\n");
        assert_eq!(fs::metadata(repo.join("app/deploy.yaml")).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(fs::metadata(repo.join("app")).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(fs::metadata(repo.join("base")).unwrap().permissions().mode() & 0o777, 0o755);
    }

    #[test]
    fn parent_traversal_is_refused() {
        let archive = Archive::new().file("../x", b"evil").gzip();
        let (dir, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::Traversal { .. })), "{result:?}");
        assert!(!dir.path().join("x").exists());
        let archive = Archive::new().file("app/../../x", b"evil").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::Traversal { .. })), "{result:?}");
    }

    #[test]
    fn absolute_paths_are_refused() {
        let archive = Archive::new().file("/tmp/syncgate-absolute-test", b"evil").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        let error = result.unwrap_err();
        assert!(matches!(error, ExtractError::Traversal { .. }), "{error:?}");
        assert!(error.to_string().contains("points outside the application directory"), "{error}");
        assert!(!Path::new("/tmp/syncgate-absolute-test").exists());
    }

    #[test]
    fn a_symlink_to_an_absolute_path_is_refused() {
        let archive = Archive::new().symlink("link", "/etc").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::SymlinkEscape { .. })), "{result:?}");
    }

    #[test]
    fn a_symlink_climbing_out_is_refused() {
        let archive = Archive::new().dir("a/").symlink("a/b", "../../..").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        let error = result.unwrap_err();
        assert!(matches!(error, ExtractError::SymlinkEscape { .. }), "{error:?}");
        assert!(error.to_string().contains("\"a/b\" -> \"../../..\""), "{error}");
    }

    #[test]
    fn a_symlink_escaping_through_another_symlink_is_refused() {
        // Each link alone stays inside when read as text; together `x` is the parent of the root.
        let archive = Archive::new().symlink("x", "y/..").symlink("y", ".").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::SymlinkEscape { .. })), "{result:?}");
    }

    #[test]
    fn writing_through_a_symlink_is_refused() {
        let archive = Archive::new().dir("inside/").symlink("link", "inside").file("link/x", b"x").gzip();
        let (_, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::Conflict { reason: "lies below a symlink", .. })), "{result:?}");
    }

    #[test]
    fn a_file_over_an_existing_symlink_is_refused() {
        let archive = Archive::new().file("target", b"t").symlink("a", "target").file("a", b"x").gzip();
        let (dir, result) = unpack(&archive, &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::Conflict { .. })), "{result:?}");
        assert_eq!(fs::read_to_string(dir.path().join("repo/target")).unwrap(), "t");
    }

    #[test]
    fn hard_links_devices_and_fifos_refuse_the_archive() {
        for (kind, name) in [
            (tar::EntryType::Link, "hard link"),
            (tar::EntryType::Char, "character device"),
            (tar::EntryType::Block, "block device"),
            (tar::EntryType::Fifo, "FIFO"),
        ] {
            let archive = Archive::new().file("a", b"a").special("b", kind, "a").gzip();
            let (_, result) = unpack(&archive, &ExtractLimits::default());
            let error = result.unwrap_err().to_string();
            assert!(error.contains(&format!("\"b\" is a {name}")), "{error}");
        }
    }

    #[test]
    fn entry_count_is_limited() {
        let mut archive = Archive::new();
        for i in 0..11 {
            archive = archive.file(&format!("f{i}"), b"x");
        }
        let limits = ExtractLimits { max_entries: 10, ..ExtractLimits::default() };
        let (_, result) = unpack(&archive.gzip(), &limits);
        assert!(matches!(result, Err(ExtractError::Limit { what: "entries", limit: 10 })), "{result:?}");
    }

    #[test]
    fn file_size_is_limited() {
        let archive = Archive::new().file("big", &[b'a'; 2048]).gzip();
        let limits = ExtractLimits { max_file_bytes: 1024, ..ExtractLimits::default() };
        let (dir, result) = unpack(&archive, &limits);
        assert!(matches!(result, Err(ExtractError::Limit { what: "bytes per file", .. })), "{result:?}");
        assert!(!dir.path().join("repo/big").exists(), "refused before writing");
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_uncompressed_limit() {
        // 64 MiB of zeros in one file compress to about 64 KiB.
        let size = 64u64 << 20;
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_path("bomb").unwrap();
        header.set_size(size);
        header.set_cksum();
        tar.append(&header, io::repeat(0).take(size)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        let archive = gz.finish().unwrap();
        assert!(archive.len() < 1 << 20, "compressed to {} bytes", archive.len());
        let limits = ExtractLimits { max_uncompressed_bytes: 8 << 20, ..ExtractLimits::default() };
        let (dir, result) = unpack(&archive, &limits);
        assert!(matches!(result, Err(ExtractError::Limit { what: "uncompressed bytes", .. })), "{result:?}");
        let written = fs::metadata(dir.path().join("repo/bomb")).map_or(0, |m| m.len());
        assert!(written <= 8 << 20, "wrote {written} bytes");
    }

    #[test]
    fn garbage_is_a_corrupt_archive() {
        let (_, result) = unpack(b"not gzip at all", &ExtractLimits::default());
        assert!(matches!(result, Err(ExtractError::Corrupt(_))), "{result:?}");
    }

    #[test]
    fn cancellation_stops_between_entries() {
        let archive = Archive::new().file("a", b"a").gzip();
        let dir = tempfile::tempdir().unwrap();
        let result = extract(archive.as_slice(), dir.path(), &ExtractLimits::default(), &AtomicBool::new(true));
        assert!(matches!(result, Err(ExtractError::Cancelled)), "{result:?}");
    }
}
