//! Owns the Kubernetes Pod Security Standards (baseline and restricted) as Pod Security Admission
//! (PSA) evaluates them: check ids, per-version revisions and overrides, verdicts, and PSA's exact
//! reason/detail messages, plus per-setter [`Site`]s for reports. Pure: no I/O.
//!
//! The reference is `shared/reference/pss.md` (PSA of Kubernetes 1.35/1.36, where `latest` means the
//! v1.35 rules). Behaviour that PSA builds changed without a new revision is taken from current PSA at
//! every version: AppArmor fields are checked (PSA >= 1.30) and `image` volumes are allowed
//! (PSA >= 1.33); the `hostUsers: false` relaxation applies only from v1.35 (PSA >= 1.35).
//!
//! # API defaults
//!
//! PSA sees objects after API defaulting. [`evaluate`] applies, on a copy, the two defaults that change
//! verdicts:
//! - a volume with no source becomes an `emptyDir` volume;
//! - with `hostNetwork: true`, every `containers`/`initContainers` port whose `hostPort` is unset (or `0`)
//!   gets `hostPort = containerPort`. Since Kubernetes 1.28 the API server applies this default only to
//!   Pods, not to pod templates, so PSA's warning on a workload would not mention it; we apply it
//!   anyway because the Pods the controller creates are defaulted and enforced.
//!
//! # Validation is not emulated
//!
//! API validation rejects some objects before PSA ever sees them, and we do not emulate it; such
//! objects are evaluated as PSA would evaluate them if they got through. Examples: `seccompProfile: {}`
//! or an AppArmor profile without `type`, `localhostProfile` missing for `Localhost`, Linux-only fields
//! (`seLinuxOptions`, `seccompProfile`, `procMount`, ...) on a pod with `spec.os.name: windows`,
//! `hostProcess` without `hostNetwork`, ports on ephemeral containers, duplicate container or volume
//! names, volumes with several sources, negative or out-of-range ports, and malformed sysctl names.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EphemeralContainer, HTTPGetAction, Lifecycle, PodSecurityContext,
    PodSpec, Probe, SELinuxOptions, SecurityContext, TCPSocketAction, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

// ---------------------------------------------------------------------------------------------
// Levels and versions
// ---------------------------------------------------------------------------------------------

/// A Pod Security Standards level that runs checks (`privileged` runs none and is not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Prevents known privilege escalations; minimally restrictive.
    Baseline,
    /// Hardening best practices; includes every baseline check that no restricted check overrides.
    Restricted,
}

impl Level {
    /// The level's name as used in namespace labels and PSA messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that is not `baseline` or `restricted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Pod Security level {0:?}: must be \"baseline\" or \"restricted\"")]
pub struct ParseLevelError(String);

impl FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(ParseLevelError(s.to_owned())),
        }
    }
}

/// Every policy version at which some check gained a revision; the last entry is what `latest`
/// means. This is the set of rules of PSA in Kubernetes 1.35 and 1.36 (1.36 added no revision).
///
/// - v1.0: every baseline check except `hostProbesAndHostLifecycle`; `restrictedVolumes`, `runAsNonRoot`
/// - v1.8: `allowPrivilegeEscalation`
/// - v1.19: seccomp moves from annotations to fields; `seccompProfile_restricted`
/// - v1.22: `capabilities_restricted`
/// - v1.23: `runAsUser`
/// - v1.25: Windows exemptions in restricted
/// - v1.27, v1.29, v1.32: more safe sysctls
/// - v1.31: SELinux type `container_engine_t`
/// - v1.34: `hostProbesAndHostLifecycle`
/// - v1.35: `hostUsers: false` relaxations; `procMount_restricted`
///
/// Not included: the v1.37 sysctls revision (`net.ipv4.tcp_slow_start_after_idle`,
/// `net.ipv4.tcp_notsent_lowat`) that exists only on PSA's unreleased `master`.
const REVISIONS: &[u32] = &[0, 8, 19, 22, 23, 25, 27, 29, 31, 32, 34, 35];

/// The minor version that `latest` stands for.
const LATEST_MINOR: u32 = REVISIONS[REVISIONS.len() - 1];

/// A Pod Security Standards policy version: `latest` or `v1.N`.
///
/// The requested version is kept for display (PSA messages name the requested version, e.g.
/// `v1.99`), while [`Version::minor`] gives the rules that are evaluated: a version above
/// [`Version::LATEST`] is lowered to it, as PSA does. `Version::LATEST` and `Version::v1(35)` evaluate
/// the same rules but are different values (they display differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(Requested);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Requested {
    Latest,
    Minor(u32),
}

impl Version {
    /// `latest`: the newest rules known here (v1.35, the rules of Kubernetes 1.35 and 1.36).
    pub const LATEST: Version = Version(Requested::Latest);

    /// The version `v1.<minor>` (lowered to [`Version::LATEST`]'s rules when newer).
    #[must_use]
    pub const fn v1(minor: u32) -> Self {
        Version(Requested::Minor(minor))
    }

    /// The minor version whose rules are evaluated: the requested minor, capped at the latest one.
    #[must_use]
    pub const fn minor(self) -> u32 {
        match self.0 {
            Requested::Latest => LATEST_MINOR,
            Requested::Minor(m) if m > LATEST_MINOR => LATEST_MINOR,
            Requested::Minor(m) => m,
        }
    }

    /// Whether this is the literal `latest`.
    #[must_use]
    pub const fn is_latest(self) -> bool {
        matches!(self.0, Requested::Latest)
    }
}

impl Default for Version {
    fn default() -> Self {
        Version::LATEST
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Requested::Latest => f.write_str("latest"),
            Requested::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// Error for a string that is neither `latest` nor matches `^v1\.([0-9]|[1-9][0-9]*)$`.
///
/// PSA evaluates such a label as `latest` and records this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Pod Security version {0:?}: must be \"latest\" or \"v1.x\"")]
pub struct ParseVersionError(String);

impl FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::LATEST);
        }
        let err = || ParseVersionError(s.to_owned());
        let digits = s.strip_prefix("v1.").ok_or_else(err)?;
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits.len() == 1 || !digits.starts_with('0'));
        if !well_formed {
            return Err(err());
        }
        // Go's strconv.Atoi fails above i64::MAX; anything newer than latest evaluates as latest.
        let minor = digits.parse::<i64>().map_err(|_| err())?;
        Ok(Version::v1(u32::try_from(minor).unwrap_or(u32::MAX)))
    }
}

// ---------------------------------------------------------------------------------------------
// Public result types
// ---------------------------------------------------------------------------------------------

/// Static description of one PSA check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// PSA's check id, e.g. `capabilities_restricted`.
    pub id: &'static str,
    /// The level that introduces the check.
    pub level: Level,
    /// One line on what the check forbids.
    pub summary: &'static str,
    /// How to fix a violation, in one or two sentences.
    pub help: &'static str,
}

/// The result of one check that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The check id (one of [`CHECKS`]).
    pub check: &'static str,
    /// `None` when the pod passes the check.
    pub violation: Option<Violation>,
}

/// A failed check, phrased as PSA phrases it, plus one [`Site`] per offending setter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// PSA's reason, e.g. `allowPrivilegeEscalation != false`.
    pub reason: &'static str,
    /// PSA's exact aggregated detail for the whole pod (empty when PSA gives none).
    pub detail: String,
    /// One entry per offending setter (field, annotation or volume).
    pub sites: Vec<Site>,
}

/// One offending setter of a [`Violation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The container's name; `None` for pod-level, annotation and volume sites.
    pub container: Option<String>,
    /// Field path relative to the pod (template) root, e.g.
    /// `spec.containers[0].securityContext.privileged` or
    /// `metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]`.
    pub path: String,
    /// What was found, e.g. `true`, `unset`, `"Unconfined"`, `["NET_ADMIN"]`, `hostPath`.
    pub found: String,
    /// What is required, e.g. `false or unset`.
    pub required: String,
    /// PSA-phrased detail for just this setter.
    pub detail: String,
}

// ---------------------------------------------------------------------------------------------
// Check table
// ---------------------------------------------------------------------------------------------

/// A check function; the `u32` is the minimum version of the revision being run.
type CheckFn = fn(&Pod<'_>, u32) -> Option<Violation>;

/// One revision of a check: from `since` on (until the next revision), `run` decides.
struct Revision {
    since: u32,
    /// Baseline check ids that this (restricted) revision replaces.
    overrides: &'static [&'static str],
    run: CheckFn,
}

/// A check and its revisions, in increasing `since` order.
struct Rule {
    info: CheckInfo,
    revisions: &'static [Revision],
}

const fn rev(since: u32, run: CheckFn) -> Revision {
    Revision { since, overrides: &[], run }
}

const fn rev_overriding(since: u32, overrides: &'static [&'static str], run: CheckFn) -> Revision {
    Revision { since, overrides, run }
}

/// Every check in PSA order: baseline ids byte-sorted, then restricted ids byte-sorted.
const RULES: &[Rule] = &[
    Rule {
        info: CheckInfo {
            id: "appArmorProfile",
            level: Level::Baseline,
            summary: "AppArmor profile must not be disabled or overridden with an unconfined profile",
            help: "Remove the AppArmor profile or set appArmorProfile.type to RuntimeDefault or Localhost; \
                   AppArmor annotations must be empty, \"runtime/default\" or \"localhost/<profile>\".",
        },
        revisions: &[rev(0, app_armor_profile)],
    },
    Rule {
        info: CheckInfo {
            id: "capabilities_baseline",
            level: Level::Baseline,
            summary: "containers must not add capabilities beyond the default set",
            help: "Remove capabilities outside the default set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, \
                   KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) from \
                   securityContext.capabilities.add.",
        },
        revisions: &[rev(0, capabilities_baseline)],
    },
    Rule {
        info: CheckInfo {
            id: "hostNamespaces",
            level: Level::Baseline,
            summary: "pods must not share the host network, PID or IPC namespace",
            help: "Remove hostNetwork, hostPID and hostIPC from the pod spec, or set them to false.",
        },
        revisions: &[rev(0, host_namespaces)],
    },
    Rule {
        info: CheckInfo {
            id: "hostPathVolumes",
            level: Level::Baseline,
            summary: "pods must not use hostPath volumes",
            help: "Replace hostPath volumes with emptyDir, configMap, secret, projected or \
                   persistentVolumeClaim volumes.",
        },
        revisions: &[rev(0, host_path_volumes)],
    },
    Rule {
        info: CheckInfo {
            id: "hostPorts",
            level: Level::Baseline,
            summary: "containers must not bind host ports",
            help: "Remove hostPort from the container ports (or set it to 0) and expose the port through a \
                   Service; with hostNetwork: true every port is a host port.",
        },
        revisions: &[rev(0, host_ports)],
    },
    Rule {
        info: CheckInfo {
            id: "hostProbesAndHostLifecycle",
            level: Level::Baseline,
            summary: "probes and lifecycle handlers must not target a host other than the pod",
            help: "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers so they \
                   target the pod's own IP (localhost is not allowed either).",
        },
        revisions: &[rev(34, host_probes_and_host_lifecycle)],
    },
    Rule {
        info: CheckInfo {
            id: "privileged",
            level: Level::Baseline,
            summary: "containers must not run privileged",
            help: "Remove securityContext.privileged or set it to false; grant only the specific capabilities \
                   the container needs.",
        },
        revisions: &[rev(0, privileged)],
    },
    Rule {
        info: CheckInfo {
            id: "procMount",
            level: Level::Baseline,
            summary: "containers must keep the default /proc masks",
            help: "Remove securityContext.procMount or set it to Default (from v1.35 baseline allows any value \
                   when the pod sets hostUsers: false).",
        },
        revisions: &[rev(0, proc_mount_baseline), rev(35, proc_mount_baseline)],
    },
    Rule {
        info: CheckInfo {
            id: "seLinuxOptions",
            level: Level::Baseline,
            summary: "SELinux type is restricted and custom SELinux user or role is forbidden",
            help: "Remove seLinuxOptions.user and seLinuxOptions.role, and leave seLinuxOptions.type unset or use \
                   container_t, container_init_t, container_kvm_t or (from v1.31) container_engine_t.",
        },
        revisions: &[rev(0, se_linux_options), rev(31, se_linux_options)],
    },
    Rule {
        info: CheckInfo {
            id: "seccompProfile_baseline",
            level: Level::Baseline,
            summary: "seccomp must not be disabled",
            help: "Remove the seccomp profile or set seccompProfile.type to RuntimeDefault or Localhost \
                   (before v1.19: seccomp annotations must be runtime/default, docker/default or localhost/*).",
        },
        revisions: &[rev(0, seccomp_profile_baseline), rev(19, seccomp_profile_baseline)],
    },
    Rule {
        info: CheckInfo {
            id: "sysctls",
            level: Level::Baseline,
            summary: "pods may set only the safe, namespaced sysctls",
            help: "Remove sysctls outside the safe set from spec.securityContext.sysctls, or set them on the node \
                   instead.",
        },
        revisions: &[rev(0, sysctls), rev(27, sysctls), rev(29, sysctls), rev(32, sysctls)],
    },
    Rule {
        info: CheckInfo {
            id: "windowsHostProcess",
            level: Level::Baseline,
            summary: "Windows pods must not run as HostProcess containers",
            help: "Remove securityContext.windowsOptions.hostProcess from the pod and its containers, or set it \
                   to false.",
        },
        revisions: &[rev(0, windows_host_process)],
    },
    Rule {
        info: CheckInfo {
            id: "allowPrivilegeEscalation",
            level: Level::Restricted,
            summary: "containers must not allow privilege escalation",
            help: "Set securityContext.allowPrivilegeEscalation: false on every container, init container and \
                   ephemeral container.",
        },
        revisions: &[rev(8, allow_privilege_escalation), rev(25, allow_privilege_escalation)],
    },
    Rule {
        info: CheckInfo {
            id: "capabilities_restricted",
            level: Level::Restricted,
            summary: "containers must drop ALL capabilities and may add only NET_BIND_SERVICE",
            help: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add back at most \
                   NET_BIND_SERVICE.",
        },
        revisions: &[
            rev_overriding(22, &["capabilities_baseline"], capabilities_restricted),
            rev_overriding(25, &["capabilities_baseline"], capabilities_restricted),
        ],
    },
    Rule {
        info: CheckInfo {
            id: "procMount_restricted",
            level: Level::Restricted,
            summary: "containers must keep the default /proc masks, even in a user namespace",
            help: "Remove securityContext.procMount or set it to Default; restricted allows no other value even \
                   with hostUsers: false.",
        },
        revisions: &[rev_overriding(35, &["procMount"], proc_mount_restricted)],
    },
    Rule {
        info: CheckInfo {
            id: "restrictedVolumes",
            level: Level::Restricted,
            summary: "pods may use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, \
                      persistentVolumeClaim, projected and secret volumes",
            help: "Replace other volume types with one of the allowed types, typically a persistentVolumeClaim \
                   backed by a StorageClass.",
        },
        revisions: &[rev_overriding(0, &["hostPathVolumes"], restricted_volumes)],
    },
    Rule {
        info: CheckInfo {
            id: "runAsNonRoot",
            level: Level::Restricted,
            summary: "containers must run as non-root users",
            help: "Set securityContext.runAsNonRoot: true on the pod (or on every container) and do not set it to \
                   false anywhere; the image must run as a non-zero UID.",
        },
        revisions: &[rev(0, run_as_non_root), rev(35, run_as_non_root)],
    },
    Rule {
        info: CheckInfo {
            id: "runAsUser",
            level: Level::Restricted,
            summary: "pods and containers must not set runAsUser to 0",
            help: "Remove runAsUser: 0 from the pod and container securityContexts or use a non-zero UID.",
        },
        revisions: &[rev(23, run_as_user), rev(35, run_as_user)],
    },
    Rule {
        info: CheckInfo {
            id: "seccompProfile_restricted",
            level: Level::Restricted,
            summary: "a seccomp profile must be set to RuntimeDefault or Localhost",
            help: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod (or Localhost with a \
                   localhostProfile), and do not set Unconfined anywhere.",
        },
        revisions: &[
            rev_overriding(19, &["seccompProfile_baseline"], seccomp_profile_restricted),
            rev_overriding(25, &["seccompProfile_baseline"], seccomp_profile_restricted),
        ],
    },
];

