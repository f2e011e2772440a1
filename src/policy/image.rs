//! The `ImagePolicy` document: which images need which signatures (keys or keyless identities with
//! Fulcio extensions) and attestations (SLSA provenance, generic conditions), parsed strictly into an
//! [`ImagePolicy`].
//!
//! Owns the schema and its validation, and reads the files a policy names (public keys, the trust
//! root, a TUF repository's initial root) once, at load, so a bad file is a load error and the policy
//! hash covers what was read. It verifies nothing and fetches nothing: matching lives in
//! [`crate::verify::require`], TUF fetching in [`crate::verify::tuf`].

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::document::{Doc, Pattern, PolicyError, RawMetadata, Rewrite, json_type};
use crate::image::ImageRef;
use crate::report::{Mode, RuleInfo, SourceLocation};
use crate::verify::key::PublicKey;
use crate::verify::require::{
    Condition, ConditionTest, Extension, ExtensionMatch, FullMatch, IdentityMatch, JsonPath, KeylessAuthority,
    SLSA_PROVENANCE_V0_2, SLSA_PROVENANCE_V1, SctRequirement, SlsaRequirements, StringMatch,
};
use crate::verify::trust::TrustRoot;
use crate::verify::tuf::{self, TufSource};

/// Rule id of findings about an image's signatures (no authority satisfied, too few satisfied).
pub const IMAGE_SIGNATURE: &str = "image-signature";
/// Rule id of findings about an image's attestations (missing, unsigned, provenance or conditions unmet).
pub const IMAGE_ATTESTATION: &str = "image-attestation";
/// Rule id of findings about images that no `ImagePolicy` matches (see [`NoMatch`]).
pub const IMAGE_POLICY_MATCH: &str = "image-policy-match";

/// The rules `ImagePolicy` documents produce, for reports and `PolicyException` validation.
pub const RULES: [RuleInfo; 3] = [
    RuleInfo {
        id: IMAGE_SIGNATURE,
        summary: "Images must be signed by the authorities their ImagePolicy names",
        help: "Sign the image digest with the key or the CI identity the ImagePolicy lists (cosign sign), with a transparency log entry unless the authority says transparencyLog: optional.",
    },
    RuleInfo {
        id: IMAGE_ATTESTATION,
        summary: "Images must carry the attestations their ImagePolicy requires",
        help: "Attach the attestation (cosign attest, or a provenance generator such as slsa-github-generator or actions/attest-build-provenance) signed by an accepted authority, built from the required source, builder and workflow.",
    },
    RuleInfo {
        id: IMAGE_POLICY_MATCH,
        summary: "Images must be covered by an ImagePolicy",
        help: "Add the image to the spec.images globs of an ImagePolicy, or set spec.noMatch to warn or allow on every ImagePolicy of the set.",
    },
];

/// Largest key or trust-root file read, in bytes.
const MAX_REFERENCED_FILE: u64 = 4 * 1024 * 1024;

/// The keys an in-toto statement has at its root; condition paths start with one of them.
const STATEMENT_KEYS: [&str; 4] = ["_type", "subject", "predicateType", "predicate"];

/// What happens to an image that no `ImagePolicy` of the set matches.
///
/// Ordered from the most lenient to the strictest: the set's effective value is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoMatch {
    /// Allowed without a finding.
    Allow,
    /// Allowed, with a warning.
    Warn,
    /// Denied (the default).
    #[default]
    Deny,
}

impl NoMatch {
    /// Lower-case name as used in policies.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NoMatch::Allow => "allow",
            NoMatch::Warn => "warn",
            NoMatch::Deny => "deny",
        }
    }

    /// The mode an unmatched image's finding runs in: `warn` reports, `deny` (and `allow`, which
    /// records a pass instead) enforce.
    #[must_use]
    pub fn mode(self) -> Mode {
        match self {
            NoMatch::Warn => Mode::Report,
            NoMatch::Allow | NoMatch::Deny => Mode::Enforce,
        }
    }
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many of a policy's authorities must be satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Require {
    /// At least one (the default).
    #[default]
    Any,
    /// Every one.
    All,
    /// At least this many (1 ..= number of authorities).
    AtLeast(usize),
}

