//! The fast path against the reference path (`input::from_raw`: prost-reflect's serde after
//! `numbers`): on every message of the fixtures, with random JSON of every field type in
//! every spelling the mapping allows and many it does not, whatever the reference reads the
//! fast path encodes to bytes that decode to the same message (the same bytes, where no map
//! holds two entries), and whatever the reference refuses the fast path refuses too.

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions,
};

use super::{Encoder, Stop};
use crate::invoke::input::{JsonInput, from_raw};
use crate::well_known::{WellKnown, Wrapped};

/// How the fast path did on one input.
#[derive(Debug, Default)]
struct Tally {
    encoded: usize,
    fell_back: usize,
    refused: usize,
}

/// The message as canonical JSON: maps unordered, NaN and -0.0 kept apart from 0.0.
fn canonical(message: &DynamicMessage) -> serde_json::Value {
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or_else(|err| serde_json::json!({"unwritable": err.to_string()}))
}

/// Checks the two paths on `text`; `ordered` when the bytes must be the reference's exactly.
fn check(
    descriptor: &MessageDescriptor,
    encoder: &Encoder,
    json: JsonInput,
    text: &str,
    ordered: bool,
    tally: &mut Tally,
) {
    let reference = from_raw(descriptor, text, 1, json, &json.options());
    let mut out = vec![0xee];
    let fast = encoder.encode(text.as_bytes(), &mut out);
    match (reference, fast) {
        (Ok(message), Ok(read)) => {
            assert_eq!(read, text.trim_end().len(), "read all of {text}");
            let bytes = out.get(1..).unwrap_or_default();
            let decoded = DynamicMessage::decode(descriptor.clone(), bytes)
                .unwrap_or_else(|err| panic!("the fast bytes do not decode ({err}): {text}"));
            assert_eq!(
                canonical(&decoded),
                canonical(&message),
                "the fast path read another message from {text}"
            );
            if ordered {
                assert_eq!(
                    bytes,
                    message.encode_to_vec().as_slice(),
                    "other bytes for {text}"
                );
            }
            tally.encoded += 1;
        }
        (Ok(_), Err(Stop::Fallback)) => tally.fell_back += 1,
        (Err(error), Ok(_)) => {
            panic!("the fast path took what the reference refuses ({error}): {text}")
        }
        (_, Err(Stop::Incomplete)) => panic!("a whole value read as incomplete: {text}"),
        (Err(_), Err(Stop::Fallback)) => {
            assert_eq!(out, [0xee], "a refusal leaves the output as it was");
            tally.refused += 1;
        }
    }
}

/// Builds a pool from proto sources.
fn pool(files: &[(&str, &str)]) -> DescriptorPool {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler.include_imports(true);
    for (name, _) in files {
        compiler.open_file(name).unwrap();
    }
    compiler.descriptor_pool()
}

/// The demo schema, from its sources.
fn demo_pool() -> DescriptorPool {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let mut compiler = protox::Compiler::new([root]).unwrap();
    compiler.include_imports(true);
    for file in ["item_service.proto", "types.proto"] {
        compiler.open_file(file).unwrap();
    }
    compiler.descriptor_pool()
}

fn all_types() -> MessageDescriptor {
    demo_pool()
        .get_message_by_name("grpcx.demo.v1.AllTypes")
        .unwrap()
}

const EXTRA: &str = r#"
    syntax = "proto2";
    package extra;
    message Legacy {
      optional int32 a = 1 [default = 7];
      required string b = 2;
      repeated int32 unpacked = 3;
      repeated sint64 packed = 4 [packed = true];
      map<int32, int32> counts = 5;
      optional Legacy next = 6;
      enum Mode { FIRST = 3; SECOND = 4; }
      optional Mode mode = 7;
      map<string, Mode> modes = 8;
    }
"#;

const WIDE_FIELDS: usize = 70;

/// A message with more fields than a word has bits, and one whose fields are given numbers
/// out of declaration order.
fn extra_pool() -> DescriptorPool {
    let mut wide = String::from("syntax = \"proto3\";\npackage wide;\nmessage Wide {\n");
    for number in 1..=WIDE_FIELDS {
        wide.push_str(&format!(
            "  int32 f{number} = {};\n",
            WIDE_FIELDS + 1 - number
        ));
    }
    wide.push_str("  Wide inner = 100;\n  oneof pick { string p1 = 101; int32 p2 = 102; }\n}\n");
    pool(&[("extra.proto", EXTRA), ("wide.proto", &wide)])
}

