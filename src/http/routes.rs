//! The route table: every method at its generic path, and the REST routes of its
//! `google.api.http` rules (from the schema, or from `--http-rules`, which override them).
//!
//! Routes are checked when the table is built: a template that does not parse, a variable or
//! body naming a field the request lacks, or two routes with the same HTTP method and shape
//! (`/v1/{id}` and `/v1/{name}`) are reported then, once, naming the methods and paths; the
//! route that loses is left out. When several routes match a request, the most specific wins
//! (segment by segment, a literal before `*` before `**`), so the answer never depends on
//! the order of the schema.

use std::collections::HashMap;
use std::fmt;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};

use super::rules::{self, HttpRule};
use super::template::{Bindings, Template};
use crate::well_known::WellKnown;

/// Where a request's body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRule {
    /// No body: every field comes from the path and the query string.
    None,
    /// `body: "*"`: the body is the request message; the path fills in the rest.
    Whole,
    /// `body: "field"`: the body is that field of the request.
    Field(FieldDescriptor),
}

/// Where a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteSource {
    /// A `google.api.http` option in the schema.
    Annotation,
    /// A rule of `--http-rules`.
    RulesFile,
    /// `POST /pkg.Service/Method`, which every method has.
    Generic,
}

impl RouteSource {
    fn describe(self) -> &'static str {
        match self {
            RouteSource::Annotation => "annotation",
            RouteSource::RulesFile => "rules file",
            RouteSource::Generic => "generic",
        }
    }
}

/// One route: an HTTP method and path template, and the gRPC method it calls.
#[derive(Debug, Clone)]
pub struct Route {
    /// Upper case: `GET`, or a custom kind.
    pub http_method: String,
    pub template: Template,
    pub method: MethodDescriptor,
    pub body: BodyRule,
    /// `response_body`: the field of the response that is the HTTP body.
    pub response_body: Option<FieldDescriptor>,
    pub source: RouteSource,
}

impl Route {
    /// The body column of the route table.
    fn body_text(&self) -> String {
        match &self.body {
            BodyRule::None => "-".to_string(),
            BodyRule::Whole => "*".to_string(),
            BodyRule::Field(field) => field.name().to_string(),
        }
    }
}

/// A route that a request matched, and what its path bound.
#[derive(Debug)]
pub enum Found<'a> {
    Route(&'a Route, Bindings),
    /// The path matches routes, but of other HTTP methods: these.
    WrongMethod(Vec<String>),
    NotFound,
}

/// Every route of a schema.
#[derive(Debug, Default)]
pub struct Routes {
    routes: Vec<Route>,
    /// Generic routes by their path, which is most of the traffic of scripts: no matching.
    generic: HashMap<String, usize>,
}

/// A problem found while building the table: the route it concerns was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteProblem(pub String);

impl fmt::Display for RouteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Routes {
    /// The routes of `methods`, with `file_rules` (by selector) in place of their annotations.
    pub fn build(
        methods: &[MethodDescriptor],
        file_rules: &[HttpRule],
    ) -> (Routes, Vec<RouteProblem>) {
        let mut problems = Vec::new();
        let mut by_selector: HashMap<&str, Vec<&HttpRule>> = HashMap::new();
        for rule in file_rules {
            by_selector
                .entry(rule.selector.as_str())
                .or_default()
                .push(rule);
        }
        let mut candidates = Vec::new();
        for method in methods {
            let from_file = by_selector.remove(method.full_name());
            let (rules, source) = match from_file {
                Some(rules) => (rules.into_iter().cloned().collect(), RouteSource::RulesFile),
                None => match rules::of_method(method) {
                    Ok(rule) => (rule.into_iter().collect(), RouteSource::Annotation),
                    Err(reason) => {
                        problems.push(RouteProblem(format!("{}: {reason}", method.full_name())));
                        (Vec::new(), RouteSource::Annotation)
                    }
                },
            };
            for rule in &rules {
                let mut bindings = vec![rule];
                bindings.extend(rule.additional_bindings.iter());
                for binding in bindings {
                    match route_of(method, binding, source) {
                        Ok(route) => candidates.push(route),
                        Err(reason) => problems.push(RouteProblem(format!(
                            "{} ({}): {reason}; the route is left out",
                            method.full_name(),
                            source.describe()
                        ))),
                    }
                }
            }
        }
        for selector in by_selector.keys() {
            problems.push(RouteProblem(format!(
                "--http-rules names `{selector}`, which the schema does not have; its rule is left out"
            )));
        }
        for method in methods {
            let path = generic_path(method);
            match Template::parse(&path) {
                Ok(template) => candidates.push(Route {
                    http_method: "POST".to_string(),
                    template,
                    method: method.clone(),
                    body: BodyRule::Whole,
                    response_body: None,
                    source: RouteSource::Generic,
                }),
                Err(error) => problems.push(RouteProblem(format!(
                    "{}: no generic route: {error}",
                    method.full_name()
                ))),
            }
        }
        let mut routes: Vec<Route> = Vec::with_capacity(candidates.len());
        let mut shapes: HashMap<(String, String), usize> = HashMap::new();
        for route in candidates {
            let key = (route.http_method.clone(), route.template.shape());
            if let Some(winner) = shapes.get(&key).and_then(|&kept| routes.get(kept)) {
                problems.push(RouteProblem(format!(
                    "{} {} ({}) and {} {} ({}) match the same paths; {} is kept",
                    route.http_method,
                    route.template,
                    route.method.full_name(),
                    winner.http_method,
                    winner.template,
                    winner.method.full_name(),
                    winner.method.full_name(),
                )));
                continue;
            }
            shapes.insert(key, routes.len());
            routes.push(route);
        }
        let generic = routes
            .iter()
            .enumerate()
            .filter(|(_, route)| route.source == RouteSource::Generic)
            .map(|(index, route)| (route.template.text.clone(), index))
            .collect();
        (Routes { routes, generic }, problems)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route for a request: `path` is the request's path, without the query string.
    pub fn find(&self, http_method: &str, path: &str) -> Found<'_> {
        if http_method == "POST"
            && let Some(route) = self.generic.get(path).and_then(|&at| self.routes.get(at))
        {
            return Found::Route(route, Vec::new());
        }
        let mut best: Option<(&Route, Bindings)> = None;
        let mut other_methods: Vec<String> = Vec::new();
        for route in &self.routes {
            let Some(bindings) = route.template.matches(path) else {
                continue;
            };
            if route.http_method != http_method {
                if !other_methods.contains(&route.http_method) {
                    other_methods.push(route.http_method.clone());
                }
                continue;
            }
            let better = match &best {
                None => true,
                Some((current, _)) => route.template.specificity() > current.template.specificity(),
            };
            if better {
                best = Some((route, bindings));
            }
        }
        match best {
            Some((route, bindings)) => Found::Route(route, bindings),
            None if !other_methods.is_empty() => {
                other_methods.sort();
                Found::WrongMethod(other_methods)
            }
            None => Found::NotFound,
        }
    }

