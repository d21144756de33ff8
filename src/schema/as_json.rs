//! A schema's elements as JSON documents, for scripts (`list -o json`, `describe -o json`):
//! names, kinds, types, numbers, comments and options, in the same camelCase as the protobuf
//! JSON mapping. Options are printed as the pool decodes them, custom options included when the
//! schema defines them.

use prost_reflect::{
    DynamicMessage, EnumDescriptor, EnumValueDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, OneofDescriptor, SerializeOptions, ServiceDescriptor,
};
use serde_json::{Map, Value, json};

use super::Symbol;

/// Any symbol as a JSON document, with a `kind` saying what it is.
pub fn symbol(symbol: &Symbol) -> Value {
    match symbol {
        Symbol::Service(service) => self::service(service),
        Symbol::Method(method) => self::method(method),
        Symbol::Message(message) => self::message(message),
        Symbol::Field(field) => self::field(field),
        Symbol::Oneof(oneof) => self::oneof(oneof),
        Symbol::Enum(enumeration) => self::enumeration(enumeration),
        Symbol::EnumValue(value) => enum_value(value),
    }
}

pub fn service(service: &ServiceDescriptor) -> Value {
    document(
        "service",
        service.full_name(),
        service.parent_file().name(),
        [
            ("name", json!(service.name())),
            (
                "methods",
                Value::Array(service.methods().map(|m| method(&m)).collect()),
            ),
        ],
        options(service.options()),
    )
}

pub fn method(method: &MethodDescriptor) -> Value {
    document(
        "method",
        method.full_name(),
        method.parent_file().name(),
        [
            ("name", json!(method.name())),
            ("service", json!(method.parent_service().full_name())),
            ("rpcKind", json!(rpc_kind(method))),
            ("clientStreaming", json!(method.is_client_streaming())),
            ("serverStreaming", json!(method.is_server_streaming())),
            ("requestType", json!(method.input().full_name())),
            ("responseType", json!(method.output().full_name())),
        ],
        options(method.options()),
    )
}

/// The kind of RPC in one word.
fn rpc_kind(method: &MethodDescriptor) -> &'static str {
    match (method.is_client_streaming(), method.is_server_streaming()) {
        (false, false) => "unary",
        (false, true) => "server_streaming",
        (true, false) => "client_streaming",
        (true, true) => "bidi_streaming",
    }
}

pub fn message(message: &MessageDescriptor) -> Value {
    document(
        "message",
        message.full_name(),
        message.parent_file().name(),
        [
            ("name", json!(message.name())),
            (
                "fields",
                Value::Array(message.fields().map(|f| field(&f)).collect()),
            ),
            (
                "oneofs",
                Value::Array(
                    message
                        .oneofs()
                        .filter(|o| !o.is_synthetic())
                        .map(|o| oneof(&o))
                        .collect(),
                ),
            ),
            (
                "nestedMessages",
                Value::Array(
                    message
                        .child_messages()
                        .filter(|m| !m.is_map_entry())
                        .map(|m| json!(m.full_name()))
                        .collect(),
                ),
            ),
            (
                "nestedEnums",
                Value::Array(
                    message
                        .child_enums()
                        .map(|e| json!(e.full_name()))
                        .collect(),
                ),
            ),
        ],
        options(message.options()),
    )
}

/// How many values a field holds, in one word: map, repeated, optional (it has presence) or
/// singular.
pub fn cardinality(field: &FieldDescriptor) -> &'static str {
    if field.is_map() {
        "map"
    } else if field.is_list() {
        "repeated"
    } else if field.supports_presence() {
        "optional"
    } else {
        "singular"
    }
}

pub fn field(field: &FieldDescriptor) -> Value {
    let cardinality = cardinality(field);
    let mut entries = vec![
        ("name", json!(field.name())),
        ("jsonName", json!(field.json_name())),
        ("number", json!(field.number())),
        ("cardinality", json!(cardinality)),
        ("type", type_json(&field.kind())),
    ];
    if let (true, Kind::Message(entry)) = (field.is_map(), field.kind()) {
        entries.push(("keyType", type_json(&entry.map_entry_key_field().kind())));
        entries.push((
            "valueType",
            type_json(&entry.map_entry_value_field().kind()),
        ));
    }
    if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
        entries.push(("oneof", json!(oneof.name())));
    }
    document(
        "field",
        field.full_name(),
        field.parent_file().name(),
        entries,
        options(field.options()),
    )
}

pub fn oneof(oneof: &OneofDescriptor) -> Value {
    document(
        "oneof",
        oneof.full_name(),
        oneof.parent_message().parent_file().name(),
        [
            ("name", json!(oneof.name())),
            (
                "fields",
                Value::Array(oneof.fields().map(|f| json!(f.name())).collect()),
            ),
        ],
        options(oneof.options()),
    )
}

pub fn enumeration(enumeration: &EnumDescriptor) -> Value {
    document(
        "enum",
        enumeration.full_name(),
        enumeration.parent_file().name(),
        [
            ("name", json!(enumeration.name())),
            (
                "values",
                Value::Array(enumeration.values().map(|v| enum_value(&v)).collect()),
            ),
        ],
        options(enumeration.options()),
    )
}

pub fn enum_value(value: &EnumValueDescriptor) -> Value {
    document(
        "enumValue",
        value.full_name(),
        value.parent_enum().parent_file().name(),
        [
            ("name", json!(value.name())),
            ("number", json!(value.number())),
        ],
        options(value.options()),
    )
}

/// A field's type: a scalar's name, or the full name of a message or an enum.
fn type_json(kind: &Kind) -> Value {
    match kind {
        Kind::Message(message) => json!({"message": message.full_name()}),
        Kind::Enum(enumeration) => json!({"enum": enumeration.full_name()}),
        scalar => json!(format!("{scalar:?}").to_ascii_lowercase()),
    }
}

/// An element's options as JSON, when it has any.
fn options(options: DynamicMessage) -> Option<Value> {
    let json = options
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new().stringify_64_bit_integers(true),
        )
        .ok()?;
    json.as_object()
        .is_some_and(|o| !o.is_empty())
        .then_some(json)
}

/// An element: its kind and full name first, then `entries`, its file and its options.
fn document(
    kind: &str,
    full_name: &str,
    file: &str,
    entries: impl IntoIterator<Item = (&'static str, Value)>,
    options: Option<Value>,
) -> Value {
    let mut object = Map::new();
    object.insert("kind".into(), json!(kind));
    object.insert("fullName".into(), json!(full_name));
    for (key, value) in entries {
        object.insert(key.into(), value);
    }
    object.insert("file".into(), json!(file));
    if let Some(options) = options {
        object.insert("options".into(), options);
    }
    Value::Object(object)
}
