//! The fast path from JSON text to protobuf wire bytes, without building a DynamicMessage:
//! requests as fast as responses (see `output::transcode` for the other direction).
//!
//! A plan is made once per request type: each message's fields by name, how each is read and
//! encoded. Then each request is read straight from its text and encoded into the output
//! buffer. It must read exactly what the reference path (prost-reflect's serde, after
//! `numbers`) reads, and encode it as that path encodes it, fields in number order; so
//! whatever it is unsure of stops it (`Stop::Fallback`) and the caller takes the reference
//! path for that message, which also words every error: a request type that is a well-known
//! type or has extensions; in the text, anything that is not plain and valid (a key given
//! twice, two members of a oneof, an unknown field or enum name, a null inside a list or map,
//! a lone surrogate, nesting beyond `json::MAX_DEPTH`). Timestamp and Duration are read as
//! prost-reflect reads them (`well_known`); the other well-known types with a JSON form of
//! their own (FieldMask, Struct, Value, ListValue, Any) are read by prost-reflect itself from
//! their text and encoded in place. Map entries are encoded in the
//! order they are written (the reference path's order is a hash map's).
//!
//! By concern: `plan` (what to read for each type, built once), `json` (the JSON text),
//! `values` (one scalar, by prost-reflect's rules), `well_known` (Timestamp and Duration) and
//! `wire` (the protobuf encoding).

mod json;
mod plan;
mod values;
mod well_known;
mod wire;

#[cfg(test)]
mod tests;

use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};

use self::json::{Next, Reader, deeper};
use self::plan::{Builder, EnumPlan, FieldPlan, MessageKind, MessagePlan, Shape, ValueKind};
use self::values::ScalarValue;
use super::input::JsonInput;

/// Why the fast path stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The text is not something this path reads: take the reference path for this message.
    Fallback,
    /// The text ends inside the value: read more input and start again.
    Incomplete,
}

/// How to encode one message type (and every type inside it) from JSON.
#[derive(Debug)]
pub struct Encoder {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    /// For the well-known types read by prost-reflect.
    options: DeserializeOptions,
    allow_unknown_fields: bool,
}

impl Encoder {
    /// A plan for `message`, or `None` when it needs the reference path.
    pub fn new(message: &MessageDescriptor, json: JsonInput) -> Option<Encoder> {
        let (messages, enums) = Builder::plan(message)?;
        Some(Encoder {
            messages,
            enums,
            options: json.options(),
            allow_unknown_fields: json.allow_unknown_fields,
        })
    }

    /// Encodes the JSON object at the start of `input` (after white space) as the planned
    /// message, appending its bytes to `out`; returns how many bytes of `input` it read. On a
    /// `Stop`, `out` is as it was.
    pub fn encode(&self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Stop> {
        let start = out.len();
        let mut run = Run {
            encoder: self,
            reader: Reader::new(input),
            out,
        };
        match run.object(0, 0) {
            Ok(()) => Ok(run.reader.position()),
            Err(stop) => {
                out.truncate(start);
                Err(stop)
            }
        }
    }
}

/// One message being encoded.
struct Run<'e, 'a, 'o> {
    encoder: &'e Encoder,
    reader: Reader<'a>,
    out: &'o mut Vec<u8>,
}

/// Where each field of a message being written starts (number, offset), so that fields given
/// out of number order can be put in order: on the stack for the usual few.
struct Segments {
    few: [(u32, usize); 8],
    count: usize,
    more: Vec<(u32, usize)>,
}

impl Segments {
    fn new() -> Segments {
        Segments {
            few: [(0, 0); 8],
            count: 0,
            more: Vec::new(),
        }
    }

    fn push(&mut self, segment: (u32, usize)) {
        match self.few.get_mut(self.count) {
            Some(slot) => *slot = segment,
            None => self.more.push(segment),
        }
        self.count += 1;
    }

    fn all(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.few
            .iter()
            .take(self.count)
            .chain(self.more.iter())
            .copied()
    }
}

/// Which of a message's fields (or oneofs) have been given.
struct Seen {
    small: u64,
    large: Vec<bool>,
}

impl Seen {
    fn new(count: usize) -> Seen {
        Seen {
            small: 0,
            large: if count > 64 {
                vec![false; count]
            } else {
                Vec::new()
            },
        }
    }

    /// Marks `index` as given; false if it was already.
    fn insert(&mut self, index: usize) -> bool {
        if self.large.is_empty() {
            let bit = 1u64 << index;
            let new = self.small & bit == 0;
            self.small |= bit;
            return new;
        }
        match self.large.get_mut(index) {
            Some(slot) => !std::mem::replace(slot, true),
            None => false,
        }
    }
}