impl Require {
    /// The number of authorities that must be satisfied, out of `authorities`.
    #[must_use]
    pub fn threshold(self, authorities: usize) -> usize {
        match self {
            Require::Any => 1,
            Require::All => authorities,
            Require::AtLeast(n) => n,
        }
    }
}

impl fmt::Display for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Require::Any => f.write_str("any"),
            Require::All => f.write_str("all"),
            Require::AtLeast(n) => write!(f, "{n}"),
        }
    }
}

/// Whether a signature must come with a transparency log entry verified against the trust root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransparencyLog {
    /// A verified log entry is required (the default).
    #[default]
    Required,
    /// A log entry is verified when present, but its absence is accepted.
    Optional,
}

/// Where a public key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file, resolved against the policy file's directory.
    File(PathBuf),
    /// Inline PEM in the policy.
    Inline,
}

/// A signer known by its public key.
#[derive(Clone)]
pub struct KeyAuthority {
    /// The key, parsed at load.
    pub key: Arc<PublicKey>,
    /// Where it was read from.
    pub source: KeySource,
}

impl fmt::Debug for KeyAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAuthority").field("source", &self.source).finish_non_exhaustive()
    }
}

/// How an authority's signatures are recognised.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A Fulcio certificate with one of the identities and all the extensions.
    Keyless(KeylessAuthority),
    /// A signature made with this key.
    Key(KeyAuthority),
}

/// One accepted signer of an `ImagePolicy`.
#[derive(Debug, Clone)]
pub struct Authority {
    /// Unique within the policy (`[a-z0-9-]`).
    pub name: String,
    /// Keyless identity or key.
    pub signer: Signer,
    /// Whether a transparency log entry is required.
    pub transparency_log: TransparencyLog,
}

/// One attestation an image must carry.
#[derive(Debug, Clone)]
pub struct AttestationRequirement {
    /// Unique within the policy.
    pub name: String,
    /// The in-toto `predicateType` (`https://slsa.dev/provenance/v1`).
    pub predicate_type: String,
    /// Names of the authorities that may have signed it (all of the policy's by default); one suffices.
    pub authorities: Vec<String>,
    /// SLSA provenance requirements (only for the SLSA provenance predicate types).
    pub slsa: Option<SlsaRequirements>,
    /// Generic checks on the statement, all of which must hold.
    pub conditions: Vec<Condition>,
}

/// A Sigstore trust root read from a file at load.
#[derive(Clone)]
pub struct TrustRootFile {
    /// The file, resolved against the policy file's directory.
    pub path: PathBuf,
    /// Its parsed content.
    pub root: Arc<TrustRoot>,
}

impl fmt::Debug for TrustRootFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRootFile").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Where an `ImagePolicy`'s Sigstore trust root comes from.
#[derive(Debug, Clone)]
pub enum TrustRootSource {
    /// A `trusted_root.json` file, read at load (`trustRoot: {file: …}`).
    File(TrustRootFile),
    /// A TUF repository serving it (`trustRoot: {tuf: …}`), fetched by the verifier on first use.
    Tuf(Arc<TufSource>),
}

impl TrustRootSource {
    /// The trust root read at load: `Some` for a file, `None` for a TUF repository.
    #[must_use]
    pub fn loaded(&self) -> Option<&Arc<TrustRoot>> {
        match self {
            TrustRootSource::File(file) => Some(&file.root),
            TrustRootSource::Tuf(_) => None,
        }
    }
}

