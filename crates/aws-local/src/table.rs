//! sirslack's single DynamoDB table, defined once for tests, the local run and the CDK stack.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};

use crate::error::{LocalAwsError, aws, build};

/// Partition key attribute, a string.
pub const TABLE_PARTITION_KEY: &str = "pk";
/// Sort key attribute, a string.
pub const TABLE_SORT_KEY: &str = "sk";
/// TTL attribute: a number, seconds since the Unix epoch. DynamoDB deletes the item some time
/// after this moment (typically within days), so readers must still filter expired items.
pub const TABLE_TTL_ATTRIBUTE: &str = "expires_at";
/// On-demand capacity (`PAY_PER_REQUEST`).
pub const TABLE_BILLING_MODE: BillingMode = BillingMode::PayPerRequest;

/// How long [`create_table`] waits for the table to become ACTIVE.
pub const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(30);
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Creates the table (`pk` S hash, `sk` S range, on-demand), waits until it is ACTIVE, then
/// enables TTL on `expires_at`.
pub async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
) -> Result<(), LocalAwsError> {
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build("key schema element"))
    };
    let string_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build("attribute definition"))
    };
    dynamodb
        .create_table()
        .table_name(table_name)
        .key_schema(key(TABLE_PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(TABLE_SORT_KEY, KeyType::Range)?)
        .attribute_definitions(string_attribute(TABLE_PARTITION_KEY)?)
        .attribute_definitions(string_attribute(TABLE_SORT_KEY)?)
        .billing_mode(TABLE_BILLING_MODE)
        .send()
        .await
        .map_err(aws("CreateTable"))?;

    wait_until_active(dynamodb, table_name, TABLE_ACTIVE_TIMEOUT).await?;

    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TABLE_TTL_ATTRIBUTE)
        .build()
        .map_err(build("TTL specification"))?;
    dynamodb
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(aws("UpdateTimeToLive"))?;
    Ok(())
}

/// Polls DescribeTable until the table is ACTIVE. (The SDK's waiter backs off from 20 s, which is
/// far too slow for a local server that is usually ACTIVE at once.)
async fn wait_until_active(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    timeout: Duration,
) -> Result<(), LocalAwsError> {
    let deadline = Instant::now() + timeout;
    loop {
        let described = dynamodb
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(aws("DescribeTable"))?;
        let status = described.table().and_then(|table| table.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(LocalAwsError::Timeout {
                what: format!("table {table_name} ACTIVE (last status {status:?})"),
                timeout,
            });
        }
        tokio::time::sleep(TABLE_POLL_INTERVAL).await;
    }
}
