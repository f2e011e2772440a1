//! SLSA provenance predicates shaped like those of slsa-github-generator (v0.2) and GitHub workflow builds
//! (v1), plus the certificate identity of the reusable workflow that signs them. Predicates are returned as
//! `serde_json::Value` so tests can change any field.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::certificate::{GithubWorkflow, LeafRequest, SubjectAlternativeName};
use crate::key::PublicKey;

/// Predicate type of SLSA provenance v0.2.
pub const SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
/// Predicate type of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// buildType of the slsa-github-generator container workflow (v0.2 provenance).
pub const GENERATOR_CONTAINER_BUILD_TYPE: &str = "https://github.com/slsa-framework/slsa-github-generator/container@v1";
/// buildType of GitHub Actions workflow builds (v1 provenance).
pub const GITHUB_WORKFLOW_BUILD_TYPE: &str = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";

/// The builder ID of an slsa-github-generator reusable workflow, e.g.
/// `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0`.
#[must_use]
pub fn generator_builder_id(workflow_file: &str, version: &str) -> String {
    format!(
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/{workflow_file}@refs/tags/{version}"
    )
}

/// A build by a trusted builder on behalf of a caller workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceBuild {
    /// The caller's workflow run (source repository, ref, commit, trigger).
    pub workflow: GithubWorkflow,
    /// Builder ID (the reusable workflow that builds and signs).
    pub builder_id: String,
    /// `buildType`.
    pub build_type: String,
    /// Build start.
    pub started_on: Timestamp,
    /// Build end.
    pub finished_on: Timestamp,
}

impl ProvenanceBuild {
    /// A container build of `workflow` by slsa-github-generator v2.1.0.
    #[must_use]
    pub fn container(workflow: GithubWorkflow) -> Self {
        let now = crate::certificate::truncate(Timestamp::now());
        ProvenanceBuild {
            workflow,
            builder_id: generator_builder_id("generator_container_slsa3.yml", "v2.1.0"),
            build_type: GENERATOR_CONTAINER_BUILD_TYPE.to_owned(),
            started_on: now.checked_sub(jiff::SignedDuration::from_mins(3)).unwrap_or(now),
            finished_on: now,
        }
    }

    /// `git+https://github.com/<repo>@<ref>`, the source URI in both provenance versions.
    #[must_use]
    pub fn source_uri(&self) -> String {
        format!("git+{}@{}", self.workflow.repository_uri(), self.workflow.git_ref)
    }

    /// SLSA v0.2 predicate as slsa-github-generator writes it.
    #[must_use]
    pub fn slsa_v0_2(&self) -> Value {
        let w = &self.workflow;
        json!({
            "builder": {"id": self.builder_id},
            "buildType": self.build_type,
            "invocation": {
                "configSource": {
                    "uri": self.source_uri(),
                    "digest": {"sha1": w.sha},
                    "entryPoint": w.workflow_path,
                },
                "parameters": {},
                "environment": {
                    "github_actor": w.owner(),
                    "github_actor_id": w.owner_id.to_string(),
                    "github_base_ref": "",
                    "github_event_name": w.event_name,
                    "github_event_payload": {},
                    "github_head_ref": "",
                    "github_ref": w.git_ref,
                    "github_ref_type": ref_type(&w.git_ref),
                    "github_repository_id": w.repository_id.to_string(),
                    "github_repository_owner": w.owner(),
                    "github_repository_owner_id": w.owner_id.to_string(),
                    "github_run_attempt": w.run_attempt.to_string(),
                    "github_run_id": w.run_id.to_string(),
                    "github_run_number": "1",
                    "github_sha1": w.sha,
                },
            },
            "metadata": {
                "buildInvocationID": format!("{}-{}", w.run_id, w.run_attempt),
                "buildStartedOn": self.started_on.to_string(),
                "buildFinishedOn": self.finished_on.to_string(),
                "completeness": {"parameters": true, "environment": false, "materials": false},
                "reproducible": false,
            },
            "materials": [{"uri": self.source_uri(), "digest": {"sha1": w.sha}}],
        })
    }

    /// SLSA v1 predicate with the GitHub workflow build type.
    #[must_use]
    pub fn slsa_v1(&self) -> Value {
        let w = &self.workflow;
        json!({
            "buildDefinition": {
                "buildType": GITHUB_WORKFLOW_BUILD_TYPE,
                "externalParameters": {
                    "workflow": {"ref": w.git_ref, "repository": w.repository_uri(), "path": w.workflow_path},
                    "inputs": {},
                },
                "internalParameters": {
                    "github": {
                        "event_name": w.event_name,
                        "repository_id": w.repository_id.to_string(),
                        "repository_owner_id": w.owner_id.to_string(),
                        "runner_environment": w.runner_environment,
                    },
                },
                "resolvedDependencies": [{"uri": self.source_uri(), "digest": {"gitCommit": w.sha}}],
            },
            "runDetails": {
                "builder": {"id": self.builder_id},
                "metadata": {
                    "invocationId": w.run_invocation_uri(),
                    "startedOn": self.started_on.to_string(),
                    "finishedOn": self.finished_on.to_string(),
                },
            },
        })
    }

    /// The certificate request for the builder: SAN and Build Signer URI name the reusable workflow (the
    /// builder ID), Build Config URI and source claims name the caller, as Fulcio issues them for reusable
    /// workflows.
    #[must_use]
    pub fn leaf_request(&self, public_key: PublicKey) -> LeafRequest {
        let mut request = self.workflow.leaf_request(public_key);
        request.subject = Some(SubjectAlternativeName::Uri(self.builder_id.clone()));
        request.claims.build_signer_uri = Some(self.builder_id.clone());
        request
    }
}

fn ref_type(git_ref: &str) -> &'static str {
    if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" }
}
