//! `syncgate check`: the quickstart in every output format (golden files), exit codes, modes, and
//! bad input / bad policy refused with exit 2 and a message naming file, line and field.

use std::fmt::Write as _;

use rstest::rstest;

use crate::common::{Run, run, syncgate, write};

const NOW: &str = "2026-11-28T00:00:00Z";

/// `syncgate check` on the quickstart with its policies, offline, at a fixed time, plus `extra` args.
fn quickstart_with(extra: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp dir");
    let base =
        ["check", "examples/quickstart/rendered", "-p", "examples/quickstart/policies", "--offline", "--now", NOW];
    run(syncgate(home.path()).args(base).args(extra))
}

fn quickstart(format: &str) -> Run {
    quickstart_with(&["--output", format])
}

/// `syncgate check FILE --offline -p POLICY` where both are written to a temp dir.
fn check_file(name: &str, manifest: &str, policy: &str, extra: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp dir");
    let file = write(home.path(), name, manifest);
    let policy = write(home.path(), "policy.yaml", policy);
    run(syncgate(home.path()).arg("check").arg(&file).arg("--offline").arg("-p").arg(&policy).args(extra))
}

#[rstest]
#[case::text("text")]
#[case::json("json")]
#[case::sarif("sarif")]
#[case::junit("junit")]
fn quickstart_report_is_golden(#[case] format: &str) {
    let out = quickstart(format);
    assert_eq!(out.code, 1, "the quickstart denies the api Deployment\n{}", out.stderr);
    let stdout = out.stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    insta::assert_snapshot!(format!("quickstart_{format}"), stdout);
}

#[test]
fn quickstart_denial_names_rule_resource_container_field_and_fix() {
    let out = quickstart("text");
    let text = out.stdout;
    assert!(text.contains("✗ Deployment/shop/api"), "{text}");
    assert!(text.contains("DENY   disallow-privileged  container api"), "{text}");
    assert!(text.contains("spec.template.spec.containers[0].securityContext.privileged (line 60)"), "{text}");
    assert!(text.contains("fix: remove securityContext.privileged"), "{text}");
    assert!(text.contains("✓ Deployment/shop/frontend"), "{text}");
}

#[test]
fn json_report_follows_the_contract() {
    let out = quickstart("json");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["decision"], "deny");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "disallow-privileged" && f["status"] == "fail")
        .expect("a disallow-privileged failure");
    assert_eq!(finding["resource"]["kind"], "Deployment");
    assert_eq!(finding["resource"]["namespace"], "shop");
    assert_eq!(finding["resource"]["name"], "api");
    assert_eq!(finding["resource"]["apiVersion"], "apps/v1");
    assert_eq!(finding["container"], "api");
    assert_eq!(finding["path"], "spec.template.spec.containers[0].securityContext.privileged");
    assert_eq!(finding["mode"], "enforce");
    assert!(finding["exception"].is_null());
    assert_eq!(report["summary"]["resources"], 4);
}

