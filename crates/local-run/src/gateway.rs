//! The two HTTP front doors on 127.0.0.1:
//!
//! - **API Gateway**: `POST /slack/events` (also under the stage, `/prod/slack/events`) becomes
//!   the REST API's Lambda proxy event for the events handler, with the stage's throttling,
//!   the request validation the Slack stack configures, the 29-second integration timeout,
//!   and `502` for a function error, as API Gateway answers;
//! - **Lambda**: `POST /2015-03-31/functions/{name}/invocations`, the `Invoke` API the events
//!   handler's `aws-sdk-lambda` client calls (`AWS_ENDPOINT_URL_LAMBDA`). `InvocationType=Event`
//!   answers `202` at once and runs the function in the background, with Lambda's async retries
//!   and the function's DLQ.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageAttributeValue;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};

use crate::functions::{InvocationOutcome, Trigger};
use crate::lambda_events::{HttpRequestSeen, api_gateway_proxy_event, read_proxy_response};
use crate::names::Function;
use crate::world::Shared;

/// Something API Gateway does instead of its usual answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayFault {
    /// Answers `status` without invoking the function (an outage in front of it).
    Reject {
        /// e.g. 500, 503.
        status: u16,
    },
    /// Invokes the function but holds its answer back this long: longer than Slack's ack
    /// timeout, Slack gives up and retries although the work was done.
    DelayAnswer(Duration),
}

#[derive(Debug, Default)]
struct GatewayFaultQueue {
    faults: Vec<(GatewayFault, u32)>,
}

/// Faults queued for the next requests to `POST /slack/events`.
#[derive(Debug, Clone, Default)]
pub struct GatewayFaults {
    queue: Arc<Mutex<GatewayFaultQueue>>,
}

impl GatewayFaults {
    fn lock(&self) -> MutexGuard<'_, GatewayFaultQueue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` requests get `fault`.
    pub fn inject(&self, fault: GatewayFault, times: u32) {
        if times > 0 {
            self.lock().faults.push((fault, times));
        }
    }

    /// Uses left across the queued faults.
    pub fn pending(&self) -> u32 {
        self.lock().faults.iter().map(|(_, times)| times).sum()
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        self.lock().faults.clear();
    }

    fn take(&self) -> Option<GatewayFault> {
        let mut queue = self.lock();
        let (fault, times) = queue.faults.first_mut()?;
        let fault = *fault;
        *times -= 1;
        queue.faults.retain(|(_, times)| *times > 0);
        Some(fault)
    }
}

/// The stage's token bucket.
#[derive(Debug)]
pub(crate) struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn admit(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// API Gateway's router.
pub(crate) fn api_gateway(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/slack/events", any(slack_events))
        .route("/prod/slack/events", any(slack_events))
        .fallback(missing_route)
        .with_state(shared)
}

/// The Lambda API's router.
pub(crate) fn lambda_api(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/{function_name}/invocations",
            post(invoke),
        )
        .fallback(|| async {
            lambda_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                "Unknown operation",
            )
        })
        .with_state(shared)
}

fn gateway_message(status: StatusCode, message: &str) -> Response {
    let mut response = (status, axum::Json(json!({ "message": message }))).into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static(match status.as_u16() {
            403 => "MissingAuthenticationTokenException",
            429 => "TooManyRequestsException",
            400 => "BadRequestException",
            504 => "IntegrationTimeout",
            _ => "InternalServerErrorException",
        }),
    );
    response
}

async fn missing_route() -> Response {
    gateway_message(StatusCode::FORBIDDEN, "Missing Authentication Token")
}

