//! Scope checks end to end over documents: one named test per rule, per row of Argo CD's matching
//! examples (reference argocd.md §5.6, rows 1–15), and for unknown-cluster behaviour and messages.

use serde_json::{Value, json};

use super::*;

fn app_project(spec: Value) -> Scope {
    let mut doc = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                         "metadata": {"name": "team-a", "namespace": "argocd"}});
    doc["spec"] = spec;
    Scope::from_app_project(&doc).unwrap()
}

fn tenant(spec: Value) -> Scope {
    let mut doc = json!({"apiVersion": "syncgate.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "team-a"}});
    doc["spec"] = spec;
    Scope::from_tenant(&doc).unwrap()
}

fn sources(repos: &[&str]) -> Scope {
    app_project(json!({"sourceRepos": repos}))
}

fn destinations(entries: Value) -> Scope {
    let mut spec = json!({});
    spec["destinations"] = entries;
    app_project(spec)
}

/// A destination whose cluster is resolved (as Argo CD resolves it from its cluster list).
fn on(server: &str, name: &str, namespace: &str) -> Destination {
    Destination { server: Some(server.into()), name: Some(name.into()), namespace: namespace.into() }
}

/// A destination as a config management plugin sees it: namespace only.
fn unknown_cluster(namespace: &str) -> Destination {
    Destination { server: None, name: None, namespace: namespace.into() }
}

fn deployment(namespace: Option<&str>) -> Subject<'_> {
    Subject { api_version: "apps/v1", kind: "Deployment", name: "api", namespace, cluster_scoped: false }
}

fn cluster_subject<'a>(api_version: &'a str, kind: &'a str, name: &'a str) -> Subject<'a> {
    Subject { api_version, kind, name, namespace: None, cluster_scoped: true }
}

fn namespaced<'a>(api_version: &'a str, kind: &'a str) -> Subject<'a> {
    Subject { api_version, kind, name: "x", namespace: Some("team-a"), cluster_scoped: false }
}

/// Destination denial for a Deployment placed by `destination`.
fn placed(scope: &Scope, destination: &Destination) -> Option<Denial> {
    let denials = scope.check_resource(&deployment(None), destination);
    assert!(denials.iter().all(|d| d.rule == RULE_DESTINATION), "{denials:?}");
    denials.into_iter().next()
}

fn allowed_at(scope: &Scope, destination: &Destination) -> bool {
    placed(scope, destination).is_none()
}

// ---- §5.6 rows 1–6: source repositories ----

#[test]
fn row_01_git_suffix_is_stripped_and_star_covers_one_segment() {
    assert_eq!(
        sources(&["https://git.example.com/platform/*"]).check_source("https://git.example.com/platform/infra.git"),
        None
    );
}

#[test]
fn row_02_star_stops_at_slash() {
    let scope = sources(&["https://git.example.com/platform/*"]);
    let denial = scope.check_source("https://git.example.com/platform/team-a/infra").unwrap();
    assert_eq!(denial.rule, RULE_SOURCE_REPO);
    assert!(!denial.undecided);
    assert_eq!(
        sources(&["https://git.example.com/platform/**"]).check_source("https://git.example.com/platform/team-a/infra"),
        None
    );
}

#[test]
fn row_03_scp_style_and_ssh_urls_normalise_alike() {
    assert_eq!(
        sources(&["git@git.example.com:Platform/Infra.git"]).check_source("ssh://git@git.example.com/platform/infra"),
        None
    );
}

#[test]
fn row_04_unparsable_urls_both_normalise_to_empty_and_match() {
    assert_eq!(sources(&["ssh://git@git.example.com:team/repo"]).check_source("ssh://git@other.example.org:x/y"), None);
}

#[test]
fn row_05_lone_deny_entry_allows_everything_it_does_not_deny() {
    let scope = sources(&["!https://git.example.com/sandbox/*"]);
    assert_eq!(scope.check_source("https://github.com/acme/app"), None);
    assert!(scope.check_source("https://git.example.com/sandbox/x").is_some());
}

