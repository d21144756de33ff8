//! An OpenAPI 3.1 document of the gateway's routes, generated from the descriptors at run
//! time: `grpcx openapi` prints it, the gateway serves it at `GET /openapi.json`.
//!
//! It describes what the gateway does, not an idealised API: every route it serves (annotated
//! and generic), with the path and query parameters it reads, the request bodies it takes and
//! the answers it gives; and the schemas of the messages in the protobuf JSON mapping as
//! grpcx reads and writes it (64-bit integers as strings that may also be numbers, enums by
//! name, bytes in base64, maps as objects, each oneof as a choice of one member or none,
//! well-known types in their JSON forms). Messages are components named by their full names,
//! so recursive messages are `$ref`s. Comments become descriptions.
//!
//! What OpenAPI cannot say is left out or simplified: a custom HTTP method (`custom` rules)
//! has no place in a path item, and a variable that spans several segments
//! (`{name=shelves/*}`) is one parameter whose description gives its pattern.

use std::collections::{BTreeMap, HashSet, VecDeque};

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value, json};

use super::routes::{BodyRule, Route, Routes};
use super::template::{Segment, Template};
use crate::schema::proto_text::leading_comment;
use crate::well_known::{WellKnown, Wrapped};

/// The OpenAPI version written.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// Where a reference to a component schema points.
const COMPONENTS: &str = "#/components/schemas/";

/// How deep query parameters are looked for in nested messages.
const QUERY_DEPTH: usize = 4;

/// HTTP methods a path item can hold, lower case.
const PATH_ITEM_METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "options", "head"];

/// What the document says of itself.
#[derive(Debug, Clone)]
pub struct Info {
    pub title: String,
    pub version: String,
    /// Where the gateway answers, when known (`/openapi.json` knows; `grpcx openapi` may not).
    pub server_url: Option<String>,
    /// Whether the gateway ignores request fields a message does not have.
    pub allow_unknown_fields: bool,
}

impl Info {
    /// The title and version of a document of `methods`: the services' names and their
    /// packages (versioned packages carry the version), unless a title is given.
    pub fn of(methods: &[MethodDescriptor], title: Option<String>) -> Info {
        let mut services: Vec<String> = Vec::new();
        let mut packages: Vec<String> = Vec::new();
        for method in methods {
            let service = method.parent_service();
            if !services.iter().any(|name| name == service.name()) {
                services.push(service.name().to_string());
            }
            if !packages.iter().any(|name| name == service.package_name()) {
                packages.push(service.package_name().to_string());
            }
        }
        services.sort();
        packages.sort();
        Info {
            title: title.unwrap_or_else(|| match services.is_empty() {
                true => "gRPC services".to_string(),
                false => services.join(", "),
            }),
            version: match packages.is_empty() {
                true => "unversioned".to_string(),
                false => packages.join(", "),
            },
            server_url: None,
            allow_unknown_fields: false,
        }
    }
}

