//! Writing the protobuf wire format: keys, varints, fixed-width values, and lengths written
//! after the body they measure.

use super::values::Wire;

/// The wire type of length-delimited data.
pub(super) const LEN: u8 = 2;

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_length(value: u64) -> usize {
    // Each byte holds 7 bits; zero takes one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

pub(super) fn put_key(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

pub(super) fn put_scalar(out: &mut Vec<u8>, value: Wire<'_>) {
    match value {
        Wire::Varint(value) => put_varint(out, value),
        Wire::Fixed32(value) => out.extend_from_slice(&value.to_le_bytes()),
        Wire::Fixed64(value) => out.extend_from_slice(&value.to_le_bytes()),
        Wire::Text(text) => {
            put_varint(out, text.len() as u64);
            out.extend_from_slice(&text);
        }
        Wire::Bytes(bytes) => {
            put_varint(out, bytes.len() as u64);
            out.extend_from_slice(&bytes);
        }
    }
}

/// Leaves room for a length (one byte, the usual case); returns where the body starts.
pub(super) fn reserve_length(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len()
}

/// Writes the length of the body written since `body` in the room left before it, moving the
/// body when the length takes more than one byte.
pub(super) fn finish_length(out: &mut Vec<u8>, body: usize) {
    let length = out.len() - body;
    if length < 0x80 {
        if let Some(slot) = out.get_mut(body - 1) {
            *slot = length as u8;
        }
        return;
    }
    let size = varint_length(length as u64);
    let end = out.len();
    out.resize(end + size - 1, 0);
    out.copy_within(body..end, body + size - 1);
    let mut prefix = [0u8; 10];
    let mut value = length as u64;
    for slot in prefix.iter_mut().take(size) {
        *slot = (value as u8 & 0x7f) | if value >= 0x80 { 0x80 } else { 0 };
        value >>= 7;
    }
    if let (Some(room), Some(prefix)) = (out.get_mut(body - 1..body - 1 + size), prefix.get(..size))
    {
        room.copy_from_slice(prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_every_size_are_written_before_their_body() {
        for length in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut out = vec![7];
            let body = reserve_length(&mut out);
            out.extend(std::iter::repeat_n(0xab, length));
            finish_length(&mut out, body);
            let mut expected = vec![7];
            prost::encoding::encode_varint(length as u64, &mut expected);
            expected.extend(std::iter::repeat_n(0xab, length));
            assert_eq!(out, expected, "{length}");
            assert_eq!(
                varint_length(length as u64),
                prost::encoding::encoded_len_varint(length as u64)
            );
        }
        assert_eq!(varint_length(u64::MAX), 10);
    }
}
