//! Evidence shared between processes: `syncgate check` runs as a new process per sync, so with an HMAC
//! key the evidence one process verified is read by the next from the disk or Redis cache, and the
//! next sends no signature or attestation request. A tampered entry is ignored, logged and verified
//! again; without an HMAC key nothing is kept outside the process. A proxy in front of the registry
//! logs every request, which is how each test sees whether verification ran.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::{KEYLESS, PROVENANCE, REPO, World};
use crate::common::{Run, run, syncgate, write};
use crate::support::proxy::FaultProxy;
use crate::support::redis::TestRedis;

/// A signed and attested image behind a logging proxy, a policy naming the proxy's address, an
/// isolated HOME and an HMAC key file.
struct Gate {
    /// The registry and signing material, kept alive for the test.
    _world: World,
    /// Dropped before the runtime it runs on.
    proxy: FaultProxy,
    /// Runs the proxy.
    _runtime: tokio::runtime::Runtime,
    policy: PathBuf,
    home: tempfile::TempDir,
    key: PathBuf,
}

impl Gate {
    fn new() -> Self {
        let mut world = World::new();
        let signed = world.image("1.4.0");
        let workflow = World::release_workflow();
        let signature = world.keyless_signature(&signed.digest, &workflow);
        world.pusher.push_signatures(REPO, &signed.digest, &[signature]).expect("test material");
        let statement = world.provenance(&signed.digest, &workflow);
        let attestation = world.keyless_attestation(&statement, &workflow);
        world.pusher.push_attestations(REPO, &signed.digest, &[attestation]).expect("test material");
        world.policy(&format!("{KEYLESS}{PROVENANCE}"));
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the proxy");
        let proxy = runtime.block_on(FaultProxy::start(world.registry.addr()));
        // The policy names the registry as reached through the proxy.
        let text = std::fs::read_to_string(world.policy_path()).expect("policy");
        let policy = write(world.dir.path(), "proxied.yaml", &text.replace(&world.registry.host(), &proxy.host()));
        let home = tempfile::tempdir().expect("home");
        let key = write(home.path(), "cache.key", "0123456789abcdef0123456789abcdef\n");
        Gate { _world: world, proxy, _runtime: runtime, policy, home, key }
    }

    /// The signed image, through the proxy.
    fn image(&self) -> String {
        format!("{}/{REPO}:1.4.0", self.proxy.host())
    }

    /// `syncgate check -` of a Deployment running the image, with `cache` flags, and the request lines
    /// the proxy saw during the run.
    fn check(&self, cache: &[&str]) -> (Run, Vec<String>) {
        let seen = self.proxy.log().len();
        let mut command = syncgate(self.home.path());
        command
            .args(["check", "-", "-p", self.policy.to_str().expect("UTF-8 path")])
            .args(["--insecure-registry", &self.proxy.host()])
            .args(cache)
            .write_stdin(deployment(&self.image()));
        let out = run(&mut command);
        (out, self.proxy.log().split_off(seen))
    }

    /// `syncgate verify IMAGE --policy …` with `args` (cache flags, output), and the request lines seen.
    fn verify(&self, args: &[&str]) -> (Run, Vec<String>) {
        let seen = self.proxy.log().len();
        let mut command = syncgate(self.home.path());
        command
            .args(["verify", &self.image(), "-p", self.policy.to_str().expect("UTF-8 path")])
            .args(["--insecure-registry", &self.proxy.host()])
            .args(args);
        let out = run(&mut command);
        (out, self.proxy.log().split_off(seen))
    }

    fn key_arg(&self) -> &str {
        self.key.to_str().expect("UTF-8 path")
    }
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: {image}\n"
    )
}

/// The requests that only verification makes: signature and attestation manifests, blobs, referrers.
fn verification_requests(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|line| {
            line.contains(".sig") || line.contains(".att") || line.contains("/blobs/") || line.contains("/referrers/")
        })
        .collect()
}

/// Every evidence file under the cache directory `dir`.
fn evidence_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for namespace in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(namespace.path().join("evidence")).into_iter().flatten().flatten() {
            files.push(file.path());
        }
    }
    files
}

