//! Registry credentials: docker `config.json`, mounted `kubernetes.io/dockerconfigjson` pull secrets and
//! `docker-credential-*` helpers, looked up per registry host in a fixed order.
//!
//! Owns finding the credential for a registry and describing where it came from. It never logs or
//! formats a secret: [`Credential`]'s `Debug` is redacted, parse errors name the file, the registry
//! key and the field, never a value, and a helper's standard output is never echoed.
//!
//! Precedence, first match wins: pull secrets (in the order given) > `credHelpers` > `auths` >
//! `credsStore` > anonymous.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::AsyncWriteExt as _;

use super::RegistryError;
use crate::image::DOCKER_HUB;

/// The server URL credential stores and helpers use for Docker Hub.
const DOCKER_HUB_SERVER_URL: &str = "https://index.docker.io/v1/";

/// Host names that all mean Docker Hub in a docker config.
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// The user name credential helpers return for an identity token.
const IDENTITY_TOKEN_USERNAME: &str = "<token>";

/// Longest excerpt of a helper's error output kept in a diagnostic.
const MAX_HELPER_MESSAGE: usize = 200;

/// A secret to present to a registry or its token service.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Credential {
    /// User name and password, sent as HTTP basic auth (to the registry or its token service).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth2 refresh token, exchanged at the token service for a bearer token.
    IdentityToken(String),
    /// A bearer token sent to the registry as is.
    RegistryToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"<redacted>").finish()
            }
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Self::RegistryToken(_) => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

/// The outcome of a lookup: the credential, if any, and a description of its source for diagnostics.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// What to present; `None` means anonymous.
    pub(super) credential: Option<Credential>,
    /// Where it came from, e.g. `docker config /root/.docker/config.json`, or why there is none.
    pub(super) source: String,
}

/// One parsed docker config file (a `config.json` or a `.dockerconfigjson`).
#[derive(Debug)]
struct ConfigFile {
    /// The file it was read from.
    path: PathBuf,
    /// `auths`, keyed by normalised host.
    auths: BTreeMap<String, Credential>,
    /// `credsStore`.
    creds_store: Option<String>,
    /// `credHelpers`, keyed by normalised host.
    cred_helpers: BTreeMap<String, String>,
}

/// Every credential source configured for a [`super::Registry`].
#[derive(Debug)]
pub(super) struct Credentials {
    /// Pull secrets, in precedence order.
    pull_secrets: Vec<ConfigFile>,
    /// The docker config, if one exists.
    docker: Option<ConfigFile>,
    /// `PATH` for finding `docker-credential-*` programs; `None` inherits the process's.
    helper_path: Option<OsString>,
    /// How long a helper may run.
    helper_timeout: Duration,
}

impl Credentials {
    /// Reads the docker config and the pull secrets.
    ///
    /// `docker_config` is a file or a directory holding `config.json`; `None` means
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. A missing default file, or a
    /// directory without `config.json`, means no docker config; an explicit file that does not
    /// exist is an error. Each pull secret is a file or a directory holding `.dockerconfigjson` and
    /// must exist.
    pub(super) fn load(
        docker_config: Option<&Path>,
        pull_secrets: &[PathBuf],
        helper_path: Option<OsString>,
        helper_timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let docker = match docker_config_path(docker_config) {
            Some((path, required)) => read_config(&path, required)?,
            None => None,
        };
        let mut secrets = Vec::with_capacity(pull_secrets.len());
        for secret in pull_secrets {
            let path = if secret.is_dir() { secret.join(".dockerconfigjson") } else { secret.clone() };
            if let Some(config) = read_config(&path, true)? {
                secrets.push(config);
            }
        }
        Ok(Self { pull_secrets: secrets, docker, helper_path, helper_timeout })
    }