#[test]
fn row_06_deny_entry_wins_regardless_of_order() {
    for repos in [["*", "!https://git.example.com/sandbox/**"], ["!https://git.example.com/sandbox/**", "*"]] {
        let denial = sources(&repos).check_source("https://git.example.com/sandbox/a/b").unwrap();
        assert!(denial.message.contains("denied by entry `!https://git.example.com/sandbox/**`"), "{}", denial.message);
    }
}

// ---- §5.6 rows 7–12: destinations (cluster resolved, as Argo CD has it) ----

#[test]
fn row_07_namespace_glob_needs_its_prefix() {
    let scope = destinations(json!([{"server": "https://prod.example.com:6443", "namespace": "team-*"}]));
    assert!(allowed_at(&scope, &on("https://prod.example.com:6443", "prod", "team-a")));
    assert!(!allowed_at(&scope, &on("https://prod.example.com:6443", "prod", "team")));
    assert!(!allowed_at(&scope, &on("https://staging.example.com:6443", "staging", "team-a")));
}

#[test]
fn row_08_destination_globs_have_no_separators() {
    let scope = destinations(json!([{"server": "https://*.example.com", "namespace": "*"}]));
    assert!(allowed_at(&scope, &on("https://eu.prod.example.com", "eu", "apps")));
}

#[test]
fn row_09_name_entry_matches_the_resolved_cluster_name() {
    let scope = destinations(json!([{"name": "prod-*", "server": "", "namespace": "*"}]));
    assert!(allowed_at(&scope, &on("https://10.0.0.1:6443", "prod-eu", "apps")));
    assert!(!allowed_at(&scope, &on("https://10.0.0.1:6443", "staging", "apps")));
    // Application read from the API sets only the server; the name Argo CD would resolve is unknown.
    let server_only =
        Destination { server: Some("https://10.0.0.1:6443".into()), name: None, namespace: "apps".into() };
    assert!(allowed_at(&scope, &server_only));
}

#[test]
fn row_10_namespace_deny_with_matching_server() {
    let scope = destinations(json!([{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-*"}]));
    let denial = placed(&scope, &on("https://prod.example.com", "prod", "kube-public")).unwrap();
    assert!(denial.message.contains("denied by entry `*:!kube-*`"), "{}", denial.message);
    assert!(allowed_at(&scope, &on("https://prod.example.com", "prod", "apps")));
}

#[test]
fn row_11_server_deny_applies_only_where_its_namespace_matches() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "*"}, {"server": "!https://prod.example.com", "namespace": "payments"}]),
    );
    assert!(!allowed_at(&scope, &on("https://prod.example.com", "prod", "payments")));
    assert!(allowed_at(&scope, &on("https://prod.example.com", "prod", "orders")));
    assert!(allowed_at(&scope, &on("https://staging.example.com", "staging", "payments")));
}

#[test]
fn row_12_namespace_deny_applies_only_on_the_named_server() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "*"}, {"server": "https://prod.example.com", "namespace": "!kube-system"}]),
    );
    assert!(allowed_at(&scope, &on("https://staging.example.com", "staging", "kube-system")));
    assert!(!allowed_at(&scope, &on("https://prod.example.com", "prod", "kube-system")));
}

// ---- §5.6 rows 13–15: kinds ----

