//! `/ui`: the explorer, a page for calling any method of the upstream from a browser (what
//! grpcui does, on the gateway's own routes). The page is plain HTML, CSS and JavaScript kept
//! in `explorer/` and served from the binary; it reads `/ui/schema.json`, made here from the
//! route table, and calls the gateway over a WebSocket at each method's generic path, so that
//! every kind of method works alike and a stream's answers show as they come.
//!
//! The page carries the gateway's token (see `server::check_token`): a call from a page needs
//! it, and only a page of the gateway's own origin can read it.

use std::collections::{BTreeMap, VecDeque};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value, json};

use super::docs;
use super::openapi::{FieldBehavior, deprecated, field_behaviors};
use super::routes::{BodyRule, RouteSource, Routes, generic_path};
use crate::invoke::RpcKind;
use crate::schema::as_json;
use crate::schema::proto_text::leading_comment;
use crate::well_known::WellKnown;

/// Where the page is served; its files and its schema are under it.
pub const EXPLORER_PATH: &str = "/ui";

/// The page; `{{TOKEN}}` becomes the gateway's token.
const PAGE: &str = include_str!("explorer/index.html");
const SCRIPT: &str = include_str!("explorer/app.js");
const STYLE: &str = include_str!("explorer/app.css");

/// What the page may load and talk to: this gateway alone, and no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The upstream as the page shows it and writes it in the commands it copies.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// As grpcx's `--addr` takes it.
    pub address: String,
    pub tls: bool,
}

/// The answer to `path` (`/ui` or a file under it), `None` for anything else. `schema` makes
/// `/ui/schema.json` when that is what is asked.
pub fn answer(path: &str, token: &str, schema: impl FnOnce() -> Bytes) -> Option<Response> {
    match path {
        "/ui" | "/ui/" => Some(file(
            Body::from(PAGE.replace("{{TOKEN}}", token)),
            "text/html; charset=utf-8",
            // The token is the gateway's of this run: never kept.
            "no-store",
        )),
        "/ui/app.js" => Some(file(
            Body::from(SCRIPT),
            "text/javascript; charset=utf-8",
            "no-cache",
        )),
        "/ui/app.css" => Some(file(
            Body::from(STYLE),
            "text/css; charset=utf-8",
            "no-cache",
        )),
        "/ui/schema.json" => Some(file(Body::from(schema()), "application/json", "no-store")),
        _ => None,
    }
}

