//! What an `ImagePolicy` requires of a signer, a provenance and an attestation, and the pure matching
//! of already verified facts against it: signer identities and Fulcio certificate extensions, SLSA
//! provenance (v0.2 and v1), and generic conditions on in-toto statements.
//!
//! No I/O and no cryptography happen here: the inputs were verified elsewhere. Every failed check
//! becomes a [`Mismatch`] that says what was expected and what was found, so a denial can be read
//! without the policy at hand. Regular expressions always match the whole value ([`FullMatch`]).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde_json::Value;

use super::certificate::SignerIdentity;

/// `predicateType` of SLSA provenance v0.2.
pub const SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
/// `predicateType` of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Longest rendering of a found JSON value in a [`Mismatch`], in characters.
const MAX_FOUND_CHARS: usize = 200;

/// One requirement that did not hold: `<field>: expected <expected>, found <found>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// What was compared (`certificate subject`, `extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14)`,
    /// `SLSA builder id`, `predicate.scanner.result.summary.CRITICAL`).
    pub field: String,
    /// What the policy asked for (a value, or `matching <regexp>`).
    pub expected: String,
    /// What was there (`nothing (…)` when absent).
    pub found: String,
}

impl Mismatch {
    fn new(field: impl Into<String>, expected: impl fmt::Display, found: impl Into<String>) -> Self {
        Mismatch { field: field.into(), expected: expected.to_string(), found: found.into() }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: expected {}, found {}", self.field, self.expected, self.found)
    }
}

/// A regular expression that must match the **whole** value: `text` is compiled as `^(?:text)$`.
///
/// cosign's `--certificate-identity-regexp` and policy-controller's `subjectRegExp` search anywhere
/// in the value; here `acme/api` does not match `evil/acme/api-fork`.
#[derive(Debug, Clone)]
pub struct FullMatch {
    text: String,
    regex: Regex,
}

impl FullMatch {
    /// Compiles `text` (Rust `regex` syntax) anchored at both ends.
    pub fn new(text: &str) -> Result<Self, regex::Error> {
        // Compiling the text alone first rejects unbalanced groups, which could otherwise escape the
        // anchoring group (`a)|(b`).
        Regex::new(text)?;
        let regex = Regex::new(&format!("^(?:{text})$"))?;
        Ok(FullMatch { text: text.to_owned(), regex })
    }

    /// Whether the whole of `value` matches.
    #[must_use]
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    /// The expression as written in the policy.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An expected string: exactly this value, or a value the whole of which matches an expression.
#[derive(Debug, Clone)]
pub enum StringMatch {
    /// Byte-for-byte equal.
    Exact(String),
    /// Matches as a whole.
    Regex(FullMatch),
}

impl StringMatch {
    /// Whether `value` satisfies the expectation.
    #[must_use]
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatch::Exact(expected) => expected == value,
            StringMatch::Regex(regex) => regex.is_match(value),
        }
    }
}

impl fmt::Display for StringMatch {
    /// The value, or `matching <regexp>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringMatch::Exact(value) => f.write_str(value),
            StringMatch::Regex(regex) => write!(f, "matching {}", regex.as_str()),
        }
    }
}

/// One accepted signer: an OIDC issuer and a certificate subject (SAN).
#[derive(Debug, Clone)]
pub struct IdentityMatch {
    /// The OIDC issuer (`https://token.actions.githubusercontent.com`).
    pub issuer: StringMatch,
    /// The certificate subject: a URI (workflow), an email, or a username.
    pub subject: StringMatch,
}

