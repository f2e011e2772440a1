//! The registry client against a real registry (Debian's `docker-registry`), directly and through a
//! fault-injecting proxy: tag and index resolution, pinned references, credentials, TLS, faults and
//! bounded retries, singleflight, per-registry limits and requests per image.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::future::join_all;
use rstest::rstest;
use syncgate::image::{Digest, ImageRef};
use syncgate::registry::{Registry, RegistryOptions, Resolve, ResolveError};

use crate::support::proxy::{BearerAuth, Fault, FaultProxy};
use crate::support::registry::TestRegistry;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const ZERO_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Options for tests: plain HTTP to `hosts`, short timeouts and backoffs, two retries.
fn options(hosts: &[&str]) -> RegistryOptions {
    RegistryOptions {
        request_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(10),
        retries: 2,
        retry_backoff: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(50),
        insecure: hosts.iter().map(|host| (*host).to_owned()).collect(),
        ..RegistryOptions::default()
    }
}

/// A client; without a configured docker config it reads none (not the caller's `~/.docker`).
fn client(mut options: RegistryOptions) -> Registry {
    let empty = tempfile::tempdir().expect("temp dir");
    if options.docker_config.is_none() {
        options.docker_config = Some(empty.path().to_path_buf());
    }
    Registry::new(options).expect("registry client")
}

fn image(reference: &str) -> ImageRef {
    reference.parse().expect("valid reference")
}

