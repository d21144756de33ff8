//! The plan: for each message type reachable from the request type, its fields by every name
//! JSON may give them (the JSON name first, then the .proto name, as prost-reflect looks them
//! up), how each is encoded, and for each enum its numbers by name. Built once per request
//! type; `None` when the type itself needs the reference path.

use std::collections::HashMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::well_known::{WellKnown, Wrapped};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    /// An index into the plan's enums.
    Enum(usize),
}

impl Scalar {
    /// The wire type of one value.
    pub(super) fn wire_type(self) -> u8 {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => 1,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => 5,
            Scalar::String | Scalar::Bytes => 2,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    Scalar(Scalar),
    /// An index into the plan's messages.
    Message(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// One value; `presence`: written even when it is the default value.
    Single {
        presence: bool,
    },
    List {
        packed: bool,
    },
    /// A map: the kind of its keys (the value kind is the field's), and whether the entry's
    /// key and value are written even when they are their default (proto2 entries are).
    Map {
        key: Scalar,
        key_presence: bool,
        value_presence: bool,
    },
}

#[derive(Debug)]
pub(super) struct FieldPlan {
    pub(super) number: u32,
    pub(super) value: ValueKind,
    pub(super) shape: Shape,
    pub(super) oneof: Option<usize>,
    /// `null` is a value of this field's type (google.protobuf.Value, NullValue), not "unset".
    pub(super) null_is_a_value: bool,
    /// The number of the enum value that is the default of this field (of a map's value).
    pub(super) default_enum: i32,
}

/// How a message type is read from JSON.
#[derive(Debug)]
pub(super) enum MessageKind {
    /// An object of fields.
    Plain,
    /// A wrapper (`google.protobuf.Int32Value` …): the JSON value it wraps.
    Wrapper(Scalar),
    /// `google.protobuf.Empty`: `{}`.
    Empty,
    /// `google.protobuf.Timestamp`: an RFC 3339 string.
    Timestamp,
    /// `google.protobuf.Duration`: a string of seconds, `"1.5s"`.
    Duration,
    /// A well-known type with a JSON form of its own that this path leaves to prost-reflect
    /// (FieldMask, Struct, Value, ListValue, Any): read by it from its JSON text, then encoded.
    Delegated(MessageDescriptor),
}

#[derive(Debug)]
pub(super) struct MessagePlan {
    pub(super) kind: MessageKind,
    pub(super) fields: Vec<FieldPlan>,
    pub(super) names: Names,
    pub(super) oneofs: usize,
}

/// A message's fields by the names JSON may give them.
#[derive(Debug, Default)]
pub(super) struct Names {
    /// For few fields a scan is quicker than hashing.
    few: Vec<(Box<[u8]>, usize)>,
    many: HashMap<Box<[u8]>, usize>,
}

/// Below this many names, a scan.
const FEW: usize = 16;

impl Names {
    fn new(names: Vec<(Box<[u8]>, usize)>) -> Names {
        if names.len() <= FEW {
            return Names {
                few: names,
                many: HashMap::new(),
            };
        }
        Names {
            few: Vec::new(),
            many: names.into_iter().collect(),
        }
    }

    pub(super) fn get(&self, name: &[u8]) -> Option<usize> {
        if self.many.is_empty() {
            self.few
                .iter()
                .find(|(known, _)| known.as_ref() == name)
                .map(|&(_, index)| index)
        } else {
            self.many.get(name).copied()
        }
    }
}

#[derive(Debug)]
pub(super) struct EnumPlan {
    pub(super) numbers: HashMap<Box<[u8]>, i32>,
    /// google.protobuf.NullValue: `null` and `"NULL_VALUE"` are its value.
    pub(super) null: bool,
}

/// Builds the plans of a message type and every type inside it.
pub(super) struct Builder {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    message_index: HashMap<String, usize>,
    enum_index: HashMap<String, usize>,
}

impl Builder {
    /// The plans for `message` (the first of the messages) and everything inside it; `None`
    /// when `message` is a well-known type or has extensions (the reference path reads those).
    pub(super) fn plan(message: &MessageDescriptor) -> Option<(Vec<MessagePlan>, Vec<EnumPlan>)> {
        if WellKnown::of(message.full_name()).is_some() {
            return None;
        }
        let mut builder = Builder {
            messages: Vec::new(),
            enums: Vec::new(),
            message_index: HashMap::new(),
            enum_index: HashMap::new(),
        };
        builder.message(message)?;
        Some((builder.messages, builder.enums))
    }

    /// The index of `message`'s plan, made when it is not made yet.
    fn message(&mut self, message: &MessageDescriptor) -> Option<usize> {
        if let Some(&index) = self.message_index.get(message.full_name()) {
            return Some(index);
        }
        let kind = message_kind(message);
        // Extensions may be named in JSON (`[pkg.ext]`): leave such messages to the reference.
        if matches!(kind, MessageKind::Plain) && message.extensions().next().is_some() {
            return None;
        }
        // Registered before its fields are planned, so that a recursive field finds it.
        let index = self.messages.len();
        self.message_index
            .insert(message.full_name().to_string(), index);
        let plain = matches!(kind, MessageKind::Plain);
        self.messages.push(MessagePlan {
            kind,
            fields: Vec::new(),
            names: Names::default(),
            oneofs: 0,
        });
        if !plain {
            return Some(index);
        }
        let oneofs: Vec<String> = message
            .oneofs()
            .map(|o| o.full_name().to_string())
            .collect();
        let fields = message
            .fields()
            .map(|field| self.field(&field, &oneofs))
            .collect::<Option<Vec<_>>>()?;
        // The .proto names first, so that a JSON name given to another field wins.
        let mut names: Vec<(Box<[u8]>, usize)> = Vec::new();
        let mut add = |name: &str, index: usize| match names
            .iter_mut()
            .find(|(known, _)| known.as_ref() == name.as_bytes())
        {
            Some(entry) => entry.1 = index,
            None => names.push((name.as_bytes().into(), index)),
        };
        for (index, field) in message.fields().enumerate() {
            add(field.name(), index);
        }
        for (index, field) in message.fields().enumerate() {
            add(field.json_name(), index);
        }
        let plan = self.messages.get_mut(index)?;
        plan.fields = fields;
        plan.names = Names::new(names);
        plan.oneofs = oneofs.len();
        Some(index)
    }

    /// How to read and encode `field`; `oneofs` are its message's oneofs, by full name.
    fn field(&mut self, field: &FieldDescriptor, oneofs: &[String]) -> Option<FieldPlan> {
        if field.is_group() {
            return None;
        }
        // The field whose value JSON gives: a map's entry value, or the field itself.
        let mut value_field = field.clone();
        let (value, shape) = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return None;
            };
            let (key_field, entry_value) =
                (entry.map_entry_key_field(), entry.map_entry_value_field());
            let shape = Shape::Map {
                key: self.scalar(&key_field.kind())?,
                key_presence: key_field.supports_presence(),
                value_presence: entry_value.supports_presence(),
            };
            value_field = entry_value;
            (self.value(&value_field.kind())?, shape)
        } else if field.is_list() {
            let packed = field.is_packed();
            (self.value(&field.kind())?, Shape::List { packed })
        } else {
            let presence = field.supports_presence();
            (self.value(&field.kind())?, Shape::Single { presence })
        };
        let null_is_a_value = match &value_field.kind() {
            Kind::Message(message) => message.full_name() == "google.protobuf.Value",
            Kind::Enum(enumeration) => enumeration.full_name() == "google.protobuf.NullValue",
            _ => false,
        };
        let default_enum = match Value::default_value_for_field(&value_field) {
            Value::EnumNumber(number) => number,
            _ => 0,
        };
        Some(FieldPlan {
            number: field.number(),
            value,
            shape,
            oneof: field
                .containing_oneof()
                .and_then(|o| oneofs.iter().position(|name| name == o.full_name())),
            null_is_a_value,
            default_enum,
        })
    }

