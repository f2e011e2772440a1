//! Servers the benchmarks run against: Debian's `docker-registry` on a free loopback port (access log
//! on, so requests of other processes can be counted), child processes killed on drop, and scratch
//! directories removed on drop.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a server gets to answer after starting.
const STARTUP: Duration = Duration::from_secs(10);

/// Ports picked at random can be taken by the time a server binds them; try a few.
const ATTEMPTS: usize = 5;

pub(crate) fn require(program: &str, package: &str) -> anyhow::Result<()> {
    if which(program).is_none() {
        bail!(
            "{program} is not installed; this benchmark needs it: install it with `apt-get install {package}` \
             (scripts/test installs docker-registry, skopeo, umoci and redis-server)"
        );
    }
    Ok(())
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A scratch directory, removed when dropped.
pub(crate) struct WorkDir(pub(crate) PathBuf);

impl WorkDir {
    /// `$TMPDIR/<name>-<pid>`, emptied first.
    pub(crate) fn create(name: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("cannot empty {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server child process, killed when dropped (also when the benchmark fails).
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl Server {
    /// Waits until `ready` says yes; fails with the server's log if it exits or takes too long.
    pub(crate) fn wait_until(&mut self, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < STARTUP {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status}:\n{}", self.name, self.log_text());
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("{} did not answer within {STARTUP:?}:\n{}", self.name, self.log_text())
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Starts a server on a free port, retrying on other ports if it does not come up.
pub(crate) fn start(
    name: &'static str,
    mut launch: impl FnMut(u16) -> anyhow::Result<Server>,
) -> anyhow::Result<(Server, u16)> {
    let mut failures = Vec::new();
    for _ in 0..ATTEMPTS {
        let port = free_port()?;
        match launch(port) {
            Ok(server) => return Ok((server, port)),
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    bail!("{name} did not start after {ATTEMPTS} attempts:\n{}", failures.join("\n---\n"))
}

/// `docker-registry serve` over plain HTTP with its access log on, which the benchmark reads to count
/// the requests of other processes.
pub(crate) fn start_registry(dir: &Path, port: u16) -> anyhow::Result<Server> {
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("registry-data").display()
        ),
    )
    .context("cannot write the registry config")?;
    let log_path = dir.join("registry.log");
    let log = File::create(&log_path).context("cannot create the registry log")?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot run docker-registry")?;
    let mut server = Server { name: "docker-registry", child, log: log_path };
    server.wait_until(|| answers_v2(port))?;
    Ok(server)
}

/// Whether `GET /v2/` answers 200.
pub(crate) fn answers_v2(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut head = [0_u8; 12];
    stream.write_all(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 200")
}