/// xorshift: reproducible and good enough to pick spellings.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// Random JSON for messages of a schema: valid most of the time, in every spelling; now and
/// then something the mapping refuses.
struct Generator {
    random: Random,
    /// Whether the text written holds a map with two entries or more (then the bytes may come
    /// in another order than the reference's).
    unordered: bool,
}

impl Generator {
    fn message(&mut self, message: &MessageDescriptor, depth: usize) -> String {
        if let Some(well_known) = WellKnown::of(message.full_name()) {
            return self.well_known(well_known, depth);
        }
        let mut fields: Vec<FieldDescriptor> = message
            .fields()
            .filter(|_| self.random.chance(if depth == 0 { 45 } else { 20 }))
            .collect();
        // Any order.
        for i in (1..fields.len()).rev() {
            let j = self.random.below(i as u64 + 1) as usize;
            fields.swap(i, j);
        }
        let mut members = Vec::new();
        let mut oneofs_given = Vec::new();
        for field in fields {
            if let Some(oneof) = field.containing_oneof()
                && !oneof.is_synthetic()
            {
                // Two members of a oneof, now and then.
                if oneofs_given.contains(&oneof.name().to_string()) && !self.random.chance(10) {
                    continue;
                }
                oneofs_given.push(oneof.name().to_string());
            }
            let key = self.key(&field);
            let value = if self.random.chance(5) {
                "null".to_string()
            } else {
                self.field_value(&field, depth)
            };
            members.push(format!("{key}{}:{}{value}", self.space(), self.space()));
            if self.random.chance(2) {
                members.push(format!("{key}:{}", self.field_value(&field, depth)));
            }
        }
        if self.random.chance(3) {
            members.push(format!("\"unknownField\":{}", self.any_json(depth)));
        }
        format!(
            "{{{}{}{}}}",
            self.space(),
            members.join(&format!(",{}", self.space())),
            self.space()
        )
    }