/// An `ImagePolicy`: the signatures and attestations the images it matches must carry.
#[derive(Debug, Clone)]
pub struct ImagePolicy {
    /// `metadata.name`.
    pub name: Arc<str>,
    /// Image globs, matched against the normalised `registry/repository` and the reference as written.
    pub images: Vec<Pattern>,
    /// Whether a failure denies (`enforce`) or warns (`report`).
    pub mode: Mode,
    /// What this policy asks for images that no `ImagePolicy` matches (see [`super::PolicySet::no_match`]).
    pub no_match: NoMatch,
    /// How many authorities must be satisfied.
    pub require: Require,
    /// Accepted signers, in document order.
    pub authorities: Vec<Authority>,
    /// Required attestations, in document order.
    pub attestations: Vec<AttestationRequirement>,
    /// The trust root for keyless signatures and transparency log entries.
    pub trust_root: Option<TrustRootSource>,
    /// How this policy's images are written back; takes precedence over a `WorkloadPolicy` rewrite.
    pub rewrite: Option<Rewrite>,
    /// `sha256:<hex>` over the canonical spec (TUF settings included) and the bytes of the key,
    /// trust-root and initial TUF root files it names: a cached verification result is valid for one
    /// image digest and one policy hash.
    pub hash: String,
    /// Where the document is.
    pub location: SourceLocation,
}

impl ImagePolicy {
    /// Whether the policy covers an image, given as written in the manifest and parsed.
    #[must_use]
    pub fn matches(&self, written: &str, reference: &ImageRef) -> bool {
        self.images.iter().any(|p| p.matches(reference.name()) || p.matches(written))
    }

    /// The authority with this name.
    #[must_use]
    pub fn authority(&self, name: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.name == name)
    }
}

