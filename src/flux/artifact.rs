//! Flux's artifact format: a deterministic `.tar.gz` of a directory, its digest and revision, and
//! the record kept next to each stored artifact.
//!
//! The archive is what `fluxcd/pkg` `artifact/storage` `Archive()` writes with Go's `archive/tar`
//! and `compress/gzip`, so kustomize-controller and helm-controller read it like any Flux source:
//!
//! - entries in `filepath.Walk` order: the root first as `.`, then each directory's entries sorted
//!   by name bytes, a directory immediately followed by its contents; names relative to the root,
//!   no trailing slash on directories;
//! - regular files and directories only: symlinks, sockets, FIFOs and devices are skipped (and
//!   listed in [`Packed::skipped`]); a symlinked directory is not descended into;
//! - uid, gid, user and group names, mtime, atime and ctime zeroed; modes `0750` for directories,
//!   `0700` for files with any execute bit and `0600` for other files;
//! - USTAR headers byte for byte as Go writes them (octal fields zero-padded and NUL-terminated,
//!   device numbers written as octal zero, checksum as six digits, NUL, space), a long ASCII name
//!   split into prefix and name, otherwise a PAX `path` record under `PaxHeaders.0/`; two zero
//!   blocks at the end and no padding to a record size;
//! - gzip with the default level (6), no name or comment, header mtime 0, XFL 0, OS 255
//!   (unknown), as Go's `gzip.NewWriter`;
//! - the digest is `sha256:<hex>` of the compressed bytes.
//!
//! The uncompressed tar stream is identical to Go's; the compressed bytes are not (Go's deflate
//! and zlib choose different matches), so the digest of the same tree differs from
//! source-controller's, while being stable for syncgate.
//!
//! This module reads the directory it is given and writes to the writer it is given; where the
//! archive is stored is [`super::storage`]'s business.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Mode of every directory in an artifact (`DefaultDirMode` in Flux).
pub const DIR_MODE: u32 = 0o750;
/// Mode of a regular file without execute bits (`DefaultFileMode` in Flux).
pub const FILE_MODE: u32 = 0o600;
/// Mode of a regular file with any execute bit (`DefaultExeFileMode` in Flux).
pub const EXE_MODE: u32 = 0o700;

/// The gzip level Go's `gzip.NewWriter` uses (`DefaultCompression`, i.e. 6).
const GZIP_LEVEL: u32 = 6;
/// Largest file a plain octal size field holds (8 GiB - 1); Go would switch to a PAX size record.
const MAX_FILE_BYTES: u64 = 0o777_7777_7777;
const BLOCK: usize = 512;

/// Why a directory could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The path to pack is not a directory (or is a symlink to one).
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// Reading the tree failed.
    #[error("cannot read {path}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file was replaced or changed size while it was being packed.
    #[error("{path} changed while it was being packed")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A file is larger than a tar size field holds.
    #[error("{path} is larger than 8 GiB")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Writing the archive failed.
    #[error("cannot write the artifact")]
    Write(#[source] io::Error),
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// `sha256:<hex>` of the compressed bytes, as `status.artifact.digest`.
    pub digest: String,
    /// Compressed bytes written, as `status.artifact.size`.
    pub size: u64,
    /// Regular files archived.
    pub files: usize,
    /// Directories archived, the root included.
    pub directories: usize,
    /// Paths (relative to the root) left out because they are neither files nor directories.
    pub skipped: Vec<PathBuf>,
}

/// Packs `dir` into `out` as a Flux artifact (see the module docs for the exact format).
pub fn pack(dir: &Path, out: impl Write) -> Result<Packed, ArtifactError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| ArtifactError::Read { path: dir.to_owned(), source })?;
    if !meta.is_dir() {
        return Err(ArtifactError::NotADirectory { path: dir.to_owned() });
    }
    let hashed = Hashed { inner: out, hasher: Sha256::new(), written: 0 };
    let gzip = flate2::GzBuilder::new().mtime(0).write(hashed, Compression::new(GZIP_LEVEL));
    let mut packer = Packer { tar: gzip, files: 0, directories: 0, skipped: Vec::new() };
    packer.directory(dir, b".")?;
    packer.walk(dir, &[])?;
    packer.tar.write_all(&[0u8; 2 * BLOCK]).map_err(ArtifactError::Write)?;
    let hashed = packer.tar.finish().map_err(ArtifactError::Write)?;
    let mut hashed = hashed;
    hashed.inner.flush().map_err(ArtifactError::Write)?;
    Ok(Packed {
        digest: format!("sha256:{}", hex::encode(hashed.hasher.finalize())),
        size: hashed.written,
        files: packer.files,
        directories: packer.directories,
        skipped: packer.skipped,
    })
}

