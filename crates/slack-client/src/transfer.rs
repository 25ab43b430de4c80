//! Case attachments copied to the channel: streamed from SIR's presigned URL into Slack's
//! external upload flow (`files.getUploadURLExternal` -> POST the bytes ->
//! `files.completeUploadExternal`).
//!
//! The download's body is the upload's body: bytes flow through in small frames with
//! back-pressure, so the function never holds the file, let alone twice. Only when the
//! download does not say its length (S3 always does) is the file spooled to a temporary file
//! first, because Slack needs the length before the upload starts. Files over the configured
//! cap are announced by name and size instead; so are empty ones (Slack refuses them).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use sirslack_domain::Attachment;
use sirslack_slack_api::http::{BoxError, RequestBody};
use sirslack_slack_api::{ErrorClass, SlackApiError, stream_body};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use crate::apply::{CaseRun, Channel, POST_SCOPE};
use crate::failure::{Failure, Step};
use crate::messages::{
    attachment_empty_notice, attachment_shared_comment, attachment_too_large_notice,
};

/// Whole transfers (fresh URL, download, upload) tried before giving the event back.
const MAX_TRANSFER_ATTEMPTS: u32 = 3;
/// Read size when streaming a spooled file.
const SPOOL_CHUNK: usize = 64 * 1024;

/// Copies one attachment to the channel, once.
pub(crate) async fn copy_attachment(
    run: &CaseRun<'_, '_>,
    channel: &Channel,
    attachment: &Attachment,
    key: &str,
) -> Step {
    let done = format!("{key}#copied");
    let services = &run.inv.handler.services;
    if services.table.marker_present(POST_SCOPE, &done).await? {
        return Ok(());
    }
    let cap = run.inv.handler.config.max_attachment_bytes;
    let session = run.session();
    let policy = session_policy(run);
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A fresh URL each attempt: presigned URLs expire.
        let url = services
            .sir
            .attachment_download_url(&run.case_id, &attachment.id)
            .await?;
        let download = session
            .download(&url, None)
            .await
            .map_err(download_failure)?;
        let (length, body, _spool) = match download.length {
            Some(length) => (Some(length), Some(stream_body(download.body)), None),
            None => match spool(download.body, cap).await? {
                Spooled::TooLarge => (None, None, None),
                Spooled::File(file) => {
                    let body = file_body(&file.path).await?;
                    (Some(file.length), Some(body), Some(file))
                }
            },
        };
        let (length, body) = match (length, body) {
            (Some(length), Some(body)) if length <= cap => (length, body),
            (length, _) => {
                tracing::info!(case_id = %run.case_id, attachment_id = %attachment.id, size = ?length, cap, "attachment over the cap: announced, not copied");
                run.post_once(
                    channel,
                    &format!("{key}#too-large"),
                    &attachment_too_large_notice(attachment, length, cap),
                )
                .await?;
                return run.mark_done(&done).await;
            }
        };
        if length == 0 {
            run.post_once(
                channel,
                &format!("{key}#empty"),
                &attachment_empty_notice(attachment),
            )
            .await?;
            return run.mark_done(&done).await;
        }

        let target = session
            .get_upload_url(&attachment.file_name, length)
            .await?;
        match session.upload(&target, body, length).await {
            Ok(()) => {}
            Err(error)
                if error.class.is_retryable()
                    && attempt < MAX_TRANSFER_ATTEMPTS
                    && session.deadline().allows(policy.backoff(attempt)) =>
            {
                tracing::warn!(case_id = %run.case_id, attachment_id = %attachment.id, attempt, code = %error.code, "attachment upload failed; starting over");
                tokio::time::sleep(policy.backoff(attempt)).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        session
            .complete_upload(
                &target.file_id,
                &attachment.file_name,
                &channel.id,
                Some(&attachment_shared_comment(attachment)),
            )
            .await?;
        tracing::info!(case_id = %run.case_id, attachment_id = %attachment.id, file_id = %target.file_id, bytes = length, "attachment copied to the channel");
        return run.mark_done(&done).await;
    }
}

fn session_policy(run: &CaseRun<'_, '_>) -> sirslack_slack_api::RetryPolicy {
    run.inv.handler.services.slack.retry_policy().clone()
}

/// A presigned URL that answers 403/404 has expired or lost its object: a fresh URL on the
/// next delivery may work, so every download failure is retried later.
fn download_failure(error: SlackApiError) -> Failure {
    match error.class {
        ErrorClass::Permanent | ErrorClass::Auth => {
            Failure::Retry(format!("attachment download failed: {}", error.code))
        }
        _ => error.into(),
    }
}

/// A body spooled to a temporary file, removed on drop.
#[derive(Debug)]
pub(crate) struct SpoolFile {
    path: PathBuf,
    length: u64,
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What spooling found.
#[derive(Debug)]
pub(crate) enum Spooled {
    /// More than the cap: nothing kept.
    TooLarge,
    /// The whole body, on disk.
    File(SpoolFile),
}

/// Writes `body` to a temporary file, giving up (and removing it) once it passes `cap` bytes.
pub(crate) async fn spool<B>(body: B, cap: u64) -> Step<Spooled>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let path = std::env::temp_dir().join(format!(
        "sirslack-attachment-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let io_failure =
        |error: std::io::Error| Failure::Retry(format!("cannot spool the attachment: {error}"));
    let mut file = tokio::fs::File::create(&path).await.map_err(io_failure)?;
    let mut spooled = SpoolFile { path, length: 0 };
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|error| Failure::Retry(format!("attachment download broke off: {error}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        spooled.length += data.len() as u64;
        if spooled.length > cap {
            return Ok(Spooled::TooLarge);
        }
        file.write_all(&data).await.map_err(io_failure)?;
    }
    file.flush().await.map_err(io_failure)?;
    Ok(Spooled::File(spooled))
}

/// A streamed request body reading `path` in chunks.
async fn file_body(path: &Path) -> Step<RequestBody> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|error| Failure::Retry(format!("cannot read the spooled attachment: {error}")))?;
    Ok(FileBody { file }.boxed())
}

/// A file as a request body, read [`SPOOL_CHUNK`] bytes at a time.
struct FileBody {
    file: tokio::fs::File,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut chunk = vec![0_u8; SPOOL_CHUNK];
        let mut buffer = ReadBuf::new(&mut chunk);
        match Pin::new(&mut self.file).poll_read(cx, &mut buffer) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(Box::new(error)))),
            Poll::Ready(Ok(())) => {
                let read = buffer.filled().len();
                if read == 0 {
                    Poll::Ready(None)
                } else {
                    chunk.truncate(read);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    #[tokio::test]
    async fn spooling_keeps_the_bytes_and_respects_the_cap() {
        let Spooled::File(file) = spool(Full::new(Bytes::from_static(b"hello world")), 100)
            .await
            .unwrap()
        else {
            panic!("expected a spooled file");
        };
        assert_eq!(file.length, 11);
        let body = file_body(&file.path).await.unwrap();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello world");
        let path = file.path.clone();
        drop(file);
        assert!(!path.exists(), "the spool file is removed");

        assert!(matches!(
            spool(Full::new(Bytes::from_static(b"hello world")), 5)
                .await
                .unwrap(),
            Spooled::TooLarge
        ));
    }
}
