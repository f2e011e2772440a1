//! What a reconcile concluded, and how that reads on the ExternalArtifact and VerifiedSource:
//! conditions (with Flux's reasons and `metav1.Condition` transition rules), the published
//! artifact, and the event texts. Pure: no I/O, the time is passed in.

use std::collections::BTreeMap;

use super::source::{Artifact, Condition};
use super::storage::Stored;

/// Condition type every Flux object carries.
pub const READY: &str = "Ready";
/// Condition type for signature and policy verification, as Flux sources use it.
pub const SOURCE_VERIFIED: &str = "SourceVerified";
/// Metadata key kustomize-controller copies into `lastAppliedOriginRevision`.
pub const ORIGIN_REVISION: &str = "org.opencontainers.image.revision";

/// Why a reconcile ended as it did; the `reason` of the conditions and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Verified and published.
    Succeeded,
    /// The gate denied the revision (or could not decide it: fail closed).
    VerificationFailed,
    /// The upstream source or its artifact could not be had or checked.
    FetchFailed,
    /// The upstream files could not be rendered (kustomize, YAML).
    BuildFailed,
    /// The artifact could not be written, or the Kubernetes objects not updated.
    StorageOperationFailed,
    /// The VerifiedSource itself is invalid (a cross-namespace reference when refused, a foreign
    /// ExternalArtifact with the output name, an unknown policy set).
    InvalidSpec,
}

impl Reason {
    /// The reason as conditions and events spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Succeeded => "Succeeded",
            Reason::VerificationFailed => "VerificationFailed",
            Reason::FetchFailed => "FetchFailed",
            Reason::BuildFailed => "BuildFailed",
            Reason::StorageOperationFailed => "StorageOperationFailed",
            Reason::InvalidSpec => "InvalidSpec",
        }
    }
}

/// The conclusion of one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The revision passed and its artifact is stored.
    Published {
        /// The stored artifact.
        stored: Stored,
        /// What was verified, for the `SourceVerified` message.
        summary: String,
    },
    /// Nothing new is published; the previous artifact (if any) stays.
    Failed {
        /// Why.
        reason: Reason,
        /// What a person reads: for a denial, syncgate's status message.
        message: String,
    },
}

impl Verdict {
    /// The reason of the `Ready` condition.
    #[must_use]
    pub fn reason(&self) -> Reason {
        match self {
            Verdict::Published { .. } => Reason::Succeeded,
            Verdict::Failed { reason, .. } => *reason,
        }
    }

    /// The `Ready` message (also the event's).
    #[must_use]
    pub fn message(&self, upstream_revision: Option<&str>) -> String {
        match self {
            Verdict::Published { .. } => {
                format!("stored artifact for revision '{}'", upstream_revision.unwrap_or_default())
            }
            Verdict::Failed { message, .. } => message.clone(),
        }
    }
}

/// The artifact as published on `status.artifact`, served under `http://<advertised>/<path>`.
#[must_use]
pub fn artifact(stored: &Stored, advertised: &str) -> Artifact {
    let record = &stored.record;
    let mut metadata = BTreeMap::new();
    if let Some(origin) = &record.origin_revision {
        metadata.insert(ORIGIN_REVISION.to_owned(), origin.clone());
    }
    Artifact {
        digest: record.digest.clone(),
        last_update_time: record.created.clone(),
        path: stored.path.clone(),
        revision: record.revision.clone(),
        size: i64::try_from(record.size).ok(),
        url: format!("http://{}/{}", advertised.trim_end_matches('/'), stored.path),
        metadata,
    }
}

