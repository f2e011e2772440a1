//! A Fulcio-like certificate authority: a self-signed root and an intermediate (ECDSA P-384 or P-256) issuing
//! short-lived code-signing leaf certificates whose identity lives in the SAN and in Fulcio's OID extensions
//! (1.3.6.1.4.1.57264.1.*). Every knob is a public field so that negative tests can issue wrong certificates.

use jiff::{SignedDuration, Timestamp};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use sha2::{Digest as _, Sha256};

use crate::asn1;
use crate::ctlog::{CtLog, OID_SCT_LIST, sct_list_extension_value};
use crate::key::{Algorithm, KeyError, KeyPair, PublicKey};
use crate::pem;

/// OIDC issuer of GitHub Actions tokens.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Arc under which Fulcio's extensions live: 1.3.6.1.4.1.57264.1.
pub const FULCIO_OID_ARC: [u64; 8] = [1, 3, 6, 1, 4, 1, 57264, 1];
/// How long Fulcio leaf certificates are valid.
pub const LEAF_VALIDITY: SignedDuration = SignedDuration::from_mins(10);

/// Why a certificate could not be issued or a CA could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// A key problem (generation, loading, unsupported algorithm).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The X.509 encoder rejected the request.
    #[error("building the certificate failed: {0}")]
    Encode(String),
    /// A time is outside what X.509 can encode.
    #[error("time {0} cannot be written to a certificate")]
    Time(Timestamp),
    /// A stored CA certificate is not a certificate.
    #[error("stored CA certificate is malformed")]
    MalformedCertificate,
}

impl From<rcgen::Error> for CertificateError {
    fn from(error: rcgen::Error) -> Self {
        CertificateError::Encode(error.to_string())
    }
}

/// The subject identity, carried in the (critical) Subject Alternative Name extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAlternativeName {
    /// A URI, e.g. a GitHub workflow identity.
    Uri(String),
    /// An e-mail address.
    Email(String),
    /// Fulcio's username identity: an OtherName with OID 1.3.6.1.4.1.57264.1.7 and a UTF8String value.
    Username(String),
}

/// The Fulcio extensions of a leaf. `None` omits the extension. Fields `.1.1`–`.1.6` are written as raw
/// strings (deprecated Fulcio style); `.1.8`–`.1.24` as DER UTF8String.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FulcioClaims {
    /// 1.3.6.1.4.1.57264.1.1 Issuer (v1, raw).
    pub issuer_v1: Option<String>,
    /// 1.3.6.1.4.1.57264.1.2 GitHub Workflow Trigger (raw).
    pub github_workflow_trigger: Option<String>,
    /// 1.3.6.1.4.1.57264.1.3 GitHub Workflow SHA (raw).
    pub github_workflow_sha: Option<String>,
    /// 1.3.6.1.4.1.57264.1.4 GitHub Workflow Name (raw).
    pub github_workflow_name: Option<String>,
    /// 1.3.6.1.4.1.57264.1.5 GitHub Workflow Repository (raw).
    pub github_workflow_repository: Option<String>,
    /// 1.3.6.1.4.1.57264.1.6 GitHub Workflow Ref (raw).
    pub github_workflow_ref: Option<String>,
    /// 1.3.6.1.4.1.57264.1.8 Issuer (V2).
    pub issuer: Option<String>,
    /// 1.3.6.1.4.1.57264.1.9 Build Signer URI.
    pub build_signer_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.10 Build Signer Digest.
    pub build_signer_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.11 Runner Environment.
    pub runner_environment: Option<String>,
    /// 1.3.6.1.4.1.57264.1.12 Source Repository URI.
    pub source_repository_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.13 Source Repository Digest.
    pub source_repository_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.14 Source Repository Ref.
    pub source_repository_ref: Option<String>,
    /// 1.3.6.1.4.1.57264.1.15 Source Repository Identifier.
    pub source_repository_identifier: Option<String>,
    /// 1.3.6.1.4.1.57264.1.16 Source Repository Owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.17 Source Repository Owner Identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// 1.3.6.1.4.1.57264.1.18 Build Config URI.
    pub build_config_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.19 Build Config Digest.
    pub build_config_digest: Option<String>,
    /// 1.3.6.1.4.1.57264.1.20 Build Trigger.
    pub build_trigger: Option<String>,
    /// 1.3.6.1.4.1.57264.1.21 Run Invocation URI.
    pub run_invocation_uri: Option<String>,
    /// 1.3.6.1.4.1.57264.1.22 Source Repository Visibility At Signing.
    pub source_repository_visibility: Option<String>,
    /// 1.3.6.1.4.1.57264.1.23 Deployment Environment.
    pub deployment_environment: Option<String>,
    /// 1.3.6.1.4.1.57264.1.24 Token Subject.
    pub token_subject: Option<String>,
}

