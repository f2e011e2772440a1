//! ImagePolicy documents: the full example, every class of schema error (each naming its field), the
//! policy hash, image matching, `noMatch` across a set, and the image rule ids in exceptions.

use std::path::{Path, PathBuf};

use rstest::rstest;
use serde_json::json;

use super::*;
use crate::manifest::Limits;
use crate::policy::document::{InvalidField, PolicySet, load};
use crate::verify::certificate::SignerIdentity;
use crate::verify::require::{Provenance, match_conditions, match_identity, match_provenance};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/image-policy");

/// A policy directory with the fixture key and trust root, plus a few broken files.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        for file in ["keys/release.pub", "keys/other.pub", "trusted_root.json"] {
            std::fs::copy(Path::new(FIXTURES).join(file), dir.path().join(file)).unwrap();
        }
        std::fs::write(dir.path().join("keys/not-a-key.pub"), "ssh-ed25519 AAAAC3Nza… release@acme\n").unwrap();
        std::fs::write(dir.path().join("array.json"), "[]").unwrap();
        Dir { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, yaml: &str) -> Result<PolicySet, PolicyError> {
        let path = self.write("policy.yaml", yaml);
        load(&[path], &Limits::default())
    }
}

fn document(spec: &str) -> String {
    format!("apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {{name: acme}}\nspec:\n{spec}")
}

const MINIMAL: &str = r#"  images: ["ghcr.io/acme/**"]
  authorities:
    - name: release-key
      key: {file: keys/release.pub}
  trustRoot: {file: trusted_root.json}
"#;

fn invalid(result: Result<PolicySet, PolicyError>) -> InvalidField {
    match result {
        Err(PolicyError::Invalid(invalid)) => *invalid,
        Err(other) => panic!("expected a schema error, got {other}"),
        Ok(_) => panic!("expected a schema error, the policy loaded"),
    }
}

fn image(text: &str) -> ImageRef {
    text.parse().unwrap()
}

// ---- the full document ----

#[test]
fn full_document_loads_with_every_field() {
    let set = load(&[Path::new(FIXTURES).join("acme-release.yaml")], &Limits::default()).unwrap();
    assert_eq!(set.images.len(), 1);
    let p = &set.images[0];
    assert_eq!(&*p.name, "acme-release");
    assert_eq!(p.images.iter().map(Pattern::as_str).collect::<Vec<_>>(), ["ghcr.io/acme/**"]);
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.no_match, NoMatch::Deny);
    assert_eq!(p.require, Require::Any);
    assert_eq!(p.rewrite, Some(Rewrite::Digest));
    assert_eq!(p.location.line, Some(4), "the document starts after the comment");
    assert!(p.hash.starts_with("sha256:") && p.hash.len() == 7 + 64, "{}", p.hash);

    let [workflow, key] = &p.authorities[..] else { panic!("two authorities") };
    assert_eq!(workflow.name, "release-workflow");
    assert_eq!(workflow.transparency_log, TransparencyLog::Required);
    let Signer::Keyless(keyless) = &workflow.signer else { panic!("keyless") };
    assert_eq!(keyless.identities.len(), 1);
    assert_eq!(
        keyless.extensions.iter().map(|e| e.extension).collect::<Vec<_>>(),
        [Extension::SourceRepositoryUri, Extension::SourceRepositoryRef, Extension::RunnerEnvironment]
    );
    let identity = SignerIdentity {
        subject: Some("https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.0".into()),
        issuer: Some("https://token.actions.githubusercontent.com".into()),
        source_repository_uri: Some("https://github.com/acme/api".into()),
        source_repository_ref: Some("refs/tags/v1.4.0".into()),
        runner_environment: Some("github-hosted".into()),
        ..SignerIdentity::default()
    };
    assert_eq!(match_identity(keyless, &identity), Ok(()));

    assert_eq!(key.name, "release-key");
    assert_eq!(key.transparency_log, TransparencyLog::Required, "the default");
    let Signer::Key(key) = &key.signer else { panic!("key") };
    assert_eq!(key.source, KeySource::File(Path::new(FIXTURES).join("keys/release.pub")));

    let [provenance, vulnerabilities] = &p.attestations[..] else { panic!("two attestations") };
    assert_eq!(provenance.name, "provenance");
    assert_eq!(provenance.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(provenance.authorities, ["release-workflow"]);
    let statement: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURES).join("provenance/slsa-v1-generator-container.json")).unwrap(),
    )
    .unwrap();
    let slsa = provenance.slsa.as_ref().unwrap();
    let read: Provenance = match_provenance(slsa, &provenance.predicate_type, &statement).unwrap();
    assert_eq!(read.source_ref.as_deref(), Some("refs/tags/v1.4.0"));
    assert_eq!(match_conditions(&provenance.conditions, &statement), Ok(()));

    assert_eq!(vulnerabilities.authorities, ["release-workflow", "release-key"], "default: every authority");
    assert!(vulnerabilities.slsa.is_none());
    assert_eq!(vulnerabilities.conditions.len(), 2);
    assert!(matches!(vulnerabilities.conditions[0].test, ConditionTest::Equals(ref v) if *v == json!(0)));

    let Some(TrustRootSource::File(root)) = p.trust_root.as_ref() else { panic!("a trust root file") };
    assert_eq!(root.path, Path::new(FIXTURES).join("trusted_root.json"));
}

