//! An HTTP request's path bindings, query string and body, as one request message.
//!
//! The common cases go straight to the wire: a body that is the whole request with nothing
//! bound by the path or the query string is encoded as `grpcx call` encodes its data (the
//! fast encoder, then the reference path for errors). Otherwise the parts are put together
//! as one JSON object (the body, then each path variable and query parameter at its field,
//! converted from text by the field's type) and read by the reference path, so a value that
//! does not fit is reported with the same JSON path and wording as everywhere else.

use bytes::Bytes;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use super::routes::{BodyRule, Route, bindable_from_text, field_path};
use super::template::{Bindings, decode};
use crate::invoke::encode::Encoder;
use crate::invoke::input::{self, JsonInput};
use crate::well_known::{WellKnown, Wrapped};

/// Why a request cannot become a request message: a 400, with this text.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Input(input::InputError),
    #[error("the request body is not valid JSON: {0}")]
    BodyJson(String),
    #[error("the request does not fit {message}: {}{reason}", .path.as_ref().map(|p| format!("at {p}: ")).unwrap_or_default())]
    Mismatch {
        message: String,
        /// Where in the request as JSON, e.g. `.price.units`.
        path: Option<String>,
        reason: String,
    },
    #[error("{origin} is `{text}`, which does not fit field `{field}`: {reason}")]
    TextValue {
        /// `path variable {id}` or `query parameter page.size`.
        origin: String,
        text: String,
        field: String,
        reason: String,
    },
    #[error("the request body must be a JSON object for {0}")]
    BodyNotObject(String),
    #[error("unknown query parameter `{name}`: {reason}")]
    UnknownQuery { name: String, reason: String },
    #[error("query parameter `{0}` is already bound by the path")]
    QueryBoundByPath(String),
    #[error("query parameter `{name}` cannot be given here: {reason}")]
    QueryNotAllowed { name: String, reason: String },
    #[error("the query string holds `{0}`, which does not decode to UTF-8 text")]
    QueryEncoding(String),
}

impl From<input::InputError> for RequestError {
    /// In an HTTP request's words: there is one request, its body.
    fn from(error: input::InputError) -> RequestError {
        match error {
            input::InputError::Json {
                reason,
                line,
                column,
                ..
            } if line > 0 => {
                RequestError::BodyJson(format!("{reason} at line {line}, column {column}"))
            }
            input::InputError::Json { reason, .. } => RequestError::BodyJson(reason),
            input::InputError::Mismatch {
                message,
                path,
                reason,
                ..
            } => RequestError::Mismatch {
                message,
                path,
                reason,
            },
            other => RequestError::Input(other),
        }
    }
}

/// A value of the request that came as text, from the path or the query string.
struct TextSource {
    /// `path variable {id}` or `query parameter page.size`.
    what: String,
    fields: Vec<FieldDescriptor>,
    text: String,
    repeated: bool,
}

/// How requests are read, from the gateway's options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions {
    pub json: JsonInput,
    /// Ignore query parameters that name no field, instead of answering 400.
    pub allow_unknown_query: bool,
}

