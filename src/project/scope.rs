//! [`Scope`]: one normalised tenancy boundary (from an Argo CD AppProject or a syncgate Tenant) and
//! its pure checks, with Argo CD's matching semantics and messages that say what to change.
//!
//! Owns the decision for one repository or one resource against one scope; parsing lives in
//! `appproject` and `tenant`, I/O in `source` and `cluster`. Nothing here blocks or fails: a check
//! returns the denials it finds, and an empty answer means allowed.

use std::fmt::Write as _;

use super::giturl::normalize_git_url;
use super::glob::{filepath_match, glob_match, gobwas_compiles};

/// Rule id of [`Scope::check_source`].
pub const RULE_SOURCE_REPO: &str = "project-source-repo";
/// Rule id of the destination-namespace part of [`Scope::check_resource`] and [`Scope::check_destination`].
pub const RULE_DESTINATION: &str = "project-destination";
/// Rule id of the namespaced kind lists in [`Scope::check_resource`].
pub const RULE_NAMESPACED_RESOURCE: &str = "project-namespaced-resource";
/// Rule id of the cluster-scoped kind lists in [`Scope::check_resource`].
pub const RULE_CLUSTER_RESOURCE: &str = "project-cluster-resource";

/// The rules tenancy produces, for reports and `PolicyException` validation.
pub const RULES: [crate::report::RuleInfo; 4] = [
    crate::report::RuleInfo {
        id: RULE_SOURCE_REPO,
        summary: "The application's source repository must be one its project (or tenant) permits",
        help: "Deploy from a repository listed in the AppProject's sourceRepos (or the Tenant's sourceRepositories), or ask the platform team to add it.",
    },
    crate::report::RuleInfo {
        id: RULE_DESTINATION,
        summary: "Every namespaced resource must land in a namespace its project (or tenant) permits",
        help: "Set metadata.namespace to one of the project's destination namespaces (or leave it empty for the application's destination namespace), or ask the platform team to add the destination.",
    },
    crate::report::RuleInfo {
        id: RULE_NAMESPACED_RESOURCE,
        summary: "Namespaced kinds must be allowed by the project's namespaceResourceWhitelist/Blacklist",
        help: "Leave the resource out, or ask the platform team to allow the kind in the AppProject's namespaceResourceWhitelist (or remove it from the blacklist).",
    },
    crate::report::RuleInfo {
        id: RULE_CLUSTER_RESOURCE,
        summary: "Cluster-scoped kinds must be in the project's clusterResourceWhitelist",
        help: "Leave the cluster-scoped resource out (the platform team owns those), or ask for the kind in the AppProject's clusterResourceWhitelist.",
    },
];

/// How many list entries a message shows before eliding the rest.
const SHOWN_ENTRIES: usize = 8;

/// Which document a [`Scope`] was compiled from; decides only the wording of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// An Argo CD `AppProject` (`argoproj.io/v1alpha1`).
    AppProject,
    /// A syncgate `Tenant` (`syncgate.dev/v1alpha1`).
    Tenant,
}

impl ScopeKind {
    /// The document kind, `AppProject` or `Tenant`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "AppProject",
            ScopeKind::Tenant => "Tenant",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "project",
            ScopeKind::Tenant => "tenant",
        }
    }

    fn sources_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "sourceRepos",
            ScopeKind::Tenant => "sourceRepositories",
        }
    }

    fn destinations_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "destinations",
            ScopeKind::Tenant => "namespaces",
        }
    }

    fn cluster_allow_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "clusterResourceWhitelist",
            ScopeKind::Tenant => "clusterResources",
        }
    }

    fn cluster_deny_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "clusterResourceBlacklist",
            ScopeKind::Tenant => "clusterResources",
        }
    }

    fn namespaced_allow_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "namespaceResourceWhitelist",
            ScopeKind::Tenant => "namespacedResources.allow",
        }
    }

    fn namespaced_deny_field(self) -> &'static str {
        match self {
            ScopeKind::AppProject => "namespaceResourceBlacklist",
            ScopeKind::Tenant => "namespacedResources.deny",
        }
    }
}

