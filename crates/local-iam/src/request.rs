//! What IAM checks for one AWS API request: its actions and resources, read from the request as
//! AWS reads them (the `X-Amz-Target` of the JSON protocols and the ARNs the body names; the
//! path of Lambda's REST API). Batch and transaction operations ask for every item's action on
//! every table, as the Service Authorization Reference says.

use serde_json::Value;

use crate::policy::Access;

/// Where the request is addressed (fills the ARNs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The region (`us-east-1`).
    pub region: String,
    /// The account (`123456789012`).
    pub account: String,
}

impl Scope {
    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }

    /// The ARN of an SSM parameter named `name` (`/a/b` or `a`), or `name` if it is an ARN.
    pub fn parameter_arn(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_owned()
        } else if name.starts_with('/') {
            self.arn("ssm", &format!("parameter{name}"))
        } else {
            self.arn("ssm", &format!("parameter/{name}"))
        }
    }

    /// What SSM asks KMS for on the caller's behalf when it decrypts the SecureString
    /// `parameter_arn` (with the AWS managed key `aws/ssm`: the stacks grant `key/*` under the
    /// `kms:ViaService` and encryption-context conditions).
    pub fn kms_decrypt_for_parameter(&self, parameter_arn: &str) -> Access {
        Access::new("kms:Decrypt", self.arn("kms", "key/aws-ssm-managed-key"))
            .with(
                "kms:ViaService",
                format!("ssm.{}.amazonaws.com", self.region),
            )
            .with("kms:EncryptionContext:PARAMETER_ARN", parameter_arn)
    }
}

/// The service and operation a request calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The IAM service prefix: `dynamodb`, `events`, `sqs`, `ssm`, `lambda`.
    pub service: &'static str,
    /// The API operation (`GetItem`, `Invoke`).
    pub name: String,
}

/// Why a request could not be read (the gate answers it with a 400, as AWS would for a request it
/// cannot parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// The operation of a request: `X-Amz-Target` for JSON protocols, else Lambda's REST path.
pub fn operation(target: Option<&str>, method: &str, path: &str) -> Result<Operation, Unreadable> {
    if let Some(target) = target {
        let (prefix, name) = target
            .split_once('.')
            .ok_or_else(|| Unreadable(format!("malformed X-Amz-Target {target}")))?;
        let service = match prefix {
            p if p.starts_with("DynamoDB_") => "dynamodb",
            "AWSEvents" => "events",
            "AmazonSQS" => "sqs",
            "AmazonSSM" => "ssm",
            other => return Err(Unreadable(format!("service {other} is not modelled"))),
        };
        return Ok(Operation {
            service,
            name: name.to_owned(),
        });
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["2015-03-31", "functions", _, "invocations"]) => Ok(Operation {
            service: "lambda",
            name: "Invoke".to_owned(),
        }),
        _ => Err(Unreadable(format!(
            "no modelled operation for {method} {path}"
        ))),
    }
}

