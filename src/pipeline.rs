//! The one function that wires the steps of a gate run, in data-flow order. No I/O of its own: it
//! receives the parsed stream and the policy set, and returns the report.

use crate::manifest::{ManifestError, Stream};
use crate::policy::{self, PolicySet, RunMode, Workload, WorkloadError};
use crate::report::Report;

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
    /// A document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A pod template does not match the Kubernetes schema.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
}

/// Checks a stream: resources → typed workloads → evaluate → modes and exceptions → report.
///
/// Registry resolution and signature verification slot in between the workloads and evaluation; in
/// this build images are evaluated as written (the `--offline` behaviour).
pub fn check(stream: &Stream, policies: &PolicySet, options: &CheckOptions) -> Result<Report, PipelineError> {
    let resources = stream.resources()?;
    let resource_count = resources.len();
    let workloads = resources
        .into_iter()
        .map(|r| Workload::new(r, &policies.kinds, &options.default_namespace))
        .collect::<Result<Vec<_>, _>>()?;
    let image_count = distinct_images(&workloads);
    let verdicts = policy::evaluate(policies, &workloads);
    Ok(policy::decide(verdicts, policies, options.run_mode, options.now, resource_count, image_count))
}

fn distinct_images(workloads: &[Workload<'_>]) -> usize {
    let mut all: Vec<&str> = workloads.iter().flat_map(|w| w.images.iter().map(|s| s.image.as_str())).collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}