const CHECK_COUNT: usize = RULES.len();

const CHECK_INFOS: [CheckInfo; CHECK_COUNT] = {
    let mut out = [RULES[0].info; CHECK_COUNT];
    let mut i = 0;
    while i < CHECK_COUNT {
        out[i] = RULES[i].info;
        i += 1;
    }
    out
};

/// All 19 PSA checks, in PSA order (baseline ids byte-sorted, then restricted ids byte-sorted).
pub const CHECKS: &[CheckInfo] = &CHECK_INFOS;

/// The revision of `rule` in force at `minor`, if the check exists at that version.
fn active_revision(rule: &'static Rule, minor: u32) -> Option<&'static Revision> {
    rule.revisions.iter().rev().find(|r| r.since <= minor)
}

/// The checks that run at `level` and evaluated minor version, with their revisions, in PSA order.
fn plan(level: Level, minor: u32) -> Vec<(&'static Rule, &'static Revision)> {
    let overridden: Vec<&str> = match level {
        Level::Baseline => Vec::new(),
        Level::Restricted => RULES
            .iter()
            .filter(|r| r.info.level == Level::Restricted)
            .filter_map(|r| active_revision(r, minor))
            .flat_map(|r| r.overrides.iter().copied())
            .collect(),
    };
    RULES
        .iter()
        .filter(|r| level == Level::Restricted || r.info.level == Level::Baseline)
        .filter(|r| !overridden.contains(&r.info.id))
        .filter_map(|r| active_revision(r, minor).map(|v| (r, v)))
        .collect()
}

/// The ids of the checks that run at `level` and `version` after overrides, in PSA order.
#[must_use]
pub fn checks_for(level: Level, version: Version) -> Vec<&'static str> {
    plan(level, version.minor()).into_iter().map(|(rule, _)| rule.info.id).collect()
}

/// Evaluates a pod (or pod template) against `level` at `version`: one outcome per check that runs,
/// in [`checks_for`] order. API defaults are applied to a copy first (see the module docs).
#[must_use]
pub fn evaluate(level: Level, version: Version, metadata: &ObjectMeta, spec: &PodSpec) -> Vec<CheckOutcome> {
    let spec = with_api_defaults(spec);
    let pod = Pod::new(metadata, &spec);
    plan(level, version.minor())
        .into_iter()
        .map(|(rule, revision)| CheckOutcome { check: rule.info.id, violation: (revision.run)(&pod, revision.since) })
        .collect()
}

/// PSA's message for the failed outcomes, e.g.
/// `violates PodSecurity "restricted:latest": reason (detail), reason (detail)`;
/// `None` when every outcome passed. `version_label` is the requested version as displayed
/// (`latest`, `v1.29`), not the lowered one.
#[must_use]
pub fn psa_message(level: Level, version_label: &str, outcomes: &[CheckOutcome]) -> Option<String> {
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.violation.as_ref())
        .map(|v| if v.detail.is_empty() { v.reason.to_owned() } else { format!("{} ({})", v.reason, v.detail) })
        .collect();
    if failures.is_empty() {
        return None;
    }
    Some(format!("violates PodSecurity {}: {}", go_quote(&format!("{level}:{version_label}")), failures.join(", ")))
}

// ---------------------------------------------------------------------------------------------
// Data tables
// ---------------------------------------------------------------------------------------------

/// From this version, `allowPrivilegeEscalation`, `capabilities_restricted` and
/// `seccompProfile_restricted` pass pods with `spec.os.name: windows`.
const WINDOWS_EXEMPTION_SINCE: u32 = 25;

/// From this version, `hostUsers: false` relaxes `runAsNonRoot`, `runAsUser` and baseline `procMount`
/// (never `procMount_restricted`).
const USER_NAMESPACE_RELAXATION_SINCE: u32 = 35;

/// From this version, baseline seccomp reads the fields and ignores the legacy annotations.
const SECCOMP_FIELDS_SINCE: u32 = 19;

/// Capabilities baseline allows in `capabilities.add`.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The only capability restricted allows in `capabilities.add`.
const RESTRICTED_ADD_CAPABILITY: &str = "NET_BIND_SERVICE";

/// Safe sysctls and the version that allows them. PSA `master` adds
/// `net.ipv4.tcp_slow_start_after_idle` and `net.ipv4.tcp_notsent_lowat` at the unreleased v1.37.
const SAFE_SYSCTLS: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

/// SELinux types baseline allows and the version that allows them (`""` means unset).
const SELINUX_TYPES: &[(&str, u32)] =
    &[("", 0), ("container_t", 0), ("container_init_t", 0), ("container_kvm_t", 0), ("container_engine_t", 31)];

type VolumeProbe = fn(&Volume) -> bool;

/// Volume sources restricted allows.
const ALLOWED_VOLUME_SOURCES: &[(&str, VolumeProbe)] = &[
    ("configMap", |v| v.config_map.is_some()),
    ("csi", |v| v.csi.is_some()),
    ("downwardAPI", |v| v.downward_api.is_some()),
    ("emptyDir", |v| v.empty_dir.is_some()),
    ("ephemeral", |v| v.ephemeral.is_some()),
    ("image", |v| v.image.is_some()),
    ("persistentVolumeClaim", |v| v.persistent_volume_claim.is_some()),
    ("projected", |v| v.projected.is_some()),
    ("secret", |v| v.secret.is_some()),
];

/// Volume sources restricted forbids, in the order PSA names a volume's type by.
const RESTRICTED_VOLUME_SOURCES: &[(&str, VolumeProbe)] = &[
    ("hostPath", |v| v.host_path.is_some()),
    ("gcePersistentDisk", |v| v.gce_persistent_disk.is_some()),
    ("awsElasticBlockStore", |v| v.aws_elastic_block_store.is_some()),
    ("gitRepo", |v| v.git_repo.is_some()),
    ("nfs", |v| v.nfs.is_some()),
    ("iscsi", |v| v.iscsi.is_some()),
    ("glusterfs", |v| v.glusterfs.is_some()),
    ("rbd", |v| v.rbd.is_some()),
    ("flexVolume", |v| v.flex_volume.is_some()),
    ("cinder", |v| v.cinder.is_some()),
    ("cephfs", |v| v.cephfs.is_some()),
    ("flocker", |v| v.flocker.is_some()),
    ("fc", |v| v.fc.is_some()),
    ("azureFile", |v| v.azure_file.is_some()),
    ("vsphereVolume", |v| v.vsphere_volume.is_some()),
    ("quobyte", |v| v.quobyte.is_some()),
    ("azureDisk", |v| v.azure_disk.is_some()),
    ("photonPersistentDisk", |v| v.photon_persistent_disk.is_some()),
    ("portworxVolume", |v| v.portworx_volume.is_some()),
    ("scaleIO", |v| v.scale_io.is_some()),
    ("storageos", |v| v.storageos.is_some()),
];

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

const FALSE_OR_UNSET: &str = "false or unset";
const VALID_PROFILE_TYPES: &str = "\"RuntimeDefault\" or \"Localhost\"";

// ---------------------------------------------------------------------------------------------
// Defaults and pod view
// ---------------------------------------------------------------------------------------------

fn volume_has_source(volume: &Volume) -> bool {
    ALLOWED_VOLUME_SOURCES.iter().chain(RESTRICTED_VOLUME_SOURCES).any(|(_, has)| has(volume))
}

fn needs_host_port_default(port: &ContainerPort) -> bool {
    port.host_port.unwrap_or(0) == 0
}

/// `spec` with the API defaults that change PSA verdicts (see the module docs).
fn with_api_defaults(spec: &PodSpec) -> Cow<'_, PodSpec> {
    let default_volumes = spec.volumes.iter().flatten().any(|v| !volume_has_source(v));
    let default_ports = spec.host_network == Some(true)
        && spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .flat_map(|c| c.ports.iter().flatten())
            .any(needs_host_port_default);
    if !default_volumes && !default_ports {
        return Cow::Borrowed(spec);
    }
    let mut spec = spec.clone();
    for volume in spec.volumes.iter_mut().flatten() {
        if !volume_has_source(volume) {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
        }
    }
    if default_ports {
        let containers = spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut());
        for port in containers.flat_map(|c| c.ports.iter_mut().flatten()) {
            if needs_host_port_default(port) {
                port.host_port = Some(port.container_port);
            }
        }
    }
    Cow::Owned(spec)
}

/// The parts of a container, init container or ephemeral container that checks read.
struct Ctr<'a> {
    name: &'a str,
    /// Path of the container, e.g. `spec.initContainers[1]`.
    path: String,
    sc: Option<&'a SecurityContext>,
    ports: &'a [ContainerPort],
    probes: [(&'static str, Option<&'a Probe>); 3],
    lifecycle: Option<&'a Lifecycle>,
}

/// A [`Ctr`] at `$path` read from `$c`, a `Container` or an `EphemeralContainer` (distinct types whose
/// fields that checks read have the same names).
macro_rules! ctr_of {
    ($c:expr, $path:expr) => {{
        let c = $c;
        Ctr {
            name: &c.name,
            path: $path,
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [
                ("livenessProbe", c.liveness_probe.as_ref()),
                ("readinessProbe", c.readiness_probe.as_ref()),
                ("startupProbe", c.startup_probe.as_ref()),
            ],
            lifecycle: c.lifecycle.as_ref(),
        }
    }};
}

impl<'a> Ctr<'a> {
    fn from_container(field: &str, index: usize, c: &'a Container) -> Self {
        ctr_of!(c, format!("spec.{field}[{index}]"))
    }

    fn from_ephemeral(index: usize, c: &'a EphemeralContainer) -> Self {
        ctr_of!(c, format!("spec.ephemeralContainers[{index}]"))
    }

    fn site(&self, field: &str, found: String, required: &str, detail: String) -> Site {
        Site {
            container: Some(self.name.to_owned()),
            path: format!("{}.{field}", self.path),
            found,
            required: required.to_owned(),
            detail,
        }
    }

    /// `container "name"`, the setter phrase for this container alone.
    fn setter(&self) -> String {
        containers_phrase(&[self.name])
    }
}

/// The (defaulted) pod as checks see it, with containers in PSA visit order.
struct Pod<'a> {
    meta: &'a ObjectMeta,
    spec: &'a PodSpec,
    containers: Vec<Ctr<'a>>,
}

impl<'a> Pod<'a> {
    fn new(meta: &'a ObjectMeta, spec: &'a PodSpec) -> Self {
        let init = spec.init_containers.iter().flatten().enumerate();
        let regular = spec.containers.iter().enumerate();
        let ephemeral = spec.ephemeral_containers.iter().flatten().enumerate();
        let containers = init
            .map(|(i, c)| Ctr::from_container("initContainers", i, c))
            .chain(regular.map(|(i, c)| Ctr::from_container("containers", i, c)))
            .chain(ephemeral.map(|(i, c)| Ctr::from_ephemeral(i, c)))
            .collect();
        Pod { meta, spec, containers }
    }

