//! KRM functions: a `ResourceList` in (from `kpt fn eval`/`kpt fn render` or kustomize's exec
//! functions), the same list out with its items (images pinned when allowed) and `results`.
//!
//! Owns reading a ResourceList (its `items` become a [`Stream`] for the pipeline), reading the
//! function's configuration ([`FunctionConfig`]), mapping a [`Report`] to KRM results, and writing the
//! list back. It decides nothing and does no I/O: the command line reads stdin, runs the pipeline and
//! writes stdout.
//!
//! The items are kept exactly as they came (every field and annotation, including
//! `config.kubernetes.io/*` and `internal.config.kubernetes.io/*`, in their order); only the image
//! fields the pipeline pins change. Comments are not kept: kpt and kustomize copy them back from
//! their own copy of the items, matched by the `internal.config.kubernetes.io/id` annotations.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::manifest::{Document, FieldPath, Limits, ManifestError, Node, Stream, Value};
use crate::pipeline::ImageRewrite;
use crate::policy::RunMode;
use crate::report::{Finding, Mode, Report, Status};

/// The `apiVersion`s of a ResourceList this function reads.
pub const API_VERSIONS: [&str; 2] = ["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1"];

/// The `apiVersion` of syncgate's policy documents, accepted as a `functionConfig`.
const POLICY_API_VERSION: &str = "syncgate.dev/v1alpha1";

/// The `data` keys a `ConfigMap` functionConfig may set.
pub const CONFIG_KEYS: [&str; 4] = ["policy", "mode", "namespace", "offline"];

/// Annotations naming the file an item came from, newest first (kpt and kustomize set both).
const PATH_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/path", "config.kubernetes.io/path"];

/// Annotations giving the item's document index within its file, newest first.
const INDEX_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/index", "config.kubernetes.io/index"];

/// Why stdin is not a ResourceList this function can run on.
#[derive(Debug, thiserror::Error)]
pub enum KrmError {
    /// The input could not be read as YAML or JSON, or is over the size limit.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The input holds no document, or more than one.
    #[error("<stdin>: expected one ResourceList ({}, kind ResourceList), found {found} documents", API_VERSIONS.join(" or "))]
    DocumentCount {
        /// How many documents there were.
        found: usize,
    },
    /// The document is not a ResourceList (wrong `apiVersion` or `kind`, `items` not a list of objects).
    #[error("<stdin>:{line}: {message}")]
    NotAResourceList {
        /// One-based line of the offending field; 0 when unknown.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// The `functionConfig` is of an unsupported kind or sets an unknown or invalid key.
    #[error("<stdin>:{line}: functionConfig: {message}")]
    FunctionConfig {
        /// One-based line of the offending field; 0 when unknown.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// The output could not be written as YAML.
    #[error("cannot write the ResourceList")]
    Emit(#[source] serde_saphyr::SerializeError),
}

/// A ResourceList as read from stdin.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceList {
    /// `apiVersion` as given (`config.kubernetes.io/v1` or `v1beta1`), written back the same.
    api_version: String,
    /// The items, one document each (document `index` = position in `items`, no file).
    pub items: Stream,
    /// The function's configuration, written back unchanged.
    pub function_config: Option<Node>,
    /// Every other top-level field (e.g. `results` of an earlier function), in input order.
    others: Vec<(String, Node)>,
}

/// What `functionConfig` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionConfig {
    /// No `functionConfig` (or an empty one): the command line decides everything.
    Absent,
    /// A `ConfigMap` (what `kpt fn eval --exec syncgate -- key=value` and a Kptfile's `configMap:`
    /// produce) with settings in `data`.
    Settings(Settings),
    /// A syncgate policy document (`WorkloadPolicy`, `ImagePolicy`, …): part of the policy set.
    Policy(Document),
}

/// The settings of a `ConfigMap` functionConfig; `None` leaves the command line's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `data.policy`: comma-separated policy files or directories (relative to the current directory).
    pub policy: Vec<PathBuf>,
    /// `data.mode`: `enforce` or `report`.
    pub mode: Option<RunMode>,
    /// `data.namespace`: namespace for namespaced items that set none.
    pub namespace: Option<String>,
    /// `data.offline`: `"true"` or `"false"`.
    pub offline: Option<bool>,
}

/// How serious a result is, in the KRM function specification's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A failure that denies (an enforced rule failed or could not be decided).
    Error,
    /// Reported but allowed (report mode, an exception, or an undecidable rule in report mode).
    Warning,
}

impl Severity {
    /// The specification's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The object a result is about (`resourceRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` as written; `None` when the item sets none.
    pub namespace: Option<String>,
}

