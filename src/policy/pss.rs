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
//! names, volumes with several sources, negative or out-of-range ports, malformed sysctl names, and
//! `procMount: Unmasked` without `hostUsers: false`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EphemeralContainer, HTTPGetAction, Lifecycle,
    PodSecurityContext, PodSpec, Probe, SELinuxOptions, SecurityContext, TCPSocketAction, Volume,
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
    Revision {
        since,
        overrides: &[],
        run,
    }
}

const fn rev_overriding(since: u32, overrides: &'static [&'static str], run: CheckFn) -> Revision {
    Revision {
        since,
        overrides,
        run,
    }
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
        revisions: &[
            rev(0, seccomp_profile_baseline),
            rev(19, seccomp_profile_baseline),
        ],
    },
    Rule {
        info: CheckInfo {
            id: "sysctls",
            level: Level::Baseline,
            summary: "pods may set only the safe, namespaced sysctls",
            help: "Remove sysctls outside the safe set from spec.securityContext.sysctls, or set them on the node \
                   instead.",
        },
        revisions: &[
            rev(0, sysctls),
            rev(27, sysctls),
            rev(29, sysctls),
            rev(32, sysctls),
        ],
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
        revisions: &[
            rev(8, allow_privilege_escalation),
            rev(25, allow_privilege_escalation),
        ],
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
    plan(level, version.minor())
        .into_iter()
        .map(|(rule, _)| rule.info.id)
        .collect()
}

/// Evaluates a pod (or pod template) against `level` at `version`: one outcome per check that runs,
/// in [`checks_for`] order. API defaults are applied to a copy first (see the module docs).
#[must_use]
pub fn evaluate(
    level: Level,
    version: Version,
    metadata: &ObjectMeta,
    spec: &PodSpec,
) -> Vec<CheckOutcome> {
    let spec = with_api_defaults(spec);
    let pod = Pod::new(metadata, &spec);
    plan(level, version.minor())
        .into_iter()
        .map(|(rule, revision)| CheckOutcome {
            check: rule.info.id,
            violation: (revision.run)(&pod, revision.since),
        })
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
        .map(|v| {
            if v.detail.is_empty() {
                v.reason.to_owned()
            } else {
                format!("{} ({})", v.reason, v.detail)
            }
        })
        .collect();
    if failures.is_empty() {
        return None;
    }
    Some(format!(
        "violates PodSecurity {}: {}",
        go_quote(&format!("{level}:{version_label}")),
        failures.join(", ")
    ))
}

// ---------------------------------------------------------------------------------------------
// Data tables
// ---------------------------------------------------------------------------------------------

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
const SELINUX_TYPES: &[(&str, u32)] = &[
    ("", 0),
    ("container_t", 0),
    ("container_init_t", 0),
    ("container_kvm_t", 0),
    ("container_engine_t", 31),
];

type VolumeProbe = fn(&Volume) -> bool;

/// Volume sources restricted allows.
const ALLOWED_VOLUME_SOURCES: &[(&str, VolumeProbe)] = &[
    ("configMap", |v| v.config_map.is_some()),
    ("csi", |v| v.csi.is_some()),
    ("downwardAPI", |v| v.downward_api.is_some()),
    ("emptyDir", |v| v.empty_dir.is_some()),
    ("ephemeral", |v| v.ephemeral.is_some()),
    ("image", |v| v.image.is_some()),
    ("persistentVolumeClaim", |v| {
        v.persistent_volume_claim.is_some()
    }),
    ("projected", |v| v.projected.is_some()),
    ("secret", |v| v.secret.is_some()),
];

/// Volume sources restricted forbids, in the order PSA names a volume's type by.
const RESTRICTED_VOLUME_SOURCES: &[(&str, VolumeProbe)] = &[
    ("hostPath", |v| v.host_path.is_some()),
    ("gcePersistentDisk", |v| v.gce_persistent_disk.is_some()),
    ("awsElasticBlockStore", |v| {
        v.aws_elastic_block_store.is_some()
    }),
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
    ("photonPersistentDisk", |v| {
        v.photon_persistent_disk.is_some()
    }),
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
    ALLOWED_VOLUME_SOURCES
        .iter()
        .chain(RESTRICTED_VOLUME_SOURCES)
        .any(|(_, has)| has(volume))
}

