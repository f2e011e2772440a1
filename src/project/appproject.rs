//! Argo CD `AppProject` documents (`argoproj.io/v1alpha1`) compiled into a [`Scope`].
//!
//! Owns reading Argo's object leniently: unknown fields are ignored (new Argo CD fields must not
//! break syncgate), `null` reads as absent (as Go does), and a wrong type is an error naming the
//! field. It keeps `namespaceResourceWhitelist` absent apart from empty. It checks nothing.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::ProjectError;
use super::scope::{DestinationEntry, KindEntry, Scope, ScopeKind};

/// `apiVersion` of AppProject (and Application) objects.
pub const ARGO_API_VERSION: &str = "argoproj.io/v1alpha1";

/// Reads `null` as the type's default, as Go's JSON decoder leaves a nil slice or empty string.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAppProject {
    #[serde(default, deserialize_with = "nullable")]
    api_version: String,
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    metadata: RawMetadata,
    #[serde(default, deserialize_with = "nullable")]
    spec: RawSpec,
}

#[derive(Deserialize, Default)]
struct RawMetadata {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default, deserialize_with = "nullable")]
    source_repos: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    destinations: Vec<RawDestination>,
    #[serde(default, deserialize_with = "nullable")]
    cluster_resource_whitelist: Vec<RawKind>,
    #[serde(default, deserialize_with = "nullable")]
    cluster_resource_blacklist: Vec<RawKind>,
    /// Absent or `null`: every namespaced kind; `[]`: none.
    #[serde(default)]
    namespace_resource_whitelist: Option<Vec<RawKind>>,
    #[serde(default, deserialize_with = "nullable")]
    namespace_resource_blacklist: Vec<RawKind>,
    #[serde(default, deserialize_with = "nullable")]
    permit_only_project_scoped_clusters: bool,
}

#[derive(Deserialize, Default)]
struct RawDestination {
    #[serde(default, deserialize_with = "nullable")]
    server: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize, Default)]
struct RawKind {
    #[serde(default, deserialize_with = "nullable")]
    group: String,
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    /// Cluster lists only (Argo CD v3.3+); ignored in namespaced lists, which have no name.
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

impl RawKind {
    fn into_entry(self, with_name: bool) -> KindEntry {
        KindEntry { group: self.group, kind: self.kind, name: if with_name { self.name } else { String::new() } }
    }
}

/// `metadata.name` of an object, or `<unnamed>`, for error messages.
pub(super) fn object_name(value: &Value) -> String {
    value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("<unnamed>")
        .to_owned()
}

/// Deserialises `value`, naming the field on failure (`spec.destinations[0].server: invalid type …`).
pub(super) fn typed<'a, T: Deserialize<'a>>(value: &'a Value, kind: &str) -> Result<T, ProjectError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let mut field = if path == "." { String::new() } else { path };
        // The path of an unknown field ends in that field; name the object that holds it instead.
        if let Some(unknown) = unknown_field(&message)
            && let Some(parent) = field.strip_suffix(unknown)
        {
            field = parent.strip_suffix('.').unwrap_or(parent).to_owned();
        }
        ProjectError::Invalid { kind: kind.to_owned(), name: object_name(value), field, message }
    })
}

/// The field serde names in an "unknown field `x`, expected …" message.
pub(super) fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split_once('`').map(|(field, _)| field)
}