#[test]
fn row_13_absent_namespace_whitelist_allows_all_but_the_blacklist() {
    let scope = app_project(json!({"destinations": [{"server": "*", "namespace": "*"}],
                                   "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]}));
    let dest = unknown_cluster("team-a");
    assert!(scope.check_resource(&namespaced("apps/v1", "Deployment"), &dest).is_empty());
    let denials = scope.check_resource(&namespaced("v1", "ResourceQuota"), &dest);
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0].rule, RULE_NAMESPACED_RESOURCE);
    assert_eq!(
        denials[0].message,
        "resource :ResourceQuota is not permitted in AppProject team-a: denied by namespaceResourceBlacklist entry `:ResourceQuota`"
    );
}

#[test]
fn row_14_explicit_empty_namespace_whitelist_denies_every_namespaced_kind() {
    let scope =
        app_project(json!({"destinations": [{"server": "*", "namespace": "*"}], "namespaceResourceWhitelist": []}));
    for (api_version, kind) in [("apps/v1", "Deployment"), ("v1", "ConfigMap"), ("example.com/v1", "Widget")] {
        let denials = scope.check_resource(&namespaced(api_version, kind), &unknown_cluster("team-a"));
        assert_eq!(denials.len(), 1, "{kind}");
        assert!(denials[0].message.contains("namespaceResourceWhitelist is empty: no namespaced resource is allowed"));
    }
}

#[test]
fn row_15_cluster_whitelist_matches_group_kind_and_name() {
    let scope = app_project(json!({"clusterResourceWhitelist": [
        {"group": "rbac.authorization.k8s.io", "kind": "Cluster*"},
        {"group": "", "kind": "Namespace", "name": "tenant-a-*"}
    ]}));
    let dest = unknown_cluster("");
    let check = |api_version, kind, name| scope.check_resource(&cluster_subject(api_version, kind, name), &dest);
    assert!(check("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "x").is_empty());
    assert!(check("v1", "Namespace", "tenant-a-dev").is_empty());
    let denied = check("v1", "Namespace", "tenant-b");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].rule, RULE_CLUSTER_RESOURCE);
    assert!(
        denied[0].message.starts_with("resource :Namespace \"tenant-b\" is not permitted in AppProject team-a"),
        "{}",
        denied[0].message
    );
    assert_eq!(check("v1", "PersistentVolume", "pv").len(), 1);
}

// ---- rules ----

#[test]
fn rule_project_source_repo_message_and_fix() {
    let denial = sources(&["https://github.com/acme/team-a-*"]).check_source("https://github.com/acme/other").unwrap();
    assert_eq!(denial.rule, "project-source-repo");
    assert_eq!(
        denial.message,
        "application repo https://github.com/acme/other is not permitted in AppProject team-a (sourceRepos: https://github.com/acme/team-a-*)"
    );
    assert_eq!(
        denial.fix,
        "add the repository to AppProject team-a's sourceRepos, or deploy from an allowed repository"
    );
    assert_eq!(denial.path, None);
}

#[test]
fn rule_project_source_repo_empty_list_allows_nothing() {
    let denial = sources(&[]).check_source("https://github.com/acme/app").unwrap();
    assert!(denial.message.ends_with("(sourceRepos is empty)"), "{}", denial.message);
}

#[test]
fn rule_project_destination_message_and_fix() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "team-a-*"}, {"server": "https://prod.example.com", "namespace": "team-a"}]),
    );
    let denial = scope.check_resource(&deployment(Some("payments")), &unknown_cluster("team-a-web")).remove(0);
    assert_eq!(denial.rule, "project-destination");
    assert_eq!(
        denial.message,
        "namespace \"payments\" is not an allowed destination of AppProject team-a (destinations: *:team-a-*, https://prod.example.com:team-a); required: a namespace the project permits"
    );
    assert_eq!(
        denial.fix,
        "deploy into a namespace AppProject team-a permits, or add a destination for namespace \"payments\" to its destinations"
    );
    assert_eq!(denial.path.as_deref(), Some("metadata.namespace"));
    assert!(!denial.undecided);
}

