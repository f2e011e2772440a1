//! `evaluate`: the pure function from a policy set and workloads to raw verdicts (pass, fail, error,
//! skip). It never looks at modes' consequences or exceptions; [`super::decide`] does that after.

use super::document::{PolicySet, WorkloadPolicy};
use super::pss;
use super::rules::{self, RuleId, Violation};
use super::workload::Workload;
use crate::manifest::{Address, FieldPath};
use crate::report::{Finding, Mode, ResourceId, Status};

/// What an exception needs to know about a finding beyond the finding itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Effective service account of the pod template, when there is one.
    pub service_account: Option<String>,
    /// The images the finding concerns: one container's, or every image of the resource for
    /// pod-level findings.
    pub images: Vec<String>,
}

/// A raw verdict: a finding whose status is `pass`, `fail`, `error` or `skip`, before mode and
/// exceptions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The finding (status not yet final).
    pub finding: Finding,
    /// What exceptions match against.
    pub scope: Scope,
    /// Sort key: position in the stream, then rule, then field path.
    pub order: (Address, String, FieldPath, String),
}

/// Evaluates every workload against every policy. Pure and deterministic: verdicts are sorted by
/// stream position, rule id, field path and policy name.
#[must_use]
pub fn evaluate(set: &PolicySet, workloads: &[Workload<'_>]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for workload in workloads {
        if workload.pod.is_none() && workload.images.is_empty() {
            continue;
        }
        let (namespace, kind, name) = (
            workload.id.namespace.as_deref().unwrap_or_default(),
            workload.id.kind.as_str(),
            workload.id.name.as_str(),
        );
        for policy in set.policies.iter().filter(|p| p.applies_to(namespace, kind, name)) {
            evaluate_policy(policy, workload, &mut out);
        }
    }
    out.sort_by(|a, b| a.order.cmp(&b.order));
    out
}

struct Emit<'p, 'w, 'a> {
    policy: &'p WorkloadPolicy,
    workload: &'w Workload<'a>,
    all_images: Vec<String>,
    service_account: Option<String>,
}

impl Emit<'_, '_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn verdict(
        &self,
        rule: &str,
        status: Status,
        mode: Mode,
        container: Option<String>,
        image: Option<String>,
        path: Option<FieldPath>,
        message: String,
        fix: Option<String>,
    ) -> Verdict {
        let images = match (&image, &container) {
            (Some(i), _) => vec![i.clone()],
            (None, Some(c)) => self
                .workload
                .images
                .iter()
                .filter(|s| s.container.as_deref() == Some(c.as_str()))
                .map(|s| s.image.clone())
                .collect(),
            (None, None) => self.all_images.clone(),
        };
        let location = self.workload.location(path.as_ref().unwrap_or(&FieldPath::root()));
        let order = (self.workload.resource.address, rule.to_owned(), path.clone().unwrap_or_default(), self.policy.name.clone());
        Verdict {
            finding: Finding {
                rule: rule.to_owned(),
                status,
                mode,
                resource: self.workload.id.clone(),
                container,
                image,
                path: path.map(|p| p.to_string()),
                message,
                fix,
                policy: Some(self.policy.name.clone()),
                exception: None,
                location: Some(location),
            },
            scope: Scope { service_account: self.service_account.clone(), images },
            order,
        }
    }
}

fn evaluate_policy(policy: &WorkloadPolicy, workload: &Workload<'_>, out: &mut Vec<Verdict>) {
    let emit = Emit {
        policy,
        workload,
        all_images: workload.images.iter().map(|s| s.image.clone()).collect(),
        service_account: workload.pod.as_ref().map(|p| p.service_account().to_owned()),
    };
    let id: &ResourceId = &workload.id;
    if let Some((level, version, label)) = &policy.profile {
        for check in pss::checks_for(*level, *version) {
            let mode = policy.check_modes.get(check).copied().unwrap_or(policy.mode);
            let Some(pod) = workload.pod.as_ref() else {
                let message = "skipped: the resource has no pod template".to_owned();
                out.push(emit.verdict(check, Status::Skip, mode, None, None, None, message, None));
                continue;
            };
            let outcome = pss::evaluate(*level, *version, &pod.metadata, &pod.spec).into_iter().find(|o| o.check == check);
            let help = pss::CHECKS.iter().find(|c| c.id == check).map(|c| c.help);
            match outcome.and_then(|o| o.violation) {
                None => out.push(emit.verdict(
                    check,
                    Status::Pass,
                    mode,
                    None,
                    None,
                    None,
                    format!("satisfies Pod Security Standards {level}:{label} check {check}"),
                    None,
                )),
                Some(v) => {
                    for site in v.sites {
                        let path = pod.template_path.join(&FieldPath::parse(&site.path));
                        let message = format!(
                            "violates PodSecurity \"{level}:{label}\": {} ({}); found {}, required {}",
                            v.reason, site.detail, site.found, site.required
                        );
                        let fix = help.map(|h| format!("{h} Or request a PolicyException for rule {check} matching {id}."));
                        out.push(emit.verdict(check, Status::Fail, mode, site.container.clone(), None, Some(path), message, fix));
                    }
                }
            }
        }
    }
    for entry in &policy.rules {
        let rule = entry.id;
        let applicable = match rule {
            RuleId::RequireImageDigest | RuleId::DisallowLatestTag | RuleId::AllowedRegistries => {
                !workload.images.is_empty()
            }
            _ => workload.pod.is_some(),
        };
        if !applicable {
            let message = "skipped: the resource has no pod template".to_owned();
            out.push(emit.verdict(rule.as_str(), Status::Skip, entry.mode, None, None, None, message, None));
            continue;
        }
        let violations = rules::check(rule, &entry.settings, workload);
        if violations.is_empty() {
            let message = format!("satisfies {rule}: {}", rule.info().summary.to_lowercase());
            out.push(emit.verdict(rule.as_str(), Status::Pass, entry.mode, None, None, None, message, None));
        }
        for Violation { container, image, path, message, fix, undecidable } in violations {
            let status = if undecidable { Status::Error } else { Status::Fail };
            let fix = format!("{fix}; or request a PolicyException for rule {rule} matching {id}");
            out.push(emit.verdict(rule.as_str(), status, entry.mode, container, image, Some(path), message, Some(fix)));
        }
    }
}
