//! The descriptor cache: warm calls skip reflection, and a server restarted with another
//! schema is still called correctly.

use grpcx::demo::ServeOptions;
use grpcx::transport::ListenAddr;
use prost::Message as _;

use crate::support::{TestServer, assert_the_cache_changes_no_answer, run, run_in};

const ITEMS: &str = "grpcx.demo.v1.ItemService";

fn reflection_calls(server: &TestServer) -> usize {
    server
        .log
        .calls()
        .iter()
        .filter(|call| call.service.contains("ServerReflection"))
        .count()
}

#[test]
fn a_warm_cache_skips_reflection_and_no_cache_does_not() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id":1}"#])
        .ok();
    let after_first = reflection_calls(&server);
    assert!(after_first > 0);

    let warm = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":2}"#, "-v"]);
    warm.ok();
    assert_eq!(warm.json_lines()[0]["id"], "2");
    assert!(warm.stderr.contains("from the cache"), "{}", warm.stderr);
    assert_eq!(
        reflection_calls(&server),
        after_first,
        "no reflection on a warm cache"
    );

    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id":2}"#, "--no-cache"])
        .ok();
    assert!(
        reflection_calls(&server) > after_first,
        "--no-cache asks the server"
    );

    let expired = reflection_calls(&server);
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":2}"#,
            "--cache-ttl",
            "0s",
        ])
        .ok();
    server
        .grpcx(&[
            "call",
            "ItemService/GetItem",
            r#"{"id":2}"#,
            "--cache-ttl",
            "0s",
        ])
        .ok();
    assert!(
        reflection_calls(&server) > expired + 1,
        "an expired entry is not used"
    );
}

