//! `grpcx gateway` end to end: the real binary in front of real servers on loopback, spoken
//! to over HTTP/1.1 by hyper's client (`support::Gateway`) and over WebSocket by tungstenite.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::support::{
    EXCHANGE_LIMIT, Gateway, Home, LoopbackServer, Open, TestServer, interrupt, signal,
    wait_bounded,
};

/// The calls the server received, but the gateway's reflection.
fn api_calls(server: &TestServer) -> Vec<grpcx::demo::LoggedCall> {
    server
        .log
        .calls()
        .into_iter()
        .filter(|call| !call.service.contains("reflection"))
        .collect()
}

/// Waits (bounded) until the server has received a call of `method`.
fn wait_for_call(server: &TestServer, method: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !api_calls(server).iter().any(|call| call.method == method) {
        assert!(
            Instant::now() < deadline,
            "{method} never reached the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn rest_routes_from_the_demos_annotations_and_the_generic_route_answer_json() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);

    let item = gateway.get("/v1/items/1");
    assert_eq!(item.status, 200, "{item:?}");
    assert_eq!(item.header("content-type"), Some("application/json"));
    assert_eq!(item.json()["id"], "1", "64-bit integers as strings");
    assert!(item.json()["name"].is_string());
    assert!(
        gateway
            .next_log_line()
            .starts_with("GET /v1/items/1 -> grpcx.demo.v1.ItemService.GetItem 200 OK ")
    );

    let generic = gateway.post("/grpcx.demo.v1.ItemService/GetItem", r#"{"id": 2}"#);
    assert_eq!(generic.status, 200, "{generic:?}");
    assert_eq!(generic.json()["id"], "2");

    // NOT_FOUND as 404, with the status as JSON and its details decoded.
    let missing = gateway.get("/v1/items/99");
    missing.expect_status(404, 5);
    assert!(missing.message().contains("99"), "{missing:?}");
    let detail = &missing.json()["details"][0];
    assert_eq!(
        detail["@type"],
        "type.googleapis.com/google.rpc.ResourceInfo"
    );
    assert_eq!(detail["resourceName"], "items/99");

    // An empty body is the empty message; --emit-defaults is off, so id 0 shows nothing.
    let empty = gateway.post("/grpcx.demo.v1.TypesService/Echo", "");
    assert_eq!((empty.status, empty.json()), (200, json!({})));

    // The demo's TypesService.Fail ends with the status it is sent.
    let failed = gateway.post(
        "/grpcx.demo.v1.TypesService/Fail",
        r#"{"code": 8, "message": "slow down", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}"#,
    );
    failed.expect_status(429, 8);
    assert_eq!(failed.json()["details"][0]["retryDelay"], "2s");
}

#[test]
fn cleartext_http2_gets_the_same_answers_and_every_trailer() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let item = gateway.request_h2("GET", "/v1/items/1", &[], "");
    assert_eq!((item.status, &item.json()["id"]), (200, &json!("1")));
    gateway
        .request_h2("GET", "/v1/items/99", &[], "")
        .expect_status(404, 5);
    let posted = gateway.request_h2(
        "POST",
        "/v1/items:batchCreate",
        &[],
        "{\"name\": \"A\"}\n{\"name\": \"B\"}\n",
    );
    assert_eq!(posted.json()["count"], 2, "{posted:?}");
    let stream = gateway.request_h2(
        "GET",
        "/v1/items?limit=2",
        &[("TE", "trailers"), ("Grpc-Metadata-x-echo-z", "1")],
        "",
    );
    assert_eq!(stream.records().len(), 3, "{stream:?}");
    let trailers = stream.trailers.as_ref().expect("trailers");
    assert_eq!(trailers.get("grpc-status").unwrap(), "0", "{trailers:?}");
}

#[test]
fn the_response_options_apply_to_answers() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--emit-defaults", "--proto-names"]);
    let echo = gateway.post("/grpcx.demo.v1.TypesService/Echo", r#"{"fInt64": 5}"#);
    assert_eq!(echo.status, 200, "{echo:?}");
    let body = echo.json();
    assert_eq!(body["f_int64"], "5");
    assert_eq!(body["f_bool"], false, "defaults are written: {body}");
    assert!(body.get("fInt64").is_none());
}

#[test]
fn bad_requests_get_a_4xx_that_names_the_problem_and_never_reach_the_server() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--max-body", "64"]);

    let unknown = gateway.get("/v2/nothing");
    unknown.expect_status(404, 5);
    assert!(unknown.message().contains("--routes"), "{unknown:?}");

    let wrong_method = gateway.request("DELETE", "/v1/items/1", &[], "");
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    assert_eq!(wrong_method.header("allow"), Some("GET"));

    let bad_path = gateway.get("/v1/items/twelve");
    bad_path.expect_status(400, 3);
    assert!(bad_path.message().contains("twelve"), "{bad_path:?}");

    let unknown_query = gateway.get("/v1/items/1?colour=red");
    unknown_query.expect_status(400, 3);
    assert!(
        unknown_query.message().contains("colour"),
        "{unknown_query:?}"
    );

    let malformed = gateway.post("/grpcx.demo.v1.ItemService/GetItem", r#"{"id": "#);
    malformed.expect_status(400, 3);
    let wrong_type = gateway.post("/grpcx.demo.v1.ItemService/GetItem", r#"{"id": "x1"}"#);
    wrong_type.expect_status(400, 3);
    assert!(wrong_type.message().contains("id"), "{wrong_type:?}");

    let too_large = gateway.post(
        "/grpcx.demo.v1.TypesService/Echo",
        &format!(r#"{{"fString": "{}"}}"#, "x".repeat(100)),
    );
    too_large.expect_status(413, 8);
    assert!(too_large.message().contains("--max-body"), "{too_large:?}");

    for (name, value) in [
        ("Grpc-Metadata-grpc-trace", "x"),
        ("Grpc-Metadata-x-blob-bin", "not base64!"),
        ("Grpc-Timeout", "soon"),
    ] {
        let refused = gateway.request("GET", "/v1/items/1", &[(name, value)], "");
        refused.expect_status(400, 3);
    }
    let non_ascii = gateway.request(
        "GET",
        "/v1/items/1",
        &[("Grpc-Metadata-x-name", "caf\u{e9}")],
        "",
    );
    non_ascii.expect_status(400, 3);

    // None of them reached the server.
    assert!(api_calls(&server).is_empty(), "{:?}", api_calls(&server));
}

#[test]
fn unknown_query_parameters_can_be_ignored() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--allow-unknown-query"]);
    let item = gateway.get("/v1/items/1?colour=red");
    assert_eq!((item.status, &item.json()["id"]), (200, &json!("1")));
}

#[test]
fn server_streams_come_as_ndjson_or_sse_and_end_with_their_status() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);

    let ndjson = gateway.get("/v1/items?limit=2");
    assert_eq!(ndjson.status, 200, "{ndjson:?}");
    assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
    let records = ndjson.records();
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[0]["result"]["id"], "1");
    assert_eq!(records[1]["result"]["id"], "2");
    assert_eq!(records[2]["status"]["code"], 0);

    let sse = gateway.request(
        "GET",
        "/v1/items?limit=2",
        &[("Accept", "text/event-stream")],
        "",
    );
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    let events: Vec<(&str, Value)> = sse
        .body
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let (kind, data) = event.split_once('\n').unwrap();
            let data = data.strip_prefix("data: ").unwrap();
            (
                kind.strip_prefix("event: ").unwrap(),
                serde_json::from_str(data).unwrap(),
            )
        })
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1].0, "message");
    assert_eq!(events[1].1["id"], "2");
    assert_eq!(events[2].0, "status");
    assert_eq!(events[2].1["code"], 0);

    // Cut by its deadline after the first message: the HTTP status was 200 already, and the
    // final record says what happened.
    let cut = gateway.request(
        "GET",
        "/v1/items?delay=0.4s",
        &[("Grpc-Timeout", "600m")],
        "",
    );
    assert_eq!(cut.status, 200, "{cut:?}");
    let records = cut.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["result"]["id"], "1");
    assert_eq!(records[1]["status"]["code"], 4, "DEADLINE_EXCEEDED");

    // With `TE: trailers`, the status comes as HTTP trailers too.
    let with_trailers = gateway.request(
        "GET",
        "/v1/items?delay=0.4s",
        &[("Grpc-Timeout", "600m"), ("TE", "trailers")],
        "",
    );
    assert_eq!(
        with_trailers.header("trailer"),
        Some("grpc-status, grpc-message")
    );
    let trailers = with_trailers.trailers.as_ref().expect("trailers");
    assert_eq!(trailers.get("grpc-status").unwrap(), "4", "{trailers:?}");
    assert!(trailers.get("grpc-message").is_some(), "{trailers:?}");

    // A stream that fails before its first message is answered as a unary error.
    let refused = gateway.get("/v1/items?delay=-1s");
    refused.expect_status(400, 3);

    // A stream's access-log line is written when it ends, with how it ended.
    let cut_line = loop {
        let line = gateway.next_log_line();
        if line.contains("DEADLINE_EXCEEDED") {
            break line;
        }
    };
    assert!(
        cut_line.starts_with(
            "GET /v1/items -> grpcx.demo.v1.ItemService.ListItems 200 DEADLINE_EXCEEDED "
        ) && cut_line.ends_with(" ms (stream)"),
        "{cut_line}"
    );
}

