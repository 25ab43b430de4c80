//! Streams a file from Slack to SIR's presigned upload URL.
//!
//! The download's body *is* the upload's body: each chunk is forwarded as it arrives, so a
//! 100 MiB file never sits in memory (the existing integration buffered it whole, twice). The
//! stream is capped at the size `files.info` announced, and the upload declares that size, so
//! a file that grows or shrinks in transit fails instead of being stored cut or padded.
//!
//! The bot token goes only to Slack's file hosts over `https` ([`FileHosts`]): the file URL and
//! every redirect hop are checked before a request is sent, and a hop anywhere else is refused
//! (logged at ERROR with its scheme and host only), not followed without the token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Limited};

use sirslack_slack_api::http::{BoxError, HttpClient, empty_body};
use sirslack_slack_api::{BotToken, FileHosts};

/// Redirects followed on download (Slack's file URLs may redirect to a CDN).
const MAX_REDIRECTS: usize = 3;

/// Why a transfer failed. Never carries URLs (presigned URLs are credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file {stage} failed: {reason}")]
pub struct TransferError {
    /// `download` or `upload`.
    pub stage: &'static str,
    /// What went wrong, for logs and for the person.
    pub reason: String,
    /// Whether another attempt may work.
    pub transient: bool,
}

/// Most of an error body read to tell why a presigned upload was refused.
const ERROR_BODY_MAX: usize = 8 * 1024;

impl TransferError {
    fn download(reason: impl Into<String>, transient: bool) -> Self {
        Self {
            stage: "download",
            reason: reason.into(),
            transient,
        }
    }

    fn upload(reason: impl Into<String>, transient: bool) -> Self {
        Self {
            stage: "upload",
            reason: reason.into(),
            transient,
        }
    }

    /// Whether the upload URL may have been used, or refused: the next attempt must ask SIR
    /// for a fresh one, not replay the request that handed this one out.
    pub fn spoils_upload_url(&self) -> bool {
        self.stage == "upload"
    }
}

/// Whether a refused presigned request is S3's answer to an expired URL (403 `AccessDenied`,
/// "Request has expired"): a fresh URL works, this one never will again.
fn is_expired_url(status: StatusCode, body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    status == StatusCode::FORBIDDEN
        && body.contains("<Code>AccessDenied</Code>")
        && body.contains("Request has expired")
}

/// Copies files from Slack to SIR.
#[derive(Debug, Clone)]
pub struct FileTransfer {
    http: HttpClient,
    hosts: FileHosts,
    timeout: Duration,
}

impl FileTransfer {
    /// A transfer client that downloads only from `hosts`; one copy may take at most `timeout`.
    pub fn new(http: HttpClient, hosts: FileHosts, timeout: Duration) -> Self {
        Self {
            http,
            hosts,
            timeout,
        }
    }

    /// Streams exactly `length` bytes from `download_url` (with the bot token) to
    /// `upload_url` (a presigned PUT). Returns the bytes sent.
    pub async fn copy(
        &self,
        download_url: &str,
        bot_token: &BotToken,
        upload_url: &str,
        length: u64,
    ) -> Result<u64, TransferError> {
        tokio::time::timeout(
            self.timeout,
            self.copy_unbounded(download_url, bot_token, upload_url, length),
        )
        .await
        .map_err(|_| TransferError::upload(format!("took longer than {:?}", self.timeout), true))?
    }

