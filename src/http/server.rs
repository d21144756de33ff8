//! The gateway's HTTP server: one handler that finds the route, reads the request, calls the
//! upstream method and writes its answer as HTTP.
//!
//! hyper (through axum's `serve`) speaks HTTP/1.1 and cleartext HTTP/2 on the same port; the
//! routing is ours (`routes`), because the path-template grammar is not axum's. Every answer
//! that is not a response message is a `google.rpc.Status` as JSON, with the HTTP status
//! of its code (`status::http_status`), whether the upstream said it or the gateway did (an
//! unknown route is NOT_FOUND, a bad body INVALID_ARGUMENT). Nothing here prints: each
//! request's access-log line goes to the command through `events`.

// Handlers answer `Result<Response, Response>`: the error side is the refusal the client gets,
// so `?` ends a request early. A response is 128 bytes, once per request: boxing it buys nothing.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http_body::Frame;
use http_body_util::StreamBody;
use prost_reflect::DescriptorPool;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tonic::Code;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::transport::Channel;

use super::codecs::{Codecs, JsonOutput, MethodCodecs, Writer};
use super::request::{self, RequestOptions};
use super::routes::{BodyRule, Found, Route, Routes};
use super::{docs, explorer, openapi, stream_body, websocket};
use crate::invoke::input::InputError;
use crate::invoke::{
    self, CallObserver, CallOptions, Flush, InvokeError, Outcome, Requests, RpcKind, Stop,
};
use crate::output::{OutputError, Verbosity, metadata};
use crate::schema::details;
use crate::status::{code_name, http_status};
use crate::transport::{Header, metadata::encode_base64};

/// How the gateway answers, from its command line.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    pub request: RequestOptions,
    pub emit_defaults: bool,
    pub proto_names: bool,
    /// The largest request body read, in bytes.
    pub max_body: usize,
    /// The longest any call may take (`--max-time`); a shorter `Grpc-Timeout` wins.
    pub max_time: Option<Duration>,
    /// The largest response message accepted from the upstream.
    pub max_message_size: usize,
    /// Metadata sent on every call (`-H`, `--rpc-header`).
    pub headers: Vec<Header>,
    /// Request headers forwarded as metadata of the same name, besides `Authorization` and
    /// `Grpc-Metadata-*` (lower case).
    pub forward_headers: Vec<String>,
    /// The `Host` values accepted; `None` accepts any (a gateway listening beyond loopback,
    /// behind a load balancer). On loopback, only the names of the listening address, so that
    /// a web page cannot reach the gateway by DNS rebinding.
    pub allowed_hosts: Option<Vec<String>>,
    /// Origins whose pages may call the gateway (CORS); a request from any other origin is
    /// refused, so that a page elsewhere cannot drive it.
    pub cors_origins: Vec<String>,
    /// With `-v`, the access log shows each call's metadata, hiding what this hides.
    pub verbosity: Option<Verbosity>,
    /// What a call from a web page must carry (`check_token`); the gateway's own pages hold
    /// it. Random, new each run.
    pub token: String,
    /// The upstream, as `/ui` shows it.
    pub upstream: explorer::Upstream,
}

/// The routes and the schema they were built from: replaced whole when the schema is read
/// again, while requests under way keep the one they started with.
pub struct RouteTable {
    pub routes: Routes,
    /// For decoding the details of error statuses.
    pub pool: DescriptorPool,
    /// The methods' JSON plans, made on first use.
    codecs: Codecs,
    /// `/openapi.json`, made on first use.
    openapi: OnceLock<Bytes>,
    /// `/ui/schema.json`, made on first use.
    explorer: OnceLock<Bytes>,
}

impl RouteTable {
    pub fn new(routes: Routes, pool: DescriptorPool) -> RouteTable {
        RouteTable {
            routes,
            pool,
            codecs: Codecs::default(),
            openapi: OnceLock::new(),
            explorer: OnceLock::new(),
        }
    }
}

impl GatewayOptions {
    /// Whether `origin` is one of `--cors-origin`'s.
    fn allows_origin(&self, origin: &str) -> bool {
        self.cors_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }

    fn json_output(&self) -> JsonOutput {
        JsonOutput {
            emit_defaults: self.emit_defaults,
            proto_names: self.proto_names,
        }
    }
}

/// Everything a request needs: the routes, the upstream and the options.
pub struct Gateway {
    table: RwLock<Arc<RouteTable>>,
    pub channel: Channel,
    pub options: GatewayOptions,
    /// One line per request, for the access log.
    pub events: mpsc::UnboundedSender<String>,
}

impl Gateway {
    pub fn new(
        table: RouteTable,
        channel: Channel,
        options: GatewayOptions,
        events: mpsc::UnboundedSender<String>,
    ) -> Gateway {
        Gateway {
            table: RwLock::new(Arc::new(table)),
            channel,
            options,
            events,
        }
    }

