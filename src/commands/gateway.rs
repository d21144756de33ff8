//! `grpcx gateway`: the server's methods over HTTP and JSON, until Ctrl-C or SIGTERM.
//!
//! The command reads the schema and the HTTP rules, builds the route table (telling what
//! conflicts), and serves; the `http` module does the rest and reports each request here,
//! where the access log is printed.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::MethodDescriptor;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::serve_demo::Signals;
use super::session::{self, Needs};

use crate::cli::{Cli, Command, GatewayArgs, GlobalArgs, UiArgs};
use crate::error::Error;
use crate::http::GatewayError;
use crate::http::explorer::Upstream;
use crate::http::request::RequestOptions;
use crate::http::routes::{RouteProblem, Routes};
use crate::http::rules::{self, HttpRule};
use crate::http::server::{self, Gateway, GatewayOptions, RouteTable};
use crate::invoke::Outcome;
use crate::invoke::input::JsonInput;
use crate::output::Printer;
use crate::schema::Schema;
use crate::settings::Settings;
use crate::transport::Connection;
use crate::transport::ListenAddr;

/// The most access-log lines written at once.
const NOTES_PER_WRITE: usize = 256;

/// How often the access log is written.
const LOG_EVERY: Duration = Duration::from_millis(50);

/// Services every reflecting server has, which are not the server's own API.
const INFRASTRUCTURE: &[&str] = &[
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// What `grpcx ui` adds to a gateway: the page's URL on stdout, and the browser opened on it.
pub struct Explorer {
    pub open: bool,
}

/// `grpcx ui`: a gateway with its defaults but for the address (a free loopback port), and
/// the explorer's URL.
pub async fn run_ui(
    global: &GlobalArgs,
    args: &UiArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let listen = args
        .listen
        .as_ref()
        .map_or_else(|| "127.0.0.1:0".to_string(), ToString::to_string);
    let mut words = vec![
        "grpcx".to_string(),
        "gateway".to_string(),
        "--listen".to_string(),
        listen,
    ];
    if let Some(rules) = &args.http_rules {
        words.push("--http-rules".to_string());
        words.push(rules.display().to_string());
    }
    let cli = Cli::try_parse_from(words)
        .map_err(|err| Error::Internal(format!("the ui's gateway does not parse: {err}")))?;
    let Command::Gateway(gateway_args) = &cli.command else {
        return Err(Error::Internal(
            "the ui's gateway is not `gateway`".to_string(),
        ));
    };
    let explorer = Explorer { open: args.open };
    run(global, gateway_args, Some(explorer), printer).await
}

pub async fn run(
    global: &GlobalArgs,
    args: &GatewayArgs,
    explorer: Option<Explorer>,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let settings = super::settings(global)?;
    printer.configure(settings.inspect_print_options());
    let file_rules = read_rules(args.http_rules.as_deref())?;
    let listen = match args.listen.clone() {
        None => SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
        Some(ListenAddr::Tcp(addr)) => addr,
        Some(ListenAddr::Unix(path)) => {
            return Err(GatewayError::UnixListen(format!("unix:{}", path.display())).into());
        }
    };
    if args.routes {
        let methods = inspected_methods(&settings, &[], printer).await?;
        let (routes, problems) = Routes::build(&methods, &file_rules);
        warn_left_out(&problems, printer);
        print_table(&routes, printer)?;
        return Ok(Outcome::Ok);
    }
    let started = start(&settings, args, listen, file_rules, printer).await?;
    // The handlers are in place before the address is announced, as serve-demo's are (and
    // not before: Ctrl-C while the upstream is slow to answer stops grpcx at once).
    let mut signals = Signals::install();
    let hangups = signal(SignalKind::hangup()).ok();
    let Started {
        listener,
        addr,
        gateway,
        connection,
        mut notes,
    } = started;
    let events = gateway.events.clone();
    printer.note(&format!(
        "grpcx gateway listening on http://{addr} (upstream {}; {} routes); Ctrl-C stops it",
        settings.connect.target,
        gateway.table().routes.len(),
    ));
    if let Some(explorer) = explorer {
        let url = format!("http://{addr}{}", crate::http::explorer::EXPLORER_PATH);
        printer.line(&url)?;
        printer.flush()?;
        if explorer.open {
            open_in_browser(&url, printer);
        }
    }
    // Not a task of its own: reflection's futures are not `Send`. It runs beside the server in
    // the loop below, and never ends.
    let reloading = reload_when_asked(
        Reload {
            settings: settings.clone(),
            connection,
            rules: args.http_rules.clone(),
            gateway: gateway.clone(),
        },
        hangups,
        args.reload_interval,
    );

    // On the first signal the listener closes and the requests in flight get
    // `--shutdown-grace` to finish (a stream may never end by itself); then, or on a
    // second signal, the gateway returns and what is still open is cut.
    let (stopping, stop_requested) = oneshot::channel::<Signals>();
    let grace = args.shutdown_grace;
    let serving = server::serve(listener, gateway, async move {
        signals.next().await;
        let _ = events.send(format!(
            "grpcx gateway stopping: no new requests; those in flight have {grace:?} to finish (Ctrl-C again stops at once)"
        ));
        let _ = stopping.send(signals);
    });
    let cut_short = async move {
        let Ok(mut signals) = stop_requested.await else {
            return std::future::pending().await;
        };
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            () = signals.next() => {}
        }
    };
    tokio::pin!(serving, cut_short, reloading);
    // The log is written every LOG_EVERY, a batch at a time, not as each line comes: under
    // load that saves a write and a thread's wake-up per request.
    let mut log_ticks = tokio::time::interval(LOG_EVERY);
    log_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ended = loop {
        tokio::select! {
            biased;
            _ = log_ticks.tick() => write_notes(&mut notes, printer),
            () = &mut reloading => {}
            served = &mut serving => {
                break served.map(|()| "grpcx gateway stopped").map_err(GatewayError::Serve);
            }
            () = &mut cut_short => {
                break Ok("grpcx gateway stopped; requests still in flight were cut");
            }
        }
    };
    write_notes(&mut notes, printer);
    printer.note(ended?);
    Ok(Outcome::Ok)
}