fn file(body: Body, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = docs::own_file(body, content_type, CONTENT_SECURITY_POLICY, cache);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// What the page builds itself from: the services and methods with their kinds, comments and
/// routes, and every message and enum their requests are made of, fields in the order of the
/// schema. Well-known types are named, not described: the page has inputs for them.
pub fn schema(routes: &Routes, upstream: &Upstream) -> Value {
    let mut services: BTreeMap<String, (Option<String>, Vec<Value>)> = BTreeMap::new();
    let mut seen_methods: Vec<String> = Vec::new();
    let mut inputs = Vec::new();
    for route in routes.iter() {
        if seen_methods
            .iter()
            .any(|seen| seen == route.method.full_name())
        {
            continue;
        }
        seen_methods.push(route.method.full_name().to_string());
        let service = route.method.parent_service();
        let entry = services
            .entry(service.full_name().to_string())
            .or_insert_with(|| {
                (
                    leading_comment(&service.parent_file(), service.path()),
                    Vec::new(),
                )
            });
        entry.1.push(method(&route.method, routes));
        inputs.push(route.method.input());
    }
    let (messages, enums) = messages_of(inputs);
    // The server's own services first; gRPC's (health, reflection) after them.
    let mut services: Vec<_> = services.into_iter().collect();
    services.sort_by_key(|(name, _)| (name.starts_with("grpc."), name.clone()));
    json!({
        "upstream": { "address": upstream.address, "tls": upstream.tls },
        "services": services
            .into_iter()
            .map(|(name, (comment, methods))| {
                let mut service = Map::new();
                service.insert("name".into(), json!(name));
                if let Some(comment) = comment {
                    service.insert("comment".into(), json!(comment));
                }
                service.insert("methods".into(), Value::Array(methods));
                Value::Object(service)
            })
            .collect::<Vec<_>>(),
        "messages": messages,
        "enums": enums,
    })
}

fn method(method: &MethodDescriptor, routes: &Routes) -> Value {
    let kind = match RpcKind::of(method) {
        RpcKind::Unary => "unary",
        RpcKind::ServerStreaming => "server_streaming",
        RpcKind::ClientStreaming => "client_streaming",
        RpcKind::Bidirectional => "bidi_streaming",
    };
    let method_routes: Vec<Value> = routes
        .iter()
        .filter(|route| route.method.full_name() == method.full_name())
        .map(|route| {
            let body = match &route.body {
                BodyRule::None => json!(""),
                BodyRule::Whole => json!("*"),
                BodyRule::Field(field) => json!(field.name()),
            };
            json!({
                "method": route.http_method,
                "path": route.template.text,
                "body": body,
                "variables": route
                    .template
                    .variables
                    .iter()
                    .map(|variable| variable.field_path.join("."))
                    .collect::<Vec<_>>(),
                "generic": route.source == RouteSource::Generic,
            })
        })
        .collect();
    let mut entry = Map::new();
    entry.insert("name".into(), json!(method.name()));
    entry.insert("fullName".into(), json!(method.full_name()));
    entry.insert("path".into(), json!(generic_path(method)));
    entry.insert("kind".into(), json!(kind));
    entry.insert("input".into(), json!(method.input().full_name()));
    entry.insert("output".into(), json!(method.output().full_name()));
    if let Some(comment) = leading_comment(&method.parent_file(), method.path()) {
        entry.insert("comment".into(), json!(comment));
    }
    if deprecated(&method.options()) {
        entry.insert("deprecated".into(), json!(true));
    }
    entry.insert("routes".into(), Value::Array(method_routes));
    Value::Object(entry)
}

/// The messages and enums reachable from `roots`, by full name.
fn messages_of(roots: Vec<MessageDescriptor>) -> (Map<String, Value>, Map<String, Value>) {
    let mut messages = Map::new();
    let mut enums = Map::new();
    let mut queue: VecDeque<MessageDescriptor> = roots.into();
    while let Some(message) = queue.pop_front() {
        if messages.contains_key(message.full_name())
            || WellKnown::of(message.full_name()).is_some()
        {
            continue;
        }
        let mut fields = Vec::new();
        for field in message.fields() {
            let mut kinds = vec![field.kind()];
            if let Kind::Message(entry) = field.kind()
                && field.is_map()
            {
                kinds = vec![
                    entry.map_entry_key_field().kind(),
                    entry.map_entry_value_field().kind(),
                ];
            }
            for kind in kinds {
                match kind {
                    Kind::Message(nested) => queue.push_back(nested),
                    Kind::Enum(enumeration) => {
                        enums
                            .entry(enumeration.full_name().to_string())
                            .or_insert_with(|| {
                                json!({
                                    "values": enumeration
                                        .values()
                                        .map(|value| json!({"name": value.name(), "number": value.number()}))
                                        .collect::<Vec<_>>(),
                                })
                            });
                    }
                    _ => {}
                }
            }
            fields.push(field_json(&field));
        }
        let mut entry = Map::new();
        if let Some(comment) = leading_comment(&message.parent_file(), message.path()) {
            entry.insert("comment".into(), json!(comment));
        }
        entry.insert("fields".into(), Value::Array(fields));
        messages.insert(message.full_name().to_string(), Value::Object(entry));
    }
    (messages, enums)
}

/// A field as the form needs it: names, how many values, the type (with the message or enum
/// it names) and what the schema says of it.
fn field_json(field: &FieldDescriptor) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(field.name()));
    entry.insert("jsonName".into(), json!(field.json_name()));
    entry.insert("number".into(), json!(field.number()));
    entry.insert("label".into(), json!(as_json::cardinality(field)));
    match (field.is_map(), field.kind()) {
        (true, Kind::Message(map_entry)) => {
            entry.insert("type".into(), json!("map"));
            entry.insert(
                "key".into(),
                type_json(&map_entry.map_entry_key_field().kind()),
            );
            entry.insert(
                "value".into(),
                type_json(&map_entry.map_entry_value_field().kind()),
            );
        }
        (_, kind) => {
            if let Value::Object(kind) = type_json(&kind) {
                entry.extend(kind);
            }
        }
    }
    if let Some(oneof) = field
        .containing_oneof()
        .filter(|oneof| !oneof.is_synthetic())
    {
        entry.insert("oneof".into(), json!(oneof.name()));
    }
    if let Some(comment) = leading_comment(&field.parent_file(), field.path()) {
        entry.insert("comment".into(), json!(comment));
    }
    if deprecated(&field.options()) {
        entry.insert("deprecated".into(), json!(true));
    }
    for behavior in field_behaviors(field) {
        match behavior {
            FieldBehavior::Required => entry.insert("required".into(), json!(true)),
            FieldBehavior::OutputOnly => entry.insert("outputOnly".into(), json!(true)),
        };
    }
    Value::Object(entry)
}

/// `{"type": "int64"}`, `{"type": "message", "message": NAME}` or `{"type": "enum", "enum": NAME}`.
fn type_json(kind: &Kind) -> Value {
    match kind {
        Kind::Message(message) => json!({"type": "message", "message": message.full_name()}),
        Kind::Enum(enumeration) => json!({"type": "enum", "enum": enumeration.full_name()}),
        scalar => json!({"type": format!("{scalar:?}").to_ascii_lowercase()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_the_token_and_names_only_its_own_files() {
        let page = answer("/ui", "abc123", Bytes::new).unwrap();
        assert_eq!(
            page.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        assert!(PAGE.contains("{{TOKEN}}"));
        for name in ["/ui/app.js", "/ui/app.css"] {
            assert!(PAGE.contains(name), "{name}");
            assert!(answer(name, "t", Bytes::new).is_some(), "{name}");
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert!(!SCRIPT.contains("http://") && !SCRIPT.contains("https://"));
        assert!(answer("/ui/other.js", "t", Bytes::new).is_none());
    }
}
