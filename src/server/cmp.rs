//! Argo CD's Config Management Plugin service (`plugin.ConfigManagementPluginService`), served on
//! the socket the repo-server dials for `plugin.name: syncgate-v1`.
//!
//! `GenerateManifest` receives the metadata, then the `.tar.gz` in chunks (hashed as they arrive,
//! size and SHA-256 checked as Argo CD's own server checks them), unpacks it safely into a fresh
//! directory under the work directory, renders the application and gates it. Allowed: the
//! manifests, one JSON document each. Denied: status `Unknown` carrying the status message, which
//! the repo-server shows on the Application exactly like a failing `generate` command's stderr.
//! The directory is removed when the call ends, however it ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;
use tonic::{Request, Response, Status, Streaming};

use super::extract::{self, ExtractError, ExtractLimits};
use super::proto::plugin::app_stream_request::Request as Message;
use super::proto::plugin::config_management_plugin_service_server::{
    ConfigManagementPluginService, ConfigManagementPluginServiceServer,
};
use super::proto::plugin::{
    AppStreamRequest, CheckPluginConfigurationResponse, ManifestRequestMetadata, ManifestResponse,
    ParametersAnnouncementResponse, RepositoryResponse,
};
use super::proto::repository::ParameterAnnouncement;
use super::{MAX_MESSAGE_BYTES, RequestLog, ServeOptions, State};
use crate::argocd::AppEnv;

/// The service name as `grpc.health.v1` knows it.
pub(super) const SERVICE: &str = "plugin.ConfigManagementPluginService";

/// The CMP service.
#[derive(Debug)]
pub(super) struct Plugin {
    state: Arc<State>,
    work_dir: PathBuf,
    limits: ExtractLimits,
    max_archive_bytes: u64,
}

impl Plugin {
    pub(super) fn new(state: Arc<State>, options: &ServeOptions) -> Plugin {
        Plugin {
            state,
            work_dir: options.work_dir.clone(),
            limits: options.extract,
            max_archive_bytes: options.max_archive_bytes,
        }
    }

