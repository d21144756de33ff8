//! Reading the protobuf wire format: field keys, varints, fixed-width values and length-
//! delimited data, by position in a message's bytes, without decoding into a message.

use super::Fallback;
use super::plan::{MessagePlan, Scalar};

/// One field occurrence in a message's bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) field: usize,
    /// Where it was on the wire, for "the last one wins".
    pub(super) position: usize,
    pub(super) wire: u8,
    /// The varint or fixed value, or the start of length-delimited data.
    pub(super) value: u64,
    pub(super) end: usize,
}

pub(super) fn packable(scalar: Scalar) -> bool {
    !matches!(scalar, Scalar::String | Scalar::Bytes)
}

pub(super) fn packed_element(
    scalar: Scalar,
    data: &[u8],
    at: usize,
) -> Result<(Entry, usize), Fallback> {
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
pub(super) fn le_bytes<const N: usize>(
    bytes: &[u8],
    at: usize,
    end: usize,
) -> Result<[u8; N], Fallback> {
    let slice = bytes.get(at..end).ok_or(Fallback)?;
    slice.try_into().map_err(|_| Fallback)
}

pub(super) fn varint_of(entry: &Entry) -> Result<u64, Fallback> {
    if entry.wire == 0 {
        Ok(entry.value)
    } else {
        Err(Fallback)
    }
}

pub(super) fn fixed32_of(entry: &Entry) -> Result<u32, Fallback> {
    if entry.wire == 5 {
        u32::try_from(entry.value).map_err(|_| Fallback)
    } else {
        Err(Fallback)
    }
}

pub(super) fn fixed64_of(entry: &Entry) -> Result<u64, Fallback> {
    if entry.wire == 1 {
        Ok(entry.value)
    } else {
        Err(Fallback)
    }
}

pub(super) fn delimited<'a>(entry: &Entry, bytes: &'a [u8]) -> Result<&'a [u8], Fallback> {
    if entry.wire != 2 {
        return Err(Fallback);
    }
    let start = usize::try_from(entry.value).map_err(|_| Fallback)?;
    bytes.get(start..entry.end).ok_or(Fallback)
}

pub(super) fn read_varint(bytes: &[u8], mut at: usize) -> Result<(u64, usize), Fallback> {
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
pub(super) fn read_entry(bytes: &[u8], at: usize) -> Result<(u32, Entry, usize), Fallback> {
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
pub(super) fn read_entries(
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
