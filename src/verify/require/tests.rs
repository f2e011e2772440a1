//! Matching over realistic inputs: GitHub Actions certificates, SLSA v0.2 and v1 provenance from
//! slsa-github-generator and actions/attest-build-provenance, and a vulnerability-scan statement.

use rstest::rstest;
use serde_json::{Value, json};

use super::*;

const V0_2_GENERATOR: &str =
    include_str!("../../../tests/fixtures/image-policy/provenance/slsa-v0.2-generator-container.json");
const V1_GENERATOR: &str =
    include_str!("../../../tests/fixtures/image-policy/provenance/slsa-v1-generator-container.json");
const V1_ATTEST: &str =
    include_str!("../../../tests/fixtures/image-policy/provenance/slsa-v1-attest-build-provenance.json");
const VULN_SCAN: &str = include_str!("../../../tests/fixtures/image-policy/provenance/trivy-vuln-scan.json");

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const RELEASE_SUBJECT: &str = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.0";

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn exact(value: &str) -> StringMatch {
    StringMatch::Exact(value.to_owned())
}

fn regex(text: &str) -> StringMatch {
    StringMatch::Regex(FullMatch::new(text).unwrap())
}

fn github_release_identity() -> SignerIdentity {
    SignerIdentity {
        subject: Some(RELEASE_SUBJECT.to_owned()),
        issuer: Some(GITHUB.to_owned()),
        build_signer_uri: Some(RELEASE_SUBJECT.to_owned()),
        source_repository_uri: Some("https://github.com/acme/api".to_owned()),
        source_repository_ref: Some("refs/tags/v1.4.0".to_owned()),
        source_repository_digest: Some("5c9e6f0b8a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".to_owned()),
        runner_environment: Some("github-hosted".to_owned()),
        build_trigger: Some("push".to_owned()),
        ..SignerIdentity::default()
    }
}

fn release_workflow() -> KeylessAuthority {
    KeylessAuthority {
        identities: vec![IdentityMatch {
            issuer: exact(GITHUB),
            subject: regex(r"^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*$"),
        }],
        extensions: vec![
            ExtensionMatch {
                extension: Extension::SourceRepositoryUri,
                expected: exact("https://github.com/acme/api"),
            },
            ExtensionMatch { extension: Extension::SourceRepositoryRef, expected: regex("^refs/tags/v.*") },
        ],
        sct: SctRequirement::Ignore,
    }
}

fn messages(mismatches: &[Mismatch]) -> Vec<String> {
    mismatches.iter().map(ToString::to_string).collect()
}

// ---- identities and extensions ----

#[test]
fn release_workflow_identity_matches() {
    assert_eq!(match_identity(&release_workflow(), &github_release_identity()), Ok(()));
}

#[test]
fn regexp_is_anchored_a_value_that_only_contains_the_pattern_fails() {
    let authority = KeylessAuthority {
        identities: vec![IdentityMatch { issuer: exact(GITHUB), subject: regex(r"github\.com/acme/api") }],
        extensions: vec![],
        sct: SctRequirement::Ignore,
    };
    let err = match_identity(&authority, &github_release_identity()).unwrap_err();
    assert_eq!(
        messages(&err),
        [format!(r"certificate subject: expected matching github\.com/acme/api, found {RELEASE_SUBJECT}")]
    );
}

#[test]
fn regexp_written_with_a_leading_caret_only_still_matches_the_whole_value() {
    let prefix = regex("^refs/tags/v");
    assert!(!prefix.matches("refs/tags/v1.4.0"), "cosign would accept this; a full match does not");
    assert!(regex("^refs/tags/v.*").matches("refs/tags/v1.4.0"));
    assert!(!regex("refs/tags/v.*").matches("refs/heads/main/refs/tags/v1"));
}

#[test]
fn an_unbalanced_regexp_cannot_escape_the_anchors() {
    assert!(FullMatch::new("a)|(b").is_err());
    assert!(FullMatch::new("(?i)ACME").unwrap().is_match("acme"));
    assert!(!FullMatch::new("a|b").unwrap().is_match("ab"), "alternation stays inside the anchors");
}

