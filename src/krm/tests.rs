use rstest::rstest;

use super::*;
use crate::manifest::Address;
use crate::report::{AppliedException, ResourceId, SourceLocation};

fn parse(text: &str) -> Result<ResourceList, KrmError> {
    ResourceList::parse(text.as_bytes(), &Limits::default())
}

const LIST: &str = r"apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: api
    annotations:
      config.kubernetes.io/index: '1'
      config.kubernetes.io/path: 'legacy.yaml'
      internal.config.kubernetes.io/index: '2'
      internal.config.kubernetes.io/path: 'apps/api.yaml'
  spec:
    template:
      spec:
        containers:
        - name: api
          image: ghcr.io/acme/api:1.4
          securityContext: {privileged: true}
- apiVersion: v1
  kind: Service
  metadata:
    name: api
    namespace: web
    annotations: {config.kubernetes.io/path: svc.yaml}
";

fn finding(status: Status, mode: Mode) -> Finding {
    Finding {
        rule: "disallow-privileged".into(),
        status,
        mode,
        resource: ResourceId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("default".into()),
            name: "api".into(),
        },
        container: Some("api".into()),
        image: None,
        path: Some("spec.template.spec.containers[0].securityContext.privileged".into()),
        message: "container \"api\": securityContext.privileged is true; required: false or unset".into(),
        fix: Some("remove securityContext.privileged".into()),
        policy: Some("baseline".into()),
        exception: None,
        location: Some(SourceLocation { file: None, document: 0, line: Some(19) }),
    }
}

fn report(findings: Vec<Finding>) -> Report {
    Report::from_findings(findings, Vec::new(), 2, 1)
}

#[rstest]
#[case::v1("config.kubernetes.io/v1")]
#[case::v1beta1("config.kubernetes.io/v1beta1")]
fn both_api_versions_are_read_and_written_back(#[case] api_version: &str) {
    let text = LIST.replace("config.kubernetes.io/v1\n", &format!("{api_version}\n"));
    let list = parse(&text).unwrap();
    assert_eq!(list.items.documents.len(), 2);
    assert!(list.emit(&[]).unwrap().starts_with(&format!("apiVersion: {api_version}\nkind: ResourceList\n")));
}

#[test]
fn json_is_read_and_yaml_written() {
    let json = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","annotations":{"config.kubernetes.io/index":"0"}},"data":{"n":"1"}}]}"#;
    let out = parse(json).unwrap().emit(&[]).unwrap();
    assert_eq!(
        out,
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    annotations:\n      config.kubernetes.io/index: \"0\"\n  data:\n    \"n\": \"1\"\n"
    );
}

#[rstest]
#[case::wrong_kind(
    "apiVersion: config.kubernetes.io/v1\nkind: List\nitems: []\n",
    "<stdin>:2: kind is \"List\", expected ResourceList"
)]
#[case::wrong_api_version(
    "apiVersion: v1\nkind: ResourceList\nitems: []\n",
    "<stdin>:1: unsupported apiVersion \"v1\" of a ResourceList, expected config.kubernetes.io/v1 or config.kubernetes.io/v1beta1"
)]
#[case::no_api_version(
    "kind: ResourceList\nitems: []\n",
    "<stdin>:1: not a ResourceList: no apiVersion (expected config.kubernetes.io/v1 or config.kubernetes.io/v1beta1)"
)]
#[case::items_not_a_list(
    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: 1}\n",
    "<stdin>:3: items must be a list of objects, found mapping"
)]
#[case::item_not_an_object(
    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- 42\n",
    "<stdin>:4: items[0] is a integer, not a Kubernetes object"
)]
#[case::not_a_mapping("- a\n- b\n", "<stdin>:1: expected a ResourceList mapping, found sequence")]
#[case::two_documents(
    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\n",
    "<stdin>: expected one ResourceList (config.kubernetes.io/v1 or config.kubernetes.io/v1beta1, kind ResourceList), found 2 documents"
)]
#[case::empty("", "found 0 documents")]
fn what_is_not_a_resource_list_is_refused_with_the_reason(#[case] text: &str, #[case] expected: &str) {
    let error = parse(text).unwrap_err().to_string();
    assert!(error.contains(expected), "{error}");
}

