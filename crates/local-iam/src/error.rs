//! Errors of setting the local IAM up, and the refusals AWS answers.

/// A setup error (the policies file, a function it does not name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// The policies file does not parse.
    #[error("infra/iam/function-policies.json does not parse: {0}")]
    PolicyFile(String),
    /// The file has no policy for this function.
    #[error("infra/iam/function-policies.json has no function {0}")]
    UnknownFunction(String),
}

/// Why AWS refuses a call, and how it says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The request is not signed.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// The access key is not one this world issued.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey {
        /// The access key ID the request was signed with.
        access_key_id: String,
    },
    /// The caller's policy does not allow the action on the resource.
    #[error(
        "User: {principal} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )]
    NotAuthorized {
        /// The caller's ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
        principal: String,
        /// The action asked for.
        action: String,
        /// The resource it was asked on.
        resource: String,
    },
}

impl Denial {
    /// The HTTP status and error code `service` answers this refusal with.
    pub fn status_and_code(&self, service: &str) -> (u16, &'static str) {
        match (self, service) {
            (Denial::MissingAuthentication, _) => (403, "MissingAuthenticationTokenException"),
            (Denial::UnknownAccessKey { .. }, "sqs") => (403, "InvalidClientTokenId"),
            (Denial::UnknownAccessKey { .. }, "lambda" | "security-ir") => {
                (403, "UnrecognizedClientException")
            }
            (Denial::UnknownAccessKey { .. }, _) => (400, "UnrecognizedClientException"),
            (Denial::NotAuthorized { .. }, "sqs") => (403, "AccessDenied"),
            (Denial::NotAuthorized { .. }, "lambda" | "security-ir") => {
                (403, "AccessDeniedException")
            }
            (Denial::NotAuthorized { .. }, _) => (400, "AccessDeniedException"),
        }
    }
}
