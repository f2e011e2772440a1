//! The manifest stream: multi-document YAML, JSON and `List` kinds in, ordered documents out, and every
//! place a pod template or an image sits in a resource.
//!
//! Owns parsing (with size and alias limits), resource addressing (a `List`'s items are resources of
//! their own but stay inside their document on output), pod-template and image-site discovery per kind,
//! and emitting the stream back as YAML in the same document and key order. It decides nothing.

mod node;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use node::{FieldPath, Node, NodeDeserializer, Segment, Value};

use crate::report::{ResourceId, SourceLocation};

/// Bounds on what the parser accepts, so hostile input cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input in bytes, per file and for stdin (default 64 MiB).
    pub max_bytes: usize,
    /// Most nodes that YAML aliases may replay in one input (default 10 000): bounds alias bombs.
    pub max_alias_events: usize,
    /// Deepest accepted nesting (default 200).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 64 * 1024 * 1024, max_alias_events: 10_000, max_depth: 200 }
    }
}

/// Why a stream could not be read. Each names the input and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or directory could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input is larger than [`Limits::max_bytes`].
    #[error("{origin}: input is larger than the limit of {limit} bytes (raise it with --max-input-bytes)")]
    TooLarge {
        /// File name or `<stdin>`.
        origin: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is not valid UTF-8.
    #[error("{origin}: input is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// File name or `<stdin>`.
        origin: String,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The YAML (or JSON) is malformed, or breaks a limit (alias expansion, nesting, duplicate keys).
    #[error("{origin}:{line}: {message}")]
    Syntax {
        /// File name or `<stdin>`.
        origin: String,
        /// One-based line, 0 when unknown.
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// A document is not a Kubernetes object (not a mapping, or lacking `apiVersion`/`kind`/`metadata.name`).
    #[error("{location}: {message}")]
    NotAnObject {
        /// Where the document is.
        location: SourceLocation,
        /// What is wrong.
        message: String,
    },
}

/// One document of the input stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file it came from; `None` for stdin.
    pub file: Option<String>,
    /// Zero-based index within its file.
    pub index: usize,
    /// The parsed tree.
    pub root: Node,
}

/// An ordered stream of documents, the unit syncgate reads and writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// The documents in input order.
    pub documents: Vec<Document>,
}

/// Where a resource sits in a [`Stream`]: its document, and its index in `items` when inside a `List`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// Index into [`Stream::documents`].
    pub document: usize,
    /// Index into the `List`'s `items`, when the document is a `List`.
    pub item: Option<usize>,
}

impl Address {
    /// Path from the document root to the resource (`items[3]` or the root).
    #[must_use]
    pub fn prefix(self) -> FieldPath {
        match self.item {
            Some(i) => FieldPath::root().key("items").index(i),
            None => FieldPath::root(),
        }
    }
}

/// A Kubernetes object found in the stream.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    /// Where it is.
    pub address: Address,
    /// Its document.
    pub document: &'a Document,
    /// The object itself.
    pub node: &'a Node,
}

impl Resource<'_> {
    /// `apiVersion` of the object.
    #[must_use]
    pub fn api_version(&self) -> &str {
        self.node.get("apiVersion").and_then(Node::as_str).unwrap_or("")
    }

    /// `kind` of the object.
    #[must_use]
    pub fn kind(&self) -> &str {
        self.node.get("kind").and_then(Node::as_str).unwrap_or("")
    }

    /// `metadata.name`, or `generateName` followed by `*`.
    #[must_use]
    pub fn name(&self) -> String {
        let meta = self.node.get("metadata");
        if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Node::as_str) {
            return name.to_owned();
        }
        meta.and_then(|m| m.get("generateName")).and_then(Node::as_str).map_or_else(String::new, |g| format!("{g}*"))
    }

    /// `metadata.namespace` as written.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.node.get("metadata").and_then(|m| m.get("namespace")).and_then(Node::as_str)
    }

    /// The identity used in findings; `default_namespace` fills in a missing namespace.
    #[must_use]
    pub fn id(&self, default_namespace: Option<&str>) -> ResourceId {
        ResourceId {
            api_version: self.api_version().to_owned(),
            kind: self.kind().to_owned(),
            namespace: self.namespace().or(default_namespace).map(str::to_owned),
            name: self.name(),
        }
    }

    /// Source location of a field of this resource (path relative to the resource).
    #[must_use]
    pub fn location(&self, path: &FieldPath) -> SourceLocation {
        SourceLocation {
            file: self.document.file.clone(),
            document: self.document.index,
            line: self.document.root.line_of(&self.address.prefix().join(path)),
        }
    }
}