/// A Fulcio certificate extension a policy can require (`sigstore/fulcio` `docs/oid-info.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Extension {
    /// 1.3.6.1.4.1.57264.1.9
    BuildSignerUri,
    /// 1.3.6.1.4.1.57264.1.10
    BuildSignerDigest,
    /// 1.3.6.1.4.1.57264.1.11
    RunnerEnvironment,
    /// 1.3.6.1.4.1.57264.1.12
    SourceRepositoryUri,
    /// 1.3.6.1.4.1.57264.1.13
    SourceRepositoryDigest,
    /// 1.3.6.1.4.1.57264.1.14
    SourceRepositoryRef,
    /// 1.3.6.1.4.1.57264.1.15
    SourceRepositoryIdentifier,
    /// 1.3.6.1.4.1.57264.1.16
    SourceRepositoryOwnerUri,
    /// 1.3.6.1.4.1.57264.1.17
    SourceRepositoryOwnerIdentifier,
    /// 1.3.6.1.4.1.57264.1.18
    BuildConfigUri,
    /// 1.3.6.1.4.1.57264.1.19
    BuildConfigDigest,
    /// 1.3.6.1.4.1.57264.1.20
    BuildTrigger,
    /// 1.3.6.1.4.1.57264.1.21
    RunInvocationUri,
    /// 1.3.6.1.4.1.57264.1.22
    SourceRepositoryVisibility,
    /// 1.3.6.1.4.1.57264.1.23
    DeploymentEnvironment,
    /// 1.3.6.1.4.1.57264.1.2 (deprecated)
    GithubWorkflowTrigger,
    /// 1.3.6.1.4.1.57264.1.3 (deprecated)
    GithubWorkflowSha,
    /// 1.3.6.1.4.1.57264.1.4 (deprecated)
    GithubWorkflowName,
    /// 1.3.6.1.4.1.57264.1.5 (deprecated)
    GithubWorkflowRepository,
    /// 1.3.6.1.4.1.57264.1.6 (deprecated)
    GithubWorkflowRef,
}

impl Extension {
    /// Every extension, in the order policies list them.
    pub const ALL: [Extension; 20] = [
        Extension::BuildSignerUri,
        Extension::BuildSignerDigest,
        Extension::RunnerEnvironment,
        Extension::SourceRepositoryUri,
        Extension::SourceRepositoryDigest,
        Extension::SourceRepositoryRef,
        Extension::SourceRepositoryIdentifier,
        Extension::SourceRepositoryOwnerUri,
        Extension::SourceRepositoryOwnerIdentifier,
        Extension::BuildConfigUri,
        Extension::BuildConfigDigest,
        Extension::BuildTrigger,
        Extension::RunInvocationUri,
        Extension::SourceRepositoryVisibility,
        Extension::DeploymentEnvironment,
        Extension::GithubWorkflowTrigger,
        Extension::GithubWorkflowSha,
        Extension::GithubWorkflowName,
        Extension::GithubWorkflowRepository,
        Extension::GithubWorkflowRef,
    ];