#[test]
fn defaults() {
    let set = Dir::new().load(&document(MINIMAL)).unwrap();
    let p = &set.images[0];
    assert_eq!((p.mode, p.no_match, p.require, p.rewrite), (Mode::Enforce, NoMatch::Deny, Require::Any, None));
    assert!(p.attestations.is_empty());
}

#[rstest]
#[case::any("any", Require::Any, 1)]
#[case::all("all", Require::All, 2)]
#[case::one("1", Require::AtLeast(1), 1)]
#[case::two("2", Require::AtLeast(2), 2)]
fn require_values(#[case] written: &str, #[case] require: Require, #[case] threshold: usize) {
    let two_keys = MINIMAL.replace(
        "      key: {file: keys/release.pub}\n",
        "      key: {file: keys/release.pub}\n    - name: other-key\n      key: {file: keys/other.pub}\n",
    );
    let spec = format!("{two_keys}  require: {written}\n");
    let set = Dir::new().load(&document(&spec)).unwrap();
    assert_eq!(set.images[0].require, require);
    assert_eq!(set.images[0].require.threshold(2), threshold);
}

#[test]
fn inline_pem_key_and_optional_log_need_no_trust_root() {
    let pem = std::fs::read_to_string(Path::new(FIXTURES).join("keys/release.pub")).unwrap();
    let indented: String = pem.lines().flat_map(|l| ["          ", l, "\n"]).collect();
    let spec = format!(
        "  images: [\"ghcr.io/acme/**\"]\n  authorities:\n    - name: inline\n      transparencyLog: optional\n      key:\n        pem: |\n{indented}"
    );
    let set = Dir::new().load(&document(&spec)).unwrap();
    let p = &set.images[0];
    assert!(p.trust_root.is_none());
    assert_eq!(p.authorities[0].transparency_log, TransparencyLog::Optional);
    assert!(matches!(&p.authorities[0].signer, Signer::Key(k) if k.source == KeySource::Inline));
}

#[rstest]
#[case::default("", SctRequirement::Ignore)]
#[case::required("        sct: required\n", SctRequirement::Required)]
#[case::ignore("        sct: ignore\n", SctRequirement::Ignore)]
fn keyless_sct_is_ignored_unless_required(#[case] sct: &str, #[case] expected: SctRequirement) {
    let set = Dir::new().load(&with_authorities(&format!("    - name: k\n{KEYLESS}{sct}"))).unwrap();
    let Signer::Keyless(keyless) = &set.images[0].authorities[0].signer else { panic!("keyless") };
    assert_eq!(keyless.sct, expected);
}

// ---- every class of schema error names its field ----

#[rstest]
#[case::unknown_spec_field("  imagez: [a]\n", "spec.imagez", "unknown field `imagez`")]
#[case::missing_images(
    "  authorities: [{name: k, key: {file: keys/release.pub}}]\n  trustRoot: {file: trusted_root.json}\n",
    "spec",
    "missing field `images`"
)]
#[case::empty_images(
    "  images: []\n  authorities: [{name: k, key: {file: keys/release.pub}}]\n  trustRoot: {file: trusted_root.json}\n",
    "spec.images",
    "at least one image glob"
)]
#[case::bad_glob(
    "  images: [\"ghcr.io/[acme\"]\n  authorities: [{name: k, key: {file: keys/release.pub}}]\n  trustRoot: {file: trusted_root.json}\n",
    "spec.images[0]",
    "invalid glob"
)]
#[case::empty_authorities(
    "  images: [\"ghcr.io/acme/**\"]\n  authorities: []\n",
    "spec.authorities",
    "must list at least one authority"
)]
#[case::bad_mode("  mode: warn\n", "spec.mode", "unknown variant `warn`, expected `enforce` or `report`")]
#[case::bad_no_match(
    "  noMatch: ignore\n",
    "spec.noMatch",
    "unknown variant `ignore`, expected one of `allow`, `warn`, `deny`"
)]
#[case::require_out_of_range(
    "  require: 2\n",
    "spec.require",
    "2 is out of range: expected any, all, or a number from 1 to 1"
)]
#[case::require_zero("  require: 0\n", "spec.require", "0 is out of range")]
#[case::require_negative("  require: -1\n", "spec.require", "-1 is out of range")]
#[case::require_word("  require: most\n", "spec.require", "unknown value \"most\"")]
#[case::require_type("  require: true\n", "spec.require", "found a boolean")]
#[case::bad_rewrite("  rewrite: pin\n", "spec.rewrite", "unknown variant `pin`")]
#[case::unknown_trust_root_field(
    "  trustRoot: {path: trusted_root.json}\n",
    "spec.trustRoot.path",
    "unknown field `path`"
)]
fn spec_level_errors(#[case] extra: &str, #[case] field: &str, #[case] message: &str) {
    // `extra` is appended to the minimal spec, or is the whole spec when it sets images or authorities.
    let spec = if extra.contains("images") || extra.contains("authorities") {
        extra.to_owned()
    } else {
        let mut spec = MINIMAL.to_owned();
        if extra.contains("trustRoot") {
            spec = spec.replace("  trustRoot: {file: trusted_root.json}\n", "");
        }
        spec + extra
    };
    let error = invalid(Dir::new().load(&document(&spec)));
    assert_eq!(error.field, field, "{error}");
    assert!(error.message.contains(message), "{error}");
}

/// The minimal spec with its one authority replaced.
fn with_authorities(authorities: &str) -> String {
    document(&format!(
        "  images: [\"ghcr.io/acme/**\"]\n  authorities:\n{authorities}  trustRoot: {{file: trusted_root.json}}\n"
    ))
}

