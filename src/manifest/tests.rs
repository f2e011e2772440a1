//! Unit tests of the manifest stream: documents, lists, image sites, limits and bad input.

use std::fmt::Write as _;

use rstest::rstest;

use super::*;

fn stream(text: &str) -> Stream {
    Stream { documents: parse_bytes(text.as_bytes(), Some("in.yaml"), &Limits::default()).unwrap() }
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: web
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
        - name: sidecar
          image: envoyproxy/envoy:v1.30
";

#[test]
fn image_sites_cover_init_and_regular_containers_in_psa_order() {
    let s = stream(DEPLOYMENT);
    let resources = s.resources().unwrap();
    let sites = image_sites(&resources[0], &builtin_workload_kinds());
    let got: Vec<(Option<&str>, String, &str)> =
        sites.iter().map(|s| (s.container.as_deref(), s.path.to_string(), s.image.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some("init"), "spec.template.spec.initContainers[0].image".to_owned(), "busybox"),
            (Some("api"), "spec.template.spec.containers[0].image".to_owned(), "ghcr.io/acme/api:1.4.2"),
            (Some("sidecar"), "spec.template.spec.containers[1].image".to_owned(), "envoyproxy/envoy:v1.30"),
        ]
    );
}

#[rstest]
#[case::pod("Pod", "spec:\n  containers: [{name: c, image: x}]\n", "spec.containers[0].image")]
#[case::cronjob(
    "CronJob",
    "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: x}]\n",
    "spec.jobTemplate.spec.template.spec.containers[0].image"
)]
#[case::pod_template(
    "PodTemplate",
    "template:\n  spec:\n    ephemeralContainers: [{name: c, image: x}]\n",
    "template.spec.ephemeralContainers[0].image"
)]
#[case::daemonset(
    "DaemonSet",
    "spec:\n  template:\n    spec:\n      containers: [{name: c, image: x}]\n",
    "spec.template.spec.containers[0].image"
)]
#[case::replication_controller(
    "ReplicationController",
    "spec:\n  template:\n    spec:\n      containers: [{name: c, image: x}]\n",
    "spec.template.spec.containers[0].image"
)]
fn every_workload_kind_has_its_image_site(#[case] kind: &str, #[case] body: &str, #[case] path: &str) {
    let s = stream(&format!("apiVersion: v1\nkind: {kind}\nmetadata: {{name: app}}\n{body}"));
    let resources = s.resources().unwrap();
    let sites = image_sites(&resources[0], &builtin_workload_kinds());
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].path.to_string(), path);
}

#[test]
fn configured_kind_adds_crd_pod_template_and_image_paths() {
    let s = stream(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: a}]\n  steps: [{image: b}, {image: c}]\n",
    );
    let mut kinds = builtin_workload_kinds();
    kinds.push(WorkloadKind {
        api_version: Some("argoproj.io/v1alpha1".into()),
        kind: "Rollout".into(),
        pod_template: Some(FieldPath::parse("spec.template")),
        image_paths: vec!["spec.steps[*].image".into()],
    });
    let resources = s.resources().unwrap();
    let images: Vec<String> =
        image_sites(&resources[0], &kinds).into_iter().map(|s| format!("{}={}", s.path, s.image)).collect();
    assert_eq!(images, ["spec.template.spec.containers[0].image=a", "spec.steps[0].image=b", "spec.steps[1].image=c"]);
}

#[test]
fn lists_are_expanded_but_emitted_whole() {
    let s = stream(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
    );
    let resources = s.resources().unwrap();
    assert_eq!(resources.len(), 2);
    assert_eq!(resources[1].address, Address { document: 0, item: Some(1) });
    assert_eq!(resources[1].location(&FieldPath::parse("metadata.name")).line, Some(9));
    assert!(s.emit().unwrap().contains("kind: List"));
}