    /// The routes as they are now.
    pub fn table(&self) -> Arc<RouteTable> {
        match self.table.read() {
            Ok(table) => table.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `table` in place for the requests that come next.
    pub fn replace_table(&self, table: RouteTable) {
        let table = Arc::new(table);
        match self.table.write() {
            Ok(mut current) => *current = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }
}

/// Serves `gateway` on `listener` until `shutdown` completes; requests in flight then finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cors = cors_layer(&gateway.options.cors_origins);
    let mut app = axum::Router::new().fallback(handle).with_state(gateway);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// CORS for `--cors-origin`'s origins, none without it: preflights are answered for them,
/// and their pages may read every answer and its `Grpc-Metadata-*` headers. The gateway
/// keeps no cookies, so credentials are never allowed.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(AllowMethods::mirror_request())
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(ExposeHeaders::any())
            .max_age(Duration::from_secs(600))
    })
}

/// What the access log says of one request.
#[derive(Clone)]
pub(super) struct LogLine {
    started: Instant,
    method: String,
    path: String,
    grpc_method: Option<String>,
    pub(super) code: Option<Code>,
    /// With `-v`: the metadata sent (`>`) and received (`<`), redacted as the CLI redacts.
    verbosity: Option<Verbosity>,
    metadata: Vec<String>,
}

/// Marks a response whose access-log line is written when its stream ends.
#[derive(Clone, Copy)]
struct LoggedWhenDone;

impl LogLine {
    /// Writes the line: method, path, gRPC method, HTTP status, gRPC code, time (and, with
    /// `-v`, the metadata).
    pub(super) fn send(&self, events: &mpsc::UnboundedSender<String>, status: u16, note: &str) {
        let mut line = format!(
            "{} {} -> {} {} {} {:.1} ms{note}",
            self.method,
            self.path,
            self.grpc_method.as_deref().unwrap_or("-"),
            status,
            self.code.map_or("-", code_name),
            self.started.elapsed().as_secs_f64() * 1000.0,
        );
        for metadata in &self.metadata {
            line.push('\n');
            line.push_str(metadata);
        }
        let _ = events.send(line);
    }

    fn sent(&mut self, headers: &[Header]) {
        if let Some(verbosity) = &self.verbosity {
            for (key, value) in metadata::sent(headers, verbosity) {
                self.metadata.push(format!("  > {key}: {value}"));
            }
        }
    }

