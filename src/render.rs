//! Rendering an application directory into a manifest stream: `kustomize build` for a kustomization,
//! `helm template` for a chart, otherwise the directory's own YAML/JSON files — as Argo CD decides.
//!
//! External binaries run behind the [`Render`] trait with a deadline, a bounded stdout and their
//! stderr kept for the error message; nothing here knows about policies.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::io::AsyncReadExt;

use crate::manifest::{self, Limits, ManifestError, Stream};

/// How an application directory is turned into manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `kustomization.yaml`, `kustomization.yml` or `Kustomization` at the top.
    Kustomize,
    /// `Chart.yaml` at the top.
    Helm,
    /// Every `*.yaml`, `*.yml` and `*.json` in the directory (and below it with `recurse`).
    Directory,
}

impl SourceKind {
    /// What Argo CD would use for `dir`: kustomize first, then helm, else a plain directory.
    #[must_use]
    pub fn detect(dir: &Path) -> SourceKind {
        if ["kustomization.yaml", "kustomization.yml", "Kustomization"].iter().any(|f| dir.join(f).is_file()) {
            SourceKind::Kustomize
        } else if dir.join("Chart.yaml").is_file() {
            SourceKind::Helm
        } else {
            SourceKind::Directory
        }
    }

    /// Lower-case name for messages and metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Kustomize => "kustomize",
            SourceKind::Helm => "helm",
            SourceKind::Directory => "directory",
        }
    }
}

/// What the renderer needs to know about the application (Argo CD passes these to its own tools).
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// Release name for `helm template` (the application name).
    pub release: Option<String>,
    /// Destination namespace (`helm template --namespace`).
    pub namespace: Option<String>,
    /// Destination cluster version, e.g. `1.33.1` (`helm template --kube-version`).
    pub kube_version: Option<String>,
    /// Destination API versions (`helm template --api-versions`, repeated).
    pub api_versions: Vec<String>,
    /// Plain directories: also read subdirectories (Argo CD's `directory.recurse`, off by default).
    pub recurse: bool,
}

/// Why a directory could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The directory's files are not valid manifests.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The tool the directory needs is not installed.
    #[error("{dir} is a {kind} application but {missing}")]
    ToolMissing {
        /// The application directory.
        dir: String,
        /// `kustomize` or `helm`.
        kind: &'static str,
        /// What is missing and how to get it.
        missing: String,
    },
    /// The tool could not be started.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The command line.
        tool: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The tool failed.
    #[error("`{tool}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        tool: String,
        /// Its exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// The tool did not finish in time.
    #[error("`{tool}` did not finish within {after:?}")]
    Timeout {
        /// The command line.
        tool: String,
        /// The deadline.
        after: Duration,
    },
    /// The directory holds something syncgate cannot render.
    #[error("cannot render {dir}: {what}")]
    Unsupported {
        /// The application directory.
        dir: String,
        /// What and why.
        what: String,
    },
    /// The tool printed more than the input limit.
    #[error("`{tool}` printed more than {limit} bytes of manifests")]
    TooLarge {
        /// The command line.
        tool: String,
        /// The limit.
        limit: usize,
    },
}

/// Renders application directories.
pub trait Render: Send + Sync {
    /// Renders `dir` into a stream of documents.
    fn render<'a>(
        &'a self,
        dir: &'a Path,
        request: &'a RenderRequest,
    ) -> BoxFuture<'a, Result<(SourceKind, Stream), RenderError>>;
}

/// Where `kustomize build` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomize {
    /// A standalone `kustomize` binary: `kustomize build DIR`.
    Standalone(PathBuf),
    /// `kubectl kustomize DIR`.
    Kubectl(PathBuf),
}

/// The renderer that runs the real tools.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// `kustomize` (or `kubectl kustomize`) when found.
    pub kustomize: Option<Kustomize>,
    /// `helm` when found.
    pub helm: Option<PathBuf>,
    /// Deadline per tool run.
    pub timeout: Duration,
    /// Input limits for the rendered output and the directory's files.
    pub limits: Limits,
}

