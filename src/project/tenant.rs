//! syncgate's own `Tenant` document (`syncgate.dev/v1alpha1`), for Flux and other setups without Argo
//! CD projects, compiled into the same [`Scope`] as an AppProject.
//!
//! Owns the Tenant schema, read strictly: an unknown field or a pattern that cannot match is an error
//! naming it. It checks nothing.
//!
//! ```yaml
//! apiVersion: syncgate.dev/v1alpha1
//! kind: Tenant
//! metadata: {name: team-a}
//! spec:
//!   namespaces: ["team-a-*", "!team-a-system"]                  # required
//!   sourceRepositories: ["https://github.com/acme/team-a-*"]    # required; ["*"] allows any
//!   clusterResources: [{group: "", kind: Namespace, name: "team-a-*"}]   # absent or empty: none
//!   namespacedResources: {deny: [{group: "", kind: ResourceQuota}]}     # allow absent: every kind
//! ```
//!
//! Semantics: `namespaces` are separator-free globs; a namespace must match an allow entry and no `!`
//! entry (a `!` entry only denies; unlike an AppProject destination it does not also allow everything
//! else). The server and cluster name are not part of a Tenant, so its checks never depend on an
//! unknown cluster. `sourceRepositories` have exactly AppProject `sourceRepos` semantics (URL
//! normalisation, `/`-separated globs, a `!` entry denies what it matches and allows the rest).
//! Kind entries need `group` and `kind` (`""` is the core group) and may name a `name` glob, all with
//! Go `filepath.Match` syntax.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::ProjectError;
use super::appproject::{object_name, typed};
use super::glob::{filepath_compiles, gobwas_compiles};
use super::scope::{DestinationEntry, KindEntry, Scope, ScopeKind};

/// `apiVersion` of syncgate documents, Tenant included.
pub const TENANT_API_VERSION: &str = "syncgate.dev/v1alpha1";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: RawMetadata,
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    name: String,
    #[serde(default, rename = "namespace")]
    _namespace: Option<String>,
    #[serde(default, rename = "labels")]
    _labels: BTreeMap<String, String>,
    #[serde(default, rename = "annotations")]
    _annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    namespaces: Vec<String>,
    source_repositories: Vec<String>,
    #[serde(default)]
    cluster_resources: Vec<RawKind>,
    #[serde(default)]
    namespaced_resources: Option<RawNamespaced>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamespaced {
    #[serde(default)]
    allow: Option<Vec<RawKind>>,
    #[serde(default)]
    deny: Vec<RawKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    group: String,
    kind: String,
    #[serde(default)]
    name: String,
}

impl Scope {
    /// Compiles a syncgate `Tenant`. Strict: an unknown field, a wrong type, an empty or
    /// non-compiling pattern, or a `!*` entry (which would deny everything) is an error naming it.
    pub fn from_tenant(value: &Value) -> Result<Scope, ProjectError> {
        let raw: RawTenant = typed(value, "Tenant")?;
        let invalid = |field: String, message: String| ProjectError::Invalid {
            kind: "Tenant".into(),
            name: object_name(value),
            field,
            message,
        };
        if raw.api_version != TENANT_API_VERSION {
            return Err(invalid(
                "apiVersion".into(),
                format!("expected \"{TENANT_API_VERSION}\", found {:?}", raw.api_version),
            ));
        }
        if raw.kind != "Tenant" {
            return Err(invalid("kind".into(), format!("expected \"Tenant\", found {:?}", raw.kind)));
        }
        if raw.metadata.name.is_empty() {
            return Err(invalid("metadata.name".into(), "must not be empty".into()));
        }
        let spec = raw.spec;
        for (field, list, what) in [
            ("spec.namespaces", &spec.namespaces, "namespace"),
            ("spec.sourceRepositories", &spec.source_repositories, "repository"),
        ] {
            for (i, pattern) in list.iter().enumerate() {
                let positive = pattern.strip_prefix('!').unwrap_or(pattern);
                let problem = if positive.is_empty() {
                    Some("must not be empty".to_owned())
                } else if pattern == "!*" {
                    Some(format!("`!*` denies every {what}; remove the entry"))
                } else if positive != "*" && !gobwas_compiles(positive) {
                    Some(format!(
                        "glob `{pattern}` does not compile (a class holds one range or a list, brackets and braces must close)"
                    ))
                } else {
                    None
                };
                if let Some(message) = problem {
                    return Err(invalid(format!("{field}[{i}]"), message));
                }
            }
        }
        let (allow, deny) = match spec.namespaced_resources {
            Some(n) => (n.allow, n.deny),
            None => (None, Vec::new()),
        };
        let kinds = |field: &str, list: Vec<RawKind>| -> Result<Vec<KindEntry>, ProjectError> {
            list.into_iter()
                .enumerate()
                .map(|(i, k)| {
                    for (part, pattern) in [("group", &k.group), ("kind", &k.kind), ("name", &k.name)] {
                        if !filepath_compiles(pattern) {
                            return Err(invalid(
                                format!("{field}[{i}].{part}"),
                                format!("pattern `{pattern}` is malformed (Go filepath.Match syntax)"),
                            ));
                        }
                    }
                    if k.kind.is_empty() {
                        return Err(invalid(format!("{field}[{i}].kind"), "must not be empty".into()));
                    }
                    Ok(KindEntry { group: k.group, kind: k.kind, name: k.name })
                })
                .collect()
        };
        Ok(Scope {
            kind: ScopeKind::Tenant,
            name: raw.metadata.name,
            destinations: spec
                .namespaces
                .into_iter()
                .map(|namespace| DestinationEntry {
                    server: "*".into(),
                    name: "*".into(),
                    deny_only: namespace.starts_with('!'),
                    namespace,
                })
                .collect(),
            source_repos: spec.source_repositories,
            cluster_allow: kinds("spec.clusterResources", spec.cluster_resources)?,
            cluster_deny: Vec::new(),
            namespaced_allow: allow.map(|list| kinds("spec.namespacedResources.allow", list)).transpose()?,
            namespaced_deny: kinds("spec.namespacedResources.deny", deny)?,
            permit_only_project_scoped_clusters: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn tenant(spec: Value) -> Value {
        let mut doc = json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "team-a"}});
        doc["spec"] = spec;
        doc
    }

