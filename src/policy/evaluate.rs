//! `evaluate`: the pure function from a policy set and a workload to raw verdicts (pass, fail, error,
//! skip). It never looks at modes' consequences or exceptions; [`super::decide()`] does that after.

use std::sync::Arc;

use super::document::Pattern;
use super::document::{PolicySet, WorkloadPolicy};
use super::image::{ImagePolicy, NoMatch};
use super::pss;
use super::rules::{self, RuleId, Violation};
use super::workload::{Pin, Workload};
use crate::image::ImageRef;
use crate::manifest::{Address, FieldPath};
use crate::verify::check::{IMAGE_ATTESTATION, IMAGE_POLICY_MATCH, IMAGE_SIGNATURE};
use crate::verify::{ImageCheck, PolicyOutcome};
use std::borrow::Cow;

use crate::report::{Finding, Mode, Passed, ResourceId, Status};

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

/// The verdicts on one workload: compact passes, and every other verdict in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Rules the workload passed.
    pub passes: Vec<Passed>,
    /// Every failure, error and skip, sorted by rule id, field path and policy name.
    pub verdicts: Vec<Verdict>,
}

/// Evaluates one workload against every policy that selects it. Pure and deterministic.
#[must_use]
pub fn evaluate(set: &PolicySet, workload: &Workload<'_>) -> Evaluation {
    let mut out = Evaluation::default();
    if workload.pod.is_none() && workload.images.is_empty() {
        return out;
    }
    let (namespace, kind, name) =
        (workload.id.namespace.as_deref().unwrap_or_default(), workload.id.kind.as_str(), workload.id.name.as_str());
    for policy in set.policies.iter().filter(|p| p.applies_to(namespace, kind, name)) {
        evaluate_policy(policy, workload, &mut out);
    }
    evaluate_resolution(workload, &mut out);
    evaluate_signatures(set, workload, &mut out);
    out.verdicts.sort_by(|a, b| a.order.cmp(&b.order));
    out
}

struct Emit<'p, 'w, 'a> {
    /// The name of the policy the verdicts come from; `None` for verdicts of the gate itself (image
    /// resolution, images no `ImagePolicy` matches).
    policy: Option<&'p str>,
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
        let order = (
            self.workload.resource.address,
            rule.to_owned(),
            path.clone().unwrap_or_default(),
            self.policy.map(str::to_owned).unwrap_or_default(),
        );
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
                policy: self.policy.map(str::to_owned),
                exception: None,
                location: Some(location),
            },
            scope: Scope { service_account: self.service_account.clone(), images },
            order,
        }
    }
}

