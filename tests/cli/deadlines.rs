//! `--max-time` ends every kind of call with DEADLINE_EXCEEDED (exit 68), whether the server
//! honours the deadline it is sent or ignores it.

use std::time::Duration;

use crate::support::{IgnoringServer, TestServer, run};

const PROTO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");

#[test]
fn every_kind_of_call_to_a_server_that_ignores_deadlines_ends_deadline_exceeded() {
    let server = IgnoringServer::start();
    let addr = server.addr.to_string();
    for (method, data) in [
        ("ItemService/GetItem", r#"{"id": 1}"#),
        ("ItemService/ListItems", "{}"),
        ("ItemService/CreateItems", r#"{"name": "a"}"#),
        ("ItemService/SyncItems", r#"{"getId": 1}"#),
    ] {
        let got = run(
            &[
                "--addr",
                &addr,
                "--import-path",
                PROTO_DIR,
                "--proto",
                "item_service.proto",
                "--max-time",
                "500ms",
                "call",
                method,
                data,
            ],
            None,
        );
        got.fails(68, &["DEADLINE_EXCEEDED"]);
        assert_eq!(got.stdout, "", "{method}");
    }
}

#[test]
fn a_unary_call_whose_answer_comes_too_late_ends_deadline_exceeded() {
    let server = TestServer::start();
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            "--max-time",
            "500ms",
            r#"{"id": 2, "delay": "3s"}"#,
        ])
        .fails(68, &["ERROR: DEADLINE_EXCEEDED"]);
}

#[test]
fn a_client_stream_still_open_at_the_deadline_ends_deadline_exceeded() {
    let server = TestServer::start();
    let mut grpcx = server.interactive(&["call", "ItemService/CreateItems", "--max-time", "500ms"]);
    grpcx.send("{\"name\": \"sent in time\"}\n");
    // stdin stays open: the stream is not over when the deadline passes.
    assert_eq!(grpcx.wait(Duration::from_secs(15)), Some(68));
}