const KEYLESS: &str = "      keyless:\n        identities:\n          - {issuer: https://token.actions.githubusercontent.com, subject: https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1}\n";

#[rstest]
#[case::no_authorities("", "spec.authorities", "invalid type: null, expected a sequence")]
#[case::unknown_authority_field(
    "    - name: k\n      keyles: {}\n",
    "spec.authorities[0].keyles",
    "unknown field `keyles`"
)]
#[case::missing_name("    - key: {file: keys/release.pub}\n", "spec.authorities[0]", "missing field `name`")]
#[case::bad_name(
    "    - name: Release_Key\n      key: {file: keys/release.pub}\n",
    "spec.authorities[0].name",
    "\"Release_Key\" contains 'R'"
)]
#[case::empty_name(
    "    - name: \"\"\n      key: {file: keys/release.pub}\n",
    "spec.authorities[0].name",
    "must not be empty"
)]
#[case::duplicate_name(
    "    - name: k\n      key: {file: keys/release.pub}\n    - name: k\n      key: {file: keys/other.pub}\n",
    "spec.authorities[1].name",
    "duplicate authority name \"k\""
)]
#[case::keyless_and_key(&format!("    - name: k\n      key: {{file: keys/release.pub}}\n{KEYLESS}"), "spec.authorities[0]", "exactly one of keyless or key, not both")]
#[case::neither_keyless_nor_key("    - name: k\n", "spec.authorities[0]", "set exactly one of keyless or key")]
#[case::bad_transparency_log(&format!("    - name: k\n      transparencyLog: skip\n{KEYLESS}"), "spec.authorities[0].transparencyLog", "unknown variant `skip`, expected `required` or `optional`")]
#[case::no_identities(
    "    - name: k\n      keyless: {identities: []}\n",
    "spec.authorities[0].keyless.identities",
    "at least one identity"
)]
#[case::unknown_identity_field(
    "    - name: k\n      keyless:\n        identities: [{issuer: a, subject: b, audience: c}]\n",
    "spec.authorities[0].keyless.identities[0].audience",
    "unknown field `audience`"
)]
#[case::issuer_and_issuer_regexp(
    "    - name: k\n      keyless:\n        identities: [{issuer: a, issuerRegExp: b, subject: c}]\n",
    "spec.authorities[0].keyless.identities[0]",
    "set only one of issuer and issuerRegExp"
)]
#[case::no_subject(
    "    - name: k\n      keyless:\n        identities: [{issuer: a}]\n",
    "spec.authorities[0].keyless.identities[0]",
    "missing subject or subjectRegExp"
)]
#[case::empty_issuer(
    "    - name: k\n      keyless:\n        identities: [{issuer: \"\", subject: b}]\n",
    "spec.authorities[0].keyless.identities[0].issuer",
    "must not be empty"
)]
#[case::bad_subject_regexp(
    "    - name: k\n      keyless:\n        identities: [{issuer: a, subjectRegExp: \"^https://github.com/(acme\"}]\n",
    "spec.authorities[0].keyless.identities[0].subjectRegExp",
    "invalid regular expression"
)]
#[case::unknown_extension(
    &format!("    - name: k\n{KEYLESS}        extensions: {{sourceRepoURI: https://github.com/acme/api}}\n"),
    "spec.authorities[0].keyless.extensions.sourceRepoURI",
    "unknown field `sourceRepoURI`, expected one of `buildSignerURI`, `buildSignerDigest`, `runnerEnvironment`, `sourceRepositoryURI`"
)]
#[case::issuer_is_not_an_extension(
    &format!("    - name: k\n{KEYLESS}        extensions: {{issuer: https://token.actions.githubusercontent.com}}\n"),
    "spec.authorities[0].keyless.extensions.issuer",
    "unknown field `issuer` (the issuer is matched in identities)"
)]
#[case::extension_value_number(
    &format!("    - name: k\n{KEYLESS}        extensions: {{sourceRepositoryIdentifier: 623412345}}\n"),
    "spec.authorities[0].keyless.extensions.sourceRepositoryIdentifier",
    "invalid type: integer `623412345`, expected a string (exact match; quote numbers) or {regExp: \"…\"}"
)]
#[case::extension_value_unknown_key(
    &format!("    - name: k\n{KEYLESS}        extensions: {{sourceRepositoryRef: {{regexp: v.*}}}}\n"),
    "spec.authorities[0].keyless.extensions.sourceRepositoryRef.regexp",
    "unknown field `regexp`, expected `regExp`"
)]
#[case::extension_bad_regexp(
    &format!("    - name: k\n{KEYLESS}        extensions: {{sourceRepositoryRef: {{regExp: \"refs/(tags\"}}}}\n"),
    "spec.authorities[0].keyless.extensions.sourceRepositoryRef.regExp",
    "invalid regular expression"
)]
#[case::key_file_and_pem(
    "    - name: k\n      key: {file: keys/release.pub, pem: x}\n",
    "spec.authorities[0].key",
    "exactly one of file or pem, not both"
)]
#[case::key_unknown_field(
    "    - name: k\n      key: {kms: awskms:///alias/release}\n",
    "spec.authorities[0].key.kms",
    "unknown field `kms`"
)]
#[case::key_file_missing(
    "    - name: k\n      key: {file: keys/missing.pub}\n",
    "spec.authorities[0].key.file",
    "keys/missing.pub: No such file or directory"
)]
#[case::key_file_is_a_directory(
    "    - name: k\n      key: {file: keys}\n",
    "spec.authorities[0].key.file",
    "cannot read"
)]
#[case::key_file_not_pem(
    "    - name: k\n      key: {file: keys/not-a-key.pub}\n",
    "spec.authorities[0].key.file",
    "keys/not-a-key.pub: "
)]
#[case::key_pem_not_pem("    - name: k\n      key: {pem: not a key}\n", "spec.authorities[0].key.pem", "")]
#[case::key_file_empty_name(
    "    - name: k\n      key: {file: \"\"}\n",
    "spec.authorities[0].key.file",
    "must name a file"
)]
#[case::unknown_sct_value(
    &format!("    - name: k\n{KEYLESS}        sct: always\n"),
    "spec.authorities[0].keyless.sct",
    "unknown variant `always`, expected `required` or `ignore`"
)]
#[case::sct_not_a_string(
    &format!("    - name: k\n{KEYLESS}        sct: true\n"),
    "spec.authorities[0].keyless.sct",
    "invalid type: boolean `true`, expected string or map"
)]
#[case::sct_outside_keyless(
    &format!("    - name: k\n      sct: required\n{KEYLESS}"),
    "spec.authorities[0].sct",
    "unknown field `sct`"
)]
#[case::sct_on_a_key(
    "    - name: k\n      key: {file: keys/release.pub, sct: required}\n",
    "spec.authorities[0].key.sct",
    "unknown field `sct`"
)]
fn authority_errors(#[case] authorities: &str, #[case] field: &str, #[case] message: &str) {
    let error = invalid(Dir::new().load(&with_authorities(authorities)));
    assert_eq!(error.field, field, "{error}");
    assert!(error.message.contains(message), "{error}");
}