// ---- raw serde shapes (strict) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImagePolicy {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: RawMetadata,
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    images: Vec<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    no_match: NoMatch,
    require: Option<Value>,
    authorities: Vec<RawAuthority>,
    #[serde(default)]
    attestations: Vec<RawAttestation>,
    trust_root: Option<RawTrustRoot>,
    rewrite: Option<Rewrite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAuthority {
    name: String,
    keyless: Option<RawKeyless>,
    key: Option<RawKey>,
    #[serde(default)]
    transparency_log: TransparencyLog,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawKeyless {
    identities: Vec<RawIdentity>,
    extensions: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    sct: SctRequirement,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawIdentity {
    issuer: Option<String>,
    issuer_reg_exp: Option<String>,
    subject: Option<String>,
    subject_reg_exp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    file: Option<String>,
    pem: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrustRoot {
    file: Option<String>,
    tuf: Option<RawTuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTuf {
    url: String,
    targets_url: Option<String>,
    root: String,
    cache_dir: Option<String>,
    target: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAttestation {
    name: String,
    predicate_type: String,
    authorities: Option<Vec<String>>,
    slsa: Option<RawSlsa>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSlsa {
    #[serde(rename = "builderID")]
    builder_id: Option<RawMatch>,
    build_type: Option<RawMatch>,
    source_repository: Option<RawMatch>,
    source_ref: Option<RawMatch>,
    source_digest: Option<RawMatch>,
    workflow_path: Option<RawMatch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCondition {
    path: String,
    #[serde(default, deserialize_with = "present")]
    equals: Option<Value>,
    reg_exp: Option<String>,
    exists: Option<bool>,
}

/// Keeps an explicit `null` as `Some(Value::Null)`, so `equals: null` differs from no `equals`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A value written as `"exact"` or `{regExp: "…"}`.
enum RawMatch {
    Exact(String),
    RegExp(String),
}

impl<'de> Deserialize<'de> for RawMatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawMatchVisitor)
    }
}

struct RawMatchVisitor;

impl<'de> Visitor<'de> for RawMatchVisitor {
    type Value = RawMatch;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (exact match; quote numbers) or {regExp: \"…\"}")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawMatch, E> {
        Ok(RawMatch::Exact(value.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMatch, A::Error> {
        let mut regex = None;
        while map.next_key::<RegExpKey>()?.is_some() {
            if regex.is_some() {
                return Err(de::Error::duplicate_field("regExp"));
            }
            regex = Some(map.next_value::<String>()?);
        }
        regex.map(RawMatch::RegExp).ok_or_else(|| de::Error::missing_field("regExp"))
    }
}

/// The one key of `{regExp: "…"}`; any other key is refused while it is read, so the error path names it.
struct RegExpKey;

impl<'de> Deserialize<'de> for RegExpKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = RegExpKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`regExp`")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<RegExpKey, E> {
                if key == "regExp" { Ok(RegExpKey) } else { Err(de::Error::unknown_field(key, &["regExp"])) }
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

// ---- validation ----

/// Parses and checks one `ImagePolicy` document, reading the files it names.
pub(super) fn image_policy(doc: &Doc<'_>) -> Result<ImagePolicy, PolicyError> {
    let json = doc.node.to_json();
    let raw: RawImagePolicy = doc.typed(json.clone())?;
    let spec = raw.spec;
    if spec.images.is_empty() {
        return Err(doc.error("spec.images", "must list at least one image glob (e.g. \"ghcr.io/acme/**\")"));
    }
    let images = doc.patterns("spec.images", Some(spec.images))?.unwrap_or_default();

    // Files are read in document order; their bytes go into the policy hash.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    if spec.authorities.is_empty() {
        return Err(doc.error("spec.authorities", "must list at least one authority (keyless or key)"));
    }
    let mut authorities: Vec<Authority> = Vec::new();
    for (i, raw) in spec.authorities.into_iter().enumerate() {
        let field = format!("spec.authorities[{i}]");
        let authority = authority(doc, &field, raw, &mut files)?;
        if authorities.iter().any(|a| a.name == authority.name) {
            return Err(doc.error(&format!("{field}.name"), format!("duplicate authority name \"{}\"", authority.name)));
        }
        authorities.push(authority);
    }
    let require = require(doc, spec.require, authorities.len())?;

    let mut attestations: Vec<AttestationRequirement> = Vec::new();
    for (i, raw) in spec.attestations.into_iter().enumerate() {
        let field = format!("spec.attestations[{i}]");
        let attestation = attestation(doc, &field, raw, &authorities)?;
        if attestations.iter().any(|a| a.name == attestation.name) {
            return Err(
                doc.error(&format!("{field}.name"), format!("duplicate attestation name \"{}\"", attestation.name))
            );
        }
        attestations.push(attestation);
    }

    let needs_root = authorities.iter().find_map(|a| match (&a.signer, a.transparency_log) {
        (Signer::Keyless(_), _) => {
            Some(format!("authority \"{}\" is keyless, which needs the Fulcio certificate authorities", a.name))
        }
        (Signer::Key(_), TransparencyLog::Required) => Some(format!(
            "authority \"{}\" has transparencyLog: required (the default), which needs the transparency log keys",
            a.name
        )),
        (Signer::Key(_), TransparencyLog::Optional) => None,
    });
    let trust_root = match (spec.trust_root, needs_root) {
        (Some(raw), _) => Some(trust_root(doc, raw, &mut files)?),
        (None, Some(why)) => {
            return Err(doc.error(
                "spec.trustRoot",
                format!(
                    "missing: {why}; set trustRoot: {{file: trusted_root.json}} (a Sigstore trusted_root.json) or \
                     trustRoot: {{tuf: {{url: …, root: root.json}}}} (fetched from a TUF repository)"
                ),
            ));
        }
        (None, None) => None,
    };

    Ok(ImagePolicy {
        name: raw.metadata.name.into(),
        images,
        mode: spec.mode,
        no_match: spec.no_match,
        require,
        authorities,
        attestations,
        trust_root,
        rewrite: spec.rewrite,
        hash: policy_hash(json.get("spec").unwrap_or(&Value::Null), &files),
        location: doc.location.clone(),
    })
}

/// `spec.trustRoot`: exactly one of a `trusted_root.json` file and a TUF repository.
fn trust_root(
    doc: &Doc<'_>,
    raw: RawTrustRoot,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<TrustRootSource, PolicyError> {
    match (raw.file, raw.tuf) {
        (Some(file), None) => {
            let field = "spec.trustRoot.file";
            let (path, bytes) = read_file(doc, field, &file)?;
            let root = TrustRoot::from_json(&bytes)
                .map_err(|e| doc.error(field, format!("{} is not a valid trusted root: {e}", path.display())))?;
            files.push((field.to_owned(), bytes));
            Ok(TrustRootSource::File(TrustRootFile { path, root: Arc::new(root) }))
        }
        (None, Some(tuf)) => Ok(TrustRootSource::Tuf(Arc::new(tuf_source(doc, "spec.trustRoot.tuf", tuf, files)?))),
        (Some(_), Some(_)) => Err(doc.error("spec.trustRoot", "set exactly one of file or tuf, not both")),
        (None, None) => Err(doc.error(
            "spec.trustRoot",
            "set exactly one of file (a Sigstore trusted_root.json) or tuf (a TUF repository serving one)",
        )),
    }
}

/// `spec.trustRoot.tuf`: the repository's URLs, the initial root (read and checked now; nothing is
/// fetched at load), the cache directory and the target.
fn tuf_source(
    doc: &Doc<'_>,
    field: &str,
    raw: RawTuf,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<TufSource, PolicyError> {
    let url = base_url(doc, &format!("{field}.url"), &raw.url)?;
    let targets_url = if let Some(text) = raw.targets_url {
        base_url(doc, &format!("{field}.targetsUrl"), &text)?
    } else {
        base_url(doc, &format!("{field}.url"), &format!("{}/targets", url.as_str().trim_end_matches('/')))?
    };
    let root_field = format!("{field}.root");
    let (root_path, bytes) = read_file(doc, &root_field, &raw.root)?;
    tuf::check_initial_root(&bytes).map_err(|e| doc.error(&root_field, format!("{}: {e}", root_path.display())))?;
    let cache_dir = match raw.cache_dir {
        None => None,
        Some(dir) if dir.is_empty() => return Err(doc.error(&format!("{field}.cacheDir"), "must not be empty")),
        Some(dir) if !Path::new(&dir).is_absolute() => {
            return Err(doc.error(
                &format!("{field}.cacheDir"),
                format!(
                    "\"{dir}\" is relative: give an absolute directory (or omit it for $XDG_CACHE_HOME/syncgate/tuf)"
                ),
            ));
        }
        Some(dir) => Some(PathBuf::from(dir)),
    };
    let target = raw.target.unwrap_or_else(|| tuf::DEFAULT_TARGET.to_owned());
    let target_field = format!("{field}.target");
    if target.is_empty() {
        return Err(doc.error(&target_field, "must not be empty"));
    }
    match tough::TargetName::new(target.as_str()) {
        Ok(name) if name.resolved() == target => {}
        _ => {
            return Err(doc.error(&target_field, format!("\"{target}\" is not a plain TUF target name")));
        }
    }
    files.push((root_field, bytes.clone()));
    Ok(TufSource { url, targets_url, root_path, initial_root: bytes.into(), cache_dir, target })
}

/// An `http` or `https` base URL without query, fragment or credentials.
fn base_url(doc: &Doc<'_>, field: &str, text: &str) -> Result<reqwest::Url, PolicyError> {
    if text.is_empty() {
        return Err(doc.error(field, "must not be empty"));
    }
    let url = reqwest::Url::parse(text).map_err(|e| doc.error(field, format!("\"{text}\" is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(doc.error(field, format!("\"{text}\" must be an http or https URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(doc.error(field, format!("\"{text}\" must not have a query or fragment")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(doc.error(field, format!("\"{text}\" must not carry credentials")));
    }
    Ok(url)
}

fn check_name(doc: &Doc<'_>, field: &str, name: &str) -> Result<(), PolicyError> {
    if name.is_empty() {
        return Err(doc.error(field, "must not be empty"));
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')) {
        return Err(doc.error(field, format!("\"{name}\" contains '{c}': use lowercase letters, digits and '-'")));
    }
    Ok(())
}

fn authority(
    doc: &Doc<'_>,
    field: &str,
    raw: RawAuthority,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<Authority, PolicyError> {
    check_name(doc, &format!("{field}.name"), &raw.name)?;
    let signer = match (raw.keyless, raw.key) {
        (Some(keyless), None) => Signer::Keyless(keyless_authority(doc, &format!("{field}.keyless"), keyless)?),
        (None, Some(key)) => Signer::Key(key_authority(doc, &format!("{field}.key"), key, files)?),
        (Some(_), Some(_)) => return Err(doc.error(field, "set exactly one of keyless or key, not both")),
        (None, None) => return Err(doc.error(field, "set exactly one of keyless or key")),
    };
    Ok(Authority { name: raw.name, signer, transparency_log: raw.transparency_log })
}

fn keyless_authority(doc: &Doc<'_>, field: &str, raw: RawKeyless) -> Result<KeylessAuthority, PolicyError> {
    if raw.identities.is_empty() {
        return Err(doc.error(
            &format!("{field}.identities"),
            "must list at least one identity (issuer or issuerRegExp, and subject or subjectRegExp)",
        ));
    }
    let identities = raw
        .identities
        .into_iter()
        .enumerate()
        .map(|(i, identity)| {
            let field = format!("{field}.identities[{i}]");
            Ok(IdentityMatch {
                issuer: one_of(doc, &field, ("issuer", identity.issuer), ("issuerRegExp", identity.issuer_reg_exp))?,
                subject: one_of(
                    doc,
                    &field,
                    ("subject", identity.subject),
                    ("subjectRegExp", identity.subject_reg_exp),
                )?,
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    let mut extensions = Vec::new();
    for (key, value) in raw.extensions.unwrap_or_default() {
        let field = format!("{field}.extensions.{key}");
        let known = || Extension::ALL.iter().map(|e| format!("`{}`", e.name())).collect::<Vec<_>>().join(", ");
        let Ok(extension) = key.parse::<Extension>() else {
            let hint = if key == "issuer" { " (the issuer is matched in identities)" } else { "" };
            return Err(doc.error(&field, format!("unknown field `{key}`{hint}, expected one of {}", known())));
        };
        let raw: RawMatch = doc.typed_at(&field, value)?;
        extensions.push(ExtensionMatch { extension, expected: string_match(doc, &field, raw)? });
    }
    Ok(KeylessAuthority { identities, extensions, sct: raw.sct })
}

/// Exactly one of an exact value (`issuer`) and a regular expression (`issuerRegExp`).
fn one_of(
    doc: &Doc<'_>,
    field: &str,
    exact: (&str, Option<String>),
    regex: (&str, Option<String>),
) -> Result<StringMatch, PolicyError> {
    match (exact.1, regex.1) {
        (Some(value), None) => string_match(doc, &format!("{field}.{}", exact.0), RawMatch::Exact(value)),
        (None, Some(text)) => {
            let regex_field = format!("{field}.{}", regex.0);
            if text.is_empty() {
                return Err(doc.error(&regex_field, "must not be empty"));
            }
            compile(doc, &regex_field, &text)
        }
        (Some(_), Some(_)) => Err(doc.error(field, format!("set only one of {} and {}", exact.0, regex.0))),
        (None, None) => Err(doc.error(field, format!("missing {} or {}", exact.0, regex.0))),
    }
}

/// A `"value"` or `{regExp: "…"}` at `field`.
fn string_match(doc: &Doc<'_>, field: &str, raw: RawMatch) -> Result<StringMatch, PolicyError> {
    match raw {
        RawMatch::Exact(value) if value.is_empty() => Err(doc.error(field, "must not be empty")),
        RawMatch::Exact(value) => Ok(StringMatch::Exact(value)),
        RawMatch::RegExp(text) if text.is_empty() => Err(doc.error(&format!("{field}.regExp"), "must not be empty")),
        RawMatch::RegExp(text) => compile(doc, &format!("{field}.regExp"), &text),
    }
}

fn compile(doc: &Doc<'_>, field: &str, text: &str) -> Result<StringMatch, PolicyError> {
    FullMatch::new(text)
        .map(StringMatch::Regex)
        .map_err(|e| doc.error(field, format!("invalid regular expression: {e}")))
}

fn key_authority(
    doc: &Doc<'_>,
    field: &str,
    raw: RawKey,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<KeyAuthority, PolicyError> {
    match (raw.file, raw.pem) {
        (Some(file), None) => {
            let field = format!("{field}.file");
            let (path, bytes) = read_file(doc, &field, &file)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| doc.error(&field, format!("{} is not a PEM file (not UTF-8)", path.display())))?;
            let key = PublicKey::from_pem(text).map_err(|e| doc.error(&field, format!("{}: {e}", path.display())))?;
            files.push((field, bytes));
            Ok(KeyAuthority { key: Arc::new(key), source: KeySource::File(path) })
        }
        (None, Some(pem)) => {
            let key = PublicKey::from_pem(&pem).map_err(|e| doc.error(&format!("{field}.pem"), e.to_string()))?;
            Ok(KeyAuthority { key: Arc::new(key), source: KeySource::Inline })
        }
        (Some(_), Some(_)) => Err(doc.error(field, "set exactly one of file or pem, not both")),
        (None, None) => Err(doc.error(field, "set exactly one of file or pem")),
    }
}

fn require(doc: &Doc<'_>, raw: Option<Value>, authorities: usize) -> Result<Require, PolicyError> {
    let range = format!("any, all, or a number from 1 to {authorities} (the number of authorities)");
    match raw {
        None => Ok(Require::Any),
        Some(Value::String(s)) if s == "any" => Ok(Require::Any),
        Some(Value::String(s)) if s == "all" => Ok(Require::All),
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(count) if (1..=authorities).contains(&count) => Ok(Require::AtLeast(count)),
            _ => Err(doc.error("spec.require", format!("{n} is out of range: expected {range}"))),
        },
        Some(Value::String(s)) => Err(doc.error("spec.require", format!("unknown value \"{s}\": expected {range}"))),
        Some(other) => Err(doc.error("spec.require", format!("expected {range}, found {}", json_type(&other)))),
    }
}

fn attestation(
    doc: &Doc<'_>,
    field: &str,
    raw: RawAttestation,
    authorities: &[Authority],
) -> Result<AttestationRequirement, PolicyError> {
    if raw.name.is_empty() {
        return Err(doc.error(&format!("{field}.name"), "must not be empty"));
    }
    if raw.predicate_type.trim().is_empty() {
        return Err(doc.error(&format!("{field}.predicateType"), "must not be empty"));
    }
    let names = match raw.authorities {
        None => authorities.iter().map(|a| a.name.clone()).collect(),
        Some(list) if list.is_empty() => {
            return Err(doc.error(
                &format!("{field}.authorities"),
                "must not be empty (omit it to accept every authority of the policy)",
            ));
        }
        Some(list) => {
            for (i, name) in list.iter().enumerate() {
                if !authorities.iter().any(|a| &a.name == name) {
                    let known = authorities.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
                    return Err(doc.error(
                        &format!("{field}.authorities[{i}]"),
                        format!("unknown authority \"{name}\"; spec.authorities names: {known}"),
                    ));
                }
            }
            list
        }
    };
    let slsa = match raw.slsa {
        None => None,
        Some(_) if raw.predicate_type != SLSA_PROVENANCE_V0_2 && raw.predicate_type != SLSA_PROVENANCE_V1 => {
            return Err(doc.error(
                &format!("{field}.slsa"),
                format!(
                    "only allowed when predicateType is {SLSA_PROVENANCE_V0_2} or {SLSA_PROVENANCE_V1}, not {}",
                    raw.predicate_type
                ),
            ));
        }
        Some(slsa) => Some(slsa_requirements(doc, &format!("{field}.slsa"), slsa)?),
    };
    let conditions = raw
        .conditions
        .into_iter()
        .enumerate()
        .map(|(i, c)| condition(doc, &format!("{field}.conditions[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AttestationRequirement {
        name: raw.name,
        predicate_type: raw.predicate_type,
        authorities: names,
        slsa,
        conditions,
    })
}

fn slsa_requirements(doc: &Doc<'_>, field: &str, raw: RawSlsa) -> Result<SlsaRequirements, PolicyError> {
    let each = |name: &str, value: Option<RawMatch>| {
        value.map(|v| string_match(doc, &format!("{field}.{name}"), v)).transpose()
    };
    Ok(SlsaRequirements {
        builder_id: each("builderID", raw.builder_id)?,
        build_type: each("buildType", raw.build_type)?,
        source_repository: each("sourceRepository", raw.source_repository)?,
        source_ref: each("sourceRef", raw.source_ref)?,
        source_digest: each("sourceDigest", raw.source_digest)?,
        workflow_path: each("workflowPath", raw.workflow_path)?,
    })
}

fn condition(doc: &Doc<'_>, field: &str, raw: RawCondition) -> Result<Condition, PolicyError> {
    let path_field = format!("{field}.path");
    let path = JsonPath::parse(&raw.path).map_err(|m| doc.error(&path_field, m))?;
    if !STATEMENT_KEYS.contains(&path.root_key()) {
        return Err(doc.error(
            &path_field,
            format!(
                "\"{}\" does not start at the statement root: expected it to begin with one of {}",
                raw.path,
                STATEMENT_KEYS.join(", ")
            ),
        ));
    }
    let test = match (raw.equals, raw.reg_exp, raw.exists) {
        (Some(value), None, None) => {
            if value.is_array() || value.is_object() {
                return Err(doc.error(
                    &format!("{field}.equals"),
                    format!("must be a string, number, boolean or null, found {}", json_type(&value)),
                ));
            }
            ConditionTest::Equals(value)
        }
        (None, Some(text), None) => {
            let regex_field = format!("{field}.regExp");
            if text.is_empty() {
                return Err(doc.error(&regex_field, "must not be empty"));
            }
            let regex = FullMatch::new(&text)
                .map_err(|e| doc.error(&regex_field, format!("invalid regular expression: {e}")))?;
            ConditionTest::Matches(regex)
        }
        (None, None, Some(exists)) => ConditionTest::Exists(exists),
        (None, None, None) => return Err(doc.error(field, "set one of equals, regExp or exists")),
        _ => return Err(doc.error(field, "set only one of equals, regExp and exists")),
    };
    Ok(Condition { path, test })
}

/// Reads a file a policy names, relative to the policy file's directory (the current directory for
/// policies read from stdin).
fn read_file(doc: &Doc<'_>, field: &str, text: &str) -> Result<(PathBuf, Vec<u8>), PolicyError> {
    if text.is_empty() {
        return Err(doc.error(field, "must name a file"));
    }
    let base = doc.location.file.as_deref().and_then(|f| Path::new(f).parent()).unwrap_or(Path::new(""));
    let path = base.join(text);
    let cannot = |e: std::io::Error| doc.error(field, format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(&path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_REFERENCED_FILE + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_REFERENCED_FILE {
        return Err(
            doc.error(field, format!("{} is larger than {} MiB", path.display(), MAX_REFERENCED_FILE / (1024 * 1024)))
        );
    }
    Ok((path, bytes))
}

/// `sha256:<hex>` over the spec as canonical JSON (keys sorted, no whitespace), then each referenced
/// file as its field path, its length and its bytes.
fn policy_hash(spec: &Value, files: &[(String, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(canonical(spec).to_string().as_bytes());
    for (field, bytes) in files {
        hasher.update(b"\n");
        hasher.update(field.as_bytes());
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    format!("sha256:{:x}", hasher.finalize())
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
