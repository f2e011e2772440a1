//! `syncgate generate` driven exactly as argocd-cmp-server drives it: the command runs in the app
//! directory with the CMP environment (`ARGOCD_APP_*`, `ARGOCD_ENV_*`, `KUBE_*`) and no arguments
//! beyond `generate`; stdout must be the manifests and nothing else, a denial is exit 1 with the
//! message on stderr (what Argo CD shows as the Application's condition). Images are signed by the
//! project's test signer and served by a real registry on 127.0.0.1.

use std::path::{Path, PathBuf};

use crate::common::{Run, run, syncgate, write};
use crate::signatures::{KEYLESS, PROVENANCE, REPO, World};

/// A restricted-profile compliant Deployment running `image` in `namespace` (empty: none set).
pub(crate) fn deployment(name: &str, namespace: &str, image: &str, privileged: bool) -> String {
    let namespace = if namespace.is_empty() { String::new() } else { format!("\n  namespace: {namespace}") };
    let extra = if privileged { "\n            privileged: true" } else { "" };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{namespace}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: {name}
          image: {image}
          resources:
            requests: {{cpu: 100m, memory: 64Mi}}
            limits: {{memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}{extra}
"
    )
}

/// The production policy set: restricted profile, digests required (pinning satisfies it), and the
/// release workflow's signature plus SLSA provenance for the test repository.
pub(crate) const WORKLOAD: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: production}
spec:
  profile: restricted
  mode: enforce
  rules:
    require-image-digest: enforce
    disallow-privileged: enforce
    require-resource-requests: enforce
";

/// A second set where the restricted profile only reports.
const LENIENT: &str = "apiVersion: syncgate.dev/v1alpha1
kind: WorkloadPolicy
metadata: {name: lenient}
spec:
  profile: restricted
  mode: report
";

/// An app-and-policies layout: `policies/default/…`, `policies/lenient/…`, `apps/<name>/…`.
pub(crate) struct Layout {
    pub(crate) world: World,
    pub(crate) home: tempfile::TempDir,
    pub(crate) root: tempfile::TempDir,
    pub(crate) signed: String,
}

impl Layout {
    pub(crate) fn new() -> Layout {
        let (world, signed, _) = crate::signatures::cli::signed_world();
        let root = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp dir");
        let images = format!(
            "apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {{name: release}}\nspec:\n  images: [\"{}/{REPO}\"]\n  trustRoot: {{file: trusted_root.json}}\n{KEYLESS}{PROVENANCE}",
            world.registry.host()
        );
        for set in ["default", "lenient"] {
            let dir = root.path().join("policies").join(set);
            std::fs::create_dir_all(&dir).expect("policy dir");
            write(&dir, "workload.yaml", if set == "default" { WORKLOAD } else { LENIENT });
            write(&dir, "images.yaml", &images);
            std::fs::copy(world.dir.path().join("trusted_root.json"), dir.join("trusted_root.json")).expect("root");
        }
        Layout { world, home, root, signed }
    }

    /// `HOST/acme/api:TAG`.
    pub(crate) fn image(&self, tag: &str) -> String {
        format!("{}/{REPO}:{tag}", self.world.registry.host())
    }

    /// Creates `apps/<name>` with `files`.
    pub(crate) fn app(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.root.path().join("apps").join(name);
        std::fs::create_dir_all(&dir).expect("app dir");
        for (file, text) in files {
            write(&dir, file, text);
        }
        dir
    }

