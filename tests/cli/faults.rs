//! Faults on the other side: a server that dies mid-stream or never answers, a reader that
//! goes away, input cut short, Ctrl-C during each kind of call. grpcx ends each with what it
//! received on stdout, one clear error, the documented exit code, and never a panic or a hang.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use crate::support::{DemoProcess, TestServer, interrupt, run, signal, wait_bounded};

fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).unwrap();
    }
    stderr
}

#[test]
fn a_server_that_dies_mid_stream_is_unavailable_after_everything_it_sent() {
    let mut server = DemoProcess::start(&[]);
    let mut grpcx = server
        .command(&["call", "ItemService/ListItems", r#"{"delay": "0.3s"}"#])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(grpcx.stdout.take().unwrap());
    let mut received = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        received.push(line);
    }
    server.kill();
    let code = wait_bounded(&mut grpcx, Duration::from_secs(15));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let stderr = stderr_of(&mut grpcx);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("UNAVAILABLE"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(received[0].contains("Claw hammer"), "{received:?}");
    assert!(
        received[1].contains("The Rust Programming Language"),
        "{received:?}"
    );
    // Whatever else arrived before the end is whole: one JSON value a line.
    for line in rest.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn a_server_that_never_answers_is_cut_off_by_the_deadline_too() {
    // The kernel accepts connections into the backlog; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let run = run(
        &[
            "--addr",
            &addr,
            "--connect-timeout",
            "60s",
            "--max-time",
            "500ms",
            "call",
            "ItemService/GetItem",
            "{}",
        ],
        None,
    );
    run.fails(68, &["DEADLINE_EXCEEDED"]);
    assert_eq!(run.stdout, "");
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(silent);
}

/// grpcx streaming the demo's four items 0.3 s apart, once the first has been printed.
fn slow_stream_after_its_first_item(server: &TestServer) -> (Child, BufReader<ChildStdout>) {
    let mut child = server.spawn_piped(&["call", "ItemService/ListItems", r#"{"delay": "0.3s"}"#]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("Claw hammer"), "{first}");
    (child, stdout)
}

#[test]
fn a_reader_that_goes_away_cancels_the_call_quietly() {
    let server = TestServer::start();
    let (mut child, stdout) = slow_stream_after_its_first_item(&server);
    drop(stdout); // like `| head -n 1`
    let code = wait_bounded(&mut child, Duration::from_secs(10));
    let stderr = stderr_of(&mut child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "no broken-pipe message, no panic");
    let event = server.wait_for_event("ListItems: the client cancelled");
    assert!(event.contains("of 4 items"), "{event}");
}

#[test]
fn input_cut_short_in_a_client_stream_names_the_position_and_sends_only_whole_messages() {
    let server = TestServer::start();
    let run = server.grpcx_stdin(
        &["call", "ItemService/CreateItems"],
        "{\"name\": \"Whole\"}\n{\"name\": \"Cut sh",
    );
    run.fails(
        1,
        &["request message 2 is not valid JSON", "line 2", "column"],
    );
    assert_eq!(run.stdout, "");
    // The whole message may have gone before the reader found the cut (a pipe delivers both
    // at once); the cut one never does.
    let names: Vec<String> = server
        .grpcx(&["call", "ItemService/ListItems"])
        .json_lines()
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        names.iter().filter(|n| *n == "Whole").count() <= 1,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("Cut")), "{names:?}");
}

#[test]
fn ctrl_c_during_a_unary_call_cancels_it_on_the_server() {
    let server = TestServer::start();
    let mut child = server.spawn_piped(&[
        "call",
        "ItemService/GetItem",
        r#"{"id": 1, "delay": "30s"}"#,
    ]);
    // Wait until the server holds the call, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log.calls().is_empty() {
        assert!(Instant::now() < deadline, "the call never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    assert_eq!(wait_bounded(&mut child, Duration::from_secs(10)), Some(130));
    let event = server.wait_for_event("GetItem: the client cancelled");
    assert!(event.contains("item 1"), "{event}");
}

#[test]
fn ctrl_c_during_a_bidirectional_call_cancels_it_on_the_server() {
    let server = TestServer::start();
    let mut grpcx = server.interactive(&["call", "ItemService/SyncItems"]);
    grpcx.send("{\"getId\": 1}\n");
    let answer = grpcx.next_line(Duration::from_secs(10)).unwrap();
    assert!(answer.contains("OUTCOME_FOUND"), "{answer}");
    signal(grpcx.id(), "INT");
    assert_eq!(grpcx.wait(Duration::from_secs(10)), Some(130));
    let event = server.wait_for_event("SyncItems: the stream broke off after 1 requests");
    assert!(!event.is_empty());
}

#[test]
fn ctrl_c_during_a_server_stream_ends_it_with_exit_130_and_nothing_after() {
    let server = TestServer::start();
    let (mut child, mut stdout) = slow_stream_after_its_first_item(&server);
    interrupt(&child);
    assert_eq!(wait_bounded(&mut child, Duration::from_secs(10)), Some(130));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing is printed after Ctrl-C");
    let event = server.wait_for_event("ListItems: the client cancelled");
    assert!(event.contains("after 1 of 4 items"), "{event}");
}

#[test]
fn ctrl_c_during_a_client_stream_cancels_it_and_what_was_stored_stays() {
    let server = TestServer::start();
    let mut grpcx = server.interactive(&["call", "ItemService/CreateItems"]);
    grpcx.send("{\"name\": \"Before the cancel\"}\n");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline
        && server
            .grpcx(&["call", "ItemService/GetItem", r#"{"id":5}"#])
            .code
            != 0
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(grpcx.id(), "INT");
    assert_eq!(grpcx.wait(Duration::from_secs(10)), Some(130));
    let event = server.wait_for_event("CreateItems: the stream broke off");
    assert!(event.contains("after 1 items were stored"), "{event}");
    let kept = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":5}"#]);
    kept.ok();
    assert_eq!(kept.json_lines()[0]["name"], "Before the cancel");
}

#[test]
fn an_idle_demo_server_stops_on_ctrl_c_and_says_so_in_order() {
    let mut server = DemoProcess::start(&[]);
    server.signal("INT");
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{:?}", server.seen);
    let stopping = server.wait_for_line("grpcx demo server stopping: no new connections");
    let stopped = server.wait_for_line("grpcx demo server stopped");
    let position = |line: &str| server.seen.iter().position(|seen| seen == line);
    assert!(
        position(&stopping) < position(&stopped),
        "{:?}",
        server.seen
    );
}

#[test]
fn serve_demo_listens_where_addr_or_a_host_name_says() {
    // A port that was free a moment ago (a client's --addr has no port 0).
    let free = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (one, two) = (
        format!("127.0.0.1:{}", free()),
        format!("127.0.0.1:{}", free()),
    );
    for words in [
        ["serve-demo", "--addr", one.as_str()],
        ["--addr", two.as_str(), "serve-demo"],
        ["serve-demo", "--listen", "localhost:0"],
    ] {
        let server = DemoProcess::start_with(&words);
        assert!(
            server.addr.starts_with("127.0.0.1:"),
            "{words:?}: {}",
            server.addr
        );
        assert_ne!(server.port, 50051, "{words:?}");
        if words.contains(&"--addr") {
            assert!(
                words.contains(&server.addr.as_str()),
                "{words:?}: {}",
                server.addr
            );
        }
        let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id": 1}"#]);
        assert_eq!(got.json()["name"], "Claw hammer");
    }
    run(
        &[
            "serve-demo",
            "--addr",
            "127.0.0.1:1",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    )
    .fails(2, &["cannot be used with"]);
}
