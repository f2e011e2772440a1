//! A client of the daemon's `syncgate.v1` API over its unix socket: what `syncgate generate` uses
//! to hand a rendered stream to a running `syncgate serve` (shared caches, one policy load) instead
//! of gating in its own process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::MAX_MESSAGE_BYTES;
use super::proto::syncgate::v1::gate_client::GateClient;
use super::proto::syncgate::v1::{Context, EvaluateRequest, EvaluateResponse};

/// How long connecting to the socket may take before the caller falls back to in-process work.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the daemon could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing accepted a connection on the socket (absent, stale, or not answering in time).
    #[error("cannot connect to the syncgate daemon at {socket}: {reason}")]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why.
        reason: String,
    },
    /// The daemon answered with an error status.
    #[error("the syncgate daemon refused the request ({code:?}): {message}")]
    Call {
        /// The gRPC status code.
        code: tonic::Code,
        /// The status message.
        message: String,
    },
}

/// A connection to the daemon.
#[derive(Debug, Clone)]
pub struct Client {
    inner: GateClient<Channel>,
}

impl Client {
    /// Connects to the daemon's unix socket within [`CONNECT_TIMEOUT`].
    pub async fn connect(socket: &Path) -> Result<Client, ClientError> {
        let fail = |reason: String| ClientError::Connect { socket: socket.to_path_buf(), reason };
        let endpoint = Endpoint::try_from(format!("unix:{}", socket.display()))
            .map_err(|e| fail(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT);
        let channel = tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect())
            .await
            .map_err(|_| fail(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| fail(error_chain(&e)))?;
        let inner = GateClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Client { inner })
    }

    /// Gates `manifests` (multi-document YAML or JSON) in the daemon.
    /// `deadline` travels as the gRPC timeout (the daemon stops work past it) and bounds the wait
    /// here too, with a moment's grace for the daemon's own answer.
    pub async fn evaluate(
        &mut self,
        manifests: Vec<u8>,
        context: Context,
        deadline: Duration,
    ) -> Result<EvaluateResponse, ClientError> {
        let mut request = tonic::Request::new(EvaluateRequest { manifests, context: Some(context) });
        request.set_timeout(deadline);
        match tokio::time::timeout(deadline + Duration::from_secs(2), self.inner.evaluate(request)).await {
            Ok(answer) => answer
                .map(tonic::Response::into_inner)
                .map_err(|status| ClientError::Call { code: status.code(), message: status.message().to_owned() }),
            Err(_) => Err(ClientError::Call {
                code: tonic::Code::DeadlineExceeded,
                message: format!("no answer within {deadline:?}"),
            }),
        }
    }
}

/// Connects to the daemon at `socket` and gates `manifests` there within `deadline`.
pub async fn evaluate(
    socket: &Path,
    manifests: Vec<u8>,
    context: Context,
    deadline: Duration,
) -> Result<EvaluateResponse, ClientError> {
    Client::connect(socket).await?.evaluate(manifests, context, deadline).await
}

/// An error with its causes, `: `-joined, each said once (tonic's transport errors hide the OS
/// error in a source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
