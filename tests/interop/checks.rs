//! The checks, each run against every peer.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::peer::{Peer, Stack, grpcx_from_files};
use crate::support::Gateway;

const SERVICE: &str = "interop.v1.InteropService";

/// A JSON field of a proto3 answer: absent means the default.
fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn bytes(base64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Lines that are not comments: reflection carries no comments, the fixture files do.
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn list(peer: &Peer) {
    let services = peer.grpcx(&["list"]);
    let lines: Vec<&str> = services.ok().lines().collect();
    assert!(lines.contains(&SERVICE), "{services:#?}");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "sorted: {services:#?}");
    if peer.stack == Stack::Python {
        // grpcio-reflection lists itself (and serves only v1alpha, which grpcx falls back to).
        assert!(
            lines.contains(&"grpc.reflection.v1alpha.ServerReflection"),
            "{services:#?}"
        );
    }

    for args in [
        vec!["list", SERVICE],
        vec!["list", "InteropService"],
        vec!["list", "--long", SERVICE],
    ] {
        let served = peer.grpcx(&args);
        let expected = grpcx_from_files(&args);
        assert_eq!(served.ok(), expected.ok(), "{args:?}");
    }
    let long = peer.grpcx(&["list", "--long", SERVICE]);
    let kinds: Vec<&str> = long.ok().lines().collect();
    assert_eq!(kinds.len(), 6, "{long:#?}");
    for kind in [
        "unary",
        "server streaming",
        "client streaming",
        "bidirectional streaming",
    ] {
        assert!(long.stdout.contains(kind), "{kind}: {long:#?}");
    }
}

pub fn describe(peer: &Peer) {
    let mut symbols = vec![
        SERVICE,
        "interop.v1.InteropService.Chat",
        "interop.v1.Everything",
        "interop.v1.WellKnown",
        "interop.v1.EchoResponse",
        "interop.v1.Seen",
        "interop.v1.SumResult",
        "interop.v1.shared.Label",
        "interop.v1.shared.Label.Meta.Kind",
        "interop.v1.shared.Color",
        "Everything.choice",
        "Everything.names_by_id",
    ];
    // @grpc/proto-loader's descriptors turn proto3 `optional` into a plain oneof (they drop
    // proto3_optional), so Scalars differs there by the peer's doing, not grpcx's.
    if peer.stack == Stack::Python {
        symbols.push("interop.v1.Scalars");
    }
    for symbol in symbols {
        let served = peer.grpcx(&["describe", symbol]);
        let expected = grpcx_from_files(&["describe", symbol]);
        assert_eq!(
            without_comments(served.ok()),
            without_comments(expected.ok()),
            "describe {symbol}"
        );
    }

    // What the peers have in common field by field, Scalars included.
    let scalars = peer.grpcx(&["describe", "interop.v1.Scalars"]);
    for line in [
        "int64 f_int64 = 4;",
        "uint64 f_uint64 = 6;",
        "sint64 f_sint64 = 8;",
        "fixed64 f_fixed64 = 10;",
        "sfixed64 f_sfixed64 = 12;",
        "bytes f_bytes = 15;",
        "repeated bytes r_bytes = 17;",
        "int32 o_int32 = 19;",
    ] {
        assert!(scalars.ok().contains(line), "{line}: {scalars:#?}");
    }

    // Every service, with no symbol: the same as the files.
    let all = peer.grpcx(&["describe"]);
    assert!(
        all.ok().contains(
            "rpc Chat(stream .interop.v1.ChatMessage) returns (stream .interop.v1.ChatReply);"
        ),
        "{all:#?}"
    );

    let unknown = peer.grpcx(&["describe", "interop.v1.Everythin"]);
    assert_eq!(unknown.code, 1, "{unknown:#?}");
    assert!(
        unknown.stderr.contains("Everything"),
        "did you mean: {unknown:#?}"
    );
}

