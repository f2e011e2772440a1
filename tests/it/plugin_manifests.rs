//! The Argo CD installation manifests (`plugin-manifests/argocd`) and the Argo CD example
//! (`examples/argocd`): every Kubernetes object the manifests hold passes the restricted check policy
//! (the files as written always; their `kubectl kustomize` renders when kubectl is on PATH),
//! `plugin.yaml` names the plugin Applications use, the Helm values and both sidecar variants agree
//! with it, the shipped policy set loads, and the example denies what its README says. Offline: no
//! registry, no cluster.

use std::path::{Component, Path, PathBuf};
use std::process::Command as StdCommand;

use serde_json::Value;
use syncgate_testsign::key::{Algorithm, KeyPair};

use crate::common::{Run, root, run, syncgate, write};

const CHECK_POLICY: &str = "plugin-manifests/argocd/check-policy.yaml";
const CMP_PATCH: &str = "plugin-manifests/argocd/sidecar/repo-server-patch.yaml";
const DAEMON_PATCH: &str = "plugin-manifests/argocd/sidecar-daemon/repo-server-patch-daemon.yaml";

/// Every file of plugin-manifests/argocd that holds Kubernetes objects (plugin.yaml is shaped like
/// one and is checked too). Not here: kustomization files, check-policy.yaml, the Helm values.
const RAW_FILES: &[&str] = &[
    "plugin-manifests/argocd/plugin.yaml",
    "plugin-manifests/argocd/rbac.yaml",
    "plugin-manifests/argocd/policies-configmap.yaml",
    CMP_PATCH,
    DAEMON_PATCH,
];

/// The kustomize directories that render offline on their own.
const OFFLINE_KUSTOMIZATIONS: &[&str] = &["plugin-manifests/argocd", "examples/argocd/apps/allowed"];

/// The example applications, each with what makes it one.
const EXAMPLE_APPS: &[(&str, &str)] = &[
    ("allowed", "kustomization.yaml"),
    ("unsigned", "worker.yaml"),
    ("privileged", "api.yaml"),
    ("cross-namespace", "api.yaml"),
];

/// Argo CD's argocd-repo-server Deployment reduced to what the sidecar patches touch and what the
/// check policy reads (security contexts, volumes), as in manifests/base/repo-server of v3.2.
const REPO_SERVER_STUB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      serviceAccountName: argocd-repo-server
      automountServiceAccountToken: false
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.2.0
          args: [/usr/local/bin/argocd-repo-server]
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v3.2.0
          command: [sh, -c]
          args: ["/bin/cp --update=none /usr/local/bin/argocd /var/run/argocd/argocd && /bin/ln -s /var/run/argocd/argocd /var/run/argocd/argocd-cmp-server"]
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
"#;

// ----- helpers -----

/// Parses one YAML document of the repository into JSON.
pub(crate) fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).map_err(|e| format!("{path}: {e}")).expect("read a file");
    serde_saphyr::from_str(&text).map_err(|e| format!("{path}: {e}")).expect("parse YAML")
}

/// Parses every document of a multi-document YAML file into JSON.
pub(crate) fn yaml_documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(path)).map_err(|e| format!("{path}: {e}")).expect("read a file");
    serde_saphyr::from_multiple(&text).map_err(|e| format!("{path}: {e}")).expect("parse YAML")
}

/// `kubectl` on PATH, if any.
pub(crate) fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("kubectl")).find(|candidate| candidate.is_file())
}

/// `kubectl kustomize DIR` (DIR relative to the repository root), or the failure.
pub(crate) fn kustomize(kubectl: &Path, dir: &Path) -> String {
    let out = StdCommand::new(kubectl).current_dir(root()).arg("kustomize").arg(dir).output().expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 manifests")
}

/// `to` relative to `from` (both absolute), as kustomize wants: it refuses absolute paths.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part.as_os_str());
    }
    path
}

