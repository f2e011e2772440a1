//! Fuzz target for the archive a CMP client streams (`syncgate serve`): extraction never panics, and
//! whatever the bytes say (traversal, absolute paths, symlinks, links, devices, bombs), nothing is
//! written outside the destination directory and every symlink left inside resolves inside it.
//! Input that is not gzip is compressed first, so the fuzzer reaches the tar layer directly.
#![no_main]

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use libfuzzer_sys::fuzz_target;
use syncgate::server::extract::{self, ExtractLimits};

fuzz_target!(|data: &[u8]| {
    let gzipped;
    let archive = if data.starts_with(&[0x1f, 0x8b]) {
        data
    } else {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("compress in memory");
        gzipped = encoder.finish().expect("compress in memory");
        &gzipped
    };
    let parent = tempfile::tempdir().expect("temp dir");
    let dest = parent.path().join("repo");
    let outside = parent.path().join("outside");
    std::fs::create_dir(&dest).expect("dest");
    std::fs::create_dir(&outside).expect("outside");
    let limits = ExtractLimits { max_uncompressed_bytes: 1 << 20, max_entries: 200, max_file_bytes: 256 << 10 };
    let _ = extract::extract(archive, &dest, &limits, &AtomicBool::new(false));

    let mut siblings: Vec<_> =
        std::fs::read_dir(parent.path()).expect("parent").map(|e| e.expect("entry").file_name()).collect();
    siblings.sort();
    assert_eq!(siblings, ["outside", "repo"], "nothing created next to the destination");
    assert_eq!(std::fs::read_dir(&outside).expect("outside").count(), 0, "nothing written outside");
    let root = std::fs::canonicalize(&dest).expect("dest");
    check_inside(&root, &root);
});

/// Every entry below `dir` is a regular file, a directory or a symlink resolving inside `root`.
fn check_inside(root: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::canonicalize(&path) {
                assert!(target.starts_with(root), "{} escapes to {}", path.display(), target.display());
            }
        } else if meta.is_dir() {
            check_inside(root, &path);
        } else {
            assert!(meta.is_file(), "{} is neither file, directory nor symlink", path.display());
        }
    }
}