fn needs_host_port_default(port: &ContainerPort) -> bool {
    port.host_port.unwrap_or(0) == 0
}

/// `spec` with the API defaults that change PSA verdicts (see the module docs).
fn with_api_defaults(spec: &PodSpec) -> Cow<'_, PodSpec> {
    let host_network = spec.host_network == Some(true);
    let default_containers = |spec: &PodSpec| -> bool {
        spec.init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .flat_map(|c| c.ports.iter().flatten())
            .any(needs_host_port_default)
    };
    let default_volumes = spec.volumes.iter().flatten().any(|v| !volume_has_source(v));
    let default_ports = host_network && default_containers(spec);
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
        let containers = spec
            .init_containers
            .iter_mut()
            .flatten()
            .chain(spec.containers.iter_mut());
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

impl<'a> Ctr<'a> {
    fn from_container(field: &str, index: usize, c: &'a Container) -> Self {
        Ctr {
            name: &c.name,
            path: format!("spec.{field}[{index}]"),
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [
                ("livenessProbe", c.liveness_probe.as_ref()),
                ("readinessProbe", c.readiness_probe.as_ref()),
                ("startupProbe", c.startup_probe.as_ref()),
            ],
            lifecycle: c.lifecycle.as_ref(),
        }
    }

    fn from_ephemeral(index: usize, c: &'a EphemeralContainer) -> Self {
        Ctr {
            name: &c.name,
            path: format!("spec.ephemeralContainers[{index}]"),
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [
                ("livenessProbe", c.liveness_probe.as_ref()),
                ("readinessProbe", c.readiness_probe.as_ref()),
                ("startupProbe", c.startup_probe.as_ref()),
            ],
            lifecycle: c.lifecycle.as_ref(),
        }
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
        Pod {
            meta,
            spec,
            containers,
        }
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

    fn annotations(&self) -> impl Iterator<Item = (&'a String, &'a String)> {
        self.meta.annotations.iter().flatten()
    }
}

fn pod_site(field: &str, found: String, required: &str, detail: String) -> Site {
    Site {
        container: None,
        path: format!("spec.{field}"),
        found,
        required: required.to_owned(),
        detail,
    }
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
    items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
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
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// `pod`, `containers "a", "b"` and optional extra setters joined with `" and "`.
fn setters_phrase(pod: bool, containers: &[&str]) -> Vec<String> {
    let mut setters = Vec::new();
    if pod {
        setters.push("pod".to_owned());
    }
    if !containers.is_empty() {
        setters.push(containers_phrase(containers));
    }
    setters
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
// Baseline checks
// ---------------------------------------------------------------------------------------------

fn host_namespaces(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let fields = [
        ("hostNetwork", pod.spec.host_network),
        ("hostPID", pod.spec.host_pid),
        ("hostIPC", pod.spec.host_ipc),
    ];
    let sites: Vec<Site> = fields
        .into_iter()
        .filter(|(_, value)| *value == Some(true))
        .map(|(field, _)| {
            pod_site(
                field,
                "true".to_owned(),
                FALSE_OR_UNSET,
                format!("{field}=true"),
            )
        })
        .collect();
    if sites.is_empty() {
        return None;
    }
    let detail = sites
        .iter()
        .map(|s| s.detail.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some(Violation {
        reason: "host namespaces",
        detail,
        sites,
    })
}

fn privileged(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    const MESSAGE: &str = "must not set securityContext.privileged=true";
    let bad: Vec<&Ctr<'_>> = pod
        .containers
        .iter()
        .filter(|c| c.sc.and_then(|sc| sc.privileged) == Some(true))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|c| c.name).collect();
    let sites = bad
        .iter()
        .map(|c| {
            c.site(
                "securityContext.privileged",
                "true".to_owned(),
                FALSE_OR_UNSET,
                format!("{} {MESSAGE}", c.setter()),
            )
        })
        .collect();
    Some(Violation {
        reason: "privileged",
        detail: format!("{} {MESSAGE}", containers_phrase(&names)),
        sites,
    })
}

fn capabilities_baseline(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let mut names = Vec::new();
    let mut forbidden = BTreeSet::new();
    let mut sites = Vec::new();
    let required = format!(
        "only capabilities from the default set {}",
        join_quote(BASELINE_CAPABILITIES)
    );
    for c in &pod.containers {
        let Some(caps) = c.sc.and_then(|sc| sc.capabilities.as_ref()) else {
            continue;
        };
        let bad: Vec<&str> = caps
            .add
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|cap| !BASELINE_CAPABILITIES.contains(cap))
            .collect();
        if bad.is_empty() {
            continue;
        }
        names.push(c.name);
        forbidden.extend(bad.iter().copied());
        let own: BTreeSet<&str> = bad.iter().copied().collect();
        sites.push(c.site(
            "securityContext.capabilities.add",
            list_literal(&bad),
            &required,
            format!(
                "{} must not include {} in securityContext.capabilities.add",
                c.setter(),
                join_quote(own)
            ),
        ));
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "non-default capabilities",
        detail: format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&names),
            join_quote(forbidden)
        ),
        sites,
    })
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
                format!("volume {}", join_quote([&volume.name])),
            ));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostPath volumes",
        detail: format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
        sites,
    })
}