    pub(super) fn into_server(self) -> ConfigManagementPluginServiceServer<Plugin> {
        ConfigManagementPluginServiceServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    async fn generate(
        &self,
        mut stream: Streaming<AppStreamRequest>,
        log: &mut RequestLog,
    ) -> Result<ManifestResponse, Status> {
        let _permit = self.state.permits.acquire().await.map_err(|_| Status::unavailable("shutting down"))?;
        let metadata = first_metadata(&mut stream).await?;
        let env = AppEnv::from_vars(metadata.env.iter().map(|e| (e.name.as_str(), e.value.as_str())));
        log.app = env.app_name.clone().unwrap_or_else(|| metadata.app_name.clone());
        log.project = env.project.clone().unwrap_or_default();
        log.namespace = env.destination_namespace.clone().unwrap_or_default();
        env.parameter("policy").unwrap_or(crate::gate::DEFAULT_SET).clone_into(&mut log.policy_set);

        let work = Arc::new(WorkDir::create(&self.work_dir).await?);
        let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
        let archive = work.path.join("archive.tar.gz");
        receive(&mut stream, &metadata, &archive, self.max_archive_bytes).await?;
        let root = work.path.join("repo");
        let limits = self.limits;
        let (flag, unpack_root, held) = (Arc::clone(&cancel.0), root.clone(), Arc::clone(&work));
        // The task holds the directory: if the request is cancelled, the directory goes only
        // after the task has seen the flag and stopped writing into it. Directories and files are
        // created in the task, off the async workers (creating one can take milliseconds on a busy
        // disk).
        let unpacking = tokio::task::spawn_blocking(move || {
            let _held = held;
            std::fs::create_dir(&unpack_root)
                .map_err(|e| ExtractError::Write { path: unpack_root.display().to_string(), source: e })?;
            let file = std::fs::File::open(&archive)
                .map_err(|e| ExtractError::Write { path: archive.display().to_string(), source: e })?;
            let done = extract::extract(std::io::BufReader::new(file), &unpack_root, &limits, &flag);
            let _ = std::fs::remove_file(&archive);
            done
        });
        let extracted = unpacking
            .await
            .map_err(|e| Status::internal(format!("extraction task failed: {e}")))?
            .map_err(|e| match e {
                ExtractError::Write { .. } => Status::internal(e.to_string()),
                e => Status::invalid_argument(e.to_string()),
            })?;
        tracing::debug!(files = extracted.files, bytes = extracted.bytes, "archive unpacked");
        let app_dir = app_dir(&root, &metadata.app_rel_path)?;

        let started = Instant::now();
        let gated = self.state.gate.generate(&app_dir, &env).await;
        if let Ok(gated) = &gated
            && self.state.gate.online()
        {
            let source = gated.source.map_or("rendered", crate::render::SourceKind::as_str);
            self.state.metrics.verification(source, started.elapsed().as_secs_f64());
        }
        let gated = gated.map_err(|e| Status::unknown(e.to_string()))?;
        log.policy_set.clone_from(&gated.policy_set);
        log.decided(&gated.report, &self.state.metrics);
        if gated.report.decision == crate::report::Decision::Deny {
            return Err(Status::unknown(gated.message()));
        }
        Ok(ManifestResponse { manifests: gated.json_documents(), source_type: String::new() })
    }
}

#[tonic::async_trait]
impl ConfigManagementPluginService for Plugin {
    async fn generate_manifest(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<ManifestResponse>, Status> {
        let started = Instant::now();
        let deadline = super::grpc_timeout(request.metadata());
        let mut log = RequestLog::default();
        let result =
            super::within_deadline(deadline, "generating the manifests", self.generate(request.into_inner(), &mut log))
                .await;
        log.finish("GenerateManifest", started, &self.state.metrics, result.as_ref().err());
        result.map(Response::new)
    }

    async fn match_repository(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<RepositoryResponse>, Status> {
        drain(request.into_inner(), self.max_archive_bytes).await?;
        // No discovery rules: Applications name the plugin (`plugin.name: syncgate-v1`).
        Ok(Response::new(RepositoryResponse { is_supported: true, is_discovery_enabled: false }))
    }

    async fn get_parameters_announcement(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<ParametersAnnouncementResponse>, Status> {
        drain(request.into_inner(), self.max_archive_bytes).await?;
        Ok(Response::new(ParametersAnnouncementResponse { parameter_announcements: announcements() }))
    }

    async fn check_plugin_configuration(
        &self,
        _request: Request<()>,
    ) -> Result<Response<CheckPluginConfigurationResponse>, Status> {
        Ok(Response::new(CheckPluginConfigurationResponse { is_discovery_configured: false, provide_git_creds: false }))
    }
}

/// The parameters shown in the Application's "Parameters" tab.
fn announcements() -> Vec<ParameterAnnouncement> {
    vec![
        ParameterAnnouncement {
            name: "policy".into(),
            title: "Policy set".into(),
            tooltip: "The syncgate policy set this application is gated with".into(),
            item_type: "string".into(),
            collection_type: "string".into(),
            string: crate::gate::DEFAULT_SET.into(),
            ..ParameterAnnouncement::default()
        },
        ParameterAnnouncement {
            name: "recurse".into(),
            title: "Recurse".into(),
            tooltip: "Plain YAML directories: also read subdirectories (true/false)".into(),
            item_type: "string".into(),
            collection_type: "string".into(),
            string: "false".into(),
            ..ParameterAnnouncement::default()
        },
    ]
}

/// The first message, which must be the metadata.
async fn first_metadata(stream: &mut Streaming<AppStreamRequest>) -> Result<ManifestRequestMetadata, Status> {
    match stream.message().await? {
        Some(AppStreamRequest { request: Some(Message::Metadata(metadata)) }) => Ok(metadata),
        Some(_) => Err(Status::invalid_argument("the first message of the stream must be the metadata")),
        None => Err(Status::invalid_argument("empty stream: expected the metadata, then the archive")),
    }
}

/// Writes the archive chunks to `path`, checking the declared size and the SHA-256 checksum.
async fn receive(
    stream: &mut Streaming<AppStreamRequest>,
    metadata: &ManifestRequestMetadata,
    path: &Path,
    max_bytes: u64,
) -> Result<(), Status> {
    let declared = u64::try_from(metadata.size)
        .map_err(|_| Status::invalid_argument(format!("invalid archive size {} in the metadata", metadata.size)))?;
    if declared > max_bytes {
        return Err(Status::invalid_argument(format!(
            "the archive is {declared} bytes, larger than the limit of {max_bytes} bytes"
        )));
    }
    let io = |e: std::io::Error| Status::internal(format!("cannot write {}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut hash = sha2::Sha256::new();
    let mut received = 0u64;
    while let Some(message) = stream.message().await? {
        let chunk = match message.request {
            Some(Message::File(file)) => file.chunk,
            Some(Message::Metadata(_)) => {
                return Err(Status::invalid_argument("metadata may only be sent once, as the first message"));
            }
            None => continue,
        };
        received += chunk.len() as u64;
        if received > declared {
            return Err(Status::invalid_argument(format!(
                "received more than the {declared} bytes the metadata declared"
            )));
        }
        hash.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    if received != declared {
        return Err(Status::invalid_argument(format!(
            "received {received} bytes, but the metadata declared {declared}"
        )));
    }
    let actual = hex::encode(hash.finalize());
    if !actual.eq_ignore_ascii_case(metadata.checksum.trim()) {
        return Err(Status::invalid_argument(format!(
            "file checksum validation error: the archive's SHA-256 is {actual}, the metadata says {:?}",
            metadata.checksum
        )));
    }
    Ok(())
}

/// Reads a stream to its end without keeping it, bounded like an archive.
async fn drain(mut stream: Streaming<AppStreamRequest>, max_bytes: u64) -> Result<(), Status> {
    let mut received = 0u64;
    while let Some(message) = stream.message().await? {
        if let Some(Message::File(file)) = message.request {
            received += file.chunk.len() as u64;
            if received > max_bytes {
                return Err(Status::invalid_argument(format!(
                    "the archive is larger than the limit of {max_bytes} bytes"
                )));
            }
        }
    }
    Ok(())
}

/// `Clean(root/appRelPath)`, which must stay inside `root` and be a directory.
fn app_dir(root: &Path, relative: &str) -> Result<PathBuf, Status> {
    let outside = || Status::invalid_argument(format!("application path {relative:?} is outside the repository"));
    let clean = extract::relative_path(Path::new(relative)).ok_or_else(outside)?;
    let dir = root.join(clean);
    // The path may cross symlinks from the archive: compare where it really leads.
    let real = std::fs::canonicalize(&dir)
        .map_err(|_| Status::invalid_argument(format!("application path {relative:?} is not in the archive")))?;
    let real_root = std::fs::canonicalize(root).map_err(|e| Status::internal(e.to_string()))?;
    if !real.starts_with(&real_root) {
        return Err(outside());
    }
    if !real.is_dir() {
        return Err(Status::invalid_argument(format!("application path {relative:?} is not a directory")));
    }
    Ok(real)
}

/// A fresh directory for one request, removed when the last holder drops it.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    async fn create(base: &Path) -> Result<WorkDir, Status> {
        use std::os::unix::fs::DirBuilderExt as _;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("req-{}-{n}-{nanos:09}", std::process::id()));
        let create = path.clone();
        tokio::task::spawn_blocking(move || std::fs::DirBuilder::new().mode(0o700).recursive(true).create(&create))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(format!("cannot create a work directory under {}: {e}", base.display())))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let remove = move || {
            if let Err(e) = std::fs::remove_dir_all(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %path.display(), error = %e, "cannot remove the request's work directory");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

/// Raises the flag a blocking extraction checks, when the request ends (or is cancelled).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::server::proto::plugin::config_management_plugin_service_client::ConfigManagementPluginServiceClient;
    use crate::server::proto::plugin::{EnvEntry, File};

    const POLICY: &str = "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules: {disallow-privileged: enforce}\n";

    fn deployment(privileged: bool) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: nginx:1.27\n          securityContext: {{privileged: {privileged}}}\n"
        )
    }

    fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_path(path).unwrap();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append(&header, text.as_bytes()).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    }

    struct Served {
        _dir: tempfile::TempDir,
        work_dir: PathBuf,
        client: ConfigManagementPluginServiceClient<tonic::transport::Channel>,
        state: Arc<State>,
    }

    /// The CMP service on an in-process unix socket, with an offline gate.
    async fn serve() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.yaml");
        std::fs::write(&policy, POLICY).unwrap();
        let gate = Arc::new(crate::server::tests::offline_gate(&policy));
        let state = Arc::new(State {
            metrics: super::super::Metrics::new(Arc::clone(&gate), None),
            gate,
            ready: AtomicBool::new(true),
            permits: tokio::sync::Semaphore::new(4),
        });
        let work_dir = dir.path().join("work");
        std::fs::create_dir(&work_dir).unwrap();
        let options = ServeOptions {
            cmp_socket: dir.path().join("cmp.sock"),
            socket: dir.path().join("api.sock"),
            listen: None,
            metrics_addr: "127.0.0.1:0".parse().unwrap(),
            work_dir: work_dir.clone(),
            reload_interval: std::time::Duration::from_secs(60),
            shutdown_grace: std::time::Duration::from_secs(1),
            extract: ExtractLimits::default(),
            max_archive_bytes: 1 << 20,
            max_concurrent: 4,
        };
        let listener = tokio::net::UnixListener::bind(&options.cmp_socket).unwrap();
        let server = Plugin::new(Arc::clone(&state), &options).into_server();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
        );
        let channel = tonic::transport::Endpoint::try_from(format!("unix:{}", options.cmp_socket.display()))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Served { _dir: dir, work_dir, client: ConfigManagementPluginServiceClient::new(channel), state }
    }

