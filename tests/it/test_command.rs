//! `syncgate test`: the shipped policy tests pass; a wrong expectation fails with exit 1.

use crate::common::{run, syncgate, write};

#[test]
fn shipped_policy_tests_pass() {
    let home = tempfile::tempdir().unwrap();
    for dir in ["policy-tests", "examples/quickstart"] {
        let out = run(syncgate(home.path()).args(["test", dir]));
        assert_eq!(out.code, 0, "{dir}:\n{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(", 0 failed"), "{}", out.stdout);
    }
}

#[test]
fn a_wrong_expectation_exits_1_and_says_what_was_found() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("case");
    std::fs::create_dir(&dir).unwrap();
    let root = crate::common::root();
    let test = format!(
        "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyTest\nmetadata: {{name: wrong}}\nspec:\n  policies: [{}]\n  resources: [{}]\n  now: \"2026-11-28T00:00:00Z\"\n  results:\n    - {{resource: Deployment/shop/api, rule: disallow-privileged, status: pass}}\n    - {{resource: Deployment/shop/nope, rule: disallow-privileged, status: pass}}\n",
        root.join("examples/quickstart/policies").display(),
        root.join("examples/quickstart/rendered").display()
    );
    write(&dir, "syncgate-test.yaml", &test);
    let out = run(syncgate(home.path()).arg("test").arg(&dir));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("FAIL  Deployment/shop/api disallow-privileged: expected pass, got fail"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("expected pass, got no finding for this resource and rule"), "{}", out.stdout);
    assert!(out.stdout.contains("0 of 2 expectations met, 2 failed"), "{}", out.stdout);
}

#[test]
fn malformed_test_file_exits_2() {
    let home = tempfile::tempdir().unwrap();
    write(
        home.path(),
        "syncgate-test.yaml",
        "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyTest\nmetadata: {name: x}\nspec:\n  policies: []\n  resources: []\n  results: []\n  extra: 1\n",
    );
    let out = run(syncgate(home.path()).arg("test").arg(home.path()));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown field `extra`"), "{}", out.stderr);
}
