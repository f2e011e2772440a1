//! `syncgate fn`, the KRM function: golden ResourceLists through stdin and stdout (always), the
//! real `kpt fn eval --exec` and `kpt fn render --allow-exec` on a copy of `examples/krm/package`
//! (when `kpt` is on PATH), and `kustomize build --enable-alpha-plugins --enable-exec` on
//! `examples/krm/kustomize` (when a standalone `kustomize` is on PATH: `kubectl kustomize` cannot run
//! exec functions, kustomize #4556).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::registry::Registry as Pusher;

use crate::common::{Run, root, run, syncgate};
use crate::generate::assert_golden;
use crate::support::registry::TestRegistry;

const HEADER: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";

/// A Deployment item as kpt sends it (its annotations included), in the form `syncgate fn` writes,
/// so that an output that starts with the input proves the items came back byte for byte.
fn deployment(image: &str, privileged: bool) -> String {
    let privileged = if privileged { "\n            privileged: true" } else { "" };
    format!(
        r#"- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: api
    namespace: team-a
    labels:
      app.kubernetes.io/name: api
    annotations:
      kpt.dev/owner: team-a
      config.kubernetes.io/index: "0"
      config.kubernetes.io/path: deployment.yaml
      internal.config.kubernetes.io/index: "0"
      internal.config.kubernetes.io/path: deployment.yaml
      internal.config.kubernetes.io/seqindent: wide
      internal.config.kubernetes.io/annotations-migration-resource-id: "1"
      internal.config.kubernetes.io/id: "2"
      config.k8s.io/id: "2"
  spec:
    replicas: 2
    selector:
      matchLabels:
        app.kubernetes.io/name: api
    template:
      metadata:
        labels:
          app.kubernetes.io/name: api
      spec:
        automountServiceAccountToken: false
        securityContext:
          runAsNonRoot: true
          runAsUser: 10001
          runAsGroup: 10001
          seccompProfile:
            type: RuntimeDefault
        containers:
        - name: api
          image: {image}
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
          securityContext:
            allowPrivilegeEscalation: false{privileged}
            readOnlyRootFilesystem: true
            capabilities:
              drop:
              - ALL
"#
    )
}

const SERVICE: &str = r#"- apiVersion: v1
  kind: Service
  metadata:
    name: api
    namespace: team-a
    annotations:
      config.kubernetes.io/index: "1"
      config.kubernetes.io/path: deployment.yaml
      internal.config.kubernetes.io/index: "1"
      internal.config.kubernetes.io/path: deployment.yaml
      internal.config.kubernetes.io/id: "3"
  spec:
    ports:
    - port: 80
"#;

/// A `ConfigMap` functionConfig as `kpt fn eval --exec syncgate -- key=value` makes it.
fn config_map(data: &[(&str, &str)]) -> String {
    let mut out =
        "functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: function-input\n  data:\n"
            .to_owned();
    for (key, value) in data {
        // Quoted only where YAML would read another type, as `syncgate fn` writes it back.
        let quoted = matches!(*value, "true" | "false") || value.parse::<f64>().is_ok();
        let value = if quoted { format!("\"{value}\"") } else { (*value).to_owned() };
        let _ = writeln!(out, "    {key}: {value}");
    }
    out
}

fn list(items: &[String], config: &str) -> String {
    format!("{HEADER}items:\n{}{config}", items.concat())
}

/// `syncgate fn ARGS` with `stdin`, in the repository root.
fn krm(home: &Path, stdin: &str, args: &[&str]) -> Run {
    let mut command = syncgate(home);
    command.arg("fn").args(args).write_stdin(stdin);
    run(&mut command)
}

const OFFLINE_EXAMPLE: [(&str, &str); 2] = [("policy", "examples/krm/policies"), ("offline", "true")];

#[test]
fn a_denial_exits_1_with_results_and_the_items_unchanged() {
    let home = tempfile::tempdir().expect("temp dir");
    let input =
        list(&[deployment("127.0.0.1:5000/acme/api:1.4", true), SERVICE.to_owned()], &config_map(&OFFLINE_EXAMPLE));
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert!(out.stdout.starts_with(&input), "items and functionConfig come back byte for byte:\n{}", out.stdout);
    assert_golden("krm_denied", &out.stdout);
}