fn basic(username: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

#[tokio::test]
async fn tag_resolves_to_the_pushed_digest() {
    let registry = TestRegistry::start();
    let pushed = registry.push_image("test/app", "1.0");
    let host = registry.host();
    let client = client(options(&[&host]));

    let resolved = client.resolve(&image(&format!("{host}/test/app:1.0"))).await.expect("resolves");

    assert_eq!(resolved.digest, pushed);
    assert_eq!(resolved.media_type, OCI_MANIFEST);
    assert_eq!(client.manifest_requests(), 1);
}

#[tokio::test]
async fn reference_without_tag_resolves_latest() {
    let registry = TestRegistry::start();
    let pushed = registry.push_image("test/app", "latest");
    let host = registry.host();
    let client = client(options(&[&host]));

    let resolved = client.resolve(&image(&format!("{host}/test/app"))).await.expect("resolves");

    assert_eq!(resolved.digest, pushed);
}

#[tokio::test]
async fn index_pins_the_index_digest_not_a_platform() {
    let registry = TestRegistry::start();
    let pushed = registry.push_index("test/multi", "1.0");
    let host = registry.host();
    let client = client(options(&[&host]));

    let resolved = client.resolve(&image(&format!("{host}/test/multi:1.0"))).await.expect("resolves");

    assert_eq!(resolved.digest, pushed.index);
    assert_eq!(resolved.media_type, OCI_INDEX);
    assert_eq!(pushed.platforms.len(), 2);
    assert!(!pushed.platforms.contains(&resolved.digest));
    assert_eq!(client.manifest_requests(), 1, "the platforms are never fetched");
}

#[rstest]
#[case::digest_only(false)]
#[case::tag_and_digest_keeps_the_digest(true)]
#[tokio::test]
async fn pinned_reference_is_fetched_by_digest_and_verified(#[case] with_tag: bool) {
    let registry = TestRegistry::start();
    let first = registry.push_image("test/app", "1.0");
    let other = registry.push_image("test/app", "2.0");
    let host = registry.host();
    let client = client(options(&[&host]));
    // With a tag, the tag names another image: the digest decides, as in `docker pull`.
    let reference = if with_tag { format!("{host}/test/app:2.0@{first}") } else { format!("{host}/test/app@{first}") };

    let resolved = client.resolve(&image(&reference)).await.expect("verifies");

    assert_eq!(resolved.digest, first);
    assert_ne!(resolved.digest, other);
}

#[tokio::test]
async fn pinned_reference_served_other_content_is_a_digest_mismatch() {
    let registry = TestRegistry::start();
    let pinned = registry.push_image("test/app", "1.0");
    let served = registry.push_image("test/app", "2.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.fail_manifests(Fault::Serve(served.to_string()), None);
    let host = proxy.host();
    let client = client(options(&[&host]));
    let reference = format!("{host}/test/app@{pinned}");

    let error = client.resolve(&image(&reference)).await.expect_err("mismatch");

    assert_eq!(
        error,
        ResolveError::DigestMismatch {
            image: reference,
            registry: host,
            expected: pinned.to_string(),
            actual: served.to_string(),
        }
    );
    assert_eq!(proxy.manifest_requests(), 1, "a mismatch is not retried");
}

#[rstest]
#[case::missing_tag("test/app:1.4.3", r#"tag "1.4.3" not found"#)]
#[case::missing_repository("test/absent:1.0", r#"tag "1.0" not found"#)]
#[case::missing_digest(&format!("test/app@{ZERO_DIGEST}"), &format!("manifest {ZERO_DIGEST} not found"))]
#[tokio::test]
async fn missing_manifest_is_not_found_without_retries(#[case] path: &str, #[case] detail: &str) {
    let registry = TestRegistry::start();
    registry.push_image("test/app", "1.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    let host = proxy.host();
    let client = client(options(&[&host]));
    let reference = format!("{host}/{path}");

    let error = client.resolve(&image(&reference)).await.expect_err("not found");

    assert_eq!(error, ResolveError::NotFound { image: reference, registry: host, detail: detail.to_owned() });
    assert_eq!(proxy.manifest_requests(), 1);
}

#[tokio::test]
async fn manifest_over_the_size_limit_is_invalid() {
    let registry = TestRegistry::start();
    registry.push_image("test/app", "1.0");
    let host = registry.host();
    let client = client(RegistryOptions { max_manifest_bytes: 100, ..options(&[&host]) });
    let reference = format!("{host}/test/app:1.0");

    let error = client.resolve(&image(&reference)).await.expect_err("too large");

    assert_eq!(
        error,
        ResolveError::InvalidManifest {
            image: reference,
            registry: host,
            detail: "manifest is larger than the 100-byte limit".to_owned()
        }
    );
}

/// Where the credentials for the basic-auth registry come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// `auths` entry with `auth` (base64 user:pass), keyed `http://host:port`; config given as a dir.
    ConfigAuth,
    /// `auths` entry with `username`/`password`; config given as a file.
    ConfigUsernamePassword,
    /// A mounted `kubernetes.io/dockerconfigjson` secret (a dir holding `.dockerconfigjson`), which
    /// wins over wrong credentials in the docker config.
    PullSecret,
    /// `credHelpers` naming `docker-credential-test`, a shell script found through the helper PATH.
    CredentialHelper,
}

/// Writes the credential files for `source` into `dir` and points `options` at them.
fn configure(source: Source, dir: &Path, host: &str, password: &str, options: &mut RegistryOptions) -> &'static str {
    let write = |path: PathBuf, text: String| {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        std::fs::write(&path, text).expect("write credentials");
        path
    };
    match source {
        Source::ConfigAuth => {
            write(
                dir.join("config.json"),
                format!(r#"{{"auths":{{"http://{host}":{{"auth":"{}"}}}}}}"#, basic("ci", password)),
            );
            options.docker_config = Some(dir.to_path_buf());
            "docker config "
        }
        Source::ConfigUsernamePassword => {
            let path = write(
                dir.join("custom.json"),
                format!(r#"{{"auths":{{"{host}":{{"username":"ci","password":"{password}"}}}}}}"#),
            );
            options.docker_config = Some(path);
            "docker config "
        }
        Source::PullSecret => {
            write(
                dir.join("config.json"),
                format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, basic("ci", "wrong")),
            );
            write(
                dir.join("secret/.dockerconfigjson"),
                format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, basic("ci", password)),
            );
            options.docker_config = Some(dir.to_path_buf());
            options.pull_secrets = vec![dir.join("secret")];
            "pull secret "
        }
        Source::CredentialHelper => {
            let helper = write(
                dir.join("bin/docker-credential-test"),
                format!(
                    "#!/bin/sh\nread server\n[ \"$server\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
                     echo '{{\"ServerURL\":\"{host}\",\"Username\":\"ci\",\"Secret\":\"{password}\"}}'\n"
                ),
            );
            make_executable(&helper);
            write(dir.join("config.json"), format!(r#"{{"credHelpers":{{"{host}":"test"}}}}"#));
            options.docker_config = Some(dir.join("config.json"));
            let inherited = std::env::var_os("PATH").unwrap_or_default();
            let path = std::iter::once(dir.join("bin")).chain(std::env::split_paths(&inherited));
            options.credential_helper_path = Some(std::env::join_paths(path).expect("helper PATH"));
            "credential helper docker-credential-test "
        }
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod helper");
}

#[rstest]
#[tokio::test]
async fn basic_auth_credentials(
    #[values(Source::ConfigAuth, Source::ConfigUsernamePassword, Source::PullSecret, Source::CredentialHelper)]
    source: Source,
    #[values(true, false)] correct: bool,
) {
    let registry = TestRegistry::with_basic_auth("ci", "s3cret-pass");
    let pushed = registry.push_image("test/app", "1.0");
    let host = registry.host();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = options(&[&host]);
    let password = if correct { "s3cret-pass" } else { "not-the-pass" };
    let described_as = configure(source, dir.path(), &host, password, &mut options);
    let client = client(options);

    let result = client.resolve(&image(&format!("{host}/test/app:1.0"))).await;

    if correct {
        assert_eq!(result.expect("authorised").digest, pushed);
        return;
    }
    let error = result.expect_err("refused");
    let ResolveError::Unauthorized { status, detail, .. } = &error else { panic!("{error:?}") };
    assert_eq!(*status, 401);
    assert!(detail.starts_with(&format!("the credentials from {described_as}")), "{detail}");
    assert!(detail.contains("were refused"), "{detail}");
    assert!(!error.to_string().contains("not-the-pass"), "{error}");
    assert_eq!(client.manifest_requests(), 1, "401 is not retried");
}

#[tokio::test]
async fn anonymous_access_to_a_protected_registry_is_unauthorized() {
    let registry = TestRegistry::with_basic_auth("ci", "s3cret-pass");
    registry.push_image("test/app", "1.0");
    let host = registry.host();
    let client = client(options(&[&host]));

    let error = client.resolve(&image(&format!("{host}/test/app:1.0"))).await.expect_err("refused");

    let ResolveError::Unauthorized { status: 401, detail, .. } = &error else { panic!("{error:?}") };
    assert!(
        detail.starts_with(&format!(
            "anonymous (no credentials configured for {host}) and the registry requires credentials"
        )),
        "{detail}"
    );
}

#[tokio::test]
async fn anonymous_bearer_token_flow_fetches_one_token_per_repository() {
    let registry = TestRegistry::start();
    let digests: Vec<Digest> = (1..=3).map(|n| registry.push_image("test/app", &format!("{n}.0"))).collect();
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.require_bearer(BearerAuth { token_request_authorization: None });
    let host = proxy.host();
    let client = client(options(&[&host]));

    for (n, digest) in (1..=3).zip(&digests) {
        let resolved = client.resolve(&image(&format!("{host}/test/app:{n}.0"))).await.expect("resolves");
        assert_eq!(&resolved.digest, digest);
    }

    assert_eq!(proxy.token_requests(), 1);
    assert_eq!(proxy.manifest_requests(), 3, "{:?}", proxy.log());
    assert_eq!(client.manifest_requests(), 3);
    assert_eq!(client.auth_requests(), 2, "one /v2/ ping and one token");
}

#[rstest]
#[case::right_password("s3cret-pass", true)]
#[case::wrong_password("not-the-pass", false)]
#[tokio::test]
async fn bearer_token_service_gets_the_configured_credentials(#[case] password: &str, #[case] accepted: bool) {
    let registry = TestRegistry::start();
    let pushed = registry.push_image("test/app", "1.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.require_bearer(BearerAuth {
        token_request_authorization: Some(format!("Basic {}", basic("ci", "s3cret-pass"))),
    });
    let host = proxy.host();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, basic("ci", password)),
    )
    .expect("write config");
    let client = client(RegistryOptions { docker_config: Some(dir.path().to_path_buf()), ..options(&[&host]) });

    let result = client.resolve(&image(&format!("{host}/test/app:1.0"))).await;

    if accepted {
        assert_eq!(result.expect("authorised").digest, pushed);
        return;
    }
    let error = result.expect_err("refused");
    let ResolveError::Unauthorized { status: 401, detail, .. } = &error else { panic!("{error:?}") };
    assert!(
        detail.starts_with(&format!("token service {host} refused the credentials from docker config ")),
        "{detail}"
    );
    assert_eq!(proxy.manifest_requests(), 0);
}

#[tokio::test]
async fn tls_registry_is_trusted_through_the_ca_bundle() {
    let registry = TestRegistry::with_tls();
    let pushed = registry.push_image("test/app", "1.0");
    let host = registry.host();
    let client = client(RegistryOptions { ca_bundle: Some(registry.certificate().to_path_buf()), ..options(&[]) });

    let resolved = client.resolve(&image(&format!("{host}/test/app:1.0"))).await.expect("resolves over TLS");

    assert_eq!(resolved.digest, pushed);
}

#[tokio::test]
async fn tls_registry_without_its_ca_fails_with_a_tls_error() {
    let registry = TestRegistry::with_tls();
    registry.push_image("test/app", "1.0");
    let host = registry.host();
    let client = client(options(&[]));

    let error = client.resolve(&image(&format!("{host}/test/app:1.0"))).await.expect_err("untrusted");

    let ResolveError::Unavailable { detail, registry: named, .. } = &error else { panic!("{error:?}") };
    assert_eq!(named, &host);
    assert!(detail.starts_with("TLS handshake failed: "), "{detail}");
    assert!(detail.contains("certificate"), "{detail}");
    assert!(detail.ends_with("(is the registry's CA in the CA bundle?)"), "{detail}");
    assert_eq!(client.requests(), 1, "a TLS failure is not retried");
}

#[tokio::test]
async fn unreadable_ca_bundle_is_a_configuration_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing-ca.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");

    for path in [missing, garbage] {
        let error = Registry::new(RegistryOptions { ca_bundle: Some(path.clone()), ..options(&[]) })
            .expect_err("configuration error");
        assert!(error.to_string().contains(&path.display().to_string()), "{error}");
    }
}

