//! Web API arguments, read the way Slack reads them: from the query string and from a JSON,
//! form-encoded or multipart body, with the body winning over the query.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::multipart;

/// Why a request's arguments could not be read, as Slack's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamsError {
    Json,
    FormData,
    PostType,
}

impl ParamsError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Json => "invalid_json",
            Self::FormData => "invalid_form_data",
            Self::PostType => "invalid_post_type",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    values: Map<String, Value>,
}

impl Params {
    pub(crate) fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &Bytes,
    ) -> Result<Self, ParamsError> {
        let mut values = Map::new();
        if let Some(query) = query {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).map_err(|_| ParamsError::FormData)?;
            values.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { values });
        }
        let mime = content_type
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match mime.as_str() {
            "application/json" => {
                let Value::Object(object) =
                    serde_json::from_slice(body).map_err(|_| ParamsError::Json)?
                else {
                    return Err(ParamsError::Json);
                };
                values.extend(object);
            }
            "application/x-www-form-urlencoded" | "" => {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).map_err(|_| ParamsError::FormData)?;
                values.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
            }
            "multipart/form-data" => {
                let boundary = content_type
                    .and_then(multipart::boundary)
                    .ok_or(ParamsError::FormData)?;
                let parts = multipart::parse(body, &boundary).map_err(|_| ParamsError::FormData)?;
                for part in parts {
                    if let Some(name) = part.name {
                        let text = String::from_utf8_lossy(&part.data).into_owned();
                        values.insert(name, Value::String(text));
                    }
                }
            }
            _ => return Err(ParamsError::PostType),
        }
        Ok(Self { values })
    }

    pub(crate) fn from_pairs<const N: usize>(pairs: [(&str, String); N]) -> Self {
        let values = pairs
            .into_iter()
            .map(|(key, value)| (key.to_string(), Value::String(value)))
            .collect();
        Self { values }
    }

    #[cfg(test)]
    pub(crate) fn from_json(value: Value) -> Self {
        match value {
            Value::Object(values) => Self { values },
            _ => Self::default(),
        }
    }

    /// The `token` argument (the Authorization header is preferred by the caller).
    pub(crate) fn token(&self) -> Option<String> {
        self.string("token")
    }

    /// Everything except the token, for the call record.
    pub(crate) fn recorded(&self) -> Value {
        let mut values = self.values.clone();
        values.remove("token");
        Value::Object(values)
    }

    /// A scalar argument as text; JSON numbers and booleans are accepted like Slack does.
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }

    /// Like [`Params::string`] but treats an empty value as absent.
    pub(crate) fn non_empty(&self, key: &str) -> Option<String> {
        self.string(key).filter(|text| !text.is_empty())
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.values.get(key) {
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) => matches!(text.as_str(), "true" | "1"),
            Some(Value::Number(number)) => number.as_u64() == Some(1),
            _ => false,
        }
    }

    pub(crate) fn unsigned(&self, key: &str) -> Option<u64> {
        match self.values.get(key)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A structured argument (`blocks`, `files`): a JSON value in a JSON body, a JSON string in
    /// a form. `Ok(None)` when absent or empty, `Err` when the string is not JSON.
    pub(crate) fn json(&self, key: &str) -> Result<Option<Value>, ()> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => serde_json::from_str(text).map(Some).map_err(|_| ()),
            Some(other) => Ok(Some(other.clone())),
        }
    }

    /// A list argument (`users`, `channels`): a comma-separated string or a JSON array.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        match self.values.get(key) {
            Some(Value::String(text)) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(text.trim().to_string()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                })
                .filter(|item| !item.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_body_overrides_query_and_lists_split_on_commas() {
        let body = Bytes::from_static(b"channel=C2&users=U1%2C+U2&is_private=true");
        let params = Params::parse(
            Some("channel=C1&limit=5"),
            Some("application/x-www-form-urlencoded"),
            &body,
        )
        .expect("parses");
        assert_eq!(params.string("channel").as_deref(), Some("C2"));
        assert_eq!(params.unsigned("limit"), Some(5));
        assert_eq!(params.list("users"), vec!["U1", "U2"]);
        assert!(params.flag("is_private"));
    }

    #[test]
    fn json_body_keeps_arrays_and_objects() {
        let body = Bytes::from(
            json!({"channel":"C1","users":["U1","U2"],"blocks":[{"type":"divider"}]}).to_string(),
        );
        let params =
            Params::parse(None, Some("application/json; charset=utf-8"), &body).expect("parses");
        assert_eq!(params.list("users"), vec!["U1", "U2"]);
        assert_eq!(
            params.json("blocks").expect("valid"),
            Some(json!([{"type":"divider"}]))
        );
    }

    #[test]
    fn a_json_string_argument_is_decoded() {
        let params = Params::from_json(json!({"files": "[{\"id\":\"F1\"}]", "bad": "[{"}));
        assert_eq!(
            params.json("files").expect("valid"),
            Some(json!([{"id":"F1"}]))
        );
        assert!(params.json("bad").is_err());
    }

    #[test]
    fn broken_bodies_get_slack_error_codes() {
        let body = Bytes::from_static(b"{not json");
        assert_eq!(
            Params::parse(None, Some("application/json"), &body).unwrap_err(),
            ParamsError::Json
        );
        assert_eq!(
            Params::parse(None, Some("image/png"), &body).unwrap_err(),
            ParamsError::PostType
        );
    }

    #[test]
    fn the_token_is_left_out_of_the_record() {
        let params = Params::from_json(json!({"token":"xoxb-secret","channel":"C1"}));
        assert_eq!(params.token().as_deref(), Some("xoxb-secret"));
        assert_eq!(params.recorded(), json!({"channel":"C1"}));
    }
}