    /// The key in `keyless.extensions` (`sourceRepositoryURI`).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// The certificate extension OID (`1.3.6.1.4.1.57264.1.12`).
    #[must_use]
    pub fn oid(self) -> &'static str {
        self.describe().1
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Extension::BuildSignerUri => ("buildSignerURI", "1.3.6.1.4.1.57264.1.9"),
            Extension::BuildSignerDigest => ("buildSignerDigest", "1.3.6.1.4.1.57264.1.10"),
            Extension::RunnerEnvironment => ("runnerEnvironment", "1.3.6.1.4.1.57264.1.11"),
            Extension::SourceRepositoryUri => ("sourceRepositoryURI", "1.3.6.1.4.1.57264.1.12"),
            Extension::SourceRepositoryDigest => ("sourceRepositoryDigest", "1.3.6.1.4.1.57264.1.13"),
            Extension::SourceRepositoryRef => ("sourceRepositoryRef", "1.3.6.1.4.1.57264.1.14"),
            Extension::SourceRepositoryIdentifier => ("sourceRepositoryIdentifier", "1.3.6.1.4.1.57264.1.15"),
            Extension::SourceRepositoryOwnerUri => ("sourceRepositoryOwnerURI", "1.3.6.1.4.1.57264.1.16"),
            Extension::SourceRepositoryOwnerIdentifier => ("sourceRepositoryOwnerIdentifier", "1.3.6.1.4.1.57264.1.17"),
            Extension::BuildConfigUri => ("buildConfigURI", "1.3.6.1.4.1.57264.1.18"),
            Extension::BuildConfigDigest => ("buildConfigDigest", "1.3.6.1.4.1.57264.1.19"),
            Extension::BuildTrigger => ("buildTrigger", "1.3.6.1.4.1.57264.1.20"),
            Extension::RunInvocationUri => ("runInvocationURI", "1.3.6.1.4.1.57264.1.21"),
            Extension::SourceRepositoryVisibility => ("sourceRepositoryVisibility", "1.3.6.1.4.1.57264.1.22"),
            Extension::DeploymentEnvironment => ("deploymentEnvironment", "1.3.6.1.4.1.57264.1.23"),
            Extension::GithubWorkflowTrigger => ("githubWorkflowTrigger", "1.3.6.1.4.1.57264.1.2"),
            Extension::GithubWorkflowSha => ("githubWorkflowSHA", "1.3.6.1.4.1.57264.1.3"),
            Extension::GithubWorkflowName => ("githubWorkflowName", "1.3.6.1.4.1.57264.1.4"),
            Extension::GithubWorkflowRepository => ("githubWorkflowRepository", "1.3.6.1.4.1.57264.1.5"),
            Extension::GithubWorkflowRef => ("githubWorkflowRef", "1.3.6.1.4.1.57264.1.6"),
        }
    }

    /// The extension's value in a certificate, when present.
    #[must_use]
    pub fn value(self, identity: &SignerIdentity) -> Option<&str> {
        let value = match self {
            Extension::BuildSignerUri => &identity.build_signer_uri,
            Extension::BuildSignerDigest => &identity.build_signer_digest,
            Extension::RunnerEnvironment => &identity.runner_environment,
            Extension::SourceRepositoryUri => &identity.source_repository_uri,
            Extension::SourceRepositoryDigest => &identity.source_repository_digest,
            Extension::SourceRepositoryRef => &identity.source_repository_ref,
            Extension::SourceRepositoryIdentifier => &identity.source_repository_identifier,
            Extension::SourceRepositoryOwnerUri => &identity.source_repository_owner_uri,
            Extension::SourceRepositoryOwnerIdentifier => &identity.source_repository_owner_identifier,
            Extension::BuildConfigUri => &identity.build_config_uri,
            Extension::BuildConfigDigest => &identity.build_config_digest,
            Extension::BuildTrigger => &identity.build_trigger,
            Extension::RunInvocationUri => &identity.run_invocation_uri,
            Extension::SourceRepositoryVisibility => &identity.source_repository_visibility,
            Extension::DeploymentEnvironment => &identity.deployment_environment,
            Extension::GithubWorkflowTrigger => &identity.github_workflow_trigger,
            Extension::GithubWorkflowSha => &identity.github_workflow_sha,
            Extension::GithubWorkflowName => &identity.github_workflow_name,
            Extension::GithubWorkflowRepository => &identity.github_workflow_repository,
            Extension::GithubWorkflowRef => &identity.github_workflow_ref,
        };
        value.as_deref()
    }
}

impl FromStr for Extension {
    type Err = ();

    /// Parses a policy key (`sourceRepositoryRef`), case-sensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Extension::ALL.into_iter().find(|e| e.name() == s).ok_or(())
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One required certificate extension value.
#[derive(Debug, Clone)]
pub struct ExtensionMatch {
    /// Which extension.
    pub extension: Extension,
    /// What it must hold.
    pub expected: StringMatch,
}

/// Whether a keyless certificate must carry an embedded SCT from a certificate transparency log of the
/// trust root (policy field `keyless.sct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SctRequirement {
    /// At least one embedded SCT must verify with a CT log of the trust root, as cosign and
    /// policy-controller require by default.
    Required,
    /// Embedded SCTs are not looked at (the default).
    #[default]
    Ignore,
}

/// What a keyless (Fulcio certificate) signer must be: one of `identities`, and every extension.
#[derive(Debug, Clone)]
pub struct KeylessAuthority {
    /// Accepted issuer/subject pairs (any of them).
    pub identities: Vec<IdentityMatch>,
    /// Required extension values (all of them).
    pub extensions: Vec<ExtensionMatch>,
    /// Whether the certificate must carry a verified SCT.
    pub sct: SctRequirement,
}