/// Every access `operation` needs, from its path and JSON body.
pub fn accesses(
    operation: &Operation,
    path: &str,
    body: &Value,
    scope: &Scope,
) -> Result<Vec<Access>, Unreadable> {
    let field = |name: &str| -> Result<&str, Unreadable> {
        body.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Unreadable(format!("{} needs {name}", operation.name)))
    };
    let name = operation.name.as_str();
    let action = |verb: &str| format!("{}:{verb}", operation.service);
    match operation.service {
        "dynamodb" => dynamodb_accesses(name, body, scope, field),
        "events" => {
            if name != "PutEvents" {
                let resource = body
                    .get("Name")
                    .or_else(|| body.get("EventBusName"))
                    .and_then(Value::as_str)
                    .map_or_else(|| "*".to_owned(), |bus| bus_arn(bus, scope));
                return Ok(vec![Access::new(action(name), resource)]);
            }
            let entries = body
                .get("Entries")
                .and_then(Value::as_array)
                .ok_or_else(|| Unreadable("PutEvents needs Entries".to_owned()))?;
            Ok(entries
                .iter()
                .map(|entry| {
                    let bus = entry
                        .get("EventBusName")
                        .and_then(Value::as_str)
                        .unwrap_or("default");
                    let mut access = Access::new(action(name), bus_arn(bus, scope));
                    if let Some(source) = entry.get("Source").and_then(Value::as_str) {
                        access = access.with("events:source", source);
                    }
                    if let Some(detail_type) = entry.get("DetailType").and_then(Value::as_str) {
                        access = access.with("events:detail-type", detail_type);
                    }
                    access
                })
                .collect())
        }
        "sqs" => {
            // A batch is authorized by its single action (ChangeMessageVisibilityBatch ->
            // sqs:ChangeMessageVisibility).
            let verb = name.strip_suffix("Batch").unwrap_or(name);
            let queue = match (body.get("QueueUrl"), body.get("QueueName")) {
                (Some(Value::String(url)), _) => url.rsplit('/').next().unwrap_or(url).to_owned(),
                (_, Some(Value::String(queue))) => queue.clone(),
                _ if name == "ListQueues" => return Ok(vec![Access::new(action(verb), "*")]),
                _ => return Err(Unreadable(format!("{name} needs QueueUrl"))),
            };
            Ok(vec![Access::new(action(verb), scope.arn("sqs", &queue))])
        }
        "ssm" => {
            let names: Vec<String> = match name {
                "GetParameters" | "DeleteParameters" => body
                    .get("Names")
                    .and_then(Value::as_array)
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                "GetParametersByPath" => vec![field("Path")?.to_owned()],
                "DescribeParameters" => return Ok(vec![Access::new(action(name), "*")]),
                _ => vec![field("Name")?.to_owned()],
            };
            Ok(names
                .iter()
                .map(|parameter| Access::new(action(name), scope.parameter_arn(parameter)))
                .collect())
        }
        "lambda" => {
            let function = path
                .trim_matches('/')
                .split('/')
                .nth(2)
                .ok_or_else(|| Unreadable("Invoke needs a function name".to_owned()))?;
            let function = percent_decode(function);
            let arn = if function.starts_with("arn:") {
                function
            } else {
                scope.arn("lambda", &format!("function:{function}"))
            };
            Ok(vec![Access::new("lambda:InvokeFunction", arn)])
        }
        other => Err(Unreadable(format!("service {other} is not modelled"))),
    }
}

fn bus_arn(bus: &str, scope: &Scope) -> String {
    if bus.starts_with("arn:") {
        bus.to_owned()
    } else {
        scope.arn("events", &format!("event-bus/{bus}"))
    }
}

fn table_arn(table: &str, scope: &Scope) -> String {
    if table.starts_with("arn:") {
        table.to_owned()
    } else {
        scope.arn("dynamodb", &format!("table/{table}"))
    }
}

fn dynamodb_accesses<'a>(
    name: &str,
    body: &'a Value,
    scope: &Scope,
    field: impl Fn(&str) -> Result<&'a str, Unreadable>,
) -> Result<Vec<Access>, Unreadable> {
    let action = |verb: &str| format!("dynamodb:{verb}");
    let tables_of = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Value::as_object)
            .map(|items| items.keys().cloned().collect())
            .unwrap_or_default()
    };
    match name {
        "BatchGetItem" | "BatchWriteItem" => Ok(tables_of("RequestItems")
            .iter()
            .map(|table| Access::new(action(name), table_arn(table, scope)))
            .collect()),
        "TransactWriteItems" | "TransactGetItems" => {
            let items = body
                .get("TransactItems")
                .and_then(Value::as_array)
                .ok_or_else(|| Unreadable(format!("{name} needs TransactItems")))?;
            let mut accesses = Vec::new();
            for item in items {
                let Some((kind, request)) = item.as_object().and_then(|item| item.iter().next())
                else {
                    return Err(Unreadable(format!("{name}: an empty item")));
                };
                let verb = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => return Err(Unreadable(format!("{name}: unknown item {other}"))),
                };
                let table = request
                    .get("TableName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Unreadable(format!("{name}: an item needs TableName")))?;
                accesses.push(Access::new(action(verb), table_arn(table, scope)));
            }
            Ok(accesses)
        }
        "ListTables" => Ok(vec![Access::new(action(name), "*")]),
        _ => {
            let table = table_arn(field("TableName")?, scope);
            let resource = match body.get("IndexName").and_then(Value::as_str) {
                Some(index) if matches!(name, "Query" | "Scan") => format!("{table}/index/{index}"),
                _ => table,
            };
            Ok(vec![Access::new(action(name), resource)])
        }
    }
}

