//! A fault-injecting HTTP/1.1 proxy in front of a real registry, for the registry client's tests.
//!
//! It forwards each request on a fresh upstream connection (one request per client connection,
//! `Connection: close` both ways) and can, for manifest requests, answer with an error status
//! (optionally with `Retry-After`), stall, delay, truncate the body, announce a wrong
//! `Docker-Content-Digest`, or serve another manifest than the one asked for. It can also act as a
//! bearer-token registry: `/v2/` then challenges with a token service the proxy itself serves.
//! It counts manifest requests and the most that were in flight at once.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The bearer token the proxy's token service hands out.
const TOKEN: &str = "proxy-token";

/// What to do to a manifest request.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer with this status and an OCI error body, and a `Retry-After` if given.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` value.
        retry_after: Option<&'static str>,
    },
    /// Never answer.
    Stall,
    /// Forward after a delay.
    Delay(Duration),
    /// Forward, but send only half the body (with the full `Content-Length`) and close.
    Truncate,
    /// Forward with a `Docker-Content-Digest` that does not match the body.
    WrongDigest,
    /// Ask the registry for this reference (tag or digest) instead of the one requested.
    Serve(String),
}

/// A fault and how many more manifest requests it applies to (`None`: all).
struct Rule {
    fault: Fault,
    remaining: Option<usize>,
}

/// Optional bearer-token protection of the registry behind the proxy.
#[derive(Debug, Clone)]
pub(crate) struct BearerAuth {
    /// The `Authorization` header the token service requires (`None`: anonymous tokens).
    pub(crate) token_request_authorization: Option<String>,
}

/// What the proxy shares with its connection tasks.
struct State {
    upstream: SocketAddr,
    rules: Mutex<VecDeque<Rule>>,
    bearer: Mutex<Option<BearerAuth>>,
    referrers_api: std::sync::atomic::AtomicBool,
    manifests: AtomicUsize,
    tokens: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    log: Mutex<Vec<String>>,
}

