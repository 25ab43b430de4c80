//! The events handler: assembly, the HTTP entry point and the Lambda invocation entry point.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_http::Body;
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};
use sirslack_slack_api::SlackApi;
use sirslack_slack_router::{HandOffSink, LazyError, LazyInvocation, Router};
use sirslack_store::Table;
use tracing::warn;

use crate::app::App;
use crate::config::{Config, ConfigError, LazyTransport};
use crate::dedupe::TableDeduplicator;
use crate::invoke::{AwsHandOffSink, LAZY_EVENT_DETAIL_TYPE, LAZY_EVENT_SOURCE, SelfDelivery};
use crate::listeners;
use crate::secrets::{ParameterStore, SecretCache, SsmParameterStore};
use crate::sir::Sir;
use crate::slack::Slack;
use crate::transfer::FileTransfer;

/// The handler could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The environment is incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Slack client could not be built (the system's root certificates could not be
    /// loaded).
    #[error(transparent)]
    Slack(#[from] sirslack_slack_api::SetupError),
}

/// An invocation payload the handler cannot process.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// Neither an API Gateway REST proxy event nor lazy work.
    #[error("unrecognised invocation payload: {0}")]
    Unrecognised(String),
    /// Lazy work that does not parse.
    #[error("malformed lazy invocation: {0}")]
    MalformedLazy(String),
    /// The response could not be serialised.
    #[error("response not serialisable: {0}")]
    Response(String),
    /// Lazy work (or a lane sweep) failed in a way a later run may not: the invocation fails,
    /// so that Lambda retries it, then sends it to the DLQ (and its alarm fires).
    #[error("{0}")]
    LazyRetryable(LazyError),
}

impl InvocationError {
    /// Whether Lambda's retry may succeed where this invocation failed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::LazyRetryable(_))
    }
}

/// Builds an [`EventsHandler`]; every edge can be replaced (tests, local runs).
pub struct EventsHandlerBuilder {
    config: Config,
    sdk_config: SdkConfig,
    sir_client: Option<aws_sdk_securityir::Client>,
    hand_off: Option<Arc<dyn HandOffSink>>,
    parameter_store: Option<Arc<dyn ParameterStore>>,
    fruitless_reload_pause: Option<Duration>,
}

impl EventsHandlerBuilder {
    /// The SIR client, used as it is (default: from the SDK config, with the SIR adapter's
    /// retry setting).
    pub fn sir_client(mut self, client: aws_sdk_securityir::Client) -> Self {
        self.sir_client = Some(client);
        self
    }

    /// Where hand-offs go (default: Lambda `Invoke`, or EventBridge for lazy work when
    /// `EVENT_BUS_NAME` is set).
    pub fn hand_off(mut self, sink: Arc<dyn HandOffSink>) -> Self {
        self.hand_off = Some(sink);
        self
    }

    /// Where the secrets come from (default: SSM).
    pub fn parameter_store(mut self, store: Arc<dyn ParameterStore>) -> Self {
        self.parameter_store = Some(store);
        self
    }

    /// The pause after a signature-mismatch re-read that found nothing new.
    pub fn fruitless_reload_pause(mut self, pause: Duration) -> Self {
        self.fruitless_reload_pause = Some(pause);
        self
    }

    /// Assembles the handler and reads the SSM parameters once, so the first request finds
    /// them cached. A failed read is logged and retried by the first request.
    pub async fn build(self) -> Result<EventsHandler, StartError> {
        let config = self.config;
        let sdk_config = self.sdk_config;
        let slack_api = SlackApi::builder().api_url(&config.slack_api_url).build()?;
        let store = self.parameter_store.unwrap_or_else(|| {
            Arc::new(SsmParameterStore::new(
                aws_sdk_ssm::Client::new(&sdk_config),
                config.parameters.clone(),
            ))
        });
        let mut secrets = SecretCache::new(store, config.secrets_cache_ttl);
        if let Some(pause) = self.fruitless_reload_pause {
            secrets = secrets.with_fruitless_reload_pause(pause);
        }
        if let Err(error) = secrets.prefetch().await {
            warn!(%error, "Slack parameters not readable at start; the first request will retry");
        }
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&sdk_config),
            config.table_name.clone(),
        );
        let sir = self
            .sir_client
            .map_or_else(|| Sir::from_sdk_config(&sdk_config), Sir::new);
        // File copies share the Web API client's connection pool.
        let transfer = FileTransfer::new(slack_api.clone(), config.transfer_timeout);
        let slack = Slack::new(slack_api, secrets.clone());
        let hand_off = self.hand_off.unwrap_or_else(|| {
            let this_function = match &config.lazy_transport {
                LazyTransport::SelfInvoke { function_name } => SelfDelivery::Invoke {
                    function_name: function_name.clone(),
                },
                LazyTransport::EventBus { bus_name } => SelfDelivery::EventBus {
                    client: aws_sdk_eventbridge::Client::new(&sdk_config),
                    bus_name: bus_name.clone(),
                },
            };
            Arc::new(AwsHandOffSink::new(
                aws_sdk_lambda::Client::new(&sdk_config),
                this_function,
            ))
        });
        let dedupe = Arc::new(TableDeduplicator::new(
            table.clone(),
            config.dedupe_lease,
            config.dedupe_ttl,
        ));
        let max_body_bytes = config.max_body_bytes;
        let app_id = config.app_id.clone();
        let app = Arc::new(App::new(
            config,
            table,
            sir,
            slack,
            secrets.clone(),
            transfer,
        ));
        let router = listeners::register(
            Router::builder(Arc::new(secrets), dedupe, hand_off)
                .max_body_bytes(max_body_bytes)
                .app_id(app_id),
            &app,
        )
        .build();
        Ok(EventsHandler { app, router })
    }
}

