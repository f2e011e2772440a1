//! `syncgate test`: policy test cases with expected verdicts, as `kyverno test` users know them.
//!
//! A `PolicyTest` document (file `syncgate-test.yaml`) names policies and resources (paths relative
//! to the file) and lists the expected status per resource × rule (optionally per container). Owns
//! finding, running and comparing test cases; the checking itself is [`crate::pipeline::check`].

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::manifest::{self, Limits};
use crate::pipeline::{self, CheckOptions};
use crate::policy::{self, RunMode};
use crate::report::{Decision, Finding, Status};

/// The file name `syncgate test` looks for.
pub const FILE_NAME: &str = "syncgate-test.yaml";

/// Why test cases could not run (as opposed to running and mismatching).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// No test file was found.
    #[error("no {FILE_NAME} found under {0}")]
    NoTests(String),
    /// A directory could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A test file is malformed.
    #[error("{path}: {message}")]
    Invalid {
        /// The test file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A test's policies could not be loaded.
    #[error("{path}: invalid policy")]
    Policy {
        /// The test file.
        path: String,
        /// The cause.
        #[source]
        source: policy::PolicyError,
    },
    /// A test's resources could not be loaded or checked.
    #[error("{path}: invalid resources")]
    Resources {
        /// The test file.
        path: String,
        /// The cause.
        #[source]
        source: pipeline::PipelineError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTest {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: RawMeta,
    spec: RawSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    policies: Vec<PathBuf>,
    resources: Vec<PathBuf>,
    #[serde(default = "default_namespace")]
    namespace: String,
    now: Option<String>,
    #[serde(default)]
    mode: Option<crate::report::Mode>,
    decision: Option<Decision>,
    results: Vec<Expected>,
}

fn default_namespace() -> String {
    "default".to_owned()
}

/// One expected verdict.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// `Kind/namespace/name` or `Kind/name`.
    pub resource: String,
    /// Rule id.
    pub rule: String,
    /// Container, to expect a verdict for one container only.
    pub container: Option<String>,
    /// Expected status.
    pub status: Status,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        [Status::Pass, Status::Fail, Status::Warn, Status::Skip, Status::Error]
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unknown status \"{s}\", expected pass, fail, warn, skip or error"))
            })
    }
}

impl<'de> Deserialize<'de> for Decision {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "allow" => Ok(Decision::Allow),
            "deny" => Ok(Decision::Deny),
            other => Err(serde::de::Error::custom(format!("unknown decision \"{other}\", expected allow or deny"))),
        }
    }
}

/// The result of one expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The test file.
    pub file: String,
    /// The test name.
    pub test: String,
    /// What was expected (`resource` empty for the decision line).
    pub expected: Expected,
    /// What was found; `None` when no finding matched resource and rule.
    pub actual: Option<Status>,
    /// The first relevant message, to explain a mismatch.
    pub message: Option<String>,
}

impl CaseResult {
    /// Whether expectation and result agree.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.actual == Some(self.expected.status)
    }
}

/// All results of a `syncgate test` run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// One per expectation, in file order.
    pub results: Vec<CaseResult>,
    /// Decision mismatches: (file, test, expected, actual).
    pub decisions: Vec<(String, String, Decision, Decision)>,
}

impl Outcome {
    /// True when every expectation held.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.results.iter().all(CaseResult::ok) && self.decisions.iter().all(|(_, _, e, a)| e == a)
    }
}

/// Finds and runs every test file under `dir` (or `dir` itself when it is a file).
pub fn run(dir: &Path) -> Result<Outcome, TestError> {
    let files = find(dir)?;
    if files.is_empty() {
        return Err(TestError::NoTests(dir.display().to_string()));
    }
    let mut outcome = Outcome::default();
    for file in files {
        run_file(&file, &mut outcome)?;
    }
    Ok(outcome)
}

