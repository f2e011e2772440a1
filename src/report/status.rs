//! The one-paragraph status message a person sees where the gate is embedded: the Argo CD
//! Application condition (via the CMP's stderr), the gRPC response, Kubernetes Events. A denial
//! lists every denying finding on its own line with its fix; nothing else in it depends on layout.

use std::fmt::Write as _;

use super::text::Clean;
use super::{Decision, Finding, Report, Status};

/// Most violations listed before the rest are only counted (condition messages are read in a UI).
const MAX_LISTED: usize = 40;

/// `syncgate denied 2 of 14 resources: …` with one line per violation, or `syncgate allowed …`.
#[must_use]
pub fn status_message(report: &Report) -> String {
    let summary = &report.summary;
    let warnings = report.findings.iter().filter(|f| f.status == Status::Warn).count();
    let mut out = String::new();
    if report.decision == Decision::Allow {
        let _ = write!(out, "syncgate allowed {} resources", summary.resources);
        if warnings > 0 {
            let _ = write!(out, " with {warnings} warning{}", plural(warnings));
        }
        return out;
    }
    let denying: Vec<&Finding> = report.findings.iter().filter(|f| f.denies()).collect();
    // Source-level findings (the repository, a project that cannot be read) are about the
    // application, which is not one of the resources.
    let (source, resources): (Vec<_>, Vec<_>) = denying.iter().map(|f| &f.resource).partition(|r| is_source(r));
    let mut resources = resources;
    resources.sort();
    resources.dedup();
    match (source.first(), resources.len()) {
        (Some(application), 0) => {
            let name = match &application.namespace {
                Some(namespace) => format!("{namespace}/{}", application.name),
                None => application.name.clone(),
            };
            let _ = write!(out, "syncgate denied {} {}:", Clean(&application.kind), Clean(&name));
        }
        _ => {
            let _ = write!(out, "syncgate denied {} of {} resources:", resources.len(), summary.resources);
        }
    }
    for finding in denying.iter().take(MAX_LISTED) {
        out.push('\n');
        line(&mut out, finding);
    }
    if denying.len() > MAX_LISTED {
        let _ = write!(out, "\n… and {} more violations (syncgate check prints them all)", denying.len() - MAX_LISTED);
    }
    if warnings > 0 {
        let _ = write!(out, "\n({warnings} report-only warning{} not listed)", plural(warnings));
    }
    out
}

/// `Kind namespace/name container c: message [rule, at path]` then `  fix: …`.
fn line(out: &mut String, finding: &Finding) {
    let resource = &finding.resource;
    let _ = write!(out, "{} ", Clean(&resource.kind));
    if let Some(namespace) = &resource.namespace {
        let _ = write!(out, "{}/", Clean(namespace));
    }
    let _ = write!(out, "{}", Clean(&resource.name));
    if let Some(container) = &finding.container {
        let _ = write!(out, " container {}", Clean(container));
    }
    let undecided = if finding.status == Status::Error { "could not be decided: " } else { "" };
    // Messages of container rules start by naming the container, which the line already did.
    let message = finding
        .container
        .as_ref()
        .and_then(|c| finding.message.strip_prefix(&format!("container \"{c}\": ")))
        .unwrap_or(&finding.message);
    let _ = write!(out, ": {undecided}{} [{}", Clean(message), Clean(&finding.rule));
    if let Some(path) = &finding.path {
        let _ = write!(out, " at {}", Clean(path));
    }
    out.push(']');
    if let Some(fix) = &finding.fix {
        let _ = write!(out, "\n  fix: {}", Clean(fix));
    }
}

/// The application or source a stream came from, as tenancy findings name it.
fn is_source(resource: &super::ResourceId) -> bool {
    (resource.kind == "Application" && resource.api_version == crate::project::ARGO_API_VERSION)
        || (resource.kind == "Source" && resource.api_version == crate::project::TENANT_API_VERSION)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::sample;

    #[test]
    fn a_denial_lists_each_violation_with_its_fix() {
        let report = sample::report();
        let message = status_message(&report);
        assert!(message.starts_with("syncgate denied "), "{message}");
        for finding in report.findings.iter().filter(|f| f.denies()) {
            let text = finding.message.rsplit("\": ").next().unwrap_or_default();
            assert!(message.contains(text), "{message}");
            if let Some(fix) = &finding.fix {
                assert!(message.contains(&format!("  fix: {fix}")), "{message}");
            }
        }
        assert!(!message.contains('\u{1b}'));
    }

    fn project_finding(resource: crate::report::ResourceId, status: Status) -> Finding {
        Finding {
            rule: "project-source-repo".into(),
            status,
            mode: crate::report::Mode::Enforce,
            resource,
            container: None,
            image: None,
            path: None,
            message: "application repo https://github.com/acme/other is not permitted in AppProject team-a".into(),
            fix: Some("add the repository to AppProject team-a's sourceRepos".into()),
            policy: Some("AppProject team-a".into()),
            exception: None,
            location: None,
        }
    }

    #[test]
    fn a_denial_of_the_source_alone_names_the_application_not_a_resource_count() {
        let application = crate::report::ResourceId {
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Application".into(),
            namespace: Some("argocd".into()),
            name: "api".into(),
        };
        let report = Report::from_findings(vec![project_finding(application, Status::Fail)], Vec::new(), 3, 1);
        let message = status_message(&report);
        assert_eq!(
            message,
            "syncgate denied Application argocd/api:\nApplication argocd/api: application repo https://github.com/acme/other is not permitted in AppProject team-a [project-source-repo]\n  fix: add the repository to AppProject team-a's sourceRepos"
        );
    }

    #[test]
    fn an_allowed_stream_says_so_with_its_warnings() {
        let resource = crate::report::ResourceId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("web".into()),
            name: "api".into(),
        };
        let report = Report::from_findings(vec![project_finding(resource, Status::Warn)], Vec::new(), 2, 1);
        assert_eq!(status_message(&report), "syncgate allowed 2 resources with 1 warning");
    }
}
