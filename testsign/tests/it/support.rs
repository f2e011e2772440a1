//! Test support: running openssl, temporary files, a throwaway docker-registry, and an independent DER reader.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs openssl with `args`.
pub(crate) fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().expect("openssl is installed")
}

/// Runs openssl and returns stdout, failing the test with stderr if it fails.
pub(crate) fn openssl_ok(args: &[&str]) -> String {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temporary directory with helpers to write files and get their paths as strings.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to `name` and returns the path as a string.
    pub(crate) fn file(&self, name: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

/// Verifies `signature` over `message` with the PEM public key via `openssl dgst`/`pkeyutl`; `digest` is
/// `sha256`/`sha384`, or `None` for Ed25519.
pub(crate) fn openssl_verifies(public_pem: &str, message: &[u8], signature: &[u8], digest: Option<&str>) -> bool {
    let scratch = Scratch::new();
    let (key, msg, sig) =
        (scratch.file("key.pub", public_pem), scratch.file("msg", message), scratch.file("sig", signature));
    let out = match digest {
        Some(digest) => openssl(&["dgst", &format!("-{digest}"), "-verify", &key, "-signature", &sig, &msg]),
        None => openssl(&["pkeyutl", "-verify", "-pubin", "-inkey", &key, "-rawin", "-in", &msg, "-sigfile", &sig]),
    };
    out.status.success()
}

/// A docker-registry (distribution v2) listening on a free loopback port, killed on drop.
pub(crate) struct LocalRegistry {
    child: Child,
    pub(crate) base_url: String,
    _dir: tempfile::TempDir,
}

impl LocalRegistry {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage:\n  cache: {{blobdescriptor: inmemory}}\n  \
             filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        let config_path: PathBuf = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed: apt-get install -y docker-registry");
        let base_url = format!("http://127.0.0.1:{port}");
        let registry = LocalRegistry { child, base_url, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ureq::get(&format!("{}/v2/", registry.base_url)).call().is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "docker-registry did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An independent, minimal DER reader: (tag, content, whole encoding, rest).
pub(crate) fn der(input: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
    let tag = input[0];
    let (length, header) = match input[1] {
        l if l < 0x80 => (l as usize, 2),
        l => {
            let n = (l & 0x7f) as usize;
            (input[2..2 + n].iter().fold(0usize, |a, &b| (a << 8) | b as usize), 2 + n)
        }
    };
    (tag, &input[header..header + length], &input[..header + length], &input[header + length..])
}

/// Encodes a DER TLV.
pub(crate) fn der_encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}