/// The document of `routes`.
pub fn document(routes: &Routes, info: &Info) -> Value {
    let mut schemas = Schemas {
        allow_unknown_fields: info.allow_unknown_fields,
        ..Schemas::default()
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut operation_ids = HashSet::new();
    let mut tags: BTreeMap<String, Option<String>> = BTreeMap::new();
    for route in routes.iter() {
        let method = route.http_method.to_ascii_lowercase();
        if !PATH_ITEM_METHODS.contains(&method.as_str()) {
            continue;
        }
        let item = paths.entry(openapi_path(&route.template)).or_default();
        if item.contains_key(&method) {
            // Two templates that OpenAPI writes alike: the first (the most specific) stays.
            continue;
        }
        let service = route.method.parent_service();
        tags.entry(service.name().to_string())
            .or_insert_with(|| leading_comment(&service.parent_file(), service.path()));
        item.insert(method, operation(route, &mut schemas, &mut operation_ids));
    }
    let mut document = json!({
        "openapi": OPENAPI_VERSION,
        "info": { "title": info.title, "version": info.version },
        "tags": tags
            .into_iter()
            .map(|(name, description)| match description {
                Some(description) => json!({ "name": name, "description": description }),
                None => json!({ "name": name }),
            })
            .collect::<Vec<_>>(),
        "paths": paths,
        "components": { "schemas": schemas.finish() },
    });
    if let Some(url) = &info.server_url {
        put(&mut document, "servers", json!([{ "url": url }]));
    }
    document
}

/// `/v1/{name=shelves/*}:verb` as OpenAPI writes paths: `/v1/{name}:verb`.
fn openapi_path(template: &Template) -> String {
    let mut path = String::new();
    let mut index = 0;
    while index < template.segments.len() {
        path.push('/');
        if let Some(variable) = template.variables.iter().find(|v| v.start == index) {
            path.push('{');
            path.push_str(&variable.field_path.join("."));
            path.push('}');
            index = variable.end.max(index + 1);
            continue;
        }
        match template.segments.get(index) {
            Some(Segment::Literal(text)) => path.push_str(text),
            Some(Segment::One) => path.push('*'),
            Some(Segment::Rest) | None => path.push_str("**"),
        }
        index += 1;
    }
    if path.is_empty() {
        path.push('/');
    }
    if let Some(verb) = &template.verb {
        path.push(':');
        path.push_str(verb);
    }
    path
}

fn operation(route: &Route, schemas: &mut Schemas, operation_ids: &mut HashSet<String>) -> Value {
    let method = &route.method;
    let service = method.parent_service();
    let base = format!("{}_{}", service.name(), method.name());
    let mut id = base.clone();
    let mut number = 2;
    while !operation_ids.insert(id.clone()) {
        id = format!("{base}_{number}");
        number += 1;
    }
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(id));
    operation.insert("tags".into(), json!([service.name()]));
    let comment = leading_comment(&method.parent_file(), method.path());
    let summary = comment
        .as_deref()
        .and_then(|text| text.lines().next())
        .map(str::to_string)
        .unwrap_or_else(|| method.full_name().to_string());
    operation.insert("summary".into(), json!(summary));
    let kind = crate::invoke::RpcKind::of(method);
    let mut description = format!("Calls `{}` ({}).", method.full_name(), kind.describe());
    if let Some(comment) = comment {
        description = format!("{comment}\n\n{description}");
    }
    operation.insert("description".into(), json!(description));
    if deprecated(&method.options()) {
        operation.insert("deprecated".into(), json!(true));
    }

    let input = method.input();
    let mut parameters = Vec::new();
    let mut bound: Vec<String> = Vec::new();
    for variable in &route.template.variables {
        let name = variable.field_path.join(".");
        let leaf = field_at(&input, &variable.field_path);
        let spans = variable.end.saturating_sub(variable.start) > 1
            || route
                .template
                .segments
                .get(variable.start..variable.end)
                .is_some_and(|segments| segments.iter().any(|s| s != &Segment::One));
        let mut parameter = json!({
            "name": name,
            "in": "path",
            "required": true,
            "schema": leaf.as_ref().map_or(json!({ "type": "string" }), |field| schemas.parameter(field)),
        });
        if spans {
            put(&mut parameter, "schema", json!({ "type": "string" }));
            put(
                &mut parameter,
                "description",
                json!(format!(
                    "`{}`: several path segments, their `/` as they are",
                    variable_pattern(&route.template, variable.start, variable.end)
                )),
            );
        } else if let Some(field) = &leaf
            && let Some(comment) = leading_comment(&field.parent_file(), field.path())
        {
            put(&mut parameter, "description", json!(comment));
        }
        parameters.push(parameter);
        bound.push(name);
    }
    let body_field = match &route.body {
        BodyRule::Field(field) => Some(field.clone()),
        _ => None,
    };
    if route.body != BodyRule::Whole && !method.is_client_streaming() {
        let mut visited = vec![input.full_name().to_string()];
        query_parameters(
            &input,
            "",
            &bound,
            body_field.as_ref(),
            0,
            &mut visited,
            schemas,
            &mut parameters,
        );
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }

    match &route.body {
        BodyRule::None => {}
        BodyRule::Whole if method.is_client_streaming() => {
            operation.insert(
                "requestBody".into(),
                json!({
                    "description": format!("A stream of `{}`: one JSON message a line (NDJSON), each sent as soon as it has arrived.", input.full_name()),
                    "content": { "application/x-ndjson": { "schema": schemas.reference(&input) } },
                }),
            );
        }
        BodyRule::Whole => {
            operation.insert(
                "requestBody".into(),
                json!({
                    "description": format!("The `{}`; an empty body is the empty message.", input.full_name()),
                    "content": { "application/json": { "schema": schemas.reference(&input) } },
                }),
            );
        }
        BodyRule::Field(field) => {
            operation.insert(
                "requestBody".into(),
                json!({
                    "description": format!("The request's `{}` field.", field.name()),
                    "content": { "application/json": { "schema": schemas.field(field) } },
                }),
            );
        }
    }

    let output = method.output();
    let answer = match &route.response_body {
        Some(field) => schemas.field(field),
        None => schemas.reference(&output),
    };
    let ok = if method.is_server_streaming() {
        json!({
            "description": "The stream: a record a line as each message arrives, then one record with how it ended (a stream without it was cut).",
            "content": {
                "application/x-ndjson": { "schema": {
                    "oneOf": [
                        { "type": "object", "required": ["result"], "properties": { "result": answer } },
                        { "type": "object", "required": ["status"], "properties": {
                            "status": { "$ref": format!("{COMPONENTS}google.rpc.Status") },
                            "trailers": { "type": "object", "additionalProperties": { "type": "string" } },
                        } },
                    ],
                } },
                "text/event-stream": { "schema": {
                    "type": "string",
                    "description": "Server-sent events: `message` per response, then `trailers` (when any) and `status`.",
                } },
            },
        })
    } else {
        json!({
            "description": "The response message.",
            "content": { "application/json": { "schema": answer } },
        })
    };
    operation.insert(
        "responses".into(),
        json!({
            "200": ok,
            "default": {
                "description": "The call failed: a google.rpc.Status, with the HTTP status of its code.",
                "content": { "application/json": { "schema": { "$ref": format!("{COMPONENTS}google.rpc.Status") } } },
            },
        }),
    );
    Value::Object(operation)
}

