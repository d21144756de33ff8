use serde_json::json;

use crate::support::TestServer;

#[test]
fn unary_call_prints_the_item_as_protobuf_json() {
    let server = TestServer::start();
    let run = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": 1}"#]);
    run.ok();
    assert_eq!(
        run.json_lines(),
        vec![json!({
            "id": "1",
            "name": "Claw hammer",
            "category": "CATEGORY_TOOL",
            "price": {"currencyCode": "EUR", "units": "24", "nanos": 990000000},
            "tags": ["steel", "workshop"],
            "attributes": {"weight": "450g"},
            "createdAt": "2026-01-01T00:00:00Z",
            "dimensions": {"widthCm": 12.0, "heightCm": 33.0, "depthCm": 3.5}
        })]
    );
    assert_eq!(run.stderr, "", "nothing but results: {run:#?}");
}

#[test]
fn three_answers_one_of_them_not_found() {
    let server = TestServer::start();
    let first = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": 1}"#]);
    assert_eq!(first.json_lines()[0]["name"], "Claw hammer");
    let second = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": "2"}"#]);
    assert_eq!(
        second.json_lines()[0]["name"],
        "The Rust Programming Language"
    );

    let missing = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": 99}"#]);
    missing.fails(69, &["ERROR: NOT_FOUND: no item with id 99"]);
    assert_eq!(missing.stdout, "", "stdout carries only results");
}

#[test]
fn every_method_spelling_reaches_the_same_method() {
    let server = TestServer::start();
    for spelling in [
        "grpcx.demo.v1.ItemService/GetItem",
        "grpcx.demo.v1.ItemService.GetItem",
        "ItemService/GetItem",
        "ItemService.GetItem",
        "v1.ItemService/GetItem",
        "GetItem",
    ] {
        let run = server.grpcx(&["call", spelling, r#"{"id": 3}"#]);
        run.ok();
        assert_eq!(run.json_lines()[0]["name"], "Espresso beans", "{spelling}");
    }
}

#[test]
fn data_comes_from_an_argument_a_flag_a_file_or_stdin() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("request.json");
    std::fs::write(&file, r#"{"id": 2}"#).unwrap();
    let at_file = format!("@{}", file.display());

    let runs = [
        server.grpcx(&["call", "ItemService/GetItem", "-d", r#"{"id": 2}"#]),
        server.grpcx(&["call", "ItemService/GetItem", &at_file]),
        server.grpcx(&["call", "ItemService/GetItem", "-d", &at_file]),
        server.grpcx_stdin(&["call", "ItemService/GetItem", "@-"], r#"{"id": 2}"#),
        server.grpcx_stdin(&["call", "ItemService/GetItem", "-"], "\n{\"id\": 2}\n"),
    ];
    for run in runs {
        run.ok();
        assert_eq!(run.json_lines()[0]["id"], "2", "{run:#?}");
    }
}

#[test]
fn no_data_sends_an_empty_request_to_a_unary_method() {
    let server = TestServer::start();
    // The empty request has id 0, which the demo does not store.
    server
        .grpcx(&["call", "ItemService/GetItem"])
        .fails(69, &["NOT_FOUND", "no item with id 0"]);
}

#[test]
fn output_json_is_pretty_and_ndjson_is_one_value_a_line() {
    let server = TestServer::start();
    let pretty = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"limit": 2}"#,
        "--output",
        "json",
    ]);
    let text = pretty.ok();
    assert!(text.starts_with("{\n  \"id\": \"1\",\n"), "{text}");
    let values: Vec<serde_json::Value> = serde_json::Deserializer::from_str(text)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(values.len(), 2);

    let compact = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"limit": 2}"#,
        "-o",
        "ndjson",
    ]);
    assert_eq!(compact.ok().lines().count(), 2);
    assert_eq!(compact.json_lines()[1]["id"], "2");
}

#[test]
fn without_data_every_kind_of_call_reads_a_pipe_on_stdin() {
    let server = TestServer::start();
    let unary = server.grpcx_stdin(&["call", "ItemService/GetItem"], r#"{"id": 2}"#);
    assert_eq!(unary.json()["name"], "The Rust Programming Language");
    let stream = server.grpcx_stdin(&["call", "ItemService/ListItems"], r#"{"limit": 1}"#);
    assert_eq!(stream.json()["id"], "1");
    let client = server.grpcx_stdin(&["call", "ItemService/CreateItems"], r#"{"name": "a"}"#);
    assert_eq!(client.json()["count"], 1);
    let bidi = server.grpcx_stdin(&["call", "ItemService/SyncItems"], r#"{"getId": 3}"#);
    assert_eq!(bidi.json()["item"]["name"], "Espresso beans");
    // An empty pipe is the empty request.
    server
        .grpcx_stdin(&["call", "ItemService/GetItem"], "")
        .fails(69, &["no item with id 0"]);
}

#[test]
fn whole_integers_in_any_spelling_quoted_or_not_in_calls_and_streams() {
    let server = TestServer::start();
    let data = r#"{"fInt32": "2e1", "fInt64": 1E3, "fUint64": "20.0", "rInt64": ["-1.5e1"], "mString": {"k": "4e0"}, "rNested": [{"fInt32": "5.0"}], "fString": "2e1", "wInt32": "3e0"}"#;
    let unary = server.grpcx(&["call", "TypesService/Echo", data]);
    let echoed = unary.json();
    assert_eq!(echoed["fInt32"], 20);
    assert_eq!(echoed["fInt64"], "1000");
    assert_eq!(echoed["fUint64"], "20");
    assert_eq!(echoed["rInt64"][0], "-15");
    assert_eq!(echoed["mString"]["k"], 4);
    assert_eq!(echoed["rNested"][0]["fInt32"], 5);
    assert_eq!(echoed["fString"], "2e1", "a string stays as it is");
    assert_eq!(echoed["wInt32"], 3);
    let stream = server.grpcx_stdin(
        &["call", "ItemService/CreateItems"],
        "{\"name\": \"a\", \"price\": {\"units\": \"1e1\"}}\n{\"name\": \"b\"}\n",
    );
    assert_eq!(stream.json()["count"], 2);
    server
        .grpcx(&["call", "TypesService/Echo", r#"{"fInt32": "2.5"}"#])
        .fails(1, &["at .fInt32"]);
}

#[test]
fn output_text_points_to_format_text() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", "-o", "text"])
        .fails(2, &["`--format text`"]);
}

#[test]
fn the_demo_server_logs_each_call_with_its_method() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id": 1}"#])
        .ok();
    let calls = server.log.calls();
    assert!(
        calls
            .iter()
            .any(|call| call.service == "grpcx.demo.v1.ItemService" && call.method == "GetItem"),
        "{calls:?}"
    );
}
