//! One JSON value of a scalar type, as prost-reflect's deserializer reads it (its visitors,
//! rule for rule: which JSON types each protobuf type takes, ranges, rounding, base64), and
//! as the reference path reads quoted integers (plain digits, else a whole decimal in any
//! spelling, see `numbers`). Anything these rules refuse stops the fast path.

use std::borrow::Cow;
use std::str::FromStr;

use super::Stop;
use super::json::{Next, NumberText, Reader};
use super::plan::{EnumPlan, Scalar};

/// A scalar ready to encode, and whether it is its type's default value (which a field without
/// presence leaves out).
#[derive(Debug)]
pub(super) struct ScalarValue<'a> {
    pub(super) wire: Wire<'a>,
    pub(super) default: bool,
}

#[derive(Debug)]
pub(super) enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    /// UTF-8, checked.
    Text(Cow<'a, [u8]>),
    Bytes(Vec<u8>),
}

/// A JSON number as serde_json hands it to a visitor: a non-negative integer that fits a u64,
/// a negative one that fits an i64, else a double (`-0` is the double -0.0).
#[derive(Debug, Clone, Copy)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

fn number(number: NumberText<'_>) -> Result<Number, Stop> {
    if number.integer {
        let (negative, digits) = match number.text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, number.text),
        };
        if let Ok(magnitude) = digits.parse::<u64>() {
            if !negative {
                return Ok(Number::U64(magnitude));
            }
            let negated = (magnitude as i64).wrapping_neg();
            return Ok(if negated >= 0 {
                Number::F64(-(magnitude as f64))
            } else {
                Number::I64(negated)
            });
        }
    }
    // serde_json refuses a number out of a double's range.
    match number.text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Number::F64(value)),
        _ => Err(Stop::Fallback),
    }
}

/// An integer type as prost-reflect's integer visitors take it.
trait Integer: Sized + Copy + FromStr + TryFrom<u64> + TryFrom<i64> {
    const MIN_F64: f64;
    const MAX_F64: f64;
    fn saturating_from(value: f64) -> Self;

    fn from_number(number: Number) -> Option<Self> {
        match number {
            Number::U64(value) => Self::try_from(value).ok(),
            Number::I64(value) => Self::try_from(value).ok(),
            Number::F64(value) => {
                if value.fract() != 0.0 || value < Self::MIN_F64 || value > Self::MAX_F64 {
                    None
                } else {
                    Some(Self::saturating_from(value))
                }
            }
        }
    }

    /// A quoted integer: plain digits, else a whole decimal written with a fraction or an
    /// exponent (what the reference path rewrites as digits).
    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok().or_else(|| {
            crate::invoke::numbers::whole_decimal(text).and_then(|digits| digits.parse().ok())
        })
    }
}

macro_rules! integer {
    ($type:ty) => {
        impl Integer for $type {
            const MIN_F64: f64 = <$type>::MIN as f64;
            const MAX_F64: f64 = <$type>::MAX as f64;
            fn saturating_from(value: f64) -> Self {
                value as $type
            }
        }
    };
}
integer!(i32);
integer!(i64);
integer!(u32);
integer!(u64);

fn integer<T: Integer>(reader: &mut Reader<'_>) -> Result<T, Stop> {
    match reader.peek()? {
        Next::Number => T::from_number(number(reader.number()?)?).ok_or(Stop::Fallback),
        Next::String => T::from_text(&reader.string()?).ok_or(Stop::Fallback),
        _ => Err(Stop::Fallback),
    }
}

fn double(reader: &mut Reader<'_>) -> Result<f64, Stop> {
    match reader.peek()? {
        Next::Number => Ok(match number(reader.number()?)? {
            Number::U64(value) => value as f64,
            Number::I64(value) => value as f64,
            Number::F64(value) => value,
        }),
        Next::String => {
            let text = reader.string()?;
            match f64::from_str(&text) {
                Ok(value) => Ok(value),
                Err(_) if text == "Infinity" => Ok(f64::INFINITY),
                Err(_) if text == "-Infinity" => Ok(f64::NEG_INFINITY),
                Err(_) if text == "NaN" => Ok(f64::NAN),
                Err(_) => Err(Stop::Fallback),
            }
        }
        _ => Err(Stop::Fallback),
    }
}

