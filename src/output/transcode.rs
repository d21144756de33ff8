//! The fast path from protobuf wire bytes to compact JSON, without building a DynamicMessage.
//!
//! A plan is made once per response type: for each field its JSON key (already quoted), how to
//! read it and how to write it. Then each response is read straight from its bytes and written
//! to the output buffer. The result must be byte for byte what the reference path (prost-reflect's
//! serde) writes, which tests check over every fixture; so anything this path does not cover is
//! refused and the caller takes the reference path: at plan time, types with a JSON form of their
//! own beyond Timestamp, Duration, the wrappers and Empty (Any, Struct, Value, ListValue,
//! FieldMask), proto2 groups and extensions; at run time, anything unusual in the bytes
//! (invalid UTF-8, a wire type that does not fit, an out-of-range timestamp, a non-finite wrapped
//! float). Map entries come out in the order they arrive (the reference path's order is a hash
//! map's), the last of equal keys winning as in the reference.

use std::collections::HashMap;

use base64::Engine as _;
use prost_reflect::{Kind, MessageDescriptor};

/// The bytes do not fit this path; take the reference path for this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
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
enum ValueKind {
    Scalar(Scalar),
    /// An index into the plan's messages.
    Message(usize),
}

#[derive(Debug)]
struct FieldPlan {
    number: u32,
    /// `"jsonName":`
    key: Box<[u8]>,
    value: ValueKind,
    repeated: bool,
    /// Key and value kinds of a map field.
    map: Option<(Scalar, ValueKind)>,
    /// Written even when it holds its default value.
    presence: bool,
    oneof: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageKind {
    Plain,
    Timestamp,
    Duration,
    Wrapper(Scalar),
    Empty,
}

#[derive(Debug)]
struct MessagePlan {
    kind: MessageKind,
    /// Sorted by number, as JSON writes them.
    fields: Vec<FieldPlan>,
    oneofs: usize,
}

#[derive(Debug)]
struct EnumPlan {
    /// `"NAME"` by number, for numbers from 0 up to a small bound (most enums).
    dense: Vec<Option<Box<[u8]>>>,
    /// `"NAME"` by number, for the others.
    sparse: HashMap<i32, Box<[u8]>>,
    /// google.protobuf.NullValue is written as `null`.
    null: bool,
}

impl EnumPlan {
    fn name(&self, number: i32) -> Option<&[u8]> {
        match usize::try_from(number) {
            Ok(index) if index < self.dense.len() => self.dense.get(index)?.as_deref(),
            _ => self.sparse.get(&number).map(|name| &**name),
        }
    }
}

/// How to write one message type (and every type inside it) as JSON.
#[derive(Debug)]
pub struct Transcoder {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    /// Entry lists kept from message to message (one per nesting level in use), so that the
    /// per-message path allocates nothing once warm.
    spare: std::cell::RefCell<Vec<Vec<Entry>>>,
    /// How deep in nested messages the message being written is.
    depth: std::cell::Cell<usize>,
}

/// The deepest nesting the fast path writes; deeper messages take the reference path, which
/// refuses those beyond prost's recursion limit (100), as a server's bytes may nest without end.
const MAX_DEPTH: usize = 64;

/// One field occurrence in a message's bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    field: usize,
    /// Where it was on the wire, for "the last one wins".
    position: usize,
    wire: u8,
    /// The varint or fixed value, or the start of length-delimited data.
    value: u64,
    end: usize,
}

impl Transcoder {
    /// A plan for `message`, or `None` when it (or a type inside it) needs the reference path.
    /// With `proto_names`, keys are the .proto field names.
    pub fn new(message: &MessageDescriptor, proto_names: bool) -> Option<Transcoder> {
        let mut builder = Builder {
            messages: Vec::new(),
            enums: Vec::new(),
            message_index: HashMap::new(),
            enum_index: HashMap::new(),
            proto_names,
        };
        builder.message(message)?;
        Some(Transcoder {
            messages: builder.messages,
            enums: builder.enums,
            spare: std::cell::RefCell::new(Vec::new()),
            depth: std::cell::Cell::new(0),
        })
    }

    /// Writes `bytes`, an encoded message of the planned type, as compact JSON to `out`. On
    /// `Fallback`, `out` may hold a partial message: truncate it.
    pub fn write(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Fallback> {
        self.depth.set(0);
        self.write_message(0, bytes, out)
    }

    fn write_message(&self, index: usize, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Fallback> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(Fallback);
        }
        self.depth.set(depth + 1);
        let written = self.write_message_at_depth(index, bytes, out);
        self.depth.set(depth);
        written
    }

