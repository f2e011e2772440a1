//! A gate ready to serve requests: the named policy sets (hot-reloadable), the registry resolver,
//! the signature verifier and the renderer, shared by one-shot commands (`syncgate generate`) and the
//! daemon (`syncgate serve`). Each request is `render → pipeline::gate → warnings annotated`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::argocd::AppEnv;
use crate::image::ImageRef;
use crate::manifest::{self, Limits, Stream};
use crate::pipeline::{self, CheckOptions, PipelineError, Tenancy};
use crate::policy::{self, PolicyError, PolicySet, RunMode};
use crate::project::{Destination, Events, Projects, split_app_name};
use crate::registry::{Resolve, ResolveError};
use crate::render::{Render, RenderError, SourceKind};
use crate::report::{Decision, Report, ResourceId, Status};
use crate::verify::{Verification, Verify};

/// The policy set used when a request names none.
pub const DEFAULT_SET: &str = "default";

/// How long posting a denial Event may take.
const EVENT_BUDGET: Duration = Duration::from_secs(3);

/// The annotation that carries report-mode findings on an allowed resource.
pub const WARNINGS_ANNOTATION: &str = "syncgate.dev/warnings";

/// Where policy sets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// Files and directories that together form the one set named `default` (`--policy`).
    Paths(Vec<PathBuf>),
    /// A directory whose subdirectories are named sets (`--policy-dir`, e.g. one mounted ConfigMap
    /// per set); YAML files directly inside it form the `default` set when no `default/` exists.
    Root(PathBuf),
}

/// Loaded policy sets by name, and a fingerprint of the files they came from.
#[derive(Debug, Clone, Default)]
pub struct PolicySets {
    /// The sets, by name.
    pub sets: BTreeMap<String, Arc<PolicySet>>,
    /// SHA-256 over every policy file's path and bytes: changes exactly when a reload could.
    pub fingerprint: String,
}

impl PolicySets {
    /// The `Tenant` named `name` in any set (sets in name order). Tenants bound applications
    /// whichever set a request picks: an Application chooses its set, never its tenancy.
    #[must_use]
    pub fn tenant(&self, name: &str) -> Option<Arc<crate::project::Scope>> {
        self.sets.values().find_map(|set| set.tenant(name).cloned())
    }

    /// Whether any set defines a `Tenant` (then every request must be bounded by one).
    #[must_use]
    pub fn has_tenants(&self) -> bool {
        self.sets.values().any(|set| !set.tenants.is_empty())
    }
}

impl PolicySource {
    /// Reads every set; any invalid document fails the whole load (naming the file and field).
    pub fn load(&self, limits: &Limits) -> Result<PolicySets, GateError> {
        // Taken first: files changed while loading make the next reload see a difference.
        let fingerprint = self.fingerprint()?;
        let mut sets = BTreeMap::new();
        for (name, paths) in self.layout()? {
            let set = policy::load(&paths, limits).map_err(|source| GateError::Policy { set: name.clone(), source })?;
            sets.insert(name, Arc::new(set));
        }
        if sets.is_empty() {
            return Err(GateError::NoPolicySets { location: self.describe() });
        }
        Ok(PolicySets { sets, fingerprint })
    }

