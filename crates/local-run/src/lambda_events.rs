//! The event JSON AWS hands a Lambda function, built exactly as the services do: the scheduled
//! rule's event, an SQS event source mapping's batch, API Gateway's REST proxy event (and its
//! response, turned back into HTTP).

use std::collections::BTreeMap;

use aws_sdk_sqs::types::Message;
use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::names::Function;

/// The account in every ARN the harness makes up (moto's).
pub const ACCOUNT_ID: &str = aws_local::MOTO_ACCOUNT_ID;
/// The region of everything.
pub const REGION: &str = aws_local::LOCAL_REGION;

/// The event a scheduled EventBridge rule (`rate(...)`) delivers to its Lambda target.
pub fn scheduled_event(rule_name: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}")],
        "detail": {}
    })
}

/// The ARN of a queue from its URL (`http://host/<account>/<name>`).
pub fn queue_arn(queue_url: &str) -> String {
    let name = queue_url.rsplit('/').next().unwrap_or(queue_url);
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}")
}

/// The function's ARN.
pub fn function_arn(function: Function) -> String {
    function_arn_for_name(function.binary_name())
}

/// The ARN Lambda names in a "function not found" error for `name`.
pub fn function_arn_for_name(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
    }
}

/// The `SqsEvent` an event source mapping hands the function for `messages`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: Map<String, Value> = message
                .attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), json!(value)))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = message
                .message_attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.clone(),
                                json!({
                                    "stringValue": value.string_value(),
                                    "binaryValue": value.binary_value().map(|blob| {
                                        base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
                                    }),
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                    "dataType": value.data_type(),
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What API Gateway saw of one HTTP request.
#[derive(Debug, Clone)]
pub struct HttpRequestSeen {
    /// `POST`.
    pub method: String,
    /// The resource path without the stage, e.g. `/slack/events`.
    pub path: String,
    /// Headers in arrival order (names as sent).
    pub headers: Vec<(String, String)>,
    /// Query string parameters.
    pub query: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The caller's address.
    pub source_ip: String,
}

/// The REST API's Lambda proxy event for `request` on stage `prod`. A body that is not UTF-8
/// is base64-encoded with `isBase64Encoded`, as API Gateway does for binary media.
pub fn api_gateway_proxy_event(request: &HttpRequestSeen, request_id: &str) -> Value {
    let mut headers = Map::new();
    let mut multi_value_headers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, value) in &request.headers {
        // API Gateway keeps the last value in `headers` and every value in `multiValueHeaders`.
        headers.insert(name.clone(), json!(value));
        multi_value_headers
            .entry(name.clone())
            .or_default()
            .push(json!(value));
    }
    let (query, multi_query) = if request.query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let mut single = Map::new();
        let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (name, value) in &request.query {
            single.insert(name.clone(), json!(value));
            multi.entry(name.clone()).or_default().push(json!(value));
        }
        (Value::Object(single), json!(multi))
    };
    let user_agent = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
        .map(|(_, value)| value.clone());
    let (body, is_base64_encoded) = match std::str::from_utf8(&request.body) {
        Ok(text) => (json!(text), false),
        Err(_) => (
            json!(base64::engine::general_purpose::STANDARD.encode(&request.body)),
            true,
        ),
    };
    let now = Utc::now();
    json!({
        "resource": request.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourceId": "local1",
            "resourcePath": request.path,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "path": format!("/prod{}", request.path),
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "local",
            "requestTimeEpoch": now.timestamp_millis(),
            "requestId": request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "domainName": "local.execute-api.us-east-1.amazonaws.com",
            "apiId": "local"
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    })
}

/// An HTTP response read from a Lambda proxy response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    /// The status code.
    pub status: u16,
    /// Headers (single- and multi-value ones merged).
    pub headers: Vec<(String, String)>,
    /// The body bytes (decoded when `isBase64Encoded`).
    pub body: Vec<u8>,
}

/// Reads a function's proxy response; `None` when it is not one (API Gateway answers 502 then).
pub fn read_proxy_response(response: &Value) -> Option<ProxyResponse> {
    let status = u16::try_from(response.get("statusCode")?.as_i64()?).ok()?;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(single) = response.get("headers").and_then(Value::as_object) {
        for (name, value) in single {
            if let Some(value) = value.as_str() {
                headers.push((name.clone(), value.to_owned()));
            }
        }
    }
    if let Some(multi) = response.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for value in values.as_array().into_iter().flatten() {
                if let Some(value) = value.as_str()
                    && !headers
                        .iter()
                        .any(|(known, same)| known.eq_ignore_ascii_case(name) && same == value)
                {
                    headers.push((name.clone(), value.to_owned()));
                }
            }
        }
    }
    let text = response.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if response
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?
    } else {
        text.as_bytes().to_vec()
    };
    Some(ProxyResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::apigw::ApiGatewayProxyRequest;
    use aws_lambda_events::sqs::SqsEvent;
    use aws_sdk_sqs::types::MessageSystemAttributeName;

    use super::*;

    #[test]
    fn the_proxy_event_deserialises_as_api_gateway_sends_it() {
        let seen = HttpRequestSeen {
            method: "POST".into(),
            path: "/slack/events".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-slack-signature".into(), "v0=abc".into()),
            ],
            query: Vec::new(),
            body: br#"{"type":"url_verification"}"#.to_vec(),
            source_ip: "127.0.0.1".into(),
        };
        let event = api_gateway_proxy_event(&seen, "req-1");
        let parsed: ApiGatewayProxyRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(parsed.path.as_deref(), Some("/slack/events"));
        assert_eq!(parsed.headers["x-slack-signature"], "v0=abc");
        assert_eq!(
            parsed.body.as_deref(),
            Some(r#"{"type":"url_verification"}"#)
        );
        assert!(!parsed.is_base64_encoded);
        assert_eq!(event["requestContext"]["stage"], "prod");

        let binary = HttpRequestSeen {
            body: vec![0xff, 0xfe],
            ..seen
        };
        let event = api_gateway_proxy_event(&binary, "req-2");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "//4=");
    }

    #[test]
    fn the_sqs_event_deserialises_with_attributes() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("r-1")
            .body("{}")
            .md5_of_body("99914b932bd37a50b983c5e7c90ae93b")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .build();
        let event = sqs_event(&[message], "arn:aws:sqs:us-east-1:123456789012:q");
        let parsed: SqsEvent = serde_json::from_value(event).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
    }

    #[test]
    fn proxy_responses_read_back_with_base64_and_multi_value_headers() {
        let response = json!({
            "statusCode": 200,
            "headers": {},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "body": "eyJvayI6dHJ1ZX0=",
            "isBase64Encoded": true,
        });
        let read = read_proxy_response(&response).unwrap();
        assert_eq!(read.status, 200);
        assert_eq!(read.body, br#"{"ok":true}"#);
        assert_eq!(
            read.headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        assert!(read_proxy_response(&json!({"oops": 1})).is_none());
    }

    #[test]
    fn scheduled_events_name_their_rule() {
        let event = scheduled_event("sirslack-reconcile");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(
            event["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/sirslack-reconcile"
        );
    }
}
