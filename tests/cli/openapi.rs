//! `grpcx openapi` and the gateway's `/openapi.json`: the document of the gateway's routes,
//! generated from the schema. (Its validity by an independent validator is checked in the
//! full suite, `tests/interop/`.)

use serde_json::{Value, json};

use crate::support::{Gateway, Home, LIBRARY_PROTO, TestServer, run_command};

fn from_files(args: &[&str]) -> Value {
    let home = Home::new();
    let mut command = home.command();
    command.args(args);
    let run = run_command(command, None);
    serde_json::from_str(run.ok()).unwrap()
}

#[test]
fn the_demo_document_has_every_route_and_the_json_mapping() {
    let document = from_files(&["--proto", "proto/item_service.proto", "openapi"]);
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "ItemService");
    assert_eq!(document["info"]["version"], "grpcx.demo.v1");
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/items/{id}",
        "/v1/items",
        "/v1/items:batchCreate",
        "/grpcx.demo.v1.ItemService/GetItem",
        "/grpcx.demo.v1.ItemService/SyncItems",
    ] {
        assert!(paths.contains_key(path), "{path}: {:?}", paths.keys());
    }
    let get = &document["paths"]["/v1/items/{id}"]["get"];
    assert_eq!(get["operationId"], "ItemService_GetItem");
    assert_eq!(get["tags"], json!(["ItemService"]));
    assert_eq!(get["parameters"][0]["name"], "id");
    assert_eq!(get["parameters"][0]["in"], "path");
    // In a path or a query string every value is text: one type each, which Swagger UI can
    // fill in (it refuses a parameter of several types as "not provided").
    assert_eq!(get["parameters"][0]["schema"]["type"], "string");
    assert_eq!(get["parameters"][0]["schema"]["format"], "int64");
    let list_parameters = &document["paths"]["/v1/items"]["get"]["parameters"];
    let category = list_parameters
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "category")
        .unwrap();
    assert_eq!(category["schema"]["type"], "string");
    assert_eq!(category["schema"]["enum"][1], "CATEGORY_TOOL");
    assert_eq!(get["parameters"][1]["name"], "delay");
    assert_eq!(get["parameters"][1]["in"], "query");
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/grpcx.demo.v1.Item"
    );
    assert_eq!(
        get["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/google.rpc.Status"
    );
    // The generic route of the same method has its own operation id.
    assert_eq!(
        document["paths"]["/grpcx.demo.v1.ItemService/GetItem"]["post"]["operationId"],
        "ItemService_GetItem_2"
    );
    // A stream: NDJSON records and SSE; a client stream: an NDJSON body.
    let list = &document["paths"]["/v1/items"]["get"]["responses"]["200"]["content"];
    assert!(list.get("application/x-ndjson").is_some() && list.get("text/event-stream").is_some());
    let upload = &document["paths"]["/v1/items:batchCreate"]["post"]["requestBody"]["content"];
    assert!(upload.get("application/x-ndjson").is_some(), "{upload}");

    let schemas = &document["components"]["schemas"];
    let item = &schemas["grpcx.demo.v1.Item"]["properties"];
    assert_eq!(item["id"]["type"], json!(["string", "integer"]));
    assert_eq!(
        item["category"]["$ref"],
        "#/components/schemas/grpcx.demo.v1.Category"
    );
    assert_eq!(item["tags"]["type"], "array");
    assert_eq!(item["attributes"]["additionalProperties"]["type"], "string");
    assert_eq!(item["createdAt"]["format"], "date-time");
    // Enums are written by name, and read by name or number.
    assert_eq!(
        schemas["grpcx.demo.v1.Category"]["anyOf"][0]["enum"],
        json!([
            "CATEGORY_UNSPECIFIED",
            "CATEGORY_TOOL",
            "CATEGORY_BOOK",
            "CATEGORY_FOOD"
        ])
    );
    assert_eq!(
        schemas["grpcx.demo.v1.Category"]["anyOf"][1]["type"],
        "integer"
    );
    // Unknown fields are refused.
    assert_eq!(schemas["grpcx.demo.v1.Item"]["additionalProperties"], false);
    // A oneof: one of its members, or none.
    let choice = &schemas["grpcx.demo.v1.SyncRequest"]["allOf"][0]["oneOf"];
    assert_eq!(choice.as_array().unwrap().len(), 4, "{choice}");
    // Comments become descriptions.
    assert!(
        schemas["grpcx.demo.v1.Item"]["properties"]["id"]["description"]
            .as_str()
            .unwrap()
            .contains("Assigned by the server")
    );
}