    async fn copy_unbounded(
        &self,
        download_url: &str,
        bot_token: &BotToken,
        upload_url: &str,
        length: u64,
    ) -> Result<u64, TransferError> {
        let download = self.download(download_url, bot_token).await?;
        if let Some(announced) = download
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            && announced != length
        {
            return Err(TransferError::download(
                format!("Slack sent {announced} bytes where files.info said {length}"),
                false,
            ));
        }
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        let limit = usize::try_from(length).unwrap_or(usize::MAX);
        let body = Limited::new(download.into_body(), limit)
            .map_frame(move |frame| {
                if let Some(data) = frame.data_ref() {
                    counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                frame
            })
            .map_err(|error| -> BoxError { error })
            .boxed();
        let upload = Request::builder()
            .method(Method::PUT)
            .uri(upload_url)
            .header(header::CONTENT_LENGTH, length)
            .body(body)
            .map_err(|_| TransferError::upload("the upload URL is not a URL", false))?;
        let response = self
            .http
            .request(upload)
            .await
            .map_err(|error| TransferError::upload(describe(&error), true))?;
        let status = response.status();
        if !status.is_success() {
            // Only a short error document is read, never an unbounded body.
            let body = Limited::new(response.into_body(), ERROR_BODY_MAX)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            if is_expired_url(status, &body) {
                return Err(TransferError::upload("SIR's upload URL had expired", true));
            }
            return Err(TransferError::upload(
                format!("SIR's storage answered HTTP {}", status.as_u16()),
                status.is_server_error(),
            ));
        }
        Ok(sent.load(Ordering::Relaxed))
    }

    async fn download(
        &self,
        url: &str,
        bot_token: &BotToken,
    ) -> Result<http::Response<hyper::body::Incoming>, TransferError> {
        let mut uri: Uri = url
            .parse()
            .map_err(|_| TransferError::download("the file URL is not a URL", false))?;
        let bearer = HeaderValue::try_from(format!("Bearer {}", bot_token.expose()))
            .map_err(|_| TransferError::download("the bot token is not a header value", false))?;
        for hop in 0..=MAX_REDIRECTS {
            // The token goes to Slack's file hosts only: every hop is checked before it is
            // sent, and a hop elsewhere is refused, not followed without the token.
            if let Err(refused) = self.hosts.check(&uri) {
                tracing::error!(
                    scheme = refused.scheme,
                    host = refused.host,
                    hop,
                    "bot token withheld: the file URL is not on Slack's file hosts; refused"
                );
                return Err(TransferError::download(
                    format!(
                        "the file's address ({}://{}) is not one of Slack's file hosts, so it \
                         was not downloaded",
                        refused.scheme, refused.host
                    ),
                    false,
                ));
            }
            let mut request = Request::builder()
                .method(Method::GET)
                .uri(uri.clone())
                .body(empty_body())
                .map_err(|_| TransferError::download("the file URL is not a URL", false))?;
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, bearer.clone());
            let response = self
                .http
                .request(request)
                .await
                .map_err(|error| TransferError::download(describe(&error), true))?;
            let status = response.status();
            if status.is_redirection() {
                uri = redirect_target(&uri, &response)?;
                continue;
            }
            if status != StatusCode::OK {
                return Err(TransferError::download(
                    format!("Slack answered HTTP {}", status.as_u16()),
                    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
                ));
            }
            let is_html = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/html"));
            if is_html {
                return Err(TransferError::download(
                    "Slack answered with a web page instead of the file (does the app have \
                     the files:read scope?)",
                    false,
                ));
            }
            return Ok(response);
        }
        Err(TransferError::download("too many redirects", false))
    }
}

fn redirect_target<B>(from: &Uri, response: &http::Response<B>) -> Result<Uri, TransferError> {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| TransferError::download("a redirect without a location", false))?;
    let target: Uri = location
        .parse()
        .map_err(|_| TransferError::download("a redirect to something that is not a URL", false))?;
    if target.scheme().is_some() {
        return Ok(target);
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = target.path_and_query().cloned();
    Uri::from_parts(parts)
        .map_err(|_| TransferError::download("a redirect to something that is not a URL", false))
}

fn describe(error: &hyper_util::client::legacy::Error) -> String {
    if error.is_connect() {
        "could not connect".to_owned()
    } else {
        // hyper's messages name no URL; the source chain says what happened mid-stream
        // (a body over its announced size, a connection reset).
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_s3s_expired_answer_counts_as_an_expired_url() {
        let expired =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
<Message>Request has expired</Message><X-Amz-Expires>900</X-Amz-Expires></Error>";
        assert!(is_expired_url(StatusCode::FORBIDDEN, expired));
        let signature = b"<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>";
        assert!(!is_expired_url(StatusCode::FORBIDDEN, signature));
        let denied = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert!(!is_expired_url(StatusCode::FORBIDDEN, denied));
        assert!(!is_expired_url(StatusCode::BAD_REQUEST, expired));
    }
}