#[test]
fn metadata_goes_both_ways_and_the_deadline_becomes_a_504() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--forward-header", "X-Team", "-v"]);
    let answer = gateway.request(
        "GET",
        "/v1/items/1",
        &[
            ("Grpc-Metadata-x-echo-greeting", "hello"),
            ("Grpc-Metadata-x-echo-blob-bin", "AAEC"),
            ("Authorization", "Bearer t0ken"),
            ("X-Team", "tools"),
            ("X-Other", "stays here"),
        ],
        "",
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("grpc-metadata-x-echo-greeting"),
        Some("hello")
    );
    assert_eq!(answer.header("grpc-metadata-x-echo-blob-bin"), Some("AAEC"));
    let calls = api_calls(&server);
    let call = calls.last().unwrap();
    assert_eq!(call.get("x-echo-greeting"), Some("hello"));
    assert_eq!(call.get("authorization"), Some("Bearer t0ken"));
    assert_eq!(call.get("x-team"), Some("tools"));
    assert_eq!(call.get("x-other"), None);
    // -v: the access log shows the metadata, secrets hidden as the CLI hides them.
    let mut logged = vec![gateway.next_log_line()];
    while let Ok(line) = gateway.log.recv_timeout(Duration::from_millis(500)) {
        logged.push(line);
    }
    assert!(logged[0].starts_with("GET /v1/items/1 -> "), "{logged:?}");
    for expected in [
        "  > x-echo-greeting: hello",
        "  > authorization: <redacted>",
        "  > x-team: tools",
        "  < x-echo-greeting: hello",
    ] {
        assert!(
            logged.iter().any(|line| line == expected),
            "{expected}: {logged:?}"
        );
    }

    let slow = gateway.request(
        "GET",
        "/v1/items/1?delay=5s",
        &[("Grpc-Timeout", "200m")],
        "",
    );
    slow.expect_status(504, 4);
}

