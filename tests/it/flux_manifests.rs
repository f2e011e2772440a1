//! The Flux installation manifests (`plugin-manifests/flux`): every Kubernetes object passes the
//! restricted check policy (the files as written always; their `kubectl kustomize` renders when
//! kubectl is on PATH), `crd.yaml` is what `flux-controller --print-crd` prints, the Deployment
//! passes only flags the controller has, the RBAC grants exactly what the controller needs, the
//! example wires a Kustomization to the artifact its VerifiedSource publishes, and the admission
//! policies name the fields, URL and user they claim to and decide sample requests as intended
//! (their CEL evaluated with the `cel` crate). Offline: no registry, no cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{root, run, syncgate, write};
use crate::plugin_manifests::{check_json, container, count, kubectl, kustomize, strings, yaml, yaml_documents};

const DIR: &str = "plugin-manifests/flux";
const CHECK_POLICY: &str = "plugin-manifests/flux/check-policy.yaml";
const DEPLOYMENT: &str = "plugin-manifests/flux/deployment.yaml";
const RBAC: &str = "plugin-manifests/flux/rbac.yaml";
const EA_VAP: &str = "plugin-manifests/flux/vap-externalartifact-writer.yaml";
const KS_VAP: &str = "plugin-manifests/flux/vap-kustomization-no-rewrite.yaml";

/// Every file of plugin-manifests/flux that holds Kubernetes objects. Not here: the kustomization
/// files and check-policy.yaml.
const RAW_FILES: &[&str] = &[
    "plugin-manifests/flux/crd.yaml",
    RBAC,
    "plugin-manifests/flux/policies-configmap.yaml",
    DEPLOYMENT,
    "plugin-manifests/flux/service.yaml",
    "plugin-manifests/flux/networkpolicy.yaml",
    EA_VAP,
    KS_VAP,
    "plugin-manifests/flux/example/gitrepository.yaml",
    "plugin-manifests/flux/example/verifiedsource.yaml",
    "plugin-manifests/flux/example/flux-kustomization.yaml",
];

/// The kustomize directories, each rendering offline.
const KUSTOMIZATIONS: &[&str] = &["plugin-manifests/flux", "plugin-manifests/flux/example"];

/// The controller's ServiceAccount, as admission sees its requests.
const CONTROLLER_USER: &str = "system:serviceaccount:flux-system:syncgate";

// ----- helpers -----

/// Asserts an allowed run with no failure, warning or error against the Flux check policy; returns
/// the report and a summary line.
fn assert_passes(files: &[PathBuf]) -> (Value, String) {
    let (out, report) = check_json(files, Path::new(CHECK_POLICY));
    let summary = &report["summary"];
    assert_eq!(out.code, 0, "exit 0 expected for {files:?}\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(report["decision"], "allow", "{}", out.stdout);
    for status in ["fail", "error", "warn"] {
        assert_eq!(summary[status], 0, "{status} 0 expected for {files:?}: {summary}\n{}", out.stdout);
    }
    let line = format!("checked {} files: exit {}, {summary}", files.len(), out.code);
    (report, line)
}

/// The one document of `documents` with this kind (and name, when given).
fn find<'a>(documents: &'a [Value], kind: &str, name: Option<&str>) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind && name.is_none_or(|n| d["metadata"]["name"] == n))
        .ok_or_else(|| format!("no {kind} {name:?}"))
        .expect("the document")
}

/// `syncgate flux-controller --help`.
fn controller_help() -> String {
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(syncgate(home.path()).args(["flux-controller", "--help"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// The long flags a `--help` text lists.
fn long_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=') {
        if let Some(name) = word.strip_prefix("--")
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

/// Every CEL expression of a ValidatingAdmissionPolicy: variables, match conditions, validations
/// and message expressions, with where each one sits.
fn cel_expressions(policy: &Value) -> Vec<(String, String)> {
    let spec = &policy["spec"];
    let mut out = Vec::new();
    for (list, field) in [("variables", "expression"), ("matchConditions", "expression"), ("validations", "expression")]
    {
        for (i, item) in spec[list].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            let expression = item[field].as_str().unwrap_or_default().to_owned();
            out.push((format!("{list}[{i}].{field}"), expression));
            if let Some(message) = item["messageExpression"].as_str() {
                out.push((format!("{list}[{i}].messageExpression"), message.to_owned()));
            }
        }
    }
    out
}

/// A structural check of one CEL expression: not empty, brackets balanced outside string literals,
/// string literals closed.
fn assert_well_formed(place: &str, expression: &str) {
    assert!(!expression.trim().is_empty(), "{place} is empty");
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expression.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = stack.pop();
                let expected = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                assert_eq!(open, Some(expected), "{place}: unbalanced {c:?} in {expression}");
            }
            _ => {}
        }
    }
    assert!(quote.is_none(), "{place}: unterminated string literal in {expression}");
    assert!(stack.is_empty(), "{place}: unclosed {stack:?} in {expression}");
    assert!(!expression.contains("&&&") && !expression.contains("|||"), "{place}: {expression}");
}

