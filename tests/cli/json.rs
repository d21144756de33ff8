//! The protobuf JSON mapping both ways, through the demo's echo of every type, strict input
//! with JSON paths, and rich error details.

use serde_json::{Value, json};

use crate::support::TestServer;

/// Equal as JSON, with numbers compared by value (`1` and `1.0` are the same double, and the
/// spec lets a printer write either).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn echo(server: &TestServer, request: &str, extra: &[&str]) -> Value {
    let mut args = vec!["call", "TypesService/Echo", request];
    args.extend_from_slice(extra);
    let got = server.grpcx(&args);
    got.ok();
    got.json_lines().remove(0)
}

#[test]
fn every_type_survives_the_round_trip_exactly() {
    let server = TestServer::start();
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string("fixtures/all_types.json").unwrap()).unwrap();
    let got = echo(&server, "@fixtures/all_types.json", &[]);
    assert!(same(&got, &fixture), "{got:#}");
    // Pretty output is the same JSON.
    let pretty = server.grpcx(&[
        "call",
        "TypesService/Echo",
        "@fixtures/all_types.json",
        "-o",
        "json",
    ]);
    let pretty: Value = serde_json::from_str(pretty.ok()).unwrap();
    assert!(same(&pretty, &fixture), "{pretty:#}");
}

#[test]
fn inputs_the_spec_allows_come_back_in_canonical_form() {
    let server = TestServer::start();
    for (input, canonical) in [
        (json!({"fInt64": 5}), json!({"fInt64": "5"})),
        (
            json!({"fUint64": 18446744073709551615u64}),
            json!({"fUint64": "18446744073709551615"}),
        ),
        (json!({"fInt32": "12"}), json!({"fInt32": 12})),
        (json!({"fBytes": "-_8"}), json!({"fBytes": "+/8="})),
        (json!({"fBytes": "+/8"}), json!({"fBytes": "+/8="})),
        (json!({"fEnum": 1}), json!({"fEnum": "COLOR_RED"})),
        (json!({"fEnum": 99}), json!({"fEnum": 99})),
        (
            json!({"fFloat": "Infinity", "fDouble": "-Infinity"}),
            json!({"fFloat": "Infinity", "fDouble": "-Infinity"}),
        ),
        (json!({"custom_json": "x"}), json!({"customJSON": "x"})),
        (
            json!({"f_string": "proto name"}),
            json!({"fString": "proto name"}),
        ),
        (json!({"tDuration": "1.5s"}), json!({"tDuration": "1.500s"})),
        (
            json!({"tTimestamp": "2026-01-01T01:00:00+01:00"}),
            json!({"tTimestamp": "2026-01-01T00:00:00Z"}),
        ),
        (json!({"tNull": null, "fString": null}), json!({})),
        (json!({"wInt32": null}), json!({})),
        (json!({"fOptional": 0}), json!({"fOptional": 0})),
    ] {
        assert_eq!(echo(&server, &input.to_string(), &[]), canonical, "{input}");
    }
}

