//! Pushing cosign material to an OCI registry over plain HTTP (a loopback `docker-registry` in tests): blobs,
//! manifests, legacy `.sig`/`.att` images, and cosign v3 bundle referrers together with the referrers
//! tag-schema index for registries without the referrers API. Blocking; no authentication.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use ureq::Agent;
use ureq::http::Response;

use crate::bundle::BUNDLE_V0_3_MEDIA_TYPE;
use crate::cosign::{AttestationLayer, SignatureLayer};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI empty descriptor media type (config of artifacts).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Uncompressed tar layer media type.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Annotation naming the bundle content (`dsse-envelope` or `message-signature`).
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// Annotation naming the bundle's predicate type.
pub const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// Annotation with the creation time.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
                               application/vnd.docker.distribution.manifest.v2+json, \
                               application/vnd.docker.distribution.manifest.list.v2+json";

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request did not complete.
    #[error("{method} {url} failed")]
    Http {
        /// HTTP method.
        method: &'static str,
        /// Full URL.
        url: String,
        /// Transport error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url} answered {status}, expected {expected}: {body}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// Full URL.
        url: String,
        /// Status received.
        status: u16,
        /// Status expected.
        expected: &'static str,
        /// Response body (truncated).
        body: String,
    },
    /// A required response header is missing.
    #[error("{method} {url} answered without a {header} header")]
    MissingHeader {
        /// HTTP method.
        method: &'static str,
        /// Full URL.
        url: String,
        /// Header name.
        header: &'static str,
    },
    /// A manifest or index is not the JSON expected.
    #[error("{url} did not return a usable OCI document: {reason}")]
    Document {
        /// Full URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A digest is not `sha256:<64 hex>`.
    #[error("expected a digest sha256:<64 hex>, found {0:?}")]
    Digest(String),
}

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Artifact type (referrers).
    pub artifact_type: Option<String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor for `content`.
    #[must_use]
    pub fn of(media_type: &str, content: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: sha256_digest(content),
            size: content.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// JSON in go-containerregistry's field order: mediaType, size, digest, annotations, artifactType.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("mediaType".to_owned(), json!(self.media_type));
        object.insert("size".to_owned(), json!(self.size));
        object.insert("digest".to_owned(), json!(self.digest));
        if !self.annotations.is_empty() {
            object.insert("annotations".to_owned(), json!(self.annotations));
        }
        if let Some(artifact_type) = &self.artifact_type {
            object.insert("artifactType".to_owned(), json!(artifact_type));
        }
        Value::Object(object)
    }

    fn from_value(value: &Value) -> Option<Self> {
        Some(Descriptor {
            media_type: value.get("mediaType")?.as_str()?.to_owned(),
            digest: value.get("digest")?.as_str()?.to_owned(),
            size: value.get("size")?.as_u64()?,
            artifact_type: value.get("artifactType").and_then(Value::as_str).map(str::to_owned),
            annotations: value
                .get("annotations")
                .and_then(Value::as_object)
                .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default(),
        })
    }
}

/// `sha256:<hex>` of `content`.
#[must_use]
pub fn sha256_digest(content: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(content)))
}

/// The tag cosign derives from a digest: `sha256:<hex>` → `sha256-<hex>` plus `.suffix` if not empty.
pub fn digest_tag(digest: &str, suffix: &str) -> Result<String, RegistryError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| RegistryError::Digest(digest.to_owned()))?;
    Ok(if suffix.is_empty() { format!("sha256-{hex}") } else { format!("sha256-{hex}.{suffix}") })
}

/// A registry reached over HTTP.
#[derive(Debug, Clone)]
pub struct Registry {
    base: String,
    agent: Agent,
}

impl Registry {
    /// A client for `base_url`, e.g. `http://127.0.0.1:5000`.
    #[must_use]
    pub fn new(base_url: &str) -> Self {
        let config =
            Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build();
        Registry { base: base_url.trim_end_matches('/').to_owned(), agent: config.into() }
    }

    /// The base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `host:port`, as image references name the registry.
    #[must_use]
    pub fn host(&self) -> &str {
        self.base.split_once("://").map_or(self.base.as_str(), |(_, host)| host)
    }