/// The `validations[].expression` that mentions `needle`.
fn validation_with<'a>(policy: &'a Value, needle: &str) -> &'a Value {
    policy["spec"]["validations"]
        .as_array()
        .expect("validations")
        .iter()
        .find(|v| v["expression"].as_str().is_some_and(|e| e.contains(needle)))
        .ok_or_else(|| format!("no validation mentions {needle}"))
        .expect("the validation")
}

// ----- every object passes the restricted check policy -----

#[test]
fn flux_raw_manifests_pass_the_restricted_check_policy() {
    let files: Vec<PathBuf> = RAW_FILES.iter().map(PathBuf::from).collect();
    for file in &files {
        assert!(root().join(file).is_file(), "{} exists", file.display());
    }
    let (report, line) = assert_passes(&files);
    println!("{line}");
    // The Deployment was evaluated as a workload: the restricted profile and the requests rule ran.
    for rule in [
        "runAsNonRoot",
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "seccompProfile_restricted",
        "restrictedVolumes",
        "require-resource-requests",
        "require-read-only-root-filesystem",
    ] {
        assert_eq!(count(&report, "syncgate", rule, "pass"), 1, "{rule} passes on Deployment syncgate");
    }
}

#[test]
fn flux_kustomize_renders_pass_the_restricted_check_policy() {
    let Some(kubectl) = kubectl() else {
        println!(
            "skipped: kubectl not found (the raw files are checked by flux_raw_manifests_pass_the_restricted_check_policy)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (i, kustomization) in KUSTOMIZATIONS.iter().enumerate() {
        let rendered = kustomize(&kubectl, Path::new(kustomization));
        let documents: Vec<Value> = serde_saphyr::from_multiple(&rendered).expect("rendered YAML");
        for document in &documents {
            let kind = document["kind"].as_str().unwrap_or_default();
            let namespace = &document["metadata"]["namespace"];
            let cluster_scoped = [
                "CustomResourceDefinition",
                "ClusterRole",
                "ClusterRoleBinding",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
            ]
            .contains(&kind);
            if cluster_scoped {
                assert!(namespace.is_null(), "{kind} is cluster-scoped and has no namespace: {document}");
            } else {
                assert_eq!(namespace, "flux-system", "{kind} {} in flux-system", document["metadata"]["name"]);
            }
        }
        files.push(write(dir.path(), &format!("render-{i}.yaml"), &rendered));
    }
    let (report, line) = assert_passes(&files);
    println!("{line}");
    assert_eq!(count(&report, "syncgate", "runAsNonRoot", "pass"), 1, "the rendered Deployment was checked");

    // The base lists every raw file of the directory.
    let base = kustomize(&kubectl, Path::new(DIR));
    let rendered: Vec<Value> = serde_saphyr::from_multiple(&base).expect("rendered YAML");
    let mut expected = 0;
    for file in RAW_FILES.iter().filter(|f| !f.contains("/example/")) {
        expected += yaml_documents(file).len();
    }
    assert_eq!(rendered.len(), expected, "kustomization.yaml lists every file");
}

// ----- the CRD is generated -----

#[test]
fn flux_crd_is_what_print_crd_prints() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(syncgate(home.path()).args(["flux-controller", "--print-crd"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = std::fs::read_to_string(root().join(DIR).join("crd.yaml")).expect("crd.yaml");
    assert!(
        file == out.stdout,
        "plugin-manifests/flux/crd.yaml is out of date: regenerate it with\n  cargo run -- flux-controller --print-crd > plugin-manifests/flux/crd.yaml"
    );
}

// ----- the Deployment -----

#[test]
fn flux_deployment_passes_only_flags_the_controller_lists() {
    let help = controller_help();
    let known = long_flags(&help);
    for flag in ["--storage-path", "--storage-adv-addr", "--policy-dir", "--metrics-addr"] {
        assert!(known.contains(flag), "{flag} in --help: {known:?}");
    }
    let deployment = yaml(DEPLOYMENT);
    let manager = container(&deployment, "manager");
    let args = strings(&manager["args"]);
    assert_eq!(args.first(), Some(&"flux-controller"), "{args:?}");
    assert!(manager.get("command").is_none(), "the image's entrypoint is syncgate");
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap_or_default();
        assert!(arg.starts_with("--"), "{arg}: flags only, as --flag=value");
        assert!(known.contains(flag), "{flag} is not a flag of `syncgate flux-controller`:\n{help}");
    }
    let value = |flag: &str| {
        args.iter().find_map(|a| a.strip_prefix(&format!("{flag}="))).unwrap_or_else(|| panic!("{flag} set"))
    };
    assert_eq!(value("--storage-path"), "/data");
    assert_eq!(value("--storage-addr"), "0.0.0.0:9090");
    assert_eq!(value("--metrics-addr"), "0.0.0.0:9464");
    assert_eq!(value("--policy-dir"), "/etc/syncgate/policies");
    assert_eq!(value("--events-addr"), "http://notification-controller.flux-system.svc.cluster.local./");
    assert!(args.contains(&"--no-cross-namespace-refs"));

    // The advertised address is the Service, with Flux's trailing dot.
    let service = yaml("plugin-manifests/flux/service.yaml");
    let adv = value("--storage-adv-addr");
    assert_eq!(adv, format!("{}.{}.svc.cluster.local.", service["metadata"]["name"].as_str().unwrap(), "flux-system"));
    assert_eq!(service["spec"]["ports"][0]["port"], 80);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(service["spec"]["ports"][0]["name"], "http");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, v) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[key], v, "the Service selects the pods by {key}");
    }

    // Ports, probes, environment.
    let ports: Vec<(String, i64)> = manager["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or_default().to_owned(), p["containerPort"].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(ports, [("http".to_owned(), 9090), ("http-prom".to_owned(), 9464)]);
    assert_eq!(manager["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(manager["readinessProbe"]["httpGet"]["port"], "http-prom");
    assert_eq!(manager["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(manager["livenessProbe"]["httpGet"]["port"], "http-prom");
    let pod_namespace = manager["env"].as_array().expect("env").iter().find(|e| e["name"] == "POD_NAMESPACE");
    assert_eq!(pod_namespace.expect("POD_NAMESPACE")["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace");

    // The image's user and a restricted container.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("\nUSER 999:999\n"), "the image runs as 999");
    let security = &manager["securityContext"];
    assert_eq!(manager["image"], "ghcr.io/syncgate/syncgate:0.1.0");
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 999);
    assert_eq!(security["runAsGroup"], 999);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(manager["resources"][kind][resource].is_string(), "resources.{kind}.{resource} is set");
        }
    }

    // Volumes: bounded emptyDirs, the policy set, the projected token.
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "syncgate");
    assert_eq!(pod["automountServiceAccountToken"], false);
    let volume = |name: &str| {
        pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == name).cloned().expect("volume")
    };
    for name in ["data", "tmp", "cache"] {
        assert!(volume(name)["emptyDir"]["sizeLimit"].is_string(), "{name} has a sizeLimit");
    }
    assert_eq!(volume("policies-default")["configMap"]["name"], "syncgate-policies");
    assert!(volume("token")["projected"]["sources"][0]["serviceAccountToken"].is_object());
    let mounts: Vec<(&str, &str)> = manager["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .map(|m| (m["name"].as_str().unwrap_or_default(), m["mountPath"].as_str().unwrap_or_default()))
        .collect();
    for mount in [
        ("data", "/data"),
        ("tmp", "/tmp"),
        ("cache", "/var/cache/syncgate"),
        ("policies-default", "/etc/syncgate/policies/default"),
        ("token", "/var/run/secrets/kubernetes.io/serviceaccount"),
    ] {
        assert!(mounts.contains(&mount), "{mount:?} in {mounts:?}");
    }
}

// ----- RBAC -----

#[test]
fn flux_rbac_grants_exactly_the_controller_verbs() {
    let documents = yaml_documents(RBAC);
    // (apiGroup, resource, verb) triples a role grants, refusing wildcards and unexpected fields.
    let grants = |role: &Value| -> BTreeSet<(String, String, String)> {
        let mut out = BTreeSet::new();
        for rule in role["rules"].as_array().expect("rules") {
            assert!(rule.get("nonResourceURLs").is_none(), "{rule}");
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        for value in [group, resource, verb] {
                            assert!(!value.contains('*'), "no wildcard: {rule}");
                        }
                        out.insert((group.to_owned(), resource.to_owned(), verb.to_owned()));
                    }
                }
            }
        }
        out
    };
    let triples = |list: &[(&str, &str, &[&str])]| -> BTreeSet<(String, String, String)> {
        list.iter()
            .flat_map(|(g, r, verbs)| verbs.iter().map(move |v| ((*g).to_owned(), (*r).to_owned(), (*v).to_owned())))
            .collect()
    };
    let read: &[&str] = &["get", "list", "watch"];
    let cluster = triples(&[
        ("syncgate.dev", "verifiedsources", read),
        ("syncgate.dev", "verifiedsources/status", &["patch"]),
        ("syncgate.dev", "verifiedsources/finalizers", &["update"]),
        ("source.toolkit.fluxcd.io", "gitrepositories", read),
        ("source.toolkit.fluxcd.io", "ocirepositories", read),
        ("source.toolkit.fluxcd.io", "buckets", read),
        (
            "source.toolkit.fluxcd.io",
            "externalartifacts",
            &["create", "patch", "update", "get", "list", "watch", "delete"],
        ),
        ("source.toolkit.fluxcd.io", "externalartifacts/status", &["patch"]),
        ("", "events", &["create", "patch"]),
        ("events.k8s.io", "events", &["create", "patch"]),
    ]);
    let cluster_role = find(&documents, "ClusterRole", None);
    assert_eq!(grants(cluster_role), cluster, "ClusterRole {}", cluster_role["metadata"]["name"]);
    let role = find(&documents, "Role", None);
    assert_eq!(grants(role), triples(&[("coordination.k8s.io", "leases", &["get", "create", "update"])]));
    assert_eq!(role["metadata"]["namespace"], "flux-system");
    // get and update only on the controller's own Lease.
    let deployment = yaml(DEPLOYMENT);
    let args = strings(&container(&deployment, "manager")["args"]).join(" ");
    let help = controller_help();
    let lease = if let Some(id) = args.split(' ').find_map(|a| a.strip_prefix("--leader-election-id=")) {
        id.to_owned()
    } else {
        assert!(help.contains("[default: syncgate-flux-controller]"), "{help}");
        "syncgate-flux-controller".to_owned()
    };
    for rule in role["rules"].as_array().unwrap() {
        if strings(&rule["verbs"]).iter().any(|v| *v != "create") {
            assert_eq!(strings(&rule["resourceNames"]), [lease.as_str()], "{rule}");
        }
    }

    // Both bindings name their role and the controller's ServiceAccount.
    let account = find(&documents, "ServiceAccount", Some("syncgate"));
    assert_eq!(account["metadata"]["namespace"], "flux-system");
    assert_eq!(account["automountServiceAccountToken"], false);
    for (binding, role) in [("ClusterRoleBinding", cluster_role), ("RoleBinding", role)] {
        let binding = find(&documents, binding, None);
        assert_eq!(binding["roleRef"]["kind"], role["kind"]);
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        let subjects = binding["subjects"].as_array().expect("subjects");
        assert_eq!(subjects.len(), 1, "{binding}");
        assert_eq!(subjects[0]["kind"], "ServiceAccount");
        assert_eq!(subjects[0]["name"], "syncgate");
        assert_eq!(subjects[0]["namespace"], "flux-system");
    }
    assert_eq!(
        CONTROLLER_USER,
        format!(
            "system:serviceaccount:{}:{}",
            account["metadata"]["namespace"].as_str().unwrap(),
            account["metadata"]["name"].as_str().unwrap()
        )
    );
}