#[test]
fn emit_defaults_and_proto_names() {
    let server = TestServer::start();
    let got = echo(&server, r#"{"fInt32": 1}"#, &["--emit-defaults"]);
    assert_eq!(got["fInt64"], "0");
    assert_eq!(got["rNested"], json!([]));
    assert_eq!(got["mString"], json!({}));
    assert_eq!(got["fEnum"], "COLOR_UNSPECIFIED");
    assert_eq!(got["fBool"], false);
    let got = echo(
        &server,
        r#"{"fInt32": 1, "customJSON": "c"}"#,
        &["--proto-names"],
    );
    assert_eq!(got, json!({"f_int32": 1, "custom_json": "c"}));
}

#[test]
fn strict_input_names_the_path_and_the_expected_type() {
    let server = TestServer::start();
    for (request, needles) in [
        (
            r#"{"fInt32": "x"}"#,
            vec!["at .fInt32:", "expected a 32-bit integer"],
        ),
        (
            r#"{"fInt32": 3000000000}"#,
            vec!["at .fInt32:", "expected a 32-bit integer"],
        ),
        (r#"{"fUint32": -1}"#, vec!["at .fUint32:", "unsigned"]),
        (
            r#"{"rNested": [{}, {}, {"fInt64": true}]}"#,
            vec!["at .rNested[2].fInt64:", "64-bit integer"],
        ),
        (
            r#"{"mMessage": {"k": {"fBool": "yes"}}}"#,
            vec!["at .mMessage.k.fBool:", "true or false"],
        ),
        (r#"{"fEnum": "PURPLE"}"#, vec!["at .fEnum:", "COLOR_RED"]),
        (r#"{"fBytes": "***"}"#, vec!["at .fBytes:", "base64"]),
        (
            r#"{"tTimestamp": "soon"}"#,
            vec!["at .tTimestamp:", "RFC 3339"],
        ),
        (r#"{"tDuration": 5}"#, vec!["at .tDuration:", "duration"]),
        (
            r#"{"nested": {"oString": "a", "oMessage": {}}}"#,
            vec![
                "at .nested:",
                "oString and oMessage are both set",
                "oneof `choice`",
            ],
        ),
        (
            r#"{"fStrng": "x"}"#,
            vec![
                "fStrng",
                "did you mean `fString`?",
                "--allow-unknown-fields",
            ],
        ),
        (
            r#"{"tAny": {"@type": "type.googleapis.com/no.Such"}}"#,
            vec!["at .tAny:"],
        ),
        (r#"{"rInt64": "1"}"#, vec!["at .rInt64:", "a list of"]),
    ] {
        let got = server.grpcx(&["call", "TypesService/Echo", request]);
        let mut all = vec!["grpcx.demo.v1.AllTypes"];
        all.extend(needles);
        got.fails(1, &all);
        assert_eq!(got.stdout, "", "{request}");
    }
    // Unknown fields may be allowed.
    let got = echo(
        &server,
        r#"{"fStrng": "x", "fInt32": 2}"#,
        &["--allow-unknown-fields"],
    );
    assert_eq!(got, json!({"fInt32": 2}));
}

#[test]
fn every_standard_error_detail_is_decoded() {
    let server = TestServer::start();
    let details = json!([
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA", "domain": "grpcx.dev", "metadata": {"k": "v"}},
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "name", "description": "empty", "reason": "R", "localizedMessage": {"locale": "fr", "message": "vide"}}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.500s"},
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"subject": "user:1", "description": "too many"}]},
        {"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": [{"type": "TOS", "subject": "x", "description": "not accepted"}]},
        {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "item", "resourceName": "items/1", "owner": "me", "description": "d"},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "docs", "url": "https://example.com"}]},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en", "message": "hi"},
        {"@type": "type.googleapis.com/google.rpc.DebugInfo", "stackEntries": ["a", "b"], "detail": "d"},
        {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "r1", "servingData": "s"},
        {"@type": "type.googleapis.com/grpcx.demo.v1.Item", "id": "1", "name": "from the schema"},
        {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s"},
    ]);
    let request = json!({"code": 9, "message": "precondition", "details": details}).to_string();
    let got = server.grpcx(&["call", "TypesService/Fail", &request]);
    got.fails(73, &["ERROR: FAILED_PRECONDITION: precondition"]);
    let shown: Vec<Value> = got
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("  detail: "))
        .map(|detail| serde_json::from_str(detail).unwrap())
        .collect();
    assert_eq!(Value::Array(shown), details);

    // --format-error: the status as one JSON object on stdout, nothing on stderr.
    let got = server.grpcx(&["call", "TypesService/Fail", &request, "--format-error"]);
    assert_eq!(got.code, 73);
    assert_eq!(got.stderr, "");
    let status: Value = serde_json::from_str(got.stdout.trim()).unwrap();
    assert_eq!(
        status,
        json!({"code": 9, "codeName": "FAILED_PRECONDITION", "message": "precondition", "details": details})
    );
}