/// The artifact revision: `<upstream revision>@<digest>`, e.g.
/// `main@sha1:5f1c…@sha256:35d4…`. Consumers reconcile when it changes.
#[must_use]
pub fn revision(upstream_revision: &str, digest: &str) -> String {
    format!("{upstream_revision}@{digest}")
}

/// What is known about one stored artifact; kept as a JSON file next to the archive so the
/// archive can be re-verified at start-up and garbage-collected by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `sha256:<hex>` of the archive file.
    pub digest: String,
    /// Size of the archive file in bytes.
    pub size: u64,
    /// The artifact revision, [`revision`] of the upstream revision and the digest.
    pub revision: String,
    /// The upstream source's `status.artifact.revision`.
    pub upstream_revision: String,
    /// The upstream commit, published as `metadata["org.opencontainers.image.revision"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_revision: Option<String>,
    /// When the artifact was stored, RFC 3339 (the `lastUpdateTime` to publish).
    pub created: String,
}

impl Record {
    /// The record of a freshly packed artifact, created now.
    #[must_use]
    pub fn new(packed: &Packed, upstream_revision: &str, origin_revision: Option<&str>) -> Self {
        Record {
            digest: packed.digest.clone(),
            size: packed.size,
            revision: revision(upstream_revision, &packed.digest),
            upstream_revision: upstream_revision.to_owned(),
            origin_revision: origin_revision.map(str::to_owned),
            created: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
        }
    }

    /// The hex part of the digest, which names the archive file.
    #[must_use]
    pub fn digest_hex(&self) -> &str {
        self.digest.split_once(':').map_or(self.digest.as_str(), |(_, hex)| hex)
    }
}

/// Counts and hashes the compressed bytes on their way to the output.
struct Hashed<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The walk over the tree, writing tar entries into the gzip stream.
struct Packer<W: Write> {
    tar: flate2::write::GzEncoder<Hashed<W>>,
    files: usize,
    directories: usize,
    skipped: Vec<PathBuf>,
}

