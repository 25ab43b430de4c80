//! Streams a file from Slack to SIR's presigned upload URL.
//!
//! The download's body *is* the upload's body: each chunk is forwarded as it arrives, so a
//! 100 MiB file never sits in memory (the existing integration buffered it whole, twice). The
//! stream is capped at the size `files.info` announced, and the upload declares that size, so
//! a file that grows or shrinks in transit fails instead of being stored cut or padded.
//!
//! The download is the shared one ([`SlackSession::download`]): the bot token goes only to
//! Slack's file hosts over `https` (the file URL and every redirect hop are checked before a
//! request is sent, and a hop anywhere else is refused, logged at ERROR with its scheme and
//! host only), and failures before the body starts are retried there.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};

use sirslack_slack_api::http::{BoxError, describe};
use sirslack_slack_api::{BotToken, Download, SlackApi, SlackApiError};

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

    /// The person's words for a failed [`SlackSession::download`](sirslack_slack_api::SlackSession::download).
    fn of_download(error: &SlackApiError) -> Self {
        let detail = error.detail.as_deref();
        let reason = match error.code.as_str() {
            "file_host_not_allowed" => format!(
                "the file's address ({}) is not one of Slack's file hosts, so it was not \
                 downloaded",
                detail.unwrap_or("?")
            ),
            "web_page_not_file" => "Slack answered with a web page instead of the file (does \
                                    the app have the files:read scope?)"
                .to_owned(),
            "too_many_redirects" => "too many redirects".to_owned(),
            "redirect_without_location" => "a redirect without a location".to_owned(),
            "invalid_redirect" => "a redirect to something that is not a URL".to_owned(),
            "invalid_download_url" => "the file URL is not a URL".to_owned(),
            "ratelimited" => "Slack answered HTTP 429".to_owned(),
            "timeout" => "Slack did not answer in time".to_owned(),
            "network" => detail.unwrap_or("could not connect").to_owned(),
            code => match code.strip_prefix("http_") {
                Some(status) => format!("Slack answered HTTP {status}"),
                None => format!("Slack answered {code}"),
            },
        };
        Self::download(reason, error.class.is_retryable())
    }

    fn upload(reason: impl Into<String>, transient: bool) -> Self {
        Self {
            stage: "upload",
            ..Self::download(reason, transient)
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
    api: SlackApi,
    timeout: Duration,
}

impl FileTransfer {
    /// A transfer client that downloads through `api` (its file hosts, retries and connection
    /// pool); one copy may take at most `timeout`.
    pub fn new(api: SlackApi, timeout: Duration) -> Self {
        Self { api, timeout }
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
        let copying = async {
            let download: Download = self
                .api
                .session(bot_token)
                .download(download_url, Some(bot_token))
                .await
                .map_err(|error| TransferError::of_download(&error))?;
            if let Some(announced) = download.length
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
            let body = Limited::new(download.body, limit)
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
                .api
                .http_client()
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
            Ok::<u64, TransferError>(sent.load(Ordering::Relaxed))
        };
        tokio::time::timeout(self.timeout, copying)
            .await
            .map_err(|_| {
                TransferError::upload(format!("took longer than {:?}", self.timeout), true)
            })?
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