    pub(super) fn received(&mut self, map: &MetadataMap) {
        if let Some(verbosity) = &self.verbosity {
            for (key, value) in metadata::received(map, verbosity) {
                self.metadata.push(format!("  < {key}: {value}"));
            }
        }
    }
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let mut log = LogLine {
        started: Instant::now(),
        method: request.method().as_str().to_string(),
        path: request.uri().path().to_string(),
        grpc_method: None,
        code: None,
        verbosity: gateway.options.verbosity.clone(),
        metadata: Vec::new(),
    };
    let response = match answer(&gateway, request, &mut log).await {
        Ok(response) | Err(response) => response,
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        || response.extensions().get::<LoggedWhenDone>().is_some()
    {
        // A WebSocket call or a stream: logged when it ends, with how it ended.
        return response;
    }
    log.send(&gateway.events, response.status().as_u16(), "");
    response
}

/// An answer that is not a response message: a status as JSON, with its HTTP status.
fn status_response(code: Code, message: &str, details: Vec<Value>) -> Response {
    json_response(
        StatusCode::from_u16(http_status(code)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &json!({ "code": code as i32, "message": message, "details": details }),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut text = serde_json::to_vec(body).unwrap_or_default();
    text.push(b'\n');
    json_text_response(status, Bytes::from(text))
}

/// `text`, which is JSON, as the answer.
fn json_text_response(status: StatusCode, text: Bytes) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn answer(
    gateway: &Arc<Gateway>,
    request: Request,
    log: &mut LogLine,
) -> Result<Response, Response> {
    let options = &gateway.options;
    let (mut parts, body) = request.into_parts();
    check_host_and_origin(&parts.headers, options)?;
    let table = gateway.table();
    if is_websocket_upgrade(&parts.headers) {
        return websocket(gateway, &mut parts, log).await;
    }
    if parts.uri.path().starts_with(docs::DOCS_PATH)
        && is_own_page(&table, &parts)
        && let Some(response) = docs::answer(parts.uri.path(), &options.token)
    {
        return Ok(response);
    }
    if parts.uri.path().starts_with(explorer::EXPLORER_PATH)
        && is_own_page(&table, &parts)
        && let Some(response) = explorer::answer(parts.uri.path(), &options.token, || {
            table
                .explorer
                .get_or_init(|| {
                    Bytes::from(explorer::schema(&table.routes, &options.upstream).to_string())
                })
                .clone()
        })
    {
        return Ok(response);
    }
    if parts.uri.path() == OPENAPI_PATH && is_own_page(&table, &parts) {
        let document = table.openapi.get_or_init(|| {
            let methods: Vec<_> = table
                .routes
                .iter()
                .map(|route| route.method.clone())
                .collect();
            let mut info = openapi::Info::of(&methods, None);
            info.allow_unknown_fields = options.request.json.allow_unknown_fields;
            let document = openapi::document(&table.routes, &info);
            Bytes::from(document.to_string())
        });
        return Ok(json_text_response(StatusCode::OK, document.clone()));
    }
    if parts.uri.path() == HEALTH_PATH && is_own_page(&table, &parts) {
        return Ok(health(gateway, parts.uri.query(), log).await);
    }
    let path = parts.uri.path();
    let (route, bindings) = match table.routes.find(parts.method.as_str(), path) {
        Found::Route(route, bindings) => (route, bindings),
        Found::WrongMethod(allowed) => {
            let mut response = status_response(
                Code::Unimplemented,
                &format!(
                    "{path} does not take {}; it takes {}",
                    parts.method,
                    allowed.join(", ")
                ),
                Vec::new(),
            );
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            return Err(response);
        }
        Found::NotFound => {
            return Err(status_response(
                Code::NotFound,
                &format!(
                    "no route for {} {path}; every method is at POST /<package.Service>/<Method>, and `grpcx gateway --routes` lists the rest",
                    parts.method
                ),
                Vec::new(),
            ));
        }
    };
    log.grpc_method = Some(route.method.full_name().to_string());
    check_token(&parts.headers, None, options)?;
    let (headers, timeout) = call_metadata(&parts.headers, options, log)?;
    let codecs = table
        .codecs
        .of(&route.method, options.request.json, options.json_output());
    let kind = RpcKind::of(&route.method);
    let requests = if kind.streams_requests() {
        // A stream of requests comes from the body alone: the path and the query string
        // would have to fill in every message of it.
        if route.body != BodyRule::Whole
            || !bindings.is_empty()
            || parts.uri.query().is_some_and(|query| !query.is_empty())
        {
            return Err(bad_request(format!(
                "{} is a {} method: its requests come from the body alone, as NDJSON (one JSON message a line), with no path variables or query parameters",
                route.method.full_name(),
                kind.describe()
            )));
        }
        Requests::Stream(stream_body::requests(
            body,
            route.method.input(),
            options.request.json,
            options.max_body,
        ))
    } else {
        let body = read_body(&parts.headers, body, options.max_body).await?;
        let message = request::build(
            route,
            bindings,
            parts.uri.query(),
            &body,
            options.request,
            codecs.encoder.as_ref(),
        )
        .map_err(|error| bad_request(error.to_string()))?;
        Requests::One(message)
    };
    if route.method.is_server_streaming() {
        let call = StreamCall {
            requests,
            headers: &headers,
            timeout,
        };
        server_stream(gateway, route, &codecs, call, &parts.headers, log).await
    } else {
        let call = CallOptions {
            headers: &headers,
            timeout,
            max_message_size: options.max_message_size,
            compression: None,
        };
        unary(gateway, route, &codecs, requests, call, log).await
    }
}

/// Whether the request may be for one of the gateway's own pages (`/docs`, `/openapi.json`,
/// `/healthz`): a GET or HEAD that no route of the schema takes.
fn is_own_page(table: &RouteTable, parts: &axum::http::request::Parts) -> bool {
    matches!(parts.method.as_str(), "GET" | "HEAD")
        && !matches!(
            table.routes.find(parts.method.as_str(), parts.uri.path()),
            Found::Route(..)
        )
}

/// Where the OpenAPI document of the routes is served, unless a route of the schema takes
/// the path.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Where the upstream's health is answered, unless a route of the schema takes the path.
pub const HEALTH_PATH: &str = "/healthz";

/// How long a health probe waits for the upstream.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /healthz[?service=NAME]`: the upstream's `grpc.health.v1` answer, 200 for SERVING and
/// 503 otherwise, for a load balancer's readiness probe. An upstream without the health
/// service that answers at all is up (200, said so in the body).
async fn health(gateway: &Gateway, query: Option<&str>, log: &mut LogLine) -> Response {
    log.grpc_method = Some("grpc.health.v1.Health.Check".to_string());
    let service = request::parse_query(query)
        .unwrap_or_default()
        .into_iter()
        .find_map(|(name, value)| (name == "service").then_some(value))
        .unwrap_or_default();
    let timeout = gateway
        .options
        .max_time
        .map_or(HEALTH_TIMEOUT, |max| max.min(HEALTH_TIMEOUT));
    let options = CallOptions {
        headers: &gateway.options.headers,
        timeout: Some(timeout),
        max_message_size: gateway.options.max_message_size,
        compression: None,
    };
    let (status, body) = match invoke::health::check(gateway.channel.clone(), &service, &options)
        .await
    {
        Ok(health) => {
            log.code = Some(Code::Ok);
            let status = if health == invoke::health::Health::Serving {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, json!({ "status": health.name() }))
        }
        Err(answer) if answer.code() == Code::Unimplemented && service.is_empty() => {
            log.code = Some(Code::Unimplemented);
            (
                StatusCode::OK,
                json!({
                    "status": "UP",
                    "message": "the upstream does not serve grpc.health.v1; it answered, so it is up",
                }),
            )
        }
        Err(answer) => {
            log.code = Some(answer.code());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "UNREACHABLE", "message": answer.message() }),
            )
        }
    };
    json_response(status, &body)
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// A call over a WebSocket, on a method's generic path (see `websocket`).
async fn websocket(
    gateway: &Arc<Gateway>,
    parts: &mut axum::http::request::Parts,
    log: &mut LogLine,
) -> Result<Response, Response> {
    let options = &gateway.options;
    let path = parts.uri.path().to_string();
    let table = gateway.table();
    let route = match table.routes.find("POST", &path) {
        Found::Route(route, bindings) if route.body == BodyRule::Whole && bindings.is_empty() => {
            route
        }
        _ => {
            return Err(status_response(
                Code::NotFound,
                &format!(
                    "no method at {path} for a WebSocket; calls over a WebSocket go to a method's generic path, /<package.Service>/<Method>"
                ),
                Vec::new(),
            ));
        }
    };
    log.grpc_method = Some(route.method.full_name().to_string());
    let query = request::parse_query(parts.uri.query())
        .map_err(|error| bad_request(format!("the query string: {error}")))?;
    let token = query
        .iter()
        .find_map(|(name, value)| (name == TOKEN_PARAMETER).then_some(value.as_str()));
    check_token(&parts.headers, token, options)?;
    metadata_from_query(&query, &mut parts.headers)?;
    let (headers, timeout) = call_metadata(&parts.headers, options, log)?;
    let upgrade = WebSocketUpgrade::from_request_parts(parts, &())
        .await
        .map_err(|rejection| bad_request(format!("not a WebSocket upgrade: {rejection}")))?;
    let call = websocket::SocketCall {
        gateway: gateway.clone(),
        codecs: table
            .codecs
            .of(&route.method, options.request.json, options.json_output()),
        method: route.method.clone(),
        headers,
        timeout,
        log: log.clone(),
    };
    Ok(upgrade
        .max_message_size(options.max_body)
        .max_frame_size(options.max_body)
        .on_upgrade(move |socket| websocket::run(call, socket)))
}

/// A refusal of what the request asks for: INVALID_ARGUMENT, 400.
fn bad_request(message: String) -> Response {
    status_response(Code::InvalidArgument, &message, Vec::new())
}

/// The metadata and the deadline a request asks for, `-H`'s first; checked, a bad one is a
/// 400 before anything goes upstream.
fn call_metadata(
    headers: &HeaderMap,
    options: &GatewayOptions,
    log: &mut LogLine,
) -> Result<(Vec<Header>, Option<Duration>), Response> {
    let mut metadata = options.headers.clone();
    metadata.extend(metadata_of(headers, &options.forward_headers).map_err(bad_request)?);
    let timeout = timeout_of(headers, options.max_time).map_err(bad_request)?;
    log.sent(&metadata);
    Ok((metadata, timeout))
}

/// How a call whose answer has started ended, as its last record says it.
pub(super) struct Ending {
    pub(super) code: Code,
    pub(super) message: String,
    pub(super) details: Vec<Value>,
}

impl Ending {
    /// The ending of `outcome`; `failure` says why the gateway stopped the call itself, when
    /// it did (else the client went away).
    pub(super) fn of(
        outcome: &Result<Outcome, InvokeError>,
        failure: Option<&str>,
        pool: &DescriptorPool,
    ) -> Ending {
        let (code, message, details) = match outcome {
            Ok(Outcome::Ok) => (Code::Ok, String::new(), Vec::new()),
            Ok(Outcome::Status(status)) => (
                status.code(),
                status.message().to_string(),
                details::decode(status, pool),
            ),
            Ok(Outcome::Stopped) => (
                Code::Cancelled,
                failure.unwrap_or("the client went away").to_string(),
                Vec::new(),
            ),
            Err(error) => (invoke_error_code(error), error.to_string(), Vec::new()),
        };
        Ending {
            code,
            message,
            details,
        }
    }