impl Renderer {
    /// Finds `kustomize` (else `kubectl`) and `helm` on `PATH` (`SYNCGATE_KUSTOMIZE` and
    /// `SYNCGATE_HELM` name them explicitly).
    #[must_use]
    pub fn from_path(timeout: Duration, limits: Limits) -> Renderer {
        let explicit = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let kustomize = explicit("SYNCGATE_KUSTOMIZE")
            .or_else(|| which("kustomize"))
            .map(Kustomize::Standalone)
            .or_else(|| which("kubectl").map(Kustomize::Kubectl));
        let helm = explicit("SYNCGATE_HELM").or_else(|| which("helm"));
        Renderer { kustomize, helm, timeout, limits }
    }

    async fn kustomize(&self, dir: &Path) -> Result<Stream, RenderError> {
        let command = match &self.kustomize {
            Some(Kustomize::Standalone(bin)) => vec![bin.display().to_string(), "build".into(), ".".into()],
            Some(Kustomize::Kubectl(bin)) => vec![bin.display().to_string(), "kustomize".into(), ".".into()],
            None => {
                return Err(RenderError::ToolMissing {
                    dir: dir.display().to_string(),
                    kind: "kustomize",
                    missing: "neither `kustomize` nor `kubectl` is on PATH; install kustomize in the sidecar image (or set SYNCGATE_KUSTOMIZE)".into(),
                });
            }
        };
        let out = run(&command, dir, self.timeout, self.limits.max_bytes).await?;
        Ok(Stream { documents: manifest::parse_bytes(&out, Some("<kustomize build>"), &self.limits)? })
    }

    async fn helm(&self, dir: &Path, request: &RenderRequest) -> Result<Stream, RenderError> {
        let Some(helm) = &self.helm else {
            return Err(RenderError::ToolMissing {
                dir: dir.display().to_string(),
                kind: "helm",
                missing: "`helm` is not on PATH; install helm in the sidecar image (or set SYNCGATE_HELM), or render the chart before syncgate (helm template | syncgate check)".into(),
            });
        };
        let mut command = vec![helm.display().to_string(), "template".into()];
        command.push(request.release.clone().unwrap_or_else(|| "release".into()));
        command.push(".".into());
        // As Argo CD renders charts: CRDs from crds/ are part of the application.
        command.push("--include-crds".into());
        if let Some(namespace) = request.namespace.as_deref().filter(|n| !n.is_empty()) {
            command.extend(["--namespace".into(), namespace.to_owned()]);
        }
        if let Some(version) = request.kube_version.as_deref().filter(|v| !v.is_empty()) {
            command.extend(["--kube-version".into(), version.to_owned()]);
        }
        for api in &request.api_versions {
            command.extend(["--api-versions".into(), api.clone()]);
        }
        let out = run(&command, dir, self.timeout, self.limits.max_bytes).await?;
        Ok(Stream { documents: manifest::parse_bytes(&out, Some("<helm template>"), &self.limits)? })
    }
}

impl Render for Renderer {
    fn render<'a>(
        &'a self,
        dir: &'a Path,
        request: &'a RenderRequest,
    ) -> BoxFuture<'a, Result<(SourceKind, Stream), RenderError>> {
        async move {
            let kind = SourceKind::detect(dir);
            let stream = match kind {
                SourceKind::Kustomize => self.kustomize(dir).await?,
                SourceKind::Helm => self.helm(dir, request).await?,
                SourceKind::Directory => {
                    let dir = dir.to_path_buf();
                    let limits = self.limits;
                    let recurse = request.recurse;
                    tokio::task::spawn_blocking(move || directory(&dir, recurse, &limits)).await.map_err(|e| {
                        RenderError::Spawn {
                            tool: "directory reader".into(),
                            source: std::io::Error::other(e.to_string()),
                        }
                    })??
                }
            };
            Ok((kind, stream))
        }
        .boxed()
    }
}