impl FulcioClaims {
    /// Claims holding only the issuer, written both as `.1.1` (raw) and `.1.8` (UTF8String) as Fulcio does.
    #[must_use]
    pub fn issued_by(issuer: &str) -> Self {
        FulcioClaims { issuer_v1: Some(issuer.to_owned()), issuer: Some(issuer.to_owned()), ..Self::default() }
    }

    /// `(last OID arc, value, DER-wrapped?)` for every present claim, in OID order.
    fn entries(&self) -> Vec<(u64, &str, bool)> {
        let raw = [
            (1, &self.issuer_v1),
            (2, &self.github_workflow_trigger),
            (3, &self.github_workflow_sha),
            (4, &self.github_workflow_name),
            (5, &self.github_workflow_repository),
            (6, &self.github_workflow_ref),
        ];
        let wrapped = [
            (8, &self.issuer),
            (9, &self.build_signer_uri),
            (10, &self.build_signer_digest),
            (11, &self.runner_environment),
            (12, &self.source_repository_uri),
            (13, &self.source_repository_digest),
            (14, &self.source_repository_ref),
            (15, &self.source_repository_identifier),
            (16, &self.source_repository_owner_uri),
            (17, &self.source_repository_owner_identifier),
            (18, &self.build_config_uri),
            (19, &self.build_config_digest),
            (20, &self.build_trigger),
            (21, &self.run_invocation_uri),
            (22, &self.source_repository_visibility),
            (23, &self.deployment_environment),
            (24, &self.token_subject),
        ];
        let raw = raw.into_iter().filter_map(|(arc, v)| v.as_deref().map(|v| (arc, v, false)));
        let wrapped = wrapped.into_iter().filter_map(|(arc, v)| v.as_deref().map(|v| (arc, v, true)));
        raw.chain(wrapped).collect()
    }

    /// The claims as certificate extensions (non-critical).
    #[must_use]
    pub fn extensions(&self) -> Vec<RawExtension> {
        self.entries()
            .into_iter()
            .map(|(arc, value, wrapped)| {
                let mut oid = FULCIO_OID_ARC.to_vec();
                oid.push(arc);
                let value =
                    if wrapped { asn1::encode(asn1::UTF8_STRING, value.as_bytes()) } else { value.as_bytes().to_vec() };
                RawExtension { oid, critical: false, value }
            })
            .collect()
    }
}

/// An arbitrary extension, for claims this crate does not model or for deliberately malformed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExtension {
    /// The extension OID, one arc per element.
    pub oid: Vec<u64>,
    /// Whether the extension is marked critical.
    pub critical: bool,
    /// The extnValue octets (what goes inside the OCTET STRING).
    pub value: Vec<u8>,
}

/// What a leaf certificate should say. Build with [`LeafRequest::new`] or [`LeafRequest::github_actions`],
/// then edit fields freely.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    /// The signer's public key (the certificate's SubjectPublicKeyInfo).
    pub public_key: PublicKey,
    /// The identity in the SAN extension; `None` omits the SAN.
    pub subject: Option<SubjectAlternativeName>,
    /// Fulcio extensions.
    pub claims: FulcioClaims,
    /// Further extensions, written after the Fulcio ones.
    pub extra_extensions: Vec<RawExtension>,
    /// Start of validity; `None` means now (whole seconds).
    pub not_before: Option<Timestamp>,
    /// End of validity; `None` means `not_before` + 10 minutes.
    pub not_after: Option<Timestamp>,
    /// Write the code-signing extended key usage (1.3.6.1.5.5.7.3.3).
    pub code_signing: bool,
    /// Write the (critical) key usage extension with digitalSignature.
    pub digital_signature: bool,
}

