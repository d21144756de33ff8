//! `grpcx demo`: a guided tour on an embedded demo server.
//!
//! Each step is a real grpcx command line, parsed by the same clap definitions and run by the
//! same code as when a user types it, against a server started in this process on a free
//! loopback port. Before each step the tour prints the command line, so the user can run it
//! against `grpcx serve-demo`.

use std::net::{Ipv4Addr, SocketAddr};

use crate::cli::Cli;
use crate::demo::DemoServer;
use crate::error::{self, Error};
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
    printer.line("")?;
    printer.line("That was the tour. `grpcx --help` lists every command and option.")?;
    printer.flush()?;
    server.stop().await?;
    Ok(Outcome::Ok)
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
