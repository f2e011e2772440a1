//! Where scopes come from: AppProject and Tenant documents in files (a mounted ConfigMap), or
//! AppProjects read from the Kubernetes API ([`ClusterProjects`]).
//!
//! Owns loading and indexing by `metadata.name`, and the [`ProjectSource`] seam the pipeline takes.
//! File loading is strict (anything else in the files, or a name twice, is a configuration error);
//! lookups of a missing name fail with the names that exist.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use super::ProjectError;
use super::appproject::{ARGO_API_VERSION, unknown_field};
use super::cluster::ClusterProjects;
use super::scope::Scope;
use super::tenant::TENANT_API_VERSION;
use crate::manifest::{self, FieldPath, Limits, Stream};

/// Looks up a scope by name; implemented by [`Projects`], and by fakes in tests.
pub trait ProjectSource: Send + Sync {
    /// The AppProject or Tenant called `name`.
    fn scope<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Arc<Scope>, ProjectError>>;
}

/// Scopes read once from files, by `metadata.name`.
#[derive(Debug, Clone, Default)]
pub struct FileProjects {
    origin: String,
    scopes: BTreeMap<String, Arc<Scope>>,
}

impl FileProjects {
    /// Reads a file, or a directory recursively: every `*.yaml`, `*.yml` and `*.json`, in name order.
    /// Dotted entries are skipped, which covers a mounted ConfigMap's `..data` and `..<timestamp>`
    /// directories; the visible names there are symlinks to files, which are read. Documents may be
    /// `AppProject`s, `Tenant`s, or `List`s of them; anything else is an error naming the file.
    pub fn load(path: &Path) -> Result<Self, ProjectError> {
        let stream = manifest::load(&[path.to_path_buf()], &Limits::default())?;
        Self::from_stream(&stream, &path.display().to_string())
    }

    /// Indexes already parsed documents; `origin` names them in messages.
    pub fn from_stream(stream: &Stream, origin: &str) -> Result<Self, ProjectError> {
        let mut projects = FileProjects { origin: origin.to_owned(), scopes: BTreeMap::new() };
        let mut first_seen = BTreeMap::new();
        for (index, document) in stream.documents.iter().enumerate() {
            for resource in document.resources(index)? {
                let location = resource.location(&FieldPath::root());
                let json = resource.node.to_json();
                let scope = scope_from_document(&json).map_err(|error| match error {
                    ProjectError::Invalid { ref field, ref message, .. } => {
                        let at = match unknown_field(message) {
                            Some(unknown) if field.is_empty() => unknown.to_owned(),
                            Some(unknown) => format!("{field}.{unknown}"),
                            None => field.clone(),
                        };
                        ProjectError::File {
                            location: resource.location(&FieldPath::parse(&at)).to_string(),
                            message: error.to_string(),
                        }
                    }
                    ProjectError::File { message, .. } => {
                        ProjectError::File { location: location.to_string(), message }
                    }
                    other => ProjectError::File { location: location.to_string(), message: other.to_string() },
                })?;
                let name = scope.name().to_owned();
                if let Some(first) = first_seen.insert(name.clone(), location.clone()) {
                    return Err(ProjectError::File {
                        location: location.to_string(),
                        message: format!("{} {name} is defined twice (first at {first})", scope.kind()),
                    });
                }
                projects.scopes.insert(name, Arc::new(scope));
            }
        }
        Ok(projects)
    }

    /// The scope called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<Scope>, ProjectError> {
        self.scopes.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.scopes.keys().map(String::as_str).collect();
            let known =
                if known.is_empty() { "it holds none".to_owned() } else { format!("found: {}", known.join(", ")) };
            ProjectError::NotFound {
                what: format!("AppProject or Tenant {name:?}"),
                place: format!("in {} ({known})", self.origin),
            }
        })
    }

    /// Names of the scopes, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }
}

/// Compiles one AppProject or Tenant document.
fn scope_from_document(json: &Value) -> Result<Scope, ProjectError> {
    let api_version = json.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = json.get("kind").and_then(Value::as_str).unwrap_or_default();
    match (api_version, kind) {
        (ARGO_API_VERSION, "AppProject") => Scope::from_app_project(json),
        (TENANT_API_VERSION, "Tenant") => Scope::from_tenant(json),
        _ => Err(ProjectError::File {
            location: String::new(),
            message: format!(
                "{api_version} {kind} {:?} is neither an AppProject ({ARGO_API_VERSION}) nor a Tenant ({TENANT_API_VERSION})",
                json.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default()
            ),
        }),
    }
}

/// Where scopes are looked up.
#[derive(Debug)]
pub enum Projects {
    /// Read once from files or a mounted ConfigMap.
    Files(FileProjects),
    /// AppProjects read from the Kubernetes API, cached.
    Cluster(ClusterProjects),
}

