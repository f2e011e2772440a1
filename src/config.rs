//! Run settings for registry access and caching: the optional config file (`--config`,
//! `SYNCGATE_CONFIG`), its strict schema, and [`RegistrySettings::resolve`], which applies the
//! precedence flags > environment > file > defaults.
//!
//! Owns no behaviour: the registry client and the caches take the resolved values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML or breaks the schema (unknown field, wrong type).
    #[error("config file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Field path and what is wrong.
        message: String,
    },
}

/// The config file (`syncgate.yaml`): everything optional, unknown fields refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    /// Registry access.
    #[serde(default)]
    pub registries: RegistriesFile,
    /// Resolution caches.
    #[serde(default)]
    pub cache: CacheFile,
}

/// `registries:` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistriesFile {
    /// Registries (`host:port`) reached over plain HTTP.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// PEM bundle of extra CA certificates.
    pub ca_bundle: Option<PathBuf>,
    /// Docker `config.json` (file or directory).
    pub docker_config: Option<PathBuf>,
    /// Mounted `kubernetes.io/dockerconfigjson` secrets (files or directories).
    #[serde(default)]
    pub pull_secrets: Vec<PathBuf>,
    /// Per-request timeout in seconds.
    pub request_timeout_seconds: Option<u64>,
    /// Overall resolution deadline in seconds.
    pub deadline_seconds: Option<u64>,
    /// Parallel requests per registry.
    pub concurrency_per_registry: Option<usize>,
    /// Retries after a 429, 5xx or reset.
    pub retries: Option<u32>,
}

/// `cache:` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheFile {
    /// On-disk cache directory.
    pub dir: Option<PathBuf>,
    /// `false` turns the on-disk cache off.
    pub disk: Option<bool>,
    /// `redis://…` or `rediss://…` shared cache.
    pub redis: Option<String>,
    /// File holding the HMAC key that authenticates shared cache entries.
    pub key_file: Option<PathBuf>,
    /// Seconds a tag → digest answer is reused.
    pub tag_ttl_seconds: Option<u64>,
}

impl ConfigFile {
    /// Reads a config file strictly.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let display = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: display.clone(), source })?;
        let value: serde_json::Value = serde_saphyr::from_str(&text)
            .map_err(|e| ConfigError::Invalid { path: display.clone(), message: e.to_string() })?;
        if value.is_null() {
            return Ok(ConfigFile::default());
        }
        serde_path_to_error::deserialize(value)
            .map_err(|e| ConfigError::Invalid { path: display, message: format!("{}: {}", e.path(), e.inner()) })
    }
}

/// Registry and cache settings after precedence was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Registries reached over plain HTTP.
    pub insecure: Vec<String>,
    /// Extra CA certificates.
    pub ca_bundle: Option<PathBuf>,
    /// Docker `config.json`.
    pub docker_config: Option<PathBuf>,
    /// Mounted pull secrets.
    pub pull_secrets: Vec<PathBuf>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Overall deadline for resolving a stream (below Argo CD's 60 s).
    pub deadline: Duration,
    /// Parallel requests per registry.
    pub concurrency_per_registry: usize,
    /// Retries.
    pub retries: u32,
    /// On-disk cache directory, `None` when off.
    pub cache_dir: Option<PathBuf>,
    /// Shared Redis cache.
    pub redis: Option<String>,
    /// HMAC key for shared cache entries.
    pub cache_key: Option<Vec<u8>>,
    /// How long a tag → digest answer is reused.
    pub tag_ttl: Duration,
}

/// What the command line and environment said (clap fills in `env` values); `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct RegistryFlags {
    /// `--insecure-registry` (repeatable).
    pub insecure: Vec<String>,
    /// `--ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
    /// `--registry-config`.
    pub docker_config: Option<PathBuf>,
    /// `--pull-secret` (repeatable).
    pub pull_secrets: Vec<PathBuf>,
    /// `--registry-timeout` seconds.
    pub request_timeout: Option<u64>,
    /// `--deadline` seconds.
    pub deadline: Option<u64>,
    /// `--registry-concurrency`.
    pub concurrency_per_registry: Option<usize>,
    /// `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
    /// `--no-disk-cache`.
    pub no_disk_cache: bool,
    /// `--cache`.
    pub redis: Option<String>,
    /// `--cache-key-file`.
    pub cache_key_file: Option<PathBuf>,
}

