//! Metadata as a person or a script reads it: `key: value` lines for `-v`, a JSON object for
//! the envelope. Binary values are shown in base64, hidden ones as `<redacted>`.

use serde_json::{Map, Value};
use tonic::metadata::{KeyAndValueRef, MetadataMap};

use super::Verbosity;
use crate::transport::metadata::encode_base64;
use crate::transport::{Header, HeaderValue};

/// What a hidden value is shown as.
const REDACTED: &str = "<redacted>";

/// Received metadata as `(key, value)` text, in order.
pub fn received(map: &MetadataMap, verbosity: &Verbosity) -> Vec<(String, String)> {
    map.iter()
        .map(|entry| {
            let (key, value) = match entry {
                KeyAndValueRef::Ascii(key, value) => (
                    key.as_str().to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
                KeyAndValueRef::Binary(key, value) => (
                    key.as_str().to_string(),
                    value
                        .to_bytes()
                        .map(|bytes| encode_base64(&bytes))
                        .unwrap_or_else(|_| "<invalid base64>".to_string()),
                ),
            };
            let value = if verbosity.shows(&key) {
                value
            } else {
                REDACTED.to_string()
            };
            (key, value)
        })
        .collect()
}

/// Sent metadata as `(key, value)` text, as `received` shows received metadata.
pub fn sent(headers: &[Header], verbosity: &Verbosity) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|header| {
            let value = if !verbosity.shows(&header.name) {
                REDACTED.to_string()
            } else {
                match &header.value {
                    HeaderValue::Text(text) => text.clone(),
                    HeaderValue::Binary(bytes) => encode_base64(bytes),
                }
            };
            (header.name.clone(), value)
        })
        .collect()
}

/// Metadata entries as a JSON object: a key's value, or its values when it repeats.
pub fn json(entries: Vec<(String, String)>) -> Value {
    let mut object = Map::new();
    for (key, value) in entries {
        match object.get_mut(&key) {
            None => {
                object.insert(key, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => {
                let first = first.take();
                object.insert(key, Value::Array(vec![first, Value::String(value)]));
            }
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_become_lists_and_secrets_stay_hidden() {
        let verbosity = Verbosity {
            level: 1,
            redacted: vec!["authorization".to_string()],
        };
        let headers: Vec<Header> = [
            "x-a: 1",
            "x-a: 2",
            "authorization: Bearer s3cret",
            "x-b-bin: AQI",
        ]
        .iter()
        .map(|h| h.parse().unwrap())
        .collect();
        assert_eq!(
            json(sent(&headers, &verbosity)),
            serde_json::json!({"x-a": ["1", "2"], "authorization": "<redacted>", "x-b-bin": "AQI"})
        );
    }
}
