//! Decides whether the material found for one pinned image satisfies one `ImagePolicy`: every
//! signature and attestation is verified cryptographically, against the pinned digest, against the
//! transparency log and the trust root, and then against the authority's identity, extension and
//! provenance demands. Pure: no I/O, the clock is an argument.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use super::bundle::{Bundle, BundleContent, BundleSigner, BundleVersion};
use super::certificate::Certificate;
use super::discover::{Layer, Material, Origin, Referred};
use super::dsse::{Envelope, Statement};
use super::evidence::{Attestation, Evidence, Refusal, Signature, Signer};
use super::explain;
use super::key::PublicKey;
use super::require::{self, Mismatch, SctRequirement};
use super::sct;
use super::tlog::{self, LogEntry, LogProof, Logged, SignerMaterial};
use super::trust::TrustRoot;
use crate::image::Digest;
use crate::policy::image::{
    AttestationRequirement, Authority, ImagePolicy, Require, Signer as AuthorityKind, TransparencyLog,
};

/// Rule id of signature demands.
pub const IMAGE_SIGNATURE: &str = "image-signature";
/// Rule id of attestation demands.
pub const IMAGE_ATTESTATION: &str = "image-attestation";
/// Rule id of images that no `ImagePolicy` matches.
pub const IMAGE_POLICY_MATCH: &str = "image-policy-match";

/// The in-toto predicate type cosign v3 uses for plain image signatures.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The `critical.type` of a cosign simple-signing payload.
const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// The result of checking one image against one policy.
pub type Outcome = Result<Evidence, Vec<Refusal>>;

/// What a piece of material signs, once parsed.
enum Content {
    /// A simple-signing payload and its signature.
    Simple { payload: Vec<u8>, signature: Vec<u8> },
    /// A DSSE envelope (its JSON kept for the log entry check).
    Dsse { envelope: Envelope, json: Vec<u8> },
    /// A bundle's message signature (signs a blob, not an image).
    Message,
}

/// One signature or attestation, parsed but not yet trusted.
struct Candidate {
    /// Where it was found, for messages and evidence.
    source: String,
    /// What it signs.
    content: Content,
    /// The signing certificate, for keyless material.
    certificate: Option<Certificate>,
    /// Certificates shipped above it.
    chain: Vec<Certificate>,
    /// Transparency log entries.
    entries: Vec<LogEntry>,
    /// Whether an inclusion proof is required (bundles v0.2 and later).
    require_proof: bool,
}

/// What one candidate proved for one authority.
struct Verified {
    signer: Signer,
    log: Option<Logged>,
    statement: Option<Statement>,
}

