//! What the fuzz targets share: the schemas they run on, and a comparison of messages that
//! treats NaN as equal to NaN, maps as unordered and `Any` by what it packs.

use std::sync::LazyLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};

/// The demo schema and what grpcx adds to it for a call, built once per process.
pub static DEMO: LazyLock<DescriptorPool> =
    LazyLock::new(|| grpcx::fuzzing::demo_pool().expect("the demo schema builds"));

/// The message with every protobuf type.
pub fn all_types() -> MessageDescriptor {
    DEMO.get_message_by_name("grpcx.demo.v1.AllTypes")
        .expect("the demo schema has AllTypes")
}

/// The request messages the JSON target reads: the every-type message first, then the demo
/// service's messages and the well-known types a request may be.
pub fn request_messages() -> Vec<MessageDescriptor> {
    let mut messages = vec![all_types()];
    messages.extend(
        DEMO.all_messages()
            .filter(|m| m.parent_file().name() == "item_service.proto" && !m.is_map_entry()),
    );
    for name in [
        "google.protobuf.Any",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.FieldMask",
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.rpc.Status",
    ] {
        messages.extend(DEMO.get_message_by_name(name));
    }
    messages
}

/// AllTypes without the fields whose types the fast JSON path leaves to the reference path
/// (Any, Struct, Value, ListValue, FieldMask), in a pool of its own, so that the fast path
/// covers it: the same fields, numbers and nesting otherwise.
pub fn fast_path_all_types() -> MessageDescriptor {
    const UNCOVERED: [&str; 5] = [
        ".google.protobuf.Any",
        ".google.protobuf.Struct",
        ".google.protobuf.Value",
        ".google.protobuf.ListValue",
        ".google.protobuf.FieldMask",
    ];
    let mut files = Vec::new();
    for file in DEMO.files() {
        let mut proto = file.file_descriptor_proto().clone();
        match proto.name() {
            "item_service.proto" => continue,
            "types.proto" => {
                proto.service.clear();
                for message in &mut proto.message_type {
                    message
                        .field
                        .retain(|f| !UNCOVERED.contains(&f.type_name()));
                }
            }
            _ => {}
        }
        files.push(proto);
    }
    let pool = DescriptorPool::from_file_descriptor_set(prost_types::FileDescriptorSet {
        file: files,
    })
    .expect("AllTypes without the uncovered fields builds");
    pool.get_message_by_name("grpcx.demo.v1.AllTypes")
        .expect("it has AllTypes")
}

/// Whether two messages hold the same values: NaN equals NaN, maps are unordered, and an `Any`
/// is compared by the message it packs (its bytes hold maps in hash order).
pub fn same_message(a: &DynamicMessage, b: &DynamicMessage) -> bool {
    if a.descriptor() != b.descriptor() {
        return false;
    }
    match a.descriptor().full_name() {
        "google.protobuf.Any" => return same_any(a, b),
        // A Value with no kind set (the empty message) is JSON's null, as null_value is.
        "google.protobuf.Value" if is_null_value(a) && is_null_value(b) => return true,
        _ => {}
    }
    let (fields_a, fields_b): (Vec<_>, Vec<_>) = (a.fields().collect(), b.fields().collect());
    fields_a.len() == fields_b.len()
        && fields_a
            .iter()
            .zip(&fields_b)
            .all(|((fa, va), (fb, vb))| fa == fb && same_value(va, vb))
        && a.unknown_fields().count() == b.unknown_fields().count()
}

fn is_null_value(value: &DynamicMessage) -> bool {
    value
        .fields()
        .all(|(field, v)| field.name() == "null_value" && v.as_enum_number() == Some(0))
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Value::Message(x), Value::Message(y)) => same_message(x, y),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_value(x, y)))
        }
        _ => a == b,
    }
}

fn same_any(a: &DynamicMessage, b: &DynamicMessage) -> bool {
    let part = |m: &DynamicMessage, name: &str| {
        m.get_field_by_name(name)
            .map(|v| v.into_owned())
            .unwrap_or(Value::Bool(false))
    };
    let (type_a, type_b) = (part(a, "type_url"), part(b, "type_url"));
    let (value_a, value_b) = (part(a, "value"), part(b, "value"));
    if type_a != type_b {
        return false;
    }
    if value_a == value_b {
        return true;
    }
    let packed = type_a
        .as_str()
        .and_then(|url| url.rsplit('/').next())
        .and_then(|name| a.descriptor().parent_pool().get_message_by_name(name));
    match (packed, value_a.as_bytes(), value_b.as_bytes()) {
        (Some(packed), Some(x), Some(y)) => {
            match (
                DynamicMessage::decode(packed.clone(), x.clone()),
                DynamicMessage::decode(packed, y.clone()),
            ) {
                (Ok(x), Ok(y)) => same_message(&x, &y),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Splits a fuzzer's bytes into a reflection answer's files: an encoded FileDescriptorSet
/// (what the seeds are) gives its files; anything else is one file.
pub fn answer_files(data: &[u8]) -> Vec<Vec<u8>> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Files {
        #[prost(bytes = "vec", repeated, tag = "1")]
        file: Vec<Vec<u8>>,
    }
    match Files::decode(data) {
        Ok(files) if !files.file.is_empty() => files.file,
        _ => vec![data.to_vec()],
    }
}

/// Whether a message holds a map with more than one entry anywhere, where the fast path's
/// order (the wire's) and the reference's (a hash map's) may differ.
pub fn has_multi_entry_map(message: &DynamicMessage) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::Message(m) => has_multi_entry_map(m),
            Value::List(items) => items.iter().any(value),
            Value::Map(map) => map.len() > 1 || map.values().any(value),
            _ => false,
        }
    }
    message.fields().any(|(_, v)| value(v))
}

/// Whether JSON text holds an object with a key twice (at any depth), or is not JSON at all.
/// A unary request keeps the last of equal keys (it is read as a `serde_json::Value` first); a
/// stream reads both; so the two may differ there.
pub fn has_duplicate_keys(input: &[u8]) -> bool {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    struct Unique;
    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Unique)
        }
    }
    impl<'de> Visitor<'de> for Unique {
        type Value = Unique;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E: Error>(self) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key) {
                    return Err(A::Error::custom("duplicate key"));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
    }
    serde_json::Deserializer::from_slice(input)
        .into_iter::<Unique>()
        .any(|value| value.is_err())
}
