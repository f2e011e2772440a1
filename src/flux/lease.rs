//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's rules: a lease is
//! taken over only after it has not changed for its whole duration as seen by the local clock
//! (so clock skew between replicas does not matter), renewals must succeed within the renew
//! deadline or leadership is lost, and a stopping leader releases the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::time::Instant;

/// The timing and identity of an election.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity (`holderIdentity`).
    pub identity: String,
    /// How long a lease is valid without renewal (client-go default 15 s).
    pub duration: Duration,
    /// How long a leader keeps trying to renew before it gives up (client-go default 10 s).
    pub renew_deadline: Duration,
    /// Time between attempts (client-go default 2 s).
    pub retry_period: Duration,
}

impl LeaseSettings {
    /// client-go's default timing for `namespace/name`, with an identity from `$HOSTNAME` and a
    /// random suffix.
    #[must_use]
    pub fn new(namespace: &str, name: &str) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "syncgate".to_owned());
        LeaseSettings {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: format!("{host}_{:016x}", rand::random::<u64>()),
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leadership ended.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Renewals failed for longer than the renew deadline.
    #[error("lost the lease {namespace}/{name}: no renewal succeeded within {deadline_s} s ({last})")]
    Lost {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The renew deadline.
        deadline_s: u64,
        /// The last failure.
        last: String,
    },
}

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The last record seen (holder, renew time, transitions) and when it was first seen.
    observed: Option<(String, Instant)>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Elector {
    /// An elector for `settings` through `client`.
    #[must_use]
    pub fn new(client: kube::Client, settings: LeaseSettings) -> Self {
        Elector { api: Api::namespaced(client, &settings.namespace), settings, observed: None }
    }

    /// This replica's identity.
    #[must_use]
    pub fn identity(&self) -> &str {
        &self.settings.identity
    }

    /// Waits until this replica holds the lease.
    pub async fn acquire(&mut self) {
        loop {
            match tokio::time::timeout(self.settings.renew_deadline, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => return,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(lease = %self.settings.name, error = %e, "cannot acquire the lease"),
                Err(_) => tracing::warn!(lease = %self.settings.name, "the Kubernetes API did not answer in time"),
            }
            tokio::time::sleep(jittered(self.settings.retry_period)).await;
        }
    }

    /// Renews the lease every retry period; returns when a renewal has not succeeded within the
    /// renew deadline (another replica may take over from then on).
    pub async fn hold(&mut self) -> LeaseError {
        let mut last_renewal = Instant::now();
        loop {
            tokio::time::sleep(self.settings.retry_period).await;
            // Each attempt may only use what is left of the renew deadline since the last success, so
            // a slow attempt cannot outlast the lease another replica may take over after.
            let left = self.settings.renew_deadline.saturating_sub(last_renewal.elapsed());
            let last = match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => {
                    last_renewal = Instant::now();
                    continue;
                }
                Ok(Ok(false)) => "another replica holds it".to_owned(),
                Ok(Err(e)) => e,
                Err(_) => "the renewal timed out".to_owned(),
            };
            if last_renewal.elapsed() >= self.settings.renew_deadline || last == "another replica holds it" {
                return LeaseError::Lost {
                    namespace: self.settings.namespace.clone(),
                    name: self.settings.name.clone(),
                    deadline_s: self.settings.renew_deadline.as_secs(),
                    last,
                };
            }
            tracing::warn!(lease = %self.settings.name, error = %last, "cannot renew the lease; retrying");
        }
    }

    /// Gives the lease up so another replica can take it at once (client-go's
    /// `ReleaseOnCancel`): the holder is cleared and the duration set to one second.
    pub async fn release(&mut self) {
        let deadline = self.settings.renew_deadline;
        let Ok(Ok(Some(mut lease))) = tokio::time::timeout(deadline, self.api.get_opt(&self.settings.name)).await
        else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
        match tokio::time::timeout(deadline, self.api.replace(&self.settings.name, &PostParams::default(), &lease))
            .await
        {
            Ok(Ok(_)) => tracing::info!(lease = %self.settings.name, "lease released"),
            Ok(Err(e)) => {
                tracing::warn!(lease = %self.settings.name, error = %crate::verify::explain(&e), "cannot release the lease");
            }
            Err(_) => tracing::warn!(lease = %self.settings.name, "releasing the lease timed out"),
        }
    }

    /// One attempt: create the lease, renew our own, or take over an expired one. `Ok(false)`
    /// when another replica holds a valid lease (or won a race for it).
    async fn try_acquire_or_renew(&mut self) -> Result<bool, String> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let seconds = i32::try_from(self.settings.duration.as_secs()).unwrap_or(15);
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await.map_err(|e| crate::verify::explain(&e))?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.settings.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(crate::verify::explain(&e)),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let mine = holder == self.settings.identity;
        let record = format!("{holder}|{:?}|{:?}", spec.renew_time, spec.lease_transitions);
        let first_seen = match &self.observed {
            Some((seen, at)) if *seen == record => *at,
            _ => {
                let at = Instant::now();
                self.observed = Some((record, at));
                at
            }
        };
        let held_for = Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(seconds)).unwrap_or(15));
        if !mine && !holder.is_empty() && first_seen.elapsed() < held_for {
            return Ok(false);
        }
        if !mine {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.holder_identity = Some(self.settings.identity.clone());
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(seconds);
        match self.api.replace(&self.settings.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(crate::verify::explain(&e)),
        }
    }
}

/// `period` plus up to 20 % (client-go's jitter factor 1.2).
fn jittered(period: Duration) -> Duration {
    period.mul_f64(1.0 + rand::random::<f64>() * 0.2)
}