/// Checks `material` found for `digest` of `image` against `policy`, with `trust` the trust root the
/// policy names (its file, or what its TUF repository served; empty when it needs none).
pub fn evaluate(policy: &ImagePolicy, trust: &TrustRoot, image: &str, digest: &Digest, material: &Material) -> Outcome {
    let mut skipped = material.skipped.clone();
    let mut signatures = Vec::new();
    let mut attestations = Vec::new();
    for layer in &material.signatures {
        push(&mut signatures, &mut skipped, &layer.origin, signature_layer(layer));
    }
    for layer in &material.attestations {
        push(&mut attestations, &mut skipped, &layer.origin, attestation_layer(layer));
    }
    for referred in &material.bundles {
        let candidate = bundle(referred);
        let is_signature = match &candidate {
            Ok(Candidate { content: Content::Dsse { envelope, .. }, .. }) => {
                Statement::from_envelope(envelope).is_ok_and(|s| s.predicate_type == COSIGN_SIGN_PREDICATE)
            }
            Ok(Candidate { content: Content::Simple { .. } | Content::Message, .. }) | Err(_) => {
                referred.predicate_type.as_deref().is_none_or(|p| p == COSIGN_SIGN_PREDICATE)
            }
        };
        let target = if is_signature { &mut signatures } else { &mut attestations };
        push(target, &mut skipped, &referred.origin, candidate);
    }

    let mut refusals = Vec::new();
    let signed = match signatures_for(policy, trust, digest, &signatures, &skipped) {
        Ok(signed) => signed,
        Err(message) => {
            refusals.push(Refusal {
                rule: IMAGE_SIGNATURE,
                message: format!("{image}@{digest}: {message}"),
                undecided: false,
            });
            Vec::new()
        }
    };
    let mut attested = Vec::new();
    for requirement in &policy.attestations {
        match attestation_for(policy, requirement, trust, digest, &attestations, &skipped) {
            Ok(attestation) => attested.push(attestation),
            Err(message) => refusals.push(Refusal {
                rule: IMAGE_ATTESTATION,
                message: format!("{image}@{digest}: {message}"),
                undecided: false,
            }),
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(Evidence {
        image: image.to_owned(),
        digest: digest.to_string(),
        policy: policy.name.to_string(),
        policy_hash: policy.hash.clone(),
        signatures: signed,
        attestations: attested,
    })
}

/// Files a parsed candidate, or notes why it could not be parsed.
fn push(into: &mut Vec<Candidate>, skipped: &mut Vec<String>, origin: &Origin, parsed: Result<Candidate, String>) {
    match parsed {
        Ok(candidate) => into.push(candidate),
        Err(reason) => skipped.push(format!("{origin}: {reason}")),
    }
}

/// The signatures satisfying enough authorities, or why there are not enough.
fn signatures_for(
    policy: &ImagePolicy,
    trust: &TrustRoot,
    digest: &Digest,
    candidates: &[Candidate],
    skipped: &[String],
) -> Result<Vec<Signature>, String> {
    let needed = policy.require.threshold(policy.authorities.len());
    let mut signed = Vec::new();
    let mut failures = Vec::new();
    for authority in &policy.authorities {
        match first_verified(authority, trust, digest, candidates, Some(COSIGN_SIGN_PREDICATE)) {
            Ok((candidate, verified)) => signed.push(Signature {
                authority: authority.name.clone(),
                signer: verified.signer,
                source: candidate.source.clone(),
                log: verified.log,
            }),
            Err(reasons) => {
                failures.push(format!("authority {:?} ({}): {}", authority.name, describe(authority), reasons));
            }
        }
    }
    if signed.len() >= needed {
        signed.truncate(needed.max(signed.len()));
        return Ok(signed);
    }
    let demand = match policy.require {
        Require::Any => "a signature from one of its authorities".to_owned(),
        Require::All => format!("signatures from all {} authorities", policy.authorities.len()),
        Require::AtLeast(count) => format!("signatures from {count} of its {} authorities", policy.authorities.len()),
    };
    if candidates.is_empty() {
        let accepted: Vec<String> =
            policy.authorities.iter().map(|a| format!("{} ({})", a.name, describe(a))).collect();
        let usable = if skipped.is_empty() { "" } else { "usable " };
        let mut message = format!(
            "ImagePolicy {} requires {demand} [{}], but no {usable}signature was found (looked for tag {} and for \
             Sigstore bundles among the image's referrers)",
            policy.name,
            accepted.join("; "),
            super::discover::tag_for(digest, "sig")
        );
        note_skipped(&mut message, skipped);
        return Err(message);
    }
    let mut message =
        format!("ImagePolicy {} requires {demand}; {} satisfied: {}", policy.name, signed.len(), failures.join("; "));
    note_skipped(&mut message, skipped);
    Err(message)
}

/// The attestation satisfying `requirement`, or why none does.
fn attestation_for(
    policy: &ImagePolicy,
    requirement: &AttestationRequirement,
    trust: &TrustRoot,
    digest: &Digest,
    candidates: &[Candidate],
    skipped: &[String],
) -> Result<Attestation, String> {
    let authorities: Vec<&Authority> = if requirement.authorities.is_empty() {
        policy.authorities.iter().collect()
    } else {
        policy.authorities.iter().filter(|a| requirement.authorities.contains(&a.name)).collect()
    };
    let wanted = requirement.predicate_type.as_str();
    let mut failures = Vec::new();
    // Every attestation of the type against every allowed authority: an image may carry several
    // provenance statements (rebuilds), and any one that satisfies everything is enough.
    for candidate in candidates.iter().filter(|c| predicate_type(c).as_deref() == Some(wanted)) {
        for authority in &authorities {
            let verified = match verify(authority, trust, digest, candidate) {
                Ok(verified) => verified,
                Err(reason) => {
                    failures.push(format!(
                        "{}: authority {:?} ({}): {reason}",
                        candidate.source,
                        authority.name,
                        describe(authority)
                    ));
                    continue;
                }
            };
            let Some(statement) = verified.statement.filter(|s| s.predicate_type == wanted) else { continue };
            let document = statement_json(&statement);
            let provenance = match &requirement.slsa {
                Some(slsa) => match require::match_provenance(slsa, &statement.predicate_type, &document) {
                    Ok(provenance) => Some(provenance),
                    Err(mismatches) => {
                        failures.push(format!("{}: {}", candidate.source, mismatch_text(&mismatches)));
                        continue;
                    }
                },
                None => None,
            };
            if let Err(mismatches) = require::match_conditions(&requirement.conditions, &document) {
                failures.push(format!("{}: {}", candidate.source, mismatch_text(&mismatches)));
                continue;
            }
            return Ok(Attestation {
                name: requirement.name.clone(),
                predicate_type: statement.predicate_type,
                authority: authority.name.clone(),
                signer: verified.signer,
                source: candidate.source.clone(),
                log: verified.log,
                provenance,
            });
        }
    }
    let mut message = if failures.is_empty() {
        format!(
            "ImagePolicy {} requires attestation {:?} of type {}, but none was found (looked for tag {} and for \
             Sigstore bundles among the image's referrers)",
            policy.name,
            requirement.name,
            requirement.predicate_type,
            super::discover::tag_for(digest, "att")
        )
    } else {
        format!(
            "ImagePolicy {} requires attestation {:?} of type {}; none satisfies it: {}",
            policy.name,
            requirement.name,
            requirement.predicate_type,
            failures.join("; ")
        )
    };
    note_skipped(&mut message, skipped);
    Err(message)
}

/// The first candidate that `authority` verifies (for attestations, of `predicate`), or every
/// candidate's reason.
fn first_verified<'c>(
    authority: &Authority,
    trust: &TrustRoot,
    digest: &Digest,
    candidates: &'c [Candidate],
    predicate: Option<&str>,
) -> Result<(&'c Candidate, Verified), String> {
    let mut reasons = Vec::new();
    for candidate in candidates {
        if let Some(wanted) = predicate
            && let Some(found) = predicate_type(candidate)
            && found != wanted
        {
            continue;
        }
        match verify(authority, trust, digest, candidate) {
            Ok(verified) => return Ok((candidate, verified)),
            Err(reason) => reasons.push(format!("{}: {reason}", candidate.source)),
        }
    }
    if reasons.is_empty() {
        reasons.push(match predicate {
            Some(wanted) if wanted != COSIGN_SIGN_PREDICATE => format!("no attestation of type {wanted}"),
            _ => "no signature".to_owned(),
        });
    }
    Err(reasons.join("; "))
}

/// Verifies one candidate for one authority, cheapest and most telling checks first: the signature,
/// what it signs, the transparency log entry (which also dates it), then the certificate, its
/// embedded SCT when the authority requires one, and the identity it names.
fn verify(
    authority: &Authority,
    trust: &TrustRoot,
    digest: &Digest,
    candidate: &Candidate,
) -> Result<Verified, String> {
    let (key, keyless) = match (&authority.signer, &candidate.certificate) {
        (AuthorityKind::Key(demand), Some(certificate)) if certificate.public_key() != &*demand.key => {
            let identity = certificate.identity();
            return Err(format!(
                "signed with the key {} of the certificate for {} (issuer {}), not with the authority's key {}",
                certificate.public_key().fingerprint(),
                identity.subject.as_deref().unwrap_or("(no subject)"),
                identity.issuer.as_deref().unwrap_or("(none)"),
                demand.key.fingerprint()
            ));
        }
        (AuthorityKind::Key(demand), _) => (&*demand.key, None),
        (AuthorityKind::Keyless(demand), Some(certificate)) => (certificate.public_key(), Some((demand, certificate))),
        (AuthorityKind::Keyless(_), None) => {
            return Err("signed with a bare key; the authority requires a keyless certificate".to_owned());
        }
    };
    let statement = match &candidate.content {
        Content::Simple { payload, signature } => {
            key.verify(payload, signature).map_err(|error| signature_error(authority, key, &explain(&error)))?;
            check_simple_payload(payload, digest)?;
            None
        }
        Content::Dsse { envelope, .. } => {
            envelope.verify(key).map_err(|error| signature_error(authority, key, &explain(&error)))?;
            let statement = Statement::from_envelope(envelope).map_err(|error| explain(&error))?;
            if digest.algorithm() != "sha256" {
                return Err(format!("in-toto subjects are checked by sha256; the image digest is {digest}"));
            }
            statement.check_subject(digest.hex()).map_err(|error| explain(&error))?;
            Some(statement)
        }
        Content::Message => {
            return Err("a message-signature bundle signs a file, not an image; expected a DSSE envelope".to_owned());
        }
    };
    let material = match keyless {
        Some((_, certificate)) => SignerMaterial::Certificate(certificate),
        None => SignerMaterial::Key(key),
    };
    let log = match candidate.entries.first() {
        Some(entry) => {
            let logged = tlog::verify_entry(entry, trust, candidate.require_proof).map_err(|e| explain(&e))?;
            match &candidate.content {
                Content::Simple { payload, signature } => {
                    let hash = Sha256::digest(payload);
                    tlog::check_hashedrekord(&entry.body, signature, material, &hash).map_err(|e| explain(&e))?;
                }
                Content::Dsse { envelope, json } => {
                    tlog::check_dsse(&entry.body, envelope, json, material).map_err(|e| explain(&e))?;
                }
                Content::Message => {}
            }
            Some(logged)
        }
        None if authority.transparency_log == TransparencyLog::Required => {
            return Err(
                "no transparency log entry, and the authority requires one (transparencyLog: required)".to_owned()
            );
        }
        None => None,
    };
    let signer = match keyless {
        None => Signer::Key { fingerprint: key.fingerprint() },
        Some((demand, certificate)) => {
            let Some(logged) = &log else {
                return Err("a keyless signature needs a transparency log entry to prove when it was made".to_owned());
            };
            if logged.proof == LogProof::InclusionProof {
                return Err(format!(
                    "log entry {} has no signed entry timestamp, so its integrated time is not signed by the log \
                     and cannot date the certificate",
                    logged.log_index
                ));
            }
            let path = trust
                .verify_certificate_path(certificate, &candidate.chain, logged.integrated_time)
                .map_err(|e| explain(&e))?;
            if demand.sct == SctRequirement::Required {
                sct::verify_embedded_scts(certificate, path.issuer, trust).map_err(|e| explain(&e))?;
            }
            require::match_identity(demand, certificate.identity()).map_err(|m| mismatch_text(&m))?;
            Signer::Keyless {
                identity: Box::new(certificate.identity().clone()),
                certificate_authority: path.authority.uri.clone(),
            }
        }
    };
    Ok(Verified { signer, log, statement })
}

/// `signature does not verify with key sha256:… (…)` or with the certificate.
fn signature_error(authority: &Authority, key: &PublicKey, detail: &str) -> String {
    match &authority.signer {
        AuthorityKind::Key(_) => {
            format!("signature does not verify with the authority's key {} ({detail})", key.fingerprint())
        }
        AuthorityKind::Keyless(_) => format!("signature does not verify with its certificate's key ({detail})"),
    }
}

/// The simple-signing payload must name exactly this image digest.
fn check_simple_payload(payload: &[u8], digest: &Digest) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("signed payload is not JSON: {e}"))?;
    let critical = value.get("critical");
    let kind = critical.and_then(|c| c.get("type")).and_then(serde_json::Value::as_str);
    if kind != Some(SIMPLE_SIGNING_TYPE) {
        return Err(format!(
            "signed payload has critical.type {}, expected {SIMPLE_SIGNING_TYPE:?}",
            kind.map_or_else(|| "nothing".to_owned(), |k| format!("{k:?}"))
        ));
    }
    let signed = critical
        .and_then(|c| c.get("image"))
        .and_then(|i| i.get("docker-manifest-digest"))
        .and_then(serde_json::Value::as_str);
    match signed {
        Some(signed) if signed == digest.as_str() => Ok(()),
        Some(signed) => Err(format!(
            "signed payload is for digest {signed}, not the pinned {digest} (a signature copied from another image)"
        )),
        None => Err("signed payload has no critical.image.docker-manifest-digest".to_owned()),
    }
}

