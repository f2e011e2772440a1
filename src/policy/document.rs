//! Policy documents (`apiVersion: syncgate.dev/v1alpha1`): `WorkloadPolicy`, `ImagePolicy`,
//! `PolicyException` and `WorkloadKind`, parsed strictly into a [`PolicySet`].
//!
//! Owns the document schema and its validation: unknown fields, unknown rule ids, bad globs and bad
//! dates are refused with the file, document, line and field named. It evaluates nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

use super::image::{self, ImagePolicy, NoMatch};
use super::pss::{self, Level, Version};
use super::rules::{RuleId, Settings};
use crate::image::ImageRef;
use crate::manifest::{self, FieldPath, Limits, Node, WorkloadKind};
use crate::report::{Mode, SourceLocation};

/// The only accepted `apiVersion` of policy documents.
pub const API_VERSION: &str = "syncgate.dev/v1alpha1";

/// Why a policy set could not be loaded. Every variant names where.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read or parsed as YAML.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// A document breaks the schema.
    #[error(transparent)]
    Invalid(Box<InvalidField>),
}

/// A policy document field that breaks the schema, with where it is and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {kind} {name}: {field}: {message}")]
pub struct InvalidField {
    /// Where the offending field is.
    pub location: SourceLocation,
    /// The document kind.
    pub kind: String,
    /// `metadata.name`, or `<unnamed>`.
    pub name: String,
    /// Path of the offending field (`spec.rules.allowed-registries.registries`).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// A glob (`prod-*`, `quay.io/cilium/*`) with its source text. `*` also matches `/`.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    /// Compiles a glob.
    pub fn new(text: &str) -> Result<Self, String> {
        let glob = GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("invalid glob \"{text}\": {}", e.kind()))?;
        Ok(Pattern { text: text.to_owned(), matcher: glob.compile_matcher() })
    }

    /// Whether `candidate` matches.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        self.matcher.is_match(candidate)
    }

    /// The glob as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Which resources a policy or exception selects. Every present list must match; an absent list
/// matches everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Namespace globs (the effective namespace: `metadata.namespace`, else `--namespace`, else `default`).
    pub namespaces: Option<Vec<Pattern>>,
    /// Kind globs (`Deployment`, `*Set`).
    pub kinds: Option<Vec<Pattern>>,
    /// `metadata.name` globs.
    pub names: Option<Vec<Pattern>>,
}

fn any_match(patterns: Option<&Vec<Pattern>>, value: &str) -> bool {
    patterns.is_none_or(|ps| ps.iter().any(|p| p.matches(value)))
}

impl Selector {
    /// Whether a resource with this namespace, kind and name is selected.
    #[must_use]
    pub fn matches(&self, namespace: &str, kind: &str, name: &str) -> bool {
        any_match(self.namespaces.as_ref(), namespace)
            && any_match(self.kinds.as_ref(), kind)
            && any_match(self.names.as_ref(), name)
    }
}

/// The mode and settings of one rule inside one policy.
#[derive(Debug, Clone)]
pub struct RuleEntry {
    /// The rule.
    pub id: RuleId,
    /// Its mode.
    pub mode: Mode,
    /// Its settings.
    pub settings: Settings,
}

/// How resolved images are written back into the manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rewrite {
    /// `name:tag@sha256:…`: the tag stays for humans, the digest decides what runs (the default).
    #[default]
    TagAndDigest,
    /// `name@sha256:…`.
    Digest,
    /// Leave the image as written (the registry is still asked, and failures still deny).
    None,
}

impl Rewrite {
    /// The image as it is written back: `written` is the reference as it appears in the manifest,
    /// `tag` its tag, `digest` the resolved digest. A reference that already has a digest keeps it.
    #[must_use]
    pub fn apply(self, written: &str, tag: Option<&str>, digest: &str) -> String {
        let base = written.split('@').next().unwrap_or(written);
        match self {
            Rewrite::None => written.to_owned(),
            _ if written.contains('@') => written.to_owned(),
            Rewrite::TagAndDigest => format!("{base}@{digest}"),
            Rewrite::Digest => {
                let name = tag.and_then(|t| base.strip_suffix(&format!(":{t}"))).unwrap_or(base);
                format!("{name}@{digest}")
            }
        }
    }
}