    /// The `google.rpc.Status` as JSON.
    pub(super) fn status(&self) -> Value {
        json!({ "code": self.code as i32, "message": self.message, "details": self.details })
    }
}

/// The code of a call that could not be made or whose requests broke off: a body line longer
/// than `--max-body` is RESOURCE_EXHAUSTED, as a whole body that is.
fn invoke_error_code(error: &InvokeError) -> Code {
    match error {
        _ if line_too_long(error) => Code::ResourceExhausted,
        InvokeError::Input(_) | InvokeError::StreamBroke { .. } => Code::InvalidArgument,
        InvokeError::NotReady(_) | InvokeError::BadPath(_) => Code::Unavailable,
    }
}

/// Whether a request stream broke off on a line longer than `--max-body`.
fn line_too_long(error: &InvokeError) -> bool {
    matches!(
        error,
        InvokeError::StreamBroke {
            error: InputError::Read { source, .. },
            ..
        } if source.kind() == std::io::ErrorKind::FileTooLarge
    )
}

/// The answer to a call that could not be made or whose requests broke off: a body line
/// that does not fit is the client's mistake (400, or 413 when it is too long).
fn invoke_error_response(error: &InvokeError) -> (Code, Response) {
    let code = invoke_error_code(error);
    let mut response = status_response(code, &error.to_string(), Vec::new());
    if line_too_long(error) {
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    }
    (code, response)
}

/// Refuses a request whose `Host` is not one the gateway answers to, or that a page of
/// another origin sends.
fn check_host_and_origin(headers: &HeaderMap, options: &GatewayOptions) -> Result<(), Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    if let Some(allowed) = &options.allowed_hosts
        && !host.is_empty()
        && !allowed.iter().any(|name| name.eq_ignore_ascii_case(host))
    {
        return Err(status_response(
            Code::PermissionDenied,
            &format!(
                "the gateway does not answer to Host `{host}`; it listens on loopback and answers to {} (--listen 0.0.0.0:PORT answers to any host)",
                allowed.join(", ")
            ),
            Vec::new(),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let same = origin
            .split_once("://")
            .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host));
        if !same && !options.allows_origin(origin) {
            return Err(status_response(
                Code::PermissionDenied,
                &format!(
                    "requests from pages of {origin} are refused; --cors-origin {origin} allows them"
                ),
                Vec::new(),
            ));
        }
    }
    Ok(())
}