/// Checks a certificate's signer against a keyless authority: some identity must match (issuer and
/// subject), and every required extension must hold.
///
/// When no identity matches, the mismatches of the closest ones (fewest differences) are returned,
/// each tagged with its index when the authority lists several.
pub fn match_identity(authority: &KeylessAuthority, identity: &SignerIdentity) -> Result<(), Vec<Mismatch>> {
    let mut mismatches = Vec::new();
    let per_identity: Vec<Vec<Mismatch>> =
        authority.identities.iter().map(|expected| identity_mismatches(expected, identity)).collect();
    if per_identity.is_empty() {
        mismatches.push(Mismatch::new(
            "certificate identity",
            "an identity listed by the policy",
            "an authority that lists none",
        ));
    } else if !per_identity.iter().any(Vec::is_empty) {
        let closest = per_identity.iter().map(Vec::len).min().unwrap_or_default();
        let several = per_identity.len() > 1;
        for (index, list) in per_identity.into_iter().enumerate().filter(|(_, list)| list.len() == closest) {
            mismatches.extend(list.into_iter().map(|mut m| {
                if several {
                    m.field = format!("{} (identities[{index}])", m.field);
                }
                m
            }));
        }
    }
    for required in &authority.extensions {
        let extension = required.extension;
        let found = extension.value(identity);
        if !found.is_some_and(|value| required.expected.matches(value)) {
            mismatches.push(Mismatch::new(
                format!("extension {} ({})", extension.name(), extension.oid()),
                &required.expected,
                found.unwrap_or("nothing (extension not in the certificate)"),
            ));
        }
    }
    if mismatches.is_empty() { Ok(()) } else { Err(mismatches) }
}

fn identity_mismatches(expected: &IdentityMatch, identity: &SignerIdentity) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let checks = [
        (
            "certificate issuer",
            &expected.issuer,
            identity.issuer.as_deref(),
            "nothing (no OIDC issuer extension in the certificate)",
        ),
        (
            "certificate subject",
            &expected.subject,
            identity.subject.as_deref(),
            "nothing (no subject alternative name in the certificate)",
        ),
    ];
    for (field, wanted, found, absent) in checks {
        if !found.is_some_and(|value| wanted.matches(value)) {
            out.push(Mismatch::new(field, wanted, found.unwrap_or(absent)));
        }
    }
    out
}

/// What a SLSA provenance must say. Absent fields are not checked.
#[derive(Debug, Clone, Default)]
pub struct SlsaRequirements {
    /// The builder id (`runDetails.builder.id` / `builder.id`).
    pub builder_id: Option<StringMatch>,
    /// The build type.
    pub build_type: Option<StringMatch>,
    /// The source repository, compared after normalisation (no `git+` prefix, no `@ref`), on both the
    /// trigger and the first material / resolved dependency.
    pub source_repository: Option<StringMatch>,
    /// The git ref that was built (`refs/tags/v1.4.0`).
    pub source_ref: Option<StringMatch>,
    /// The git commit that was built.
    pub source_digest: Option<StringMatch>,
    /// The path of the workflow that ran (`.github/workflows/release.yml`).
    pub workflow_path: Option<StringMatch>,
}

/// What a SLSA provenance says, as read by [`match_provenance`]; also kept as evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The builder id.
    pub builder_id: Option<String>,
    /// The build type.
    pub build_type: Option<String>,
    /// The source repository of the trigger (else of the first material), normalised.
    pub source_repository: Option<String>,
    /// The git ref.
    pub source_ref: Option<String>,
    /// The git commit.
    pub source_digest: Option<String>,
    /// The workflow path.
    pub workflow_path: Option<String>,
}

/// One value read from a provenance, with where it was looked for (for "found nothing" messages).
struct Read {
    value: Option<String>,
    from: &'static str,
}

impl Read {
    fn at(statement: &Value, from: &'static str) -> Self {
        let value = lookup_dotted(statement, from).and_then(Value::as_str).map(str::to_owned);
        Read { value, from }
    }