/// The predicate type a candidate's statement announces (unverified), if it is a statement.
fn predicate_type(candidate: &Candidate) -> Option<String> {
    match &candidate.content {
        Content::Dsse { envelope, .. } => Statement::from_envelope(envelope).ok().map(|s| s.predicate_type),
        Content::Simple { .. } | Content::Message => None,
    }
}

/// The statement as JSON, for path conditions (`predicate.…`, `subject[0].…`).
fn statement_json(statement: &Statement) -> serde_json::Value {
    let subjects: Vec<serde_json::Value> =
        statement.subjects.iter().map(|s| serde_json::json!({"name": s.name, "digest": s.digest})).collect();
    serde_json::json!({
        "_type": statement.statement_type,
        "subject": subjects,
        "predicateType": statement.predicate_type,
        "predicate": statement.predicate,
    })
}

/// `a; b` from mismatches.
fn mismatch_text(mismatches: &[Mismatch]) -> String {
    mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// `key sha256:…` or `keyless, issuer …, subject …`: what an authority accepts, for messages.
fn describe(authority: &Authority) -> String {
    match &authority.signer {
        AuthorityKind::Key(demand) => format!("key {}", demand.key.fingerprint()),
        AuthorityKind::Keyless(demand) => {
            let mut text = "keyless".to_owned();
            if let Some(first) = demand.identities.first() {
                let _ = write!(text, ", issuer {}, subject {}", first.issuer, first.subject);
            }
            if demand.identities.len() > 1 {
                let _ = write!(text, ", or {} more identities", demand.identities.len() - 1);
            }
            text
        }
    }
}

/// Appends what was skipped, if anything.
fn note_skipped(message: &mut String, skipped: &[String]) {
    let distinct: BTreeSet<&String> = skipped.iter().collect();
    if !distinct.is_empty() {
        let _ = write!(message, " (ignored: {})", distinct.into_iter().cloned().collect::<Vec<_>>().join("; "));
    }
}

/// A legacy signature layer.
fn signature_layer(layer: &Layer) -> Result<Candidate, String> {
    let signature = layer.signature.as_deref().ok_or("no dev.cosignproject.cosign/signature annotation")?;
    let signature =
        STANDARD.decode(signature.trim()).map_err(|e| format!("signature annotation is not base64: {e}"))?;
    let (certificate, chain, entries) = annotations(layer)?;
    Ok(Candidate {
        source: layer.origin.to_string(),
        content: Content::Simple { payload: layer.blob.clone(), signature },
        certificate,
        chain,
        entries,
        require_proof: false,
    })
}

/// A legacy attestation layer.
fn attestation_layer(layer: &Layer) -> Result<Candidate, String> {
    let envelope = Envelope::from_json(&layer.blob).map_err(|e| explain(&e))?;
    let (certificate, chain, entries) = annotations(layer)?;
    Ok(Candidate {
        source: layer.origin.to_string(),
        content: Content::Dsse { envelope, json: layer.blob.clone() },
        certificate,
        chain,
        entries,
        require_proof: false,
    })
}

/// A legacy layer's certificate, chain and Rekor entries.
type Annotated = (Option<Certificate>, Vec<Certificate>, Vec<LogEntry>);

/// The certificate, chain and Rekor entry annotations of a legacy layer.
fn annotations(layer: &Layer) -> Result<Annotated, String> {
    let certificate = layer
        .certificate
        .as_deref()
        .map(|pem| Certificate::from_pem(pem).map_err(|e| format!("certificate annotation: {}", explain(&e))))
        .transpose()?;
    let chain = match layer.chain.as_deref() {
        Some(pem) => Certificate::chain_from_pem(pem).map_err(|e| format!("chain annotation: {}", explain(&e)))?,
        None => Vec::new(),
    };
    let entries = match layer.rekor_bundle.as_deref() {
        Some(json) => {
            vec![LogEntry::from_cosign_annotation(json).map_err(|e| format!("bundle annotation: {}", explain(&e)))?]
        }
        None => Vec::new(),
    };
    Ok((certificate, chain, entries))
}

/// A referrer's Sigstore bundle.
fn bundle(referred: &Referred) -> Result<Candidate, String> {
    let bundle = Bundle::from_json(&referred.bundle).map_err(|e| explain(&e))?;
    let (certificate, chain) = match bundle.signer {
        BundleSigner::Certificate { leaf, chain } => (Some(leaf), chain),
        BundleSigner::PublicKey { .. } => (None, Vec::new()),
    };
    let content = match bundle.content {
        BundleContent::Dsse { envelope, json } => Content::Dsse { envelope, json },
        BundleContent::MessageSignature { .. } => Content::Message,
    };
    Ok(Candidate {
        source: referred.origin.to_string(),
        content,
        certificate,
        chain,
        entries: bundle.tlog_entries,
        require_proof: !matches!(bundle.version, BundleVersion::V0_1),
    })
}
