//! `syncgate post-render` as Helm runs it, end to end with `examples/helm/`.
//!
//! Helm cannot be installed here, so the harness does what Helm does:
//! - Helm 3 (`pkg/postrender/exec.go`, v3.19.0): exec the binary by its absolute path with the
//!   `--post-renderer-args` values, the manifests (no hooks, `---\n# Source: …` per document) on
//!   stdin, stdout read as the result, a non-zero exit turned into Helm's error text;
//! - Helm 4 (`internal/plugin/runtime_subprocess.go` `runPostrenderer`, `subprocess_commands.go`
//!   `PrepareCommands`, `pkg/postrenderer/postrenderer.go`): load `plugin.yaml`, pick the platform
//!   command, expand `$HELM_PLUGIN_DIR`, append the extra args, run it with `HELM_PLUGIN_NAME` and
//!   `HELM_PLUGIN_DIR` set, refuse a non-zero exit or an empty output, then split the result back
//!   by the `postrenderer.helm.sh/postrender-filename` annotation as `splitAndDeannotate` does.
//!
//! The plugin manifest itself is checked against Helm 4's loader (`helm_plugin` below).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::argocd_example::Example;
use crate::common::{root, write};
use crate::generate::assert_golden;

/// Helm 4's annotation carrying each document's template file through a post-renderer.
const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// What a post-renderer run gave: exit code, stdout, stderr, and the error Helm would report.
struct Rendered {
    code: i32,
    stdout: String,
    stderr: String,
    helm_error: Option<String>,
}

fn syncgate_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("syncgate")
}

/// Runs `program args…` with `env` only (plus PATH), `stdin` written from another thread as Helm's
/// goroutine does (a write error, e.g. syncgate stopping at the size limit, is ignored as Helm does).
fn exec(program: &Path, args: &[String], env: &[(String, String)], stdin: &[u8]) -> (i32, String, String) {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("post-renderer starts");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("post-renderer runs");
    writer.join().expect("stdin writer");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The environment of a user's shell: HOME (and so the cache) in `home`, no SYNCGATE_* settings.
fn user_env(home: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("XDG_CACHE_HOME".into(), home.join(".cache").display().to_string()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").display().to_string()),
    ]
}

/// `helm install … --post-renderer <bin> --post-renderer-args <arg>…` on Helm 3.
fn helm3(bin: &Path, args: &[String], env: &[(String, String)], manifests: &[u8]) -> Rendered {
    // getFullPath: exec.LookPath, then filepath.Abs.
    let bin = std::fs::canonicalize(bin).expect("post-renderer binary");
    let (code, stdout, stderr) = exec(&bin, args, env, manifests);
    // errors.Wrapf(err, "error while running command %s. error output:\n%s", …), wrapped again by
    // renderResources; err is the *exec.ExitError ("exit status N").
    let helm_error = (code != 0).then(|| {
        format!(
            "error while running post render on files: error while running command {}. error output:\n{stderr}: exit status {code}",
            bin.display()
        )
    });
    Rendered { code, stdout, stderr, helm_error }
}

/// A Helm 4 plugin directory as `helm plugin install <dir>` leaves it (a link to the source; here a
/// copy, modes kept), with `bin/syncgate` linked to the binary under test when `with_binary`.
fn install_plugin(home: &Path, with_binary: bool) -> PathBuf {
    let dir = home.join("helm/plugins/syncgate");
    std::fs::create_dir_all(dir.join("bin")).expect("plugin dir");
    let source = root().join("plugin-manifests/helm/syncgate");
    std::fs::copy(source.join("plugin.yaml"), dir.join("plugin.yaml")).expect("plugin.yaml");
    std::fs::copy(source.join("bin/syncgate-post-render"), dir.join("bin/syncgate-post-render")).expect("wrapper");
    if with_binary {
        std::os::unix::fs::symlink(syncgate_bin(), dir.join("bin/syncgate")).expect("link the binary");
    }
    dir
}

/// `helm install … --post-renderer syncgate --post-renderer-args <arg>…` on Helm 4, the plugin
/// installed in `plugin_dir`.
fn helm4(plugin_dir: &Path, extra_args: &[String], env: &[(String, String)], manifests: &[u8]) -> Rendered {
    let text = std::fs::read_to_string(plugin_dir.join("plugin.yaml")).expect("plugin.yaml");
    let metadata: Value = serde_saphyr::from_str(&text).expect("plugin.yaml is YAML");
    let name = metadata["name"].as_str().expect("name").to_owned();
    let commands = metadata["runtimeConfig"]["platformCommand"].as_array().cloned().unwrap_or_default();
    let (command, args) =
        helm_plugin::platform_command(&commands, helm_plugin::GOOS, helm_plugin::goarch()).expect("a command for here");
    // runPostrenderer: the process environment, then HELM_PLUGIN_NAME and HELM_PLUGIN_DIR.
    let mut vars: BTreeMap<String, String> = env.iter().cloned().collect();
    vars.insert("HELM_PLUGIN_NAME".into(), name.clone());
    vars.insert("HELM_PLUGIN_DIR".into(), plugin_dir.display().to_string());
    let (program, mut program_args) = helm_plugin::prepare(&command, &args, &vars);
    program_args.extend(extra_args.iter().cloned());
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    let (code, stdout, stderr) = exec(Path::new(&program), &program_args, &vars, manifests);
    let helm_error = if code != 0 {
        // executeCmd → InvokeExecError{"plugin %q exited with error"}; stderr is not shown.
        Some(format!(
            "error while running post render on files: failed to invoke post-renderer plugin \"{name}\": plugin \"{name}\" exited with error"
        ))
    } else if stdout.trim().is_empty() {
        Some(format!("error while running post render on files: post-renderer \"{name}\" produced empty output"))
    } else {
        None
    };
    Rendered { code, stdout, stderr, helm_error }
}

/// `splitAndDeannotate`: documents grouped by their filename annotation, which is then removed;
/// documents without one are `generated-by-postrender-<i>.yaml`.
fn split_by_filename(stream: &str) -> BTreeMap<String, Vec<Value>> {
    let mut files: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let documents: Vec<Value> = serde_saphyr::from_multiple(stream).expect("post-rendered YAML");
    for (i, mut document) in documents.into_iter().enumerate() {
        let annotations = document["metadata"]["annotations"].as_object_mut();
        let name = annotations
            .and_then(|a| a.remove(FILENAME_ANNOTATION))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("generated-by-postrender-{i}.yaml"));
        files.entry(name).or_default().push(document);
    }
    files
}

