//! A gate in front of moto that does what moto 5.2.5 does not: checks every request against the
//! caller's identity policy, with the resource read from the request (moto's own IAM checks most
//! services' resources as `*`, and needs IAM users made through its API). A request the caller's
//! policy allows goes to moto unchanged; any other gets the error AWS answers.
//!
//! SSM SecureStrings: AWS decrypts with the caller's `kms:Decrypt` permission (conditions
//! `kms:ViaService` and the parameter ARN as encryption context); moto does not. The gate checks
//! it on the answer of a `GetParameter(s)` with decryption and refuses as SSM does.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::authorizer::Authorizer;
use crate::error::Denial;
use crate::request::{Operation, Scope, accesses, operation};

/// Largest request body the gate reads (DynamoDB's item limit is 400 KB; batches are larger).
const MAX_BODY: usize = 16 * 1024 * 1024;

struct GateState {
    upstream: String,
    authorizer: Authorizer,
    scope: Scope,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A running gate on a free 127.0.0.1 port. Stops when dropped.
#[derive(Debug)]
pub struct IamGate {
    endpoint_url: String,
    task: JoinHandle<()>,
}

impl IamGate {
    /// Starts a gate that forwards what `authorizer` allows to `upstream` (moto's endpoint URL).
    pub async fn start(
        upstream: &str,
        authorizer: Authorizer,
        scope: Scope,
    ) -> std::io::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let endpoint_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(GateState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            authorizer,
            scope,
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let router = Router::new().fallback(gate).with_state(state);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "IAM gate stopped");
            }
        });
        Ok(Self { endpoint_url, task })
    }

    /// `http://127.0.0.1:PORT`: the endpoint the functions' AWS clients use.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }
}

impl Drop for IamGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An AWS-shaped JSON error (`x-amzn-ErrorType`, `__type`, `message`), as the JSON protocols and
/// Lambda's REST API answer. SQS (awsJson1_0 since 2023) also gets `x-amzn-query-error`.
pub fn error_response(service: &str, denial: &Denial) -> Response {
    let (status, code) = denial.status_and_code(service);
    let message = denial.to_string();
    aws_error(status, code, &message, service)
}

fn aws_error(status: u16, code: &str, message: &str, service: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        axum::Json(json!({ "__type": code, "message": message, "Message": message })),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", value);
    }
    if service == "sqs"
        && let Ok(value) = HeaderValue::from_str(&format!("{code};Sender"))
    {
        headers.insert("x-amzn-query-error", value);
    }
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

async fn gate(State(state): State<Arc<GateState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return aws_error(400, "SerializationException", "request body too large", "");
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let path = parts.uri.path();
    let operation = match operation(header("x-amz-target"), parts.method.as_str(), path) {
        Ok(operation) => operation,
        Err(unreadable) => {
            return aws_error(400, "UnknownOperationException", &unreadable.0, "");
        }
    };
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let principal = match state.authorizer.caller(header("authorization")) {
        Ok(principal) => principal,
        Err(denial) => return error_response(operation.service, &denial),
    };
    let needed = match accesses(&operation, path, &json_body, &state.scope) {
        Ok(needed) => needed,
        Err(unreadable) => return aws_error(400, "ValidationException", &unreadable.0, ""),
    };
    if let Err(denial) = state.authorizer.check(&principal, &needed) {
        return error_response(operation.service, &denial);
    }

    let uri = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or(path, |pq| pq.as_str())
    );
    let mut forward = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(uri);
    for (name, value) in &parts.headers {
        if name != "host" {
            forward = forward.header(name, value);
        }
    }
    let Ok(forward) = forward.body(Full::new(body)) else {
        return aws_error(
            400,
            "SerializationException",
            "request could not be forwarded",
            "",
        );
    };
    let answer = match state.client.request(forward).await {
        Ok(answer) => answer,
        Err(error) => {
            return aws_error(
                502,
                "InternalFailure",
                &format!("moto did not answer: {error}"),
                "",
            );
        }
    };
    let (answer_parts, answer_body) = answer.into_parts();
    let Ok(answer_body) = answer_body.collect().await.map(|c| c.to_bytes()) else {
        return aws_error(502, "InternalFailure", "moto's answer was cut off", "");
    };
    if let Some(denial) =
        secure_string_denial(&state, &principal, &operation, &json_body, &answer_body)
    {
        return error_response("ssm", &denial);
    }
    let mut response = Response::new(Body::from(answer_body));
    *response.status_mut() = answer_parts.status;
    *response.headers_mut() = answer_parts.headers;
    response
}

/// The refusal SSM answers when the caller may read a SecureString but not decrypt it.
fn secure_string_denial(
    state: &GateState,
    principal: &crate::authorizer::Principal,
    operation: &Operation,
    request: &Value,
    answer: &[u8],
) -> Option<Denial> {
    if operation.service != "ssm"
        || !matches!(
            operation.name.as_str(),
            "GetParameter" | "GetParameters" | "GetParametersByPath"
        )
        || request.get("WithDecryption").and_then(Value::as_bool) != Some(true)
    {
        return None;
    }
    let answer: Value = serde_json::from_slice(answer).ok()?;
    let parameters: Vec<&Value> = match answer.get("Parameter") {
        Some(parameter) => vec![parameter],
        None => answer.get("Parameters")?.as_array()?.iter().collect(),
    };
    parameters
        .into_iter()
        .filter(|parameter| parameter.get("Type").and_then(Value::as_str) == Some("SecureString"))
        .filter_map(|parameter| parameter.get("Name").and_then(Value::as_str))
        .find_map(|name| {
            let arn = state.scope.parameter_arn(name);
            state
                .authorizer
                .check(principal, &[state.scope.kms_decrypt_for_parameter(&arn)])
                .err()
        })
}
