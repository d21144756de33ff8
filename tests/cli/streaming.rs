use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::TestServer;

fn names(values: &[serde_json::Value]) -> Vec<&str> {
    values.iter().map(|v| v["name"].as_str().unwrap()).collect()
}

#[test]
fn server_streaming_sends_the_items_in_order_filtered_and_limited() {
    let server = TestServer::start();
    let all = server.grpcx(&["call", "ItemService/ListItems"]);
    all.ok();
    assert_eq!(
        names(&all.json_lines()),
        [
            "Claw hammer",
            "The Rust Programming Language",
            "Espresso beans",
            "Torque wrench"
        ]
    );

    let tools = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"category": "CATEGORY_TOOL"}"#,
    ]);
    tools.ok();
    assert_eq!(names(&tools.json_lines()), ["Claw hammer", "Torque wrench"]);

    let limited = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"nameContains": "E", "limit": 2}"#,
    ]);
    limited.ok();
    assert_eq!(
        names(&limited.json_lines()),
        ["Claw hammer", "The Rust Programming Language"]
    );
}

#[test]
fn client_streaming_stores_each_item_and_answers_with_a_summary() {
    let server = TestServer::start();
    let run = server.grpcx_stdin(
        &["call", "ItemService/CreateItems"],
        "{\"name\": \"Pencil\", \"tags\": [\"office\"]}\n{\"name\": \"Notebook\"}\n{\"name\": \"Ink\", \"category\": 2}\n",
    );
    run.ok();
    assert_eq!(
        run.json_lines(),
        vec![json!({"count": 3, "ids": ["5", "6", "7"]})]
    );

    let stored = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": 7}"#]);
    stored.ok();
    let item = &stored.json_lines()[0];
    assert_eq!(item["name"], "Ink");
    assert_eq!(item["category"], "CATEGORY_BOOK");
}

#[test]
fn client_streaming_takes_several_values_in_one_data_argument() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "call",
        "ItemService/CreateItems",
        r#"{"name":"a"}{"name":"b"} {"name":"c"}"#,
    ]);
    run.ok();
    assert_eq!(run.json_lines()[0]["count"], 3);
}

#[test]
fn an_empty_client_stream_is_a_valid_call() {
    let server = TestServer::start();
    let run = server.grpcx_stdin(&["call", "ItemService/CreateItems"], "");
    run.ok();
    assert_eq!(run.json_lines(), vec![json!({})]);
}

#[test]
fn bidirectional_streaming_answers_each_request_in_order() {
    let server = TestServer::start();
    let run = server.grpcx_stdin(
        &["call", "ItemService/SyncItems"],
        r#"{"getId": "1"} {"put": {"name": "Mug"}} {"deleteId": 3} {"getId": 3}"#,
    );
    run.ok();
    let answers = run.json_lines();
    let outcomes: Vec<&str> = answers
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "OUTCOME_FOUND",
            "OUTCOME_CREATED",
            "OUTCOME_DELETED",
            "OUTCOME_NOT_FOUND"
        ]
    );
    assert_eq!(answers[0]["item"]["name"], "Claw hammer");
    assert_eq!(answers[1]["item"]["name"], "Mug");
    assert_eq!(answers[1]["id"], "5");
    assert_eq!(answers[2]["item"]["name"], "Espresso beans");
}

#[test]
fn bidirectional_answer_arrives_while_stdin_is_still_open() {
    let server = TestServer::start();
    let mut grpcx = server.interactive(&["call", "ItemService/SyncItems"]);

    grpcx.send("{\"getId\": 2}\n");
    let first = grpcx
        .next_line(Duration::from_secs(10))
        .expect("the first answer arrives before stdin closes");
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["item"]["name"], "The Rust Programming Language");

    grpcx.send("{\"put\": {\"name\": \"Lamp\"}}\n");
    let second = grpcx
        .next_line(Duration::from_secs(10))
        .expect("second answer");
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["outcome"], "OUTCOME_CREATED");

    grpcx.close_stdin();
    assert_eq!(grpcx.wait(Duration::from_secs(10)), Some(0));
    assert_eq!(grpcx.next_line(Duration::from_millis(100)), None);
}