impl<W: Write> Packer<W> {
    /// Writes the entries below `dir`, whose archive name is `prefix` (empty for the root).
    fn walk(&mut self, dir: &Path, prefix: &[u8]) -> Result<(), ArtifactError> {
        let read = |source| ArtifactError::Read { path: dir.to_owned(), source };
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(read)? {
            names.push(entry.map_err(read)?.file_name());
        }
        // Go sorts directory entries as byte strings; OsString compares bytes on Unix.
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let mut archived = prefix.to_vec();
            if !archived.is_empty() {
                archived.push(b'/');
            }
            archived.extend_from_slice(name.as_bytes());
            let meta =
                fs::symlink_metadata(&path).map_err(|source| ArtifactError::Read { path: path.clone(), source })?;
            if meta.is_dir() {
                self.directory(&path, &archived)?;
                self.walk(&path, &archived)?;
            } else if meta.is_file() {
                self.file(&path, &archived, &meta)?;
            } else {
                self.skipped.push(PathBuf::from(std::ffi::OsStr::from_bytes(&archived)));
            }
        }
        Ok(())
    }

    fn directory(&mut self, _path: &Path, name: &[u8]) -> Result<(), ArtifactError> {
        self.header(name, b'5', DIR_MODE, 0)?;
        self.directories += 1;
        Ok(())
    }

    fn file(&mut self, path: &Path, name: &[u8], meta: &fs::Metadata) -> Result<(), ArtifactError> {
        let read = |source| ArtifactError::Read { path: path.to_owned(), source };
        let mut file = fs::File::open(path).map_err(read)?;
        let opened = file.metadata().map_err(read)?;
        // The file opened must be the one listed: not swapped for a symlink or another file.
        if !opened.is_file() || opened.ino() != meta.ino() || opened.dev() != meta.dev() {
            return Err(ArtifactError::Changed { path: path.to_owned() });
        }
        let size = opened.len();
        if size > MAX_FILE_BYTES {
            return Err(ArtifactError::TooLarge { path: path.to_owned() });
        }
        let mode = if opened.permissions().mode() & 0o111 == 0 { FILE_MODE } else { EXE_MODE };
        self.header(name, b'0', mode, size)?;
        let copied = io::copy(&mut (&mut file).take(size), &mut self.tar).map_err(|e| match e.kind() {
            io::ErrorKind::Other | io::ErrorKind::WriteZero => ArtifactError::Write(e),
            _ => read(e),
        })?;
        let mut probe = [0u8; 1];
        if copied != size || file.read(&mut probe).map_err(read)? != 0 {
            return Err(ArtifactError::Changed { path: path.to_owned() });
        }
        self.pad(size)?;
        self.files += 1;
        Ok(())
    }

    /// Writes the header block(s) of one entry as Go's `tar.Writer` does for a header with no
    /// explicit format: USTAR when the name fits (split into prefix and name if needed), PAX
    /// otherwise.
    fn header(&mut self, name: &[u8], typeflag: u8, mode: u32, size: u64) -> Result<(), ArtifactError> {
        let fits = name.is_ascii() && name.len() <= 100;
        let mut block = Header::new();
        if fits {
            block.string(0, 100, name);
        } else if let Some((prefix, rest)) = split_ustar(name) {
            block.string(0, 100, rest);
            block.string(345, 155, prefix);
        } else {
            self.pax_path(name)?;
            let ascii: Vec<u8> = name.iter().copied().filter(|b| b.is_ascii() && *b != 0).collect();
            block.truncated_name(&ascii);
        }
        block.entry(typeflag, u64::from(mode), size);
        self.tar.write_all(&block.finish()).map_err(ArtifactError::Write)
    }

    /// A PAX extended header holding the full `path`, named `<dir>/PaxHeaders.0/<file>`.
    fn pax_path(&mut self, name: &[u8]) -> Result<(), ArtifactError> {
        let record = pax_record(b"path", name);
        let (dir, file) = match name.iter().rposition(|&b| b == b'/') {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => (&name[..0], name),
        };
        let mut header_name = Vec::new();
        if !dir.is_empty() {
            header_name.extend_from_slice(dir);
            header_name.push(b'/');
        }
        header_name.extend_from_slice(b"PaxHeaders.0/");
        header_name.extend_from_slice(file);
        header_name.retain(|b| b.is_ascii() && *b != 0);
        header_name.truncate(100);
        while header_name.last() == Some(&b'/') {
            header_name.pop();
        }
        let mut block = Header::new();
        block.string(0, 100, &header_name);
        block.typeflag(b'x');
        for (offset, len) in [(100, 8), (108, 8), (116, 8), (136, 12)] {
            block.octal(offset, len, 0);
        }
        block.octal(124, 12, record.len() as u64);
        self.tar.write_all(&block.finish()).map_err(ArtifactError::Write)?;
        self.tar.write_all(&record).map_err(ArtifactError::Write)?;
        self.pad(record.len() as u64)
    }

    fn pad(&mut self, size: u64) -> Result<(), ArtifactError> {
        let used = usize::try_from(size % BLOCK as u64).unwrap_or(0);
        self.tar.write_all(&[0u8; BLOCK][..(BLOCK - used) % BLOCK]).map_err(ArtifactError::Write)
    }
}

/// One 512-byte tar header block, filled the way Go's `archive/tar` fills it.
struct Header([u8; BLOCK]);

impl Header {
    fn new() -> Self {
        Header([0u8; BLOCK])
    }

    /// Copies `value` into the field, NUL-terminated when shorter, truncated when longer.
    fn string(&mut self, offset: usize, len: usize, value: &[u8]) {
        let n = value.len().min(len);
        self.0[offset..offset + n].copy_from_slice(&value[..n]);
    }

    /// The V7 name field of a PAX entry: the ASCII name cut to 100 bytes, a cut-off trailing
    /// slash replaced by NUL.
    fn truncated_name(&mut self, ascii: &[u8]) {
        self.string(0, 100, ascii);
        if ascii.len() > 100 && ascii[99] == b'/' {
            let kept = ascii[..100].iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
            self.0[kept] = 0;
        }
    }

    /// Zero-padded octal with a trailing NUL, filling the field.
    fn octal(&mut self, offset: usize, len: usize, value: u64) {
        let digits = format!("{value:0width$o}", width = len - 1);
        self.0[offset..offset + len - 1].copy_from_slice(digits.as_bytes());
        self.0[offset + len - 1] = 0;
    }