/// Which built-in or configured kind carries a pod template where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadKind {
    /// `apiVersion` the rule applies to; `None` matches any.
    pub api_version: Option<String>,
    /// `kind`.
    pub kind: String,
    /// Path to a `PodTemplateSpec` (`metadata` + `spec`); the empty path means the object is a Pod.
    pub pod_template: Option<FieldPath>,
    /// Extra fields holding image references; `[*]` walks every item of a sequence.
    pub image_paths: Vec<String>,
}

/// The kinds whose pod templates Kubernetes itself defines, as Pod Security Admission sees them.
#[must_use]
pub fn builtin_workload_kinds() -> Vec<WorkloadKind> {
    let template = |kind: &str, path: &str| WorkloadKind {
        api_version: None,
        kind: kind.to_owned(),
        pod_template: Some(FieldPath::parse(path)),
        image_paths: Vec::new(),
    };
    vec![
        template("Pod", ""),
        template("Deployment", "spec.template"),
        template("ReplicaSet", "spec.template"),
        template("StatefulSet", "spec.template"),
        template("DaemonSet", "spec.template"),
        template("Job", "spec.template"),
        template("ReplicationController", "spec.template"),
        template("PodTemplate", "template"),
        template("CronJob", "spec.jobTemplate.spec.template"),
    ]
}

/// The three container lists of a pod spec, in the order Pod Security Admission visits them.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// One `image:` field of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSite {
    /// The resource it belongs to.
    pub address: Address,
    /// Container name, when the image is a container's.
    pub container: Option<String>,
    /// Path of the `image` field relative to the resource.
    pub path: FieldPath,
    /// The reference as written (may be invalid).
    pub image: String,
}

/// Reads every input: files, directories (recursively: `*.yaml`, `*.yml`, `*.json`, sorted, hidden
/// entries skipped) and `-` for stdin, into memory.
pub fn load(inputs: &[PathBuf], limits: &Limits) -> Result<Stream, ManifestError> {
    let mut stream = Stream::default();
    visit(inputs, limits, &mut |document| {
        stream.documents.push(document);
        Ok::<(), ManifestError>(())
    })?;
    Ok(stream)
}

/// Streams every input document by document into `each`, holding one input's text and one document's
/// tree at a time. Inputs are found as in [`load`].
pub fn visit<E: From<ManifestError>>(
    inputs: &[PathBuf],
    limits: &Limits,
    each: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(limits.max_bytes as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|source| ManifestError::Read { path: "<stdin>".into(), source })?;
            visit_bytes(&buf, None, limits, each)?;
            continue;
        }
        for file in collect_files(input)? {
            let display = file.display().to_string();
            let meta = fs::metadata(&file).map_err(|source| ManifestError::Read { path: display.clone(), source })?;
            if usize::try_from(meta.len()).unwrap_or(usize::MAX) > limits.max_bytes {
                return Err(ManifestError::TooLarge { origin: display, limit: limits.max_bytes }.into());
            }
            let bytes = fs::read(&file).map_err(|source| ManifestError::Read { path: display.clone(), source })?;
            visit_bytes(&bytes, Some(&display), limits, each)?;
        }
    }
    Ok(())
}

