//! Rich error details: the google.rpc.Status a server sends in grpc-status-details-bin, decoded
//! to JSON through the schema (server types) and the types grpcx ships (google.rpc ones).

use base64::Engine as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Map, Value, json};

/// The details of `status`, one JSON value each (`@type` first); empty when there are none.
/// A detail whose type neither the schema nor grpcx knows is shown as its type and base64.
pub fn decode(status: &tonic::Status, pool: &DescriptorPool) -> Vec<Value> {
    let bytes = status.details();
    if bytes.is_empty() {
        return Vec::new();
    }
    let Ok(decoded) = RpcStatus::decode(bytes) else {
        return vec![
            json!({ "undecodable": base64::engine::general_purpose::STANDARD.encode(bytes) }),
        ];
    };
    let mut pool = pool.clone();
    super::builtin::add_missing(&mut pool, true);
    // grpcx's own types alone, for a schema they could not join: a server whose well-known
    // types live in other files than google/protobuf/*.proto (@grpc/reflection serves them all
    // in one `google_protobuf.proto`) clashes with google/protobuf/any.proto, which
    // google/rpc/status.proto imports, so the google.rpc types stay out of its pool.
    let mut shipped = DescriptorPool::new();
    super::builtin::add_missing(&mut shipped, true);
    decoded
        .details
        .iter()
        .map(|any| detail(any, &pool, &shipped))
        .collect()
}

/// google.rpc.Status, as far as the details need it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

fn detail(any: &prost_types::Any, pool: &DescriptorPool, shipped: &DescriptorPool) -> Value {
    let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
    let mut object = Map::new();
    object.insert("@type".to_string(), json!(any.type_url));
    let decoded = pool
        .get_message_by_name(type_name)
        .or_else(|| shipped.get_message_by_name(type_name))
        .and_then(|descriptor| DynamicMessage::decode(descriptor, any.value.as_slice()).ok())
        .and_then(|message| {
            message
                .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
                .ok()
        });
    match decoded {
        Some(Value::Object(fields)) => object.extend(fields),
        // Well-known types have a JSON form that is not an object.
        Some(other) => {
            object.insert("value".to_string(), other);
        }
        None => {
            object.insert(
                "value".to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(&any.value)),
            );
        }
    }
    Value::Object(object)
}