/// The header that carries the token, and the query parameter of a WebSocket's URL that does
/// (a browser sets no header on a WebSocket).
pub const TOKEN_HEADER: &str = "x-grpcx-token";
pub const TOKEN_PARAMETER: &str = "grpcx-token";

/// Refuses a call that a web page makes without the gateway's token, so that a page of
/// another site cannot drive the gateway through the browser, not even with a request that
/// carries no `Origin` (a link, an image: Chromium and Firefox say `Sec-Fetch-Site` on those).
/// Programs (curl, scripts, other servers) send neither header and need no token; the pages
/// of `--cors-origin`'s origins need none either: their operator allowed them.
fn check_token(
    headers: &HeaderMap,
    query_token: Option<&str>,
    options: &GatewayOptions,
) -> Result<(), Response> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let origin = text(header::ORIGIN.as_str());
    let from_a_page = origin.is_some() || text("sec-fetch-site").is_some_and(|site| site != "none");
    if !from_a_page || origin.is_some_and(|origin| options.allows_origin(origin)) {
        return Ok(());
    }
    let given = text(TOKEN_HEADER).or(query_token).unwrap_or_default();
    if same_token(given.as_bytes(), options.token.as_bytes()) {
        return Ok(());
    }
    Err(status_response(
        Code::PermissionDenied,
        "a call from a web page needs the gateway's token (header X-Grpcx-Token), which only the gateway's own pages (/ui, /docs) hold; programs such as curl need none",
        Vec::new(),
    ))
}

/// Whether `given` is the token, in a time that does not tell how much of it matched.
fn same_token(given: &[u8], token: &[u8]) -> bool {
    !token.is_empty()
        && given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// A WebSocket's metadata and deadline, from its URL's query string as a browser can only
/// give them: `grpc-metadata-<key>=<value>` and `grpc-timeout=<value>`, read as the headers
/// of those names are (and checked the same way).
fn metadata_from_query(
    query: &[(String, String)],
    headers: &mut HeaderMap,
) -> Result<(), Response> {
    for (name, value) in query {
        let name = name.to_ascii_lowercase();
        if !(name.starts_with("grpc-metadata-") || name == "grpc-timeout") {
            continue;
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad_request(format!("query parameter `{name}` is not a header name")))?;
        let header_value = HeaderValue::from_str(value).map_err(|_| {
            bad_request(format!(
                "query parameter `{name}` is not printable ASCII text"
            ))
        })?;
        headers.append(header_name, header_value);
    }
    Ok(())
}

/// The metadata of a request's headers: `Grpc-Metadata-<key>` as `<key>`, `Authorization`,
/// and the headers `--forward-header` names. Checked as `-H` is: a key that starts with
/// `grpc-`, a value that is not printable ASCII or a `-bin` value that is not base64 is a 400.
fn metadata_of(headers: &HeaderMap, forward: &[String]) -> Result<Vec<Header>, String> {
    let mut metadata = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        let key = if let Some(key) = name.strip_prefix("grpc-metadata-") {
            key
        } else if name == "authorization" || forward.iter().any(|f| f == name) {
            name
        } else {
            continue;
        };
        let value = value
            .to_str()
            .map_err(|_| format!("header `{name}` is not printable ASCII text"))?;
        let header: Header = format!("{key}: {value}")
            .parse()
            .map_err(|reason: String| format!("header `{name}`: {reason}"))?;
        metadata.push(header);
    }
    Ok(metadata)
}