/// The template's text for the variable spanning `start..end`.
fn variable_pattern(template: &Template, start: usize, end: usize) -> String {
    template
        .segments
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|segment| match segment {
            Segment::Literal(text) => text.as_str(),
            Segment::One => "*",
            Segment::Rest => "**",
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The field at `path` (proto or JSON names) from `message`.
fn field_at(message: &MessageDescriptor, path: &[String]) -> Option<FieldDescriptor> {
    let mut current = message.clone();
    let mut found = None;
    for name in path {
        let field = super::routes::field_by_name(&current, name)?;
        if let Kind::Message(inner) = field.kind() {
            current = inner;
        }
        found = Some(field);
    }
    found
}

/// The query parameters of `message`'s fields not bound by the path or the body: every field
/// a query parameter can hold, by its dotted JSON name, through singular messages.
#[allow(clippy::too_many_arguments)]
fn query_parameters(
    message: &MessageDescriptor,
    prefix: &str,
    bound: &[String],
    body_field: Option<&FieldDescriptor>,
    depth: usize,
    visited: &mut Vec<String>,
    schemas: &mut Schemas,
    out: &mut Vec<Value>,
) {
    for field in message.fields() {
        if depth == 0 && body_field == Some(&field) {
            continue;
        }
        let proto_path = format!("{prefix}{}", field.name());
        let json_path = format!("{prefix}{}", field.json_name());
        if bound.iter().any(|b| *b == proto_path || *b == json_path) {
            continue;
        }
        if super::routes::bindable_from_text(&field) {
            let mut parameter = json!({
                "name": json_path,
                "in": "query",
                "schema": if field.is_list() {
                    json!({ "type": "array", "items": schemas.parameter(&field) })
                } else {
                    schemas.parameter(&field)
                },
            });
            if let Some(comment) = leading_comment(&field.parent_file(), field.path()) {
                put(&mut parameter, "description", json!(comment));
            }
            out.push(parameter);
            continue;
        }
        if let Kind::Message(inner) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && depth + 1 < QUERY_DEPTH
            && !visited.contains(&inner.full_name().to_string())
        {
            visited.push(inner.full_name().to_string());
            let prefix = format!("{json_path}.");
            // Bound paths are matched by proto names too: keep both spellings in the prefix.
            query_parameters(
                &inner,
                &prefix,
                bound,
                body_field,
                depth + 1,
                visited,
                schemas,
                out,
            );
            visited.pop();
        }
    }
}

/// The component schemas referred to, made as they are first referred to.
#[derive(Default)]
struct Schemas {
    /// Whether messages take fields they do not have (`--allow-unknown-fields`).
    allow_unknown_fields: bool,
    done: BTreeMap<String, Value>,
    queued: HashSet<String>,
    queue: VecDeque<MessageDescriptor>,
    enums: BTreeMap<String, Value>,
}

impl Schemas {
    /// `{"$ref": …}` to `message`'s schema (a well-known type inline).
    fn reference(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known_schema(message) {
            return schema;
        }
        let name = message.full_name().to_string();
        if self.queued.insert(name.clone()) {
            self.queue.push_back(message.clone());
        }
        json!({ "$ref": format!("{COMPONENTS}{name}") })
    }

    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Value {
        if enumeration.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        let name = enumeration.full_name().to_string();
        if !self.enums.contains_key(&name) {
            // Written by name; read by name or by number (an unknown number stays a number).
            let mut schema = json!({
                "anyOf": [
                    {
                        "type": "string",
                        "enum": enumeration.values().map(|value| value.name().to_string()).collect::<Vec<_>>(),
                    },
                    { "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX },
                ],
            });
            if let Some(comment) = leading_comment(&enumeration.parent_file(), enumeration.path()) {
                put(&mut schema, "description", json!(comment));
            }
            self.enums.insert(name.clone(), schema);
        }
        json!({ "$ref": format!("{COMPONENTS}{name}") })
    }

    /// The schema of one value of `field`'s kind.
    fn value(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Message(message) => self.reference(message),
            Kind::Enum(enumeration) => self.enumeration(enumeration),
            scalar => scalar_schema(scalar),
        }
    }

    /// The schema of `field`: its value, a list of them, or a map.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map()
            && let Kind::Message(entry) = field.kind()
            && let Some(value_field) = entry.get_field_by_name("value")
        {
            let value = self.value(&value_field.kind());
            return json!({ "type": "object", "additionalProperties": value });
        }
        let value = self.value(&field.kind());
        if field.is_list() {
            json!({ "type": "array", "items": value })
        } else {
            value
        }
    }

    /// The schema of a value of `field` in a path or a query string, where every value is
    /// text: a 64-bit integer (a string or a number in a body) is its string form there, an
    /// enum its names, and a wrapper is never null. (Swagger UI can fill in no parameter of
    /// several types.)
    fn parameter(&mut self, field: &FieldDescriptor) -> Value {
        if let Kind::Enum(enumeration) = field.kind()
            && enumeration.full_name() != "google.protobuf.NullValue"
        {
            // By name, as a form offers them (a number is read too).
            return json!({
                "type": "string",
                "enum": enumeration.values().map(|value| value.name().to_string()).collect::<Vec<_>>(),
            });
        }
        let mut schema = self.value(&field.kind());
        if let Some(Value::Array(types)) = schema.get("type") {
            let text = if types.contains(&json!("string")) {
                json!("string")
            } else {
                types
                    .iter()
                    .find(|t| *t != "null")
                    .cloned()
                    .unwrap_or(json!("string"))
            };
            put(&mut schema, "type", text);
            if let Value::Object(object) = &mut schema {
                for key in ["minimum", "maximum", "description"] {
                    object.remove(key);
                }
            }
        }
        schema
    }

    fn message(&mut self, message: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let mut schema = self.field(&field);
            let mut notes = Map::new();
            if let Some(comment) = leading_comment(&field.parent_file(), field.path()) {
                notes.insert("description".into(), json!(comment));
            }
            if deprecated(&field.options()) {
                notes.insert("deprecated".into(), json!(true));
            }
            for behavior in field_behaviors(&field) {
                match behavior {
                    FieldBehavior::Required => required.push(field.json_name().to_string()),
                    FieldBehavior::OutputOnly => {
                        notes.insert("readOnly".into(), json!(true));
                    }
                }
            }
            if !notes.is_empty() {
                // Beside a `$ref`, 3.1 keeps the siblings; an inline schema takes them in.
                if let Value::Object(object) = &mut schema {
                    object.extend(notes);
                }
            }
            properties.insert(field.json_name().to_string(), schema);
        }
        // Unknown fields are refused, unless the gateway ignores them (--allow-unknown-fields).
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": self.allow_unknown_fields,
        });
        if !required.is_empty() {
            put(&mut schema, "required", json!(required));
        }
        // Each real oneof: one member set, or none.
        let choices: Vec<Value> = message
            .oneofs()
            .filter(|oneof| !oneof.is_synthetic())
            .map(|oneof| {
                let members: Vec<Value> = oneof
                    .fields()
                    .map(|field| json!({ "required": [field.json_name()] }))
                    .collect();
                let mut alternatives = members.clone();
                alternatives.push(json!({ "not": { "anyOf": members } }));
                json!({ "oneOf": alternatives })
            })
            .collect();
        if !choices.is_empty() {
            put(&mut schema, "allOf", Value::Array(choices));
        }
        if let Some(comment) = leading_comment(&message.parent_file(), message.path()) {
            put(&mut schema, "description", json!(comment));
        }
        schema
    }

    /// Every schema referred to, and the two the gateway's answers use.
    fn finish(mut self) -> Map<String, Value> {
        while let Some(message) = self.queue.pop_front() {
            let schema = self.message(&message);
            self.done.insert(message.full_name().to_string(), schema);
        }
        let mut all: Map<String, Value> = self.done.into_iter().collect();
        all.extend(self.enums);
        all.insert(
            "google.rpc.Status".into(),
            json!({
                "type": "object",
                "description": "How a call failed: the gRPC code (a number), a message, and details, each with its `@type`.",
                "properties": {
                    "code": { "type": "integer", "format": "int32" },
                    "message": { "type": "string" },
                    "details": { "type": "array", "items": any_schema() },
                },
            }),
        );
        all
    }
}

