//! Per-call values in request data and metadata, with ghz's names: `{{.RequestNumber}}`,
//! `{{.WorkerID}}`, `{{.TimestampUnix}}`, `{{newUUID}}`, `{{randomInt 1 100}}` … The text is a
//! template as a whole (a value may stand where a JSON number goes), rendered for each call;
//! text without `{{` is no template and is encoded once.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a call's values come from.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The call's number in the run, from 0 (a shard's numbers interleave with the others').
    pub request_number: u64,
    pub worker_id: u64,
    /// The method's full name, `pkg.Service.Method`.
    pub method: &'a str,
}

/// A parsed template: text and the values between it.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    RequestNumber,
    WorkerId,
    FullyQualifiedName,
    MethodName,
    ServiceName,
    Timestamp,
    TimestampUnix,
    TimestampUnixMilli,
    TimestampUnixNano,
    /// The call's UUID: the same wherever `.UUID` stands in one call's data and metadata.
    CallUuid,
    NewUuid,
    RandomInt(i64, i64),
    RandomString(usize),
}

/// The names a template may use, for the error that meets another.
const KNOWN: &str = ".RequestNumber, .WorkerID, .FullyQualifiedName, .MethodName, .ServiceName, .Timestamp, .TimestampUnix, .TimestampUnixMilli, .TimestampUnixNano, .UUID, newUUID, randomInt MIN MAX, randomString LENGTH";

impl Template {
    /// `text` as a template, `None` when it has no `{{`.
    pub fn parse(text: &str) -> Result<Option<Template>, String> {
        if !text.contains("{{") {
            return Ok(None);
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("`{{{{` without its `}}}}` in `{}`", clip(rest)))?;
            pieces.push(Piece::Value(value(after[..close].trim())?));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Some(Template { pieces }))
    }

    /// The text for one call, appended to `out`.
    pub fn render(&self, call: &CallContext<'_>, values: &mut CallValues, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(value) => write_value(value, call, values, out),
            }
        }
    }
}

fn clip(text: &str) -> &str {
    let end = text.char_indices().nth(40).map_or(text.len(), |(at, _)| at);
    &text[..end]
}

fn value(action: &str) -> Result<Value, String> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let number = |word: Option<&&str>| -> Result<i64, String> {
        word.and_then(|word| word.parse().ok()).ok_or_else(|| {
            format!("`{{{{{action}}}}}` needs whole numbers, e.g. {{{{randomInt 1 100}}}}")
        })
    };
    Ok(match words.as_slice() {
        [".RequestNumber"] => Value::RequestNumber,
        [".WorkerID" | ".WorkerId"] => Value::WorkerId,
        [".FullyQualifiedName"] => Value::FullyQualifiedName,
        [".MethodName"] => Value::MethodName,
        [".ServiceName"] => Value::ServiceName,
        [".Timestamp"] => Value::Timestamp,
        [".TimestampUnix"] => Value::TimestampUnix,
        [".TimestampUnixMilli"] => Value::TimestampUnixMilli,
        [".TimestampUnixNano"] => Value::TimestampUnixNano,
        [".UUID"] => Value::CallUuid,
        ["newUUID"] => Value::NewUuid,
        ["randomInt", ..] if words.len() == 3 => {
            let (low, high) = (number(words.get(1))?, number(words.get(2))?);
            if high <= low {
                return Err(format!(
                    "`{{{{{action}}}}}`: randomInt MIN MAX gives MIN up to MAX - 1, so MAX must be above MIN"
                ));
            }
            Value::RandomInt(low, high)
        }
        ["randomString", length] => Value::RandomString(
            length
                .parse()
                .ok()
                .filter(|length| *length > 0 && *length <= 4096)
                .ok_or_else(|| {
                    format!("`{{{{{action}}}}}`: randomString takes a length from 1 to 4096")
                })?,
        ),
        _ => {
            return Err(format!(
                "`{{{{{action}}}}}` is not a template value; use one of {KNOWN}"
            ));
        }
    })
}