/// The call's deadline: `Grpc-Timeout` (gRPC's form, e.g. `500m`), capped by `--max-time`.
fn timeout_of(headers: &HeaderMap, max_time: Option<Duration>) -> Result<Option<Duration>, String> {
    let Some(value) = headers.get("grpc-timeout") else {
        return Ok(max_time);
    };
    let text = value.to_str().unwrap_or_default();
    let asked = parse_grpc_timeout(text).ok_or_else(|| {
        format!("Grpc-Timeout `{text}` is not a gRPC timeout; write up to 8 digits and a unit of H, M, S, m, u or n, e.g. 500m")
    })?;
    Ok(Some(max_time.map_or(asked, |max| max.min(asked))))
}

/// `1S`, `500m`, `2H`: at most 8 digits and a unit, as the gRPC spec writes deadlines.
fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at_checked(text.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value * 3600),
        "M" => Duration::from_secs(value * 60),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

/// The whole body, refused with 413 beyond `limit`.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        let mut response = status_response(
            Code::ResourceExhausted,
            &format!(
                "the request body is larger than the gateway reads ({limit} bytes; --max-body raises it)"
            ),
            Vec::new(),
        );
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// What a unary call brings back.
struct Collected {
    json: Writer,
    response_body: Option<String>,
    headers: MetadataMap,
    trailers: MetadataMap,
    message: Option<Vec<u8>>,
    failure: Option<String>,
}

impl CallObserver for Collected {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.headers = headers.clone();
    }

    fn on_message(&mut self, message: invoke::Response<'_>) -> Result<(), Stop> {
        let mut out = Vec::with_capacity(message.bytes.len() * 2 + 16);
        match write_answer(&self.json, self.response_body.as_deref(), message, &mut out) {
            Ok(()) => {
                out.push(b'\n');
                self.message = Some(out);
                Ok(())
            }
            Err(error) => {
                self.failure = Some(error.to_string());
                Err(Stop)
            }
        }
    }

    fn on_idle(&mut self) -> Result<(), Stop> {
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.trailers = trailers.clone();
    }
}

/// Appends the JSON of a response message to `out`: the whole message, or only the field
/// `response_body` names.
fn write_answer(
    json: &Writer,
    response_body: Option<&str>,
    message: invoke::Response<'_>,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    match response_body {
        None => json.write(message, out),
        Some(key) => {
            let field = json
                .value(message)?
                .get(key)
                .cloned()
                .unwrap_or(Value::Null);
            serde_json::to_writer(out, &field).map_err(OutputError::Json)
        }
    }
}

/// The key of `route`'s `response_body` field in the response's JSON.
fn response_body_key(route: &Route, proto_names: bool) -> Option<String> {
    route.response_body.as_ref().map(|field| {
        if proto_names {
            field.name().to_string()
        } else {
            field.json_name().to_string()
        }
    })
}

async fn unary(
    gateway: &Gateway,
    route: &Route,
    codecs: &Arc<MethodCodecs>,
    requests: Requests,
    call: CallOptions<'_>,
    log: &mut LogLine,
) -> Result<Response, Response> {
    let options = &gateway.options;
    let mut collected = Collected {
        json: codecs.writer(),
        response_body: response_body_key(route, options.proto_names),
        headers: MetadataMap::new(),
        trailers: MetadataMap::new(),
        message: None,
        failure: None,
    };
    let outcome = invoke::invoke(
        gateway.channel.clone(),
        &route.method,
        requests,
        call,
        &mut collected,
    )
    .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            let (code, response) = invoke_error_response(&error);
            log.code = Some(code);
            return Err(response);
        }
    };
    match outcome {
        Outcome::Ok => {
            log.code = Some(Code::Ok);
            let body = collected.message.take().unwrap_or_default();
            let mut response = json_text_response(StatusCode::OK, Bytes::from(body));
            // The trailers of a unary call are known before its body is sent: headers too.
            add_metadata(response.headers_mut(), &collected.headers);
            add_metadata(response.headers_mut(), &collected.trailers);
            log.received(&collected.headers);
            log.received(&collected.trailers);
            Ok(response)
        }
        Outcome::Status(status) => {
            log.code = Some(status.code());
            let details = details::decode(&status, &gateway.table().pool);
            let mut response = status_response(status.code(), status.message(), details);
            add_metadata(response.headers_mut(), &collected.headers);
            add_metadata(response.headers_mut(), status.metadata());
            log.received(&collected.headers);
            log.received(status.metadata());
            Err(response)
        }
        Outcome::Stopped => {
            let reason = collected
                .failure
                .unwrap_or_else(|| "the call was stopped".to_string());
            log.code = Some(Code::Internal);
            Err(status_response(Code::Internal, &reason, Vec::new()))
        }
    }
}