    fn pod_sc(&self) -> Option<&'a PodSecurityContext> {
        self.spec.security_context.as_ref()
    }

    fn is_windows(&self) -> bool {
        self.spec.os.as_ref().is_some_and(|os| os.name == "windows")
    }

    /// `hostUsers` explicitly `false`: the pod runs in a user namespace.
    fn in_user_namespace(&self) -> bool {
        self.spec.host_users == Some(false)
    }

    /// Whether revision `rev` of `allowPrivilegeEscalation`, `capabilities_restricted` or
    /// `seccompProfile_restricted` passes this pod for being a Windows pod.
    fn windows_exempt(&self, rev: u32) -> bool {
        rev >= WINDOWS_EXEMPTION_SINCE && self.is_windows()
    }

    /// Whether `hostUsers: false` lets this pod pass revision `rev` of `runAsNonRoot`, `runAsUser` or
    /// baseline `procMount`.
    fn user_namespace_relaxes(&self, rev: u32) -> bool {
        rev >= USER_NAMESPACE_RELAXATION_SINCE && self.in_user_namespace()
    }

    /// Who sets one `securityContext` field and to what, in PSA order: the pod (read with `of_pod`), then
    /// the containers in visit order (read with `of_container`). Setters that leave the field unset are
    /// skipped.
    fn security_context_values<'p, T>(
        &'p self,
        of_pod: impl FnOnce(&'a PodSecurityContext) -> Option<T>,
        of_container: impl Fn(&'a SecurityContext) -> Option<T>,
    ) -> impl Iterator<Item = (Setter<'p>, T)> {
        let pod = self.pod_sc().and_then(of_pod).map(|value| (Setter::Pod, value));
        pod.into_iter().chain(self.container_values(of_container))
    }

    /// Like [`Pod::security_context_values`], for the containers alone.
    fn container_values<'p, T>(
        &'p self,
        of_container: impl Fn(&'a SecurityContext) -> Option<T>,
    ) -> impl Iterator<Item = (Setter<'p>, T)> {
        self.containers.iter().filter_map(move |c| Some((Setter::Container(c), c.sc.and_then(&of_container)?)))
    }

    /// Each container that leaves one `securityContext` field (read with `of_container`) unset, with the
    /// found value `unset`.
    fn unset_in_containers<'p, T>(
        &'p self,
        of_container: impl Fn(&'a SecurityContext) -> Option<T>,
    ) -> impl Iterator<Item = (Setter<'p>, String)> {
        self.containers
            .iter()
            .filter(move |c| c.sc.and_then(&of_container).is_none())
            .map(|c| (Setter::Container(c), "unset".to_owned()))
    }

    fn annotations(&self) -> impl Iterator<Item = (&'a String, &'a String)> {
        self.meta.annotations.iter().flatten()
    }
}

fn pod_site(field: &str, found: String, required: &str, detail: String) -> Site {
    Site { container: None, path: format!("spec.{field}"), found, required: required.to_owned(), detail }
}

fn annotation_site(key: &str, value: &str, required: &str, detail: String) -> Site {
    Site {
        container: None,
        path: format!("metadata.annotations[{key}]"),
        found: go_quote(value),
        required: required.to_owned(),
        detail,
    }
}

// ---------------------------------------------------------------------------------------------
// Message helpers
// ---------------------------------------------------------------------------------------------

/// PSA's `joinQuote`: `"a", "b"`, without escaping.
fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items.into_iter().map(|s| format!("\"{}\"", s.as_ref())).collect::<Vec<_>>().join(", ")
}

/// A list literal such as `["NET_ADMIN", "SYS_TIME"]`.
fn list_literal<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    format!("[{}]", join_quote(items))
}

fn pluralize(singular: &'static str, plural: &'static str, count: usize) -> &'static str {
    if count == 1 { singular } else { plural }
}

/// `container "a"` or `containers "a", "b"`.
fn containers_phrase(names: &[&str]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

/// PSA's `<subjects> uses <things> <values>`, e.g. `containers "a", "b" use hostPort 80`: the verb agrees
/// with `subject_count`; `things` and `values` come already phrased.
fn uses_phrase(subjects: &str, subject_count: usize, things: &str, values: &str) -> String {
    format!("{subjects} {} {things} {values}", pluralize("uses", "use", subject_count))
}

/// `volume "a"` or `volumes "a", "b"`.
fn volumes_phrase(names: &[&str]) -> String {
    format!("{} {}", pluralize("volume", "volumes", names.len()), join_quote(names))
}

/// Go's `%q` (`strconv.Quote`) for the strings PSA formats with it. Printability is approximated
/// with Unicode control and whitespace classes plus the common invisible format characters.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if go_printable(c) => out.push(c),
            c if u32::from(c) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

fn go_printable(c: char) -> bool {
    let invisible = matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    );
    !(c.is_control() || (c.is_whitespace() && c != ' ') || invisible)
}

fn opt_bool(value: Option<bool>) -> String {
    value.map_or_else(|| "unset".to_owned(), |b| b.to_string())
}

// ---------------------------------------------------------------------------------------------
// Offending setters
// ---------------------------------------------------------------------------------------------

/// Who sets an offending field: the pod or one of its containers.
#[derive(Clone, Copy)]
enum Setter<'p> {
    Pod,
    Container(&'p Ctr<'p>),
}

impl Setter<'_> {
    /// `pod` or `container "name"`: this setter alone, as PSA names it.
    fn phrase(self) -> String {
        match self {
            Setter::Pod => "pod".to_owned(),
            Setter::Container(c) => c.setter(),
        }
    }
}

/// The setters that break one rule, in PSA order (the pod, then containers in visit order), with one
/// [`Site`] per offending field.
#[derive(Default)]
struct Offenders<'p> {
    pod: bool,
    containers: Vec<&'p Ctr<'p>>,
    sites: Vec<Site>,
}

impl<'p> Offenders<'p> {
    /// Records that `setter` sets `field` (a path relative to the setter) to `found`; `detail` is PSA's
    /// detail for this setter alone. A container with several offending fields is named once.
    fn add(&mut self, setter: Setter<'p>, field: &str, found: String, required: &str, detail: String) {
        let site = match setter {
            Setter::Pod => {
                self.pod = true;
                pod_site(field, found, required, detail)
            }
            Setter::Container(c) => {
                if !self.containers.last().is_some_and(|last| std::ptr::eq(*last, c)) {
                    self.containers.push(c);
                }
                c.site(field, found, required, detail)
            }
        };
        self.sites.push(site);
    }

    fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The setters as PSA lists them: `pod`, then `container "a"` or `containers "a", "b"`.
    fn setters(&self) -> Vec<String> {
        let mut setters = Vec::new();
        if self.pod {
            setters.push("pod".to_owned());
        }
        if !self.containers.is_empty() {
            let names: Vec<&str> = self.containers.iter().map(|c| c.name).collect();
            setters.push(containers_phrase(&names));
        }
        setters
    }

    /// The setters joined as PSA joins them, e.g. `pod and containers "a", "b"`.
    fn phrase(&self) -> String {
        self.setters().join(" and ")
    }

    /// `None` when nothing offends; otherwise the violation whose detail is `detail` applied to
    /// [`Offenders::phrase`].
    fn violation(self, reason: &'static str, detail: impl FnOnce(&str) -> String) -> Option<Violation> {
        if self.is_empty() {
            return None;
        }
        Some(Violation { reason, detail: detail(&self.phrase()), sites: self.sites })
    }
}

/// The rule `detail(setters)` for a field that each setter breaks on its own: one site per
/// `(setter, found)`, whose detail is `detail` applied to that setter alone.
fn violation_by_setter<'p>(
    reason: &'static str,
    offending: impl IntoIterator<Item = (Setter<'p>, String)>,
    field: &str,
    required: &str,
    detail: impl Fn(&str) -> String,
) -> Option<Violation> {
    let mut offenders = Offenders::default();
    for (setter, found) in offending {
        offenders.add(setter, field, found, required, detail(&setter.phrase()));
    }
    offenders.violation(reason, detail)
}

/// Who sets a string field to a forbidden value, and the set of those values: one site per setter,
/// finding the quoted value, with the detail `message(setter, "value")`.
fn forbidden_values<'p>(
    set: impl IntoIterator<Item = (Setter<'p>, &'p str)>,
    field: &str,
    required: &str,
    message: impl Fn(&str, &str) -> String,
) -> (Offenders<'p>, BTreeSet<&'p str>) {
    let mut offenders = Offenders::default();
    let mut values = BTreeSet::new();
    for (setter, value) in set {
        values.insert(value);
        offenders.add(setter, field, go_quote(value), required, message(&setter.phrase(), &join_quote([value])));
    }
    (offenders, values)
}

/// `<setters> must not include "A", "B" in securityContext.capabilities.add`.
fn capabilities_add_message(setters: &str, capabilities: &BTreeSet<&str>) -> String {
    format!("{setters} must not include {} in securityContext.capabilities.add", join_quote(capabilities))
}

/// The containers that add capabilities `allowed` rejects (one site each, listing what it adds that is
/// rejected), and every rejected capability.
fn forbidden_capability_adds<'p>(
    pod: &'p Pod<'p>,
    allowed: impl Fn(&str) -> bool,
    required: &str,
) -> (Offenders<'p>, BTreeSet<&'p str>) {
    let mut offenders = Offenders::default();
    let mut forbidden = BTreeSet::new();
    for c in &pod.containers {
        let added = c.sc.and_then(|sc| sc.capabilities.as_ref()).and_then(|caps| caps.add.as_deref());
        let bad: Vec<&str> = added.unwrap_or_default().iter().map(String::as_str).filter(|cap| !allowed(cap)).collect();
        if bad.is_empty() {
            continue;
        }
        let own: BTreeSet<&str> = bad.iter().copied().collect();
        let detail = capabilities_add_message(&c.setter(), &own);
        offenders.add(Setter::Container(c), "securityContext.capabilities.add", list_literal(&bad), required, detail);
        forbidden.extend(own);
    }
    (offenders, forbidden)
}

/// Whether a seccomp or AppArmor profile type is one that every level allows.
fn valid_profile_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

// ---------------------------------------------------------------------------------------------
// Baseline checks
// ---------------------------------------------------------------------------------------------

fn host_namespaces(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let fields =
        [("hostNetwork", pod.spec.host_network), ("hostPID", pod.spec.host_pid), ("hostIPC", pod.spec.host_ipc)];
    let sites: Vec<Site> = fields
        .into_iter()
        .filter(|(_, value)| *value == Some(true))
        .map(|(field, _)| pod_site(field, "true".to_owned(), FALSE_OR_UNSET, format!("{field}=true")))
        .collect();
    if sites.is_empty() {
        return None;
    }
    let detail = sites.iter().map(|s| s.detail.as_str()).collect::<Vec<_>>().join(", ");
    Some(Violation { reason: "host namespaces", detail, sites })
}

fn privileged(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let privileged = pod.container_values(|sc| sc.privileged).filter(|(_, privileged)| *privileged);
    violation_by_setter(
        "privileged",
        privileged.map(|(setter, _)| (setter, "true".to_owned())),
        "securityContext.privileged",
        FALSE_OR_UNSET,
        |setters| format!("{setters} must not set securityContext.privileged=true"),
    )
}

fn capabilities_baseline(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let required = format!("only capabilities from the default set {}", join_quote(BASELINE_CAPABILITIES));
    let (adding, forbidden) = forbidden_capability_adds(pod, |cap| BASELINE_CAPABILITIES.contains(&cap), &required);
    adding.violation("non-default capabilities", |setters| capabilities_add_message(setters, &forbidden))
}

fn host_path_volumes(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let mut names = Vec::new();
    let mut sites = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        if volume.host_path.is_some() {
            names.push(volume.name.as_str());
            sites.push(pod_site(
                &format!("volumes[{i}].hostPath"),
                "hostPath".to_owned(),
                "a volume source other than hostPath",
                volumes_phrase(&[volume.name.as_str()]),
            ));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation { reason: "hostPath volumes", detail: volumes_phrase(&names), sites })
}

fn host_ports(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let mut offenders = Offenders::default();
    let mut ports = BTreeSet::new();
    for c in &pod.containers {
        for (j, port) in c.ports.iter().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            ports.insert(host_port.to_string());
            offenders.add(
                Setter::Container(c),
                &format!("ports[{j}].hostPort"),
                host_port.to_string(),
                "unset or 0",
                format!("{} uses hostPort {host_port}", c.setter()),
            );
        }
    }
    let containers = offenders.containers.len();
    let things = pluralize("hostPort", "hostPorts", ports.len());
    let values = ports.into_iter().collect::<Vec<_>>().join(", ");
    offenders.violation("hostPort", |setters| uses_phrase(setters, containers, things, &values))
}

/// The non-empty `httpGet.host` / `tcpSocket.host` values of a container's probes and lifecycle
/// handlers, as `(field path relative to the container, host)`, in PSA order.
fn probe_and_lifecycle_hosts<'a>(c: &Ctr<'a>) -> Vec<(String, &'a str)> {
    let mut handlers: Vec<(&str, Option<&'a HTTPGetAction>, Option<&'a TCPSocketAction>)> = c
        .probes
        .iter()
        .filter_map(|(field, probe)| probe.map(|p| (*field, p.http_get.as_ref(), p.tcp_socket.as_ref())))
        .collect();
    if let Some(lifecycle) = c.lifecycle {
        let hooks = [
            ("lifecycle.postStart", lifecycle.post_start.as_ref()),
            ("lifecycle.preStop", lifecycle.pre_stop.as_ref()),
        ];
        for (field, hook) in hooks {
            if let Some(h) = hook {
                handlers.push((field, h.http_get.as_ref(), h.tcp_socket.as_ref()));
            }
        }
    }
    let mut hosts = Vec::new();
    for (owner, http_get, tcp_socket) in handlers {
        let pairs = [
            ("httpGet", http_get.and_then(|h| h.host.as_deref())),
            ("tcpSocket", tcp_socket.and_then(|t| t.host.as_deref())),
        ];
        for (kind, host) in pairs {
            if let Some(host) = host.filter(|h| !h.is_empty()) {
                hosts.push((format!("{owner}.{kind}.host"), host));
            }
        }
    }
    hosts
}