/// Opens `url` in the desktop's browser, saying so when none can be started (the URL is
/// printed already).
fn open_in_browser(url: &str, printer: &mut Printer) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|browser| !browser.trim().is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".to_string()
            } else {
                "xdg-open".to_string()
            }
        });
    let started = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        // The browser lives on its own; its exit status is not ours to wait for.
        Ok(child) => drop(child),
        Err(error) => printer.warning(&format!(
            "cannot open a browser ({opener}: {error}); open {url} yourself, or set $BROWSER"
        )),
    }
}

/// Writes the notes waiting in `notes`, in writes of at most NOTES_PER_WRITE lines.
fn write_notes(notes: &mut mpsc::UnboundedReceiver<String>, printer: &mut Printer) {
    let mut batch = Vec::new();
    while let Ok(note) = notes.try_recv() {
        batch.push(note);
        if batch.len() == NOTES_PER_WRITE {
            printer.notes(&batch);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        printer.notes(&batch);
    }
}

/// A gateway ready to serve: listening, its routes built, not yet accepting.
pub(super) struct Started {
    pub listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub connection: Connection,
    /// The access log and what else the gateway has to say, a line each.
    pub notes: mpsc::UnboundedReceiver<String>,
}

/// Connects to the upstream, reads its schema, builds the routes and binds `listen`.
pub(super) async fn start(
    settings: &Settings,
    args: &GatewayArgs,
    listen: SocketAddr,
    file_rules: Vec<HttpRule>,
    printer: &mut Printer,
) -> Result<Started, Error> {
    let mut session = session::open_for_gateway(settings, printer).await?;
    let methods = match methods(&mut session.schema).await {
        Ok(methods) => methods,
        Err(error) => return Err(session::explain(&session.connection, error).await),
    };
    let (routes, problems) = Routes::build(&methods, &file_rules);
    warn_left_out(&problems, printer);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| GatewayError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| GatewayError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let (events, notes) = mpsc::unbounded_channel::<String>();
    let table = RouteTable::new(routes, session.schema.pool().clone());
    let options = GatewayOptions {
        request: RequestOptions {
            json: JsonInput {
                allow_unknown_fields: args.allow_unknown_fields,
            },
            allow_unknown_query: args.allow_unknown_query,
        },
        emit_defaults: args.emit_defaults,
        proto_names: args.proto_names,
        max_body: args.max_body,
        max_time: settings.max_time,
        max_message_size: settings.max_message_size,
        headers: settings.rpc_headers.clone(),
        forward_headers: args
            .forward_header
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect(),
        allowed_hosts: addr
            .ip()
            .is_loopback()
            .then(|| server::loopback_hosts(addr)),
        cors_origins: args.cors_origin.clone(),
        verbosity: (settings.verbosity.level > 0).then(|| settings.verbosity.clone()),
        token: new_token()?,
        upstream: Upstream {
            address: settings.connect.target.to_string(),
            tls: settings.connect.tls.is_some(),
        },
    };
    let gateway = Arc::new(Gateway::new(
        table,
        session.connection.channel.clone(),
        options,
        events,
    ));
    Ok(Started {
        listener,
        addr,
        gateway,
        connection: session.connection,
        notes,
    })
}

/// A new random token for the gateway's pages (128 bits, as hex).
fn new_token() -> Result<String, GatewayError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| GatewayError::Random(error.to_string()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

pub(super) fn warn_left_out(problems: &[RouteProblem], printer: &mut Printer) {
    for problem in problems {
        printer.warning(&format!("route left out: {problem}"));
    }
}

/// What reading the schema again needs.
struct Reload {
    settings: Settings,
    connection: Connection,
    rules: Option<PathBuf>,
    gateway: Arc<Gateway>,
}

/// Reads the schema and the rules file again on SIGHUP and every `interval`, and puts the new
/// routes in place; a reload that fails keeps the routes there are and says why. Said on the
/// access log: every SIGHUP, and an interval's reload when the routes changed.
async fn reload_when_asked(
    reload: Reload,
    mut hangups: Option<Signal>,
    interval: Option<Duration>,
) {
    let mut ticks = interval.map(|every| tokio::time::interval_at(Instant::now() + every, every));
    let events = reload.gateway.events.clone();
    loop {
        let asked = tokio::select! {
            Some(()) = async {
                match hangups.as_mut() {
                    Some(hangups) => hangups.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
            _ = async {
                match ticks.as_mut() {
                    Some(ticks) => ticks.tick().await,
                    None => std::future::pending().await,
                }
            } => false,
        };
        let before = reload.gateway.table().routes.table();
        match read_again(&reload).await {
            Ok((table, problems)) => {
                let after = table.routes.table();
                let changed = after != before;
                reload.gateway.replace_table(table);
                if asked || changed {
                    for problem in problems {
                        let _ = events.send(format!("warning: route left out: {problem}"));
                    }
                    let _ = events.send(format!(
                        "grpcx gateway read the schema again: {} routes{}",
                        after.len(),
                        if changed { ", changed" } else { ", unchanged" }
                    ));
                }
            }
            Err(error) => {
                let _ = events.send(format!(
                    "grpcx gateway keeps its routes: reading the schema again failed: {error}"
                ));
            }
        }
    }
}

/// The route table as the schema and the rules file are now.
async fn read_again(reload: &Reload) -> Result<(RouteTable, Vec<RouteProblem>), Error> {
    let file_rules = read_rules(reload.rules.as_deref())?;
    let mut schema = session::fresh_schema(&reload.settings, &reload.connection)?;
    let methods = match methods(&mut schema).await {
        Ok(methods) => methods,
        Err(error) => return Err(session::explain(&reload.connection, error).await),
    };
    let (routes, problems) = Routes::build(&methods, &file_rules);
    Ok((RouteTable::new(routes, schema.pool().clone()), problems))
}

/// The methods of the schema the settings name, for `--routes` and `grpcx openapi`: from
/// files alone no server is contacted. With `services` (full or short names), theirs only.
pub(super) async fn inspected_methods(
    settings: &Settings,
    services: &[String],
    printer: &mut Printer,
) -> Result<Vec<MethodDescriptor>, Error> {
    let mut session = session::open(settings, Needs::Inspect, printer).await?;
    let mut chosen = Vec::new();
    for name in services {
        match session.schema.resolve_service(name).await {
            Ok(service) => chosen.push(service.full_name().to_string()),
            Err(error) => return Err(session.explain(error.into()).await),
        }
    }
    let all = match methods(&mut session.schema).await {
        Ok(methods) => methods,
        Err(error) => return Err(session.explain(error).await),
    };
    Ok(all
        .into_iter()
        .filter(|method| {
            chosen.is_empty()
                || chosen
                    .iter()
                    .any(|name| name == method.parent_service().full_name())
        })
        .collect())
}

/// The rules of `--http-rules`, none without it.
pub(super) fn read_rules(path: Option<&Path>) -> Result<Vec<HttpRule>, GatewayError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).map_err(|error| GatewayError::RulesFile {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    rules::from_yaml(&text).map_err(|reason| GatewayError::RulesFile {
        path: path.to_path_buf(),
        reason,
    })
}

/// Every method of every service in the schema, but reflection's own. When a request or
/// response can hold an `Any`, the pool is completed first as a call's is (every service, the
/// well-known types and google.rpc's details), so that what an `Any` names can be read.
async fn methods(schema: &mut Schema) -> Result<Vec<MethodDescriptor>, Error> {
    let mut methods = own_methods(schema).await?;
    let pool_before = schema.pool().clone();
    for method in &methods {
        schema.prepare_call(method).await?;
    }
    if *schema.pool() != pool_before {
        methods = own_methods(schema).await?;
    }
    Ok(methods)
}

async fn own_methods(schema: &mut Schema) -> Result<Vec<MethodDescriptor>, Error> {
    let mut methods = Vec::new();
    for name in schema.services().await? {
        if INFRASTRUCTURE.contains(&name.as_str()) {
            continue;
        }
        methods.extend(schema.resolve_service(&name).await?.methods());
    }
    Ok(methods)
}

/// The route table in aligned columns: HTTP method, path, gRPC method, body, source.
fn print_table(routes: &Routes, printer: &mut Printer) -> Result<(), Error> {
    let rows = routes.table();
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for [method, path, grpc, body, source] in &rows {
        let [w0, w1, w2, w3, _] = widths;
        let line = format!("{method:w0$}  {path:w1$}  {grpc:w2$}  {body:w3$}  {source}");
        printer.line(line.trim_end())?;
    }
    Ok(())
}
