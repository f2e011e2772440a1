//! One HTTP exchange with a registry, with the fault handling around it: a per-registry concurrency
//! permit, a per-attempt timeout, a body size cap, and bounded retries with exponential backoff and
//! jitter on 429 (honouring `Retry-After`), 5xx, timeouts and broken connections.
//!
//! Owns what a failed attempt means (retry or not) and how long to wait; it never retries 401, 403,
//! 404 or a TLS failure, and never waits past the resolution's deadline. Interpreting a final reply
//! is the client's job.

use std::error::Error as _;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::sync::Semaphore;

/// How much of an error response body is kept (for the registry's error message).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How often to try and how long to wait.
#[derive(Debug, Clone)]
pub(super) struct RetryPolicy {
    /// Limit for one attempt (connect, headers and body).
    pub(super) request_timeout: Duration,
    /// Retries after the first attempt.
    pub(super) retries: u32,
    /// Backoff before the first retry; doubles for each further one.
    pub(super) backoff: Duration,
    /// Longest backoff between two attempts (a `Retry-After` may ask for more).
    pub(super) backoff_max: Duration,
}

impl RetryPolicy {
    /// The jittered backoff before attempt `attempt + 1`: `backoff * 2^(attempt-1)`, capped, then a
    /// random point in its upper half.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = self.backoff.saturating_mul(1 << exponent).min(self.backoff_max);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=u64::try_from(half.as_micros()).unwrap_or(u64::MAX));
        half + Duration::from_micros(jitter)
    }
}

/// A final answer from the server (any status that is not retried, or the last retried one).
#[derive(Debug)]
pub(super) struct Reply {
    /// The HTTP status.
    pub(super) status: StatusCode,
    /// The response headers.
    pub(super) headers: HeaderMap,
    /// The body (for error statuses, at most [`MAX_ERROR_BODY`] bytes of it).
    pub(super) body: Vec<u8>,
    /// How many attempts were made.
    pub(super) attempts: u32,
}

/// Why an exchange produced no usable reply.
#[derive(Debug)]
pub(super) enum Failure {
    /// Every attempt got a retryable status (429 or 5xx); the last reply is kept.
    Status {
        /// The last reply.
        reply: Reply,
        /// Why retrying stopped early, if it did.
        note: Option<String>,
    },
    /// The connection failed (refused, reset, closed early, TLS, DNS).
    Transport {
        /// What happened, for a human.
        detail: String,
        /// How many attempts were made.
        attempts: u32,
        /// Why retrying stopped early, if it did.
        note: Option<String>,
    },
    /// No complete answer within the per-attempt timeout.
    Timeout {
        /// The per-attempt timeout.
        after: Duration,
    },
    /// A successful response whose body exceeds the size limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl Failure {
    /// Records why retrying stopped before the attempts ran out.
    fn stopped(mut self, reason: String) -> Self {
        match &mut self {
            Self::Status { note, .. } | Self::Transport { note, .. } => *note = Some(reason),
            Self::Timeout { .. } | Self::TooLarge { .. } => {}
        }
        self
    }
}

/// What one attempt produced.
enum Attempt {
    /// A complete response.
    Reply(Reply),
    /// A failure that may go away on retry.
    Transient(Failure),
    /// A failure that will not.
    Fatal(Failure),
}

/// Sends requests to one registry on behalf of one resolution.
pub(super) struct Transport<'a> {
    /// The shared HTTP client.
    pub(super) client: &'a reqwest::Client,
    /// The registry's concurrency limit.
    pub(super) permits: &'a Semaphore,
    /// Counts every request sent.
    pub(super) counter: &'a AtomicU64,
    /// Counts every attempt that failed or got a retryable status.
    pub(super) errors: &'a AtomicU64,
    /// Timeouts and retries.
    pub(super) policy: &'a RetryPolicy,
    /// When the resolution must be over.
    pub(super) deadline: Instant,
}