/// `syncgate check FILES… --policy POLICY --offline --output json`, run from the repository root.
pub(crate) fn check_json(files: &[PathBuf], policy: &Path) -> (Run, Value) {
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(syncgate(home.path()).arg("check").args(files).arg("--policy").arg(policy).args([
        "--offline",
        "--output",
        "json",
    ]));
    let report = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("{e}; exit {}:\n{}\n{}", out.code, out.stdout, out.stderr))
        .expect("a JSON report");
    (out, report)
}

/// Asserts an allowed run with no failure, warning or error, and returns the report's summary line.
fn assert_passes(files: &[PathBuf]) -> (Value, String) {
    let (out, report) = check_json(files, Path::new(CHECK_POLICY));
    let summary = &report["summary"];
    assert_eq!(out.code, 0, "exit 0 expected for {files:?}\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(report["decision"], "allow", "{}", out.stdout);
    assert_eq!(summary["fail"], 0, "fail 0 expected for {files:?}: {summary}\n{}", out.stdout);
    assert_eq!(summary["error"], 0, "{summary}");
    assert_eq!(summary["warn"], 0, "{summary}");
    let line = format!("checked {} files: exit {}, {summary}", files.len(), out.code);
    (report, line)
}

/// How many findings of `report` on Deployment `name` have this rule and status.
pub(crate) fn count(report: &Value, name: &str, rule: &str, status: &str) -> usize {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["resource"]["kind"] == "Deployment" && f["resource"]["name"] == name)
        .filter(|f| f["rule"] == rule && f["status"] == status)
        .count()
}

/// The container named `name` of a Deployment document.
pub(crate) fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .ok_or_else(|| format!("no container {name}"))
        .expect("the container")
}

pub(crate) fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn mount_paths(container: &Value) -> Vec<&str> {
    container["volumeMounts"].as_array().expect("volumeMounts").iter().filter_map(|m| m["mountPath"].as_str()).collect()
}

fn env(container: &Value, name: &str) -> Option<String> {
    container["env"].as_array()?.iter().find(|e| e["name"] == name).and_then(|e| e["value"].as_str()).map(str::to_owned)
}

// ----- plugin.yaml and the example layout -----

#[test]
fn plugin_yaml_names_the_plugin_applications_use() {
    let plugin = yaml("plugin-manifests/argocd/plugin.yaml");
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "syncgate");
    let spec = &plugin["spec"];
    assert_eq!(spec["version"], "v1");
    assert_eq!(strings(&spec["generate"]["command"]), ["/usr/local/bin/syncgate", "generate"]);
    assert!(spec.get("discover").is_none(), "no discovery: Applications name the plugin");
    assert!(spec.get("init").is_none(), "no init command");
    assert_eq!(spec["preserveFileMode"], false);
    let parameters = spec["parameters"]["static"].as_array().expect("static parameters");
    let names: Vec<&str> = parameters.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["policy"], "applications choose the policy set only, never the mode or tenant");
    assert_eq!(parameters[0]["string"], "default");

    // The Application uses <name>-<version>, and its path is the allowed example.
    let application = yaml("examples/argocd/application.yaml");
    let plugin_name = format!("{}-{}", plugin["metadata"]["name"].as_str().unwrap(), spec["version"].as_str().unwrap());
    assert_eq!(application["kind"], "Application");
    assert_eq!(application["spec"]["source"]["plugin"]["name"], plugin_name.as_str());
    let app_path = application["spec"]["source"]["path"].as_str().expect("source path");
    assert!(root().join(app_path).is_dir(), "{app_path} exists");

    // The daemon variant listens on the socket the repo-server dials for that name.
    let daemon = yaml(DAEMON_PATCH);
    let command = strings(&container(&daemon, "syncgate")["command"]);
    let socket = command.iter().position(|a| *a == "--cmp-socket").map(|i| command[i + 1]);
    assert_eq!(socket, Some(format!("/home/argocd/cmp-server/plugins/{plugin_name}.sock").as_str()), "{command:?}");
    // The API socket sits on the writable /tmp (the root filesystem is read-only).
    let api = command.iter().position(|a| *a == "--socket").map(|i| command[i + 1]);
    assert_eq!(api, Some("/tmp/syncgate.sock"), "{command:?}");
}