impl Scope {
    /// Compiles an Argo CD `AppProject` (the object as JSON, e.g. from the API or
    /// [`crate::manifest::Node::to_json`]). Unknown fields are ignored; a wrong type, a wrong
    /// `apiVersion`/`kind` or a missing `metadata.name` is an error naming the field.
    pub fn from_app_project(value: &Value) -> Result<Scope, ProjectError> {
        let raw: RawAppProject = typed(value, "AppProject")?;
        let invalid = |field: &str, message: String| ProjectError::Invalid {
            kind: "AppProject".into(),
            name: object_name(value),
            field: field.into(),
            message,
        };
        if raw.api_version != ARGO_API_VERSION {
            return Err(invalid("apiVersion", format!("expected \"{ARGO_API_VERSION}\", found {:?}", raw.api_version)));
        }
        if raw.kind != "AppProject" {
            return Err(invalid("kind", format!("expected \"AppProject\", found {:?}", raw.kind)));
        }
        if raw.metadata.name.is_empty() {
            return Err(invalid("metadata.name", "missing".into()));
        }
        let spec = raw.spec;
        Ok(Scope {
            kind: ScopeKind::AppProject,
            name: raw.metadata.name,
            source_repos: spec.source_repos,
            destinations: spec
                .destinations
                .into_iter()
                .map(|d| DestinationEntry { server: d.server, name: d.name, namespace: d.namespace, deny_only: false })
                .collect(),
            cluster_allow: spec.cluster_resource_whitelist.into_iter().map(|k| k.into_entry(true)).collect(),
            cluster_deny: spec.cluster_resource_blacklist.into_iter().map(|k| k.into_entry(true)).collect(),
            namespaced_allow: spec
                .namespace_resource_whitelist
                .map(|list| list.into_iter().map(|k| k.into_entry(false)).collect()),
            namespaced_deny: spec.namespace_resource_blacklist.into_iter().map(|k| k.into_entry(false)).collect(),
            permit_only_project_scoped_clusters: spec.permit_only_project_scoped_clusters,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn project(spec: Value) -> Value {
        let mut doc = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                             "metadata": {"name": "team-a", "namespace": "argocd"}});
        doc["spec"] = spec;
        doc
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let scope = Scope::from_app_project(&json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "team-a", "uid": "x", "managedFields": [{"manager": "argocd"}]},
            "spec": {"sourceRepos": ["*"], "someFutureField": {"deep": [1, 2]},
                     "destinations": [{"server": "*", "namespace": "a", "futureKey": true}],
                     "sourceIntegrity": {"git": {"policies": []}}},
            "status": {"jwtTokensByRole": {}}
        }))
        .unwrap();
        assert_eq!(scope.name(), "team-a");
        assert_eq!(scope.kind(), "AppProject");
        assert_eq!(scope.destinations().len(), 1);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = Scope::from_app_project(&project(json!({"destinations": [{"server": "*", "namespace": 5}]})))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AppProject team-a: spec.destinations[0].namespace: invalid type: integer `5`"),
            "{err}"
        );
        let err = Scope::from_app_project(&project(json!({"sourceRepos": "https://x"}))).unwrap_err().to_string();
        assert!(err.contains("spec.sourceRepos: invalid type: string"), "{err}");
        let err = Scope::from_app_project(&project(json!({"permitOnlyProjectScopedClusters": "yes"})))
            .unwrap_err()
            .to_string();
        assert!(err.contains("spec.permitOnlyProjectScopedClusters"), "{err}");
    }

    #[test]
    fn wrong_api_version_kind_or_missing_name_is_an_error() {
        let mut doc = project(json!({}));
        doc["apiVersion"] = json!("argoproj.io/v1beta1");
        assert!(Scope::from_app_project(&doc).unwrap_err().to_string().contains("apiVersion: expected"));
        let mut doc = project(json!({}));
        doc["kind"] = json!("Application");
        assert!(Scope::from_app_project(&doc).unwrap_err().to_string().contains("kind: expected \"AppProject\""));
        let mut doc = project(json!({}));
        doc["metadata"] = json!({});
        assert_eq!(
            Scope::from_app_project(&doc).unwrap_err().to_string(),
            "AppProject <unnamed>: metadata.name: missing"
        );
        assert!(Scope::from_app_project(&json!("not an object")).is_err());
    }

    #[test]
    fn nulls_read_as_absent() {
        let scope = Scope::from_app_project(&project(json!({
            "sourceRepos": null, "destinations": null, "namespaceResourceWhitelist": null,
            "clusterResourceWhitelist": [{"group": null, "kind": "Namespace"}]
        })))
        .unwrap();
        assert!(scope.namespaced_allow.is_none());
        assert_eq!(scope.cluster_allow[0].group, "");
        assert!(scope.source_repos().is_empty());
    }

    #[test]
    fn namespace_whitelist_absent_differs_from_empty() {
        let absent = Scope::from_app_project(&project(json!({}))).unwrap();
        let empty = Scope::from_app_project(&project(json!({"namespaceResourceWhitelist": []}))).unwrap();
        assert_eq!(absent.namespaced_allow, None);
        assert_eq!(empty.namespaced_allow, Some(vec![]));
    }

    #[test]
    fn permit_only_project_scoped_clusters_is_recorded() {
        let scope = Scope::from_app_project(&project(json!({"permitOnlyProjectScopedClusters": true}))).unwrap();
        assert!(scope.permit_only_project_scoped_clusters());
    }
}
