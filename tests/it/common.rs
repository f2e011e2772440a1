//! Shared test support: a `syncgate` command isolated from the caller's environment, and temp files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (tests run the binary from there so paths in output are stable).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `syncgate` with a clean environment: no colour, no SYNCGATE_* settings, HOME in a temp dir.
pub(crate) fn syncgate(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("syncgate").expect("binary built");
    cmd.current_dir(root())
        .env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Output of a run: exit code, stdout, stderr.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("syncgate runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}