#[rstest]
#[case::keyless_needs_a_trust_root(KEYLESS, "authority \"k\" is keyless")]
#[case::required_log_needs_a_trust_root(
    "      key: {file: keys/release.pub}\n",
    "authority \"k\" has transparencyLog: required (the default)"
)]
fn missing_trust_root(#[case] signer: &str, #[case] message: &str) {
    let spec = format!("  images: [\"ghcr.io/acme/**\"]\n  authorities:\n    - name: k\n{signer}");
    let error = invalid(Dir::new().load(&document(&spec)));
    assert_eq!(error.field, "spec.trustRoot", "{error}");
    assert!(error.message.starts_with("missing: "), "{error}");
    assert!(error.message.contains(message), "{error}");
    assert!(error.message.contains("trustRoot: {file: trusted_root.json}"), "{error}");
}

#[rstest]
#[case::unreadable("missing.json", "missing.json: No such file or directory")]
#[case::not_an_object("array.json", "array.json is not a valid trusted root: ")]
#[case::not_json("keys/release.pub", "release.pub is not a valid trusted root: ")]
fn bad_trust_root_file(#[case] file: &str, #[case] message: &str) {
    let spec = MINIMAL.replace("trusted_root.json", file);
    let error = invalid(Dir::new().load(&document(&spec)));
    assert_eq!(error.field, "spec.trustRoot.file", "{error}");
    assert!(error.message.contains(message), "{error}");
}

fn with_attestations(attestations: &str) -> String {
    document(&format!("{MINIMAL}  attestations:\n{attestations}"))
}

