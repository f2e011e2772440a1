//! syncgate's own API (`syncgate.v1.Gate`): `Evaluate` gates a rendered stream and answers with the
//! decision, the pinned manifests when allowed, the status message and the JSON report (the same
//! bytes `syncgate check -o json` prints); `VerifyImage` verifies one image and returns the evidence.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::proto::syncgate::v1::gate_server::{Gate as GateService, GateServer};
use super::proto::syncgate::v1::{EvaluateRequest, EvaluateResponse, VerifyImageRequest, VerifyImageResponse};
use super::{MAX_MESSAGE_BYTES, RequestLog, State};
use crate::gate::{Context, GateError};
use crate::manifest::{self, Stream};
use crate::report::Decision;

/// The service name as `grpc.health.v1` knows it.
pub(super) const SERVICE: &str = "syncgate.v1.Gate";

/// The `syncgate.v1.Gate` service.
#[derive(Debug)]
pub(super) struct Api {
    state: Arc<State>,
}

impl Api {
    pub(super) fn new(state: Arc<State>) -> Api {
        Api { state }
    }

    pub(super) fn into_server(self) -> GateServer<Api> {
        GateServer::new(self).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    async fn evaluate(&self, request: EvaluateRequest, log: &mut RequestLog) -> Result<EvaluateResponse, Status> {
        let _permit = self.state.permits.acquire().await.map_err(|_| Status::unavailable("shutting down"))?;
        let context = request.context.unwrap_or_default();
        let nonempty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        // The set: named in the context, else the `policy` parameter (as the CMP reads it).
        let policy_set = nonempty(&context.policy_set).or_else(|| {
            context.parameters.iter().find(|(k, _)| k.eq_ignore_ascii_case("policy")).and_then(|(_, v)| nonempty(v))
        });
        log.app.clone_from(&context.application);
        log.project.clone_from(&context.project);
        log.namespace.clone_from(&context.namespace);
        let gate = &self.state.gate;
        let documents = manifest::parse_bytes(&request.manifests, None, gate.limits())
            .map_err(|e| Status::invalid_argument(format!("invalid manifests: {e}")))?;
        let gate_context = Context {
            policy_set,
            namespace: nonempty(&context.namespace).unwrap_or_else(|| "default".to_owned()),
            now: jiff::Timestamp::now(),
            application: nonempty(&context.application),
            project: nonempty(&context.project),
            repo_url: nonempty(&context.repo_url),
        };
        let started = Instant::now();
        let gated = gate.evaluate(Stream { documents }, &gate_context).await;
        if gated.is_ok() && gate.online() {
            self.state.metrics.verification("rendered", started.elapsed().as_secs_f64());
        }
        let gated = gated.map_err(|e| status_of(&e))?;
        log.policy_set.clone_from(&gated.policy_set);
        log.decided(&gated.report, &self.state.metrics);
        let mut report = Vec::new();
        crate::report::write_json(&gated.report, &mut report).map_err(|e| Status::internal(e.to_string()))?;
        let allowed = gated.report.decision == Decision::Allow;
        Ok(EvaluateResponse {
            decision: if allowed { "allow" } else { "deny" }.to_owned(),
            manifests: if allowed { gated.json_documents() } else { Vec::new() },
            message: gated.message(),
            report_json: String::from_utf8(report).map_err(|e| Status::internal(e.to_string()))?,
            policy_set: gated.policy_set,
        })
    }
}

/// The gRPC status for a request the gate could not decide.
fn status_of(error: &GateError) -> Status {
    let message = error.to_string();
    match error {
        GateError::Pipeline(_) | GateError::Image(_) | GateError::Empty { .. } => Status::invalid_argument(message),
        GateError::UnknownSet { .. } => Status::not_found(message),
        GateError::Resolve(_) => Status::unavailable(message),
        _ => Status::unknown(message),
    }
}

#[tonic::async_trait]
impl GateService for Api {
    async fn evaluate(&self, request: Request<EvaluateRequest>) -> Result<Response<EvaluateResponse>, Status> {
        let started = Instant::now();
        let deadline = super::grpc_timeout(request.metadata());
        let mut log = RequestLog::default();
        let result =
            super::within_deadline(deadline, "evaluating the manifests", self.evaluate(request.into_inner(), &mut log))
                .await;
        log.finish("Evaluate", started, &self.state.metrics, result.as_ref().err());
        result.map(Response::new)
    }

    async fn verify_image(
        &self,
        request: Request<VerifyImageRequest>,
    ) -> Result<Response<VerifyImageResponse>, Status> {
        let started = Instant::now();
        let deadline = super::grpc_timeout(request.metadata());
        let request = request.into_inner();
        let mut log = RequestLog { app: request.image.clone(), ..RequestLog::default() };
        let set = Some(request.policy_set.as_str()).filter(|s| !s.is_empty());
        log.policy_set = set.unwrap_or(crate::gate::DEFAULT_SET).to_owned();
        let work = async {
            let verification = self.state.gate.verify_image(&request.image, set).await.map_err(|e| status_of(&e))?;
            self.state.metrics.verification("image", started.elapsed().as_secs_f64());
            let mut evidence = Vec::new();
            verification.write_json(&mut evidence).map_err(|e| Status::internal(e.to_string()))?;
            Ok(VerifyImageResponse {
                verified: verification.verified,
                evidence_json: String::from_utf8(evidence).map_err(|e| Status::internal(e.to_string()))?,
            })
        };
        let result = super::within_deadline(deadline, "verifying the image", work).await;
        if let Ok(response) = &result {
            log.decision = if response.verified { "allow" } else { "deny" };
        }
        log.finish("VerifyImage", started, &self.state.metrics, result.as_ref().err());
        result.map(Response::new)
    }
}