pub fn template(peer: &Peer) {
    for symbol in ["InteropService/Echo", "interop.v1.WellKnown", "Chat"] {
        let served = peer.grpcx(&["describe", "--template", symbol]);
        let expected = grpcx_from_files(&["describe", "--template", symbol]);
        let served: Value = serde_json::from_str(served.ok()).unwrap();
        let expected: Value = serde_json::from_str(expected.ok()).unwrap();
        assert_eq!(served, expected, "describe --template {symbol}");
    }
    // The template is a valid request, which the peer reads as grpcx meant it.
    let template = peer.grpcx(&["describe", "--template", "InteropService/Echo"]);
    let request: Value = serde_json::from_str(template.ok()).unwrap();
    let answer = peer
        .grpcx(&["call", "InteropService/Echo", &request.to_string()])
        .json();
    let oneof_member = ["text", "number", "label", "color", "blob"]
        .into_iter()
        .find(|member| request.get(*member).is_some())
        .unwrap();
    assert_eq!(
        text(&answer["seen"], "choiceCase"),
        oneof_member,
        "{answer:#}"
    );
    assert_eq!(
        text(&answer["seen"], "anyTypeUrl"),
        text(&request["wellKnown"]["any"], "@type"),
        "{answer:#}"
    );
    assert_eq!(
        strings(&answer["seen"], "labelKeys"),
        request["labels"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    );
}

/// An Everything with every field set, in the canonical proto3 JSON form grpcx prints.
fn everything(choice: (&str, Value)) -> Value {
    let mut value = json!({
        "scalars": {
            "fDouble": -1.5e300,
            "fFloat": 0.25,
            "fInt32": -2147483648,
            "fInt64": "-9223372036854775808",
            "fUint32": 4294967295u32,
            "fUint64": "18446744073709551615",
            "fSint32": -7,
            "fSint64": "-9007199254740993",
            "fFixed32": 123456789,
            "fFixed64": "9007199254740993",
            "fSfixed32": -123456789,
            "fSfixed64": "-1234567890123456789",
            "fBool": true,
            "fString": "grüße, ✓ 𝄞 \"quoted\"\n",
            "fBytes": "AP9/gAECAw==",
            "rInt64": ["1", "-1", "9223372036854775807"],
            "rBytes": ["", "/w==", "aGVsbG8="],
            "rDouble": [2.5, "Infinity", "-Infinity", "NaN"],
            "oInt32": 0
        },
        "wellKnown": {
            "any": {
                "@type": "type.googleapis.com/interop.v1.shared.Label",
                "key": "packed",
                "value": "in an Any",
                "meta": {"weight": -3, "kind": "KIND_SYSTEM"},
                "color": "COLOR_BLUE"
            },
            "duration": "3600.250s",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "struct": {"a": 1.0, "b": [true, null, "x"], "c": {"d": "e"}},
            "value": [1.0, "two", false, {"three": 3.0}],
            "listValue": [null, 2.5, {"k": "v"}],
            "fieldMask": "fooBar,baz.quxQuux",
            "empty": {},
            "doubleValue": 1.25,
            "floatValue": 2.5,
            "int64Value": "-9007199254740993",
            "uint64Value": "18446744073709551615",
            "int32Value": -7,
            "uint32Value": 4294967295u32,
            "boolValue": false,
            "stringValue": "",
            "bytesValue": "AP8=",
            "anys": [
                {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "-1.500s"},
                {"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "1970-01-01T00:00:00Z"},
                {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"nested": {"x": []}}},
                {
                    "@type": "type.googleapis.com/google.protobuf.Any",
                    "value": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "-1"}
                },
                {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}
            ]
        },
        "labels": {
            "b": {"key": "bee", "meta": {"kind": "KIND_USER"}},
            "a": {"value": "ay", "color": "COLOR_RED"}
        },
        "namesById": {
            "-5": "minus five",
            "9223372036854775807": "max",
            "0": "zero"
        },
        "colorsById": {"1": "COLOR_RED", "4294967295": "COLOR_BLUE"},
        "blobsByFlag": {"true": "AQI=", "false": ""},
        "numbers": {"-9223372036854775808": "18446744073709551615", "1": "0"},
        "favourite": "COLOR_GREEN",
        "palette": ["COLOR_BLUE", "COLOR_RED", "COLOR_UNSPECIFIED"],
        "kind": "KIND_USER",
        "labelList": [{"key": "first"}, {"meta": {"weight": 2147483647}}]
    });
    value
        .as_object_mut()
        .unwrap()
        .insert(choice.0.to_string(), choice.1);
    value
}

