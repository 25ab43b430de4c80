//! AWS-side faults, injected where the AWS SDK hands a signed request to its HTTP client.
//!
//! Every function's SDK configuration carries a [`FaultInjectingHttpClient`] labelled with the
//! function, over a plain-HTTP client (every local endpoint is loopback HTTP). A request is
//! matched by function, service (the SigV4 credential scope), operation (`X-Amz-Target` for the
//! JSON protocols, the URL path for REST ones) and, optionally, a substring of its body; a
//! matching [`AwsFault`] answers instead of moto (or delays the call). This reaches faults that
//! no stand-in can make: a DynamoDB write that fails after an EventBridge publish succeeded (the
//! poller "killed" between publish and snapshot), PutEvents with `FailedEntryCount > 0`, a
//! throttled SSM. Every call is also counted per function, service and operation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use crate::names::Function;

/// What an injected fault does to the call it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum AwsFaultEffect {
    /// The service answers this error (`x-amzn-ErrorType` and a JSON body). The SDK retries
    /// 5xx and throttling errors and gives up at once on other 4xx.
    ServiceError {
        /// HTTP status, e.g. 400, 500.
        status: u16,
        /// The error type, e.g. `ValidationException`, `ThrottlingException`.
        error_type: String,
        /// The message.
        message: String,
    },
    /// The connection fails before any answer (a transient I/O error: the SDK retries it).
    ConnectionError,
    /// EventBridge accepts PutEvents but fails every entry (`FailedEntryCount` = the number of
    /// entries, each with this error code, e.g. `InternalFailure`); nothing is delivered.
    FailEveryEntry {
        /// The entries' `ErrorCode`.
        error_code: String,
    },
    /// The call goes through after this delay.
    Latency(Duration),
}

/// One fault: which calls it matches, how many times, and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsFault {
    /// Only calls made by this function; `None`: any caller (the harness's own calls never
    /// match: they do not go through a function's client).
    pub function: Option<Function>,
    /// The SigV4 service name: `dynamodb`, `events`, `sqs`, `ssm`, `security-ir`, `lambda`.
    pub service: String,
    /// The operation (`PutItem`, `PutEvents`, `GetParameter`; for REST services a substring of
    /// the path, e.g. `create-comment`); `None`: any operation of the service.
    pub operation: Option<String>,
    /// Only requests whose body contains this text (e.g. a condition expression).
    pub body_contains: Option<String>,
    /// Matching calls left to fault.
    pub times: u32,
    /// What happens.
    pub effect: AwsFaultEffect,
}

impl AwsFault {
    /// Fails the next call of `operation` on `service` once, from any function, with a
    /// non-retryable `400 ValidationException` (to the caller, as if the write never happened:
    /// the effect of the process dying before it).
    pub fn new(service: &str, operation: &str) -> Self {
        Self {
            function: None,
            service: service.to_owned(),
            operation: Some(operation.to_owned()),
            body_contains: None,
            times: 1,
            effect: AwsFaultEffect::ServiceError {
                status: 400,
                error_type: "ValidationException".to_owned(),
                message: "injected by the local run".to_owned(),
            },
        }
    }

    /// Every operation of the service, not only the one named.
    pub fn any_operation(mut self) -> Self {
        self.operation = None;
        self
    }

    /// Only calls from `function`.
    pub fn from_function(mut self, function: Function) -> Self {
        self.function = Some(function);
        self
    }

    /// Only requests whose body contains `text`.
    pub fn body_contains(mut self, text: &str) -> Self {
        self.body_contains = Some(text.to_owned());
        self
    }

    /// Faults this many matching calls.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Does `effect` instead of the default validation error.
    pub fn effect(mut self, effect: AwsFaultEffect) -> Self {
        self.effect = effect;
        self
    }

    fn matches(&self, call: &AwsCall, body: Option<&[u8]>) -> bool {
        self.times > 0
            && self
                .function
                .is_none_or(|function| function == call.function)
            && self.service == call.service
            && self
                .operation
                .as_deref()
                .is_none_or(|operation| call.operation.contains(operation))
            && self.body_contains.as_deref().is_none_or(|needle| {
                body.is_some_and(|body| String::from_utf8_lossy(body).contains(needle))
            })
    }
}

