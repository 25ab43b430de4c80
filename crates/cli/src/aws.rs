//! AWS access: one `SdkConfig` from the usual sources (`--profile`, `--region`, the environment,
//! `~/.aws`), with `AWS_ENDPOINT_URL` honoured so tests can point every client at moto.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Utc};

/// The AWS target chosen on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// SDK clients for one account and region.
#[derive(Debug, Clone)]
pub struct Aws {
    pub region: String,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub sir: aws_sdk_securityir::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Aws {
    /// Loads credentials and region; a missing region is an error here rather than on the
    /// first call.
    pub async fn connect(target: &Target) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &target.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config: SdkConfig = loader.load().await;
        let region = config.region().map(ToString::to_string).ok_or_else(|| {
            anyhow!(
                "no AWS region: pass --region, set AWS_REGION, or set a region in the AWS profile"
            )
        })?;
        Ok(Self {
            region,
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            sir: aws_sdk_securityir::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
        })
    }

    /// Who the credentials belong to: (account, ARN).
    pub async fn identity(&self) -> anyhow::Result<(String, String)> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|err| {
                anyhow!(
                    "no usable AWS credentials ({}): configure them (aws configure, aws sso login, or --profile)",
                    DisplayErrorContext(&err)
                )
            })?;
        Ok((
            identity.account().unwrap_or_default().to_string(),
            identity.arn().unwrap_or_default().to_string(),
        ))
    }

    /// A stack by name, or `None` when there is none (deleted stacks count as none).
    pub async fn stack(&self, name: &str) -> anyhow::Result<Option<Stack>> {
        let described = match self
            .cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
        {
            Ok(described) => described,
            Err(err)
                if err.code() == Some("ValidationError")
                    && err.message().is_some_and(|m| m.contains("does not exist")) =>
            {
                return Ok(None);
            }
            Err(err) => {
                return Err(anyhow!(
                    "reading stack {name}: {}",
                    DisplayErrorContext(&err)
                ));
            }
        };
        let Some(stack) = described.stacks().first() else {
            return Ok(None);
        };
        let status = stack
            .stack_status()
            .map(|status| status.as_str().to_string())
            .unwrap_or_default();
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|output| {
                Some((
                    output.output_key()?.to_string(),
                    output.output_value()?.to_string(),
                ))
            })
            .collect();
        Ok(Some(Stack {
            name: name.to_string(),
            status,
            status_reason: stack.stack_status_reason().map(str::to_string),
            outputs,
        }))
    }

    /// Deletes a stack and waits until it is gone.
    pub async fn delete_stack(&self, name: &str, timeout: Duration) -> anyhow::Result<()> {
        self.cloudformation
            .delete_stack()
            .stack_name(name)
            .send()
            .await
            .map_err(|err| anyhow!("deleting stack {name}: {}", DisplayErrorContext(&err)))?;
        let deadline = Instant::now() + timeout;
        loop {
            match self.stack(name).await? {
                None => return Ok(()),
                Some(stack) if stack.status == "DELETE_FAILED" => bail!(
                    "stack {name} could not be deleted: {}",
                    stack.status_reason.unwrap_or_default()
                ),
                Some(_) if Instant::now() >= deadline => {
                    bail!("stack {name} is still being deleted after {timeout:?}")
                }
                Some(_) => tokio::time::sleep(Duration::from_secs(5)).await,
            }
        }
    }

    /// Reads a parameter (decrypted); `None` when it does not exist.
    pub async fn parameter(&self, name: &str) -> anyhow::Result<Option<StoredParameter>> {
        match self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(got) => Ok(got.parameter.map(|parameter| StoredParameter {
                secure: parameter.r#type == Some(ParameterType::SecureString),
                kind: parameter
                    .r#type
                    .map(|kind| kind.as_str().to_string())
                    .unwrap_or_default(),
                value: parameter.value.unwrap_or_default(),
                version: parameter.version,
            })),
            Err(err) if err.code() == Some("ParameterNotFound") => Ok(None),
            Err(err) => Err(anyhow!("reading {name}: {}", DisplayErrorContext(&err))),
        }
    }

    /// Creates or overwrites a SecureString (with the account's `aws/ssm` key) and returns its
    /// new version.
    pub async fn put_secure_string(&self, name: &str, value: &str) -> anyhow::Result<i64> {
        self.put_parameter(name, value, ParameterType::SecureString)
            .await
    }

    /// Creates or overwrites a plain String parameter (never a secret).
    pub async fn put_string(&self, name: &str, value: &str) -> anyhow::Result<i64> {
        self.put_parameter(name, value, ParameterType::String).await
    }

    /// Creates or overwrites the parameter `name` of type `kind`; returns its new version.
    async fn put_parameter(
        &self,
        name: &str,
        value: &str,
        kind: ParameterType,
    ) -> anyhow::Result<i64> {
        let put = self
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(true)
            .description("sirslack: written by deploy-integrations-solution")
            .send()
            .await
            .map_err(|err| anyhow!("writing {name}: {}", DisplayErrorContext(&err)))?;
        Ok(put.version())
    }

    /// The last update of every open (not `Closed`) SIR case in this region (`ListCases`, every
    /// page); `None` for a case SIR lists without a date.
    pub async fn sir_open_cases(&self) -> Result<Vec<Option<DateTime<Utc>>>, SirError> {
        let mut open = Vec::new();
        let mut pages = self
            .sir
            .list_cases()
            .max_results(25)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| SirError::of(&err))?;
            open.extend(
                page.items()
                    .iter()
                    .filter(|item| {
                        item.case_status() != Some(&aws_sdk_securityir::types::CaseStatus::Closed)
                    })
                    .map(|item| {
                        item.last_updated_date().and_then(|date| {
                            DateTime::from_timestamp(date.secs(), date.subsec_nanos())
                        })
                    }),
            );
        }
        Ok(open)
    }

    /// Every SIR membership the account can see from this region.
    pub async fn sir_memberships(&self) -> Result<Vec<Membership>, SirError> {
        let mut memberships = Vec::new();
        let mut pages = self
            .sir
            .list_memberships()
            .max_results(25)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| SirError::of(&err))?;
            memberships.extend(page.items().iter().map(|item| {
                Membership {
                    id: item.membership_id().to_string(),
                    region: item.region().map(|region| region.as_str().to_string()),
                    status: item
                        .membership_status()
                        .map(|status| status.as_str().to_string())
                        .unwrap_or_default(),
                }
            }));
        }
        Ok(memberships)
    }

    /// Whether a DynamoDB table exists (in any state but being deleted).
    pub async fn table_exists(&self, name: &str) -> anyhow::Result<bool> {
        match self.dynamodb.describe_table().table_name(name).send().await {
            Ok(described) => Ok(described.table().is_some_and(|table| {
                table.table_status() != Some(&aws_sdk_dynamodb::types::TableStatus::Deleting)
            })),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(false),
            Err(err) => Err(anyhow!(
                "reading table {name}: {}",
                DisplayErrorContext(&err)
            )),
        }
    }

    /// Deletes a DynamoDB table; a missing table is not an error.
    pub async fn delete_table(&self, name: &str) -> anyhow::Result<bool> {
        match self.dynamodb.delete_table().table_name(name).send().await {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(false),
            Err(err) => Err(anyhow!(
                "deleting table {name}: {}",
                DisplayErrorContext(&err)
            )),
        }
    }

    /// Deletes parameters; missing ones are not an error. Returns how many were deleted.
    pub async fn delete_parameters(&self, names: &[String]) -> anyhow::Result<usize> {
        let mut deleted = 0;
        // DeleteParameters takes at most 10 names per call.
        for batch in names.chunks(10) {
            let result = self
                .ssm
                .delete_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|err| anyhow!("deleting parameters: {}", DisplayErrorContext(&err)))?;
            deleted += result.deleted_parameters().len();
        }
        Ok(deleted)
    }

    /// Every parameter name under `path` (recursively).
    pub async fn parameter_names_under(&self, path: &str) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self
            .ssm
            .get_parameters_by_path()
            .path(path.trim_end_matches('/'))
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                anyhow!(
                    "listing parameters under {path}: {}",
                    DisplayErrorContext(&err)
                )
            })?;
            names.extend(
                page.parameters()
                    .iter()
                    .filter_map(|parameter| parameter.name().map(str::to_string)),
            );
        }
        Ok(names)
    }

    /// Visible plus in-flight messages of a queue.
    pub async fn queue_depth(&self, queue_url: &str) -> anyhow::Result<u64> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|err| anyhow!("reading queue {queue_url}: {}", DisplayErrorContext(&err)))?;
        let count = |name: QueueAttributeName| -> u64 {
            attributes
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .and_then(|count| count.parse().ok())
                .unwrap_or(0)
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}

