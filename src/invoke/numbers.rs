//! Integers as the protobuf JSON mapping accepts them: a number or a string, in decimal,
//! with a fraction or an exponent as long as the value is whole (`"2e1"`, `"1E3"`, `"2.0"`).
//! prost-reflect reads quoted integers with Rust's `parse`, which takes plain digits only, so
//! such strings are rewritten as plain digits, guided by the message's schema (a string field
//! holding `"2e1"` keeps it), before the message is read.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

use crate::well_known::{WellKnown, Wrapped};

/// The longest integer text worth writing out: more digits are out of range for any field
/// anyway, and are left as they are for the range error to name.
const MAX_DIGITS: usize = 24;

/// Rewrites, in `value` (a JSON object for `message`), every integer written as a whole
/// decimal with a fraction or an exponent as plain digits. Returns whether anything changed.
pub fn plain_integers(message: &MessageDescriptor, value: &mut Value) -> bool {
    let Value::Object(object) = value else {
        return false;
    };
    let mut changed = false;
    for (key, value) in object.iter_mut() {
        let field = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key));
        if let Some(field) = field {
            changed |= field_value(&field, value);
        }
    }
    changed
}

fn field_value(field: &FieldDescriptor, value: &mut Value) -> bool {
    if field.is_map() {
        let (Kind::Message(entry), Value::Object(entries)) = (field.kind(), value) else {
            return false;
        };
        let kind = entry.map_entry_value_field().kind();
        let mut changed = false;
        for value in entries.values_mut() {
            changed |= single(&kind, value);
        }
        return changed;
    }
    if field.is_list()
        && let Value::Array(items) = value
    {
        let kind = field.kind();
        let mut changed = false;
        for item in items {
            changed |= single(&kind, item);
        }
        return changed;
    }
    single(&field.kind(), value)
}

fn single(kind: &Kind, value: &mut Value) -> bool {
    match kind {
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Fixed32
        | Kind::Fixed64
        | Kind::Sfixed32
        | Kind::Sfixed64 => plain(value),
        Kind::Message(message) => match WellKnown::of(message.full_name()) {
            Some(WellKnown::Wrapper(
                Wrapped::Int32 | Wrapped::Int64 | Wrapped::UInt32 | Wrapped::UInt64,
            )) => plain(value),
            // Their JSON forms hold no fields of a schema's messages.
            Some(_) => false,
            None => plain_integers(message, value),
        },
        _ => false,
    }
}

/// `value` as plain digits, when it is a string of a whole decimal that is not plain already.
fn plain(value: &mut Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    match whole_decimal(text) {
        Some(digits) if digits != *text => {
            *text = digits;
            true
        }
        _ => false,
    }
}

/// The plain digits of `text` (`[-]DIGITS[.DIGITS][(e|E)[+-]DIGITS]`) when its value is whole;
/// `None` when it is not such a number, not whole, or too long to be any field's value.
pub(super) fn whole_decimal(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // The value is DIGITS × 10^shift.
    let mut digits = format!("{whole}{fraction}");
    let shift = i64::from(exponent) - i64::try_from(fraction.len()).ok()?;
    if shift >= 0 {
        let zeros = usize::try_from(shift).ok()?;
        if digits.len().saturating_add(zeros) > MAX_DIGITS + 8 {
            return None;
        }
        digits.extend(std::iter::repeat_n('0', zeros));
    } else {
        let cut = usize::try_from(-shift).ok()?;
        let keep = digits.len().checked_sub(cut)?;
        if !all_digits(&digits[keep..]) || digits[keep..].bytes().any(|b| b != b'0') {
            return None;
        }
        digits.truncate(keep);
    }
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if digits.len() > MAX_DIGITS {
        return None;
    }
    Some(if negative && digits != "0" {
        format!("-{digits}")
    } else {
        digits.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_decimals_in_every_spelling() {
        for (text, plain) in [
            ("2e1", "20"),
            ("1E3", "1000"),
            ("2.0", "2"),
            ("-2.50e1", "-25"),
            ("1e+2", "100"),
            ("1500e-2", "15"),
            ("-0", "0"),
            ("0.0e5", "0"),
            ("007", "7"),
            ("9223372036854775807", "9223372036854775807"),
        ] {
            assert_eq!(whole_decimal(text).as_deref(), Some(plain), "{text}");
        }
        for text in [
            "1.5", "1e-1", "abc", "", "1e", ".5", "--1", "1e999999", "NaN",
        ] {
            assert_eq!(whole_decimal(text), None, "{text}");
        }
    }
}