    /// `host:port/<repo>`: the docker reference cosign writes into payloads.
    #[must_use]
    pub fn docker_reference(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host())
    }

    /// The digest a tag points to (HEAD with the OCI and Docker manifest and index Accept types).
    pub fn resolve(&self, repo: &str, reference: &str) -> Result<String, RegistryError> {
        Ok(self.head_manifest(repo, reference)?.digest)
    }

    /// The descriptor (media type, digest, size) of a manifest, by HEAD.
    pub fn head_manifest(&self, repo: &str, reference: &str) -> Result<Descriptor, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let response = self.agent.head(&url).header("Accept", MANIFEST_ACCEPT).call().map_err(http("HEAD", &url))?;
        let response = expect_status(response, "HEAD", &url, &[200], "200")?;
        let header = |name: &'static str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| RegistryError::MissingHeader { method: "HEAD", url: url.clone(), header: name })
        };
        let digest = header("Docker-Content-Digest")?;
        let media_type = header("Content-Type")?;
        let size = header("Content-Length")?.parse().unwrap_or(0);
        Ok(Descriptor { media_type, digest, size, artifact_type: None, annotations: BTreeMap::new() })
    }

    /// A manifest's bytes and media type, or `None` if the registry does not have it.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<Option<(String, Vec<u8>)>, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let response = self.agent.get(&url).header("Accept", MANIFEST_ACCEPT).call().map_err(http("GET", &url))?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        let mut response = expect_status(response, "GET", &url, &[200], "200")?;
        let media_type =
            response.headers().get("Content-Type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = response.body_mut().read_to_vec().map_err(http("GET", &url))?;
        Ok(Some((media_type, body)))
    }

    /// A blob's bytes.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base);
        let response = self.agent.get(&url).call().map_err(http("GET", &url))?;
        let mut response = expect_status(response, "GET", &url, &[200], "200")?;
        response.body_mut().read_to_vec().map_err(http("GET", &url))
    }

    /// Tags of a repository.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>, RegistryError> {
        let url = format!("{}/v2/{repo}/tags/list", self.base);
        let response = self.agent.get(&url).call().map_err(http("GET", &url))?;
        let mut response = expect_status(response, "GET", &url, &[200], "200")?;
        let body = response.body_mut().read_to_vec().map_err(http("GET", &url))?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::Document { url: url.clone(), reason: e.to_string() })?;
        Ok(value["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Uploads a blob (POST then PUT with `?digest=`) and returns its digest.
    pub fn push_blob(&self, repo: &str, content: &[u8]) -> Result<String, RegistryError> {
        let digest = sha256_digest(content);
        let url = format!("{}/v2/{repo}/blobs/uploads/", self.base);
        let response = self.agent.post(&url).send_empty().map_err(http("POST", &url))?;
        let response = expect_status(response, "POST", &url, &[202], "202")?;
        let location = response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::MissingHeader { method: "POST", url: url.clone(), header: "Location" })?;
        let mut upload = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        };
        upload.push(if upload.contains('?') { '&' } else { '?' });
        upload.push_str("digest=");
        upload.push_str(&digest);
        let response = self
            .agent
            .put(&upload)
            .header("Content-Type", "application/octet-stream")
            .send(content)
            .map_err(http("PUT", &upload))?;
        expect_status(response, "PUT", &upload, &[201], "201")?;
        Ok(digest)
    }

    /// Uploads a manifest under `reference` (a tag or its own digest) and returns its digest.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let response =
            self.agent.put(&url).header("Content-Type", media_type).send(content).map_err(http("PUT", &url))?;
        expect_status(response, "PUT", &url, &[201], "201")?;
        Ok(sha256_digest(content))
    }

    /// Pushes a minimal single-layer OCI image (linux/amd64, one uncompressed tar layer holding `files`) and
    /// tags it. Returns the manifest descriptor.
    pub fn push_image(&self, repo: &str, tag: &str, files: &[(&str, &[u8])]) -> Result<Descriptor, RegistryError> {
        let layer = tar(files);
        let layer_digest = self.push_blob(repo, &layer)?;
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        })
        .to_string()
        .into_bytes();
        self.push_blob(repo, &config)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": Descriptor::of(OCI_CONFIG, &config).to_value(),
            "layers": [Descriptor::of(OCI_LAYER_TAR, &layer).to_value()],
        })
        .to_string()
        .into_bytes();
        self.push_manifest(repo, tag, OCI_MANIFEST, &manifest)?;
        Ok(Descriptor::of(OCI_MANIFEST, &manifest))
    }

    /// Writes the `sha256-<hex>.sig` image for `image_digest`, one layer per signature, replacing any previous
    /// one (cosign appends; callers that want several signatures pass them all). Returns the manifest descriptor.
    pub fn push_signatures(
        &self,
        repo: &str,
        image_digest: &str,
        layers: &[SignatureLayer],
    ) -> Result<Descriptor, RegistryError> {
        let layers: Vec<(&[u8], &str, &BTreeMap<String, String>)> =
            layers.iter().map(|l| (l.payload.as_slice(), l.media_type.as_str(), &l.annotations)).collect();
        self.push_cosign_image(repo, &digest_tag(image_digest, "sig")?, &layers)
    }

    /// Writes the `sha256-<hex>.att` image for `image_digest`, one layer per attestation.
    pub fn push_attestations(
        &self,
        repo: &str,
        image_digest: &str,
        layers: &[AttestationLayer],
    ) -> Result<Descriptor, RegistryError> {
        let layers: Vec<(&[u8], &str, &BTreeMap<String, String>)> =
            layers.iter().map(|l| (l.envelope_json.as_slice(), l.media_type.as_str(), &l.annotations)).collect();
        self.push_cosign_image(repo, &digest_tag(image_digest, "att")?, &layers)
    }

    fn push_cosign_image(
        &self,
        repo: &str,
        tag: &str,
        layers: &[(&[u8], &str, &BTreeMap<String, String>)],
    ) -> Result<Descriptor, RegistryError> {
        let mut descriptors = Vec::with_capacity(layers.len());
        for (content, media_type, annotations) in layers {
            self.push_blob(repo, content)?;
            let mut descriptor = Descriptor::of(media_type, content);
            descriptor.annotations = (*annotations).clone();
            descriptors.push(descriptor);
        }
        let config = cosign_config(layers.iter().map(|(content, _, _)| sha256_digest(content)));
        self.push_blob(repo, &config)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": Descriptor::of(OCI_CONFIG, &config).to_value(),
            "layers": descriptors.iter().map(Descriptor::to_value).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        self.push_manifest(repo, tag, OCI_MANIFEST, &manifest)?;
        Ok(Descriptor::of(OCI_MANIFEST, &manifest))
    }

    /// Publishes a v0.3 bundle as cosign v3 does: an OCI manifest with `artifactType` and config `artifactType`
    /// [`BUNDLE_V0_3_MEDIA_TYPE`], the empty config blob `{}`, one bundle layer, `subject`, and annotations
    /// (`dev.sigstore.bundle.content`, `dev.sigstore.bundle.predicateType` when given,
    /// `org.opencontainers.image.created`), pushed by digest. Then adds it to the referrers tag-schema index at
    /// `sha256-<subject hex>` (read, append, write). Returns the referrer's descriptor as listed in the index.
    pub fn push_referrer_bundle(
        &self,
        repo: &str,
        subject: &Descriptor,
        bundle_json: &[u8],
        predicate_type: Option<&str>,
    ) -> Result<Descriptor, RegistryError> {
        let content = if serde_json::from_slice::<Value>(bundle_json).is_ok_and(|b| b.get("messageSignature").is_some())
        {
            "message-signature"
        } else {
            "dsse-envelope"
        };
        let mut annotations = BTreeMap::from([
            (BUNDLE_CONTENT_ANNOTATION.to_owned(), content.to_owned()),
            (CREATED_ANNOTATION.to_owned(), crate::certificate::truncate(Timestamp::now()).to_string()),
        ]);
        if let Some(predicate_type) = predicate_type {
            annotations.insert(BUNDLE_PREDICATE_TYPE_ANNOTATION.to_owned(), predicate_type.to_owned());
        }
        self.push_referrer(repo, subject, BUNDLE_V0_3_MEDIA_TYPE, &[(BUNDLE_V0_3_MEDIA_TYPE, bundle_json)], annotations)
    }

    /// Publishes any referrer artifact (layers as `(media type, content)`) for `subject` and indexes it under
    /// the referrers tag schema.
    pub fn push_referrer(
        &self,
        repo: &str,
        subject: &Descriptor,
        artifact_type: &str,
        layers: &[(&str, &[u8])],
        annotations: BTreeMap<String, String>,
    ) -> Result<Descriptor, RegistryError> {
        let empty = b"{}";
        self.push_blob(repo, empty)?;
        let mut config = Descriptor::of(OCI_EMPTY, empty);
        config.artifact_type = Some(artifact_type.to_owned());
        let mut layer_descriptors = Vec::with_capacity(layers.len());
        for (media_type, content) in layers {
            self.push_blob(repo, content)?;
            layer_descriptors.push(Descriptor::of(media_type, content).to_value());
        }
        let subject_value =
            Descriptor { annotations: BTreeMap::new(), artifact_type: None, ..subject.clone() }.to_value();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.to_value(),
            "layers": layer_descriptors,
            "annotations": annotations,
            "subject": subject_value,
            "artifactType": artifact_type,
        })
        .to_string()
        .into_bytes();
        let digest = sha256_digest(&manifest);
        self.push_manifest(repo, &digest, OCI_MANIFEST, &manifest)?;
        let mut descriptor = Descriptor::of(OCI_MANIFEST, &manifest);
        descriptor.artifact_type = Some(artifact_type.to_owned());
        descriptor.annotations = annotations;
        self.add_to_referrers_index(repo, &subject.digest, &descriptor)?;
        Ok(descriptor)
    }

    /// Adds `referrer` to the tag-schema index `sha256-<hex>` of `subject_digest`, creating it if needed;
    /// an entry with the same digest is replaced.
    pub fn add_to_referrers_index(
        &self,
        repo: &str,
        subject_digest: &str,
        referrer: &Descriptor,
    ) -> Result<String, RegistryError> {
        let tag = digest_tag(subject_digest, "")?;
        let mut manifests = Vec::new();
        if let Some((_, body)) = self.get_manifest(repo, &tag)? {
            let url = format!("{}/v2/{repo}/manifests/{tag}", self.base);
            let index: Value = serde_json::from_slice(&body)
                .map_err(|e| RegistryError::Document { url: url.clone(), reason: e.to_string() })?;
            for item in index["manifests"].as_array().into_iter().flatten() {
                let descriptor = Descriptor::from_value(item).ok_or_else(|| RegistryError::Document {
                    url: url.clone(),
                    reason: format!("bad descriptor {item}"),
                })?;
                if descriptor.digest != referrer.digest {
                    manifests.push(descriptor);
                }
            }
        }
        manifests.push(referrer.clone());
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests.iter().map(Descriptor::to_value).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        self.push_manifest(repo, &tag, OCI_INDEX, &index)
    }
}

