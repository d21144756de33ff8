//! Bad input that reaches a server, table-driven: each prints one clear error on stderr naming
//! the problem, exits with the documented code, prints nothing on stdout, and never panics.
//! Usage errors, which end before anything is connected, are in `usage.rs`, one test each.

use crate::support::{TestServer, run_in};

/// (arguments after `--addr SERVER`, stdin, exit code, words stderr must hold)
type Case = (
    &'static [&'static str],
    Option<&'static str>,
    i32,
    &'static [&'static str],
);

const CASES: &[Case] = &[
    // Malformed JSON of many kinds.
    (
        &["call", "ItemService/GetItem", "{"],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", "}"],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", "{'id': 1}"],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id" 1}"#],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": 1,}"#],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", "[1, 2"],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", "nul"],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/GetItem", r#""unterminated"#],
        None,
        1,
        &["not valid JSON"],
    ),
    (
        &["call", "ItemService/CreateItems"],
        Some(r#"{"name": "a"} {"name": "#),
        1,
        &["request message 2 is not valid JSON"],
    ),
    // Wrong types and shapes.
    (
        &["call", "ItemService/GetItem", "[]"],
        None,
        1,
        &["GetItemRequest"],
    ),
    (
        &["call", "ItemService/GetItem", "42"],
        None,
        1,
        &["GetItemRequest"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": "one"}"#],
        None,
        1,
        &["at .id", "64-bit integer"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": true}"#],
        None,
        1,
        &["at .id"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": 1.5}"#],
        None,
        1,
        &["at .id"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": {}}"#],
        None,
        1,
        &["at .id"],
    ),
    (
        &["call", "ItemService/ListItems", r#"{"limit": "many"}"#],
        None,
        1,
        &["at .limit"],
    ),
    (
        &["call", "ItemService/ListItems", r#"{"delay": "soon"}"#],
        None,
        1,
        &["at .delay", "duration"],
    ),
    (
        &["call", "ItemService/CreateItems", r#"{"tags": "x"}"#],
        None,
        1,
        &["at .tags", "a list of"],
    ),
    (
        &["call", "ItemService/CreateItems", r#"{"attributes": []}"#],
        None,
        1,
        &["at .attributes"],
    ),
    (
        &["call", "ItemService/CreateItems", r#"{"createdAt": 5}"#],
        None,
        1,
        &["at .createdAt", "RFC 3339"],
    ),
    // Out-of-range numbers.
    (
        &["call", "TypesService/Echo", r#"{"fInt32": 2147483648}"#],
        None,
        1,
        &["at .fInt32"],
    ),
    (
        &["call", "TypesService/Echo", r#"{"fUint32": -1}"#],
        None,
        1,
        &["at .fUint32"],
    ),
    (
        &[
            "call",
            "TypesService/Echo",
            r#"{"fInt64": "9223372036854775808"}"#,
        ],
        None,
        1,
        &["at .fInt64"],
    ),
    (
        &["call", "TypesService/Echo", r#"{"fUint64": "-1"}"#],
        None,
        1,
        &["at .fUint64"],
    ),
    // Invalid base64, unknown enum names, oneof conflicts, unknown fields.
    (
        &["call", "TypesService/Echo", r#"{"fBytes": "%%%"}"#],
        None,
        1,
        &["at .fBytes", "base64"],
    ),
    (
        &["call", "TypesService/Echo", r#"{"fEnum": "COLOR_PURPLE"}"#],
        None,
        1,
        &["at .fEnum", "COLOR_RED"],
    ),
    (
        &[
            "call",
            "ItemService/ListItems",
            r#"{"category": "FURNITURE"}"#,
        ],
        None,
        1,
        &["at .category"],
    ),
    (
        &[
            "call",
            "TypesService/Echo",
            r#"{"oString": "a", "oMessage": {}}"#,
        ],
        None,
        1,
        &["oneof `choice`"],
    ),
    (
        &[
            "call",
            "ItemService/SyncItems",
            r#"{"getId": 1, "deleteId": 2}"#,
        ],
        None,
        1,
        &["oneof `action`"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"idd": 1}"#],
        None,
        1,
        &["idd", "did you mean `id`?"],
    ),
    (
        &["call", "ItemService/GetItem", r#"{"id": 1} {"id": 2}"#],
        None,
        1,
        &["takes one request message"],
    ),
    // Unknown and ambiguous methods, bad method references.
    (
        &["call", "ItemService/Nope"],
        None,
        1,
        &["no method `Nope`"],
    ),
    (
        &["call", "NoSuchService/GetItem"],
        None,
        1,
        &["no service `NoSuchService`"],
    ),
    (
        &["call", "grpcx.demo.v1.NoSuch/GetItem"],
        None,
        1,
        &["no service"],
    ),
    (
        &["call", "ServerReflection/ServerReflectionInfo"],
        None,
        1,
        &["ambiguous"],
    ),
    (&["call", "/GetItem"], None, 1, &["not a method name"]),
    (&["call", "ItemService/"], None, 1, &["not a method name"]),
    (&["call", "a b c"], None, 1, &["not a method name"]),
    (&["describe", "Nothing.Like.This"], None, 1, &["no symbol"]),
    // Missing or unreadable files.
    (
        &["call", "ItemService/GetItem", "@/nonexistent/request.json"],
        None,
        1,
        &["cannot read /nonexistent/request.json"],
    ),
    (
        &["call", "ItemService/GetItem", "@/"],
        None,
        1,
        &["cannot read /"],
    ),
    (
        &["--proto", "/nonexistent.proto", "list"],
        None,
        1,
        &["cannot read /nonexistent.proto: no such file"],
    ),
    (
        &["--protoset", "/nonexistent.protoset", "list"],
        None,
        1,
        &["cannot read /nonexistent.protoset"],
    ),
    (
        &["-H", "@/nonexistent/headers", "list"],
        None,
        1,
        &["cannot read the header file"],
    ),
    (
        &["--cacert", "/nonexistent/ca.pem", "list"],
        None,
        1,
        &["cannot read the CA certificate"],
    ),
];

#[test]
fn every_bad_invocation_fails_clearly_with_its_exit_code() {
    let server = TestServer::start();
    let mut checked = 0;
    for (args, stdin, code, needles) in CASES {
        let mut all = vec!["--addr".to_string(), server.addr.clone()];
        all.extend(args.iter().map(|a| a.to_string()));
        let got = run_in(&all, *stdin, server.cache_dir());
        assert_eq!(got.code, *code, "{args:?}: {got:#?}");
        for needle in *needles {
            assert!(
                got.stderr.contains(needle),
                "{args:?}: stderr lacks {needle:?}: {got:#?}"
            );
        }
        assert_eq!(got.stdout, "", "{args:?}: stdout carries only results");
        assert!(!got.stderr.contains("panicked"), "{args:?}: {got:#?}");
        assert!(
            got.stderr
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("error: ")),
            "{args:?}: one clear line first: {got:#?}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "{checked} cases");
}
