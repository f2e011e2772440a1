//! Finds the signing material stored next to an image: cosign's legacy tags (`sha256-<hex>.sig`,
//! `sha256-<hex>.att`) and Sigstore bundles attached as OCI referrers (the referrers API, or the
//! referrers tag schema `sha256-<hex>` on registries without it).
//!
//! Owns the storage layout and its limits. It reads bytes and annotations and trusts none of them:
//! what the material proves is decided by [`super::check`].

use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageIndex};

use crate::image::{Digest, ImageRef};
use crate::registry::{Artifacts, ResolveError};

/// Layer media type of a cosign simple-signing signature.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer media type of a cosign (legacy) attestation: a DSSE envelope.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Media types of Sigstore bundles (as layer media type or artifact type).
pub const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];
/// Annotation holding a legacy signature (base64).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Annotation holding the signer's PEM certificate.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Annotation holding the PEM chain above the certificate.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Annotation holding the Rekor bundle (signed entry timestamp and entry).
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Annotation naming an attestation's predicate type (legacy layers).
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// Annotation naming a referrer bundle's predicate type (cosign v3).
pub const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// Most layers read from one signature or attestation manifest, and most referrers read per image.
pub const MAX_LAYERS: usize = 32;
/// Largest signature payload, attestation envelope or bundle read.
pub const MAX_BLOB_BYTES: usize = 4 * 1024 * 1024;

/// Where a piece of material was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A layer of a legacy tag (`sha256-<hex>.sig` or `.att`), by position.
    Tag {
        /// The tag.
        tag: String,
        /// The layer's index.
        layer: usize,
    },
    /// A referrer manifest (cosign v3 bundle).
    Referrer {
        /// The referrer manifest's digest.
        manifest: Digest,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Tag { tag, layer } => write!(f, "{tag} layer {layer}"),
            Origin::Referrer { manifest } => write!(f, "referrer {manifest}"),
        }
    }
}

/// A layer's payload with the cosign annotations that travel with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Where it was found.
    pub origin: Origin,
    /// The blob: a simple-signing payload or a DSSE envelope.
    pub blob: Vec<u8>,
    /// `dev.cosignproject.cosign/signature` (legacy signatures only).
    pub signature: Option<String>,
    /// `dev.sigstore.cosign/certificate`.
    pub certificate: Option<String>,
    /// `dev.sigstore.cosign/chain`.
    pub chain: Option<String>,
    /// `dev.sigstore.cosign/bundle`.
    pub rekor_bundle: Option<String>,
    /// `predicateType` (attestations only).
    pub predicate_type: Option<String>,
}

/// A Sigstore bundle attached to the image as a referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referred {
    /// Where it was found.
    pub origin: Origin,
    /// The bundle JSON.
    pub bundle: Vec<u8>,
    /// The predicate type its manifest announces (unverified; the bundle's statement decides).
    pub predicate_type: Option<String>,
}

/// Everything found for one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Material {
    /// Legacy simple-signing signatures.
    pub signatures: Vec<Layer>,
    /// Legacy DSSE attestations.
    pub attestations: Vec<Layer>,
    /// Sigstore bundles (signatures and attestations).
    pub bundles: Vec<Referred>,
    /// Material that was found but skipped, and why (shown when nothing verifies).
    pub skipped: Vec<String>,
}

/// Why the material could not be read (the registry failed; absence is not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    /// The registry failed or refused while reading signature material.
    #[error("cannot read signatures: {0}")]
    Registry(#[from] ResolveError),
}

/// The legacy tag of `digest` with `suffix` (`sig`, `att`; empty for the referrers tag schema).
#[must_use]
pub fn tag_for(digest: &Digest, suffix: &str) -> String {
    if suffix.is_empty() {
        format!("{}-{}", digest.algorithm(), digest.hex())
    } else {
        format!("{}-{}.{suffix}", digest.algorithm(), digest.hex())
    }
}