    fn value(&mut self, kind: &Kind) -> Option<ValueKind> {
        match kind {
            Kind::Message(message) => self.message(message).map(ValueKind::Message),
            other => self.scalar(other).map(ValueKind::Scalar),
        }
    }

    fn scalar(&mut self, kind: &Kind) -> Option<Scalar> {
        Some(match kind {
            Kind::Double => Scalar::Double,
            Kind::Float => Scalar::Float,
            Kind::Int32 => Scalar::Int32,
            Kind::Int64 => Scalar::Int64,
            Kind::Uint32 => Scalar::Uint32,
            Kind::Uint64 => Scalar::Uint64,
            Kind::Sint32 => Scalar::Sint32,
            Kind::Sint64 => Scalar::Sint64,
            Kind::Fixed32 => Scalar::Fixed32,
            Kind::Fixed64 => Scalar::Fixed64,
            Kind::Sfixed32 => Scalar::Sfixed32,
            Kind::Sfixed64 => Scalar::Sfixed64,
            Kind::Bool => Scalar::Bool,
            Kind::String => Scalar::String,
            Kind::Bytes => Scalar::Bytes,
            Kind::Enum(enumeration) => Scalar::Enum(self.enumeration(enumeration)),
            Kind::Message(_) => return None,
        })
    }

    /// The index of `enumeration`'s numbers, made when they are not made yet.
    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> usize {
        if let Some(&index) = self.enum_index.get(enumeration.full_name()) {
            return index;
        }
        // prost-reflect finds a name among all values, aliases included.
        let numbers = enumeration
            .values()
            .map(|value| (value.name().as_bytes().into(), value.number()))
            .collect();
        let index = self.enums.len();
        self.enums.push(EnumPlan {
            numbers,
            null: enumeration.full_name() == "google.protobuf.NullValue",
        });
        self.enum_index
            .insert(enumeration.full_name().to_string(), index);
        index
    }
}

/// How a message type is read: as fields, or in a well-known type's own form.
fn message_kind(message: &MessageDescriptor) -> MessageKind {
    match WellKnown::of(message.full_name()) {
        None => MessageKind::Plain,
        Some(WellKnown::Empty) => MessageKind::Empty,
        Some(WellKnown::Timestamp) => MessageKind::Timestamp,
        Some(WellKnown::Duration) => MessageKind::Duration,
        Some(WellKnown::Wrapper(wrapped)) => MessageKind::Wrapper(match wrapped {
            Wrapped::Double => Scalar::Double,
            Wrapped::Float => Scalar::Float,
            Wrapped::Int64 => Scalar::Int64,
            Wrapped::UInt64 => Scalar::Uint64,
            Wrapped::Int32 => Scalar::Int32,
            Wrapped::UInt32 => Scalar::Uint32,
            Wrapped::Bool => Scalar::Bool,
            Wrapped::String => Scalar::String,
            Wrapped::Bytes => Scalar::Bytes,
        }),
        Some(
            WellKnown::FieldMask
            | WellKnown::Struct
            | WellKnown::Value
            | WellKnown::ListValue
            | WellKnown::Any,
        ) => MessageKind::Delegated(message.clone()),
    }
}
