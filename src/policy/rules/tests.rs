//! Named cases for every production rule, pass and fail side.

use rstest::rstest;

use super::*;
use crate::manifest::{self, Limits, Stream};

/// A Deployment in namespace `web` whose pod spec is `spec` (YAML flow or block, indented 6).
fn deployment(spec: &str) -> Stream {
    let text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: web}}\nspec:\n  template:\n    spec:\n{spec}"
    );
    Stream { documents: manifest::parse_bytes(text.as_bytes(), Some("t.yaml"), &Limits::default()).unwrap() }
}

fn run(rule: RuleId, settings: &Settings, spec: &str) -> Vec<Violation> {
    let stream = deployment(spec);
    let resources = stream.resources().unwrap();
    let workload = Workload::new(resources[0], &manifest::builtin_workload_kinds(), "default").unwrap();
    check(rule, settings, &workload)
}

const GOOD: &str = "      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945
          resources: {requests: {cpu: 100m, memory: 64Mi}}
          securityContext: {readOnlyRootFilesystem: true, privileged: false}
";

#[rstest]
#[case::require_image_digest(RuleId::RequireImageDigest)]
#[case::disallow_latest_tag(RuleId::DisallowLatestTag)]
#[case::disallow_privileged(RuleId::DisallowPrivileged)]
#[case::disallow_host_namespaces(RuleId::DisallowHostNamespaces)]
#[case::disallow_host_path(RuleId::DisallowHostPath)]
#[case::require_resource_requests(RuleId::RequireResourceRequests)]
#[case::require_run_as_non_root(RuleId::RequireRunAsNonRoot)]
#[case::require_read_only_root_filesystem(RuleId::RequireReadOnlyRootFilesystem)]
#[case::require_seccomp_profile(RuleId::RequireSeccompProfile)]
fn hardened_workload_passes(#[case] rule: RuleId) {
    assert_eq!(run(rule, &rule.default_settings(), GOOD), Vec::new());
}

fn one(rule: RuleId, settings: &Settings, spec: &str) -> Violation {
    let mut v = run(rule, settings, spec);
    assert_eq!(v.len(), 1, "{v:#?}");
    v.remove(0)
}

#[rstest]
#[case::tag_only_is_not_pinned("ghcr.io/acme/api:1.0", true)]
#[case::no_tag_is_not_pinned("ghcr.io/acme/api", true)]
#[case::digest_only_is_pinned(
    "ghcr.io/acme/api@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    false
)]
#[case::tag_and_digest_is_pinned(
    "ghcr.io/acme/api:1@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    false
)]
fn require_image_digest(#[case] image: &str, #[case] fails: bool) {
    let spec = format!("      containers: [{{name: api, image: \"{image}\"}}]\n");
    let v = run(RuleId::RequireImageDigest, &Settings::None, &spec);
    assert_eq!(!v.is_empty(), fails, "{v:#?}");
    if fails {
        assert_eq!(v[0].path.to_string(), "spec.template.spec.containers[0].image");
        assert!(v[0].message.contains("not pinned to a digest"));
    }
}

#[rstest]
#[case::latest_tag_fails("nginx:latest", true)]
#[case::missing_tag_counts_as_latest("nginx", true)]
#[case::registry_port_without_tag_counts_as_latest("127.0.0.1:5000/app", true)]
#[case::version_tag_passes("nginx:1.27", false)]
#[case::digest_without_tag_passes(
    "nginx@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    false
)]
fn disallow_latest_tag(#[case] image: &str, #[case] fails: bool) {
    let spec = format!("      containers: [{{name: api, image: \"{image}\"}}]\n");
    let v = run(RuleId::DisallowLatestTag, &Settings::None, &spec);
    assert_eq!(!v.is_empty(), fails, "{v:#?}");
}

#[test]
fn missing_tag_message_says_it_means_latest() {
    let v = one(RuleId::DisallowLatestTag, &Settings::None, "      containers: [{name: api, image: nginx}]\n");
    assert!(v.message.contains("has no tag, which means latest"), "{}", v.message);
}

#[rstest]
#[case::invalid_reference_is_undecidable_for_digest(RuleId::RequireImageDigest)]
#[case::invalid_reference_is_undecidable_for_latest(RuleId::DisallowLatestTag)]
#[case::invalid_reference_is_undecidable_for_registries(RuleId::AllowedRegistries)]
fn invalid_image_reference_is_an_error_not_a_panic(#[case] rule: RuleId) {
    let settings = Settings::Registries(vec!["ghcr.io/".into()]);
    let v = one(rule, &settings, "      containers: [{name: api, image: \"Ghcr.io/Acme/API:::\"}]\n");
    assert!(v.undecidable);
    assert!(v.message.contains("invalid image reference"), "{}", v.message);
}

