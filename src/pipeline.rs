//! The gate run in data-flow order: document → resources → typed workloads → (registry resolution and
//! signature verification, in later stages) → evaluate → modes and exceptions → report.
//!
//! No I/O of its own: the caller feeds documents (streamed from files, stdin or a rendered source) and
//! takes the report. One document's tree is alive at a time, so memory follows the findings, not the
//! input.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::image::ImageRef;
use crate::manifest::{self, Address, Document, FieldPath, ManifestError, Stream, WorkloadKind};
use crate::policy::evaluate::{Scope as ExceptionScope, Verdict};
use crate::policy::workload::Pin;
use crate::policy::{self, Decider, PolicySet, RunMode, Workload, WorkloadError};
use crate::project::{CrdScopes, Denial, Destination, Scope, Subject};
use crate::registry::{Resolve, ResolveError, Resolved};
use crate::report::{Finding, Mode, Report, ReportBuilder, ResourceId, SourceLocation, Status};
use crate::verify::{ImageCheck, PolicyOutcome, Verify};

/// What the registries said about each distinct image reference of a stream, keyed by the reference
/// as written in the manifests.
pub type Resolutions = HashMap<String, Result<Resolved, ResolveError>>;

/// What signature verification said about each distinct pinned image, keyed by the reference as
/// written in the manifests. Empty when the policy set has no `ImagePolicy`.
pub type Verifications = HashMap<String, ImageCheck>;

/// One image field to write back: where it is and its pinned value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRewrite {
    /// The resource.
    pub address: Address,
    /// The `image` field, from the resource root.
    pub path: FieldPath,
    /// The new value (`name:tag@sha256:…` or `name@sha256:…`).
    pub image: String,
}

/// Run-wide settings of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Namespace for namespaced resources that set none (Argo CD's destination namespace, `kubectl -n`).
    pub default_namespace: String,
    /// `--mode report` makes everything report-only.
    pub run_mode: RunMode,
    /// The time exceptions' `expires` is compared with.
    pub now: jiff::Timestamp,
    /// The project or tenant every resource is checked against; `None`: no tenancy checks.
    pub tenancy: Option<Tenancy>,
}

/// What a stream is bounded by: an Argo CD `AppProject` or a syncgate `Tenant`, where the
/// application deploys and where it comes from.
#[derive(Debug, Clone)]
pub struct Tenancy {
    /// The scope, or why it could not be had (then every stream is refused as undecided).
    pub scope: Result<Arc<Scope>, String>,
    /// Where the application deploys (cluster unknown in a plugin; see [`Destination`]).
    pub destination: Destination,
    /// The application's source repository, when known: checked once per stream.
    pub repo_url: Option<String>,
    /// What source-level findings are about: the Argo CD `Application`, or the source itself.
    pub application: ResourceId,
}

impl Tenancy {
    /// `AppProject team-a` or `Tenant team-a`, as findings name their policy.
    fn policy(&self) -> Option<String> {
        self.scope.as_ref().ok().map(|s| format!("{} {}", s.kind(), s.name()))
    }
}

/// Why a stream could not be checked (as opposed to a stream that was checked and denied).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The input could not be parsed, or a document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A pod template does not match the Kubernetes schema.
    #[error(transparent)]
    Workload(#[from] Box<WorkloadError>),
}

/// A check in progress: feed it documents in stream order, then [`Checker::finish`].
#[derive(Debug)]
pub struct Checker<'p> {
    policies: &'p PolicySet,
    resolutions: Option<&'p Resolutions>,
    verifications: Option<&'p Verifications>,
    rewrites: Vec<ImageRewrite>,
    default_namespace: String,
    decider: Decider<'p>,
    report: ReportBuilder,
    tenancy: Option<Tenancy>,
    crds: CrdScopes,
    documents: usize,
    resources: usize,
    images: HashSet<String>,
}