#[test]
fn a_client_that_goes_away_cancels_the_upstream_call() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);

    // A stream: its first record arrives on its own (flushed as it came), then the client
    // hangs up and the server sees the cancel.
    let mut stream = gateway.open("GET", "/v1/items?delay=0.3s", &[]);
    assert_eq!(stream.status, 200);
    let first = stream.next_line().expect("a first record");
    assert!(first.starts_with("{\"result\":{\"id\":\"1\""), "{first}");
    drop(stream);
    let event = server.wait_for_event("ListItems: the client cancelled");
    assert!(event.contains("after 1 of"), "{event}");

    // A unary call.
    let unary = gateway
        .runtime
        .spawn(gateway.exchange("GET", "/v1/items/1?delay=10s", &[], ""));
    wait_for_call(&server, "GetItem");
    unary.abort();
    server.wait_for_event("GetItem: the client cancelled");
}

#[test]
fn rules_from_a_file_route_every_template_form() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("http.yaml");
    std::fs::write(
        &rules,
        r#"
type: google.api.Service
config_version: 3
http:
  rules:
    - selector: grpcx.demo.v1.TypesService.Echo
      get: "/v1/{f_string=shelves/*/books/**}:look"
      additional_bindings:
        - get: "/v1/numbers/{f_int64}/{nested.f_string=sub/*}"
        - post: "/v1/echo/{nested.f_string}"
          body: "*"
        - put: "/v1/echo/{f_enum}"
          body: "nested"
          response_body: "nested"
        - custom:
            kind: REPORT
            path: "/v1/echo:report"
    - selector: grpcx.demo.v1.ItemService.GetItem
      get: "/v2/things/{id}"
"#,
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let gateway = Gateway::start(&server, &["--http-rules", rules]);

    assert!(gateway.early.is_empty(), "{:?}", gateway.early);
    // `**` keeps %2F encoded, as the spec says; the query string fills the rest of the request,
    // by JSON or proto names, nested, repeated, enums by name or number, well-known types in
    // their JSON forms.
    let path = "/v1/shelves/1/books/a%2Fb/c%20d:look\
        ?rString=a&r_string=b&nested.fInt32=3&fEnum=COLOR_RED&rEnum=2&f_int64=42\
        &tTimestamp=2024-01-02T03:04:05Z&tDuration=1.5s&wInt64=7&fBool=true&tFieldMask=a.b,c";
    let echo = gateway.get(path);
    assert_eq!(echo.status, 200, "{echo:?}");
    assert_eq!(
        echo.json(),
        json!({
            "fString": "shelves/1/books/a%2Fb/c d",
            "fInt64": "42",
            "rString": ["a", "b"],
            "nested": {"fInt32": 3},
            "fEnum": "COLOR_RED",
            "rEnum": ["COLOR_GREEN"],
            "tTimestamp": "2024-01-02T03:04:05Z",
            "tDuration": "1.500s",
            "wInt64": "7",
            "fBool": true,
            "tFieldMask": "a.b,c",
        })
    );

    // `{nested.f_string=sub/*}` spans two segments: %2F stays encoded there too, while a
    // single-segment variable decodes it.
    let numbers = gateway.get("/v1/numbers/-7/sub/x%2Fy%21");
    assert_eq!(
        (numbers.status, numbers.json()),
        (
            200,
            json!({"fInt64": "-7", "nested": {"fString": "sub/x%2Fy!"}})
        )
    );
    let single = gateway.post("/v1/echo/a%2Fb", "{}");
    assert_eq!(single.json()["nested"]["fString"], "a/b", "{single:?}");
    let bad = gateway.get("/v1/numbers/seven/sub/x");
    bad.expect_status(400, 3);
    assert!(
        bad.message()
            .starts_with("path variable {f_int64} is `seven`, which does not fit field `f_int64`"),
        "{bad:?}"
    );
    let bad = gateway.get("/v1/shelves/1/books/2:look?tDuration=soon");
    bad.expect_status(400, 3);
    assert!(
        bad.message().starts_with(
            "query parameter tDuration is `soon`, which does not fit field `t_duration`"
        ),
        "{bad:?}"
    );

    let posted = gateway.post("/v1/echo/inner", r#"{"fInt32": 9}"#);
    assert_eq!(
        (posted.status, posted.json()),
        (200, json!({"fInt32": 9, "nested": {"fString": "inner"}}))
    );

    let put = gateway.request(
        "PUT",
        "/v1/echo/COLOR_GREEN",
        &[],
        r#"{"fString": "only this"}"#,
    );
    assert_eq!(
        (put.status, put.json()),
        (200, json!({"fString": "only this"}))
    );

    let report = gateway.request("REPORT", "/v1/echo:report?fString=r", &[], "");
    assert_eq!(
        (report.status, report.json()),
        (200, json!({"fString": "r"}))
    );

    // The file's rule takes the place of the annotation, whose path is gone.
    assert_eq!(gateway.get("/v2/things/1").json()["id"], "1");
    gateway.get("/v1/items/1").expect_status(404, 5);
}

#[test]
fn the_route_table_and_conflicts_are_reported_before_serving() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("http.yaml");
    std::fs::write(
        &rules,
        "http:\n  rules:\n    - selector: grpcx.demo.v1.TypesService.Echo\n      get: /v1/items/{f_int64}\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();

    let table = server.grpcx(&["gateway", "--routes"]);
    let table = table.ok();
    assert!(
        table
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>()
                == [
                    "GET",
                    "/v1/items/{id}",
                    "grpcx.demo.v1.ItemService.GetItem",
                    "-",
                    "annotation"
                ]),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("POST  /grpcx.demo.v1.ItemService/SyncItems ")),
        "{table}"
    );

    let gateway = Gateway::start(&server, &["--http-rules", rules]);
    let said = gateway.early.join("\n");
    assert!(
        said.contains("GET /v1/items/{f_int64}") && said.contains("GetItem"),
        "{said}"
    );
}