/// Parses one input's bytes document by document into `each`, dropping empty documents.
pub fn visit_bytes<E: From<ManifestError>>(
    bytes: &[u8],
    file: Option<&str>,
    limits: &Limits,
    each: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    let origin = file.unwrap_or("<stdin>").to_owned();
    if bytes.len() > limits.max_bytes {
        return Err(ManifestError::TooLarge { origin, limit: limits.max_bytes }.into());
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ManifestError::NotUtf8 { origin: origin.clone(), offset: e.valid_up_to() })?;
    let mut index = 0;
    let mut emit = |root: Node| -> Result<(), E> {
        if !root.is_null() {
            each(Document { file: file.map(str::to_owned), index, root })?;
            index += 1;
        }
        Ok(())
    };
    if text.lines().any(|l| l.starts_with('%')) {
        // Directives belong to the document after them: let the parser stream the whole input.
        let mut reader = std::io::Cursor::new(text.as_bytes());
        for node in serde_saphyr::read_with_options::<_, Node>(&mut reader, options(text.len(), limits)) {
            emit(node.map_err(|e| syntax_error(&e, &origin, limits, 0))?)?;
        }
        return Ok(());
    }
    for (offset, chunk) in split_documents(text) {
        for mut node in serde_saphyr::from_multiple_with_options::<Node>(chunk, options(chunk.len(), limits))
            .map_err(|e| syntax_error(&e, &origin, limits, offset))?
        {
            node.shift_lines(offset);
            emit(node)?;
        }
    }
    Ok(())
}

/// The manifest files `input` stands for, as [`load`] reads them: the file itself, or every
/// `*.yaml`, `*.yml` and `*.json` below the directory (dot-entries skipped, symlinked directories
/// not followed), sorted.
pub fn files(input: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    collect_files(input)
}

fn collect_files(input: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let meta =
        fs::metadata(input).map_err(|source| ManifestError::Read { path: input.display().to_string(), source })?;
    if !meta.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<(PathBuf, fs::FileType)> = fs::read_dir(input)
        .map_err(|source| ManifestError::Read { path: input.display().to_string(), source })?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_str().is_some_and(|n| n.starts_with('.')))
        .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (entry, file_type) in entries {
        // Directories are walked only when they are real directories: a symlinked directory could
        // loop back on itself. Symlinked files are read.
        if file_type.is_dir() {
            out.extend(collect_files(&entry)?);
        } else if !entry.is_dir()
            && entry.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Splits a stream at its document markers (`---` or `...` at the start of a line, which YAML forbids
/// inside content), so each document is parsed and dropped on its own. Yields each chunk with the
/// number of lines before it.
fn split_documents(text: &str) -> impl Iterator<Item = (u32, &str)> {
    let mut start = 0;
    let mut start_line = 0u32;
    let mut line = 0u32;
    let mut pos = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while pos < text.len() {
            let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
            let current = &text[pos..end];
            let is_marker = (current.starts_with("---") || current.starts_with("..."))
                && current[3..].chars().next().is_none_or(char::is_whitespace);
            if is_marker && pos > start {
                let chunk = (start_line, &text[start..pos]);
                start = pos;
                start_line = line;
                line += 1;
                pos = end;
                return Some(chunk);
            }
            line += 1;
            pos = end;
        }
        done = true;
        Some((start_line, &text[start..]))
    })
}

/// Parses one input (a file's bytes or stdin) into documents, dropping empty documents.
pub fn parse_bytes(bytes: &[u8], file: Option<&str>, limits: &Limits) -> Result<Vec<Document>, ManifestError> {
    let mut out = Vec::new();
    visit_bytes(bytes, file, limits, &mut |d| {
        out.push(d);
        Ok::<(), ManifestError>(())
    })?;
    Ok(out)
}

