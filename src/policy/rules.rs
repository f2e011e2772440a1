//! The production rules (`require-image-digest`, `disallow-privileged`, ...): ids, settings and the
//! pure check of one workload against one rule.
//!
//! Each check returns the violations it found (empty = pass); it knows nothing of modes or exceptions.

use std::fmt;
use std::str::FromStr;

use k8s_openapi::api::core::v1::{PodSpec, SecurityContext};
use serde::Deserialize;

use super::document::Rewrite;
use super::workload::{ContainerView, Pin, Workload};
use crate::image::ImageRef;
use crate::manifest::FieldPath;
use crate::report::{Mode, RuleInfo};

/// A production rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// Every image carries a digest.
    RequireImageDigest,
    /// No image uses `:latest` or no tag.
    DisallowLatestTag,
    /// No container sets `securityContext.privileged: true`.
    DisallowPrivileged,
    /// No `hostNetwork`, `hostPID`, `hostIPC`.
    DisallowHostNamespaces,
    /// No `hostPath` volumes.
    DisallowHostPath,
    /// Every container requests the configured resources.
    RequireResourceRequests,
    /// Every container runs as non-root.
    RequireRunAsNonRoot,
    /// Every container has a read-only root filesystem.
    RequireReadOnlyRootFilesystem,
    /// A `RuntimeDefault` or `Localhost` seccomp profile for every container.
    RequireSeccompProfile,
    /// Images come only from the listed registries.
    AllowedRegistries,
}

impl RuleId {
    /// Every rule, in id order.
    pub const ALL: [RuleId; 10] = [
        RuleId::RequireImageDigest,
        RuleId::DisallowLatestTag,
        RuleId::DisallowPrivileged,
        RuleId::DisallowHostNamespaces,
        RuleId::DisallowHostPath,
        RuleId::RequireResourceRequests,
        RuleId::RequireRunAsNonRoot,
        RuleId::RequireReadOnlyRootFilesystem,
        RuleId::RequireSeccompProfile,
        RuleId::AllowedRegistries,
    ];

    /// The stable kebab-case id.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    /// Summary and help text.
    #[must_use]
    pub fn info(self) -> RuleInfo {
        let (id, summary, help) = match self {
            RuleId::RequireImageDigest => (
                "require-image-digest",
                "Images must be pinned to a digest",
                "A tag can be moved to other content after review; a digest cannot. Write the image as name:tag@sha256:<digest>.",
            ),
            RuleId::DisallowLatestTag => (
                "disallow-latest-tag",
                "Images must not use the latest tag (a missing tag counts as latest)",
                "`latest` says nothing about what runs and changes under you. Use an explicit version tag, ideally with a digest.",
            ),
            RuleId::DisallowPrivileged => (
                "disallow-privileged",
                "Containers must not run privileged",
                "A privileged container has all capabilities and access to host devices. Remove securityContext.privileged or set it to false; agents that need it get a PolicyException.",
            ),
            RuleId::DisallowHostNamespaces => (
                "disallow-host-namespaces",
                "Pods must not share the host's network, PID or IPC namespace",
                "Set spec.hostNetwork, spec.hostPID and spec.hostIPC to false (or remove them); CNI and node agents get a PolicyException.",
            ),
            RuleId::DisallowHostPath => (
                "disallow-host-path",
                "Pods must not mount hostPath volumes",
                "A hostPath volume exposes the node's filesystem. Use emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret; storage and observability agents get a PolicyException.",
            ),
            RuleId::RequireResourceRequests => (
                "require-resource-requests",
                "Containers must request CPU and memory",
                "Without requests the scheduler cannot place the pod safely and it is first to be evicted. Set resources.requests for each required resource on every container and init container.",
            ),
            RuleId::RequireRunAsNonRoot => (
                "require-run-as-non-root",
                "Containers must run as non-root",
                "Set securityContext.runAsNonRoot: true on the pod (and do not set it to false on a container), and build the image with a numeric non-root USER.",
            ),
            RuleId::RequireReadOnlyRootFilesystem => (
                "require-read-only-root-filesystem",
                "Containers must have a read-only root filesystem",
                "Set securityContext.readOnlyRootFilesystem: true on every container and mount an emptyDir where the process must write.",
            ),
            RuleId::RequireSeccompProfile => (
                "require-seccomp-profile",
                "Containers must run with the RuntimeDefault or a Localhost seccomp profile",
                "Set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod (or on every container), and never Unconfined.",
            ),
            RuleId::AllowedRegistries => (
                "allowed-registries",
                "Images must come from an allowed registry",
                "Push the image to one of the allowed registries (or mirror it there) and reference it from there.",
            ),
        };
        RuleInfo { id, summary, help }
    }