/// The default on-disk cache directory: `$XDG_CACHE_HOME/syncgate`, else `~/.cache/syncgate`.
#[must_use]
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
        .map(|base| base.join("syncgate"))
}

impl RegistrySettings {
    /// Applies the precedence: flags (and their environment variables, which clap reads) > config
    /// file > defaults. Lists given on the command line replace the file's.
    pub fn resolve(flags: RegistryFlags, file: &ConfigFile) -> Result<RegistrySettings, ConfigError> {
        let r = &file.registries;
        let c = &file.cache;
        let pick_list =
            |flag: Vec<String>, from_file: &Vec<String>| if flag.is_empty() { from_file.clone() } else { flag };
        let cache_key_file = flags.cache_key_file.or_else(|| c.key_file.clone());
        let cache_key = cache_key_file
            .map(|path| {
                std::fs::read(&path)
                    .map(|bytes| bytes.trim_ascii().to_vec())
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })
            })
            .transpose()?;
        let disk = !flags.no_disk_cache && c.disk != Some(false);
        Ok(RegistrySettings {
            insecure: pick_list(flags.insecure, &r.insecure),
            ca_bundle: flags.ca_bundle.or_else(|| r.ca_bundle.clone()),
            docker_config: flags.docker_config.or_else(|| r.docker_config.clone()),
            pull_secrets: if flags.pull_secrets.is_empty() { r.pull_secrets.clone() } else { flags.pull_secrets },
            request_timeout: Duration::from_secs(flags.request_timeout.or(r.request_timeout_seconds).unwrap_or(10)),
            deadline: Duration::from_secs(flags.deadline.or(r.deadline_seconds).unwrap_or(30)),
            concurrency_per_registry: flags.concurrency_per_registry.or(r.concurrency_per_registry).unwrap_or(8).max(1),
            retries: r.retries.unwrap_or(3),
            cache_dir: if disk { flags.cache_dir.or_else(|| c.dir.clone()).or_else(default_cache_dir) } else { None },
            redis: flags.redis.or_else(|| c.redis.clone()),
            cache_key,
            tag_ttl: Duration::from_secs(c.tag_ttl_seconds.unwrap_or(300)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<ConfigFile, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syncgate.yaml");
        std::fs::write(&path, text).unwrap();
        ConfigFile::read(&path)
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let config =
            file("registries:\n  insecure: [\"127.0.0.1:5000\"]\n  deadlineSeconds: 20\n  requestTimeoutSeconds: 4\n")
                .unwrap();
        let flags = RegistryFlags { deadline: Some(12), ..RegistryFlags::default() };
        let s = RegistrySettings::resolve(flags, &config).unwrap();
        assert_eq!(s.insecure, ["127.0.0.1:5000"]);
        assert_eq!(s.deadline, Duration::from_secs(12));
        assert_eq!(s.request_timeout, Duration::from_secs(4));
        assert_eq!(s.concurrency_per_registry, 8);
        let flags = RegistryFlags { insecure: vec!["localhost:5001".into()], ..RegistryFlags::default() };
        assert_eq!(RegistrySettings::resolve(flags, &config).unwrap().insecure, ["localhost:5001"]);
    }

    #[test]
    fn unknown_config_field_is_refused_with_its_path() {
        let err = file("registries:\n  insecureRegistries: [a]\n").unwrap_err();
        assert!(err.to_string().contains("registries.insecureRegistries: unknown field `insecureRegistries`"), "{err}");
    }

    #[test]
    fn cache_key_is_read_from_its_file_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "s3cret\n").unwrap();
        let flags = RegistryFlags { cache_key_file: Some(key), no_disk_cache: true, ..RegistryFlags::default() };
        let s = RegistrySettings::resolve(flags, &ConfigFile::default()).unwrap();
        assert_eq!(s.cache_key.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(s.cache_dir, None);
    }
}