    /// Finds the credential for `registry` (`host[:port]` as in an image reference).
    pub(super) async fn lookup(&self, registry: &str) -> Found {
        let host = normalise_host(registry);
        for secret in &self.pull_secrets {
            if let Some(credential) = secret.auths.get(&host) {
                return found(credential, format!("pull secret {}", secret.path.display()));
            }
        }
        let mut notes = Vec::new();
        if let Some(docker) = &self.docker {
            if let Some(helper) = docker.cred_helpers.get(&host) {
                match self.run_helper(helper, &host).await {
                    Ok(Some(credential)) => {
                        return Found {
                            credential: Some(credential),
                            source: format!(
                                "credential helper docker-credential-{helper} (credHelpers in {})",
                                docker.path.display()
                            ),
                        };
                    }
                    Ok(None) => notes.push(format!("docker-credential-{helper} has no credentials for {host}")),
                    Err(note) => notes.push(note),
                }
            }
            if let Some(credential) = docker.auths.get(&host) {
                return found(credential, format!("docker config {}", docker.path.display()));
            }
            if let Some(store) = &docker.creds_store {
                match self.run_helper(store, &host).await {
                    Ok(Some(credential)) => {
                        return Found {
                            credential: Some(credential),
                            source: format!(
                                "credential store docker-credential-{store} (credsStore in {})",
                                docker.path.display()
                            ),
                        };
                    }
                    Ok(None) => {}
                    Err(note) => notes.push(note),
                }
            }
        }
        let mut source = format!("anonymous (no credentials configured for {host})");
        if !notes.is_empty() {
            source = format!("{source}; {}", notes.join("; "));
        }
        Found { credential: None, source }
    }

    /// Runs `docker-credential-<name> get` for `host`. `Ok(None)` when the helper has no credentials
    /// for it; `Err` is a diagnostic without secrets.
    async fn run_helper(&self, name: &str, host: &str) -> Result<Option<Credential>, String> {
        let program = format!("docker-credential-{name}");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(format!("credential helper name {name:?} is not a plain program name"));
        }
        let server_url = if host == DOCKER_HUB { DOCKER_HUB_SERVER_URL } else { host };
        let mut command = tokio::process::Command::new(&program);
        command.arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        if let Some(path) = &self.helper_path {
            command.env("PATH", path);
        }
        let mut child = command.spawn().map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => format!("credential helper {program} not found on PATH"),
            _ => format!("credential helper {program} could not be started: {error}"),
        })?;
        let run = async {
            if let Some(mut stdin) = child.stdin.take() {
                // A helper that exits without reading its input is judged by its exit status below.
                let _ = stdin.write_all(server_url.as_bytes()).await;
                drop(stdin);
            }
            child.wait_with_output().await
        };
        let output = match tokio::time::timeout(self.helper_timeout, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(error)) => return Err(format!("credential helper {program} failed: {error}")),
            Err(_) => {
                return Err(format!("credential helper {program} timed out after {:?}", self.helper_timeout));
            }
        };
        if !output.status.success() {
            let message = helper_message(&output.stdout, &output.stderr);
            if message.to_ascii_lowercase().contains("credentials not found") {
                return Ok(None);
            }
            return Err(format!("credential helper {program} failed ({}): {message}", output.status));
        }
        parse_helper_output(&output.stdout).map_err(|reason| format!("credential helper {program} {reason}"))
    }
}

/// A [`Found`] for a configured credential.
fn found(credential: &Credential, source: String) -> Found {
    Found { credential: Some(credential.clone()), source }
}

/// Where the docker config lives, and whether it must exist.
fn docker_config_path(configured: Option<&Path>) -> Option<(PathBuf, bool)> {
    if let Some(path) = configured {
        return Some(if path.is_dir() { (path.join("config.json"), false) } else { (path.to_path_buf(), true) });
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
        return Some((PathBuf::from(dir).join("config.json"), false));
    }
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| (PathBuf::from(home).join(".docker").join("config.json"), false))
}

/// Reads and parses one docker config file; `Ok(None)` if it is optional and absent.
fn read_config(path: &Path, required: bool) -> Result<Option<ConfigFile>, RegistryError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(source) => return Err(RegistryError::ReadCredentials { path: path.to_path_buf(), source }),
    };
    parse_config(path, &text).map(Some)
}