impl LeafRequest {
    /// A request for `subject` vouched for by OIDC issuer `issuer`, with the code-signing EKU and the
    /// digitalSignature key usage.
    #[must_use]
    pub fn new(public_key: PublicKey, subject: SubjectAlternativeName, issuer: &str) -> Self {
        LeafRequest {
            public_key,
            subject: Some(subject),
            claims: FulcioClaims::issued_by(issuer),
            extra_extensions: Vec::new(),
            not_before: None,
            not_after: None,
            code_signing: true,
            digital_signature: true,
        }
    }

    /// A request with the identity Fulcio gives a GitHub Actions workflow run (see [`GithubWorkflow`]).
    #[must_use]
    pub fn github_actions(
        public_key: PublicKey,
        repository: &str,
        workflow_path: &str,
        git_ref: &str,
        sha: &str,
    ) -> Self {
        GithubWorkflow::new(repository, workflow_path, git_ref, sha).leaf_request(public_key)
    }

    /// Sets the validity to start at `not_before` and last Fulcio's 10 minutes.
    #[must_use]
    pub fn valid_from(mut self, not_before: Timestamp) -> Self {
        self.not_before = Some(not_before);
        self.not_after = not_before.checked_add(LEAF_VALIDITY).ok();
        self
    }
}

/// A GitHub Actions workflow run as the OIDC token describes it. Numeric IDs are derived from the names so
/// that they are stable across runs; every field can be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubWorkflow {
    /// `owner/name`.
    pub repository: String,
    /// Path of the workflow file in the repository, e.g. `.github/workflows/release.yml`.
    pub workflow_path: String,
    /// Git ref that triggered the run, e.g. `refs/heads/main` or `refs/tags/v1.0.0`.
    pub git_ref: String,
    /// Commit SHA (40 hex).
    pub sha: String,
    /// Triggering event, e.g. `push`.
    pub event_name: String,
    /// Numeric repository ID.
    pub repository_id: u64,
    /// Numeric owner ID.
    pub owner_id: u64,
    /// Workflow run ID.
    pub run_id: u64,
    /// Run attempt.
    pub run_attempt: u32,
    /// `public`, `private` or `internal`.
    pub visibility: String,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: String,
}

impl GithubWorkflow {
    /// A `push` run of `workflow_path` (a bare file name is placed under `.github/workflows/`).
    #[must_use]
    pub fn new(repository: &str, workflow_path: &str, git_ref: &str, sha: &str) -> Self {
        let workflow_path = if workflow_path.contains('/') {
            workflow_path.trim_start_matches('/').to_owned()
        } else {
            format!(".github/workflows/{workflow_path}")
        };
        let owner = repository.split('/').next().unwrap_or(repository);
        GithubWorkflow {
            repository: repository.to_owned(),
            workflow_path,
            git_ref: git_ref.to_owned(),
            sha: sha.to_owned(),
            event_name: "push".to_owned(),
            repository_id: stable_id(repository),
            owner_id: stable_id(owner),
            run_id: stable_id(&format!("{repository}@{sha}")) * 10,
            run_attempt: 1,
            visibility: "public".to_owned(),
            runner_environment: "github-hosted".to_owned(),
        }
    }