/// Copies metadata into HTTP headers as `Grpc-Metadata-<key>`, binary values in base64.
fn add_metadata(headers: &mut HeaderMap, metadata: &MetadataMap) {
    for (key, value) in metadata_entries(metadata) {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(format!("grpc-metadata-{key}").as_bytes()),
            HeaderValue::from_bytes(&value),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
}

/// The entries of `metadata` an HTTP client is shown, binary values in base64: the
/// protocol's own keys (`grpc-status`, `content-type`, ...) stay out.
fn metadata_entries(metadata: &MetadataMap) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::new();
    for entry in metadata.iter() {
        let (name, value) = match entry {
            KeyAndValueRef::Ascii(key, value) => (key.as_str(), value.as_bytes().to_vec()),
            KeyAndValueRef::Binary(key, value) => (
                key.as_str(),
                value
                    .to_bytes()
                    .map(|bytes| encode_base64(&bytes).into_bytes())
                    .unwrap_or_default(),
            ),
        };
        if name.starts_with("grpc-")
            || matches!(name, "content-type" | "te" | "user-agent" | "date")
        {
            continue;
        }
        entries.push((name.to_string(), value));
    }
    entries
}

/// Metadata as a JSON object, one string per key (repeated values joined with `, `, binary
/// values in base64), the protocol's own keys left out.
pub(super) fn metadata_json(metadata: &MetadataMap) -> Value {
    let mut object = Map::new();
    for (key, value) in metadata_entries(metadata) {
        let value = String::from_utf8_lossy(&value).to_string();
        match object.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                object.insert(key, Value::String(value));
            }
        }
    }
    Value::Object(object)
}

/// How a server stream is written, from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamFormat {
    /// `application/x-ndjson` (the default): `{"result": …}` a line, then `{"status": …}`.
    Ndjson,
    /// `text/event-stream`: `event: message` per message, then `event: status`.
    Sse,
}

impl StreamFormat {
    fn of(headers: &HeaderMap) -> StreamFormat {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .unwrap_or_default();
        if accept.contains("text/event-stream") {
            StreamFormat::Sse
        } else {
            StreamFormat::Ndjson
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            StreamFormat::Ndjson => "application/x-ndjson",
            StreamFormat::Sse => "text/event-stream",
        }
    }

    /// Appends the stream's last record: its status and trailers. NDJSON:
    /// `{"status": {...}, "trailers": {...}}`; SSE: a `trailers` event when there are any,
    /// then the `status` event.
    fn end(self, status: &Value, trailers: &Value, out: &mut Vec<u8>) {
        match self {
            StreamFormat::Ndjson => {
                let record = json!({ "status": status, "trailers": trailers });
                out.extend_from_slice(record.to_string().as_bytes());
                out.push(b'\n');
            }
            StreamFormat::Sse => {
                if trailers
                    .as_object()
                    .is_some_and(|fields| !fields.is_empty())
                {
                    self.record("trailers", trailers.to_string().as_bytes(), out);
                }
                self.record("status", status.to_string().as_bytes(), out);
            }
        }
    }

    /// Appends one record: `kind` is `result` or `status`, `json` its value's text.
    fn record(self, kind: &str, json: &[u8], out: &mut Vec<u8>) {
        match self {
            StreamFormat::Ndjson => {
                out.extend_from_slice(b"{\"");
                out.extend_from_slice(kind.as_bytes());
                out.extend_from_slice(b"\":");
                out.extend_from_slice(json);
                out.extend_from_slice(b"}\n");
            }
            StreamFormat::Sse => {
                let event = if kind == "result" { "message" } else { kind };
                out.extend_from_slice(b"event: ");
                out.extend_from_slice(event.as_bytes());
                out.extend_from_slice(b"\ndata: ");
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n\n");
            }
        }
    }
}

/// Hands a server stream's messages to the HTTP body as they come: a chunk when no further
/// message is ready (or when much is waiting), the call slowed down while the client is slow.
struct StreamObserver {
    format: StreamFormat,
    json: Writer,
    response_body: Option<String>,
    buffer: Vec<u8>,
    scratch: Vec<u8>,
    /// Whether `flush` follows `on_idle` (send all) or `on_message` (send when large).
    idle: bool,
    sender: mpsc::Sender<Frame<Bytes>>,
    trailers: MetadataMap,
    /// The response headers, once, for the HTTP response's headers; or, when the call ends
    /// before any, the answer to send instead.
    started: Option<oneshot::Sender<Result<MetadataMap, (Code, Response)>>>,
    failure: Option<String>,
}

/// Chunks of a stream held before waiting for the client to take them.
const STREAM_CHUNK: usize = 32 * 1024;

impl CallObserver for StreamObserver {
    fn on_headers(&mut self, headers: &MetadataMap) {
        if let Some(started) = self.started.take() {
            let _ = started.send(Ok(headers.clone()));
        }
    }

    fn on_message(&mut self, message: invoke::Response<'_>) -> Result<(), Stop> {
        self.scratch.clear();
        let written = write_answer(
            &self.json,
            self.response_body.as_deref(),
            message,
            &mut self.scratch,
        );
        if let Err(error) = written {
            self.failure = Some(error.to_string());
            return Err(Stop);
        }
        self.format
            .record("result", &self.scratch, &mut self.buffer);
        self.idle = false;
        Ok(())
    }

    fn on_idle(&mut self) -> Result<(), Stop> {
        self.idle = true;
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.trailers = trailers.clone();
    }