/// Checks an Echo answer: the message came back as sent, and the peer's own reading of it
/// agrees with what was sent.
#[track_caller]
fn check_echo(peer: &Peer, request: &Value, answer: &Value, choice_case: &str) {
    assert_eq!(&answer["echo"], request, "{:?}: the echo", peer.stack);
    let seen = &answer["seen"];
    let scalars = &request["scalars"];
    let well_known = &request["wellKnown"];
    assert_eq!(text(seen, "choiceCase"), choice_case, "{seen:#}");
    for (seen_key, sent_key) in [
        ("int64Text", "fInt64"),
        ("uint64Text", "fUint64"),
        ("sint64Text", "fSint64"),
        ("fixed64Text", "fFixed64"),
        ("sfixed64Text", "fSfixed64"),
    ] {
        assert_eq!(
            text(seen, seen_key),
            text(scalars, sent_key),
            "{seen_key}: {seen:#}"
        );
    }
    assert_eq!(
        text(seen, "bytesHex"),
        hex(&bytes(text(scalars, "fBytes"))),
        "{seen:#}"
    );
    assert_eq!(
        text(seen, "anyTypeUrl"),
        text(&well_known["any"], "@type"),
        "{seen:#}"
    );
    // "3600.250s" and "2026-01-02T03:04:05.678Z", computed here from the parts.
    assert_eq!(
        text(seen, "durationMillis"),
        (3600 * 1000 + 250).to_string()
    );
    let timestamp = (days_from_civil(2026, 1, 2) * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1000 + 678;
    assert_eq!(text(seen, "timestampMillis"), timestamp.to_string());
    let mut keys: Vec<String> = request["labels"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(strings(seen, "labelKeys"), keys);
    let mut ids: Vec<i64> = request["namesById"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    ids.sort();
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    assert_eq!(strings(seen, "nameIds"), ids);
    // The JSON form is lowerCamelCase; the peer holds the paths as the .proto names them.
    assert_eq!(strings(seen, "maskPaths"), ["foo_bar", "baz.qux_quux"]);
}

/// An Everything this peer can hold: protobufjs (under @grpc/proto-loader) keeps map keys as
/// object keys, so it encodes the bool key `false` as `true` (the string "false" is truthy); a
/// false bool key is the Python peer's to check.
fn everything_for(peer: &Peer, choice: (&str, Value)) -> Value {
    let mut value = everything(choice);
    if peer.stack == Stack::Node {
        value["blobsByFlag"]
            .as_object_mut()
            .unwrap()
            .remove("false");
    }
    value
}

pub fn echo_every_type(peer: &Peer) {
    let request = everything_for(
        peer,
        ("label", json!({"key": "chosen", "color": "COLOR_GREEN"})),
    );
    let answer = peer
        .grpcx(&["call", "InteropService/Echo", &request.to_string()])
        .json();
    check_echo(peer, &request, &answer, "label");

    // The same through the text format, both ways.
    let text_answer = peer.grpcx(&[
        "call",
        "InteropService/Echo",
        "--format",
        "text",
        "scalars { f_int64: -9223372036854775808 f_bytes: \"\\000\\377\" } \
         names_by_id { key: -5 value: \"minus five\" } number: 9007199254740993",
    ]);
    let out = text_answer.ok();
    for line in [
        "f_int64: -9223372036854775808",
        "key: -5",
        "number: 9007199254740993",
        "int64_text: \"-9223372036854775808\"",
        "bytes_hex: \"00ff\"",
        "choice_case: \"number\"",
    ] {
        assert!(out.contains(line), "{line}: {text_answer:#?}");
    }
}

pub fn echo_each_oneof_member(peer: &Peer) {
    for (member, value) in [
        ("text", json!("chosen text")),
        ("number", json!("-9223372036854775807")),
        ("label", json!({"key": "k"})),
        ("color", json!("COLOR_BLUE")),
        ("blob", json!("3q2+7w==")),
    ] {
        let request = everything_for(peer, (member, value));
        let answer = peer
            .grpcx(&["call", "InteropService/Echo", &request.to_string()])
            .json();
        check_echo(peer, &request, &answer, member);
    }
    // A member holding its default value is still the member set.
    let answer = peer
        .grpcx(&["call", "InteropService/Echo", r#"{"number": "0"}"#])
        .json();
    assert_eq!(answer["echo"], json!({"number": "0"}), "{answer:#}");
    assert_eq!(text(&answer["seen"], "choiceCase"), "number");
}

/// Input in the other forms the JSON mapping allows comes back in the canonical form.
pub fn echo_lenient_input(peer: &Peer) {
    let request = json!({
        "scalars": {
            "f_int64": -42,
            "fUint64": 18446744073709551615u64,
            "f_bytes": "AP9_gA",
            "rDouble": [1e0]
        },
        "favourite": 2,
        "palette": [3, "COLOR_RED"],
        "names_by_id": {"7": "seven"},
        "wellKnown": {"duration": "1s", "timestamp": "2026-01-02T04:04:05.678+01:00"}
    });
    let answer = peer
        .grpcx(&["call", "InteropService/Echo", &request.to_string()])
        .json();
    let canonical = json!({
        "scalars": {
            "fInt64": "-42",
            "fUint64": "18446744073709551615",
            "fBytes": "AP9/gA==",
            "rDouble": [1.0]
        },
        "favourite": "COLOR_GREEN",
        "palette": ["COLOR_BLUE", "COLOR_RED"],
        "namesById": {"7": "seven"},
        "wellKnown": {"duration": "1s", "timestamp": "2026-01-02T03:04:05.678Z"}
    });
    assert_eq!(answer["echo"], canonical, "{answer:#}");
    assert_eq!(text(&answer["seen"], "int64Text"), "-42");
    assert_eq!(text(&answer["seen"], "bytesHex"), "00ff7f80");
}

pub fn server_stream(peer: &Peer) {
    let start: i64 = 9_007_199_254_740_993; // 2^53 + 1: no double holds it
    let step: i64 = -2_305_843_009_213_693_952; // -2^61: the last value is near i64::MIN
    let count: u32 = 5;
    let request = json!({"start": start.to_string(), "count": count, "step": step.to_string()});
    let run = peer.grpcx(&[
        "call",
        "InteropService/Range",
        &request.to_string(),
        "--emit-defaults",
    ]);
    run.ok();
    let items = run.json_lines();
    let expected: Vec<Value> = (0..count)
        .map(|index| {
            let value = start + i64::from(index) * step;
            json!({
                "index": index,
                "value": value.to_string(),
                "text": value.to_string(),
                "unsigned": (value as u64).to_string(),
            })
        })
        .collect();
    assert_eq!(items, expected, "{run:#?}");

    let none = peer.grpcx(&["call", "InteropService/Range", r#"{"count": 0}"#]);
    assert_eq!(none.ok(), "", "{none:#?}");

    // A longer stream, pretty-printed: every message arrives, in order.
    let long = peer.grpcx(&[
        "call",
        "InteropService/Range",
        r#"{"start": "-1000", "count": 2000, "step": "1"}"#,
        "-o",
        "json",
    ]);
    let values: Vec<Value> = serde_json::Deserializer::from_str(long.ok())
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(values.len(), 2000);
    for (index, value) in values.iter().enumerate() {
        let expected = -1000 + index as i64;
        assert_eq!(text(value, "text"), expected.to_string(), "{value}");
    }
}

pub fn client_stream(peer: &Peer) {
    let names = ["alpha", "beta", "gamma"];
    let mut input = String::new();
    let mut total: i128 = 0;
    let mut by_name = std::collections::BTreeMap::<&str, i128>::new();
    let mut sent_names = Vec::new();
    for i in 0..300i64 {
        // Large values of both signs whose running sums still fit in an int64.
        let value = (i - 150) * 30_000_000_000_000 + i;
        let name = names[(i % 3) as usize];
        input.push_str(&json!({"value": value.to_string(), "name": name}).to_string());
        input.push(if i % 2 == 0 { '\n' } else { ' ' });
        total += i128::from(value);
        *by_name.entry(name).or_default() += i128::from(value);
        sent_names.push(name.to_string());
    }
    let run = peer.grpcx_stdin(&["call", "InteropService/Sum"], Some(&input));
    let answer = run.json();
    assert_eq!(text(&answer, "total"), total.to_string(), "{run:#?}");
    assert_eq!(text(&answer, "count"), "300");
    assert_eq!(strings(&answer, "names"), sent_names);
    let expected: serde_json::Map<String, Value> = by_name
        .iter()
        .map(|(name, sum)| (name.to_string(), json!(sum.to_string())))
        .collect();
    assert_eq!(answer["byName"], Value::Object(expected));

    // No message at all is a stream too.
    let empty = peer.grpcx_stdin(&["call", "InteropService/Sum"], Some(""));
    assert_eq!(empty.json(), json!({}), "{empty:#?}");
}

fn color(seq: u32) -> &'static str {
    [
        "COLOR_UNSPECIFIED",
        "COLOR_RED",
        "COLOR_GREEN",
        "COLOR_BLUE",
    ][(seq % 4) as usize]
}

/// What the peer answers to a ChatMessage, as its contract says.
fn chat_reply(message: &Value) -> Value {
    let seq = message["seq"].as_u64().unwrap() as u32;
    let mut reply = serde_json::Map::new();
    reply.insert("seq".into(), json!(seq));
    if let Some(text) = message.get("text").and_then(Value::as_str) {
        reply.insert("text".into(), json!(text.to_uppercase()));
    }
    if let Some(number) = message.get("number").and_then(Value::as_str) {
        let negated = -number.parse::<i64>().unwrap();
        reply.insert("number".into(), json!(negated.to_string()));
    }
    if let Some(blob) = message.get("blob").and_then(Value::as_str) {
        let mut reversed = bytes(blob);
        reversed.reverse();
        reply.insert(
            "blob".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(reversed)),
        );
    }
    if color(seq) != "COLOR_UNSPECIFIED" {
        reply.insert("color".into(), json!(color(seq)));
    }
    Value::Object(reply)
}

pub fn bidi_stream(peer: &Peer) {
    let messages = [
        json!({"seq": 1, "text": "héllo wörld"}),
        json!({"seq": 2, "number": "-9223372036854775807"}),
        json!({"seq": 3, "blob": "AAECA/8="}),
        json!({"seq": 4, "text": ""}),
        json!({"seq": 4294967295u32, "number": "9007199254740993"}),
    ];
    let input: String = messages.iter().map(|m| format!("{m}\n")).collect();
    let run = peer.grpcx_stdin(&["call", "InteropService/Chat"], Some(&input));
    let expected: Vec<Value> = messages.iter().map(chat_reply).collect();
    run.ok();
    assert_eq!(run.json_lines(), expected, "{run:#?}");
}

pub fn bidi_interactive(peer: &Peer) {
    let mut chat = peer.interactive(&["call", "InteropService/Chat"]);
    for seq in 1..=3u32 {
        let message = json!({"seq": seq, "text": format!("message {seq}")});
        chat.send(&format!("{message}\n"));
        let line = chat
            .next_line(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no answer to message {seq} before the next was sent"));
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer, chat_reply(&message));
    }
    chat.close_stdin();
    assert_eq!(chat.wait(Duration::from_secs(20)), Some(0));
}

pub fn metadata(peer: &Peer) {
    let missing = peer.grpcx(&["call", "InteropService/WhoAmI"]);
    assert_eq!(missing.code, 80, "UNAUTHENTICATED is 64 + 16: {missing:#?}");
    assert!(
        missing
            .stderr
            .contains("ERROR: UNAUTHENTICATED: missing x-api-key metadata"),
        "{missing:#?}"
    );
    assert_eq!(missing.stdout, "");

    let run = peer.grpcx(&[
        "-H",
        "x-api-key: secret-123",
        "--rpc-header",
        "x-trace: t-1",
        "-H",
        "X-Mixed-Case: Value With Spaces",
        "call",
        "InteropService/WhoAmI",
    ]);
    let answer = run.json();
    assert_eq!(text(&answer, "apiKey"), "secret-123", "{run:#?}");
    assert_eq!(
        answer["xHeaders"],
        json!({
            "x-api-key": "secret-123",
            "x-trace": "t-1",
            "x-mixed-case": "Value With Spaces"
        })
    );
    assert!(
        text(&answer, "stack").starts_with(peer.stack.stack_prefix()),
        "{answer:#}"
    );

    // A key sent only on reflection does not reach the call.
    let reflect_only = peer.grpcx(&[
        "--reflect-header",
        "x-api-key: secret-123",
        "call",
        "InteropService/WhoAmI",
    ]);
    assert_eq!(reflect_only.code, 80, "{reflect_only:#?}");

    // From a header file, with ${VAR} expanded.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, "# the key\nx-api-key: ${INTEROP_KEY}\n").unwrap();
    let mut command = vec!["--expand-headers", "-H"];
    let at_file = format!("@{}", file.display());
    command.push(&at_file);
    command.extend(["call", "InteropService/WhoAmI"]);
    let expanded = peer.grpcx_env(&command, ("INTEROP_KEY", "from-env"));
    assert_eq!(
        text(&expanded.json(), "apiKey"),
        "from-env",
        "{expanded:#?}"
    );

    // The verbose exchange shows the key redacted when asked.
    let verbose = peer.grpcx(&[
        "-v",
        "--redact",
        "x-api-key",
        "-H",
        "x-api-key: secret-123",
        "call",
        "InteropService/WhoAmI",
    ]);
    verbose.ok();
    assert!(
        verbose.stderr.contains("> x-api-key: <redacted>"),
        "{verbose:#?}"
    );
    assert!(!verbose.stderr.contains("secret-123"), "{verbose:#?}");
}

pub fn unary_trailers(peer: &Peer) {
    let run = peer.grpcx(&[
        "-H",
        "x-api-key: k",
        "call",
        "InteropService/WhoAmI",
        "-o",
        "envelope",
    ]);
    let envelope: Value = serde_json::from_str(run.ok()).unwrap();
    let stack = text(&envelope["messages"][0], "stack");
    assert_eq!(
        text(&envelope["trailers"], "x-interop-stack"),
        stack,
        "{envelope:#}"
    );
    assert_eq!(
        text(&envelope["trailers"], "grpc-status"),
        "0",
        "{envelope:#}"
    );
    assert!(
        envelope["responseHeaders"].get("grpc-status").is_none(),
        "{envelope:#}"
    );
}

pub fn rich_error(peer: &Peer) {
    let stack = text(
        &peer
            .grpcx(&["-H", "x-api-key: k", "call", "InteropService/WhoAmI"])
            .json(),
        "stack",
    )
    .to_string();
    let field = "scalars.f_int64";
    let reason = "must be positive, not −1";
    let request = json!({"field": field, "reason": reason}).to_string();
    let expected_details = vec![
        json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": reason}]
        }),
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "INTEROP_REJECTED",
            "domain": "interop.v1",
            "metadata": {"field": field, "stack": stack}
        }),
    ];

    let run = peer.grpcx(&["call", "InteropService/Reject", &request]);
    assert_eq!(run.code, 67, "INVALID_ARGUMENT is 64 + 3: {run:#?}");
    assert_eq!(run.stdout, "");
    let mut lines = run.stderr.lines();
    assert_eq!(
        lines.next(),
        Some(format!("ERROR: INVALID_ARGUMENT: rejected field {field}").as_str()),
        "{run:#?}"
    );
    let details: Vec<Value> = lines
        .map(|line| {
            let detail = line
                .strip_prefix("  detail: ")
                .unwrap_or_else(|| panic!("a detail line: {line:?}"));
            serde_json::from_str(detail).unwrap()
        })
        .collect();
    assert_eq!(details, expected_details, "{run:#?}");

    let formatted = peer.grpcx(&["call", "InteropService/Reject", &request, "--format-error"]);
    assert_eq!(formatted.code, 67, "{formatted:#?}");
    let status: Value = serde_json::from_str(&formatted.stdout).unwrap();
    assert_eq!(
        status,
        json!({
            "code": 3,
            "codeName": "INVALID_ARGUMENT",
            "message": format!("rejected field {field}"),
            "details": expected_details
        }),
        "{formatted:#?}"
    );
}

/// The descriptor cache never changes an answer against this stack's reflection either: every
/// method of the interop service, in every spelling, after every other (see the property in
/// `support`).
pub fn cache_changes_no_answer(peer: &Peer) {
    let methods: Vec<String> = peer
        .grpcx(&["list", SERVICE])
        .ok()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(methods.len() >= 4, "{methods:?}");
    crate::support::assert_the_cache_changes_no_answer(&peer.addr, &methods);
}

/// `grpcx gateway` in front of the peer, whose schema has no google.api.http annotations (and,
/// from Python, no json_name in its reflection): the generic routes of all four kinds, rules
/// from a file, metadata, and the peer's rich error as an HTTP status with its details.
pub fn gateway(peer: &Peer) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("http.yaml");
    std::fs::write(
        &rules,
        "http:
  rules:
    - selector: interop.v1.InteropService.Echo
      post: /v1/echo/{text}
      body: \"*\"
    - selector: interop.v1.InteropService.Range
      get: /v1/range/{start}
",
    )
    .unwrap();
    let gateway = Gateway::spawn(
        peer.command(&Gateway::args(&["--http-rules", rules.to_str().unwrap()])),
        None,
    );
    assert!(gateway.early.is_empty(), "{:?}", gateway.early);

    // Every type through the generic route, checked as `grpcx call`'s answer is.
    let request = everything_for(
        peer,
        ("label", json!({"key": "chosen", "color": "COLOR_GREEN"})),
    );
    let answer = gateway.post(&format!("/{SERVICE}/Echo"), &request.to_string());
    assert_eq!(answer.status, 200, "{answer:?}");
    check_echo(peer, &request, &answer.json(), "label");

    // A rule from the file: a path variable, the rest from the body.
    let echoed = gateway.post("/v1/echo/hello%20there", r#"{"favourite": "COLOR_RED"}"#);
    let echoed = echoed.json();
    assert_eq!(echoed["echo"]["text"], "hello there", "{echoed}");
    assert_eq!(echoed["echo"]["favourite"], "COLOR_RED", "{echoed}");

    // A server stream from a GET: 64-bit values from the path and the query string.
    let range = gateway.get("/v1/range/-9007199254740993?count=3&step=2");
    let records = range.records();
    let values: Vec<&Value> = records
        .iter()
        .filter_map(|record| record.get("result"))
        .map(|result| &result["value"])
        .collect();
    assert_eq!(
        values,
        [
            &json!("-9007199254740993"),
            &json!("-9007199254740991"),
            &json!("-9007199254740989")
        ],
        "{records:?}"
    );
    assert_eq!(records[3]["status"]["code"], 0, "{records:?}");

    // A client stream from an NDJSON body.
    let sum = gateway.post(
        &format!("/{SERVICE}/Sum"),
        "{\"value\": \"40\", \"name\": \"a\"}\n{\"value\": 2, \"name\": \"b\"}\n",
    );
    assert_eq!(sum.json()["total"], "42", "{sum:?}");

    // Metadata in, and the peer's error mapped: UNAUTHENTICATED is 401.
    gateway
        .request("POST", &format!("/{SERVICE}/WhoAmI"), &[], "")
        .expect_status(401, 16);
    let who = gateway.request(
        "POST",
        &format!("/{SERVICE}/WhoAmI"),
        &[("Grpc-Metadata-x-api-key", "secret-9")],
        "",
    );
    assert_eq!(who.json()["apiKey"], "secret-9", "{who:?}");

    let rejected = gateway.post(
        &format!("/{SERVICE}/Reject"),
        r#"{"field": "scalars.f_int64", "reason": "no"}"#,
    );
    rejected.expect_status(400, 3);
    assert_eq!(
        rejected.json()["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest",
        "{rejected:?}"
    );

    // A bidirectional call over POST: a reply a line, then the status.
    let chat = gateway.post(
        &format!("/{SERVICE}/Chat"),
        "{\"seq\": 1, \"text\": \"hi\"}\n{\"seq\": 2, \"number\": \"7\"}\n",
    );
    let replies = chat.records();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(replies[1]["result"]["seq"], 2, "{replies:?}");
}

/// `grpcx openapi` of the peer's schema (read by reflection from this stack), of the demo and
/// of the gateway's routing fixture passes an OpenAPI validator no one here wrote
/// (`openapi-spec-validator`, installed with the Python peer).
pub fn openapi_documents_are_valid(peer: &Peer) {
    let env = crate::peer::peer(Stack::Python)
        .python_env
        .clone()
        .expect("the Python peer's environment");
    // Through the interpreter: the environment was built elsewhere and moved, so its
    // scripts' `#!` lines point where it was built.
    let python = env.join("bin/python");
    let dir = tempfile::tempdir().unwrap();
    let from_files = |args: &[&str]| {
        let home = crate::support::Home::new();
        let mut command = home.command();
        command.args(args);
        crate::support::run_command(command, None)
    };
    let documents = [
        ("peer", peer.grpcx(&["openapi"])),
        (
            "demo",
            from_files(&[
                "--proto",
                "proto/item_service.proto",
                "--proto",
                "proto/types.proto",
                "openapi",
            ]),
        ),
        (
            "library",
            from_files(&[crate::support::LIBRARY_PROTO, &["openapi"]].concat()),
        ),
    ];
    for (name, run) in documents {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, run.ok()).unwrap();
        let checked = std::process::Command::new(&python)
            .args(["-m", "openapi_spec_validator"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}

/// `/ui` in front of the peer, in a real browser: a unary call from the template, a server
/// stream, metadata the server requires, an error with its details decoded and a
/// bidirectional exchange with a half-close (see `ui.rs`); then `/docs` lists its operations.
pub fn explorer(peer: &Peer) {
    use crate::ui::ExplorerPage;

    let gateway = Gateway::spawn(peer.command(&Gateway::args(&[])), None);
    let stack = match peer.stack {
        Stack::Python => "python",
        Stack::Node => "node",
    };
    let mut page = ExplorerPage::open(&gateway, &format!("ui-{stack}"));

    page.pick(&format!("{SERVICE}.Echo"));
    page.press("call");
    assert_eq!(
        page.wait_status(),
        "OK",
        "the template is a request the peer takes"
    );
    assert!(
        page.received()[0].get("echo").is_some(),
        "{:?}",
        page.received()
    );

    page.pick(&format!("{SERVICE}.Range"));
    page.set_json(r#"{"start": "5", "count": 3, "step": "2"}"#);
    page.press("call");
    assert_eq!(page.wait_status(), "OK");
    let values: Vec<Value> = page
        .received()
        .iter()
        .map(|item| item["value"].clone())
        .collect();
    assert_eq!(values, ["5", "7", "9"]);

    page.pick(&format!("{SERVICE}.WhoAmI"));
    page.add_metadata("x-api-key", "from-the-browser");
    page.press("call");
    assert_eq!(page.wait_status(), "OK");
    assert_eq!(page.received()[0]["apiKey"], "from-the-browser");
    page.add_metadata("", "");

    page.pick(&format!("{SERVICE}.Reject"));
    page.set_json(r#"{"field": "name", "reason": "too short"}"#);
    page.press("call");
    assert_eq!(page.wait_status(), "INVALID_ARGUMENT");
    let details = page.text("status-details");
    assert!(details.contains("google.rpc.BadRequest"), "{details}");
    page.screenshot("error");

    page.pick(&format!("{SERVICE}.Chat"));
    page.set_json(r#"{"seq": 1, "text": "hello"}"#);
    page.press("call");
    page.wait_received(1);
    page.set_json(r#"{"seq": 2, "text": "again"}"#);
    page.press("send");
    page.wait_received(2);
    page.press("half-close");
    assert_eq!(page.wait_status(), "OK");
    let texts: Vec<Value> = page
        .received()
        .iter()
        .map(|reply| reply["text"].clone())
        .collect();
    assert_eq!(texts, ["HELLO", "AGAIN"]);
    page.screenshot("bidi");
    page.assert_clean();

    // `/docs` lists the peer's operations, from its own document.
    page.browser
        .navigate(&format!("http://{}/docs", gateway.addr));
    page.browser.wait_for(
        "['InteropService_Echo', 'InteropService_Range', 'InteropService_Chat'].every((id) => document.body.innerText.split(/\\s+/).includes(id))",
        Duration::from_secs(15),
    );
    page.screenshot("docs");
    page.assert_clean();
}

/// `grpcx bench` against the peer, every kind: the counts add up, every call ends OK, and the
/// messages of streams are counted both ways (a closed loop, then an open one).
pub fn bench(peer: &Peer) {
    let report = |args: &[&str]| -> Value {
        let run = peer.grpcx(&[&["bench"], args, &["-o", "json"]].concat());
        // 7: this machine, busy with other tests, kept the open loop from its rate.
        assert!(run.code == 0 || run.code == 7, "{run:?}");
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {run:?}"))
    };
    let echo = everything_for(peer, ("text", json!("bench"))).to_string();
    let unary = report(&[
        &format!("{SERVICE}/Echo"),
        &echo,
        "-c",
        "8",
        "-n",
        "200",
        "--connections",
        "2",
    ]);
    assert_eq!(unary["count"], 200, "{unary}");
    assert_eq!(unary["status"]["OK"], 200, "{unary}");

    let open = report(&[
        &format!("{SERVICE}/Echo"),
        &echo,
        "--rps",
        "200",
        "-z",
        "1s",
    ]);
    assert!(open["count"].as_u64().unwrap() > 0, "{open}");
    assert_eq!(open["status"]["OK"], open["count"], "{open}");

    let range = report(&[
        &format!("{SERVICE}/Range"),
        r#"{"start": "1", "count": 5, "step": "1"}"#,
        "-c",
        "4",
        "-n",
        "40",
    ]);
    assert_eq!(range["messages_received"], 200, "{range}");

    let sum = report(&[
        &format!("{SERVICE}/Sum"),
        r#"{"value": "2"} {"value": "3"}"#,
        "-c",
        "4",
        "-n",
        "40",
    ]);
    assert_eq!(sum["messages_sent"], 80, "{sum}");
    assert_eq!(sum["status"]["OK"], 40, "{sum}");

    let chat = report(&[
        &format!("{SERVICE}/Chat"),
        r#"{"seq": 1, "text": "a"}"#,
        "--stream-count",
        "4",
        "-c",
        "4",
        "-n",
        "20",
    ]);
    assert_eq!(chat["messages_sent"], 80, "{chat}");
    assert_eq!(chat["messages_received"], 80, "{chat}");
    assert_eq!(chat["message_round_trip"]["count"], 80, "{chat}");

    // Metadata with a template, which the peer requires.
    let who = report(&[
        &format!("{SERVICE}/WhoAmI"),
        "-H",
        "x-api-key: key-{{.RequestNumber}}",
        "-n",
        "10",
    ]);
    assert_eq!(who["status"]["OK"], 10, "{who}");
}