    /// The repository owner.
    #[must_use]
    pub fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or(&self.repository)
    }

    /// `https://github.com/<owner>/<repo>`.
    #[must_use]
    pub fn repository_uri(&self) -> String {
        format!("https://github.com/{}", self.repository)
    }

    /// The certificate identity: `https://github.com/<repo>/<workflow path>@<ref>`.
    #[must_use]
    pub fn identity(&self) -> String {
        format!("https://github.com/{}/{}@{}", self.repository, self.workflow_path, self.git_ref)
    }

    /// `https://github.com/<repo>/actions/runs/<id>/attempts/<n>`.
    #[must_use]
    pub fn run_invocation_uri(&self) -> String {
        format!("https://github.com/{}/actions/runs/{}/attempts/{}", self.repository, self.run_id, self.run_attempt)
    }

    /// The Fulcio claims GitHub's token produces, including the deprecated `.1.2`–`.1.6`.
    #[must_use]
    pub fn claims(&self) -> FulcioClaims {
        let workflow_name = self
            .workflow_path
            .rsplit('/')
            .next()
            .and_then(|file| file.split('.').next())
            .unwrap_or(&self.workflow_path)
            .to_owned();
        let identity = self.identity();
        FulcioClaims {
            issuer_v1: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
            github_workflow_trigger: Some(self.event_name.clone()),
            github_workflow_sha: Some(self.sha.clone()),
            github_workflow_name: Some(workflow_name),
            github_workflow_repository: Some(self.repository.clone()),
            github_workflow_ref: Some(self.git_ref.clone()),
            issuer: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
            build_signer_uri: Some(identity.clone()),
            build_signer_digest: Some(self.sha.clone()),
            runner_environment: Some(self.runner_environment.clone()),
            source_repository_uri: Some(self.repository_uri()),
            source_repository_digest: Some(self.sha.clone()),
            source_repository_ref: Some(self.git_ref.clone()),
            source_repository_identifier: Some(self.repository_id.to_string()),
            source_repository_owner_uri: Some(format!("https://github.com/{}", self.owner())),
            source_repository_owner_identifier: Some(self.owner_id.to_string()),
            build_config_uri: Some(identity),
            build_config_digest: Some(self.sha.clone()),
            build_trigger: Some(self.event_name.clone()),
            run_invocation_uri: Some(self.run_invocation_uri()),
            source_repository_visibility: Some(self.visibility.clone()),
            deployment_environment: None,
            token_subject: Some(format!("repo:{}:ref:{}", self.repository, self.git_ref)),
        }
    }

    /// A leaf request for `public_key` with this run's identity.
    #[must_use]
    pub fn leaf_request(&self, public_key: PublicKey) -> LeafRequest {
        LeafRequest {
            claims: self.claims(),
            ..LeafRequest::new(public_key, SubjectAlternativeName::Uri(self.identity()), GITHUB_ACTIONS_ISSUER)
        }
    }
}

fn stable_id(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    u64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 4) + 1_000_000
}

/// A leaf certificate and the chain that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The leaf, DER.
    pub der: Vec<u8>,
    /// The leaf, PEM.
    pub pem: String,
    /// Intermediate then root, DER.
    pub chain_der: Vec<Vec<u8>>,
    /// Intermediate then root, concatenated PEM (cosign's `dev.sigstore.cosign/chain` layout).
    pub chain_pem: String,
}

/// How to build a [`CertificateAuthority`].
#[derive(Debug, Clone)]
pub struct CaOptions {
    /// Key algorithm of root and intermediate (ECDSA P-384 like Fulcio, or P-256).
    pub algorithm: Algorithm,
    /// Organization (O) of both CA subjects.
    pub organization: String,
    /// Common name (CN) of the root.
    pub root_common_name: String,
    /// Common name (CN) of the intermediate.
    pub intermediate_common_name: String,
    /// Start of the CA certificates' validity (also the trusted root's `validFor.start`).
    pub not_before: Timestamp,
    /// End of the CA certificates' validity.
    pub not_after: Timestamp,
    /// URI written to the trusted root.
    pub uri: String,
}

impl Default for CaOptions {
    fn default() -> Self {
        let now = Timestamp::now();
        CaOptions {
            algorithm: Algorithm::EcdsaP384,
            organization: "syncgate.test".to_owned(),
            root_common_name: "syncgate-test-root".to_owned(),
            intermediate_common_name: "syncgate-test-intermediate".to_owned(),
            not_before: truncate(now.checked_sub(SignedDuration::from_hours(24)).unwrap_or(now)),
            not_after: truncate(now.checked_add(SignedDuration::from_hours(24 * 365 * 10)).unwrap_or(now)),
            uri: "https://fulcio.test".to_owned(),
        }
    }
}

/// A root and an intermediate CA that issue Fulcio-style leaf certificates.
#[derive(Debug)]
pub struct CertificateAuthority {
    options: CaOptions,
    root_key: KeyPair,
    root_der: Vec<u8>,
    intermediate_key: KeyPair,
    intermediate_der: Vec<u8>,
}

impl CertificateAuthority {
    /// A new CA with default options (P-384, valid from a day ago for ten years).
    pub fn new() -> Result<Self, CertificateError> {
        Self::with_options(CaOptions::default())
    }