#[test]
fn json_input_is_accepted_and_emitted_as_yaml_in_key_order() {
    let s = stream(r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"},"data":{"z":"1","a":"2"}}"#);
    let out = s.emit().unwrap();
    assert_eq!(out, "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: c\ndata:\n  z: \"1\"\n  a: \"2\"\n");
}

#[test]
fn rewrite_changes_only_the_image() {
    let mut s = stream(DEPLOYMENT);
    let path = FieldPath::parse("spec.template.spec.containers[0].image");
    assert!(rewrite(&mut s, Address { document: 0, item: None }, &path, "ghcr.io/acme/api@sha256:00".into()));
    let out = s.emit().unwrap();
    assert!(out.contains("image: ghcr.io/acme/api@sha256:00"));
    assert!(out.contains("image: busybox"));
}

#[test]
fn document_order_is_kept_and_empty_documents_dropped() {
    let s = stream(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    let names: Vec<String> = s.resources().unwrap().iter().map(Resource::name).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(s.documents[1].index, 1);
}

#[rstest]
#[case::malformed("a: [1, 2\nb: c\n", "in.yaml:")]
#[case::duplicate_key("apiVersion: v1\napiVersion: v2\n", "duplicate")]
#[case::tab_indent("a:\n\t- b\n", "in.yaml:")]
fn malformed_yaml_is_a_syntax_error_with_file_and_line(#[case] text: &str, #[case] needle: &str) {
    let err = parse_bytes(text.as_bytes(), Some("in.yaml"), &Limits::default()).unwrap_err();
    assert!(matches!(err, ManifestError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains(needle), "{err}");
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        writeln!(text, "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]").unwrap();
    }
    let err = parse_str(&text, &Limits::default()).unwrap_err();
    assert!(matches!(err, ManifestError::Syntax { .. }), "{err:?}");
}

#[test]
fn input_over_the_limit_is_refused() {
    let limits = Limits { max_bytes: 10, ..Limits::default() };
    let err = parse_bytes(b"apiVersion: v1\nkind: X\n", None, &limits).unwrap_err();
    assert!(err.to_string().contains("larger than the limit of 10 bytes"), "{err}");
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse_str(&text, &Limits::default()).is_err());
}

#[rstest]
#[case::scalar("just a string\n", "not a Kubernetes object")]
#[case::sequence("- a\n- b\n", "is a sequence")]
#[case::no_kind("apiVersion: v1\nmetadata: {name: a}\n", "has no kind")]
#[case::no_name("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "neither metadata.name")]
#[case::name_not_string("apiVersion: v1\nkind: Pod\nmetadata: {name: [a]}\n", "metadata.name must be a string")]
#[case::items_not_sequence("apiVersion: v1\nkind: List\nitems: 3\n", "must be a sequence")]
fn non_objects_are_refused_with_location(#[case] text: &str, #[case] needle: &str) {
    let s = stream(text);
    let err = s.resources().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(needle), "{msg}");
    assert!(msg.starts_with("in.yaml"), "{msg}");
}

#[test]
fn invalid_utf8_is_refused() {
    let err = parse_bytes(b"a: \xff\n", None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ManifestError::NotUtf8 { offset: 3, .. }));
}

#[cfg(unix)]
#[test]
fn symlinked_directory_loop_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("a.yaml"), dir.path().join("b.yaml")).unwrap();
    let stream = load(&[dir.path().to_path_buf()], &Limits::default()).unwrap();
    assert_eq!(stream.documents.len(), 2, "a.yaml and the symlinked file b.yaml, not the loop");
}

#[test]
fn emitted_stream_parses_back_to_the_same_documents() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  script: |\n    #!/bin/sh\n    echo \"hi\"\n  long: ghcr.io/acme/api:1.4.2@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n  yes-like: 'yes'\n  number-like: '0755'\n---\napiVersion: v1\nkind: List\nitems: []\n";
    let s = stream(text);
    let out = s.emit().unwrap();
    assert!(out.contains("script: |"), "multi-line strings stay literal blocks:\n{out}");
    assert!(out.contains("long: ghcr.io/acme/api:1.4.2@sha256:"), "long strings stay plain:\n{out}");
    let again = Stream { documents: parse_bytes(out.as_bytes(), Some("in.yaml"), &Limits::default()).unwrap() };
    let strip = |s: &Stream| s.documents.iter().map(|d| d.root.to_json()).collect::<Vec<_>>();
    assert_eq!(strip(&again), strip(&s));
}