impl Projects {
    /// Scopes from a file or directory (see [`FileProjects::load`]).
    pub fn from_path(path: &Path) -> Result<Self, ProjectError> {
        FileProjects::load(path).map(Projects::Files)
    }

    /// AppProjects in `namespace` (Argo CD's, usually `argocd`) through `client`.
    #[must_use]
    pub fn cluster(client: kube::Client, namespace: &str) -> Self {
        Projects::Cluster(ClusterProjects::new(client, namespace))
    }

    /// The AppProject or Tenant called `name`. A missing one, or an API that cannot be asked, is an
    /// error saying what was asked and why it failed.
    pub async fn scope(&self, name: &str) -> Result<Arc<Scope>, ProjectError> {
        match self {
            Projects::Files(files) => files.get(name),
            Projects::Cluster(cluster) => cluster.scope(name).await,
        }
    }
}

impl ProjectSource for Projects {
    fn scope<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Arc<Scope>, ProjectError>> {
        Box::pin(Projects::scope(self, name))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const APP_PROJECT: &str = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team-a\n  namespace: argocd\nspec:\n  sourceRepos: ['https://github.com/acme/team-a-*']\n  destinations:\n    - {server: '*', namespace: 'team-a-*'}\n";
    const TENANT: &str = "apiVersion: syncgate.dev/v1alpha1\nkind: Tenant\nmetadata: {name: team-b}\nspec:\n  namespaces: [team-b]\n  sourceRepositories: ['*']\n";

    #[tokio::test]
    async fn configmap_mount_layout_is_read_once() {
        // What the kubelet writes for a ConfigMap volume: a timestamped directory, `..data` pointing
        // at it, and visible names that are symlinks through `..data`.
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("..2026_01_12_09_30_11.123456789");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("team-a.yaml"), APP_PROJECT).unwrap();
        fs::write(
            real.join("team-b.json"),
            serde_json::to_string(&serde_saphyr::from_str::<serde_json::Value>(TENANT).unwrap()).unwrap(),
        )
        .unwrap();
        fs::write(real.join("README.txt"), "not yaml").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("..data")).unwrap();
        for name in ["team-a.yaml", "team-b.json", "README.txt"] {
            std::os::unix::fs::symlink(Path::new("..data").join(name), dir.path().join(name)).unwrap();
        }
        fs::write(dir.path().join(".hidden.yaml"), "not: [valid").unwrap();

        let projects = Projects::from_path(dir.path()).unwrap();
        let Projects::Files(files) = &projects else { panic!("files") };
        assert_eq!(files.names().collect::<Vec<_>>(), ["team-a", "team-b"]);
        assert_eq!(projects.scope("team-a").await.unwrap().kind(), "AppProject");
        assert_eq!(projects.scope("team-b").await.unwrap().kind(), "Tenant");
    }

    #[tokio::test]
    async fn missing_name_lists_what_exists() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("p.yaml"), format!("{APP_PROJECT}---\n{TENANT}")).unwrap();
        let projects = Projects::from_path(&dir.path().join("p.yaml")).unwrap();
        let err = projects.scope("team-c").await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "AppProject or Tenant \"team-c\" not found in {} (found: team-a, team-b)",
                dir.path().join("p.yaml").display()
            )
        );
    }

    #[test]
    fn list_documents_are_flattened() {
        let dir = tempfile::tempdir().unwrap();
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n  - {}\n",
            serde_json::to_string(&serde_saphyr::from_str::<serde_json::Value>(APP_PROJECT).unwrap()).unwrap()
        );
        fs::write(dir.path().join("list.yaml"), list).unwrap();
        let files = FileProjects::load(dir.path()).unwrap();
        assert_eq!(files.names().collect::<Vec<_>>(), ["team-a"]);
    }

    #[test]
    fn other_kinds_and_duplicates_are_refused_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").unwrap();
        let err = FileProjects::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.yaml"), "{err}");
        assert!(
            err.contains("v1 ConfigMap \"x\" is neither an AppProject (argoproj.io/v1alpha1) nor a Tenant"),
            "{err}"
        );

        fs::write(dir.path().join("a.yaml"), format!("{APP_PROJECT}---\n{APP_PROJECT}")).unwrap();
        let err = FileProjects::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("AppProject team-a is defined twice"), "{err}");
    }

    #[test]
    fn invalid_document_error_names_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("t.yaml"), format!("{TENANT}  extra: 1\n")).unwrap();
        let err = FileProjects::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("t.yaml:7 (document 0)"), "{err}");
        assert!(err.contains("Tenant team-b: spec: unknown field `extra`"), "{err}");
    }
}