#[test]
fn missing_or_null_items_are_an_empty_list() {
    for text in [
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n",
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: null\n",
    ] {
        let list = parse(text).unwrap();
        assert!(list.items.documents.is_empty());
        assert_eq!(list.emit(&[]).unwrap(), "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n");
    }
}

fn config(text: &str) -> Result<FunctionConfig, KrmError> {
    parse(&format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{text}"))
        .unwrap()
        .config()
}

#[test]
fn a_config_map_sets_policies_mode_namespace_and_offline() {
    let got = config(
        "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: function-input}\n  data: {policy: 'policies, extra/p.yaml', mode: report, namespace: shop, offline: 'true'}\n",
    )
    .unwrap();
    assert_eq!(
        got,
        FunctionConfig::Settings(Settings {
            policy: vec![PathBuf::from("policies"), PathBuf::from("extra/p.yaml")],
            mode: Some(RunMode::ReportOnly),
            namespace: Some("shop".into()),
            offline: Some(true),
        })
    );
}

#[rstest]
#[case::unknown_key(
    "data: {policy: p, polcy: q}",
    "<stdin>:8: functionConfig: unknown key data.polcy (known: policy, mode, namespace, offline)"
)]
#[case::bad_mode(
    "data: {mode: audit}",
    "functionConfig: data.mode: unknown mode \"audit\", expected enforce or report"
)]
#[case::bad_offline(
    "data: {offline: 'yes'}",
    "functionConfig: data.offline: expected \"true\" or \"false\", found \"yes\""
)]
#[case::not_a_string("data: {namespace: [a]}", "functionConfig: data.namespace: must be a string, found sequence")]
fn a_bad_config_map_is_refused_naming_the_key(#[case] data: &str, #[case] expected: &str) {
    let error =
        config(&format!("  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: f}}\n  {data}\n")).unwrap_err();
    assert!(error.to_string().contains(expected), "{error}");
}

#[test]
fn a_policy_document_is_the_policy_set_and_other_kinds_are_refused() {
    let policy =
        config("  apiVersion: syncgate.dev/v1alpha1\n  kind: WorkloadPolicy\n  metadata: {name: p}\n  spec: {}\n");
    assert!(matches!(policy, Ok(FunctionConfig::Policy(_))), "{policy:?}");
    let error = config("  apiVersion: example.com/v1\n  kind: Widget\n  metadata: {name: w}\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "<stdin>:5: functionConfig: unsupported kind \"Widget\" (apiVersion \"example.com/v1\"): give a ConfigMap (data: policy, mode, namespace, offline) or a syncgate.dev/v1alpha1 policy document"
    );
    assert_eq!(config("  {}\n").unwrap(), FunctionConfig::Absent);
}

#[rstest]
#[case::fail_enforced_is_an_error(Status::Fail, Mode::Enforce, Some(Severity::Error))]
#[case::undecided_enforced_is_an_error(Status::Error, Mode::Enforce, Some(Severity::Error))]
#[case::undecided_in_report_mode_is_a_warning(Status::Error, Mode::Report, Some(Severity::Warning))]
#[case::warn_in_report_mode_is_a_warning(Status::Warn, Mode::Report, Some(Severity::Warning))]
#[case::warn_under_an_exception_is_a_warning(Status::Warn, Mode::Enforce, Some(Severity::Warning))]
#[case::skip_is_no_result(Status::Skip, Mode::Enforce, None)]
fn severity_follows_status_and_mode(#[case] status: Status, #[case] mode: Mode, #[case] expected: Option<Severity>) {
    let list = parse(LIST).unwrap();
    let results = results(&report(vec![finding(status, mode)]), &list.items, &[]);
    assert_eq!(results.first().map(|r| r.severity), expected);
    assert!(results.len() <= 1);
}