impl<'p> Checker<'p> {
    /// A check of `policies` under `options`.
    #[must_use]
    pub fn new(policies: &'p PolicySet, options: &CheckOptions) -> Self {
        Checker {
            policies,
            resolutions: None,
            verifications: None,
            rewrites: Vec::new(),
            default_namespace: options.default_namespace.clone(),
            decider: Decider::new(policies, options.run_mode, options.now),
            report: ReportBuilder::default(),
            tenancy: options.tenancy.clone(),
            crds: CrdScopes::default(),
            documents: 0,
            resources: 0,
            images: HashSet::new(),
        }
    }

    /// Checks against what the registries said (without this, images are judged as written).
    #[must_use]
    pub fn with_resolutions(mut self, resolutions: &'p Resolutions) -> Self {
        self.resolutions = Some(resolutions);
        self
    }

    /// Checks against what signature verification said (without this, a policy set with an
    /// `ImagePolicy` reports every image as unverified).
    #[must_use]
    pub fn with_verifications(mut self, verifications: &'p Verifications) -> Self {
        self.verifications = Some(verifications);
        self
    }

    /// Knows the scope of custom kinds from the whole stream's CustomResourceDefinitions up front
    /// (without this, only definitions seen before their resources count).
    #[must_use]
    pub fn with_crds_of(mut self, stream: &Stream) -> Self {
        if self.tenancy.is_some() {
            for (d, document) in stream.documents.iter().enumerate() {
                for resource in document.resources(d).unwrap_or_default() {
                    if resource.kind() == "CustomResourceDefinition" {
                        self.crds.record(&resource.node.to_json());
                    }
                }
            }
        }
        self
    }

    /// Checks the next document of the stream.
    pub fn document(&mut self, document: &Document) -> Result<(), PipelineError> {
        for resource in document.resources(self.documents)? {
            if self.tenancy.is_some() && resource.kind() == "CustomResourceDefinition" {
                self.crds.record(&resource.node.to_json());
            }
            self.resources += 1;
            let mut workload = Workload::new(resource, &self.policies.kinds, &self.default_namespace)?;
            self.images.extend(workload.images.iter().map(|site| site.image.clone()));
            let id = &workload.id;
            workload.rewrite =
                self.policies.rewrite_for(id.namespace.as_deref().unwrap_or_default(), &id.kind, &id.name);
            if let Some(resolutions) = self.resolutions {
                workload.pins = pins(&workload, resolutions);
                self.rewrites.extend(rewrites(&workload, self.policies));
            }
            if let Some(verifications) = self.verifications {
                workload.checks = workload.images.iter().map(|site| verifications.get(&site.image).cloned()).collect();
            }
            let mut evaluation = policy::evaluate(self.policies, &workload);
            if let Some(tenancy) = &self.tenancy {
                tenancy_verdicts(tenancy, &self.crds, &workload, &mut evaluation);
            }
            self.report.begin(workload.id.clone(), workload.location(&FieldPath::root()));
            for passed in evaluation.passes {
                self.report.pass(passed.rule, passed.mode, passed.policy);
            }
            for verdict in evaluation.verdicts {
                self.report.finding(self.decider.decide(verdict));
            }
            self.report.end_if_empty();
        }
        self.documents += 1;
        Ok(())
    }

    /// The report over every document fed so far.
    #[must_use]
    pub fn finish(self) -> Report {
        self.finish_with_rewrites().0
    }

    /// The report, and the image fields to write back (empty unless checked with resolutions).
    #[must_use]
    pub fn finish_with_rewrites(mut self) -> (Report, Vec<ImageRewrite>) {
        if let Some(tenancy) = self.tenancy.take() {
            self.source_verdicts(&tenancy);
        }
        let mut report = self.report.finish(self.decider.finish(), self.resources, self.images.len());
        if let Some(verifications) = self.verifications {
            report.evidence = evidence(verifications);
        }
        (report, self.rewrites)
    }
}