    /// Settings used when the policy gives only a mode.
    #[must_use]
    pub fn default_settings(self) -> Settings {
        match self {
            RuleId::RequireResourceRequests => Settings::Resources(vec!["cpu".into(), "memory".into()]),
            RuleId::AllowedRegistries => Settings::Registries(Vec::new()),
            _ => Settings::None,
        }
    }

    /// Parses `{mode, ...settings}`; errors give the sub-field and the message.
    pub fn parse_settings(self, value: serde_json::Value) -> Result<(Option<Mode>, Settings), (String, String)> {
        fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, (String, String)> {
            serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                (if path == "." { String::new() } else { path }, e.into_inner().to_string())
            })
        }
        match self {
            RuleId::AllowedRegistries => {
                let raw: RegistriesSettings = typed(value)?;
                if raw.registries.is_empty() {
                    return Err(("registries".into(), "must list at least one registry".into()));
                }
                for (i, r) in raw.registries.iter().enumerate() {
                    if r.trim().is_empty() || r.contains(char::is_whitespace) {
                        return Err((
                            format!("registries[{i}]"),
                            format!("\"{r}\" is not a registry or repository prefix"),
                        ));
                    }
                }
                Ok((raw.mode, Settings::Registries(raw.registries)))
            }
            RuleId::RequireResourceRequests => {
                let raw: ResourcesSettings = typed(value)?;
                let resources = raw.resources.unwrap_or_else(|| vec!["cpu".into(), "memory".into()]);
                if resources.is_empty() {
                    return Err(("resources".into(), "must list at least one resource name (cpu, memory, ...)".into()));
                }
                Ok((raw.mode, Settings::Resources(resources)))
            }
            _ => {
                let raw: ModeSettings = typed(value)?;
                Ok((raw.mode, Settings::None))
            }
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeSettings {
    mode: Option<Mode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistriesSettings {
    mode: Option<Mode>,
    registries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourcesSettings {
    mode: Option<Mode>,
    resources: Option<Vec<String>>,
}

/// Rule-specific settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settings {
    /// The rule has none.
    None,
    /// `allowed-registries`: registry hosts or repository prefixes.
    Registries(Vec<String>),
    /// `require-resource-requests`: resource names that must be requested.
    Resources(Vec<String>),
}

/// One thing a rule objects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Container name, when about one container.
    pub container: Option<String>,
    /// Image, when about one image.
    pub image: Option<String>,
    /// Field path relative to the resource.
    pub path: FieldPath,
    /// What is wrong: found and required.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// True when the rule could not decide (e.g. an invalid image reference): an `error` finding.
    pub undecidable: bool,
}

fn violation(container: Option<&str>, path: FieldPath, message: String, fix: String) -> Violation {
    Violation { container: container.map(str::to_owned), image: None, path, message, fix, undecidable: false }
}

/// Checks one workload against one rule. Empty means pass.
#[must_use]
pub fn check(rule: RuleId, settings: &Settings, workload: &Workload<'_>) -> Vec<Violation> {
    match rule {
        RuleId::RequireImageDigest | RuleId::DisallowLatestTag | RuleId::AllowedRegistries => {
            image_rule(rule, settings, workload)
        }
        RuleId::DisallowPrivileged => containers(workload, |c| {
            let privileged = c.security_context.and_then(|s| s.privileged) == Some(true);
            privileged.then(|| {
                (
                    "securityContext.privileged",
                    "securityContext.privileged is true; required: false or unset".to_owned(),
                    "remove securityContext.privileged (or set it to false)".to_owned(),
                )
            })
        }),
        RuleId::DisallowHostNamespaces => host_namespaces(workload),
        RuleId::DisallowHostPath => host_path(workload),
        RuleId::RequireResourceRequests => resource_requests(settings, workload),
        RuleId::RequireRunAsNonRoot => run_as_non_root(workload),
        RuleId::RequireReadOnlyRootFilesystem => containers(workload, |c| {
            let value = c.security_context.and_then(|s| s.read_only_root_filesystem);
            (value != Some(true)).then(|| {
                (
                    "securityContext.readOnlyRootFilesystem",
                    format!("securityContext.readOnlyRootFilesystem is {}; required: true", show_bool(value)),
                    "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes"
                        .to_owned(),
                )
            })
        }),
        RuleId::RequireSeccompProfile => seccomp(workload),
    }
}

fn show_bool(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "true",
        Some(false) => "false",
        None => "unset",
    }
}