    fn flush(&mut self) -> Option<Flush<'_>> {
        if self.buffer.is_empty() || (!self.idle && self.buffer.len() < STREAM_CHUNK) {
            return None;
        }
        let chunk = Frame::data(Bytes::from(std::mem::take(&mut self.buffer)));
        let sender = self.sender.clone();
        Some(Box::pin(async move {
            sender.send(chunk).await.map_err(|_| Stop)
        }))
    }
}

/// A call whose answers are streamed: its requests, metadata and deadline.
struct StreamCall<'a> {
    requests: Requests,
    headers: &'a [Header],
    timeout: Option<Duration>,
}

async fn server_stream(
    gateway: &Gateway,
    route: &Route,
    codecs: &Arc<MethodCodecs>,
    call: StreamCall<'_>,
    request_headers: &HeaderMap,
    log: &mut LogLine,
) -> Result<Response, Response> {
    let StreamCall {
        requests,
        headers,
        timeout,
    } = call;
    let options = &gateway.options;
    let format = StreamFormat::of(request_headers);
    let http_trailers = request_headers
        .get_all(header::TE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("trailers"));
    let (sender, receiver) = mpsc::channel::<Frame<Bytes>>(4);
    let (started_tx, started_rx) = oneshot::channel();
    let mut observer = StreamObserver {
        format,
        json: codecs.writer(),
        response_body: response_body_key(route, options.proto_names),
        buffer: Vec::new(),
        scratch: Vec::new(),
        idle: false,
        sender: sender.clone(),
        trailers: MetadataMap::new(),
        started: Some(started_tx),
        failure: None,
    };
    let channel = gateway.channel.clone();
    let method = route.method.clone();
    let headers = headers.to_vec();
    let max_message_size = options.max_message_size;
    let pool = gateway.table().pool.clone();
    let events = gateway.events.clone();
    // The handler hands over the access-log line once the answer has started; the line is
    // written when the stream ends, with how it ended.
    let (log_tx, log_rx) = oneshot::channel::<LogLine>();
    tokio::spawn(async move {
        let closed = sender.clone();
        let call = CallOptions {
            headers: &headers,
            timeout,
            max_message_size,
            compression: None,
        };
        // A client that goes away cancels the call at once, even while no message comes.
        let outcome = tokio::select! {
            outcome = invoke::invoke(channel, &method, requests, call, &mut observer) => outcome,
            () = closed.closed() => Ok(Outcome::Stopped),
        };
        if let Err(error) = &outcome
            && let Some(started) = observer.started.take()
        {
            let _ = started.send(Err(invoke_error_response(error)));
            return;
        }
        let ending = Ending::of(&outcome, observer.failure.as_deref(), &pool);
        if let Some(started) = observer.started.take() {
            // No headers came: answer with the status alone, as a unary call's error.
            let response = status_response(ending.code, &ending.message, ending.details);
            let _ = started.send(Err((ending.code, response)));
            return;
        }
        let trailers = metadata_json(&observer.trailers);
        let mut last = std::mem::take(&mut observer.buffer);
        format.end(&ending.status(), &trailers, &mut last);
        let delivered = sender.send(Frame::data(Bytes::from(last))).await.is_ok();
        if delivered && http_trailers {
            // grpc-status and grpc-message as gRPC writes them (the message percent-encoded).
            let mut fields = HeaderMap::new();
            let _ = tonic::Status::new(ending.code, ending.message).add_header(&mut fields);
            add_metadata(&mut fields, &observer.trailers);
            let _ = sender.send(Frame::trailers(fields)).await;
        }
        if let Ok(mut line) = log_rx.await {
            line.code = Some(ending.code);
            line.received(&observer.trailers);
            line.send(&events, 200, " (stream)");
        }
    });
    match started_rx.await {
        Ok(Ok(metadata)) => {
            log.code = Some(Code::Ok);
            let frames = tokio_stream::wrappers::ReceiverStream::new(receiver)
                .map(Ok::<Frame<Bytes>, std::convert::Infallible>);
            let mut response = Response::new(Body::new(StreamBody::new(frames)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            if http_trailers {
                // HTTP/1.1 sends only the trailers declared here; HTTP/2 sends them all.
                response.headers_mut().insert(
                    header::TRAILER,
                    HeaderValue::from_static("grpc-status, grpc-message"),
                );
            }
            add_metadata(response.headers_mut(), &metadata);
            log.received(&metadata);
            response.extensions_mut().insert(LoggedWhenDone);
            let _ = log_tx.send(log.clone());
            Ok(response)
        }
        Ok(Err((code, response))) => {
            log.code = Some(code);
            Err(response)
        }
        Err(_) => Err(status_response(
            Code::Internal,
            "the call ended without an answer",
            Vec::new(),
        )),
    }
}

/// The `Host` values a gateway on `addr` answers to.
pub fn loopback_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if port == 80 {
        hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(str::to_string));
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_as_the_spec_writes_them() {
        assert_eq!(parse_grpc_timeout("500m"), Some(Duration::from_millis(500)));
        assert_eq!(parse_grpc_timeout("1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123456789m", "1s", "1.5S", "-1S", "1 S", "é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