#[test]
fn pages_of_other_origins_and_foreign_host_names_are_refused() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--cors-origin", "http://allowed.example"]);
    let port = gateway.addr.rsplit(':').next().unwrap().to_string();

    let rebound = gateway.request(
        "GET",
        "/v1/items/1",
        &[("Host", &format!("evil.example:{port}"))],
        "",
    );
    rebound.expect_status(403, 7);

    let foreign = gateway.request(
        "GET",
        "/v1/items/1",
        &[("Origin", "http://evil.example")],
        "",
    );
    foreign.expect_status(403, 7);
    assert!(foreign.message().contains("--cors-origin"), "{foreign:?}");

    // A page of the gateway's own origin calls with the token its pages carry.
    let token = gateway.token();
    for host in [format!("localhost:{port}"), gateway.addr.clone()] {
        let same = gateway.request(
            "GET",
            "/v1/items/1",
            &[
                ("Host", &host),
                ("Origin", &format!("http://{host}")),
                ("X-Grpcx-Token", &token),
            ],
            "",
        );
        assert_eq!(same.status, 200, "{same:?}");
    }
    let allowed = gateway.request(
        "GET",
        "/v1/items/1",
        &[("Origin", "http://allowed.example")],
        "",
    );
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(api_calls(&server).len(), 3, "{:?}", api_calls(&server));
}

#[test]
fn ctrl_c_lets_requests_in_flight_finish_and_refuses_new_ones() {
    let server = TestServer::start();
    let mut gateway = Gateway::start(&server, &[]);
    let slow = gateway
        .runtime
        .spawn(gateway.exchange("GET", "/v1/items/1?delay=0.8s", &[], ""));
    wait_for_call(&server, "GetItem");
    interrupt(&gateway.child);
    let answer = gateway.runtime.block_on(slow).unwrap();
    assert_eq!((answer.status, &answer.json()["id"]), (200, &json!("1")));
    assert_eq!(
        wait_bounded(&mut gateway.child, Duration::from_secs(10)),
        Some(0)
    );
    assert!(TcpStream::connect(&gateway.addr).is_err());
}

#[test]
fn a_client_stream_is_read_from_an_ndjson_body_as_it_arrives() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--max-body", "200"]);

    let created = gateway.post(
        "/v1/items:batchCreate",
        "{\"name\": \"Pen\"}\n{\"name\": \"Ink\", \"tags\": [\"blue\"]}\n",
    );
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json()["count"], 2);

    // A line that does not fit cancels the call: what came before it was stored (the seed's
    // rule), the answer names the line.
    let broken = gateway.post(
        "/grpcx.demo.v1.ItemService/CreateItems",
        "{\"name\": \"Cup\"}\n{\"name\": 5}\n",
    );
    broken.expect_status(400, 3);
    assert!(
        broken
            .message()
            .starts_with("request message 2 does not fit grpcx.demo.v1.Item"),
        "{broken:?}"
    );
    // The limit is per line: this body is longer than --max-body, each line is not.
    let many = "{\"name\": \"Nail\"}\n".repeat(40);
    let stored = gateway.post("/v1/items:batchCreate", &many);
    assert_eq!((stored.status, &stored.json()["count"]), (200, &json!(40)));
    let long_line = format!("{{\"name\": \"{}\"}}\n", "x".repeat(300));
    // RESOURCE_EXHAUSTED, as a whole body over --max-body is.
    gateway
        .post("/v1/items:batchCreate", &long_line)
        .expect_status(413, 8);

    // Streams take their requests from the body alone.
    gateway
        .post("/v1/items:batchCreate?name=x", "{}")
        .expect_status(400, 3);
}