    /// `syncgate generate` in `dir` with the CMP environment plus `env`.
    pub(crate) fn generate(&self, dir: &Path, env: &[(&str, &str)]) -> Run {
        let mut command = syncgate(self.home.path());
        command
            .current_dir(dir)
            .arg("generate")
            .env("ARGOCD_APP_NAME", "api")
            .env("ARGOCD_APP_NAMESPACE", "team-a")
            .env("ARGOCD_APP_PROJECT_NAME", "team-a")
            .env("ARGOCD_APP_REVISION", "5a1d3e4b2c7f8091a2b3c4d5e6f708192a3b4c5d")
            .env("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/acme/team-a-apps")
            .env("ARGOCD_APP_SOURCE_PATH", "apps/api")
            .env("KUBE_VERSION", "1.33.1")
            .env("KUBE_API_VERSIONS", "apps/v1,apps/v1/Deployment,v1,v1/Service")
            .env("SYNCGATE_POLICY_DIR", self.root.path().join("policies"))
            .env("SYNCGATE_INSECURE_REGISTRIES", self.world.registry.host());
        for (key, value) in env {
            command.env(key, value);
        }
        run(&mut command)
    }
}

/// Asserts `text` against golden file `name`, registry ports, digests and temp paths masked.
pub(crate) fn assert_golden(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "[REGISTRY]");
    settings.add_filter(r"sha256:[0-9a-f]{64}", "[DIGEST]");
    settings.add_filter(r"sha256-[0-9a-f]{64}", "[DIGEST-TAG]");
    settings.add_filter(r"/tmp/\.tmp\w+", "[DIR]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn documents(stdout: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(stdout).expect("stdout is a YAML manifest stream")
}

#[test]
fn a_signed_kustomize_app_is_printed_with_its_image_pinned_to_the_verified_digest() {
    let layout = Layout::new();
    let dir = layout.app(
        "allowed",
        &[
            ("kustomization.yaml", "resources: [deployment.yaml]\ncommonLabels: {team: a}\n"),
            ("deployment.yaml", &deployment("api", "", &layout.image("1.4.0"), false)),
        ],
    );
    if std::process::Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("skipped: kubectl not found (the kustomize path needs kustomize or kubectl)");
        return;
    }
    let out = layout.generate(&dir, &[]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 1, "{}", out.stdout);
    let image = &docs[0]["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, &serde_json::json!(format!("{}@{}", layout.image("1.4.0"), layout.signed)));
    assert_eq!(docs[0]["metadata"]["labels"]["team"], "a", "kustomize ran");
    assert!(out.stderr.trim().is_empty(), "nothing on stderr for a clean allow: {}", out.stderr);
}

#[test]
fn an_unsigned_image_is_denied_with_the_rule_resource_container_and_fix_on_stderr() {
    let layout = Layout::new();
    let dir =
        layout.app("unsigned", &[("deployment.yaml", &deployment("api", "web", &layout.image("1.5.0-rc"), false))]);
    let out = layout.generate(&dir, &[]);
    assert_eq!(out.code, 1, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "", "a denial prints no manifests");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, "syncgate denied 1 of 1 resources:");
    assert!(out.stderr.contains("Deployment web/api container api: "), "{}", out.stderr);
    assert!(out.stderr.contains("[image-signature at spec.template.spec.containers[0].image]"), "{}", out.stderr);
    assert!(out.stderr.contains("\n  fix: "), "{}", out.stderr);
    assert_golden("generate_denied_unsigned", &out.stderr);
}

#[test]
fn a_privileged_pod_is_denied_even_when_its_image_is_signed() {
    let layout = Layout::new();
    let dir = layout.app("privileged", &[("deployment.yaml", &deployment("api", "", &layout.image("1.4.0"), true))]);
    let out = layout.generate(&dir, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Deployment team-a/api container api: securityContext.privileged is true"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("[disallow-privileged at spec.template.spec.containers[0].securityContext.privileged]")
    );
    assert!(!out.stderr.contains("image-signature"), "the signed image passes: {}", out.stderr);
}

