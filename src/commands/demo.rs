//! `grpcx demo`: a guided tour on an embedded demo server.
//!
//! Each step is a real grpcx command line, parsed by the same clap definitions and run by the
//! same code as when a user types it, against a server started in this process on a free
//! loopback port. Before each step the tour prints the command line, so the user can run it
//! against `grpcx serve-demo`.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::sync::oneshot;

use super::gateway;
use crate::cli::{Cli, Command};
use crate::demo::DemoServer;
use crate::error::{self, Error};
use crate::http::server;
use crate::invoke::Outcome;
use crate::output::Printer;

/// The tour: a title and the arguments after `grpcx`.
const STEPS: &[(&str, &[&str])] = &[
    (
        "The services the server offers, read through server reflection",
        &["list"],
    ),
    (
        "The methods of one service (its short name is enough when it is unique)",
        &["list", "ItemService"],
    ),
    (
        "The service as proto source, with its comments",
        &["describe", "ItemService"],
    ),
    (
        "A message type: a nested message, an enum, a repeated field, a map, an int64, a Timestamp",
        &["describe", "Item"],
    ),
    (
        "Unary call: item 1",
        &["call", "ItemService/GetItem", r#"{"id": 1}"#],
    ),
    (
        "Unary call: item 2 (int64 values may be JSON strings or numbers)",
        &["call", "ItemService/GetItem", r#"{"id": "2"}"#],
    ),
    (
        "Unary call: item 99 does not exist, so the call ends with NOT_FOUND (exit code 64 + 5 = 69)",
        &["call", "ItemService/GetItem", r#"{"id": 99}"#],
    ),
    (
        "Server streaming: the tools, one response message per item",
        &[
            "call",
            "ItemService/ListItems",
            r#"{"category": "CATEGORY_TOOL"}"#,
        ],
    ),
    (
        "Client streaming: a stream of items in, one summary out",
        &[
            "call",
            "ItemService/CreateItems",
            r#"{"name": "Pencil", "tags": ["office"]} {"name": "Notebook", "price": {"currencyCode": "EUR", "units": "3"}}"#,
        ],
    ),
    (
        "Bidirectional streaming: each request answered as it arrives",
        &[
            "call",
            "ItemService/SyncItems",
            r#"{"getId": "1"} {"put": {"name": "Mug"}} {"deleteId": "3"} {"getId": "3"}"#,
        ],
    ),
    (
        "Load: 200 calls from 4 workers, with latency percentiles (`--rps` for an open loop)",
        &[
            "bench",
            "ItemService/GetItem",
            r#"{"id": 1}"#,
            "-c",
            "4",
            "-n",
            "200",
        ],
    ),
];

/// The gateway's steps: a title, the HTTP method, the path, the body, and whether the status
/// line is shown (`curl -i`).
const GATEWAY_STEPS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "A REST route the schema declares (google.api.http in item_service.proto)",
        "GET",
        "/v1/items/1",
        "",
        false,
    ),
    (
        "The generic route every method has: POST /<package.Service>/<Method>, JSON in and out",
        "POST",
        "/grpcx.demo.v1.ItemService/GetItem",
        r#"{"id": 2}"#,
        false,
    ),
    (
        "NOT_FOUND is HTTP 404, with the status as JSON and its details decoded",
        "GET",
        "/v1/items/99",
        "",
        true,
    ),
    (
        "A server stream as NDJSON: a message a line as it arrives, then how the stream ended",
        "GET",
        "/v1/items?category=CATEGORY_TOOL",
        "",
        false,
    ),
];

pub async fn run(printer: &mut Printer) -> Result<Outcome, Error> {
    let server = DemoServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = server.addr().to_string();
    printer.line(&format!(
        "grpcx tour: a demo ItemService runs inside this process on {addr}.\n\
         Run `grpcx serve-demo` in another terminal to try each command yourself."
    ))?;
    for (number, (title, args)) in STEPS.iter().enumerate() {
        printer.line("")?;
        printer.line(&format!("{}. {title}", number + 1))?;
        printer.line(&format!("$ grpcx {}", shell_words(args)))?;
        printer.flush()?;
        let cli = Cli::try_parse_from(
            ["grpcx", "--addr", addr.as_str()]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .map_err(|err| {
            Error::Internal(format!("tour step {} does not parse: {err}", number + 1))
        })?;
        let result = super::execute(&cli, printer).await;
        printer.flush()?;
        // A non-OK status is part of the tour; it is reported as a user would see it.
        let code = error::report(result, printer);
        if code != 0 {
            printer.line(&format!("(exit code {code})"))?;
        }
    }
    gateway_steps(&addr, STEPS.len() + 1, printer).await?;
    printer.line("")?;
    printer.line("That was the tour. `grpcx --help` lists every command and option.")?;
    printer.flush()?;
    server.stop().await?;
    Ok(Outcome::Ok)
}

/// The gateway in front of the tour's server, in this process, and `curl`'s view of it.
async fn gateway_steps(addr: &str, first: usize, printer: &mut Printer) -> Result<(), Error> {
    let args = ["--addr", addr, "gateway", "--listen", "127.0.0.1:0"];
    let cli = Cli::try_parse_from(["grpcx"].into_iter().chain(args))
        .map_err(|err| Error::Internal(format!("the gateway step does not parse: {err}")))?;
    let Command::Gateway(gateway_args) = &cli.command else {
        return Err(Error::Internal(
            "the gateway step is not `gateway`".to_string(),
        ));
    };
    let settings = super::settings(&cli.global)?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let started = gateway::start(&settings, gateway_args, listen, Vec::new(), printer).await?;
    let http_addr = started.addr;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(
        started.listener,
        started.gateway,
        async move {
            let _ = stopped.await;
        },
    ));
    printer.line("")?;
    printer.line(&format!(
        "{first}. The gateway: every method over HTTP and JSON, nothing generated"
    ))?;
    printer.line(&format!(
        "$ grpcx gateway --listen {http_addr}    # here inside this process"
    ))?;
    for (number, (title, method, path, body, show_status)) in GATEWAY_STEPS.iter().enumerate() {
        printer.line("")?;
        printer.line(&format!("{}. {title}", first + number + 1))?;
        let mut command = format!("$ curl -s{}", if *show_status { "i" } else { "" });
        if !body.is_empty() {
            command.push_str(&format!(" -d {}", shell_words(&[body])));
        }
        command.push_str(&format!(
            " {}",
            shell_words(&[&format!("http://{http_addr}{path}")])
        ));
        printer.line(&command)?;
        let (status, text) = fetch(http_addr, method, path, body)
            .await
            .map_err(|err| Error::Internal(format!("the tour's HTTP request failed: {err}")))?;
        if *show_status {
            printer.line(&status)?;
        }
        printer.line(text.trim_end())?;
        printer.flush()?;
    }
    let _ = stop.send(());
    let _ = serving.await;
    Ok(())
}

/// One HTTP/1.1 request to the tour's gateway: the status line and the body.
async fn fetch(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(String, String), Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt as _;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header(axum::http::header::HOST, addr.to_string())
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))?;
    let response = sender.send_request(request).await?;
    let status = format!("HTTP/1.1 {}", response.status());
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Quotes arguments for a POSIX shell, so that the printed line can be pasted.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            if arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-:@".contains(c))
            {
                arg.to_string()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tour_commands_are_quoted_for_the_shell() {
        assert_eq!(
            shell_words(&["call", "S/M", r#"{"id": 1}"#, "it's"]),
            r#"call S/M '{"id": 1}' 'it'\''s'"#
        );
    }

    #[test]
    fn every_tour_step_parses() {
        for (_, args) in STEPS {
            Cli::try_parse_from(["grpcx"].into_iter().chain(args.iter().copied())).unwrap();
        }
    }
}