fn host_ports(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let mut names = Vec::new();
    let mut ports = BTreeSet::new();
    let mut sites = Vec::new();
    for c in &pod.containers {
        let mut bad = false;
        for (j, port) in c.ports.iter().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            bad = true;
            ports.insert(host_port.to_string());
            sites.push(c.site(
                &format!("ports[{j}].hostPort"),
                host_port.to_string(),
                "unset or 0",
                format!("{} uses hostPort {host_port}", c.setter()),
            ));
        }
        if bad {
            names.push(c.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostPort",
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.into_iter().collect::<Vec<_>>().join(", ")
        ),
        sites,
    })
}

/// The non-empty `httpGet.host` / `tcpSocket.host` values of a container's probes and lifecycle
/// handlers, as `(field path relative to the container, host)`, in PSA order.
fn probe_and_lifecycle_hosts<'a>(c: &Ctr<'a>) -> Vec<(String, &'a str)> {
    let mut handlers: Vec<(&str, Option<&'a HTTPGetAction>, Option<&'a TCPSocketAction>)> = c
        .probes
        .iter()
        .filter_map(|(field, probe)| {
            probe.map(|p| (*field, p.http_get.as_ref(), p.tcp_socket.as_ref()))
        })
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
                format!(
                    "{} uses probe or lifecycle host {}",
                    c.setter(),
                    join_quote([host])
                ),
            ));
        }
    }
    if names.is_empty() {
        return None;
    }
    let names: Vec<&str> = names.into_iter().collect();
    Some(Violation {
        reason: "probe or lifecycle host",
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(hosts)
        ),
        sites,
    })
}

fn windows_host_process(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    const FIELD: &str = "securityContext.windowsOptions.hostProcess";
    const MESSAGE: &str = "must not set securityContext.windowsOptions.hostProcess=true";
    let mut sites = Vec::new();
    let pod_bad = pod
        .pod_sc()
        .and_then(|sc| sc.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true);
    if pod_bad {
        sites.push(pod_site(
            FIELD,
            "true".to_owned(),
            FALSE_OR_UNSET,
            format!("pod {MESSAGE}"),
        ));
    }
    let mut names = Vec::new();
    for c in &pod.containers {
        let host_process =
            c.sc.and_then(|sc| sc.windows_options.as_ref())
                .and_then(|w| w.host_process);
        if host_process == Some(true) {
            names.push(c.name);
            sites.push(c.site(
                FIELD,
                "true".to_owned(),
                FALSE_OR_UNSET,
                format!("{} {MESSAGE}", c.setter()),
            ));
        }
    }
    if sites.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostProcess",
        detail: format!(
            "{} {MESSAGE}",
            setters_phrase(pod_bad, &names).join(" and ")
        ),
        sites,
    })
}