/// One permitted (or, with `!`, denied) destination: Argo CD's `destinations[]` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationEntry {
    /// Cluster API server URL glob (`""`: never matches by server).
    pub server: String,
    /// Cluster name glob (`""`: never matches by name).
    pub name: String,
    /// Namespace glob.
    pub namespace: String,
    /// The entry only denies, never allows (a Tenant's `!` namespace). Argo CD has no such entry:
    /// there a `!` entry also allows everything it does not deny.
    pub deny_only: bool,
}

/// One item of a kind list: Go `filepath.Match` globs over group, kind and, where set, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindEntry {
    /// API group glob; `""` is the core group.
    pub group: String,
    /// Kind glob.
    pub kind: String,
    /// Name glob; `""` matches every name.
    pub name: String,
}

/// Where resources go: the Application's destination as far as it is known.
///
/// Argo CD does not tell a config management plugin the destination server or cluster name (only
/// `ARGOCD_APP_NAMESPACE`), so in a plugin both are usually `None`. Then an entry's server/name part
/// counts as matching for allowing (a namespace some destination permits is accepted), and entries
/// that deny by server, name or namespace apply as if the unknown cluster were the one they deny: the
/// denial is reported with `undecided: true` (fail closed). An entry whose server is `*` matches any
/// cluster, so it stays decided. With both known (the Application read from the API, its cluster
/// resolved) the checks are exactly Argo CD's. `Some("")` is a known empty value, which no entry
/// matches by server or name, as in Argo CD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// Cluster API server URL, when known.
    pub server: Option<String>,
    /// Cluster name, when known.
    pub name: Option<String>,
    /// Destination namespace (`spec.destination.namespace`, `ARGOCD_APP_NAMESPACE`); may be empty.
    pub namespace: String,
}

/// The resource a check is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `apiVersion` (`apps/v1`, `v1`).
    pub api_version: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `metadata.namespace`, when set.
    pub namespace: Option<&'a str>,
    /// Whether the kind is cluster-scoped (see [`super::is_cluster_scoped`]).
    pub cluster_scoped: bool,
}

impl Subject<'_> {
    /// The API group: what precedes `/` in `apiVersion`, `""` for the core group.
    #[must_use]
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }
}

/// Why a scope refuses a repository or resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Rule id: [`RULE_SOURCE_REPO`], [`RULE_DESTINATION`], [`RULE_NAMESPACED_RESOURCE`] or
    /// [`RULE_CLUSTER_RESOURCE`].
    pub rule: &'static str,
    /// Field of the resource the denial points at (`kind`, `metadata.namespace`), when one does.
    pub path: Option<String>,
    /// What is refused, by which list or entry, in Argo CD's words.
    pub message: String,
    /// What to change.
    pub fix: String,
    /// The denial rests on something unknown (the destination cluster): it fails closed.
    pub undecided: bool,
}

/// The outcome of matching a namespace against the destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Allowed,
    /// No entry allows it.
    NotListed,
    /// Entry `index` denies it; `undecided` when only an unknown cluster makes it deny.
    DeniedBy {
        index: usize,
        undecided: bool,
    },
}

/// Three-valued logic for matches against an unknown cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn from_bool(b: bool) -> Self {
        if b { Tri::Yes } else { Tri::No }
    }

    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }

    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
            Tri::Yes => Tri::No,
        }
    }
}

fn is_deny(pattern: &str) -> bool {
    pattern.starts_with('!')
}

/// Whether an entry's server or name glob matches the destination's (possibly unknown) value.
fn cluster_part(pattern: &str, value: Option<&str>) -> Tri {
    match value {
        Some(value) => Tri::from_bool(!value.is_empty() && glob_match(pattern, value, true, &[])),
        // A resolved cluster always has a non-empty server and name: `*` matches it, `""` cannot,
        // and a plain pattern that does not compile matches nothing.
        None if pattern == "*" => Tri::Yes,
        None if pattern.is_empty() || (!is_deny(pattern) && !gobwas_compiles(pattern)) => Tri::No,
        None => Tri::Maybe,
    }
}

