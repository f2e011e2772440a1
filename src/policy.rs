//! Policies: documents → [`evaluate()`] (pure verdicts) → [`decide()`] (modes and exceptions) → `Report`.
//!
//! The modules split the concern in the order data flows through them: [`document`] parses (with
//! [`image`] for the `ImagePolicy` schema), [`workload`] builds the typed view of a resource, [`pss`]
//! and [`rules`] check, [`mod@evaluate`] runs every check, [`mod@decide`] applies modes and exceptions.

pub mod decide;
pub mod document;
pub mod evaluate;
pub mod image;
pub mod pss;
pub mod rules;
pub mod workload;

pub use decide::{Decider, RunMode, decide};
pub use document::{PolicyError, PolicySet, load};
pub use evaluate::{Evaluation, evaluate};
pub use workload::{Workload, WorkloadError};

use crate::report::RuleInfo;

/// Every rule syncgate knows, production rules first, then the Pod Security Standards checks.
#[must_use]
pub fn catalog() -> Vec<RuleInfo> {
    let mut all: Vec<RuleInfo> = rules::RuleId::ALL.iter().map(|r| r.info()).collect();
    all.extend(image::RULES);
    all.extend(crate::project::RULES);
    all.extend(pss::CHECKS.iter().map(|c| RuleInfo { id: c.id, summary: c.summary, help: c.help }));
    all
}