    fn write_message_at_depth(
        &self,
        index: usize,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fallback> {
        let plan = self.messages.get(index).ok_or(Fallback)?;
        match plan.kind {
            MessageKind::Plain => {}
            MessageKind::Empty => {
                // Whatever it holds is unknown fields, which must still be well formed.
                let mut at = 0;
                while at < bytes.len() {
                    (_, _, at) = read_entry(bytes, at)?;
                }
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            MessageKind::Timestamp => return write_timestamp(bytes, out),
            MessageKind::Duration => return write_duration(bytes, out),
            MessageKind::Wrapper(scalar) => {
                let mut entries = Vec::new();
                read_entries(plan, bytes, &mut entries)?;
                // The last value wins, but the reference refuses the message if any is invalid.
                self.check_scalars(scalar, entries.iter().rev().skip(1), bytes, true)?;
                return match entries.last() {
                    Some(entry) => self.write_scalar(scalar, entry, bytes, out, true),
                    None => self.write_default(scalar, out),
                };
            }
        }
        let mut entries = self.spare.borrow_mut().pop().unwrap_or_default();
        let written = self.write_plain(plan, bytes, &mut entries, out);
        entries.clear();
        self.spare.borrow_mut().push(entries);
        written
    }

    fn write_plain(
        &self,
        plan: &MessagePlan,
        bytes: &[u8],
        entries: &mut Vec<Entry>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fallback> {
        read_entries(plan, bytes, entries)?;
        if !entries.is_sorted_by_key(|e| e.field) {
            entries.sort_by_key(|e| e.field);
        }
        // In a oneof, only the member that came last counts.
        let mut oneof_winner: Vec<Option<(usize, usize)>> = vec![None; plan.oneofs];
        for entry in entries.iter() {
            let field = plan.fields.get(entry.field).ok_or(Fallback)?;
            if let Some(slot) = field.oneof.and_then(|oneof| oneof_winner.get_mut(oneof))
                && slot.is_none_or(|(_, position)| position < entry.position)
            {
                *slot = Some((entry.field, entry.position));
            }
        }
        out.push(b'{');
        let mut first = true;
        for group in entries.chunk_by(|a, b| a.field == b.field) {
            let field_index = group.first().ok_or(Fallback)?.field;
            let field = plan.fields.get(field_index).ok_or(Fallback)?;
            if let Some(oneof) = field.oneof
                && oneof_winner
                    .get(oneof)
                    .copied()
                    .flatten()
                    .map(|(winner, _)| winner)
                    != Some(field_index)
            {
                // A member set before the one that counts: not written, but the reference
                // refuses the message if it is invalid.
                self.write_field(field, group, bytes, &mut Vec::new())?;
                continue;
            }
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(&field.key);
            let written = self.write_field(field, group, bytes, out)?;
            if written {
                first = false;
            } else {
                out.truncate(mark);
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes a field's value (its occurrences are `group`); false when nothing is written.
    fn write_field(
        &self,
        field: &FieldPlan,
        group: &[Entry],
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, Fallback> {
        if let Some((key, value)) = field.map {
            self.write_map(key, value, group, bytes, out)
        } else if field.repeated {
            self.write_list(field.value, group, bytes, out)
        } else {
            self.write_singular(field, group, bytes, out)
        }
    }

    /// Checks that scalars which are not written (overridden by a later occurrence) would
    /// write: the reference refuses a message with an invalid one.
    fn check_scalars<'a>(
        &self,
        scalar: Scalar,
        entries: impl Iterator<Item = &'a Entry>,
        bytes: &[u8],
        wrapped: bool,
    ) -> Result<(), Fallback> {
        let mut scratch = Vec::new();
        for entry in entries {
            scratch.clear();
            self.write_scalar(scalar, entry, bytes, &mut scratch, wrapped)?;
        }
        Ok(())
    }

    /// Writes a singular field's value; false when it holds its default and is not written.
    fn write_singular(
        &self,
        field: &FieldPlan,
        group: &[Entry],
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, Fallback> {
        match field.value {
            ValueKind::Message(index) => {
                if let [entry] = group {
                    self.write_message(index, delimited(entry, bytes)?, out)?;
                } else {
                    // Occurrences of one message field merge: their bytes concatenate, once
                    // each is well formed on its own (as the reference decodes them).
                    let mut merged = Vec::new();
                    for entry in group {
                        let piece = delimited(entry, bytes)?;
                        let mut at = 0;
                        while at < piece.len() {
                            (_, _, at) = read_entry(piece, at)?;
                        }
                        merged.extend_from_slice(piece);
                    }
                    self.write_message(index, &merged, out)?;
                }
                Ok(true)
            }
            ValueKind::Scalar(scalar) => {
                let (entry, earlier) = group.split_last().ok_or(Fallback)?;
                self.check_scalars(scalar, earlier.iter(), bytes, false)?;
                if !field.presence && self.is_default(scalar, entry, bytes)? {
                    return Ok(false);
                }
                self.write_scalar(scalar, entry, bytes, out, false)?;
                Ok(true)
            }
        }
    }

    fn write_list(
        &self,
        value: ValueKind,
        group: &[Entry],
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, Fallback> {
        let mark = out.len();
        out.push(b'[');
        let mut count = 0usize;
        for entry in group {
            match value {
                ValueKind::Message(index) => {
                    if count > 0 {
                        out.push(b',');
                    }
                    self.write_message(index, delimited(entry, bytes)?, out)?;
                    count += 1;
                }
                ValueKind::Scalar(scalar) if entry.wire == 2 && packable(scalar) => {
                    let data = delimited(entry, bytes)?;
                    let mut at = 0;
                    while at < data.len() {
                        let (element, next) = packed_element(scalar, data, at)?;
                        if count > 0 {
                            out.push(b',');
                        }
                        self.write_scalar(scalar, &element, data, out, false)?;
                        count += 1;
                        at = next;
                    }
                }
                ValueKind::Scalar(scalar) => {
                    if count > 0 {
                        out.push(b',');
                    }
                    self.write_scalar(scalar, entry, bytes, out, false)?;
                    count += 1;
                }
            }
        }
        if count == 0 {
            out.truncate(mark);
            return Ok(false);
        }
        out.push(b']');
        Ok(true)
    }

    fn write_map(
        &self,
        key_kind: Scalar,
        value_kind: ValueKind,
        group: &[Entry],
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, Fallback> {
        // Each entry: its key as JSON text, and where its value is.
        let mut pairs: Vec<(Vec<u8>, Option<Entry>, &[u8])> = Vec::with_capacity(group.len());
        for entry in group {
            let data = delimited(entry, bytes)?;
            let (mut key, mut value) = (None, None);
            let mut at = 0;
            while at < data.len() {
                let (number, parsed, next) = read_entry(data, at)?;
                // A key or value given twice in one entry: rare, left to the reference.
                match number {
                    1 if key.is_none() => key = Some(parsed),
                    2 if value.is_none() => value = Some(parsed),
                    1 | 2 => return Err(Fallback),
                    _ => {}
                }
                at = next;
            }
            let mut key_text = Vec::new();
            match key {
                Some(key) => self.write_map_key(key_kind, &key, data, &mut key_text)?,
                None => self.write_map_key_default(key_kind, &mut key_text)?,
            }
            if let Some(previous) = pairs.iter().position(|(k, _, _)| *k == key_text) {
                // The later entry wins, but the reference refuses the message if the earlier
                // value is invalid.
                let (_, value, data) = pairs.remove(previous);
                self.write_map_value(value_kind, value.as_ref(), data, &mut Vec::new())?;
            }
            pairs.push((key_text, value, data));
        }
        if pairs.is_empty() {
            return Ok(false);
        }
        out.push(b'{');
        for (n, (key, value, data)) in pairs.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            out.push(b':');
            self.write_map_value(value_kind, value.as_ref(), data, out)?;
        }
        out.push(b'}');
        Ok(true)
    }

    /// A map entry's value, or the default when the entry has none.
    fn write_map_value(
        &self,
        kind: ValueKind,
        value: Option<&Entry>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fallback> {
        match (kind, value) {
            (ValueKind::Message(index), Some(entry)) => {
                self.write_message(index, delimited(entry, data)?, out)
            }
            (ValueKind::Message(index), None) => self.write_message(index, &[], out),
            (ValueKind::Scalar(scalar), Some(entry)) => {
                self.write_scalar(scalar, entry, data, out, false)
            }
            (ValueKind::Scalar(scalar), None) => self.write_default(scalar, out),
        }
    }

    /// A map key as a JSON string.
    fn write_map_key(
        &self,
        kind: Scalar,
        entry: &Entry,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fallback> {
        match kind {
            Scalar::String => self.write_scalar(kind, entry, bytes, out, false),
            Scalar::Bool => {
                out.extend_from_slice(if varint_of(entry)? != 0 {
                    b"\"true\""
                } else {
                    b"\"false\""
                });
                Ok(())
            }
            Scalar::Int64
            | Scalar::Uint64
            | Scalar::Sint64
            | Scalar::Fixed64
            | Scalar::Sfixed64 => self.write_scalar(kind, entry, bytes, out, false),
            _ => {
                out.push(b'"');
                self.write_scalar(kind, entry, bytes, out, false)?;
                out.push(b'"');
                Ok(())
            }
        }
    }

    fn write_map_key_default(&self, kind: Scalar, out: &mut Vec<u8>) -> Result<(), Fallback> {
        match kind {
            Scalar::String => out.extend_from_slice(b"\"\""),
            Scalar::Bool => out.extend_from_slice(b"\"false\""),
            _ => out.extend_from_slice(b"\"0\""),
        }
        Ok(())
    }

    fn is_default(&self, scalar: Scalar, entry: &Entry, bytes: &[u8]) -> Result<bool, Fallback> {
        Ok(match scalar {
            Scalar::String | Scalar::Bytes => delimited(entry, bytes)?.is_empty(),
            Scalar::Float => f32::from_bits(fixed32_of(entry)?) == 0.0,
            Scalar::Double => f64::from_bits(fixed64_of(entry)?) == 0.0,
            Scalar::Fixed32 | Scalar::Sfixed32 => fixed32_of(entry)? == 0,
            Scalar::Fixed64 | Scalar::Sfixed64 => fixed64_of(entry)? == 0,
            Scalar::Int32 | Scalar::Enum(_) => varint_of(entry)? as i32 == 0,
            Scalar::Uint32 | Scalar::Sint32 => varint_of(entry)? as u32 == 0,
            Scalar::Int64 | Scalar::Uint64 | Scalar::Sint64 | Scalar::Bool => {
                varint_of(entry)? == 0
            }
        })
    }

    fn write_default(&self, scalar: Scalar, out: &mut Vec<u8>) -> Result<(), Fallback> {
        match scalar {
            Scalar::String | Scalar::Bytes => out.extend_from_slice(b"\"\""),
            Scalar::Bool => out.extend_from_slice(b"false"),
            Scalar::Float | Scalar::Double => out.extend_from_slice(b"0.0"),
            Scalar::Int64
            | Scalar::Uint64
            | Scalar::Sint64
            | Scalar::Fixed64
            | Scalar::Sfixed64 => out.extend_from_slice(b"\"0\""),
            Scalar::Enum(index) => self.write_enum(index, 0, out),
            _ => out.push(b'0'),
        }
        Ok(())
    }

    fn write_enum(&self, index: usize, number: i32, out: &mut Vec<u8>) {
        let Some(plan) = self.enums.get(index) else {
            return;
        };
        if plan.null {
            out.extend_from_slice(b"null");
        } else if let Some(name) = plan.name(number) {
            out.extend_from_slice(name);
        } else {
            out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
        }
    }

    /// Writes one scalar. `wrapped`: inside a wrapper type, where non-finite floats would
    /// take the reference path's own form.
    fn write_scalar(
        &self,
        scalar: Scalar,
        entry: &Entry,
        bytes: &[u8],
        out: &mut Vec<u8>,
        wrapped: bool,
    ) -> Result<(), Fallback> {
        let mut digits = itoa::Buffer::new();
        match scalar {
            Scalar::Int32 => {
                out.extend_from_slice(digits.format(varint_of(entry)? as i32).as_bytes())
            }
            Scalar::Uint32 => {
                out.extend_from_slice(digits.format(varint_of(entry)? as u32).as_bytes())
            }
            Scalar::Sint32 => {
                let raw = varint_of(entry)? as u32;
                let value = ((raw >> 1) as i32) ^ -((raw & 1) as i32);
                out.extend_from_slice(digits.format(value).as_bytes());
            }
            Scalar::Fixed32 => out.extend_from_slice(digits.format(fixed32_of(entry)?).as_bytes()),
            Scalar::Sfixed32 => {
                out.extend_from_slice(digits.format(fixed32_of(entry)? as i32).as_bytes())
            }
            Scalar::Int64 => quoted(out, digits.format(varint_of(entry)? as i64)),
            Scalar::Uint64 => quoted(out, digits.format(varint_of(entry)?)),
            Scalar::Sint64 => {
                let raw = varint_of(entry)?;
                let value = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
                quoted(out, digits.format(value));
            }
            Scalar::Fixed64 => quoted(out, digits.format(fixed64_of(entry)?)),
            Scalar::Sfixed64 => quoted(out, digits.format(fixed64_of(entry)? as i64)),
            Scalar::Bool => out.extend_from_slice(if varint_of(entry)? != 0 {
                b"true"
            } else {
                b"false"
            }),
            Scalar::Float => {
                let value = f32::from_bits(fixed32_of(entry)?);
                write_float(out, f64::from(value), wrapped, |out| {
                    serde_json::to_writer(out, &value).map_err(|_| Fallback)
                })?;
            }
            Scalar::Double => {
                let value = f64::from_bits(fixed64_of(entry)?);
                write_float(out, value, wrapped, |out| {
                    serde_json::to_writer(out, &value).map_err(|_| Fallback)
                })?;
            }
            Scalar::String => {
                let text = std::str::from_utf8(delimited(entry, bytes)?).map_err(|_| Fallback)?;
                serde_json::to_writer(&mut *out, text).map_err(|_| Fallback)?;
            }
            Scalar::Bytes => {
                let data = delimited(entry, bytes)?;
                let engine = &base64::engine::general_purpose::STANDARD;
                out.push(b'"');
                let start = out.len();
                out.resize(
                    start + base64::encoded_len(data.len(), true).ok_or(Fallback)?,
                    0,
                );
                engine
                    .encode_slice(data, out.get_mut(start..).ok_or(Fallback)?)
                    .map_err(|_| Fallback)?;
                out.push(b'"');
            }
            Scalar::Enum(index) => self.write_enum(index, varint_of(entry)? as i32, out),
        }
        Ok(())
    }
}

fn quoted(out: &mut Vec<u8>, digits: &str) {
    out.push(b'"');
    out.extend_from_slice(digits.as_bytes());
    out.push(b'"');
}

fn write_float(
    out: &mut Vec<u8>,
    value: f64,
    wrapped: bool,
    finite: impl FnOnce(&mut Vec<u8>) -> Result<(), Fallback>,
) -> Result<(), Fallback> {
    if value.is_finite() {
        finite(out)
    } else if wrapped {
        Err(Fallback)
    } else if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
        Ok(())
    } else if value > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
        Ok(())
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
        Ok(())
    }
}

fn packable(scalar: Scalar) -> bool {
    !matches!(scalar, Scalar::String | Scalar::Bytes)
}

fn packed_element(scalar: Scalar, data: &[u8], at: usize) -> Result<(Entry, usize), Fallback> {
    let (wire, value, next) = match scalar {
        Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => {
            let end = at.checked_add(4).ok_or(Fallback)?;
            let raw = u32::from_le_bytes(le_bytes(data, at, end)?);
            (5, u64::from(raw), end)
        }
        Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => {
            let end = at.checked_add(8).ok_or(Fallback)?;
            let raw = u64::from_le_bytes(le_bytes(data, at, end)?);
            (1, raw, end)
        }
        _ => {
            let (value, next) = read_varint(data, at)?;
            (0, value, next)
        }
    };
    Ok((
        Entry {
            field: 0,
            position: 0,
            wire,
            value,
            end: next,
        },
        next,
    ))
}

/// The fixed-width value in `bytes[at..end]`.
fn le_bytes<const N: usize>(bytes: &[u8], at: usize, end: usize) -> Result<[u8; N], Fallback> {
    let slice = bytes.get(at..end).ok_or(Fallback)?;
    slice.try_into().map_err(|_| Fallback)
}

fn varint_of(entry: &Entry) -> Result<u64, Fallback> {
    if entry.wire == 0 {
        Ok(entry.value)
    } else {
        Err(Fallback)
    }
}

fn fixed32_of(entry: &Entry) -> Result<u32, Fallback> {
    if entry.wire == 5 {
        u32::try_from(entry.value).map_err(|_| Fallback)
    } else {
        Err(Fallback)
    }
}

fn fixed64_of(entry: &Entry) -> Result<u64, Fallback> {
    if entry.wire == 1 {
        Ok(entry.value)
    } else {
        Err(Fallback)
    }
}

fn delimited<'a>(entry: &Entry, bytes: &'a [u8]) -> Result<&'a [u8], Fallback> {
    if entry.wire != 2 {
        return Err(Fallback);
    }
    let start = usize::try_from(entry.value).map_err(|_| Fallback)?;
    bytes.get(start..entry.end).ok_or(Fallback)
}

fn read_varint(bytes: &[u8], mut at: usize) -> Result<(u64, usize), Fallback> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(at).ok_or(Fallback)?;
        at += 1;
        // The tenth byte holds the last bit: anything more overflows, and prost refuses it.
        if shift == 63 && byte > 1 {
            return Err(Fallback);
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok((value, at));
        }
    }
    Err(Fallback)
}

/// Reads one field occurrence at `at`: its number, the entry (field index unset) and where
/// the next one starts.
fn read_entry(bytes: &[u8], at: usize) -> Result<(u32, Entry, usize), Fallback> {
    let (tag, at) = read_varint(bytes, at)?;
    // Field number 0 and keys beyond 32 bits are invalid: the reference refuses the message.
    let number = u32::try_from(tag)
        .ok()
        .map(|tag| tag >> 3)
        .filter(|&number| number > 0)
        .ok_or(Fallback)?;
    let wire = (tag & 7) as u8;
    let (value, end, next) = match wire {
        0 => {
            let (value, next) = read_varint(bytes, at)?;
            (value, next, next)
        }
        1 => {
            let end = at.checked_add(8).ok_or(Fallback)?;
            let raw = u64::from_le_bytes(le_bytes(bytes, at, end)?);
            (raw, end, end)
        }
        2 => {
            let (length, start) = read_varint(bytes, at)?;
            let length = usize::try_from(length).map_err(|_| Fallback)?;
            let end = start
                .checked_add(length)
                .filter(|&e| e <= bytes.len())
                .ok_or(Fallback)?;
            (start as u64, end, end)
        }
        5 => {
            let end = at.checked_add(4).ok_or(Fallback)?;
            let raw = u32::from_le_bytes(le_bytes(bytes, at, end)?);
            (u64::from(raw), end, end)
        }
        // Groups (3, 4) and anything else: the reference path.
        _ => return Err(Fallback),
    };
    Ok((
        number,
        Entry {
            field: usize::MAX,
            position: 0,
            wire,
            value,
            end,
        },
        next,
    ))
}

/// The occurrences of known fields in a message's bytes, in wire order, into `entries`;
/// unknown fields are skipped, as the reference path does when writing JSON.
fn read_entries(
    plan: &MessagePlan,
    bytes: &[u8],
    entries: &mut Vec<Entry>,
) -> Result<(), Fallback> {
    let mut at = 0;
    let mut position = 0;
    while at < bytes.len() {
        let (number, mut entry, next) = read_entry(bytes, at)?;
        if let Ok(field) = plan.fields.binary_search_by_key(&number, |f| f.number) {
            entry.field = field;
            entry.position = position;
            entries.push(entry);
        }
        position += 1;
        at = next;
    }
    Ok(())
}

fn write_timestamp(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Fallback> {
    let (seconds, nanos) = seconds_and_nanos(bytes)?;
    // The range RFC 3339 can write: 0001-01-01 to 9999-12-31.
    if !(-62_135_596_800..=253_402_300_799).contains(&seconds)
        || !(0..1_000_000_000).contains(&nanos)
    {
        return Err(Fallback);
    }
    out.push(b'"');
    rfc3339(seconds, nanos, out);
    out.push(b'"');
    Ok(())
}

/// A timestamp in 0001..=9999 as RFC 3339 UTC, exactly as prost-types writes it: fractional
/// seconds in 0, 3, 6 or 9 digits. (Formatting through `Display` cost a fifth of a stream's
/// time.)
fn rfc3339(seconds: i64, nanos: i32, out: &mut Vec<u8>) {
    // Days to civil date, after Howard Hinnant's `civil_from_days`.
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let digits = |out: &mut Vec<u8>, value: i64, width: u32| {
        for position in (0..width).rev() {
            out.push(b'0' + ((value / 10i64.pow(position)) % 10) as u8);
        }
    };
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, second_of_day / 3600, 2);
    out.push(b':');
    digits(out, second_of_day / 60 % 60, 2);
    out.push(b':');
    digits(out, second_of_day % 60, 2);
    let nanos = i64::from(nanos);
    if nanos == 0 {
    } else if nanos % 1_000_000 == 0 {
        out.push(b'.');
        digits(out, nanos / 1_000_000, 3);
    } else if nanos % 1_000 == 0 {
        out.push(b'.');
        digits(out, nanos / 1_000, 6);
    } else {
        out.push(b'.');
        digits(out, nanos, 9);
    }
    out.push(b'Z');
}

fn write_duration(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Fallback> {
    let (seconds, nanos) = seconds_and_nanos(bytes)?;
    let same_sign = (seconds >= 0 && nanos >= 0) || (seconds <= 0 && nanos <= 0);
    if !(-315_576_000_000..=315_576_000_000).contains(&seconds)
        || !(-999_999_999..=999_999_999).contains(&nanos)
        || !same_sign
    {
        return Err(Fallback);
    }
    let duration = prost_types::Duration { seconds, nanos };
    out.push(b'"');
    std::io::Write::write_fmt(out, format_args!("{duration}")).map_err(|_| Fallback)?;
    out.push(b'"');
    Ok(())
}

fn seconds_and_nanos(bytes: &[u8]) -> Result<(i64, i32), Fallback> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut at = 0;
    while at < bytes.len() {
        let (number, entry, next) = read_entry(bytes, at)?;
        match number {
            1 => seconds = varint_of(&entry)? as i64,
            2 => nanos = varint_of(&entry)? as i32,
            _ => {}
        }
        at = next;
    }
    Ok((seconds, nanos))
}

struct Builder {
    messages: Vec<MessagePlan>,
    enums: Vec<EnumPlan>,
    message_index: HashMap<String, usize>,
    enum_index: HashMap<String, usize>,
    proto_names: bool,
}

impl Builder {
    fn message(&mut self, message: &MessageDescriptor) -> Option<usize> {
        if let Some(&index) = self.message_index.get(message.full_name()) {
            return Some(index);
        }
        let kind = match message.full_name() {
            "google.protobuf.Timestamp" => MessageKind::Timestamp,
            "google.protobuf.Duration" => MessageKind::Duration,
            "google.protobuf.Empty" => MessageKind::Empty,
            "google.protobuf.DoubleValue" => MessageKind::Wrapper(Scalar::Double),
            "google.protobuf.FloatValue" => MessageKind::Wrapper(Scalar::Float),
            "google.protobuf.Int64Value" => MessageKind::Wrapper(Scalar::Int64),
            "google.protobuf.UInt64Value" => MessageKind::Wrapper(Scalar::Uint64),
            "google.protobuf.Int32Value" => MessageKind::Wrapper(Scalar::Int32),
            "google.protobuf.UInt32Value" => MessageKind::Wrapper(Scalar::Uint32),
            "google.protobuf.BoolValue" => MessageKind::Wrapper(Scalar::Bool),
            "google.protobuf.StringValue" => MessageKind::Wrapper(Scalar::String),
            "google.protobuf.BytesValue" => MessageKind::Wrapper(Scalar::Bytes),
            "google.protobuf.Any"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.FieldMask" => return None,
            _ => MessageKind::Plain,
        };
        // Extensions would be written by the reference path; leave such messages to it.
        if message.extensions().next().is_some() {
            return None;
        }
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
        let mut fields = Vec::new();
        for field in message.fields() {
            if field.is_group() {
                return None;
            }
            let name = if self.proto_names {
                field.name()
            } else {
                field.json_name()
            };
            let key = serde_json::to_vec(name).ok()?;
            let mut key = key;
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
            fields.push(FieldPlan {
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
            });
        }
        fields.sort_by_key(|f| f.number);
        let plan = self.messages.get_mut(index)?;
        plan.fields = fields;
        plan.oneofs = oneofs.len();
        Some(index)
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
            Kind::Enum(enumeration) => {
                if let Some(&index) = self.enum_index.get(enumeration.full_name()) {
                    return Some(Scalar::Enum(index));
                }
                let mut dense: Vec<Option<Box<[u8]>>> = Vec::new();
                let mut sparse = HashMap::new();
                for value in enumeration.values() {
                    // With aliases, the reference path writes the name prost-reflect finds
                    // first for the number.
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
                Scalar::Enum(index)
            }
            Kind::Message(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use prost_reflect::{DescriptorPool, DynamicMessage};
    use serde_json::json;

    const SCHEMA: &str = r#"
        syntax = "proto3";
        package t;
        import "google/protobuf/timestamp.proto";
        import "google/protobuf/duration.proto";
        import "google/protobuf/wrappers.proto";
        import "google/protobuf/empty.proto";
        enum Color { option allow_alias = true; COLOR_UNSPECIFIED = 0; RED = 1; CRIMSON = 1; GREEN = 2; }
        message M {
          double f_double = 1; float f_float = 2; int32 f_int32 = 3; int64 f_int64 = 4;
          uint32 f_uint32 = 5; uint64 f_uint64 = 6; sint32 f_sint32 = 7; sint64 f_sint64 = 8;
          fixed32 f_fixed32 = 9; fixed64 f_fixed64 = 10; sfixed32 f_sfixed32 = 11; sfixed64 f_sfixed64 = 12;
          bool f_bool = 13; string f_string = 14; bytes f_bytes = 15; Color f_enum = 16;
          optional int32 f_optional = 17; optional string f_optional_string = 18;
          repeated int64 r_int64 = 19; repeated double r_double = 20; repeated string r_string = 21;
          repeated Color r_enum = 22; repeated M r_nested = 23; repeated bytes r_bytes = 24;
          repeated sint32 r_sint32 = 25; repeated fixed64 r_fixed64 = 26; repeated bool r_bool = 27;
          map<string, int32> m_string = 28; map<int32, string> m_int32 = 29; map<int64, M> m_int64 = 30;
          map<uint64, Color> m_uint64 = 31; map<bool, bytes> m_bool = 32; map<sint64, double> m_sint64 = 33;
          map<fixed32, string> m_fixed32 = 34; map<sfixed64, string> m_sfixed64 = 35;
          oneof choice { string o_string = 36; M o_message = 37; int32 o_int = 38; }
          M nested = 39;
          string custom = 40 [json_name = "customJSON"];
          google.protobuf.Timestamp t_timestamp = 41; google.protobuf.Duration t_duration = 42;
          google.protobuf.Empty t_empty = 43;
          google.protobuf.DoubleValue w_double = 44; google.protobuf.FloatValue w_float = 45;
          google.protobuf.Int64Value w_int64 = 46; google.protobuf.UInt64Value w_uint64 = 47;
          google.protobuf.Int32Value w_int32 = 48; google.protobuf.UInt32Value w_uint32 = 49;
          google.protobuf.BoolValue w_bool = 50; google.protobuf.StringValue w_string = 51;
          google.protobuf.BytesValue w_bytes = 52;
        }
    "#;

    fn message() -> MessageDescriptor {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.proto"), SCHEMA).unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.include_imports(true);
        compiler.open_file("t.proto").unwrap();
        compiler
            .descriptor_pool()
            .get_message_by_name("t.M")
            .unwrap()
    }

    /// The reference path's JSON for `bytes`.
    fn reference(descriptor: &MessageDescriptor, bytes: &[u8], proto_names: bool) -> Vec<u8> {
        let message = DynamicMessage::decode(descriptor.clone(), bytes).unwrap();
        let options = prost_reflect::SerializeOptions::new().use_proto_field_name(proto_names);
        let mut out = Vec::new();
        message
            .serialize_with_options(&mut serde_json::Serializer::new(&mut out), &options)
            .unwrap();
        out
    }

    fn fast(descriptor: &MessageDescriptor, bytes: &[u8], proto_names: bool) -> Vec<u8> {
        let transcoder = Transcoder::new(descriptor, proto_names).unwrap();
        let mut out = Vec::new();
        transcoder.write(bytes, &mut out).unwrap();
        out
    }

    fn encode(descriptor: &MessageDescriptor, value: serde_json::Value) -> Vec<u8> {
        DynamicMessage::deserialize(descriptor.clone(), value)
            .unwrap()
            .encode_to_vec()
    }

    fn same(descriptor: &MessageDescriptor, bytes: &[u8]) {
        for proto_names in [false, true] {
            let expected = reference(descriptor, bytes, proto_names);
            let got = fast(descriptor, bytes, proto_names);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected),
                "byte for byte the reference"
            );
        }
    }

    #[test]
    fn every_supported_type_is_byte_identical_to_the_reference() {
        let m = message();
        for value in [
            json!({}),
            json!({"fDouble": 1.5, "fFloat": -2.25, "fInt32": -7, "fInt64": "-9007199254740993", "fUint32": 4294967295u32,
                   "fUint64": "18446744073709551615", "fSint32": -2147483648, "fSint64": "-9223372036854775808",
                   "fFixed32": 7, "fFixed64": "8", "fSfixed32": -9, "fSfixed64": "-10", "fBool": true,
                   "fString": "h\u{e9}llo \"q\" \\ \u{1} \u{1f} \u{7f} \u{2028} / \u{2603}", "fBytes": "AAEC/w==", "fEnum": "RED"}),
            json!({"fOptional": 0, "fOptionalString": "", "fEnum": 77}),
            json!({"fDouble": "NaN", "fFloat": "Infinity", "rDouble": ["-Infinity", 0.1, 1e300, -0.0, 5e-324]}),
            json!({"fDouble": 1e21, "fFloat": 3.0e38, "rDouble": [1.0, 100.0, 0.000001, 123456789.125]}),
            json!({"rInt64": ["1", "-2", "0"], "rString": ["a", "", "\n"], "rEnum": ["GREEN", 9, "CRIMSON"],
                   "rNested": [{}, {"fString": "x", "rNested": [{"fInt32": 1}]}], "rBytes": ["", "/w=="],
                   "rSint32": [-1, 1, -2147483648], "rFixed64": ["0", "18446744073709551615"], "rBool": [true, false]}),
            json!({"mString": {"k": 0}}),
            json!({"mInt32": {"-5": ""}}),
            json!({"mInt64": {"9007199254740993": {"fBool": true}}}),
            json!({"mUint64": {"1": "RED"}}),
            json!({"mBool": {"true": "AQ=="}}),
            json!({"mSint64": {"-1": 2.5}}),
            json!({"mFixed32": {"7": "x"}}),
            json!({"mSfixed64": {"-7": "y"}}),
            json!({"mInt64": {"1": {}}}),
            json!({"oString": ""}),
            json!({"oMessage": {}}),
            json!({"oInt": 0}),
            json!({"nested": {"nested": {"nested": {"fString": "deep"}}}}),
            json!({"customJSON": "c"}),
            json!({"tTimestamp": "2026-11-24T23:48:30.123456789Z", "tDuration": "-1.500s", "tEmpty": {}}),
            json!({"tTimestamp": "1970-01-01T00:00:00Z", "tDuration": "0s"}),
            json!({"tTimestamp": "0001-01-01T00:00:00.100Z", "tDuration": "315576000000.000001s"}),
            json!({"wDouble": 0.0, "wFloat": 1.5, "wInt64": "-3", "wUint64": "4", "wInt32": 5, "wUint32": 6,
                   "wBool": false, "wString": "", "wBytes": "AQ=="}),
            json!({"wDouble": 2.5, "wInt64": "0", "wString": "s"}),
        ] {
            let bytes = encode(&m, value.clone());
            same(&m, &bytes);
        }
    }

    #[test]
    fn random_values_are_byte_identical_to_the_reference() {
        let m = message();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let a = next();
            let b = next();
            let text: String = (0..(a % 6))
                .map(|i| char::from_u32(((b >> (i * 8)) % 0x3000) as u32).unwrap_or('x'))
                .collect();
            let double = f64::from_bits(a);
            let float = f32::from_bits(a as u32);
            let value = json!({
                "fDouble": if double.is_finite() { double } else { 0.5 },
                "fFloat": if float.is_finite() { float } else { 0.5 },
                "fInt32": a as i32, "fInt64": (a as i64).to_string(), "fUint32": b as u32, "fUint64": b.to_string(),
                "fSint32": (b >> 3) as i32, "fSint64": ((b >> 5) as i64).to_string(), "fFixed32": a as u32 >> 4,
                "fFixed64": (a >> 2).to_string(), "fSfixed32": (b as i32) >> 1, "fSfixed64": ((a as i64) >> 9).to_string(),
                "fBool": a & 1 == 1, "fString": text, "fEnum": (b % 4) as i32,
                "rDouble": [f64::from_bits(b & 0x7fef_ffff_ffff_ffff), (a % 1000) as f64 / 7.0],
                "mString": {"k": a as i32},
            });
            let bytes = encode(&m, value);
            same(&m, &bytes);
        }
    }

    /// Encodings a server may send that prost-reflect never writes.
    #[test]
    fn wire_variants_read_as_the_reference_reads_them() {
        let m = message();
        let tag = |number: u32, wire: u8| {
            let mut key = (number << 3) | u32::from(wire);
            let mut bytes = Vec::new();
            while key >= 0x80 {
                bytes.push((key as u8) | 0x80);
                key >>= 7;
            }
            bytes.push(key as u8);
            bytes
        };
        let mut bytes = Vec::new();
        // An unpacked repeated int64, a scalar given twice (the last wins), an unknown field,
        // two oneof members (the last wins), and a message field given twice (merged).
        for v in [1u8, 2, 3] {
            bytes.extend(tag(19, 0));
            bytes.push(v);
        }
        bytes.extend(tag(3, 0));
        bytes.push(5);
        bytes.extend(tag(3, 0));
        bytes.push(6);
        bytes.extend([0xa8, 0x06, 0x01]); // field 101 (unknown), varint 1
        bytes.extend(tag(36, 2).iter().copied().chain([0x01, b'a']));
        bytes.extend([0xb0, 0x02, 0x07]); // field 38 (o_int), varint 7
        bytes.extend([0xba, 0x02, 0x02, 0x18, 0x01]); // field 39 (nested) {f_int32: 1}
        bytes.extend([0xba, 0x02, 0x02, 0x68, 0x01]); // field 39 (nested) {f_bool: true}
        same(&m, &bytes);

        // A map with a repeated key: the last one wins.
        let mut bytes = Vec::new();
        for (key, value) in [(b'k', 1u8), (b'k', 2)] {
            bytes.extend([0xe2, 0x01, 0x05, 0x0a, 0x01, key, 0x10, value]);
        }
        same(&m, &bytes);
        // A map entry without key or value: both defaults.
        same(&m, &[0xe2, 0x01, 0x00]);
    }

    #[test]
    fn maps_with_several_entries_hold_the_same_json() {
        let m = message();
        let bytes = encode(
            &m,
            json!({"mString": {"a": 1, "b": 2, "c": 3}, "mBool": {"true": "", "false": "AA=="}}),
        );
        let expected: serde_json::Value =
            serde_json::from_slice(&reference(&m, &bytes, false)).unwrap();
        let got: serde_json::Value = serde_json::from_slice(&fast(&m, &bytes, false)).unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn timestamps_are_written_as_prost_types_writes_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut cases = vec![
            (-62_135_596_800, 0),
            (253_402_300_799, 999_999_999),
            (0, 0),
            (951_782_400, 1_000),
            (-1, 5_000_000),
        ];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seconds = (state % 315_537_897_600) as i64 - 62_135_596_800;
            let nanos = match state % 4 {
                0 => 0,
                1 => ((state >> 20) % 1000) as i32 * 1_000_000,
                2 => ((state >> 20) % 1_000_000) as i32 * 1_000,
                _ => ((state >> 20) % 1_000_000_000) as i32,
            };
            cases.push((seconds, nanos));
        }
        for (seconds, nanos) in cases {
            let mut fast = Vec::new();
            rfc3339(seconds, nanos, &mut fast);
            let reference = prost_types::Timestamp { seconds, nanos }.to_string();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                reference,
                "{seconds} {nanos}"
            );
        }
    }

    /// Found by the `wire_to_json` fuzz target: a key with field number 0 (or beyond 32 bits)
    /// was skipped as an unknown field, so the fast path printed a message the reference
    /// refuses ("invalid tag value: 0").
    #[test]
    fn invalid_field_numbers_fall_back_as_the_reference_refuses_them() {
        let m = message();
        let transcoder = Transcoder::new(&m, false).unwrap();
        for bytes in [
            &[0x18, 0x01, 0x00, 0x00][..],
            &[0x02, 0x00],
            &[0x80, 0x80, 0x80, 0x80, 0x10, 0x00],
        ] {
            assert!(
                DynamicMessage::decode(m.clone(), bytes).is_err(),
                "{bytes:?}"
            );
            let mut out = Vec::new();
            assert_eq!(
                transcoder.write(bytes, &mut out),
                Err(Fallback),
                "{bytes:?}"
            );
        }
    }

    /// Found by the `wire_to_json` fuzz target: the fast path read only what it writes, so it
    /// printed messages that the reference refuses for something in a value that does not
    /// count (a string overridden by a later one, a oneof member set before another, a map
    /// value under a key given again), and nested messages had no bound (a server could
    /// overflow the stack). Such messages take the reference path now, which refuses them.
    #[test]
    fn messages_the_reference_refuses_are_not_printed_by_the_fast_path() {
        let m = message();
        let transcoder = Transcoder::new(&m, false).unwrap();
        let mut deep = Vec::new();
        for _ in 0..150 {
            let mut outer = vec![0xba, 0x02];
            prost::encoding::encode_varint(deep.len() as u64, &mut outer);
            outer.extend_from_slice(&deep);
            deep = outer;
        }
        for bytes in [
            // f_string: invalid UTF-8, then "a".
            &[0x72, 0x01, 0xff, 0x72, 0x01, b'a'][..],
            // o_string with invalid UTF-8, then o_int.
            &[0xa2, 0x02, 0x01, 0xff, 0xb0, 0x02, 0x07],
            // m_string {"k": <a length-delimited int32>}, then {"k": 1}.
            &[
                0xe2, 0x01, 0x05, 0x0a, 0x01, b'k', 0x12, 0x00, 0xe2, 0x01, 0x05, 0x0a, 0x01, b'k',
                0x10, 0x01,
            ],
            // nested 150 deep.
            &deep,
            // nested twice: a cut varint, which the second occurrence would complete.
            &[0xba, 0x02, 0x01, 0x98, 0xba, 0x02, 0x02, 0x01, 0x01],
            // t_empty holding a field of wire type 7.
            &[0xda, 0x02, 0x01, 0x0f],
            // f_uint64 as a varint whose tenth byte overflows 64 bits.
            &[
                0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x11,
            ],
        ] {
            assert!(
                DynamicMessage::decode(m.clone(), bytes).is_err(),
                "{bytes:?}"
            );
            let mut out = Vec::new();
            assert_eq!(
                transcoder.write(bytes, &mut out),
                Err(Fallback),
                "{bytes:?}"
            );
        }
        // 60 deep is fine for both.
        let mut nested = Vec::new();
        for _ in 0..60 {
            let mut outer = vec![0xba, 0x02];
            prost::encoding::encode_varint(nested.len() as u64, &mut outer);
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        same(&m, &nested);
    }

    #[test]
    fn what_it_does_not_cover_falls_back() {
        let pool = DescriptorPool::global();
        let any = pool.get_message_by_name("google.protobuf.Any").unwrap();
        assert!(Transcoder::new(&any, false).is_none());
        let m = message();
        let transcoder = Transcoder::new(&m, false).unwrap();
        let mut out = Vec::new();
        // Invalid UTF-8 in a string, a truncated varint, a group.
        for bytes in [&[0x72, 0x01, 0xff][..], &[0x18, 0x80][..], &[0x1b][..]] {
            out.clear();
            assert_eq!(
                transcoder.write(bytes, &mut out),
                Err(Fallback),
                "{bytes:?}"
            );
        }
    }
}