#[test]
fn a_bidirectional_call_over_plain_http_answers_while_the_body_is_still_coming() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let (body, answer) = gateway.duplex("/grpcx.demo.v1.ItemService/SyncItems");
    let send = |text: &str| {
        gateway
            .runtime
            .block_on(body.send(Ok(Frame::data(Bytes::from(text.to_string())))))
            .unwrap();
    };
    send("{\"getId\": 1}\n");
    let response = gateway.runtime.block_on(answer).unwrap();
    assert_eq!(response.status(), 200);
    let mut answers = Open::new(response);
    let found = answers.next_line().unwrap();
    assert!(found.contains("OUTCOME_FOUND"), "{found}");
    // The first answer came while the body was still open; the next request goes on it.
    send("{\"deleteId\": 1}\n");
    let deleted = answers.next_line().unwrap();
    assert!(deleted.contains("OUTCOME_DELETED"), "{deleted}");
    drop(body);
    let end = answers.next_line().unwrap();
    assert!(end.starts_with(r#"{"status":{"code":0,"#), "{end}");
    assert_eq!(answers.next_line(), None);
}

/// A WebSocket to `path` on the gateway.
fn websocket(
    gateway: &Gateway,
    path: &str,
    headers: &[(&str, &str)],
) -> tungstenite::WebSocket<TcpStream> {
    use tungstenite::client::IntoClientRequest as _;
    let stream = TcpStream::connect(&gateway.addr).unwrap();
    stream.set_read_timeout(Some(EXCHANGE_LIMIT)).unwrap();
    let mut request = format!("ws://{}{path}", gateway.addr)
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let (socket, response) = tungstenite::client(request, stream).unwrap();
    assert_eq!(response.status(), 101);
    socket
}

/// The next JSON frame of `socket`, or the close frame's code and reason.
fn next_frame(socket: &mut tungstenite::WebSocket<TcpStream>) -> Result<Value, (u16, String)> {
    loop {
        match socket.read().unwrap() {
            tungstenite::Message::Text(text) => return Ok(serde_json::from_str(&text).unwrap()),
            tungstenite::Message::Close(frame) => {
                let frame = frame.unwrap();
                return Err((frame.code.into(), frame.reason.to_string()));
            }
            _ => {}
        }
    }
}

fn send_text(socket: &mut tungstenite::WebSocket<TcpStream>, text: &str) {
    socket
        .send(tungstenite::Message::Text(text.to_string().into()))
        .unwrap();
}

#[test]
fn a_websocket_holds_a_bidirectional_conversation_with_a_half_close() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let mut socket = websocket(
        &gateway,
        "/grpcx.demo.v1.ItemService/SyncItems",
        &[("Grpc-Metadata-x-echo-who", "ws")],
    );
    send_text(&mut socket, r#"{"getId": 2}"#);
    let headers = next_frame(&mut socket).unwrap();
    assert!(headers.get("headers").is_some(), "{headers}");
    let found = next_frame(&mut socket).unwrap();
    assert_eq!(found["result"]["outcome"], "OUTCOME_FOUND", "{found}");
    // Answered while the client still sends:
    send_text(&mut socket, r#"{"put": {"name": "Lamp"}}"#);
    let created = next_frame(&mut socket).unwrap();
    assert_eq!(created["result"]["outcome"], "OUTCOME_CREATED", "{created}");
    assert_eq!(created["result"]["item"]["name"], "Lamp");
    // The empty frame half-closes; the status and the close follow.
    send_text(&mut socket, "");
    let status = next_frame(&mut socket).unwrap();
    assert_eq!(status["status"]["code"], 0, "{status}");
    assert!(status["trailers"].is_object(), "{status}");
    assert_eq!(next_frame(&mut socket).unwrap_err().0, 1000);
    let call = api_calls(&server)
        .into_iter()
        .find(|call| call.method == "SyncItems")
        .unwrap();
    assert_eq!(call.get("x-echo-who"), Some("ws"));
    assert!(
        gateway
            .next_log_line()
            .contains("-> grpcx.demo.v1.ItemService.SyncItems 101 OK"),
    );
}

#[test]
fn a_websocket_call_that_fails_closes_with_its_code_and_details() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);

    let mut socket = websocket(&gateway, "/grpcx.demo.v1.ItemService/GetItem", &[]);
    send_text(&mut socket, r#"{"id": 99}"#);
    let status = next_frame(&mut socket).unwrap();
    assert_eq!(status["status"]["code"], 5, "{status}");
    assert_eq!(
        status["status"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ResourceInfo"
    );
    let (code, reason) = next_frame(&mut socket).unwrap_err();
    assert_eq!(code, 4005);
    assert!(reason.contains("99"), "{reason}");

    // A frame that does not fit the request ends the call as INVALID_ARGUMENT.
    let mut socket = websocket(&gateway, "/grpcx.demo.v1.ItemService/SyncItems", &[]);
    send_text(&mut socket, r#"{"getId": "one"}"#);
    let mut frame = next_frame(&mut socket);
    while frame
        .as_ref()
        .is_ok_and(|frame| frame.get("status").is_none())
    {
        frame = next_frame(&mut socket);
    }
    let status = frame.unwrap();
    assert_eq!(status["status"]["code"], 3, "{status}");
    assert!(
        status["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("request message 1 does not fit grpcx.demo.v1.SyncRequest"),
        "{status}"
    );
    assert_eq!(next_frame(&mut socket).unwrap_err().0, 4003);

    // Not a method's generic path.
    let refused = gateway.request(
        "GET",
        "/v1/items/1",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        "",
    );
    refused.expect_status(404, 5);
}

#[test]
fn closing_the_websocket_cancels_the_call() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let mut socket = websocket(&gateway, "/grpcx.demo.v1.ItemService/ListItems", &[]);
    send_text(&mut socket, r#"{"delay": "0.3s"}"#);
    let mut frame = next_frame(&mut socket).unwrap();
    while frame.get("result").is_none() {
        frame = next_frame(&mut socket).unwrap();
    }
    socket.close(None).unwrap();
    let event = server.wait_for_event("ListItems: the client cancelled");
    assert!(event.contains("after 1 of"), "{event}");
}

#[test]
fn healthz_answers_from_the_upstreams_health_service() {
    let server = TestServer::start_options(grpcx::demo::ServeOptions {
        not_serving: vec!["grpcx.demo.v1.TypesService".to_string()],
        ..grpcx::demo::ServeOptions::default()
    });
    let gateway = Gateway::start(&server, &[]);
    let up = gateway.get("/healthz");
    assert_eq!((up.status, up.json()), (200, json!({"status": "SERVING"})));
    let down = gateway.get("/healthz?service=grpcx.demo.v1.TypesService");
    assert_eq!(
        (down.status, down.json()),
        (503, json!({"status": "NOT_SERVING"}))
    );
    let unknown = gateway.get("/healthz?service=no.Such");
    assert_eq!(unknown.status, 503, "{unknown:?}");
    assert_eq!(unknown.json()["status"], "SERVICE_UNKNOWN");

    drop(server);
    let gone = gateway.get("/healthz");
    assert_eq!(gone.status, 503, "{gone:?}");
    assert_eq!(gone.json()["status"], "UNREACHABLE");
}

#[test]
fn cors_preflights_are_answered_for_the_allowed_origins_only() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &["--cors-origin", "http://app.example:3000/"]);
    let preflight = |origin: &str| {
        gateway.request(
            "OPTIONS",
            "/v1/items/1",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "grpc-metadata-x-echo-a"),
            ],
            "",
        )
    };
    let allowed = preflight("http://app.example:3000");
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://app.example:3000")
    );
    assert_eq!(
        allowed.header("access-control-allow-headers"),
        Some("grpc-metadata-x-echo-a")
    );
    let refused = preflight("http://evil.example");
    assert_eq!(refused.header("access-control-allow-origin"), None);

    let call = gateway.request(
        "GET",
        "/v1/items/1",
        &[("Origin", "http://app.example:3000")],
        "",
    );
    assert_eq!(call.status, 200, "{call:?}");
    assert_eq!(
        call.header("access-control-allow-origin"),
        Some("http://app.example:3000")
    );
    assert_eq!(call.header("access-control-expose-headers"), Some("*"));
}