fn host_probes_and_host_lifecycle(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    // PSA names these containers sorted and once each, unlike the other container checks.
    let mut names = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut sites = Vec::new();
    for c in &pod.containers {
        for (field, host) in probe_and_lifecycle_hosts(c) {
            names.insert(c.name);
            hosts.insert(host);
            sites.push(c.site(
                &field,
                go_quote(host),
                "unset or \"\"",
                format!("{} uses probe or lifecycle host {}", c.setter(), join_quote([host])),
            ));
        }
    }
    if names.is_empty() {
        return None;
    }
    let names: Vec<&str> = names.into_iter().collect();
    Some(Violation {
        reason: "probe or lifecycle host",
        detail: uses_phrase(
            &containers_phrase(&names),
            names.len(),
            pluralize("probe or lifecycle host", "probe or lifecycle hosts", hosts.len()),
            &join_quote(hosts),
        ),
        sites,
    })
}

fn windows_host_process(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let host_process = pod
        .security_context_values(
            |sc| sc.windows_options.as_ref()?.host_process,
            |sc| sc.windows_options.as_ref()?.host_process,
        )
        .filter(|(_, host_process)| *host_process);
    violation_by_setter(
        "hostProcess",
        host_process.map(|(setter, _)| (setter, "true".to_owned())),
        "securityContext.windowsOptions.hostProcess",
        FALSE_OR_UNSET,
        |setters| format!("{setters} must not set securityContext.windowsOptions.hostProcess=true"),
    )
}

fn app_armor_profile(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    const ANNOTATION_REQUIRED: &str = "\"\", \"runtime/default\" or \"localhost/<profile>\"";
    let message = |setters: &str, values: &str| format!("{setters} must not set AppArmor profile type to {values}");
    let types = pod.security_context_values(
        |sc| sc.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
        |sc| sc.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
    );
    let (fields, bad_types) = forbidden_values(
        types.filter(|(_, t)| !valid_profile_type(t)),
        "securityContext.appArmorProfile.type",
        VALID_PROFILE_TYPES,
        message,
    );

    let allowed_annotation = |v: &str| v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
    let mut annotations: Vec<(String, &str, &str)> = pod
        .annotations()
        .filter(|(k, v)| k.starts_with(APPARMOR_ANNOTATION_PREFIX) && !allowed_annotation(v))
        .map(|(k, v)| (format!("{k}={}", go_quote(v)), k.as_str(), v.as_str()))
        .collect();
    annotations.sort();

    let mut setters = fields.setters();
    if !annotations.is_empty() {
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_owned());
    }
    if setters.is_empty() {
        return None;
    }
    let mut sites = fields.sites;
    for (formatted, key, value) in &annotations {
        sites.push(annotation_site(key, value, ANNOTATION_REQUIRED, message("annotation", &join_quote([formatted]))));
    }
    let values: Vec<&str> =
        bad_types.into_iter().chain(annotations.iter().map(|(formatted, _, _)| formatted.as_str())).collect();
    Some(Violation {
        reason: pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", values.len()),
        detail: message(&setters.join(" and "), &join_quote(&values)),
        sites,
    })
}

/// One bad field of a `seLinuxOptions` object.
struct SeLinuxProblem<'a> {
    field: &'static str,
    value: &'a str,
    /// The detail item, e.g. `type "spc_t"` or `user may not be set`.
    item: String,
}

/// The bad fields of one `seLinuxOptions` object, in PSA order (type, user, role).
fn se_linux_problems<'a>(opts: &'a SELinuxOptions, allowed_types: &[&str]) -> Vec<SeLinuxProblem<'a>> {
    let mut problems = Vec::new();
    let t = opts.type_.as_deref().unwrap_or_default();
    if !allowed_types.contains(&t) {
        problems.push(SeLinuxProblem { field: "type", value: t, item: format!("type {}", join_quote([t])) });
    }
    if let Some(user) = opts.user.as_deref().filter(|u| !u.is_empty()) {
        problems.push(SeLinuxProblem { field: "user", value: user, item: "user may not be set".to_owned() });
    }
    if let Some(role) = opts.role.as_deref().filter(|r| !r.is_empty()) {
        problems.push(SeLinuxProblem { field: "role", value: role, item: "role may not be set".to_owned() });
    }
    problems
}

fn se_linux_options(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const USER_ROLE_REQUIRED: &str = "unset or \"\"";
    let allowed: Vec<&str> = SELINUX_TYPES.iter().filter(|(_, since)| *since <= rev).map(|(t, _)| *t).collect();
    let type_required = format!("unset or one of {}", join_quote(&allowed));
    let message =
        |setters: &str, items: &str| format!("{setters} set forbidden securityContext.seLinuxOptions: {items}");

    let mut offenders = Offenders::default();
    let mut bad_types = BTreeSet::new();
    let mut bad_fields = BTreeSet::new();
    let options = pod.security_context_values(|sc| sc.se_linux_options.as_ref(), |sc| sc.se_linux_options.as_ref());
    for (setter, opts) in options {
        for problem in se_linux_problems(opts, &allowed) {
            bad_fields.insert(problem.field);
            let required = if problem.field == "type" {
                bad_types.insert(problem.value);
                type_required.as_str()
            } else {
                USER_ROLE_REQUIRED
            };
            let field = format!("securityContext.seLinuxOptions.{}", problem.field);
            offenders.add(setter, &field, go_quote(problem.value), required, message(&setter.phrase(), &problem.item));
        }
    }

    let mut items = Vec::new();
    if !bad_types.is_empty() {
        items.push(format!("{} {}", pluralize("type", "types", bad_types.len()), join_quote(&bad_types)));
    }
    if bad_fields.contains("user") {
        items.push("user may not be set".to_owned());
    }
    if bad_fields.contains("role") {
        items.push("role may not be set".to_owned());
    }
    offenders.violation("seLinuxOptions", |setters| message(setters, &items.join("; ")))
}

/// Shared rule of `procMount` and `procMount_restricted`.
fn proc_mount(pod: &Pod<'_>, required: &str) -> Option<Violation> {
    let message = |setters: &str, types: &str| format!("{setters} must not set securityContext.procMount to {types}");
    let set = pod.container_values(|sc| sc.proc_mount.as_deref()).filter(|(_, value)| *value != "Default");
    let (offenders, types) = forbidden_values(set, "securityContext.procMount", required, message);
    offenders.violation("procMount", |setters| message(setters, &join_quote(types)))
}

fn proc_mount_baseline(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if pod.user_namespace_relaxes(rev) {
        return None;
    }
    if rev >= USER_NAMESPACE_RELAXATION_SINCE {
        return proc_mount(pod, "unset or \"Default\" (any value when spec.hostUsers is false)");
    }
    proc_mount(pod, "unset or \"Default\"")
}

fn proc_mount_restricted(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    proc_mount(pod, "unset or \"Default\"")
}

fn seccomp_profile_baseline(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if rev >= SECCOMP_FIELDS_SINCE { seccomp_fields_baseline(pod) } else { seccomp_annotations_baseline(pod) }
}

/// Seccomp by annotation (policy versions before v1.19).
fn seccomp_annotations_baseline(pod: &Pod<'_>) -> Option<Violation> {
    const REQUIRED: &str = "\"runtime/default\", \"docker/default\" or \"localhost/<profile>\"";
    let valid = |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotations = pod.meta.annotations.as_ref();
    let keys = std::iter::once(SECCOMP_POD_ANNOTATION.to_owned())
        .chain(pod.containers.iter().map(|c| format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name)));
    let mut forbidden = std::collections::BTreeMap::new();
    for key in keys {
        if let Some(value) = annotations.and_then(|a| a.get(&key)).filter(|v| !valid(v)) {
            forbidden.insert(format!("{key}={}", go_quote(value)), (key, value));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let sites = forbidden
        .iter()
        .map(|(formatted, (key, value))| {
            annotation_site(key, value, REQUIRED, format!("forbidden annotation {formatted}"))
        })
        .collect();
    Some(Violation {
        reason: "seccompProfile",
        detail: format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            forbidden.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        sites,
    })
}

/// The pod and containers that explicitly set a seccomp profile type other than `RuntimeDefault` or
/// `Localhost`.
fn seccomp_explicit(pod: &Pod<'_>, required: &str) -> Option<Violation> {
    let message =
        |setters: &str, types: &str| format!("{setters} must not set securityContext.seccompProfile.type to {types}");
    let types = pod.security_context_values(
        |sc| sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
        |sc| sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
    );
    let (offenders, forbidden) = forbidden_values(
        types.filter(|(_, t)| !valid_profile_type(t)),
        "securityContext.seccompProfile.type",
        required,
        message,
    );
    offenders.violation("seccompProfile", |setters| message(setters, &join_quote(&forbidden)))
}

/// Seccomp by field (policy versions from v1.19).
fn seccomp_fields_baseline(pod: &Pod<'_>) -> Option<Violation> {
    seccomp_explicit(pod, &format!("unset, {VALID_PROFILE_TYPES}"))
}

fn sysctls(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    let allowed: Vec<&str> = SAFE_SYSCTLS.iter().filter(|(_, since)| *since <= rev).map(|(name, _)| *name).collect();
    let required = format!("one of {}", join_quote(&allowed));
    let mut names = Vec::new();
    let mut sites = Vec::new();
    let list = pod.pod_sc().and_then(|sc| sc.sysctls.as_deref()).unwrap_or_default();
    for (i, sysctl) in list.iter().enumerate() {
        if allowed.contains(&sysctl.name.as_str()) {
            continue;
        }
        names.push(sysctl.name.as_str());
        sites.push(pod_site(
            &format!("securityContext.sysctls[{i}].name"),
            go_quote(&sysctl.name),
            &required,
            sysctl.name.clone(),
        ));
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation { reason: "forbidden sysctls", detail: names.join(", "), sites })
}

// ---------------------------------------------------------------------------------------------
// Restricted checks
// ---------------------------------------------------------------------------------------------

fn restricted_volumes(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let required =
        format!("one of {}", ALLOWED_VOLUME_SOURCES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "));
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    let mut sites = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        if ALLOWED_VOLUME_SOURCES.iter().any(|(_, has)| has(volume)) {
            continue;
        }
        let source = RESTRICTED_VOLUME_SOURCES.iter().find(|(_, has)| has(volume)).map(|(name, _)| *name);
        let kind = source.unwrap_or("unknown");
        names.push(volume.name.as_str());
        types.insert(kind);
        sites.push(Site {
            container: None,
            path: source.map_or_else(|| format!("spec.volumes[{i}]"), |s| format!("spec.volumes[{i}].{s}")),
            found: kind.to_owned(),
            required: required.clone(),
            detail: format!(
                "{} uses restricted volume type {}",
                volumes_phrase(&[volume.name.as_str()]),
                join_quote([kind])
            ),
        });
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "restricted volume types",
        detail: uses_phrase(
            &volumes_phrase(&names),
            names.len(),
            pluralize("restricted volume type", "restricted volume types", types.len()),
            &join_quote(types),
        ),
        sites,
    })
}

fn allow_privilege_escalation(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if pod.windows_exempt(rev) {
        return None;
    }
    let not_false = pod.containers.iter().filter_map(|c| {
        let value = c.sc.and_then(|sc| sc.allow_privilege_escalation);
        (value != Some(false)).then(|| (Setter::Container(c), opt_bool(value)))
    });
    violation_by_setter(
        "allowPrivilegeEscalation != false",
        not_false,
        "securityContext.allowPrivilegeEscalation",
        "false",
        |setters| format!("{setters} must set securityContext.allowPrivilegeEscalation=false"),
    )
}

fn capabilities_restricted(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const DROP_MESSAGE: &str = "must set securityContext.capabilities.drop=[\"ALL\"]";
    if pod.windows_exempt(rev) {
        return None;
    }
    let mut missing_drop = Offenders::default();
    for c in &pod.containers {
        let drop = c.sc.and_then(|sc| sc.capabilities.as_ref()).and_then(|caps| caps.drop.as_deref());
        if !drop.unwrap_or_default().iter().any(|d| d == "ALL") {
            missing_drop.add(
                Setter::Container(c),
                "securityContext.capabilities.drop",
                drop.map_or_else(|| "unset".to_owned(), list_literal),
                "a list including \"ALL\"",
                format!("{} {DROP_MESSAGE}", c.setter()),
            );
        }
    }
    let (adding, forbidden) =
        forbidden_capability_adds(pod, |cap| cap == RESTRICTED_ADD_CAPABILITY, "unset, or only \"NET_BIND_SERVICE\"");

    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!("{} {DROP_MESSAGE}", missing_drop.phrase()));
    }
    if !adding.is_empty() {
        details.push(capabilities_add_message(&adding.phrase(), &forbidden));
    }
    if details.is_empty() {
        return None;
    }
    let mut sites = missing_drop.sites;
    sites.extend(adding.sites);
    Some(Violation { reason: "unrestricted capabilities", detail: details.join("; "), sites })
}