    /// The table `--routes` prints: HTTP method, path template, gRPC method, body, source.
    pub fn table(&self) -> Vec<[String; 5]> {
        let mut rows: Vec<[String; 5]> = self
            .routes
            .iter()
            .map(|route| {
                [
                    route.http_method.clone(),
                    route.template.text.clone(),
                    route.method.full_name().to_string(),
                    route.body_text(),
                    route.source.describe().to_string(),
                ]
            })
            .collect();
        // Generic routes last; the rest by path, then method.
        rows.sort_by(|a, b| {
            (a[4] == "generic", &a[1], &a[0]).cmp(&(b[4] == "generic", &b[1], &b[0]))
        });
        rows
    }
}

/// `/pkg.Service/Method`, where gRPC itself has the method.
pub fn generic_path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}

/// A route from one binding of a rule, its fields checked against the method's messages.
fn route_of(
    method: &MethodDescriptor,
    rule: &HttpRule,
    source: RouteSource,
) -> Result<Route, String> {
    let Some((http_method, path)) = rule.method_and_path() else {
        return Err("the rule names no HTTP method and path".to_string());
    };
    if http_method.is_empty() || !http_method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("`{http_method}` is not an HTTP method"));
    }
    let template = Template::parse(path).map_err(|error| error.to_string())?;
    let input = method.input();
    for variable in &template.variables {
        let field = field_path(&input, &variable.field_path)?;
        if field.is_list() || !bindable_from_text(&field) {
            return Err(format!(
                "the path variable `{}` is a {}, which a path segment cannot hold",
                variable.field_path.join("."),
                kind_in_words(&field)
            ));
        }
    }
    let body = match rule.body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => BodyRule::Field(field_by_name(&input, name).ok_or_else(|| {
            format!(
                "the body field `{name}` is not a field of {}",
                input.full_name()
            )
        })?),
    };
    let response_body = match rule.response_body.as_str() {
        "" => None,
        name => {
            let output = method.output();
            Some(field_by_name(&output, name).ok_or_else(|| {
                format!(
                    "the response_body field `{name}` is not a field of {}",
                    output.full_name()
                )
            })?)
        }
    };
    Ok(Route {
        http_method,
        template,
        method: method.clone(),
        body,
        response_body,
        source,
    })
}

/// A field of `message` by its proto name or, failing that, its JSON name.
pub fn field_by_name(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

/// The field at the end of `path` (`a.b.c`), every field before it a singular message.
pub fn field_path(message: &MessageDescriptor, path: &[String]) -> Result<FieldDescriptor, String> {
    let mut current = message.clone();
    let mut found = None;
    let mut walked: Vec<&str> = Vec::with_capacity(path.len());
    for (index, name) in path.iter().enumerate() {
        walked.push(name);
        let field = field_by_name(&current, name).ok_or_else(|| {
            format!(
                "`{}` is not a field of {}",
                walked.join("."),
                message.full_name()
            )
        })?;
        if index + 1 < path.len() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => current = inner,
                _ => {
                    return Err(format!(
                        "`{}` is not a message, so `{}` cannot name a field inside it",
                        walked.join("."),
                        path.join(".")
                    ));
                }
            }
        }
        found = Some(field);
    }
    found.ok_or_else(|| "an empty field path".to_string())
}

/// Whether a value for `field` can be written as text in a path or query string: scalars,
/// enums, and the well-known types whose JSON form is a string or number.
pub fn bindable_from_text(field: &FieldDescriptor) -> bool {
    if field.is_map() {
        return false;
    }
    match field.kind() {
        Kind::Message(message) => matches!(
            WellKnown::of(message.full_name()),
            Some(
                WellKnown::Timestamp
                    | WellKnown::Duration
                    | WellKnown::FieldMask
                    | WellKnown::Wrapper(_)
            )
        ),
        _ => true,
    }
}

fn kind_in_words(field: &FieldDescriptor) -> String {
    if field.is_map() {
        return "map".to_string();
    }
    if field.is_list() {
        return "repeated field".to_string();
    }
    match field.kind() {
        Kind::Message(message) => format!("message ({})", message.full_name()),
        _ => "field".to_string(),
    }
}
