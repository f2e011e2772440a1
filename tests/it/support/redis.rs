//! A real `redis-server` for tests: started on a free loopback port (plain, with a password, or with
//! TLS under a throwaway CA made by `openssl`), without persistence, and killed when the handle drops.
//!
//! A missing `redis-server` fails the test with a hint to install it; nothing is skipped.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server gets to answer PING after starting.
const STARTUP: Duration = Duration::from_secs(10);

/// Ports picked at random can be taken by the time the server binds them; try a few.
const ATTEMPTS: usize = 5;

/// A running `redis-server` child process.
pub(crate) struct TestRedis {
    child: Option<Child>,
    port: u16,
    password: Option<String>,
    /// The CA certificate clients must trust, when the server speaks TLS only.
    ca_cert: Option<PathBuf>,
    dir: tempfile::TempDir,
}

impl TestRedis {
    /// A plain server without a password.
    pub(crate) fn start() -> Self {
        Self::launch(None, false)
    }

    /// A server that requires `password` (`--requirepass`).
    pub(crate) fn with_password(password: &str) -> Self {
        Self::launch(Some(password), false)
    }

    /// A server that speaks TLS only (`--port 0 --tls-port …`), with a certificate for 127.0.0.1 signed
    /// by a CA made for this server; see [`TestRedis::ca_cert`].
    pub(crate) fn with_tls() -> Self {
        Self::launch(None, true)
    }

    /// `redis://[:password@]127.0.0.1:PORT/0`, or `rediss://…` for a TLS server.
    pub(crate) fn url(&self) -> String {
        let scheme = if self.ca_cert.is_some() { "rediss" } else { "redis" };
        let auth = self.password.as_ref().map(|password| format!(":{password}@")).unwrap_or_default();
        format!("{scheme}://{auth}127.0.0.1:{}/0", self.port)
    }

    /// The PEM file of the CA that signed a TLS server's certificate.
    pub(crate) fn ca_cert(&self) -> &Path {
        self.ca_cert.as_deref().expect("ca_cert is only set for a TLS server (TestRedis::with_tls)")
    }

    /// A client for raw access (reading, tampering with and counting keys).
    pub(crate) fn client(&self) -> redis::Client {
        client(&self.url(), self.ca_cert.as_deref())
    }

    /// A blocking raw connection.
    pub(crate) fn connection(&self) -> redis::Connection {
        self.client().get_connection_with_timeout(Duration::from_secs(2)).expect("connect to the test redis-server")
    }

    /// Kills the server now (to simulate an outage); dropping the handle does the same.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    #[expect(clippy::panic, reason = "a test that cannot get its server must fail, saying why")]
    fn launch(password: Option<&str>, tls: bool) -> Self {
        require_redis_server();
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let ca_cert = tls.then(|| make_certificates(dir.path()));
        let mut server = Self { child: None, port: 0, password: password.map(str::to_owned), ca_cert, dir };
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            server.port = super::free_port();
            server.child = Some(server.command().spawn().expect("start redis-server"));
            match server.wait_until_ready() {
                Ok(()) => return server,
                Err(failure) => {
                    failures.push(failure);
                    server.stop();
                }
            }
        }
        panic!("redis-server did not start after {ATTEMPTS} attempts:\n{}", failures.join("\n---\n"));
    }

    /// The `redis-server` command line for this server's port, password and TLS settings.
    fn command(&self) -> Command {
        let dir = self.dir.path();
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.ca_cert.is_some() {
            command
                .args(["--port", "0", "--tls-port", &port, "--tls-auth-clients", "no"])
                .arg("--tls-cert-file")
                .arg(dir.join("server.crt"))
                .arg("--tls-key-file")
                .arg(dir.join("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(dir.join("ca.crt"));
        } else {
            command.args(["--port", &port]);
        }
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        command
    }

    /// Waits until the server answers PING; on failure returns what its log says.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let client = self.client();
        let started = Instant::now();
        let mut last_error = String::new();
        while started.elapsed() < STARTUP {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("redis-server exited with {status}:\n{}", self.log()));
            }
            match client.get_connection_with_timeout(Duration::from_millis(500)) {
                Ok(mut connection) => match redis::cmd("PING").query::<String>(&mut connection) {
                    Ok(pong) if pong == "PONG" => return Ok(()),
                    Ok(other) => last_error = format!("PING answered {other}"),
                    Err(err) => last_error = err.to_string(),
                },
                Err(err) => last_error = err.to_string(),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("no PONG within {STARTUP:?} ({last_error}):\n{}", self.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A raw client for `url`, trusting `ca_cert` for TLS.
fn client(url: &str, ca_cert: Option<&Path>) -> redis::Client {
    match ca_cert {
        Some(ca_cert) => {
            let root_cert = std::fs::read(ca_cert).expect("read test CA certificate");
            redis::Client::build_with_tls(url, redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) })
                .expect("TLS redis client")
        }
        None => redis::Client::open(url).expect("redis client"),
    }
}

/// Fails with an installation hint when `redis-server` is not on PATH.
#[expect(clippy::panic, reason = "a test that cannot get its server must fail, saying why")]
fn require_redis_server() {
    match Command::new("redis-server").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("`redis-server --version` failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(err) if err.kind() == ErrorKind::NotFound => panic!(
            "redis-server is not installed; the cache tests need a real one: install it with \
             `apt-get install redis-server` (scripts/test installs it)"
        ),
        Err(err) => panic!("cannot run redis-server: {err}"),
    }
}

/// Writes `ca.crt`, `server.crt` and `server.key` (P-256, SAN 127.0.0.1) into `dir` with `openssl`;
/// returns the CA certificate's path.
fn make_certificates(dir: &Path) -> PathBuf {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]].concat(),
        &["-subj", "/CN=syncgate test CA"],
    );
    openssl(
        dir,
        &[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr"]].concat(),
        &["-subj", "/CN=127.0.0.1"],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write certificate extensions");
    openssl(
        dir,
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "2"],
        &["-out", "server.crt", "-days", "2", "-extfile", "server.ext"],
    );
    dir.join("ca.crt")
}

#[expect(clippy::panic, reason = "a test that cannot get its server must fail, saying why")]
fn openssl(dir: &Path, args: &[&str], more: &[&str]) {
    let output = match Command::new("openssl").args(args).args(more).current_dir(dir).output() {
        Ok(output) => output,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            panic!("openssl is not installed; the TLS cache tests need it (scripts/test installs it)")
        }
        Err(err) => panic!("cannot run openssl: {err}"),
    };
    assert!(output.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}