/// One call a function made to AWS, as the harness saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AwsCall {
    /// Who made it.
    pub function: Function,
    /// The SigV4 service name.
    pub service: String,
    /// The operation (`X-Amz-Target`'s, or `METHOD /path` for REST services).
    pub operation: String,
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<AwsFault>,
    calls: BTreeMap<AwsCall, u64>,
    injected: u64,
}

/// The faults queued for every function's AWS clients, and the call counts.
#[derive(Debug, Clone, Default)]
pub struct AwsFaults {
    state: Arc<Mutex<State>>,
}

impl AwsFaults {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a fault (faults are tried in the order queued; one call takes one use).
    pub fn inject(&self, fault: AwsFault) {
        self.lock().faults.push(fault);
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        self.lock().faults.clear();
    }

    /// Uses left across all queued faults.
    pub fn pending(&self) -> u64 {
        self.lock()
            .faults
            .iter()
            .map(|fault| u64::from(fault.times))
            .sum()
    }

    /// How many calls were answered by a fault so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// How many calls of `operation` (exact) on `service` `function` made so far.
    pub fn call_count(&self, function: Function, service: &str, operation: &str) -> u64 {
        self.lock()
            .calls
            .iter()
            .filter(|(call, _)| {
                call.function == function && call.service == service && call.operation == operation
            })
            .map(|(_, count)| *count)
            .sum()
    }

    /// Every (function, service, operation) seen, with its count.
    pub fn call_counts(&self) -> Vec<(AwsCall, u64)> {
        self.lock()
            .calls
            .iter()
            .map(|(call, count)| (call.clone(), *count))
            .collect()
    }

    /// Counts the call and takes one use of the first fault matching it.
    fn take(&self, call: &AwsCall, body: Option<&[u8]>) -> Option<AwsFaultEffect> {
        let mut state = self.lock();
        *state.calls.entry(call.clone()).or_default() += 1;
        let fault = state
            .faults
            .iter_mut()
            .find(|fault| fault.matches(call, body))?;
        fault.times -= 1;
        let effect = fault.effect.clone();
        state.faults.retain(|fault| fault.times > 0);
        state.injected += 1;
        Some(effect)
    }

    /// An HTTP client for `function`'s SDK configuration.
    pub(crate) fn http_client(&self, function: Function) -> SharedHttpClient {
        SharedHttpClient::new(FaultInjectingHttpClient {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            faults: self.clone(),
            function,
        })
    }
}

/// The SDK's HTTP client for one function: counts calls and injects faults.
struct FaultInjectingHttpClient {
    inner: SharedHttpClient,
    faults: AwsFaults,
    function: Function,
}

impl fmt::Debug for FaultInjectingHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultInjectingHttpClient")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl HttpClient for FaultInjectingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultInjectingConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
            function: self.function,
        })
    }
}

#[derive(Debug)]
struct FaultInjectingConnector {
    inner: SharedHttpConnector,
    faults: AwsFaults,
    function: Function,
}

impl HttpConnector for FaultInjectingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = describe(self.function, &request);
        let effect = self.faults.take(&call, request.body().bytes());
        match effect {
            None => self.inner.call(request),
            Some(AwsFaultEffect::Latency(delay)) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    tokio::time::sleep(delay).await;
                    inner.call(request).await
                })
            }
            Some(AwsFaultEffect::ConnectionError) => HttpConnectorFuture::ready(Err(
                ConnectorError::io("connection reset (injected by the local run)".into()),
            )),
            Some(AwsFaultEffect::ServiceError {
                status,
                error_type,
                message,
            }) => {
                let body = json!({ "__type": error_type, "message": message });
                HttpConnectorFuture::ready(json_response(status, &body, Some(&error_type)))
            }
            Some(AwsFaultEffect::FailEveryEntry { error_code }) => {
                let entries = request
                    .body()
                    .bytes()
                    .and_then(|body| serde_json::from_slice::<Value>(body).ok())
                    .and_then(|body| body.get("Entries").and_then(Value::as_array).map(Vec::len))
                    .unwrap_or(1);
                let failed: Vec<Value> = (0..entries)
                    .map(|_| {
                        json!({
                            "ErrorCode": error_code,
                            "ErrorMessage": "injected by the local run",
                        })
                    })
                    .collect();
                let body = json!({ "FailedEntryCount": entries, "Entries": failed });
                HttpConnectorFuture::ready(json_response(200, &body, None))
            }
        }
    }
}