fn options(len: usize, limits: &Limits) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            // Every event needs at least one input byte, except replayed aliases, bounded below.
            max_reader_input_bytes: Some(limits.max_bytes),
            max_events: len + 1024,
            max_nodes: len + 1024,
            max_documents: len / 4 + 16,
            max_total_scalar_bytes: len.saturating_mul(2) + 1024,
            max_depth: limits.max_depth,
        },
        alias_limits: alias_limits(limits),
        // Node's own visitor refuses duplicates with the key named, in one pass over small maps.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
    }
}

fn syntax_error(e: &serde_saphyr::Error, origin: &str, limits: &Limits, line_offset: u32) -> ManifestError {
    let message = e.to_string();
    let message = if message.contains("budget breached") || message.contains("alias") {
        format!(
            "input exceeds a parser limit (YAML alias expansion is bounded to {} nodes, nesting to {} levels): {message}",
            limits.max_alias_events, limits.max_depth
        )
    } else {
        message
    };
    let line = e.location().map_or(0, |l| l.line() + u64::from(line_offset));
    ManifestError::Syntax { origin: origin.to_owned(), line, message }
}

fn alias_limits(limits: &Limits) -> serde_saphyr::options::AliasLimits {
    let mut alias = serde_saphyr::options::AliasLimits::default();
    alias.max_total_replayed_events = limits.max_alias_events;
    alias.max_replay_stack_depth = 16;
    alias.max_alias_expansions_per_anchor = limits.max_alias_events;
    alias
}

/// Parses YAML (or JSON, which is YAML) text into document trees, under `limits`.
pub fn parse_str(text: &str, limits: &Limits) -> Result<Vec<Node>, ManifestError> {
    parse_bytes(text.as_bytes(), None, limits).map(|docs| docs.into_iter().map(|d| d.root).collect())
}

impl Document {
    /// Every Kubernetes object of this document (a `List`'s items in item order); `index` is the
    /// document's position in the whole stream, used in each resource's [`Address`].
    ///
    /// Fails on a document that is not an object with `apiVersion`, `kind` and a name.
    pub fn resources(&self, index: usize) -> Result<Vec<Resource<'_>>, ManifestError> {
        let root = &self.root;
        check_object(self, root, None)?;
        let is_list =
            root.get("kind").and_then(Node::as_str).is_some_and(|k| k.ends_with("List")) && root.get("items").is_some();
        if !is_list {
            return Ok(vec![Resource { address: Address { document: index, item: None }, document: self, node: root }]);
        }
        let items = root.get("items").and_then(Node::as_seq).ok_or_else(|| ManifestError::NotAnObject {
            location: location_of(self, &FieldPath::root().key("items")),
            message: format!("`items` of a {} must be a sequence", kind_of(root)),
        })?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                check_object(self, item, Some(i))?;
                Ok(Resource { address: Address { document: index, item: Some(i) }, document: self, node: item })
            })
            .collect()
    }
}

impl Stream {
    /// Every Kubernetes object, in stream order; a `List`'s items in item order.
    ///
    /// Fails on a document that is not an object with `apiVersion`, `kind` and a name.
    pub fn resources(&self) -> Result<Vec<Resource<'_>>, ManifestError> {
        let mut out = Vec::with_capacity(self.documents.len());
        for (d, document) in self.documents.iter().enumerate() {
            out.extend(document.resources(d)?);
        }
        Ok(out)
    }

    /// Writes the stream back as YAML, one document per input document, in input order.
    pub fn emit(&self) -> Result<String, serde_saphyr::SerializeError> {
        let roots: Vec<&Node> = self.documents.iter().map(|d| &d.root).collect();
        // Long single-line strings (pinned image references) stay plain scalars; only strings with
        // newlines become block scalars.
        let options = serde_saphyr::ser_options! { folded_wrap_chars: 1 << 30 };
        serde_saphyr::to_string_multiple_with_options(&roots, options)
    }
}

fn kind_of(node: &Node) -> &str {
    node.get("kind").and_then(Node::as_str).unwrap_or("List")
}