#[rstest]
#[case::missing_name(
    "    - predicateType: https://slsa.dev/provenance/v1\n",
    "spec.attestations[0]",
    "missing field `name`"
)]
#[case::missing_predicate_type("    - name: p\n", "spec.attestations[0]", "missing field `predicateType`")]
#[case::empty_predicate_type(
    "    - name: p\n      predicateType: \"\"\n",
    "spec.attestations[0].predicateType",
    "must not be empty"
)]
#[case::empty_name("    - name: \"\"\n      predicateType: x\n", "spec.attestations[0].name", "must not be empty")]
#[case::duplicate_name(
    "    - {name: p, predicateType: https://slsa.dev/provenance/v1}\n    - {name: p, predicateType: https://spdx.dev/Document}\n",
    "spec.attestations[1].name",
    "duplicate attestation name \"p\""
)]
#[case::unknown_field(
    "    - {name: p, predicateType: x, policy: {type: cue}}\n",
    "spec.attestations[0].policy",
    "unknown field `policy`"
)]
#[case::unknown_authority(
    "    - {name: p, predicateType: x, authorities: [release-key, ci]}\n",
    "spec.attestations[0].authorities[1]",
    "unknown authority \"ci\"; spec.authorities names: release-key"
)]
#[case::empty_authorities(
    "    - {name: p, predicateType: x, authorities: []}\n",
    "spec.attestations[0].authorities",
    "must not be empty"
)]
#[case::slsa_on_another_predicate(
    "    - name: sbom\n      predicateType: https://spdx.dev/Document\n      slsa: {builderID: x}\n",
    "spec.attestations[0].slsa",
    "only allowed when predicateType is https://slsa.dev/provenance/v0.2 or https://slsa.dev/provenance/v1, not https://spdx.dev/Document"
)]
#[case::slsa_unknown_field(
    "    - name: p\n      predicateType: https://slsa.dev/provenance/v1\n      slsa: {builderId: x}\n",
    "spec.attestations[0].slsa.builderId",
    "unknown field `builderId`, expected one of `builderID`"
)]
#[case::slsa_bad_regexp(
    "    - name: p\n      predicateType: https://slsa.dev/provenance/v0.2\n      slsa: {sourceRef: {regExp: \"refs/tags/v[\"}}\n",
    "spec.attestations[0].slsa.sourceRef.regExp",
    "invalid regular expression"
)]
#[case::slsa_value_list(
    "    - name: p\n      predicateType: https://slsa.dev/provenance/v0.2\n      slsa: {builderID: [a, b]}\n",
    "spec.attestations[0].slsa.builderID",
    "invalid type: sequence, expected a string (exact match; quote numbers) or {regExp"
)]
#[case::condition_bad_path(
    "    - name: p\n      predicateType: x\n      conditions: [{path: \"predicate..x\", exists: true}]\n",
    "spec.attestations[0].conditions[0].path",
    "empty segment at offset 10"
)]
#[case::condition_path_outside_the_statement(
    "    - name: p\n      predicateType: x\n      conditions: [{path: scanner.result, exists: true}]\n",
    "spec.attestations[0].conditions[0].path",
    "does not start at the statement root: expected it to begin with one of _type, subject, predicateType, predicate"
)]
#[case::condition_two_tests(
    "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a, exists: true, equals: 1}]\n",
    "spec.attestations[0].conditions[0]",
    "set only one of equals, regExp and exists"
)]
#[case::condition_no_test(
    "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a}]\n",
    "spec.attestations[0].conditions[0]",
    "set one of equals, regExp or exists"
)]
#[case::condition_equals_a_mapping(
    "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a, equals: {b: 1}}]\n",
    "spec.attestations[0].conditions[0].equals",
    "must be a string, number, boolean or null, found a mapping"
)]
#[case::condition_bad_regexp(
    "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a, regExp: \"(\"}]\n",
    "spec.attestations[0].conditions[0].regExp",
    "invalid regular expression"
)]
#[case::condition_unknown_field(
    "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a, notEquals: 1}]\n",
    "spec.attestations[0].conditions[0].notEquals",
    "unknown field `notEquals`"
)]
fn attestation_errors(#[case] attestations: &str, #[case] field: &str, #[case] message: &str) {
    let error = invalid(Dir::new().load(&with_attestations(attestations)));
    assert_eq!(error.field, field, "{error}");
    assert!(error.message.contains(message), "{error}");
}

#[rstest]
#[case::unknown_extension(
    "          sourceRepoURI: https://github.com/acme/api\n",
    "sourceRepoURI",
    "extensions.sourceRepoURI"
)]
#[case::extension_value(
    "          buildTrigger: push\n          sourceRepositoryRef: {regexp: v.*}\n",
    "regexp",
    "extensions.sourceRepositoryRef.regexp"
)]
fn errors_point_at_the_line_of_the_field(#[case] extensions: &str, #[case] marker: &str, #[case] field: &str) {
    let yaml = with_authorities(&format!("    - name: k\n{KEYLESS}        extensions:\n{extensions}"));
    let error = invalid(Dir::new().load(&yaml));
    let line = yaml.lines().position(|l| l.contains(marker)).unwrap() + 1;
    assert_eq!(error.location.line, Some(u32::try_from(line).unwrap()), "{error}");
    assert!(error.to_string().contains(&format!("ImagePolicy acme: spec.authorities[0].keyless.{field}: ")), "{error}");
}

#[test]
fn equals_null_is_a_test() {
    let set = Dir::new()
        .load(&with_attestations(
            "    - name: p\n      predicateType: x\n      conditions: [{path: predicate.a, equals: null}]\n",
        ))
        .unwrap();
    assert!(matches!(set.images[0].attestations[0].conditions[0].test, ConditionTest::Equals(serde_json::Value::Null)));
}

#[test]
fn duplicate_image_policy_names_are_refused() {
    let yaml = format!("{}---\n{}", document(MINIMAL), document(MINIMAL));
    let error = invalid(Dir::new().load(&yaml));
    assert_eq!((error.kind.as_str(), error.field.as_str()), ("ImagePolicy", "metadata.name"));
    assert!(error.message.contains("duplicate policy name"), "{error}");
}

#[test]
fn an_image_policy_may_share_its_name_with_a_workload_policy() {
    let workload =
        "apiVersion: syncgate.dev/v1alpha1\nkind: WorkloadPolicy\nmetadata: {name: acme}\nspec:\n  rewrite: digest\n";
    let set = Dir::new().load(&format!("{workload}---\n{}", document(MINIMAL))).unwrap();
    assert_eq!((set.policies.len(), set.images.len()), (1, 1));
}

// ---- trustRoot: {tuf: …} ----

/// A self-signed TUF `root.json` (one Ed25519 key for every role), as its signed bytes.
fn tuf_root() -> Vec<u8> {
    use aws_lc_rs::signature::Ed25519KeyPair;
    use tough::editor::signed::SignedRole;
    use tough::key_source::{KeySource, LocalKeySource};
    use tough::schema::{KeyHolder, RoleKeys, RoleType, Root};
    use tough::sign::Sign as _;

    let dir = tempfile::tempdir().unwrap();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let key_path = dir.path().join("root.pk8");
    std::fs::write(&key_path, pkcs8.as_ref()).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap().tuf_key();
    let key_id = key.key_id().unwrap();
    let roles = [RoleType::Root, RoleType::Timestamp, RoleType::Snapshot, RoleType::Targets]
        .into_iter()
        .map(|role| {
            let keys = RoleKeys {
                keyids: vec![key_id.clone()],
                threshold: std::num::NonZeroU64::MIN,
                _extra: std::collections::HashMap::new(),
            };
            (role, keys)
        })
        .collect();
    let root = Root {
        spec_version: "1.0.0".to_owned(),
        consistent_snapshot: true,
        version: std::num::NonZeroU64::MIN,
        expires: jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 365),
        keys: std::collections::HashMap::from([(key_id, key)]),
        roles,
        _extra: std::collections::HashMap::new(),
    };
    let keys: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: key_path })];
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let signed = runtime
        .block_on(SignedRole::new(root.clone(), &KeyHolder::Root(root), &keys, &aws_lc_rs::rand::SystemRandom::new()))
        .unwrap();
    signed.buffer().clone()
}