    fn space(&mut self) -> &'static str {
        self.random.pick(&["", "", "", " ", "\n", "\t ", "\r\n  "])
    }

    fn key(&mut self, field: &FieldDescriptor) -> String {
        let name = match self.random.below(10) {
            0..=5 => field.json_name().to_string(),
            6..=8 => field.name().to_string(),
            // An escaped first letter.
            _ => {
                let mut chars = field.json_name().chars();
                let first = chars.next().unwrap_or('a');
                return format!("\"\\u{:04x}{}\"", first as u32, chars.as_str());
            }
        };
        format!("\"{name}\"")
    }

    fn field_value(&mut self, field: &FieldDescriptor, depth: usize) -> String {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!()
            };
            let count = self.random.below(4);
            if count > 1 {
                self.unordered = true;
            }
            let entries: Vec<String> = (0..count)
                .map(|_| {
                    let key = self.map_key(&entry.map_entry_key_field().kind());
                    let value = self.value(&entry.map_entry_value_field().kind(), depth + 1);
                    format!("{key}:{value}")
                })
                .collect();
            return format!("{{{}}}", entries.join(","));
        }
        if field.is_list() {
            let count = self.random.below(4);
            let items: Vec<String> = (0..count)
                .map(|_| {
                    if self.random.chance(2) {
                        "null".to_string()
                    } else {
                        self.value(&field.kind(), depth + 1)
                    }
                })
                .collect();
            return format!("[{}{}]", items.join(", "), self.space());
        }
        self.value(&field.kind(), depth)
    }

    fn map_key(&mut self, kind: &Kind) -> String {
        let text = match kind {
            Kind::String => self.string_body(),
            Kind::Bool => self
                .random
                .pick(&["true", "false", "True", "1"])
                .to_string(),
            _ => self
                .random
                .pick(&[
                    "0",
                    "1",
                    "-1",
                    "+5",
                    "007",
                    "2147483647",
                    "-2147483648",
                    "4294967295",
                    "9223372036854775807",
                    "18446744073709551615",
                    "1e2",
                    " 3",
                    "",
                ])
                .to_string(),
        };
        format!("\"{text}\"")
    }

    fn value(&mut self, kind: &Kind, depth: usize) -> String {
        match kind {
            Kind::Double | Kind::Float => self.float(matches!(kind, Kind::Float)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => self.integer(32, true),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => self.integer(64, true),
            Kind::Uint32 | Kind::Fixed32 => self.integer(32, false),
            Kind::Uint64 | Kind::Fixed64 => self.integer(64, false),
            Kind::Bool => self
                .random
                .pick(&["true", "false", "true", "false", "\"true\"", "1"])
                .to_string(),
            Kind::String => {
                if self.random.chance(3) {
                    self.random.pick(&["1", "true", "{}"]).to_string()
                } else {
                    format!("\"{}\"", self.string_body())
                }
            }
            Kind::Bytes => self.bytes(),
            Kind::Enum(enumeration) => {
                if enumeration.full_name() == "google.protobuf.NullValue" {
                    return self
                        .random
                        .pick(&["null", "\"NULL_VALUE\"", "0", "\"OTHER\""])
                        .to_string();
                }
                let values: Vec<_> = enumeration.values().collect();
                match self.random.below(10) {
                    0..=5 => format!(
                        "\"{}\"",
                        values[self.random.below(values.len() as u64) as usize].name()
                    ),
                    6 | 7 => format!(
                        "{}",
                        values[self.random.below(values.len() as u64) as usize].number()
                    ),
                    8 => self
                        .random
                        .pick(&["99", "-1", "2147483648", "1.0", "\"1\""])
                        .to_string(),
                    _ => "\"NO_SUCH_VALUE\"".to_string(),
                }
            }
            Kind::Message(message) if depth < 4 => self.message(message, depth + 1),
            Kind::Message(message) => match WellKnown::of(message.full_name()) {
                Some(well_known) => self.well_known(well_known, depth),
                None => "{}".to_string(),
            },
        }
    }

    fn float(&mut self, single: bool) -> String {
        match self.random.below(12) {
            0 => self
                .random
                .pick(&[
                    "\"NaN\"",
                    "\"Infinity\"",
                    "\"-Infinity\"",
                    "\"inf\"",
                    "\"nan\"",
                    "\"x\"",
                ])
                .to_string(),
            1 => self
                .random
                .pick(&[
                    "0",
                    "-0",
                    "-0.0",
                    "0.0",
                    "1e39",
                    "-1e39",
                    "3.4028235e38",
                    "1e400",
                    "5e-324",
                    "1E2",
                ])
                .to_string(),
            2 => format!(
                "\"{}\"",
                self.random
                    .pick(&["1.5", "1e5", "-0", " 1", "0x10", ".5", "1."])
            ),
            3 => format!("{}", self.random.next() as i64),
            4 => format!("{}", self.random.next()),
            _ => {
                let value = f64::from_bits(self.random.next());
                let value = if value.is_finite() { value } else { 1.25 };
                let value = if single {
                    f64::from(value as f32)
                } else {
                    value
                };
                if !value.is_finite() {
                    return "2.5".to_string();
                }
                match self.random.below(3) {
                    0 => format!("{value:e}"),
                    1 => format!("{value:?}"),
                    _ => format!("{}", (value * 1000.0).round() / 1000.0),
                }
            }
        }
    }

    fn integer(&mut self, bits: u32, signed: bool) -> String {
        let raw = self.random.next();
        let value: i128 = match (bits, signed) {
            (32, true) => i128::from(raw as i32),
            (32, false) => i128::from(raw as u32),
            (64, true) => i128::from(raw as i64),
            _ => i128::from(raw),
        };
        let small = i128::from(self.random.below(300)) - 100;
        match self.random.below(16) {
            0..=4 => value.to_string(),
            5 | 6 => small.to_string(),
            7 => format!("\"{value}\""),
            8 => format!("\"{small}\""),
            9 => self
                .random
                .pick(&[
                    "\"2e1\"",
                    "\"1E3\"",
                    "\"2.0\"",
                    "2e1",
                    "2.0",
                    "1.5",
                    "\"1.5\"",
                    "-0",
                    "\"-0\"",
                    "\"+7\"",
                    "\"007\"",
                    "1e2",
                    "\"0x10\"",
                    "\" 1\"",
                    "\"\"",
                    "1e-2",
                    "\"1e-2\"",
                    "\"-2.50e1\"",
                    "1.0e1",
                ])
                .to_string(),
            10 => self
                .random
                .pick(&[
                    "2147483647",
                    "2147483648",
                    "-2147483648",
                    "-2147483649",
                    "4294967295",
                    "4294967296",
                    "9223372036854775807",
                    "9223372036854775808",
                    "-9223372036854775808",
                    "-9223372036854775809",
                    "18446744073709551615",
                    "18446744073709551616",
                    "\"18446744073709551616\"",
                    "1e19",
                    "9.223372036854775807e18",
                    "1.8446744073709552e19",
                    "-1.8446744073709552e19",
                    "100000000000000000000000000",
                ])
                .to_string(),
            11 => format!("{small}.0"),
            12 => format!("{small}e0"),
            13 => format!("\"{small}e0\""),
            14 => "true".to_string(),
            _ => value.to_string(),
        }
    }

    fn string_body(&mut self) -> String {
        let pieces = [
            "a",
            "Z",
            "hello",
            " ",
            "é",
            "☃",
            "😀",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\t",
            "\\u00e9",
            "\\u2603",
            "\\ud83d\\ude00",
            "\\u0000",
            "\\b",
            "\\f",
            "\\r",
        ];
        let count = self.random.below(5);
        let mut text: String = (0..count).map(|_| self.random.pick(&pieces)).collect();
        if self.random.chance(2) {
            text.push_str(self.random.pick(&["\\ud800", "\\udc00x", "\\x", "\u{1}"]));
        }
        text
    }

    fn bytes(&mut self) -> String {
        use base64::Engine as _;
        let length = self.random.below(12) as usize;
        let bytes: Vec<u8> = (0..length).map(|_| self.random.next() as u8).collect();
        let text = match self.random.below(5) {
            0 | 1 => base64::engine::general_purpose::STANDARD.encode(&bytes),
            2 => base64::engine::general_purpose::URL_SAFE.encode(&bytes),
            3 => base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes),
            _ => self
                .random
                .pick(&[
                    "", "AA==", "AAA", "A", "!!!!", "_-8=", "AB=C", "YQ=", "YR==",
                ])
                .to_string(),
        };
        if self.random.chance(3) {
            return format!("{}", bytes.len());
        }
        format!("\"{text}\"")
    }

    fn well_known(&mut self, well_known: WellKnown, depth: usize) -> String {
        // Their maps (a Struct's fields) are hash maps in a DynamicMessage, on either path.
        if matches!(
            well_known,
            WellKnown::Struct | WellKnown::Value | WellKnown::ListValue | WellKnown::Any
        ) {
            self.unordered = true;
        }
        match well_known {
            WellKnown::Timestamp => self
                .random
                .pick(&[
                    "\"2026-12-01T10:00:00Z\"",
                    "\"1970-01-01T00:00:00.5+01:00\"",
                    "\"0001-01-01T00:00:00Z\"",
                    "\"2026-13-01T00:00:00Z\"",
                    "\"1972-06-30T23:59:60Z\"",
                    "\"9999-12-31T23:59:59.999999999Z\"",
                    "\"9999-12-31T23:59:59-01:00\"",
                    "\"2026-12-01t10:00:00Z\"",
                    "\"2026-12-01T10:00:00.1234567891Z\"",
                    "\"2026-12-01T10:00:00\"",
                    "\"2026-12-01T10:00:00\\u005a\"",
                    "\"yesterday\"",
                    "0",
                ])
                .to_string(),
            WellKnown::Duration => self
                .random
                .pick(&[
                    "\"1.5s\"",
                    "\"-3s\"",
                    "\"0s\"",
                    "\"-0.5s\"",
                    "\"1.000000001s\"",
                    "\"315576000000.999999999s\"",
                    "\"1.0000000001s\"",
                    "\" 1s\"",
                    "\"1m\"",
                    "\"315576000001s\"",
                    "1",
                ])
                .to_string(),
            WellKnown::FieldMask => self
                .random
                .pick(&["\"a,bC.d\"", "\"\"", "\"a_b\"", "1"])
                .to_string(),
            WellKnown::Struct => format!("{{\"k\":{},\"j\":[]}}", self.any_json(depth)),
            WellKnown::Value => self.any_json(depth),
            WellKnown::ListValue => format!("[{}]", self.any_json(depth)),
            WellKnown::Empty => self.random.pick(&["{}", "{ }", "{\"a\":1}", "[]"]).to_string(),
            WellKnown::Any => self
                .random
                .pick(&[
                    r#"{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"}"#,
                    r#"{"value":"2s","@type":"type.googleapis.com/google.protobuf.Duration"}"#,
                    r#"{"@type":"type.googleapis.com/grpcx.demo.v1.Money","currencyCode":"EUR","units":"3"}"#,
                    r#"{"@type":"type.googleapis.com/no.Such"}"#,
                    r#"{}"#,
                ])
                .to_string(),
            WellKnown::Wrapper(wrapped) => match wrapped {
                Wrapped::Double => self.float(false),
                Wrapped::Float => self.float(true),
                Wrapped::Int64 => self.integer(64, true),
                Wrapped::UInt64 => self.integer(64, false),
                Wrapped::Int32 => self.integer(32, true),
                Wrapped::UInt32 => self.integer(32, false),
                Wrapped::Bool => self.random.pick(&["true", "false", "null"]).to_string(),
                Wrapped::String => format!("\"{}\"", self.string_body()),
                Wrapped::Bytes => self.bytes(),
            },
        }
    }

    /// Any JSON value.
    fn any_json(&mut self, depth: usize) -> String {
        match self.random.below(if depth > 3 { 5 } else { 7 }) {
            0 => "null".to_string(),
            1 => self.random.pick(&["true", "false"]).to_string(),
            2 => self.float(false),
            3 => format!("\"{}\"", self.string_body()),
            4 => self.integer(64, true),
            5 => format!(
                "[{}, {}]",
                self.any_json(depth + 1),
                self.any_json(depth + 1)
            ),
            _ => format!("{{\"x\": {}}}", self.any_json(depth + 1)),
        }
    }
}