fn location_of(document: &Document, path: &FieldPath) -> SourceLocation {
    SourceLocation { file: document.file.clone(), document: document.index, line: document.root.line_of(path) }
}

fn check_object(document: &Document, node: &Node, item: Option<usize>) -> Result<(), ManifestError> {
    let prefix = Address { document: 0, item }.prefix();
    let what = item.map_or_else(|| "document".to_owned(), |i| format!("items[{i}]"));
    let fail = |path: &FieldPath, message: String| ManifestError::NotAnObject {
        location: location_of(document, &prefix.join(path)),
        message,
    };
    if node.as_map().is_none() {
        return Err(fail(
            &FieldPath::root(),
            format!(
                "{what} is a {}, not a Kubernetes object (a mapping with apiVersion, kind and metadata)",
                node.type_name()
            ),
        ));
    }
    for field in ["apiVersion", "kind"] {
        match node.get(field) {
            Some(v) if v.as_str().is_some_and(|s| !s.is_empty()) => {}
            Some(v) => {
                return Err(fail(
                    &FieldPath::root().key(field),
                    format!("{what}: {field} must be a non-empty string, found {}", v.type_name()),
                ));
            }
            None => return Err(fail(&FieldPath::root(), format!("{what} has no {field}: not a Kubernetes object"))),
        }
    }
    let is_list =
        node.get("kind").and_then(Node::as_str).is_some_and(|k| k.ends_with("List")) && node.get("items").is_some();
    if is_list {
        return Ok(());
    }
    let Some(meta) = node.get("metadata") else {
        return Err(fail(&FieldPath::root(), format!("{what} ({}) has no metadata", kind_of(node))));
    };
    if meta.as_map().is_none() {
        return Err(fail(
            &FieldPath::root().key("metadata"),
            format!("{what}: metadata must be a mapping, found {}", meta.type_name()),
        ));
    }
    for field in ["name", "namespace", "generateName"] {
        if let Some(v) = meta.get(field).filter(|v| v.as_str().is_none()) {
            return Err(fail(
                &FieldPath::root().key("metadata").key(field),
                format!("{what}: metadata.{field} must be a string, found {}", v.type_name()),
            ));
        }
    }
    if meta.get("name").is_none() && meta.get("generateName").is_none() {
        return Err(fail(
            &FieldPath::root().key("metadata"),
            format!("{what} ({}) has neither metadata.name nor metadata.generateName", kind_of(node)),
        ));
    }
    Ok(())
}

/// The pod template of a resource, if its kind has one: the path to the `PodTemplateSpec` (empty for a
/// Pod) and the node there.
#[must_use]
pub fn pod_template<'a>(resource: &Resource<'a>, kinds: &[WorkloadKind]) -> Option<(FieldPath, &'a Node)> {
    let kind = find_kind(resource, kinds)?;
    let path = kind.pod_template.clone()?;
    let node = resource.node.at(&path)?;
    Some((path, node))
}

fn find_kind<'k>(resource: &Resource<'_>, kinds: &'k [WorkloadKind]) -> Option<&'k WorkloadKind> {
    // Configured kinds first, so a policy can refine a built-in; then the built-ins.
    kinds
        .iter()
        .rev()
        .find(|k| k.kind == resource.kind() && k.api_version.as_deref().is_none_or(|v| v == resource.api_version()))
}