#[test]
fn evil_fork_subject_is_reported_with_the_pattern_and_the_subject() {
    let mut identity = github_release_identity();
    identity.subject = Some("https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main".to_owned());
    identity.source_repository_ref = Some("refs/heads/main".to_owned());
    let mut authority = release_workflow();
    authority.extensions[1].expected = exact("refs/tags/v1.4.0");
    let err = match_identity(&authority, &identity).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            r"certificate subject: expected matching ^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v.*$, found https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main",
            "extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14): expected refs/tags/v1.4.0, found refs/heads/main",
        ]
    );
}

#[rstest]
#[case::extension_absent(
    None,
    "extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14): expected refs/tags/v1.4.0, found nothing (extension not in the certificate)"
)]
#[case::extension_different(
    Some("refs/heads/main"),
    "extension sourceRepositoryRef (1.3.6.1.4.1.57264.1.14): expected refs/tags/v1.4.0, found refs/heads/main"
)]
fn extension_absent_differs_from_extension_different(#[case] found: Option<&str>, #[case] message: &str) {
    let mut identity = github_release_identity();
    identity.source_repository_ref = found.map(str::to_owned);
    let authority = KeylessAuthority {
        identities: vec![IdentityMatch { issuer: exact(GITHUB), subject: exact(RELEASE_SUBJECT) }],
        extensions: vec![ExtensionMatch {
            extension: Extension::SourceRepositoryRef,
            expected: exact("refs/tags/v1.4.0"),
        }],
        sct: SctRequirement::Ignore,
    };
    assert_eq!(messages(&match_identity(&authority, &identity).unwrap_err()), [message]);
}

#[test]
fn every_extension_is_read_from_its_own_certificate_field() {
    let identity = SignerIdentity {
        build_signer_uri: Some("9".into()),
        build_signer_digest: Some("10".into()),
        runner_environment: Some("11".into()),
        source_repository_uri: Some("12".into()),
        source_repository_digest: Some("13".into()),
        source_repository_ref: Some("14".into()),
        source_repository_identifier: Some("15".into()),
        source_repository_owner_uri: Some("16".into()),
        source_repository_owner_identifier: Some("17".into()),
        build_config_uri: Some("18".into()),
        build_config_digest: Some("19".into()),
        build_trigger: Some("20".into()),
        run_invocation_uri: Some("21".into()),
        source_repository_visibility: Some("22".into()),
        deployment_environment: Some("23".into()),
        github_workflow_trigger: Some("2".into()),
        github_workflow_sha: Some("3".into()),
        github_workflow_name: Some("4".into()),
        github_workflow_repository: Some("5".into()),
        github_workflow_ref: Some("6".into()),
        ..SignerIdentity::default()
    };
    for extension in Extension::ALL {
        let arc = extension.oid().rsplit('.').next().unwrap();
        assert_eq!(extension.value(&identity), Some(arc), "{extension}");
        assert_eq!(extension.name().parse::<Extension>(), Ok(extension));
    }
}

#[test]
fn any_identity_may_match() {
    let mut authority = release_workflow();
    authority.extensions.clear();
    authority.identities.insert(
        0,
        IdentityMatch { issuer: exact("https://accounts.google.com"), subject: exact("release@acme.example") },
    );
    assert_eq!(match_identity(&authority, &github_release_identity()), Ok(()));
}

#[test]
fn when_no_identity_matches_the_closest_ones_are_reported_with_their_index() {
    let authority = KeylessAuthority {
        identities: vec![
            IdentityMatch { issuer: exact("https://accounts.google.com"), subject: exact("release@acme.example") },
            IdentityMatch {
                issuer: exact(GITHUB),
                subject: exact("https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.5.0"),
            },
        ],
        extensions: vec![],
        sct: SctRequirement::Ignore,
    };
    let err = match_identity(&authority, &github_release_identity()).unwrap_err();
    assert_eq!(
        messages(&err),
        [format!(
            "certificate subject (identities[1]): expected https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.5.0, found {RELEASE_SUBJECT}"
        )]
    );
}