impl Transport<'_> {
    /// Sends the request `build` makes, retrying transient failures. A success body larger than
    /// `limit` bytes is a [`Failure::TooLarge`].
    pub(super) async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Reply, Failure> {
        let attempts = self.policy.retries.saturating_add(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(&build, limit, attempt).await;
            if !matches!(&outcome, Attempt::Reply(reply) if !is_retryable(reply.status)) {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            let (failure, retry_after) = match outcome {
                Attempt::Reply(reply) if is_retryable(reply.status) => {
                    let retry_after = retry_after(&reply.headers, std::time::SystemTime::now());
                    (Failure::Status { reply, note: None }, retry_after)
                }
                Attempt::Reply(reply) => return Ok(reply),
                Attempt::Transient(failure) => (failure, None),
                Attempt::Fatal(failure) => return Err(failure),
            };
            if attempt >= attempts {
                return Err(failure);
            }
            let delay = retry_after.unwrap_or_else(|| self.policy.backoff(attempt));
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if delay >= remaining {
                let reason = match retry_after {
                    Some(delay) => format!("the registry asked to retry after {}", seconds(delay)),
                    None => format!("the next retry was due in {}", seconds(delay)),
                };
                return Err(failure.stopped(format!("{reason}, past the resolution deadline")));
            }
            tracing::debug!(attempt, ?delay, "retrying registry request");
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: wait for a permit, then send and read the body within the request timeout.
    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        limit: usize,
        attempt: u32,
    ) -> Attempt {
        // The semaphore is never closed; a closed one would only lift the limit.
        let _permit = self.permits.acquire().await.ok();
        self.counter.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let mut response = build(self.client).send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let (limit, strict) = if status.is_success() { (limit, true) } else { (MAX_ERROR_BODY, false) };
            if strict && response.content_length().is_some_and(|length| length > limit as u64) {
                return Ok(Err(limit));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > limit {
                    if strict {
                        return Ok(Err(limit));
                    }
                    body.extend_from_slice(chunk.get(..limit - body.len()).unwrap_or_default());
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok(Reply { status, headers, body, attempts: attempt }))
        };
        match tokio::time::timeout(self.policy.request_timeout, exchange).await {
            Ok(Ok(Ok(reply))) => {
                tracing::debug!(status = reply.status.as_u16(), attempt, "registry answered");
                Attempt::Reply(reply)
            }
            Ok(Ok(Err(limit))) => Attempt::Fatal(Failure::TooLarge { limit }),
            Ok(Err(error)) => classify(&error, attempt, self.policy.request_timeout),
            Err(_) => Attempt::Transient(Failure::Timeout { after: self.policy.request_timeout }),
        }
    }
}

/// 429 and 5xx (except 501 Not Implemented and 505 HTTP Version Not Supported) are worth retrying.
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// Turns a reqwest error into a failure a human understands, and decides whether to retry.
fn classify(error: &reqwest::Error, attempt: u32, timeout: Duration) -> Attempt {
    // Walk the causes; an `io::Error` wrapping another error hides it from `source()`, so descend
    // through `get_ref()` there (TLS failures arrive as `Other` wrapping `InvalidData`).
    let mut kinds = Vec::new();
    let mut innermost = error.to_string();
    let mut next: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(cause) = next {
        innermost = cause.to_string();
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => {
                kinds.push(io.kind());
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                    None => cause.source(),
                }
            }
            None => cause.source(),
        };
    }
    let io_kind = kinds.iter().copied().find(|kind| *kind != ErrorKind::Other);
    let transient = |detail: &str| {
        Attempt::Transient(Failure::Transport { detail: detail.to_owned(), attempts: attempt, note: None })
    };
    if error.is_timeout() || io_kind == Some(ErrorKind::TimedOut) {
        return Attempt::Transient(Failure::Timeout { after: timeout });
    }
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => transient("connection refused"),
        Some(ErrorKind::ConnectionReset) => transient("connection reset"),
        Some(ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof) => {
            transient("connection closed before the response was complete")
        }
        Some(ErrorKind::InvalidData) if error.is_connect() => Attempt::Fatal(Failure::Transport {
            detail: format!("TLS handshake failed: {innermost}{}", tls_hint(&innermost)),
            attempts: attempt,
            note: None,
        }),
        _ if error.is_body() || error.is_decode() => transient("connection closed before the response was complete"),
        _ if error.is_connect() => transient(&format!("cannot connect: {innermost}")),
        _ if error.is_request() => transient(&innermost),
        _ => Attempt::Fatal(Failure::Transport { detail: innermost, attempts: attempt, note: None }),
    }
}

/// A hint for the usual causes of a TLS failure.
fn tls_hint(cause: &str) -> &'static str {
    if cause.contains("InvalidContentType") || cause.contains("corrupt message") {
        " (does the registry speak plain HTTP? then list it as insecure)"
    } else if cause.contains("certificate") {
        " (is the registry's CA in the CA bundle?)"
    } else {
        ""
    }
}

/// The wait a `Retry-After` header asks for (delta-seconds or an HTTP date), if any.
fn retry_after(headers: &HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let now = jiff::Timestamp::try_from(now).ok()?;
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// `1.5s`-style rendering of a wait.
fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use rstest::rstest;

    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[rstest]
    #[case::seconds("3", Some(Duration::from_secs(3)))]
    #[case::padded(" 0 ", Some(Duration::ZERO))]
    #[case::http_date_in_future("Sun, 06 Nov 1994 08:49:47 GMT", Some(Duration::from_secs(10)))]
    #[case::http_date_in_past("Sun, 06 Nov 1994 08:49:27 GMT", Some(Duration::ZERO))]
    #[case::negative("-1", None)]
    #[case::garbage("soon", None)]
    fn retry_after_values(#[case] value: &str, #[case] expected: Option<Duration>) {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after(&headers(value), now), expected);
    }

    #[test]
    fn no_retry_after_header() {
        assert_eq!(retry_after(&HeaderMap::new(), std::time::SystemTime::now()), None);
    }

    #[rstest]
    #[case::too_many_requests(429, true)]
    #[case::internal_error(500, true)]
    #[case::bad_gateway(502, true)]
    #[case::unavailable(503, true)]
    #[case::not_implemented(501, false)]
    #[case::unauthorized(401, false)]
    #[case::forbidden(403, false)]
    #[case::not_found(404, false)]
    #[case::ok(200, false)]
    fn retryable_statuses(#[case] status: u16, #[case] retry: bool) {
        assert_eq!(is_retryable(StatusCode::from_u16(status).unwrap()), retry);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            request_timeout: Duration::from_secs(1),
            retries: 10,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(700),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = policy.backoff(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            let capped = policy.backoff(40);
            assert!((Duration::from_millis(350)..=Duration::from_millis(700)).contains(&capped), "{capped:?}");
        }
    }
}
