//! `--output envelope`: the whole call as one JSON document, for scripts that want the
//! metadata and the status beside the messages. What the call brings is collected as it
//! comes; the document is written when the call ends.

use serde_json::{Map, Value, json};

/// What an envelope collects as the call goes.
#[derive(Debug)]
pub struct Envelope {
    pub headers: Value,
    pub messages: Vec<Value>,
    pub trailers: Value,
}

impl Default for Envelope {
    fn default() -> Self {
        Envelope {
            headers: Value::Object(Map::new()),
            messages: Vec::new(),
            trailers: Value::Object(Map::new()),
        }
    }
}

impl Envelope {
    /// The document: `call` (method, request metadata, status, elapsed time) in front, then
    /// what the call brought.
    pub fn document(self, call: Map<String, Value>) -> Value {
        let mut document = call;
        document.insert("responseHeaders".to_string(), self.headers);
        document.insert("messages".to_string(), Value::Array(self.messages));
        document.insert("trailers".to_string(), self.trailers);
        Value::Object(document)
    }
}

/// A status as scripts read it: `--format-error` and the envelope's `status`.
pub fn status_json(code: tonic::Code, message: &str, details: &[Value]) -> Value {
    json!({
        "code": code as i32,
        "codeName": crate::status::code_name(code),
        "message": message,
        "details": details,
    })
}