fn containers(
    workload: &Workload<'_>,
    test: impl Fn(&ContainerView<'_>) -> Option<(&'static str, String, String)>,
) -> Vec<Violation> {
    let Some(pod) = &workload.pod else { return Vec::new() };
    pod.containers()
        .iter()
        .filter_map(|c| {
            test(c).map(|(field, message, fix)| {
                violation(
                    Some(c.name),
                    pod.container_path(c).join(&FieldPath::parse(field)),
                    format!("container \"{}\": {message}", c.name),
                    format!("{fix} in container \"{}\"", c.name),
                )
            })
        })
        .collect()
}

fn host_namespaces(workload: &Workload<'_>) -> Vec<Violation> {
    let Some(pod) = &workload.pod else { return Vec::new() };
    let spec: &PodSpec = &pod.spec;
    [("hostNetwork", spec.host_network), ("hostPID", spec.host_pid), ("hostIPC", spec.host_ipc)]
        .into_iter()
        .filter(|(_, v)| *v == Some(true))
        .map(|(field, _)| {
            violation(
                None,
                pod.spec_path().key(field),
                format!("spec.{field} is true; required: false or unset"),
                format!("remove spec.{field} (or set it to false)"),
            )
        })
        .collect()
}

fn host_path(workload: &Workload<'_>) -> Vec<Violation> {
    let Some(pod) = &workload.pod else { return Vec::new() };
    pod.spec
        .volumes
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| {
            v.host_path.as_ref().map(|hp| {
                violation(
                    None,
                    pod.spec_path().key("volumes").index(i).key("hostPath"),
                    format!("volume \"{}\" mounts host path \"{}\"; required: no hostPath volumes", v.name, hp.path),
                    format!(
                        "replace volume \"{}\" with an emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret",
                        v.name
                    ),
                )
            })
        })
        .collect()
}

fn resource_requests(settings: &Settings, workload: &Workload<'_>) -> Vec<Violation> {
    let Settings::Resources(required) = settings else { return Vec::new() };
    let Some(pod) = &workload.pod else { return Vec::new() };
    pod.containers()
        .iter()
        .filter(|c| c.list != "ephemeralContainers")
        .filter_map(|c| {
            let requests = c.resources.and_then(|r| r.requests.as_ref());
            let missing: Vec<&str> = required
                .iter()
                .filter(|name| !requests.is_some_and(|r| r.contains_key(name.as_str())))
                .map(String::as_str)
                .collect();
            (!missing.is_empty()).then(|| {
                let list = missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ");
                violation(
                    Some(c.name),
                    pod.container_path(c).key("resources").key("requests"),
                    format!(
                        "container \"{}\" requests no {list}; required: resources.requests for {}",
                        c.name,
                        required.join(", ")
                    ),
                    format!(
                        "set resources.requests.{} in container \"{}\"",
                        missing.join(" and resources.requests."),
                        c.name
                    ),
                )
            })
        })
        .collect()
}

fn run_as_non_root(workload: &Workload<'_>) -> Vec<Violation> {
    let Some(pod) = &workload.pod else { return Vec::new() };
    let pod_value = pod.spec.security_context.as_ref().and_then(|s| s.run_as_non_root);
    let mut out = Vec::new();
    if pod_value == Some(false) {
        out.push(violation(
            None,
            pod.spec_path().key("securityContext").key("runAsNonRoot"),
            "spec.securityContext.runAsNonRoot is false; required: true".to_owned(),
            "set spec.securityContext.runAsNonRoot: true".to_owned(),
        ));
    }
    for c in &pod.containers() {
        let value = c.security_context.and_then(|s: &SecurityContext| s.run_as_non_root);
        let ok = value == Some(true) || (value.is_none() && pod_value == Some(true));
        if !ok {
            out.push(violation(
                Some(c.name),
                pod.container_path(c).key("securityContext").key("runAsNonRoot"),
                format!(
                    "container \"{}\": securityContext.runAsNonRoot is {} and the pod's is {}; required: true on the container or on the pod",
                    c.name,
                    show_bool(value),
                    show_bool(pod_value)
                ),
                format!("set spec.securityContext.runAsNonRoot: true (and do not set it to false in container \"{}\")", c.name),
            ));
        }
    }
    out
}

