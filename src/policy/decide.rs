//! `decide`: turns raw verdicts into the final [`Report`] by applying modes and exceptions, in that
//! order of concern: an active exception turns a failure into a warning; a report-mode failure is a
//! warning; anything else that failed or errored under enforce denies.

use super::document::{PolicyException, PolicySet};
use super::evaluate::{Scope, Verdict};
use crate::report::{AppliedException, ExceptionState, ExceptionUse, Finding, Mode, Report, Status};

/// How the run treats modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Each rule's own mode (the policy documents decide).
    #[default]
    AsConfigured,
    /// Everything is report-only (`--mode report`): nothing denies, findings become warnings.
    ReportOnly,
}

/// Applies modes and exceptions, one verdict at a time, and remembers what each exception did.
#[derive(Debug)]
pub struct Decider<'p> {
    set: &'p PolicySet,
    run: RunMode,
    now: jiff::Timestamp,
    /// Per exception: (findings covered while active, findings it would have covered when expired).
    uses: Vec<(usize, usize)>,
}

impl<'p> Decider<'p> {
    /// A decider for one run.
    #[must_use]
    pub fn new(set: &'p PolicySet, run: RunMode, now: jiff::Timestamp) -> Self {
        Decider { set, run, now, uses: vec![(0, 0); set.exceptions.len()] }
    }

    /// The final finding for one raw verdict.
    pub fn decide(&mut self, verdict: Verdict) -> Finding {
        let Verdict { mut finding, scope, .. } = verdict;
        if self.run == RunMode::ReportOnly {
            finding.mode = Mode::Report;
        }
        if matches!(finding.status, Status::Fail | Status::Error) {
            let mut covering = None;
            for (i, exception) in self.set.exceptions.iter().enumerate() {
                if !covers(exception, &finding, &scope) {
                    continue;
                }
                if exception.expires > self.now {
                    self.uses[i].0 += 1;
                    covering.get_or_insert(i);
                } else {
                    self.uses[i].1 += 1;
                }
            }
            if let Some(i) = covering {
                let e = &self.set.exceptions[i];
                finding.exception = Some(AppliedException {
                    name: e.name.clone(),
                    reason: e.reason.clone(),
                    expires: e.expires.to_string(),
                });
                finding.status = Status::Warn;
            } else if finding.mode == Mode::Report && finding.status == Status::Fail {
                finding.status = Status::Warn;
            }
        }
        finding
    }

    /// What became of each exception.
    #[must_use]
    pub fn finish(self) -> Vec<ExceptionUse> {
        self.set
            .exceptions
            .iter()
            .zip(self.uses)
            .map(|(e, (active, expired))| {
                let (state, matched) = if e.expires <= self.now {
                    (ExceptionState::Expired, expired)
                } else if active == 0 {
                    (ExceptionState::Unused, 0)
                } else {
                    (ExceptionState::Applied, active)
                };
                ExceptionUse { name: e.name.clone(), state, expires: e.expires.to_string(), matched }
            })
            .collect()
    }
}

/// Applies modes and exceptions to a list of verdicts and builds the report (small inputs and tests;
/// the pipeline streams through a [`Decider`] instead).
#[must_use]
pub fn decide(
    verdicts: Vec<Verdict>,
    set: &PolicySet,
    run: RunMode,
    now: jiff::Timestamp,
    resources: usize,
    images: usize,
) -> Report {
    let mut decider = Decider::new(set, run, now);
    let findings: Vec<Finding> = verdicts.into_iter().map(|v| decider.decide(v)).collect();
    Report::from_findings(findings, decider.finish(), resources, images)
}