fn evaluate_policy(policy: &WorkloadPolicy, workload: &Workload<'_>, evaluation: &mut Evaluation) {
    let out = &mut evaluation.verdicts;
    let passes = &mut evaluation.passes;
    let emit = Emit {
        policy: Some(&policy.name),
        workload,
        all_images: workload.images.iter().map(|s| s.image.clone()).collect(),
        service_account: workload.pod.as_ref().map(|p| p.service_account().to_owned()),
    };
    let id: &ResourceId = &workload.id;
    if let Some((level, version, label)) = &policy.profile {
        let outcomes = workload.pod.as_ref().map(|pod| pss::evaluate(*level, *version, &pod.metadata, &pod.spec));
        for check in pss::checks_for(*level, *version) {
            let mode = policy.check_modes.get(check).copied().unwrap_or(policy.mode);
            let Some(pod) = workload.pod.as_ref() else {
                let message = "skipped: the resource has no pod template".to_owned();
                out.push(emit.verdict(check, Status::Skip, mode, None, None, None, message, None));
                continue;
            };
            let outcome = outcomes.iter().flatten().find(|o| o.check == check).cloned();
            let help = pss::CHECKS.iter().find(|c| c.id == check).map(|c| c.help);
            match outcome.and_then(|o| o.violation) {
                None => passes.push(Passed { rule: Cow::Borrowed(check), mode, policy: Some(policy.name.clone()) }),
                Some(v) => {
                    for site in v.sites {
                        let path = pod.template_path.join(&FieldPath::parse(&site.path));
                        let message = format!(
                            "violates PodSecurity \"{level}:{label}\": {} ({}); found {}, required {}",
                            v.reason, site.detail, site.found, site.required
                        );
                        let fix =
                            help.map(|h| format!("{h} Or request a PolicyException for rule {check} matching {id}."));
                        out.push(emit.verdict(
                            check,
                            Status::Fail,
                            mode,
                            site.container.clone(),
                            None,
                            Some(path),
                            message,
                            fix,
                        ));
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
            passes.push(Passed {
                rule: Cow::Borrowed(rule.as_str()),
                mode: entry.mode,
                policy: Some(policy.name.clone()),
            });
        }
        for Violation { container, image, path, message, fix, undecidable } in violations {
            let status = if undecidable { Status::Error } else { Status::Fail };
            let fix = format!("{fix}; or request a PolicyException for rule {rule} matching {id}");
            out.push(emit.verdict(rule.as_str(), status, entry.mode, container, image, Some(path), message, Some(fix)));
        }
    }
}

/// The rule id of the gate's own check that every image resolved (only when registries were asked).
pub const IMAGE_RESOLUTION: &str = "image-resolution";

/// Images the registry could not resolve cannot be pinned: each is an `error` that denies under
/// enforce, whatever the policies say, because the stream cannot be written back verified.
fn evaluate_resolution(workload: &Workload<'_>, evaluation: &mut Evaluation) {
    if workload.pins.iter().all(|p| *p == Pin::Offline) {
        return;
    }
    let emit = Emit {
        policy: None,
        workload,
        all_images: workload.images.iter().map(|s| s.image.clone()).collect(),
        service_account: workload.pod.as_ref().map(|p| p.service_account().to_owned()),
    };
    let mut failed = false;
    for (site, pin) in workload.images.iter().zip(&workload.pins) {
        let Pin::Failed(error) = pin else { continue };
        failed = true;
        let fix = "check that the tag exists, that the registry is reachable, and that syncgate has credentials for it \
                   (--registry-config, --pull-secret; --insecure-registry only for plain-HTTP registries)";
        evaluation.verdicts.push(emit.verdict(
            IMAGE_RESOLUTION,
            Status::Error,
            Mode::Enforce,
            site.container.clone(),
            Some(site.image.clone()),
            Some(site.path.clone()),
            format!("cannot pin the image: {error}"),
            Some(fix.to_owned()),
        ));
    }
    if !failed {
        evaluation.passes.push(Passed { rule: Cow::Borrowed(IMAGE_RESOLUTION), mode: Mode::Enforce, policy: None });
    }
}

/// Pinned images against their `ImagePolicy`s: a pass per satisfied policy, a verdict per refusal
/// (`error` when it could not be decided), the set's `noMatch` for images no policy matches, and an
/// `error` for images that could not be verified at all (offline). Images whose resolution failed
/// are left to [`IMAGE_RESOLUTION`].
fn evaluate_signatures(set: &PolicySet, workload: &Workload<'_>, evaluation: &mut Evaluation) {
    let Some(no_match) = set.no_match() else { return };
    let mut tally = Tally::default();
    for (index, site) in workload.images.iter().enumerate() {
        let at = SiteEmit {
            emit: Emit {
                policy: None,
                workload,
                all_images: workload.images.iter().map(|s| s.image.clone()).collect(),
                service_account: workload.pod.as_ref().map(|p| p.service_account().to_owned()),
            },
            site,
        };
        let pin = workload.pins.get(index).unwrap_or(&Pin::Offline);
        match (pin, workload.checks.get(index).and_then(Option::as_ref)) {
            (Pin::Failed(_), _) => {}
            (Pin::Offline, _) | (Pin::Pinned(_), None) => unverified(set, no_match, &at, &mut tally, evaluation),
            (Pin::Pinned(_), Some(ImageCheck::NoMatch(no_match))) => {
                unmatched(set, *no_match, &at, &mut tally, evaluation);
            }
            (Pin::Pinned(_), Some(ImageCheck::Checked(outcomes))) => {
                for outcome in outcomes {
                    checked(outcome, &at, &mut tally, evaluation);
                }
            }
        }
    }
    tally.passed.sort();
    tally.passed.dedup();
    for (rule, mode, policy) in tally.passed {
        let name = policy.as_deref().map(str::to_owned);
        if !tally.failed.iter().any(|(r, p)| *r == rule && *p == name) {
            evaluation.passes.push(Passed { rule: Cow::Borrowed(rule), mode, policy });
        }
    }
}

/// Signature rules passed and failed on one resource, so that a rule passes once per policy and
/// only if no image failed it.
#[derive(Default)]
struct Tally {
    passed: Vec<(&'static str, Mode, Option<Arc<str>>)>,
    failed: Vec<(&'static str, Option<String>)>,
}

/// Verdicts about one image field.
struct SiteEmit<'p, 'w, 'a> {
    emit: Emit<'p, 'w, 'a>,
    site: &'w crate::manifest::ImageSite,
}

impl SiteEmit<'_, '_, '_> {
    fn verdict(
        &self,
        rule: &str,
        status: Status,
        mode: Mode,
        policy: Option<&str>,
        message: String,
        fix: String,
    ) -> Verdict {
        let emit = Emit {
            policy,
            workload: self.emit.workload,
            all_images: self.emit.all_images.clone(),
            service_account: self.emit.service_account.clone(),
        };
        emit.verdict(
            rule,
            status,
            mode,
            self.site.container.clone(),
            Some(self.site.image.clone()),
            Some(self.site.path.clone()),
            message,
            Some(fix),
        )
    }
}

/// An image that was not pinned (offline) while `ImagePolicy`s exist: it cannot be verified.
fn unverified(set: &PolicySet, no_match: NoMatch, at: &SiteEmit<'_, '_, '_>, tally: &mut Tally, out: &mut Evaluation) {
    let image = &at.site.image;
    let matching: Vec<&ImagePolicy> =
        image.parse::<ImageRef>().map(|r| set.image_policies_for(image, &r)).unwrap_or_default();
    if matching.is_empty() && no_match == NoMatch::Allow {
        return;
    }
    let (mode, policy, names) = match matching.first() {
        Some(first) => (
            first.mode,
            Some(first.name.to_string()),
            matching.iter().map(|p| p.name.to_string()).collect::<Vec<_>>().join(", "),
        ),
        None => (no_match.mode(), None, format!("none matches it and noMatch is {no_match}; ImagePolicy")),
    };
    let id = &at.emit.workload.id;
    let message = format!(
        "cannot verify the signatures of {image}: the image was not pinned by a registry (offline run); \
         ImagePolicy {names} applies"
    );
    let fix = format!(
        "run without --offline so that syncgate can resolve and verify the image, or request a PolicyException \
         for rule {IMAGE_SIGNATURE} matching {id}"
    );
    tally.failed.push((IMAGE_SIGNATURE, policy.clone()));
    out.verdicts.push(at.verdict(IMAGE_SIGNATURE, Status::Error, mode, policy.as_deref(), message, fix));
}

/// A pinned image that no `ImagePolicy` matches: the set's `noMatch` decides.
fn unmatched(set: &PolicySet, no_match: NoMatch, at: &SiteEmit<'_, '_, '_>, tally: &mut Tally, out: &mut Evaluation) {
    if no_match == NoMatch::Allow {
        tally.passed.push((IMAGE_POLICY_MATCH, Mode::Enforce, None));
        return;
    }
    let globs: Vec<&str> = set.images.iter().flat_map(|p| p.images.iter().map(Pattern::as_str)).collect();
    let id = &at.emit.workload.id;
    let message = format!(
        "image {} is matched by no ImagePolicy (their images: {}), and noMatch is {no_match}",
        at.site.image,
        globs.join(", ")
    );
    let fix = format!(
        "add the image to an ImagePolicy's spec.images, or request a PolicyException for rule {IMAGE_POLICY_MATCH} \
         matching {id}"
    );
    tally.failed.push((IMAGE_POLICY_MATCH, None));
    out.verdicts.push(at.verdict(IMAGE_POLICY_MATCH, Status::Fail, no_match.mode(), None, message, fix));
}

/// One `ImagePolicy`'s outcome for a pinned image.
fn checked(outcome: &PolicyOutcome, at: &SiteEmit<'_, '_, '_>, tally: &mut Tally, out: &mut Evaluation) {
    let Err(refusals) = &outcome.outcome else {
        tally.passed.push((IMAGE_SIGNATURE, outcome.mode, Some(outcome.policy.clone())));
        if outcome.attestations {
            tally.passed.push((IMAGE_ATTESTATION, outcome.mode, Some(outcome.policy.clone())));
        }
        return;
    };
    let id = &at.emit.workload.id;
    for refusal in refusals {
        let status = if refusal.undecided { Status::Error } else { Status::Fail };
        let rule = refusal.rule;
        let remedy = if refusal.undecided {
            "make the registry reachable for syncgate (signatures are read from the image's repository), then sync \
             again"
                .to_owned()
        } else if rule == IMAGE_ATTESTATION {
            "publish the attestation from the trusted pipeline (cosign attest) for this digest, or deploy an image \
             that has it"
                .to_owned()
        } else {
            format!(
                "deploy an image built and signed by a pipeline that ImagePolicy {} trusts (cosign sign with its key \
                 or from its CI workflow)",
                outcome.policy
            )
        };
        let fix = format!("{remedy}; or request a PolicyException for rule {rule} matching {id}");
        tally.failed.push((rule, Some(outcome.policy.to_string())));
        out.verdicts.push(at.verdict(rule, status, outcome.mode, Some(&outcome.policy), refusal.message.clone(), fix));
    }
}