/// Every message type of a pool that a request may be (map entries are not).
fn messages_of(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    pool.all_messages().filter(|m| !m.is_map_entry()).collect()
}

fn fixture_pools() -> Vec<DescriptorPool> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut pools = vec![demo_pool(), extra_pool()];
    for (dir, files) in [
        ("interop", &["interop/v1/service.proto"][..]),
        (
            "rich",
            &["acme/store/v1/store.proto", "acme/store/v1/legacy.proto"],
        ),
        ("split", &["grpcx/demo/v1/service.proto"]),
    ] {
        let mut compiler = protox::Compiler::new([root.join(dir)]).unwrap();
        compiler.include_imports(true);
        for file in files {
            compiler.open_file(file).unwrap();
        }
        pools.push(compiler.descriptor_pool());
    }
    pools
}

#[test]
fn random_json_for_every_fixture_message_reads_as_the_reference_reads_it() {
    let mut total = Tally::default();
    let mut planned = 0;
    for pool in fixture_pools() {
        for descriptor in messages_of(&pool) {
            for allow_unknown_fields in [false, true] {
                let json = JsonInput {
                    allow_unknown_fields,
                };
                let Some(encoder) = Encoder::new(&descriptor, json) else {
                    continue;
                };
                planned += 1;
                let mut generator = Generator {
                    random: Random(
                        0x9e37_79b9_7f4a_7c15 ^ (planned as u64).wrapping_mul(0x2545_f491),
                    ),
                    unordered: false,
                };
                let mut tally = Tally::default();
                for _ in 0..120 {
                    generator.unordered = false;
                    let text = generator.message(&descriptor, 0);
                    let ordered = !generator.unordered;
                    check(&descriptor, &encoder, json, &text, ordered, &mut tally);
                }
                total.encoded += tally.encoded;
                total.fell_back += tally.fell_back;
                total.refused += tally.refused;
            }
        }
    }
    assert!(planned > 60, "{planned} message types planned");
    // The fast path must carry most of what the reference reads, or it is not a fast path.
    let read = total.encoded + total.fell_back;
    assert!(
        total.encoded * 100 >= read * 90,
        "the fast path encoded only {} of {read} messages the reference reads ({total:?})",
        total.encoded
    );
    assert!(
        total.refused > 1000,
        "the refusals were exercised: {total:?}"
    );
}