/// `%XX` decoding of one path segment (Lambda function names and ARNs arrive encoded).
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
        }
    }

    fn of(target: &str, body: Value) -> Vec<Access> {
        let operation = operation(Some(target), "POST", "/").unwrap();
        accesses(&operation, "/", &body, &scope()).unwrap()
    }

    #[test]
    fn dynamodb_names_the_table_and_each_transaction_item() {
        let get = of(
            "DynamoDB_20120810.Query",
            json!({"TableName": "t", "IndexName": "i"}),
        );
        assert_eq!(get[0].action, "dynamodb:Query");
        assert_eq!(
            get[0].resource,
            "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/i"
        );
        let transact = of(
            "DynamoDB_20120810.TransactWriteItems",
            json!({"TransactItems": [{"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "u"}}]}),
        );
        let actions: Vec<&str> = transact.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"]);
        assert_eq!(
            transact[1].resource,
            "arn:aws:dynamodb:us-east-1:123456789012:table/u"
        );
    }

    #[test]
    fn put_events_carries_each_entry_bus_and_source() {
        let put = of(
            "AWSEvents.PutEvents",
            json!({"Entries": [{"EventBusName": "b", "Source": "s", "DetailType": "d"}, {"Source": "x"}]}),
        );
        assert_eq!(
            put[0].resource,
            "arn:aws:events:us-east-1:123456789012:event-bus/b"
        );
        assert_eq!(put[0].context["events:source"], "s");
        assert_eq!(
            put[1].resource,
            "arn:aws:events:us-east-1:123456789012:event-bus/default"
        );
    }

    #[test]
    fn sqs_batches_use_the_single_action_and_ssm_names_the_parameter() {
        let change = of(
            "AmazonSQS.ChangeMessageVisibilityBatch",
            json!({"QueueUrl": "http://127.0.0.1:5/123456789012/q"}),
        );
        assert_eq!(change[0].action, "sqs:ChangeMessageVisibility");
        assert_eq!(change[0].resource, "arn:aws:sqs:us-east-1:123456789012:q");
        let get = of(
            "AmazonSSM.GetParameter",
            json!({"Name": "/p/slackBotToken"}),
        );
        assert_eq!(
            get[0].resource,
            "arn:aws:ssm:us-east-1:123456789012:parameter/p/slackBotToken"
        );
    }

    #[test]
    fn lambda_invoke_is_invoke_function_on_the_function() {
        let op = operation(
            None,
            "POST",
            "/2015-03-31/functions/command-handler/invocations",
        )
        .unwrap();
        let access = accesses(
            &op,
            "/2015-03-31/functions/command-handler/invocations",
            &Value::Null,
            &scope(),
        )
        .unwrap();
        assert_eq!(access[0].action, "lambda:InvokeFunction");
        assert_eq!(
            access[0].resource,
            "arn:aws:lambda:us-east-1:123456789012:function:command-handler"
        );
        assert!(operation(None, "GET", "/anything").is_err());
    }
}