    fn first_of(statement: &Value, paths: &[&'static str]) -> Self {
        paths
            .iter()
            .map(|path| Read::at(statement, path))
            .find(|read| read.value.is_some())
            .unwrap_or(Read { value: None, from: paths.first().copied().unwrap_or_default() })
    }

    fn absent(&self) -> String {
        format!("nothing (no {} in the provenance)", self.from)
    }
}

/// The values a provenance version keeps in different places.
struct ProvenanceFields {
    builder_id: Read,
    build_type: Read,
    trigger: Read,
    material: Read,
    source_ref: Read,
    source_digest: Read,
    workflow_path: Read,
}

fn provenance_fields(version: &str, statement: &Value) -> ProvenanceFields {
    if version == SLSA_PROVENANCE_V0_2 {
        let trigger = Read::at(statement, "predicate.invocation.configSource.uri");
        let source_ref = if let Some(reference) = trigger.value.as_deref().and_then(|uri| split_ref(uri).1) {
            Read { value: Some(reference.to_owned()), from: trigger.from }
        } else {
            Read {
                value: Read::at(statement, "predicate.invocation.environment.github_ref").value,
                from: "ref in predicate.invocation.configSource.uri nor predicate.invocation.environment.github_ref",
            }
        };
        ProvenanceFields {
            builder_id: Read::at(statement, "predicate.builder.id"),
            build_type: Read::at(statement, "predicate.buildType"),
            trigger,
            material: Read::at(statement, "predicate.materials[0].uri"),
            source_ref,
            source_digest: Read::at(statement, "predicate.invocation.configSource.digest.sha1"),
            workflow_path: Read::at(statement, "predicate.invocation.configSource.entryPoint"),
        }
    } else {
        ProvenanceFields {
            builder_id: Read::at(statement, "predicate.runDetails.builder.id"),
            build_type: Read::at(statement, "predicate.buildDefinition.buildType"),
            trigger: Read::at(statement, "predicate.buildDefinition.externalParameters.workflow.repository"),
            material: Read::at(statement, "predicate.buildDefinition.resolvedDependencies[0].uri"),
            source_ref: Read::at(statement, "predicate.buildDefinition.externalParameters.workflow.ref"),
            source_digest: Read::first_of(
                statement,
                &[
                    "predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit",
                    "predicate.buildDefinition.resolvedDependencies[0].digest.sha1",
                ],
            ),
            workflow_path: Read::at(statement, "predicate.buildDefinition.externalParameters.workflow.path"),
        }
    }
}

/// Reads a SLSA provenance statement (v0.2 or v1, by `predicate_type`) and checks it against `slsa`.
///
/// The source repository must hold for both the trigger (v0.2 `invocation.configSource.uri`, v1
/// `externalParameters.workflow.repository`) and the first material (v0.2 `materials[0].uri`, v1
/// `resolvedDependencies[0].uri`), as slsa-verifier requires. The ref is the `@ref` of v0.2's
/// `configSource.uri` (else `invocation.environment.github_ref`), or v1's
/// `externalParameters.workflow.ref`.
pub fn match_provenance(
    slsa: &SlsaRequirements,
    predicate_type: &str,
    statement: &Value,
) -> Result<Provenance, Vec<Mismatch>> {
    if predicate_type != SLSA_PROVENANCE_V0_2 && predicate_type != SLSA_PROVENANCE_V1 {
        return Err(vec![Mismatch::new(
            "SLSA provenance",
            format!("predicateType {SLSA_PROVENANCE_V0_2} or {SLSA_PROVENANCE_V1}"),
            predicate_type,
        )]);
    }
    let mut mismatches = Vec::new();
    if let Some(stated) = statement.get("predicateType").and_then(Value::as_str)
        && stated != predicate_type
    {
        mismatches.push(Mismatch::new("statement predicateType", predicate_type, stated));
    }
    let fields = provenance_fields(predicate_type, statement);
    let trigger = fields.trigger.value.as_deref().map(normalise_repository);
    let material = fields.material.value.as_deref().map(normalise_repository);

    let plain = [
        ("SLSA builder id", &slsa.builder_id, &fields.builder_id),
        ("SLSA build type", &slsa.build_type, &fields.build_type),
    ];
    for (label, wanted, read) in plain {
        check_read(&mut mismatches, label, wanted.as_ref(), read);
    }
    if let Some(wanted) = &slsa.source_repository {
        let wanted_normalised = match wanted {
            StringMatch::Exact(value) => StringMatch::Exact(normalise_repository(value).to_owned()),
            regex @ StringMatch::Regex(_) => regex.clone(),
        };
        for (role, found, read) in [("trigger", trigger, &fields.trigger), ("material", material, &fields.material)] {
            if !found.is_some_and(|value| wanted_normalised.matches(value)) {
                mismatches.push(Mismatch::new(
                    format!("SLSA source repository ({role}, {})", read.from),
                    wanted,
                    found.map_or_else(|| read.absent(), str::to_owned),
                ));
            }
        }
    }
    let rest = [
        ("SLSA source ref", &slsa.source_ref, &fields.source_ref),
        ("SLSA source digest", &slsa.source_digest, &fields.source_digest),
        ("SLSA workflow path", &slsa.workflow_path, &fields.workflow_path),
    ];
    for (label, wanted, read) in rest {
        check_read(&mut mismatches, label, wanted.as_ref(), read);
    }
    if !mismatches.is_empty() {
        return Err(mismatches);
    }
    Ok(Provenance {
        builder_id: fields.builder_id.value,
        build_type: fields.build_type.value,
        source_repository: trigger.or(material).map(str::to_owned),
        source_ref: fields.source_ref.value,
        source_digest: fields.source_digest.value,
        workflow_path: fields.workflow_path.value,
    })
}

fn check_read(mismatches: &mut Vec<Mismatch>, label: &str, wanted: Option<&StringMatch>, read: &Read) {
    let Some(wanted) = wanted else { return };
    if !read.value.as_deref().is_some_and(|value| wanted.matches(value)) {
        mismatches.push(Mismatch::new(label, wanted, read.value.clone().unwrap_or_else(|| read.absent())));
    }
}

/// `git+https://github.com/acme/api@refs/tags/v1` → `https://github.com/acme/api`.
#[must_use]
pub fn normalise_repository(uri: &str) -> &str {
    split_ref(uri.strip_prefix("git+").unwrap_or(uri)).0
}

/// Splits `repository@ref` at the first `@` after the URI's authority (so `git@host` stays whole).
fn split_ref(uri: &str) -> (&str, Option<&str>) {
    let path_start = uri.find("://").map_or(0, |scheme_end| {
        let authority = scheme_end + 3;
        uri[authority..].find('/').map_or(uri.len(), |slash| authority + slash)
    });
    match uri[path_start..].find('@') {
        Some(at) => (&uri[..path_start + at], Some(&uri[path_start + at + 1..])),
        None => (uri, None),
    }
}

/// A path into a JSON document: dotted keys from the root, `[n]` indices, `"quoted.keys"` for keys
/// that contain dots, brackets or quotes (`predicate.annotations."org.opencontainers.image.source"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses a path; the message says what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        let mut chars = text.char_indices().peekable();
        loop {
            // One segment: a key (bare or quoted), then any number of [n].
            let key = match chars.peek() {
                None => return Err(format!("empty segment at the end of {text:?}")),
                Some(&(_, '"')) => {
                    chars.next();
                    let mut key = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(format!("unclosed quote in {text:?}")),
                            Some((_, '"')) => break,
                            Some((_, '\\')) => match chars.next() {
                                Some((_, c @ ('"' | '\\'))) => key.push(c),
                                _ => {
                                    return Err(format!("in {text:?}: only \\\" and \\\\ are escapes in quoted keys"));
                                }
                            },
                            Some((_, c)) => key.push(c),
                        }
                    }
                    key
                }
                Some(&(at, _)) => {
                    let mut key = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if matches!(c, '.' | '[' | ']' | '"') {
                            break;
                        }
                        key.push(c);
                        chars.next();
                    }
                    if key.is_empty() {
                        return Err(format!("empty segment at offset {at} of {text:?}"));
                    }
                    key
                }
            };
            steps.push(Step::Key(key));
            while let Some(&(at, '[')) = chars.peek() {
                chars.next();
                let mut digits = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c == ']' {
                        break;
                    }
                    digits.push(c);
                    chars.next();
                }
                if chars.next().is_none() {
                    return Err(format!("unclosed [ at offset {at} of {text:?}"));
                }
                let index = digits.parse::<usize>().map_err(|_| {
                    format!("[{digits}] at offset {at} of {text:?} is not an index (expected [0], [1], …)")
                })?;
                steps.push(Step::Index(index));
            }
            match chars.next() {
                None => break,
                Some((_, '.')) => {}
                Some((at, c)) => return Err(format!("unexpected '{c}' at offset {at} of {text:?}")),
            }
        }
        Ok(JsonPath { text: text.to_owned(), steps })
    }

    /// The first key (paths always start with one).
    #[must_use]
    pub fn root_key(&self) -> &str {
        match self.steps.first() {
            Some(Step::Key(key)) => key,
            _ => "",
        }
    }

    /// The value at this path, when every step exists.
    #[must_use]
    pub fn lookup<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(root, |value, step| match step {
            Step::Key(key) => value.as_object()?.get(key),
            Step::Index(index) => value.as_array()?.get(*index),
        })
    }

    /// The path as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Looks up a path known to be valid (the fixed SLSA field paths).
