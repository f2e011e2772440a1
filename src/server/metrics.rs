//! Prometheus metrics of the daemon (prometheus-client, OpenMetrics text on `GET /metrics`):
//! decisions and findings per project and namespace, request and verification durations, policy
//! reloads, and the cache and registry counters read at scrape time.
//!
//! Counters are registered without `_total`; the encoder adds it (`syncgate_decisions_total`).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::cache::CachedResolver;
use crate::gate::Gate;
use crate::registry::Registry as RegistryClient;
use crate::report::{Report, Status};

/// Labels of `syncgate_decisions_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: String,
    project: String,
    namespace: String,
}

/// Labels of `syncgate_findings_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    rule: String,
    status: String,
    mode: String,
    project: String,
    namespace: String,
}

/// Labels of `syncgate_request_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    rpc: String,
}

/// Labels of `syncgate_flux_reconciles_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    reason: String,
    namespace: String,
}

/// Labels of `syncgate_verification_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 5 ms … 41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Every metric the daemon exports, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    findings: Family<FindingLabels, Counter>,
    requests: Histograms<RpcLabels>,
    verification: Histograms<SourceLabels>,
    reloads: Counter,
    reload_errors: Counter,
    reconciles: Family<ReconcileLabels, Counter>,
}

/// Who a decided request was for (label values; empty becomes `unknown`).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The project (Argo CD AppProject).
    pub project: &'a str,
    /// The destination namespace.
    pub namespace: &'a str,
}

