//! STAND-IN: only [`SignerIdentity`], as agreed for the certificate module. The real module (X.509
//! parsing, Fulcio extensions) replaces this file with the same type.

/// What a Fulcio certificate says about its signer. Strings exactly as in the certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerIdentity {
    /// SAN: URI, else email, else OtherName (1.3.6.1.4.1.57264.1.7).
    pub subject: Option<String>,
    /// 1.3.6.1.4.1.57264.1.8 (DER UTF8String), else 1.3.6.1.4.1.57264.1.1 (raw string).
    pub issuer: Option<String>,
    /// 1.3.6.1.4.1.57264.1.9 Build Signer URI.
    pub build_signer_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.10 Build Signer Digest.
    pub build_signer_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.11 Runner Environment.
    pub runner_environment: Option<String>,
    /// 1.3.6.1.4.1.57264.1.12 Source Repository URI.
    pub source_repository_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.13 Source Repository Digest.
    pub source_repository_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.14 Source Repository Ref.
    pub source_repository_ref: Option<String>,
    /// 1.3.6.1.4.1.57264.1.15 Source Repository Identifier.
    pub source_repository_identifier: Option<String>,
    /// 1.3.6.1.4.1.57264.1.16 Source Repository Owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.17 Source Repository Owner Identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// 1.3.6.1.4.1.57264.1.18 Build Config URI.
    pub build_config_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.19 Build Config Digest.
    pub build_config_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.20 Build Trigger.
    pub build_trigger: Option<String>,
    /// 1.3.6.1.4.1.57264.1.21 Run Invocation URI.
    pub run_invocation_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.22 Source Repository Visibility At Signing.
    pub source_repository_visibility: Option<String>,
    /// 1.3.6.1.4.1.57264.1.23 Deployment Environment.
    pub deployment_environment: Option<String>,
    /// 1.3.6.1.4.1.57264.1.2 GitHub Workflow Trigger (deprecated, raw).
    pub github_workflow_trigger: Option<String>,
    /// 1.3.6.1.4.1.57264.1.3 GitHub Workflow SHA (deprecated, raw).
    pub github_workflow_sha: Option<String>,
    /// 1.3.6.1.4.1.57264.1.4 GitHub Workflow Name (deprecated, raw).
    pub github_workflow_name: Option<String>,
    /// 1.3.6.1.4.1.57264.1.5 GitHub Workflow Repository (deprecated, raw).
    pub github_workflow_repository: Option<String>,
    /// 1.3.6.1.4.1.57264.1.6 GitHub Workflow Ref (deprecated, raw).
    pub github_workflow_ref: Option<String>,
}
