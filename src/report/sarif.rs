//! The SARIF 2.1.0 report (`--output sarif`) in the subset GitHub code scanning ingests: one run, the rules
//! that were hit, one result per denial or warning. Owns the mapping from findings to SARIF objects only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{Finding, Report, RuleInfo, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/syncgate/syncgate";

/// Writes `report` as a SARIF 2.1.0 log (pretty JSON and a newline).
///
/// `rules` supplies descriptions; only rules that some `fail`, `error` or `warn` finding references are
/// listed, in the order given, followed by bare descriptors for rule ids `rules` does not know.
pub fn write_sarif(report: &Report, rules: &[RuleInfo], out: &mut dyn Write) -> io::Result<()> {
    let reported: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|finding| matches!(finding.status, Status::Fail | Status::Error | Status::Warn))
        .collect();

    let mut ids: Vec<&str> =
        rules.iter().map(|rule| rule.id).filter(|id| reported.iter().any(|finding| finding.rule == *id)).collect();
    for finding in &reported {
        if !ids.contains(&finding.rule.as_str()) {
            ids.push(&finding.rule);
        }
    }

    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "syncgate",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules: ids.iter().map(|id| descriptor(id, rules.iter().find(|rule| rule.id == *id))).collect(),
                },
            },
            results: reported
                .iter()
                .map(|finding| result(finding, ids.iter().position(|id| *id == finding.rule)))
                .collect(),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

/// The rule's `reportingDescriptor`; a rule without metadata still gets one so every result has an index.
fn descriptor(id: &str, info: Option<&RuleInfo>) -> Rule {
    Rule {
        id: id.to_owned(),
        short_description: info.map(|info| Text::new(info.summary)),
        full_description: info.map(|info| Text::new(info.help)),
        help: info.map(|info| Help {
            text: info.help.to_owned(),
            markdown: format!("**{}**\n\n{}", info.summary, info.help),
        }),
        // Rules run in enforce mode unless a policy says otherwise; a result's own level overrides this.
        default_configuration: Configuration { level: "error" },
    }
}

fn result(finding: &Finding, rule_index: Option<usize>) -> SarifResult {
    let resource = finding.resource.to_string();

    let mut text = resource.clone();
    if let Some(container) = &finding.container {
        let _ = write!(text, ", container {container}");
    }
    let _ = write!(text, ": {}", finding.message);
    if let Some(fix) = &finding.fix {
        let _ = write!(text, "\nfix: {fix}");
    }

    let physical_location = finding.location.as_ref().and_then(|location| {
        let file = location.file.as_deref()?;
        Some(PhysicalLocation {
            artifact_location: ArtifactLocation { uri: file_uri(file) },
            region: location.line.map(|start_line| Region { start_line }),
        })
    });

    SarifResult {
        rule_id: finding.rule.clone(),
        rule_index,
        level: if finding.status == Status::Warn { "warning" } else { "error" },
        message: Text { text },
        locations: vec![Location {
            physical_location,
            logical_locations: vec![LogicalLocation {
                name: finding.resource.name.clone(),
                fully_qualified_name: resource,
                kind: "resource",
            }],
        }],
        // GitHub code scanning reads only `primaryLocationLineHash`. Hashing what the finding is about,
        // rather than the text around a line, keeps one alert per problem when the manifest moves.
        partial_fingerprints: BTreeMap::from([("primaryLocationLineHash", fingerprint(finding))]),
        suppressions: finding
            .exception
            .iter()
            .map(|exception| Suppression {
                kind: "external",
                status: "accepted",
                justification: format!("{}: {} (expires {})", exception.name, exception.reason, exception.expires),
            })
            .collect(),
    }
}

