//! The gate end to end against a real registry (and a real Redis): `check --output manifests`,
//! `post-render`, `verify` and `cache` pin images to the digests the registry serves, and refuse
//! with the image, the registry and the cause when a tag cannot be resolved.

use std::fmt::Write as _;

use crate::common::{Run, run, syncgate, write};
use crate::support::redis::TestRedis;
use crate::support::registry::TestRegistry;

const POLICY: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: pin}
spec:
  rules:
    require-image-digest: enforce
    disallow-latest-tag: enforce
";

fn deployment(images: &[&str]) -> String {
    let mut containers = String::new();
    for (i, image) in images.iter().enumerate() {
        let _ = writeln!(containers, "        - name: c{i}\n          image: {image}");
    }
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
    )
}

/// `syncgate ARGS --insecure-registry HOST -p POLICY` with `stdin`, isolated HOME and cache.
fn gate(registry: &TestRegistry, home: &std::path::Path, args: &[&str], stdin: &str, policy: &str) -> Run {
    let policy = write(home, "policy.yaml", policy);
    run(syncgate(home)
        .args(args)
        .args(["--insecure-registry", &registry.host(), "-p"])
        .arg(policy)
        .write_stdin(stdin.to_owned()))
}

#[test]
fn check_prints_manifests_pinned_to_the_digests_the_registry_serves() {
    let registry = TestRegistry::start();
    let api = registry.push_image("acme/api", "1.4.2");
    let proxy = registry.push_image("acme/proxy", "2.0");
    let host = registry.host();
    let home = tempfile::tempdir().unwrap();
    let input = deployment(&[&format!("{host}/acme/api:1.4.2"), &format!("{host}/acme/proxy:2.0")]);
    let out = gate(&registry, home.path(), &["check", "-", "--output", "manifests"], &input, POLICY);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("image: {host}/acme/api:1.4.2@{api}")), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("image: {host}/acme/proxy:2.0@{proxy}")), "{}", out.stdout);
    assert!(
        out.stdout.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn rewrite_digest_drops_the_tag() {
    let registry = TestRegistry::start();
    let api = registry.push_image("acme/api", "1.4.2");
    let host = registry.host();
    let home = tempfile::tempdir().unwrap();
    let policy = format!("{POLICY}  rewrite: digest\n");
    let input = deployment(&[&format!("{host}/acme/api:1.4.2")]);
    let out = gate(&registry, home.path(), &["post-render"], &input, &policy);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("image: {host}/acme/api@{api}")), "{}", out.stdout);
}

#[test]
fn missing_tag_denies_naming_image_registry_and_cause_and_prints_no_manifests() {
    let registry = TestRegistry::start();
    registry.push_image("acme/api", "1.4.2");
    let host = registry.host();
    let home = tempfile::tempdir().unwrap();
    let input = deployment(&[&format!("{host}/acme/api:1.4.3")]);
    let out = gate(&registry, home.path(), &["post-render"], &input, POLICY);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "a denied stream must not reach the cluster:\n{}", out.stdout);
    assert!(out.stderr.contains("image-resolution"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{host}/acme/api:1.4.3")), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("not found in registry {host}")), "{}", out.stderr);
}

#[test]
fn registry_down_denies_in_enforce_and_warns_in_report_mode() {
    let mut registry = TestRegistry::start();
    let host = registry.host();
    registry.stop();
    let home = tempfile::tempdir().unwrap();
    let input = deployment(&[&format!("{host}/acme/api:1.4.2")]);
    let out = gate(&registry, home.path(), &["check", "-", "--deadline", "5"], &input, POLICY);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("is unavailable"), "{}", out.stdout);
    let report_mode =
        gate(&registry, home.path(), &["check", "-", "--deadline", "5", "--mode", "report"], &input, POLICY);
    assert_eq!(report_mode.code, 0, "{}", report_mode.stdout);
    assert!(report_mode.stdout.contains("ERROR  image-resolution"), "{}", report_mode.stdout);
}

#[test]
fn verify_prints_the_pinned_reference() {
    let registry = TestRegistry::start();
    let index = registry.push_index("acme/multi", "1.0");
    let host = registry.host();
    let home = tempfile::tempdir().unwrap();
    let image = format!("{host}/acme/multi:1.0");
    let out = run(syncgate(home.path()).args(["verify", &image, "--insecure-registry", &host]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().next(),
        Some(format!("{image}@{}", index.index).as_str()),
        "the index digest, not a platform's"
    );
    let missing =
        run(syncgate(home.path()).args(["verify", &format!("{host}/acme/multi:2.0"), "--insecure-registry", &host]));
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not verified"), "{}", missing.stderr);
}

#[test]
fn a_second_process_resolves_from_the_disk_cache_and_cache_clear_empties_it() {
    let mut registry = TestRegistry::start();
    let api = registry.push_image("acme/api", "1.4.2");
    let host = registry.host();
    let home = tempfile::tempdir().unwrap();
    let input = deployment(&[&format!("{host}/acme/api:1.4.2")]);
    let first = gate(&registry, home.path(), &["post-render"], &input, POLICY);
    assert_eq!(first.code, 0, "{}", first.stderr);
    registry.stop();
    let second = gate(&registry, home.path(), &["post-render"], &input, POLICY);
    assert_eq!(second.code, 0, "the registry is down but the answer is cached on disk: {}", second.stderr);
    assert!(second.stdout.contains(&format!("@{api}")));
    let stats = run(syncgate(home.path()).args(["cache", "stats"]));
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    assert!(stats.stdout.contains("disk"), "{}", stats.stdout);
    let clear = run(syncgate(home.path()).args(["cache", "clear"]));
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    let third = gate(&registry, home.path(), &["post-render", "--deadline", "5"], &input, POLICY);
    assert_eq!(third.code, 1, "after clear nothing is cached and the registry is down: {}", third.stderr);
}

#[test]
fn replicas_share_answers_through_redis() {
    let mut registry = TestRegistry::start();
    let api = registry.push_image("acme/api", "1.4.2");
    let redis = TestRedis::start();
    let host = registry.host();
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), "0123456789abcdef0123456789abcdef").unwrap();
    let input = deployment(&[&format!("{host}/acme/api:1.4.2")]);
    let redis_args = |home: &std::path::Path| {
        let policy = write(home, "policy.yaml", POLICY);
        let mut cmd = syncgate(home);
        cmd.args([
            "post-render",
            "--no-disk-cache",
            "--insecure-registry",
            &host,
            "--cache",
            &redis.url(),
            "--deadline",
            "5",
            "--cache-key-file",
        ])
        .arg(key.path())
        .arg("-p")
        .arg(policy)
        .write_stdin(input.clone());
        cmd
    };
    let replica_a = tempfile::tempdir().unwrap();
    let first = run(&mut redis_args(replica_a.path()));
    assert_eq!(first.code, 0, "{}", first.stderr);
    registry.stop();
    let replica_b = tempfile::tempdir().unwrap();
    let second = run(&mut redis_args(replica_b.path()));
    assert_eq!(second.code, 0, "replica B has no disk cache; the answer comes from Redis: {}", second.stderr);
    assert!(second.stdout.contains(&format!("@{api}")));
}

#[test]
fn redis_without_a_key_is_a_configuration_error() {
    let registry = TestRegistry::start();
    let home = tempfile::tempdir().unwrap();
    let out = gate(
        &registry,
        home.path(),
        &["post-render", "--cache", "redis://127.0.0.1:1"],
        &deployment(&["nginx:1.27"]),
        POLICY,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--cache-key-file"), "{}", out.stderr);
}