fn app_armor_profile(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    const ANNOTATION_REQUIRED: &str = "\"\", \"runtime/default\" or \"localhost/<profile>\"";
    let allowed_type = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let message = |setter: &str, value: &str| {
        format!(
            "{setter} must not set AppArmor profile type to {}",
            join_quote([value])
        )
    };
    let mut sites = Vec::new();
    let mut bad_types = BTreeSet::new();

    let pod_type = pod
        .pod_sc()
        .and_then(|sc| sc.app_armor_profile.as_ref())
        .map(|p| p.type_.as_str());
    let pod_bad = pod_type.is_some_and(|t| !allowed_type(t));
    if let Some(t) = pod_type.filter(|_| pod_bad) {
        bad_types.insert(t);
        sites.push(pod_site(
            "securityContext.appArmorProfile.type",
            go_quote(t),
            VALID_PROFILE_TYPES,
            message("pod", t),
        ));
    }

    let mut names = Vec::new();
    for c in &pod.containers {
        let Some(profile) = c.sc.and_then(|sc| sc.app_armor_profile.as_ref()) else {
            continue;
        };
        let t = profile.type_.as_str();
        if allowed_type(t) {
            continue;
        }
        names.push(c.name);
        bad_types.insert(t);
        sites.push(c.site(
            "securityContext.appArmorProfile.type",
            go_quote(t),
            VALID_PROFILE_TYPES,
            message(&c.setter(), t),
        ));
    }

    let allowed_annotation =
        |v: &str| v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
    let mut annotations: Vec<(String, &str, &str)> = pod
        .annotations()
        .filter(|(k, v)| k.starts_with(APPARMOR_ANNOTATION_PREFIX) && !allowed_annotation(v))
        .map(|(k, v)| (format!("{k}={}", go_quote(v)), k.as_str(), v.as_str()))
        .collect();
    annotations.sort();
    for (formatted, key, value) in &annotations {
        sites.push(annotation_site(
            key,
            value,
            ANNOTATION_REQUIRED,
            message("annotation", formatted),
        ));
    }

    if sites.is_empty() {
        return None;
    }
    let mut setters = setters_phrase(pod_bad, &names);
    if !annotations.is_empty() {
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_owned());
    }
    let values: Vec<&str> = bad_types
        .into_iter()
        .chain(
            annotations
                .iter()
                .map(|(formatted, _, _)| formatted.as_str()),
        )
        .collect();
    Some(Violation {
        reason: pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        detail: format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&values)
        ),
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
fn se_linux_problems<'a>(
    opts: &'a SELinuxOptions,
    allowed_types: &[&str],
) -> Vec<SeLinuxProblem<'a>> {
    let mut problems = Vec::new();
    let t = opts.type_.as_deref().unwrap_or_default();
    if !allowed_types.contains(&t) {
        problems.push(SeLinuxProblem {
            field: "type",
            value: t,
            item: format!("type {}", join_quote([t])),
        });
    }
    if let Some(user) = opts.user.as_deref().filter(|u| !u.is_empty()) {
        problems.push(SeLinuxProblem {
            field: "user",
            value: user,
            item: "user may not be set".to_owned(),
        });
    }
    if let Some(role) = opts.role.as_deref().filter(|r| !r.is_empty()) {
        problems.push(SeLinuxProblem {
            field: "role",
            value: role,
            item: "role may not be set".to_owned(),
        });
    }
    problems
}

