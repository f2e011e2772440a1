//! Which kinds are cluster-scoped: a built-in table for Kubernetes 1.35 plus the
//! CustomResourceDefinitions found in the same stream.
//!
//! Owns the scope of a kind, nothing else. Argo CD asks the destination cluster's discovery API;
//! syncgate runs before anything reaches a cluster and may have none to ask, so it knows the built-in
//! kinds and learns custom ones from CRDs rendered alongside them.

use std::collections::BTreeMap;

use serde_json::Value;

/// Every cluster-scoped kind Kubernetes 1.35 serves, by API group (`""` is the core group), as
/// k8s-openapi's `v1_35` module declares them (`Scope = ClusterResourceScope`). Discovery-only types
/// (`APIGroup`, `APIResourceList`, …) are left out: they are never manifests.
const CLUSTER_SCOPED: &[(&str, &[&str])] = &[
    ("", &["ComponentStatus", "Namespace", "Node", "PersistentVolume"]),
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
    ("apiregistration.k8s.io", &["APIService"]),
    ("authentication.k8s.io", &["SelfSubjectReview", "TokenReview"]),
    ("authorization.k8s.io", &["SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview"]),
    ("certificates.k8s.io", &["CertificateSigningRequest", "ClusterTrustBundle"]),
    ("flowcontrol.apiserver.k8s.io", &["FlowSchema", "PriorityLevelConfiguration"]),
    ("internal.apiserver.k8s.io", &["StorageVersion"]),
    ("networking.k8s.io", &["IPAddress", "IngressClass", "ServiceCIDR"]),
    ("node.k8s.io", &["RuntimeClass"]),
    ("rbac.authorization.k8s.io", &["ClusterRole", "ClusterRoleBinding"]),
    ("resource.k8s.io", &["DeviceClass", "DeviceTaintRule", "ResourceSlice"]),
    ("scheduling.k8s.io", &["PriorityClass"]),
    ("storage.k8s.io", &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment", "VolumeAttributesClass"]),
    ("storagemigration.k8s.io", &["StorageVersionMigration"]),
];

/// Scopes declared by CustomResourceDefinitions: `(group, kind)` → cluster-scoped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrdScopes {
    scopes: BTreeMap<(String, String), bool>,
}

impl CrdScopes {
    /// The scope one CRD declares (empty when the document is not a CRD with a known scope).
    #[must_use]
    pub fn from_crd(crd: &Value) -> Self {
        let mut scopes = CrdScopes::default();
        scopes.record(crd);
        scopes
    }

    /// The scopes every CRD among `documents` declares; other documents are ignored.
    pub fn from_documents<'a>(documents: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut scopes = CrdScopes::default();
        for document in documents {
            scopes.record(document);
        }
        scopes
    }

    /// Records the scope of `crd` (`spec.group`, `spec.names.kind`, `spec.scope`: `Cluster` or
    /// `Namespaced`); returns whether it was a CRD with a usable scope.
    pub fn record(&mut self, crd: &Value) -> bool {
        let is_crd = crd.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
            && crd.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
        if !is_crd {
            return false;
        }
        let spec = crd.get("spec");
        let group = spec.and_then(|s| s.get("group")).and_then(Value::as_str);
        let kind = spec.and_then(|s| s.get("names")).and_then(|n| n.get("kind")).and_then(Value::as_str);
        let cluster = match spec.and_then(|s| s.get("scope")).and_then(Value::as_str) {
            Some("Cluster") => true,
            Some("Namespaced") => false,
            _ => return false,
        };
        match (group, kind) {
            (Some(group), Some(kind)) if !kind.is_empty() => {
                self.scopes.insert((group.to_owned(), kind.to_owned()), cluster);
                true
            }
            _ => false,
        }
    }

    /// Whether a CRD declared `group`/`kind` cluster-scoped (`Some(true)`), namespaced
    /// (`Some(false)`), or nothing about it (`None`).
    #[must_use]
    pub fn scope(&self, group: &str, kind: &str) -> Option<bool> {
        self.scopes.get(&(group.to_owned(), kind.to_owned())).copied()
    }

    /// How many kinds are recorded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether nothing is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }
}

/// Whether `apiVersion`/`kind` is cluster-scoped: a CRD in `crds` decides first, then the built-in
/// Kubernetes 1.35 table.
///
/// Any other kind is taken as namespaced. Most custom resources are namespaced, and calling one
/// cluster-scoped would deny it under every project whose cluster whitelist does not name it, while
/// calling it namespaced still subjects it to the namespaced kind lists and the destination check.
/// A custom cluster-scoped kind whose CRD is not in the stream is therefore checked as namespaced
/// here; Argo CD's own sync-time check, which asks the cluster, still applies to it.
#[must_use]
pub fn is_cluster_scoped(api_version: &str, kind: &str, crds: &CrdScopes) -> bool {
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    if let Some(cluster) = crds.scope(group, kind) {
        return cluster;
    }
    CLUSTER_SCOPED.iter().any(|(g, kinds)| *g == group && kinds.contains(&kind))
}