#[test]
fn unusual_but_valid_json_reads_as_the_reference_reads_it() {
    let descriptor = all_types();
    let encoder = Encoder::new(&descriptor, JsonInput::default()).unwrap();
    let mut tally = Tally::default();
    for text in [
        r#"{}"#,
        r#" { } "#,
        r#"{"fInt32": 1e2, "fInt64": "1e2", "fUint32": "2.0", "fUint64": 2e1, "fSint32": -0, "fSint64": "-0"}"#,
        r#"{"fDouble": -0, "fFloat": -0.0, "rDouble": [-0, -0.0, 0, 1e-400, 5e-324]}"#,
        r#"{"f_int32": 5, "f_string": "proto names"}"#,
        r#"{"\u0066Int32": 5, "f\u005fstring": "escaped keys"}"#,
        r#"{"fString": "\ud83d\ude00 \u00e9 \" \\ \/ \b\f\n\r\t"}"#,
        r#"{"fString": null, "fInt32": null, "nested": null, "rInt64": null, "mString": null}"#,
        r#"{"tNull": null, "tValue": null}"#,
        r#"{"tNull": "NULL_VALUE"}"#,
        r#"{"oString": null, "oMessage": {"fBool": true}}"#,
        r#"{"oString": ""}"#,
        r#"{"oMessage": {}}"#,
        r#"{"fOptional": 0, "fEnum": 0, "fBool": false, "fBytes": ""}"#,
        r#"{"fEnum": "COLOR_GREEN", "rEnum": ["COLOR_RED", 2, 7, "COLOR_UNSPECIFIED"]}"#,
        r#"{"fBytes": "-_8", "wBytes": "+/8="}"#,
        r#"{"mInt32": {"-5": "a", "+6": "b"}, "mBool": {"true": "t"}, "mUint64": {"18446744073709551615": ""}}"#,
        r#"{"mMessage": {"k": {"fInt32": 1}}, "mEnum": {"a": "COLOR_RED", "b": 0}}"#,
        r#"{"wInt32": "2e1", "wUint64": "18446744073709551615", "wDouble": "NaN", "wFloat": "-Infinity", "wBool": false, "wString": ""}"#,
        r#"{"tTimestamp": "2026-12-01T10:00:00.123Z", "tDuration": "-1.5s", "tFieldMask": "a.bC,d"}"#,
        r#"{"tStruct": {"a": [1, "x", null, {"b": true}]}, "tList": [], "tValue": {"z": 1}}"#,
        r#"{"tAny": {"@type": "type.googleapis.com/grpcx.demo.v1.AllTypes", "fInt32": 3, "mString": {"a": 1}}}"#,
        r#"{"rAny": [{"value": "1s", "@type": "type.googleapis.com/google.protobuf.Duration"}]}"#,
        r#"{"tEmpty": {}, "customJSON": "c"}"#,
        r#"{"custom_json": "proto name of a custom JSON name"}"#,
        r#"{"nested": {"nested": {"nested": {"fFloat": 3.4028234e38}}}}"#,
        r#"{"fFloat": 1e-50, "fDouble": 1.7976931348623157e308}"#,
        r#"{"fUint64": 18446744073709551616, "fInt64": -9223372036854775808}"#,
        r#"{"fInt32": 2147483647.0, "fUint32": 4.294967295e9}"#,
        r#"{"rString": ["", "a"], "rInt64": [], "rDouble": []}"#,
    ] {
        let ordered = !(text.contains("mInt32") || text.contains("mEnum"));
        check(
            &descriptor,
            &encoder,
            JsonInput::default(),
            text,
            ordered,
            &mut tally,
        );
    }
    assert!(tally.refused == 0, "{tally:?}");
    assert!(
        tally.fell_back == 0,
        "every one is the fast path's: {tally:?}"
    );
}