#[test]
fn recursive_messages_and_well_known_types_are_written_as_the_mapping_reads_them() {
    let document = from_files(&["--proto", "proto/types.proto", "openapi", "TypesService"]);
    let all = &document["components"]["schemas"]["grpcx.demo.v1.AllTypes"]["properties"];
    assert_eq!(
        all["nested"]["$ref"],
        "#/components/schemas/grpcx.demo.v1.AllTypes"
    );
    assert_eq!(all["fBytes"]["contentEncoding"], "base64");
    assert_eq!(all["tDuration"]["type"], "string");
    assert_eq!(all["tAny"]["required"], json!(["@type"]));
    assert_eq!(all["wInt64"]["type"], json!(["string", "integer", "null"]));
    assert_eq!(all["mInt64"]["type"], "object");
    assert_eq!(all["tNull"]["type"], "null");
    assert_eq!(all["customJSON"]["type"], "string");
}

#[test]
fn yaml_a_file_and_unknown_services() {
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("api.yaml");
    let mut command = home.command();
    command.args([
        "--proto",
        "proto/item_service.proto",
        "openapi",
        "ItemService",
        "--yaml",
        "--title",
        "Items",
        "-o",
        out.to_str().unwrap(),
    ]);
    let run = run_command(command, None);
    assert_eq!(run.ok(), "");
    let document: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(document["info"]["title"], "Items");
    assert!(document["paths"]["/v1/items/{id}"]["get"].is_object());

    let mut command = home.command();
    command.args([
        "--proto",
        "proto/item_service.proto",
        "openapi",
        "NoSuchService",
    ]);
    run_command(command, None).fails(1, &["NoSuchService"]);
}

#[test]
fn the_gateway_serves_the_same_document_as_the_command() {
    let server = TestServer::start();
    let printed: Value = serde_json::from_str(server.grpcx(&["openapi"]).ok()).unwrap();
    let gateway = Gateway::start(&server, &[]);
    let served = gateway.get("/openapi.json");
    assert_eq!(served.header("content-type"), Some("application/json"));
    assert_eq!(served.json(), printed);
    assert!(printed["paths"]["/grpcx.demo.v1.TypesService/Echo"]["post"].is_object());
}

#[test]
fn docs_serves_swagger_ui_from_the_binary_with_nothing_from_elsewhere() {
    let server = TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let page = gateway.get("/docs");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'self'") && policy.contains("script-src 'self'"));
    // Every asset the page names is served here, and no address elsewhere appears.
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    for asset in page
        .body
        .split('"')
        .filter(|piece| piece.starts_with("/docs/"))
    {
        let answer = gateway.get(asset);
        assert_eq!(answer.status, 200, "{asset}");
        assert!(!answer.body.is_empty(), "{asset}");
    }
    let start = gateway.get("/docs/start.js");
    assert!(start.body.contains("\"/openapi.json\""), "{start:?}");
    gateway.get("/docs/nothing.js").expect_status(404, 5);
}

#[test]
fn field_behavior_marks_required_and_read_only_fields() {
    let document = from_files(&[LIBRARY_PROTO, &["openapi"]].concat());
    let book = &document["components"]["schemas"]["library.v1.Book"];
    assert_eq!(book["required"], json!(["parent"]), "{book}");
    assert_eq!(book["properties"]["path"]["readOnly"], true, "{book}");
    assert_eq!(
        book["properties"]["path"]["description"],
        "Where the book's file is kept; the server says."
    );
    assert!(book["properties"]["name"].get("readOnly").is_none());
}

/// The whole document of the demo's schema, as committed in `fixtures/openapi/demo.json`: a
/// change to any part of it shows in review. `GRPCX_UPDATE_SNAPSHOTS=1 cargo test snapshot`
/// writes the new one after a deliberate change.
#[test]
fn the_demo_document_matches_its_snapshot() {
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openapi/demo.json");
    let home = Home::new();
    let mut command = home.command();
    command.args([
        "--proto",
        "proto/item_service.proto",
        "--proto",
        "proto/types.proto",
        "openapi",
    ]);
    let printed = run_command(command, None).ok().to_string();
    if std::env::var_os("GRPCX_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &printed).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap();
    assert!(
        printed == expected,
        "the document differs from {} (GRPCX_UPDATE_SNAPSHOTS=1 rewrites it):\n{}",
        snapshot.display(),
        first_difference(&expected, &printed)
    );
}

/// The first line where `expected` and `printed` differ, with its neighbours.
fn first_difference(expected: &str, printed: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let printed: Vec<&str> = printed.lines().collect();
    let at = expected
        .iter()
        .zip(&printed)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(printed.len()));
    let around = |lines: &[&str]| lines[at.saturating_sub(2)..(at + 3).min(lines.len())].join("\n");
    format!(
        "line {}:\n--- snapshot\n{}\n--- printed\n{}",
        at + 1,
        around(&expected),
        around(&printed)
    )
}