#[test]
fn report_mode_findings_pass_as_warnings_on_stderr_and_in_an_annotation() {
    let layout = Layout::new();
    let dir = layout.app("privileged", &[("deployment.yaml", &deployment("api", "", &layout.image("1.4.0"), true))]);
    let out = layout.generate(&dir, &[("ARGOCD_ENV_POLICY", "lenient")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = documents(&out.stdout);
    let warnings = docs[0]["metadata"]["annotations"]["syncgate.dev/warnings"].as_str().expect("annotation");
    assert!(warnings.contains("privileged: "), "{warnings}");
    assert!(out.stderr.contains("syncgate warning: Deployment team-a/api: "), "{}", out.stderr);
    let image = &docs[0]["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, &serde_json::json!(format!("{}@{}", layout.image("1.4.0"), layout.signed)));
}

#[test]
fn an_unknown_policy_set_is_a_configuration_error_naming_the_available_ones() {
    let layout = Layout::new();
    let dir = layout.app("allowed", &[("deployment.yaml", &deployment("api", "", &layout.image("1.4.0"), false))]);
    let out = layout.generate(&dir, &[("ARGOCD_ENV_POLICY", "strict")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("unknown policy set \"strict\" (available: default, lenient)"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn an_app_that_renders_nothing_is_refused_rather_than_pruning_everything() {
    let layout = Layout::new();
    let dir = layout.app("empty", &[("README.md", "nothing here\n")]);
    let out = layout.generate(&dir, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("refusing to return an empty set"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn a_chart_without_helm_on_the_path_says_what_to_install() {
    let layout = Layout::new();
    let dir = layout.app("chart", &[("Chart.yaml", "apiVersion: v2\nname: api\nversion: 0.1.0\n")]);
    let out = layout.generate(&dir, &[("PATH", "/nonexistent")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("is a helm application but `helm` is not on PATH"), "{}", out.stderr);
}

#[test]
fn a_registry_that_is_down_denies_as_undecided() {
    let layout = Layout::new();
    let dir =
        layout.app("allowed", &[("deployment.yaml", &deployment("api", "", "127.0.0.1:9/acme/api:1.4.0", false))]);
    let out = layout.generate(&dir, &[("SYNCGATE_INSECURE_REGISTRIES", "127.0.0.1:9"), ("SYNCGATE_DEADLINE", "5")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("could not be decided: "), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn an_empty_list_is_refused_like_an_empty_render() {
    let layout = Layout::new();
    let dir = layout.app("empty-list", &[("list.yaml", "apiVersion: v1\nkind: List\nitems: []\n")]);
    let out = layout.generate(&dir, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("refusing to return an empty set"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

/// A Tenant in the `default` set.
const TENANT: &str = "apiVersion: syncgate.dev/v1alpha1
kind: Tenant
metadata: {name: team-a}
spec:
  namespaces: [team-a]
  sourceRepositories: ['https://github.com/acme/team-a-*']
";

#[test]
fn tenants_bound_an_application_whichever_policy_set_it_picks() {
    let layout = Layout::new();
    write(&layout.root.path().join("policies/default"), "tenant.yaml", TENANT);
    let dir =
        layout.app("elsewhere", &[("deployment.yaml", &deployment("api", "team-b", &layout.image("1.4.0"), false))]);
    // The `lenient` set has no Tenant: picking it does not lift the tenancy.
    let out = layout.generate(&dir, &[("ARGOCD_ENV_POLICY", "lenient")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("Deployment team-b/api: namespace \"team-b\""), "{}", out.stderr);
    assert!(out.stderr.contains("[project-destination at metadata.namespace]"), "{}", out.stderr);
    // Without a project name (Argo CD 2.x) no Tenant can be chosen: refused as undecided.
    let inside = layout.app("inside", &[("deployment.yaml", &deployment("api", "", &layout.image("1.4.0"), false))]);
    let out = layout.generate(&inside, &[("ARGOCD_APP_PROJECT_NAME", "")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("syncgate denied Application argocd/api:\n"), "{}", out.stderr);
    assert!(
        out.stderr.contains("could not be decided: cannot check the resources against their project"),
        "{}",
        out.stderr
    );
    // With it, the same app is allowed.
    let out = layout.generate(&inside, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