impl Checker<'_> {
    /// The stream-level tenancy verdicts, on the application: its source repository, and a project
    /// that could not be read (which refuses the stream as undecided).
    fn source_verdicts(&mut self, tenancy: &Tenancy) {
        let location = SourceLocation { file: None, document: 0, line: None };
        let denial = match &tenancy.scope {
            Err(why) => Some(Denial {
                rule: crate::project::RULE_DESTINATION,
                path: None,
                message: format!("cannot check the resources against their project, so they are refused: {why}"),
                fix: "make the project readable (project files, or RBAC to get appprojects for --projects-from-cluster) and refresh".into(),
                undecided: true,
            }),
            Ok(scope) => tenancy.repo_url.as_deref().and_then(|url| {
                let denial = scope.check_source(url);
                if denial.is_none() {
                    self.report.begin(tenancy.application.clone(), location.clone());
                    let policy = tenancy.policy().map(|p| Arc::from(p.as_str()));
                    self.report.pass(crate::project::RULE_SOURCE_REPO.into(), Mode::Enforce, policy);
                }
                denial
            }),
        };
        if let Some(denial) = denial {
            self.report.begin(tenancy.application.clone(), location.clone());
            let verdict = denial_verdict(
                tenancy,
                &tenancy.application,
                location,
                denial,
                Address { document: usize::MAX, item: None },
            );
            self.report.finding(self.decider.decide(verdict));
        }
    }
}

/// The tenancy verdicts on one resource: its kind, and for a namespaced one its namespace.
fn tenancy_verdicts(tenancy: &Tenancy, crds: &CrdScopes, workload: &Workload<'_>, out: &mut policy::Evaluation) {
    let Ok(scope) = &tenancy.scope else { return };
    let resource = &workload.resource;
    let (api_version, kind) = (resource.api_version(), resource.kind());
    let name = resource.name();
    let subject = Subject {
        api_version,
        kind,
        name: &name,
        namespace: resource.namespace(),
        cluster_scoped: crate::project::is_cluster_scoped(api_version, kind, crds),
    };
    let denials = scope.check_resource(&subject, &tenancy.destination);
    let checked: &[&'static str] = if subject.cluster_scoped {
        &[crate::project::RULE_CLUSTER_RESOURCE]
    } else {
        &[crate::project::RULE_DESTINATION, crate::project::RULE_NAMESPACED_RESOURCE]
    };
    let policy = tenancy.policy().map(|p| Arc::from(p.as_str()));
    for rule in checked {
        if !denials.iter().any(|d| d.rule == *rule) {
            out.passes.push(crate::report::Passed {
                rule: (*rule).into(),
                mode: Mode::Enforce,
                policy: policy.clone(),
            });
        }
    }
    for denial in denials {
        let path = denial.path.as_deref().map(FieldPath::parse).unwrap_or_default();
        let location = workload.location(&path);
        out.verdicts.push(denial_verdict(tenancy, &workload.id, location, denial, resource.address));
    }
    out.passes.sort_by(|a, b| (&a.rule, &a.policy).cmp(&(&b.rule, &b.policy)));
    out.verdicts.sort_by(|a, b| a.order.cmp(&b.order));
}

fn denial_verdict(
    tenancy: &Tenancy,
    id: &ResourceId,
    location: SourceLocation,
    denial: Denial,
    address: Address,
) -> Verdict {
    let policy = tenancy.policy();
    let fix = format!("{}; or request a PolicyException for rule {} matching {id}", denial.fix, denial.rule);
    Verdict {
        order: (
            address,
            denial.rule.to_owned(),
            denial.path.as_deref().map(FieldPath::parse).unwrap_or_default(),
            policy.clone().unwrap_or_default(),
        ),
        finding: Finding {
            rule: denial.rule.to_owned(),
            status: if denial.undecided { Status::Error } else { Status::Fail },
            mode: Mode::Enforce,
            resource: id.clone(),
            container: None,
            image: None,
            path: denial.path,
            message: denial.message,
            fix: Some(fix),
            policy,
            exception: None,
            location: Some(location),
        },
        scope: ExceptionScope { service_account: None, images: Vec::new() },
    }
}