#[test]
fn report_mode_makes_every_result_a_warning_and_exits_0() {
    let home = tempfile::tempdir().expect("temp dir");
    let data = [OFFLINE_EXAMPLE[0], OFFLINE_EXAMPLE[1], ("mode", "report")];
    let input = list(&[deployment("127.0.0.1:5000/acme/api:1.4", true)], &config_map(&data));
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&input), "{}", out.stdout);
    assert!(!out.stdout.contains("severity: error"), "{}", out.stdout);
    assert_golden("krm_report_mode", &out.stdout);
}

/// A live registry holding `acme/api:1.4` (unsigned), and what was pushed.
fn registry_with_api() -> (TestRegistry, syncgate_testsign::registry::Descriptor) {
    let registry = TestRegistry::start();
    let pushed = Pusher::new(&format!("http://{}", registry.host()))
        .push_image("acme/api", "1.4", &[("api", b"api 1.4\n")])
        .expect("push api");
    (registry, pushed)
}

#[test]
fn allowed_items_come_back_with_images_pinned_against_a_live_registry() {
    let (registry, pushed) = registry_with_api();
    let host = registry.host();
    let home = tempfile::tempdir().expect("temp dir");
    let policies = home.path().join("policies");
    copy_tree(&root().join("examples/krm/policies"), &policies, &host);
    let input = list(
        &[deployment(&format!("{host}/acme/api:1.4"), false), SERVICE.to_owned()],
        &config_map(&[("policy", policies.to_str().expect("utf-8"))]),
    );
    let out = krm(home.path(), &input, &["--insecure-registry", &host]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pinned = format!("image: {host}/acme/api:1.4@{}\n", pushed.digest);
    assert_eq!(out.stdout, input.replace(&format!("image: {host}/acme/api:1.4\n"), &pinned));
    assert!(!out.stdout.contains("results:"), "nothing to report: {}", out.stdout);
    assert_golden("krm_allowed_pinned", &out.stdout.replace(&policies.display().to_string(), "[POLICIES]"));
}

#[test]
fn an_unsigned_image_is_denied_with_its_pinned_reference_proposed_and_left_unpinned() {
    let (registry, pushed) = registry_with_api();
    let host = registry.host();
    let home = tempfile::tempdir().expect("temp dir");
    let policies = home.path().join("policies");
    copy_tree(&root().join("examples/krm/policies"), &policies, &host);
    let key = KeyPair::generate(Algorithm::EcdsaP256).expect("key");
    let signing = signing_policy(home.path(), &host, &key);
    let input = list(
        &[deployment(&format!("{host}/acme/api:1.4"), false)],
        &config_map(&[("policy", policies.to_str().expect("utf-8"))]),
    );
    let out = krm(home.path(), &input, &["--insecure-registry", &host, "--policy", signing.to_str().expect("utf-8")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.starts_with(&input), "items unchanged: {}", out.stdout);
    let field = format!(
        "  field:\n    path: spec.template.spec.containers[0].image\n    currentValue: {host}/acme/api:1.4\n    proposedValue: {host}/acme/api:1.4@{}\n",
        pushed.digest
    );
    assert!(out.stdout.contains(&field), "{}", out.stdout);
    let masked = out.stdout.replace(&policies.display().to_string(), "[POLICIES]");
    assert_golden("krm_unsigned_denied", &masked.replace(&signing.display().to_string(), "[SIGNING]"));
}

/// An `ImagePolicy` (in `dir/signing`) demanding `key`'s signature on every image of `host`/acme.
fn signing_policy(dir: &Path, host: &str, key: &KeyPair) -> PathBuf {
    let signing = dir.join("signing");
    std::fs::create_dir_all(&signing).expect("dir");
    std::fs::write(signing.join("cosign.pub"), key.public_pem()).expect("public key");
    std::fs::write(
        signing.join("images.yaml"),
        format!(
            "apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {{name: acme}}\nspec:\n  images: [\"{host}/acme/*\"]\n  noMatch: deny\n  authorities:\n    - name: ci\n      key: {{file: cosign.pub}}\n      transparencyLog: optional\n"
        ),
    )
    .expect("image policy");
    signing
}

#[test]
fn an_empty_item_list_comes_back_as_a_valid_resource_list() {
    let home = tempfile::tempdir().expect("temp dir");
    let input = list(&[], &config_map(&OFFLINE_EXAMPLE)).replace("items:\n", "items: []\n");
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, input);
}

#[test]
fn json_input_is_answered_in_yaml() {
    let home = tempfile::tempdir().expect("temp dir");
    let input = r#"{"apiVersion": "config.kubernetes.io/v1beta1", "kind": "ResourceList",
 "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "annotations": {"config.kubernetes.io/path": "pod.json", "config.kubernetes.io/index": "0"}},
            "spec": {"containers": [{"name": "sh", "image": "127.0.0.1:5000/acme/api:latest"}]}}],
 "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"},
                    "data": {"policy": "examples/krm/policies", "offline": "true"}}}"#;
    let out = krm(home.path(), input, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_golden("krm_json_input", &out.stdout);
}

