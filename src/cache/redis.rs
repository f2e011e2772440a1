//! The shared tier: a Redis server that every replica reads and writes.
//!
//! Owns the connection, its timeouts and what happens when Redis misbehaves: it is only a cache, so a
//! slow or unreachable server costs at most one timeout, is reported once, and is then left alone for
//! a while. It never interprets what it stores (see `entry`), and never logs the URL's password.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError, RedisResult};

/// Longest wait for a connection (TCP, TLS and AUTH together).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait for the answer to one command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// How long Redis is left alone after a failure before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// Keys fetched per SCAN step by `stats` and `clear`.
const SCAN_COUNT: u64 = 1_000;

/// Keys deleted per UNLINK by `clear`.
const UNLINK_BATCH: usize = 1_000;

/// A lazily connected Redis server with timeouts and back-off.
pub(crate) struct RedisTier {
    client: Client,
    /// `host:port/db`, for log messages (never the password).
    target: String,
    /// The shared connection once established; cleared on failure.
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Until when Redis is considered down.
    down_until: Mutex<Option<Instant>>,
    /// Whether the current outage has been reported (so it is reported once).
    outage_reported: AtomicBool,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier").field("target", &self.target).finish_non_exhaustive()
    }
}

/// Why a read found nothing usable.
#[derive(Debug)]
pub(crate) enum Fetch {
    /// The value stored under the key.
    Found(Vec<u8>),
    /// No such key.
    Missing,
    /// The key holds something that is not a string value.
    WrongType,
    /// Redis is down or failed; already reported.
    Unavailable,
}