#[test]
fn report_mode_allows_what_enforce_denies() {
    let out = quickstart_with(&["--mode", "report"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("WARN   disallow-privileged"), "{}", out.stdout);
    assert!(out.stdout.contains("allowed:"), "{}", out.stdout);
}

#[test]
fn compliant_resources_are_allowed_with_exit_zero() {
    let home = tempfile::tempdir().unwrap();
    let stdin = std::fs::read_to_string(crate::common::root().join("examples/quickstart/rendered/shop.yaml")).unwrap();
    let frontend_only: String = stdin.split("\n---\n").take(2).collect::<Vec<_>>().join("\n---\n");
    let out = run(syncgate(home.path())
        .args(["check", "-", "-p", "examples/quickstart/policies", "--offline", "--now", NOW])
        .write_stdin(frontend_only));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn expired_exception_denies_again_and_is_reported() {
    let home = tempfile::tempdir().unwrap();
    let out = run(syncgate(home.path()).args([
        "check",
        "examples/quickstart/rendered/monitoring.yaml",
        "-p",
        "examples/quickstart/policies",
        "--offline",
        "--now",
        "2027-07-01T00:00:00Z",
    ]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("exception node-exporter-host-access expired on 2027-06-30T00:00:00Z"),
        "{}",
        out.stdout
    );
}

#[test]
fn no_color_means_no_escape_codes_even_when_forced_auto() {
    let home = tempfile::tempdir().unwrap();
    let out = run(syncgate(home.path()).env("NO_COLOR", "1").args([
        "check",
        "examples/quickstart/rendered",
        "-p",
        "examples/quickstart/policies",
        "--offline",
        "--now",
        NOW,
    ]));
    assert!(!out.stdout.contains('\u{1b}'));
    let forced = quickstart_with(&["--color", "always"]);
    assert!(forced.stdout.contains('\u{1b}'));
}

const POLICY_OK: &str = "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    disallow-privileged: enforce\n";

#[rstest]
#[case::unknown_spec_field(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  profile: restricted\n  enforce: true\n",
    "spec.enforce: unknown field `enforce`",
    ":6"
)]
#[case::unknown_rule_id(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    disallow-everything: enforce\n",
    "spec.rules.disallow-everything: unknown rule id \"disallow-everything\"",
    ":6"
)]
#[case::unknown_rule_setting(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    allowed-registries: {mode: enforce, registry: [ghcr.io]}\n",
    "spec.rules.allowed-registries.registry: unknown field `registry`",
    ":6"
)]
#[case::bad_mode(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  mode: audit\n  profile: baseline\n",
    "spec.mode: unknown variant `audit`",
    ":5"
)]
#[case::bad_profile(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  profile: strict\n",
    "spec.profile: unknown profile \"strict\"",
    ":5"
)]
#[case::bad_profile_version(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  profile: baseline\n  profileVersion: \"1.35\"\n",
    "spec.profileVersion: invalid version \"1.35\"",
    ":6"
)]
#[case::bad_glob(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  match: {namespaces: [\"prod-[\"]}\n  profile: baseline\n",
    "spec.match.namespaces[0]: invalid glob \"prod-[\"",
    ":5"
)]
#[case::pss_check_without_profile(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules:\n    runAsNonRoot: report\n",
    "is a Pod Security Standards check: set spec.profile",
    ":6"
)]
#[case::overridden_check(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  profile: restricted\n  rules:\n    hostPathVolumes: report\n",
    "check \"hostPathVolumes\" does not run under profile restricted:latest",
    ":7"
)]
#[case::empty_policy(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec: {}\n",
    "spec: the policy sets neither profile, rules nor rewrite",
    ":4"
)]
#[case::wrong_api_version(
    "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec: {}\n",
    "apiVersion: unsupported apiVersion \"kyverno.io/v1\"",
    ":1"
)]
#[case::unknown_kind(
    "apiVersion: syncgate.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec: {}\n",
    "kind: unknown kind \"ClusterPolicy\"",
    ":2"
)]
#[case::bad_expiry_date(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {namespaces: [a]}\n  expires: \"next tuesday\"\n  reason: r\n",
    "spec.expires: invalid RFC 3339 timestamp \"next tuesday\"",
    ":7"
)]
#[case::date_only_expiry(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {namespaces: [a]}\n  expires: 2027-01-01\n  reason: r\n",
    "spec.expires: invalid RFC 3339 timestamp \"2027-01-01\"",
    ":7"
)]
#[case::missing_expiry(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {namespaces: [a]}\n  reason: r\n",
    "spec: missing field `expires`",
    ":5"
)]
#[case::missing_reason(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {namespaces: [a]}\n  expires: \"2027-01-01T00:00:00Z\"\n",
    "spec: missing field `reason`",
    ":5"
)]
#[case::exception_unknown_rule(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [allow-everything]\n  match: {namespaces: [a]}\n  expires: \"2027-01-01T00:00:00Z\"\n  reason: r\n",
    "spec.rules[0]: unknown rule id \"allow-everything\"",
    ":5"
)]
#[case::exception_matching_everything(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {}\n  expires: \"2027-01-01T00:00:00Z\"\n  reason: r\n",
    "spec.match: must select something",
    ":6"
)]
#[case::exception_unknown_match_field(
    "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  rules: [disallow-privileged]\n  match: {namespace: [a]}\n  expires: \"2027-01-01T00:00:00Z\"\n  reason: r\n",
    "spec.match.namespace: unknown field `namespace`",
    ":6"
)]
#[case::wrong_type(
    "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  match: {namespaces: prod}\n  profile: baseline\n",
    "spec.match.namespaces: invalid type: string \"prod\", expected a sequence",
    ":5"
)]
fn bad_policy_exits_2_naming_file_line_and_field(#[case] policy: &str, #[case] message: &str, #[case] line: &str) {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "policy.yaml", policy);
    let out = run(syncgate(home.path()).args(["check", "examples/quickstart/rendered", "--offline", "-p"]).arg(&file));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(message), "expected {message:?} in:\n{}", out.stderr);
    let located = format!("{}{line}", file.display());
    assert!(out.stderr.contains(&located), "expected {located:?} in:\n{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[rstest]
#[case::malformed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: a\n", "input.yaml:", "")]
#[case::duplicate_key("apiVersion: v1\nkind: Pod\nkind: Service\nmetadata: {name: a}\n", "input.yaml:", "duplicate")]
#[case::not_an_object("- just\n- a list\n", "input.yaml:1 (document 0)", "not a Kubernetes object")]
#[case::missing_kind("apiVersion: v1\nmetadata: {name: a}\n", "input.yaml", "has no kind")]
#[case::wrong_field_type(
    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: \"yes\"}\n",
    "input.yaml:8",
    "spec.containers[0].securityContext.privileged: invalid type: string \"yes\", expected a boolean"
)]
#[case::pod_without_containers(
    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\n",
    "input.yaml",
    "spec.containers: a pod needs at least one container"
)]
fn bad_manifest_exits_2_with_location(#[case] manifest: &str, #[case] location: &str, #[case] message: &str) {
    let out = check_file("input.yaml", manifest, POLICY_OK, &[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(location), "expected {location:?} in:\n{}", out.stderr);
    assert!(out.stderr.contains(message), "expected {message:?} in:\n{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
    assert!(out.stdout.is_empty());
}

#[test]
fn alias_bomb_exits_2_quickly_without_panic() {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        writeln!(text, "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]").unwrap();
    }
    let out = check_file("bomb.yaml", &text, POLICY_OK, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bomb.yaml"), "{}", out.stderr);
    assert!(out.stderr.contains("parser limit"), "{}", out.stderr);
}

#[test]
fn input_over_the_size_limit_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let out = run(syncgate(home.path()).args([
        "check",
        "examples/quickstart/rendered",
        "--offline",
        "--max-input-bytes",
        "100",
        "-p",
        "examples/quickstart/policies",
    ]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("larger than the limit of 100 bytes"), "{}", out.stderr);
}

#[test]
fn missing_policy_flag_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = run(syncgate(home.path()).args(["check", "examples/quickstart/rendered"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--policy"), "{}", out.stderr);
}

#[test]
fn list_kinds_are_checked_item_by_item() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: ok, namespace: a}\n  spec: {containers: [{name: c, image: x}]}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: bad, namespace: a}\n  spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n";
    let out = check_file("list.yaml", list, POLICY_OK, &["-o", "json"]);
    assert_eq!(out.code, 1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failing: Vec<&serde_json::Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "fail").collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["resource"]["name"], "bad");
    assert_eq!(failing[0]["location"]["line"], 11);
}

#[test]
fn bundled_policy_directory_loads_as_a_whole() {
    let home = tempfile::tempdir().unwrap();
    let out =
        run(syncgate(home.path()).args(["check", "examples/quickstart/rendered", "-p", "policies/", "--offline"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("DENY   disallow-privileged  container api"), "{}", out.stdout);
}