#[test]
fn missing_issuer_and_subject_are_named() {
    let authority = KeylessAuthority {
        identities: vec![IdentityMatch { issuer: exact(GITHUB), subject: exact(RELEASE_SUBJECT) }],
        extensions: vec![],
        sct: SctRequirement::Ignore,
    };
    let err = match_identity(&authority, &SignerIdentity::default()).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            "certificate issuer: expected https://token.actions.githubusercontent.com, found nothing (no OIDC issuer extension in the certificate)",
            &format!(
                "certificate subject: expected {RELEASE_SUBJECT}, found nothing (no subject alternative name in the certificate)"
            ),
        ]
    );
}

#[test]
fn extensions_are_checked_even_when_the_identity_matches() {
    let mut identity = github_release_identity();
    identity.source_repository_uri = Some("https://github.com/evil/api".to_owned());
    let err = match_identity(&release_workflow(), &identity).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            "extension sourceRepositoryURI (1.3.6.1.4.1.57264.1.12): expected https://github.com/acme/api, found https://github.com/evil/api"
        ]
    );
}

#[test]
fn an_authority_without_identities_matches_nothing() {
    let authority = KeylessAuthority { identities: vec![], extensions: vec![], sct: SctRequirement::Ignore };
    assert!(match_identity(&authority, &github_release_identity()).is_err());
}

// ---- SLSA provenance ----

const GENERATOR_V1: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.10.0";
const GENERATOR_V2: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0";
const SHA: &str = "5c9e6f0b8a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";

fn full(
    builder: &str,
    build_type: &str,
    repository: &str,
    reference: &str,
    digest: &str,
    path: &str,
) -> SlsaRequirements {
    SlsaRequirements {
        builder_id: Some(exact(builder)),
        build_type: Some(exact(build_type)),
        source_repository: Some(exact(repository)),
        source_ref: Some(exact(reference)),
        source_digest: Some(exact(digest)),
        workflow_path: Some(exact(path)),
    }
}

fn fixture(name: &str) -> (&'static str, Value, SlsaRequirements, Provenance) {
    let (predicate_type, text, slsa) = match name {
        "v0.2-generator" => (
            SLSA_PROVENANCE_V0_2,
            V0_2_GENERATOR,
            full(
                GENERATOR_V1,
                "https://github.com/slsa-framework/slsa-github-generator/container@v1",
                "https://github.com/acme/api",
                "refs/tags/v1.4.0",
                SHA,
                ".github/workflows/release.yml",
            ),
        ),
        "v1-generator" => (
            SLSA_PROVENANCE_V1,
            V1_GENERATOR,
            full(
                GENERATOR_V2,
                "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "https://github.com/acme/api",
                "refs/tags/v1.4.0",
                SHA,
                ".github/workflows/release.yml",
            ),
        ),
        "v1-attest" => (
            SLSA_PROVENANCE_V1,
            V1_ATTEST,
            full(
                "https://github.com/actions/runner/github-hosted",
                "https://actions.github.io/buildtypes/workflow/v1",
                "https://github.com/acme/web",
                "refs/heads/main",
                "e4a1f7c3b9d5e2a8f6c0b4d7e1a3f9c5b2d8e6a0",
                ".github/workflows/build.yml",
            ),
        ),
        other => panic!("no fixture {other}"),
    };
    let read = |m: &Option<StringMatch>| match m {
        Some(StringMatch::Exact(v)) => Some(v.clone()),
        _ => None,
    };
    let provenance = Provenance {
        builder_id: read(&slsa.builder_id),
        build_type: read(&slsa.build_type),
        source_repository: read(&slsa.source_repository),
        source_ref: read(&slsa.source_ref),
        source_digest: read(&slsa.source_digest),
        workflow_path: read(&slsa.workflow_path),
    };
    (predicate_type, parse(text), slsa, provenance)
}

#[rstest]
#[case::v0_2_generator_container("v0.2-generator")]
#[case::v1_generator_container("v1-generator")]
#[case::v1_attest_build_provenance("v1-attest")]
fn every_slsa_field_passes_and_is_read_back(#[case] name: &str) {
    let (predicate_type, statement, slsa, provenance) = fixture(name);
    assert_eq!(match_provenance(&slsa, predicate_type, &statement), Ok(provenance.clone()));
    // Reading alone (no requirement) returns the same evidence.
    assert_eq!(match_provenance(&SlsaRequirements::default(), predicate_type, &statement), Ok(provenance));
}