impl<'a> Run<'_, 'a, '_> {
    fn plan(&self, index: usize) -> Result<&MessagePlan, Stop> {
        self.encoder.messages.get(index).ok_or(Stop::Fallback)
    }

    /// The fields of a plain message, from its JSON object.
    fn object(&mut self, plan: usize, depth: usize) -> Result<(), Stop> {
        let depth = deeper(depth)?;
        self.reader.expect(b'{')?;
        let encoder = self.encoder;
        let plan = encoder.messages.get(plan).ok_or(Stop::Fallback)?;
        let body = self.out.len();
        let mut segments = Segments::new();
        let mut given = Seen::new(plan.fields.len());
        let mut oneofs = Seen::new(plan.oneofs);
        let (mut last, mut in_order) = (0, true);
        let mut first = true;
        while self.reader.more(first, b'}')? {
            first = false;
            let key = self.reader.key()?;
            let Some(index) = plan.names.get(&key) else {
                if !encoder.allow_unknown_fields {
                    return Err(Stop::Fallback);
                }
                self.reader.skip(depth)?;
                continue;
            };
            let field = plan.fields.get(index).ok_or(Stop::Fallback)?;
            if !given.insert(index) {
                return Err(Stop::Fallback);
            }
            // `null` leaves a field unset (and does not count for its oneof), unless null is
            // a value of its type.
            if !field.null_is_a_value && self.reader.peek()? == Next::Null {
                self.reader.literal(b"null")?;
                continue;
            }
            if let Some(oneof) = field.oneof
                && !oneofs.insert(oneof)
            {
                return Err(Stop::Fallback);
            }
            in_order &= field.number > last;
            last = field.number;
            segments.push((field.number, self.out.len()));
            self.field(field, depth)?;
        }
        if !in_order {
            self.put_in_order(&segments, body);
        }
        Ok(())
    }

    /// Reorders the fields written since `body` by number, as the reference path writes them.
    fn put_in_order(&mut self, segments: &Segments, body: usize) {
        let end = self.out.len();
        let starts: Vec<(u32, usize)> = segments.all().collect();
        let mut ranges: Vec<(u32, usize, usize)> = starts
            .iter()
            .enumerate()
            .map(|(i, &(number, start))| {
                let stop = starts.get(i + 1).map_or(end, |&(_, next)| next);
                (number, start, stop)
            })
            .collect();
        ranges.sort_by_key(|&(number, _, _)| number);
        let mut ordered = Vec::with_capacity(end - body);
        for (_, start, stop) in ranges {
            ordered.extend_from_slice(self.out.get(start..stop).unwrap_or_default());
        }
        self.out.truncate(body);
        self.out.extend_from_slice(&ordered);
    }

    fn field(&mut self, field: &FieldPlan, depth: usize) -> Result<(), Stop> {
        match field.shape {
            Shape::Single { presence } => match field.value {
                ValueKind::Scalar(scalar) => {
                    let value = self.scalar(scalar, field.default_enum)?;
                    if presence || !value.default {
                        wire::put_key(self.out, field.number, scalar.wire_type());
                        wire::put_scalar(self.out, value.wire);
                    }
                    Ok(())
                }
                ValueKind::Message(message) => self.message_field(field.number, message, depth),
            },
            Shape::List { packed } => self.list(field, packed, depth),
            Shape::Map {
                key,
                key_presence,
                value_presence,
            } => self.map(field, key, key_presence, value_presence, depth),
        }
    }

