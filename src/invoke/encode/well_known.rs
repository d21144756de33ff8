//! Timestamp and Duration from their JSON strings, exactly as prost-reflect reads them: the
//! same strict RFC 3339 check (its rules, rewritten here), the same parsers (prost-types') and
//! the same ranges.

use std::str::FromStr;

use super::Stop;

/// The range prost-reflect accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
const MAX_DURATION_SECONDS: u64 = 315_576_000_000;
const MAX_DURATION_NANOS: u32 = 999_999_999;

/// A timestamp's seconds and nanos.
pub(super) fn timestamp(text: &str) -> Result<(i64, i32), Stop> {
    if !strict_rfc3339(text) {
        return Err(Stop::Fallback);
    }
    let timestamp = prost_types::Timestamp::from_str(text).map_err(|_| Stop::Fallback)?;
    if timestamp.seconds < MIN_TIMESTAMP_SECONDS || MAX_TIMESTAMP_SECONDS < timestamp.seconds {
        return Err(Stop::Fallback);
    }
    Ok((timestamp.seconds, timestamp.nanos))
}

/// A duration's seconds and nanos.
pub(super) fn duration(text: &str) -> Result<(i64, i32), Stop> {
    let duration = prost_types::Duration::from_str(text).map_err(|_| Stop::Fallback)?;
    if duration.seconds.unsigned_abs() > MAX_DURATION_SECONDS
        || duration.nanos.unsigned_abs() > MAX_DURATION_NANOS
    {
        return Err(Stop::Fallback);
    }
    Ok((duration.seconds, duration.nanos))
}

/// `YYYY-MM-DDTHH:MM:SS[.F+](Z|±HH:MM)`, with upper-case `T` and `Z`, as prost-reflect checks
/// before it parses (the conformance tests' rule).
fn strict_rfc3339(text: &str) -> bool {
    let mut bytes = text.bytes().peekable();
    let digits = |count: usize, bytes: &mut std::iter::Peekable<std::str::Bytes<'_>>| {
        (0..count).all(|_| bytes.next_if(u8::is_ascii_digit).is_some())
    };
    let byte = |wanted: u8, bytes: &mut std::iter::Peekable<std::str::Bytes<'_>>| {
        bytes.next_if_eq(&wanted).is_some()
    };
    let date = digits(4, &mut bytes)
        && byte(b'-', &mut bytes)
        && digits(2, &mut bytes)
        && byte(b'-', &mut bytes)
        && digits(2, &mut bytes);
    let time = date
        && byte(b'T', &mut bytes)
        && digits(2, &mut bytes)
        && byte(b':', &mut bytes)
        && digits(2, &mut bytes)
        && byte(b':', &mut bytes)
        && digits(2, &mut bytes);
    if !time {
        return false;
    }
    if byte(b'.', &mut bytes) {
        if !digits(1, &mut bytes) {
            return false;
        }
        while digits(1, &mut bytes) {}
    }
    let zone = if bytes.next_if(|&b| b == b'+' || b == b'-').is_some() {
        digits(2, &mut bytes) && byte(b':', &mut bytes) && digits(2, &mut bytes)
    } else {
        byte(b'Z', &mut bytes)
    };
    zone && bytes.peek().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// prost-reflect's own cases for its check.
    #[test]
    fn the_strict_check_takes_what_prost_reflect_takes() {
        for valid in [
            "1972-06-30T23:59:60Z",
            "2019-03-26T14:00:00.9Z",
            "2019-03-26T14:00:00.4999Z",
            "2019-03-26T14:00:00.4999+10:00",
        ] {
            assert!(strict_rfc3339(valid), "{valid}");
        }
        for invalid in [
            "2019-03-26t14:00Z",
            "2019-03-26T14:00z",
            "2019-03-26T14:00:00,999Z",
            "2019-03-26T10:00-04",
            "2019-03-26T14:00.9Z",
            "20190326T1400Z",
            "2019-02-30",
            "2019-03-25T24:01Z",
            "2019-03-26T14:00+24:00",
            "2019-03-26Z",
            "2019-03-26+01:00",
            "2019-03-26-04:00",
            "2019-03-26T10:00-0400",
            "+0002019-03-26T14:00Z",
            "+2019-03-26T14:00Z",
            "002019-03-26T14:00Z",
            "019-03-26T14:00Z",
            "2019-03-26T10:00Q",
            "2019-03-26T10:00T",
            "2019-03-26Q",
            "2019-03-26T",
            "2019-03-26 14:00Z",
            "2019-03-26T14:00:00.",
            "2019-03-26T14:00:00Zx",
        ] {
            assert!(!strict_rfc3339(invalid), "{invalid}");
        }
    }
}