fn seccomp_ok(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

fn seccomp(workload: &Workload<'_>) -> Vec<Violation> {
    let Some(pod) = &workload.pod else { return Vec::new() };
    let pod_type =
        pod.spec.security_context.as_ref().and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
    let mut out = Vec::new();
    if let Some(t) = pod_type.filter(|t| !seccomp_ok(t)) {
        out.push(violation(
            None,
            pod.spec_path().key("securityContext").key("seccompProfile").key("type"),
            format!(
                "spec.securityContext.seccompProfile.type is \"{t}\"; required: \"RuntimeDefault\" or \"Localhost\""
            ),
            "set spec.securityContext.seccompProfile.type: RuntimeDefault".to_owned(),
        ));
    }
    for c in &pod.containers() {
        let own = c.security_context.and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
        let problem = match own {
            Some(t) if !seccomp_ok(t) => Some(format!("securityContext.seccompProfile.type is \"{t}\"")),
            Some(_) => None,
            None if pod_type.is_some_and(seccomp_ok) => None,
            None => Some("sets no seccomp profile and neither does the pod".to_owned()),
        };
        if let Some(problem) = problem {
            out.push(violation(
                Some(c.name),
                pod.container_path(c).key("securityContext").key("seccompProfile").key("type"),
                format!("container \"{}\" {problem}; required: \"RuntimeDefault\" or \"Localhost\" on the container or the pod", c.name),
                "set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod".to_owned(),
            ));
        }
    }
    out
}

/// Whether a normalised image name (`registry/repository`) is under an allowed registry entry.
///
/// An entry ending in `/` is a prefix (`ghcr.io/acme/`); an entry with `*` is a glob; any other entry
/// is a registry host or repository that must match exactly or as a path prefix (`ghcr.io` allows
/// `ghcr.io/acme/api`, never `ghcr.io.evil.com/x`).
#[must_use]
pub fn registry_allowed(name: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        if entry.contains('*') {
            super::document::Pattern::new(entry).is_ok_and(|p| p.matches(name))
        } else if entry.ends_with('/') {
            name.starts_with(entry.as_str())
        } else {
            name == entry || name.strip_prefix(entry.as_str()).is_some_and(|rest| rest.starts_with('/'))
        }
    })
}

fn image_rule(rule: RuleId, settings: &Settings, workload: &Workload<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (site, pin) in workload.images.iter().zip(&workload.pins) {
        let who = site
            .container
            .as_deref()
            .map_or_else(|| format!("image at {}", site.path), |c| format!("container \"{c}\""));
        let base = Violation {
            container: site.container.clone(),
            image: Some(site.image.clone()),
            path: site.path.clone(),
            message: String::new(),
            fix: String::new(),
            undecidable: false,
        };
        let reference: ImageRef = match site.image.parse() {
            Ok(r) => r,
            Err(e) => {
                out.push(Violation {
                    message: format!("{who}: {e}; cannot decide {rule}"),
                    fix: "write a valid image reference: [registry[:port]/]repository[:tag][@sha256:<64 hex>]"
                        .to_owned(),
                    undecidable: true,
                    ..base
                });
                continue;
            }
        };
        let problem = match rule {
            RuleId::RequireImageDigest if !reference.is_pinned() => match pin {
                // The resolved digest is what gets written back: the applied manifest is pinned.
                Pin::Pinned(_) if workload.rewrite != Rewrite::None => None,
                Pin::Pinned(digest) => Some((
                    format!(
                        "{who}: image \"{}\" resolved to {digest} but the policy's rewrite is none, so the applied manifest keeps the tag; required: name[:tag]@sha256:<digest>",
                        site.image
                    ),
                    format!("set rewrite: tag-and-digest (or digest), or pin the image: {}@{digest}", site.image),
                )),
                _ => Some((
                    format!(
                        "{who}: image \"{}\" is not pinned to a digest; required: name[:tag]@sha256:<digest>",
                        site.image
                    ),
                    format!("pin the image by digest: {}@sha256:<digest>", site.image),
                )),
            },
            RuleId::DisallowLatestTag if reference.is_latest() => Some((
                match reference.tag() {
                    Some(_) => format!(
                        "{who}: image \"{}\" uses the latest tag; required: an explicit version tag",
                        site.image
                    ),
                    None => format!(
                        "{who}: image \"{}\" has no tag, which means latest; required: an explicit version tag",
                        site.image
                    ),
                },
                format!("use a version tag, e.g. {}:1.2.3", reference.name()),
            )),
            RuleId::AllowedRegistries => match settings {
                Settings::Registries(allowed) if !registry_allowed(reference.name(), allowed) => Some((
                    format!(
                        "{who}: image \"{}\" ({}) is not from an allowed registry; allowed: {}",
                        site.image,
                        reference.name(),
                        allowed.join(", ")
                    ),
                    format!("push or mirror the image to one of {} and reference it there", allowed.join(", ")),
                )),
                _ => None,
            },
            _ => None,
        };
        if let Some((message, fix)) = problem {
            out.push(Violation { message, fix, ..base });
        }
    }
    out
}

#[cfg(test)]
mod tests;