/// A plain directory: its YAML and JSON files (with `recurse`, those of its subdirectories too,
/// dot-directories skipped). Jsonnet is refused rather than skipped: leaving its objects out would
/// make Argo CD prune them.
fn directory(dir: &Path, recurse: bool, limits: &Limits) -> Result<Stream, RenderError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|source| RenderError::Spawn { tool: format!("reading {}", current.display()), source })?;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if name.starts_with('.') {
                continue;
            }
            if is_dir {
                if recurse {
                    pending.push(path);
                }
            } else if name.ends_with(".jsonnet") || name.ends_with(".libsonnet") {
                return Err(RenderError::Unsupported {
                    dir: dir.display().to_string(),
                    what: format!(
                        "{} is Jsonnet, which syncgate does not evaluate; render it to YAML first (jsonnet … | syncgate check -) or keep it out of this application",
                        path.display()
                    ),
                });
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(manifest::load(&files, limits)?)
}

/// Reads at most `limit` bytes of `reader` into `out` and discards the rest, so a child writing more
/// is never blocked on a full pipe; returns whether there was more.
async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    out: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<bool> {
    let mut buffer = vec![0u8; 8192];
    let mut more = false;
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            return Ok(more);
        }
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&buffer[..n.min(room)]);
        more |= n > room;
    }
}

/// Runs `command` in `dir`, returning stdout; stderr becomes the error text on failure.
async fn run(command: &[String], dir: &Path, timeout: Duration, limit: usize) -> Result<Vec<u8>, RenderError> {
    let tool = command.join(" ");
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| RenderError::Spawn { tool: tool.clone(), source })?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            match stdout.as_mut() {
                Some(s) => read_bounded(s, &mut out, limit).await,
                None => Ok(false),
            }
        };
        let read_err = async {
            match stderr.as_mut() {
                Some(s) => read_bounded(s, &mut err, 64 * 1024).await,
                None => Ok(false),
            }
        };
        let (too_large, read_err) = tokio::join!(read_out, read_err);
        let too_large = too_large.map_err(|source| RenderError::Spawn { tool: tool.clone(), source })?;
        read_err.map_err(|source| RenderError::Spawn { tool: tool.clone(), source })?;
        let status = child.wait().await.map_err(|source| RenderError::Spawn { tool: tool.clone(), source })?;
        Ok::<_, RenderError>((status, out, err, too_large))
    };
    let (status, out, err, too_large) = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| RenderError::Timeout { tool: tool.clone(), after: timeout })??;
    if too_large {
        return Err(RenderError::TooLarge { tool, limit });
    }
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err).trim().to_owned();
        return Err(RenderError::Failed { tool, status: status.to_string(), stderr });
    }
    Ok(out)
}