fn pins(workload: &Workload<'_>, resolutions: &Resolutions) -> Vec<Pin> {
    workload
        .images
        .iter()
        .map(|site| match resolutions.get(&site.image) {
            Some(Ok(resolved)) => Pin::Pinned(resolved.digest.clone()),
            Some(Err(error)) => Pin::Failed(error.clone()),
            None => Pin::Offline,
        })
        .collect()
}

/// Every verified image's evidence, once per image digest and policy, ordered by image.
fn evidence(verifications: &Verifications) -> Vec<crate::verify::evidence::Evidence> {
    let mut out: Vec<_> = verifications
        .values()
        .filter_map(|check| match check {
            ImageCheck::Checked(outcomes) => Some(outcomes),
            ImageCheck::NoMatch(_) => None,
        })
        .flatten()
        .filter_map(|outcome| outcome.outcome.as_ref().ok().cloned())
        .collect();
    out.sort_by(|a, b| (&a.image, &a.digest, &a.policy).cmp(&(&b.image, &b.digest, &b.policy)));
    out.dedup_by(|a, b| (&a.image, &a.digest, &a.policy) == (&b.image, &b.digest, &b.policy));
    out
}

fn rewrites(workload: &Workload<'_>, policies: &PolicySet) -> Vec<ImageRewrite> {
    workload
        .images
        .iter()
        .zip(&workload.pins)
        .filter_map(|(site, pin)| {
            let Pin::Pinned(digest) = pin else { return None };
            let reference = site.image.parse::<ImageRef>().ok();
            let tag = reference.as_ref().and_then(|r| r.tag().map(str::to_owned));
            let rewrite = reference
                .as_ref()
                .and_then(|r| policies.image_policies_for(&site.image, r).into_iter().find_map(|p| p.rewrite))
                .unwrap_or(workload.rewrite);
            let image = rewrite.apply(&site.image, tag.as_deref(), digest.as_str());
            (image != site.image).then(|| ImageRewrite { address: site.address, path: site.path.clone(), image })
        })
        .collect()
}

/// Writes pinned images back into the stream (document and key order are untouched).
pub fn pin(stream: &mut Stream, rewrites: &[ImageRewrite]) {
    for rewrite in rewrites {
        manifest::rewrite(stream, rewrite.address, &rewrite.path, rewrite.image.clone());
    }
}

/// Every distinct, valid image reference of a stream (invalid ones are findings, not lookups).
#[must_use]
pub fn images_of(stream: &Stream, kinds: &[WorkloadKind]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (d, document) in stream.documents.iter().enumerate() {
        for resource in document.resources(d).unwrap_or_default() {
            for site in manifest::image_sites(&resource, kinds) {
                if site.image.parse::<ImageRef>().is_ok() && seen.insert(site.image.clone()) {
                    out.push(site.image);
                }
            }
        }
    }
    out
}

/// Resolves every image in parallel (the resolver bounds concurrency per registry and collapses
/// duplicates); whatever has not answered when `deadline` passes is a timeout.
pub async fn resolve_all(resolver: &dyn Resolve, images: Vec<String>, deadline: Duration) -> Resolutions {
    let references: Vec<(String, ImageRef)> =
        images.into_iter().filter_map(|i| i.parse::<ImageRef>().ok().map(|r| (i, r))).collect();
    let mut pending: FuturesUnordered<_> = references
        .iter()
        .map(|(written, reference)| async move { (written.clone(), resolver.resolve(reference).await) })
        .collect();
    let mut out = Resolutions::new();
    let _ = tokio::time::timeout(deadline, async {
        while let Some((written, result)) = pending.next().await {
            out.insert(written, result);
        }
    })
    .await;
    for (written, reference) in &references {
        out.entry(written.clone()).or_insert_with(|| {
            Err(ResolveError::Timeout {
                image: reference.to_string(),
                registry: reference.registry().to_owned(),
                after: deadline,
            })
        });
    }
    out
}