    fn typeflag(&mut self, flag: u8) {
        self.0[156] = flag;
    }

    /// The fields every entry sets: mode, zero owners and times, size, type, zero device numbers.
    fn entry(&mut self, typeflag: u8, mode: u64, size: u64) {
        self.octal(100, 8, mode);
        self.octal(108, 8, 0); // uid
        self.octal(116, 8, 0); // gid
        self.octal(124, 12, size);
        self.octal(136, 12, 0); // mtime
        self.typeflag(typeflag);
        self.octal(329, 8, 0); // devmajor
        self.octal(337, 8, 0); // devminor
    }

    /// Sets the USTAR magic and the checksum (six octal digits, NUL, space).
    fn finish(mut self) -> [u8; BLOCK] {
        self.0[257..263].copy_from_slice(b"ustar\0");
        self.0[263..265].copy_from_slice(b"00");
        self.0[148..156].copy_from_slice(b"        ");
        let sum: u64 = self.0.iter().map(|&b| u64::from(b)).sum();
        self.octal(148, 7, sum);
        self.0[155] = b' ';
        self.0
    }
}

/// Splits a long ASCII name into USTAR prefix (≤ 155 bytes) and name (≤ 100 bytes) at a slash,
/// with the same choice of slash as Go's `splitUSTARPath`.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= 100 || !name.is_ascii() {
        return None;
    }
    let mut end = name.len();
    if end > 156 {
        end = 156;
    } else if name[end - 1] == b'/' {
        end -= 1;
    }
    let i = name[..end].iter().rposition(|&b| b == b'/')?;
    let rest = name.len() - i - 1;
    if i == 0 || rest > 100 || rest == 0 || i > 155 {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// One PAX record, `"<len> <key>=<value>\n"` where `<len>` counts the whole record.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut size = body + body.to_string().len();
    if body + size.to_string().len() != size {
        size = body + size.to_string().len();
    }
    let mut record = format!("{size} ").into_bytes();
    record.extend_from_slice(key);
    record.push(b'=');
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(dir: &Path, rel: &str, content: &str, mode: u32) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn tree(dir: &Path) {
        write(dir, "kustomization.yaml", "resources: [manifests.yaml]\n", 0o644);
        write(dir, "manifests.yaml", "kind: ConfigMap\n", 0o664);
        write(dir, "a/x.yaml", "x: 1\n", 0o644);
        write(dir, "a.txt", "a\n", 0o644);
        write(dir, "bin/run.sh", "#!/bin/sh\n", 0o755);
    }

    fn packed(dir: &Path) -> (Packed, Vec<u8>) {
        let mut out = Vec::new();
        let packed = pack(dir, &mut out).unwrap();
        (packed, out)
    }

    /// (name, type, mode, uid, gid, mtime, uname, gname) of one entry.
    type Entry = (String, char, u32, u64, u64, u64, String, String);

    fn entries(archive: &[u8]) -> Vec<Entry> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        tar.entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let h = entry.header();
                (
                    entry.path().unwrap().display().to_string(),
                    h.entry_type().as_byte() as char,
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mtime().unwrap(),
                    h.username().unwrap().unwrap_or_default().to_owned(),
                    h.groupname().unwrap().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn entries_follow_go_walk_order_with_flux_modes_and_no_owner_or_time() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let (packed, archive) = packed(dir.path());
        let got: Vec<_> = entries(&archive).into_iter().map(|(name, kind, mode, ..)| (name, kind, mode)).collect();
        let want = [
            (".", '5', 0o750),
            ("a", '5', 0o750),
            ("a/x.yaml", '0', 0o600),
            ("a.txt", '0', 0o600),
            ("bin", '5', 0o750),
            ("bin/run.sh", '0', 0o700),
            ("kustomization.yaml", '0', 0o600),
            ("manifests.yaml", '0', 0o600),
        ];
        let want: Vec<_> = want.iter().map(|(n, k, m)| ((*n).to_owned(), *k, *m)).collect();
        assert_eq!(got, want);
        for (name, _, _, uid, gid, mtime, uname, gname) in entries(&archive) {
            assert_eq!((uid, gid, mtime, uname.as_str(), gname.as_str()), (0, 0, 0, "", ""), "{name}");
        }
        assert_eq!((packed.files, packed.directories, packed.size), (5, 3, archive.len() as u64));
        assert_eq!(packed.digest, format!("sha256:{}", hex::encode(Sha256::digest(&archive))));
    }

    #[test]
    fn gzip_header_has_no_name_no_mtime_and_unknown_os() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let (_, archive) = packed(dir.path());
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255, as Go's gzip.NewWriter at the default level.
        assert_eq!(archive[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    }

    #[test]
    fn digest_depends_on_content_only() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        tree(one.path());
        // Same content created in another order, other non-execute modes, other times.
        write(two.path(), "manifests.yaml", "kind: ConfigMap\n", 0o600);
        write(two.path(), "bin/run.sh", "#!/bin/sh\n", 0o711);
        write(two.path(), "a.txt", "a\n", 0o400);
        write(two.path(), "kustomization.yaml", "resources: [manifests.yaml]\n", 0o640);
        write(two.path(), "a/x.yaml", "x: 1\n", 0o644);
        let old = fs::File::options().write(true).open(two.path().join("a.txt")).unwrap();
        old.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000)).unwrap();
        let (first, first_bytes) = packed(one.path());
        let (again, again_bytes) = packed(one.path());
        let (other, _) = packed(two.path());
        assert_eq!(first_bytes, again_bytes);
        assert_eq!(first.digest, again.digest);
        assert_eq!(first.digest, other.digest);

        write(two.path(), "a.txt", "b\n", 0o644);
        assert_ne!(packed(two.path()).0.digest, first.digest);
    }

    #[test]
    fn symlinks_are_skipped_like_flux_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "real/app.yaml", "kind: A\n", 0o644);
        symlink("real/app.yaml", dir.path().join("link.yaml")).unwrap();
        symlink("/etc", dir.path().join("etc")).unwrap();
        symlink("real", dir.path().join("linked-dir")).unwrap();
        let (packed, archive) = packed(dir.path());
        let names: Vec<_> = entries(&archive).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "real", "real/app.yaml"]);
        let skipped: Vec<_> = packed.skipped.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(skipped, ["etc", "link.yaml", "linked-dir"]);
    }

    #[test]
    fn root_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "f", "x", 0o644);
        symlink(dir.path(), dir.path().join("self")).unwrap();
        for path in [dir.path().join("f"), dir.path().join("self"), dir.path().join("missing")] {
            assert!(pack(&path, Vec::new()).is_err(), "{}", path.display());
        }
    }

    #[test]
    fn long_and_non_ascii_names_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let deep = format!("{}/{}.yaml", "d".repeat(120), "f".repeat(90));
        let unsplittable = format!("{}.yaml", "g".repeat(120));
        write(dir.path(), &deep, "deep\n", 0o644);
        write(dir.path(), &unsplittable, "long\n", 0o644);
        write(dir.path(), "é.yaml", "accent\n", 0o644);
        let (_, archive) = packed(dir.path());
        let names: Vec<_> = entries(&archive).into_iter().map(|e| e.0).collect();
        // Byte order: "é" (0xc3 0xa9) sorts after every ASCII name.
        assert_eq!(names, [".".to_owned(), "d".repeat(120), deep, unsplittable, "é.yaml".to_owned()]);
    }

    #[test]
    fn header_block_matches_go_archive_tar() {
        // Bytes Go 1.19 archive/tar writes for Header{Name: "a", Typeflag: '0', Mode: 0o600, Size: 1}.
        let mut header = Header::new();
        header.string(0, 100, b"a");
        header.entry(b'0', 0o600, 1);
        let block = header.finish();
        assert_eq!(&block[100..108], b"0000600\0");
        assert_eq!(&block[124..136], b"00000000001\0");
        assert_eq!(&block[136..148], b"00000000000\0");
        assert_eq!(&block[148..156], b"007327\0 ");
        assert_eq!(&block[257..265], b"ustar\x0000");
        assert_eq!(&block[329..345], b"0000000\x000000000\0");
    }

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record(b"path", b"x"), b"9 path=x\n");
        // 99 bytes without the length: two digits would make 101, which needs three, so 102.
        let record = pax_record(b"path", &[b'v'; 92]);
        assert!(record.starts_with(b"102 path="));
        assert_eq!(record.len(), 102);
    }

    #[test]
    fn revision_appends_the_digest() {
        assert_eq!(revision("main@sha1:5f1c", "sha256:35d4"), "main@sha1:5f1c@sha256:35d4");
    }
}