/// A `WorkloadPolicy`: Pod Security Standards profile plus production rules, for selected resources.
#[derive(Debug, Clone)]
pub struct WorkloadPolicy {
    /// `metadata.name`.
    pub name: std::sync::Arc<str>,
    /// Resources it applies to.
    pub selector: Selector,
    /// Resources it never applies to.
    pub exclude: Option<Selector>,
    /// Pod Security Standards level and version, when set.
    pub profile: Option<(Level, Version, String)>,
    /// Default mode for its rules.
    pub mode: Mode,
    /// Mode overrides for PSS checks (`runAsNonRoot: report`).
    pub check_modes: BTreeMap<&'static str, Mode>,
    /// Production rules, in rule-id order.
    pub rules: Vec<RuleEntry>,
    /// How resolved images are written back, when the policy says.
    pub rewrite: Option<Rewrite>,
    /// Where the document is.
    pub location: SourceLocation,
}

impl WorkloadPolicy {
    /// Whether the policy applies to a resource.
    #[must_use]
    pub fn applies_to(&self, namespace: &str, kind: &str, name: &str) -> bool {
        self.selector.matches(namespace, kind, name)
            && !self.exclude.as_ref().is_some_and(|e| e.matches(namespace, kind, name))
    }
}

/// Which findings a `PolicyException` covers.
#[derive(Debug, Clone, Default)]
pub struct ExceptionMatch {
    /// Namespace, kind and name.
    pub resources: Selector,
    /// Service account globs (`spec.serviceAccountName` of the pod template, `default` when unset).
    pub service_accounts: Option<Vec<Pattern>>,
    /// Image globs, matched against the reference as written and in normalised form.
    pub images: Option<Vec<Pattern>>,
}

/// A `PolicyException`: named rules do not deny for the matched resources until `expires`.
#[derive(Debug, Clone)]
pub struct PolicyException {
    /// `metadata.name`.
    pub name: String,
    /// Rule ids it covers (production rule ids or PSS check names).
    pub rules: Vec<String>,
    /// What it matches.
    pub matcher: ExceptionMatch,
    /// When it stops applying.
    pub expires: jiff::Timestamp,
    /// Why it exists.
    pub reason: String,
    /// Where the document is.
    pub location: SourceLocation,
}

/// Everything loaded from `--policy`.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Workload policies, in load order.
    pub policies: Vec<WorkloadPolicy>,
    /// Image policies (signatures and attestations), in load order.
    pub images: Vec<ImagePolicy>,
    /// Exceptions, in load order.
    pub exceptions: Vec<PolicyException>,
    /// Built-in workload kinds followed by configured `WorkloadKind`s.
    pub kinds: Vec<WorkloadKind>,
    /// Tenants (namespaces, source repositories and kinds a team may use), in load order.
    pub tenants: Vec<Arc<crate::project::Scope>>,
}

impl PolicySet {
    /// How images of a resource are written back: the first policy (in load order) that selects it
    /// and sets `rewrite`, else `tag-and-digest`.
    #[must_use]
    pub fn rewrite_for(&self, namespace: &str, kind: &str, name: &str) -> Rewrite {
        self.policies.iter().filter(|p| p.applies_to(namespace, kind, name)).find_map(|p| p.rewrite).unwrap_or_default()
    }

    /// The image policies that cover an image (given as written in the manifest and parsed), in load
    /// order. Each one's demands apply.
    #[must_use]
    pub fn image_policies_for(&self, written: &str, reference: &ImageRef) -> Vec<&ImagePolicy> {
        self.images.iter().filter(|p| p.matches(written, reference)).collect()
    }