#[test]
fn sighup_reads_the_schema_and_rules_again_and_a_failed_reload_keeps_the_routes() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("http.yaml");
    let write_rules = |path: &str| {
        std::fs::write(
            &rules,
            format!(
                "http:\n  rules:\n    - selector: grpcx.demo.v1.ItemService.GetItem\n      get: {path}\n"
            ),
        )
        .unwrap();
    };
    write_rules("/v2/things/{id}");
    let gateway = Gateway::start(&server, &["--http-rules", rules.to_str().unwrap()]);
    assert_eq!(gateway.get("/v2/things/1").status, 200);

    let reload_said = |gateway: &Gateway| loop {
        let line = gateway.next_log_line();
        if line.starts_with("grpcx gateway") {
            return line;
        }
    };
    write_rules("/v3/things/{id}");
    signal(gateway.child.id(), "HUP");
    let said = reload_said(&gateway);
    assert!(
        said.contains("read the schema again") && said.contains("changed"),
        "{said}"
    );
    assert_eq!(gateway.get("/v3/things/1").json()["id"], "1");
    gateway.get("/v2/things/1").expect_status(404, 5);

    std::fs::write(&rules, "http: [not rules").unwrap();
    signal(gateway.child.id(), "HUP");
    let said = reload_said(&gateway);
    assert!(said.contains("keeps its routes"), "{said}");
    assert_eq!(gateway.get("/v3/things/1").status, 200);
}

/// The library fixture, compiled with its options kept.
fn library_schema() -> Vec<u8> {
    let mut compiler = protox::Compiler::new([
        std::path::Path::new("fixtures/gateway"),
        std::path::Path::new("proto"),
    ])
    .unwrap();
    compiler.include_imports(true);
    compiler.open_file("library.proto").unwrap();
    compiler.encode_file_descriptor_set()
}