/// A policy directory with `tuf-root.json` as well.
fn tuf_dir() -> Dir {
    let dir = Dir::new();
    std::fs::write(dir.path("tuf-root.json"), tuf_root()).unwrap();
    dir
}

const TUF: &str = "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json}\n";

fn with_tuf(tuf: &str) -> String {
    document(&format!("{}{tuf}", MINIMAL.replace("  trustRoot: {file: trusted_root.json}\n", "")))
}

fn tuf_of(set: &PolicySet) -> Arc<TufSource> {
    match &set.images[0].trust_root {
        Some(TrustRootSource::Tuf(source)) => Arc::clone(source),
        other => panic!("expected a TUF trust root, got {other:?}"),
    }
}

#[test]
fn tuf_trust_root_loads_with_its_defaults_and_fetches_nothing() {
    let dir = tuf_dir();
    let set = dir.load(&with_tuf(TUF)).unwrap();
    let source = tuf_of(&set);
    assert_eq!(source.url.as_str(), "https://tuf.acme.example/");
    assert_eq!(source.targets_url.as_str(), "https://tuf.acme.example/targets");
    assert_eq!(source.target, "trusted_root.json");
    assert_eq!(source.cache_dir, None);
    assert_eq!(source.root_path, dir.path("tuf-root.json"));
    assert_eq!(&*source.initial_root, std::fs::read(dir.path("tuf-root.json")).unwrap().as_slice());
    assert!(set.images[0].trust_root.as_ref().unwrap().loaded().is_none(), "nothing is fetched at load");
}

#[test]
fn tuf_trust_root_takes_every_setting() {
    let tuf = "  trustRoot:\n    tuf:\n      url: https://tuf.acme.example/metadata/\n      targetsUrl: https://cdn.acme.example/tuf-targets\n      root: tuf-root.json\n      cacheDir: /var/cache/syncgate/tuf\n      target: sigstore/trusted_root.json\n";
    let source = tuf_of(&tuf_dir().load(&with_tuf(tuf)).unwrap());
    assert_eq!(source.url.as_str(), "https://tuf.acme.example/metadata/");
    assert_eq!(source.targets_url.as_str(), "https://cdn.acme.example/tuf-targets");
    assert_eq!(source.cache_dir.as_deref(), Some(Path::new("/var/cache/syncgate/tuf")));
    assert_eq!(source.target, "sigstore/trusted_root.json");
}

#[test]
fn a_keyless_authority_accepts_a_tuf_trust_root() {
    let spec = format!("  images: [\"ghcr.io/acme/**\"]\n  authorities:\n    - name: k\n{KEYLESS}{TUF}");
    let set = tuf_dir().load(&document(&spec)).unwrap();
    tuf_of(&set);
}

#[rstest]
#[case::both(
    "  trustRoot:\n    file: trusted_root.json\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json}\n",
    "spec.trustRoot",
    "set exactly one of file or tuf, not both"
)]
#[case::neither("  trustRoot: {}\n", "spec.trustRoot", "set exactly one of file")]
#[case::unknown_field(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json, mirror: x}\n",
    "spec.trustRoot.tuf.mirror",
    "unknown field `mirror`"
)]
#[case::missing_url("  trustRoot:\n    tuf: {root: tuf-root.json}\n", "spec.trustRoot.tuf", "missing field `url`")]
#[case::missing_root(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\"}\n",
    "spec.trustRoot.tuf",
    "missing field `root`"
)]
#[case::empty_url(
    "  trustRoot:\n    tuf: {url: \"\", root: tuf-root.json}\n",
    "spec.trustRoot.tuf.url",
    "must not be empty"
)]
#[case::not_a_url(
    "  trustRoot:\n    tuf: {url: tuf.acme.example, root: tuf-root.json}\n",
    "spec.trustRoot.tuf.url",
    "\"tuf.acme.example\" is not a URL"
)]
#[case::other_scheme(
    "  trustRoot:\n    tuf: {url: \"file:///srv/tuf\", root: tuf-root.json}\n",
    "spec.trustRoot.tuf.url",
    "must be an http or https URL"
)]
#[case::query(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example/?v=1\", root: tuf-root.json}\n",
    "spec.trustRoot.tuf.url",
    "must not have a query or fragment"
)]
#[case::credentials(
    "  trustRoot:\n    tuf: {url: \"https://user:secret@tuf.acme.example\", root: tuf-root.json}\n",
    "spec.trustRoot.tuf.url",
    "must not carry credentials"
)]
#[case::bad_targets_url(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", targetsUrl: \"ftp://tuf.acme.example\", root: tuf-root.json}\n",
    "spec.trustRoot.tuf.targetsUrl",
    "must be an http or https URL"
)]
#[case::missing_root_file(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: missing.json}\n",
    "spec.trustRoot.tuf.root",
    "missing.json: No such file or directory"
)]
#[case::sigstore_trusted_root_as_tuf_root(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: trusted_root.json}\n",
    "spec.trustRoot.tuf.root",
    "trusted_root.json: not a TUF root.json"
)]
#[case::relative_cache_dir(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json, cacheDir: cache/tuf}\n",
    "spec.trustRoot.tuf.cacheDir",
    "\"cache/tuf\" is relative"
)]
#[case::empty_target(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json, target: \"\"}\n",
    "spec.trustRoot.tuf.target",
    "must not be empty"
)]
#[case::unsafe_target(
    "  trustRoot:\n    tuf: {url: \"https://tuf.acme.example\", root: tuf-root.json, target: ../trusted_root.json}\n",
    "spec.trustRoot.tuf.target",
    "\"../trusted_root.json\" is not a plain TUF target name"
)]
fn tuf_trust_root_errors(#[case] tuf: &str, #[case] field: &str, #[case] message: &str) {
    let error = invalid(tuf_dir().load(&with_tuf(tuf)));
    assert_eq!(error.field, field, "{error}");
    assert!(error.message.contains(message), "{error}");
}