fn write_value(value: &Value, call: &CallContext<'_>, values: &mut CallValues, out: &mut String) {
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    };
    let (service, method) = call.method.rsplit_once('.').unwrap_or(("", call.method));
    let _ = match value {
        Value::RequestNumber => write!(out, "{}", call.request_number),
        Value::WorkerId => write!(out, "{}", call.worker_id),
        Value::FullyQualifiedName => write!(out, "{service}/{method}"),
        Value::MethodName => write!(out, "{method}"),
        Value::ServiceName => write!(out, "{service}"),
        Value::Timestamp => write!(out, "{}", rfc3339(now())),
        Value::TimestampUnix => write!(out, "{}", now().as_secs()),
        Value::TimestampUnixMilli => write!(out, "{}", now().as_millis()),
        Value::TimestampUnixNano => write!(out, "{}", now().as_nanos()),
        Value::CallUuid => {
            let uuid = match values.call_uuid {
                Some(uuid) => uuid,
                None => {
                    let uuid = values.random.uuid();
                    values.call_uuid = Some(uuid);
                    uuid
                }
            };
            write_uuid(uuid, out)
        }
        Value::NewUuid => {
            let uuid = values.random.uuid();
            write_uuid(uuid, out)
        }
        Value::RandomInt(low, high) => {
            let span = high.abs_diff(*low);
            let offset = values.random.next() % span;
            write!(out, "{}", low.saturating_add_unsigned(offset))
        }
        Value::RandomString(length) => {
            const LETTERS: &[u8] =
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            for _ in 0..*length {
                let index = usize::try_from(values.random.next() % LETTERS.len() as u64)
                    .unwrap_or_default();
                out.push(char::from(LETTERS.get(index).copied().unwrap_or(b'a')));
            }
            Ok(())
        }
    };
}

fn write_uuid(bytes: [u8; 16], out: &mut String) -> std::fmt::Result {
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        write!(out, "{byte:02x}")?;
    }
    Ok(())
}

/// `2026-12-02T15:04:05Z` (UTC, to the second), as ghz's `.Timestamp`: the protobuf
/// Timestamp's own RFC 3339 form.
pub fn rfc3339(since_epoch: std::time::Duration) -> String {
    prost_types::Timestamp {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nanos: 0,
    }
    .to_string()
}

/// What one worker's templates draw on: its random numbers, and the current call's UUID.
#[derive(Debug)]
pub struct CallValues {
    random: Random,
    call_uuid: Option<[u8; 16]>,
}

impl CallValues {
    pub fn new(seed: u64) -> CallValues {
        CallValues {
            random: Random::new(seed),
            call_uuid: None,
        }
    }

    /// A new call begins: its `.UUID` is new.
    pub fn next_call(&mut self) {
        self.call_uuid = None;
    }
}

/// xorshift64*: fast and good enough for test data (not for secrets).
#[derive(Debug)]
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Random {
        Random(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A version 4 UUID.
    fn uuid(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, number: u64) -> String {
        let template = Template::parse(text).unwrap().unwrap();
        let mut out = String::new();
        let call = CallContext {
            request_number: number,
            worker_id: 3,
            method: "grpcx.demo.v1.ItemService.GetItem",
        };
        template.render(&call, &mut CallValues::new(7), &mut out);
        out
    }

    #[test]
    fn values_fill_in_per_call() {
        assert_eq!(Template::parse(r#"{"id": 1}"#).unwrap(), None);
        assert_eq!(
            render(r#"{"id": {{.RequestNumber}}, "w": "{{ .WorkerID }}"}"#, 41),
            r#"{"id": 41, "w": "3"}"#
        );
        assert_eq!(
            render(
                "{{.ServiceName}} {{.MethodName}} {{.FullyQualifiedName}}",
                0
            ),
            "grpcx.demo.v1.ItemService GetItem grpcx.demo.v1.ItemService/GetItem"
        );
        let uuids = render("{{.UUID}} {{.UUID}} {{newUUID}}", 0);
        let parts: Vec<&str> = uuids.split(' ').collect();
        assert_eq!(parts[0], parts[1]);
        assert_ne!(parts[0], parts[2]);
        assert_eq!(parts[2].len(), 36);
        assert_eq!(parts[2].as_bytes()[14], b'4');
        for _ in 0..50 {
            let number: i64 = render("{{randomInt 5 8}}", 0).parse().unwrap();
            assert!((5..8).contains(&number), "{number}");
        }
        assert_eq!(render("{{randomString 12}}", 0).len(), 12);
        let unix: u64 = render("{{.TimestampUnix}}", 0).parse().unwrap();
        assert!(unix > 1_700_000_000);
        assert!(render("{{.Timestamp}}", 0).ends_with('Z'));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("{{.Nope}}", "not a template value"),
            ("{{randomInt 5 5}}", "above MIN"),
            ("{{randomInt a 5}}", "whole numbers"),
            ("{{randomString 0}}", "length"),
            ("{{.RequestNumber", "without its"),
        ] {
            let error = Template::parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn dates_are_the_calendars() {
        assert_eq!(
            rfc3339(std::time::Duration::from_secs(0)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(std::time::Duration::from_secs(1_798_761_600)),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(std::time::Duration::from_secs(951_782_400 + 3661)),
            "2000-02-29T01:01:01Z"
        );
    }
}