/// Verifies every pinned image against the `ImagePolicy`s that match it, in parallel; whatever has not
/// answered when `deadline` passes is refused as undecided. Empty when the set has no `ImagePolicy`.
pub async fn verify_all(
    verifier: &dyn Verify,
    policies: &PolicySet,
    resolutions: &Resolutions,
    deadline: Duration,
) -> Verifications {
    let mut out = Verifications::new();
    let Some(no_match) = policies.no_match() else { return out };
    let until = tokio::time::Instant::now() + deadline;
    let mut pending = FuturesUnordered::new();
    for (written, resolved) in resolutions {
        let (Ok(resolved), Ok(reference)) = (resolved, written.parse::<ImageRef>()) else { continue };
        let matching = policies.image_policies_for(written, &reference);
        if matching.is_empty() {
            out.insert(written.clone(), ImageCheck::NoMatch(no_match));
            continue;
        }
        pending.push(async move {
            let mut outcomes = Vec::new();
            for policy in matching {
                let answer = tokio::time::timeout_at(until, verifier.verify(policy, &reference, &resolved.digest));
                let outcome = answer.await.unwrap_or_else(|_| {
                    Err(vec![crate::verify::evidence::Refusal {
                        rule: crate::verify::check::IMAGE_SIGNATURE,
                        message: format!(
                            "{}/{}@{}: cannot verify signatures, so the image is refused: no answer within {deadline:?}",
                            reference.registry(),
                            reference.repository(),
                            resolved.digest
                        ),
                        undecided: true,
                    }])
                });
                outcomes.push(PolicyOutcome {
                    policy: policy.name.clone(),
                    mode: policy.mode,
                    attestations: !policy.attestations.is_empty(),
                    outcome,
                });
            }
            (written.clone(), ImageCheck::Checked(outcomes))
        });
    }
    while let Some((written, check)) = pending.next().await {
        out.insert(written, check);
    }
    out
}

/// The whole gate over an in-memory stream, in data-flow order: every distinct image resolved in
/// parallel, every pinned digest verified against its `ImagePolicy`s (both within `deadline`), each
/// resource checked against those digests and that evidence, and, when the stream is allowed, every
/// resolved image written back pinned to the digest that was verified.
pub async fn gate(
    stream: &mut Stream,
    policies: &PolicySet,
    options: &CheckOptions,
    resolver: &dyn Resolve,
    verifier: &dyn Verify,
    deadline: Duration,
) -> Result<Report, PipelineError> {
    let (report, rewrites) = gate_unpinned(stream, policies, options, resolver, verifier, deadline).await?;
    if report.decision == crate::report::Decision::Allow {
        pin(stream, &rewrites);
    }
    Ok(report)
}

/// [`gate`] without writing anything back: the report, and every image field the registries
/// resolved with its pinned value (what [`gate`] writes when the stream is allowed; a KRM function
/// also shows them as proposed values when it is denied).
pub async fn gate_unpinned(
    stream: &Stream,
    policies: &PolicySet,
    options: &CheckOptions,
    resolver: &dyn Resolve,
    verifier: &dyn Verify,
    deadline: Duration,
) -> Result<(Report, Vec<ImageRewrite>), PipelineError> {
    let started = std::time::Instant::now();
    let images = images_of(stream, &policies.kinds);
    let resolutions = resolve_all(resolver, images, deadline).await;
    let verifications = verify_all(verifier, policies, &resolutions, deadline.saturating_sub(started.elapsed())).await;
    let mut checker = Checker::new(policies, options)
        .with_resolutions(&resolutions)
        .with_verifications(&verifications)
        .with_crds_of(stream);
    for document in &stream.documents {
        checker.document(document)?;
    }
    Ok(checker.finish_with_rewrites())
}

