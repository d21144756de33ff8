//! Metadata on the wire, the verbose exchange, profiles and the per-call limits, checked
//! against what the demo server actually received.

use grpcx::demo::LoggedCall;

use crate::support::{Home, PingCounter, RUN_LIMIT, TestServer, run_in};

const ITEMS: &str = "grpcx.demo.v1.ItemService";
const REFLECTION: &str = "grpc.reflection.v1.ServerReflection";

fn calls_to<'a>(calls: &'a [LoggedCall], service: &str) -> Vec<&'a LoggedCall> {
    calls
        .iter()
        .filter(|call| call.service == service)
        .collect()
}

#[test]
fn headers_go_to_reflection_the_call_or_both() {
    let server = TestServer::start();
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":1}"#,
            "-H",
            "X-Both: yes",
            "--rpc-header",
            "x-call-only: 1",
            "--reflect-header",
            "x-reflect-only: 2",
        ])
        .ok();
    let calls = server.log.calls();
    let call = calls_to(&calls, ITEMS);
    let reflection = calls_to(&calls, REFLECTION);
    assert_eq!(call.len(), 1, "{calls:#?}");
    assert!(!reflection.is_empty(), "{calls:#?}");

    assert_eq!(
        call[0].get("x-both"),
        Some("yes"),
        "keys are lower-cased on the wire"
    );
    assert_eq!(call[0].get("x-call-only"), Some("1"));
    assert_eq!(call[0].get("x-reflect-only"), None);
    for r in reflection {
        assert_eq!(r.get("x-both"), Some("yes"));
        assert_eq!(r.get("x-reflect-only"), Some("2"));
        assert_eq!(r.get("x-call-only"), None);
    }
}

#[test]
fn binary_metadata_is_sent_as_bytes_and_shown_in_base64() {
    let server = TestServer::start();
    // URL-safe, unpadded input; the wire carries the bytes 0xfb 0xff (standard base64 "+/8").
    let got = server.grpcx(&[
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "-H",
        "x-echo-bin: -_8",
        "-v",
    ]);
    got.ok();
    let calls = server.log.calls();
    let call = calls_to(&calls, ITEMS);
    let sent = call[0].get("x-echo-bin").unwrap();
    assert_eq!(sent.trim_end_matches('='), "+/8", "{calls:#?}");
    assert!(
        got.stderr.contains("< x-echo-bin: +/8"),
        "echoed back, shown in base64: {}",
        got.stderr
    );
}

#[test]
fn header_files_and_variable_expansion() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers.txt");
    std::fs::write(
        &file,
        "# team headers\nx-team: core\n\nx-token: ${GRPCX_TEST_TOKEN}\n",
    )
    .unwrap();

    let mut command = server.command(&["--expand-headers", "-H"]);
    command
        .arg(format!("@{}", file.display()))
        .args(["call", "ItemService/GetItem", r#"{"id":1}"#])
        .env("GRPCX_TEST_TOKEN", "t0ken");
    let output = assert_cmd::Command::from_std(command)
        .timeout(RUN_LIMIT)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let calls = server.log.calls();
    let call = calls_to(&calls, ITEMS);
    assert_eq!(call[0].get("x-team"), Some("core"));
    assert_eq!(call[0].get("x-token"), Some("t0ken"));

    // Without --expand-headers the text goes as written.
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":1}"#,
            "--rpc-header",
            "x-raw: ${GRPCX_TEST_TOKEN}",
        ])
        .ok();
    let calls = server.log.calls();
    assert_eq!(
        calls_to(&calls, ITEMS)[1].get("x-raw"),
        Some("${GRPCX_TEST_TOKEN}")
    );

    // An unset variable is named.
    server
        .grpcx(&[
            "--expand-headers",
            "-H",
            "x-a: ${GRPCX_SURELY_UNSET}",
            "list",
        ])
        .fails(2, &["GRPCX_SURELY_UNSET", "not set"]);
}