#[tokio::test]
async fn registry_down_is_unavailable_after_bounded_retries_probed_once() {
    let mut registry = TestRegistry::start();
    let host = registry.host();
    registry.stop();
    let client = client(options(&[&host]));
    let references: Vec<String> = (0..4).map(|n| format!("{host}/test/app:{n}")).collect();
    let images: Vec<ImageRef> = references.iter().map(|reference| image(reference)).collect();

    let results = join_all(images.iter().map(|reference| client.resolve(reference))).await;

    for (result, reference) in results.into_iter().zip(references) {
        assert_eq!(
            result,
            Err(ResolveError::Unavailable {
                image: reference,
                registry: host.clone(),
                detail: "connection refused after 3 attempts".to_owned()
            })
        );
    }
    assert_eq!(client.requests(), 3, "one probe of the registry, with its retries, for all images");
}

/// What a fault should lead to.
#[derive(Debug)]
enum Outcome {
    /// The resolution succeeds.
    Resolves,
    /// `Unavailable` with exactly this detail.
    Unavailable(&'static str),
    /// `Timeout` after the per-request timeout.
    Timeout,
    /// `DigestMismatch` between the injected header and the bytes.
    WrongHeader,
}

#[rstest]
#[case::server_error_every_time(
    Fault::Status { status: 500, retry_after: None }, None, 3,
    Outcome::Unavailable(r#"HTTP 500 after 3 attempts: registry says "injected HTTP 500" (INJECTED)"#)
)]
#[case::unavailable_once_then_recovers(Fault::Status { status: 503, retry_after: None }, Some(1), 2, Outcome::Resolves)]
#[case::rate_limited_once_honours_retry_after(
    Fault::Status { status: 429, retry_after: Some("1") }, Some(1), 2, Outcome::Resolves
)]
#[case::rate_limited_every_time(
    Fault::Status { status: 429, retry_after: None }, None, 3,
    Outcome::Unavailable(r#"HTTP 429 (too many requests) after 3 attempts: registry says "injected HTTP 429" (INJECTED)"#)
)]
#[case::retry_after_beyond_the_deadline(
    Fault::Status { status: 429, retry_after: Some("60") }, None, 1,
    Outcome::Unavailable(r#"HTTP 429 (too many requests): registry says "injected HTTP 429" (INJECTED) (the registry asked to retry after 60.0s, past the resolution deadline)"#)
)]
#[case::stalls_every_time(Fault::Stall, None, 3, Outcome::Timeout)]
#[case::stalls_once_then_recovers(Fault::Stall, Some(1), 2, Outcome::Resolves)]
#[case::truncated_every_time(
    Fault::Truncate,
    None,
    3,
    Outcome::Unavailable("connection closed before the response was complete after 3 attempts")
)]
#[case::truncated_once_then_recovers(Fault::Truncate, Some(1), 2, Outcome::Resolves)]
#[case::wrong_docker_content_digest(Fault::WrongDigest, None, 1, Outcome::WrongHeader)]
#[tokio::test]
async fn faults_map_to_errors_with_bounded_retries(
    #[case] fault: Fault,
    #[case] times: Option<usize>,
    #[case] attempts: usize,
    #[case] outcome: Outcome,
) {
    let registry = TestRegistry::start();
    let pushed = registry.push_image("test/app", "1.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.fail_manifests(fault.clone(), times);
    let host = proxy.host();
    // Long enough for a real answer on a loaded machine, short enough to keep stalls quick.
    let request_timeout = Duration::from_millis(800);
    let client = client(RegistryOptions { request_timeout, deadline: Duration::from_secs(5), ..options(&[&host]) });
    let reference = format!("{host}/test/app:1.0");
    let started = Instant::now();

    let result = client.resolve(&image(&reference)).await;

    let elapsed = started.elapsed();
    let (image, registry) = (reference.clone(), host.clone());
    match outcome {
        Outcome::Resolves => assert_eq!(result.expect("recovers").digest, pushed),
        Outcome::Unavailable(detail) => {
            assert_eq!(result, Err(ResolveError::Unavailable { image, registry, detail: detail.to_owned() }));
        }
        Outcome::Timeout => {
            assert_eq!(result, Err(ResolveError::Timeout { image, registry, after: request_timeout }));
        }
        Outcome::WrongHeader => assert_eq!(
            result,
            Err(ResolveError::DigestMismatch {
                image,
                registry,
                expected: ZERO_DIGEST.to_owned(),
                actual: pushed.to_string()
            })
        ),
    }
    assert_eq!(proxy.manifest_requests(), attempts, "{fault:?}: {:?}", proxy.log());
    assert_eq!(client.manifest_requests(), attempts as u64);
    if let Fault::Status { retry_after: Some("1"), .. } = fault {
        assert!(elapsed >= Duration::from_secs(1), "Retry-After honoured: {elapsed:?}");
    }
    assert!(elapsed < Duration::from_secs(4), "{fault:?} took {elapsed:?}");
}

#[tokio::test]
async fn deadline_bounds_the_whole_resolution() {
    let registry = TestRegistry::start();
    registry.push_image("test/app", "1.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.fail_manifests(Fault::Stall, None);
    let host = proxy.host();
    let deadline = Duration::from_millis(400);
    let client = client(RegistryOptions { request_timeout: Duration::from_secs(5), deadline, ..options(&[&host]) });
    let reference = format!("{host}/test/app:1.0");
    let started = Instant::now();

    let error = client.resolve(&image(&reference)).await.expect_err("deadline");

    assert_eq!(error, ResolveError::Timeout { image: reference, registry: host, after: deadline });
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn moved_tag_resolves_to_the_new_digest_and_the_old_pin_still_verifies() {
    let registry = TestRegistry::start();
    let proxy = FaultProxy::start(registry.addr()).await;
    let host = proxy.host();
    let client = client(options(&[&host]));
    let tag = image(&format!("{host}/test/app:stable"));

    let before = registry.push_image("test/app", "stable");
    let first = client.resolve(&tag).await.expect("resolves");
    let after = registry.push_image("test/app", "stable");
    let second = client.resolve(&tag).await.expect("resolves");
    let pinned = client.resolve(&image(&format!("{host}/test/app:stable@{before}"))).await.expect("old pin verifies");

    assert_ne!(before, after);
    assert_eq!(first.digest, before);
    assert_eq!(second.digest, after);
    assert_eq!(pinned.digest, before);
    assert_eq!(proxy.manifest_requests(), 3, "nothing is cached between resolutions");
}

#[tokio::test]
async fn concurrent_resolutions_of_one_reference_share_one_request() {
    let registry = TestRegistry::start();
    let pushed = registry.push_image("test/app", "1.0");
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.fail_manifests(Fault::Delay(Duration::from_millis(300)), None);
    let host = proxy.host();
    let client = client(options(&[&host]));
    let reference = image(&format!("{host}/test/app:1.0"));

    let results = join_all((0..10).map(|_| client.resolve(&reference))).await;

    for result in results {
        assert_eq!(result.expect("resolves").digest, pushed);
    }
    assert_eq!(proxy.manifest_requests(), 1);
    assert_eq!(client.manifest_requests(), 1);
}

#[tokio::test]
async fn requests_per_registry_are_limited() {
    let registry = TestRegistry::start();
    let digests: Vec<Digest> = (0..6).map(|n| registry.push_image("test/app", &format!("v{n}"))).collect();
    let proxy = FaultProxy::start(registry.addr()).await;
    proxy.fail_manifests(Fault::Delay(Duration::from_millis(200)), None);
    let host = proxy.host();
    let client = client(RegistryOptions { concurrency_per_registry: 2, ..options(&[&host]) });
    let references: Vec<ImageRef> = (0..6).map(|n| image(&format!("{host}/test/app:v{n}"))).collect();

    let results = join_all(references.iter().map(|reference| client.resolve(reference))).await;

    for (result, digest) in results.into_iter().zip(&digests) {
        assert_eq!(&result.expect("resolves").digest, digest);
    }
    assert_eq!(proxy.manifest_requests(), 6);
    assert_eq!(proxy.max_in_flight(), 2, "at most 2 in flight, and the 2 are used");
}

#[tokio::test]
async fn resolution_costs_one_manifest_request_per_image() {
    let registry = TestRegistry::start();
    let images = 5;
    let digests: Vec<Digest> =
        (0..images).map(|n| registry.push_image(&format!("test/app{}", n % 2), &format!("v{n}"))).collect();
    let proxy = FaultProxy::start(registry.addr()).await;
    let host = proxy.host();
    let client = client(options(&[&host]));
    let references: Vec<ImageRef> = (0..images).map(|n| image(&format!("{host}/test/app{}:v{n}", n % 2))).collect();

    let results = join_all(references.iter().map(|reference| client.resolve(reference))).await;

    for (result, digest) in results.into_iter().zip(&digests) {
        assert_eq!(&result.expect("resolves").digest, digest);
    }
    let per_image = client.manifest_requests() as f64 / images as f64;
    println!(
        "requests per image: {per_image:.2} manifest GETs, {:.2} including the /v2/ ping ({} requests for {images} images)",
        client.requests() as f64 / images as f64,
        client.requests()
    );
    assert_eq!(client.manifest_requests(), images as u64);
    assert_eq!(proxy.manifest_requests(), images);
    assert_eq!(client.auth_requests(), 1, "one /v2/ ping for the registry, no tokens needed");
}
