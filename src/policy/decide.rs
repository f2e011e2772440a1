//! `decide`: turns raw verdicts into the final [`Report`] by applying modes and exceptions, in that
//! order of concern: an active exception turns a failure into a warning; a report-mode failure is a
//! warning; anything else that failed or errored under enforce denies.

use super::document::{PolicyException, PolicySet};
use super::evaluate::{Scope, Verdict};
use crate::report::{AppliedException, Decision, ExceptionState, ExceptionUse, Finding, Mode, Report, Status, Summary};

/// How the run treats modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Each rule's own mode (the policy documents decide).
    #[default]
    AsConfigured,
    /// Everything is report-only (`--mode report`): nothing denies, findings become warnings.
    ReportOnly,
}

/// Applies modes and exceptions at time `now` and builds the report.
#[must_use]
pub fn decide(verdicts: Vec<Verdict>, set: &PolicySet, run: RunMode, now: jiff::Timestamp, resources: usize, images: usize) -> Report {
    let mut uses: Vec<(usize, usize)> = vec![(0, 0); set.exceptions.len()]; // (active matches, expired matches)
    let mut findings: Vec<Finding> = Vec::with_capacity(verdicts.len());
    for Verdict { mut finding, scope, .. } in verdicts {
        if run == RunMode::ReportOnly {
            finding.mode = Mode::Report;
        }
        if matches!(finding.status, Status::Fail | Status::Error) {
            let mut covering = None;
            for (i, exception) in set.exceptions.iter().enumerate() {
                if !covers(exception, &finding, &scope) {
                    continue;
                }
                if exception.expires > now {
                    uses[i].0 += 1;
                    covering.get_or_insert(i);
                } else {
                    uses[i].1 += 1;
                }
            }
            if let Some(i) = covering {
                let e = &set.exceptions[i];
                finding.exception = Some(AppliedException { name: e.name.clone(), reason: e.reason.clone(), expires: e.expires.to_string() });
                finding.status = Status::Warn;
            } else if finding.mode == Mode::Report && finding.status == Status::Fail {
                finding.status = Status::Warn;
            }
        }
        findings.push(finding);
    }
    let exceptions = set
        .exceptions
        .iter()
        .zip(uses)
        .map(|(e, (active, expired))| {
            let (state, matched) = if e.expires <= now {
                (ExceptionState::Expired, expired)
            } else if active == 0 {
                (ExceptionState::Unused, 0)
            } else {
                (ExceptionState::Applied, active)
            };
            ExceptionUse { name: e.name.clone(), state, expires: e.expires.to_string(), matched }
        })
        .collect();
    let mut summary = Summary { resources, images, ..Summary::default() };
    for f in &findings {
        match f.status {
            Status::Pass => summary.pass += 1,
            Status::Fail => summary.fail += 1,
            Status::Warn => summary.warn += 1,
            Status::Skip => summary.skip += 1,
            Status::Error => summary.error += 1,
        }
    }
    let denies = findings.iter().any(|f| f.status == Status::Fail || (f.status == Status::Error && f.mode == Mode::Enforce));
    Report { decision: if denies { Decision::Deny } else { Decision::Allow }, findings, exceptions, summary }
}

/// Whether an exception (ignoring its expiry) covers a failing finding.
#[must_use]
pub fn covers(exception: &PolicyException, finding: &Finding, scope: &Scope) -> bool {
    let m = &exception.matcher;
    let r = &finding.resource;
    if !exception.rules.iter().any(|rule| *rule == finding.rule) {
        return false;
    }
    if !m.resources.matches(r.namespace.as_deref().unwrap_or_default(), &r.kind, &r.name) {
        return false;
    }
    if let Some(accounts) = &m.service_accounts {
        let Some(sa) = &scope.service_account else { return false };
        if !accounts.iter().any(|p| p.matches(sa)) {
            return false;
        }
    }
    if let Some(patterns) = &m.images {
        // Every image the finding concerns must be allowed, so one exempted sidecar cannot cover
        // a whole pod's privileges.
        if scope.images.is_empty() {
            return false;
        }
        let allowed = |image: &str| {
            let normalised = image.parse::<crate::image::ImageRef>().ok().map(|r| r.to_string());
            patterns.iter().any(|p| p.matches(image) || normalised.as_deref().is_some_and(|n| p.matches(n)))
        };
        if !scope.images.iter().all(|i| allowed(i)) {
            return false;
        }
    }
    true
}
