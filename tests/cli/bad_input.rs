//! Bad invocations, table-driven: each prints one clear error on stderr naming the problem,
//! exits with the documented code, prints nothing on stdout, and never panics.

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
    // Invalid metadata: the seed's rules.
    (&["-H", "grpc-trace: 1", "list"], None, 2, &["grpc-"]),
    (&["-H", "GRPC-Anything: 1", "list"], None, 2, &["grpc-"]),
    (&["-H", "x key: 1", "list"], None, 2, &["character"]),
    (&["-H", "x(key): 1", "list"], None, 2, &["character"]),
    (
        &["-H", "x-k: caf\u{e9}", "list"],
        None,
        2,
        &["printable ASCII"],
    ),
    (
        &["-H", "x-k: a\u{7}b", "list"],
        None,
        2,
        &["printable ASCII"],
    ),
    (&["-H", "x-k-bin: not*base64", "list"], None, 2, &["base64"]),
    (&["-H", "no colon", "list"], None, 2, &["NAME: VALUE"]),
    (&["-H", ": empty", "list"], None, 2, &["empty header name"]),
    (
        &["--rpc-header", "grpc-x: 1", "list"],
        None,
        2,
        &["--rpc-header"],
    ),
    (
        &[
            "--expand-headers",
            "-H",
            "x-t: ${GRPCX_TEST_UNSET_VARIABLE}",
            "list",
        ],
        None,
        2,
        &["GRPCX_TEST_UNSET_VARIABLE"],
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
        &["nonexistent.proto"],
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
    // Conflicting flags and bad flag values.
    (&["--tls", "--plaintext", "list"], None, 2, &["--plaintext"]),
    (
        &["--insecure", "--plaintext", "list"],
        None,
        2,
        &["--plaintext"],
    ),
    (&["--cert", "c.pem", "list"], None, 2, &["--key"]),
    (
        &["call", "ItemService/GetItem", "{}", "-d", "{}"],
        None,
        2,
        &["cannot be used with"],
    ),
    (&["--max-time", "forever", "list"], None, 2, &["--max-time"]),
    (
        &["--connect-timeout=-1s", "list"],
        None,
        2,
        &["--connect-timeout"],
    ),
    (
        &["--max-msg-sz", "huge", "list"],
        None,
        2,
        &["--max-msg-sz"],
    ),
    (
        &["call", "ItemService/GetItem", "--output", "xml"],
        None,
        2,
        &["--output"],
    ),
    (
        &["call", "ItemService/GetItem", "--format", "yaml"],
        None,
        2,
        &["--format"],
    ),
    (&["--color", "sometimes", "list"], None, 2, &["--color"]),
    (&["--compress", "zstd", "list"], None, 2, &["--compress"]),
    (&["frobnicate"], None, 2, &["frobnicate"]),
    (&["describe", "--template"], None, 2, &["SYMBOL"]),
];

/// Bad addresses and ports, which replace the server's.
const ADDRESSES: &[(&str, &[&str])] = &[
    ("localhost", &["no port"]),
    ("localhost:", &["not a port"]),
    ("localhost:99999", &["not a port"]),
    ("localhost:0", &["port 0"]),
    (":50051", &["no host"]),
    ("ftp://h:1", &["unknown scheme"]),
    ("http://h:1/path", &["path"]),
    ("::1:80", &["brackets"]),
    ("[::1", &["never closes"]),
    ("unix:", &["socket path"]),
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
    for (address, needles) in ADDRESSES {
        let all: Vec<String> = ["--addr", address, "list"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = run_in(&all, None, server.cache_dir());
        assert_eq!(got.code, 2, "{address}: {got:#?}");
        for needle in *needles {
            assert!(
                got.stderr.contains(needle),
                "{address}: stderr lacks {needle:?}: {got:#?}"
            );
        }
        assert!(!got.stderr.contains("panicked"), "{address}: {got:#?}");
        checked += 1;
    }
    assert!(checked >= 50, "{checked} cases");
}