#[test]
fn every_annotation_round_trips_exactly() {
    let home = tempfile::tempdir().expect("temp dir");
    let input =
        list(&[deployment("127.0.0.1:5000/acme/api:1.4", false), SERVICE.to_owned()], &config_map(&OFFLINE_EXAMPLE));
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&input), "{}", out.stdout);
    for annotation in ["kpt.dev/owner", "internal.config.kubernetes.io/seqindent", "config.k8s.io/id"] {
        assert!(out.stdout.contains(annotation), "{annotation}: {}", out.stdout);
    }
    // The only result is the tag left unpinned offline, reported with the item's file.
    assert_eq!(out.stdout.matches("- message: ").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("  file:\n    path: deployment.yaml\n    index: 0\n"), "{}", out.stdout);
}

#[test]
fn a_policy_document_as_function_config_is_the_policy_set_and_policy_flags_add_to_it() {
    let home = tempfile::tempdir().expect("temp dir");
    // What kustomize sends for a `validators:` entry: the policy carrying its function annotation.
    let config = r"functionConfig:
  apiVersion: syncgate.dev/v1alpha1
  kind: WorkloadPolicy
  metadata:
    name: inline
    annotations:
      config.kubernetes.io/function: |
        exec:
          path: ./syncgate-fn
  spec:
    rules:
      disallow-privileged: enforce
";
    let extra = crate::common::write(
        home.path(),
        "extra.yaml",
        "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: extra}\nspec:\n  rules:\n    disallow-latest-tag: report\n",
    );
    let input = list(&[deployment("127.0.0.1:5000/acme/api:latest", true)], config);
    let out = krm(home.path(), &input, &["--offline", "--policy", extra.to_str().expect("utf-8")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.starts_with(&input), "{}", out.stdout);
    assert!(out.stdout.contains("    rule: disallow-privileged\n"), "{}", out.stdout);
    assert!(out.stdout.contains("    policy: inline\n"), "{}", out.stdout);
    assert!(out.stdout.contains("    rule: disallow-latest-tag\n"), "{}", out.stdout);
    assert!(out.stdout.contains("    policy: extra\n"), "{}", out.stdout);
    // Without the flag the inline policy alone decides.
    let out = krm(home.path(), &input, &["--offline"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("disallow-latest-tag"), "{}", out.stdout);
}

#[rstest::rstest]
#[case::malformed_yaml(
    format!("{HEADER}items: [\n"),
    "error: invalid ResourceList: <stdin>:"
)]
#[case::wrong_kind(
    "apiVersion: config.kubernetes.io/v1\nkind: List\nitems: []\n".to_owned(),
    "error: invalid ResourceList: <stdin>:2: kind is \"List\", expected ResourceList\n"
)]
#[case::empty_stdin(
    String::new(),
    "error: invalid ResourceList: <stdin>: expected one ResourceList (config.kubernetes.io/v1 or config.kubernetes.io/v1beta1, kind ResourceList), found 0 documents\n"
)]
#[case::unknown_config_key(
    list(&[], &config_map(&[("policy", "examples/krm/policies"), ("ofline", "true")])),
    "error: invalid ResourceList: <stdin>:11: functionConfig: unknown key data.ofline (known: policy, mode, namespace, offline)\n"
)]
#[case::no_policies(
    list(&[], &config_map(&[("offline", "true")])),
    "error: no policies: give a functionConfig (a syncgate policy document, or a ConfigMap with data.policy), or --policy FILE|DIR (SYNCGATE_POLICY)\n"
)]
#[case::item_without_name(
    format!("{HEADER}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{}}\n{}", config_map(&OFFLINE_EXAMPLE)),
    "error: invalid ResourceList item (document N is items[N]): <stdin>:6 (document 0): document (ConfigMap) has neither metadata.name nor metadata.generateName\n"
)]
fn bad_input_exits_2_naming_what_is_wrong_and_writes_nothing(#[case] input: String, #[case] expected: &str) {
    let home = tempfile::tempdir().expect("temp dir");
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with(expected), "{}", out.stderr);
}