/// The docker config file format (the subset that matters for pulling).
#[derive(serde::Deserialize)]
struct RawConfig {
    /// Per-registry credentials.
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
    /// The default credential store.
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    /// Per-registry credential helpers.
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

/// One `auths` entry.
#[derive(serde::Deserialize)]
struct RawAuth {
    /// base64 of `user:password`.
    #[serde(default)]
    auth: Option<String>,
    /// User name (with `password`).
    #[serde(default)]
    username: Option<String>,
    /// Password (with `username`).
    #[serde(default)]
    password: Option<String>,
    /// OAuth2 refresh token.
    #[serde(default)]
    identitytoken: Option<String>,
    /// Bearer token for the registry.
    #[serde(default)]
    registrytoken: Option<String>,
}

/// Parses a docker config. Errors name the file, the registry key and the field, never a value.
fn parse_config(path: &Path, text: &[u8]) -> Result<ConfigFile, RegistryError> {
    let invalid = |reason: String| RegistryError::InvalidCredentials { path: path.to_path_buf(), reason };
    let raw: RawConfig = serde_json::from_slice(text).map_err(|error| {
        // serde_json's message can quote the offending value, which may be a secret: keep only where.
        invalid(format!(
            "not a docker config ({} at line {} column {})",
            json_error_kind(&error),
            error.line(),
            error.column()
        ))
    })?;
    let mut auths = BTreeMap::new();
    for (key, entry) in raw.auths {
        if let Some(credential) =
            entry_credential(&entry).map_err(|reason| invalid(format!("auths {key:?}: {reason}")))?
        {
            auths.entry(normalise_host(&key)).or_insert(credential);
        }
    }
    let cred_helpers = raw.cred_helpers.into_iter().map(|(key, helper)| (normalise_host(&key), helper)).collect();
    Ok(ConfigFile {
        path: path.to_path_buf(),
        auths,
        creds_store: raw.creds_store.filter(|store| !store.is_empty()),
        cred_helpers,
    })
}

/// What kind of JSON error, without quoting the input.
fn json_error_kind(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected field type",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// The credential of one `auths` entry; `Ok(None)` when the entry holds none.
fn entry_credential(entry: &RawAuth) -> Result<Option<Credential>, String> {
    let non_empty = |value: &Option<String>| value.as_ref().filter(|value| !value.is_empty()).cloned();
    if let Some(token) = non_empty(&entry.registrytoken) {
        return Ok(Some(Credential::RegistryToken(token)));
    }
    if let Some(token) = non_empty(&entry.identitytoken) {
        return Ok(Some(Credential::IdentityToken(token)));
    }
    if let Some(auth) = non_empty(&entry.auth) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth.trim()))
            .map_err(|_| "\"auth\" is not valid base64".to_owned())?;
        let decoded = String::from_utf8(decoded).map_err(|_| "\"auth\" does not decode to UTF-8 text".to_owned())?;
        let (username, password) =
            decoded.split_once(':').ok_or_else(|| "\"auth\" does not decode to \"user:password\"".to_owned())?;
        return Ok(Some(Credential::Basic { username: username.to_owned(), password: password.to_owned() }));
    }
    match (non_empty(&entry.username), entry.password.clone()) {
        (Some(username), Some(password)) => Ok(Some(Credential::Basic { username, password })),
        (Some(_), None) => Err("\"username\" without \"password\"".to_owned()),
        (None, Some(_)) => Err("\"password\" without \"username\"".to_owned()),
        (None, None) => Ok(None),
    }
}

/// Parses a helper's `{"Username": …, "Secret": …}`; `Ok(None)` when both are empty.
fn parse_helper_output(stdout: &[u8]) -> Result<Option<Credential>, String> {
    #[derive(serde::Deserialize)]
    struct Output {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let output: Output = serde_json::from_slice(stdout)
        .map_err(|error| format!("printed no credentials JSON ({})", json_error_kind(&error)))?;
    if output.secret.is_empty() {
        return Ok(None);
    }
    if output.username == IDENTITY_TOKEN_USERNAME {
        return Ok(Some(Credential::IdentityToken(output.secret)));
    }
    Ok(Some(Credential::Basic { username: output.username, password: output.secret }))
}

/// The first line of a failed helper's message (stderr, else stdout), shortened.
fn helper_message(stdout: &[u8], stderr: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) { stderr } else { stdout };
    let text = String::from_utf8_lossy(text);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("no output");
    line.chars().take(MAX_HELPER_MESSAGE).collect()
}

