//! The JSON report (`--output json`): the machine-readable contract from DESIGN.md.
//! Owns the byte layout only (pretty, two-space indent, trailing newline); field names and order come from
//! the serde derives on the report types. Passes are streamed out as findings, never materialised.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::Serializer;

use super::{Decision, ExceptionUse, Report, Summary};

#[derive(Serialize)]
struct Contract<'a> {
    decision: Decision,
    findings: AllFindings<'a>,
    exceptions: &'a [ExceptionUse],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    evidence: &'a [crate::verify::evidence::Evidence],
    summary: Summary,
}

/// Serialises every finding (passes included) as one sequence without collecting them.
struct AllFindings<'a>(&'a Report);

impl Serialize for AllFindings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.all_findings())
    }
}

/// Writes `report` as pretty-printed JSON (two-space indent) followed by a newline.
///
/// Field order is the declaration order of the report types, so the output is stable across runs.
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let contract = Contract {
        decision: report.decision,
        findings: AllFindings(report),
        exceptions: &report.exceptions,
        evidence: &report.evidence,
        summary: report.summary,
    };
    let mut buffered = io::BufWriter::new(&mut *out);
    serde_json::to_writer_pretty(&mut buffered, &contract)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// A realistic report shared by the golden tests of every writer.
#[cfg(test)]
pub(super) mod sample {
    use crate::report::{
        AppliedException, ExceptionState, ExceptionUse, Finding, Mode, Report, ResourceId, RuleInfo, SourceLocation,
        Status,
    };

