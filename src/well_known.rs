//! The well-known types that the protobuf JSON mapping writes in a form of their own, in one
//! table: the JSON template, the wording of input errors and the fast output path each read
//! it, so that a type is never special in one place and plain in another. A leaf: it depends
//! on nothing of grpcx.

use serde_json::{Value, json};

/// A well-known type with a JSON form of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellKnown {
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    Empty,
    Any,
    /// A wrapper (`google.protobuf.Int64Value` …): written as the value it wraps.
    Wrapper(Wrapped),
}

/// The value a wrapper holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapped {
    Double,
    Float,
    Int64,
    UInt64,
    Int32,
    UInt32,
    Bool,
    String,
    Bytes,
}

impl WellKnown {
    /// The well-known type of this full message name, if it is one.
    pub fn of(full_name: &str) -> Option<WellKnown> {
        Some(match full_name {
            "google.protobuf.Timestamp" => WellKnown::Timestamp,
            "google.protobuf.Duration" => WellKnown::Duration,
            "google.protobuf.FieldMask" => WellKnown::FieldMask,
            "google.protobuf.Struct" => WellKnown::Struct,
            "google.protobuf.Value" => WellKnown::Value,
            "google.protobuf.ListValue" => WellKnown::ListValue,
            "google.protobuf.Empty" => WellKnown::Empty,
            "google.protobuf.Any" => WellKnown::Any,
            "google.protobuf.DoubleValue" => WellKnown::Wrapper(Wrapped::Double),
            "google.protobuf.FloatValue" => WellKnown::Wrapper(Wrapped::Float),
            "google.protobuf.Int64Value" => WellKnown::Wrapper(Wrapped::Int64),
            "google.protobuf.UInt64Value" => WellKnown::Wrapper(Wrapped::UInt64),
            "google.protobuf.Int32Value" => WellKnown::Wrapper(Wrapped::Int32),
            "google.protobuf.UInt32Value" => WellKnown::Wrapper(Wrapped::UInt32),
            "google.protobuf.BoolValue" => WellKnown::Wrapper(Wrapped::Bool),
            "google.protobuf.StringValue" => WellKnown::Wrapper(Wrapped::String),
            "google.protobuf.BytesValue" => WellKnown::Wrapper(Wrapped::Bytes),
            _ => return None,
        })
    }

    /// The JSON form of the type's zero value, as a template shows it; none for an `Any`,
    /// whose zero names no type (a template fills one in).
    pub fn zero_json(self) -> Option<Value> {
        Some(match self {
            WellKnown::Timestamp => json!("1970-01-01T00:00:00Z"),
            WellKnown::Duration => json!("0s"),
            WellKnown::FieldMask => json!(""),
            WellKnown::Struct | WellKnown::Empty => json!({}),
            WellKnown::Value => Value::Null,
            WellKnown::ListValue => json!([]),
            WellKnown::Any => return None,
            WellKnown::Wrapper(Wrapped::Double | Wrapped::Float) => json!(0.0),
            WellKnown::Wrapper(Wrapped::Int32 | Wrapped::UInt32) => json!(0),
            WellKnown::Wrapper(Wrapped::Int64 | Wrapped::UInt64) => json!("0"),
            WellKnown::Wrapper(Wrapped::Bool) => json!(false),
            WellKnown::Wrapper(Wrapped::String | Wrapped::Bytes) => json!(""),
        })
    }

    /// What a JSON value of the type looks like, for an error about one that does not fit.
    pub fn expected(self) -> &'static str {
        match self {
            WellKnown::Timestamp => "an RFC 3339 timestamp such as \"2026-01-01T00:00:00Z\"",
            WellKnown::Duration => "a duration such as \"1.5s\"",
            WellKnown::FieldMask => "field paths such as \"name,price.units\"",
            WellKnown::Struct => "a JSON object",
            WellKnown::Value => "any JSON value",
            WellKnown::ListValue => "a JSON list",
            WellKnown::Empty => "an empty JSON object",
            WellKnown::Any => "an object with \"@type\" naming a message type the schema has",
            WellKnown::Wrapper(_) => "the wrapped value itself, or null",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_in_the_table_reads_back() {
        for name in [
            "Timestamp",
            "Duration",
            "FieldMask",
            "Struct",
            "Value",
            "ListValue",
            "Empty",
            "Any",
            "DoubleValue",
            "FloatValue",
            "Int64Value",
            "UInt64Value",
            "Int32Value",
            "UInt32Value",
            "BoolValue",
            "StringValue",
            "BytesValue",
        ] {
            assert!(
                WellKnown::of(&format!("google.protobuf.{name}")).is_some(),
                "{name}"
            );
        }
        assert_eq!(WellKnown::of("google.protobuf.NullValue"), None, "an enum");
        assert_eq!(WellKnown::of("acme.Timestamp"), None);
    }
}