#[test]
fn rule_project_destination_uses_the_destination_namespace_when_the_resource_sets_none() {
    let scope = destinations(json!([{"server": "*", "namespace": "team-a-*"}]));
    assert!(scope.check_resource(&deployment(None), &unknown_cluster("team-a-web")).is_empty());
    let denial = scope.check_resource(&deployment(None), &unknown_cluster("payments")).remove(0);
    assert_eq!(denial.path, None);
    assert!(denial.message.starts_with("namespace \"payments\" is not"));
    let denial = scope.check_resource(&deployment(Some("")), &unknown_cluster("")).remove(0);
    assert!(denial.message.starts_with("namespace (none) is not"), "{}", denial.message);
}

#[test]
fn rule_project_destination_names_the_known_cluster() {
    let scope = destinations(json!([{"server": "https://staging.example.com", "namespace": "*"}]));
    let denial = placed(&scope, &on("https://prod.example.com", "prod", "apps")).unwrap();
    assert!(
        denial.message.starts_with("namespace \"apps\" on cluster prod (https://prod.example.com) is not"),
        "{}",
        denial.message
    );
}

#[test]
fn rule_project_destination_checks_the_application_destination() {
    let scope = destinations(json!([{"server": "*", "namespace": "team-a"}]));
    assert_eq!(scope.check_destination(&unknown_cluster("team-a")), None);
    assert_eq!(scope.check_destination(&unknown_cluster("payments")).unwrap().rule, RULE_DESTINATION);
}

#[test]
fn rule_project_namespaced_resource_whitelist_message_and_fix() {
    let scope = app_project(json!({"destinations": [{"server": "*", "namespace": "*"}],
                                   "namespaceResourceWhitelist": [{"group": "", "kind": "ConfigMap"}]}));
    let denial = scope.check_resource(&namespaced("apps/v1", "Deployment"), &unknown_cluster("x")).remove(0);
    assert_eq!(denial.rule, "project-namespaced-resource");
    assert_eq!(
        denial.message,
        "resource apps:Deployment is not permitted in AppProject team-a (namespaceResourceWhitelist: :ConfigMap)"
    );
    assert_eq!(
        denial.fix,
        "add {group: \"apps\", kind: Deployment} to AppProject team-a's namespaceResourceWhitelist (or remove the list to allow every kind not denied), or leave the resource out"
    );
    assert_eq!(denial.path.as_deref(), Some("kind"));
}

#[test]
fn rule_project_namespaced_resource_and_destination_are_both_reported() {
    let scope = app_project(
        json!({"destinations": [{"server": "*", "namespace": "team-a"}], "namespaceResourceWhitelist": []}),
    );
    let denials = scope.check_resource(&deployment(Some("payments")), &unknown_cluster("team-a"));
    let rules: Vec<_> = denials.iter().map(|d| d.rule).collect();
    assert_eq!(rules, [RULE_NAMESPACED_RESOURCE, RULE_DESTINATION]);
}