/// A tenancy boundary: which repositories, destinations and kinds are permitted. Compiled from an
/// AppProject ([`Scope::from_app_project`]) or a Tenant ([`Scope::from_tenant`]); the checks do not
/// care which.
#[derive(Debug, Clone)]
pub struct Scope {
    pub(super) kind: ScopeKind,
    pub(super) name: String,
    pub(super) source_repos: Vec<String>,
    pub(super) destinations: Vec<DestinationEntry>,
    pub(super) cluster_allow: Vec<KindEntry>,
    pub(super) cluster_deny: Vec<KindEntry>,
    pub(super) namespaced_allow: Option<Vec<KindEntry>>,
    pub(super) namespaced_deny: Vec<KindEntry>,
    pub(super) permit_only_project_scoped_clusters: bool,
}

impl Scope {
    /// `metadata.name` of the AppProject or Tenant.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `AppProject` or `Tenant`.
    #[must_use]
    pub fn kind(&self) -> &str {
        self.kind.as_str()
    }

    /// Which document this scope came from.
    #[must_use]
    pub fn scope_kind(&self) -> ScopeKind {
        self.kind
    }

    /// Source repository globs as written (`sourceRepos`, `spec.sourceRepositories`).
    #[must_use]
    pub fn source_repos(&self) -> &[String] {
        &self.source_repos
    }

    /// Destination entries in order.
    #[must_use]
    pub fn destinations(&self) -> &[DestinationEntry] {
        &self.destinations
    }

    /// Whether the AppProject sets `permitOnlyProjectScopedClusters`.
    #[must_use]
    pub fn permit_only_project_scoped_clusters(&self) -> bool {
        self.permit_only_project_scoped_clusters
    }

    /// Argo CD's `IsSourcePermitted`: normalise the URL and every entry (`!X` as `!` + normalised
    /// `X`), then any matching entry allows and any deny entry the URL falls under denies, whatever
    /// the order. A deny entry also allows every URL it does not deny; globs use `/` as separator.
    #[must_use]
    pub fn check_source(&self, repo_url: &str) -> Option<Denial> {
        let url = normalize_git_url(repo_url);
        let mut allowed = false;
        for (index, entry) in self.source_repos.iter().enumerate() {
            let pattern = match entry.strip_prefix('!') {
                Some(denied) => format!("!{}", normalize_git_url(denied)),
                None => normalize_git_url(entry),
            };
            if glob_match(&pattern, &url, true, &['/']) {
                allowed = true;
            } else if is_deny(&pattern) {
                return Some(self.source_denial(repo_url, Some(index)));
            }
        }
        (!allowed).then(|| self.source_denial(repo_url, None))
    }

    /// Checks one rendered resource. Namespaced: the kind lists ([`RULE_NAMESPACED_RESOURCE`]) and
    /// its namespace, or the destination namespace when it sets none, against the destinations
    /// ([`RULE_DESTINATION`]). Cluster-scoped: the cluster kind lists, names included
    /// ([`RULE_CLUSTER_RESOURCE`]). Both namespaced denials are reported when both apply.
    #[must_use]
    pub fn check_resource(&self, subject: &Subject<'_>, destination: &Destination) -> Vec<Denial> {
        let group = subject.group();
        if subject.cluster_scoped {
            return self.check_cluster_kind(subject, group).into_iter().collect();
        }
        let mut denials: Vec<Denial> = self.check_namespaced_kind(subject, group).into_iter().collect();
        let own = subject.namespace.filter(|ns| !ns.is_empty());
        let namespace = own.unwrap_or(&destination.namespace);
        let path = own.map(|_| "metadata.namespace".to_owned());
        denials.extend(self.destination_denial(namespace, destination, path));
        denials
    }

    /// Checks the Application's own destination (`spec.destination.namespace` on its cluster), as
    /// Argo CD does before generating anything.
    #[must_use]
    pub fn check_destination(&self, destination: &Destination) -> Option<Denial> {
        self.destination_denial(&destination.namespace, destination, None)
    }