/// The identity findings give `resource`: its namespace, or `default_namespace` when it sets none
/// and its kind is namespaced (Argo CD and kubectl give cluster-scoped kinds no namespace).
#[must_use]
pub fn effective_id(resource: &crate::manifest::Resource<'_>, default_namespace: &str) -> crate::report::ResourceId {
    let cluster_scoped = is_cluster_scoped(resource.api_version(), resource.kind(), &CrdScopes::default());
    resource.id((!cluster_scoped).then_some(default_namespace))
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use k8s_openapi::{ClusterResourceScope, Resource};
    use serde_json::json;

    use super::*;

    fn agrees<T: Resource>() -> Result<(), String>
    where
        T::Scope: 'static,
    {
        let cluster = TypeId::of::<T::Scope>() == TypeId::of::<ClusterResourceScope>();
        if is_cluster_scoped(T::API_VERSION, T::KIND, &CrdScopes::default()) == cluster {
            Ok(())
        } else {
            Err(format!("{} {}: k8s-openapi says cluster-scoped = {cluster}", T::API_VERSION, T::KIND))
        }
    }

    macro_rules! check_all {
        ($($ty:ty),* $(,)?) => {{
            let failures: Vec<String> = [$(agrees::<$ty>()),*].into_iter().filter_map(Result::err).collect();
            assert!(failures.is_empty(), "{failures:#?}");
        }};
    }

    #[test]
    fn builtin_table_agrees_with_k8s_openapi() {
        use k8s_openapi::api::*;
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
        use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
        check_all!(
            // cluster-scoped
            core::v1::ComponentStatus,
            core::v1::Namespace,
            core::v1::Node,
            core::v1::PersistentVolume,
            admissionregistration::v1::MutatingWebhookConfiguration,
            admissionregistration::v1::ValidatingWebhookConfiguration,
            admissionregistration::v1::ValidatingAdmissionPolicy,
            admissionregistration::v1::ValidatingAdmissionPolicyBinding,
            admissionregistration::v1beta1::MutatingAdmissionPolicy,
            admissionregistration::v1beta1::MutatingAdmissionPolicyBinding,
            apiextensions::CustomResourceDefinition,
            apiregistration::APIService,
            authentication::v1::SelfSubjectReview,
            authentication::v1::TokenReview,
            authorization::v1::SelfSubjectAccessReview,
            authorization::v1::SelfSubjectRulesReview,
            authorization::v1::SubjectAccessReview,
            certificates::v1::CertificateSigningRequest,
            certificates::v1beta1::ClusterTrustBundle,
            flowcontrol::v1::FlowSchema,
            flowcontrol::v1::PriorityLevelConfiguration,
            apiserverinternal::v1alpha1::StorageVersion,
            networking::v1::IPAddress,
            networking::v1::IngressClass,
            networking::v1::ServiceCIDR,
            node::v1::RuntimeClass,
            rbac::v1::ClusterRole,
            rbac::v1::ClusterRoleBinding,
            resource::v1::DeviceClass,
            resource::v1::ResourceSlice,
            resource::v1alpha3::DeviceTaintRule,
            scheduling::v1::PriorityClass,
            storage::v1::CSIDriver,
            storage::v1::CSINode,
            storage::v1::StorageClass,
            storage::v1::VolumeAttachment,
            storage::v1::VolumeAttributesClass,
            storagemigration::v1beta1::StorageVersionMigration,
            // namespaced
            core::v1::Pod,
            core::v1::ConfigMap,
            core::v1::Secret,
            core::v1::Service,
            core::v1::ServiceAccount,
            core::v1::PersistentVolumeClaim,
            core::v1::ResourceQuota,
            core::v1::LimitRange,
            core::v1::Event,
            apps::v1::Deployment,
            apps::v1::StatefulSet,
            apps::v1::ControllerRevision,
            batch::v1::CronJob,
            rbac::v1::Role,
            rbac::v1::RoleBinding,
            authorization::v1::LocalSubjectAccessReview,
            networking::v1::Ingress,
            networking::v1::NetworkPolicy,
            discovery::v1::EndpointSlice,
            coordination::v1::Lease,
            policy::v1::PodDisruptionBudget,
            autoscaling::v2::HorizontalPodAutoscaler,
            storage::v1::CSIStorageCapacity,
            resource::v1::ResourceClaim,
            certificates::v1beta1::PodCertificateRequest,
        );
    }

    #[test]
    fn unknown_kinds_are_namespaced() {
        assert!(!is_cluster_scoped("example.com/v1", "Widget", &CrdScopes::default()));
        assert!(!is_cluster_scoped("v1", "Widget", &CrdScopes::default()));
        assert!(!is_cluster_scoped("rbac.authorization.k8s.io/v1", "Namespace", &CrdScopes::default()));
    }

    fn crd(group: &str, kind: &str, scope: &str) -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": format!("{}s.{group}", kind.to_lowercase())},
               "spec": {"group": group, "names": {"kind": kind, "plural": format!("{}s", kind.to_lowercase())},
                        "scope": scope, "versions": []}})
    }

    #[test]
    fn crds_in_the_stream_decide_custom_kinds() {
        let docs = [
            crd("cert-manager.io", "ClusterIssuer", "Cluster"),
            crd("cert-manager.io", "Issuer", "Namespaced"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        ];
        let crds = CrdScopes::from_documents(&docs);
        assert_eq!(crds.len(), 2);
        assert!(is_cluster_scoped("cert-manager.io/v1", "ClusterIssuer", &crds));
        assert!(!is_cluster_scoped("cert-manager.io/v1", "Issuer", &crds));
        assert!(!is_cluster_scoped("cert-manager.io/v1", "Certificate", &crds));
    }

    #[test]
    fn a_crd_without_a_usable_scope_is_not_recorded() {
        let mut crds = CrdScopes::default();
        assert!(!crds.record(&crd("example.com", "Widget", "Sideways")));
        assert!(!crds.record(&json!({"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1"})));
        assert!(!crds.record(&json!([1, 2])));
        assert!(crds.is_empty());
        assert_eq!(
            CrdScopes::from_crd(&crd("example.com", "Widget", "Cluster")).scope("example.com", "Widget"),
            Some(true)
        );
    }
}