impl Metrics {
    /// Registers every metric; cache, registry and policy-set values are read from `gate` and
    /// `resolver` at each scrape.
    #[must_use]
    pub fn new(gate: Arc<Gate>, resolver: Option<Arc<CachedResolver<RegistryClient>>>) -> Metrics {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "syncgate_decisions",
            "Requests decided, by decision, project and namespace",
            decisions.clone(),
        );
        let findings = Family::<FindingLabels, Counter>::default();
        registry.register(
            "syncgate_findings",
            "Findings that are not passes, by rule, status, mode, project and namespace",
            findings.clone(),
        );
        let requests: Histograms<RpcLabels> = Family::new_with_constructor(duration_histogram);
        registry.register(
            "syncgate_request_duration_seconds",
            "Time to answer a gRPC request, by RPC",
            requests.clone(),
        );
        let verification: Histograms<SourceLabels> = Family::new_with_constructor(duration_histogram);
        registry.register(
            "syncgate_verification_duration_seconds",
            "Time spent in gate calls that resolve and verify images against registries, by source kind",
            verification.clone(),
        );
        let reloads = Counter::default();
        registry.register("syncgate_policy_reloads", "Policy reloads that made new policy sets live", reloads.clone());
        let reload_errors = Counter::default();
        registry.register(
            "syncgate_policy_reload_errors",
            "Policy reloads refused because the new files are invalid (the previous sets stay live)",
            reload_errors.clone(),
        );
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "syncgate_flux_reconciles",
            "VerifiedSource reconciles by outcome (the Ready reason: Succeeded, VerificationFailed, FetchFailed, …) and namespace",
            reconciles.clone(),
        );
        registry.register_collector(Box::new(Sources { gate, resolver }));
        Metrics { registry, decisions, findings, requests, verification, reloads, reload_errors, reconciles }
    }

    /// Counts one decided request and its findings.
    pub fn decided(&self, report: &Report, subject: Subject<'_>) {
        let project = label(subject.project);
        let namespace = label(subject.namespace);
        let decision = match report.decision {
            crate::report::Decision::Allow => "allow",
            crate::report::Decision::Deny => "deny",
        };
        self.decisions
            .get_or_create(&DecisionLabels {
                decision: decision.to_owned(),
                project: project.clone(),
                namespace: namespace.clone(),
            })
            .inc();
        for finding in report.findings.iter().filter(|f| f.status != Status::Pass) {
            self.findings
                .get_or_create(&FindingLabels {
                    rule: finding.rule.clone(),
                    status: finding.status.as_str().to_owned(),
                    mode: finding.mode.as_str().to_owned(),
                    project: project.clone(),
                    namespace: namespace.clone(),
                })
                .inc();
        }
    }

    /// Records how long an RPC took.
    pub fn request(&self, rpc: &str, seconds: f64) {
        self.requests.get_or_create(&RpcLabels { rpc: rpc.to_owned() }).observe(seconds);
    }

    /// Records how long a gate call that went to registries took.
    pub fn verification(&self, source: &str, seconds: f64) {
        self.verification.get_or_create(&SourceLabels { source: source.to_owned() }).observe(seconds);
    }

    /// Counts one VerifiedSource reconcile and its outcome.
    pub fn reconciled(&self, reason: &str, namespace: &str) {
        self.reconciles
            .get_or_create(&ReconcileLabels { reason: reason.to_owned(), namespace: label(namespace) })
            .inc();
    }

    /// Counts a policy reload that made new sets live.
    pub fn reloaded(&self) {
        self.reloads.inc();
    }

    /// Counts a refused policy reload.
    pub fn reload_failed(&self) {
        self.reload_errors.inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn label(value: &str) -> String {
    if value.is_empty() { "unknown".to_owned() } else { value.to_owned() }
}

/// Values owned elsewhere, read at scrape time.
struct Sources {
    gate: Arc<Gate>,
    resolver: Option<Arc<CachedResolver<RegistryClient>>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").field("gate", &self.gate).field("resolver", &self.resolver.is_some()).finish()
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let sets = self.gate.sets();
        let info = encoder.encode_descriptor(
            "syncgate_policy_fingerprint",
            "The live policy sets: SHA-256 over their files",
            None,
            MetricType::Info,
        )?;
        Info::new([("fingerprint", sets.fingerprint.as_str())]).encode(info)?;
        let Some(resolver) = &self.resolver else { return Ok(()) };
        let cache = resolver.counters();
        let tiers =
            [("memory", cache.memory), ("disk", cache.disk), ("redis", cache.redis), ("evidence", cache.evidence)];
        let mut hits = encoder.encode_descriptor(
            "syncgate_cache_hits",
            "Cache lookups answered, by tier",
            None,
            MetricType::Counter,
        )?;
        for (tier, counters) in tiers {
            ConstCounter::new(counters.hits).encode(hits.encode_family(&[("tier", tier)])?)?;
        }
        let mut misses = encoder.encode_descriptor(
            "syncgate_cache_misses",
            "Cache lookups not answered (rejected entries included), by tier",
            None,
            MetricType::Counter,
        )?;
        for (tier, counters) in tiers {
            ConstCounter::new(counters.misses).encode(misses.encode_family(&[("tier", tier)])?)?;
        }
        let client = resolver.inner();
        let mut requests = encoder.encode_descriptor(
            "syncgate_registry_requests",
            "HTTP requests sent to registries (retries included), by kind",
            None,
            MetricType::Counter,
        )?;
        for (kind, value) in [
            ("manifest", client.manifest_requests()),
            ("blob", client.blob_requests()),
            ("referrers", client.referrers_requests()),
            ("auth", client.auth_requests()),
        ] {
            ConstCounter::new(value).encode(requests.encode_family(&[("kind", kind)])?)?;
        }
        let errors = encoder.encode_descriptor(
            "syncgate_registry_request_errors",
            "Registry requests that failed: transport errors, timeouts, oversized bodies, 429 and 5xx",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(client.request_errors()).encode(errors)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_carry_the_total_suffix_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.yaml");
        std::fs::write(
            &policy,
            "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: p}\nspec:\n  rules: {disallow-privileged: enforce}\n",
        )
        .unwrap();
        let gate = Arc::new(crate::server::tests::offline_gate(&policy));
        let metrics = Metrics::new(gate, None);
        let report = Report::from_findings(Vec::new(), Vec::new(), 0, 0);
        metrics.decided(&report, Subject { project: "team-a", namespace: "" });
        metrics.request("Evaluate", 0.01);
        metrics.reload_failed();
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("syncgate_decisions_total{decision=\"allow\",project=\"team-a\",namespace=\"unknown\"} 1"),
            "{text}"
        );
        assert!(text.contains("syncgate_request_duration_seconds_count{rpc=\"Evaluate\"} 1"), "{text}");
        assert!(text.contains("syncgate_policy_reload_errors_total 1"), "{text}");
        assert!(text.contains("syncgate_policy_fingerprint_info{fingerprint=\""), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