    /// Checks syncgate leaves to Argo CD, worth a log line: `permitOnlyProjectScopedClusters` when
    /// the destination server is known (which clusters are project-scoped is Argo CD's state).
    #[must_use]
    pub fn notes(&self, destination: &Destination) -> Vec<String> {
        match destination.server.as_deref().filter(|s| !s.is_empty()) {
            Some(server) if self.permit_only_project_scoped_clusters => vec![format!(
                "{} {} sets permitOnlyProjectScopedClusters: whether cluster {server} is scoped to the project is checked by Argo CD, not by syncgate",
                self.kind(),
                self.name
            )],
            _ => Vec::new(),
        }
    }

    // ---- destinations (Argo CD's IsDestinationPermitted) ----

    fn placement(&self, namespace: &str, destination: &Destination) -> Placement {
        let server = destination.server.as_deref();
        let name = destination.name.as_deref();
        let mut allowed = Tri::No;
        let mut denied: Option<usize> = None;
        let mut maybe_denied: Option<usize> = None;
        for (index, entry) in self.destinations.iter().enumerate() {
            let name_ok = cluster_part(&entry.name, name);
            let server_ok = cluster_part(&entry.server, server);
            let namespace_ok = Tri::from_bool(glob_match(&entry.namespace, namespace, true, &[]));
            let matched = server_ok.or(name_ok).and(namespace_ok);
            if !entry.deny_only {
                allowed = allowed.or(matched);
            }
            // Argo CD looks at deny patterns only for entries that did not match.
            let name_denies = Tri::from_bool(is_deny(&entry.name)).and(name_ok.not());
            let server_denies = Tri::from_bool(is_deny(&entry.server)).and(server_ok.not()).and(namespace_ok);
            let namespace_denies = Tri::from_bool(is_deny(&entry.namespace)).and(namespace_ok.not()).and(server_ok);
            match matched.not().and(name_denies.or(server_denies).or(namespace_denies)) {
                Tri::Yes => {
                    denied.get_or_insert(index);
                }
                Tri::Maybe => {
                    maybe_denied.get_or_insert(index);
                }
                Tri::No => {}
            }
        }
        match (denied, maybe_denied) {
            (Some(index), _) => Placement::DeniedBy { index, undecided: false },
            (None, Some(index)) => Placement::DeniedBy { index, undecided: true },
            (None, None) if allowed != Tri::No => Placement::Allowed,
            (None, None) => Placement::NotListed,
        }
    }

    fn destination_denial(&self, namespace: &str, destination: &Destination, path: Option<String>) -> Option<Denial> {
        let placement = self.placement(namespace, destination);
        let (kind, name) = (self.kind(), &self.name);
        let field = self.kind.destinations_field();
        let list = self.destination_list();
        let shown = if namespace.is_empty() { "(none)".to_owned() } else { format!("{namespace:?}") };
        let cluster = cluster_phrase(destination);
        let (message, fix, undecided) = match placement {
            Placement::Allowed => return None,
            Placement::NotListed => (
                format!(
                    "namespace {shown}{cluster} is not an allowed destination of {kind} {name} ({list}); required: a namespace the {} permits",
                    self.kind.noun()
                ),
                match self.kind {
                    ScopeKind::AppProject => format!(
                        "deploy into a namespace {kind} {name} permits, or add a destination for namespace {shown} to its {field}"
                    ),
                    ScopeKind::Tenant => {
                        format!("deploy into a namespace {kind} {name} permits, or add {shown} to its {field}")
                    }
                },
                false,
            ),
            Placement::DeniedBy { index, undecided: false } => {
                let entry = self.destination_entry(index);
                (
                    format!(
                        "namespace {shown}{cluster} is not an allowed destination of {kind} {name}: denied by entry `{entry}` ({list})"
                    ),
                    format!(
                        "deploy into a namespace entry `{entry}` does not deny, or change that entry in {kind} {name}'s {field}"
                    ),
                    false,
                )
            }
            Placement::DeniedBy { index, undecided: true } => {
                let entry = self.destination_entry(index);
                (
                    format!(
                        "namespace {shown} may not be an allowed destination of {kind} {name}: entry `{entry}` denies it on some clusters and the destination cluster is unknown ({list})"
                    ),
                    format!(
                        "let syncgate read the Application from the Kubernetes API so the destination cluster is known (ARGOCD_APP_NAME and get access to applications), or deploy into a namespace entry `{entry}` cannot deny"
                    ),
                    true,
                )
            }
        };
        Some(Denial { rule: RULE_DESTINATION, path, message, fix, undecided })
    }