#[test]
fn with_an_hmac_key_the_next_process_reads_the_evidence_from_disk() {
    let gate = Gate::new();
    let cache_dir = gate.home.path().join("cache");
    let flags = ["--cache-dir", cache_dir.to_str().expect("UTF-8 path"), "--cache-key-file", gate.key_arg()];

    let (first, requests) = gate.check(&flags);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(!verification_requests(&requests).is_empty(), "the first process verifies: {requests:#?}");
    let files = evidence_files(&cache_dir);
    assert_eq!(files.len(), 1, "{files:?}");

    let (second, requests) = gate.check(&flags);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_eq!(verification_requests(&requests), Vec::<&String>::new(), "the second process reads the evidence");

    // `verify --policy` reads it too, and shows exactly what a process that verifies itself shows.
    let elsewhere = tempfile::tempdir().expect("another cache directory");
    let fresh_flags = ["--cache-dir", elsewhere.path().to_str().expect("UTF-8 path")];
    for output in ["text", "json"] {
        let (cached, requests) = gate.verify(&[&flags[..], &["-o", output]].concat());
        assert_eq!(cached.code, 0, "{}{}", cached.stdout, cached.stderr);
        assert_eq!(verification_requests(&requests), Vec::<&String>::new(), "`verify --policy` shares it");
        let (fresh, requests) = gate.verify(&[&fresh_flags[..], &["-o", output]].concat());
        assert_eq!(fresh.code, 0, "{}{}", fresh.stdout, fresh.stderr);
        assert!(!verification_requests(&requests).is_empty(), "{requests:#?}");
        assert_eq!(cached.stdout, fresh.stdout, "{output}");
    }

    let stats = run(syncgate(gate.home.path()).args(["cache", "stats"]).args(flags));
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    assert!(stats.stdout.contains(", 1 evidence entries, "), "{}", stats.stdout);
}

#[test]
fn tampered_evidence_is_ignored_and_the_image_verified_again() {
    let gate = Gate::new();
    let cache_dir = gate.home.path().join("cache");
    let flags = ["--cache-dir", cache_dir.to_str().expect("UTF-8 path"), "--cache-key-file", gate.key_arg()];
    let (first, _) = gate.check(&flags);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);

    // Claim another signer in the stored evidence, keeping the seal.
    let files = evidence_files(&cache_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let mut entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).expect("entry")).expect("JSON");
    let engine = base64::engine::general_purpose::STANDARD;
    let value = engine.decode(entry["value"].as_str().expect("value")).expect("base64");
    let forged = String::from_utf8(value).expect("UTF-8").replace("release-workflow", "someone-else");
    entry["value"] = serde_json::json!(engine.encode(forged));
    std::fs::write(&files[0], entry.to_string()).expect("tamper");

    let (again, requests) = gate.check(&flags);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(!verification_requests(&requests).is_empty(), "verified again: {requests:#?}");
    assert!(again.stderr.contains("ignoring cached evidence"), "{}", again.stderr);
    assert!(!again.stdout.contains("someone-else"), "{}", again.stdout);

    let (next, requests) = gate.check(&flags);
    assert_eq!(next.code, 0, "{}{}", next.stdout, next.stderr);
    assert_eq!(verification_requests(&requests), Vec::<&String>::new(), "the entry was written afresh");
    assert!(!next.stderr.contains("ignoring cached evidence"), "{}", next.stderr);
}

#[test]
fn without_an_hmac_key_every_process_verifies() {
    let gate = Gate::new();
    let cache_dir = gate.home.path().join("cache");
    let flags = ["--cache-dir", cache_dir.to_str().expect("UTF-8 path")];
    for run in ["first", "second"] {
        let (out, requests) = gate.check(&flags);
        assert_eq!(out.code, 0, "{run}: {}{}", out.stdout, out.stderr);
        assert!(!verification_requests(&requests).is_empty(), "{run} process verifies: {requests:#?}");
    }
    assert_eq!(evidence_files(&cache_dir), Vec::<PathBuf>::new(), "nothing written outside the process");
}

#[test]
fn with_redis_the_next_replica_reads_the_evidence() {
    let gate = Gate::new();
    let redis = TestRedis::start();
    let url = redis.url();
    let flags = ["--no-disk-cache", "--cache", &url, "--cache-key-file", gate.key_arg()];

    let (first, requests) = gate.check(&flags);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(!verification_requests(&requests).is_empty(), "the first replica verifies: {requests:#?}");
    let keys: Vec<String> =
        redis::cmd("KEYS").arg("syncgate:v1:evidence:*").query(&mut redis.connection()).expect("KEYS");
    assert_eq!(keys.len(), 1, "{keys:?}");

    let (second, requests) = gate.check(&flags);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_eq!(verification_requests(&requests), Vec::<&String>::new(), "the second replica reads the evidence");

    let stats = run(syncgate(gate.home.path()).args(["cache", "stats"]).args(flags));
    assert!(stats.stdout.contains("and 1 evidence keys under syncgate:v1"), "{}", stats.stdout);
    let clear = run(syncgate(gate.home.path()).args(["cache", "clear"]).args(flags));
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    let (third, requests) = gate.check(&flags);
    assert_eq!(third.code, 0, "{}{}", third.stdout, third.stderr);
    assert!(!verification_requests(&requests).is_empty(), "cleared evidence is verified again: {requests:#?}");
}
