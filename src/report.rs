//! The outcome of a gate run: `Finding`s, the `Decision`, and the writers that render them (text, JSON,
//! SARIF, JUnit). Owns presentation only; it never decides anything.

mod json;
mod junit;
mod sarif;
mod status;
mod text;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

pub use json::write_json;
pub use junit::write_junit;
pub use sarif::write_sarif;
pub use status::status_message;
pub use text::write_text;

/// What a rule concluded about one resource (or one container of it).
///
/// The vocabulary is closed: every finding carries exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The rule was evaluated and the resource satisfies it.
    Pass,
    /// The rule was evaluated, the resource violates it, and the rule is enforced: this denies.
    Fail,
    /// The resource violates the rule but the rule runs in report mode (or an exception covers it): never denies.
    Warn,
    /// The rule does not apply to this resource (no pod template, not selected by `match`).
    Skip,
    /// The rule could not be evaluated (invalid image reference, undecidable input); denies under enforce.
    Error,
}

impl Status {
    /// Lower-case name as used in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a failing rule blocks the sync (`enforce`) or is only reported (`report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A failure denies the whole stream.
    #[default]
    Enforce,
    /// A failure is reported as `warn` and never denies.
    Report,
}

impl Mode {
    /// Lower-case name as used in policies and reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Report => "report",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict over the whole stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Nothing enforced failed or errored: the manifests may be applied.
    Allow,
    /// At least one finding has status `fail` or `error`.
    Deny,
}

/// `apiVersion`, `kind`, `namespace` and `name` of the resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceId {
    /// `apiVersion` as written (`apps/v1`).
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `kind` (`Deployment`).
    pub kind: String,
    /// `metadata.namespace`; `None` when the document sets none.
    pub namespace: Option<String>,
    /// `metadata.name` (or `generateName` followed by `*`).
    pub name: String,
}

impl fmt::Display for ResourceId {
    /// `Kind/namespace/name`, or `Kind/name` when there is no namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Where in the input a finding points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceLocation {
    /// The file the document came from; `None` for stdin.
    pub file: Option<String>,
    /// Zero-based index of the document within its file (or stream).
    pub document: usize,
    /// One-based line of the offending field (or of the document start).
    pub line: Option<u32>,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file.as_deref().unwrap_or("<stdin>"))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " (document {})", self.document)
    }
}

/// The exception that turned a failure into a warning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AppliedException {
    /// `metadata.name` of the `PolicyException`.
    pub name: String,
    /// Its `reason`.
    pub reason: String,
    /// Its `expires`, RFC 3339.
    pub expires: String,
}

/// One rule's verdict on one resource (or one container of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id (`disallow-privileged`, or a PSA check name such as `runAsNonRoot`).
    pub rule: String,
    /// The verdict after mode and exceptions were applied.
    pub status: Status,
    /// The mode the rule ran in.
    pub mode: Mode,
    /// The resource.
    pub resource: ResourceId,
    /// Container name, when the finding is about one container.
    pub container: Option<String>,
    /// The image reference, when the finding is about one image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Field path from the document root (`spec.template.spec.containers[0].securityContext.privileged`).
    pub path: Option<String>,
    /// One sentence: what is wrong (or right), what was found, what is required.
    pub message: String,
    /// How to fix it, or how to request an exception.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The policy document the rule came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The exception that applied, if any.
    pub exception: Option<AppliedException>,
    /// Where in the input this points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
}

/// What became of one `PolicyException` during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionState {
    /// It covered at least one failing finding.
    Applied,
    /// Its `expires` is in the past: it no longer applies.
    Expired,
    /// It is valid but matched no failing finding: probably stale.
    Unused,
}

/// One `PolicyException` and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionUse {
    /// `metadata.name` of the exception.
    pub name: String,
    /// What became of it.
    pub state: ExceptionState,
    /// Its `expires`, RFC 3339.
    pub expires: String,
    /// How many findings it covered (or would have covered, when expired).
    pub matched: usize,
}

/// Counters over a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources in the stream.
    pub resources: usize,
    /// Distinct image references in the stream.
    pub images: usize,
    /// Findings with status `pass`.
    pub pass: usize,
    /// Findings with status `fail`.
    pub fail: usize,
    /// Findings with status `warn`.
    pub warn: usize,
    /// Findings with status `skip`.
    pub skip: usize,
    /// Findings with status `error`.
    pub error: usize,
}

/// A rule a resource passed: kept compact, because passes outnumber everything else by far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// Rule id.
    pub rule: Cow<'static, str>,
    /// The mode the rule ran in.
    pub mode: Mode,
    /// The policy it came from; `None` for the gate's own checks.
    pub policy: Option<Arc<str>>,
}

/// One resource that policies evaluated: the rules it passed, and where its other findings are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The resource.
    pub resource: ResourceId,
    /// Where its document starts.
    pub location: SourceLocation,
    /// The rules it passed, by rule id.
    pub passed: Vec<Passed>,
    /// Its findings that are not passes: a range of [`Report::findings`].
    pub findings: Range<usize>,
}

/// The whole outcome of a run.
///
/// Findings other than passes are stored in full, grouped by resource in stream order and sorted by
/// rule, field path and policy within a resource. Passes are stored compactly per resource;
/// [`Report::all_findings`] yields them as findings on the fly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Allow or deny.
    pub decision: Decision,
    /// Every evaluated resource, in stream order.
    pub resources: Vec<Evaluated>,
    /// Every finding that is not a pass.
    pub findings: Vec<Finding>,
    /// What became of each `PolicyException`.
    pub exceptions: Vec<ExceptionUse>,
    /// What signature verification proved about each verified image (empty without `ImagePolicy`).
    pub evidence: Vec<crate::verify::evidence::Evidence>,
    /// Counters.
    pub summary: Summary,
}