#[test]
fn the_demo_sends_rich_details_where_natural() {
    let server = TestServer::start();
    server.grpcx(&["call", "ItemService/GetItem", r#"{"id":99}"#]).fails(
        69,
        &["ERROR: NOT_FOUND: no item with id 99", r#"detail: {"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceType":"grpcx.demo.v1.Item","resourceName":"items/99""#],
    );
    server
        .grpcx(&[
            "call",
            "ItemService/CreateItems",
            r#"{"name":"ok"} {"name":""}"#,
        ])
        .fails(
            67,
            &[
                "ERROR: INVALID_ARGUMENT: item 2 has no name",
                r#""fieldViolations":[{"field":"name""#,
            ],
        );
}

#[test]
fn the_text_format_round_trips_every_type_too() {
    use prost_reflect::{DescriptorPool, DynamicMessage};
    let server = TestServer::start();
    let pool = DescriptorPool::decode(grpcx::demo::pb::FILE_DESCRIPTOR_SET).unwrap();
    let all_types = pool.get_message_by_name("grpcx.demo.v1.AllTypes").unwrap();
    let mut fixture: Value =
        serde_json::from_str(&std::fs::read_to_string("fixtures/all_types.json").unwrap()).unwrap();
    // The demo's own schema lacks google.rpc.ErrorInfo, which this test's pool needs to print.
    fixture.as_object_mut().unwrap().remove("rAny");
    let original = DynamicMessage::deserialize(all_types.clone(), fixture).unwrap();
    let text = original.to_text_format();

    let got = server.grpcx(&["call", "TypesService/Echo", &text, "--format", "text"]);
    let echoed = DynamicMessage::parse_text_format(all_types, got.ok()).unwrap();
    // Compared as JSON values: map entries have no order, and a DynamicMessage's own equality
    // fails on NaN (and its Debug output recurses through recursive types).
    let as_json = |message: &DynamicMessage| serde_json::to_value(message).unwrap();
    assert_eq!(as_json(&echoed), as_json(&original));
}

#[test]
fn text_format_streams_are_separated_by_blank_lines_or_record_separators() {
    let server = TestServer::start();
    let got = server.grpcx_stdin(
        &["call", "ItemService/CreateItems", "--format", "text"],
        "name: \"a\"\n\nname: \"b\"\n\u{1e}\nname: \"c\" tags: \"x\"\n",
    );
    assert_eq!(got.ok(), "count: 3\nids: [5, 6, 7]\n");
    let listed = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        "limit: 2",
        "--format",
        "text",
    ]);
    let records: Vec<&str> = listed.ok().split("\u{1e}\n").collect();
    assert_eq!(records.len(), 2, "{}", listed.stdout);
    assert!(
        records[1].starts_with("id: 2\nname: \"The Rust Programming Language\""),
        "{}",
        records[1]
    );
    server
        .grpcx(&["call", "ItemService/GetItem", "id: x", "--format", "text"])
        .fails(
            1,
            &["not valid text format for grpcx.demo.v1.GetItemRequest"],
        );
}

