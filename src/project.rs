//! Tenancy: which repositories, destinations and kinds an application may use, from an Argo CD
//! `AppProject` or a syncgate `Tenant`, with Argo CD's matching semantics.
//!
//! Owns the [`Scope`] model and its pure checks ([`Scope::check_source`], [`Scope::check_resource`]),
//! the scope of kinds ([`is_cluster_scoped`]) and where scopes come from ([`Projects`]: files or the
//! Kubernetes API). It does not decide modes or exceptions: a [`Denial`] becomes a finding elsewhere,
//! and a [`ProjectError`] (a project that cannot be read) becomes an undecided, denying one.
//!
//! Newcomers are recommended to start with [`Scope`]; the modules below are:
//! - `glob`: gobwas/glob and Go `filepath.Match`, as Argo CD uses them;
//! - `giturl`: Argo CD's `NormalizeGitURL` over a port of Go's `net/url`;
//! - `scope`: [`Scope`], [`Destination`], [`Subject`], [`Denial`] and the checks;
//! - `appproject` and `tenant`: documents → [`Scope`];
//! - `kinds`: cluster-scoped kinds and [`CrdScopes`];
//! - `source`: [`Projects`] (files or cluster) and the [`ProjectSource`] seam;
//! - `cluster`: the kube edge: AppProjects and Applications from the API, cached, and [`Events`].

mod appproject;
mod cluster;
mod giturl;
mod glob;
mod kinds;
mod scope;
mod source;
mod tenant;
#[cfg(test)]
mod tests;

pub use appproject::ARGO_API_VERSION;
pub use cluster::{
    Application, ClusterProjects, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT, DEFAULT_TTL, Events, split_app_name,
    truncate_message,
};
pub use giturl::normalize_git_url;
pub use glob::{filepath_compiles, filepath_match, glob_match, gobwas_compiles, gobwas_match};
pub use kinds::{CrdScopes, effective_id, is_cluster_scoped};
pub use scope::{
    Denial, Destination, DestinationEntry, KindEntry, RULE_CLUSTER_RESOURCE, RULE_DESTINATION,
    RULE_NAMESPACED_RESOURCE, RULE_SOURCE_REPO, RULES, Scope, ScopeKind, Subject,
};
pub use source::{FileProjects, ProjectSource, Projects};
pub use tenant::TENANT_API_VERSION;

use crate::manifest::ManifestError;

/// Why a scope could not be had. Every variant says what was asked for.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// An AppProject or Tenant document breaks its schema.
    #[error("{kind} {name}: {}", field_message(.field, .message))]
    Invalid {
        /// `AppProject`, `Tenant` or `Application`.
        kind: String,
        /// `metadata.name`, or `<unnamed>`.
        name: String,
        /// Path of the offending field (`spec.destinations[0].server`); empty for the whole document.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Project files could not be read or parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A project file holds something other than AppProjects and Tenants, or a name twice.
    #[error("{location}: {message}")]
    File {
        /// File and document index.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// No AppProject or Tenant (or Application) of that name.
    #[error("{what} not found {place}")]
    NotFound {
        /// What was asked for (`AppProject "team-a"`).
        what: String,
        /// Where it was looked for (`in namespace argocd (Kubernetes API: …)`, `in /etc/projects (…)`).
        place: String,
    },
    /// The Kubernetes API could not be reached, refused, or did not answer in time.
    #[error("cannot read {what} from the Kubernetes API: {detail}")]
    Api {
        /// What was asked for (`AppProject "team-a" in namespace argocd`).
        what: String,
        /// Why it failed and what would help.
        detail: String,
    },
}

fn field_message(field: &str, message: &str) -> String {
    if field.is_empty() { message.to_owned() } else { format!("{field}: {message}") }
}
