//! One HTTP client stack for the Slack Web API (through slack-morphism) and for the raw
//! transfers around it (file uploads to Slack's `upload_url`, downloads from presigned URLs).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Any error a streamed body can carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every raw request: streamed or whole.
pub type RequestBody = BoxBody<Bytes, BoxError>;
/// The connector: rustls (aws-lc-rs provider) with the system's root certificates.
pub type Connector = HttpsConnector<HttpConnector>;
/// A pooled HTTP client for raw transfers.
pub type HttpClient = Client<Connector, RequestBody>;

/// How long opening a TCP connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The connector. It also speaks plain `http`, which only local stand-ins use: in AWS every
/// URL it is given (Slack's API and upload URLs, S3 presigned URLs) is `https`. A request that
/// carries the bot token to a file URL is checked first by [`crate::FileHosts`] (`https` on
/// Slack's file hosts only, every redirect hop included), so `http` never carries the token
/// outside the local world.
pub fn connector() -> std::io::Result<Connector> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http))
}

/// A pooled client over `connector`.
pub fn http_client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector)
}

/// A whole body from bytes.
pub fn full_body(bytes: impl Into<Bytes>) -> RequestBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty_body() -> RequestBody {
    full_body(Bytes::new())
}

/// What a failed request ran into, in words that name no URL: `could not connect`, else
/// hyper's message and its causes (a connection reset, a TLS failure).
pub fn describe(error: &hyper_util::client::legacy::Error) -> String {
    if error.is_connect() {
        return "could not connect".to_owned();
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}