/// Checks an in-memory stream.
pub fn check(stream: &Stream, policies: &PolicySet, options: &CheckOptions) -> Result<Report, PipelineError> {
    let mut checker = Checker::new(policies, options).with_crds_of(stream);
    for document in &stream.documents {
        checker.document(document)?;
    }
    Ok(checker.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt;
    use futures::future::BoxFuture;
    use rstest::rstest;

    use super::*;
    use crate::image::Digest;
    use crate::manifest::Limits;
    use crate::policy::document::{self as documents, Rewrite};

    /// A registry of canned answers, keyed by the normalised reference; unknown images are not found.
    struct FakeRegistry {
        digests: HashMap<String, Digest>,
        calls: AtomicUsize,
        slow: Option<String>,
    }

    impl Resolve for FakeRegistry {
        fn resolve<'a>(&'a self, image: &'a ImageRef) -> BoxFuture<'a, Result<Resolved, ResolveError>> {
            async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if self.slow.as_deref() == Some(image.to_string().as_str()) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                if let Some(digest) = image.digest() {
                    return Ok(Resolved {
                        digest: digest.clone(),
                        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                    });
                }
                match self.digests.get(&image.to_string()) {
                    Some(digest) => Ok(Resolved {
                        digest: digest.clone(),
                        media_type: "application/vnd.oci.image.index.v1+json".into(),
                    }),
                    None => Err(ResolveError::NotFound {
                        image: image.to_string(),
                        registry: image.registry().to_owned(),
                        detail: "manifest unknown".into(),
                    }),
                }
            }
            .boxed()
        }
    }

    fn digest(n: u8) -> Digest {
        format!("sha256:{}", format!("{n:02x}").repeat(32)).parse().unwrap()
    }

    fn registry() -> FakeRegistry {
        let digests = [
            ("ghcr.io/acme/migrate:2.0.1", digest(0xaa)),
            ("ghcr.io/acme/api:1.4.2", digest(0xbb)),
            ("docker.io/library/nginx:1.27", digest(0xcc)),
        ];
        FakeRegistry {
            digests: digests.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            calls: AtomicUsize::new(0),
            slow: None,
        }
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/rewrite/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn policies(rewrite: Option<&str>) -> PolicySet {
        let rewrite = rewrite.map(|r| format!("  rewrite: {r}\n")).unwrap_or_default();
        let text = format!(
            "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {{name: pin}}\nspec:\n  rules:\n    require-image-digest: enforce\n{rewrite}"
        );
        let documents = manifest::parse_bytes(text.as_bytes(), None, &Limits::default()).unwrap();
        documents::from_stream(&Stream { documents }).unwrap()
    }

    async fn run(rewrite: Option<&str>) -> (Report, String) {
        let mut stream = Stream {
            documents: manifest::parse_bytes(fixture("input.yaml").as_bytes(), Some("input.yaml"), &Limits::default())
                .unwrap(),
        };
        let policies = policies(rewrite);
        let registry = registry();
        let resolutions = resolve_all(&registry, images_of(&stream, &policies.kinds), Duration::from_secs(5)).await;
        let options = CheckOptions {
            default_namespace: "default".into(),
            run_mode: RunMode::AsConfigured,
            now: jiff::Timestamp::UNIX_EPOCH,
            tenancy: None,
        };
        // Pin regardless of the decision, to compare the rewrite of every resolved image.
        let mut checker = Checker::new(&policies, &options).with_resolutions(&resolutions);
        for document in &stream.documents {
            checker.document(document).unwrap();
        }
        let (report, rewrites) = checker.finish_with_rewrites();
        pin(&mut stream, &rewrites);
        (report, stream.emit().unwrap())
    }

    #[rstest]
    #[case::tag_and_digest_by_default(None, "expected-tag-and-digest.yaml")]
    #[case::tag_and_digest(Some("tag-and-digest"), "expected-tag-and-digest.yaml")]
    #[case::digest(Some("digest"), "expected-digest.yaml")]
    #[case::none(Some("none"), "expected-none.yaml")]
    #[tokio::test]
    async fn rewrite_modes_match_golden_output(#[case] rewrite: Option<&str>, #[case] expected: &str) {
        let (_, out) = run(rewrite).await;
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(format!("{}/tests/fixtures/rewrite/{expected}", env!("CARGO_MANIFEST_DIR")), &out).unwrap();
        }
        assert_eq!(out, fixture(expected));
    }

    #[tokio::test]
    async fn unresolvable_image_denies_naming_image_registry_and_cause() {
        let (report, _) = run(None).await;
        assert_eq!(report.decision, crate::report::Decision::Deny);
        let failure = report.findings.iter().find(|f| f.rule == policy::evaluate::IMAGE_RESOLUTION).unwrap();
        assert_eq!(failure.status, crate::report::Status::Error);
        assert_eq!(failure.container.as_deref(), Some("metrics"));
        assert!(failure.message.contains("127.0.0.1:5000/tools/exporter:v3"), "{}", failure.message);
        assert!(failure.message.contains("not found in registry 127.0.0.1:5000"), "{}", failure.message);
        // The resolved images satisfy require-image-digest because their digest is written back.
        let unpinned: Vec<_> = report.findings.iter().filter(|f| f.rule == "require-image-digest").collect();
        assert_eq!(unpinned.len(), 1, "only the unresolvable image stays unpinned: {unpinned:#?}");
        assert_eq!(unpinned[0].container.as_deref(), Some("metrics"));
    }

    #[tokio::test]
    async fn rewrite_none_keeps_tags_and_require_image_digest_fails() {
        let (report, _) = run(Some("none")).await;
        let unpinned = report.findings.iter().filter(|f| f.rule == "require-image-digest").count();
        assert_eq!(unpinned, 4, "migrate, api, proxy (resolved but not written) and metrics (not found)");
    }

    #[tokio::test]
    async fn each_distinct_image_is_resolved_once() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: 'nginx:1.27'}, {name: b, image: 'nginx:1.27'}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: a, image: 'nginx:1.27'}]\n";
        let stream = Stream { documents: manifest::parse_bytes(text.as_bytes(), None, &Limits::default()).unwrap() };
        let registry = registry();
        let images = images_of(&stream, &manifest::builtin_workload_kinds());
        assert_eq!(images, ["nginx:1.27"]);
        let _ = resolve_all(&registry, images, Duration::from_secs(5)).await;
        assert_eq!(registry.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn images_still_pending_at_the_deadline_time_out() {
        let mut registry = registry();
        registry.slow = Some("ghcr.io/acme/api:1.4.2".into());
        let images = vec!["ghcr.io/acme/api:1.4.2".to_owned(), "nginx:1.27".to_owned()];
        let resolutions = resolve_all(&registry, images, Duration::from_secs(2)).await;
        assert!(resolutions["nginx:1.27"].is_ok());
        assert!(matches!(resolutions["ghcr.io/acme/api:1.4.2"], Err(ResolveError::Timeout { .. })));
    }

    #[rstest]
    #[case::tag_and_digest(Rewrite::TagAndDigest, "nginx:1.27", Some("1.27"), "nginx:1.27@sha256:x")]
    #[case::digest_drops_the_tag(Rewrite::Digest, "nginx:1.27", Some("1.27"), "nginx@sha256:x")]
    #[case::digest_keeps_a_registry_port(
        Rewrite::Digest,
        "127.0.0.1:5000/app:v1",
        Some("v1"),
        "127.0.0.1:5000/app@sha256:x"
    )]
    #[case::untagged_gets_the_digest(Rewrite::TagAndDigest, "127.0.0.1:5000/app", None, "127.0.0.1:5000/app@sha256:x")]
    #[case::none_leaves_it(Rewrite::None, "nginx:1.27", Some("1.27"), "nginx:1.27")]
    #[case::already_pinned_is_kept(Rewrite::Digest, "nginx:1.27@sha256:y", Some("1.27"), "nginx:1.27@sha256:y")]
    fn rewrite_apply(#[case] mode: Rewrite, #[case] written: &str, #[case] tag: Option<&str>, #[case] expected: &str) {
        assert_eq!(mode.apply(written, tag, "sha256:x"), expected);
    }
}