fn run_as_non_root(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const REASON: &str = "runAsNonRoot != true";
    const FIELD: &str = "securityContext.runAsNonRoot";
    if pod.user_namespace_relaxes(rev) {
        return None;
    }
    let set_false = |setters: &str| format!("{setters} must not set securityContext.runAsNonRoot=false");
    let mut explicit = Offenders::default();
    let values = pod.security_context_values(|sc| sc.run_as_non_root, |sc| sc.run_as_non_root);
    for (setter, _) in values.filter(|(_, non_root)| !non_root) {
        let required = match setter {
            Setter::Pod => "true or unset",
            Setter::Container(_) => "true, or unset with the pod setting true",
        };
        explicit.add(setter, FIELD, "false".to_owned(), required, set_false(&setter.phrase()));
    }
    if let Some(violation) = explicit.violation(REASON, set_false) {
        return Some(violation);
    }
    // `runAsNonRoot: true` on the pod covers the containers that leave it unset.
    if pod.pod_sc().and_then(|sc| sc.run_as_non_root) == Some(true) {
        return None;
    }
    violation_by_setter(
        REASON,
        pod.unset_in_containers(|sc| sc.run_as_non_root),
        FIELD,
        "true (on the container, or on the pod)",
        |setters| format!("pod or {setters} must set securityContext.runAsNonRoot=true"),
    )
}

fn run_as_user(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if pod.user_namespace_relaxes(rev) {
        return None;
    }
    let root = pod.security_context_values(|sc| sc.run_as_user, |sc| sc.run_as_user).filter(|(_, uid)| *uid == 0);
    violation_by_setter(
        "runAsUser=0",
        root.map(|(setter, _)| (setter, "0".to_owned())),
        "securityContext.runAsUser",
        "non-zero or unset",
        |setters| format!("{setters} must not set runAsUser=0"),
    )
}