#[test]
fn every_rule_form_of_a_schemas_annotations_routes_to_its_method() {
    let server = LoopbackServer::echoing(&library_schema());
    let addr = server.addr.to_string();
    let gateway = Gateway::start_at(&addr, &[]);
    assert!(gateway.early.is_empty(), "{:?}", gateway.early);

    // A pattern variable, and every kind of query parameter: repeated, enums by name and by
    // number, nested, well-known types, a custom JSON name and a proto name.
    let book = gateway.get(
        "/v1/shelves/1/books/2?tags=a&tags=b&kind=KIND_NOVEL&kinds=1&kinds=KIND_ESSAY\
         &page.size=3&page.token=t%20u&published=2024-05-06T07:08:09Z&ttl=2s&mask=a,b.c\
         &rating=4.5&available=true&title=T",
    );
    assert_eq!(book.status, 200, "{book:?}");
    assert_eq!(
        book.json(),
        json!({
            "name": "shelves/1/books/2",
            "tags": ["a", "b"],
            "kind": "KIND_NOVEL",
            "kinds": ["KIND_NOVEL", "KIND_ESSAY"],
            "page": {"size": 3, "token": "t u"},
            "published": "2024-05-06T07:08:09Z",
            "ttl": "2s",
            "mask": "a,b.c",
            "rating": 4.5,
            "available": true,
            "title": "T",
        })
    );
    let by_proto_name = gateway.get("/v1/shelves/1/books/2?display_name=D");
    assert_eq!(by_proto_name.json()["title"], "D");

    // Additional bindings: a verb, and a POST with the whole request in the body.
    assert_eq!(gateway.get("/v1/books/7:peek").json(), json!({"id": "7"}));
    let posted = gateway.post("/v1/shelves/1/books/2:get", r#"{"tags": ["x"]}"#);
    assert_eq!(
        posted.json(),
        json!({"name": "shelves/1/books/2", "tags": ["x"]})
    );
    gateway
        .post("/v1/shelves/1/books/2:get?kind=1", "{}")
        .expect_status(400, 3);

    // `**` keeps %2F; response_body answers with one field.
    let file = gateway.get("/v1/files/a/b%2Fc/d.txt");
    assert_eq!((file.status, file.body.trim()), (200, r#""a/b%2Fc/d.txt""#));

    // A nested path field, the body as one field, and the query string for the rest.
    let updated = gateway.request(
        "PATCH",
        "/v1/shelves/1/books/9?id=5",
        &[],
        r#"{"title": "New"}"#,
    );
    assert_eq!(
        updated.json(),
        json!({"id": "5", "book": {"name": "shelves/1/books/9", "title": "New"}})
    );

    // put, delete and a custom method on one path; the others are 405 with Allow.
    let put = gateway.request("PUT", "/v1/books/4", &[], r#"{"title": "P"}"#);
    assert_eq!(put.json(), json!({"id": "4", "title": "P"}));
    assert_eq!(
        gateway.request("DELETE", "/v1/books/4", &[], "").json(),
        json!({"id": "4"})
    );
    assert_eq!(
        gateway.request("ARCHIVE", "/v1/books/4", &[], "").json(),
        json!({"id": "4"})
    );
    let wrong = gateway.post("/v1/books/4", "{}");
    assert_eq!(wrong.status, 405, "{wrong:?}");
    let allow = wrong.header("allow").unwrap();
    for method in ["PUT", "DELETE", "ARCHIVE"] {
        assert!(allow.contains(method), "{allow}");
    }

    // A server stream behind a GET.
    let listed = gateway.get("/v1/shelves/3/books?page.size=2");
    let records = listed.records();
    assert_eq!(
        records[0],
        json!({"result": {"parent": "shelves/3", "page": {"size": 2}}})
    );
    assert_eq!(records[1]["status"]["code"], 0);

    // No rule: the generic route; and what matches no template is 404.
    let plain = gateway.post("/library.v1.Library/Plain", r#"{"id": "8"}"#);
    assert_eq!(plain.json(), json!({"id": "8"}));
    gateway
        .get("/v1/shelves/1/books/2/extra")
        .expect_status(404, 5);
    gateway.get("/v1/shelves/1").expect_status(404, 5);

    let table = Home::new().client(&addr, &["gateway", "--routes"]);
    let table = crate::support::run_command(table, None);
    let table = table.ok();
    for row in [
        [
            "GET",
            "/v1/{name=shelves/*/books/*}",
            "library.v1.Library.GetBook",
            "-",
        ],
        [
            "POST",
            "/v1/{name=shelves/*/books/*}:get",
            "library.v1.Library.GetBook",
            "*",
        ],
        [
            "PATCH",
            "/v1/{book.name=shelves/*/books/*}",
            "library.v1.Library.UpdateBook",
            "book",
        ],
        [
            "ARCHIVE",
            "/v1/books/{id}",
            "library.v1.Library.ArchiveBook",
            "-",
        ],
    ] {
        assert!(
            table
                .lines()
                .any(|line| line.split_whitespace().take(4).eq(row.iter().copied())),
            "{row:?}\n{table}"
        );
    }
}

#[test]
fn every_grpc_code_has_its_http_status() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    // google/rpc/code.proto's mapping, as grpc-gateway writes it.
    let expected: [(i64, u16); 16] = [
        (1, 499),
        (2, 500),
        (3, 400),
        (4, 504),
        (5, 404),
        (6, 409),
        (7, 403),
        (8, 429),
        (9, 400),
        (10, 409),
        (11, 400),
        (12, 501),
        (13, 500),
        (14, 503),
        (15, 500),
        (16, 401),
    ];
    for (code, status) in expected {
        let answer = gateway.post(
            "/grpcx.demo.v1.TypesService/Fail",
            &format!(r#"{{"code": {code}, "message": "failed with {code}"}}"#),
        );
        answer.expect_status(status, code);
        assert_eq!(answer.message(), format!("failed with {code}"));
    }
}

#[test]
fn the_upstream_takes_every_connection_and_schema_option() {
    // A server without reflection on a Unix socket: the schema from the .proto file, its
    // annotations included.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("demo.sock");
    let server = TestServer::start_with_options(
        &grpcx::transport::ListenAddr::Unix(socket),
        grpcx::demo::ServeOptions {
            reflection: grpcx::demo::ReflectionVersions::None,
            ..grpcx::demo::ServeOptions::default()
        },
    );
    let gateway = Gateway::start(
        &server,
        &[
            "--proto",
            "proto/item_service.proto",
            "-H",
            "x-echo-from: flag",
        ],
    );
    let item = gateway.get("/v1/items/3");
    assert_eq!(item.json()["name"], "Espresso beans", "{item:?}");
    assert_eq!(item.header("grpc-metadata-x-echo-from"), Some("flag"));
    let stream = gateway.get("/v1/items?limit=1");
    assert_eq!(stream.records().len(), 2, "{stream:?}");
}

/// A call from a web page needs the token the gateway's own pages carry: without it (or with
/// another) a page of the same origin, or a cross-site link or image that sends no `Origin`,
/// is refused before anything goes upstream; programs that are not browsers need none, and a
/// WebSocket carries the token, its metadata and its deadline in its query string.
#[test]
fn calls_from_web_pages_need_the_token_of_the_gateways_own_pages() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let token = gateway.token();
    let origin = format!("http://{}", gateway.addr);
    for headers in [
        vec![("Origin", origin.as_str())],
        vec![("Origin", origin.as_str()), ("X-Grpcx-Token", "0123")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Sec-Fetch-Site", "same-origin")],
    ] {
        let refused = gateway.request("GET", "/v1/items/1", &headers, "");
        refused.expect_status(403, 7);
        assert!(refused.message().contains("X-Grpcx-Token"), "{refused:?}");
    }
    assert!(api_calls(&server).is_empty(), "{:?}", api_calls(&server));

    let with_token = gateway.request(
        "POST",
        "/grpcx.demo.v1.ItemService/GetItem",
        &[("Origin", &origin), ("X-Grpcx-Token", &token)],
        r#"{"id":2}"#,
    );
    assert_eq!(with_token.status, 200, "{with_token:?}");
    // Typed into the address bar: the browser says the request comes from no page.
    let navigation = gateway.request("GET", "/v1/items/1", &[("Sec-Fetch-Site", "none")], "");
    assert_eq!(navigation.status, 200, "{navigation:?}");
    assert_eq!(gateway.get("/v1/items/1").status, 200);
    // The pages themselves are for anyone to load; the token changes with every run.
    assert_eq!(
        gateway
            .request("GET", "/ui/app.js", &[("Sec-Fetch-Site", "cross-site")], "")
            .status,
        200
    );
    assert_eq!(token.len(), 32, "{token}");
    assert_ne!(token, Gateway::start(&server, &[]).token());

    let url = |query: &str| {
        format!(
            "ws://{}/grpcx.demo.v1.ItemService/GetItem{query}",
            gateway.addr
        )
    };
    let socket = |query: &str| {
        let mut request =
            tungstenite::client::IntoClientRequest::into_client_request(url(query)).unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        tungstenite::connect(request)
    };
    match socket("") {
        Err(tungstenite::Error::Http(answer)) => assert_eq!(answer.status(), 403),
        other => panic!("a WebSocket without the token: {other:?}"),
    }
    let (mut socket, _) = socket(&format!(
        "?grpcx-token={token}&grpc-metadata-x-echo-page=ui&grpc-timeout=5S"
    ))
    .expect("a WebSocket with the token");
    socket
        .send(tungstenite::Message::text(r#"{"id":2}"#))
        .unwrap();
    let mut frames = Vec::new();
    while let Ok(tungstenite::Message::Text(text)) = socket.read() {
        frames.push(serde_json::from_str::<serde_json::Value>(&text).unwrap());
    }
    assert_eq!(frames[0]["headers"]["x-echo-page"], "ui", "{frames:?}");
    assert_eq!(frames[1]["result"]["id"], "2", "{frames:?}");
    assert_eq!(frames[2]["status"]["code"], 0, "{frames:?}");
}

/// `grpcx ui`: a gateway on a free loopback port whose `/ui` URL is the one line on stdout,
/// opened with `--open` in `$BROWSER`; the page's schema has the demo's services (the
/// server's own first), their kinds, routes and comments, and the messages of their requests.
#[test]
fn ui_prints_the_explorers_url_and_opens_it_in_the_browser() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened");
    let browser = dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\necho \"$1\" > {0}.part && mv {0}.part {0}\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut child = server
        .command(&["ui", "--open"])
        .env("BROWSER", &browser)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = crate::support::read_lines(child.stdout.take().unwrap());
    let url = lines.recv_timeout(Duration::from_secs(20));
    // The browser is started after the URL is printed: wait for it before stopping grpcx.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !opened.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let url = url.expect("the URL on stdout");
    let addr = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/ui"))
        .unwrap_or_else(|| panic!("not the explorer's URL: {url}"));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(std::fs::read_to_string(&opened).unwrap().trim(), url);

    // The page and its schema, from a second run read through the test's HTTP client.
    let gateway = Gateway::spawn(server.command(&["ui"]), None);
    let page = gateway.get("/ui");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{page:?}"
    );
    let schema = gateway.get("/ui/schema.json").json();
    assert_eq!(schema["upstream"]["address"], server.addr.as_str());
    let services: Vec<&str> = schema["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|service| service["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "grpcx.demo.v1.ItemService",
            "grpcx.demo.v1.TypesService",
            "grpc.health.v1.Health"
        ]
    );
    let methods = &schema["services"][0]["methods"];
    let kinds: Vec<&str> = methods
        .as_array()
        .unwrap()
        .iter()
        .map(|method| method["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "unary",
            "server_streaming",
            "client_streaming",
            "bidi_streaming"
        ]
    );
    assert_eq!(methods[0]["routes"][0]["path"], "/v1/items/{id}");
    assert_eq!(methods[0]["routes"][0]["variables"], json!(["id"]));
    assert!(
        methods[0]["comment"]
            .as_str()
            .unwrap()
            .contains("NOT_FOUND")
    );
    let all_types = &schema["messages"]["grpcx.demo.v1.AllTypes"]["fields"];
    let field = |name: &str| {
        all_types
            .as_array()
            .unwrap()
            .iter()
            .find(|field| field["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        field("m_message"),
        json!({"name": "m_message", "jsonName": "mMessage", "number": 35, "label": "map",
               "type": "map", "key": {"type": "string"},
               "value": {"type": "message", "message": "grpcx.demo.v1.AllTypes"}})
    );
    assert_eq!(field("o_string")["oneof"], "choice");
    assert_eq!(field("f_enum")["enum"], "grpcx.demo.v1.Color");
    assert!(schema["enums"]["grpcx.demo.v1.Color"]["values"].is_array());
    // The well-known types are named, not described: the page has inputs for them.
    assert!(
        schema["messages"]
            .get("google.protobuf.Timestamp")
            .is_none()
    );
}