    fn minimal() -> Value {
        json!({"namespaces": ["team-a-*"], "sourceRepositories": ["*"]})
    }

    #[test]
    fn example_tenant_compiles() {
        let scope = Scope::from_tenant(&tenant(json!({
            "namespaces": ["team-a-*", "!team-a-system"],
            "sourceRepositories": ["https://github.com/acme/team-a-*"],
            "clusterResources": [{"group": "", "kind": "Namespace", "name": "team-a-*"}],
            "namespacedResources": {"deny": [{"group": "", "kind": "ResourceQuota"}]}
        })))
        .unwrap();
        assert_eq!((scope.kind(), scope.name()), ("Tenant", "team-a"));
        assert!(scope.destinations()[1].deny_only);
        assert_eq!(scope.namespaced_allow, None);
        assert_eq!(scope.cluster_allow.len(), 1);
    }

    #[rstest]
    #[case::top_level(json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "team-a"}, "spec": minimal(), "status": {}}), "unknown field `status`")]
    #[case::metadata(json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "team-a", "uid": "x"}, "spec": minimal()}), "metadata: unknown field `uid`")]
    #[case::spec(tenant(json!({"namespaces": [], "sourceRepositories": [], "destinations": []})), "spec: unknown field `destinations`")]
    #[case::namespaced(tenant(json!({"namespaces": [], "sourceRepositories": [], "namespacedResources": {"blacklist": []}})), "spec.namespacedResources: unknown field `blacklist`")]
    #[case::kind_entry(tenant(json!({"namespaces": [], "sourceRepositories": [], "clusterResources": [{"group": "", "kind": "Namespace", "names": "x"}]})), "spec.clusterResources[0]: unknown field `names`")]
    fn unknown_field_is_named(#[case] doc: Value, #[case] expected: &str) {
        let err = Scope::from_tenant(&doc).unwrap_err().to_string();
        assert!(err.starts_with("Tenant team-a: "), "{err}");
        assert!(err.contains(expected), "{err}");
    }

    #[rstest]
    #[case::missing_namespaces(tenant(json!({"sourceRepositories": ["*"]})), "spec: missing field `namespaces`")]
    #[case::missing_sources(tenant(json!({"namespaces": ["a"]})), "spec: missing field `sourceRepositories`")]
    #[case::missing_group(tenant(json!({"namespaces": ["a"], "sourceRepositories": ["*"], "clusterResources": [{"kind": "Namespace"}]})), "spec.clusterResources[0]: missing field `group`")]
    #[case::wrong_type(tenant(json!({"namespaces": "a", "sourceRepositories": ["*"]})), "spec.namespaces: invalid type: string")]
    #[case::deny_all_namespaces(tenant(json!({"namespaces": ["!*"], "sourceRepositories": ["*"]})), "spec.namespaces[0]: `!*` denies every namespace")]
    #[case::deny_all_sources(tenant(json!({"namespaces": ["a"], "sourceRepositories": ["*", "!*"]})), "spec.sourceRepositories[1]: `!*` denies every repository")]
    #[case::empty_namespace(tenant(json!({"namespaces": ["a", ""], "sourceRepositories": ["*"]})), "spec.namespaces[1]: must not be empty")]
    #[case::bad_glob(tenant(json!({"namespaces": ["team-[a-z0-9]"], "sourceRepositories": ["*"]})), "spec.namespaces[0]: glob `team-[a-z0-9]` does not compile")]
    #[case::bad_kind_pattern(tenant(json!({"namespaces": ["a"], "sourceRepositories": ["*"], "namespacedResources": {"allow": [{"group": "", "kind": "[Con"}]}})), "spec.namespacedResources.allow[0].kind: pattern `[Con` is malformed")]
    #[case::empty_kind(tenant(json!({"namespaces": ["a"], "sourceRepositories": ["*"], "clusterResources": [{"group": "", "kind": ""}]})), "spec.clusterResources[0].kind: must not be empty")]
    #[case::wrong_api_version(json!({"apiVersion": "syncgate.dev/v1", "kind": "Tenant", "metadata": {"name": "team-a"}, "spec": minimal()}), "apiVersion: expected \"syncgate.dev/v1alpha1\"")]
    #[case::empty_name(json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": ""}, "spec": minimal()}), "metadata.name: must not be empty")]
    fn invalid_tenant_is_refused(#[case] doc: Value, #[case] expected: &str) {
        let err = Scope::from_tenant(&doc).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }

    #[test]
    fn metadata_labels_and_annotations_are_accepted() {
        let doc = json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant",
                         "metadata": {"name": "team-a", "namespace": "flux-system", "labels": {"a": "b"}, "annotations": {}},
                         "spec": minimal()});
        assert!(Scope::from_tenant(&doc).is_ok());
    }
}