/// Normalises a docker config key or a registry to a lowercase `host[:port]`: no scheme, no path,
/// Docker Hub aliases folded into `docker.io`.
pub(super) fn normalise_host(key: &str) -> String {
    let key = key.trim();
    let lower = key.to_ascii_lowercase();
    let without_scheme = ["https://", "http://"].iter().find_map(|scheme| lower.strip_prefix(scheme)).unwrap_or(&lower);
    let host = without_scheme.split('/').next().unwrap_or_default();
    if DOCKER_HUB_ALIASES.contains(&host) { DOCKER_HUB.to_owned() } else { host.to_owned() }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use rstest::rstest;

    use super::*;

    fn basic(username: &str, password: &str) -> Credential {
        Credential::Basic { username: username.to_owned(), password: password.to_owned() }
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn config_file(dir: &Path, name: &str, json: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().write_all(json.as_bytes()).unwrap();
        path
    }

    #[rstest]
    #[case::hub_v1_url("https://index.docker.io/v1/", "docker.io")]
    #[case::hub_bare("docker.io", "docker.io")]
    #[case::hub_registry_1("registry-1.docker.io", "docker.io")]
    #[case::host_with_scheme("https://ghcr.io", "ghcr.io")]
    #[case::http_scheme_and_path("http://127.0.0.1:5000/v2/", "127.0.0.1:5000")]
    #[case::uppercase_host("Registry.Example.com:443", "registry.example.com:443")]
    #[case::whitespace(" quay.io ", "quay.io")]
    fn keys_normalise(#[case] key: &str, #[case] host: &str) {
        assert_eq!(normalise_host(key), host);
    }

    #[rstest]
    #[case::auth_field(&format!(r#"{{"auth":"{}"}}"#, b64("alice:s3cret:with:colons")), Some(basic("alice", "s3cret:with:colons")))]
    #[case::auth_without_padding(&format!(r#"{{"auth":"{}"}}"#, b64("bob:pw").trim_end_matches('=')), Some(basic("bob", "pw")))]
    #[case::username_password(r#"{"username":"carol","password":"pw"}"#, Some(basic("carol", "pw")))]
    #[case::auth_wins_over_username(&format!(r#"{{"auth":"{}","username":"x","password":"y"}}"#, b64("dave:pw")), Some(basic("dave", "pw")))]
    #[case::identity_token(r#"{"auth":"","identitytoken":"refresh"}"#, Some(Credential::IdentityToken("refresh".to_owned())))]
    #[case::registry_token(r#"{"registrytoken":"bearer"}"#, Some(Credential::RegistryToken("bearer".to_owned())))]
    #[case::empty_entry(r#"{"auth":"","email":"x@example.com"}"#, None)]
    fn auth_entries(#[case] entry: &str, #[case] expected: Option<Credential>) {
        let raw: RawAuth = serde_json::from_str(entry).unwrap();
        assert_eq!(entry_credential(&raw).unwrap(), expected);
    }

    #[rstest]
    #[case::not_base64(r#"{"auth":"%%%secret%%%"}"#, "\"auth\" is not valid base64")]
    #[case::no_colon(&format!(r#"{{"auth":"{}"}}"#, b64("secretwithoutcolon")), "\"auth\" does not decode to \"user:password\"")]
    #[case::username_only(r#"{"username":"alice"}"#, "\"username\" without \"password\"")]
    fn bad_entries_never_quote_the_secret(#[case] entry: &str, #[case] reason: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = config_file(dir.path(), "config.json", &format!(r#"{{"auths":{{"ghcr.io":{entry}}}}}"#));
        let error = read_config(&path, true).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(r#"auths "ghcr.io""#), "{message}");
        assert!(message.ends_with(reason), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn invalid_json_reports_position_not_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_file(dir.path(), "config.json", r#"{"auths": {"ghcr.io": "hunter2"}}"#);
        let message = read_config(&path, true).unwrap_err().to_string();
        assert!(message.contains("unexpected field type at line 1"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", Some(basic("alice", "hunter2")));
        assert!(text.contains("alice") && !text.contains("hunter2"), "{text}");
        assert!(!format!("{:?}", Credential::IdentityToken("hunter2".to_owned())).contains("hunter2"));
        assert!(!format!("{:?}", Credential::RegistryToken("hunter2".to_owned())).contains("hunter2"));
    }

    #[test]
    fn missing_default_config_is_no_config_but_explicit_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = Credentials::load(Some(dir.path()), &[], None, Duration::from_secs(1)).unwrap();
        assert!(credentials.docker.is_none());
        let missing = dir.path().join("nope.json");
        let error = Credentials::load(Some(&missing), &[], None, Duration::from_secs(1)).unwrap_err();
        assert!(error.to_string().contains(&missing.display().to_string()), "{error}");
        let error = Credentials::load(Some(dir.path()), std::slice::from_ref(&missing), None, Duration::from_secs(1))
            .unwrap_err();
        assert!(error.to_string().contains("nope.json"), "{error}");
    }

    /// `PATH` with `dir` in front, so helper scripts still find `cat` and `sleep`.
    fn path_with(dir: &Path) -> OsString {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&inherited))).unwrap()
    }

    /// Writes an executable `docker-credential-<name>` shell script into `dir`.
    #[cfg(unix)]
    fn helper(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn precedence_is_secrets_then_helpers_then_auths_then_store() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        helper(&bin, "pinned", r#"cat >/dev/null; echo '{"Username":"from-helper","Secret":"h"}'"#);
        helper(&bin, "store", r#"read server; echo "{\"Username\":\"store-$server\",\"Secret\":\"s\"}""#);
        let secret_dir = dir.path().join("secret");
        std::fs::create_dir(&secret_dir).unwrap();
        config_file(
            &secret_dir,
            ".dockerconfigjson",
            &format!(r#"{{"auths":{{"https://secret.example":{{"auth":"{}"}}}}}}"#, b64("from-secret:x")),
        );
        let docker = config_file(
            dir.path(),
            "config.json",
            &format!(
                r#"{{"auths":{{"secret.example":{{"auth":"{a}"}},"helped.example":{{"auth":"{a}"}},"auths.example":{{"auth":"{a}"}}}},
                    "credHelpers":{{"helped.example":"pinned"}},"credsStore":"store"}}"#,
                a = b64("from-auths:x")
            ),
        );
        let credentials = Credentials::load(
            Some(&docker),
            std::slice::from_ref(&secret_dir),
            Some(path_with(&bin)),
            Duration::from_secs(5),
        )
        .unwrap();
        let user = |found: Found| match found.credential {
            Some(Credential::Basic { username, .. }) => (username, found.source),
            other => panic!("{other:?}"),
        };
        let (name, source) = user(credentials.lookup("secret.example").await);
        assert_eq!(name, "from-secret");
        assert!(source.starts_with("pull secret ") && source.ends_with(".dockerconfigjson"), "{source}");
        let (name, source) = user(credentials.lookup("helped.example").await);
        assert_eq!(name, "from-helper");
        assert!(source.starts_with("credential helper docker-credential-pinned"), "{source}");
        assert_eq!(user(credentials.lookup("AUTHS.example").await).0, "from-auths");
        assert_eq!(user(credentials.lookup("other.example:5000").await).0, "store-other.example:5000");
        assert_eq!(user(credentials.lookup("docker.io").await).0, "store-https://index.docker.io/v1/");
    }

    #[cfg(unix)]
    #[rstest]
    #[case::identity_token(r#"cat >/dev/null; echo '{"Username":"<token>","Secret":"refresh"}'"#, Ok(Some(Credential::IdentityToken("refresh".to_owned()))))]
    #[case::not_found(r"cat >/dev/null; echo 'credentials not found in native keychain'; exit 1", Ok(None))]
    #[case::failure(
        r"cat >/dev/null; echo 'keychain locked' >&2; exit 3",
        Err("credential helper docker-credential-t failed (exit status: 3): keychain locked")
    )]
    #[case::garbage(
        r"cat >/dev/null; echo 'Secret: hunter2'",
        Err("credential helper docker-credential-t printed no credentials JSON (invalid JSON)")
    )]
    #[case::timeout(r"sleep 5", Err("credential helper docker-credential-t timed out after 200ms"))]
    #[tokio::test]
    async fn helper_outcomes(#[case] script: &str, #[case] expected: Result<Option<Credential>, &str>) {
        let dir = tempfile::tempdir().unwrap();
        helper(dir.path(), "t", script);
        let credentials = Credentials {
            pull_secrets: Vec::new(),
            docker: None,
            helper_path: Some(path_with(dir.path())),
            helper_timeout: Duration::from_millis(200),
        };
        let outcome = credentials.run_helper("t", "ghcr.io").await;
        assert_eq!(outcome, expected.map_err(str::to_owned));
    }

    #[tokio::test]
    async fn missing_helper_falls_back_to_anonymous_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let docker = config_file(dir.path(), "config.json", r#"{"credsStore":"absent-helper-for-tests"}"#);
        let credentials =
            Credentials::load(Some(&docker), &[], Some(dir.path().as_os_str().to_owned()), Duration::from_secs(1))
                .unwrap();
        let found = credentials.lookup("ghcr.io").await;
        assert_eq!(found.credential, None);
        assert_eq!(
            found.source,
            "anonymous (no credentials configured for ghcr.io); credential helper docker-credential-absent-helper-for-tests not found on PATH"
        );
    }
}