fn se_linux_options(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const USER_ROLE_REQUIRED: &str = "unset or \"\"";
    let allowed: Vec<&str> = SELINUX_TYPES
        .iter()
        .filter(|(_, since)| *since <= rev)
        .map(|(t, _)| *t)
        .collect();
    let type_required = format!("unset or one of {}", join_quote(&allowed));

    // Offending setters in PSA order: the pod (None), then containers in visit order.
    let mut offenders: Vec<(Option<&Ctr<'_>>, Vec<SeLinuxProblem<'_>>)> = Vec::new();
    if let Some(opts) = pod.pod_sc().and_then(|sc| sc.se_linux_options.as_ref()) {
        offenders.push((None, se_linux_problems(opts, &allowed)));
    }
    for c in &pod.containers {
        if let Some(opts) = c.sc.and_then(|sc| sc.se_linux_options.as_ref()) {
            offenders.push((Some(c), se_linux_problems(opts, &allowed)));
        }
    }
    offenders.retain(|(_, problems)| !problems.is_empty());
    if offenders.is_empty() {
        return None;
    }

    let mut bad_types = BTreeSet::new();
    let mut sites = Vec::new();
    for (ctr, problems) in &offenders {
        let setter = ctr.map_or_else(|| "pod".to_owned(), Ctr::setter);
        for problem in problems {
            let required = if problem.field == "type" {
                bad_types.insert(problem.value);
                type_required.as_str()
            } else {
                USER_ROLE_REQUIRED
            };
            let field = format!("securityContext.seLinuxOptions.{}", problem.field);
            let found = go_quote(problem.value);
            let detail = format!(
                "{setter} set forbidden securityContext.seLinuxOptions: {}",
                problem.item
            );
            sites.push(match ctr {
                Some(c) => c.site(&field, found, required, detail),
                None => pod_site(&field, found, required, detail),
            });
        }
    }
    let any_field = |name: &str| {
        offenders
            .iter()
            .any(|(_, problems)| problems.iter().any(|p| p.field == name))
    };
    let mut items = Vec::new();
    if !bad_types.is_empty() {
        items.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&bad_types)
        ));
    }
    if any_field("user") {
        items.push("user may not be set".to_owned());
    }
    if any_field("role") {
        items.push("role may not be set".to_owned());
    }
    let pod_bad = offenders.first().is_some_and(|(ctr, _)| ctr.is_none());
    let names: Vec<&str> = offenders
        .iter()
        .filter_map(|(c, _)| c.map(|c| c.name))
        .collect();
    Some(Violation {
        reason: "seLinuxOptions",
        detail: format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters_phrase(pod_bad, &names).join(" and "),
            items.join("; ")
        ),
        sites,
    })
}

/// Shared rule of `procMount` and `procMount_restricted`.
fn proc_mount(pod: &Pod<'_>, required: &str) -> Option<Violation> {
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    let mut sites = Vec::new();
    for c in &pod.containers {
        let Some(value) = c.sc.and_then(|sc| sc.proc_mount.as_deref()) else {
            continue;
        };
        if value == "Default" {
            continue;
        }
        names.push(c.name);
        types.insert(value);
        sites.push(c.site(
            "securityContext.procMount",
            go_quote(value),
            required,
            format!(
                "{} must not set securityContext.procMount to {}",
                c.setter(),
                join_quote([value])
            ),
        ));
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "procMount",
        detail: format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&names),
            join_quote(types)
        ),
        sites,
    })
}

fn proc_mount_baseline(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if rev >= 35 {
        if pod.in_user_namespace() {
            return None;
        }
        return proc_mount(
            pod,
            "unset or \"Default\" (any value when spec.hostUsers is false)",
        );
    }
    proc_mount(pod, "unset or \"Default\"")
}

fn proc_mount_restricted(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    proc_mount(pod, "unset or \"Default\"")
}

fn seccomp_profile_baseline(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    if rev >= 19 {
        seccomp_fields_baseline(pod)
    } else {
        seccomp_annotations_baseline(pod)
    }
}