/// Whether `options` (a method's or a field's) say `deprecated = true`.
pub(super) fn deprecated(options: &prost_reflect::DynamicMessage) -> bool {
    options
        .get_field_by_name("deprecated")
        .is_some_and(|value| value.as_bool() == Some(true))
}

/// `google.api.field_behavior` values this document reads.
pub(super) enum FieldBehavior {
    Required,
    OutputOnly,
}

/// The field's `google.api.field_behavior` (extension 1052 of FieldOptions), when the schema
/// declares it.
pub(super) fn field_behaviors(field: &FieldDescriptor) -> Vec<FieldBehavior> {
    let options = field.options();
    let Some(extension) = field
        .parent_pool()
        .get_extension_by_name("google.api.field_behavior")
    else {
        return Vec::new();
    };
    if !options.has_extension(&extension) {
        return Vec::new();
    }
    let value = options.get_extension(&extension);
    let numbers: Vec<i32> = match value.as_ref() {
        prost_reflect::Value::List(values) => values
            .iter()
            .filter_map(prost_reflect::Value::as_enum_number)
            .collect(),
        other => other.as_enum_number().into_iter().collect(),
    };
    numbers
        .into_iter()
        .filter_map(|number| match number {
            2 => Some(FieldBehavior::Required),
            3 => Some(FieldBehavior::OutputOnly),
            _ => None,
        })
        .collect()
}