#[rstest]
#[case::prefix_allows("ghcr.io/acme/api:1", &["ghcr.io/acme/"], false)]
#[case::prefix_refuses_other_org("ghcr.io/evil/api:1", &["ghcr.io/acme/"], true)]
#[case::host_allows_its_paths("registry.k8s.io/pause:3.9", &["registry.k8s.io"], false)]
#[case::host_is_not_a_string_prefix("ghcr.io.evil.com/acme/api:1", &["ghcr.io"], true)]
#[case::docker_hub_is_normalised("nginx:1.27", &["docker.io/library/"], false)]
#[case::glob_allows("quay.io/cilium/cilium:v1", &["quay.io/*/cilium"], false)]
#[case::port_is_part_of_the_registry("127.0.0.1:5000/app:1", &["127.0.0.1:5001"], true)]
fn allowed_registries(#[case] image: &str, #[case] allowed: &[&str], #[case] fails: bool) {
    let settings = Settings::Registries(allowed.iter().map(|s| (*s).to_owned()).collect());
    let spec = format!("      containers: [{{name: api, image: \"{image}\"}}]\n");
    assert_eq!(!run(RuleId::AllowedRegistries, &settings, &spec).is_empty(), fails);
}

#[rstest]
#[case::privileged_container_fails(
    "      containers: [{name: api, image: a, securityContext: {privileged: true}}]\n",
    1
)]
#[case::privileged_init_container_fails(
    "      initContainers: [{name: init, image: a, securityContext: {privileged: true}}]\n      containers: [{name: api, image: a}]\n",
    1
)]
#[case::privileged_ephemeral_container_fails(
    "      containers: [{name: api, image: a}]\n      ephemeralContainers: [{name: dbg, image: a, securityContext: {privileged: true}}]\n",
    1
)]
#[case::privileged_false_passes("      containers: [{name: api, image: a, securityContext: {privileged: false}}]\n", 0)]
#[case::unset_passes("      containers: [{name: api, image: a}]\n", 0)]
fn disallow_privileged(#[case] spec: &str, #[case] count: usize) {
    let v = run(RuleId::DisallowPrivileged, &Settings::None, spec);
    assert_eq!(v.len(), count, "{v:#?}");
    if let Some(v) = v.first() {
        assert!(v.path.to_string().ends_with("securityContext.privileged"));
        assert!(v.container.is_some());
    }
}

#[rstest]
#[case::host_network("      hostNetwork: true\n      containers: [{name: api, image: a}]\n", &["spec.template.spec.hostNetwork"])]
#[case::host_pid_and_ipc("      hostPID: true\n      hostIPC: true\n      containers: [{name: api, image: a}]\n", &["spec.template.spec.hostPID", "spec.template.spec.hostIPC"])]
#[case::explicit_false_passes("      hostNetwork: false\n      containers: [{name: api, image: a}]\n", &[])]
fn disallow_host_namespaces(#[case] spec: &str, #[case] paths: &[&str]) {
    let got: Vec<String> =
        run(RuleId::DisallowHostNamespaces, &Settings::None, spec).iter().map(|v| v.path.to_string()).collect();
    assert_eq!(got, paths);
}

#[rstest]
#[case::host_path_fails(
    "      containers: [{name: api, image: a}]\n      volumes: [{name: data, emptyDir: {}}, {name: root, hostPath: {path: /}}]\n",
    Some("spec.template.spec.volumes[1].hostPath")
)]
#[case::other_volumes_pass(
    "      containers: [{name: api, image: a}]\n      volumes: [{name: data, emptyDir: {}}]\n",
    None
)]
fn disallow_host_path(#[case] spec: &str, #[case] path: Option<&str>) {
    let got: Vec<String> =
        run(RuleId::DisallowHostPath, &Settings::None, spec).iter().map(|v| v.path.to_string()).collect();
    assert_eq!(got, path.into_iter().map(str::to_owned).collect::<Vec<_>>());
}

#[rstest]
#[case::both_missing("      containers: [{name: api, image: a}]\n", &["cpu", "memory"], Some("\"cpu\", \"memory\""))]
#[case::memory_missing("      containers: [{name: api, image: a, resources: {requests: {cpu: 1}}}]\n", &["cpu", "memory"], Some("\"memory\""))]
#[case::limits_do_not_count("      containers: [{name: api, image: a, resources: {limits: {cpu: 1, memory: 1Gi}}}]\n", &["cpu", "memory"], Some("\"cpu\", \"memory\""))]
#[case::configured_cpu_only("      containers: [{name: api, image: a, resources: {requests: {cpu: 1}}}]\n", &["cpu"], None)]
#[case::init_container_checked("      initContainers: [{name: init, image: a}]\n      containers: [{name: api, image: a, resources: {requests: {cpu: 1}}}]\n", &["cpu"], Some("\"cpu\""))]
#[case::ephemeral_container_exempt("      containers: [{name: api, image: a, resources: {requests: {cpu: 1}}}]\n      ephemeralContainers: [{name: dbg, image: a}]\n", &["cpu"], None)]
fn require_resource_requests(#[case] spec: &str, #[case] required: &[&str], #[case] missing: Option<&str>) {
    let settings = Settings::Resources(required.iter().map(|s| (*s).to_owned()).collect());
    let v = run(RuleId::RequireResourceRequests, &settings, spec);
    match missing {
        None => assert!(v.is_empty(), "{v:#?}"),
        Some(m) => {
            assert_eq!(v.len(), 1, "{v:#?}");
            assert!(v[0].message.contains(&format!("requests no {m}")), "{}", v[0].message);
        }
    }
}