/// Seccomp by annotation (policy versions before v1.19).
fn seccomp_annotations_baseline(pod: &Pod<'_>) -> Option<Violation> {
    const REQUIRED: &str = "\"runtime/default\", \"docker/default\" or \"localhost/<profile>\"";
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotations = pod.meta.annotations.as_ref();
    let keys = std::iter::once(SECCOMP_POD_ANNOTATION.to_owned()).chain(
        pod.containers
            .iter()
            .map(|c| format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name)),
    );
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
            annotation_site(
                key,
                value,
                REQUIRED,
                format!("forbidden annotation {formatted}"),
            )
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

fn valid_seccomp_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

/// Explicitly bad seccomp setters: `(pod is bad, bad containers, bad values, sites)`.
struct SeccompExplicit<'p> {
    pod_bad: bool,
    pod_valid: bool,
    containers: Vec<&'p str>,
    values: BTreeSet<&'p str>,
    sites: Vec<Site>,
}

fn seccomp_explicit<'p>(pod: &'p Pod<'_>, required: &str) -> SeccompExplicit<'p> {
    const FIELD: &str = "securityContext.seccompProfile.type";
    let message = |setter: &str, value: &str| {
        format!(
            "{setter} must not set securityContext.seccompProfile.type to {}",
            join_quote([value])
        )
    };
    let mut out = SeccompExplicit {
        pod_bad: false,
        pod_valid: false,
        containers: Vec::new(),
        values: BTreeSet::new(),
        sites: Vec::new(),
    };
    if let Some(profile) = pod.pod_sc().and_then(|sc| sc.seccomp_profile.as_ref()) {
        let t = profile.type_.as_str();
        if valid_seccomp_type(t) {
            out.pod_valid = true;
        } else {
            out.pod_bad = true;
            out.values.insert(t);
            out.sites
                .push(pod_site(FIELD, go_quote(t), required, message("pod", t)));
        }
    }
    for c in &pod.containers {
        let Some(profile) = c.sc.and_then(|sc| sc.seccomp_profile.as_ref()) else {
            continue;
        };
        let t = profile.type_.as_str();
        if !valid_seccomp_type(t) {
            out.containers.push(c.name);
            out.values.insert(t);
            out.sites
                .push(c.site(FIELD, go_quote(t), required, message(&c.setter(), t)));
        }
    }
    out
}

impl SeccompExplicit<'_> {
    fn violation(self) -> Option<Violation> {
        if self.sites.is_empty() {
            return None;
        }
        Some(Violation {
            reason: "seccompProfile",
            detail: format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters_phrase(self.pod_bad, &self.containers).join(" and "),
                join_quote(&self.values)
            ),
            sites: self.sites,
        })
    }
}

/// Seccomp by field (policy versions from v1.19).
fn seccomp_fields_baseline(pod: &Pod<'_>) -> Option<Violation> {
    seccomp_explicit(pod, &format!("unset, {VALID_PROFILE_TYPES}")).violation()
}

fn sysctls(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    let allowed: Vec<&str> = SAFE_SYSCTLS
        .iter()
        .filter(|(_, since)| *since <= rev)
        .map(|(name, _)| *name)
        .collect();
    let required = format!("one of {}", join_quote(&allowed));
    let mut names = Vec::new();
    let mut sites = Vec::new();
    let list = pod
        .pod_sc()
        .and_then(|sc| sc.sysctls.as_deref())
        .unwrap_or_default();
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
    Some(Violation {
        reason: "forbidden sysctls",
        detail: names.join(", "),
        sites,
    })
}

// ---------------------------------------------------------------------------------------------
// Restricted checks
// ---------------------------------------------------------------------------------------------

