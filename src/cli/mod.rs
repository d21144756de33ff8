//! The command line: clap definitions only.
//!
//! Options that concern talking to a server are global (`global = true`), so they are accepted
//! before or after the subcommand: `grpcx -H 'k: v' call …` and `grpcx call … -H 'k: v'`.
//! Every value is typed here, so a malformed one is a usage error (exit 2) naming the flag.

pub mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::transport::{Header, Target};

const MAIN_EXAMPLES: &str = "\
Examples:
  grpcx serve-demo &                              # a demo server on 127.0.0.1:50051
  grpcx list                                      # its services
  grpcx describe ItemService                      # as proto source
  grpcx call ItemService/GetItem '{\"id\":1}'       # unary call, JSON in, JSON out
  grpcx call ItemService/ListItems | jq -r .name  # a server stream, one JSON value a line
  grpcx demo                                      # a guided tour on an embedded server

Exit codes: 0 ok, 1 failure outside the call, 2 usage, 64 + gRPC status code (NOT_FOUND = 69), 130 interrupted.";

/// Talk to any gRPC server from the shell: list, describe and call its methods with JSON,
/// using server reflection and no generated code.
#[derive(Debug, Parser)]
#[command(name = "grpcx", version, after_help = MAIN_EXAMPLES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command that talks to a server.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Server address: HOST:PORT (plaintext on loopback, TLS elsewhere), http://HOST:PORT or
    /// https://HOST:PORT. Example: --addr localhost:8080
    #[arg(
        long,
        global = true,
        env = "GRPCX_ADDR",
        default_value = "127.0.0.1:50051",
        value_name = "ADDRESS",
        value_parser = clap::value_parser!(Target),
        help_heading = "Connection"
    )]
    pub addr: Target,

    /// Request metadata, repeatable; keys ending in -bin take base64. Sent on reflection and
    /// on the call. Example: -H 'authorization: Bearer abc'
    #[arg(
        short = 'H',
        long = "header",
        global = true,
        value_name = "'NAME: VALUE'",
        value_parser = clap::value_parser!(Header),
        help_heading = "Connection"
    )]
    pub headers: Vec<Header>,

    /// Deadline for the whole operation (connect, reflection, call); when it passes the call
    /// ends with DEADLINE_EXCEEDED (exit 68). Example: --max-time 1.5s
    #[arg(long, global = true, value_name = "DURATION", value_parser = values::parse_duration, help_heading = "Connection")]
    pub max_time: Option<Duration>,

    /// How long to wait for the connection to open. Example: --connect-timeout 500ms
    #[arg(long, global = true, value_name = "DURATION", default_value = "10s", value_parser = values::parse_duration, help_heading = "Connection")]
    pub connect_timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the server's services, or the methods of one service.
    #[command(
        after_help = "Examples:\n  grpcx list\n  grpcx list ItemService\n  grpcx --addr localhost:9000 list grpc.health.v1.Health"
    )]
    List(ListArgs),
    /// Describe a service, method, message, enum or field as proto source.
    #[command(
        after_help = "Examples:\n  grpcx describe ItemService\n  grpcx describe ItemService/GetItem\n  grpcx describe grpcx.demo.v1.Item\n  grpcx describe Item.tags"
    )]
    Describe(DescribeArgs),
    /// Call a method of any kind: JSON in, JSON out.
    #[command(after_help = "\
Examples:
  grpcx call ItemService/GetItem '{\"id\":1}'
  grpcx call grpcx.demo.v1.ItemService.ListItems -d '{\"limit\":2}' | jq -r .name
  echo '{\"name\":\"pen\"} {\"name\":\"ink\"}' | grpcx call ItemService/CreateItems
  grpcx call ItemService/CreateItems @items.ndjson
  grpcx call ItemService/SyncItems            # type one JSON request a line, Ctrl-D ends

A request stream is zero or more JSON values separated by white space (NDJSON works).
Without DATA, unary and server-streaming calls send an empty request and client-streaming
and bidirectional calls read stdin.")]
    Call(CallArgs),
    /// Serve the demo ItemService, with server reflection and health checking.
    #[command(
        after_help = "Examples:\n  grpcx serve-demo\n  grpcx serve-demo --listen 127.0.0.1:6000"
    )]
    ServeDemo(ServeDemoArgs),
    /// A guided tour of grpcx on an embedded demo server; needs nothing else running.
    #[command(after_help = "Example:\n  grpcx demo")]
    Demo,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A service whose methods to list: full name or, when unique, the short name.
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// A fully-qualified or, when unique, short symbol: Service, Service/Method, Message,
    /// Message.field, Enum. Without it, every service is described.
    pub symbol: Option<String>,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method: pkg.Service/Method, pkg.Service.Method, or Service/Method when unique.
    pub method: String,

    /// The request: JSON text, @FILE, or @- / - for stdin.
    #[arg(value_name = "DATA", conflicts_with = "data")]
    pub data_arg: Option<String>,

    /// The request, as with grpcurl: JSON text, @FILE, or @- / - for stdin.
    /// Example: -d '{"id":1}'
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,

    /// Output: pretty JSON (default on a terminal) or one compact JSON value a line (default
    /// in a pipe). Example: --output ndjson
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

impl CallArgs {
    /// The DATA argument, wherever it was given.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref().or(self.data_arg.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Indented JSON, one value after another.
    Json,
    /// One compact JSON value a line.
    Ndjson,
}

#[derive(Debug, Args)]
pub struct ServeDemoArgs {
    /// Address to listen on. Example: --listen 127.0.0.1:6000 (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "ADDRESS")]
    pub listen: SocketAddr,
}

/// Where request data comes from, once `DATA` is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    Text(String),
    File(PathBuf),
    Stdin,
}

impl DataSource {
    pub fn from_arg(arg: &str) -> DataSource {
        match arg {
            "-" | "@-" => DataSource::Stdin,
            _ => match arg.strip_prefix('@') {
                Some(path) => DataSource::File(PathBuf::from(path)),
                None => DataSource::Text(arg.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["grpcx", "-H", "k: v", "call", "S/M"]).unwrap();
        let after = Cli::try_parse_from(["grpcx", "call", "S/M", "-H", "k: v"]).unwrap();
        assert_eq!(before.global.headers, after.global.headers);
        assert_eq!(before.global.headers.len(), 1);
    }

    #[test]
    fn data_sources() {
        assert_eq!(DataSource::from_arg("-"), DataSource::Stdin);
        assert_eq!(DataSource::from_arg("@-"), DataSource::Stdin);
        assert_eq!(
            DataSource::from_arg("@a.json"),
            DataSource::File("a.json".into())
        );
        assert_eq!(DataSource::from_arg("{}"), DataSource::Text("{}".into()));
    }
}