fn float(reader: &mut Reader<'_>) -> Result<f32, Stop> {
    match reader.peek()? {
        Next::Number => match number(reader.number()?)? {
            Number::U64(value) => Ok(value as f32),
            Number::I64(value) => Ok(value as f32),
            Number::F64(value) if value < f64::from(f32::MIN) || value > f64::from(f32::MAX) => {
                Err(Stop::Fallback)
            }
            Number::F64(value) => Ok(value as f32),
        },
        Next::String => {
            let text = reader.string()?;
            match f32::from_str(&text) {
                Ok(value) => Ok(value),
                Err(_) if text == "Infinity" => Ok(f32::INFINITY),
                Err(_) if text == "-Infinity" => Ok(f32::NEG_INFINITY),
                Err(_) if text == "NaN" => Ok(f32::NAN),
                Err(_) => Err(Stop::Fallback),
            }
        }
        _ => Err(Stop::Fallback),
    }
}

fn enumeration(reader: &mut Reader<'_>, plan: &EnumPlan) -> Result<i32, Stop> {
    match reader.peek()? {
        // An unknown name is an error, or (with unknown fields allowed) a value left out:
        // either way the reference path's to decide.
        Next::String => {
            let name = reader.text()?;
            if plan.null {
                return if name.as_ref() == b"NULL_VALUE" {
                    Ok(0)
                } else {
                    Err(Stop::Fallback)
                };
            }
            plan.numbers
                .get(name.as_ref())
                .copied()
                .ok_or(Stop::Fallback)
        }
        Next::Null if plan.null => reader.literal(b"null").map(|()| 0),
        Next::Number if !plan.null => match number(reader.number()?)? {
            Number::U64(value) => i32::try_from(value).map_err(|_| Stop::Fallback),
            Number::I64(value) => i32::try_from(value).map_err(|_| Stop::Fallback),
            Number::F64(_) => Err(Stop::Fallback),
        },
        _ => Err(Stop::Fallback),
    }
}

/// Standard or URL-safe base64, padded or not, as prost-reflect decodes it.
fn base64(text: &[u8]) -> Result<Vec<u8>, Stop> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::{DecodeError, Engine as _, alphabet};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let mut bytes = Vec::new();
    match STANDARD.decode_vec(text, &mut bytes) {
        Ok(()) => Ok(bytes),
        Err(DecodeError::InvalidByte(_, b'-' | b'_')) => {
            bytes.clear();
            URL_SAFE
                .decode_vec(text, &mut bytes)
                .map(|()| bytes)
                .map_err(|_| Stop::Fallback)
        }
        Err(_) => Err(Stop::Fallback),
    }
}