fn json_response(
    status: u16,
    body: &Value,
    error_type: Option<&str>,
) -> Result<HttpResponse, ConnectorError> {
    let status = StatusCode::try_from(status)
        .map_err(|error| ConnectorError::user(format!("injected status: {error}").into()))?;
    let mut response = HttpResponse::new(status, SdkBody::from(body.to_string()));
    // Both headers are plain ASCII chosen here; a refused value only loses the header.
    let _ = response
        .headers_mut()
        .try_insert("content-type", "application/x-amz-json-1.1");
    if let Some(error_type) = error_type {
        let _ = response
            .headers_mut()
            .try_insert("x-amzn-errortype", error_type.to_owned());
    }
    Ok(response)
}

/// The service (from the SigV4 credential scope) and operation of a signed request.
fn describe(function: Function, request: &HttpRequest) -> AwsCall {
    let service = request
        .headers()
        .get("authorization")
        .and_then(|authorization| authorization.split("Credential=").nth(1))
        .and_then(|credential| credential.split([',', ' ']).next())
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown")
        .to_owned();
    let operation = match request.headers().get("x-amz-target") {
        Some(target) => target
            .rsplit_once('.')
            .map_or(target, |(_, operation)| operation)
            .to_owned(),
        None => {
            let uri = request.uri();
            let path = uri.split_once("://").map_or(uri, |(_, rest)| {
                rest.find('/').map_or("/", |at| &rest[at..])
            });
            format!("{} {}", request.method(), path)
        }
    };
    AwsCall {
        function,
        service,
        operation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: Option<&str>, uri: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::from("{\"Entries\":[{},{}]}"));
        request.set_uri(uri).unwrap();
        request.headers_mut().insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
        );
        if let Some(target) = target {
            request
                .headers_mut()
                .insert("x-amz-target", target.to_owned());
        }
        request
    }

    #[test]
    fn calls_are_named_by_scope_and_target_or_path() {
        let json = describe(
            Function::Poller,
            &request(Some("DynamoDB_20120810.PutItem"), "http://127.0.0.1:5000/"),
        );
        assert_eq!(json.service, "dynamodb");
        assert_eq!(json.operation, "PutItem");
        let rest = describe(
            Function::CommandHandler,
            &request(
                None,
                "http://127.0.0.1:5000/v1/cases/1234567890/create-comment",
            ),
        );
        assert_eq!(rest.operation, "GET /v1/cases/1234567890/create-comment");
    }

    #[test]
    fn faults_match_function_operation_and_body_and_run_out() {
        let faults = AwsFaults::default();
        faults.inject(
            AwsFault::new("dynamodb", "PutItem")
                .from_function(Function::Poller)
                .body_contains("Entries")
                .times(2),
        );
        let call = |function| AwsCall {
            function,
            service: "dynamodb".to_owned(),
            operation: "PutItem".to_owned(),
        };
        assert!(
            faults
                .take(&call(Function::SlackClient), Some(b"Entries"))
                .is_none()
        );
        assert!(
            faults
                .take(&call(Function::Poller), Some(b"other"))
                .is_none()
        );
        assert!(
            faults
                .take(&call(Function::Poller), Some(b"Entries"))
                .is_some()
        );
        assert!(
            faults
                .take(&call(Function::Poller), Some(b"Entries"))
                .is_some()
        );
        assert!(
            faults
                .take(&call(Function::Poller), Some(b"Entries"))
                .is_none()
        );
        assert_eq!(faults.injected(), 2);
        assert_eq!(
            faults.call_count(Function::Poller, "dynamodb", "PutItem"),
            4
        );
        assert_eq!(faults.pending(), 0);
    }
}