fn example_file(name: &str, host: &str) -> String {
    std::fs::read_to_string(root().join("examples/helm").join(name))
        .expect("example stream")
        .replace("127.0.0.1:5000", host)
}

fn policy_arg(example: &Example) -> String {
    format!("--policy={}", example.dir.path().join("policies").display())
}

fn online_args(example: &Example) -> Vec<String> {
    vec![policy_arg(example), format!("--insecure-registry={}", example.registry.host())]
}

#[test]
fn helm3_installs_the_chart_with_its_image_pinned_to_the_signed_digest() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let mut args = vec!["post-render".to_owned()];
    args.extend(online_args(&example));
    let out = helm3(
        &syncgate_bin(),
        &args,
        &user_env(example.home.path()),
        example_file("helm3-stdin.yaml", &host).as_bytes(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.helm_error, None);
    assert_eq!(out.stderr, "", "nothing to say when every rule passes");
    assert!(out.stdout.contains(&format!("image: {host}/acme/api:1.4@{}\n", example.signed)), "{}", out.stdout);
    assert_golden("helm3_post_render_allowed", &out.stdout);
}

#[test]
fn helm3_refuses_an_unsigned_image_with_the_reason_in_helms_error() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let mut args = vec!["post-render".to_owned()];
    args.extend(online_args(&example));
    let input = example_file("helm3-stdin-unsigned.yaml", &host);
    let out = helm3(&syncgate_bin(), &args, &user_env(example.home.path()), input.as_bytes());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "", "a denied release must not reach the API server");
    let error = out.helm_error.expect("Helm fails the install");
    assert!(error.contains("DENY   image-signature"), "{error}");
    assert_golden("helm3_post_render_denied_stderr", &out.stderr);
    let bin = std::fs::canonicalize(syncgate_bin()).expect("binary");
    assert_golden("helm3_post_render_denied_helm_error", &error.replace(&bin.display().to_string(), "[SYNCGATE]"));
}