#[test]
fn a_deadline_ends_a_slow_stream_with_deadline_exceeded_after_printing_what_came() {
    let server = TestServer::start();
    let started = Instant::now();
    let run = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"delay": "0.4s"}"#,
        "--max-time",
        "1s",
    ]);
    run.fails(68, &["ERROR: DEADLINE_EXCEEDED"]);
    let received = run.json_lines();
    assert!(
        (1..4).contains(&received.len()),
        "some but not all items arrive before the deadline: {run:#?}"
    );
    assert_eq!(received[0]["name"], "Claw hammer");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn items_stored_before_a_client_goes_away_stay_stored() {
    let server = TestServer::start();
    let mut grpcx = server.interactive(&["call", "ItemService/CreateItems"]);
    grpcx.send("{\"name\": \"Kept one\"}\n{\"name\": \"Kept two\"}\n");

    // Wait (bounded) until the server has stored both, then kill the client mid-stream.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut stored = Vec::new();
    while Instant::now() < deadline {
        let run = server.grpcx(&[
            "call",
            "ItemService/ListItems",
            r#"{"nameContains": "kept"}"#,
        ]);
        stored = run.json_lines();
        if stored.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    grpcx.kill();
    assert_eq!(
        stored.len(),
        2,
        "both items were stored while the stream was open"
    );

    let after = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"nameContains": "kept"}"#,
    ]);
    after.ok();
    assert_eq!(names(&after.json_lines()), ["Kept one", "Kept two"]);
}

/// 100,000 tiny messages each way: the stream that trips h2's "too_many_data_frames" guard
/// when flow-control windows are small (see the GUIDE's pitfalls).
#[test]
fn a_hundred_thousand_messages_each_way() {
    const COUNT: usize = 100_000;
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.ndjson");
    let lines: String = (0..COUNT)
        .map(|i| format!("{{\"name\":\"bulk {i}\"}}\n"))
        .collect();
    std::fs::write(&file, lines).unwrap();

    let created = server.grpcx(&[
        "call",
        "ItemService/CreateItems",
        &format!("@{}", file.display()),
    ]);
    created.ok();
    let summary = &created.json_lines()[0];
    assert_eq!(summary["count"], COUNT);
    let ids = summary["ids"].as_array().unwrap();
    assert_eq!(ids.len(), COUNT);
    assert_eq!(ids[0], "5");
    assert_eq!(ids[COUNT - 1], (COUNT + 4).to_string());

    let listed = server.grpcx(&[
        "call",
        "ItemService/ListItems",
        r#"{"nameContains": "bulk"}"#,
    ]);
    listed.ok();
    let mut count = 0;
    for (i, line) in listed.stdout.lines().enumerate() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(item["name"], format!("bulk {i}"));
        count += 1;
    }
    assert_eq!(count, COUNT, "every message arrives, in order");
}

#[test]
fn at_a_terminal_a_mistyped_request_is_skipped_and_the_stream_goes_on() {
    let server = TestServer::start();
    let mut session =
        crate::support::TerminalSession::spawn(server.command(&["call", "ItemService/SyncItems"]));
    session.wait_for("Ctrl-D ends the stream");
    session.type_text("{\"getId\": 1}\n");
    session.wait_for("Claw hammer");
    session.type_text("{getId: 2}\n");
    session.wait_for("the stream goes on");
    session.type_text("{\"getIdd\": 2}\n");
    session.wait_for("did you mean `getId`?");
    session.type_text("{\"getId\": 2}\n");
    session.wait_for("The Rust Programming Language");
    session.type_text("\x04");
    assert_eq!(
        session.wait(std::time::Duration::from_secs(15)),
        Some(0),
        "{}",
        session.seen
    );
}

#[test]
fn in_a_pipe_a_bad_request_ends_the_call_saying_what_was_sent_before_it() {
    let server = TestServer::start();
    let got = server.grpcx_stdin(
        &["call", "ItemService/CreateItems"],
        "{\"name\": \"a\"}\n{\"name\": \"b\"}\n{\"nme\": \"c\"}\n",
    );
    got.fails(
        1,
        &[
            "request message 3 does not fit grpcx.demo.v1.Item",
            "messages 1 and 2 before it went to the server, and the call was cancelled",
        ],
    );
}
