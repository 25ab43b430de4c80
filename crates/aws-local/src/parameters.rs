//! SSM Parameter Store helpers.

use aws_sdk_ssm::types::ParameterType;

use crate::error::{LocalAwsError, aws};

/// How a parameter is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    /// `String`.
    Plain,
    /// `SecureString`, encrypted with the account's default `aws/ssm` key.
    Secure,
}

/// What [`put_parameter`] does when the parameter already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Store a new version.
    Overwrite,
    /// Fail with `ParameterAlreadyExists`.
    Fail,
}

/// Whether [`get_parameter`] decrypts a `SecureString`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decryption {
    Decrypt,
    /// The stored (encrypted) form; plain parameters read the same either way.
    AsStored,
}

/// Stores `value` under `name` and returns the new version number.
pub async fn put_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    kind: ParameterKind,
    on_existing: OnExisting,
) -> Result<i64, LocalAwsError> {
    let parameter_type = match kind {
        ParameterKind::Plain => ParameterType::String,
        ParameterKind::Secure => ParameterType::SecureString,
    };
    let put = ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(parameter_type)
        .overwrite(on_existing == OnExisting::Overwrite)
        .send()
        .await
        .map_err(aws("PutParameter"))?;
    Ok(put.version())
}

/// Reads the value of parameter `name`.
pub async fn get_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    decryption: Decryption,
) -> Result<String, LocalAwsError> {
    let got = ssm
        .get_parameter()
        .name(name)
        .with_decryption(decryption == Decryption::Decrypt)
        .send()
        .await
        .map_err(aws("GetParameter"))?;
    got.parameter
        .and_then(|parameter| parameter.value)
        .ok_or(LocalAwsError::MissingField {
            operation: "GetParameter",
            missing: "Parameter.Value",
        })
}