fn restricted_volumes(pod: &Pod<'_>, _rev: u32) -> Option<Violation> {
    let required = format!(
        "one of {}",
        ALLOWED_VOLUME_SOURCES
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    let mut sites = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        if ALLOWED_VOLUME_SOURCES.iter().any(|(_, has)| has(volume)) {
            continue;
        }
        let source = RESTRICTED_VOLUME_SOURCES
            .iter()
            .find(|(_, has)| has(volume))
            .map(|(name, _)| *name);
        let kind = source.unwrap_or("unknown");
        names.push(volume.name.as_str());
        types.insert(kind);
        sites.push(Site {
            container: None,
            path: source.map_or_else(
                || format!("spec.volumes[{i}]"),
                |s| format!("spec.volumes[{i}].{s}"),
            ),
            found: kind.to_owned(),
            required: required.clone(),
            detail: format!(
                "volume {} uses restricted volume type {}",
                join_quote([&volume.name]),
                join_quote([kind])
            ),
        });
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "restricted volume types",
        detail: format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(types)
        ),
        sites,
    })
}

fn allow_privilege_escalation(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const MESSAGE: &str = "must set securityContext.allowPrivilegeEscalation=false";
    if rev >= 25 && pod.is_windows() {
        return None;
    }
    let mut names = Vec::new();
    let mut sites = Vec::new();
    for c in &pod.containers {
        let value = c.sc.and_then(|sc| sc.allow_privilege_escalation);
        if value == Some(false) {
            continue;
        }
        names.push(c.name);
        sites.push(c.site(
            "securityContext.allowPrivilegeEscalation",
            opt_bool(value),
            "false",
            format!("{} {MESSAGE}", c.setter()),
        ));
    }
    if names.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "allowPrivilegeEscalation != false",
        detail: format!("{} {MESSAGE}", containers_phrase(&names)),
        sites,
    })
}

fn capabilities_restricted(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const DROP_MESSAGE: &str = "must set securityContext.capabilities.drop=[\"ALL\"]";
    const DROP_REQUIRED: &str = "a list including \"ALL\"";
    const ADD_REQUIRED: &str = "unset, or only \"NET_BIND_SERVICE\"";
    if rev >= 25 && pod.is_windows() {
        return None;
    }
    let add_message = |setter: &str, caps: &BTreeSet<&str>| {
        format!(
            "{setter} must not include {} in securityContext.capabilities.add",
            join_quote(caps)
        )
    };
    let mut missing_drop = Vec::new();
    let mut drop_sites = Vec::new();
    let mut adding = Vec::new();
    let mut add_sites = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in &pod.containers {
        let caps = c.sc.and_then(|sc| sc.capabilities.as_ref());
        let drop = caps.and_then(|caps| caps.drop.as_deref());
        if !drop.unwrap_or_default().iter().any(|d| d == "ALL") {
            missing_drop.push(c.name);
            drop_sites.push(c.site(
                "securityContext.capabilities.drop",
                drop.map_or_else(|| "unset".to_owned(), list_literal),
                DROP_REQUIRED,
                format!("{} {DROP_MESSAGE}", c.setter()),
            ));
        }
        let bad: Vec<&str> = caps
            .and_then(|caps| caps.add.as_deref())
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .filter(|cap| *cap != RESTRICTED_ADD_CAPABILITY)
            .collect();
        if !bad.is_empty() {
            adding.push(c.name);
            forbidden.extend(bad.iter().copied());
            let own: BTreeSet<&str> = bad.iter().copied().collect();
            add_sites.push(c.site(
                "securityContext.capabilities.add",
                list_literal(&bad),
                ADD_REQUIRED,
                add_message(&c.setter(), &own),
            ));
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} {DROP_MESSAGE}",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(add_message(&containers_phrase(&adding), &forbidden));
    }
    if details.is_empty() {
        return None;
    }
    drop_sites.extend(add_sites);
    Some(Violation {
        reason: "unrestricted capabilities",
        detail: details.join("; "),
        sites: drop_sites,
    })
}

