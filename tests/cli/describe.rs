use crate::support::TestServer;

#[test]
fn describe_a_service_shows_its_methods_and_comments_as_proto_source() {
    let server = TestServer::start();
    let out = server.grpcx(&["describe", "ItemService"]).ok().to_string();
    assert!(
        out.starts_with("// grpcx.demo.v1.ItemService is a service in item_service.proto\n"),
        "{out}"
    );
    assert!(out.contains("service ItemService {\n"), "{out}");
    assert!(
        out.contains(
            "  // Returns the item with the given id; NOT_FOUND names the id when there is none.\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  rpc GetItem(.grpcx.demo.v1.GetItemRequest) returns (.grpcx.demo.v1.Item) {\n    option (google.api.http) = { get: \"/v1/items/{id}\" };\n  }\n"
        ),
        "{out}"
    );
    assert!(out.contains("  rpc ListItems(.grpcx.demo.v1.ListItemsRequest) returns (stream .grpcx.demo.v1.Item) {\n"), "{out}");
    assert!(out.contains("  rpc CreateItems(stream .grpcx.demo.v1.Item) returns (.grpcx.demo.v1.CreateItemsSummary) {\n    option (google.api.http) = { post: \"/v1/items:batchCreate\" body: \"*\" };\n  }\n"), "{out}");
    assert!(out.contains("  rpc SyncItems(stream .grpcx.demo.v1.SyncRequest) returns (stream .grpcx.demo.v1.SyncResponse);\n"), "{out}");
    assert!(out.ends_with("}\n"), "{out}");
}

#[test]
fn describe_a_method_in_every_spelling() {
    let server = TestServer::start();
    for spelling in [
        "grpcx.demo.v1.ItemService.GetItem",
        "grpcx.demo.v1.ItemService/GetItem",
        "ItemService/GetItem",
        "ItemService.GetItem",
    ] {
        let out = server.grpcx(&["describe", spelling]).ok().to_string();
        assert!(
            out.starts_with("// grpcx.demo.v1.ItemService.GetItem is a method"),
            "{spelling}: {out}"
        );
        assert!(
            out.contains(
                "rpc GetItem(.grpcx.demo.v1.GetItemRequest) returns (.grpcx.demo.v1.Item) {"
            ),
            "{out}"
        );
    }
}

#[test]
fn describe_a_message_shows_nested_types_maps_and_well_known_types() {
    let server = TestServer::start();
    let out = server
        .grpcx(&["describe", "grpcx.demo.v1.Item"])
        .ok()
        .to_string();
    let expected = "\
message Item {
  // Physical size, nested to show nested message types.
  message Dimensions {
    double width_cm = 1;
    double height_cm = 2;
    double depth_cm = 3;
  }
  // Assigned by the server when zero.
  int64 id = 1;
  string name = 2;
  .grpcx.demo.v1.Category category = 3;
  .grpcx.demo.v1.Money price = 4;
  repeated string tags = 5;
  map<string, string> attributes = 6;
  .google.protobuf.Timestamp created_at = 7;
  .grpcx.demo.v1.Item.Dimensions dimensions = 8;
}
";
    assert!(out.ends_with(expected), "{out}");
}

#[test]
fn describe_a_oneof_inside_its_message() {
    let server = TestServer::start();
    let out = server.grpcx(&["describe", "SyncRequest"]).ok().to_string();
    assert!(out.contains("  oneof action {\n"), "{out}");
    assert!(out.contains("    .grpcx.demo.v1.Item put = 1;\n"), "{out}");
    assert!(out.contains("    int64 delete_id = 3;\n"), "{out}");
}

#[test]
fn describe_an_enum_a_field_and_an_enum_value() {
    let server = TestServer::start();
    let out = server.grpcx(&["describe", "Category"]).ok().to_string();
    assert!(
        out.contains("enum Category {\n  CATEGORY_UNSPECIFIED = 0;\n  CATEGORY_TOOL = 1;\n"),
        "{out}"
    );

    let out = server.grpcx(&["describe", "Item.tags"]).ok().to_string();
    assert_eq!(
        out,
        "// grpcx.demo.v1.Item.tags is a field in item_service.proto\nrepeated string tags = 5;\n"
    );

    let out = server
        .grpcx(&["describe", "grpcx.demo.v1.Item.created_at"])
        .ok()
        .to_string();
    assert!(
        out.ends_with(".google.protobuf.Timestamp created_at = 7;\n"),
        "{out}"
    );

    let out = server
        .grpcx(&["describe", "SyncResponse.Outcome.OUTCOME_FOUND"])
        .ok()
        .to_string();
    assert!(out.ends_with("OUTCOME_FOUND = 3;\n"), "{out}");
}

#[test]
fn describe_without_a_symbol_describes_every_service() {
    let server = TestServer::start();
    let out = server.grpcx(&["describe"]).ok().to_string();
    assert!(out.contains("service Health {"), "{out}");
    assert!(out.contains("service ItemService {"), "{out}");
}

#[test]
fn describe_an_unknown_symbol_suggests_the_closest() {
    let server = TestServer::start();
    server.grpcx(&["describe", "ItemServce"]).fails(
        1,
        &[
            "no symbol `ItemServce`",
            "did you mean grpcx.demo.v1.ItemService",
        ],
    );
}

#[test]
fn describe_an_ambiguous_short_name_lists_the_candidates() {
    let server = TestServer::start();
    server.grpcx(&["describe", "ServerReflection"]).fails(
        1,
        &[
            "ambiguous",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "fully-qualified",
        ],
    );
}

#[test]
fn list_and_describe_as_json_for_scripts() {
    let server = TestServer::start();
    let listed = server.grpcx(&["list", "-o", "json"]);
    let document: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    let items = document["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["fullName"] == "grpcx.demo.v1.ItemService")
        .unwrap();
    let get = &items["methods"][0];
    assert_eq!(get["name"], "GetItem");
    assert_eq!(get["rpcKind"], "unary");
    assert_eq!(get["requestType"], "grpcx.demo.v1.GetItemRequest");
    assert_eq!(items["methods"][1]["serverStreaming"], true);

    let described = server.grpcx(&["describe", "grpcx.demo.v1.Item", "-o", "json"]);
    let item: serde_json::Value = serde_json::from_str(described.ok()).unwrap();
    assert_eq!(item["kind"], "message");
    let tags = item["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "tags")
        .unwrap();
    assert_eq!(tags["cardinality"], "repeated");
    assert_eq!(tags["type"], "string");
}

#[test]
fn options_custom_ones_included_are_in_the_json() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rich");
    let got = crate::support::run(
        &[
            "--import-path",
            root,
            "--proto",
            "acme/store/v1/store.proto",
            "describe",
            "acme.store.v1.StoreService.GetProduct",
            "-o",
            "json",
        ],
        None,
    );
    let method: serde_json::Value = serde_json::from_str(got.ok()).unwrap();
    assert_eq!(
        method["options"]["[acme.options.route]"]["get"],
        "/v1/products/{id}"
    );
}