    /// What happens to images that no `ImagePolicy` matches: the strictest `noMatch` of the set's
    /// image policies, or `None` when the set has none (and so makes no signature demands).
    #[must_use]
    pub fn no_match(&self) -> Option<NoMatch> {
        self.images.iter().map(|p| p.no_match).max()
    }

    /// The `Tenant` named `name`.
    #[must_use]
    pub fn tenant(&self, name: &str) -> Option<&Arc<crate::project::Scope>> {
        self.tenants.iter().find(|t| t.name() == name)
    }

    /// How an image is written back when an `ImagePolicy` says so: the first matching policy (in load
    /// order) that sets `rewrite`. It takes precedence over [`PolicySet::rewrite_for`].
    #[must_use]
    pub fn image_rewrite(&self, written: &str, reference: &ImageRef) -> Option<Rewrite> {
        self.images.iter().filter(|p| p.matches(written, reference)).find_map(|p| p.rewrite)
    }
}

// ---- raw serde shapes (strict) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetadata {
    pub(super) name: String,
    #[serde(default)]
    #[allow(dead_code)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    #[allow(dead_code)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorkloadPolicy {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: RawMetadata,
    spec: RawWorkloadSpec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSelector {
    namespaces: Option<Vec<String>>,
    kinds: Option<Vec<String>>,
    names: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorkloadSpec {
    #[serde(default, rename = "match")]
    matcher: RawSelector,
    exclude: Option<RawSelector>,
    profile: Option<String>,
    profile_version: Option<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    rules: serde_json::Map<String, serde_json::Value>,
    rewrite: Option<Rewrite>,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawException {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: RawMetadata,
    spec: RawExceptionSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExceptionSpec {
    rules: Vec<String>,
    #[serde(rename = "match")]
    matcher: RawExceptionMatch,
    expires: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExceptionMatch {
    namespaces: Option<Vec<String>>,
    kinds: Option<Vec<String>>,
    names: Option<Vec<String>>,
    service_accounts: Option<Vec<String>>,
    images: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorkloadKind {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(rename = "metadata")]
    _metadata: RawMetadata,
    spec: RawWorkloadKindSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorkloadKindSpec {
    api_version: Option<String>,
    kind: String,
    pod_template: Option<String>,
    #[serde(default)]
    images: Vec<String>,
}

/// Collects schema errors for one document, resolving field paths to lines.
pub(super) struct Doc<'a> {
    pub(super) node: &'a Node,
    pub(super) location: SourceLocation,
    pub(super) kind: String,
    pub(super) name: String,
}

impl Doc<'_> {
    pub(super) fn error(&self, field: &str, message: impl Into<String>) -> PolicyError {
        let line = self.node.line_of(&FieldPath::parse(field)).or(self.location.line);
        PolicyError::Invalid(Box::new(InvalidField {
            location: SourceLocation { line, ..self.location.clone() },
            kind: self.kind.clone(),
            name: self.name.clone(),
            field: field.to_owned(),
            message: message.into(),
        }))
    }

    pub(super) fn typed<T: serde::de::DeserializeOwned>(&self, value: serde_json::Value) -> Result<T, PolicyError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            self.error(&field, e.into_inner().to_string())
        })
    }

    /// Like [`Doc::typed`], for a value found at `field` (errors name the full path and its line).
    pub(super) fn typed_at<T: serde::de::DeserializeOwned>(
        &self,
        field: &str,
        value: serde_json::Value,
    ) -> Result<T, PolicyError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            let full = match inner.as_str() {
                "." => field.to_owned(),
                index if index.starts_with('[') => format!("{field}{index}"),
                key => format!("{field}.{key}"),
            };
            self.error(&full, e.into_inner().to_string())
        })
    }

    pub(super) fn patterns(&self, field: &str, list: Option<Vec<String>>) -> Result<Option<Vec<Pattern>>, PolicyError> {
        let Some(list) = list else { return Ok(None) };
        if list.is_empty() {
            return Err(self.error(field, "must not be empty (omit it to match everything)"));
        }
        list.iter()
            .enumerate()
            .map(|(i, text)| Pattern::new(text).map_err(|m| self.error(&format!("{field}[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn selector(&self, field: &str, raw: RawSelector) -> Result<Selector, PolicyError> {
        Ok(Selector {
            namespaces: self.patterns(&format!("{field}.namespaces"), raw.namespaces)?,
            kinds: self.patterns(&format!("{field}.kinds"), raw.kinds)?,
            names: self.patterns(&format!("{field}.names"), raw.names)?,
        })
    }
}

/// Reads policy files and directories into one [`PolicySet`].
pub fn load(paths: &[PathBuf], limits: &Limits) -> Result<PolicySet, PolicyError> {
    from_stream(&manifest::load(paths, limits)?)
}

/// Builds a [`PolicySet`] from already parsed policy documents.
pub fn from_stream(stream: &manifest::Stream) -> Result<PolicySet, PolicyError> {
    let mut set = PolicySet { kinds: manifest::builtin_workload_kinds(), ..PolicySet::default() };
    for document in &stream.documents {
        let root = &document.root;
        let location = SourceLocation {
            file: document.file.clone(),
            document: document.index,
            line: (root.line > 0).then_some(root.line),
        };
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or_default().to_owned();
        let name =
            root.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("<unnamed>").to_owned();
        let doc = Doc { node: root, location, kind: kind.clone(), name };
        if root.as_map().is_none() {
            return Err(doc.error("", format!("a policy document must be a mapping, found {}", root.type_name())));
        }
        if is_trusted_root(root) || is_tuf_root(root) {
            // An ImagePolicy's trustRoot file or initial TUF root, found by walking a policy
            // directory: not a policy.
            continue;
        }
        match root.get("apiVersion").and_then(Node::as_str) {
            Some(API_VERSION) => {}
            Some(other) => {
                return Err(
                    doc.error("apiVersion", format!("unsupported apiVersion \"{other}\", expected \"{API_VERSION}\""))
                );
            }
            None => return Err(doc.error("apiVersion", format!("missing; expected \"{API_VERSION}\""))),
        }
        match kind.as_str() {
            "WorkloadPolicy" => set.policies.push(workload_policy(&doc)?),
            "ImagePolicy" => set.images.push(image::image_policy(&doc)?),
            "PolicyException" => set.exceptions.push(exception(&doc)?),
            "WorkloadKind" => set.kinds.push(workload_kind(&doc)?),
            "Tenant" => set.tenants.push(tenant(&doc)?),
            other => {
                return Err(doc.error(
                    "kind",
                    format!(
                        "unknown kind \"{other}\", expected one of WorkloadPolicy, ImagePolicy, PolicyException, WorkloadKind, Tenant"
                    ),
                ));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in &set.tenants {
        if !seen.insert(t.name().to_owned()) {
            return Err(PolicyError::Invalid(Box::new(InvalidField {
                location: SourceLocation { file: None, document: 0, line: None },
                kind: "Tenant".into(),
                name: t.name().to_owned(),
                field: "metadata.name".into(),
                message: "duplicate Tenant name".into(),
            })));
        }
    }
    let mut seen = BTreeMap::new();
    for p in &set.images {
        if let Some(first) = seen.insert(p.name.to_string(), p.location.clone()) {
            return Err(PolicyError::Invalid(Box::new(InvalidField {
                location: p.location.clone(),
                kind: "ImagePolicy".into(),
                name: p.name.to_string(),
                field: "metadata.name".into(),
                message: format!("duplicate policy name (first defined at {first})"),
            })));
        }
    }
    let mut seen = BTreeMap::new();
    for p in &set.policies {
        if let Some(first) = seen.insert(p.name.to_string(), p.location.clone()) {
            return Err(PolicyError::Invalid(Box::new(InvalidField {
                location: p.location.clone(),
                kind: "WorkloadPolicy".into(),
                name: p.name.to_string(),
                field: "metadata.name".into(),
                message: format!("duplicate policy name (first defined at {first})"),
            })));
        }
    }
    Ok(set)
}

fn workload_policy(doc: &Doc<'_>) -> Result<WorkloadPolicy, PolicyError> {
    let raw: RawWorkloadPolicy = doc.typed(doc.node.to_json())?;
    let spec = raw.spec;
    let profile = match (spec.profile.as_deref(), spec.profile_version.as_deref()) {
        (None, None) => None,
        (None, Some(_)) => return Err(doc.error("spec.profileVersion", "is set but spec.profile is not")),
        (Some(level), version) => {
            let level: Level = level.parse().map_err(|_| {
                doc.error("spec.profile", format!("unknown profile \"{level}\", expected baseline or restricted"))
            })?;
            let label = version.unwrap_or("latest");
            let version: Version = label.parse().map_err(|_| {
                doc.error(
                    "spec.profileVersion",
                    format!("invalid version \"{label}\", expected \"latest\" or v1.N (e.g. v1.35)"),
                )
            })?;
            Some((level, version, label.to_owned()))
        }
    };
    let mut rules = Vec::new();
    let mut check_modes = BTreeMap::new();
    for (id, value) in spec.rules {
        let field = format!("spec.rules.{id}");
        if let Some(check) = pss::CHECKS.iter().find(|c| c.id == id) {
            let Some((level, version, label)) = &profile else {
                return Err(doc
                    .error(&field, format!("\"{id}\" is a Pod Security Standards check: set spec.profile to use it")));
            };
            if !pss::checks_for(*level, *version).contains(&check.id) {
                return Err(doc.error(&field, format!("check \"{id}\" does not run under profile {level}:{label}")));
            }
            let mode = match value {
                serde_json::Value::String(_) => doc.typed::<Mode>(value)?,
                _ => doc.typed::<ModeOnly>(value).map_err(|e| prefix_field(e, &field))?.mode.unwrap_or(spec.mode),
            };
            check_modes.insert(check.id, mode);
            continue;
        }
        let Ok(rule) = id.parse::<RuleId>() else {
            return Err(doc.error(
                &field,
                format!(
                    "unknown rule id \"{id}\"; known rules: {}",
                    RuleId::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let (mode, settings) = match value {
            serde_json::Value::String(_) => {
                (doc.typed::<Mode>(value).map_err(|e| prefix_field(e, &field))?, rule.default_settings())
            }
            serde_json::Value::Object(_) => {
                let (mode, settings) =
                    rule.parse_settings(value).map_err(|(sub, m)| doc.error(&join_field(&field, &sub), m))?;
                (mode.unwrap_or(spec.mode), settings)
            }
            other => {
                return Err(doc.error(
                    &field,
                    format!(
                        "expected a mode (enforce | report) or a mapping with mode and settings, found {}",
                        json_type(&other)
                    ),
                ));
            }
        };
        rules.push(RuleEntry { id: rule, mode, settings });
    }
    rules.sort_by_key(|r| r.id);
    if profile.is_none() && rules.is_empty() && spec.rewrite.is_none() {
        return Err(doc.error("spec", "the policy sets neither profile, rules nor rewrite: it would do nothing"));
    }
    Ok(WorkloadPolicy {
        name: raw.metadata.name.into(),
        selector: doc.selector("spec.match", spec.matcher)?,
        exclude: spec.exclude.map(|e| doc.selector("spec.exclude", e)).transpose()?,
        profile,
        mode: spec.mode,
        check_modes,
        rules,
        rewrite: spec.rewrite,
        location: doc.location.clone(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeOnly {
    mode: Option<Mode>,
}

fn prefix_field(e: PolicyError, prefix: &str) -> PolicyError {
    match e {
        PolicyError::Invalid(mut invalid) => {
            invalid.field = join_field(prefix, &invalid.field);
            PolicyError::Invalid(invalid)
        }
        other @ PolicyError::Manifest(_) => other,
    }
}

fn join_field(prefix: &str, sub: &str) -> String {
    if sub.is_empty() { prefix.to_owned() } else { format!("{prefix}.{sub}") }
}

pub(super) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a sequence",
        serde_json::Value::Object(_) => "a mapping",
    }
}

fn tenant(doc: &Doc<'_>) -> Result<Arc<crate::project::Scope>, PolicyError> {
    match crate::project::Scope::from_tenant(&doc.node.to_json()) {
        Ok(scope) => Ok(Arc::new(scope)),
        Err(crate::project::ProjectError::Invalid { field, message, .. }) => Err(doc.error(&field, message)),
        Err(other) => Err(doc.error("", other.to_string())),
    }
}

fn exception(doc: &Doc<'_>) -> Result<PolicyException, PolicyError> {
    let raw: RawException = doc.typed(doc.node.to_json())?;
    let spec = raw.spec;
    if spec.rules.is_empty() {
        return Err(doc.error("spec.rules", "must name at least one rule"));
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let known = rule.parse::<RuleId>().is_ok()
            || pss::CHECKS.iter().any(|c| c.id == rule)
            || image::RULES.iter().any(|r| r.id == rule)
            || crate::project::RULES.iter().any(|r| r.id == rule);
        if !known {
            return Err(doc.error(&format!("spec.rules[{i}]"), format!("unknown rule id \"{rule}\"")));
        }
    }
    if spec.reason.trim().is_empty() {
        return Err(doc.error("spec.reason", "must say why the exception exists"));
    }
    let expires: jiff::Timestamp = spec.expires.parse().map_err(|e: jiff::Error| {
        doc.error(
            "spec.expires",
            format!("invalid RFC 3339 timestamp \"{}\" (expected e.g. 2027-03-01T00:00:00Z): {e}", spec.expires),
        )
    })?;
    let m = spec.matcher;
    let matcher = ExceptionMatch {
        resources: Selector {
            namespaces: doc.patterns("spec.match.namespaces", m.namespaces)?,
            kinds: doc.patterns("spec.match.kinds", m.kinds)?,
            names: doc.patterns("spec.match.names", m.names)?,
        },
        service_accounts: doc.patterns("spec.match.serviceAccounts", m.service_accounts)?,
        images: doc.patterns("spec.match.images", m.images)?,
    };
    let selects_anything = matcher.resources.namespaces.is_some()
        || matcher.resources.kinds.is_some()
        || matcher.resources.names.is_some()
        || matcher.service_accounts.is_some()
        || matcher.images.is_some();
    if !selects_anything {
        return Err(doc.error("spec.match", "must select something (namespaces, kinds, names, serviceAccounts or images): an exception for everything is a switch-off"));
    }
    Ok(PolicyException {
        name: raw.metadata.name,
        rules: spec.rules,
        matcher,
        expires,
        reason: spec.reason,
        location: doc.location.clone(),
    })
}

/// Whether a document is a Sigstore `trusted_root.json` (no `apiVersion`, a trusted-root `mediaType`).
fn is_trusted_root(root: &Node) -> bool {
    root.get("apiVersion").is_none()
        && root
            .get("mediaType")
            .and_then(Node::as_str)
            .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.trustedroot"))
}

/// Whether a document is TUF root metadata (no `apiVersion`, `signed._type: root`, `signatures`).
fn is_tuf_root(root: &Node) -> bool {
    root.get("apiVersion").is_none()
        && root.get("signatures").is_some()
        && root.get("signed").and_then(|signed| signed.get("_type")).and_then(Node::as_str) == Some("root")
}

fn workload_kind(doc: &Doc<'_>) -> Result<WorkloadKind, PolicyError> {
    let raw: RawWorkloadKind = doc.typed(doc.node.to_json())?;
    let spec = raw.spec;
    if spec.pod_template.is_none() && spec.images.is_empty() {
        return Err(doc.error("spec", "set podTemplate, images, or both"));
    }
    Ok(WorkloadKind {
        api_version: spec.api_version,
        kind: spec.kind,
        pod_template: spec.pod_template.as_deref().map(FieldPath::parse),
        image_paths: spec.images,
    })
}
