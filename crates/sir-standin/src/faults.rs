//! Fault injection and call recording: how tests make the stand-in misbehave and see what it got.

use std::time::Duration;

/// Operation name of a PUT to an upload URL returned by GetCaseAttachmentUploadUrl.
pub const PRESIGNED_UPLOAD: &str = "PresignedUpload";
/// Operation name of a GET on a download URL returned by GetCaseAttachmentDownloadUrl.
pub const PRESIGNED_DOWNLOAD: &str = "PresignedDownload";
/// Operation name recorded for requests that match no route.
pub const UNKNOWN_OPERATION: &str = "UnknownOperation";

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 `ThrottlingException`, `Retry-After: 1` and `retryAfterSeconds: 1`.
    Throttling,
    /// 500 `InternalServerException`.
    InternalError,
    /// Delay the request, then serve it normally.
    Latency(Duration),
    /// 400 `ValidationException` (reason `OTHER`) with this message.
    Validation(String),
    /// Any other restJson1 error, e.g. 409 `ConflictException` or 402 `ServiceQuotaExceededException`.
    Custom {
        status: u16,
        error_type: String,
        message: String,
    },
}

/// A fault to apply to the next `times` matching requests.
///
/// `operation: None` matches every SIR API operation but not the presigned URLs; name
/// [`PRESIGNED_UPLOAD`] or [`PRESIGNED_DOWNLOAD`] to fault those (they answer S3-style).
/// Faults are checked in injection order; the first one that matches and has uses left applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Operation name as in SIR-API.md (`GetCase`), or `None` for any API operation.
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// How many requests it applies to.
    pub times: u32,
}

impl Fault {
    /// A fault on one named operation, once.
    pub fn on(operation: impl Into<String>, kind: FaultKind) -> Self {
        Fault {
            operation: Some(operation.into()),
            kind,
            times: 1,
        }
    }

    /// A fault on whatever API operation comes next, once.
    pub fn any(kind: FaultKind) -> Self {
        Fault {
            operation: None,
            kind,
            times: 1,
        }
    }

    /// Apply to the next `times` matching requests instead of one.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    pub(crate) fn matches(&self, operation: &str, is_api_operation: bool) -> bool {
        self.times > 0
            && match &self.operation {
                Some(name) => name == operation,
                None => is_api_operation,
            }
    }
}

/// One request the stand-in answered.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedCall {
    /// SIR operation name (`CreateCaseComment`), or one of [`PRESIGNED_UPLOAD`],
    /// [`PRESIGNED_DOWNLOAD`], [`UNKNOWN_OPERATION`].
    pub operation: String,
    pub method: String,
    pub path: String,
    /// The `{caseId}` path label, or the case a presigned URL belongs to.
    pub case_id: Option<String>,
    /// JSON request body (`{}` when empty). For ListInvestigations, the query parameters as an
    /// object; for presigned uploads, `{"contentLength": n}` (the bytes themselves are stored).
    pub request: serde_json::Value,
    /// HTTP status returned.
    pub status: u16,
    /// The `x-amzn-ErrorType` (or S3 error code) returned, if the call failed.
    pub error_type: Option<String>,
}