#[rstest]
#[case::pod_true_covers_containers(
    "      securityContext: {runAsNonRoot: true}\n      containers: [{name: api, image: a}]\n",
    0
)]
#[case::container_true_passes("      containers: [{name: api, image: a, securityContext: {runAsNonRoot: true}}]\n", 0)]
#[case::unset_everywhere_fails("      containers: [{name: api, image: a}]\n", 1)]
#[case::container_false_overrides_pod_true(
    "      securityContext: {runAsNonRoot: true}\n      containers: [{name: api, image: a, securityContext: {runAsNonRoot: false}}]\n",
    1
)]
#[case::pod_false_fails_even_if_containers_true(
    "      securityContext: {runAsNonRoot: false}\n      containers: [{name: api, image: a, securityContext: {runAsNonRoot: true}}]\n",
    1
)]
fn require_run_as_non_root(#[case] spec: &str, #[case] count: usize) {
    assert_eq!(run(RuleId::RequireRunAsNonRoot, &Settings::None, spec).len(), count);
}

#[rstest]
#[case::unset_fails("      containers: [{name: api, image: a}]\n", 1)]
#[case::false_fails("      containers: [{name: api, image: a, securityContext: {readOnlyRootFilesystem: false}}]\n", 1)]
#[case::true_passes("      containers: [{name: api, image: a, securityContext: {readOnlyRootFilesystem: true}}]\n", 0)]
#[case::each_container_counts(
    "      initContainers: [{name: i, image: a}]\n      containers: [{name: api, image: a, securityContext: {readOnlyRootFilesystem: true}}]\n",
    1
)]
fn require_read_only_root_filesystem(#[case] spec: &str, #[case] count: usize) {
    assert_eq!(run(RuleId::RequireReadOnlyRootFilesystem, &Settings::None, spec).len(), count);
}

#[rstest]
#[case::pod_runtime_default_passes(
    "      securityContext: {seccompProfile: {type: RuntimeDefault}}\n      containers: [{name: api, image: a}]\n",
    0
)]
#[case::container_localhost_passes(
    "      containers: [{name: api, image: a, securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}}]\n",
    0
)]
#[case::unset_fails("      containers: [{name: api, image: a}]\n", 1)]
#[case::pod_unconfined_fails_even_with_valid_containers(
    "      securityContext: {seccompProfile: {type: Unconfined}}\n      containers: [{name: api, image: a, securityContext: {seccompProfile: {type: RuntimeDefault}}}]\n",
    1
)]
#[case::container_unconfined_overrides_pod(
    "      securityContext: {seccompProfile: {type: RuntimeDefault}}\n      containers: [{name: api, image: a, securityContext: {seccompProfile: {type: Unconfined}}}]\n",
    1
)]
fn require_seccomp_profile(#[case] spec: &str, #[case] count: usize) {
    assert_eq!(run(RuleId::RequireSeccompProfile, &Settings::None, spec).len(), count);
}

#[test]
fn wrong_field_type_is_refused_with_path_and_line() {
    let stream = deployment("      containers: [{name: api, image: a, securityContext: {privileged: \"yes\"}}]\n");
    let resources = stream.resources().unwrap();
    let err = Workload::new(resources[0], &manifest::builtin_workload_kinds(), "default").unwrap_err();
    assert_eq!(err.path, "spec.template.spec.containers[0].securityContext.privileged");
    assert_eq!(err.location.line, Some(7));
    assert!(err.message.contains("expected a boolean"), "{}", err.message);
}

#[rstest]
#[case::unknown_setting(
    RuleId::DisallowPrivileged,
    r#"{"mode": "enforce", "registries": []}"#,
    "unknown field `registries`"
)]
#[case::empty_registries(RuleId::AllowedRegistries, r#"{"registries": []}"#, "at least one registry")]
#[case::missing_registries(RuleId::AllowedRegistries, r#"{"mode": "report"}"#, "missing field `registries`")]
#[case::bad_mode(RuleId::DisallowPrivileged, r#"{"mode": "warn"}"#, "unknown variant `warn`")]
#[case::resources_wrong_type(RuleId::RequireResourceRequests, r#"{"resources": "cpu"}"#, "expected a sequence")]
fn bad_rule_settings_are_refused(#[case] rule: RuleId, #[case] json: &str, #[case] needle: &str) {
    let (_, message) = rule.parse_settings(serde_json::from_str(json).unwrap()).unwrap_err();
    assert!(message.contains(needle), "{message}");
}

#[test]
fn rule_ids_round_trip() {
    for rule in RuleId::ALL {
        assert_eq!(rule.as_str().parse::<RuleId>(), Ok(rule));
    }
    assert!("disallow-everything".parse::<RuleId>().is_err());
}