/// 128 bits of SHA-256 over rule, kind, namespace, name, container and path (`apiVersion` is left out so
/// a version bump of the same object keeps its alerts).
fn fingerprint(finding: &Finding) -> String {
    let resource = &finding.resource;
    let mut hasher = Sha256::new();
    for part in [
        finding.rule.as_str(),
        resource.kind.as_str(),
        resource.namespace.as_deref().unwrap_or(""),
        resource.name.as_str(),
        finding.container.as_deref().unwrap_or(""),
        finding.path.as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    hasher.finalize()[..16].iter().fold(String::with_capacity(32), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The file path as a URI reference: relative paths stay relative (to the repository root, as code
/// scanning expects), absolute paths become `file://` URIs, and bytes a URI cannot hold are percent-encoded.
fn file_uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut uri = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        uri.push_str("file://");
    }
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    uri
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run; 1],
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    short_description: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help>,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

impl Text {
    fn new(text: &str) -> Self {
        Text { text: text.to_owned() }
    }
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::Value;

    use super::*;
    use crate::report::json::sample;

    fn render(report: &Report, rules: &[RuleInfo]) -> String {
        let mut out = Vec::new();
        write_sarif(report, rules, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn parse(report: &Report, rules: &[RuleInfo]) -> Value {
        serde_json::from_str(&render(report, rules)).unwrap()
    }

    #[test]
    fn sample_report_matches_golden_file() {
        let sarif = render(&sample::report(), sample::RULES);
        // The driver version follows Cargo.toml; keep the golden file independent of releases.
        let version = format!("\"version\": \"{}\",\n          \"informationUri\"", env!("CARGO_PKG_VERSION"));
        assert!(sarif.contains(&version));
        let sarif = sarif.replace(&version, "\"version\": \"[version]\",\n          \"informationUri\"");
        insta::assert_snapshot!(sarif);
    }

    #[test]
    fn log_has_schema_version_and_one_run_by_syncgate() {
        let log = parse(&sample::report(), sample::RULES);
        assert_eq!(log["$schema"], SCHEMA);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["runs"].as_array().unwrap().len(), 1);
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "syncgate");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn one_result_per_denial_or_warning_with_matching_level() {
        let report = sample::report();
        let log = parse(&report, sample::RULES);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let levels: Vec<&str> = results.iter().map(|result| result["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["error", "error", "warning", "warning", "error", "error", "error"],);
        assert_eq!(results.len(), report.summary.fail + report.summary.error + report.summary.warn);
    }

    #[test]
    fn rules_are_the_referenced_ones_and_indices_point_at_them() {
        let log = parse(&sample::report(), sample::RULES);
        let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|rule| rule["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "allowed-registries",
                "disallow-host-path",
                "disallow-privileged",
                "require-image-digest",
                "require-resource-requests",
                "runAsNonRoot",
            ]
        );
        for result in log["runs"][0]["results"].as_array().unwrap() {
            let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(rules[index]["id"], result["ruleId"]);
        }
    }

    #[test]
    fn rule_without_metadata_gets_a_bare_descriptor() {
        let log = parse(&sample::report(), &[]);
        let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 6);
        assert_eq!(
            rules[0],
            serde_json::json!({"id": "allowed-registries", "defaultConfiguration": {"level": "error"}})
        );
    }

    #[test]
    fn stdin_finding_has_a_logical_location_only() {
        let log = parse(&sample::report(), sample::RULES);
        let last = &log["runs"][0]["results"][6];
        assert_eq!(last["ruleId"], "runAsNonRoot");
        let location = &last["locations"][0];
        assert!(location.get("physicalLocation").is_none());
        assert_eq!(location["logicalLocations"][0]["fullyQualifiedName"], "Pod/debug-shell");
    }

    #[test]
    fn exception_becomes_an_accepted_external_suppression() {
        let log = parse(&sample::report(), sample::RULES);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let suppressed: Vec<&Value> = results.iter().filter(|result| result.get("suppressions").is_some()).collect();
        assert_eq!(suppressed.len(), 1);
        assert_eq!(
            suppressed[0]["suppressions"][0],
            serde_json::json!({
                "kind": "external",
                "status": "accepted",
                "justification": "cilium-host-access: CNI needs host networking (expires 2027-03-01T00:00:00Z)"
            })
        );
    }

    #[test]
    fn fingerprint_ignores_line_and_message_but_not_identity() {
        let report = sample::report();
        let finding = &report.findings[5];
        let moved = Finding { message: "reworded".to_owned(), location: None, ..finding.clone() };
        assert_eq!(fingerprint(finding), fingerprint(&moved));
        assert_eq!(fingerprint(finding).len(), 32);

        let other_container = Finding { container: Some("sidecar".to_owned()), ..finding.clone() };
        assert_ne!(fingerprint(finding), fingerprint(&other_container));
    }

    #[test]
    fn fingerprints_are_distinct_across_the_sample() {
        let log = parse(&sample::report(), sample::RULES);
        let mut hashes: Vec<&str> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| result["partialFingerprints"]["primaryLocationLineHash"].as_str().unwrap())
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 7);
    }

    #[rstest]
    #[case::relative("deploy/web/api.yaml", "deploy/web/api.yaml")]
    #[case::dot_relative("./deploy/api.yaml", "deploy/api.yaml")]
    #[case::absolute("/work/app/deploy.yaml", "file:///work/app/deploy.yaml")]
    #[case::space_and_hash("my app/#1.yaml", "my%20app/%231.yaml")]
    #[case::non_ascii("déploiement.yaml", "d%C3%A9ploiement.yaml")]
    fn file_paths_become_uri_references(#[case] path: &str, #[case] uri: &str) {
        assert_eq!(file_uri(path), uri);
    }
}
