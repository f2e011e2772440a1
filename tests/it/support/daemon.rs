//! `syncgate serve` as a real child process on temp sockets, a free metrics port and a temp work
//! directory, with its stderr (JSON logs) in a file; killed when the handle drops unless it was
//! stopped with SIGTERM first. Also: gRPC clients for its sockets and the Python client's venv.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use syncgate::server::proto::plugin::config_management_plugin_service_client::ConfigManagementPluginServiceClient;
use syncgate::server::proto::syncgate::v1::gate_client::GateClient;
use tonic::transport::{Channel, Endpoint};

/// How long the daemon gets to become ready.
const STARTUP: Duration = Duration::from_secs(20);

/// A running daemon.
pub(crate) struct Daemon {
    child: Option<Child>,
    /// Sockets, work directory, logs.
    pub(crate) dir: tempfile::TempDir,
    /// The Config Management Plugin socket.
    pub(crate) cmp_socket: PathBuf,
    /// The syncgate.v1 socket.
    pub(crate) api_socket: PathBuf,
    /// Where requests unpack archives.
    pub(crate) work_dir: PathBuf,
    /// The metrics port on 127.0.0.1.
    pub(crate) metrics_port: u16,
    logs: PathBuf,
}

impl Daemon {
    /// Starts `syncgate serve ARGS` (policy flags and anything else) with `env`, and waits until
    /// `/readyz` answers 200.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let cmp_socket = dir.path().join("plugins/syncgate-v1.sock");
        let api_socket = dir.path().join("run/syncgate.sock");
        let work_dir = dir.path().join("work");
        let logs = dir.path().join("serve.log");
        let metrics_port = super::free_port();
        let log_file = std::fs::File::create(&logs).expect("log file");
        let home = dir.path().join("home");
        let child = Command::new(env!("CARGO_BIN_EXE_syncgate"))
            .current_dir(crate::common::root())
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .arg("serve")
            .arg("--cmp-socket")
            .arg(&cmp_socket)
            .arg("--socket")
            .arg(&api_socket)
            .arg("--work-dir")
            .arg(&work_dir)
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start syncgate serve");
        let mut daemon = Daemon { child: Some(child), dir, cmp_socket, api_socket, work_dir, metrics_port, logs };
        daemon.wait_ready();
        daemon
    }

    #[expect(clippy::panic, reason = "a daemon that cannot start must fail the test, saying why")]
    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().expect("poll child")) {
                panic!("syncgate serve exited with {status} before it was ready:\n{}", self.logs());
            }
            if self.get("/readyz").is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(started.elapsed() < STARTUP, "syncgate serve not ready after {STARTUP:?}:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's stderr so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.logs).unwrap_or_default()
    }

    /// Waits until the logs contain `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(started.elapsed() < within, "no {needle:?} in the logs after {within:?}:\n{logs}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path` on the metrics server: status and body, `None` when nothing answers.
    pub(crate) fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Some((status, body))
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit.
    pub(crate) fn wait(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("poll child") {
                self.child = None;
                return status;
            }
            assert!(started.elapsed() < within, "syncgate serve still running after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client of the syncgate.v1 socket.
    pub(crate) async fn api(&self) -> GateClient<Channel> {
        GateClient::new(channel(&self.api_socket).await)
    }

    /// A client of the Config Management Plugin socket.
    pub(crate) async fn cmp(&self) -> ConfigManagementPluginServiceClient<Channel> {
        ConfigManagementPluginServiceClient::new(channel(&self.cmp_socket).await)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A channel over a unix socket.
#[expect(clippy::panic, reason = "a test that cannot reach the daemon must fail, saying why")]
pub(crate) async fn channel(socket: &Path) -> Channel {
    Endpoint::try_from(format!("unix:{}", socket.display()))
        .expect("socket URI")
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()))
}

/// `tests/python/cmp_client.py` (Argo CD's side of the CMP protocol, in grpcio) against `daemon`'s
/// CMP socket: packs `repo`, sends `app_path` with the `NAME=VALUE` entries of `env` and `extra`
/// client flags, and returns its JSON result.
pub(crate) fn python_cmp_client(
    daemon: &Daemon,
    repo: &Path,
    app_path: &str,
    env: &[String],
    extra: &[&str],
) -> serde_json::Value {
    let root = crate::common::root();
    let mut command = Command::new(python());
    command
        .arg(root.join("tests/python/cmp_client.py"))
        .arg("--socket")
        .arg(&daemon.cmp_socket)
        .arg("--proto-dir")
        .arg(root.join("proto"))
        .arg("--repo")
        .arg(repo)
        .args(["--app-path", app_path]);
    for entry in env {
        command.args(["--env", entry]);
    }
    let out = command.args(extra).output().expect("run the Python client");
    assert!(
        out.status.success(),
        "python client failed ({}):\n{}\ndaemon:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        daemon.logs()
    );
    serde_json::from_slice(&out.stdout).expect("the Python client prints JSON")
}

/// The python of the venv `scripts/python-env` creates (grpcio, grpcio-tools, protobuf pinned).
/// Creating it needs PyPI once; a failure fails the test with the script's reason.
#[expect(clippy::panic, reason = "a missing client must fail the test, saying why, not skip it")]
pub(crate) fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let script = crate::common::root().join("scripts/python-env");
        let out = Command::new(&script).output().map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}):\n{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} printed no python: {}", script.display(), path.display()))
        }
    });
    match found {
        Ok(path) => path,
        Err(reason) => panic!("the Python gRPC client cannot run: {reason}"),
    }
}