/// Every image field of a resource: each container of its pod template (init, regular, ephemeral, in
/// that order) and each configured extra image path.
#[must_use]
pub fn image_sites(resource: &Resource<'_>, kinds: &[WorkloadKind]) -> Vec<ImageSite> {
    let mut sites = Vec::new();
    let Some(kind) = find_kind(resource, kinds) else { return sites };
    if let Some(template) = &kind.pod_template {
        let spec_path = template.key("spec");
        if let Some(spec) = resource.node.at(&spec_path) {
            for list in CONTAINER_LISTS {
                let Some(containers) = spec.get(list).and_then(Node::as_seq) else { continue };
                for (i, container) in containers.iter().enumerate() {
                    let Some(image) = container.get("image").and_then(Node::as_str) else { continue };
                    sites.push(ImageSite {
                        address: resource.address,
                        container: container.get("name").and_then(Node::as_str).map(str::to_owned),
                        path: spec_path.key(list).index(i).key("image"),
                        image: image.to_owned(),
                    });
                }
            }
        }
    }
    for pattern in &kind.image_paths {
        walk_pattern(resource.node, &FieldPath::root(), &pattern_segments(pattern), &mut |path, node| {
            if let Some(image) = node.as_str() {
                sites.push(ImageSite { address: resource.address, container: None, path, image: image.to_owned() });
            }
        });
    }
    sites
}

enum PatternSeg {
    Key(String),
    Index(usize),
    Any,
}

fn pattern_segments(pattern: &str) -> Vec<PatternSeg> {
    let marked = pattern.replace("[*]", "[18446744073709551615]");
    FieldPath::parse(&marked)
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => PatternSeg::Key(k.clone()),
            Segment::Index(usize::MAX) => PatternSeg::Any,
            Segment::Index(i) => PatternSeg::Index(*i),
        })
        .collect()
}

fn walk_pattern(node: &Node, at: &FieldPath, rest: &[PatternSeg], visit: &mut dyn FnMut(FieldPath, &Node)) {
    let Some((first, rest)) = rest.split_first() else {
        visit(at.clone(), node);
        return;
    };
    match first {
        PatternSeg::Key(k) => {
            if let Some(child) = node.get(k) {
                walk_pattern(child, &at.key(k), rest, visit);
            }
        }
        PatternSeg::Index(i) => {
            if let Some(child) = node.as_seq().and_then(|s| s.get(*i)) {
                walk_pattern(child, &at.index(*i), rest, visit);
            }
        }
        PatternSeg::Any => {
            for (i, child) in node.as_seq().unwrap_or_default().iter().enumerate() {
                walk_pattern(child, &at.index(i), rest, visit);
            }
        }
    }
}

/// Replaces the string at `path` of the resource at `address` (used to write pinned images back).
/// Returns false when the field does not exist or is not a string.
pub fn rewrite(stream: &mut Stream, address: Address, path: &FieldPath, value: String) -> bool {
    let Some(document) = stream.documents.get_mut(address.document) else { return false };
    match document.root.at_mut(&address.prefix().join(path)) {
        Some(node) if node.as_str().is_some() => {
            node.value = Value::String(value);
            true
        }
        _ => false,
    }
}

/// Sets `metadata.annotations[key]` of the resource at `address`, creating `annotations` when it is
/// missing. Returns false when the resource or its `metadata` is not a mapping.
pub fn annotate(stream: &mut Stream, address: Address, key: &str, value: String) -> bool {
    let Some(document) = stream.documents.get_mut(address.document) else { return false };
    let Some(metadata) = document.root.at_mut(&address.prefix().key("metadata")) else { return false };
    let Value::Map(entries) = &mut metadata.value else { return false };
    if !entries.iter().any(|(k, _)| k == "annotations") {
        entries.push(("annotations".to_owned(), Node::new(Value::Map(Vec::new()))));
    }
    let Some((_, annotations)) = entries.iter_mut().find(|(k, _)| k == "annotations") else { return false };
    if annotations.is_null() {
        annotations.value = Value::Map(Vec::new());
    }
    let Value::Map(annotations) = &mut annotations.value else { return false };
    let node = Node::new(Value::String(value));
    match annotations.iter_mut().find(|(k, _)| k == key) {
        Some((_, existing)) => *existing = node,
        None => annotations.push((key.to_owned(), node)),
    }
    true
}

#[cfg(test)]
mod tests;