    fn scalar(&mut self, scalar: plan::Scalar, default_enum: i32) -> Result<ScalarValue<'a>, Stop> {
        values::read(&mut self.reader, scalar, &self.encoder.enums, default_enum)
    }

    /// A message-typed field (or element, or map value) numbered `number`: its key, length
    /// and body.
    fn message_field(&mut self, number: u32, plan: usize, depth: usize) -> Result<(), Stop> {
        wire::put_key(self.out, number, wire::LEN);
        let body = wire::reserve_length(self.out);
        self.message_body(plan, depth)?;
        wire::finish_length(self.out, body);
        Ok(())
    }

    fn message_body(&mut self, plan: usize, depth: usize) -> Result<(), Stop> {
        match &self.plan(plan)?.kind {
            MessageKind::Plain => self.object(plan, depth),
            MessageKind::Wrapper(scalar) => {
                let scalar = *scalar;
                let value = self.scalar(scalar, 0)?;
                if !value.default {
                    wire::put_key(self.out, 1, scalar.wire_type());
                    wire::put_scalar(self.out, value.wire);
                }
                Ok(())
            }
            MessageKind::Empty => {
                deeper(depth)?;
                self.reader.expect(b'{')?;
                match self.reader.more(true, b'}')? {
                    false => Ok(()),
                    true => Err(Stop::Fallback),
                }
            }
            MessageKind::Timestamp => {
                let text = self.reader.string()?;
                let (seconds, nanos) = well_known::timestamp(&text)?;
                self.seconds_and_nanos(seconds, nanos);
                Ok(())
            }
            MessageKind::Duration => {
                let text = self.reader.string()?;
                let (seconds, nanos) = well_known::duration(&text)?;
                self.seconds_and_nanos(seconds, nanos);
                Ok(())
            }
            MessageKind::Delegated(descriptor) => {
                let descriptor = descriptor.clone();
                self.delegated(&descriptor, depth)
            }
        }
    }

    /// The fields of a Timestamp or a Duration (seconds, nanos), as a message without
    /// presence writes them.
    fn seconds_and_nanos(&mut self, seconds: i64, nanos: i32) {
        if seconds != 0 {
            wire::put_key(self.out, 1, 0);
            wire::put_varint(self.out, seconds as u64);
        }
        if nanos != 0 {
            wire::put_key(self.out, 2, 0);
            wire::put_varint(self.out, nanos as i64 as u64);
        }
    }

    /// A well-known type with a JSON form of its own: its text read by prost-reflect.
    fn delegated(&mut self, descriptor: &MessageDescriptor, depth: usize) -> Result<(), Stop> {
        self.reader.peek()?;
        let start = self.reader.position();
        self.reader.skip(depth)?;
        let text = self.reader.since(start);
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let message = DynamicMessage::deserialize_with_options(
            descriptor.clone(),
            &mut deserializer,
            &self.encoder.options,
        )
        .map_err(|_| Stop::Fallback)?;
        message.encode_raw(self.out);
        Ok(())
    }

    fn list(&mut self, field: &FieldPlan, packed: bool, depth: usize) -> Result<(), Stop> {
        let depth = deeper(depth)?;
        // A list given as null (of a type whose null is a value) is the reference's to judge.
        self.reader.expect(b'[')?;
        let mut first = true;
        match field.value {
            ValueKind::Scalar(scalar) if packed => {
                let start = self.out.len();
                wire::put_key(self.out, field.number, wire::LEN);
                let body = wire::reserve_length(self.out);
                while self.reader.more(first, b']')? {
                    first = false;
                    let value = self.scalar(scalar, field.default_enum)?;
                    wire::put_scalar(self.out, value.wire);
                }
                if self.out.len() == body {
                    // An empty list is the default: nothing is written.
                    self.out.truncate(start);
                } else {
                    wire::finish_length(self.out, body);
                }
            }
            ValueKind::Scalar(scalar) => {
                while self.reader.more(first, b']')? {
                    first = false;
                    let value = self.scalar(scalar, field.default_enum)?;
                    wire::put_key(self.out, field.number, scalar.wire_type());
                    wire::put_scalar(self.out, value.wire);
                }
            }
            ValueKind::Message(message) => {
                while self.reader.more(first, b']')? {
                    first = false;
                    self.message_field(field.number, message, depth)?;
                }
            }
        }
        Ok(())
    }

    fn map(
        &mut self,
        field: &FieldPlan,
        key: plan::Scalar,
        key_presence: bool,
        value_presence: bool,
        depth: usize,
    ) -> Result<(), Stop> {
        let depth = deeper(depth)?;
        self.reader.expect(b'{')?;
        let mut first = true;
        while self.reader.more(first, b'}')? {
            first = false;
            let key_value = values::map_key(self.reader.key()?, key)?;
            wire::put_key(self.out, field.number, wire::LEN);
            let entry = wire::reserve_length(self.out);
            if key_presence || !key_value.default {
                wire::put_key(self.out, 1, key.wire_type());
                wire::put_scalar(self.out, key_value.wire);
            }
            match field.value {
                ValueKind::Scalar(scalar) => {
                    let value = self.scalar(scalar, field.default_enum)?;
                    if value_presence || !value.default {
                        wire::put_key(self.out, 2, scalar.wire_type());
                        wire::put_scalar(self.out, value.wire);
                    }
                }
                ValueKind::Message(message) => self.message_field(2, message, depth)?,
            }
            wire::finish_length(self.out, entry);
        }
        Ok(())
    }
}
