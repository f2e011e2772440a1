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