#[rstest]
#[case::v0_2_builder(
    "v0.2-generator",
    "builderID",
    "SLSA builder id: expected https://example.com/builder, found https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.10.0"
)]
#[case::v0_2_build_type(
    "v0.2-generator",
    "buildType",
    "SLSA build type: expected https://example.com/builder, found https://github.com/slsa-framework/slsa-github-generator/container@v1"
)]
#[case::v0_2_source_ref(
    "v0.2-generator",
    "sourceRef",
    "SLSA source ref: expected https://example.com/builder, found refs/tags/v1.4.0"
)]
#[case::v0_2_source_digest(
    "v0.2-generator",
    "sourceDigest",
    "SLSA source digest: expected https://example.com/builder, found 5c9e6f0b8a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
)]
#[case::v0_2_workflow_path(
    "v0.2-generator",
    "workflowPath",
    "SLSA workflow path: expected https://example.com/builder, found .github/workflows/release.yml"
)]
#[case::v1_builder(
    "v1-generator",
    "builderID",
    "SLSA builder id: expected https://example.com/builder, found https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
)]
#[case::v1_build_type(
    "v1-generator",
    "buildType",
    "SLSA build type: expected https://example.com/builder, found https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
)]
#[case::v1_source_ref(
    "v1-generator",
    "sourceRef",
    "SLSA source ref: expected https://example.com/builder, found refs/tags/v1.4.0"
)]
#[case::v1_source_digest(
    "v1-generator",
    "sourceDigest",
    "SLSA source digest: expected https://example.com/builder, found 5c9e6f0b8a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
)]
#[case::v1_workflow_path(
    "v1-generator",
    "workflowPath",
    "SLSA workflow path: expected https://example.com/builder, found .github/workflows/release.yml"
)]
#[case::attest_builder(
    "v1-attest",
    "builderID",
    "SLSA builder id: expected https://example.com/builder, found https://github.com/actions/runner/github-hosted"
)]
#[case::attest_build_type(
    "v1-attest",
    "buildType",
    "SLSA build type: expected https://example.com/builder, found https://actions.github.io/buildtypes/workflow/v1"
)]
#[case::attest_source_ref(
    "v1-attest",
    "sourceRef",
    "SLSA source ref: expected https://example.com/builder, found refs/heads/main"
)]
#[case::attest_source_digest(
    "v1-attest",
    "sourceDigest",
    "SLSA source digest: expected https://example.com/builder, found e4a1f7c3b9d5e2a8f6c0b4d7e1a3f9c5b2d8e6a0"
)]
#[case::attest_workflow_path(
    "v1-attest",
    "workflowPath",
    "SLSA workflow path: expected https://example.com/builder, found .github/workflows/build.yml"
)]
fn each_slsa_field_fails_on_its_own(#[case] name: &str, #[case] field: &str, #[case] message: &str) {
    let (predicate_type, statement, mut slsa, _) = fixture(name);
    let wrong = Some(exact("https://example.com/builder"));
    match field {
        "builderID" => slsa.builder_id = wrong,
        "buildType" => slsa.build_type = wrong,
        "sourceRef" => slsa.source_ref = wrong,
        "sourceDigest" => slsa.source_digest = wrong,
        "workflowPath" => slsa.workflow_path = wrong,
        other => panic!("{other}"),
    }
    let err = match_provenance(&slsa, predicate_type, &statement).unwrap_err();
    assert_eq!(messages(&err), [message]);
}

#[rstest]
#[case::v0_2("v0.2-generator", "https://github.com/evil/api", &[
    "SLSA source repository (trigger, predicate.invocation.configSource.uri): expected https://github.com/evil/api, found https://github.com/acme/api",
    "SLSA source repository (material, predicate.materials[0].uri): expected https://github.com/evil/api, found https://github.com/acme/api",
])]
#[case::v1("v1-generator", "https://github.com/evil/api", &[
    "SLSA source repository (trigger, predicate.buildDefinition.externalParameters.workflow.repository): expected https://github.com/evil/api, found https://github.com/acme/api",
    "SLSA source repository (material, predicate.buildDefinition.resolvedDependencies[0].uri): expected https://github.com/evil/api, found https://github.com/acme/api",
])]
#[case::attest("v1-attest", "https://github.com/acme/api", &[
    "SLSA source repository (trigger, predicate.buildDefinition.externalParameters.workflow.repository): expected https://github.com/acme/api, found https://github.com/acme/web",
    "SLSA source repository (material, predicate.buildDefinition.resolvedDependencies[0].uri): expected https://github.com/acme/api, found https://github.com/acme/web",
])]
fn source_repository_fails_on_trigger_and_material(
    #[case] name: &str,
    #[case] repository: &str,
    #[case] expected: &[&str],
) {
    let (predicate_type, statement, mut slsa, _) = fixture(name);
    slsa.source_repository = Some(exact(repository));
    assert_eq!(messages(&match_provenance(&slsa, predicate_type, &statement).unwrap_err()), expected);
}