impl Report {
    /// Builds a report from findings in report order (passes included), for tests and small inputs.
    /// Decision and counters are computed; `resources` and `images` are taken as given.
    #[must_use]
    pub fn from_findings(all: Vec<Finding>, exceptions: Vec<ExceptionUse>, resources: usize, images: usize) -> Report {
        let mut builder = ReportBuilder::default();
        for finding in all {
            let key = (&finding.resource, finding.location.as_ref().map(|l| (&l.file, l.document)));
            let same = builder.resources.last().is_some_and(|r| {
                key == (&r.resource, Some((&r.location.file, r.location.document)))
                    || (key.1.is_none() && key.0 == &r.resource)
            });
            if !same {
                let location =
                    finding.location.clone().unwrap_or(SourceLocation { file: None, document: 0, line: None });
                builder.begin(finding.resource.clone(), location);
            }
            if finding.status == Status::Pass {
                let policy = finding.policy.as_deref().map(Arc::from);
                builder.pass(Cow::Owned(finding.rule), finding.mode, policy);
            } else {
                builder.finding(finding);
            }
        }
        builder.finish(exceptions, resources, images)
    }

    /// The findings of one evaluated resource, passes included, ordered by rule id then policy.
    pub fn findings_of<'a>(&'a self, evaluated: &'a Evaluated) -> impl Iterator<Item = Cow<'a, Finding>> + 'a {
        let others = self.findings.get(evaluated.findings.clone()).unwrap_or_default();
        let mut others = others.iter().peekable();
        let mut passes = evaluated.passed.iter().peekable();
        std::iter::from_fn(move || match (passes.peek(), others.peek()) {
            (Some(p), Some(f))
                if (p.rule.as_ref(), p.policy.as_deref().unwrap_or_default())
                    <= (f.rule.as_str(), f.policy.as_deref().unwrap_or_default()) =>
            {
                passes.next().map(|p| Cow::Owned(pass_finding(evaluated, p)))
            }
            (_, Some(_)) => others.next().map(Cow::Borrowed),
            (Some(_), None) => passes.next().map(|p| Cow::Owned(pass_finding(evaluated, p))),
            (None, None) => None,
        })
    }

    /// Every finding, passes included, in report order.
    pub fn all_findings(&self) -> impl Iterator<Item = Cow<'_, Finding>> + '_ {
        self.resources.iter().flat_map(|r| self.findings_of(r))
    }
}

fn pass_finding(evaluated: &Evaluated, passed: &Passed) -> Finding {
    Finding {
        rule: passed.rule.to_string(),
        status: Status::Pass,
        mode: passed.mode,
        resource: evaluated.resource.clone(),
        container: None,
        image: None,
        path: None,
        message: format!("passes {}", passed.rule),
        fix: None,
        policy: passed.policy.as_deref().map(str::to_owned),
        exception: None,
        location: Some(evaluated.location.clone()),
    }
}

/// Assembles a [`Report`] resource by resource, in stream order.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    resources: Vec<Evaluated>,
    findings: Vec<Finding>,
}

impl ReportBuilder {
    /// Starts the next resource.
    pub fn begin(&mut self, resource: ResourceId, location: SourceLocation) {
        let at = self.findings.len();
        self.resources.push(Evaluated { resource, location, passed: Vec::new(), findings: at..at });
    }

    /// Records a pass for the current resource.
    pub fn pass(&mut self, rule: Cow<'static, str>, mode: Mode, policy: Option<Arc<str>>) {
        if let Some(current) = self.resources.last_mut() {
            current.passed.push(Passed { rule, mode, policy });
        }
    }

    /// Records a finding that is not a pass for the current resource.
    pub fn finding(&mut self, finding: Finding) {
        self.findings.push(finding);
        if let Some(current) = self.resources.last_mut() {
            current.findings.end = self.findings.len();
        }
    }

    /// Drops the current resource if nothing was recorded for it.
    pub fn end_if_empty(&mut self) {
        if self.resources.last().is_some_and(|r| r.passed.is_empty() && r.findings.is_empty()) {
            self.resources.pop();
        }
    }

    /// Finishes: sorts passes by rule, computes counters and the decision.
    #[must_use]
    pub fn finish(mut self, exceptions: Vec<ExceptionUse>, resources: usize, images: usize) -> Report {
        let mut summary = Summary { resources, images, ..Summary::default() };
        for r in &mut self.resources {
            r.passed.sort_by(|a, b| (&a.rule, &a.policy).cmp(&(&b.rule, &b.policy)));
            summary.pass += r.passed.len();
        }
        for f in &self.findings {
            match f.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Warn => summary.warn += 1,
                Status::Skip => summary.skip += 1,
                Status::Error => summary.error += 1,
            }
        }
        let denies = self.findings.iter().any(Finding::denies);
        Report {
            decision: if denies { Decision::Deny } else { Decision::Allow },
            resources: self.resources,
            findings: self.findings,
            exceptions,
            evidence: Vec::new(),
            summary,
        }
    }
}

impl Finding {
    /// Whether this finding denies the stream: a failure, or an error under enforce.
    #[must_use]
    pub fn denies(&self) -> bool {
        self.status == Status::Fail || (self.status == Status::Error && self.mode == Mode::Enforce)
    }
}

/// Static description of a rule, used for SARIF rule metadata and `--explain` style help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id.
    pub id: &'static str,
    /// One line: what the rule requires.
    pub summary: &'static str,
    /// A few sentences: why, and how to fix.
    pub help: &'static str,
}