#[test]
fn input_over_the_limit_is_refused_naming_the_flag() {
    let home = tempfile::tempdir().expect("temp dir");
    let input = list(&[deployment("127.0.0.1:5000/acme/api:1.4", false)], &config_map(&OFFLINE_EXAMPLE));
    let out = krm(home.path(), &input, &["--max-input-bytes", "1000"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: invalid ResourceList: <stdin>: input is larger than the limit of 1000 bytes (raise it with --max-input-bytes)\n"
    );
}

#[test]
fn a_large_resource_list_is_answered_in_full() {
    let home = tempfile::tempdir().expect("temp dir");
    let items: Vec<String> = (0..3000)
        .map(|i| {
            deployment("127.0.0.1:5000/acme/api:1.4", false).replacen("name: api\n", &format!("name: api-{i}\n"), 1)
        })
        .collect();
    let input =
        list(&items, &config_map(&[("policy", "examples/krm/policies"), ("offline", "true"), ("mode", "report")]));
    assert!(input.len() > 3 << 20, "{} bytes", input.len());
    let out = krm(home.path(), &input, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&input));
    assert_eq!(out.stdout.matches("- message: ").count(), 3000);
}

/// The ResourceList kpt builds from `examples/krm/package` with its Kptfile's `configMap`, run
/// without kpt (as on a machine that lacks it): the example passes offline with one warning.
#[test]
fn the_example_package_passes_offline_as_its_kptfile_configures_it() {
    let package = root().join("examples/krm/package");
    let kptfile: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(package.join("Kptfile")).expect("Kptfile")).expect("yaml");
    let validator = &kptfile["pipeline"]["validators"][0];
    assert_eq!(validator["exec"], "syncgate fn");
    let data: Vec<(&str, &str)> = validator["configMap"]
        .as_object()
        .expect("configMap")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().expect("string")))
        .collect();
    let mut items = Vec::new();
    for file in ["deployment.yaml", "service.yaml"] {
        let text = std::fs::read_to_string(package.join(file)).expect("manifest");
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        items.push(format!("- {}\n", body.join("\n  ")));
    }
    let home = tempfile::tempdir().expect("temp dir");
    let mut command = syncgate(home.path());
    command.current_dir(root().join("examples/krm")).arg("fn").write_stdin(list(&items, &config_map(&data)));
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_golden("krm_example_offline", &out.stdout);
}

// ---- kpt and kustomize ------------------------------------------------------------------------

/// Whether `program` answers `args` (e.g. `kpt version`).
fn has(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

/// The directory of the `syncgate` binary under test, to put first on kpt's and kustomize's PATH.
fn bin_dir() -> PathBuf {
    let binary = assert_cmd::cargo::cargo_bin("syncgate");
    binary.parent().expect("binary directory").to_path_buf()
}

/// `program args` in `dir` with the test binary first on PATH, HOME isolated, and `env`.
fn tool(program: &str, dir: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let path = std::env::join_paths(
        std::iter::once(bin_dir()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    let mut command = std::process::Command::new(program);
    command.current_dir(dir).args(args).env_clear().env("PATH", path).env("HOME", home);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("tool runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copies `from` into `to` (file modes kept), replacing the example registry address in text files.
fn copy_tree(from: &Path, to: &Path, host: &str) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target, host);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            let text = std::fs::read_to_string(&target).expect("text file");
            std::fs::write(&target, text.replace("127.0.0.1:5000", host)).expect("rewrite");
        }
    }
}

/// Every file under `dir` with its contents, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read")));
        }
    }
    out.sort();
    out
}