#[test]
fn invalid_headers_are_refused_before_anything_is_sent() {
    let server = TestServer::start();
    for (header, rule) in [
        ("grpc-status: 0", "reserves"),
        ("x y: 1", "character ' '"),
        ("x-name: caf\u{e9}", "printable ASCII"),
        ("x-data-bin: not base64!", "base64"),
        ("novalue", "NAME: VALUE"),
    ] {
        let got = server.grpcx(&["-H", header, "call", "ItemService/GetItem", r#"{"id":1}"#]);
        got.fails(2, &[rule, "-H"]);
        assert_eq!(got.stdout, "");
    }
    assert!(server.log.calls().is_empty(), "nothing reached the server");
}

#[test]
fn verbose_shows_the_exchange_and_hides_secrets() {
    let server = TestServer::start();
    let got = server.grpcx(&[
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "-v",
        "-H",
        "authorization: Bearer s3cret",
        "-H",
        "x-api-key: k3y",
        "--redact",
        "x-api-key",
        "-H",
        "x-echo-user: ada",
    ]);
    got.ok();
    let err = &got.stderr;
    for expected in [
        "* method: grpcx.demo.v1.ItemService/GetItem (unary)",
        "* request type: grpcx.demo.v1.GetItemRequest, response type: grpcx.demo.v1.Item",
        "> authorization: <redacted>",
        "> x-api-key: <redacted>",
        "> x-echo-user: ada",
        "< content-type: application/grpc",
        "< x-echo-user: ada",
        "* status: OK",
        "* elapsed: ",
    ] {
        assert!(err.contains(expected), "stderr lacks {expected:?}:\n{err}");
    }
    assert!(!err.contains("s3cret") && !err.contains("k3y"), "{err}");
    assert!(
        !err.contains("* connect: "),
        "-v has no phase timings: {err}"
    );
    assert_eq!(got.json_lines()[0]["id"], "1", "stdout stays only results");

    let got = server.grpcx(&[
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "-vv",
        "--show-secrets",
        "-H",
        "authorization: Bearer s3cret",
    ]);
    got.ok();
    for expected in [
        "> authorization: Bearer s3cret",
        "* connect: ",
        "* reflection: ",
        "* call: ",
    ] {
        assert!(
            got.stderr.contains(expected),
            "stderr lacks {expected:?}:\n{}",
            got.stderr
        );
    }
}

#[test]
fn verbose_shows_streaming_trailers_and_a_failed_status() {
    let server = TestServer::start();
    let got = server.grpcx(&["call", "ItemService/ListItems", r#"{"limit":1}"#, "-v"]);
    got.ok();
    assert!(
        got.stderr
            .contains("* method: grpcx.demo.v1.ItemService/ListItems (server streaming)"),
        "{}",
        got.stderr
    );
    assert!(
        got.stderr.contains("* response trailers:"),
        "{}",
        got.stderr
    );

    let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":99}"#, "-v"]);
    got.fails(
        69,
        &[
            "* status: NOT_FOUND: no item with id 99",
            "ERROR: NOT_FOUND",
        ],
    );
}

#[test]
fn keepalive_pings_go_out_at_the_interval_asked_for() {
    let server = TestServer::start();
    let proxy = PingCounter::start(&server.addr);
    let slow = ["call", "ItemService/GetItem", r#"{"id": 1, "delay": "1s"}"#];
    let through_proxy = |extra: &[&str]| {
        let args = [&["--addr", proxy.addr.as_str()], extra, &slow].concat();
        run_in(&args, None, server.cache_dir()).ok().to_string()
    };
    through_proxy(&[]);
    let without = proxy.pings();
    through_proxy(&["--keepalive-time", "100ms"]);
    let with = proxy.pings() - without;
    // A second's wait at 100 ms: several pings, where the same call without the flag sends
    // none of its own.
    assert!(
        with >= 3,
        "{with} pings with --keepalive-time 100ms ({without} without)"
    );
    assert!(without <= 1, "{without} pings without --keepalive-time");
}

#[test]
fn user_agent_and_compression() {
    let server = TestServer::start_gzip();
    let got = server.grpcx(&[
        "call",
        "ItemService/CreateItems",
        r#"{"name":"zipped"}"#,
        "--user-agent",
        "ci-job/42",
        "--compress",
        "gzip",
    ]);
    got.ok();
    assert_eq!(got.json_lines()[0]["count"], 1);
    let calls = server.log.calls();
    let call = calls_to(&calls, ITEMS);
    let agent = call[0].get("user-agent").unwrap();
    assert!(
        agent.starts_with("grpcx/") && agent.contains("ci-job/42"),
        "{agent}"
    );
    assert_eq!(
        call[0].get("grpc-encoding"),
        Some("gzip"),
        "the request was compressed"
    );

    // The server compresses its answers; grpcx always accepts them.
    let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":1}"#, "-v"]);
    got.ok();
    assert!(
        got.stderr.contains("< grpc-encoding: gzip"),
        "{}",
        got.stderr
    );
    assert_eq!(got.json_lines()[0]["name"], "Claw hammer");
}

#[test]
fn a_response_over_the_size_limit_names_the_flag() {
    let server = TestServer::start();
    let got = server.grpcx(&[
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
        "--max-msg-sz",
        "64B",
    ]);
    got.fails(72, &["ERROR: RESOURCE_EXHAUSTED", "--max-msg-sz"]);
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":1}"#,
            "--max-msg-sz",
            "1KiB",
        ])
        .ok();
}

#[test]
fn a_request_the_server_refuses_as_too_large_is_not_blamed_on_grpcxs_limit() {
    let server = TestServer::start();
    let big = format!(r#"{{"fString": "{}"}}"#, "x".repeat(5 << 20));
    let file = server.cache_dir().join("big.json");
    std::fs::write(&file, big).unwrap();
    let data = format!("@{}", file.display());
    let got = server.grpcx(&["call", "TypesService/Echo", &data]);
    got.fails(
        72,
        &[
            "ERROR: RESOURCE_EXHAUSTED: the server refused a request message as too large",
            "the server decides how large a request may be",
        ],
    );
    assert!(!got.stderr.contains("raise grpcx's limit"), "{got:#?}");
}

#[test]
fn profiles_from_the_config_file() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.demo]\naddr = \"{}\"\nheaders = [\"x-secret: ${{GRPCX_TEST_SECRET}}\"]\noutput = \"json\"\n\n[profiles.nowhere]\naddr = \"127.0.0.1:1\"\n",
            server.addr
        ),
    )
    .unwrap();
    let home = Home::new();
    let grpcx = |args: &[&str]| {
        let mut command = home.command();
        command
            .args(args)
            .env("GRPCX_CONFIG", &config)
            .env("GRPCX_TEST_SECRET", "from-env")
            .env_remove("GRPCX_PROFILE");
        assert_cmd::Command::from_std(command)
            .timeout(RUN_LIMIT)
            .output()
            .unwrap()
    };

    let output = grpcx(&["config", "path"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        config.display().to_string()
    );

    let output = grpcx(&[
        "--profile",
        "demo",
        "call",
        "ItemService/GetItem",
        r#"{"id":1}"#,
    ]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("{\n  \"id\": \"1\""),
        "the profile's output format"
    );
    let calls = server.log.calls();
    assert_eq!(calls_to(&calls, ITEMS)[0].get("x-secret"), Some("from-env"));

    // A flag overrides the profile.
    let output = grpcx(&["--profile", "nowhere", "--addr", &server.addr, "list"]);
    assert!(output.status.success(), "{output:?}");

    let output = grpcx(&["--profile", "prod", "list"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no profile `prod`") && stderr.contains("demo, nowhere"),
        "{stderr}"
    );
}

#[test]
fn verbose_output_labels_every_block_and_counts_the_messages() {
    let server = TestServer::start();
    // An error answered trailers-only still shows its metadata, as trailers.
    let failed = server.grpcx(&["-v", "call", "ItemService/GetItem", r#"{"id": 99}"#]);
    failed.fails(
        69,
        &[
            "* request metadata: none\n",
            "* response trailers:\n< content-type: application/grpc\n",
            "* messages: 1 sent, 0 received\n",
        ],
    );
    let streamed = server.grpcx_stdin(
        &["-v", "call", "ItemService/CreateItems", "-H", "x-a: 1"],
        "{\"name\": \"a\"} {\"name\": \"b\"}",
    );
    streamed.ok();
    for line in [
        "* request metadata:\n> x-a: 1\n",
        "* response headers:\n< content-type: application/grpc\n",
        "* messages: 2 sent, 1 received\n",
    ] {
        assert!(streamed.stderr.contains(line), "{line:?}: {streamed:#?}");
    }
}

#[test]
fn verbose_list_and_describe_say_where_the_schema_came_from() {
    let server = TestServer::start();
    for command in [&["list"][..], &["describe", "ItemService"]] {
        let got = server.grpcx(&[&["-v"][..], command].concat());
        got.ok();
        assert!(
            got.stderr
                .contains("* schema: server reflection (grpc.reflection.v1)\n"),
            "{command:?}: {got:#?}"
        );
    }
}
