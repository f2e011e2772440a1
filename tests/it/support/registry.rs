//! A real OCI registry for tests: Debian's `docker-registry` on a free loopback port, serving plain
//! HTTP, HTTP with htpasswd basic auth, or HTTPS with a self-signed certificate for 127.0.0.1, and
//! killed when the handle drops. Images are built with `umoci` and pushed with `skopeo`; digests are
//! read from what skopeo pushed, never hard-coded.
//!
//! A missing binary fails the test with a hint naming the package to install; nothing is skipped.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::Digest as _;
use syncgate::image::Digest;

/// How long a registry gets to accept connections after starting.
const STARTUP: Duration = Duration::from_secs(10);

/// Ports picked at random can be taken by the time the registry binds them; try a few.
const ATTEMPTS: usize = 5;

/// What `scripts/test` installs, for failure messages.
const INSTALL_HINT: &str = "scripts/test installs docker-registry skopeo umoci redis-server apache2-utils openssl";

/// The OCI media type of an image index.
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A multi-platform image pushed with [`TestRegistry::push_index`].
#[derive(Debug)]
pub(crate) struct PushedIndex {
    /// The digest of the index itself.
    pub(crate) index: Digest,
    /// The digests of the per-platform manifests (linux/amd64, linux/arm64).
    pub(crate) platforms: Vec<Digest>,
}

/// How the registry is reached.
enum Security {
    /// Plain HTTP, no auth.
    Plain,
    /// Plain HTTP with htpasswd basic auth.
    Basic { username: String, password: String },
    /// HTTPS with a self-signed certificate (the PEM file clients must trust).
    Tls { certificate: PathBuf },
}

/// A running `docker-registry serve` child process.
pub(crate) struct TestRegistry {
    /// The server, until stopped.
    child: Option<Child>,
    /// Its loopback port.
    port: u16,
    /// Plain, basic auth or TLS.
    security: Security,
    /// Config, storage, log, certificates and image layouts.
    dir: tempfile::TempDir,
    /// Numbers layouts so every push builds a distinct image.
    pushes: AtomicUsize,
}

impl TestRegistry {
    /// A plain-HTTP registry without auth.
    pub(crate) fn start() -> Self {
        Self::launch(|_| Security::Plain)
    }

    /// A plain-HTTP registry requiring basic auth as `username`/`password` (htpasswd, bcrypt).
    pub(crate) fn with_basic_auth(username: &str, password: &str) -> Self {
        Self::launch(|dir| {
            require("htpasswd", "apache2-utils");
            let output = run(Command::new("htpasswd").args(["-Bbn", username, password]), "htpasswd -Bbn");
            std::fs::write(dir.join("htpasswd"), output).expect("write htpasswd file");
            Security::Basic { username: username.to_owned(), password: password.to_owned() }
        })
    }