#[test]
fn a_corrupt_cache_is_ignored_and_replaced_and_clear_empties_it() {
    let server = TestServer::start();
    server
        .grpcx(&["call", "ItemService/GetItem", r#"{"id":1}"#])
        .ok();
    let entries: Vec<_> = std::fs::read_dir(server.cache_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(&entries[0], b"\x0a\xff\xff\xff garbage").unwrap();
    let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":1}"#]);
    got.ok();
    assert_eq!(got.json_lines()[0]["id"], "1");
    assert!(
        std::fs::read(&entries[0]).unwrap().len() > 100,
        "replaced by a good entry"
    );

    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let path = run_in(&args(&["cache", "path"]), None, server.cache_dir());
    assert_eq!(path.ok().trim(), server.cache_dir().display().to_string());
    let cleared = run_in(&args(&["cache", "clear"]), None, server.cache_dir());
    cleared.ok();
    assert!(
        cleared.stderr.contains("removed 1 cached schema"),
        "{}",
        cleared.stderr
    );
    assert_eq!(std::fs::read_dir(server.cache_dir()).unwrap().count(), 0);
}

/// The demo schema as a previous version of the server might have had it: with a method the
/// demo no longer serves (ArchiveItem) and without one it added since (ListItems).
fn previous_schema() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string("proto/item_service.proto")
        .unwrap()
        .replace(
            "  rpc GetItem(GetItemRequest) returns (Item) {",
            "  rpc ArchiveItem(GetItemRequest) returns (Item);\n  rpc GetItem(GetItemRequest) returns (Item) {",
        )
        .replace(
            "  rpc ListItems(ListItemsRequest) returns (stream Item) {\n    option (google.api.http) = {get: \"/v1/items\"};\n  }\n",
            "",
        );
    assert!(!source.contains("rpc ListItems") && source.contains("rpc ArchiveItem"));
    std::fs::write(dir.path().join("item_service.proto"), source).unwrap();
    // The google/api files it imports come from proto/.
    let mut compiler = protox::Compiler::new([dir.path(), std::path::Path::new("proto")]).unwrap();
    compiler.include_imports(true);
    compiler.open_file("item_service.proto").unwrap();
    compiler.file_descriptor_set().encode_to_vec()
}

#[test]
fn a_server_restarted_with_a_changed_schema_is_still_called_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let socket = ListenAddr::Unix(dir.path().join("server.sock"));
    // Two grpcx users who both cached the previous schema.
    let (cache, other_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = |server: &TestServer, list: &[&str]| {
        let mut all = vec!["--addr".to_string(), server.addr.clone()];
        all.extend(list.iter().map(|s| s.to_string()));
        all
    };

    // The previous version; grpcx caches its schema.
    let old = TestServer::start_with_options(
        &socket,
        ServeOptions {
            reflected_schema: Some(previous_schema()),
            ..ServeOptions::default()
        },
    );
    for cache in [&cache, &other_cache] {
        run_in(
            &args(&old, &["call", "ItemService/GetItem", r#"{"id":1}"#]),
            None,
            cache.path(),
        )
        .ok();
    }
    drop(old);

    // Version 2, on the same address, has no ArchiveItem.
    let new = TestServer::start_with_options(&socket, ServeOptions::default());
    let got = run_in(
        &args(&new, &["call", "ItemService/GetItem", r#"{"id":3}"#, "-v"]),
        None,
        cache.path(),
    );
    got.ok();
    assert!(got.stderr.contains("from the cache"), "{}", got.stderr);
    assert_eq!(got.json_lines()[0]["name"], "Espresso beans");

    // The cached ArchiveItem ends in UNIMPLEMENTED; grpcx asks again and says what is true now.
    let got = run_in(
        &args(&new, &["call", "ItemService/ArchiveItem", r#"{"id":3}"#]),
        None,
        cache.path(),
    );
    got.fails(
        1,
        &["no method `ArchiveItem` in service grpcx.demo.v1.ItemService"],
    );

    // A method the cache never saw is looked up on the server.
    let calls_before = new.log.calls().len();
    let got = run_in(
        &args(&new, &["call", "ItemService/ListItems", r#"{"limit":1}"#]),
        None,
        other_cache.path(),
    );
    got.ok();
    assert_eq!(got.json_lines()[0]["name"], "Claw hammer");
    assert!(
        new.log.calls()[calls_before..]
            .iter()
            .any(|c| c.service != ITEMS),
        "reflection was asked"
    );
}

/// Every method the server at `addr` lists, by full name, but health's Watch, which never ends.
fn every_method(addr: &str) -> Vec<String> {
    let services = run(&["--addr", addr, "list"], None);
    services
        .ok()
        .lines()
        .flat_map(|service| {
            let methods = run(&["--addr", addr, "list", service], None);
            methods.ok().lines().map(str::to_string).collect::<Vec<_>>()
        })
        .filter(|method| method != "grpc.health.v1.Health.Watch")
        .collect()
}

#[test]
fn a_warm_cache_never_changes_an_answer_whatever_the_order_of_calls() {
    let server = TestServer::start();
    let methods = every_method(&server.addr);
    assert!(methods.len() >= 9, "{methods:?}");
    assert_the_cache_changes_no_answer(&server.addr, &methods);
}

#[test]
fn a_warm_cache_of_a_schema_split_over_files_never_changes_an_answer() {
    let mut compiler =
        protox::Compiler::new([concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/split")]).unwrap();
    compiler.include_imports(true);
    compiler.open_file("grpcx/demo/v1/service.proto").unwrap();
    let server = TestServer::start_options(ServeOptions {
        reflected_schema: Some(compiler.file_descriptor_set().encode_to_vec()),
        ..ServeOptions::default()
    });
    let methods = every_method(&server.addr);
    assert!(
        methods.iter().any(|m| m.ends_with("ItemService.GetItem")),
        "{methods:?}"
    );
    assert_the_cache_changes_no_answer(&server.addr, &methods);
}

#[test]
fn a_warm_cache_that_lacks_the_services_an_any_needs_fetches_them_within_the_command() {
    // A service that sorts before the others, with a method that reaches no Any beside one
    // that does: a call of the first caches the service's file alone; the second then needs
    // every service (for the Any). The server serves neither (they are reflected only), so
    // both end UNIMPLEMENTED (76), with a cache or without.
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string("proto/types.proto")
        .unwrap()
        .replace("package grpcx.demo.v1;", "package aaa.v1;")
        .replace(
            "service TypesService {",
            "service TypesService {\n  rpc Plain(google.protobuf.Empty) returns (google.protobuf.Empty);",
        );
    assert!(source.contains("rpc Plain") && source.contains("package aaa.v1;"));
    std::fs::write(dir.path().join("types.proto"), source).unwrap();
    // The changed file first; the rest of the schema from proto/.
    let proto = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/proto"));
    let mut compiler = protox::Compiler::new([dir.path(), proto]).unwrap();
    compiler.include_imports(true);
    compiler
        .open_files(["item_service.proto", "types.proto"])
        .unwrap();
    let server = TestServer::start_options(ServeOptions {
        reflected_schema: Some(compiler.file_descriptor_set().encode_to_vec()),
        ..ServeOptions::default()
    });
    let home = crate::support::Home::new();
    let call = |method: &str, extra: &[&str]| {
        let words = [
            &["--addr", server.addr.as_str(), "call", method, "{}"][..],
            extra,
        ]
        .concat();
        run_in(&words, None, home.path())
    };
    call("aaa.v1.TypesService/Plain", &[]).fails(76, &["UNIMPLEMENTED"]);
    call("aaa.v1.TypesService/Echo", &[]).fails(76, &["UNIMPLEMENTED"]);
    call("aaa.v1.TypesService/Echo", &["--no-cache"]).fails(76, &["UNIMPLEMENTED"]);
}