#[test]
fn helm3_finds_syncgate_through_the_wrapper_script_and_the_policy_through_the_environment() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let mut env = user_env(example.home.path());
    env.push(("SYNCGATE_POLICY".into(), example.dir.path().join("policies").display().to_string()));
    env.push(("SYNCGATE_INSECURE_REGISTRIES".into(), host.clone()));
    env.push(("SYNCGATE_BIN".into(), syncgate_bin().display().to_string()));
    let wrapper = root().join("plugin-manifests/helm/syncgate/bin/syncgate-post-render");
    let out = helm3(&wrapper, &[], &env, example_file("helm3-stdin.yaml", &host).as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("@{}", example.signed)), "{}", out.stdout);
}

#[test]
fn helm4_plugin_pins_manifests_and_hooks_and_keeps_helms_annotations() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let plugin = install_plugin(example.home.path(), true);
    let input = example_file("helm4-stdin.yaml", &host);
    let out = helm4(&plugin, &online_args(&example), &user_env(example.home.path()), input.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.helm_error, None);
    let pinned = format!("{host}/acme/api:1.4@{}", example.signed);
    assert_eq!(out.stdout.matches(&format!("image: {pinned}\n")).count(), 2, "the Deployment and the hook Job");
    // What Helm reads back: the same files with the same documents, only the images changed.
    let before = split_by_filename(&input);
    let after = split_by_filename(&out.stdout);
    assert_eq!(
        serde_json::to_string(&after).expect("json").replace(&format!("@{}", example.signed), ""),
        serde_json::to_string(&before).expect("json"),
        "documents, keys, hook annotations and file names unchanged except for the pinned images"
    );
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["api/templates/deployment.yaml", "api/templates/migrate-job.yaml", "api/templates/service.yaml"]
    );
    assert_golden("helm4_post_render_allowed", &out.stdout);
}

#[test]
fn helm4_plugin_passes_a_lone_hook_document_with_only_its_image_pinned() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let plugin = install_plugin(example.home.path(), true);
    let input = example_file("hook-only.yaml", &host);
    let out = helm4(&plugin, &online_args(&example), &user_env(example.home.path()), input.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        serde_saphyr_roundtrip(&input)
            .replace(&format!("{host}/acme/api:1.4"), &format!("{host}/acme/api:1.4@{}", example.signed))
    );
    assert_golden("helm4_post_render_hook_only", &out.stdout);
}