fn results_yaml(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.yaml")).expect("kpt wrote results.yaml");
    serde_saphyr::from_str(&text).expect("results.yaml is YAML")
}

/// The `(severity, rule, file)` of every result kpt recorded.
fn recorded(results: &serde_json::Value) -> Vec<(String, String, String)> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    results["items"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (text(&r["severity"]), text(&r["tags"]["rule"]), text(&r["file"]["path"])))
        .collect()
}

#[test]
fn kpt_fn_render_runs_the_example_validator_and_records_its_results() {
    if !has("kpt", &["version"]) {
        eprintln!("skipped: kpt not found");
        return;
    }
    let work = example_copy("127.0.0.1:5000");
    let before = snapshot(&work.path().join("package"));
    let results = work.path().join("results");
    let out = tool(
        "kpt",
        work.path(),
        work.path(),
        &["fn", "render", "package", "--allow-exec", "--results-dir", results.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let recorded = recorded(&results_yaml(&results));
    assert_eq!(recorded, [("warning".into(), "require-image-digest".into(), "deployment.yaml".into())]);
    assert!(out.stderr.contains("[PASS] \"syncgate fn\""), "{}", out.stderr);
    assert!(
        out.stderr.contains("[warning] apps/v1/Deployment/team-a/api spec.template.spec.containers[0].image: container \"api\": image \"127.0.0.1:5000/acme/api:1.4\" is not pinned to a digest"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&work.path().join("package")), before, "a validator changes no file");
}

#[test]
fn kpt_fails_the_pipeline_on_a_denial_and_leaves_the_files_intact() {
    if !has("kpt", &["version"]) {
        eprintln!("skipped: kpt not found");
        return;
    }
    let work = example_copy("127.0.0.1:5000");
    let deployment = work.path().join("package/deployment.yaml");
    make_privileged(&deployment);
    let before = snapshot(&work.path().join("package"));
    let results = work.path().join("results");
    let results_dir = results.to_str().expect("utf-8");
    let render = tool(
        "kpt",
        work.path(),
        work.path(),
        &["fn", "render", "package", "--allow-exec", "--results-dir", results_dir],
        &[],
    );
    assert_ne!(render.code, 0, "{}", render.stderr);
    assert!(render.stderr.contains("[FAIL] \"syncgate fn\""), "{}", render.stderr);
    let denied = [
        ("error".to_owned(), "disallow-privileged".to_owned(), "deployment.yaml".to_owned()),
        ("error".to_owned(), "privileged".to_owned(), "deployment.yaml".to_owned()),
        ("warning".to_owned(), "require-image-digest".to_owned(), "deployment.yaml".to_owned()),
    ];
    let written = results_yaml(&results);
    assert_eq!(written["exitCode"], 1);
    assert_eq!(recorded(&written), denied);
    assert_eq!(snapshot(&work.path().join("package")), before, "render leaves the files intact");
    let eval = tool(
        "kpt",
        work.path(),
        work.path(),
        &[
            "fn",
            "eval",
            "package",
            "--exec",
            "syncgate fn",
            "--results-dir",
            results_dir,
            "--",
            "policy=policies",
            "offline=true",
        ],
        &[],
    );
    assert_ne!(eval.code, 0, "{}", eval.stderr);
    assert_eq!(recorded(&results_yaml(&results)), denied);
    assert_eq!(snapshot(&work.path().join("package")), before, "eval leaves the files intact");
}

#[test]
fn kpt_fn_eval_exec_pins_the_example_to_the_signed_digest_of_a_live_registry() {
    if !has("kpt", &["version"]) {
        eprintln!("skipped: kpt not found");
        return;
    }
    let registry = TestRegistry::start();
    let host = registry.host();
    let work = example_copy(&host);
    // Signed with a fresh key; the ImagePolicy demanding it comes from --policy, added to the
    // example's policy set named by functionConfig.
    let key = KeyPair::generate(Algorithm::EcdsaP256).expect("key");
    signing_policy(work.path(), &host, &key);
    let pusher = Pusher::new(&format!("http://{host}"));
    let api = pusher.push_image("acme/api", "1.4", &[("api", b"api 1.4\n")]).expect("push api");
    let payload = syncgate_testsign::cosign::simple_signing_payload(&pusher.docker_reference("acme/api"), &api.digest);
    let layer = syncgate_testsign::cosign::SignatureLayer::new(payload.clone(), &key.sign(&payload).expect("sign"));
    pusher.push_signatures("acme/api", &api.digest, &[layer]).expect("push signature");
    let results = work.path().join("results");
    let out = tool(
        "kpt",
        work.path(),
        work.path(),
        &[
            "fn",
            "eval",
            "package",
            "--exec",
            "syncgate fn --policy signing",
            "--results-dir",
            results.to_str().expect("utf-8"),
            "--",
            "policy=policies",
        ],
        &[("SYNCGATE_INSECURE_REGISTRIES", &host)],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let deployment = std::fs::read_to_string(work.path().join("package/deployment.yaml")).expect("deployment");
    assert!(deployment.contains(&format!("image: {host}/acme/api:1.4@{}\n", api.digest)), "{deployment}");
    assert!(deployment.starts_with("# Team A's API"), "kpt keeps the comments: {deployment}");
    assert_eq!(recorded(&results_yaml(&results)), [], "signed and pinned: nothing to report");
    assert_golden("krm_kpt_eval_pinned", &deployment);
}

#[test]
fn kustomize_build_runs_the_example_validator() {
    if !has("kustomize", &["version"]) {
        eprintln!(
            "skipped: kustomize not found (kubectl kustomize cannot run exec functions, kustomize #4556; the ResourceList kustomize sends is covered by a_policy_document_as_function_config_is_the_policy_set_and_policy_flags_add_to_it)"
        );
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("examples/krm/kustomize"), work.path(), "127.0.0.1:5000");
    let out =
        tool("kustomize", work.path(), work.path(), &["build", "--enable-alpha-plugins", "--enable-exec", "."], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("image: 127.0.0.1:5000/acme/api:1.4\n"), "{}", out.stdout);
    assert!(out.stdout.contains("kind: Service"), "{}", out.stdout);
    let deployment = work.path().join("deployment.yaml");
    make_privileged(&deployment);
    let out =
        tool("kustomize", work.path(), work.path(), &["build", "--enable-alpha-plugins", "--enable-exec", "."], &[]);
    assert_ne!(out.code, 0, "a denial aborts the build: {}", out.stdout);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("disallow-privileged"), "{}", out.stderr);
}

#[test]
fn kpt_fn_render_with_syncgate_as_a_mutator_writes_the_pinned_images() {
    if !has("kpt", &["version"]) {
        eprintln!("skipped: kpt not found");
        return;
    }
    let (registry, api) = registry_with_api();
    let host = registry.host();
    let work = example_copy(&host);
    let kptfile = work.path().join("package/Kptfile");
    let text = std::fs::read_to_string(&kptfile).expect("Kptfile");
    let mutator = text.replace("  validators:", "  mutators:").replace("        offline: \"true\"\n", "");
    assert_ne!(mutator, text);
    std::fs::write(&kptfile, mutator).expect("write");
    let out = tool(
        "kpt",
        work.path(),
        work.path(),
        &["fn", "render", "package", "--allow-exec"],
        &[("SYNCGATE_INSECURE_REGISTRIES", &host)],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let deployment = std::fs::read_to_string(work.path().join("package/deployment.yaml")).expect("deployment");
    assert!(deployment.contains(&format!("image: {host}/acme/api:1.4@{}\n", api.digest)), "{deployment}");
}

/// Makes the example Deployment's container privileged (what every policy here denies).
fn make_privileged(deployment: &Path) {
    let text = std::fs::read_to_string(deployment).expect("deployment");
    let privileged = text
        .replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: false\n            privileged: true");
    assert_ne!(privileged, text, "the example sets allowPrivilegeEscalation: false");
    std::fs::write(deployment, privileged).expect("write");
}

/// A copy of examples/krm with its registry address replaced by `host`.
fn example_copy(host: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("examples/krm"), work.path(), host);
    work
}