/// The field a result is about (`field`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResultField {
    /// Path from the item's root (`spec.template.spec.containers[0].image`).
    pub path: String,
    /// The value as written in the input, when it is a scalar.
    pub current_value: Option<Node>,
    /// For an image, the reference pinned to the digest that was resolved (and verified).
    pub proposed_value: Option<String>,
}

/// The file an item came from (`file`), from its path and index annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// Path relative to the package or kustomization.
    pub path: String,
    /// Index of the document within the file.
    pub index: Option<u64>,
}

/// One KRM `results` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KrmResult {
    /// The finding's message, followed by its fix.
    pub message: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The item.
    pub resource_ref: Option<ResourceRef>,
    /// The field.
    pub field: Option<ResultField>,
    /// The item's file.
    pub file: Option<ResultFile>,
    /// `rule`, `status`, `mode`, and `policy`, `container`, `exception` when known.
    pub tags: BTreeMap<String, String>,
}

impl ResourceList {
    /// Reads a ResourceList (YAML or JSON) from one input's bytes, under `limits`.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<ResourceList, KrmError> {
        let mut documents = crate::manifest::parse_bytes(bytes, None, limits)?;
        if documents.len() != 1 {
            return Err(KrmError::DocumentCount { found: documents.len() });
        }
        let root = documents.remove(0).root;
        let line = root.line;
        let Value::Map(entries) = root.value else {
            return Err(not_a_list(line, format!("expected a ResourceList mapping, found {}", root.value.type_name())));
        };
        let field = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let api_version = match field("apiVersion").map(|n| (n.line, n.as_str())) {
            Some((_, Some(v))) if API_VERSIONS.contains(&v) => v.to_owned(),
            Some((at, Some(other))) => {
                return Err(not_a_list(
                    at,
                    format!(
                        "unsupported apiVersion \"{other}\" of a ResourceList, expected {}",
                        API_VERSIONS.join(" or ")
                    ),
                ));
            }
            Some((at, None)) => return Err(not_a_list(at, "apiVersion must be a string".to_owned())),
            None => {
                return Err(not_a_list(
                    line,
                    format!("not a ResourceList: no apiVersion (expected {})", API_VERSIONS.join(" or ")),
                ));
            }
        };
        match field("kind").map(|n| (n.line, n.as_str())) {
            Some((_, Some("ResourceList"))) => {}
            Some((at, Some(other))) => {
                return Err(not_a_list(at, format!("kind is \"{other}\", expected ResourceList")));
            }
            _ => return Err(not_a_list(line, "not a ResourceList: kind must be ResourceList".to_owned())),
        }
        let mut items = Vec::new();
        let mut function_config = None;
        let mut others = Vec::new();
        for (key, node) in entries {
            match key.as_str() {
                "apiVersion" | "kind" => {}
                "items" => {
                    items = match node.value {
                        Value::Seq(items) => items,
                        Value::Null => Vec::new(),
                        other => {
                            return Err(not_a_list(
                                node.line,
                                format!("items must be a list of objects, found {}", other.type_name()),
                            ));
                        }
                    };
                }
                "functionConfig" => function_config = (!node.is_null()).then_some(node),
                _ => others.push((key, node)),
            }
        }
        if let Some((i, item)) = items.iter().enumerate().find(|(_, item)| item.as_map().is_none()) {
            return Err(not_a_list(
                item.line,
                format!("items[{i}] is a {}, not a Kubernetes object", item.value.type_name()),
            ));
        }
        let documents =
            items.into_iter().enumerate().map(|(index, root)| Document { file: None, index, root }).collect();
        Ok(ResourceList { api_version, items: Stream { documents }, function_config, others })
    }

    /// What the `functionConfig` asks for.
    pub fn config(&self) -> Result<FunctionConfig, KrmError> {
        let Some(config) = &self.function_config else { return Ok(FunctionConfig::Absent) };
        let Some(entries) = config.as_map() else {
            return Err(config_error(config.line, format!("expected an object, found {}", config.value.type_name())));
        };
        if entries.is_empty() {
            return Ok(FunctionConfig::Absent);
        }
        let text = |key: &str| config.get(key).and_then(Node::as_str).unwrap_or_default();
        match (text("apiVersion"), text("kind")) {
            ("v1", "ConfigMap") => settings(config).map(FunctionConfig::Settings),
            (POLICY_API_VERSION, _) => {
                Ok(FunctionConfig::Policy(Document { file: None, index: 0, root: config.clone() }))
            }
            (api_version, kind) => Err(config_error(
                config.line,
                format!(
                    "unsupported {} (apiVersion \"{api_version}\"): give a ConfigMap (data: {}) or a {POLICY_API_VERSION} policy document",
                    if kind.is_empty() { "object without kind".to_owned() } else { format!("kind \"{kind}\"") },
                    CONFIG_KEYS.join(", "),
                ),
            )),
        }
    }

    /// Writes the list back as YAML: `apiVersion`, `kind`, `items`, `functionConfig`, any other
    /// field it came with, then `results` (those it came with, followed by `results`); no `results`
    /// field when there are none.
    pub fn emit(self, results: &[KrmResult]) -> Result<String, KrmError> {
        let ResourceList { api_version, items, function_config, mut others } = self;
        let mut earlier = match others.iter().position(|(k, _)| k == "results") {
            Some(at) => match others.remove(at).1.value {
                Value::Seq(earlier) => earlier,
                Value::Null => Vec::new(),
                other => vec![Node::new(other)],
            },
            None => Vec::new(),
        };
        earlier.extend(results.iter().map(KrmResult::to_node));
        let mut root = vec![
            ("apiVersion".to_owned(), string(api_version)),
            ("kind".to_owned(), string("ResourceList".to_owned())),
            ("items".to_owned(), Node::new(Value::Seq(items.documents.into_iter().map(|d| d.root).collect()))),
        ];
        if let Some(config) = function_config {
            root.push(("functionConfig".to_owned(), config));
        }
        root.extend(others);
        if !earlier.is_empty() {
            root.push(("results".to_owned(), Node::new(Value::Seq(earlier))));
        }
        // As `Stream::emit`: long single-line strings stay plain scalars.
        let options = serde_saphyr::ser_options! { folded_wrap_chars: 1 << 30 };
        serde_saphyr::to_string_with_options(&Node::new(Value::Map(root)), options).map_err(KrmError::Emit)
    }
}

