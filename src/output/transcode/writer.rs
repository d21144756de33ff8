//! Writing a planned message as compact JSON, field by field, as the reference path writes it.

use base64::Engine as _;

use super::plan::{FieldPlan, MessageKind, MessagePlan, Scalar, ValueKind};
use super::well_known::{write_duration, write_timestamp};
use super::wire::{
    Entry, delimited, fixed32_of, fixed64_of, packable, packed_element, read_entries, read_entry,
    varint_of,
};
use super::{Fallback, MAX_DEPTH, Transcoder};

impl Transcoder {
    pub(super) fn write_message(
        &self,
        index: usize,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fallback> {
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