#[test]
fn a_terminal_gets_colored_pretty_json_unless_no_color_or_a_dumb_terminal() {
    let server = TestServer::start();
    let call = ["call", "ItemService/GetItem", r#"{"id":1}"#];
    let terminal = |env: &[(&str, &str)], extra: &[&str]| {
        let args: Vec<&str> = call.iter().chain(extra).copied().collect();
        let mut command = server.command(&args);
        command.envs(env.iter().copied());
        let (code, seen) = crate::support::run_on_terminal(command);
        assert_eq!(code, Some(0), "{seen}");
        seen
    };
    let colored = terminal(&[("TERM", "xterm")], &[]);
    assert!(
        colored.starts_with("{\n  \x1b[1;34m\"id\"\x1b[0m: \x1b[32m\"1\"\x1b[0m,"),
        "{colored:?}"
    );
    for plain in [
        terminal(&[("TERM", "xterm"), ("NO_COLOR", "1")], &[]),
        terminal(&[("TERM", "dumb")], &[]),
        terminal(&[("TERM", "xterm")], &["--color", "never"]),
        terminal(&[("TERM", "xterm"), ("CLICOLOR", "0")], &[]),
    ] {
        assert!(plain.starts_with("{\n  \"id\": \"1\","), "{plain:?}");
    }
}

#[test]
fn a_pipe_gets_one_plain_line_unless_color_is_forced() {
    let server = TestServer::start();
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut command = server.command(&["call", "ItemService/GetItem", r#"{"id":1}"#]);
        command.args(extra);
        for (key, value) in env {
            command.env(key, value);
        }
        let output = assert_cmd::Command::from_std(command)
            .timeout(crate::support::RUN_LIMIT)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let piped = run(&[], &[]);
    assert!(
        !piped.contains('\x1b') && piped.lines().count() == 1,
        "{piped:?}"
    );
    for forced in [
        run(&[], &["--color", "always"]),
        run(&[("CLICOLOR_FORCE", "1")], &[]),
    ] {
        assert!(forced.contains("\x1b[32m"), "{forced:?}");
        assert_eq!(forced.lines().count(), 1, "still one value a line");
    }
    let no_color_wins = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]);
    assert!(!no_color_wins.contains('\x1b'), "{no_color_wins:?}");
}

#[test]
fn the_envelope_holds_the_whole_call_in_one_document() {
    let server = TestServer::start();
    let got = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"limit": 2}"#,
        "-o",
        "envelope",
        "-H",
        "x-team: core",
        "-H",
        "authorization: Bearer s3cret",
    ]);
    let document: Value = serde_json::from_str(got.ok()).unwrap();
    assert_eq!(document["method"], "grpcx.demo.v1.ItemService/ListItems");
    assert_eq!(
        document["requestHeaders"],
        json!({"x-team": "core", "authorization": "<redacted>"})
    );
    assert_eq!(
        document["responseHeaders"]["content-type"],
        "application/grpc"
    );
    assert_eq!(document["messages"].as_array().unwrap().len(), 2);
    assert_eq!(
        document["messages"][1]["name"],
        "The Rust Programming Language"
    );
    assert!(document["trailers"].is_object());
    assert_eq!(
        document["status"],
        json!({"code": 0, "codeName": "OK", "message": "", "details": []})
    );
    assert!(document["elapsedMs"].as_f64().unwrap() > 0.0);

    let failed = server.grpcx(&[
        "call",
        "ItemService/GetItem",
        r#"{"id": 99}"#,
        "-o",
        "envelope",
    ]);
    assert_eq!(failed.code, 69);
    assert_eq!(failed.stderr, "", "the status is in the document");
    let document: Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(document["status"]["codeName"], "NOT_FOUND");
    assert_eq!(document["status"]["details"][0]["resourceName"], "items/99");
    assert_eq!(document["messages"], json!([]));
}

#[test]
fn unary_and_client_streaming_calls_keep_trailers_apart_from_headers() {
    let server = TestServer::start();
    for (method, data) in [
        ("ItemService/GetItem", r#"{"id": 1}"#),
        ("ItemService/CreateItems", r#"{"name": "pen"}"#),
    ] {
        let got = server.grpcx(&["call", method, data, "-o", "envelope"]);
        let document: Value = serde_json::from_str(got.ok()).unwrap();
        assert_eq!(document["trailers"]["grpc-status"], "0", "{method}");
        assert!(
            document["responseHeaders"].get("grpc-status").is_none(),
            "{method}: {}",
            document["responseHeaders"]
        );
        assert_eq!(document["messages"].as_array().unwrap().len(), 1);
    }
}