    fn resource(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ResourceId {
        ResourceId {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    fn at(file: Option<&str>, document: usize, line: u32) -> SourceLocation {
        SourceLocation { file: file.map(str::to_owned), document, line: Some(line) }
    }

    /// A finding for `rule` on `resource` with everything optional left empty.
    pub(in crate::report) fn finding(rule: &str, status: Status, resource: &ResourceId, message: &str) -> Finding {
        Finding {
            rule: rule.to_owned(),
            status,
            mode: Mode::Enforce,
            resource: resource.clone(),
            container: None,
            image: None,
            path: None,
            message: message.to_owned(),
            fix: None,
            policy: Some("production-baseline".to_owned()),
            exception: None,
            location: None,
        }
    }

    fn pass(rule: &str, resource: &ResourceId, file: Option<&str>, document: usize, line: u32) -> Finding {
        Finding { location: Some(at(file, document, line)), ..finding(rule, Status::Pass, resource, "satisfied") }
    }

    /// Six resources over four files and stdin: passes, two enforced failures on one Deployment, a warning
    /// from report mode, a warning covered by an exception, a failure an expired exception no longer covers,
    /// an invalid image reference (error), a ConfigMap the workload rules skip, and a Pod read from stdin.
    #[expect(clippy::too_many_lines, reason = "one literal sample, read top to bottom")]
    pub(in crate::report) fn report() -> Report {
        let frontend = resource("apps/v1", "Deployment", Some("web"), "frontend");
        let api = resource("apps/v1", "Deployment", Some("web"), "api");
        let cilium = resource("apps/v1", "DaemonSet", Some("kube-system"), "cilium");
        let nightly = resource("batch/v1", "CronJob", Some("batch"), "nightly-report");
        let settings = resource("v1", "ConfigMap", Some("web"), "frontend-settings");
        let debug = resource("v1", "Pod", None, "debug-shell");

        let frontend_file = Some("deploy/web/frontend.yaml");
        let api_file = Some("deploy/web/api.yaml");
        let cilium_file = Some("deploy/system/cilium.yaml");
        let batch_file = Some("deploy/batch/cronjobs.yaml");

        let findings = vec![
            pass("allowed-registries", &frontend, frontend_file, 0, 21),
            pass("disallow-privileged", &frontend, frontend_file, 0, 19),
            pass("require-resource-requests", &frontend, frontend_file, 0, 19),
            pass("runAsNonRoot", &frontend, frontend_file, 0, 16),
            Finding {
                container: Some("nginx-proxy".to_owned()),
                image: Some("docker.io/library/nginx:1.27".to_owned()),
                path: Some("spec.template.spec.containers[1].image".to_owned()),
                fix: Some(
                    "mirror the image into ghcr.io/acme/ and reference it from there, or add its registry \
                     to allowed-registries in policy production-baseline"
                        .to_owned(),
                ),
                location: Some(at(api_file, 0, 38)),
                ..finding(
                    "allowed-registries",
                    Status::Fail,
                    &api,
                    "image \"docker.io/library/nginx:1.27\" comes from docker.io, which is not an allowed \
                     registry (allowed: ghcr.io/acme/, registry.k8s.io/)",
                )
            },
            Finding {
                container: Some("api".to_owned()),
                path: Some("spec.template.spec.containers[0].securityContext.privileged".to_owned()),
                fix: Some("remove securityContext.privileged from container \"api\" or set it to false".to_owned()),
                location: Some(at(api_file, 0, 31)),
                ..finding(
                    "disallow-privileged",
                    Status::Fail,
                    &api,
                    "container \"api\" sets securityContext.privileged: true; privileged containers are not allowed",
                )
            },
            Finding {
                mode: Mode::Report,
                container: Some("nginx-proxy".to_owned()),
                path: Some("spec.template.spec.containers[1].resources.requests".to_owned()),
                fix: Some(
                    "set resources.requests.cpu and resources.requests.memory on container \"nginx-proxy\"".to_owned(),
                ),
                location: Some(at(api_file, 0, 37)),
                ..finding(
                    "require-resource-requests",
                    Status::Warn,
                    &api,
                    "container \"nginx-proxy\" sets no resources.requests; the scheduler cannot place it reliably",
                )
            },
            pass("runAsNonRoot", &api, api_file, 0, 17),
            Finding {
                container: Some("cilium-agent".to_owned()),
                path: Some("spec.template.spec.volumes[0].hostPath".to_owned()),
                fix: Some("use a persistentVolumeClaim, configMap or emptyDir volume instead of hostPath".to_owned()),
                exception: Some(AppliedException {
                    name: "cilium-host-access".to_owned(),
                    reason: "CNI needs host networking".to_owned(),
                    expires: "2027-03-01T00:00:00Z".to_owned(),
                }),
                location: Some(at(cilium_file, 0, 52)),
                ..finding(
                    "disallow-host-path",
                    Status::Warn,
                    &cilium,
                    "volume \"bpf-maps\" mounts hostPath /sys/fs/bpf; hostPath volumes are not allowed",
                )
            },
            pass("disallow-privileged", &cilium, cilium_file, 0, 30),
            pass("require-resource-requests", &cilium, cilium_file, 0, 30),
            Finding {
                container: Some("report".to_owned()),
                path: Some("spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged".to_owned()),
                fix: Some("remove securityContext.privileged from container \"report\" or set it to false".to_owned()),
                location: Some(at(batch_file, 1, 58)),
                ..finding(
                    "disallow-privileged",
                    Status::Fail,
                    &nightly,
                    "container \"report\" sets securityContext.privileged: true; privileged containers are not allowed",
                )
            },
            Finding {
                container: Some("report".to_owned()),
                image: Some("registry.acme.internal:5000/tools/report:".to_owned()),
                path: Some("spec.jobTemplate.spec.template.spec.containers[0].image".to_owned()),
                fix: Some(
                    "write the image as registry.acme.internal:5000/tools/report:<tag> or pin it with \
                     @sha256:<digest>"
                        .to_owned(),
                ),
                location: Some(at(batch_file, 1, 55)),
                ..finding(
                    "require-image-digest",
                    Status::Error,
                    &nightly,
                    "image reference \"registry.acme.internal:5000/tools/report:\" is invalid: the tag after ':' is empty",
                )
            },
            pass("runAsNonRoot", &nightly, batch_file, 1, 50),
            Finding {
                location: Some(at(frontend_file, 1, 1)),
                ..finding("disallow-privileged", Status::Skip, &settings, "ConfigMap has no pod template")
            },
            Finding {
                location: Some(at(frontend_file, 1, 1)),
                ..finding("runAsNonRoot", Status::Skip, &settings, "ConfigMap has no pod template")
            },
            pass("disallow-privileged", &debug, None, 0, 7),
            Finding {
                container: Some("shell".to_owned()),
                path: Some("spec.containers[0].securityContext.runAsNonRoot".to_owned()),
                fix: Some("set securityContext.runAsNonRoot: true on the pod or on container \"shell\"".to_owned()),
                location: Some(at(None, 0, 9)),
                ..finding(
                    "runAsNonRoot",
                    Status::Fail,
                    &debug,
                    "container \"shell\" must set securityContext.runAsNonRoot: true (Pod Security Standards, \
                     restricted)",
                )
            },
        ];

        Report::from_findings(
            findings,
            vec![
                ExceptionUse {
                    name: "cilium-host-access".to_owned(),
                    state: ExceptionState::Applied,
                    expires: "2027-03-01T00:00:00Z".to_owned(),
                    matched: 1,
                },
                ExceptionUse {
                    name: "legacy-batch-privileged".to_owned(),
                    state: ExceptionState::Expired,
                    expires: "2026-01-01T00:00:00Z".to_owned(),
                    matched: 1,
                },
                ExceptionUse {
                    name: "old-redis-root".to_owned(),
                    state: ExceptionState::Unused,
                    expires: "2026-12-31T00:00:00Z".to_owned(),
                    matched: 0,
                },
            ],
            6,
            6,
        )
    }

    /// Rule metadata for the rules in [`report`], plus one that no finding references.
    pub(in crate::report) const RULES: &[RuleInfo] = &[
        RuleInfo {
            id: "allowed-registries",
            summary: "Images must come from an allowed registry.",
            help: "Every image must start with one of the registry prefixes listed in the policy. Mirror the \
                   image into an allowed registry, or add the registry to `allowed-registries`.",
        },
        RuleInfo {
            id: "disallow-host-path",
            summary: "Pods must not mount hostPath volumes.",
            help: "hostPath volumes expose the node's filesystem to the pod. Use a persistentVolumeClaim, \
                   configMap or emptyDir instead, or request a `PolicyException` for node agents.",
        },
        RuleInfo {
            id: "disallow-host-ports",
            summary: "Containers must not bind host ports.",
            help: "Remove `hostPort` from every container port; expose the pod through a Service instead.",
        },
        RuleInfo {
            id: "disallow-privileged",
            summary: "Containers must not run privileged.",
            help: "A privileged container has every capability of the host. Remove \
                   `securityContext.privileged` or set it to `false`.",
        },
        RuleInfo {
            id: "require-image-digest",
            summary: "Images must be pinned to a verified digest.",
            help: "syncgate resolves each tag to a digest, verifies it and writes the digest back. The image \
                   reference must parse, and must resolve unless `--offline` is set.",
        },
        RuleInfo {
            id: "require-resource-requests",
            summary: "Containers must set CPU and memory requests.",
            help: "Without `resources.requests` the scheduler cannot place the pod reliably. Set \
                   `resources.requests.cpu` and `resources.requests.memory` on every container.",
        },
        RuleInfo {
            id: "runAsNonRoot",
            summary: "Containers must run as a non-root user (Pod Security Standards, restricted).",
            help: "Set `securityContext.runAsNonRoot: true` on the pod, or on every container, and make sure \
                   the image's user is not root.",
        },
    ];
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        write_json(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sample_report_matches_golden_file() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn output_parses_back_and_carries_the_contract_keys() {
        let value: Value = serde_json::from_str(&render(&sample::report())).unwrap();
        let top: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(top, ["decision", "findings", "exceptions", "summary"]);
        assert_eq!(value["decision"], "deny");

        let findings = value["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 18);
        for finding in findings {
            for key in ["rule", "status", "mode", "resource", "container", "path", "message", "exception"] {
                assert!(finding.get(key).is_some(), "finding lacks `{key}`: {finding}");
            }
            let resource: Vec<&str> = finding["resource"].as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(resource, ["apiVersion", "kind", "namespace", "name"]);
        }
        let summary: Vec<&str> = value["summary"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(summary, ["resources", "images", "pass", "fail", "warn", "skip", "error"]);
    }

    #[test]
    fn absent_container_path_and_exception_are_null_not_missing() {
        let value: Value = serde_json::from_str(&render(&sample::report())).unwrap();
        let first = &value["findings"][0];
        assert_eq!(first["container"], Value::Null);
        assert_eq!(first["path"], Value::Null);
        assert_eq!(first["exception"], Value::Null);
        assert!(first.get("fix").is_none());
        assert!(first.get("image").is_none());
    }

    #[test]
    fn empty_report_is_two_space_indented_with_trailing_newline() {
        let report = Report::from_findings(Vec::new(), Vec::new(), 0, 0);
        let json = render(&report);
        assert!(json.starts_with("{\n  \"decision\": \"allow\",\n  \"findings\": [],\n"));
        assert!(json.ends_with("}\n"));
    }
}