/// The encoded request message of `route` for a request with this path's `bindings`, `query`
/// string (without `?`) and `body`.
pub fn build(
    route: &Route,
    bindings: Bindings,
    query: Option<&str>,
    body: &[u8],
    options: RequestOptions,
    encoder: Option<&Encoder>,
) -> Result<Bytes, RequestError> {
    let input = route.method.input();
    let query = parse_query(query)?;
    let query = if options.allow_unknown_query {
        query
            .into_iter()
            .filter(|(name, _)| query_field(&input, name).is_ok())
            .collect()
    } else {
        query
    };
    if route.body == BodyRule::Whole && bindings.is_empty() && query.is_empty() {
        return Ok(input::read_single_json(
            body,
            &input,
            route.method.full_name(),
            options.json,
            encoder,
        )?);
    }
    let mut object = match &route.body {
        BodyRule::Whole => match body_value(body)? {
            None => Map::new(),
            Some(Value::Object(object)) => object,
            Some(_) => return Err(RequestError::BodyNotObject(input.full_name().to_string())),
        },
        BodyRule::Field(field) => {
            let mut object = Map::new();
            if let Some(value) = body_value(body)? {
                object.insert(field.json_name().to_string(), value);
            }
            object
        }
        BodyRule::None => Map::new(),
    };
    let mut bound_by_path: Vec<Vec<String>> = Vec::new();
    let mut sources = Vec::new();
    for (path, text) in bindings {
        let fields =
            fields_on_path(&input, &path).map_err(|reason| RequestError::UnknownQuery {
                name: path.join("."),
                reason,
            })?;
        set(
            &mut object,
            &fields,
            text_value(fields.last(), &text),
            false,
        );
        sources.push(TextSource {
            what: format!("path variable {{{}}}", path.join(".")),
            fields,
            text,
            repeated: false,
        });
        bound_by_path.push(path);
    }
    if !query.is_empty() {
        if route.body == BodyRule::Whole
            && let Some((name, _)) = query.first()
        {
            return Err(RequestError::QueryNotAllowed {
                name: name.clone(),
                reason: "this route takes the whole request from the body".to_string(),
            });
        }
        for (name, text) in query {
            let fields =
                query_field(&input, &name).map_err(|reason| RequestError::UnknownQuery {
                    name: name.clone(),
                    reason,
                })?;
            let names: Vec<&str> = fields.iter().map(FieldDescriptor::name).collect();
            if bound_by_path
                .iter()
                .any(|path| same_field_path(&input, path, &names))
            {
                return Err(RequestError::QueryBoundByPath(name));
            }
            if let (BodyRule::Field(body_field), Some(first)) = (&route.body, fields.first())
                && body_field == first
            {
                return Err(RequestError::QueryNotAllowed {
                    name,
                    reason: format!("`{}` comes from the body", body_field.name()),
                });
            }
            let last = fields.last();
            let repeated = last.is_some_and(FieldDescriptor::is_list);
            set(&mut object, &fields, text_value(last, &text), repeated);
            sources.push(TextSource {
                what: format!("query parameter {name}"),
                fields,
                text,
                repeated,
            });
        }
    }
    input::encode_value(&input, Value::Object(object), options.json)
        .map_err(|error| blame_text(&input, &sources, options.json).unwrap_or(error.into()))
}

/// The path variable or query parameter whose text does not fit its field, when one of them
/// is why the request does not fit: each is tried alone (only after a failure, so the usual
/// request pays nothing for it).
fn blame_text(
    input: &MessageDescriptor,
    sources: &[TextSource],
    json: JsonInput,
) -> Option<RequestError> {
    sources.iter().find_map(|source| {
        let mut alone = Map::new();
        let value = text_value(source.fields.last(), &source.text);
        set(&mut alone, &source.fields, value, source.repeated);
        match input::encode_value(input, Value::Object(alone), json) {
            Err(input::InputError::Mismatch { reason, .. }) => Some(RequestError::TextValue {
                origin: source.what.clone(),
                text: source.text.clone(),
                field: source
                    .fields
                    .iter()
                    .map(FieldDescriptor::name)
                    .collect::<Vec<_>>()
                    .join("."),
                reason,
            }),
            _ => None,
        }
    })
}

/// The body as JSON: `None` when it is empty (or only white space).
fn body_value(body: &[u8]) -> Result<Option<Value>, RequestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|error| RequestError::BodyJson(error.to_string()))
}

/// `a=1&b=x%20y&c` as pairs, `+` as a space; empty pieces skipped.
pub(super) fn parse_query(query: Option<&str>) -> Result<Vec<(String, String)>, RequestError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::new();
    for piece in query.split('&').filter(|piece| !piece.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decoded = |text: &str| {
            decode(&text.replace('+', " "), false)
                .ok_or_else(|| RequestError::QueryEncoding(text.to_string()))
        };
        pairs.push((decoded(name)?, decoded(value)?));
    }
    Ok(pairs)
}

/// The fields a query parameter's name leads through (`page.size`), checked: every one before
/// the last a singular message, the last one writable as text.
fn query_field(input: &MessageDescriptor, name: &str) -> Result<Vec<FieldDescriptor>, String> {
    let path: Vec<String> = name.split('.').map(str::to_string).collect();
    let fields = fields_on_path(input, &path)?;
    match fields.last() {
        Some(last) if bindable_from_text(last) => Ok(fields),
        Some(last) => Err(format!(
            "`{name}` is a {} of {}, which a query parameter cannot hold",
            if last.is_map() { "map" } else { "message" },
            input.full_name()
        )),
        None => Err("an empty name".to_string()),
    }
}