fn seccomp_profile_restricted(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if pod.windows_exempt(rev) {
        return None;
    }
    if let Some(violation) = seccomp_explicit(pod, VALID_PROFILE_TYPES) {
        return Some(violation);
    }
    // A valid profile on the pod covers the containers that set none.
    let pod_profile = pod.pod_sc().and_then(|sc| sc.seccomp_profile.as_ref());
    if pod_profile.is_some_and(|p| valid_profile_type(&p.type_)) {
        return None;
    }
    violation_by_setter(
        "seccompProfile",
        pod.unset_in_containers(|sc| sc.seccomp_profile.as_ref()),
        "securityContext.seccompProfile.type",
        &format!("{VALID_PROFILE_TYPES} (on the container, or on the pod)"),
        |setters| format!("pod or {setters} must set securityContext.seccompProfile.type to {VALID_PROFILE_TYPES}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Value, json};

    const PASS: &str = "pass";
    const NOT_RUN: &str = "not run";
    const B: Level = Level::Baseline;
    const R: Level = Level::Restricted;

    fn parse(pod: &Value) -> (ObjectMeta, PodSpec) {
        let meta = pod.get("metadata").cloned().unwrap_or_else(|| json!({}));
        (serde_json::from_value(meta).unwrap(), serde_json::from_value(pod["spec"].clone()).unwrap())
    }

    /// A pod with the given spec.
    fn pod(spec: Value) -> Value {
        let mut p = json!({});
        p["spec"] = spec;
        p
    }

    /// A pod with one container `app` with the given securityContext.
    fn app(sc: Value) -> Value {
        let mut p = bare();
        p["spec"]["containers"][0]["securityContext"] = sc;
        p
    }

    /// A pod with one container `app` without securityContext.
    fn bare() -> Value {
        pod(json!({ "containers": [{ "name": "app" }] }))
    }

    /// A pod with one container `app` and the given pod-level securityContext.
    fn pod_sc(sc: Value) -> Value {
        let mut p = bare();
        p["spec"]["securityContext"] = sc;
        p
    }

    /// A pod with the given annotations and spec.
    fn annotated(annotations: Value, spec: Value) -> Value {
        let mut p = pod(spec);
        p["metadata"] = json!({});
        p["metadata"]["annotations"] = annotations;
        p
    }

    fn windows(mut p: Value) -> Value {
        p["spec"]["os"] = json!({ "name": "windows" });
        p
    }

    fn host_users(mut p: Value, value: bool) -> Value {
        p["spec"]["hostUsers"] = json!(value);
        p
    }

    fn run(level: Level, version: &str, p: &Value) -> Vec<CheckOutcome> {
        let (meta, spec) = parse(p);
        evaluate(level, version.parse().unwrap(), &meta, &spec)
    }

    fn violation(level: Level, version: &str, p: &Value, check: &str) -> Violation {
        run(level, version, p).into_iter().find(|o| o.check == check).and_then(|o| o.violation).unwrap()
    }

    /// `reason (detail)`, `pass`, or `not run` for one check.
    fn verdict(level: Level, version: &str, p: &Value, check: &str) -> String {
        match run(level, version, p).into_iter().find(|o| o.check == check) {
            None => NOT_RUN.to_owned(),
            Some(CheckOutcome { violation: None, .. }) => PASS.to_owned(),
            Some(CheckOutcome { violation: Some(v), .. }) => format!("{} ({})", v.reason, v.detail),
        }
    }

    #[rstest]
    // hostNamespaces
    #[case::host_namespaces_unset_pass(B, "latest", bare(), "hostNamespaces", PASS)]
    #[case::host_namespaces_false_pass(B, "latest", pod(json!({"hostNetwork": false, "hostPID": false, "hostIPC": false, "containers": [{"name": "app"}]})), "hostNamespaces", PASS)]
    #[case::host_namespaces_all_three_fail_in_field_order(B, "v1.0", pod(json!({"hostIPC": true, "hostPID": true, "hostNetwork": true, "containers": [{"name": "app"}]})), "hostNamespaces", "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)")]
    #[case::host_pid_alone_fails(R, "latest", pod(json!({"hostPID": true, "containers": [{"name": "app"}]})), "hostNamespaces", "host namespaces (hostPID=true)")]
    // privileged
    #[case::privileged_false_passes(B, "latest", app(json!({"privileged": false})), "privileged", PASS)]
    #[case::privileged_true_fails(B, "v1.0", app(json!({"privileged": true})), "privileged", r#"privileged (container "app" must not set securityContext.privileged=true)"#)]
    #[case::privileged_visits_init_regular_ephemeral(B, "latest", pod(json!({
        "initContainers": [{"name": "init", "securityContext": {"privileged": true}}],
        "containers": [{"name": "app", "securityContext": {"privileged": true}}, {"name": "side"}],
        "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}]})),
        "privileged", r#"privileged (containers "init", "app", "debug" must not set securityContext.privileged=true)"#)]
    // capabilities_baseline
    #[case::baseline_capabilities_default_set_passes(B, "latest", app(json!({"capabilities": {"add": ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]}})), "capabilities_baseline", PASS)]
    #[case::baseline_capabilities_ignore_drop(B, "latest", app(json!({"capabilities": {"drop": ["NET_ADMIN"], "add": []}})), "capabilities_baseline", PASS)]
    #[case::baseline_capabilities_sorted_union(B, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"capabilities": {"add": ["SYS_TIME", "NET_ADMIN"]}}},
        {"name": "b", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN"]}}}]})),
        "capabilities_baseline", r#"non-default capabilities (containers "a", "b" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add)"#)]
    #[case::baseline_capabilities_case_sensitive(B, "latest", app(json!({"capabilities": {"add": ["chown", "CAP_CHOWN"]}})), "capabilities_baseline", r#"non-default capabilities (container "app" must not include "CAP_CHOWN", "chown" in securityContext.capabilities.add)"#)]
    #[case::restricted_v1_21_still_runs_capabilities_baseline(R, "v1.21", app(json!({"capabilities": {"add": ["NET_ADMIN"]}})), "capabilities_baseline", r#"non-default capabilities (container "app" must not include "NET_ADMIN" in securityContext.capabilities.add)"#)]
    #[case::restricted_v1_22_replaces_capabilities_baseline(R, "v1.22", app(json!({"capabilities": {"add": ["NET_ADMIN"]}})), "capabilities_baseline", NOT_RUN)]
    #[case::windows_restricted_runs_no_capabilities_baseline(R, "latest", windows(app(json!({"capabilities": {"add": ["NET_ADMIN"]}}))), "capabilities_baseline", NOT_RUN)]
    #[case::windows_baseline_still_runs_capabilities_baseline(B, "latest", windows(app(json!({"capabilities": {"add": ["NET_ADMIN"]}}))), "capabilities_baseline", r#"non-default capabilities (container "app" must not include "NET_ADMIN" in securityContext.capabilities.add)"#)]
    // hostPathVolumes
    #[case::host_path_volume_singular(B, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "data", "hostPath": {"path": "/data"}}]})), "hostPathVolumes", r#"hostPath volumes (volume "data")"#)]
    #[case::host_path_volumes_plural(B, "v1.0", pod(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "a", "hostPath": {"path": "/a"}}, {"name": "b", "emptyDir": {}}, {"name": "c", "hostPath": {"path": "/c"}}]})),
        "hostPathVolumes", r#"hostPath volumes (volumes "a", "c")"#)]
    #[case::host_path_volumes_ignore_other_types(B, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]})), "hostPathVolumes", PASS)]
    #[case::restricted_replaces_host_path_volumes_from_v1_0(R, "v1.0", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "data", "hostPath": {"path": "/data"}}]})), "hostPathVolumes", NOT_RUN)]
    // hostPorts
    #[case::host_port_unset_passes(B, "latest", pod(json!({"containers": [{"name": "app", "ports": [{"containerPort": 80}]}]})), "hostPorts", PASS)]
    #[case::host_port_zero_passes(B, "latest", pod(json!({"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 0}]}]})), "hostPorts", PASS)]
    #[case::host_port_singular(B, "latest", pod(json!({"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 8080}]}]})), "hostPorts", r#"hostPort (container "app" uses hostPort 8080)"#)]
    #[case::host_ports_one_container_two_ports(B, "latest", pod(json!({"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 443, "hostPort": 443}]}]})), "hostPorts", r#"hostPort (container "app" uses hostPorts 443, 80)"#)]
    #[case::host_ports_two_containers_one_port(B, "latest", pod(json!({"containers": [
        {"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}, {"name": "b", "ports": [{"containerPort": 81, "hostPort": 80}]}]})),
        "hostPorts", r#"hostPort (containers "a", "b" use hostPort 80)"#)]
    #[case::host_ports_sort_as_strings(B, "latest", pod(json!({
        "initContainers": [{"name": "i", "ports": [{"containerPort": 1, "hostPort": 10000}]}],
        "containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]})),
        "hostPorts", r#"hostPort (containers "i", "a" use hostPorts 10000, 80)"#)]
    #[case::host_port_on_ephemeral_container(B, "latest", pod(json!({"containers": [{"name": "app"}], "ephemeralContainers": [{"name": "debug", "ports": [{"containerPort": 7000, "hostPort": 7000}]}]})), "hostPorts", r#"hostPort (container "debug" uses hostPort 7000)"#)]
    #[case::host_network_defaults_host_port(B, "latest", pod(json!({"hostNetwork": true, "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]})), "hostPorts", r#"hostPort (container "app" uses hostPort 8080)"#)]
    #[case::host_network_defaults_zero_host_port_of_init_container(B, "latest", pod(json!({"hostNetwork": true, "initContainers": [{"name": "init", "ports": [{"containerPort": 53, "hostPort": 0}]}], "containers": [{"name": "app"}]})), "hostPorts", r#"hostPort (container "init" uses hostPort 53)"#)]
    #[case::host_network_keeps_explicit_host_port(B, "latest", pod(json!({"hostNetwork": true, "containers": [{"name": "app", "ports": [{"containerPort": 8080, "hostPort": 9090}]}]})), "hostPorts", r#"hostPort (container "app" uses hostPort 9090)"#)]
    #[case::host_network_false_does_not_default_host_port(B, "latest", pod(json!({"hostNetwork": false, "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]})), "hostPorts", PASS)]
    // hostProbesAndHostLifecycle
    #[case::host_probe_not_checked_before_v1_34(B, "v1.33", pod(json!({"containers": [{"name": "app", "livenessProbe": {"httpGet": {"port": 80, "host": "10.0.0.1"}}}]})), "hostProbesAndHostLifecycle", NOT_RUN)]
    #[case::host_probe_checked_from_v1_34(B, "v1.34", pod(json!({"containers": [{"name": "app", "livenessProbe": {"httpGet": {"port": 80, "host": "10.0.0.1"}}}]})), "hostProbesAndHostLifecycle", r#"probe or lifecycle host (container "app" uses probe or lifecycle host "10.0.0.1")"#)]
    #[case::host_probe_localhost_fails(R, "latest", pod(json!({"containers": [{"name": "app", "readinessProbe": {"tcpSocket": {"port": 80, "host": "localhost"}}}]})), "hostProbesAndHostLifecycle", r#"probe or lifecycle host (container "app" uses probe or lifecycle host "localhost")"#)]
    #[case::host_probe_empty_host_passes(B, "latest", pod(json!({"containers": [{"name": "app", "startupProbe": {"httpGet": {"port": 80, "host": ""}}, "lifecycle": {"preStop": {"httpGet": {"port": 80}}}}]})), "hostProbesAndHostLifecycle", PASS)]
    #[case::host_lifecycle_containers_and_hosts_sorted(B, "latest", pod(json!({"containers": [
        {"name": "b", "lifecycle": {"preStop": {"httpGet": {"port": 80, "host": "x.example"}}}},
        {"name": "a", "startupProbe": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}, "lifecycle": {"postStart": {"tcpSocket": {"port": 80, "host": "x.example"}}}}]})),
        "hostProbesAndHostLifecycle", r#"probe or lifecycle host (containers "a", "b" use probe or lifecycle hosts "10.0.0.1", "x.example")"#)]
    // windowsHostProcess
    #[case::host_process_false_passes(B, "latest", app(json!({"windowsOptions": {"hostProcess": false}})), "windowsHostProcess", PASS)]
    #[case::pod_host_process_fails_even_if_containers_set_false(B, "latest", pod(json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [{"name": "app", "securityContext": {"windowsOptions": {"hostProcess": false}}}]})), "windowsHostProcess", "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)")]
    #[case::pod_and_containers_host_process(B, "latest", pod(json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [
        {"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}, {"name": "b", "securityContext": {"windowsOptions": {"hostProcess": true}}}]})),
        "windowsHostProcess", r#"hostProcess (pod and containers "a", "b" must not set securityContext.windowsOptions.hostProcess=true)"#)]
    // appArmorProfile
    #[case::apparmor_allowed_values_pass(B, "latest", annotated(
        json!({"container.apparmor.security.beta.kubernetes.io/app": "runtime/default", "container.apparmor.security.beta.kubernetes.io/b": "localhost/foo", "container.apparmor.security.beta.kubernetes.io/c": ""}),
        json!({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "app", "securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}}]})),
        "appArmorProfile", PASS)]
    #[case::apparmor_pod_unconfined_fails(B, "latest", pod_sc(json!({"appArmorProfile": {"type": "Unconfined"}})), "appArmorProfile", r#"forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")"#)]
    #[case::apparmor_fields_checked_at_v1_0(B, "v1.0", app(json!({"appArmorProfile": {"type": "Unconfined"}})), "appArmorProfile", r#"forbidden AppArmor profile (container "app" must not set AppArmor profile type to "Unconfined")"#)]
    #[case::apparmor_missing_type_fails(B, "latest", app(json!({"appArmorProfile": {}})), "appArmorProfile", r#"forbidden AppArmor profile (container "app" must not set AppArmor profile type to "")"#)]
    #[case::apparmor_annotation_unconfined_fails(B, "latest", annotated(json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}), json!({"containers": [{"name": "app"}]})), "appArmorProfile", r#"forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app="unconfined"")"#)]
    #[case::apparmor_annotation_values_are_case_sensitive(B, "latest", annotated(json!({"container.apparmor.security.beta.kubernetes.io/app": "RuntimeDefault"}), json!({"containers": [{"name": "app"}]})), "appArmorProfile", r#"forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app="RuntimeDefault"")"#)]
    #[case::apparmor_all_setters_plural(B, "latest", annotated(
        json!({"container.apparmor.security.beta.kubernetes.io/ghost": "foo", "container.apparmor.security.beta.kubernetes.io/a": "unconfined", "other/annotation": "unconfined"}),
        json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]})),
        "appArmorProfile", r#"forbidden AppArmor profiles (pod and container "a" and annotations must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/a="unconfined"", "container.apparmor.security.beta.kubernetes.io/ghost="foo"")"#)]
    #[case::apparmor_annotations_sorted_as_key_value_strings(B, "latest", annotated(
        json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined", "container.apparmor.security.beta.kubernetes.io/app-x": "unconfined"}),
        json!({"containers": [{"name": "app"}, {"name": "app-x"}]})),
        "appArmorProfile", r#"forbidden AppArmor profiles (annotations must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app-x="unconfined"", "container.apparmor.security.beta.kubernetes.io/app="unconfined"")"#)]
    #[case::apparmor_same_bad_type_counts_once(B, "latest", pod(json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]})), "appArmorProfile", r#"forbidden AppArmor profile (pod and container "a" must not set AppArmor profile type to "Unconfined")"#)]
    // seLinuxOptions
    #[case::selinux_allowed_types_pass(B, "v1.0", pod(json!({"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c1,c2"}}, "containers": [
        {"name": "a", "securityContext": {"seLinuxOptions": {"type": "container_init_t"}}},
        {"name": "b", "securityContext": {"seLinuxOptions": {"type": "container_kvm_t", "user": "", "role": ""}}},
        {"name": "c", "securityContext": {"seLinuxOptions": {"type": ""}}}]})),
        "seLinuxOptions", PASS)]
    #[case::selinux_spc_t_fails(B, "latest", pod_sc(json!({"seLinuxOptions": {"type": "spc_t"}})), "seLinuxOptions", r#"seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")"#)]
    #[case::selinux_container_engine_t_forbidden_before_v1_31(B, "v1.30", app(json!({"seLinuxOptions": {"type": "container_engine_t"}})), "seLinuxOptions", r#"seLinuxOptions (container "app" set forbidden securityContext.seLinuxOptions: type "container_engine_t")"#)]
    #[case::selinux_container_engine_t_allowed_from_v1_31(B, "v1.31", app(json!({"seLinuxOptions": {"type": "container_engine_t"}})), "seLinuxOptions", PASS)]
    #[case::selinux_types_user_role_joined(B, "latest", pod(json!({"securityContext": {"seLinuxOptions": {"user": "system_u"}}, "containers": [
        {"name": "a", "securityContext": {"seLinuxOptions": {"type": "y_t"}}},
        {"name": "b", "securityContext": {"seLinuxOptions": {"type": "x_t", "role": "r"}}},
        {"name": "c", "securityContext": {"seLinuxOptions": {"type": "container_t"}}}]})),
        "seLinuxOptions", r#"seLinuxOptions (pod and containers "a", "b" set forbidden securityContext.seLinuxOptions: types "x_t", "y_t"; user may not be set; role may not be set)"#)]
    // procMount
    #[case::proc_mount_default_passes(B, "latest", app(json!({"procMount": "Default"})), "procMount", PASS)]
    #[case::proc_mount_unmasked_fails(B, "v1.0", app(json!({"procMount": "Unmasked"})), "procMount", r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#)]
    #[case::proc_mount_values_sorted(B, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"procMount": "Weird"}}, {"name": "b", "securityContext": {"procMount": "Unmasked"}}]})),
        "procMount", r#"procMount (containers "a", "b" must not set securityContext.procMount to "Unmasked", "Weird")"#)]
    #[case::host_users_false_relaxes_proc_mount_at_v1_35(B, "v1.35", host_users(app(json!({"procMount": "Unmasked"})), false), "procMount", PASS)]
    #[case::host_users_false_does_not_relax_proc_mount_at_v1_34(B, "v1.34", host_users(app(json!({"procMount": "Unmasked"})), false), "procMount", r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#)]
    #[case::host_users_true_does_not_relax_proc_mount(B, "latest", host_users(app(json!({"procMount": "Unmasked"})), true), "procMount", r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#)]
    #[case::host_users_false_does_not_relax_proc_mount_restricted(R, "latest", host_users(app(json!({"procMount": "Unmasked"})), false), "procMount_restricted", r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#)]
    #[case::restricted_v1_35_replaces_proc_mount(R, "v1.35", app(json!({"procMount": "Unmasked"})), "procMount", NOT_RUN)]
    #[case::restricted_v1_34_runs_baseline_proc_mount(R, "v1.34", host_users(app(json!({"procMount": "Unmasked"})), false), "procMount", r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#)]
    #[case::proc_mount_restricted_absent_before_v1_35(R, "v1.34", app(json!({"procMount": "Unmasked"})), "procMount_restricted", NOT_RUN)]
    // seccompProfile_baseline
    #[case::seccomp_annotation_checked_before_v1_19(B, "v1.18", annotated(json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), json!({"containers": [{"name": "app"}]})), "seccompProfile_baseline", r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#)]
    #[case::seccomp_annotations_sorted_and_only_for_real_containers(B, "v1.0", annotated(
        json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined", "container.seccomp.security.alpha.kubernetes.io/app": "", "container.seccomp.security.alpha.kubernetes.io/ghost": "unconfined"}),
        json!({"containers": [{"name": "app"}]})),
        "seccompProfile_baseline", r#"seccompProfile (forbidden annotations container.seccomp.security.alpha.kubernetes.io/app="", seccomp.security.alpha.kubernetes.io/pod="unconfined")"#)]
    #[case::seccomp_annotation_allowed_values_pass(B, "v1.18", annotated(
        json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default", "container.seccomp.security.alpha.kubernetes.io/app": "docker/default", "container.seccomp.security.alpha.kubernetes.io/init": "localhost/profile.json"}),
        json!({"initContainers": [{"name": "init"}], "containers": [{"name": "app"}]})),
        "seccompProfile_baseline", PASS)]
    #[case::seccomp_annotation_ignored_from_v1_19(B, "v1.19", annotated(json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), json!({"containers": [{"name": "app"}]})), "seccompProfile_baseline", PASS)]
    #[case::seccomp_fields_ignored_before_v1_19(B, "v1.18", pod_sc(json!({"seccompProfile": {"type": "Unconfined"}})), "seccompProfile_baseline", PASS)]
    #[case::seccomp_fields_checked_from_v1_19(B, "v1.19", pod(json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "app", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]})), "seccompProfile_baseline", r#"seccompProfile (pod and container "app" must not set securityContext.seccompProfile.type to "Unconfined")"#)]
    #[case::seccomp_empty_profile_object_fails(B, "latest", app(json!({"seccompProfile": {}})), "seccompProfile_baseline", r#"seccompProfile (container "app" must not set securityContext.seccompProfile.type to "")"#)]
    #[case::seccomp_baseline_unset_passes(B, "latest", bare(), "seccompProfile_baseline", PASS)]
    #[case::restricted_v1_18_runs_seccomp_baseline_annotations(R, "v1.18", annotated(json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), json!({"containers": [{"name": "app"}]})), "seccompProfile_baseline", r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#)]
    #[case::restricted_v1_19_replaces_seccomp_baseline(R, "v1.19", annotated(json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), json!({"containers": [{"name": "app"}]})), "seccompProfile_baseline", NOT_RUN)]
    // sysctls
    #[case::safe_sysctls_pass_at_v1_0(B, "v1.0", pod_sc(json!({"sysctls": [
        {"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"},
        {"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "net.ipv4.ping_group_range", "value": "0 1"},
        {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]})), "sysctls", PASS)]
    #[case::unsafe_sysctls_keep_spec_order_and_duplicates(B, "latest", pod_sc(json!({"sysctls": [
        {"name": "kernel.msgmax", "value": "1"}, {"name": "kernel.shm_rmid_forced", "value": "1"},
        {"name": "net.core.somaxconn", "value": "1"}, {"name": "kernel.msgmax", "value": "2"}]})),
        "sysctls", "forbidden sysctls (kernel.msgmax, net.core.somaxconn, kernel.msgmax)")]
    #[case::sysctl_ip_local_reserved_ports_forbidden_at_v1_26(B, "v1.26", pod_sc(json!({"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "80"}]})), "sysctls", "forbidden sysctls (net.ipv4.ip_local_reserved_ports)")]
    #[case::sysctl_ip_local_reserved_ports_allowed_from_v1_27(B, "v1.27", pod_sc(json!({"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "80"}]})), "sysctls", PASS)]
    #[case::sysctl_tcp_keepalive_forbidden_at_v1_28(B, "v1.28", pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}, {"name": "net.ipv4.tcp_fin_timeout", "value": "1"}]})), "sysctls", "forbidden sysctls (net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout)")]
    #[case::sysctl_tcp_keepalive_allowed_from_v1_29(B, "v1.29", pod_sc(json!({"sysctls": [
        {"name": "net.ipv4.tcp_keepalive_time", "value": "1"}, {"name": "net.ipv4.tcp_fin_timeout", "value": "1"},
        {"name": "net.ipv4.tcp_keepalive_intvl", "value": "1"}, {"name": "net.ipv4.tcp_keepalive_probes", "value": "1"}]})), "sysctls", PASS)]
    #[case::sysctl_tcp_rmem_forbidden_at_v1_31(B, "v1.31", pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}]})), "sysctls", "forbidden sysctls (net.ipv4.tcp_rmem)")]
    #[case::sysctl_tcp_rmem_wmem_allowed_from_v1_32(B, "v1.32", pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}, {"name": "net.ipv4.tcp_wmem", "value": "1 2 3"}]})), "sysctls", PASS)]
    #[case::sysctl_unreleased_v1_37_forbidden_at_latest(B, "latest", pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"}]})), "sysctls", "forbidden sysctls (net.ipv4.tcp_slow_start_after_idle)")]
    #[case::sysctl_unreleased_v1_37_forbidden_at_v1_37(B, "v1.37", pod_sc(json!({"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat", "value": "0"}]})), "sysctls", "forbidden sysctls (net.ipv4.tcp_notsent_lowat)")]
    #[case::sysctl_slash_form_forbidden(R, "latest", pod_sc(json!({"sysctls": [{"name": "net/ipv4/tcp_syncookies", "value": "1"}]})), "sysctls", "forbidden sysctls (net/ipv4/tcp_syncookies)")]
    // restrictedVolumes
    #[case::restricted_volumes_allowed_types_pass(R, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "a", "configMap": {"name": "c"}}, {"name": "b", "csi": {"driver": "d"}}, {"name": "c", "downwardAPI": {}},
        {"name": "d", "emptyDir": {}}, {"name": "e", "ephemeral": {}}, {"name": "f", "image": {"reference": "r"}},
        {"name": "g", "persistentVolumeClaim": {"claimName": "p"}}, {"name": "h", "projected": {}}, {"name": "i", "secret": {}}]})),
        "restrictedVolumes", PASS)]
    #[case::restricted_volume_host_path_fails(R, "v1.0", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "data", "hostPath": {"path": "/"}}]})), "restrictedVolumes", r#"restricted volume types (volume "data" uses restricted volume type "hostPath")"#)]
    #[case::restricted_volumes_plural(R, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "a", "nfs": {"server": "s", "path": "/"}}, {"name": "b", "hostPath": {"path": "/"}}, {"name": "ok", "emptyDir": {}}, {"name": "c", "nfs": {"server": "s", "path": "/"}}]})),
        "restrictedVolumes", r#"restricted volume types (volumes "a", "b", "c" use restricted volume types "hostPath", "nfs")"#)]
    #[case::restricted_volumes_plural_one_type(R, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "a", "gitRepo": {"repository": "r"}}, {"name": "b", "gitRepo": {"repository": "r"}}]})),
        "restrictedVolumes", r#"restricted volume types (volumes "a", "b" use restricted volume type "gitRepo")"#)]
    #[case::volume_without_source_defaults_to_empty_dir(R, "latest", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "scratch"}]})), "restrictedVolumes", PASS)]
    #[case::image_volume_allowed_at_v1_0(R, "v1.0", pod(json!({"containers": [{"name": "app"}], "volumes": [{"name": "img", "image": {"reference": "r"}}]})), "restrictedVolumes", PASS)]
    // allowPrivilegeEscalation
    #[case::allow_privilege_escalation_absent_before_v1_8(R, "v1.7", bare(), "allowPrivilegeEscalation", NOT_RUN)]
    #[case::allow_privilege_escalation_not_in_baseline(B, "latest", bare(), "allowPrivilegeEscalation", NOT_RUN)]
    #[case::allow_privilege_escalation_unset_fails_from_v1_8(R, "v1.8", bare(), "allowPrivilegeEscalation", r#"allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)"#)]
    #[case::allow_privilege_escalation_false_passes(R, "latest", app(json!({"allowPrivilegeEscalation": false})), "allowPrivilegeEscalation", PASS)]
    #[case::allow_privilege_escalation_across_container_kinds(R, "latest", pod(json!({
        "initContainers": [{"name": "i", "securityContext": {"allowPrivilegeEscalation": true}}],
        "containers": [{"name": "app", "securityContext": {"allowPrivilegeEscalation": false}}],
        "ephemeralContainers": [{"name": "debug"}]})),
        "allowPrivilegeEscalation", r#"allowPrivilegeEscalation != false (containers "i", "debug" must set securityContext.allowPrivilegeEscalation=false)"#)]
    #[case::windows_pod_skips_allow_privilege_escalation_from_v1_25(
        R,
        "v1.25",
        windows(bare()),
        "allowPrivilegeEscalation",
        PASS
    )]
    #[case::windows_pod_checked_for_allow_privilege_escalation_at_v1_24(R, "v1.24", windows(bare()), "allowPrivilegeEscalation", r#"allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)"#)]
    #[case::windows_os_name_is_case_sensitive(R, "latest", pod(json!({"os": {"name": "Windows"}, "containers": [{"name": "app"}]})), "allowPrivilegeEscalation", r#"allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)"#)]
    // capabilities_restricted
    #[case::capabilities_restricted_absent_at_v1_21(R, "v1.21", bare(), "capabilities_restricted", NOT_RUN)]
    #[case::capabilities_restricted_drop_all_passes(R, "v1.22", app(json!({"capabilities": {"drop": ["NET_RAW", "ALL"], "add": ["NET_BIND_SERVICE"]}})), "capabilities_restricted", PASS)]
    #[case::capabilities_restricted_missing_fails(
        R,
        "latest",
        bare(),
        "capabilities_restricted",
        r#"unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])"#
    )]
    #[case::capabilities_restricted_drop_is_case_sensitive(R, "latest", app(json!({"capabilities": {"drop": ["all"]}})), "capabilities_restricted", r#"unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])"#)]
    #[case::capabilities_restricted_drop_and_add_joined(R, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE", "CHOWN"]}}},
        {"name": "b", "securityContext": {}},
        {"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]})),
        "capabilities_restricted", r#"unrestricted capabilities (containers "b", "c" must set securityContext.capabilities.drop=["ALL"]; containers "a", "c" must not include "CHOWN", "SYS_ADMIN" in securityContext.capabilities.add)"#)]
    #[case::windows_pod_skips_capabilities_restricted_from_v1_25(R, "v1.25", windows(app(json!({"capabilities": {"add": ["SYS_ADMIN"]}}))), "capabilities_restricted", PASS)]
    #[case::windows_pod_checked_for_capabilities_restricted_at_v1_24(
        R,
        "v1.24",
        windows(bare()),
        "capabilities_restricted",
        r#"unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])"#
    )]
    // runAsNonRoot
    #[case::run_as_non_root_pod_true_passes(R, "latest", pod_sc(json!({"runAsNonRoot": true})), "runAsNonRoot", PASS)]
    #[case::run_as_non_root_containers_true_pass(R, "latest", app(json!({"runAsNonRoot": true})), "runAsNonRoot", PASS)]
    #[case::run_as_non_root_unset_fails_at_v1_0(
        R,
        "v1.0",
        bare(),
        "runAsNonRoot",
        r#"runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#
    )]
    #[case::run_as_non_root_pod_false_fails_even_if_containers_true(R, "latest", pod(json!({"securityContext": {"runAsNonRoot": false}, "containers": [{"name": "app", "securityContext": {"runAsNonRoot": true}}]})), "runAsNonRoot", "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)")]
    #[case::run_as_non_root_explicit_false_takes_precedence(R, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"runAsNonRoot": false}}, {"name": "b"}]})),
        "runAsNonRoot", r#"runAsNonRoot != true (container "a" must not set securityContext.runAsNonRoot=false)"#)]
    #[case::run_as_non_root_pod_and_container_false(R, "latest", pod(json!({"securityContext": {"runAsNonRoot": false}, "containers": [
        {"name": "a", "securityContext": {"runAsNonRoot": false}}, {"name": "b"}]})),
        "runAsNonRoot", r#"runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false)"#)]
    #[case::run_as_non_root_pod_true_container_false(R, "latest", pod(json!({"securityContext": {"runAsNonRoot": true}, "containers": [
        {"name": "a", "securityContext": {"runAsNonRoot": false}}, {"name": "b"}]})),
        "runAsNonRoot", r#"runAsNonRoot != true (container "a" must not set securityContext.runAsNonRoot=false)"#)]
    #[case::host_users_false_relaxes_run_as_non_root_at_v1_35(R, "v1.35", host_users(pod_sc(json!({"runAsNonRoot": false})), false), "runAsNonRoot", PASS)]
    #[case::host_users_false_does_not_relax_run_as_non_root_at_v1_34(
        R,
        "v1.34",
        host_users(bare(), false),
        "runAsNonRoot",
        r#"runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#
    )]
    #[case::windows_pod_not_exempt_from_run_as_non_root(
        R,
        "latest",
        windows(bare()),
        "runAsNonRoot",
        r#"runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#
    )]
    // runAsUser
    #[case::run_as_user_absent_at_v1_22(R, "v1.22", pod_sc(json!({"runAsUser": 0})), "runAsUser", NOT_RUN)]
    #[case::run_as_user_zero_on_pod_fails_at_v1_23(R, "v1.23", pod(json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "app", "securityContext": {"runAsUser": 1000}}]})), "runAsUser", "runAsUser=0 (pod must not set runAsUser=0)")]
    #[case::run_as_user_pod_and_containers(R, "latest", pod(json!({"securityContext": {"runAsUser": 0}, "containers": [
        {"name": "a", "securityContext": {"runAsUser": 0}}, {"name": "b", "securityContext": {"runAsUser": 0}}, {"name": "c"}]})),
        "runAsUser", r#"runAsUser=0 (pod and containers "a", "b" must not set runAsUser=0)"#)]
    #[case::run_as_user_non_zero_passes(R, "latest", pod(json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "app", "securityContext": {"runAsUser": 1}}]})), "runAsUser", PASS)]
    #[case::host_users_false_relaxes_run_as_user_at_v1_35(R, "latest", host_users(app(json!({"runAsUser": 0})), false), "runAsUser", PASS)]
    #[case::host_users_false_does_not_relax_run_as_user_at_v1_34(R, "v1.34", host_users(app(json!({"runAsUser": 0})), false), "runAsUser", r#"runAsUser=0 (container "app" must not set runAsUser=0)"#)]
    #[case::windows_pod_not_exempt_from_run_as_user(R, "latest", windows(app(json!({"runAsUser": 0}))), "runAsUser", r#"runAsUser=0 (container "app" must not set runAsUser=0)"#)]
    // seccompProfile_restricted
    #[case::seccomp_restricted_absent_at_v1_18(R, "v1.18", bare(), "seccompProfile_restricted", NOT_RUN)]
    #[case::seccomp_restricted_pod_runtime_default_passes(R, "v1.19", pod_sc(json!({"seccompProfile": {"type": "RuntimeDefault"}})), "seccompProfile_restricted", PASS)]
    #[case::seccomp_restricted_containers_without_pod_pass(R, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}},
        {"name": "b", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]})),
        "seccompProfile_restricted", PASS)]
    #[case::seccomp_restricted_unset_fails(R, "latest", pod(json!({"containers": [{"name": "a"}, {"name": "b"}]})), "seccompProfile_restricted", r#"seccompProfile (pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#)]
    #[case::seccomp_restricted_pod_unconfined_fails_even_if_containers_valid(R, "latest", pod(json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "app", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]})), "seccompProfile_restricted", r#"seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")"#)]
    #[case::seccomp_restricted_explicit_takes_precedence(R, "latest", pod(json!({"containers": [
        {"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}, {"name": "b"}]})),
        "seccompProfile_restricted", r#"seccompProfile (container "a" must not set securityContext.seccompProfile.type to "Unconfined")"#)]
    #[case::seccomp_restricted_bad_values_sorted(R, "latest", pod(json!({"securityContext": {"seccompProfile": {}}, "containers": [{"name": "app", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]})), "seccompProfile_restricted", r#"seccompProfile (pod and container "app" must not set securityContext.seccompProfile.type to "", "Unconfined")"#)]
    #[case::windows_pod_skips_seccomp_restricted_from_v1_25(R, "v1.25", windows(pod_sc(json!({"seccompProfile": {"type": "Unconfined"}}))), "seccompProfile_restricted", PASS)]
    #[case::windows_pod_checked_for_seccomp_restricted_at_v1_24(R, "v1.24", windows(bare()), "seccompProfile_restricted", r#"seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#)]
    fn check_verdict(
        #[case] level: Level,
        #[case] version: &str,
        #[case] pod: Value,
        #[case] check: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(verdict(level, version, &pod, check), expected);
    }

    #[test]
    fn restricted_latest_example_matches_psa_byte_for_byte() {
        let outcomes = run(R, "latest", &bare());
        assert_eq!(
            psa_message(R, "latest", &outcomes).as_deref(),
            Some(concat!(
                r#"violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set "#,
                r#"securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set "#,
                r#"securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set "#,
                r#"securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set "#,
                r#"securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
            ))
        );
    }

    #[test]
    fn baseline_message_lists_failures_in_check_order() {
        let p = annotated(
            json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}),
            json!({"hostNetwork": true, "containers": [{"name": "app", "ports": [{"containerPort": 80}], "securityContext": {"privileged": true}}]}),
        );
        let outcomes = run(B, "v1.29", &p);
        assert_eq!(
            psa_message(B, "v1.29", &outcomes).as_deref(),
            Some(concat!(
                r#"violates PodSecurity "baseline:v1.29": forbidden AppArmor profile (annotation must not set AppArmor "#,
                r#"profile type to "container.apparmor.security.beta.kubernetes.io/app="unconfined""), host namespaces "#,
                r#"(hostNetwork=true), hostPort (container "app" uses hostPort 80), privileged (container "app" must not "#,
                r#"set securityContext.privileged=true)"#
            ))
        );
    }

    #[test]
    fn hardened_pod_passes_restricted_latest() {
        let p = pod(json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "tmp", "emptyDir": {}}]
        }));
        let outcomes = run(R, "latest", &p);
        assert_eq!(outcomes.len(), checks_for(R, Version::LATEST).len());
        assert!(outcomes.iter().all(|o| o.violation.is_none()), "{outcomes:?}");
        assert_eq!(psa_message(R, "latest", &outcomes), None);
    }

    #[test]
    fn psa_message_uses_label_verbatim_and_skips_passes() {
        let outcomes = vec![
            CheckOutcome { check: "hostNamespaces", violation: None },
            CheckOutcome {
                check: "sysctls",
                violation: Some(Violation { reason: "forbidden sysctls", detail: String::new(), sites: Vec::new() }),
            },
            CheckOutcome {
                check: "hostPorts",
                violation: Some(Violation { reason: "hostPort", detail: "x".to_owned(), sites: Vec::new() }),
            },
        ];
        assert_eq!(
            psa_message(B, "v1.99", &outcomes).as_deref(),
            Some(r#"violates PodSecurity "baseline:v1.99": forbidden sysctls, hostPort (x)"#)
        );
    }

    #[test]
    fn annotation_values_are_go_quoted() {
        let p = annotated(
            json!({"container.apparmor.security.beta.kubernetes.io/app": "a\"b\\c\n\u{1}"}),
            json!({"containers": [{"name": "app"}]}),
        );
        let v = violation(B, "latest", &p, "appArmorProfile");
        assert_eq!(
            v.detail,
            r#"annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app="a\"b\\c\n\x01"""#
        );
        assert_eq!(v.sites[0].found, r#""a\"b\\c\n\x01""#);
    }

    #[rstest]
    #[case::plain("restricted:latest", r#""restricted:latest""#)]
    #[case::unicode_kept("é✓", "\"é✓\"")]
    #[case::escapes("\t\u{7f}\u{a0}\u{200b}", r#""\t\x7f\u00a0\u200b""#)]
    fn go_quote_matches_strconv_quote(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(go_quote(input), expected);
    }

    // ---- sites -----------------------------------------------------------------------------

    fn site(container: Option<&str>, path: &str, found: &str, required: &str, detail: &str) -> Site {
        Site {
            container: container.map(str::to_owned),
            path: path.to_owned(),
            found: found.to_owned(),
            required: required.to_owned(),
            detail: detail.to_owned(),
        }
    }

    #[test]
    fn sites_name_ephemeral_and_init_containers() {
        let p = pod(json!({
            "initContainers": [{"name": "i0"}, {"name": "i1", "ports": [{"containerPort": 1, "hostPort": 8080}]}],
            "containers": [{"name": "app"}],
            "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}]
        }));
        assert_eq!(
            violation(B, "latest", &p, "hostPorts").sites,
            vec![site(
                Some("i1"),
                "spec.initContainers[1].ports[0].hostPort",
                "8080",
                "unset or 0",
                r#"container "i1" uses hostPort 8080"#
            )]
        );
        assert_eq!(
            violation(B, "latest", &p, "privileged").sites,
            vec![site(
                Some("debug"),
                "spec.ephemeralContainers[0].securityContext.privileged",
                "true",
                "false or unset",
                r#"container "debug" must not set securityContext.privileged=true"#
            )]
        );
    }

    #[test]
    fn sites_for_annotations_and_volumes_have_no_container() {
        let p = annotated(
            json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}),
            json!({"containers": [{"name": "app"}], "volumes": [
                {"name": "a", "emptyDir": {}}, {"name": "b", "secret": {}}, {"name": "host", "hostPath": {"path": "/"}}]}),
        );
        let apparmor = violation(B, "latest", &p, "appArmorProfile").sites;
        assert_eq!(apparmor.len(), 1);
        assert_eq!(apparmor[0].container, None);
        assert_eq!(apparmor[0].path, "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]");
        assert_eq!(apparmor[0].found, r#""unconfined""#);
        assert_eq!(
            violation(R, "latest", &p, "restrictedVolumes").sites,
            vec![site(
                None,
                "spec.volumes[2].hostPath",
                "hostPath",
                "one of configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret",
                r#"volume "host" uses restricted volume type "hostPath""#
            )]
        );
        assert_eq!(violation(B, "latest", &p, "hostPathVolumes").sites[0].path, "spec.volumes[2].hostPath");
    }

    #[test]
    fn sites_follow_psa_setter_order_and_precedence() {
        let p = pod(json!({
            "securityContext": {"runAsNonRoot": false},
            "containers": [
                {"name": "a", "securityContext": {"runAsNonRoot": false}},
                {"name": "b"}
            ]
        }));
        let sites = violation(R, "latest", &p, "runAsNonRoot").sites;
        let paths: Vec<&str> = sites.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["spec.securityContext.runAsNonRoot", "spec.containers[0].securityContext.runAsNonRoot"]);
        assert_eq!(sites[0].container, None);
        assert_eq!(sites[1].container.as_deref(), Some("a"));

        let implicit = violation(R, "latest", &bare(), "runAsNonRoot").sites;
        assert_eq!(
            implicit,
            vec![site(
                Some("app"),
                "spec.containers[0].securityContext.runAsNonRoot",
                "unset",
                "true (on the container, or on the pod)",
                r#"pod or container "app" must set securityContext.runAsNonRoot=true"#
            )]
        );
    }

    #[test]
    fn capabilities_restricted_sites_cover_drop_then_add() {
        let p = pod(json!({"containers": [
            {"name": "a", "securityContext": {"capabilities": {"drop": ["NET_RAW"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}}}
        ]}));
        let sites = violation(R, "latest", &p, "capabilities_restricted").sites;
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[0].path, "spec.containers[0].securityContext.capabilities.drop");
        assert_eq!(sites[0].found, r#"["NET_RAW"]"#);
        assert_eq!(sites[1].path, "spec.containers[0].securityContext.capabilities.add");
        assert_eq!(sites[1].found, r#"["SYS_ADMIN"]"#);
        assert_eq!(
            sites[1].detail,
            r#"container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add"#
        );
    }

    #[test]
    fn host_probe_sites_name_the_exact_field() {
        let p = pod(json!({"containers": [{"name": "app",
            "livenessProbe": {"httpGet": {"port": 80, "host": "h1"}, "tcpSocket": {"port": 80, "host": "h2"}},
            "lifecycle": {"preStop": {"tcpSocket": {"port": 80, "host": "h3"}}}}]}));
        let paths: Vec<String> =
            violation(B, "latest", &p, "hostProbesAndHostLifecycle").sites.into_iter().map(|s| s.path).collect();
        assert_eq!(
            paths,
            [
                "spec.containers[0].livenessProbe.httpGet.host",
                "spec.containers[0].livenessProbe.tcpSocket.host",
                "spec.containers[0].lifecycle.preStop.tcpSocket.host"
            ]
        );
    }

    #[test]
    fn selinux_sites_are_per_field() {
        let p = app(json!({"seLinuxOptions": {"type": "spc_t", "user": "u", "role": "r"}}));
        let sites = violation(B, "v1.30", &p, "seLinuxOptions").sites;
        let paths: Vec<&str> = sites.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.containers[0].securityContext.seLinuxOptions.type",
                "spec.containers[0].securityContext.seLinuxOptions.user",
                "spec.containers[0].securityContext.seLinuxOptions.role"
            ]
        );
        assert_eq!(sites[0].required, r#"unset or one of "", "container_t", "container_init_t", "container_kvm_t""#);
        assert_eq!(
            sites[2].detail,
            r#"container "app" set forbidden securityContext.seLinuxOptions: role may not be set"#
        );
    }

    /// With a single offending setter, the setter's own detail is PSA's whole detail.
    #[rstest]
    #[case::host_namespaces(B, pod(json!({"hostIPC": true, "containers": [{"name": "app"}]})), "hostNamespaces")]
    #[case::capabilities_baseline(B, app(json!({"capabilities": {"add": ["NET_ADMIN", "SYS_TIME", "NET_ADMIN"]}})), "capabilities_baseline")]
    #[case::app_armor_container(B, app(json!({"appArmorProfile": {"type": "Unconfined"}})), "appArmorProfile")]
    #[case::seccomp_annotation(B, annotated(json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), json!({"containers": [{"name": "app"}]})), "seccompProfile_baseline")]
    #[case::sysctl(B, pod_sc(json!({"sysctls": [{"name": "kernel.msgmax", "value": "1"}]})), "sysctls")]
    #[case::windows_host_process(B, pod_sc(json!({"windowsOptions": {"hostProcess": true}})), "windowsHostProcess")]
    #[case::proc_mount(B, app(json!({"procMount": "Unmasked"})), "procMount")]
    #[case::run_as_user(R, pod_sc(json!({"runAsUser": 0})), "runAsUser")]
    #[case::seccomp_restricted(R, pod_sc(json!({"seccompProfile": {"type": "Unconfined"}})), "seccompProfile_restricted")]
    #[case::allow_privilege_escalation(R, bare(), "allowPrivilegeEscalation")]
    fn single_site_detail_equals_violation_detail(#[case] level: Level, #[case] pod: Value, #[case] check: &str) {
        let version = if check == "seccompProfile_baseline" { "v1.18" } else { "latest" };
        let v = violation(level, version, &pod, check);
        assert_eq!(v.sites.len(), 1, "{v:?}");
        assert_eq!(v.sites[0].detail, v.detail);
    }

    // ---- check plans, versions, levels -----------------------------------------------------

    #[rstest]
    #[case::baseline_latest(B, Version::LATEST, &["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts", "hostProbesAndHostLifecycle", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess"])]
    #[case::baseline_v1_33(B, Version::v1(33), &["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess"])]
    #[case::restricted_latest(R, Version::LATEST, &["appArmorProfile", "hostNamespaces", "hostPorts", "hostProbesAndHostLifecycle", "privileged", "seLinuxOptions", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"])]
    #[case::restricted_far_future_is_latest(R, Version::v1(99), &["appArmorProfile", "hostNamespaces", "hostPorts", "hostProbesAndHostLifecycle", "privileged", "seLinuxOptions", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"])]
    #[case::restricted_v1_0(R, Version::v1(0), &["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPorts", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess", "restrictedVolumes", "runAsNonRoot"])]
    #[case::restricted_v1_18(R, Version::v1(18), &["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPorts", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "restrictedVolumes", "runAsNonRoot"])]
    #[case::restricted_v1_21(R, Version::v1(21), &["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPorts", "privileged", "procMount", "seLinuxOptions", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "restrictedVolumes", "runAsNonRoot", "seccompProfile_restricted"])]
    #[case::restricted_v1_23(R, Version::v1(23), &["appArmorProfile", "hostNamespaces", "hostPorts", "privileged", "procMount", "seLinuxOptions", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "capabilities_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"])]
    fn checks_for_lists_psa_order(#[case] level: Level, #[case] version: Version, #[case] expected: &[&str]) {
        assert_eq!(checks_for(level, version), expected);
        let outcomes = evaluate(level, version, &ObjectMeta::default(), &PodSpec::default());
        let ran: Vec<&str> = outcomes.iter().map(|o| o.check).collect();
        assert_eq!(ran, expected);
    }

    #[test]
    fn checks_table_has_psa_ids_in_psa_order() {
        assert_eq!(CHECKS.len(), 19);
        let ids = |level: Level| -> Vec<&str> { CHECKS.iter().filter(|c| c.level == level).map(|c| c.id).collect() };
        let (baseline, restricted) = (ids(B), ids(R));
        assert_eq!((baseline.len(), restricted.len()), (12, 7));
        assert!(baseline.is_sorted() && restricted.is_sorted());
        let order: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        assert_eq!(order, [baseline, restricted].concat());
        for check in CHECKS {
            assert!(!check.summary.is_empty() && check.help.ends_with('.'), "{check:?}");
        }
    }

    #[test]
    fn revision_table_matches_checks() {
        let mut sinces: Vec<u32> = RULES.iter().flat_map(|r| r.revisions.iter().map(|v| v.since)).collect();
        sinces.sort_unstable();
        sinces.dedup();
        assert_eq!(sinces, REVISIONS);
        assert_eq!(Version::LATEST.minor(), 35);
        for rule in RULES {
            assert!(rule.revisions.is_sorted_by(|a, b| a.since < b.since), "{}", rule.info.id);
            let overrides = rule.revisions.iter().any(|r| !r.overrides.is_empty());
            assert!(!overrides || rule.info.level == R, "{}", rule.info.id);
        }
    }

    #[test]
    fn value_tables_change_only_at_their_checks_revisions() {
        let revisions_of = |id: &str| -> Vec<u32> {
            RULES.iter().find(|r| r.info.id == id).map(|r| r.revisions.iter().map(|v| v.since).collect()).unwrap()
        };
        let sysctl_revisions = revisions_of("sysctls");
        assert!(SAFE_SYSCTLS.iter().all(|(_, since)| sysctl_revisions.contains(since)));
        let selinux_revisions = revisions_of("seLinuxOptions");
        assert!(SELINUX_TYPES.iter().all(|(_, since)| selinux_revisions.contains(since)));
        for id in ["allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"] {
            assert!(revisions_of(id).contains(&WINDOWS_EXEMPTION_SINCE), "{id}");
        }
        for id in ["runAsNonRoot", "runAsUser", "procMount"] {
            assert!(revisions_of(id).contains(&USER_NAMESPACE_RELAXATION_SINCE), "{id}");
        }
        assert!(revisions_of("seccompProfile_baseline").contains(&SECCOMP_FIELDS_SINCE));
    }

    #[rstest]
    #[case::latest("latest", Ok(Version::LATEST), "latest", 35)]
    #[case::zero("v1.0", Ok(Version::v1(0)), "v1.0", 0)]
    #[case::pinned("v1.29", Ok(Version::v1(29)), "v1.29", 29)]
    #[case::newer_is_lowered("v1.99", Ok(Version::v1(99)), "v1.99", 35)]
    #[case::huge_is_lowered("v1.9223372036854775807", Ok(Version::v1(u32::MAX)), "v1.4294967295", 35)]
    fn version_parses(
        #[case] input: &str,
        #[case] expected: Result<Version, ()>,
        #[case] display: &str,
        #[case] minor: u32,
    ) {
        let parsed: Version = input.parse().unwrap();
        assert_eq!(Ok(parsed), expected);
        assert_eq!(parsed.to_string(), display);
        assert_eq!(parsed.minor(), minor);
    }

    #[rstest]
    #[case::leading_zero("v1.01")]
    #[case::no_prefix("1.25")]
    #[case::major_two("v2.0")]
    #[case::empty_minor("v1.")]
    #[case::negative("v1.-1")]
    #[case::whitespace(" v1.2")]
    #[case::trailing_newline("v1.2\n")]
    #[case::uppercase("Latest")]
    #[case::beyond_i64("v1.9223372036854775808")]
    #[case::non_ascii_digit("v1.٣")]
    fn version_rejects(#[case] input: &str) {
        let err = input.parse::<Version>().unwrap_err();
        assert!(err.to_string().contains(r#"must be "latest" or "v1.x""#));
    }

    #[test]
    fn level_parses_and_displays() {
        assert_eq!("baseline".parse::<Level>(), Ok(B));
        assert_eq!("restricted".parse::<Level>(), Ok(R));
        assert_eq!(R.to_string(), "restricted");
        assert!("privileged".parse::<Level>().is_err());
        assert!("Baseline".parse::<Level>().is_err());
    }

    #[test]
    fn defaults_do_not_touch_the_callers_spec_or_unrelated_pods() {
        let (_, spec) = parse(&pod(
            json!({"hostNetwork": true, "containers": [{"name": "app", "ports": [{"containerPort": 80}]}], "volumes": [{"name": "v"}]}),
        ));
        let defaulted = with_api_defaults(&spec);
        assert!(matches!(defaulted, Cow::Owned(_)));
        assert_eq!(defaulted.containers[0].ports.as_ref().unwrap()[0].host_port, Some(80));
        assert!(defaulted.volumes.as_ref().unwrap()[0].empty_dir.is_some());
        assert_eq!(spec.containers[0].ports.as_ref().unwrap()[0].host_port, None);
        let (_, plain) = parse(&bare());
        assert!(matches!(with_api_defaults(&plain), Cow::Borrowed(_)));
    }
}