/// A live CloudFormation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

impl Stack {
    /// Stable and up to date: created or updated without a rollback.
    pub fn is_complete(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
        )
    }

    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// An output that must be there.
    pub fn required_output(&self, key: &str) -> anyhow::Result<&str> {
        self.output(key)
            .with_context(|| format!("stack {} has no output {key}", self.name))
    }
}

/// One SIR membership as ListMemberships lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: String,
    /// The membership's region, when SIR says.
    pub region: Option<String>,
    /// `Active`, `Cancelled` or `Terminated`.
    pub status: String,
}

/// A failed SIR call: the service's error code (when there is one) and the full detail.
#[derive(Debug, Clone)]
pub struct SirError {
    pub code: Option<String>,
    pub detail: String,
}

impl SirError {
    /// The code and detail of a failed SIR call: `code: message` when SIR sent both, else the
    /// SDK's whole account of the failure.
    fn of<E: ProvideErrorMetadata + std::error::Error>(err: &E) -> Self {
        Self {
            code: err.code().map(str::to_string),
            detail: match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(err).to_string(),
            },
        }
    }
}

/// A parameter as stored. `value` is a secret for SecureStrings: never print it.
#[derive(Clone)]
pub struct StoredParameter {
    pub secure: bool,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: String,
    pub version: i64,
}