/// Whether an exception (ignoring its expiry) covers a failing finding.
#[must_use]
pub fn covers(exception: &PolicyException, finding: &Finding, scope: &Scope) -> bool {
    let m = &exception.matcher;
    let r = &finding.resource;
    if !exception.rules.contains(&finding.rule) {
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

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::manifest::{Address, FieldPath};
    use crate::policy::document::{ExceptionMatch, Pattern, Selector};
    use crate::report::ResourceId;
    use crate::report::{Decision, Summary};

    fn now() -> jiff::Timestamp {
        "2026-11-28T12:00:00Z".parse().unwrap()
    }

    fn verdict(rule: &str, status: Status, mode: Mode, container: Option<&str>, images: &[&str]) -> Verdict {
        Verdict {
            finding: Finding {
                rule: rule.into(),
                status,
                mode,
                resource: ResourceId {
                    api_version: "apps/v1".into(),
                    kind: "DaemonSet".into(),
                    namespace: Some("kube-system".into()),
                    name: "cilium".into(),
                },
                container: container.map(Into::into),
                image: None,
                path: None,
                message: "m".into(),
                fix: None,
                policy: Some("p".into()),
                exception: None,
                location: None,
            },
            scope: Scope {
                service_account: Some("cilium".into()),
                images: images.iter().map(|s| (*s).to_owned()).collect(),
            },
            order: (Address { document: 0, item: None }, rule.into(), FieldPath::root(), "p".into()),
        }
    }

    #[allow(clippy::unnecessary_wraps, reason = "selectors hold optional pattern lists")]
    fn patterns(list: &[&str]) -> Option<Vec<Pattern>> {
        Some(list.iter().map(|p| Pattern::new(p).unwrap()).collect())
    }

    fn exception(rules: &[&str], expires: &str, matcher: ExceptionMatch) -> PolicyException {
        PolicyException {
            name: "cilium-host-access".into(),
            rules: rules.iter().map(|r| (*r).to_owned()).collect(),
            matcher,
            expires: expires.parse().unwrap(),
            reason: "CNI needs host networking".into(),
            location: crate::report::SourceLocation { file: None, document: 0, line: None },
        }
    }

    fn cilium_match() -> ExceptionMatch {
        ExceptionMatch {
            resources: Selector {
                namespaces: patterns(&["kube-system"]),
                kinds: patterns(&["DaemonSet"]),
                names: patterns(&["cilium"]),
            },
            service_accounts: patterns(&["cilium"]),
            images: patterns(&["quay.io/cilium/*"]),
        }
    }

    fn set(exceptions: Vec<PolicyException>) -> PolicySet {
        PolicySet { exceptions, ..PolicySet::default() }
    }

    #[rstest]
    #[case::enforce_pass(Mode::Enforce, RunMode::AsConfigured, Status::Pass, Status::Pass, Decision::Allow)]
    #[case::enforce_fail(Mode::Enforce, RunMode::AsConfigured, Status::Fail, Status::Fail, Decision::Deny)]
    #[case::enforce_error(Mode::Enforce, RunMode::AsConfigured, Status::Error, Status::Error, Decision::Deny)]
    #[case::enforce_skip(Mode::Enforce, RunMode::AsConfigured, Status::Skip, Status::Skip, Decision::Allow)]
    #[case::report_pass(Mode::Report, RunMode::AsConfigured, Status::Pass, Status::Pass, Decision::Allow)]
    #[case::report_fail_warns(Mode::Report, RunMode::AsConfigured, Status::Fail, Status::Warn, Decision::Allow)]
    #[case::report_error_stays_error_but_allows(
        Mode::Report,
        RunMode::AsConfigured,
        Status::Error,
        Status::Error,
        Decision::Allow
    )]
    #[case::report_skip(Mode::Report, RunMode::AsConfigured, Status::Skip, Status::Skip, Decision::Allow)]
    #[case::global_report_turns_enforced_fail_into_warn(
        Mode::Enforce,
        RunMode::ReportOnly,
        Status::Fail,
        Status::Warn,
        Decision::Allow
    )]
    #[case::global_report_keeps_error_visible(
        Mode::Enforce,
        RunMode::ReportOnly,
        Status::Error,
        Status::Error,
        Decision::Allow
    )]
    #[case::global_report_pass(Mode::Enforce, RunMode::ReportOnly, Status::Pass, Status::Pass, Decision::Allow)]
    fn mode_truth_table(
        #[case] mode: Mode,
        #[case] run: RunMode,
        #[case] raw: Status,
        #[case] status: Status,
        #[case] decision: Decision,
    ) {
        let report = decide(vec![verdict("disallow-privileged", raw, mode, None, &[])], &set(vec![]), run, now(), 1, 0);
        assert_eq!(report.all_findings().next().unwrap().status, status);
        assert_eq!(report.decision, decision);
        let expected_mode = if run == RunMode::ReportOnly { Mode::Report } else { mode };
        assert_eq!(report.all_findings().next().unwrap().mode, expected_mode);
    }

    #[rstest]
    #[case::active_exception_covers_fail(Status::Fail, "2027-03-01T00:00:00Z", Status::Warn, ExceptionState::Applied)]
    #[case::active_exception_covers_error(Status::Error, "2027-03-01T00:00:00Z", Status::Warn, ExceptionState::Applied)]
    #[case::expired_exception_no_longer_applies(
        Status::Fail,
        "2026-01-01T00:00:00Z",
        Status::Fail,
        ExceptionState::Expired
    )]
    #[case::expiry_instant_is_exclusive(Status::Fail, "2026-11-28T12:00:00Z", Status::Fail, ExceptionState::Expired)]
    #[case::passing_finding_leaves_exception_unused(
        Status::Pass,
        "2027-03-01T00:00:00Z",
        Status::Pass,
        ExceptionState::Unused
    )]
    fn exception_paths(
        #[case] raw: Status,
        #[case] expires: &str,
        #[case] status: Status,
        #[case] state: ExceptionState,
    ) {
        let set = set(vec![exception(&["disallow-host-path"], expires, cilium_match())]);
        let report = decide(
            vec![verdict("disallow-host-path", raw, Mode::Enforce, None, &["quay.io/cilium/cilium:v1.16"])],
            &set,
            RunMode::AsConfigured,
            now(),
            1,
            1,
        );
        assert_eq!(report.all_findings().next().unwrap().status, status);
        assert_eq!(report.exceptions[0].state, state);
        assert_eq!(report.all_findings().next().unwrap().exception.is_some(), status == Status::Warn);
        if state == ExceptionState::Expired {
            assert_eq!(report.exceptions[0].matched, 1, "an expired exception reports what it would have covered");
        }
    }

    #[rstest]
    #[case::other_rule(&["disallow-privileged"], cilium_match(), &["quay.io/cilium/cilium:v1"], false)]
    #[case::other_namespace(&["disallow-host-path"], ExceptionMatch { resources: Selector { namespaces: patterns(&["default"]), ..Selector::default() }, ..ExceptionMatch::default() }, &["quay.io/cilium/cilium:v1"], false)]
    #[case::other_service_account(&["disallow-host-path"], ExceptionMatch { service_accounts: patterns(&["default"]), ..ExceptionMatch::default() }, &["quay.io/cilium/cilium:v1"], false)]
    #[case::image_glob_mismatch(&["disallow-host-path"], cilium_match(), &["docker.io/evil/cilium:v1"], false)]
    #[case::one_image_outside_the_glob_is_enough_to_refuse(&["disallow-host-path"], cilium_match(), &["quay.io/cilium/cilium:v1", "busybox"], false)]
    #[case::normalised_image_matches(&["disallow-host-path"], ExceptionMatch { images: patterns(&["docker.io/library/busybox:*"]), ..ExceptionMatch::default() }, &["busybox:1.36"], true)]
    #[case::everything_matches(&["disallow-host-path"], cilium_match(), &["quay.io/cilium/cilium:v1"], true)]
    fn exception_matching(
        #[case] rules: &[&str],
        #[case] matcher: ExceptionMatch,
        #[case] images: &[&str],
        #[case] covered: bool,
    ) {
        let e = exception(rules, "2027-03-01T00:00:00Z", matcher);
        let v = verdict("disallow-host-path", Status::Fail, Mode::Enforce, None, images);
        assert_eq!(covers(&e, &v.finding, &v.scope), covered);
    }

    #[test]
    fn summary_counts_final_statuses() {
        let verdicts = vec![
            verdict("a", Status::Pass, Mode::Enforce, None, &[]),
            verdict("b", Status::Fail, Mode::Report, None, &[]),
            verdict("c", Status::Fail, Mode::Enforce, None, &[]),
            verdict("d", Status::Skip, Mode::Enforce, None, &[]),
            verdict("e", Status::Error, Mode::Enforce, None, &[]),
        ];
        let report = decide(verdicts, &set(vec![]), RunMode::AsConfigured, now(), 3, 2);
        assert_eq!(report.summary, Summary { resources: 3, images: 2, pass: 1, fail: 1, warn: 1, skip: 1, error: 1 });
    }
}
