//! The `VerifiedSource` custom resource (`syncgate.dev/v1alpha1`): which Flux source to verify,
//! which policy set gates it and which ExternalArtifact publishes it; the CRD is generated from
//! these types (`syncgate flux-controller --print-crd`).
//!
//! The status mirrors what is written on the ExternalArtifact: the published artifact and the
//! `Ready` / `SourceVerified` conditions, with `observedGeneration`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of syncgate's own resources.
pub const GROUP: &str = "syncgate.dev";
/// Flux's source API group and version.
pub const FLUX_SOURCE_API: &str = "source.toolkit.fluxcd.io/v1";

/// Verify a Flux source and publish what passes as an ExternalArtifact.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "syncgate.dev",
    version = "v1alpha1",
    kind = "VerifiedSource",
    plural = "verifiedsources",
    shortname = "vsrc",
    category = "syncgate",
    doc = "A Flux source that syncgate verifies and republishes as an ExternalArtifact.",
    namespaced,
    status = "VerifiedSourceStatus",
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.sourceRef.name"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.artifact.revision","priority":1}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifiedSourceSpec {
    /// The Flux source whose artifact is verified.
    pub source_ref: SourceReference,
    /// Directory inside the upstream artifact to render (kustomize when it holds a
    /// kustomization file, otherwise its YAML and JSON files). Defaults to the root.
    #[serde(default = "default_path")]
    #[schemars(default = "default_path")]
    pub path: String,
    /// Policy set to gate with: a subdirectory of the controller's `--policy-dir`. Defaults to
    /// `default`. Policies and modes belong to the operator; a VerifiedSource only picks a set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Name of the ExternalArtifact to publish, in this namespace. Defaults to this object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_name: Option<String>,
    /// How often to re-verify the current upstream revision (signatures can be revoked, exceptions
    /// expire), as a Go duration such as `10m`. Upstream revision changes are handled at once.
    #[serde(default = "default_interval")]
    #[schemars(default = "default_interval", regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Stop reconciling: the last published artifact stays as it is.
    #[serde(default)]
    pub suspend: bool,
}

fn default_path() -> String {
    "./".to_owned()
}

fn default_interval() -> String {
    "10m".to_owned()
}

/// The upstream Flux source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceReference {
    /// API version of the source; defaults to `source.toolkit.fluxcd.io/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; defaults to the VerifiedSource's. Refused when the controller
    /// runs with `--no-cross-namespace-refs` and it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Flux source kinds that publish an artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SourceKind {
    /// `GitRepository`.
    GitRepository,
    /// `OCIRepository`.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// `Bucket`.
    Bucket,
    /// `ExternalArtifact` (another producer's output).
    ExternalArtifact,
}

impl SourceKind {
    /// The kind as Kubernetes spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::GitRepository => "GitRepository",
            SourceKind::OciRepository => "OCIRepository",
            SourceKind::Bucket => "Bucket",
            SourceKind::ExternalArtifact => "ExternalArtifact",
        }
    }

    /// The resource's plural name.
    #[must_use]
    pub fn plural(self) -> &'static str {
        match self {
            SourceKind::GitRepository => "gitrepositories",
            SourceKind::OciRepository => "ocirepositories",
            SourceKind::Bucket => "buckets",
            SourceKind::ExternalArtifact => "externalartifacts",
        }
    }

    /// Every kind, in the order the controller watches them.
    pub const ALL: [SourceKind; 4] =
        [SourceKind::GitRepository, SourceKind::OciRepository, SourceKind::Bucket, SourceKind::ExternalArtifact];
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the controller last did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedSourceStatus {
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `SourceVerified`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifact being served (the last one that passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The upstream revision last checked, passed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled (`flux reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// A Flux artifact (`meta.Artifact`), as published on `ExternalArtifact.status.artifact`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// `sha256:<hex>` of the tar.gz file.
    pub digest: String,
    /// When it was stored, RFC 3339.
    pub last_update_time: String,
    /// Path below the artifact server's root.
    pub path: String,
    /// `<upstream revision>@sha256:<hex>`.
    pub revision: String,
    /// Size of the tar.gz file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Where consumers download it.
    pub url: String,
    /// Upstream information (`org.opencontainers.image.revision`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `SourceVerified`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// What a person reads.
    pub message: String,
    /// The generation this condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed, RFC 3339.
    pub last_transition_time: String,
}

/// The CRD as YAML, what `plugin-manifests/flux/crd.yaml` holds.
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    use kube::CustomResourceExt as _;
    let crd = serde_json::to_value(VerifiedSource::crd()).unwrap_or_default();
    serde_saphyr::to_string(&crd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_fill_path_and_interval() {
        let spec: VerifiedSourceSpec =
            serde_json::from_value(serde_json::json!({"sourceRef": {"kind": "GitRepository", "name": "api"}})).unwrap();
        assert_eq!(spec.path, "./");
        assert_eq!(spec.interval, "10m");
        assert!(!spec.suspend);
        assert_eq!(spec.source_ref.kind, SourceKind::GitRepository);
    }

    #[test]
    fn unknown_spec_fields_are_refused_by_name() {
        let err = serde_json::from_value::<VerifiedSourceSpec>(serde_json::json!({
            "sourceRef": {"kind": "GitRepository", "name": "api"}, "policies": ["x"]
        }))
        .unwrap_err();
        assert!(err.to_string().contains("policies"), "{err}");
    }

    #[test]
    fn oci_repository_is_spelled_as_flux_spells_it() {
        let r: SourceReference =
            serde_json::from_value(serde_json::json!({"kind": "OCIRepository", "name": "api"})).unwrap();
        assert_eq!(r.kind, SourceKind::OciRepository);
        assert_eq!(serde_json::to_value(r.kind).unwrap(), "OCIRepository");
    }

    #[test]
    fn crd_names_the_group_kind_and_status_subresource() {
        let yaml = crd_yaml().unwrap();
        assert!(yaml.contains("name: verifiedsources.syncgate.dev"), "{yaml}");
        assert!(yaml.contains("kind: VerifiedSource"));
        assert!(yaml.contains("status: {}"), "{yaml}");
        assert!(yaml.contains("- vsrc"));
    }
}