fn lookup_dotted<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    JsonPath::parse(path).ok()?.lookup(root)
}

/// What a condition requires of the value at its path.
#[derive(Debug, Clone)]
pub enum ConditionTest {
    /// The value equals this JSON scalar (numbers compare by value: `0` equals `0.0`).
    Equals(Value),
    /// The value is a string, number or boolean whose text matches as a whole.
    Matches(FullMatch),
    /// `true`: a value other than `null` is there; `false`: nothing (or `null`) is.
    Exists(bool),
}

/// One generic check on an in-toto statement.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Where, from the statement root (`predicate.scanner.result.summary.CRITICAL`).
    pub path: JsonPath,
    /// What must hold there.
    pub test: ConditionTest,
}

/// Checks every condition against a statement; all must hold.
pub fn match_conditions(conditions: &[Condition], statement: &Value) -> Result<(), Vec<Mismatch>> {
    let mut mismatches = Vec::new();
    for condition in conditions {
        let found = condition.path.lookup(statement).filter(|v| !v.is_null());
        let field = condition.path.as_str();
        let absent = || "nothing (path not in the statement)".to_owned();
        match &condition.test {
            ConditionTest::Equals(expected) => {
                let holds = match found {
                    Some(value) => json_equal(value, expected),
                    None => expected.is_null(),
                };
                if !holds {
                    mismatches.push(Mismatch::new(field, render(expected), found.map_or_else(absent, render)));
                }
            }
            ConditionTest::Matches(regex) => {
                if !found.and_then(scalar_text).is_some_and(|text| regex.is_match(&text)) {
                    mismatches.push(Mismatch::new(
                        field,
                        format!("matching {}", regex.as_str()),
                        found.map_or_else(absent, render),
                    ));
                }
            }
            ConditionTest::Exists(true) => {
                if found.is_none() {
                    mismatches.push(Mismatch::new(field, "a value", absent()));
                }
            }
            ConditionTest::Exists(false) => {
                if let Some(value) = found {
                    mismatches.push(Mismatch::new(field, "nothing", render(value)));
                }
            }
        }
    }
    if mismatches.is_empty() { Ok(()) } else { Err(mismatches) }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => x.total_cmp(&y) == Ordering::Equal,
                    _ => false,
                }
            }
        }
        _ => a == b,
    }
}

/// The text a regular expression is matched against: strings as they are, numbers and booleans as
/// written in JSON.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Compact JSON, shortened for messages.
fn render(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_FOUND_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_FOUND_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests;