// ----- the example -----

#[test]
fn flux_example_kustomization_applies_the_artifact_the_verified_source_publishes() {
    let git = yaml("plugin-manifests/flux/example/gitrepository.yaml");
    let source = yaml("plugin-manifests/flux/example/verifiedsource.yaml");
    let kustomization = yaml("plugin-manifests/flux/example/flux-kustomization.yaml");
    assert_eq!(git["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(source["apiVersion"], "syncgate.dev/v1alpha1");
    assert_eq!(source["kind"], "VerifiedSource");
    assert_eq!(kustomization["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(kustomization["kind"], "Kustomization");

    // The VerifiedSource reads the GitRepository, in its own namespace (--no-cross-namespace-refs).
    let reference = &source["spec"]["sourceRef"];
    assert_eq!(reference["kind"], git["kind"]);
    assert_eq!(reference["name"], git["metadata"]["name"]);
    let namespace = &source["metadata"]["namespace"];
    assert!(reference.get("namespace").is_none_or(|n| n == namespace));
    assert_eq!(&git["metadata"]["namespace"], namespace);

    // The Kustomization applies what the VerifiedSource publishes: spec.artifactName, defaulting to
    // the VerifiedSource's name, in the VerifiedSource's namespace.
    let published = source["spec"]["artifactName"].as_str().or(source["metadata"]["name"].as_str()).unwrap();
    assert_eq!(published, "api-verified");
    let spec = &kustomization["spec"];
    assert_eq!(spec["sourceRef"]["kind"], "ExternalArtifact");
    assert_eq!(spec["sourceRef"]["name"], published);
    assert!(spec["sourceRef"].get("namespace").is_none_or(|n| n == namespace));
    assert_eq!(&kustomization["metadata"]["namespace"], namespace);
    assert_eq!(spec["path"], "./");
    assert_eq!(spec["prune"], true);
    for field in ["images", "patches", "postBuild"] {
        assert!(spec.get(field).is_none(), "the no-rewrite policy refuses spec.{field}");
    }

    // The VerifiedSource fits the CRD: known spec fields, and the policy set exists.
    let crd = yaml("plugin-manifests/flux/crd.yaml");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for key in source["spec"].as_object().expect("spec").keys() {
        assert!(schema.get(key).is_some(), "spec.{key} is a VerifiedSource field");
    }
    let kinds = strings(&schema["sourceRef"]["properties"]["kind"]["enum"]);
    assert!(kinds.contains(&git["kind"].as_str().unwrap()), "{kinds:?}");
    let policy = source["spec"]["policy"].as_str().unwrap_or("default");
    let deployment = yaml(DEPLOYMENT);
    let mounts = container(&deployment, "manager")["volumeMounts"].clone();
    let mounted = format!("/etc/syncgate/policies/{policy}");
    assert!(mounts.as_array().unwrap().iter().any(|m| m["mountPath"] == mounted.as_str()), "{mounted} is mounted");
}

// ----- the policy set -----

#[test]
fn flux_policies_configmap_equals_the_argocd_set_and_loads() {
    let flux = yaml("plugin-manifests/flux/policies-configmap.yaml");
    let argocd = yaml("plugin-manifests/argocd/policies-configmap.yaml");
    assert_eq!(flux["metadata"]["name"], "syncgate-policies");
    assert_eq!(flux["metadata"]["namespace"], "flux-system");
    assert!(flux["data"] == argocd["data"], "the Flux and Argo CD `default` sets have the same data");
    // Mounted as a directory, it is a policy set `syncgate check` loads.
    let dir = tempfile::tempdir().expect("temp dir");
    let set = dir.path().join("default");
    std::fs::create_dir(&set).expect("set dir");
    for (key, text) in flux["data"].as_object().expect("data") {
        write(&set, key, text.as_str().expect("string data"));
    }
    let resource = write(
        dir.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop}\nspec:\n  containers:\n    - {name: api, image: ghcr.io/acme/api:1.4.2}\n",
    );
    let (out, report) = check_json(&[resource], &set);
    assert_eq!(out.code, 1, "loads, and denies an unpinned, unsigned pod offline\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(report["decision"], "deny");
}

// ----- the admission policies -----

#[test]
fn flux_externalartifact_vap_names_the_controller_and_its_urls() {
    let documents = yaml_documents(EA_VAP);
    let policy = find(&documents, "ValidatingAdmissionPolicy", None);
    let binding = find(&documents, "ValidatingAdmissionPolicyBinding", None);
    assert_eq!(policy["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(binding["spec"]["policyName"], policy["metadata"]["name"]);
    assert_eq!(strings(&binding["spec"]["validationActions"]), ["Deny"]);
    assert_eq!(policy["spec"]["failurePolicy"], "Fail");

    // Status writes come through the status subresource: both resources are matched.
    let rules = policy["spec"]["matchConstraints"]["resourceRules"].as_array().expect("resourceRules");
    assert_eq!(rules.len(), 1);
    assert_eq!(strings(&rules[0]["apiGroups"]), ["source.toolkit.fluxcd.io"]);
    assert_eq!(strings(&rules[0]["resources"]), ["externalartifacts", "externalartifacts/status"]);
    assert_eq!(strings(&rules[0]["operations"]), ["CREATE", "UPDATE"]);

    // The user and URL prefix are the controller's ServiceAccount and advertised address.
    let deployment = yaml(DEPLOYMENT);
    let args = strings(&container(&deployment, "manager")["args"]);
    let adv = args.iter().find_map(|a| a.strip_prefix("--storage-adv-addr=")).expect("--storage-adv-addr");
    let variables = policy["spec"]["variables"].as_array().expect("variables");
    let variable = |name: &str| {
        variables.iter().find(|v| v["name"] == name).and_then(|v| v["expression"].as_str()).expect("variable")
    };
    assert_eq!(variable("syncgateUrl"), format!("'http://{adv}/'"));
    assert_eq!(variable("syncgate"), format!("'{CONTROLLER_USER}'"));

    for (place, expression) in cel_expressions(policy) {
        assert_well_formed(&place, &expression);
    }
    let claims = variable("isSyncgates");
    for field in [
        "object.spec.sourceRef.kind == 'VerifiedSource'",
        "object.status.artifact.url.startsWith(variables.syncgateUrl)",
    ] {
        assert!(claims.contains(field), "isSyncgates checks {field}");
    }
    assert!(
        variable("wasSyncgates").contains("oldObject.status.artifact.url"),
        "updates are judged by the old object too"
    );
    let validation = validation_with(policy, "request.userInfo.username");
    assert!(validation["expression"].as_str().unwrap().contains("request.userInfo.username == variables.syncgate"));
    let message = validation["message"].as_str().expect("message");
    for needed in [CONTROLLER_USER, "VerifiedSource", "http://syncgate.flux-system.svc.cluster.local./"] {
        assert!(message.contains(needed), "the message names {needed}: {message}");
    }
    assert!(validation["messageExpression"].as_str().unwrap().contains("request.userInfo.username"));
}

#[test]
fn flux_kustomization_vap_refuses_images_patches_and_post_build() {
    let documents = yaml_documents(KS_VAP);
    let policy = find(&documents, "ValidatingAdmissionPolicy", None);
    let binding = find(&documents, "ValidatingAdmissionPolicyBinding", None);
    assert_eq!(policy["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(binding["spec"]["policyName"], policy["metadata"]["name"]);
    assert_eq!(strings(&binding["spec"]["validationActions"]), ["Deny"]);
    let rules = policy["spec"]["matchConstraints"]["resourceRules"].as_array().expect("resourceRules");
    assert_eq!(strings(&rules[0]["apiGroups"]), ["kustomize.toolkit.fluxcd.io"]);
    assert_eq!(strings(&rules[0]["resources"]), ["kustomizations"]);

    for (place, expression) in cel_expressions(policy) {
        assert_well_formed(&place, &expression);
    }
    let conditions = policy["spec"]["matchConditions"].as_array().expect("matchConditions");
    assert!(
        conditions
            .iter()
            .any(|c| c["expression"].as_str().unwrap().contains("object.spec.sourceRef.kind == 'ExternalArtifact'")),
        "only Kustomizations applying an ExternalArtifact"
    );
    for field in ["images", "patches", "postBuild"] {
        let validation = validation_with(policy, &format!("object.spec.{field}"));
        let message = validation["message"].as_str().expect("message");
        assert!(message.contains(&format!("spec.{field}")), "{message}");
        assert!(message.contains("Remove"), "the message says what to do: {message}");
        assert!(message.contains("digest") || message.contains("syncgate checked"), "and why: {message}");
        assert_eq!(validation["reason"], "Forbidden");
    }
}

// ----- the admission policies, evaluated -----

/// What a ValidatingAdmissionPolicy decides for one request, evaluated with the `cel` crate as the
/// API server would once the request matched `matchConstraints`: every match condition must hold,
/// then each validation; a failed validation contributes its `messageExpression` (else `message`).
#[derive(Debug, PartialEq)]
enum Admission {
    NotMatched,
    Allowed,
    Denied(Vec<String>),
}

/// Evaluates one expression of `policy` with `object`, `oldObject`, `request` and the variables so
/// far.
fn evaluate(expression: &str, bindings: &[(&str, &Value)]) -> cel::Value {
    let program =
        cel::Program::compile(expression).map_err(|e| format!("{expression}: {e}")).expect("the expression parses");
    let mut context = cel::Context::default();
    for (name, value) in bindings {
        context.add_variable(*name, (*value).clone()).map_err(|e| format!("{name}: {e}")).expect("a variable");
    }
    program.execute(&context).map_err(|e| format!("{expression}: {e}")).expect("the expression evaluates")
}

fn admit(policy: &Value, username: &str, object: &Value, old_object: &Value) -> Admission {
    let operation = if old_object.is_null() { "CREATE" } else { "UPDATE" };
    let request = serde_json::json!({
        "operation": operation,
        "namespace": object["metadata"]["namespace"],
        "name": object["metadata"]["name"],
        "userInfo": {"username": username},
    });
    let spec = &policy["spec"];
    let mut variables = serde_json::Map::new();
    let bool_of = |value: cel::Value, place: &str| {
        match value {
            cel::Value::Bool(b) => Some(b),
            _ => None,
        }
        .ok_or_else(|| format!("{place} is not a bool"))
        .expect("a bool")
    };
    for variable in spec["variables"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let vars = Value::Object(variables.clone());
        let bindings = [("object", object), ("oldObject", old_object), ("request", &request), ("variables", &vars)];
        let value = evaluate(variable["expression"].as_str().expect("expression"), &bindings);
        let json = value.json().map_err(|e| format!("{e:?}")).expect("a JSON value");
        variables.insert(variable["name"].as_str().expect("name").to_owned(), json);
    }
    let vars = Value::Object(variables);
    let bindings = [("object", object), ("oldObject", old_object), ("request", &request), ("variables", &vars)];
    for condition in spec["matchConditions"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = condition["name"].as_str().unwrap_or_default();
        if !bool_of(evaluate(condition["expression"].as_str().expect("expression"), &bindings), name) {
            return Admission::NotMatched;
        }
    }
    let mut messages = Vec::new();
    for validation in spec["validations"].as_array().expect("validations") {
        let expression = validation["expression"].as_str().expect("expression");
        if !bool_of(evaluate(expression, &bindings), expression) {
            let message = match validation["messageExpression"].as_str() {
                Some(m) => match evaluate(m, &bindings) {
                    cel::Value::String(s) => Some(s.to_string()),
                    _ => None,
                }
                .ok_or_else(|| format!("{m} is not a string"))
                .expect("a string message"),
                None => validation["message"].as_str().unwrap_or_default().to_owned(),
            };
            messages.push(message);
        }
    }
    if messages.is_empty() { Admission::Allowed } else { Admission::Denied(messages) }
}

fn external_artifact(source_kind: Option<&str>, url: Option<&str>) -> Value {
    let mut ea = serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {"name": "api-verified", "namespace": "flux-system"},
    });
    if let Some(kind) = source_kind {
        ea["spec"] =
            serde_json::json!({"sourceRef": {"apiVersion": "syncgate.dev/v1alpha1", "kind": kind, "name": "api"}});
    }
    if let Some(url) = url {
        ea["status"] = serde_json::json!({"artifact": {
            "digest": "sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52",
            "lastUpdateTime": "2025-08-21T13:37:31Z",
            "path": "flux-system/api/35d47c9d.tar.gz",
            "revision": "main@sha1:5f1c0e2d9a7b3c4e8f6a1b2c3d4e5f6a7b8c9d0e@sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52",
            "url": url,
        }});
    }
    ea
}

#[test]
fn flux_externalartifact_vap_cel_lets_only_syncgate_write_its_artifacts() {
    let documents = yaml_documents(EA_VAP);
    let policy = find(&documents, "ValidatingAdmissionPolicy", None);
    let ours = "http://syncgate.flux-system.svc.cluster.local./flux-system/api/35d47c9d.tar.gz";
    let elsewhere = "http://evil.example.com/api.tar.gz";
    let other = "system:serviceaccount:team-a:deployer";
    let none = Value::Null;

    let published = external_artifact(Some("VerifiedSource"), Some(ours));
    let created = external_artifact(Some("VerifiedSource"), None);
    assert_eq!(admit(policy, CONTROLLER_USER, &created, &none), Admission::Allowed, "syncgate creates");
    assert_eq!(admit(policy, CONTROLLER_USER, &published, &created), Admission::Allowed, "syncgate sets status");

    let Admission::Denied(messages) = admit(policy, other, &created, &none) else {
        panic!("another user creating a VerifiedSource artifact is denied");
    };
    assert_eq!(messages.len(), 1);
    for needed in ["ExternalArtifact flux-system/api-verified", CONTROLLER_USER, other, "change the VerifiedSource"] {
        assert!(messages[0].contains(needed), "{needed} in {}", messages[0]);
    }
    // Pointing syncgate's artifact elsewhere, through the status subresource.
    let hijacked = external_artifact(Some("VerifiedSource"), Some(elsewhere));
    assert!(matches!(admit(policy, other, &hijacked, &published), Admission::Denied(_)));
    // Taking it over by changing its sourceRef first.
    let renamed = external_artifact(Some("ArtifactGenerator"), Some(ours));
    assert!(matches!(admit(policy, other, &renamed, &published), Admission::Denied(_)));
    // Taking over one syncgate created but has not published yet: only the old object says whose
    // it is.
    let unclaimed = external_artifact(Some("ArtifactGenerator"), None);
    assert!(matches!(admit(policy, other, &unclaimed, &created), Admission::Denied(_)));
    // Claiming syncgate's server for another producer's artifact.
    let foreign = external_artifact(Some("ArtifactGenerator"), Some(elsewhere));
    let claimed = external_artifact(Some("ArtifactGenerator"), Some(ours));
    assert!(matches!(admit(policy, other, &claimed, &foreign), Admission::Denied(_)));

    // Metadata-only updates stay open (labels, finalizers, the garbage collector).
    let mut labelled = published.clone();
    labelled["metadata"]["labels"] = serde_json::json!({"team": "a"});
    assert_eq!(admit(policy, other, &labelled, &published), Admission::Allowed);
    // Other producers' artifacts are not syncgate's business, with or without a spec.
    assert_eq!(admit(policy, other, &foreign, &none), Admission::Allowed);
    let moved = external_artifact(
        Some("ArtifactGenerator"),
        Some("http://source-watcher.flux-system.svc.cluster.local./b.tar.gz"),
    );
    assert_eq!(admit(policy, other, &moved, &foreign), Admission::Allowed);
    assert_eq!(admit(policy, other, &external_artifact(None, None), &none), Admission::Allowed);
}

fn kustomization(source_kind: &str, extra: &Value) -> Value {
    let mut spec = serde_json::json!({
        "interval": "10m",
        "sourceRef": {"kind": source_kind, "name": "api-verified"},
        "path": "./",
        "prune": true,
    });
    for (key, value) in extra.as_object().expect("an object") {
        spec[key] = value.clone();
    }
    serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "api", "namespace": "flux-system"},
        "spec": spec,
    })
}

#[test]
fn flux_kustomization_vap_cel_refuses_rewrites_of_external_artifacts() {
    let documents = yaml_documents(KS_VAP);
    let policy = find(&documents, "ValidatingAdmissionPolicy", None);
    let user = "system:serviceaccount:team-a:deployer";
    let none = Value::Null;
    let clean = kustomization("ExternalArtifact", &serde_json::json!({}));
    assert_eq!(admit(policy, user, &clean, &none), Admission::Allowed);
    assert_eq!(
        admit(policy, user, &kustomization("ExternalArtifact", &serde_json::json!({"images": []})), &none),
        Admission::Allowed
    );

    let images = kustomization(
        "ExternalArtifact",
        &serde_json::json!({"images": [{"name": "ghcr.io/acme/api", "newTag": "1.5"}]}),
    );
    let Admission::Denied(messages) = admit(policy, user, &images, &none) else { panic!("spec.images is refused") };
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with("Kustomization flux-system/api applies ExternalArtifact api-verified: spec.images"),
        "{}",
        messages[0]
    );

    let rewrites = kustomization(
        "ExternalArtifact",
        &serde_json::json!({
            "patches": [{"patch": "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: evil", "target": {"kind": "Deployment"}}],
            "postBuild": {"substitute": {"tag": "latest"}},
        }),
    );
    let Admission::Denied(messages) = admit(policy, user, &rewrites, &none) else {
        panic!("patches and postBuild are refused")
    };
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("spec.patches") && messages[1].contains("spec.postBuild"), "{messages:?}");

    // Other sources are not matched; neither are updates that leave the spec alone.
    assert_eq!(
        admit(policy, user, &kustomization("GitRepository", &serde_json::json!({"images": [{"name": "x"}]})), &none),
        Admission::NotMatched
    );
    let mut annotated = rewrites.clone();
    annotated["metadata"]["annotations"] = serde_json::json!({"reconcile.fluxcd.io/requestedAt": "now"});
    assert_eq!(admit(policy, user, &annotated, &rewrites), Admission::NotMatched);
    let mut suspended = rewrites.clone();
    suspended["spec"]["suspend"] = Value::Bool(true);
    assert!(matches!(admit(policy, user, &suspended, &rewrites), Admission::Denied(_)));
}