async fn slack_events(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Only POST is defined on the resource; API Gateway answers anything else like a missing route.
    if method != Method::POST {
        return missing_route().await;
    }
    let admitted = shared.throttle.as_ref().is_none_or(|throttle| {
        throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit()
    });
    if !admitted {
        return gateway_message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    if let Some(rejection) = validate(&headers, &body) {
        return rejection;
    }
    let fault = shared.gateway_faults.take();
    if let Some(GatewayFault::Reject { status }) = fault {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return gateway_message(status, "Internal server error");
    }

    let seen = HttpRequestSeen {
        method: method.to_string(),
        path: "/slack/events".to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        query: uri.query().map(url_pairs).unwrap_or_default(),
        body: body.to_vec(),
        source_ip: peer.ip().to_string(),
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = api_gateway_proxy_event(&seen, &request_id);
    // In its own task: Slack hanging up (after its 3 s) must not cancel the function.
    let invocation = {
        let shared = Arc::clone(&shared);
        let trigger = Trigger::ApiGateway {
            request_id: request_id.clone(),
        };
        tokio::spawn(async move {
            shared
                .runner
                .invoke(Function::EventsHandler, trigger, event)
                .await
        })
    };
    let timeout = shared.config.api_gateway.integration_timeout;
    let response = match tokio::time::timeout(timeout, invocation).await {
        Err(_) => gateway_message(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out"),
        Ok(Err(_))
        | Ok(Ok(
            InvocationOutcome::Failed(_) | InvocationOutcome::Crashed | InvocationOutcome::TimedOut,
        )) => gateway_message(StatusCode::BAD_GATEWAY, "Internal server error"),
        Ok(Ok(InvocationOutcome::Succeeded(answer))) => match read_proxy_response(&answer) {
            Some(proxy) => {
                let status = StatusCode::from_u16(proxy.status).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut response = (status, proxy.body).into_response();
                for (name, value) in proxy.headers {
                    if let (Ok(name), Ok(value)) = (
                        axum::http::HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(&value),
                    ) {
                        response.headers_mut().append(name, value);
                    }
                }
                response
            }
            None => gateway_message(StatusCode::BAD_GATEWAY, "Internal server error"),
        },
    };
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    if let Some(GatewayFault::DelayAnswer(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    response
}

/// `a=1&b=2` into pairs (percent-decoding `+` and `%XX`).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    fn hex(byte: u8) -> Option<u8> {
        char::from(byte)
            .to_digit(16)
            .and_then(|digit| u8::try_from(digit).ok())
    }
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'+' => out.push(b' '),
                b'%' if index + 2 < bytes.len() => {
                    match (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                        (Some(high), Some(low)) => {
                            out.push(high * 16 + low);
                            index += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            index += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// The Slack stack's request validation: both Slack headers present, and a JSON body an
/// object with a string `type` (form bodies have no model and pass).
fn validate(headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let missing: Vec<&str> = ["X-Slack-Signature", "X-Slack-Request-Timestamp"]
        .into_iter()
        .filter(|name| !headers.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Some(gateway_message(
            StatusCode::BAD_REQUEST,
            &format!(
                "Missing required request parameters: [{}]",
                missing.join(", ")
            ),
        ));
    }
    let is_json = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json {
        let valid = serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|value| value.get("type").is_some_and(Value::is_string));
        if !valid {
            return Some(gateway_message(
                StatusCode::BAD_REQUEST,
                "Invalid request body",
            ));
        }
    }
    None
}

fn lambda_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "Type": "User", "Message": message, "message": message })),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(function_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let access = local_iam::Access::new(
        "lambda:InvokeFunction",
        crate::lambda_events::function_arn_for_name(&function_name),
    );
    if let Err(denial) = shared.iam.authorizer.authorize(authorization, &[access]) {
        return local_iam::error_response("lambda", &denial);
    }
    let Some(function) = Function::from_function_name(&function_name) else {
        return lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {}",
                crate::lambda_events::function_arn_for_name(&function_name)
            ),
        );
    };
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(_) => {
                return lambda_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    "Could not parse request body into json",
                );
            }
        }
    };
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse");
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match invocation_type {
        "Event" => {
            tokio::spawn(run_async(shared, function, payload));
            StatusCode::ACCEPTED.into_response()
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        _ => {
            let outcome = shared
                .runner
                .invoke(function, Trigger::SyncInvoke, payload)
                .await;
            match outcome {
                InvocationOutcome::Succeeded(result) => {
                    (StatusCode::OK, axum::Json(result)).into_response()
                }
                failure => {
                    let message = match failure {
                        InvocationOutcome::Failed(error) => error,
                        InvocationOutcome::TimedOut => "Task timed out".to_owned(),
                        _ => "Runtime exited without providing a reason".to_owned(),
                    };
                    let mut response = (
                        StatusCode::OK,
                        axum::Json(json!({ "errorMessage": message, "errorType": "Error" })),
                    )
                        .into_response();
                    response.headers_mut().insert(
                        "x-amz-function-error",
                        HeaderValue::from_static("Unhandled"),
                    );
                    response
                }
            }
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// An `InvocationType=Event` invocation: the first attempt, Lambda's retries, then the DLQ.
async fn run_async(shared: Arc<Shared>, function: Function, payload: Value) {
    let _busy = shared.activity.begin();
    let attempts = 1 + shared.config.async_invocation.retry_attempts;
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(shared.config.async_invocation.retry_delay).await;
        }
        let outcome = shared
            .runner
            .invoke(function, Trigger::AsyncInvoke { attempt }, payload.clone())
            .await;
        match outcome {
            InvocationOutcome::Succeeded(_) => return,
            InvocationOutcome::Failed(error) => last_error = error,
            InvocationOutcome::Crashed => last_error = "crashed".to_owned(),
            InvocationOutcome::TimedOut => last_error = "timed out".to_owned(),
        }
    }
    let Some(dlq) = shared.queues.dead_letter_queue_of(function) else {
        tracing::error!(%function, "async invocation failed every attempt and has no DLQ");
        return;
    };
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()
    };
    let attributes: std::collections::HashMap<String, MessageAttributeValue> = [
        ("ErrorCode", attribute("200")),
        ("ErrorMessage", attribute(&last_error)),
        ("RequestID", attribute(&uuid::Uuid::new_v4().to_string())),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)))
    .collect();
    let sent = shared
        .aws
        .sqs()
        .send_message()
        .queue_url(&dlq.url)
        .message_body(payload.to_string())
        .set_message_attributes(Some(attributes))
        .send()
        .await;
    if let Err(error) = sent {
        tracing::error!(%function, error = ?error, "could not send a failed async invocation to the DLQ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_bucket_admits_the_burst_then_the_rate() {
        let mut throttle = Throttle::new(1.0, 3);
        assert!(throttle.admit());
        assert!(throttle.admit());
        assert!(throttle.admit());
        assert!(!throttle.admit());
    }

    #[test]
    fn validation_wants_the_slack_headers_and_a_typed_json_object() {
        let mut headers = HeaderMap::new();
        let missing = validate(&headers, b"{}").expect("rejected");
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        headers.insert("x-slack-signature", HeaderValue::from_static("v0=00"));
        headers.insert("x-slack-request-timestamp", HeaderValue::from_static("1"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        assert!(validate(&headers, br#"{"type": "event_callback"}"#).is_none());
        assert!(validate(&headers, br#"{"type": 1}"#).is_some());
        assert!(validate(&headers, b"[]").is_some());
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(validate(&headers, b"command=%2Fsecurity-ir").is_none());
    }

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            url_pairs("a=1&b=x%20y+z&c"),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x y z".to_owned()),
                ("c".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn gateway_faults_are_used_in_order_and_run_out() {
        let faults = GatewayFaults::default();
        faults.inject(GatewayFault::Reject { status: 503 }, 1);
        faults.inject(GatewayFault::DelayAnswer(Duration::from_secs(4)), 1);
        assert_eq!(faults.pending(), 2);
        assert_eq!(faults.take(), Some(GatewayFault::Reject { status: 503 }));
        assert_eq!(
            faults.take(),
            Some(GatewayFault::DelayAnswer(Duration::from_secs(4)))
        );
        assert_eq!(faults.take(), None);
    }
}