#[test]
fn every_example_app_dir_exists() {
    for (app, marker) in EXAMPLE_APPS {
        let dir = root().join("examples/argocd/apps").join(app);
        assert!(dir.is_dir(), "{} is a directory", dir.display());
        assert!(dir.join(marker).is_file(), "{} has {marker}", dir.display());
    }
    for path in [
        "examples/argocd/policies/default/workload.yaml",
        "examples/argocd/policies/default/images.yaml",
        "examples/argocd/projects/team-a.yaml",
        "examples/argocd/projects/team-a-tenant.yaml",
        "examples/argocd/application.yaml",
        "examples/argocd/README.md",
        "plugin-manifests/argocd/README.md",
    ] {
        assert!(root().join(path).is_file(), "{path} exists");
    }
    let project = yaml("examples/argocd/projects/team-a.yaml");
    assert_eq!(project["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(project["kind"], "AppProject");
    assert!(project["spec"].get("clusterResourceWhitelist").is_none());
    let tenant = yaml("examples/argocd/projects/team-a-tenant.yaml");
    assert_eq!(tenant["apiVersion"], "syncgate.dev/v1alpha1");
    assert_eq!(tenant["kind"], "Tenant");
}

// ----- every object passes the restricted check policy -----

#[test]
fn raw_manifests_pass_the_restricted_check_policy() {
    let files: Vec<PathBuf> = RAW_FILES.iter().map(PathBuf::from).collect();
    let (report, line) = assert_passes(&files);
    println!("{line}");
    // Both patches were evaluated as workloads: the restricted profile ran on each.
    for rule in ["runAsNonRoot", "allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"] {
        assert_eq!(count(&report, "argocd-repo-server", rule, "pass"), 2, "{rule} passes on both patches");
    }
}

#[test]
fn kustomize_renders_pass_the_restricted_check_policy() {
    let Some(kubectl) = kubectl() else {
        println!(
            "skipped: kubectl not found (the raw files are checked by raw_manifests_pass_the_restricted_check_policy)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (i, kustomization) in OFFLINE_KUSTOMIZATIONS.iter().enumerate() {
        let rendered = kustomize(&kubectl, Path::new(kustomization));
        files.push(write(dir.path(), &format!("render-{i}.yaml"), &rendered));
    }
    // Each sidecar component on a stand-in for upstream's repo-server, with the base objects: the
    // strategic merge keeps the repo-server and adds the sidecar.
    let repo = root().canonicalize().expect("repository root");
    for component in ["sidecar", "sidecar-daemon"] {
        let overlay = dir.path().join(format!("overlay-{component}"));
        std::fs::create_dir(&overlay).expect("overlay dir");
        write(&overlay, "repo-server.yaml", REPO_SERVER_STUB);
        let argocd = relative(&overlay.canonicalize().expect("overlay path"), &repo.join("plugin-manifests/argocd"));
        let kustomization = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources:\n  - repo-server.yaml\n  - {base}\ncomponents:\n  - {base}/{component}\n",
            base = argocd.display()
        );
        write(&overlay, "kustomization.yaml", &kustomization);
        let rendered = kustomize(&kubectl, &overlay);
        let documents: Vec<Value> = serde_saphyr::from_multiple(&rendered).expect("rendered YAML");
        let deployment = documents
            .iter()
            .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "argocd-repo-server")
            .expect("the patched repo-server");
        assert_eq!(deployment["metadata"]["namespace"], "argocd");
        container(deployment, "argocd-repo-server");
        let sidecar = container(deployment, "syncgate");
        assert_eq!(sidecar["securityContext"]["runAsUser"], 999, "{component}");
        let volumes: Vec<&str> = deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .filter_map(|v| v["name"].as_str())
            .collect();
        for volume in ["var-files", "plugins", "tmp", "syncgate-plugin", "syncgate-policies", "syncgate-token"] {
            assert!(volumes.contains(&volume), "{component}: volume {volume} in {volumes:?}");
        }
        files.push(write(dir.path(), &format!("render-{component}.yaml"), &rendered));
    }
    let (report, line) = assert_passes(&files);
    println!("{line}");
    assert_eq!(count(&report, "argocd-repo-server", "runAsNonRoot", "pass"), 2, "both patched Deployments checked");
}

// ----- the two sidecar variants and the Helm values agree -----

#[test]
fn sidecar_variants_and_helm_values_agree() {
    let cmp = yaml(CMP_PATCH);
    let daemon = yaml(DAEMON_PATCH);
    let values = yaml("plugin-manifests/argocd/values-argo-cd.yaml");
    let helm = values["repoServer"]["extraContainers"]
        .as_array()
        .expect("repoServer.extraContainers")
        .iter()
        .find(|c| c["name"] == "syncgate")
        .expect("syncgate in repoServer.extraContainers");
    let sidecar = container(&cmp, "syncgate");
    let served = container(&daemon, "syncgate");

    assert_eq!(strings(&sidecar["command"]), ["/var/run/argocd/argocd-cmp-server"]);
    assert_eq!(strings(&helm["command"]), ["/var/run/argocd/argocd-cmp-server"]);
    assert_eq!(strings(&served["command"])[..2], ["/usr/local/bin/syncgate", "serve"]);
    for c in [sidecar, served, helm] {
        assert_eq!(c["image"], "ghcr.io/syncgate/syncgate:0.1.0");
        let security = &c["securityContext"];
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(security["runAsUser"], 999);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
        assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(c["resources"][kind][resource].is_string(), "resources.{kind}.{resource} is set");
            }
        }
        assert_eq!(env(c, "SYNCGATE_POLICY_DIR").as_deref(), Some("/etc/syncgate/policies"));
        assert_eq!(env(c, "SYNCGATE_CACHE_DIR").as_deref(), Some("/var/cache/syncgate"));
        assert_eq!(env(c, "SYNCGATE_DEADLINE").as_deref(), Some("40"));
        assert_eq!(env(c, "SYNCGATE_PROJECTS_FROM_CLUSTER").as_deref(), Some("true"), "projects are checked");
        let mounts = mount_paths(c);
        for path in [
            "/home/argocd/cmp-server/plugins",
            "/home/argocd/cmp-server/config/plugin.yaml",
            "/etc/syncgate/policies/default",
            "/etc/syncgate/projects",
            "/tmp",
            "/var/cache/syncgate",
            "/var/run/secrets/kubernetes.io/serviceaccount",
        ] {
            assert!(mounts.contains(&path), "{} mounts {path}: {mounts:?}", c["name"]);
        }
    }
    // Only the argocd-cmp-server variants need the copied binary.
    assert!(mount_paths(sidecar).contains(&"/var/run/argocd"));
    assert!(mount_paths(helm).contains(&"/var/run/argocd"));
    // The daemon is probed over HTTP on its metrics port.
    assert_eq!(served["ports"][0]["containerPort"], 9464);
    assert_eq!(served["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(served["readinessProbe"]["httpGet"]["path"], "/readyz");

    // The chart's CMP ConfigMap holds the same plugin as plugin.yaml.
    let plugin = yaml("plugin-manifests/argocd/plugin.yaml");
    let chart = &values["configs"]["cmp"]["plugins"]["syncgate"];
    assert_eq!(values["configs"]["cmp"]["create"], true);
    for field in ["version", "generate", "preserveFileMode"] {
        assert_eq!(chart[field], plugin["spec"][field], "configs.cmp.plugins.syncgate.{field}");
    }
    let defaults = |spec: &Value| -> Vec<(String, Value)> {
        spec["parameters"]["static"]
            .as_array()
            .expect("static parameters")
            .iter()
            .map(|p| (p["name"].as_str().unwrap_or_default().to_owned(), p["string"].clone()))
            .collect()
    };
    assert_eq!(defaults(chart), defaults(&plugin["spec"]));
    // The sidecar's mounted plugin file is the chart's key <name>.yaml.
    let plugin_mount = helm["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml")
        .unwrap();
    assert_eq!(plugin_mount["subPath"], "syncgate.yaml");
}

// ----- the shipped policy set and the example's policies -----

#[test]
fn policies_configmap_holds_a_loadable_policy_set() {
    let documents = yaml_documents("plugin-manifests/argocd/policies-configmap.yaml");
    assert_eq!(documents.len(), 1);
    let configmap = &documents[0];
    assert_eq!(configmap["kind"], "ConfigMap");
    assert_eq!(configmap["metadata"]["name"], "syncgate-policies");
    let data = configmap["data"].as_object().expect("data");
    for key in ["workload.yaml", "images.yaml", "trusted_root.json"] {
        assert!(data.contains_key(key), "key {key}");
    }
    // Mounted as a directory: one file per key.
    let dir = tempfile::tempdir().expect("temp dir");
    let set = dir.path().join("default");
    std::fs::create_dir(&set).unwrap();
    for (key, text) in data {
        write(&set, key, text.as_str().expect("string data"));
    }
    let resource = write(
        dir.path(),
        "api.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop}\nspec:\n  containers:\n    - {name: api, image: ghcr.io/acme/api:1.4.2}\n",
    );
    let (out, report) = check_json(&[resource], &set);
    assert_eq!(out.code, 1, "loads, and an unpinned acme image is denied offline\n{}\n{}", out.stdout, out.stderr);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "error")
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in ["image-signature", "require-image-digest", "runAsNonRoot", "allowPrivilegeEscalation"] {
        assert!(rules.contains(&rule), "{rule} denies: {rules:?}");
    }
    assert!(out.stdout.contains("acme-github-actions"), "{}", out.stdout);
}