#[test]
fn a_tuf_root_not_signed_by_its_own_keys_is_refused_at_load() {
    let dir = tuf_dir();
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("tuf-root.json")).unwrap()).unwrap();
    root["signed"]["version"] = json!(2);
    dir.write("tuf-root.json", &root.to_string());
    let error = invalid(dir.load(&with_tuf(TUF)));
    assert_eq!(error.field, "spec.trustRoot.tuf.root", "{error}");
    assert!(error.message.contains("not signed by a threshold of its own root keys"), "{error}");
}

#[test]
fn missing_trust_root_suggests_both_sources() {
    let spec = format!("  images: [\"ghcr.io/acme/**\"]\n  authorities:\n    - name: k\n{KEYLESS}");
    let error = invalid(Dir::new().load(&document(&spec)));
    assert!(error.message.contains("trustRoot: {tuf: {url: …, root: root.json}}"), "{error}");
}

#[test]
fn hash_changes_with_the_tuf_settings_and_the_initial_root() {
    let dir = tuf_dir();
    let original = dir.load(&with_tuf(TUF)).unwrap().images[0].hash.clone();
    assert_eq!(dir.load(&with_tuf(TUF)).unwrap().images[0].hash, original, "stable");

    let other_url = TUF.replace("tuf.acme.example", "tuf.other.example");
    assert_ne!(dir.load(&with_tuf(&other_url)).unwrap().images[0].hash, original, "other URL");
    let target = TUF.replace("root: tuf-root.json", "root: tuf-root.json, target: other.json");
    assert_ne!(dir.load(&with_tuf(&target)).unwrap().images[0].hash, original, "other target");

    std::fs::write(dir.path("tuf-root.json"), tuf_root()).unwrap();
    assert_ne!(dir.load(&with_tuf(TUF)).unwrap().images[0].hash, original, "other initial root bytes");
}

#[test]
fn a_tuf_root_inside_a_policy_directory_is_not_read_as_a_policy() {
    let dir = tuf_dir();
    dir.write("policy.yaml", &with_tuf(TUF));
    std::fs::remove_file(dir.path("array.json")).unwrap();
    let set = load(&[dir.dir.path().to_path_buf()], &Limits::default()).unwrap();
    assert_eq!(set.images.len(), 1);
    tuf_of(&set);
}

// ---- hash ----

#[test]
fn hash_is_stable_across_loads_and_formatting() {
    let dir = Dir::new();
    let first = dir.load(&document(MINIMAL)).unwrap().images[0].hash.clone();
    let again = dir.load(&document(MINIMAL)).unwrap().images[0].hash.clone();
    assert_eq!(first, again);
    let reformatted = "apiVersion: syncgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata:\n  name: renamed\nspec:\n  trustRoot:\n    file: trusted_root.json\n  authorities: [{key: {file: keys/release.pub}, name: release-key}]\n  images:\n    - ghcr.io/acme/**\n";
    assert_eq!(dir.load(reformatted).unwrap().images[0].hash, first, "key order, layout and name do not count");
}

#[test]
fn hash_changes_with_the_key_file_the_trust_root_and_the_spec() {
    let dir = Dir::new();
    let original = dir.load(&document(MINIMAL)).unwrap().images[0].hash.clone();

    std::fs::copy(dir.path("keys/other.pub"), dir.path("keys/release.pub")).unwrap();
    let rotated = dir.load(&document(MINIMAL)).unwrap().images[0].hash.clone();
    assert_ne!(rotated, original, "same spec, other key bytes");

    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("trusted_root.json")).unwrap()).unwrap();
    root["tlogs"][0]["baseUrl"] = json!("https://rekor.acme.example");
    dir.write("trusted_root.json", &root.to_string());
    let new_root = dir.load(&document(MINIMAL)).unwrap().images[0].hash.clone();
    assert_ne!(new_root, rotated, "same spec, other trust root bytes");

    let report = dir.load(&document(&format!("{MINIMAL}  mode: report\n"))).unwrap().images[0].hash.clone();
    assert_ne!(report, new_root, "spec change");
}

// ---- matching images and the set ----