fn settings(config: &Node) -> Result<Settings, KrmError> {
    let mut out = Settings::default();
    let Some(data) = config.get("data").filter(|d| !d.is_null()) else { return Ok(out) };
    let Some(entries) = data.as_map() else {
        return Err(config_error(data.line, format!("data must be a mapping, found {}", data.value.type_name())));
    };
    for (key, value) in entries {
        let fail = |message: String| config_error(value.line, format!("data.{key}: {message}"));
        let text = match &value.value {
            Value::String(s) => s.trim().to_owned(),
            Value::Bool(b) => b.to_string(),
            other => return Err(fail(format!("must be a string, found {}", other.type_name()))),
        };
        match key.as_str() {
            "policy" => {
                out.policy = text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect();
            }
            "mode" => {
                out.mode = Some(match text.as_str() {
                    "enforce" => RunMode::AsConfigured,
                    "report" => RunMode::ReportOnly,
                    other => return Err(fail(format!("unknown mode \"{other}\", expected enforce or report"))),
                });
            }
            "namespace" if text.is_empty() => return Err(fail("must not be empty".to_owned())),
            "namespace" => out.namespace = Some(text),
            "offline" => {
                out.offline = Some(match text.as_str() {
                    "true" => true,
                    "false" => false,
                    other => return Err(fail(format!("expected \"true\" or \"false\", found \"{other}\""))),
                });
            }
            unknown => {
                return Err(config_error(
                    value.line,
                    format!("unknown key data.{unknown} (known: {})", CONFIG_KEYS.join(", ")),
                ));
            }
        }
    }
    Ok(out)
}

/// The KRM results of a report: one per finding that is not a pass or a skip (skips say only that
/// a rule does not apply, and every non-workload item has many), in report order. `items` are the
/// items as read (before pinning), `rewrites` every image the registries resolved (the pinned values
/// become `proposedValue`).
#[must_use]
pub fn results(report: &Report, items: &Stream, rewrites: &[ImageRewrite]) -> Vec<KrmResult> {
    report
        .findings
        .iter()
        .filter_map(|finding| {
            let severity = severity(finding)?;
            Some(result(finding, severity, items, rewrites))
        })
        .collect()
}

/// The severity of a finding, `None` for those that are not results.
fn severity(finding: &Finding) -> Option<Severity> {
    match finding.status {
        Status::Pass | Status::Skip => None,
        Status::Fail => Some(Severity::Error),
        Status::Error if finding.mode == Mode::Enforce => Some(Severity::Error),
        Status::Error | Status::Warn => Some(Severity::Warning),
    }
}