/// The Slack events handler.
pub struct EventsHandler {
    app: Arc<App>,
    router: Router,
}

impl std::fmt::Debug for EventsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsHandler")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl EventsHandler {
    /// Starts building a handler for `config`, with AWS clients from `sdk_config`.
    pub fn builder(config: Config, sdk_config: SdkConfig) -> EventsHandlerBuilder {
        EventsHandlerBuilder {
            config,
            sdk_config,
            sir_client: None,
            hand_off: None,
            parameter_store: None,
            fruitless_reload_pause: None,
        }
    }

    /// The handler as deployed: configuration from the environment read at start, AWS
    /// clients from the SDK configuration of the default chain (endpoint overrides such as
    /// `AWS_ENDPOINT_URL_SECURITY_IR` included).
    pub async fn from_environment(
        env: &sirslack_lambda::Environment,
        sdk_config: &SdkConfig,
    ) -> Result<Self, StartError> {
        let config = Config::from_lookup(env.lookup())?;
        Self::builder(config, sdk_config.clone()).build().await
    }

    /// Answers one HTTP request (what `lambda_http` hands a function).
    pub async fn handle(&self, request: lambda_http::Request) -> http::Response<Body> {
        self.router.handle(&request).await.map(|body| {
            if body.is_empty() {
                Body::Empty
            } else {
                Body::Text(body)
            }
        })
    }

    /// Runs lazy work in this invocation.
    pub async fn run_lazy(&self, invocation: LazyInvocation) -> Result<(), LazyError> {
        self.router.run_lazy(invocation).await
    }

    /// The Lambda entry point: an API Gateway REST proxy event is answered with a proxy
    /// response; lazy work (an async self-invocation, or an EventBridge event carrying it) is
    /// run; a Scheduled Event (the lane-sweep rule) sweeps the channel lanes.
    ///
    /// Lazy work that failed retryably (its work is still to be done) fails the invocation, so
    /// Lambda's retries, the DLQ and its alarm apply. Lazy work that failed for good has
    /// already told the person and logged, so it is reported as done: a Lambda retry would
    /// only repeat the notice.
    pub async fn handle_invocation(&self, payload: Value) -> Result<Value, InvocationError> {
        if let Some(invocation) = lazy_invocation(&payload) {
            let invocation =
                invocation.map_err(|error| InvocationError::MalformedLazy(error.to_string()))?;
            let name = invocation.call.name.clone();
            return match self.run_lazy(invocation).await {
                Ok(()) => Ok(json!({ "lazy": name, "ok": true })),
                Err(error) if error.retryable => Err(InvocationError::LazyRetryable(error)),
                Err(_) => Ok(json!({ "lazy": name, "ok": false })),
            };
        }
        if is_scheduled_event(&payload) {
            let report = listeners::comment::sweep_lanes(&self.app)
                .await
                .map_err(InvocationError::LazyRetryable)?;
            return Ok(json!({
                "sweep": "lanes",
                "lanesSeen": report.lanes_seen,
                "lanesDrained": report.lanes_drained,
                "lanesForgotten": report.lanes_forgotten,
            }));
        }
        let event: ApiGatewayProxyRequest = serde_json::from_value(payload)
            .map_err(|error| InvocationError::Unrecognised(error.to_string()))?;
        let request: lambda_http::Request = LambdaRequest::ApiGatewayV1(event).into();
        let response = self.handle(request).await;
        serde_json::to_value(proxy_response(response))
            .map_err(|error| InvocationError::Response(error.to_string()))
    }

    /// The router (for tests and local runs).
    pub fn router(&self) -> &Router {
        &self.router
    }
}

/// The event a scheduled EventBridge rule delivers (the lane sweep's).
fn is_scheduled_event(payload: &Value) -> bool {
    payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

fn lazy_invocation(payload: &Value) -> Option<Result<LazyInvocation, serde_json::Error>> {
    if let Some(direct) = LazyInvocation::from_payload(payload) {
        return Some(direct);
    }
    let from_bus = payload.get("source").and_then(Value::as_str) == Some(LAZY_EVENT_SOURCE)
        && payload.get("detail-type").and_then(Value::as_str) == Some(LAZY_EVENT_DETAIL_TYPE);
    if from_bus {
        return payload.get("detail").and_then(LazyInvocation::from_payload);
    }
    None
}

/// The API Gateway REST proxy response for `response` (headers as multi-value headers only,
/// as `lambda_http` does, so API Gateway does not duplicate them).
pub fn proxy_response(response: http::Response<Body>) -> ApiGatewayProxyResponse {
    let (parts, body) = response.into_parts();
    let mut proxy = ApiGatewayProxyResponse::default();
    proxy.status_code = i64::from(parts.status.as_u16());
    proxy.multi_value_headers = parts.headers;
    proxy.is_base64_encoded = matches!(body, Body::Binary(_));
    proxy.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    proxy
}