fn set_of(specs: &[(&str, &str)]) -> PolicySet {
    let dir = Dir::new();
    let yaml = specs
        .iter()
        .map(|(name, extra)| {
            let minimal = if extra.contains("  images:") {
                MINIMAL.replace("  images: [\"ghcr.io/acme/**\"]\n", "")
            } else {
                MINIMAL.to_owned()
            };
            document(&format!("{minimal}{extra}")).replace("name: acme}", &format!("name: {name}}}"))
        })
        .collect::<Vec<_>>()
        .join("---\n");
    dir.load(&yaml).unwrap()
}

#[rstest]
#[case::normalised_name("ghcr.io/acme/api:v1.4.0", true)]
#[case::nested_repository(
    "ghcr.io/acme/team/api@sha256:9f2c1d4b7e0a6c3f8d5b2e1a4c7f0d3b6e9a2c5f8b1d4e7a0c3f6b9d2e5a8c1f",
    true
)]
#[case::other_owner("ghcr.io/evil/api:v1", false)]
#[case::lookalike_registry("ghcr.io.evil.example/acme/api:v1", false)]
fn images_match_the_normalised_name(#[case] written: &str, #[case] matched: bool) {
    let set = set_of(&[("acme", "")]);
    assert_eq!(set.image_policies_for(written, &image(written)).len(), usize::from(matched));
}

#[test]
fn docker_hub_names_match_as_written_and_normalised() {
    let set = set_of(&[("hub", "  images: [\"docker.io/library/nginx\", \"redis*\"]\n")]);
    assert_eq!(set.image_policies_for("nginx:1.27", &image("nginx:1.27")).len(), 1, "normalised, tag ignored");
    assert_eq!(set.image_policies_for("redis:7", &image("redis:7")).len(), 1, "as written");
    assert!(set.image_policies_for("docker.io/library/nginx-unprivileged", &image("nginx-unprivileged")).is_empty());
}

#[test]
fn every_matching_policy_is_returned_in_load_order() {
    let set = set_of(&[
        ("first", ""),
        ("second", "  images: [\"ghcr.io/acme/api\"]\n"),
        ("third", "  images: [\"quay.io/**\"]\n"),
    ]);
    let names: Vec<&str> =
        set.image_policies_for("ghcr.io/acme/api:v1", &image("ghcr.io/acme/api:v1")).iter().map(|p| &*p.name).collect();
    assert_eq!(names, ["first", "second"]);
}

#[rstest]
#[case::none(&[], None)]
#[case::default_is_deny(&[""], Some(NoMatch::Deny))]
#[case::allow(&["  noMatch: allow\n"], Some(NoMatch::Allow))]
#[case::strictest_wins(&["  noMatch: allow\n", "  noMatch: warn\n"], Some(NoMatch::Warn))]
#[case::deny_beats_everything(&["  noMatch: allow\n", "  noMatch: deny\n", "  noMatch: warn\n"], Some(NoMatch::Deny))]
fn no_match_is_the_strictest_of_the_set(#[case] extras: &[&str], #[case] expected: Option<NoMatch>) {
    let names = ["a", "b", "c"];
    let specs: Vec<(&str, &str)> = names.iter().copied().zip(extras.iter().copied()).collect();
    let set = if specs.is_empty() { PolicySet::default() } else { set_of(&specs) };
    assert_eq!(set.no_match(), expected);
}

#[test]
fn image_rewrite_comes_from_the_first_matching_policy_that_sets_it() {
    let set = set_of(&[
        ("other", "  images: [\"quay.io/**\"]\n  rewrite: none\n"),
        ("silent", ""),
        ("digest", "  rewrite: digest\n"),
        ("later", "  rewrite: tag-and-digest\n"),
    ]);
    assert_eq!(set.image_rewrite("ghcr.io/acme/api:v1", &image("ghcr.io/acme/api:v1")), Some(Rewrite::Digest));
    assert_eq!(set.image_rewrite("docker.io/library/nginx", &image("nginx")), None);
}

// ---- exceptions and directories ----

#[rstest]
#[case::signature(IMAGE_SIGNATURE)]
#[case::attestation(IMAGE_ATTESTATION)]
#[case::policy_match(IMAGE_POLICY_MATCH)]
fn exceptions_accept_the_image_rule_ids(#[case] rule: &str) {
    let yaml = format!(
        "apiVersion: syncgate.dev/v1alpha1\nkind: PolicyException\nmetadata: {{name: legacy}}\nspec:\n  rules: [{rule}]\n  match: {{images: [\"ghcr.io/acme/legacy*\"]}}\n  expires: \"2027-03-01T00:00:00Z\"\n  reason: signed before the release workflow existed\n"
    );
    let set = Dir::new().load(&yaml).unwrap();
    assert_eq!(set.exceptions[0].rules, [rule]);
}

#[test]
fn a_trust_root_inside_a_policy_directory_is_not_read_as_a_policy() {
    let dir = Dir::new();
    dir.write("policy.yaml", &document(MINIMAL));
    std::fs::remove_file(dir.path("array.json")).unwrap();
    let set = load(&[dir.dir.path().to_path_buf()], &Limits::default()).unwrap();
    assert_eq!(set.images.len(), 1);
}

#[test]
fn the_catalog_describes_the_image_rules() {
    let catalog = crate::policy::catalog();
    for rule in [IMAGE_SIGNATURE, IMAGE_ATTESTATION, IMAGE_POLICY_MATCH] {
        assert!(catalog.iter().any(|r| r.id == rule), "{rule}");
    }
}