#[rstest]
#[case::v0_2("v0.2-generator", "/predicate/materials/0/uri", "material")]
#[case::v0_2_trigger("v0.2-generator", "/predicate/invocation/configSource/uri", "trigger")]
#[case::v1("v1-generator", "/predicate/buildDefinition/resolvedDependencies/0/uri", "material")]
#[case::v1_trigger("v1-generator", "/predicate/buildDefinition/externalParameters/workflow/repository", "trigger")]
fn source_repository_must_hold_for_both_trigger_and_material(
    #[case] name: &str,
    #[case] pointer: &str,
    #[case] role: &str,
) {
    let (predicate_type, mut statement, slsa, _) = fixture(name);
    *statement.pointer_mut(pointer).unwrap() = json!("git+https://github.com/evil/api@refs/tags/v1.4.0");
    let err = match_provenance(&slsa, predicate_type, &statement).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].field.starts_with(&format!("SLSA source repository ({role}, ")), "{}", err[0]);
    assert_eq!(err[0].found, "https://github.com/evil/api");
}

#[rstest]
#[case::plain("https://github.com/acme/api")]
#[case::spdx_download_location("git+https://github.com/acme/api")]
fn source_repository_is_compared_without_git_prefix_and_ref(#[case] repository: &str) {
    let (predicate_type, statement, mut slsa, _) = fixture("v0.2-generator");
    slsa.source_repository = Some(exact(repository));
    assert!(match_provenance(&slsa, predicate_type, &statement).is_ok());
    slsa.source_repository = Some(regex(r"https://github\.com/acme/[a-z]+"));
    assert!(match_provenance(&slsa, predicate_type, &statement).is_ok(), "regexps see the normalised URI");
}

#[rstest]
#[case::ref_after_at("git+https://github.com/acme/api@refs/tags/v1.4.0", "https://github.com/acme/api")]
#[case::no_ref("git+https://github.com/acme/api", "https://github.com/acme/api")]
#[case::user_in_authority("git+ssh://git@github.com/acme/api@refs/heads/main", "ssh://git@github.com/acme/api")]
#[case::at_in_ref("git+https://github.com/acme/api@refs/heads/fix@2", "https://github.com/acme/api")]
fn repository_normalisation(#[case] uri: &str, #[case] normalised: &str) {
    assert_eq!(normalise_repository(uri), normalised);
}

#[test]
fn v0_2_ref_falls_back_to_the_environment() {
    let (predicate_type, mut statement, slsa, _) = fixture("v0.2-generator");
    *statement.pointer_mut("/predicate/invocation/configSource/uri").unwrap() =
        json!("git+https://github.com/acme/api");
    *statement.pointer_mut("/predicate/materials/0/uri").unwrap() = json!("git+https://github.com/acme/api");
    let provenance = match_provenance(&slsa, predicate_type, &statement).unwrap();
    assert_eq!(provenance.source_ref.as_deref(), Some("refs/tags/v1.4.0"));

    statement["predicate"]["invocation"]["environment"].as_object_mut().unwrap().remove("github_ref");
    let err = match_provenance(&slsa, predicate_type, &statement).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            "SLSA source ref: expected refs/tags/v1.4.0, found nothing (no ref in predicate.invocation.configSource.uri nor predicate.invocation.environment.github_ref in the provenance)"
        ]
    );
}

#[test]
fn v1_digest_may_be_sha1() {
    let (predicate_type, mut statement, slsa, _) = fixture("v1-generator");
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"] = json!({"sha1": SHA});
    assert!(match_provenance(&slsa, predicate_type, &statement).is_ok());
}