fn result(finding: &Finding, severity: Severity, items: &Stream, rewrites: &[ImageRewrite]) -> KrmResult {
    // Findings point at their item by document index; source-level findings (tenancy) have none
    // and name a resource that is not an item.
    let item = finding.location.as_ref().filter(|l| l.file.is_none()).and_then(|location| {
        let document = items.documents.get(location.document)?;
        let resources = document.resources(location.document).ok()?;
        resources.into_iter().find(|r| r.kind() == finding.resource.kind && r.name() == finding.resource.name)
    });
    let resource_ref = Some(match &item {
        Some(item) => ResourceRef {
            api_version: item.api_version().to_owned(),
            kind: item.kind().to_owned(),
            name: item.name(),
            namespace: item.namespace().map(str::to_owned),
        },
        None => ResourceRef {
            api_version: finding.resource.api_version.clone(),
            kind: finding.resource.kind.clone(),
            name: finding.resource.name.clone(),
            namespace: finding.resource.namespace.clone(),
        },
    });
    let field = finding.path.as_ref().map(|path| {
        let parsed = FieldPath::parse(path);
        let current_value = item
            .as_ref()
            .and_then(|item| item.node.at(&parsed))
            .filter(|node| !matches!(node.value, Value::Map(_) | Value::Seq(_)))
            .map(|node| Node::new(node.value.clone()))
            .or_else(|| finding.image.clone().map(string));
        let proposed_value = item.as_ref().and_then(|item| {
            rewrites.iter().find(|r| r.address == item.address && r.path == parsed).map(|r| r.image.clone())
        });
        ResultField { path: path.clone(), current_value, proposed_value }
    });
    let file = item.as_ref().and_then(|item| {
        let annotations = item.node.get("metadata").and_then(|m| m.get("annotations"));
        let annotation = |keys: &[&str]| {
            keys.iter().find_map(|k| annotations.and_then(|a| a.get(k)).and_then(Node::as_str).map(str::to_owned))
        };
        let path = annotation(&PATH_ANNOTATIONS)?;
        let index = annotation(&INDEX_ANNOTATIONS).and_then(|i| i.parse::<u64>().ok());
        Some(ResultFile { path, index })
    });
    let mut tags = BTreeMap::new();
    tags.insert("rule".to_owned(), finding.rule.clone());
    tags.insert("status".to_owned(), finding.status.as_str().to_owned());
    tags.insert("mode".to_owned(), finding.mode.as_str().to_owned());
    if let Some(policy) = &finding.policy {
        tags.insert("policy".to_owned(), policy.clone());
    }
    if let Some(container) = &finding.container {
        tags.insert("container".to_owned(), container.clone());
    }
    if let Some(exception) = &finding.exception {
        tags.insert("exception".to_owned(), exception.name.clone());
    }
    let message = match &finding.fix {
        Some(fix) => format!("{}; fix: {fix}", finding.message),
        None => finding.message.clone(),
    };
    KrmResult { message, severity, resource_ref, field, file, tags }
}

impl KrmResult {
    /// The result as the specification's fields, in a fixed order.
    fn to_node(&self) -> Node {
        let mut entries = vec![
            ("message".to_owned(), string(self.message.clone())),
            ("severity".to_owned(), string(self.severity.as_str().to_owned())),
        ];
        if let Some(r) = &self.resource_ref {
            let mut reference = vec![
                ("apiVersion".to_owned(), string(r.api_version.clone())),
                ("kind".to_owned(), string(r.kind.clone())),
                ("name".to_owned(), string(r.name.clone())),
            ];
            if let Some(namespace) = &r.namespace {
                reference.push(("namespace".to_owned(), string(namespace.clone())));
            }
            entries.push(("resourceRef".to_owned(), Node::new(Value::Map(reference))));
        }
        if let Some(field) = &self.field {
            let mut out = vec![("path".to_owned(), string(field.path.clone()))];
            if let Some(current) = &field.current_value {
                out.push(("currentValue".to_owned(), current.clone()));
            }
            if let Some(proposed) = &field.proposed_value {
                out.push(("proposedValue".to_owned(), string(proposed.clone())));
            }
            entries.push(("field".to_owned(), Node::new(Value::Map(out))));
        }
        if let Some(file) = &self.file {
            let mut out = vec![("path".to_owned(), string(file.path.clone()))];
            if let Some(index) = file.index {
                out.push(("index".to_owned(), Node::new(i64::try_from(index).map_or(Value::UInt(index), Value::Int))));
            }
            entries.push(("file".to_owned(), Node::new(Value::Map(out))));
        }
        if !self.tags.is_empty() {
            let tags = self.tags.iter().map(|(k, v)| (k.clone(), string(v.clone()))).collect();
            entries.push(("tags".to_owned(), Node::new(Value::Map(tags))));
        }
        Node::new(Value::Map(entries))
    }
}

fn string(value: String) -> Node {
    Node::new(Value::String(value))
}

fn not_a_list(line: u32, message: String) -> KrmError {
    KrmError::NotAResourceList { line, message }
}

fn config_error(line: u32, message: String) -> KrmError {
    KrmError::FunctionConfig { line, message }
}

#[cfg(test)]
mod tests;