/// A scalar's schema in the JSON mapping, as grpcx reads (and writes) it.
fn scalar_schema(kind: &Kind) -> Value {
    let mut schema = scalar_schema_plain(kind);
    match kind {
        Kind::Double | Kind::Float => {
            schema = json!({
                "oneOf": [
                    { "type": "number", "format": if *kind == Kind::Double { "double" } else { "float" } },
                    { "type": "string", "enum": ["NaN", "Infinity", "-Infinity"] },
                ],
            });
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            put(
                &mut schema,
                "description",
                json!("A 64-bit integer, written as a string; a JSON number is read too."),
            );
        }
        _ => {}
    }
    schema
}

/// `google.protobuf.Any` as JSON: an object with `@type` and the packed message's fields.
fn any_schema() -> Value {
    json!({
        "type": "object",
        "required": ["@type"],
        "properties": { "@type": { "type": "string" } },
        "additionalProperties": true,
    })
}

/// The inline schema of a well-known type, in its JSON form.
fn well_known_schema(message: &MessageDescriptor) -> Option<Value> {
    let nullable = |schema: Value| {
        let mut schema = schema;
        if let Some(types) = schema.get("type").cloned() {
            let mut list = match types {
                Value::Array(list) => list,
                one => vec![one],
            };
            list.push(json!("null"));
            put(&mut schema, "type", Value::Array(list));
        }
        schema
    };
    let wrapped = |kind: Kind| -> Value {
        // Wrappers take the wrapped value itself, or null.
        match kind {
            Kind::Double | Kind::Float => json!({
                "oneOf": [
                    { "type": "number" },
                    { "type": "string", "enum": ["NaN", "Infinity", "-Infinity"] },
                    { "type": "null" },
                ],
            }),
            other => nullable(scalar_schema_plain(&other)),
        }
    };
    Some(match WellKnown::of(message.full_name())? {
        WellKnown::Timestamp => json!({ "type": "string", "format": "date-time" }),
        WellKnown::Duration => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "A duration in seconds with an `s`, e.g. `1.5s`.",
        }),
        WellKnown::FieldMask => json!({
            "type": "string",
            "description": "Field paths in lowerCamelCase, separated by commas, e.g. `name,price.units`.",
        }),
        WellKnown::Struct => json!({ "type": "object", "additionalProperties": true }),
        WellKnown::Value => json!({}),
        WellKnown::ListValue => json!({ "type": "array" }),
        WellKnown::Empty => json!({ "type": "object" }),
        WellKnown::Any => any_schema(),
        WellKnown::Wrapper(kind) => wrapped(match kind {
            Wrapped::Double => Kind::Double,
            Wrapped::Float => Kind::Float,
            Wrapped::Int64 => Kind::Int64,
            Wrapped::UInt64 => Kind::Uint64,
            Wrapped::Int32 => Kind::Int32,
            Wrapped::UInt32 => Kind::Uint32,
            Wrapped::Bool => Kind::Bool,
            Wrapped::String => Kind::String,
            Wrapped::Bytes => Kind::Bytes,
        }),
    })
}

/// A scalar's schema without the field it belongs to (for wrappers).
fn scalar_schema_plain(kind: &Kind) -> Value {
    match kind {
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
            "type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]{1,19}$",
            "minimum": i64::MIN, "maximum": i64::MAX,
        }),
        Kind::Uint64 | Kind::Fixed64 => json!({
            "type": ["string", "integer"], "format": "uint64", "pattern": "^[0-9]{1,20}$",
            "minimum": 0, "maximum": u64::MAX,
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX })
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({ "type": "integer", "format": "uint32", "minimum": 0, "maximum": u32::MAX })
        }
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Bytes => json!({ "type": "string", "format": "byte", "contentEncoding": "base64" }),
        _ => json!({ "type": "string" }),
    }
}

/// Sets `key` of the object `value` (anything else is left as it is).
fn put(value: &mut Value, key: &str, entry: Value) {
    if let Value::Object(object) = value {
        object.insert(key.to_string(), entry);
    }
}