    fn destination_entry(&self, index: usize) -> String {
        self.destinations.get(index).map(|e| self.show_destination(e)).unwrap_or_default()
    }

    fn show_destination(&self, entry: &DestinationEntry) -> String {
        match self.kind {
            ScopeKind::Tenant => entry.namespace.clone(),
            ScopeKind::AppProject => {
                let cluster = match (entry.server.is_empty(), entry.name.is_empty()) {
                    (false, _) => entry.server.clone(),
                    (true, false) => format!("name={}", entry.name),
                    (true, true) => "(no server)".to_owned(),
                };
                format!("{cluster}:{}", entry.namespace)
            }
        }
    }

    fn destination_list(&self) -> String {
        let field = self.kind.destinations_field();
        let entries: Vec<String> = self.destinations.iter().map(|e| self.show_destination(e)).collect();
        show_list(field, &entries)
    }

    // ---- sources ----

    fn source_denial(&self, repo_url: &str, deny_entry: Option<usize>) -> Denial {
        let (kind, name) = (self.kind(), &self.name);
        let field = self.kind.sources_field();
        let list = show_list(field, &self.source_repos);
        let entry = deny_entry.and_then(|i| self.source_repos.get(i));
        let (message, fix) = match entry {
            Some(entry) => (
                format!(
                    "application repo {repo_url} is not permitted in {kind} {name}: denied by entry `{entry}` ({list})"
                ),
                format!(
                    "deploy from a repository entry `{entry}` does not deny, or change that entry in {kind} {name}'s {field}"
                ),
            ),
            None => (
                format!("application repo {repo_url} is not permitted in {kind} {name} ({list})"),
                format!("add the repository to {kind} {name}'s {field}, or deploy from an allowed repository"),
            ),
        };
        Denial { rule: RULE_SOURCE_REPO, path: None, message, fix, undecided: false }
    }

    // ---- kinds (Argo CD's IsGroupKindNamePermitted) ----

    fn check_cluster_kind(&self, subject: &Subject<'_>, group: &str) -> Option<Denial> {
        let (kind, name) = (self.kind(), &self.name);
        let resource = resource_phrase(group, subject, &self.cluster_allow, &self.cluster_deny);
        let allow_field = self.kind.cluster_allow_field();
        if let Some(index) = find(&self.cluster_deny, group, subject.kind, subject.name) {
            let entry = show_kind(&self.cluster_deny[index]);
            let field = self.kind.cluster_deny_field();
            return Some(Denial {
                rule: RULE_CLUSTER_RESOURCE,
                path: Some("kind".into()),
                message: format!(
                    "resource {resource} is not permitted in {kind} {name}: denied by {field} entry `{entry}`"
                ),
                fix: format!("leave the resource out, or remove that entry from {kind} {name}'s {field}"),
                undecided: false,
            });
        }
        if find(&self.cluster_allow, group, subject.kind, subject.name).is_some() {
            return None;
        }
        let list = if self.cluster_allow.is_empty() {
            format!("{allow_field} is empty: no cluster-scoped resource is allowed")
        } else {
            show_list(allow_field, &self.cluster_allow.iter().map(show_kind).collect::<Vec<_>>())
        };
        let wanted = wanted_entry(group, subject, &self.cluster_allow);
        Some(Denial {
            rule: RULE_CLUSTER_RESOURCE,
            path: Some("kind".into()),
            message: format!("resource {resource} is not permitted in {kind} {name} ({list})"),
            fix: format!("add {wanted} to {kind} {name}'s {allow_field}, or leave the resource out"),
            undecided: false,
        })
    }