    /// A new CA with fresh keys.
    pub fn with_options(options: CaOptions) -> Result<Self, CertificateError> {
        let root_key = KeyPair::generate(options.algorithm)?;
        let intermediate_key = KeyPair::generate(options.algorithm)?;
        let root_params = ca_params(&options, &options.root_common_name, 1)?;
        let root_signer = rcgen_key(&root_key)?;
        let root = root_params.self_signed(&root_signer)?;
        let issuer = Issuer::new(root_params, root_signer);
        let intermediate_params = ca_params(&options, &options.intermediate_common_name, 0)?;
        let intermediate = intermediate_params.signed_by(&SubjectKey::new(intermediate_key.public_key()), &issuer)?;
        Ok(CertificateAuthority {
            options,
            root_key,
            root_der: root.der().to_vec(),
            intermediate_key,
            intermediate_der: intermediate.der().to_vec(),
        })
    }

    /// Rebuilds a CA from stored keys and certificates (see [`crate::environment`]).
    pub fn from_parts(
        options: CaOptions,
        root_key: KeyPair,
        root_der: Vec<u8>,
        intermediate_key: KeyPair,
        intermediate_der: Vec<u8>,
    ) -> Result<Self, CertificateError> {
        if asn1::tbs_certificate(&root_der).is_none() || asn1::tbs_certificate(&intermediate_der).is_none() {
            return Err(CertificateError::MalformedCertificate);
        }
        Ok(CertificateAuthority { options, root_key, root_der, intermediate_key, intermediate_der })
    }

    /// The options the CA was built with.
    #[must_use]
    pub fn options(&self) -> &CaOptions {
        &self.options
    }

    /// The root's private key.
    #[must_use]
    pub fn root_key(&self) -> &KeyPair {
        &self.root_key
    }

    /// The intermediate's private key.
    #[must_use]
    pub fn intermediate_key(&self) -> &KeyPair {
        &self.intermediate_key
    }

    /// Root certificate, DER.
    #[must_use]
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// Intermediate certificate, DER.
    #[must_use]
    pub fn intermediate_der(&self) -> &[u8] {
        &self.intermediate_der
    }