/// Every field along `path`, from `input`.
fn fields_on_path(
    input: &MessageDescriptor,
    path: &[String],
) -> Result<Vec<FieldDescriptor>, String> {
    // Checked first, for its error wording; then walked to collect the fields.
    field_path(input, path)?;
    let mut fields = Vec::with_capacity(path.len());
    let mut message = input.clone();
    for name in path {
        let Some(field) = super::routes::field_by_name(&message, name) else {
            break;
        };
        if let Kind::Message(inner) = field.kind() {
            message = inner;
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Whether a path variable's field path and a query parameter's fields are the same field.
fn same_field_path(input: &MessageDescriptor, path: &[String], names: &[&str]) -> bool {
    fields_on_path(input, path).is_ok_and(|fields| {
        fields.len() == names.len()
            && fields
                .iter()
                .zip(names)
                .all(|(field, name)| field.name() == *name)
    })
}

/// Sets the value at `fields` in `object` (by JSON names), making the messages on the way;
/// with `append`, adds it to a list there.
fn set(object: &mut Map<String, Value>, fields: &[FieldDescriptor], value: Value, append: bool) {
    let Some((last, before)) = fields.split_last() else {
        return;
    };
    let mut current = object;
    for field in before {
        // The proto name is read as the same field: keep one spelling.
        let existing = current.remove(field.name());
        let entry = current
            .entry(field.json_name().to_string())
            .or_insert_with(|| existing.unwrap_or_else(|| Value::Object(Map::new())));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(inner) = entry else {
            return;
        };
        current = inner;
    }
    // One spelling of the field: a value under its proto name moves to its JSON name.
    let key = last.json_name().to_string();
    if last.name() != key
        && let Some(existing) = current.remove(last.name())
    {
        current.entry(key.clone()).or_insert(existing);
    }
    if append {
        match current.get_mut(&key) {
            Some(Value::Array(values)) => values.push(value),
            _ => {
                current.insert(key, Value::Array(vec![value]));
            }
        }
    } else {
        current.insert(key, value);
    }
}

/// Text from a path or a query string as the JSON value the field's mapping reads: numbers
/// and 64-bit integers stay strings (the mapping takes both), booleans and enum numbers
/// become JSON literals, everything else a string.
fn text_value(field: Option<&FieldDescriptor>, text: &str) -> Value {
    let kind = field.map(FieldDescriptor::kind);
    let as_bool = || match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        other => Value::String(other.to_string()),
    };
    match kind {
        Some(Kind::Bool) => as_bool(),
        Some(Kind::Enum(_)) => match text.parse::<i32>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::String(text.to_string()),
        },
        Some(Kind::Message(message))
            if WellKnown::of(message.full_name()) == Some(WellKnown::Wrapper(Wrapped::Bool)) =>
        {
            as_bool()
        }
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_decodes_as_forms_do() {
        assert_eq!(
            parse_query(Some("a=1&b=x%20y+z&&c&d=%E2%82%AC")).unwrap(),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y z".to_string()),
                ("c".to_string(), String::new()),
                ("d".to_string(), "€".to_string()),
            ]
        );
        assert!(parse_query(Some("a=%FF")).is_err());
        assert!(parse_query(None).unwrap().is_empty());
    }

    #[test]
    fn a_repeated_field_collects_every_value_under_either_name() {
        let pool =
            prost_reflect::DescriptorPool::decode(crate::demo::pb::FILE_DESCRIPTOR_SET).unwrap();
        let collect = |message: &str, pairs: &[(&str, &str)]| {
            let message = pool.get_message_by_name(message).unwrap();
            let mut object = Map::new();
            for (name, value) in pairs {
                let fields = query_field(&message, name).unwrap();
                set(&mut object, &fields, Value::String(value.to_string()), true);
            }
            Value::Object(object)
        };
        // The JSON name is the proto name.
        assert_eq!(
            collect("grpcx.demo.v1.Item", &[("tags", "a"), ("tags", "b")]),
            serde_json::json!({"tags": ["a", "b"]})
        );
        // Two spellings of one field.
        assert_eq!(
            collect(
                "grpcx.demo.v1.AllTypes",
                &[("r_string", "a"), ("rString", "b"), ("r_string", "c")]
            ),
            serde_json::json!({"rString": ["a", "b", "c"]})
        );
    }
}