#[test]
fn what_the_reference_refuses_is_refused() {
    let descriptor = all_types();
    let encoder = Encoder::new(&descriptor, JsonInput::default()).unwrap();
    let mut tally = Tally::default();
    let refused = [
        r#"{"fInt32": 1.5}"#,
        r#"{"fInt32": 2147483648}"#,
        r#"{"fUint32": -1}"#,
        r#"{"fInt32": "1.5"}"#,
        r#"{"fInt32": "0x10"}"#,
        r#"{"fInt64": 9223372036854775808}"#,
        r#"{"fFloat": 1e39}"#,
        r#"{"fDouble": 1e400}"#,
        r#"{"fBool": "true"}"#,
        r#"{"fString": 1}"#,
        r#"{"fBytes": "!"}"#,
        r#"{"fEnum": "NOPE"}"#,
        r#"{"fEnum": 1.0}"#,
        r#"{"fEnum": 2147483648}"#,
        r#"{"tNull": 0}"#,
        r#"{"oString": "a", "oMessage": {}}"#,
        r#"{"nope": 1}"#,
        r#"{"rInt64": [null]}"#,
        r#"{"mInt32": {"x": "a"}}"#,
        r#"{"mString": {"a": null}}"#,
        r#"{"nested": 1}"#,
        r#"{"tEmpty": {"a": 1}}"#,
        r#"{"tTimestamp": "yesterday"}"#,
        r#"{"fString": "\ud800"}"#,
        r#"{"fInt32": 1,}"#,
        r#"{"fInt32": 01}"#,
        r#"{"fInt32" 1}"#,
        r#"[]"#,
        r#"null"#,
    ];
    for text in refused {
        check(
            &descriptor,
            &encoder,
            JsonInput::default(),
            text,
            true,
            &mut tally,
        );
    }
    assert_eq!(tally.refused, refused.len(), "{tally:?}");
}

