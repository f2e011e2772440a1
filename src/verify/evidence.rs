//! What a verification proved about one image, and why one failed: the data shown in reports, by
//! `syncgate verify`, and over the API. Plain serialisable values with a stable JSON shape; evidence
//! also reads back from that shape (the evidence cache stores it).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::certificate::SignerIdentity;
use super::require::Provenance;
use super::tlog::Logged;

/// Who signed: a public key, or a keyless (Fulcio) certificate identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Signer {
    /// A key from the policy.
    Key {
        /// `sha256:` of the key's SubjectPublicKeyInfo.
        fingerprint: String,
    },
    /// A short-lived certificate from a trusted certificate authority.
    Keyless {
        /// What the certificate says about the signer.
        #[serde(flatten)]
        identity: Box<SignerIdentity>,
        /// The certificate authority it chains to.
        #[serde(rename = "certificateAuthority")]
        certificate_authority: String,
    },
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Key { fingerprint } => write!(f, "key {fingerprint}"),
            Signer::Keyless { identity, .. } => {
                write!(f, "{}", identity.subject.as_deref().unwrap_or("(no subject)"))?;
                if let Some(issuer) = &identity.issuer {
                    write!(f, " (issuer {issuer})")?;
                }
                Ok(())
            }
        }
    }
}

/// One authority's signature that was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    /// The authority (from the policy) it satisfied.
    pub authority: String,
    /// Who signed.
    pub signer: Signer,
    /// Where it was found (`sha256-….sig layer 0`, `referrer sha256:…`).
    pub source: String,
    /// The transparency log entry, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Logged>,
}

/// One attestation that was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// The attestation requirement (from the policy) it satisfied.
    pub name: String,
    /// Its predicate type.
    pub predicate_type: String,
    /// The authority that signed it.
    pub authority: String,
    /// Who signed.
    pub signer: Signer,
    /// Where it was found.
    pub source: String,
    /// The transparency log entry, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Logged>,
    /// What the SLSA provenance says, for provenance predicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Everything proved about one image digest under one `ImagePolicy`. Read back (JSON) from the
/// evidence cache too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The image, normalised, without tag or digest.
    pub image: String,
    /// The digest everything was verified against (the one written back).
    pub digest: String,
    /// The `ImagePolicy`.
    pub policy: String,
    /// The policy's content hash (what the evidence is cached under, with the digest).
    pub policy_hash: String,
    /// The verified signatures, one per satisfied authority.
    pub signatures: Vec<Signature>,
    /// The verified attestations, one per attestation requirement.
    pub attestations: Vec<Attestation>,
}

impl Evidence {
    /// One line for humans: `signed by … ; provenance …`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for signature in &self.signatures {
            let mut part = format!("signature by {} [{}]", signature.signer, signature.authority);
            if let Some(log) = &signature.log {
                let _ = write!(part, ", log index {} at {}", log.log_index, log.integrated_time);
            }
            parts.push(part);
        }
        for attestation in &self.attestations {
            let mut part = format!("{} ({}) by {}", attestation.name, attestation.predicate_type, attestation.signer);
            if let Some(provenance) = &attestation.provenance {
                if let Some(builder) = &provenance.builder_id {
                    let _ = write!(part, ", builder {builder}");
                }
                if let Some(repository) = &provenance.source_repository {
                    let _ = write!(part, ", source {repository}");
                    if let Some(digest) = &provenance.source_digest {
                        let _ = write!(part, "@{digest}");
                    }
                }
            }
            parts.push(part);
        }
        parts.join("; ")
    }
}

/// Why an image did not satisfy an `ImagePolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// Which rule it breaks: `image-signature` or `image-attestation`.
    pub rule: &'static str,
    /// One sentence naming what was required and what was found.
    pub message: String,
    /// Whether it could not be decided (registry failure, unreadable material) rather than refused.
    pub undecided: bool,
}

/// The result of one `ImagePolicy` in `syncgate verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResult {
    /// The policy.
    pub policy: String,
    /// Its mode (`report` policies never make `verify` fail).
    pub mode: crate::report::Mode,
    /// Whether the image satisfies it.
    pub verified: bool,
    /// What was proved, when it is satisfied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Why not, when it is not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<Refusal>,
}

/// What `syncgate verify IMAGE --policy …` found: one image, pinned, against every matching policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The image as given.
    pub image: String,
    /// The digest it resolved to (what was verified).
    pub digest: String,
    /// Whether every enforced policy is satisfied (and, with no matching policy, `noMatch` allows).
    pub verified: bool,
    /// `noMatch` of the set, when no policy matches the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_match: Option<String>,
    /// One result per matching policy.
    pub results: Vec<PolicyResult>,
}

impl Verification {
    /// The view of `check` (what [`crate::pipeline::verify_all`] said) for `image` pinned to `digest`.
    #[must_use]
    pub fn new(
        image: &crate::image::ImageRef,
        digest: &crate::image::Digest,
        check: Option<super::ImageCheck>,
    ) -> Self {
        let mut out = Verification {
            image: image.original().to_owned(),
            digest: digest.to_string(),
            verified: false,
            no_match: None,
            results: Vec::new(),
        };
        match check {
            None => {}
            Some(super::ImageCheck::NoMatch(no_match)) => {
                out.verified = no_match == crate::policy::image::NoMatch::Allow;
                out.no_match = Some(no_match.to_string());
            }
            Some(super::ImageCheck::Checked(outcomes)) => {
                out.verified = true;
                for outcome in outcomes {
                    let verified = outcome.outcome.is_ok();
                    if !verified && outcome.mode == crate::report::Mode::Enforce {
                        out.verified = false;
                    }
                    let (evidence, refusals) = match outcome.outcome {
                        Ok(evidence) => (Some(evidence), Vec::new()),
                        Err(refusals) => (None, refusals),
                    };
                    out.results.push(PolicyResult {
                        policy: outcome.policy.to_string(),
                        mode: outcome.mode,
                        verified,
                        evidence,
                        refusals,
                    });
                }
            }
        }
        out
    }