#[test]
fn rule_project_cluster_resource_message_and_fix() {
    let scope = app_project(json!({"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]}));
    let denial = scope
        .check_resource(&cluster_subject("rbac.authorization.k8s.io/v1", "ClusterRole", "admin"), &unknown_cluster("x"))
        .remove(0);
    assert_eq!(denial.rule, "project-cluster-resource");
    assert_eq!(
        denial.message,
        "resource rbac.authorization.k8s.io:ClusterRole is not permitted in AppProject team-a (clusterResourceWhitelist: :Namespace)"
    );
    assert_eq!(
        denial.fix,
        "add {group: \"rbac.authorization.k8s.io\", kind: ClusterRole} to AppProject team-a's clusterResourceWhitelist, or leave the resource out"
    );
}

#[test]
fn rule_project_cluster_resource_blacklist_wins_over_whitelist() {
    let scope = app_project(json!({"clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                                   "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "ClusterRole*"}]}));
    let denial = scope
        .check_resource(
            &cluster_subject("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "x"),
            &unknown_cluster(""),
        )
        .remove(0);
    assert_eq!(
        denial.message,
        "resource rbac.authorization.k8s.io:ClusterRoleBinding is not permitted in AppProject team-a: denied by clusterResourceBlacklist entry `rbac.authorization.k8s.io:ClusterRole*`"
    );
    assert_eq!(
        denial.fix,
        "leave the resource out, or remove that entry from AppProject team-a's clusterResourceBlacklist"
    );
    assert!(scope.check_resource(&cluster_subject("v1", "Namespace", "x"), &unknown_cluster("")).is_empty());
}

#[test]
fn rule_project_cluster_resource_empty_whitelist_denies_all_and_skips_destinations() {
    let scope = app_project(json!({"destinations": [{"server": "*", "namespace": "team-a"}]}));
    let denials = scope.check_resource(
        &Subject { api_version: "v1", kind: "Namespace", name: "x", namespace: Some("payments"), cluster_scoped: true },
        &unknown_cluster("payments"),
    );
    assert_eq!(denials.len(), 1, "no destination check for cluster-scoped kinds");
    assert!(denials[0].message.ends_with("(clusterResourceWhitelist is empty: no cluster-scoped resource is allowed)"));
}

#[test]
fn namespaced_lists_are_matched_with_filepath_globs() {
    let scope = app_project(json!({"destinations": [{"server": "*", "namespace": "*"}],
                                   "namespaceResourceWhitelist": [{"group": "*", "kind": "Config?ap"}, {"group": "apps", "kind": "[DS]*"}]}));
    let dest = unknown_cluster("x");
    assert!(scope.check_resource(&namespaced("v1", "ConfigMap"), &dest).is_empty());
    assert!(scope.check_resource(&namespaced("apps/v1", "StatefulSet"), &dest).is_empty());
    assert_eq!(scope.check_resource(&namespaced("apps/v1", "ReplicaSet"), &dest).len(), 1);
    assert_eq!(scope.check_resource(&namespaced("v1", "configmap"), &dest).len(), 1, "case-sensitive");
}

// ---- unknown destination cluster (config management plugin) ----

#[test]
fn unknown_server_allows_a_namespace_some_destination_permits() {
    let scope = destinations(json!([{"server": "https://prod.example.com:6443", "namespace": "team-*"}]));
    assert!(allowed_at(&scope, &unknown_cluster("team-a")));
    let denial = placed(&scope, &unknown_cluster("team")).unwrap();
    assert!(!denial.undecided, "no entry could allow it on any cluster");
}

#[test]
fn unknown_server_namespace_deny_on_a_wildcard_server_is_decided() {
    let scope = destinations(json!([{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-*"}]));
    let denial = placed(&scope, &unknown_cluster("kube-public")).unwrap();
    assert!(!denial.undecided);
    assert!(allowed_at(&scope, &unknown_cluster("apps")));
}

#[test]
fn unknown_server_server_deny_fails_closed_as_undecided() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "*"}, {"server": "!https://prod.example.com", "namespace": "payments"}]),
    );
    let denial = placed(&scope, &unknown_cluster("payments")).unwrap();
    assert!(denial.undecided);
    assert_eq!(
        denial.message,
        "namespace \"payments\" may not be an allowed destination of AppProject team-a: entry `!https://prod.example.com:payments` denies it on some clusters and the destination cluster is unknown (destinations: *:*, !https://prod.example.com:payments)"
    );
    assert!(denial.fix.starts_with("let syncgate read the Application from the Kubernetes API"), "{}", denial.fix);
    assert!(allowed_at(&scope, &unknown_cluster("orders")));
}

#[test]
fn unknown_server_namespace_deny_on_a_named_server_fails_closed() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "*"}, {"server": "https://prod.example.com", "namespace": "!kube-system"}]),
    );
    assert!(placed(&scope, &unknown_cluster("kube-system")).unwrap().undecided);
    assert!(allowed_at(&scope, &unknown_cluster("apps")));
}