    /// An HTTPS registry with a self-signed certificate for IP 127.0.0.1; see [`TestRegistry::certificate`].
    pub(crate) fn with_tls() -> Self {
        Self::launch(|dir| {
            require("openssl", "openssl");
            let certificate = dir.join("tls.crt");
            run(
                Command::new("openssl")
                    .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                    .args(["-days", "2", "-subj", "/CN=127.0.0.1"])
                    .args(["-addext", "subjectAltName=IP:127.0.0.1"])
                    .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                    .arg("-keyout")
                    .arg(dir.join("tls.key"))
                    .arg("-out")
                    .arg(&certificate),
                "openssl req -x509",
            );
            Security::Tls { certificate }
        })
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The socket address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The self-signed certificate of a TLS registry, to trust as a CA bundle.
    pub(crate) fn certificate(&self) -> &Path {
        match &self.security {
            Security::Tls { certificate } => certificate,
            Security::Plain | Security::Basic { .. } => unreachable!("only a TLS registry has a certificate"),
        }
    }

    /// Kills the registry now (to simulate an outage); dropping the handle does the same.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Builds a tiny single-layer image (content unique to this push) and pushes it as `repo:tag`;
    /// returns the digest of the manifest skopeo pushed.
    pub(crate) fn push_image(&self, repo: &str, tag: &str) -> Digest {
        let layout = self.new_layout();
        Self::build_image(&layout, "img", &format!("{repo}:{tag}"));
        self.copy(&layout, "img", repo, tag, false)
    }

    /// Builds two single-layer images (linux/amd64, linux/arm64) and an OCI index over them, and
    /// pushes all three as `repo:tag` (`skopeo copy --all`).
    pub(crate) fn push_index(&self, repo: &str, tag: &str) -> PushedIndex {
        let layout = self.new_layout();
        let mut entries = Vec::new();
        for arch in ["amd64", "arm64"] {
            Self::build_image(&layout, arch, &format!("{repo}:{tag} {arch}"));
            umoci(
                &["config", "--image", &format!("{}:{arch}", layout.display()), "--os", "linux"],
                &["--architecture", arch],
            );
            let mut descriptor = layout_descriptor(&layout, arch);
            if let Some(object) = descriptor.as_object_mut() {
                object.remove("annotations");
                object.insert("platform".to_owned(), serde_json::json!({"architecture": arch, "os": "linux"}));
            }
            entries.push(descriptor);
        }
        let platforms = entries
            .iter()
            .map(|entry| entry["digest"].as_str().expect("descriptor digest").parse().expect("valid digest"))
            .collect();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries,
        }))
        .expect("serialise index");
        let hex = format!("{:x}", sha2::Sha256::digest(&index));
        std::fs::write(layout.join("blobs/sha256").join(&hex), &index).expect("write index blob");
        let index_json = layout.join("index.json");
        let mut top: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&index_json).expect("read index.json")).expect("parse index.json");
        top["manifests"].as_array_mut().expect("index.json manifests").push(serde_json::json!({
            "mediaType": OCI_INDEX,
            "digest": format!("sha256:{hex}"),
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }));
        std::fs::write(&index_json, serde_json::to_vec(&top).expect("serialise index.json")).expect("write index.json");
        let pushed = self.copy(&layout, "multi", repo, tag, true);
        assert_eq!(pushed.to_string(), format!("sha256:{hex}"), "skopeo pushed the index unchanged");
        PushedIndex { index: pushed, platforms }
    }

    /// A fresh OCI layout directory.
    fn new_layout(&self) -> PathBuf {
        require("umoci", "umoci");
        let n = self.pushes.fetch_add(1, Ordering::Relaxed);
        let layout = self.dir.path().join(format!("layout-{n}"));
        umoci(&["init", "--layout"], &[&layout.display().to_string()]);
        layout
    }

    /// Adds image `name` to `layout` with one file whose content is `content` plus a nonce.
    fn build_image(layout: &Path, name: &str, content: &str) {
        let image = format!("{}:{name}", layout.display());
        umoci(&["new", "--image"], &[&image]);
        let file = layout.with_extension(format!("{name}.txt"));
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        std::fs::write(&file, format!("{content} {nonce}\n")).expect("write layer file");
        umoci(&["insert", "--image", &image], &[&file.display().to_string(), "/hello.txt"]);
    }

    /// `skopeo copy` of `layout:name` to `repo:tag`; returns the pushed digest (`--digestfile`).
    fn copy(&self, layout: &Path, name: &str, repo: &str, tag: &str, all: bool) -> Digest {
        require("skopeo", "skopeo");
        let digest_file = layout.with_extension(format!("{name}.digest"));
        let mut command = Command::new("skopeo");
        command.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if all {
            command.arg("--all");
        }
        if let Security::Basic { username, password } = &self.security {
            command.arg("--dest-creds").arg(format!("{username}:{password}"));
        }
        command
            .arg("--digestfile")
            .arg(&digest_file)
            .arg(format!("oci:{}:{name}", layout.display()))
            .arg(format!("docker://{}/{repo}:{tag}", self.host()));
        run(&mut command, "skopeo copy");
        let digest = std::fs::read_to_string(&digest_file).expect("read skopeo --digestfile");
        digest.trim().parse().expect("skopeo wrote a valid digest")
    }

    /// Starts `docker-registry serve` with a config for the security `setup` returns.
    #[allow(clippy::panic, reason = "a registry that cannot start must fail the test")]
    fn launch(setup: impl FnOnce(&Path) -> Security) -> Self {
        require("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().expect("temp dir for docker-registry");
        let security = setup(dir.path());
        let mut registry = Self { child: None, port: 0, security, dir, pushes: AtomicUsize::new(0) };
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            registry.port = super::free_port();
            let config = registry.write_config();
            let log = std::fs::File::create(registry.dir.path().join("registry.log")).expect("registry log file");
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("registry log file"))
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            registry.child = Some(child);
            match registry.wait_until_ready() {
                Ok(()) => return registry,
                Err(failure) => {
                    failures.push(failure);
                    registry.stop();
                }
            }
        }
        panic!("docker-registry did not start after {ATTEMPTS} attempts:\n{}", failures.join("\n---\n"));
    }

    /// Writes `config.yml` for the current port and security; returns its path.
    fn write_config(&self) -> PathBuf {
        let dir = self.dir.path();
        let mut http = format!("  addr: 127.0.0.1:{}\n", self.port);
        let mut auth = String::new();
        match &self.security {
            Security::Plain => {}
            Security::Basic { .. } => {
                auth = format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    dir.join("htpasswd").display()
                );
            }
            Security::Tls { certificate } => {
                let _ = write!(
                    http,
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    certificate.display(),
                    dir.join("tls.key").display()
                );
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{auth}http:\n{http}",
            dir.join("data").display()
        );
        let path = dir.join("config.yml");
        std::fs::write(&path, config).expect("write registry config");
        path
    }

    /// Waits until the registry accepts connections (and, over plain HTTP, answers `/v2/`).
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < STARTUP {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("docker-registry exited with {status}:\n{}", self.log()));
            }
            if let Ok(mut stream) = TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200))
                && (matches!(self.security, Security::Tls { .. }) || answers_v2(&mut stream))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("docker-registry did not answer on {} within {STARTUP:?}:\n{}", self.host(), self.log()))
    }

    /// The registry's log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `GET /v2/` gets an HTTP answer (200, or 401 when auth is on).
fn answers_v2(stream: &mut TcpStream) -> bool {
    use std::io::{Read as _, Write as _};
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && (head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.1 401"))
}

/// The descriptor `index.json` of `layout` holds for the image named `name`.
fn layout_descriptor(layout: &Path, name: &str) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("read index.json"))
            .expect("parse index.json");
    index["manifests"]
        .as_array()
        .expect("index.json manifests")
        .iter()
        .find(|entry| entry["annotations"]["org.opencontainers.image.ref.name"] == name)
        .cloned()
        .expect("image in layout")
}

/// Runs `umoci` with `args` then `more`.
fn umoci(args: &[&str], more: &[&str]) {
    run(Command::new("umoci").args(args).args(more), "umoci");
}

/// Runs `command`, failing the test with its output if it fails; returns its stdout.
#[allow(clippy::panic, reason = "a failing fixture command must fail the test")]
fn run(command: &mut Command, what: &str) -> Vec<u8> {
    let output = command.output().unwrap_or_else(|error| panic!("cannot run {what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Fails the test unless `program` is on `PATH`, naming the Debian `package` to install.
pub(crate) fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "{program} is not installed; the registry tests need it: install it with `apt-get install {package}` \
         ({INSTALL_HINT})"
    );
}