/// A copy of examples/argocd/policies with a fresh key at the path images.yaml names, as the demo
/// makes it. Returns the temp dir and the policy set directory.
fn example_policies() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let set = dir.path().join("policies/default");
    std::fs::create_dir_all(&set).expect("policy dir");
    for file in ["workload.yaml", "images.yaml"] {
        std::fs::copy(root().join("examples/argocd/policies/default").join(file), set.join(file)).expect("copy policy");
    }
    std::fs::create_dir(dir.path().join("keys")).expect("key dir");
    let key = KeyPair::generate(Algorithm::EcdsaP256).expect("key");
    write(&dir.path().join("keys"), "cosign.pub", &key.public_pem());
    (dir, set)
}

/// Resource × rule pairs that did not pass (`fail` or `error`), as `Kind/ns/name rule`.
fn denials(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "error")
        .map(|f| {
            let r = &f["resource"];
            format!(
                "{}/{}/{} {} {}",
                r["kind"].as_str().unwrap_or_default(),
                r["namespace"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default(),
                f["status"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn example_privileged_app_is_denied_by_disallow_privileged() {
    let (_keep, set) = example_policies();
    let (out, report) = check_json(&[PathBuf::from("examples/argocd/apps/privileged")], &set);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(report["decision"], "deny");
    let denied = denials(&report);
    for expected in [
        "Deployment/team-a/api disallow-privileged fail",
        "Deployment/team-a/api privileged fail",
        "Deployment/team-a/api allowPrivilegeEscalation fail",
    ] {
        assert!(denied.iter().any(|d| d == expected), "{expected} in {denied:#?}");
    }
}

#[test]
fn example_allowed_app_fails_offline_only_for_what_the_registry_provides() {
    // Offline nothing is pinned or verified; everything else about the workload passes.
    let (_keep, set) = example_policies();
    let files = [
        PathBuf::from("examples/argocd/apps/allowed/deployment.yaml"),
        PathBuf::from("examples/argocd/apps/allowed/service.yaml"),
    ];
    let (out, report) = check_json(&files, &set);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        denials(&report),
        ["Deployment/team-a/api image-signature error", "Deployment/team-a/api require-image-digest fail"],
        "{}",
        out.stdout
    );
}