impl RedisTier {
    /// A tier for `url` (`redis://` or `rediss://`), trusting `ca_cert` (PEM) for TLS if given. Does
    /// not connect.
    pub(crate) fn new(url: &str, ca_cert: Option<Vec<u8>>) -> RedisResult<Self> {
        let client = match ca_cert {
            Some(root_cert) => {
                Client::build_with_tls(url, redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) })?
            }
            None => Client::open(url)?,
        };
        let info = client.get_connection_info();
        let target = format!("{}/{}", info.addr, info.redis.db);
        Ok(Self {
            client,
            target,
            connection: tokio::sync::Mutex::new(None),
            down_until: Mutex::new(None),
            outage_reported: AtomicBool::new(false),
        })
    }

    /// `host:port/db` of the server.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    fn is_resting(&self) -> bool {
        let down_until = self.down_until.lock().unwrap_or_else(PoisonError::into_inner);
        down_until.is_some_and(|until| Instant::now() < until)
    }

    /// The shared connection, connecting if needed; `None` while Redis is down.
    async fn connection(&self) -> Option<MultiplexedConnection> {
        if self.is_resting() {
            return None;
        }
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Some(connection.clone());
        }
        // Another task may have just failed to connect while this one waited for the lock.
        if self.is_resting() {
            return None;
        }
        let config =
            AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT).set_response_timeout(COMMAND_TIMEOUT);
        let attempt = self.client.get_multiplexed_async_connection_with_config(&config);
        let failure = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(connection)) => {
                *self.down_until.lock().unwrap_or_else(PoisonError::into_inner) = None;
                if self.outage_reported.swap(false, Ordering::Relaxed) {
                    tracing::info!(redis = %self.target, "redis cache is reachable again");
                }
                *slot = Some(connection.clone());
                return Some(connection);
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no connection within {CONNECT_TIMEOUT:?}"),
        };
        drop(slot);
        self.rest(&failure);
        None
    }

    /// Marks Redis as down for a while and reports it once per outage.
    fn rest(&self, cause: &str) {
        *self.down_until.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + RETRY_AFTER);
        if self.outage_reported.swap(true, Ordering::Relaxed) {
            tracing::debug!(redis = %self.target, %cause, "redis cache still unavailable");
        } else {
            tracing::warn!(
                redis = %self.target,
                %cause,
                "redis cache unavailable; continuing without it (retrying in {}s)",
                RETRY_AFTER.as_secs()
            );
        }
    }

    /// Drops the connection after a failed command and rests.
    async fn fail(&self, err: &RedisError) {
        *self.connection.lock().await = None;
        self.rest(&err.to_string());
    }

    /// Runs `command` with the command timeout; any failure marks Redis as down.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<RedisResult<T>> {
        let mut connection = self.connection().await?;
        let result = match tokio::time::timeout(COMMAND_TIMEOUT, command.query_async::<T>(&mut connection)).await {
            Ok(result) => result,
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {COMMAND_TIMEOUT:?}"),
            ))),
        };
        Some(result)
    }

    /// The value stored under `key`.
    pub(crate) async fn get(&self, key: &str) -> Fetch {
        match self.run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key)).await {
            None => Fetch::Unavailable,
            Some(Ok(Some(value))) => Fetch::Found(value),
            Some(Ok(None)) => Fetch::Missing,
            Some(Err(err)) if err.code() == Some("WRONGTYPE") => Fetch::WrongType,
            Some(Err(err)) => {
                self.fail(&err).await;
                Fetch::Unavailable
            }
        }
    }

    /// Stores `value` under `key` for `ttl` (rounded up to whole seconds, Redis `SET … EX`).
    pub(crate) async fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        let seconds = ttl.as_millis().div_ceil(1_000).max(1);
        let seconds = u64::try_from(seconds).unwrap_or(u64::MAX);
        if let Some(Err(err)) = self.run::<()>(redis::cmd("SET").arg(key).arg(value).arg("EX").arg(seconds)).await {
            self.fail(&err).await;
        }
    }

    /// Every key matching `pattern`, or `None` if Redis is unavailable.
    async fn scan(&self, pattern: &str) -> Option<Vec<String>> {
        let mut keys = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let command = redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT).clone();
            match self.run::<(u64, Vec<String>)>(&command).await? {
                Ok((next, batch)) => {
                    keys.extend(batch);
                    if next == 0 {
                        keys.sort();
                        keys.dedup();
                        return Some(keys);
                    }
                    cursor = next;
                }
                Err(err) => {
                    self.fail(&err).await;
                    return None;
                }
            }
        }
    }

    /// How many keys match `pattern`, or `None` if Redis is unavailable.
    pub(crate) async fn count(&self, pattern: &str) -> Option<u64> {
        self.scan(pattern).await.map(|keys| keys.len() as u64)
    }

    /// Deletes every key matching `pattern`; returns how many, or `None` if Redis is unavailable.
    pub(crate) async fn clear(&self, pattern: &str) -> Option<u64> {
        let keys = self.scan(pattern).await?;
        let mut removed = 0;
        for batch in keys.chunks(UNLINK_BATCH) {
            match self.run::<u64>(redis::cmd("UNLINK").arg(batch)).await? {
                Ok(count) => removed += count,
                Err(err) => {
                    self.fail(&err).await;
                    return None;
                }
            }
        }
        Some(removed)
    }
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::no_password("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0")]
    #[case::password_only("redis://:s3cret@host:6379/1", "redis://:***@host:6379/1")]
    #[case::user_and_password("rediss://app:p@ss@host/2", "rediss://app:***@host/2")]
    #[case::not_a_url("nonsense", "nonsense")]
    fn passwords_are_redacted(#[case] url: &str, #[case] shown: &str) {
        assert_eq!(redact_url(url), shown);
    }

    #[test]
    fn target_names_host_port_and_db_only() {
        let tier = RedisTier::new("redis://:s3cret@127.0.0.1:6390/3", None).unwrap();
        assert_eq!(tier.target(), "127.0.0.1:6390/3");
    }

    #[tokio::test]
    async fn unreachable_server_is_a_quick_miss() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tier = RedisTier::new(&format!("redis://127.0.0.1:{port}/0"), None).unwrap();
        let started = Instant::now();
        assert!(matches!(tier.get("k").await, Fetch::Unavailable));
        tier.set("k", b"v", Duration::from_secs(1)).await;
        assert!(matches!(tier.get("k").await, Fetch::Unavailable));
        assert_eq!(tier.count("*").await, None);
        assert!(started.elapsed() < CONNECT_TIMEOUT, "tried once, then rested");
    }
}