/// The `Ready` and `SourceVerified` conditions for `verdict`, keeping each previous
/// `lastTransitionTime` whose status did not change (as `meta.SetStatusCondition` does).
#[must_use]
pub fn conditions(
    verdict: &Verdict,
    upstream_revision: Option<&str>,
    generation: Option<i64>,
    previous: &[Condition],
    now: &str,
) -> Vec<Condition> {
    let reason = verdict.reason().as_str().to_owned();
    let message = verdict.message(upstream_revision);
    let (ready, verified, verified_message) = match verdict {
        Verdict::Published { summary, .. } => ("True", "True", summary.clone()),
        Verdict::Failed { reason: Reason::VerificationFailed, .. } => ("False", "False", message.clone()),
        Verdict::Failed { .. } => ("False", "Unknown", format!("not verified: {message}")),
    };
    vec![
        condition(READY, ready, &reason, message, generation, previous, now),
        condition(SOURCE_VERIFIED, verified, &reason, verified_message, generation, previous, now),
    ]
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    generation: Option<i64>,
    previous: &[Condition],
    now: &str,
) -> Condition {
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(|| now.to_owned(), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// Whether the new conditions say something the previous ones did not (a new status, reason or
/// message): events are emitted on such changes only, not on every periodic re-verification.
#[must_use]
pub fn changed(previous: &[Condition], next: &[Condition]) -> bool {
    next.iter().any(|n| {
        !previous
            .iter()
            .any(|p| p.type_ == n.type_ && p.status == n.status && p.reason == n.reason && p.message == n.message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::artifact::Record;

    fn stored() -> Stored {
        Stored {
            record: Record {
                digest: "sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52".into(),
                size: 20914,
                revision: "main@sha1:5f1c@sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52"
                    .into(),
                upstream_revision: "main@sha1:5f1c".into(),
                origin_revision: Some("main@sha1:5f1c".into()),
                created: "2026-01-01T00:00:00Z".into(),
            },
            path: "flux-system/api-verified/35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52.tar.gz"
                .into(),
        }
    }

    #[test]
    fn artifact_url_uses_the_advertised_host_and_the_storage_path() {
        let a = artifact(&stored(), "syncgate.flux-system.svc.cluster.local.");
        assert_eq!(
            a.url,
            "http://syncgate.flux-system.svc.cluster.local./flux-system/api-verified/35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52.tar.gz"
        );
        assert_eq!(a.size, Some(20914));
        assert_eq!(a.metadata[ORIGIN_REVISION], "main@sha1:5f1c");
    }

    #[test]
    fn success_sets_both_conditions_true() {
        let verdict = Verdict::Published { stored: stored(), summary: "verified with policy set 'default'".into() };
        let c = conditions(&verdict, Some("main@sha1:5f1c"), Some(3), &[], "2026-01-01T00:00:00Z");
        assert_eq!((c[0].type_.as_str(), c[0].status.as_str(), c[0].reason.as_str()), (READY, "True", "Succeeded"));
        assert_eq!(c[0].message, "stored artifact for revision 'main@sha1:5f1c'");
        assert_eq!((c[1].type_.as_str(), c[1].status.as_str()), (SOURCE_VERIFIED, "True"));
        assert_eq!(c[1].observed_generation, Some(3));
    }

    #[test]
    fn a_denial_is_not_verified_and_other_failures_are_undecided() {
        let denied = Verdict::Failed { reason: Reason::VerificationFailed, message: "syncgate denied 1 of 2".into() };
        let c = conditions(&denied, None, None, &[], "t");
        assert_eq!((c[0].status.as_str(), c[1].status.as_str()), ("False", "False"));
        assert_eq!(c[1].message, "syncgate denied 1 of 2");
        let fetch = Verdict::Failed { reason: Reason::FetchFailed, message: "GitRepository x not found".into() };
        let c = conditions(&fetch, None, None, &[], "t");
        assert_eq!((c[0].status.as_str(), c[1].status.as_str()), ("False", "Unknown"));
        assert_eq!(c[1].message, "not verified: GitRepository x not found");
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let denied = Verdict::Failed { reason: Reason::VerificationFailed, message: "m".into() };
        let first = conditions(&denied, None, None, &[], "t1");
        let again = conditions(&denied, None, None, &first, "t2");
        assert_eq!(again[0].last_transition_time, "t1");
        assert!(!changed(&first, &again));
        let passed = Verdict::Published { stored: stored(), summary: "s".into() };
        let next = conditions(&passed, Some("r"), None, &again, "t3");
        assert_eq!(next[0].last_transition_time, "t3");
        assert!(changed(&again, &next));
    }
}