/// A running proxy; stops when dropped.
pub(crate) struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State {
            upstream,
            rules: Mutex::default(),
            bearer: Mutex::default(),
            referrers_api: std::sync::atomic::AtomicBool::new(false),
            manifests: AtomicUsize::new(0),
            tokens: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            log: Mutex::default(),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, addr, Arc::clone(&shared)));
            }
        });
        Self { addr, state, task }
    }

    /// `127.0.0.1:PORT`, the registry part of image references that go through the proxy.
    pub(crate) fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Applies `fault` to the next `times` manifest requests (`None`: to all of them), after any
    /// fault added before.
    pub(crate) fn fail_manifests(&self, fault: Fault, times: Option<usize>) {
        self.state.rules.lock().expect("rules").push_back(Rule { fault, remaining: times });
    }

    /// Puts a bearer-token service in front of the registry.
    pub(crate) fn require_bearer(&self, auth: BearerAuth) {
        *self.state.bearer.lock().expect("bearer") = Some(auth);
    }

    /// Answers the OCI referrers API (`GET /v2/<name>/referrers/<digest>`, which Debian's registry
    /// lacks) from the registry's referrers tag-schema index, or with an empty index, as a registry
    /// with the API does.
    pub(crate) fn serve_referrers_api(&self) {
        self.state.referrers_api.store(true, Ordering::SeqCst);
    }

    /// Manifest requests received so far.
    pub(crate) fn manifest_requests(&self) -> usize {
        self.state.manifests.load(Ordering::SeqCst)
    }

    /// Token requests received so far.
    pub(crate) fn token_requests(&self) -> usize {
        self.state.tokens.load(Ordering::SeqCst)
    }

    /// The most manifest requests in flight at once.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request line received, in order.
    pub(crate) fn log(&self) -> Vec<String> {
        self.state.log.lock().expect("log").clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A parsed request head.
struct Request {
    method: String,
    path: String,
    /// Header lines, without the request line.
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Serves one client connection (one request).
async fn serve(stream: TcpStream, own: SocketAddr, state: Arc<State>) {
    let mut client = BufReader::new(stream);
    let Some(request) = read_head(&mut client).await else { return };
    let line = format!("{} {}", request.method, request.path);
    state.log.lock().expect("log").push(line);
    let mut client = client.into_inner();
    let is_manifest = request.path.contains("/manifests/");
    if is_manifest {
        state.manifests.fetch_add(1, Ordering::SeqCst);
    }

    let bearer = state.bearer.lock().expect("bearer").clone();
    if let Some(bearer) = bearer {
        if request.path.starts_with("/token") {
            state.tokens.fetch_add(1, Ordering::SeqCst);
            let allowed = match &bearer.token_request_authorization {
                None => true,
                Some(expected) => request.header("authorization") == Some(expected.as_str()),
            };
            let response = if allowed {
                respond(200, &[], &format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#))
            } else {
                respond(401, &[], r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#)
            };
            let _ = client.write_all(&response).await;
            return;
        }
        if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            let challenge = format!(r#"Bearer realm="http://{own}/token",service="proxy",scope="repository:x:pull""#);
            let response = respond(
                401,
                &[("WWW-Authenticate", &challenge)],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            );
            let _ = client.write_all(&response).await;
            return;
        }
    }

    if state.referrers_api.load(Ordering::SeqCst)
        && let Some(at) = request.path.rfind("/referrers/")
    {
        referrers(&mut client, &request.path[..at], &request.path[at + "/referrers/".len()..], &state).await;
        return;
    }
    if !is_manifest {
        forward(&mut client, &request, &state, None).await;
        return;
    }
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let fault = next_fault(&state);
    match fault {
        Some(Fault::Status { status, retry_after }) => {
            let headers: Vec<(&str, &str)> = retry_after.map(|value| ("Retry-After", value)).into_iter().collect();
            let body = format!(r#"{{"errors":[{{"code":"INJECTED","message":"injected HTTP {status}"}}]}}"#);
            let _ = client.write_all(&respond(status, &headers, &body)).await;
        }
        Some(Fault::Stall) => {
            state.in_flight.fetch_sub(1, Ordering::SeqCst);
            // Hold the connection open without answering until the client gives up.
            let mut buffer = [0_u8; 1];
            let _ = tokio::time::timeout(Duration::from_secs(60), client.read(&mut buffer)).await;
            return;
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            forward(&mut client, &request, &state, None).await;
        }
        other => forward(&mut client, &request, &state, other).await,
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
}

/// The referrers API over the tag schema: the index at tag `<alg>-<hex>`, or an empty index.
async fn referrers(client: &mut TcpStream, repository: &str, subject: &str, state: &State) {
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    let tag = subject.replacen(':', "-", 1);
    let body = match TcpStream::connect(state.upstream).await {
        Ok(mut upstream) => {
            let head = format!(
                "GET {repository}/manifests/{tag} HTTP/1.1\r\nHost: {}\r\nAccept: {INDEX}\r\nConnection: close\r\n\r\n",
                state.upstream
            );
            let mut response = Vec::new();
            let _ = upstream.write_all(head.as_bytes()).await;
            let _ = upstream.read_to_end(&mut response).await;
            let ok = response.starts_with(b"HTTP/1.1 200");
            let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |at| at + 4);
            ok.then(|| String::from_utf8_lossy(&response[split..]).into_owned())
        }
        Err(_) => None,
    };
    let body = body.unwrap_or_else(|| format!(r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[]}}"#));
    let _ = client.write_all(&respond(200, &[("Content-Type", INDEX)], &body)).await;
}

/// The fault for the next manifest request, if any.
fn next_fault(state: &State) -> Option<Fault> {
    let mut rules = state.rules.lock().expect("rules");
    while let Some(rule) = rules.front_mut() {
        match &mut rule.remaining {
            Some(0) => {
                rules.pop_front();
            }
            Some(remaining) => {
                *remaining -= 1;
                return Some(rule.fault.clone());
            }
            None => return Some(rule.fault.clone()),
        }
    }
    None
}

/// Forwards `request` upstream and relays the answer, applying `fault` (truncate, wrong digest,
/// serve another reference).
async fn forward(client: &mut TcpStream, request: &Request, state: &State, fault: Option<Fault>) {
    let mut path = request.path.clone();
    if let Some(Fault::Serve(reference)) = &fault
        && let Some(at) = path.rfind("/manifests/")
    {
        path = format!("{}/manifests/{reference}", &path[..at]);
    }
    let Ok(mut upstream) = TcpStream::connect(state.upstream).await else {
        let _ = client.write_all(&respond(502, &[], "upstream down")).await;
        return;
    };
    let mut head = format!("{} {path} HTTP/1.1\r\n", request.method);
    // The registry behind a bearer-token proxy needs no credentials: the proxy checked the token.
    let drop_authorization = state.bearer.lock().expect("bearer").is_some();
    for (name, value) in &request.headers {
        let skip = name.eq_ignore_ascii_case("connection")
            || (drop_authorization && name.eq_ignore_ascii_case("authorization"));
        if !skip {
            let _ = write!(head, "{name}: {value}\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut response = Vec::new();
    if upstream.read_to_end(&mut response).await.is_err() {
        return;
    }
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").map_or(response.len(), |at| at + 4);
    let (head, body) = response.split_at(split);
    let mut head = String::from_utf8_lossy(head).into_owned();
    match fault {
        Some(Fault::WrongDigest) => {
            let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
            head = head
                .split("\r\n")
                .map(|line| {
                    if line.to_ascii_lowercase().starts_with("docker-content-digest:") {
                        format!("Docker-Content-Digest: {wrong}")
                    } else {
                        line.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            let _ = client.write_all(head.as_bytes()).await;
            let _ = client.write_all(body).await;
        }
        Some(Fault::Truncate) => {
            let _ = client.write_all(head.as_bytes()).await;
            let _ = client.write_all(&body[..body.len() / 2]).await;
            let _ = client.flush().await;
        }
        _ => {
            let _ = client.write_all(head.as_bytes()).await;
            let _ = client.write_all(body).await;
        }
    }
    let _ = client.shutdown().await;
}

/// Reads a request head; `None` on EOF or garbage.
async fn read_head(client: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    client.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if client.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Some(Request { method, path, headers })
}

/// A complete `Connection: close` response.
fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}