#[test]
fn absent_provenance_fields_are_named() {
    let (predicate_type, mut statement, slsa, _) = fixture("v1-attest");
    statement["predicate"].as_object_mut().unwrap().remove("runDetails");
    let err = match_provenance(&slsa, predicate_type, &statement).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            "SLSA builder id: expected https://github.com/actions/runner/github-hosted, found nothing (no predicate.runDetails.builder.id in the provenance)"
        ]
    );
}

#[test]
fn a_v0_2_statement_is_not_read_as_v1() {
    let (_, statement, slsa, _) = fixture("v0.2-generator");
    let err = match_provenance(&slsa, SLSA_PROVENANCE_V1, &statement).unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "statement predicateType: expected https://slsa.dev/provenance/v1, found https://slsa.dev/provenance/v0.2"
    );
}

#[test]
fn other_predicate_types_are_not_provenance() {
    let err =
        match_provenance(&SlsaRequirements::default(), "https://spdx.dev/Document", &parse(VULN_SCAN)).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            "SLSA provenance: expected predicateType https://slsa.dev/provenance/v0.2 or https://slsa.dev/provenance/v1, found https://spdx.dev/Document"
        ]
    );
}

#[test]
fn provenance_serialises_in_camel_case() {
    let (predicate_type, statement, slsa, _) = fixture("v1-attest");
    let provenance = match_provenance(&slsa, predicate_type, &statement).unwrap();
    let json = serde_json::to_value(&provenance).unwrap();
    assert_eq!(json["builderId"], "https://github.com/actions/runner/github-hosted");
    assert_eq!(json["workflowPath"], ".github/workflows/build.yml");
}

// ---- conditions ----

fn condition(path: &str, test: ConditionTest) -> Condition {
    Condition { path: JsonPath::parse(path).unwrap(), test }
}

#[rstest]
#[case::equals_number("predicate.scanner.result.summary.CRITICAL", ConditionTest::Equals(json!(0)), None)]
#[case::equals_number_by_value("predicate.scanner.result.summary.CRITICAL", ConditionTest::Equals(json!(0.0)), None)]
#[case::equals_number_fails("predicate.scanner.result.summary.MEDIUM", ConditionTest::Equals(json!(0)), Some("predicate.scanner.result.summary.MEDIUM: expected 0, found 2"))]
#[case::equals_string_is_not_a_number("predicate.scanner.result.summary.CRITICAL", ConditionTest::Equals(json!("0")), Some("predicate.scanner.result.summary.CRITICAL: expected \"0\", found 0"))]
#[case::equals_absent("predicate.scanner.result.summary.UNKNOWN", ConditionTest::Equals(json!(0)), Some("predicate.scanner.result.summary.UNKNOWN: expected 0, found nothing (path not in the statement)"))]
#[case::equals_null_and_null("predicate.invocation.parameters", ConditionTest::Equals(Value::Null), None)]
#[case::equals_string("predicate.scanner.version", ConditionTest::Equals(json!("0.50.1")), None)]
#[case::regexp("predicate.scanner.uri", ConditionTest::Matches(FullMatch::new(r"pkg:github/aquasecurity/trivy@0\.50\.\d+").unwrap()), None)]
#[case::regexp_is_anchored("predicate.scanner.uri", ConditionTest::Matches(FullMatch::new("trivy").unwrap()), Some("predicate.scanner.uri: expected matching trivy, found \"pkg:github/aquasecurity/trivy@0.50.1\""))]
#[case::regexp_on_a_number("predicate.scanner.result.SchemaVersion", ConditionTest::Matches(FullMatch::new("[12]").unwrap()), None)]
#[case::regexp_on_a_mapping("predicate.scanner.db", ConditionTest::Matches(FullMatch::new(".*").unwrap()), Some("predicate.scanner.db: expected matching .*, found {\"uri\":\"\",\"version\":\"\"}"))]
#[case::exists(
    "predicate.scanner.result.Results[0].Vulnerabilities[0].VulnerabilityID",
    ConditionTest::Exists(true),
    None
)]
#[case::exists_fails(
    "predicate.sbom",
    ConditionTest::Exists(true),
    Some("predicate.sbom: expected a value, found nothing (path not in the statement)")
)]
#[case::null_does_not_exist("predicate.invocation.parameters", ConditionTest::Exists(false), None)]
#[case::not_exists_fails(
    "predicate.metadata.scanStartedOn",
    ConditionTest::Exists(false),
    Some("predicate.metadata.scanStartedOn: expected nothing, found \"2026-11-02T10:14:07Z\"")
)]
#[case::quoted_key_with_dots(r#"predicate.invocation."builder.id""#, ConditionTest::Equals(json!("https://github.com/acme/api/.github/workflows/release.yml")), None)]
#[case::index("subject[0].digest.sha256", ConditionTest::Matches(FullMatch::new("[0-9a-f]{64}").unwrap()), None)]
#[case::index_out_of_range(
    "subject[1].name",
    ConditionTest::Exists(true),
    Some("subject[1].name: expected a value, found nothing (path not in the statement)")
)]
fn conditions_on_a_vulnerability_scan(#[case] path: &str, #[case] test: ConditionTest, #[case] message: Option<&str>) {
    let result = match_conditions(&[condition(path, test)], &parse(VULN_SCAN));
    match message {
        None => assert_eq!(result, Ok(())),
        Some(message) => assert_eq!(messages(&result.unwrap_err()), [message]),
    }
}