#[test]
fn unknown_name_deny_fails_closed_for_every_namespace() {
    let scope = destinations(json!([{"server": "*", "namespace": "*"}, {"name": "!prod-*", "namespace": "*"}]));
    assert!(placed(&scope, &unknown_cluster("apps")).unwrap().undecided);
    // Known: Argo CD's semantics.
    assert!(allowed_at(&scope, &on("https://10.0.0.1", "staging", "apps")));
    assert!(!allowed_at(&scope, &on("https://10.0.0.1", "prod-eu", "apps")));
}

#[test]
fn a_definite_denial_is_preferred_over_an_undecided_one() {
    let scope = destinations(
        json!([{"server": "*", "namespace": "*"}, {"server": "!https://prod.example.com", "namespace": "kube-system"},
                                    {"server": "*", "namespace": "!kube-*"}]),
    );
    let denial = placed(&scope, &unknown_cluster("kube-system")).unwrap();
    assert!(!denial.undecided);
    assert!(denial.message.contains("`*:!kube-*`"), "{}", denial.message);
}

#[test]
fn known_empty_server_matches_no_server_entry() {
    let scope = destinations(json!([{"server": "*", "namespace": "*"}]));
    assert!(!allowed_at(
        &scope,
        &Destination { server: Some(String::new()), name: Some(String::new()), namespace: "a".into() }
    ));
}

#[test]
fn permit_only_project_scoped_clusters_is_left_to_argo_cd() {
    let scope = app_project(
        json!({"destinations": [{"server": "*", "namespace": "*"}], "permitOnlyProjectScopedClusters": true}),
    );
    assert!(allowed_at(&scope, &on("https://prod.example.com", "prod", "apps")));
    let notes = scope.notes(&on("https://prod.example.com", "prod", "apps"));
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("checked by Argo CD, not by syncgate"));
    assert!(scope.notes(&unknown_cluster("apps")).is_empty());
    assert!(destinations(json!([])).notes(&on("https://x", "x", "a")).is_empty());
}

// ---- Tenant ----

#[test]
fn tenant_deny_namespace_only_denies() {
    let scope = tenant(json!({"namespaces": ["team-a-*", "!team-a-system"], "sourceRepositories": ["*"]}));
    assert!(allowed_at(&scope, &unknown_cluster("team-a-web")));
    let denial = placed(&scope, &unknown_cluster("team-a-system")).unwrap();
    assert_eq!(
        denial.message,
        "namespace \"team-a-system\" is not an allowed destination of Tenant team-a: denied by entry `!team-a-system` (namespaces: team-a-*, !team-a-system)"
    );
    assert!(!denial.undecided);
    let denial = placed(&scope, &unknown_cluster("payments")).unwrap();
    assert_eq!(
        denial.message,
        "namespace \"payments\" is not an allowed destination of Tenant team-a (namespaces: team-a-*, !team-a-system); required: a namespace the tenant permits"
    );
    assert_eq!(denial.fix, "deploy into a namespace Tenant team-a permits, or add \"payments\" to its namespaces");
    // An AppProject with the same entries allows `payments`: its `!` entry allows all it does not deny.
    let project =
        destinations(json!([{"server": "*", "namespace": "team-a-*"}, {"server": "*", "namespace": "!team-a-system"}]));
    assert!(allowed_at(&project, &unknown_cluster("payments")));
}

#[test]
fn tenant_sources_have_source_repos_semantics() {
    let scope = tenant(json!({"namespaces": ["*"], "sourceRepositories": ["https://github.com/acme/team-a-*"]}));
    assert_eq!(scope.check_source("https://github.com/acme/team-a-web.git"), None);
    let denial = scope.check_source("https://github.com/acme/other").unwrap();
    assert_eq!(
        denial.message,
        "application repo https://github.com/acme/other is not permitted in Tenant team-a (sourceRepositories: https://github.com/acme/team-a-*)"
    );
    let lone_deny = tenant(json!({"namespaces": ["*"], "sourceRepositories": ["!https://github.com/acme/sandbox-*"]}));
    assert_eq!(lone_deny.check_source("https://github.com/acme/app"), None);
}