    fn check_namespaced_kind(&self, subject: &Subject<'_>, group: &str) -> Option<Denial> {
        let (kind, name) = (self.kind(), &self.name);
        let allow = self.namespaced_allow.as_deref().unwrap_or_default();
        let resource = resource_phrase(group, subject, allow, &self.namespaced_deny);
        if let Some(index) = find(&self.namespaced_deny, group, subject.kind, subject.name) {
            let entry = show_kind(&self.namespaced_deny[index]);
            let field = self.kind.namespaced_deny_field();
            return Some(Denial {
                rule: RULE_NAMESPACED_RESOURCE,
                path: Some("kind".into()),
                message: format!(
                    "resource {resource} is not permitted in {kind} {name}: denied by {field} entry `{entry}`"
                ),
                fix: format!("leave the resource out, or remove that entry from {kind} {name}'s {field}"),
                undecided: false,
            });
        }
        let allow_list = self.namespaced_allow.as_ref()?;
        if find(allow_list, group, subject.kind, subject.name).is_some() {
            return None;
        }
        let field = self.kind.namespaced_allow_field();
        let list = if allow_list.is_empty() {
            format!("{field} is empty: no namespaced resource is allowed")
        } else {
            show_list(field, &allow_list.iter().map(show_kind).collect::<Vec<_>>())
        };
        let wanted = wanted_entry(group, subject, allow_list);
        Some(Denial {
            rule: RULE_NAMESPACED_RESOURCE,
            path: Some("kind".into()),
            message: format!("resource {resource} is not permitted in {kind} {name} ({list})"),
            fix: format!(
                "add {wanted} to {kind} {name}'s {field} (or remove the list to allow every kind not denied), or leave the resource out"
            ),
            undecided: false,
        })
    }
}

/// First entry matching group, kind and (where the entry names one) name.
fn find(entries: &[KindEntry], group: &str, kind: &str, name: &str) -> Option<usize> {
    entries.iter().position(|e| {
        filepath_match(&e.kind, kind)
            && filepath_match(&e.group, group)
            && (e.name.is_empty() || filepath_match(&e.name, name))
    })
}

/// `group:Kind` as Argo CD prints it, plus the name when some entry of the lists looks at names.
fn resource_phrase(group: &str, subject: &Subject<'_>, a: &[KindEntry], b: &[KindEntry]) -> String {
    if a.iter().chain(b).any(|e| !e.name.is_empty()) {
        format!("{group}:{} {:?}", subject.kind, subject.name)
    } else {
        format!("{group}:{}", subject.kind)
    }
}

/// The list item that would allow the subject.
fn wanted_entry(group: &str, subject: &Subject<'_>, list: &[KindEntry]) -> String {
    if list.iter().any(|e| !e.name.is_empty()) {
        format!("{{group: {group:?}, kind: {}, name: {}}}", subject.kind, subject.name)
    } else {
        format!("{{group: {group:?}, kind: {}}}", subject.kind)
    }
}

fn show_kind(entry: &KindEntry) -> String {
    if entry.name.is_empty() {
        format!("{}:{}", entry.group, entry.kind)
    } else {
        format!("{}:{}/{}", entry.group, entry.kind, entry.name)
    }
}

/// `field: a, b, c, … (+N more)`, or `field is empty`.
fn show_list(field: &str, entries: &[String]) -> String {
    if entries.is_empty() {
        return format!("{field} is empty");
    }
    let mut text = format!("{field}: {}", entries.iter().take(SHOWN_ENTRIES).cloned().collect::<Vec<_>>().join(", "));
    if entries.len() > SHOWN_ENTRIES {
        let _ = write!(text, ", … (+{} more)", entries.len() - SHOWN_ENTRIES);
    }
    text
}

/// ` on cluster NAME (SERVER)`, ` on server SERVER`, ` on cluster NAME`, or nothing.
fn cluster_phrase(destination: &Destination) -> String {
    let server = destination.server.as_deref().filter(|s| !s.is_empty());
    let name = destination.name.as_deref().filter(|s| !s.is_empty());
    match (server, name) {
        (Some(server), Some(name)) => format!(" on cluster {name} ({server})"),
        (Some(server), None) => format!(" on server {server}"),
        (None, Some(name)) => format!(" on cluster {name}"),
        (None, None) => String::new(),
    }
}
