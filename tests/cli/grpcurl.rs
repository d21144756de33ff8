//! grpcurl's command lines, from its README and help text with the demo's names, run unchanged
//! against the demo server: the same answers and grpcurl's exit codes. And the two traps of
//! grpcx's own form for a grpcurl user: a single-dash long flag, and an address where a name
//! goes.

use crate::support::{TestServer, run_in};

const PROTO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");

/// grpcurl's words, run as `grpcx WORDS…` with the server's cache.
fn grpcurl(server: &TestServer, words: &[&str], stdin: Option<&str>) -> crate::support::Run {
    run_in(words, stdin, server.cache_dir())
}

#[test]
fn list_services_and_methods_through_reflection() {
    let server = TestServer::start();
    let services = grpcurl(&server, &["-plaintext", &server.addr, "list"], None);
    assert!(
        services.ok().contains("grpcx.demo.v1.ItemService\n"),
        "{services:#?}"
    );
    let methods = grpcurl(
        &server,
        &[
            "-plaintext",
            &server.addr,
            "list",
            "grpcx.demo.v1.ItemService",
        ],
        None,
    );
    assert!(
        methods.ok().contains("grpcx.demo.v1.ItemService.GetItem\n"),
        "{methods:#?}"
    );
}

#[test]
fn describe_a_method_and_a_message_template() {
    let server = TestServer::start();
    let method = grpcurl(
        &server,
        &[
            "-plaintext",
            &server.addr,
            "describe",
            "grpcx.demo.v1.ItemService.GetItem",
        ],
        None,
    );
    assert!(method.ok().contains("rpc GetItem"), "{method:#?}");
    let template = grpcurl(
        &server,
        &[
            "-plaintext",
            "-msg-template",
            &server.addr,
            "describe",
            "grpcx.demo.v1.GetItemRequest",
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_str(template.ok()).unwrap();
    assert!(json.get("id").is_some(), "{template:#?}");
}

#[test]
fn call_with_data_from_the_flag_and_from_stdin() {
    let server = TestServer::start();
    let flag = grpcurl(
        &server,
        &[
            "-plaintext",
            "-d",
            r#"{"id": 1}"#,
            &server.addr,
            "grpcx.demo.v1.ItemService/GetItem",
        ],
        None,
    );
    assert_eq!(flag.json()["name"], "Claw hammer");
    let stdin = grpcurl(
        &server,
        &[
            "-plaintext",
            "-d",
            "@",
            &server.addr,
            "grpcx.demo.v1.ItemService/GetItem",
        ],
        Some("{\n  \"id\": 2\n}\n"),
    );
    assert_eq!(stdin.json()["name"], "The Rust Programming Language");
}

#[test]
fn a_failed_call_exits_with_64_plus_its_code_and_format_error_prints_it() {
    let server = TestServer::start();
    let missing = [
        "-plaintext",
        "-d",
        r#"{"id": 99}"#,
        &server.addr,
        "grpcx.demo.v1.ItemService/GetItem",
    ];
    grpcurl(&server, &missing, None).fails(69, &["NOT_FOUND"]);
    let formatted = grpcurl(&server, &[&["-format-error"][..], &missing].concat(), None);
    assert_eq!(formatted.code, 69, "{formatted:#?}");
    let status: serde_json::Value = serde_json::from_str(&formatted.stdout).unwrap();
    assert_eq!(status["code"], 5);
}

#[test]
fn go_flag_spellings_double_dash_equals_and_seconds() {
    let server = TestServer::start();
    let got = grpcurl(
        &server,
        &[
            "--plaintext",
            "-max-time=2.5",
            "-connect-timeout",
            "3",
            "-emit-defaults",
            "-H",
            "x-team: core",
            &server.addr,
            "grpcx.demo.v1.ItemService/GetItem",
        ],
        None,
    );
    // No data: the empty request, id 0.
    got.fails(69, &["no item with id 0"]);
}

#[test]
fn files_alone_need_no_server() {
    let server = TestServer::start();
    let list = grpcurl(
        &server,
        &[
            "-import-path",
            PROTO_DIR,
            "-proto",
            "item_service.proto",
            "list",
        ],
        None,
    );
    assert_eq!(list.ok(), "grpcx.demo.v1.ItemService\n");
    let protoset = server.cache_dir().join("items.protoset");
    let protoset = protoset.to_str().unwrap();
    server
        .grpcx(&["describe", "ItemService", "--protoset-out", protoset])
        .ok();
    let described = grpcurl(
        &server,
        &[
            "-protoset",
            protoset,
            "describe",
            "grpcx.demo.v1.ItemService.GetItem",
        ],
        None,
    );
    assert!(described.ok().contains("rpc GetItem"), "{described:#?}");
}

#[test]
fn what_grpcx_does_not_have_is_named_and_nothing_is_dialled() {
    let server = TestServer::start();
    grpcurl(&server, &["-alts", &server.addr, "list"], None).fails(2, &["-alts", "ALTS"]);
    grpcurl(
        &server,
        &["-plaintext", "-bogus", &server.addr, "list"],
        None,
    )
    .fails(2, &["-bogus"]);
    grpcurl(&server, &["-plaintext", "list"], None).fails(2, &["no address"]);
    assert!(server.log.calls().is_empty(), "{:?}", server.log.calls());
}

#[test]
fn a_single_dash_long_flag_in_grpcxs_form_is_pointed_to_its_name() {
    let server = TestServer::start();
    let got = server.grpcx(&["call", "-plaintext", "ItemService/GetItem"]);
    got.fails(2, &["did you mean `--plaintext`?"]);
    assert!(!got.stderr.contains("-- -p"), "{got:#?}");
}

#[test]
fn an_address_where_a_name_goes_says_where_the_address_goes() {
    let server = TestServer::start();
    for words in [
        ["call", server.addr.as_str(), "ItemService/GetItem"],
        ["list", server.addr.as_str(), "ItemService"],
        ["describe", server.addr.as_str(), "Item"],
    ] {
        run_in(&words, None, server.cache_dir())
            .fails(2, &["the address goes in --addr", &server.addr]);
    }
    assert!(server.log.calls().is_empty(), "nothing was dialled");
}