#[test]
fn a_finding_maps_to_every_result_field() {
    let list = parse(LIST).unwrap();
    let mut f = finding(Status::Warn, Mode::Enforce);
    f.exception =
        Some(AppliedException { name: "legacy".into(), reason: "r".into(), expires: "2030-01-01T00:00:00Z".into() });
    let got = results(&report(vec![f]), &list.items, &[]);
    assert_eq!(
        got,
        [KrmResult {
            message: "container \"api\": securityContext.privileged is true; required: false or unset; fix: remove securityContext.privileged".into(),
            severity: Severity::Warning,
            // The namespace as written (none), not the default the finding was evaluated in.
            resource_ref: Some(ResourceRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "api".into(),
                namespace: None
            }),
            field: Some(ResultField {
                path: "spec.template.spec.containers[0].securityContext.privileged".into(),
                current_value: Some(Node::new(Value::Bool(true))),
                proposed_value: None,
            }),
            // The internal annotations win over the legacy ones.
            file: Some(ResultFile { path: "apps/api.yaml".into(), index: Some(2) }),
            tags: [
                ("container", "api"),
                ("exception", "legacy"),
                ("mode", "enforce"),
                ("policy", "baseline"),
                ("rule", "disallow-privileged"),
                ("status", "warn")
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }]
    );
}

#[test]
fn an_image_finding_proposes_the_pinned_reference_and_legacy_annotations_name_the_file() {
    let list = parse(LIST).unwrap();
    let mut image = finding(Status::Fail, Mode::Enforce);
    image.rule = "image-signature".into();
    image.image = Some("ghcr.io/acme/api:1.4".into());
    image.path = Some("spec.template.spec.containers[0].image".into());
    image.fix = None;
    let mut service = finding(Status::Fail, Mode::Enforce);
    service.resource = ResourceId {
        api_version: "v1".into(),
        kind: "Service".into(),
        namespace: Some("web".into()),
        name: "api".into(),
    };
    service.path = None;
    service.location = Some(SourceLocation { file: None, document: 1, line: None });
    let pinned = "ghcr.io/acme/api:1.4@sha256:".to_owned() + &"a".repeat(64);
    let rewrites = [ImageRewrite {
        address: Address { document: 0, item: None },
        path: FieldPath::parse("spec.template.spec.containers[0].image"),
        image: pinned.clone(),
    }];
    let got = results(&report(vec![image, service]), &list.items, &rewrites);
    assert_eq!(
        got[0].field,
        Some(ResultField {
            path: "spec.template.spec.containers[0].image".into(),
            current_value: Some(Node::new(Value::String("ghcr.io/acme/api:1.4".into()))),
            proposed_value: Some(pinned),
        })
    );
    assert_eq!(got[0].message, finding(Status::Fail, Mode::Enforce).message);
    assert_eq!(got[1].file, Some(ResultFile { path: "svc.yaml".into(), index: None }));
    assert_eq!(got[1].resource_ref.as_ref().and_then(|r| r.namespace.as_deref()), Some("web"));
    assert_eq!(got[1].field, None);
}

#[test]
fn a_finding_about_no_item_keeps_its_own_resource() {
    let list = parse(LIST).unwrap();
    let mut source = finding(Status::Fail, Mode::Enforce);
    source.resource = ResourceId {
        api_version: "syncgate.dev/v1alpha1".into(),
        kind: "Source".into(),
        namespace: None,
        name: "https://example.com/repo".into(),
    };
    source.path = None;
    let got = results(&report(vec![source]), &list.items, &[]);
    assert_eq!(got[0].resource_ref.as_ref().map(|r| r.kind.as_str()), Some("Source"));
    assert_eq!(got[0].file, None);
}

#[test]
fn results_are_appended_after_those_the_list_came_with() {
    let text = format!("{LIST}results:\n- message: earlier\n  severity: info\n");
    let list = parse(&text).unwrap();
    let ours = results(&report(vec![finding(Status::Fail, Mode::Enforce)]), &list.items, &[]);
    let out = list.emit(&ours).unwrap();
    let tail = &out[out.find("results:\n").unwrap()..];
    assert!(tail.starts_with("results:\n- message: earlier\n  severity: info\n- message: "), "{tail}");
    assert_eq!(out.matches("results:").count(), 1, "{out}");
}

#[test]
fn items_round_trip_with_every_annotation_in_order() {
    let list = parse(LIST).unwrap();
    let out = list.emit(&[]).unwrap();
    let again = parse(&out).unwrap();
    assert_eq!(again.emit(&[]).unwrap(), out);
    let annotations = out.find("config.kubernetes.io/index: \"1\"").unwrap();
    let internal = out.find("internal.config.kubernetes.io/path: apps/api.yaml").unwrap();
    assert!(annotations < internal, "{out}");
    assert!(out.contains("internal.config.kubernetes.io/index: \"2\""), "{out}");
}
