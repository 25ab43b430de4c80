//! One HTTPS client stack for everything that is not an AWS SDK call: the Slack Web API
//! (through slack-morphism), file downloads and presigned uploads, and `response_url` posts.

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
/// The body type of every request this crate sends.
pub type RequestBody = BoxBody<Bytes, BoxError>;
/// The TLS connector (rustls with aws-lc-rs, the system's root certificates).
pub type Connector = HttpsConnector<HttpConnector>;
/// The shared HTTP client.
pub type HttpClient = Client<Connector, RequestBody>;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The connector. It also speaks plain `http`, which only local stand-ins use: every URL it is
/// given in AWS (Slack's API, its file URLs, SIR's presigned URLs) is `https`.
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
pub fn client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
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