fn find(path: &Path) -> Result<Vec<PathBuf>, TestError> {
    let read = |source| TestError::Read { path: path.display().to_string(), source };
    if !fs::metadata(path).map_err(read)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut entries: Vec<PathBuf> =
        fs::read_dir(path).map_err(read)?.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    let mut out = Vec::new();
    for entry in entries {
        if entry.is_dir() {
            out.extend(find(&entry)?);
        } else if entry.file_name().is_some_and(|n| n == FILE_NAME) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// The status of a resource × rule (× container): the most severe finding's.
fn aggregate(findings: &[&Finding]) -> Option<Status> {
    let rank = |s: Status| match s {
        Status::Error => 4,
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Pass => 1,
        Status::Skip => 0,
    };
    findings.iter().map(|f| f.status).max_by_key(|s| rank(*s))
}

fn actual_for(findings: &[Cow<'_, Finding>], expected: &Expected) -> (Option<Status>, Option<String>) {
    let of_rule: Vec<&Finding> = findings
        .iter()
        .map(AsRef::as_ref)
        .filter(|f| f.rule == expected.rule && f.resource.to_string() == expected.resource)
        .collect();
    let relevant: Vec<&Finding> = match &expected.container {
        None => of_rule.clone(),
        Some(c) => {
            let own: Vec<&Finding> =
                of_rule.iter().copied().filter(|f| f.container.as_deref() == Some(c.as_str())).collect();
            if own.is_empty() {
                // Nothing objects to this container: it passes wherever the rule was evaluated.
                return match aggregate(&of_rule) {
                    None => (None, None),
                    Some(Status::Skip) => (Some(Status::Skip), None),
                    Some(_) => (Some(Status::Pass), None),
                };
            }
            own
        }
    };
    let status = aggregate(&relevant);
    let message = relevant.iter().find(|f| Some(f.status) == status).map(|f| f.message.clone());
    (status, message)
}

fn run_file(file: &Path, outcome: &mut Outcome) -> Result<(), TestError> {
    let display = file.display().to_string();
    let invalid = |message: String| TestError::Invalid { path: display.clone(), message };
    let text = fs::read_to_string(file).map_err(|source| TestError::Read { path: display.clone(), source })?;
    let value: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let raw: RawTest =
        serde_path_to_error::deserialize(value).map_err(|e| invalid(format!("{}: {}", e.path(), e.inner())))?;
    if raw.api_version != policy::document::API_VERSION || raw.kind != "PolicyTest" {
        return Err(invalid(format!("expected apiVersion {} and kind PolicyTest", policy::document::API_VERSION)));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let resolve = |paths: &[PathBuf]| paths.iter().map(|p| base.join(p)).collect::<Vec<_>>();
    let limits = Limits::default();
    let policies = policy::load(&resolve(&raw.spec.policies), &limits)
        .map_err(|source| TestError::Policy { path: display.clone(), source })?;
    let stream = manifest::load(&resolve(&raw.spec.resources), &limits)
        .map_err(|e| TestError::Resources { path: display.clone(), source: e.into() })?;
    let now = match &raw.spec.now {
        Some(t) => t.parse().map_err(|e| invalid(format!("spec.now: invalid RFC 3339 timestamp \"{t}\": {e}")))?,
        None => jiff::Timestamp::now(),
    };
    let options = CheckOptions {
        default_namespace: raw.spec.namespace.clone(),
        run_mode: if raw.spec.mode == Some(crate::report::Mode::Report) {
            RunMode::ReportOnly
        } else {
            RunMode::AsConfigured
        },
        now,
        tenancy: None,
    };
    let report = pipeline::check(&stream, &policies, &options)
        .map_err(|source| TestError::Resources { path: display.clone(), source })?;
    let findings: Vec<Cow<'_, Finding>> = report.all_findings().collect();
    for expected in raw.spec.results {
        let (actual, message) = actual_for(&findings, &expected);
        outcome.results.push(CaseResult {
            file: display.clone(),
            test: raw.metadata.name.clone(),
            expected,
            actual,
            message,
        });
    }
    if let Some(decision) = raw.spec.decision {
        outcome.decisions.push((display.clone(), raw.metadata.name.clone(), decision, report.decision));
    }
    Ok(())
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
    }
}

/// Prints one line per expectation and a summary.
pub fn write_summary(outcome: &Outcome, out: &mut dyn Write) -> std::io::Result<()> {
    let mut current = None;
    for r in &outcome.results {
        if current != Some((&r.file, &r.test)) {
            writeln!(out, "{} ({})", r.test, r.file)?;
            current = Some((&r.file, &r.test));
        }
        let container = r.expected.container.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
        let subject = format!("{} {}{}", r.expected.resource, r.expected.rule, container);
        if r.ok() {
            writeln!(out, "  ok    {subject}: {}", r.expected.status)?;
        } else {
            let actual = r.actual.map_or("no finding for this resource and rule", Status::as_str);
            writeln!(out, "  FAIL  {subject}: expected {}, got {actual}", r.expected.status)?;
            if let Some(m) = &r.message {
                writeln!(out, "        {m}")?;
            }
        }
    }
    for (file, test, expected, actual) in &outcome.decisions {
        let mark = if expected == actual { "ok  " } else { "FAIL" };
        writeln!(
            out,
            "  {mark}  decision of {test} ({file}): expected {}, got {}",
            decision_str(*expected),
            decision_str(*actual)
        )?;
    }
    let failed = outcome.results.iter().filter(|r| !r.ok()).count()
        + outcome.decisions.iter().filter(|(_, _, e, a)| e != a).count();
    let total = outcome.results.len() + outcome.decisions.len();
    writeln!(out, "\n{} of {total} expectations met, {failed} failed", total - failed)?;
    Ok(())
}