#[test]
fn fields_out_of_number_order_are_encoded_in_order() {
    let pool = extra_pool();
    let wide = pool.get_message_by_name("wide.Wide").unwrap();
    let encoder = Encoder::new(&wide, JsonInput::default()).unwrap();
    let mut tally = Tally::default();
    let mut members: Vec<String> = (1..=WIDE_FIELDS)
        .map(|n| format!("\"f{n}\": {n}"))
        .collect();
    members.push("\"inner\": {\"f3\": 1, \"f1\": 2, \"p2\": 0}".to_string());
    members.push("\"p1\": \"x\"".to_string());
    let text = format!("{{{}}}", members.join(", "));
    check(
        &wide,
        &encoder,
        JsonInput::default(),
        &text,
        true,
        &mut tally,
    );
    // A field given twice (here the 70th), past what a word of bits holds.
    let twice = format!("{{{}, \"f70\": 1}}", members.join(", "));
    check(
        &wide,
        &encoder,
        JsonInput::default(),
        &twice,
        true,
        &mut tally,
    );
    assert_eq!((tally.encoded, tally.fell_back), (1, 1), "{tally:?}");
}

#[test]
fn proto2_fields_keep_their_presence() {
    let pool = extra_pool();
    let legacy = pool.get_message_by_name("extra.Legacy").unwrap();
    let encoder = Encoder::new(&legacy, JsonInput::default()).unwrap();
    let mut tally = Tally::default();
    for text in [
        r#"{"a": 0, "b": "", "mode": "FIRST"}"#,
        r#"{"unpacked": [0, 1, -1], "packed": [0, -1, "5"], "counts": {"0": 0}}"#,
        r#"{"modes": {"": "FIRST"}, "next": {"b": "x"}}"#,
        r#"{"modes": {"b": 4}}"#,
    ] {
        check(
            &legacy,
            &encoder,
            JsonInput::default(),
            text,
            true,
            &mut tally,
        );
    }
    assert_eq!(tally.encoded, 4, "{tally:?}");
}

#[test]
fn a_value_cut_short_is_incomplete_and_never_read() {
    let descriptor = all_types();
    let encoder = Encoder::new(&descriptor, JsonInput::default()).unwrap();
    let text = r#"{"fInt32": 12, "fString": "a\u00e9\ud83d\ude00", "rDouble": [1.5, -2e3], "fBool": true, "nested": {"mString": {"k": 1}}, "tDuration": "2s", "fEnum": null}"#;
    let mut out = Vec::new();
    assert_eq!(encoder.encode(text.as_bytes(), &mut out), Ok(text.len()));
    for cut in 0..text.len() {
        let mut out = Vec::new();
        assert_eq!(
            encoder.encode(&text.as_bytes()[..cut], &mut out),
            Err(Stop::Incomplete),
            "cut at {cut}: {}",
            &text[..cut]
        );
        assert!(out.is_empty());
    }
}

#[test]
fn types_the_reference_reads_alone_have_no_plan() {
    let pool = demo_pool();
    for name in [
        "google.protobuf.Any",
        "google.protobuf.Timestamp",
        "google.protobuf.Int32Value",
    ] {
        let message = pool.get_message_by_name(name).unwrap();
        assert!(
            Encoder::new(&message, JsonInput::default()).is_none(),
            "{name}"
        );
    }
}