#[test]
fn every_condition_must_hold_and_every_failure_is_reported() {
    let conditions = [
        condition("predicate.scanner.result.summary.CRITICAL", ConditionTest::Equals(json!(0))),
        condition("predicate.scanner.result.summary.MEDIUM", ConditionTest::Equals(json!(0))),
        condition("predicate.scanner.result.summary.LOW", ConditionTest::Equals(json!(0))),
    ];
    let err = match_conditions(&conditions, &parse(VULN_SCAN)).unwrap_err();
    assert_eq!(err.len(), 2);
    assert_eq!(match_conditions(&conditions[..1], &parse(VULN_SCAN)), Ok(()));
}

#[test]
fn conditions_apply_to_provenance_too() {
    let conditions = [condition(
        "predicate.invocation.environment.github_event_name",
        ConditionTest::Matches(FullMatch::new("^(push|release)$").unwrap()),
    )];
    assert_eq!(match_conditions(&conditions, &parse(V0_2_GENERATOR)), Ok(()));
}

#[test]
fn long_found_values_are_shortened() {
    let conditions = [condition("predicate", ConditionTest::Exists(false))];
    let err = match_conditions(&conditions, &parse(VULN_SCAN)).unwrap_err();
    assert!(err[0].found.ends_with('…'));
    assert_eq!(err[0].found.chars().count(), MAX_FOUND_CHARS + 1);
}

#[rstest]
#[case::empty("", "empty segment at the end of \"\"")]
#[case::double_dot("a..b", "empty segment at offset 2 of \"a..b\"")]
#[case::trailing_dot("a.", "empty segment at the end of \"a.\"")]
#[case::unclosed_quote("a.\"b", "unclosed quote in \"a.\\\"b\"")]
#[case::bad_index("a[x]", "[x] at offset 1 of \"a[x]\" is not an index (expected [0], [1], …)")]
#[case::negative_index("a[-1]", "[-1] at offset 1 of \"a[-1]\" is not an index (expected [0], [1], …)")]
#[case::unclosed_index("a[0", "unclosed [ at offset 1 of \"a[0\"")]
#[case::junk_after_quote("\"a\"b", "unexpected 'b' at offset 3 of \"\\\"a\\\"b\"")]
#[case::leading_index("[0]", "empty segment at offset 0 of \"[0]\"")]
fn bad_paths_are_refused(#[case] path: &str, #[case] message: &str) {
    assert_eq!(JsonPath::parse(path).unwrap_err(), message);
}

#[test]
fn paths_parse_quotes_and_indices() {
    let path = JsonPath::parse(r#"predicate."a.b\"c"[2][0].d"#).unwrap();
    assert_eq!(path.root_key(), "predicate");
    let doc = json!({"predicate": {"a.b\"c": [0, 1, [{"d": true}]]}});
    assert_eq!(path.lookup(&doc), Some(&json!(true)));
    assert_eq!(path.to_string(), r#"predicate."a.b\"c"[2][0].d"#);
}