/// The image config cosign writes for `.sig`/`.att` images, compact, with one history entry per layer.
#[must_use]
pub fn cosign_config(layer_digests: impl Iterator<Item = String>) -> Vec<u8> {
    let diff_ids: Vec<String> = layer_digests.collect();
    let history: Vec<Value> = diff_ids.iter().map(|_| json!({"created": "0001-01-01T00:00:00Z"})).collect();
    json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
    })
    .to_string()
    .into_bytes()
}

/// A POSIX ustar archive holding `files` (mode 0644, uid/gid 0, mtime 0).
#[must_use]
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in files {
        let mut header = [0u8; 512];
        let name = name.trim_start_matches('/').as_bytes();
        let name_len = name.len().min(100);
        header[..name_len].copy_from_slice(&name[..name_len]);
        let octal = |field: &mut [u8], value: u64| {
            let text = format!("{value:0width$o}\0", width = field.len() - 1);
            field.copy_from_slice(text.as_bytes());
        };
        octal(&mut header[100..108], 0o644);
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], content.len() as u64);
        octal(&mut header[136..148], 0);
        header[148..156].fill(b' ');
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        let checksum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        let text = format!("{checksum:06o}\0 ");
        header[148..156].copy_from_slice(text.as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn http(method: &'static str, url: &str) -> impl FnOnce(ureq::Error) -> RegistryError {
    let url = url.to_owned();
    move |source| RegistryError::Http { method, url, source: Box::new(source) }
}

fn expect_status(
    mut response: Response<ureq::Body>,
    method: &'static str,
    url: &str,
    accepted: &[u16],
    expected: &'static str,
) -> Result<Response<ureq::Body>, RegistryError> {
    let status = response.status().as_u16();
    if accepted.contains(&status) {
        return Ok(response);
    }
    let mut body = response.body_mut().read_to_string().unwrap_or_default();
    body.truncate(500);
    Err(RegistryError::Status { method, url: url.to_owned(), status, expected, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_tags() {
        let digest = format!("sha256:{}", "0f".repeat(32));
        assert_eq!(digest_tag(&digest, "sig").unwrap(), format!("sha256-{}.sig", "0f".repeat(32)));
        assert_eq!(digest_tag(&digest, "").unwrap(), format!("sha256-{}", "0f".repeat(32)));
        assert!(digest_tag("sha256:abc", "sig").is_err());
    }

    #[test]
    fn cosign_config_is_byte_identical() {
        let digest = sha256_digest(b"x");
        assert_eq!(
            String::from_utf8(cosign_config([digest.clone()].into_iter())).unwrap(),
            format!(
                r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{{"created":"0001-01-01T00:00:00Z"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{digest}"]}},"config":{{}}}}"#
            )
        );
    }

    #[test]
    fn empty_config_digest_is_the_oci_empty_descriptor() {
        assert_eq!(
            Descriptor::of(OCI_EMPTY, b"{}").digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn tar_is_readable_by_tar() {
        let archive = tar(&[("hello.txt", b"hello\n")]);
        assert_eq!(archive.len() % 512, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        std::fs::write(&path, &archive).unwrap();
        let out = std::process::Command::new("tar").arg("-xOf").arg(&path).arg("hello.txt").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"hello\n");
    }
}
