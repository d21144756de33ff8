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
//!
//! By concern: `plan` (what to write for each type, built once), `writer` (the JSON),
//! `wire` (reading the protobuf encoding) and `well_known` (Timestamp and Duration).

mod plan;
mod well_known;
mod wire;
mod writer;

use prost_reflect::MessageDescriptor;

use plan::{Builder, EnumPlan, MessagePlan};
use wire::Entry;

/// The bytes do not fit this path; take the reference path for this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

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

impl Transcoder {
    /// A plan for `message`, or `None` when it (or a type inside it) needs the reference path.
    /// With `proto_names`, keys are the .proto field names.
    pub fn new(message: &MessageDescriptor, proto_names: bool) -> Option<Transcoder> {
        let (messages, enums) = Builder::plan(message, proto_names)?;
        Some(Transcoder {
            messages,
            enums,
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
}

#[cfg(test)]
mod tests {
    use super::well_known::rfc3339;
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