    /// SHA-256 over the path and content of every file that belongs to a set.
    pub fn fingerprint(&self) -> Result<String, GateError> {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        for (name, paths) in self.layout()? {
            hash.update(name.as_bytes());
            for path in paths {
                let files = manifest::files(&path).map_err(|e| GateError::Read {
                    path: path.display().to_string(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                for file in files {
                    let bytes = std::fs::read(&file)
                        .map_err(|source| GateError::Read { path: file.display().to_string(), source })?;
                    hash.update(file.display().to_string().as_bytes());
                    hash.update([0]);
                    hash.update(sha2::Sha256::digest(&bytes));
                }
            }
        }
        Ok(hex::encode(hash.finalize()))
    }

    fn describe(&self) -> String {
        match self {
            PolicySource::Paths(paths) => paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            PolicySource::Root(root) => root.display().to_string(),
        }
    }

    /// Set name → the paths that form it.
    fn layout(&self) -> Result<BTreeMap<String, Vec<PathBuf>>, GateError> {
        let mut out = BTreeMap::new();
        match self {
            PolicySource::Paths(paths) => {
                out.insert(DEFAULT_SET.to_owned(), paths.clone());
            }
            PolicySource::Root(root) => {
                let entries = std::fs::read_dir(root)
                    .map_err(|source| GateError::Read { path: root.display().to_string(), source })?;
                let mut loose = Vec::new();
                for entry in entries.filter_map(Result::ok) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        continue;
                    }
                    let path = entry.path();
                    if path.is_dir() {
                        out.insert(name, vec![path]);
                    } else if is_yaml(&path) {
                        loose.push(path);
                    }
                }
                if !loose.is_empty() && !out.contains_key(DEFAULT_SET) {
                    loose.sort();
                    out.insert(DEFAULT_SET.to_owned(), loose);
                }
            }
        }
        Ok(out)
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// Why a request could not be decided (as opposed to decided and denied).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A policy set is invalid.
    #[error("invalid policy set \"{set}\": {source}")]
    Policy {
        /// The set.
        set: String,
        /// What is wrong.
        #[source]
        source: PolicyError,
    },
    /// No policy set was found.
    #[error("no policy sets in {location}")]
    NoPolicySets {
        /// Where they were looked for.
        location: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The request names a set that does not exist.
    #[error("unknown policy set \"{name}\" (available: {available}); set the plugin parameter `policy` to one of them")]
    UnknownSet {
        /// The name asked for.
        name: String,
        /// The names that exist.
        available: String,
    },
    /// The application could not be rendered.
    #[error("cannot render the application: {0}")]
    Render(#[from] RenderError),
    /// The rendered manifests could not be checked.
    #[error("invalid manifests: {0}")]
    Pipeline(#[from] PipelineError),
    /// Rendering produced no objects.
    #[error(
        "rendering produced no manifests ({kind}); refusing to return an empty set, which Argo CD would apply as \"delete everything\" with pruning on"
    )]
    Empty {
        /// How it was rendered.
        kind: &'static str,
    },
    /// An image reference given to `verify` is invalid.
    #[error("invalid image reference: {0}")]
    Image(String),
    /// The image could not be resolved.
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    /// The output could not be written.
    #[error("cannot write the manifests: {0}")]
    Emit(String),
}

/// Who is asking, and for what: the parts of a request that select policies and scope.
#[derive(Debug, Clone)]
pub struct Context {
    /// The policy set (`None` = `default`).
    pub policy_set: Option<String>,
    /// Namespace for namespaced resources that set none (the destination namespace).
    pub namespace: String,
    /// The time exceptions' `expires` is compared with.
    pub now: jiff::Timestamp,
    /// Argo CD's `ARGOCD_APP_NAME` (`<name>` or `<namespace>_<name>`), when there is an Application.
    pub application: Option<String>,
    /// The AppProject (or Tenant) name, when known.
    pub project: Option<String>,
    /// The source repository, when known.
    pub repo_url: Option<String>,
}

impl Context {
    /// The context Argo CD's environment describes.
    #[must_use]
    pub fn from_app_env(env: &AppEnv) -> Context {
        Context {
            policy_set: env.parameter("policy").map(str::to_owned),
            namespace: env.destination_namespace.clone().unwrap_or_else(|| "default".to_owned()),
            now: jiff::Timestamp::now(),
            application: env.app_name.clone(),
            project: env.project.clone(),
            repo_url: env.repo_url.clone(),
        }
    }
}

/// Where tenancy comes from besides the policy sets' `Tenant`s.
pub struct Tenancies {
    /// AppProjects (and Tenants) from files or the API; `None`: only `Tenant`s named like the project.
    pub projects: Option<Projects>,
    /// Kubernetes Events on the Application for denials.
    pub events: Option<Events>,
    /// Argo CD's control-plane namespace (where Applications without a namespace prefix live).
    pub argocd_namespace: String,
}

impl Default for Tenancies {
    fn default() -> Self {
        Tenancies { projects: None, events: None, argocd_namespace: crate::project::DEFAULT_NAMESPACE.to_owned() }
    }
}

/// A decided request: the report, and the stream (pinned and annotated when allowed).
#[derive(Debug, Clone)]
pub struct Gated {
    /// The decision and findings.
    pub report: Report,
    /// The manifests; images pinned and warnings annotated only when allowed.
    pub stream: Stream,
    /// The policy set used.
    pub policy_set: String,
    /// How the manifests were rendered (`None` when they arrived rendered).
    pub source: Option<SourceKind>,
}

impl Gated {
    /// The one message a person sees: for a denial, every violation on its own line with its fix.
    #[must_use]
    pub fn message(&self) -> String {
        crate::report::status_message(&self.report)
    }

    /// The manifests as a YAML stream (what `generate` prints).
    pub fn yaml(&self) -> Result<String, GateError> {
        self.stream.emit().map_err(|e| GateError::Emit(e.to_string()))
    }

    /// One compact JSON document per input document (what the CMP protocol returns); empty
    /// documents are left out, as Argo CD skips them in a plugin's output.
    #[must_use]
    pub fn json_documents(&self) -> Vec<String> {
        self.stream.documents.iter().filter(|d| !d.root.is_null()).map(|d| d.root.to_json().to_string()).collect()
    }
}

/// Everything a request needs that outlives it.
pub struct Gate {
    source: PolicySource,
    sets: RwLock<Arc<PolicySets>>,
    resolver: Option<Arc<dyn Resolve>>,
    verifier: Arc<dyn Verify>,
    renderer: Arc<dyn Render>,
    limits: Limits,
    deadline: Duration,
    run_mode: RunMode,
    tenancies: Tenancies,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("source", &self.source).field("deadline", &self.deadline).finish_non_exhaustive()
    }
}

/// How a [`Gate`] is put together.
pub struct GateParts {
    /// Where the policy sets are.
    pub source: PolicySource,
    /// The registry resolver; `None` = offline (images judged as written, nothing pinned).
    pub resolver: Option<Arc<dyn Resolve>>,
    /// The signature verifier.
    pub verifier: Arc<dyn Verify>,
    /// The renderer for application directories.
    pub renderer: Arc<dyn Render>,
    /// Input limits.
    pub limits: Limits,
    /// Deadline for registry and verification work per request.
    pub deadline: Duration,
    /// `report` makes every rule report-only (operator setting; applications cannot choose it).
    pub run_mode: RunMode,
    /// Projects and Events.
    pub tenancies: Tenancies,
}

impl Gate {
    /// Loads the policy sets and assembles the gate.
    pub fn new(parts: GateParts) -> Result<Gate, GateError> {
        let sets = parts.source.load(&parts.limits)?;
        Ok(Gate {
            source: parts.source,
            sets: RwLock::new(Arc::new(sets)),
            resolver: parts.resolver,
            verifier: parts.verifier,
            renderer: parts.renderer,
            limits: parts.limits,
            deadline: parts.deadline,
            run_mode: parts.run_mode,
            tenancies: parts.tenancies,
        })
    }

    /// The current policy sets.
    #[must_use]
    pub fn sets(&self) -> Arc<PolicySets> {
        Arc::clone(&self.sets.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Re-reads the policy sets when their files changed. `Ok(true)`: new sets are live;
    /// `Ok(false)`: nothing changed; `Err`: the new files are invalid and the old sets stay live.
    pub fn reload(&self) -> Result<bool, GateError> {
        let current = self.sets();
        if self.source.fingerprint()? == current.fingerprint {
            return Ok(false);
        }
        let fresh = self.source.load(&self.limits)?;
        *self.sets.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        Ok(true)
    }

    /// The set a request names.
    pub fn set(&self, name: Option<&str>) -> Result<(String, Arc<PolicySet>), GateError> {
        let sets = self.sets();
        let name = name.unwrap_or(DEFAULT_SET);
        match sets.sets.get(name) {
            Some(set) => Ok((name.to_owned(), Arc::clone(set))),
            None => Err(GateError::UnknownSet {
                name: name.to_owned(),
                available: sets.sets.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Input limits.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether requests resolve and verify images against registries (`false` with `--offline`).
    #[must_use]
    pub fn online(&self) -> bool {
        self.resolver.is_some()
    }

    /// Renders an application directory and gates it (Argo CD's `generate`).
    ///
    /// The deadline covers the whole request: what rendering and project lookups take is not
    /// left for registries and signatures. A denial is posted as an Event on the Application when
    /// Events are on.
    pub async fn generate(&self, dir: &Path, env: &AppEnv) -> Result<Gated, GateError> {
        let started = tokio::time::Instant::now();
        let (set_name, set) = self.set(env.parameter("policy"))?;
        let (kind, stream) = render_app(self.renderer.as_ref(), dir, env).await?;
        let context = Context::from_app_env(env);
        let mut gated = self.gate(stream, &set_name, &set, &context, started).await?;
        gated.source = Some(kind);
        if gated.report.decision == Decision::Deny {
            self.post_denial(&context, &gated.report).await;
        }
        Ok(gated)
    }

    /// Renders a directory (kustomize, Helm or its YAML files) and gates it, with no Argo CD
    /// environment: the Flux controller's request. Posts no Event (the caller reports itself).
    pub async fn render_and_gate(&self, dir: &Path, context: &Context) -> Result<Gated, GateError> {
        let started = tokio::time::Instant::now();
        let (set_name, set) = self.set(context.policy_set.as_deref())?;
        let env = AppEnv { destination_namespace: Some(context.namespace.clone()), ..AppEnv::default() };
        let (kind, stream) = render_app(self.renderer.as_ref(), dir, &env).await?;
        let mut gated = self.gate(stream, &set_name, &set, context, started).await?;
        gated.source = Some(kind);
        Ok(gated)
    }

    /// Gates an already rendered stream (the syncgate.v1 API). Posts no Event: callers of the API
    /// are not authenticated as Argo CD is.
    pub async fn evaluate(&self, stream: Stream, context: &Context) -> Result<Gated, GateError> {
        let started = tokio::time::Instant::now();
        let (set_name, set) = self.set(context.policy_set.as_deref())?;
        if stream.resources().map_err(PipelineError::from)?.is_empty() {
            return Err(GateError::Empty { kind: "rendered" });
        }
        self.gate(stream, &set_name, &set, context, started).await
    }

    /// The denial as a Kubernetes Event on the Application, within a few seconds (it never holds up
    /// the answer to Argo CD for long, and never changes it).
    async fn post_denial(&self, context: &Context, report: &Report) {
        let (Some(events), Some(instance)) = (&self.tenancies.events, &context.application) else { return };
        let (namespace, name) = split_app_name(instance, &self.tenancies.argocd_namespace);
        let message = crate::report::status_message(report);
        if tokio::time::timeout(EVENT_BUDGET, events.application_denied(namespace, name, &message)).await.is_err() {
            tracing::warn!(application = %instance, "the denial Event was not posted within {EVENT_BUDGET:?}");
        }
    }

    async fn gate(
        &self,
        mut stream: Stream,
        set_name: &str,
        set: &PolicySet,
        context: &Context,
        started: tokio::time::Instant,
    ) -> Result<Gated, GateError> {
        let tenancy = self.tenancy(context).await;
        let remaining = self.deadline.saturating_sub(started.elapsed());
        let options = CheckOptions {
            default_namespace: context.namespace.clone(),
            run_mode: self.run_mode,
            now: context.now,
            tenancy,
        };
        let report = match &self.resolver {
            Some(resolver) => {
                pipeline::gate(&mut stream, set, &options, resolver.as_ref(), self.verifier.as_ref(), remaining).await?
            }
            None => pipeline::check(&stream, set, &options)?,
        };
        if report.decision == Decision::Allow {
            annotate_warnings(&mut stream, &report, &context.namespace);
        }
        Ok(Gated { report, stream, policy_set: set_name.to_owned(), source: None })
    }

    /// The project or tenant a request is bounded by:
    ///
    /// 1. with projects configured, the Application's AppProject (or Tenant) from them; its name comes
    ///    from the request, or from the Application itself when projects are read from the API (which
    ///    also gives the destination cluster); a project that cannot be had refuses the request;
    /// 2. otherwise a `Tenant` (of any policy set) named like the project; when Tenants exist, a
    ///    request whose project is unknown or has no Tenant is refused as undecided;
    /// 3. otherwise none: no tenancy checks.
    async fn tenancy(&self, context: &Context) -> Option<Tenancy> {
        let app = context.application.as_deref().map(|i| split_app_name(i, &self.tenancies.argocd_namespace));
        let application = match app {
            Some((namespace, name)) => ResourceId {
                api_version: crate::project::ARGO_API_VERSION.to_owned(),
                kind: "Application".to_owned(),
                namespace: Some(namespace.to_owned()),
                name: name.to_owned(),
            },
            None => ResourceId {
                api_version: crate::project::TENANT_API_VERSION.to_owned(),
                kind: "Source".to_owned(),
                namespace: None,
                name: context.repo_url.clone().unwrap_or_default(),
            },
        };
        let mut tenancy = Tenancy {
            scope: Err(String::new()),
            destination: Destination { server: None, name: None, namespace: context.namespace.clone() },
            repo_url: context.repo_url.clone(),
            application,
        };
        let mut project = context.project.clone();
        if let (Some(Projects::Cluster(cluster)), Some((namespace, name))) = (&self.tenancies.projects, app) {
            match cluster.application(namespace, name).await {
                Ok(found) => {
                    project = Some(found.project);
                    tenancy.destination = found.destination;
                    if tenancy.repo_url.is_none() {
                        tenancy.repo_url = found.repo_urls.into_iter().next();
                    }
                }
                Err(error) => {
                    tenancy.scope = Err(error.to_string());
                    return Some(tenancy);
                }
            }
        }
        tenancy.scope = match (&self.tenancies.projects, project) {
            (Some(projects), Some(name)) => projects.scope(&name).await.map_err(|e| e.to_string()),
            (Some(_), None) => Err("the application's project is unknown: ARGOCD_APP_PROJECT_NAME is not set (Argo CD before 3.0, or a call without an Application); read it from the Application with --projects-from-cluster".to_owned()),
            (None, project) => {
                let sets = self.sets();
                if !sets.has_tenants() {
                    return None;
                }
                match project {
                    Some(name) => sets.tenant(&name).ok_or_else(|| {
                        format!("no Tenant is named after project {name:?}; every application must be bounded by one")
                    }),
                    None => Err("the application's project is unknown (ARGOCD_APP_PROJECT_NAME is not set), so no Tenant can bound it".to_owned()),
                }
            }
        };
        Some(tenancy)
    }

    /// Resolves one image and verifies it against the named set's image policies.
    pub async fn verify_image(&self, image: &str, set: Option<&str>) -> Result<Verification, GateError> {
        let (_, set) = self.set(set)?;
        let reference: ImageRef =
            image.parse().map_err(|e: crate::image::ImageError| GateError::Image(e.to_string()))?;
        let Some(resolver) = &self.resolver else {
            return Err(GateError::Image(format!("{image}: the gate runs offline and cannot resolve images")));
        };
        let found = tokio::time::timeout(self.deadline, resolver.resolve(&reference)).await.map_err(|_| {
            ResolveError::Timeout {
                image: reference.to_string(),
                registry: reference.registry().to_owned(),
                after: self.deadline,
            }
        })??;
        let mut resolutions = pipeline::Resolutions::new();
        resolutions.insert(image.to_owned(), Ok(found.clone()));
        let verifications = pipeline::verify_all(self.verifier.as_ref(), &set, &resolutions, self.deadline).await;
        Ok(Verification::new(&reference, &found.digest, verifications.get(image).cloned()))
    }
}

/// Renders an application directory as Argo CD would (kustomize, helm, or its YAML files), and
/// refuses an empty result. Needs no policies: `syncgate generate` renders with it before handing
/// the stream to a daemon.
pub async fn render_app(renderer: &dyn Render, dir: &Path, env: &AppEnv) -> Result<(SourceKind, Stream), GateError> {
    let (kind, stream) = renderer.render(dir, &env.render_request()).await?;
    // No object at all (also: only empty documents, or `List`s without items).
    if stream.resources().map_err(PipelineError::from)?.is_empty() {
        return Err(GateError::Empty { kind: kind.as_str() });
    }
    Ok((kind, stream))
}

/// Adds a `syncgate.dev/warnings` annotation to every resource with report-mode findings: one line
/// per finding, `rule: message`, at most 4 KiB.
pub fn annotate_warnings(stream: &mut Stream, report: &Report, default_namespace: &str) {
    const MAX: usize = 4096;
    let mut targets = Vec::new();
    for (d, document) in stream.documents.iter().enumerate() {
        let Ok(resources) = document.resources(d) else { continue };
        for resource in resources {
            let id = crate::project::effective_id(&resource, default_namespace);
            let location = (document.file.clone(), document.index);
            let lines: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.status == Status::Warn && f.resource == id)
                .filter(|f| f.location.as_ref().is_none_or(|l| (l.file.clone(), l.document) == location))
                .map(|f| format!("{}: {}", f.rule, f.message))
                .collect();
            if lines.is_empty() {
                continue;
            }
            let mut text = String::new();
            for (i, line) in lines.iter().enumerate() {
                if text.len() + line.len() + 1 > MAX {
                    let _ = write!(text, "… and {} more (run syncgate check for the full report)", lines.len() - i);
                    break;
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(line);
            }
            targets.push((resource.address, text));
        }
    }
    for (address, text) in targets {
        manifest::annotate(stream, address, WARNINGS_ANNOTATION, text);
    }
}