fn run_as_non_root(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const FIELD: &str = "securityContext.runAsNonRoot";
    const FALSE_MESSAGE: &str = "must not set securityContext.runAsNonRoot=false";
    const TRUE_MESSAGE: &str = "must set securityContext.runAsNonRoot=true";
    if rev >= 35 && pod.in_user_namespace() {
        return None;
    }
    let pod_value = pod.pod_sc().and_then(|sc| sc.run_as_non_root);
    let pod_bad = pod_value == Some(false);
    let pod_true = pod_value == Some(true);
    let mut explicit_sites = Vec::new();
    if pod_bad {
        explicit_sites.push(pod_site(
            FIELD,
            "false".to_owned(),
            "true or unset",
            format!("pod {FALSE_MESSAGE}"),
        ));
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_sites = Vec::new();
    for c in &pod.containers {
        match c.sc.and_then(|sc| sc.run_as_non_root) {
            Some(true) => {}
            Some(false) => {
                explicit.push(c.name);
                explicit_sites.push(c.site(
                    FIELD,
                    "false".to_owned(),
                    "true, or unset with the pod setting true",
                    format!("{} {FALSE_MESSAGE}", c.setter()),
                ));
            }
            None if pod_true => {}
            None => {
                implicit.push(c.name);
                implicit_sites.push(c.site(
                    FIELD,
                    "unset".to_owned(),
                    "true (on the container, or on the pod)",
                    format!("pod or {} {TRUE_MESSAGE}", c.setter()),
                ));
            }
        }
    }
    if !explicit_sites.is_empty() {
        return Some(Violation {
            reason: "runAsNonRoot != true",
            detail: format!(
                "{} {FALSE_MESSAGE}",
                setters_phrase(pod_bad, &explicit).join(" and ")
            ),
            sites: explicit_sites,
        });
    }
    if implicit.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "runAsNonRoot != true",
        detail: format!("pod or {} {TRUE_MESSAGE}", containers_phrase(&implicit)),
        sites: implicit_sites,
    })
}

fn run_as_user(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const FIELD: &str = "securityContext.runAsUser";
    const MESSAGE: &str = "must not set runAsUser=0";
    const REQUIRED: &str = "non-zero or unset";
    if rev >= 35 && pod.in_user_namespace() {
        return None;
    }
    let mut sites = Vec::new();
    let pod_bad = pod.pod_sc().and_then(|sc| sc.run_as_user) == Some(0);
    if pod_bad {
        sites.push(pod_site(
            FIELD,
            "0".to_owned(),
            REQUIRED,
            format!("pod {MESSAGE}"),
        ));
    }
    let mut names = Vec::new();
    for c in &pod.containers {
        if c.sc.and_then(|sc| sc.run_as_user) == Some(0) {
            names.push(c.name);
            sites.push(c.site(
                FIELD,
                "0".to_owned(),
                REQUIRED,
                format!("{} {MESSAGE}", c.setter()),
            ));
        }
    }
    if sites.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "runAsUser=0",
        detail: format!(
            "{} {MESSAGE}",
            setters_phrase(pod_bad, &names).join(" and ")
        ),
        sites,
    })
}

fn seccomp_profile_restricted(pod: &Pod<'_>, rev: u32) -> Option<Violation> {
    const MESSAGE: &str =
        "must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"";
    if rev >= 25 && pod.is_windows() {
        return None;
    }
    let explicit = seccomp_explicit(pod, VALID_PROFILE_TYPES);
    let pod_valid = explicit.pod_valid;
    if let Some(violation) = explicit.violation() {
        return Some(violation);
    }
    if pod_valid {
        return None;
    }
    let implicit: Vec<&Ctr<'_>> = pod
        .containers
        .iter()
        .filter(|c| c.sc.and_then(|sc| sc.seccomp_profile.as_ref()).is_none())
        .collect();
    if implicit.is_empty() {
        return None;
    }
    let names: Vec<&str> = implicit.iter().map(|c| c.name).collect();
    let required = format!("{VALID_PROFILE_TYPES} (on the container, or on the pod)");
    let sites = implicit
        .iter()
        .map(|c| {
            c.site(
                "securityContext.seccompProfile.type",
                "unset".to_owned(),
                &required,
                format!("pod or {} {MESSAGE}", c.setter()),
            )
        })
        .collect();
    Some(Violation {
        reason: "seccompProfile",
        detail: format!("pod or {} {MESSAGE}", containers_phrase(&names)),
        sites,
    })
}