    /// Root certificate, PEM.
    #[must_use]
    pub fn root_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.root_der)
    }

    /// Intermediate certificate, PEM.
    #[must_use]
    pub fn intermediate_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.intermediate_der)
    }

    /// Intermediate then root, DER (the order of a trusted root's `certChain`).
    #[must_use]
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate_der.clone(), self.root_der.clone()]
    }

    /// Intermediate then root, PEM.
    #[must_use]
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.intermediate_pem(), self.root_pem())
    }

    /// Issues a leaf certificate from the intermediate.
    pub fn issue(&self, request: &LeafRequest) -> Result<IssuedCertificate, CertificateError> {
        let (params, issuer, subject) = self.leaf_parts(&pinned(request))?;
        let certificate = params.signed_by(&subject, &issuer)?;
        Ok(self.issued(certificate.der().to_vec()))
    }

    /// Issues a leaf certificate carrying an embedded SCT from `ctlog`, as Fulcio does: the SCT signs the
    /// TBSCertificate as it reads without the SCT extension. The SCT timestamp is the leaf's `not_before`.
    pub fn issue_with_sct(&self, request: &LeafRequest, ctlog: &CtLog) -> Result<IssuedCertificate, CertificateError> {
        let request = pinned(request);
        let (mut params, issuer, subject) = self.leaf_parts(&request)?;
        let precertificate = params.signed_by(&subject, &issuer)?;
        let tbs = asn1::tbs_certificate(precertificate.der()).ok_or(CertificateError::MalformedCertificate)?;
        let issuer_key_hash = self.intermediate_key.public_key().sha256();
        let not_before = request.not_before.unwrap_or_else(|| truncate(Timestamp::now()));
        let timestamp_ms =
            u64::try_from(not_before.as_millisecond()).map_err(|_| CertificateError::Time(not_before))?;
        let sct = ctlog.sign_precertificate(tbs, &issuer_key_hash, timestamp_ms)?;
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(OID_SCT_LIST, sct_list_extension_value(&[sct])));
        let certificate = params.signed_by(&subject, &issuer)?;
        Ok(self.issued(certificate.der().to_vec()))
    }

    fn issued(&self, der: Vec<u8>) -> IssuedCertificate {
        IssuedCertificate {
            pem: pem::encode("CERTIFICATE", &der),
            der,
            chain_der: self.chain_der(),
            chain_pem: self.chain_pem(),
        }
    }

    fn leaf_parts(
        &self,
        request: &LeafRequest,
    ) -> Result<(CertificateParams, Issuer<'static, rcgen::KeyPair>, SubjectKey), CertificateError> {
        let intermediate_params = ca_params(&self.options, &self.options.intermediate_common_name, 0)?;
        let issuer = Issuer::new(intermediate_params, rcgen_key(&self.intermediate_key)?);
        let subject = SubjectKey::new(&request.public_key);

        let not_before = request.not_before.unwrap_or_else(|| truncate(Timestamp::now()));
        let not_after =
            request.not_after.unwrap_or_else(|| not_before.checked_add(LEAF_VALIDITY).unwrap_or(not_before));
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.not_before = offset_date_time(not_before)?;
        params.not_after = offset_date_time(not_after)?;
        params.serial_number = Some(random_serial()?);
        params.is_ca = IsCa::NoCa;
        params.use_authority_key_identifier_extension = true;
        if request.digital_signature {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        if request.code_signing {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        }
        if let Some(subject) = &request.subject {
            let san = match subject {
                SubjectAlternativeName::Uri(uri) => SanType::URI(uri.as_str().try_into()?),
                SubjectAlternativeName::Email(email) => SanType::Rfc822Name(email.as_str().try_into()?),
                SubjectAlternativeName::Username(name) => {
                    let mut oid = FULCIO_OID_ARC.to_vec();
                    oid.push(7);
                    SanType::OtherName((oid, name.clone().into()))
                }
            };
            params.subject_alt_names = vec![san];
        }
        // Subject key identifier: truncated SHA-256 of the key bits, like the CA certificates.
        let key_id = &Sha256::digest(request.public_key.key_bits())[..20];
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&[2, 5, 29, 14], asn1::encode(asn1::OCTET_STRING, key_id)));
        for extension in request.claims.extensions().iter().chain(&request.extra_extensions) {
            let mut custom = CustomExtension::from_oid_content(&extension.oid, extension.value.clone());
            custom.set_criticality(extension.critical);
            params.custom_extensions.push(custom);
        }
        Ok((params, issuer, subject))
    }
}

/// The request with `not_before` fixed to now (whole seconds) if unset, so every use agrees on it.
fn pinned(request: &LeafRequest) -> LeafRequest {
    let mut request = request.clone();
    request.not_before.get_or_insert_with(|| truncate(Timestamp::now()));
    request
}

fn ca_params(options: &CaOptions, common_name: &str, path_length: u8) -> Result<CertificateParams, CertificateError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, options.organization.as_str());
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.not_before = offset_date_time(options.not_before)?;
    params.not_after = offset_date_time(options.not_after)?;
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_length));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    if path_length == 0 {
        // Fulcio's intermediate is restricted to code signing.
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    }
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn rcgen_key(key: &KeyPair) -> Result<rcgen::KeyPair, CertificateError> {
    Ok(rcgen::KeyPair::try_from(key.pkcs8_der())?)
}

fn random_serial() -> Result<SerialNumber, CertificateError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CertificateError::Encode("no randomness for serial".to_owned()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x10;
    Ok(SerialNumber::from_slice(&bytes))
}

fn offset_date_time(at: Timestamp) -> Result<time::OffsetDateTime, CertificateError> {
    time::OffsetDateTime::from_unix_timestamp(at.as_second()).map_err(|_| CertificateError::Time(at))
}

/// Drops sub-second precision: certificates carry whole seconds.
pub(crate) fn truncate(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// The subject public key of a certificate being issued.
struct SubjectKey {
    bits: Vec<u8>,
    algorithm: &'static SignatureAlgorithm,
}

impl SubjectKey {
    fn new(key: &PublicKey) -> Self {
        let algorithm = match key.algorithm() {
            Algorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Algorithm::Ed25519 => &rcgen::PKCS_ED25519,
            Algorithm::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        };
        SubjectKey { bits: key.key_bits().to_vec(), algorithm }
    }
}

impl PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }
}