#[test]
fn tenant_kind_lists() {
    let scope = tenant(json!({
        "namespaces": ["team-a-*"], "sourceRepositories": ["*"],
        "clusterResources": [{"group": "", "kind": "Namespace", "name": "team-a-*"}],
        "namespacedResources": {"deny": [{"group": "", "kind": "ResourceQuota"}]}
    }));
    let dest = unknown_cluster("team-a-web");
    assert!(scope.check_resource(&cluster_subject("v1", "Namespace", "team-a-dev"), &dest).is_empty());
    let denial = scope.check_resource(&cluster_subject("v1", "Namespace", "kube-system"), &dest).remove(0);
    assert_eq!(
        denial.message,
        "resource :Namespace \"kube-system\" is not permitted in Tenant team-a (clusterResources: :Namespace/team-a-*)"
    );
    assert!(
        scope.check_resource(&namespaced("apps/v1", "Deployment"), &dest).len() == 1,
        "namespace team-a is not team-a-*"
    );
    assert!(scope.check_resource(&deployment(None), &dest).is_empty());
    let denial = scope
        .check_resource(
            &Subject { api_version: "v1", kind: "ResourceQuota", name: "q", namespace: None, cluster_scoped: false },
            &dest,
        )
        .remove(0);
    assert!(
        denial.message.ends_with("denied by namespacedResources.deny entry `:ResourceQuota`"),
        "{}",
        denial.message
    );

    let none = tenant(
        json!({"namespaces": ["*"], "sourceRepositories": ["*"], "namespacedResources": {"allow": [{"group": "", "kind": "ConfigMap"}]}}),
    );
    assert!(
        none.check_resource(&cluster_subject("v1", "Namespace", "x"), &dest)[0]
            .message
            .contains("clusterResources is empty")
    );
    assert!(none.check_resource(&namespaced("v1", "ConfigMap"), &dest).is_empty());
    assert_eq!(none.check_resource(&namespaced("v1", "Secret"), &dest).len(), 1);
}

#[test]
fn scope_remembers_kind_and_name() {
    let a = destinations(json!([]));
    let t = tenant(json!({"namespaces": ["x"], "sourceRepositories": ["*"]}));
    assert_eq!((a.kind(), a.name(), a.scope_kind()), ("AppProject", "team-a", ScopeKind::AppProject));
    assert_eq!((t.kind(), t.name(), t.scope_kind()), ("Tenant", "team-a", ScopeKind::Tenant));
}

#[test]
fn subject_group_comes_from_api_version() {
    assert_eq!(deployment(None).group(), "apps");
    assert_eq!(namespaced("v1", "ConfigMap").group(), "");
    assert_eq!(namespaced("", "X").group(), "");
}

#[test]
fn long_lists_are_elided_in_messages() {
    let repos: Vec<String> = (0..12).map(|i| format!("https://github.com/acme/r{i}")).collect();
    let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
    let denial = sources(&repos).check_source("https://github.com/acme/other").unwrap();
    assert!(denial.message.ends_with(", https://github.com/acme/r7, … (+4 more))"), "{}", denial.message);
}

#[test]
fn hostile_patterns_do_not_panic() {
    let scope = app_project(json!({
        "sourceRepos": ["[", "{", "!{[", "\\", "%zz", "ssh://:@:", "\u{0}"],
        "destinations": [{"server": "[", "name": "!{", "namespace": "\\"}],
        "clusterResourceWhitelist": [{"group": "[", "kind": "\\", "name": "[^"}],
        "namespaceResourceWhitelist": [{"group": "[]", "kind": "*["}]
    }));
    let _ = scope.check_source("https://[::1/%%");
    let _ = scope.check_resource(&deployment(Some("\u{0}")), &unknown_cluster("x"));
    let _ = scope.check_resource(&cluster_subject("a/b/c", "Namespace", "n"), &on("[", "{", "x"));
}
