//! The gate run in data-flow order: document → resources → typed workloads → (registry resolution and
//! signature verification, in later stages) → evaluate → modes and exceptions → report.
//!
//! No I/O of its own: the caller feeds documents (streamed from files, stdin or a rendered source) and
//! takes the report. One document's tree is alive at a time, so memory follows the findings, not the
//! input.

use std::collections::HashSet;

use crate::manifest::{Document, FieldPath, ManifestError, Stream};
use crate::policy::{self, Decider, PolicySet, RunMode, Workload, WorkloadError};
use crate::report::{Report, ReportBuilder};

/// Run-wide settings of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Namespace for namespaced resources that set none (Argo CD's destination namespace, `kubectl -n`).
    pub default_namespace: String,
    /// `--mode report` makes everything report-only.
    pub run_mode: RunMode,
    /// The time exceptions' `expires` is compared with.
    pub now: jiff::Timestamp,
}

/// Why a stream could not be checked (as opposed to a stream that was checked and denied).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The input could not be parsed, or a document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A pod template does not match the Kubernetes schema.
    #[error(transparent)]
    Workload(#[from] Box<WorkloadError>),
}

/// A check in progress: feed it documents in stream order, then [`Checker::finish`].
#[derive(Debug)]
pub struct Checker<'p> {
    policies: &'p PolicySet,
    default_namespace: String,
    decider: Decider<'p>,
    report: ReportBuilder,
    documents: usize,
    resources: usize,
    images: HashSet<String>,
}

impl<'p> Checker<'p> {
    /// A check of `policies` under `options`.
    #[must_use]
    pub fn new(policies: &'p PolicySet, options: &CheckOptions) -> Self {
        Checker {
            policies,
            default_namespace: options.default_namespace.clone(),
            decider: Decider::new(policies, options.run_mode, options.now),
            report: ReportBuilder::default(),
            documents: 0,
            resources: 0,
            images: HashSet::new(),
        }
    }

    /// Checks the next document of the stream.
    pub fn document(&mut self, document: &Document) -> Result<(), PipelineError> {
        for resource in document.resources(self.documents)? {
            self.resources += 1;
            let workload = Workload::new(resource, &self.policies.kinds, &self.default_namespace)?;
            self.images.extend(workload.images.iter().map(|site| site.image.clone()));
            // Registry resolution (tag → digest) and signature verification slot in here.
            let evaluation = policy::evaluate(self.policies, &workload);
            self.report.begin(workload.id.clone(), workload.location(&FieldPath::root()));
            for passed in evaluation.passes {
                self.report.pass(passed.rule, passed.mode, passed.policy);
            }
            for verdict in evaluation.verdicts {
                self.report.finding(self.decider.decide(verdict));
            }
            self.report.end_if_empty();
        }
        self.documents += 1;
        Ok(())
    }

    /// The report over every document fed so far.
    #[must_use]
    pub fn finish(self) -> Report {
        self.report.finish(self.decider.finish(), self.resources, self.images.len())
    }
}

/// Checks an in-memory stream.
pub fn check(stream: &Stream, policies: &PolicySet, options: &CheckOptions) -> Result<Report, PipelineError> {
    let mut checker = Checker::new(policies, options);
    for document in &stream.documents {
        checker.document(document)?;
    }
    Ok(checker.finish())
}