    fn metadata(archive: &[u8], app: &str) -> ManifestRequestMetadata {
        ManifestRequestMetadata {
            app_name: "api".into(),
            app_rel_path: app.into(),
            checksum: hex::encode(sha2::Sha256::digest(archive)),
            size: i64::try_from(archive.len()).unwrap(),
            env: vec![
                EnvEntry { name: "ARGOCD_APP_NAME".into(), value: "api".into() },
                EnvEntry { name: "ARGOCD_APP_NAMESPACE".into(), value: "web".into() },
            ],
        }
    }

    fn messages(metadata: ManifestRequestMetadata, archive: &[u8]) -> Vec<AppStreamRequest> {
        let mut out = vec![AppStreamRequest { request: Some(Message::Metadata(metadata)) }];
        out.extend(
            archive.chunks(1024).map(|c| AppStreamRequest { request: Some(Message::File(File { chunk: c.to_vec() })) }),
        );
        out
    }

    async fn generate(served: &mut Served, messages: Vec<AppStreamRequest>) -> Result<ManifestResponse, Status> {
        served.client.generate_manifest(tokio_stream::iter(messages)).await.map(Response::into_inner)
    }

    /// Waits for the request directories to be removed (removal runs on a blocking thread).
    async fn work_dir_is_empty(dir: &Path) -> bool {
        for _ in 0..100 {
            if std::fs::read_dir(dir).unwrap().next().is_none() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn an_allowed_app_comes_back_as_json_documents_and_its_directory_is_removed() {
        let mut served = serve().await;
        let archive = tar_gz(&[("apps/api/deploy.yaml", &deployment(false)), ("other/x.yaml", "ignored: true\n")]);
        let response = generate(&mut served, messages(metadata(&archive, "apps/api"), &archive)).await.unwrap();
        assert_eq!(response.manifests.len(), 1);
        let document: serde_json::Value = serde_json::from_str(&response.manifests[0]).unwrap();
        assert_eq!(document["metadata"]["name"], "api");
        assert!(work_dir_is_empty(&served.work_dir).await);
        let metrics = served.state.metrics.encode().unwrap();
        assert!(
            metrics.contains("syncgate_decisions_total{decision=\"allow\",project=\"unknown\",namespace=\"web\"} 1")
        );
    }

    #[tokio::test]
    async fn a_denied_app_is_status_unknown_with_the_status_message() {
        let mut served = serve().await;
        let archive = tar_gz(&[("deploy.yaml", &deployment(true))]);
        let status = generate(&mut served, messages(metadata(&archive, "."), &archive)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unknown);
        assert!(status.message().starts_with("syncgate denied 1 of 1 resources:"), "{}", status.message());
        assert!(status.message().contains("disallow-privileged"), "{}", status.message());
        assert!(work_dir_is_empty(&served.work_dir).await);
    }

    #[tokio::test]
    async fn the_metadata_must_come_first() {
        let mut served = serve().await;
        let archive = tar_gz(&[("deploy.yaml", &deployment(false))]);
        let mut stream = messages(metadata(&archive, "."), &archive);
        stream.swap(0, 1);
        let status = generate(&mut served, stream).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("first message of the stream must be the metadata"), "{}", status.message());
        let status = generate(&mut served, Vec::new()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[tokio::test]
    async fn a_wrong_checksum_is_a_checksum_validation_error() {
        let mut served = serve().await;
        let archive = tar_gz(&[("deploy.yaml", &deployment(false))]);
        let mut meta = metadata(&archive, ".");
        meta.checksum = "0".repeat(64);
        let status = generate(&mut served, messages(meta, &archive)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("file checksum validation error"), "{}", status.message());
        assert!(work_dir_is_empty(&served.work_dir).await);
    }

    #[tokio::test]
    async fn more_or_fewer_bytes_than_declared_are_refused() {
        let mut served = serve().await;
        let archive = tar_gz(&[("deploy.yaml", &deployment(false))]);
        let mut meta = metadata(&archive, ".");
        meta.size -= 1;
        let status = generate(&mut served, messages(meta, &archive)).await.unwrap_err();
        assert!(status.message().contains("more than the"), "{}", status.message());
        let mut meta = metadata(&archive, ".");
        meta.size += 1;
        let status = generate(&mut served, messages(meta, &archive)).await.unwrap_err();
        assert!(status.message().contains("but the metadata declared"), "{}", status.message());
        let mut meta = metadata(&archive, ".");
        meta.size = 2 << 20;
        let status = generate(&mut served, messages(meta, &archive)).await.unwrap_err();
        assert!(status.message().contains("larger than the limit"), "{}", status.message());
    }

    #[tokio::test]
    async fn an_app_path_outside_the_archive_is_refused() {
        let mut served = serve().await;
        let archive = tar_gz(&[("deploy.yaml", &deployment(false))]);
        for path in ["../..", "/etc", "missing"] {
            let status = generate(&mut served, messages(metadata(&archive, path), &archive)).await.unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{path}: {}", status.message());
        }
    }

    #[tokio::test]
    async fn configuration_match_and_parameters() {
        let mut served = serve().await;
        let config = served.client.check_plugin_configuration(()).await.unwrap().into_inner();
        assert_eq!(
            config,
            CheckPluginConfigurationResponse { is_discovery_configured: false, provide_git_creds: false }
        );
        let archive = tar_gz(&[("deploy.yaml", &deployment(false))]);
        let matched = served
            .client
            .match_repository(tokio_stream::iter(messages(metadata(&archive, "."), &archive)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(matched, RepositoryResponse { is_supported: true, is_discovery_enabled: false });
        let parameters = served
            .client
            .get_parameters_announcement(tokio_stream::iter(messages(metadata(&archive, "."), &archive)))
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = parameters.parameter_announcements.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["policy", "recurse"], "never the mode or the tenancy");
        assert_eq!(parameters.parameter_announcements[0].string, "default");
    }
}