/// The first executable named `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers: [{name: api, image: nginx:1.27}]\n";

    #[test]
    fn detection_follows_argo_cd_order() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SourceKind::detect(dir.path()), SourceKind::Directory);
        write(dir.path(), "Chart.yaml", "name: x\n");
        assert_eq!(SourceKind::detect(dir.path()), SourceKind::Helm);
        write(dir.path(), "kustomization.yaml", "resources: []\n");
        assert_eq!(SourceKind::detect(dir.path()), SourceKind::Kustomize);
    }

    #[tokio::test]
    async fn a_plain_directory_is_its_yaml_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.yaml", DEPLOYMENT);
        let renderer =
            Renderer { kustomize: None, helm: None, timeout: Duration::from_secs(5), limits: Limits::default() };
        let (kind, stream) = renderer.render(dir.path(), &RenderRequest::default()).await.unwrap();
        assert_eq!(kind, SourceKind::Directory);
        assert_eq!(stream.documents.len(), 1);
    }

    #[tokio::test]
    async fn a_chart_without_helm_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Chart.yaml", "apiVersion: v2\nname: x\nversion: 0.1.0\n");
        let renderer =
            Renderer { kustomize: None, helm: None, timeout: Duration::from_secs(5), limits: Limits::default() };
        let error = renderer.render(dir.path(), &RenderRequest::default()).await.unwrap_err().to_string();
        assert!(error.contains("is a helm application but `helm` is not on PATH"), "{error}");
    }

    #[tokio::test]
    async fn a_failing_tool_reports_its_stderr_and_a_slow_one_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let fail = vec!["sh".to_owned(), "-c".to_owned(), "echo 'accumulating resources: boom' >&2; exit 3".to_owned()];
        let error = run(&fail, dir.path(), Duration::from_secs(5), 1024).await.unwrap_err().to_string();
        assert!(error.contains("exit status: 3") && error.contains("accumulating resources: boom"), "{error}");
        let slow = vec!["sleep".to_owned(), "5".to_owned()];
        let error = run(&slow, dir.path(), Duration::from_millis(100), 1024).await.unwrap_err().to_string();
        assert!(error.contains("did not finish within"), "{error}");
        let big = vec!["sh".to_owned(), "-c".to_owned(), "head -c 5000 /dev/zero".to_owned()];
        let error = run(&big, dir.path(), Duration::from_secs(5), 1024).await.unwrap_err().to_string();
        assert!(error.contains("more than 1024 bytes"), "{error}");
    }

    #[tokio::test]
    async fn a_tool_flooding_stderr_is_not_blocked_and_its_error_kept_short() {
        let dir = tempfile::tempdir().unwrap();
        let flood =
            vec!["sh".to_owned(), "-c".to_owned(), "head -c 1000000 /dev/zero | tr '\\0' w >&2; exit 1".to_owned()];
        let error = run(&flood, dir.path(), Duration::from_secs(10), 1024).await.unwrap_err();
        let RenderError::Failed { stderr, .. } = error else { panic!("expected a failure, got {error}") };
        assert_eq!(stderr.len(), 64 * 1024);
        let chatty =
            vec!["sh".to_owned(), "-c".to_owned(), "head -c 1000000 /dev/zero | tr '\\0' w >&2; echo ok".to_owned()];
        assert_eq!(run(&chatty, dir.path(), Duration::from_secs(10), 1024).await.unwrap(), b"ok\n");
    }

    #[tokio::test]
    async fn a_plain_directory_reads_subdirectories_only_when_asked_and_refuses_jsonnet() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.yaml", DEPLOYMENT);
        std::fs::create_dir(dir.path().join("more")).unwrap();
        write(&dir.path().join("more"), "b.yaml", &DEPLOYMENT.replace("name: api", "name: worker"));
        let renderer =
            Renderer { kustomize: None, helm: None, timeout: Duration::from_secs(5), limits: Limits::default() };
        let (_, flat) = renderer.render(dir.path(), &RenderRequest::default()).await.unwrap();
        assert_eq!(flat.documents.len(), 1);
        let request = RenderRequest { recurse: true, ..RenderRequest::default() };
        let (_, deep) = renderer.render(dir.path(), &request).await.unwrap();
        assert_eq!(deep.documents.len(), 2);
        write(dir.path(), "app.jsonnet", "{}");
        let error = renderer.render(dir.path(), &RenderRequest::default()).await.unwrap_err().to_string();
        assert!(error.contains("is Jsonnet, which syncgate does not evaluate"), "{error}");
    }

    #[tokio::test]
    async fn kustomize_renders_through_kubectl_when_present() {
        let Some(kubectl) = which("kubectl") else {
            eprintln!("skipped: kubectl not found on PATH");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kustomization.yaml", "namePrefix: prod-\nresources: [deployment.yaml]\n");
        write(dir.path(), "deployment.yaml", DEPLOYMENT);
        let renderer = Renderer {
            kustomize: Some(Kustomize::Kubectl(kubectl)),
            helm: None,
            timeout: Duration::from_secs(20),
            limits: Limits::default(),
        };
        let (kind, stream) = renderer.render(dir.path(), &RenderRequest::default()).await.unwrap();
        assert_eq!(kind, SourceKind::Kustomize);
        let name = stream.documents[0].root.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str());
        assert_eq!(name, Some("prod-api"));
    }
}
