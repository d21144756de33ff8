//! `describe --template`: a JSON skeleton of a message with every field present, which `call`
//! accepts as it is.
//!
//! Nested messages are filled in, repeated fields hold one element, maps one key, enums their
//! first value, well-known types their JSON form. Only the first member of each oneof is
//! present (two would be an invalid request), and a message already being filled in higher up
//! is left empty, so recursive messages end. An `Any` packs an empty message of a type the
//! schema has.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::well_known::WellKnown;

/// The skeleton of `message`.
pub fn template(message: &MessageDescriptor) -> Value {
    fill(message, &mut Vec::new())
}

fn fill(message: &MessageDescriptor, path: &mut Vec<String>) -> Value {
    if message.full_name() == "google.protobuf.Any" {
        // An Any must name its type, and the type must be in the schema: Empty when it is
        // there, else the message the template is for.
        // (Empty has a JSON form of its own, which an Any holds under "value".)
        let pool = message.parent_pool();
        return match pool.get_message_by_name("google.protobuf.Empty") {
            Some(empty) => json!({
                "@type": format!("type.googleapis.com/{}", empty.full_name()),
                "value": {}
            }),
            None => json!({
                "@type": format!("type.googleapis.com/{}", path.first().cloned().unwrap_or_default())
            }),
        };
    }
    if let Some(zero) = WellKnown::of(message.full_name()).and_then(WellKnown::zero_json) {
        return zero;
    }
    if path.iter().any(|name| name == message.full_name()) {
        return Value::Object(Map::new());
    }
    path.push(message.full_name().to_string());
    let mut object = Map::new();
    for field in message.fields() {
        if let Some(oneof) = field.containing_oneof()
            && !oneof.is_synthetic()
            && oneof
                .fields()
                .next()
                .is_some_and(|first| first.number() != field.number())
        {
            continue;
        }
        object.insert(field.json_name().to_string(), field_value(&field, path));
    }
    path.pop();
    Value::Object(object)
}

fn field_value(field: &FieldDescriptor, path: &mut Vec<String>) -> Value {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return Value::Object(Map::new());
        };
        let key = match single(&entry.map_entry_key_field().kind(), path) {
            Value::String(text) => text,
            other => other.to_string(),
        };
        let value = single(&entry.map_entry_value_field().kind(), path);
        return json!({ key: value });
    }
    let value = single(&field.kind(), path);
    if field.is_list() {
        Value::Array(vec![value])
    } else {
        value
    }
}

fn single(kind: &Kind, path: &mut Vec<String>) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!(0.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => json!(0),
        // 64-bit integers are strings in protobuf JSON.
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => json!("0"),
        Kind::Bool => json!(false),
        Kind::String | Kind::Bytes => json!(""),
        Kind::Enum(enumeration) if enumeration.full_name() == "google.protobuf.NullValue" => {
            Value::Null
        }
        Kind::Enum(enumeration) => enumeration
            .values()
            .next()
            .map(|value| json!(value.name()))
            .unwrap_or(json!(0)),
        Kind::Message(message) => fill(message, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::{DescriptorPool, DynamicMessage};

    fn pool(source: &str) -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.proto"), source).unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.include_imports(true);
        compiler.open_file("t.proto").unwrap();
        compiler.descriptor_pool()
    }

    const SCHEMA: &str = r#"
        syntax = "proto3";
        package t;
        import "google/protobuf/timestamp.proto";
        import "google/protobuf/duration.proto";
        import "google/protobuf/struct.proto";
        import "google/protobuf/wrappers.proto";
        import "google/protobuf/field_mask.proto";
        import "google/protobuf/any.proto";
        import "google/protobuf/empty.proto";
        enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
        message Node {
          string name = 1;
          repeated Node children = 2;
          Node parent = 3;
          map<int64, Node> by_id = 4;
          oneof choice { int32 a = 5; string b = 6; }
          optional bool flag = 7;
          bytes data = 8;
          Color color = 9;
          uint64 big = 10;
          google.protobuf.Timestamp at = 11;
          google.protobuf.Duration took = 12;
          google.protobuf.Struct meta = 13;
          google.protobuf.Value any_value = 14;
          google.protobuf.Int64Value wrapped = 15;
          google.protobuf.FieldMask mask = 16;
          google.protobuf.Any packed = 17;
          google.protobuf.Empty nothing = 18;
          google.protobuf.ListValue list = 19;
          map<string, Color> colors = 20;
        }
    "#;

    #[test]
    fn every_field_once_recursion_ends_and_the_result_is_a_valid_message() {
        let pool = pool(SCHEMA);
        let node = pool.get_message_by_name("t.Node").unwrap();
        let value = template(&node);
        assert_eq!(value["name"], "");
        assert_eq!(
            value["children"],
            json!([{}]),
            "recursion stops at the first repeat"
        );
        assert_eq!(value["parent"], json!({}));
        assert_eq!(
            value["byId"],
            json!({"0": {}}),
            "map keys are strings in JSON"
        );
        assert_eq!(value["colors"], json!({"": "COLOR_UNSPECIFIED"}));
        assert_eq!(value["anyValue"], Value::Null);
        assert_eq!(value["wrapped"], "0");
        assert_eq!(value["took"], "0s");
        assert_eq!(
            value["packed"],
            json!({"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}})
        );
        assert!(
            value.get("a").is_some() && value.get("b").is_none(),
            "one oneof member"
        );
        assert_eq!(value["big"], "0");
        assert_eq!(value["at"], "1970-01-01T00:00:00Z");
        let parsed = DynamicMessage::deserialize(node, value).unwrap();
        assert!(parsed.has_field_by_name("at"));
    }
}