/// Reads one value of `scalar`; `default_enum` is the default of an enum field.
pub(super) fn read<'a>(
    reader: &mut Reader<'a>,
    scalar: Scalar,
    enums: &[EnumPlan],
    default_enum: i32,
) -> Result<ScalarValue<'a>, Stop> {
    let varint = |value: u64| ScalarValue {
        wire: Wire::Varint(value),
        default: value == 0,
    };
    Ok(match scalar {
        Scalar::Double => {
            let value = double(reader)?;
            ScalarValue {
                wire: Wire::Fixed64(value.to_bits()),
                default: value == 0.0,
            }
        }
        Scalar::Float => {
            let value = float(reader)?;
            ScalarValue {
                wire: Wire::Fixed32(value.to_bits()),
                default: value == 0.0,
            }
        }
        Scalar::Int32 => varint(integer::<i32>(reader)? as i64 as u64),
        Scalar::Int64 => varint(integer::<i64>(reader)? as u64),
        Scalar::Uint32 => varint(u64::from(integer::<u32>(reader)?)),
        Scalar::Uint64 => varint(integer::<u64>(reader)?),
        Scalar::Sint32 => {
            let value = integer::<i32>(reader)?;
            varint(u64::from(((value << 1) ^ (value >> 31)) as u32))
        }
        Scalar::Sint64 => {
            let value = integer::<i64>(reader)?;
            varint(((value << 1) ^ (value >> 63)) as u64)
        }
        Scalar::Fixed32 => {
            let value = integer::<u32>(reader)?;
            ScalarValue {
                wire: Wire::Fixed32(value),
                default: value == 0,
            }
        }
        Scalar::Sfixed32 => {
            let value = integer::<i32>(reader)?;
            ScalarValue {
                wire: Wire::Fixed32(value as u32),
                default: value == 0,
            }
        }
        Scalar::Fixed64 => {
            let value = integer::<u64>(reader)?;
            ScalarValue {
                wire: Wire::Fixed64(value),
                default: value == 0,
            }
        }
        Scalar::Sfixed64 => {
            let value = integer::<i64>(reader)?;
            ScalarValue {
                wire: Wire::Fixed64(value as u64),
                default: value == 0,
            }
        }
        Scalar::Bool => match reader.peek()? {
            Next::True => reader.literal(b"true").map(|()| varint(1))?,
            Next::False => reader.literal(b"false").map(|()| varint(0))?,
            _ => return Err(Stop::Fallback),
        },
        Scalar::String => {
            if reader.peek()? != Next::String {
                return Err(Stop::Fallback);
            }
            let text = reader.text()?;
            ScalarValue {
                default: text.is_empty(),
                wire: Wire::Text(text),
            }
        }
        Scalar::Bytes => {
            if reader.peek()? != Next::String {
                return Err(Stop::Fallback);
            }
            let bytes = base64(&reader.text()?)?;
            ScalarValue {
                default: bytes.is_empty(),
                wire: Wire::Bytes(bytes),
            }
        }
        Scalar::Enum(index) => {
            let plan = enums.get(index).ok_or(Stop::Fallback)?;
            let value = enumeration(reader, plan)?;
            ScalarValue {
                wire: Wire::Varint(value as i64 as u64),
                default: value == default_enum,
            }
        }
    })
}

/// A map key, from the JSON text of an object's key, as prost-reflect reads it (`FromStr`:
/// plain digits, `true`/`false`).
pub(super) fn map_key<'a>(key: Cow<'a, [u8]>, scalar: Scalar) -> Result<ScalarValue<'a>, Stop> {
    fn parse<T: FromStr>(key: &[u8]) -> Result<T, Stop> {
        std::str::from_utf8(key)
            .ok()
            .and_then(|key| key.parse().ok())
            .ok_or(Stop::Fallback)
    }
    let varint = |value: u64| ScalarValue {
        wire: Wire::Varint(value),
        default: value == 0,
    };
    Ok(match scalar {
        Scalar::Int32 => varint(parse::<i32>(&key)? as i64 as u64),
        Scalar::Int64 => varint(parse::<i64>(&key)? as u64),
        Scalar::Uint32 => varint(u64::from(parse::<u32>(&key)?)),
        Scalar::Uint64 => varint(parse::<u64>(&key)?),
        Scalar::Sint32 => {
            let value = parse::<i32>(&key)?;
            varint(u64::from(((value << 1) ^ (value >> 31)) as u32))
        }
        Scalar::Sint64 => {
            let value = parse::<i64>(&key)?;
            varint(((value << 1) ^ (value >> 63)) as u64)
        }
        Scalar::Fixed32 => {
            let value = parse::<u32>(&key)?;
            ScalarValue {
                wire: Wire::Fixed32(value),
                default: value == 0,
            }
        }
        Scalar::Sfixed32 => {
            let value = parse::<i32>(&key)?;
            ScalarValue {
                wire: Wire::Fixed32(value as u32),
                default: value == 0,
            }
        }
        Scalar::Fixed64 => {
            let value = parse::<u64>(&key)?;
            ScalarValue {
                wire: Wire::Fixed64(value),
                default: value == 0,
            }
        }
        Scalar::Sfixed64 => {
            let value = parse::<i64>(&key)?;
            ScalarValue {
                wire: Wire::Fixed64(value as u64),
                default: value == 0,
            }
        }
        Scalar::Bool => varint(u64::from(parse::<bool>(&key)?)),
        Scalar::String => ScalarValue {
            default: key.is_empty(),
            wire: Wire::Text(key),
        },
        Scalar::Double | Scalar::Float | Scalar::Bytes | Scalar::Enum(_) => {
            return Err(Stop::Fallback);
        }
    })
}
