//! The plan: for each message type reachable from the response type, how to write each field
//! (its quoted JSON key, how to read it, how to write it), and for each enum its names. Built
//! once per response type; `None` when a type needs the reference path.

use std::collections::HashMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    Scalar(Scalar),
    /// An index into the plan's messages.
    Message(usize),
}

#[derive(Debug)]
pub(super) struct FieldPlan {
    pub(super) number: u32,
    /// `"jsonName":`
    pub(super) key: Box<[u8]>,
    pub(super) value: ValueKind,
    pub(super) repeated: bool,
    /// Key and value kinds of a map field.
    pub(super) map: Option<(Scalar, ValueKind)>,
    /// Written even when it holds its default value.
    pub(super) presence: bool,
    pub(super) oneof: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MessageKind {
    Plain,
    Timestamp,
    Duration,
    Wrapper(Scalar),
    Empty,
}

#[derive(Debug)]
pub(super) struct MessagePlan {
    pub(super) kind: MessageKind,
    /// Sorted by number, as JSON writes them.
    pub(super) fields: Vec<FieldPlan>,
    pub(super) oneofs: usize,
}

#[derive(Debug)]
pub(super) struct EnumPlan {
    /// `"NAME"` by number, for numbers from 0 up to a small bound (most enums).
    pub(super) dense: Vec<Option<Box<[u8]>>>,
    /// `"NAME"` by number, for the others.
    pub(super) sparse: HashMap<i32, Box<[u8]>>,
    /// google.protobuf.NullValue is written as `null`.
    pub(super) null: bool,
}

impl EnumPlan {
    pub(super) fn name(&self, number: i32) -> Option<&[u8]> {
        match usize::try_from(number) {
            Ok(index) if index < self.dense.len() => self.dense.get(index)?.as_deref(),
            _ => self.sparse.get(&number).map(|name| &**name),
        }
    }
}

/// Builds the plans of a message type and every type inside it.
pub(super) struct Builder {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    message_index: HashMap<String, usize>,
    enum_index: HashMap<String, usize>,
    proto_names: bool,
}

impl Builder {
    /// The plans for `message` (the first of the messages) and everything inside it.
    pub(super) fn plan(
        message: &MessageDescriptor,
        proto_names: bool,
    ) -> Option<(Vec<MessagePlan>, Vec<EnumPlan>)> {
        let mut builder = Builder {
            messages: Vec::new(),
            enums: Vec::new(),
            message_index: HashMap::new(),
            enum_index: HashMap::new(),
            proto_names,
        };
        builder.message(message)?;
        Some((builder.messages, builder.enums))
    }

    /// The index of `message`'s plan, made when it is not made yet.
    fn message(&mut self, message: &MessageDescriptor) -> Option<usize> {
        if let Some(&index) = self.message_index.get(message.full_name()) {
            return Some(index);
        }
        let kind = message_kind(message)?;
        // Extensions would be written by the reference path; leave such messages to it.
        if message.extensions().next().is_some() {
            return None;
        }
        // Registered before its fields are planned, so that a recursive field finds it.
        let index = self.messages.len();
        self.message_index
            .insert(message.full_name().to_string(), index);
        self.messages.push(MessagePlan {
            kind,
            fields: Vec::new(),
            oneofs: 0,
        });
        let oneofs: Vec<String> = message
            .oneofs()
            .map(|o| o.full_name().to_string())
            .collect();
        let mut fields = message
            .fields()
            .map(|field| self.field(&field, &oneofs))
            .collect::<Option<Vec<_>>>()?;
        fields.sort_by_key(|f| f.number);
        let plan = self.messages.get_mut(index)?;
        plan.fields = fields;
        plan.oneofs = oneofs.len();
        Some(index)
    }

    /// How to write `field`; `oneofs` are its message's oneofs, by full name.
    fn field(&mut self, field: &FieldDescriptor, oneofs: &[String]) -> Option<FieldPlan> {
        if field.is_group() {
            return None;
        }
        let name = if self.proto_names {
            field.name()
        } else {
            field.json_name()
        };
        let mut key = serde_json::to_vec(name).ok()?;
        key.push(b':');
        let map = if field.is_map() {
            match field.kind() {
                Kind::Message(entry) => Some((
                    self.scalar(&entry.map_entry_key_field().kind())?,
                    self.value(&entry.map_entry_value_field().kind())?,
                )),
                _ => return None,
            }
        } else {
            None
        };
        Some(FieldPlan {
            number: field.number(),
            key: key.into_boxed_slice(),
            value: if map.is_some() {
                ValueKind::Scalar(Scalar::Bool)
            } else {
                self.value(&field.kind())?
            },
            repeated: field.is_list(),
            map,
            presence: field.supports_presence(),
            oneof: field
                .containing_oneof()
                .and_then(|o| oneofs.iter().position(|name| name == o.full_name())),
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
            Kind::Enum(enumeration) => Scalar::Enum(self.enumeration(enumeration)?),
            Kind::Message(_) => return None,
        })
    }

    /// The index of `enumeration`'s names, made when they are not made yet.
    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Option<usize> {
        if let Some(&index) = self.enum_index.get(enumeration.full_name()) {
            return Some(index);
        }
        let mut dense: Vec<Option<Box<[u8]>>> = Vec::new();
        let mut sparse = HashMap::new();
        for value in enumeration.values() {
            // With aliases, the reference path writes the name prost-reflect finds first for
            // the number.
            let name = enumeration.get_value(value.number())?.name().to_string();
            let quoted = serde_json::to_vec(&name).ok()?.into_boxed_slice();
            match usize::try_from(value.number()) {
                Ok(index) if index < 1024 => {
                    if dense.len() <= index {
                        dense.resize(index + 1, None);
                    }
                    if let Some(slot) = dense.get_mut(index) {
                        *slot = Some(quoted);
                    }
                }
                _ => {
                    sparse.insert(value.number(), quoted);
                }
            }
        }
        let index = self.enums.len();
        self.enums.push(EnumPlan {
            dense,
            sparse,
            null: enumeration.full_name() == "google.protobuf.NullValue",
        });
        self.enum_index
            .insert(enumeration.full_name().to_string(), index);
        Some(index)
    }
}

/// How a message is written: as fields, or in a well-known type's own form. `None` for the
/// well-known types this path leaves to the reference path (Any, Struct, Value, ListValue,
/// FieldMask).
fn message_kind(message: &MessageDescriptor) -> Option<MessageKind> {
    Some(match WellKnown::of(message.full_name()) {
        None => MessageKind::Plain,
        Some(WellKnown::Timestamp) => MessageKind::Timestamp,
        Some(WellKnown::Duration) => MessageKind::Duration,
        Some(WellKnown::Empty) => MessageKind::Empty,
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
            WellKnown::Any
            | WellKnown::Struct
            | WellKnown::Value
            | WellKnown::ListValue
            | WellKnown::FieldMask,
        ) => return None,
    })
}