/// Reads the legacy signature tag, and the attestation tag when `attestations` (two requests per
/// tag that exists plus one per layer; one request for a tag that does not).
pub async fn legacy(
    store: &dyn Artifacts,
    image: &ImageRef,
    digest: &Digest,
    attestations: bool,
) -> Result<Material, DiscoverError> {
    let mut material = Material::default();
    material.signatures =
        layers(store, image, &tag_for(digest, "sig"), SIMPLE_SIGNING_MEDIA_TYPE, &mut material.skipped).await?;
    if attestations {
        material.attestations =
            layers(store, image, &tag_for(digest, "att"), DSSE_MEDIA_TYPE, &mut material.skipped).await?;
    }
    Ok(material)
}

/// Reads the Sigstore bundles that refer to `digest`: the referrers API, else the referrers tag
/// schema. Referrers announcing a predicate type for which `wanted` is false are not fetched.
pub async fn referred(
    store: &dyn Artifacts,
    image: &ImageRef,
    digest: &Digest,
    wanted: &(dyn Fn(Option<&str>) -> bool + Sync),
    skipped: &mut Vec<String>,
) -> Result<Vec<Referred>, DiscoverError> {
    let index = match store.referrers(image, digest).await? {
        Some(index) => Some(index),
        None => store.manifest(image, &tag_for(digest, ""), &[OCI_IMAGE_INDEX_MEDIA_TYPE]).await?,
    };
    let Some(index) = index else { return Ok(Vec::new()) };
    let index: OciImageIndex = match serde_json::from_slice(&index.body) {
        Ok(index) => index,
        Err(error) => {
            skipped.push(format!("referrers index of {digest} is not an OCI image index: {error}"));
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for entry in index.manifests.iter().take(MAX_LAYERS) {
        let announced = annotation(entry.annotations.as_ref(), BUNDLE_PREDICATE_TYPE_ANNOTATION);
        // The index's artifactType is not reliable (ghcr.io lists the empty type): filter on the layer.
        if !wanted(announced.as_deref()) {
            continue;
        }
        let Ok(manifest_digest) = Digest::parse(&entry.digest) else {
            skipped.push(format!("referrer with invalid digest {:?}", entry.digest));
            continue;
        };
        let Some(manifest) = store.manifest(image, manifest_digest.as_str(), &[OCI_IMAGE_MEDIA_TYPE]).await? else {
            skipped.push(format!("referrer {manifest_digest} is listed but not found"));
            continue;
        };
        let manifest: oci_client::manifest::OciImageManifest = match serde_json::from_slice(&manifest.body) {
            Ok(manifest) => manifest,
            Err(error) => {
                skipped.push(format!("referrer {manifest_digest} is not an OCI image manifest: {error}"));
                continue;
            }
        };
        if manifest.subject.as_ref().is_some_and(|subject| subject.digest != digest.as_str()) {
            skipped.push(format!("referrer {manifest_digest} names another subject"));
            continue;
        }
        let Some(layer) = manifest.layers.iter().find(|layer| BUNDLE_MEDIA_TYPES.contains(&layer.media_type.as_str()))
        else {
            continue;
        };
        let predicate_type = annotation(manifest.annotations.as_ref(), BUNDLE_PREDICATE_TYPE_ANNOTATION).or(announced);
        let origin = Origin::Referrer { manifest: manifest_digest };
        if let Some(bundle) = blob(store, image, layer, &origin, skipped).await? {
            out.push(Referred { origin, bundle, predicate_type });
        }
    }
    Ok(out)
}

/// The layers of `media_type` in the manifest at `tag`, with their blobs.
async fn layers(
    store: &dyn Artifacts,
    image: &ImageRef,
    tag: &str,
    media_type: &str,
    skipped: &mut Vec<String>,
) -> Result<Vec<Layer>, DiscoverError> {
    let accept = [OCI_IMAGE_MEDIA_TYPE, oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE];
    let Some(manifest) = store.manifest(image, tag, &accept).await? else { return Ok(Vec::new()) };
    let manifest: oci_client::manifest::OciImageManifest = match serde_json::from_slice(&manifest.body) {
        Ok(manifest) => manifest,
        Err(error) => {
            skipped.push(format!("{tag} is not an image manifest: {error}"));
            return Ok(Vec::new());
        }
    };
    if manifest.layers.len() > MAX_LAYERS {
        skipped.push(format!("{tag} has {} layers; only the first {MAX_LAYERS} are read", manifest.layers.len()));
    }
    let mut out = Vec::new();
    for (index, descriptor) in manifest.layers.iter().take(MAX_LAYERS).enumerate() {
        let origin = Origin::Tag { tag: tag.to_owned(), layer: index };
        if descriptor.media_type != media_type {
            skipped.push(format!("{origin}: media type {} is not {media_type}", descriptor.media_type));
            continue;
        }
        let Some(blob) = blob(store, image, descriptor, &origin, skipped).await? else { continue };
        let annotations = descriptor.annotations.as_ref();
        out.push(Layer {
            origin,
            blob,
            signature: annotation(annotations, SIGNATURE_ANNOTATION),
            certificate: annotation(annotations, CERTIFICATE_ANNOTATION),
            chain: annotation(annotations, CHAIN_ANNOTATION),
            rekor_bundle: annotation(annotations, REKOR_BUNDLE_ANNOTATION),
            predicate_type: annotation(annotations, PREDICATE_TYPE_ANNOTATION),
        });
    }
    Ok(out)
}

/// The blob a descriptor points at, or `None` (and a note) when it is missing, too large or invalid.
async fn blob(
    store: &dyn Artifacts,
    image: &ImageRef,
    descriptor: &OciDescriptor,
    origin: &Origin,
    skipped: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, DiscoverError> {
    let Ok(digest) = Digest::parse(&descriptor.digest) else {
        skipped.push(format!("{origin}: invalid blob digest {:?}", descriptor.digest));
        return Ok(None);
    };
    if usize::try_from(descriptor.size).map_or(true, |size| size > MAX_BLOB_BYTES) {
        skipped.push(format!("{origin}: blob of {} bytes exceeds the {MAX_BLOB_BYTES}-byte limit", descriptor.size));
        return Ok(None);
    }
    let found = store.blob(image, &digest, MAX_BLOB_BYTES).await?;
    if found.is_none() {
        skipped.push(format!("{origin}: blob {digest} not found"));
    }
    Ok(found)
}

/// A string annotation, if present.
fn annotation(annotations: Option<&std::collections::BTreeMap<String, String>>, key: &str) -> Option<String> {
    annotations.and_then(|map| map.get(key)).cloned()
}

#[cfg(test)]
#[allow(clippy::needless_pass_by_value, reason = "the JSON builders read better taking owned values")]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use futures::FutureExt as _;
    use futures::future::BoxFuture;
    use serde_json::json;
    use sha2::Digest as _;

    use super::*;
    use crate::registry::Fetched;

    /// An in-memory repository: manifests by tag or digest, blobs by digest, an optional referrers API,
    /// and a log of what was asked.
    #[derive(Default)]
    struct Store {
        manifests: HashMap<String, Vec<u8>>,
        blobs: HashMap<String, Vec<u8>>,
        referrers_api: Option<Vec<u8>>,
        down: bool,
        asked: Mutex<Vec<String>>,
    }

    fn digest_of(bytes: &[u8]) -> Digest {
        Digest::parse(&format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))).unwrap()
    }

    impl Store {
        fn put(&mut self, bytes: &[u8]) -> Digest {
            let digest = digest_of(bytes);
            self.blobs.insert(digest.to_string(), bytes.to_vec());
            digest
        }

        fn unavailable() -> ResolveError {
            ResolveError::Unavailable { image: "r/x".into(), registry: "r".into(), detail: "connection refused".into() }
        }
    }

    impl Artifacts for Store {
        fn manifest<'a>(
            &'a self,
            _: &'a ImageRef,
            reference: &'a str,
            _: &'a [&'a str],
        ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
            self.asked.lock().unwrap().push(format!("manifest {reference}"));
            let found = self.manifests.get(reference).map(|body| Fetched {
                digest: digest_of(body),
                media_type: None,
                body: body.clone(),
            });
            let down = self.down;
            async move { if down { Err(Store::unavailable()) } else { Ok(found) } }.boxed()
        }

        fn blob<'a>(
            &'a self,
            _: &'a ImageRef,
            digest: &'a Digest,
            limit: usize,
        ) -> BoxFuture<'a, Result<Option<Vec<u8>>, ResolveError>> {
            self.asked.lock().unwrap().push(format!("blob {digest}"));
            let found = self.blobs.get(digest.as_str()).filter(|b| b.len() <= limit).cloned();
            async move { Ok(found) }.boxed()
        }

        fn referrers<'a>(
            &'a self,
            _: &'a ImageRef,
            subject: &'a Digest,
        ) -> BoxFuture<'a, Result<Option<Fetched>, ResolveError>> {
            self.asked.lock().unwrap().push(format!("referrers {subject}"));
            let found =
                self.referrers_api.clone().map(|body| Fetched { digest: digest_of(&body), media_type: None, body });
            async move { Ok(found) }.boxed()
        }
    }

    fn image() -> (ImageRef, Digest) {
        ("r.example/acme/api:1".parse().unwrap(), digest_of(b"the image manifest"))
    }

    fn layer(media_type: &str, digest: &Digest, size: usize, annotations: serde_json::Value) -> serde_json::Value {
        json!({"mediaType": media_type, "digest": digest.to_string(), "size": size, "annotations": annotations})
    }

    fn manifest(layers: Vec<serde_json::Value>) -> Vec<u8> {
        let config = digest_of(b"{}");
        json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_MEDIA_TYPE,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 2},
               "layers": layers})
        .to_string()
        .into_bytes()
    }

    #[tokio::test]
    async fn no_signature_tag_is_no_material_after_one_request() {
        let store = Store::default();
        let (image, digest) = image();
        let material = legacy(&store, &image, &digest, false).await.unwrap();
        assert_eq!(material, Material::default());
        assert_eq!(store.asked.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn signature_layers_carry_their_payload_and_annotations() {
        let mut store = Store::default();
        let (image, digest) = image();
        let payload = store.put(b"payload");
        let annotations =
            json!({SIGNATURE_ANNOTATION: "c2ln", CERTIFICATE_ANNOTATION: "PEM", REKOR_BUNDLE_ANNOTATION: "{}"});
        let body = manifest(vec![layer(SIMPLE_SIGNING_MEDIA_TYPE, &payload, 7, annotations)]);
        store.manifests.insert(tag_for(&digest, "sig"), body);
        let material = legacy(&store, &image, &digest, false).await.unwrap();
        assert_eq!(material.signatures.len(), 1);
        let found = &material.signatures[0];
        assert_eq!(found.blob, b"payload");
        assert_eq!(found.signature.as_deref(), Some("c2ln"));
        assert_eq!(found.certificate.as_deref(), Some("PEM"));
        assert_eq!(found.rekor_bundle.as_deref(), Some("{}"));
        assert_eq!(found.origin.to_string(), format!("{} layer 0", tag_for(&digest, "sig")));
    }

    #[tokio::test]
    async fn wrong_media_type_oversized_and_missing_blobs_are_skipped_with_a_reason() {
        let mut store = Store::default();
        let (image, digest) = image();
        let payload = store.put(b"payload");
        let missing = digest_of(b"never pushed");
        let body = manifest(vec![
            layer("application/octet-stream", &payload, 7, json!({})),
            layer(SIMPLE_SIGNING_MEDIA_TYPE, &payload, MAX_BLOB_BYTES + 1, json!({})),
            layer(SIMPLE_SIGNING_MEDIA_TYPE, &missing, 5, json!({})),
        ]);
        store.manifests.insert(tag_for(&digest, "sig"), body);
        let material = legacy(&store, &image, &digest, false).await.unwrap();
        assert!(material.signatures.is_empty());
        let skipped = material.skipped.join("\n");
        assert!(skipped.contains("layer 0: media type application/octet-stream is not"), "{skipped}");
        assert!(skipped.contains("layer 1: blob of 4194305 bytes exceeds the 4194304-byte limit"), "{skipped}");
        assert!(skipped.contains(&format!("layer 2: blob {missing} not found")), "{skipped}");
    }

    #[tokio::test]
    async fn only_the_first_layers_are_read_from_a_huge_manifest() {
        let mut store = Store::default();
        let (image, digest) = image();
        let payload = store.put(b"payload");
        let layers = (0..MAX_LAYERS + 8).map(|_| layer(SIMPLE_SIGNING_MEDIA_TYPE, &payload, 7, json!({}))).collect();
        store.manifests.insert(tag_for(&digest, "sig"), manifest(layers));
        let material = legacy(&store, &image, &digest, false).await.unwrap();
        assert_eq!(material.signatures.len(), MAX_LAYERS);
        assert!(material.skipped[0].contains(&format!("has {} layers; only the first {MAX_LAYERS}", MAX_LAYERS + 8)));
    }

    #[tokio::test]
    async fn a_registry_failure_is_an_error_not_an_absence() {
        let store = Store { down: true, ..Store::default() };
        let (image, digest) = image();
        let error = legacy(&store, &image, &digest, true).await.unwrap_err();
        assert!(error.to_string().starts_with("cannot read signatures: "), "{error}");
    }

    fn referrer(store: &mut Store, subject: &Digest, predicate: &str) -> (Digest, serde_json::Value) {
        let bundle = store.put(format!("bundle for {predicate}").as_bytes());
        let mut body: serde_json::Value =
            serde_json::from_slice(&manifest(vec![layer(BUNDLE_MEDIA_TYPES[0], &bundle, 10, json!({}))])).unwrap();
        body["subject"] = json!({"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": subject.to_string(), "size": 1});
        body["annotations"] = json!({BUNDLE_PREDICATE_TYPE_ANNOTATION: predicate});
        let bytes = body.to_string().into_bytes();
        let manifest_digest = digest_of(&bytes);
        store.manifests.insert(manifest_digest.to_string(), bytes.clone());
        let entry = json!({"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": manifest_digest.to_string(), "size": bytes.len(),
                           "annotations": {BUNDLE_PREDICATE_TYPE_ANNOTATION: predicate}});
        (manifest_digest, entry)
    }

    fn index(entries: Vec<serde_json::Value>) -> Vec<u8> {
        json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE, "manifests": entries})
            .to_string()
            .into_bytes()
    }

    #[tokio::test]
    async fn referrers_come_from_the_api_when_the_registry_has_it() {
        let mut store = Store::default();
        let (image, digest) = image();
        let (_, entry) = referrer(&mut store, &digest, "https://sigstore.dev/cosign/sign/v1");
        store.referrers_api = Some(index(vec![entry]));
        let mut skipped = Vec::new();
        let found = referred(&store, &image, &digest, &|_| true, &mut skipped).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].bundle, b"bundle for https://sigstore.dev/cosign/sign/v1");
        let asked = store.asked.lock().unwrap().clone();
        assert!(!asked.contains(&format!("manifest {}", tag_for(&digest, ""))), "{asked:?}");
    }

    #[tokio::test]
    async fn referrers_fall_back_to_the_tag_schema_and_skip_unwanted_predicates() {
        let mut store = Store::default();
        let (image, digest) = image();
        let (_, wanted) = referrer(&mut store, &digest, "https://slsa.dev/provenance/v1");
        let (unwanted_digest, unwanted) = referrer(&mut store, &digest, "https://spdx.dev/Document");
        store.manifests.insert(tag_for(&digest, ""), index(vec![wanted, unwanted]));
        let mut skipped = Vec::new();
        let only_provenance = |p: Option<&str>| p == Some("https://slsa.dev/provenance/v1");
        let found = referred(&store, &image, &digest, &only_provenance, &mut skipped).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].predicate_type.as_deref(), Some("https://slsa.dev/provenance/v1"));
        let asked = store.asked.lock().unwrap().clone();
        assert!(!asked.contains(&format!("manifest {unwanted_digest}")), "an unwanted referrer was fetched: {asked:?}");
    }

    #[tokio::test]
    async fn a_referrer_about_another_subject_is_skipped() {
        let mut store = Store::default();
        let (image, digest) = image();
        let other = digest_of(b"another image");
        let (_, entry) = referrer(&mut store, &other, "https://sigstore.dev/cosign/sign/v1");
        store.referrers_api = Some(index(vec![entry]));
        let mut skipped = Vec::new();
        let found = referred(&store, &image, &digest, &|_| true, &mut skipped).await.unwrap();
        assert!(found.is_empty());
        assert!(skipped[0].ends_with("names another subject"), "{skipped:?}");
    }
}