/// The input as syncgate writes any stream (quotes and sequence indentation normalised), without
/// any change: what "untouched" means for the documents.
fn serde_saphyr_roundtrip(input: &str) -> String {
    let home = tempfile::tempdir().expect("temp dir");
    let policy = write(
        home.path(),
        "report.yaml",
        "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: none}\nspec:\n  mode: report\n  rules: {disallow-privileged: report}\n",
    );
    let out = crate::common::run(
        crate::common::syncgate(home.path())
            .args(["post-render", "--offline", "-p"])
            .arg(policy)
            .write_stdin(input.to_owned()),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

#[test]
fn helm4_plugin_denial_is_a_non_zero_exit_and_no_output() {
    let example = Example::of("examples/helm");
    let host = example.registry.host();
    let plugin = install_plugin(example.home.path(), true);
    let input = example_file("helm4-stdin.yaml", &host).replace("acme/api:1.4", "acme/unsigned:1.0");
    // Helm 4 drops a failing plugin's stderr; the wrapper can leave the denial in a file for CI logs.
    let denial = example.home.path().join("denial.txt");
    let mut env = user_env(example.home.path());
    env.push(("SYNCGATE_DENIAL_FILE".into(), denial.to_str().expect("utf-8").into()));
    let out = helm4(&plugin, &online_args(&example), &env, input.as_bytes());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let kept = std::fs::read_to_string(&denial).expect("denial file");
    assert!(kept.contains("Job/default/api-migrate") && kept.contains("image-signature"), "{kept}");
    assert!(out.stderr.contains(kept.lines().next().unwrap_or_default()), "{}", out.stderr);
    assert_eq!(
        out.helm_error.as_deref(),
        Some(
            "error while running post render on files: failed to invoke post-renderer plugin \"syncgate\": plugin \"syncgate\" exited with error"
        )
    );
    assert!(out.stderr.contains("Job/default/api-migrate"), "the hook is gated too: {}", out.stderr);
    assert_golden("helm4_post_render_denied_stderr", &out.stderr);
}

#[test]
fn helm4_plugin_without_a_binary_says_how_to_provide_one() {
    let home = tempfile::tempdir().expect("temp dir");
    let plugin = install_plugin(home.path(), false);
    let mut env = user_env(home.path());
    // A PATH without syncgate (it replaces the test's own PATH in `exec`).
    env.push(("PATH".into(), "/usr/bin:/bin".into()));
    let out = helm4(&plugin, &["--offline".into()], &env, b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("the syncgate binary was not found"), "{}", out.stderr);
}

#[test]
fn empty_input_gives_empty_output_and_exit_zero_which_helm4_itself_refuses() {
    let home = tempfile::tempdir().expect("temp dir");
    let plugin = install_plugin(home.path(), true);
    let policy = format!("--policy={}", root().join("examples/helm/policies/workload.yaml").display());
    for input in ["", "\n", "---\n# Source: api/templates/empty.yaml\n\n"] {
        let mut args = vec!["post-render".to_owned(), policy.clone(), "--offline".into()];
        let three = helm3(&syncgate_bin(), &args, &user_env(home.path()), input.as_bytes());
        assert_eq!((three.code, three.stdout.as_str(), three.stderr.as_str()), (0, "", ""), "{input:?}");
        assert_eq!(three.helm_error, None, "Helm 3 installs an empty release");
        args.remove(0);
        let four = helm4(&plugin, &args, &user_env(home.path()), input.as_bytes());
        assert_eq!((four.code, four.stdout.as_str()), (0, ""), "{input:?}: {}", four.stderr);
        assert_eq!(
            four.helm_error.as_deref(),
            Some("error while running post render on files: post-renderer \"syncgate\" produced empty output")
        );
    }
}

#[test]
fn offline_the_chart_is_denied_for_its_unpinned_image_and_report_mode_prints_it_unchanged() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = home.path().join("example");
    std::fs::create_dir_all(&dir).expect("dir");
    crate::argocd_example::copy_tree(&root().join("examples/helm"), &dir, "127.0.0.1:5000");
    let key = syncgate_testsign::key::KeyPair::generate(syncgate_testsign::key::Algorithm::EcdsaP256).expect("key");
    std::fs::create_dir_all(dir.join("keys")).expect("keys");
    std::fs::write(dir.join("keys/cosign.pub"), key.public_pem()).expect("public key");
    let input = std::fs::read_to_string(dir.join("helm3-stdin.yaml")).expect("stream");
    let policy = format!("--policy={}", dir.join("policies").display());
    let args = |extra: &[&str]| {
        let mut args = vec!["post-render".to_owned(), policy.clone(), "--offline".into()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let denied = helm3(&syncgate_bin(), &args(&[]), &user_env(home.path()), input.as_bytes());
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert_eq!(denied.stdout, "");
    assert_golden("helm_post_render_offline_denied_stderr", &denied.stderr);
    let report = helm3(&syncgate_bin(), &args(&["--mode=report"]), &user_env(home.path()), input.as_bytes());
    assert_eq!(report.code, 0, "{}", report.stderr);
    // The byte-exact output form: documents in input order separated by `---`, keys in input
    // order, no `# Source:` comments (comments are not kept).
    assert_golden("helm_post_render_offline_report_stdout", &report.stdout);
}

#[test]
fn input_over_the_limit_is_refused_before_anything_is_written() {
    let home = tempfile::tempdir().expect("temp dir");
    let policy = format!("--policy={}", root().join("examples/helm/policies/workload.yaml").display());
    let input = std::fs::read_to_string(root().join("examples/helm/helm3-stdin.yaml")).expect("stream").repeat(4000);
    let args = vec!["post-render".to_owned(), policy, "--offline".into(), "--max-input-bytes=100000".into()];
    let out = helm3(&syncgate_bin(), &args, &user_env(home.path()), input.as_bytes());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: invalid input: <stdin>: input is larger than the limit of 100000 bytes (raise it with --max-input-bytes)\n"
    );
}

#[test]
fn a_large_stream_passes_through_document_for_document() {
    let home = tempfile::tempdir().expect("temp dir");
    let policy = write(
        home.path(),
        "report.yaml",
        "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: all}\nspec:\n  profile: restricted\n  mode: report\n",
    );
    let one = std::fs::read_to_string(root().join("examples/helm/helm3-stdin.yaml")).expect("stream");
    let copies = 2000;
    let input: String = (0..copies).map(|i| one.replace("name: api\n", &format!("name: api-{i}\n"))).collect();
    let args = vec!["post-render".to_owned(), format!("--policy={}", policy.display()), "--offline".into()];
    let out = helm3(&syncgate_bin(), &args, &user_env(home.path()), input.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let documents =
        syncgate::manifest::parse_bytes(out.stdout.as_bytes(), None, &syncgate::manifest::Limits::default())
            .expect("YAML out");
    assert_eq!(documents.len(), 2 * copies);
    let last = &documents[2 * copies - 1].root;
    assert_eq!(
        last.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str()),
        Some(format!("api-{}", copies - 1).as_str())
    );
}

/// Helm 4's plugin loader, ported check by check (helm/helm main, `internal/plugin/`), applied to
/// `plugin-manifests/helm/syncgate/plugin.yaml`.
pub(crate) mod helm_plugin {
    use std::collections::BTreeMap;

    use serde_json::Value;

    /// `runtime.GOOS` of the machine running the tests.
    pub(crate) const GOOS: &str = std::env::consts::OS;

    /// `runtime.GOARCH` of the machine running the tests.
    pub(crate) fn goarch() -> &'static str {
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            other => other,
        }
    }

    /// The keys of `MetadataV1` (metadata_v1.go yaml tags).
    const KNOWN: [&str; 8] =
        ["apiVersion", "name", "type", "runtime", "version", "sourceURL", "config", "runtimeConfig"];

    /// Everything `loadMetadataV1` and `Metadata.Validate` would refuse, one message each.
    pub(crate) fn validate(text: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let Ok(doc) = serde_saphyr::from_str::<Value>(text) else {
            return vec!["plugin.yaml is not YAML".into()];
        };
        let Some(map) = doc.as_object() else { return vec!["plugin.yaml is not a mapping".into()] };
        // loader.go loadMetadata: peekAPIVersion; "" is a legacy plugin, "v1" this format.
        if map.get("apiVersion").and_then(Value::as_str) != Some("v1") {
            errors.push(format!(
                "invalid `apiVersion`: {:?} (loader.go loadMetadata; metadata_v1.go)",
                map.get("apiVersion")
            ));
        }
        // loader.go loadMetadataV1: d.KnownFields(true) over MetadataV1's yaml tags.
        for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            errors.push(format!("field {key} not found in type plugin.MetadataV1 (loader.go, KnownFields)"));
        }
        let text_of = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
        // metadata_v1.go Validate; plugin.go validPluginName = ^[A-Za-z0-9_-]+$.
        let name = text_of("name");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            errors.push(format!("invalid plugin `name` {name:?} (metadata_v1.go; plugin.go validPluginName)"));
        }
        // metadata_v1.go: version required and semver.StrictNewVersion.
        if !is_strict_semver(text_of("version")) {
            errors.push(format!(
                "invalid plugin `version` {:?}: must be valid semver (metadata_v1.go)",
                text_of("version")
            ));
        }
        // metadata_v1.go: type and runtime non-empty; config.go unmarshalConfig: a known type.
        let kind = text_of("type");
        if !["cli/v1", "getter/v1", "postrenderer/v1", "test/v1"].contains(&kind) {
            errors.push(format!("unknown plugin type {kind:?} (config.go; plugin_type_registry.go)"));
        }
        // metadata.go convertMetadataRuntimeConfig.
        let runtime = text_of("runtime");
        if !["subprocess", "extism/v1"].contains(&runtime) {
            errors.push(format!("unsupported plugin runtime type: {runtime:?} (metadata.go)"));
        }
        // config.go unmarshalConfig: the type's config struct with KnownFields(true);
        // schema/postrenderer.go ConfigPostRendererV1 has no fields.
        if kind == "postrenderer/v1"
            && let Some(config) = map.get("config").filter(|c| !c.is_null())
            && config.as_object().is_none_or(|c| !c.is_empty())
        {
            errors.push("config: postrenderer/v1 takes no config fields (schema/postrenderer.go)".into());
        }
        // runtime.go remarshalRuntimeConfig into RuntimeConfigSubprocess (runtime_subprocess.go).
        if runtime == "subprocess" {
            let config = map.get("runtimeConfig").cloned().unwrap_or(Value::Null);
            let commands = config.get("platformCommand").and_then(Value::as_array).cloned().unwrap_or_default();
            for (i, command) in commands.iter().enumerate() {
                let Some(command) = command.as_object() else {
                    errors.push(format!("runtimeConfig.platformCommand[{i}] is not a mapping"));
                    continue;
                };
                for (key, value) in command {
                    let ok = match key.as_str() {
                        "os" | "arch" | "command" => value.is_string(),
                        "args" => value.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                        _ => true, // yaml.Unmarshal without KnownFields ignores other keys
                    };
                    if !ok {
                        errors.push(format!("runtimeConfig.platformCommand[{i}].{key} has the wrong type (subprocess_commands.go PlatformCommand)"));
                    }
                }
            }
            // subprocess_commands.go PrepareCommands: "no plugin command is applicable".
            for (os, arch) in [("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64")] {
                match platform_command(&commands, os, arch) {
                    Some((command, _)) if !command.is_empty() && !command[0].is_empty() => {}
                    _ => {
                        errors.push(format!("no plugin command is applicable on {os}/{arch} (subprocess_commands.go)"));
                    }
                }
            }
        }
        errors
    }

    /// `semver.StrictNewVersion` (Masterminds/semver v3): MAJOR.MINOR.PATCH, no leading zeros,
    /// optional `-prerelease` and `+build` of dot-separated `[0-9A-Za-z-]` identifiers.
    fn is_strict_semver(version: &str) -> bool {
        let (rest, build) = version.split_once('+').map_or((version, None), |(a, b)| (a, Some(b)));
        let (core, pre) = rest.split_once('-').map_or((rest, None), |(a, b)| (a, Some(b)));
        let numeric =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
        let identifiers = |s: &str| {
            s.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts.iter().all(|p| numeric(p))
            && pre.is_none_or(|p| {
                identifiers(p) && p.split('.').all(|id| !id.bytes().all(|b| b.is_ascii_digit()) || numeric(id))
            })
            && build.is_none_or(identifiers)
    }

    /// `getPlatformCommand`: exact os/arch match first, then os with no arch, then neither set;
    /// the command is split on single spaces.
    pub(crate) fn platform_command(commands: &[Value], os: &str, arch: &str) -> Option<(Vec<String>, Vec<String>)> {
        let field = |c: &Value, key: &str| c.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let split = |c: &Value| -> (Vec<String>, Vec<String>) {
            let args = c.get("args").and_then(Value::as_array).into_iter().flatten();
            (
                field(c, "command").split(' ').map(str::to_owned).collect(),
                args.filter_map(Value::as_str).map(str::to_owned).collect(),
            )
        };
        let mut found = None;
        let mut found_os = false;
        for c in commands {
            let (c_os, c_arch) = (field(c, "os"), field(c, "arch"));
            if c_os.eq_ignore_ascii_case(os) && c_arch.eq_ignore_ascii_case(arch) {
                return Some(split(c));
            }
            if (!c_os.is_empty() && !c_os.eq_ignore_ascii_case(os)) || !c_arch.is_empty() {
                continue;
            }
            if !found_os && !c_os.is_empty() {
                found = Some(split(c));
                found_os = true;
            } else if found.is_none() {
                found = Some(split(c));
            }
        }
        found
    }

    /// `PrepareCommands` with argument expansion: `$NAME` and `${NAME}` replaced from `env`
    /// (`os.Expand`), the command's extra words and `args` after it.
    pub(crate) fn prepare(
        command: &[String],
        args: &[String],
        env: &BTreeMap<String, String>,
    ) -> (String, Vec<String>) {
        let expand = |s: &str| expand(s, env);
        let program = expand(&command[0]);
        let program_args = command[1..].iter().chain(args).map(|a| expand(a)).collect();
        (program, program_args)
    }

    /// `os.Expand` for `$NAME` and `${NAME}` (unset names expand to nothing).
    fn expand(text: &str, env: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, len) = if let Some(inner) = after.strip_prefix('{') {
                let end = inner.find('}').unwrap_or(inner.len());
                (&inner[..end], end + 2)
            } else {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end)
            };
            out.push_str(env.get(name).map_or("", String::as_str));
            rest = &after[len.min(after.len())..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn the_plugin_manifest_loads_in_helm_4() {
        let text = std::fs::read_to_string(crate::common::root().join("plugin-manifests/helm/syncgate/plugin.yaml"))
            .expect("plugin.yaml");
        assert_eq!(validate(&text), Vec::<String>::new());
        let doc: Value = serde_saphyr::from_str(&text).expect("YAML");
        assert_eq!(doc["type"], "postrenderer/v1");
        assert_eq!(doc["name"], "syncgate", "--post-renderer syncgate names the plugin");
        assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"), "the plugin's version is syncgate's");
        let wrapper = crate::common::root().join("plugin-manifests/helm/syncgate/bin/syncgate-post-render");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(wrapper).expect("wrapper").permissions());
        assert_eq!(mode & 0o111, 0o111, "the wrapper is executable (git keeps the mode)");
    }

    #[test]
    fn the_ported_checks_refuse_what_helm_refuses() {
        let good = "apiVersion: v1\ntype: postrenderer/v1\nname: x\nversion: 0.1.0\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: ${HELM_PLUGIN_DIR}/x\n";
        assert_eq!(validate(good), Vec::<String>::new());
        for (bad, why) in [
            (good.replace("name: x", "name: x.y"), "invalid plugin `name`"),
            (good.replace("0.1.0", "v0.1.0"), "must be valid semver"),
            (good.replace("0.1.0", "0.1"), "must be valid semver"),
            (good.replace("0.1.0", "01.1.0"), "must be valid semver"),
            (good.replace("apiVersion: v1", "apiVersion: v2"), "invalid `apiVersion`"),
            (good.replace("postrenderer/v1", "postrender/v1"), "unknown plugin type"),
            (good.replace("runtime: subprocess", "runtime: wasm"), "unsupported plugin runtime"),
            (format!("{good}usage: x\n"), "not found in type plugin.MetadataV1"),
            (format!("{good}config: {{x: 1}}\n"), "takes no config fields"),
            (good.replace("    - command:", "    - os: windows\n      command:"), "no plugin command is applicable"),
        ] {
            let errors = validate(&bad);
            assert!(errors.iter().any(|e| e.contains(why)), "{bad}\n→ {errors:?}");
        }
    }

    #[test]
    fn platform_command_prefers_exact_then_os_then_any() {
        let commands: Vec<Value> = serde_json::from_str(
            r#"[{"command": "any"}, {"os": "linux", "command": "os"}, {"os": "linux", "arch": "arm64", "command": "exact"}]"#,
        )
        .expect("json");
        let pick = |os, arch| platform_command(&commands, os, arch).map(|(c, _)| c.join(" "));
        assert_eq!(pick("linux", "arm64").as_deref(), Some("exact"));
        assert_eq!(pick("linux", "amd64").as_deref(), Some("os"));
        assert_eq!(pick("darwin", "arm64").as_deref(), Some("any"));
        let env = BTreeMap::from([("HELM_PLUGIN_DIR".to_owned(), "/p".to_owned())]);
        assert_eq!(
            prepare(&["${HELM_PLUGIN_DIR}/bin/x".into(), "$HELM_PLUGIN_DIR".into()], &["a".into()], &env),
            ("/p/bin/x".to_owned(), vec!["/p".to_owned(), "a".to_owned()])
        );
    }
}