    /// Human-readable: a verdict line, then per policy what was proved or refused.
    pub fn write_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let verdict = if self.verified { "verified" } else { "not verified" };
        writeln!(out, "{verdict}: {}@{}", self.image, self.digest)?;
        if let Some(no_match) = &self.no_match {
            writeln!(out, "  no ImagePolicy matches the image; noMatch is {no_match}")?;
        }
        for result in &self.results {
            let state = if result.verified { "satisfied" } else { "not satisfied" };
            writeln!(out, "  ImagePolicy {} ({}): {state}", result.policy, result.mode)?;
            if let Some(evidence) = &result.evidence {
                for signature in &evidence.signatures {
                    writeln!(out, "    signature [{}]: {}", signature.authority, signature.signer)?;
                    write_signer_details(out, &signature.signer)?;
                    writeln!(out, "      found at {}", signature.source)?;
                    if let Some(log) = &signature.log {
                        writeln!(
                            out,
                            "      logged in {} at index {}, {}",
                            log.log_url, log.log_index, log.integrated_time
                        )?;
                    }
                }
                for attestation in &evidence.attestations {
                    writeln!(
                        out,
                        "    attestation {} ({}) [{}]: {}",
                        attestation.name, attestation.predicate_type, attestation.authority, attestation.signer
                    )?;
                    if let Some(provenance) = &attestation.provenance {
                        for (label, value) in [
                            ("builder", &provenance.builder_id),
                            ("build type", &provenance.build_type),
                            ("source", &provenance.source_repository),
                            ("source ref", &provenance.source_ref),
                            ("source digest", &provenance.source_digest),
                            ("workflow", &provenance.workflow_path),
                        ] {
                            if let Some(value) = value {
                                writeln!(out, "      {label}: {value}")?;
                            }
                        }
                    }
                    writeln!(out, "      found at {}", attestation.source)?;
                    if let Some(log) = &attestation.log {
                        writeln!(
                            out,
                            "      logged in {} at index {}, {}",
                            log.log_url, log.log_index, log.integrated_time
                        )?;
                    }
                }
            }
            for refusal in &result.refusals {
                writeln!(out, "    {}: {}", refusal.rule, refusal.message)?;
            }
        }
        Ok(())
    }

    /// Pretty JSON with a trailing newline.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }
}

/// The workflow, source and builder lines of a keyless signer.
fn write_signer_details(out: &mut dyn std::io::Write, signer: &Signer) -> std::io::Result<()> {
    let Signer::Keyless { identity, certificate_authority } = signer else { return Ok(()) };
    for (label, value) in [
        ("source repository", &identity.source_repository_uri),
        ("source ref", &identity.source_repository_ref),
        ("source commit", &identity.source_repository_digest),
        ("build signer", &identity.build_signer_uri),
        ("build config", &identity.build_config_uri),
        ("runner", &identity.runner_environment),
    ] {
        if let Some(value) = value {
            writeln!(out, "      {label}: {value}")?;
        }
    }
    writeln!(out, "      certificate authority: {certificate_authority}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tlog::LogProof;

    /// Evidence with every kind of field set: a keyless and a key signer, a log entry, provenance.
    fn full() -> Evidence {
        let identity = SignerIdentity {
            subject: Some("https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.0".to_owned()),
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            source_repository_uri: Some("https://github.com/acme/api".to_owned()),
            runner_environment: Some("github-hosted".to_owned()),
            ..SignerIdentity::default()
        };
        let log = Logged {
            log_index: 42,
            log_id: "c0ffee".to_owned(),
            log_url: "https://rekor.sigstore.dev".to_owned(),
            integrated_time: "2025-03-01T12:34:56Z".parse().unwrap(),
            proof: LogProof::Both,
        };
        let keyless =
            Signer::Keyless { identity: Box::new(identity), certificate_authority: "fulcio.sigstore.dev".to_owned() };
        Evidence {
            image: "ghcr.io/acme/api".to_owned(),
            digest: format!("sha256:{}", "a".repeat(64)),
            policy: "acme-release".to_owned(),
            policy_hash: format!("sha256:{}", "b".repeat(64)),
            signatures: vec![
                Signature {
                    authority: "release-workflow".to_owned(),
                    signer: keyless.clone(),
                    source: "sha256-….sig layer 0".to_owned(),
                    log: Some(log.clone()),
                },
                Signature {
                    authority: "release-key".to_owned(),
                    signer: Signer::Key { fingerprint: "sha256:00ff".to_owned() },
                    source: "referrer sha256:01".to_owned(),
                    log: None,
                },
            ],
            attestations: vec![Attestation {
                name: "provenance".to_owned(),
                predicate_type: "https://slsa.dev/provenance/v1".to_owned(),
                authority: "release-workflow".to_owned(),
                signer: keyless,
                source: "sha256-….att layer 0".to_owned(),
                log: Some(log),
                provenance: Some(Provenance {
                    builder_id: Some("https://github.com/slsa-framework/slsa-github-generator".to_owned()),
                    source_digest: Some("5a1d3e4b".to_owned()),
                    ..Provenance::default()
                }),
            }],
        }
    }

    #[test]
    fn evidence_reads_back_from_its_own_json_unchanged() {
        let evidence = full();
        let json = serde_json::to_string(&evidence).unwrap();
        let read: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(read, evidence);
        assert_eq!(serde_json::to_string(&read).unwrap(), json, "the same bytes again");
    }
}
