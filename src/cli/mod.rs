//! The command line: clap definitions only.
//!
//! Options that concern talking to a server are accepted before or after the subcommand:
//! `grpcx -H 'k: v' call …` and `grpcx call … -H 'k: v'` (see `GlobalArgs`).
//! Every value is typed here, so a malformed one is a usage error (exit 2) naming the flag.

pub mod grpcurl;
pub mod values;

use std::path::PathBuf;
use std::time::Duration;

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::demo::ReflectionVersions;
use crate::invoke::Compression;
use crate::output::{ColorChoice, OutputFormat};
use crate::transport::{ListenAddr, Target};

const MAIN_EXAMPLES: &str = "\
Examples:
  grpcx serve-demo &                              # a demo server on 127.0.0.1:50051
  grpcx list                                      # its services
  grpcx describe ItemService                      # as proto source
  grpcx call ItemService/GetItem '{\"id\":1}'       # unary call, JSON in, JSON out
  grpcx call ItemService/ListItems | jq -r .name  # a server stream, one JSON value a line
  grpcx health                                    # a health probe: exit 0 when SERVING
  grpcx demo                                      # a guided tour on an embedded server

Exit codes: 0 ok, 1 failure outside the call, 2 usage, 3-5 health not SERVING, 64 + gRPC status code
(NOT_FOUND = 69), 130 interrupted.";

/// Talk to any gRPC server from the shell: list, describe and call its methods with JSON,
/// using server reflection and no generated code.
#[derive(Debug, Parser)]
#[command(name = "grpcx", version, after_help = MAIN_EXAMPLES, max_term_width = 100)]
struct Arguments {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// A parsed command line: the options that talk to a server in one place, whether they stood
/// before the subcommand or after it.
#[derive(Debug)]
pub struct Cli {
    pub global: GlobalArgs,
    pub command: Command,
}

impl Cli {
    /// A command line from `words`, the program's name first, in grpcx's form or in grpcurl's
    /// (see `grpcurl`). A grpcurl-style flag inside grpcx's form is pointed to its grpcx name.
    pub fn read(words: Vec<OsString>) -> Result<Cli, clap::Error> {
        if let Some(complete) = Cli::completion_request(&words) {
            return Ok(complete);
        }
        let words = match grpcurl::translate(&words) {
            Ok(Some(translated)) => translated,
            Ok(None) => words,
            Err(message) => {
                return Err(Cli::command().error(
                    ErrorKind::InvalidValue,
                    format!("{message}\n(read as a grpcurl command line)"),
                ));
            }
        };
        let mut cli = Cli::try_parse_from(&words).map_err(|err| explain(err, &words))?;
        cli.listen_where_addr_says(&words)?;
        Ok(cli)
    }

    /// `grpcx __complete KIND [--] WORDS…`, what the completion scripts ask.
    fn completion_request(words: &[OsString]) -> Option<Cli> {
        let mut rest = words
            .iter()
            .skip(1)
            .map(|word| word.to_string_lossy().into_owned());
        if rest.next()? != "__complete" {
            return None;
        }
        let kind = rest.next().unwrap_or_default();
        let words = rest.skip_while(|word| word == "--").collect();
        Some(Cli {
            global: GlobalArgs::default(),
            command: Command::Complete { kind, words },
        })
    }

    /// `serve-demo --addr X` (or `grpcx --addr X serve-demo`) listens on X, as a client's
    /// `--addr X` would find it, rather than on the default while the user thinks otherwise.
    /// Only an `--addr` on the command line counts: `GRPCX_ADDR` is where clients go.
    fn listen_where_addr_says(&mut self, words: &[OsString]) -> Result<(), clap::Error> {
        let Command::ServeDemo(args) = &mut self.command else {
            return Ok(());
        };
        let before = words.iter().skip(1).any(|word| {
            word.to_str()
                .is_some_and(|word| word == "--addr" || word.starts_with("--addr="))
        }) && args.addr.is_none();
        let from_before = match self.global.addr.as_ref().filter(|_| before) {
            None => None,
            Some(target) => Some(match &target.route {
                crate::transport::Route::Unix(path) => ListenAddr::Unix(path.clone()),
                crate::transport::Route::Tcp { .. } => {
                    target.authority().parse().map_err(|reason: String| {
                        Cli::command().error(ErrorKind::ValueValidation, reason)
                    })?
                }
            }),
        };
        let Some(addr) = args.addr.take().or(from_before) else {
            return Ok(());
        };
        if args.listen.is_some() {
            return Err(Cli::command().error(
                ErrorKind::ArgumentConflict,
                "serve-demo listens where --listen says: give --listen or --addr, not both",
            ));
        }
        args.listen = Some(addr);
        Ok(())
    }

    /// A command line from `words`, the program's name first.
    pub fn try_parse_from<I, T>(words: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let words: Vec<OsString> = words.into_iter().map(Into::into).collect();
        if let Some(narrow) = narrow_command(&words)
            && let Ok(matches) = narrow.try_get_matches_from(&words)
            && let Ok(arguments) = <Arguments as clap::FromArgMatches>::from_arg_matches(&matches)
        {
            return Cli::from_arguments(arguments);
        }
        Cli::from_arguments(Arguments::try_parse_from(words)?)
    }

    /// clap's description of the command line, for help, completions and the man page.
    pub fn command() -> clap::Command {
        <Arguments as clap::CommandFactory>::command()
    }

    fn from_arguments(arguments: Arguments) -> Result<Cli, clap::Error> {
        let Arguments {
            global,
            mut command,
        } = arguments;
        let mut global = match command.global_mut() {
            Some(after) => global.then(std::mem::take(after)),
            None => global,
        };
        global.fill_from_environment()?;
        global.check().map_err(|message| {
            Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message)
        })?;
        command.check_names()?;
        Ok(Cli { global, command })
    }
}

/// The command line's tree with only the subcommand the words name, for the subcommands that
/// talk to a server: clap builds every argument of every subcommand before it parses (five
/// copies of the server options), a third of a short call's work. Whatever this tree does not
/// parse (help, an error, a word that only looked like the subcommand) is parsed again by the
/// whole tree, so that what clap says is the same.
fn narrow_command(words: &[OsString]) -> Option<clap::Command> {
    let name = words.iter().skip(1).find_map(|word| match word.to_str()? {
        "call" => Some("call"),
        "list" => Some("list"),
        "describe" => Some("describe"),
        "health" => Some("health"),
        _ => None,
    })?;
    let subcommand = clap::Command::new(name);
    let subcommand = match name {
        "call" => CallArgs::augment_args(subcommand),
        "list" => ListArgs::augment_args(subcommand),
        "describe" => DescribeArgs::augment_args(subcommand),
        _ => HealthArgs::augment_args(subcommand),
    };
    let root = clap::Command::new("grpcx")
        .subcommand_required(true)
        .disable_help_subcommand(true);
    Some(GlobalArgs::augment_args(root).subcommand(subcommand))
}

/// clap's error for an unknown argument, unless it is one of grpcurl's habits in grpcx's form:
/// a long option written with one dash (`-plaintext`), or an address where a name goes.
fn explain(err: clap::Error, words: &[OsString]) -> clap::Error {
    let texts: Vec<&str> = words
        .iter()
        .skip(1)
        .filter_map(|word| word.to_str())
        .collect();
    // `-o text` (call's --output is json, ndjson or envelope): the text format is --format.
    let output_text = texts
        .windows(2)
        .any(|pair| matches!(pair, [flag, "text"] if *flag == "-o" || *flag == "--output"))
        || texts.contains(&"--output=text");
    if err.kind() == ErrorKind::InvalidValue && output_text && texts.contains(&"call") {
        return Cli::command().error(
            ErrorKind::InvalidValue,
            "`-o text`: the protobuf text format is `--format text`; -o chooses json, ndjson or envelope",
        );
    }
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let mut command = Cli::command();
    let long_options: Vec<String> = command
        .get_arguments()
        .chain(
            command
                .get_subcommands()
                .flat_map(|sub| sub.get_arguments()),
        )
        .filter_map(|arg| arg.get_long().map(str::to_string))
        .collect();
    let texts: Vec<&str> = words
        .iter()
        .skip(1)
        .filter_map(|word| word.to_str())
        .collect();
    let single_dash = texts.iter().find_map(|word| {
        let name = word
            .strip_prefix('-')
            .filter(|name| !name.starts_with('-'))?;
        let name = name.split('=').next().unwrap_or(name);
        (name.chars().count() > 1 && long_options.iter().any(|long| long == name))
            .then(|| (word.to_string(), name.to_string()))
    });
    if let Some((word, name)) = single_dash {
        return command.error(
            ErrorKind::UnknownArgument,
            format!("unexpected argument '{word}': grpcx's long options take two dashes; did you mean `--{name}`?"),
        );
    }
    // An address that is no option's value.
    let address = texts.iter().enumerate().find_map(|(index, word)| {
        let after_option = index
            .checked_sub(1)
            .and_then(|before| texts.get(before))
            .is_some_and(|before| before.starts_with('-') && !before.contains('='));
        (grpcurl::looks_like_address(word) && !after_option).then_some(*word)
    });
    match address {
        Some(address) => command.error(
            ErrorKind::UnknownArgument,
            address_in_place_of_a_name(address),
        ),
        None => err,
    }
}

/// The error for an address given where a method, service or symbol goes.
fn address_in_place_of_a_name(address: &str) -> String {
    format!(
        "`{address}` is a server address, not a name: the address goes in --addr (`grpcx --addr {address} …`)"
    )
}

/// Options for every command that talks to a server. They are accepted before the subcommand
/// and after it (`grpcx -H 'k: v' call …` and `grpcx call … -H 'k: v'`): clap reads them on
/// both levels and `Cli` puts them together. (clap's `global` would copy all thirty into every
/// subcommand on every run, work that a short call would pay for each time.)
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Server address: HOST:PORT, http://HOST:PORT, https://HOST:PORT or unix:PATH
    /// [default: 127.0.0.1:50051; env: GRPCX_ADDR]. A bare HOST:PORT is plaintext on loopback
    /// and TLS elsewhere. Example: --addr localhost:8080
    #[arg(
        long,
        value_name = "ADDRESS",
        value_parser = clap::value_parser!(Target),
        help_heading = "Connection"
    )]
    pub addr: Option<Target>,

    /// Use a named profile from the config file (`grpcx config path` shows where)
    /// [env: GRPCX_PROFILE]. Example: --profile staging
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub profile: Option<String>,

    /// Use TLS even where the address alone would mean plaintext. Example: --tls
    #[arg(long, conflicts_with = "plaintext", help_heading = "TLS")]
    pub tls: bool,

    /// Use plaintext HTTP/2 (h2c) even where the address alone would mean TLS.
    /// Example: --plaintext
    #[arg(long, help_heading = "TLS")]
    pub plaintext: bool,

    /// Trust the CA certificates in this PEM file, besides the system's.
    /// Example: --cacert ca.pem
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "plaintext",
        help_heading = "TLS"
    )]
    pub cacert: Option<PathBuf>,

    /// Client certificate chain (PEM) for mutual TLS; goes with --key. Example: --cert client.pem
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "plaintext",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// Client private key (PEM) for mutual TLS; goes with --cert. Example: --key client.key
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "plaintext",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// Do not verify the server's certificate (unsafe; grpcx says so on stderr). Example: --insecure
    #[arg(long, conflicts_with = "plaintext", help_heading = "TLS")]
    pub insecure: bool,

    /// The :authority of requests, and the name the server's certificate must carry.
    /// Example: --authority api.internal
    #[arg(long, value_name = "HOST[:PORT]", help_heading = "TLS")]
    pub authority: Option<String>,

    /// Read the schema from this .proto file (repeatable) instead of server reflection;
    /// compiled at run time, no protoc needed. Example: --proto api/items.proto
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    pub proto: Vec<PathBuf>,

    /// Where imports of --proto files are found (repeatable) [default: each file's directory].
    /// The well-known types need none. Example: --import-path api
    #[arg(long, value_name = "DIR", help_heading = "Schema")]
    pub import_path: Vec<PathBuf>,

    /// Read the schema from this FileDescriptorSet (repeatable) instead of server reflection.
    /// Example: --protoset items.protoset
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    pub protoset: Vec<PathBuf>,

    /// With --proto or --protoset, still ask the server's reflection first; the files fill in
    /// what it lacks. Example: --protoset extra.protoset --use-reflection
    #[arg(long, help_heading = "Schema")]
    pub use_reflection: bool,

    /// Do not read or write the descriptor cache: ask the server's reflection every time.
    /// Example: --no-cache
    #[arg(long, help_heading = "Schema")]
    pub no_cache: bool,

    /// How long a cached schema is used [default: 5m]. Example: --cache-ttl 1h
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration, help_heading = "Schema")]
    pub cache_ttl: Option<Duration>,

    /// Request metadata, repeatable, sent on reflection and on the call; @FILE reads one
    /// header a line. Keys ending in -bin take base64. Example: -H 'authorization: Bearer abc'
    #[arg(
        short = 'H',
        long = "header",
        value_name = "'NAME: VALUE'",
        help_heading = "Metadata"
    )]
    pub headers: Vec<String>,

    /// Metadata sent only on the call, not on reflection. Example: --rpc-header 'x-trace: 1'
    #[arg(
        long = "rpc-header",
        value_name = "'NAME: VALUE'",
        help_heading = "Metadata"
    )]
    pub rpc_headers: Vec<String>,

    /// Metadata sent only on reflection requests. Example: --reflect-header 'x-admin: yes'
    #[arg(
        long = "reflect-header",
        value_name = "'NAME: VALUE'",
        help_heading = "Metadata"
    )]
    pub reflect_headers: Vec<String>,

    /// Expand ${VAR} in header values from the environment, so that secrets stay off the
    /// command line. Example: --expand-headers -H 'authorization: Bearer ${TOKEN}'
    #[arg(long, help_heading = "Metadata")]
    pub expand_headers: bool,

    /// Deadline for the whole operation (connect, reflection, call); when it passes the call
    /// ends with DEADLINE_EXCEEDED (exit 68). Example: --max-time 1.5s
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration, help_heading = "Connection")]
    pub max_time: Option<Duration>,

    /// How long to wait for the connection and the server's first answer [default: 10s].
    /// Example: --connect-timeout 500ms
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration, help_heading = "Connection")]
    pub connect_timeout: Option<Duration>,

    /// Send HTTP/2 keepalive pings at this interval. Example: --keepalive-time 30s
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration, help_heading = "Connection")]
    pub keepalive_time: Option<Duration>,

    /// The largest response message accepted [default: 4MiB]. Example: --max-msg-sz 16MiB
    #[arg(long = "max-msg-sz", value_name = "BYTES", value_parser = values::parse_size, help_heading = "Connection")]
    pub max_msg_sz: Option<usize>,

    /// Text appended to grpcx's user agent. Example: --user-agent 'ci-job/42'
    #[arg(long, value_name = "TEXT", help_heading = "Connection")]
    pub user_agent: Option<String>,

    /// Compress request messages. Compressed responses are always accepted.
    /// Example: --compress gzip
    #[arg(
        long,
        value_enum,
        value_name = "ALGORITHM",
        help_heading = "Connection"
    )]
    pub compress: Option<Compression>,

    /// Color JSON output: auto (on a terminal, unless NO_COLOR is set), always or never.
    /// Example: --color never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,

    /// Show the exchange on stderr: method, metadata, headers, trailers, status, time; -vv adds
    /// per-phase timings. Example: -v
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// A metadata key whose value verbose output hides (authorization always is); repeatable.
    /// Example: --redact x-api-key
    #[arg(long, value_name = "KEY", help_heading = "Output")]
    pub redact: Vec<String>,

    /// Show hidden metadata values in verbose output. Example: -v --show-secrets
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,
}

impl GlobalArgs {
    /// `GRPCX_ADDR` and `GRPCX_PROFILE` for what the command line leaves unset. (Read here
    /// rather than by clap, which would read them on each side of the subcommand, so that the
    /// environment would win over an option given before it.)
    fn fill_from_environment(&mut self) -> Result<(), clap::Error> {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if self.addr.is_none()
            && let Some(text) = variable("GRPCX_ADDR")
        {
            let target = text.parse::<Target>().map_err(|reason| {
                Cli::command().error(
                    ErrorKind::ValueValidation,
                    format!("invalid value '{text}' in GRPCX_ADDR: {reason}"),
                )
            })?;
            self.addr = Some(target);
        }
        if self.profile.is_none() {
            self.profile = variable("GRPCX_PROFILE");
        }
        Ok(())
    }

    /// These options (given before the subcommand) with `later` ones (given after it): a
    /// later value wins, lists and counts add up.
    fn then(self, later: GlobalArgs) -> GlobalArgs {
        fn joined<T>(mut first: Vec<T>, later: Vec<T>) -> Vec<T> {
            first.extend(later);
            first
        }
        GlobalArgs {
            addr: later.addr.or(self.addr),
            profile: later.profile.or(self.profile),
            tls: self.tls || later.tls,
            plaintext: self.plaintext || later.plaintext,
            cacert: later.cacert.or(self.cacert),
            cert: later.cert.or(self.cert),
            key: later.key.or(self.key),
            insecure: self.insecure || later.insecure,
            authority: later.authority.or(self.authority),
            proto: joined(self.proto, later.proto),
            import_path: joined(self.import_path, later.import_path),
            protoset: joined(self.protoset, later.protoset),
            use_reflection: self.use_reflection || later.use_reflection,
            no_cache: self.no_cache || later.no_cache,
            cache_ttl: later.cache_ttl.or(self.cache_ttl),
            headers: joined(self.headers, later.headers),
            rpc_headers: joined(self.rpc_headers, later.rpc_headers),
            reflect_headers: joined(self.reflect_headers, later.reflect_headers),
            expand_headers: self.expand_headers || later.expand_headers,
            max_time: later.max_time.or(self.max_time),
            connect_timeout: later.connect_timeout.or(self.connect_timeout),
            keepalive_time: later.keepalive_time.or(self.keepalive_time),
            max_msg_sz: later.max_msg_sz.or(self.max_msg_sz),
            user_agent: later.user_agent.or(self.user_agent),
            compress: later.compress.or(self.compress),
            color: match later.color {
                ColorChoice::Auto => self.color,
                chosen => chosen,
            },
            verbose: self.verbose.saturating_add(later.verbose),
            redact: joined(self.redact, later.redact),
            show_secrets: self.show_secrets || later.show_secrets,
        }
    }

    /// The rules clap checks within one side of the subcommand, checked across both.
    fn check(&self) -> Result<(), String> {
        let tls_options = [
            ("--tls", self.tls),
            ("--cacert", self.cacert.is_some()),
            ("--cert", self.cert.is_some()),
            ("--key", self.key.is_some()),
            ("--insecure", self.insecure),
        ];
        if self.plaintext
            && let Some((flag, _)) = tls_options.iter().find(|(_, given)| *given)
        {
            return Err(format!(
                "the argument '--plaintext' cannot be used with '{flag}'"
            ));
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => Err("--cert needs --key, the certificate's private key".into()),
            (None, Some(_)) => Err("--key needs --cert, the certificate it belongs to".into()),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the server's services, or the methods of one service.
    #[command(
        after_help = "Examples:\n  grpcx list\n  grpcx list ItemService\n  grpcx list --long\n  grpcx --addr localhost:9000 list grpc.health.v1.Health"
    )]
    List(ListArgs),
    /// Describe a service, method, message, enum or field as proto source.
    #[command(
        after_help = "Examples:\n  grpcx describe ItemService\n  grpcx describe ItemService/GetItem\n  grpcx describe grpcx.demo.v1.Item\n  grpcx describe Item.tags\n  grpcx describe --template ItemService/CreateItems > item.json\n  grpcx describe ItemService --protoset-out items.protoset --proto-out-dir schema/"
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
Without DATA, every call reads its requests from stdin when stdin is not a terminal; at a
terminal, unary and server-streaming calls send the empty request and streams read what is
typed. -d @ (or @-, -) reads stdin explicitly.")]
    Call(CallArgs),
    /// Ask the server's health (grpc.health.v1), as a probe: exit 0 when SERVING.
    #[command(after_help = "\
Examples:
  grpcx health                                 # the server as a whole
  grpcx health grpcx.demo.v1.ItemService       # one service
  grpcx --addr app:443 --cacert ca.pem health  # as a Kubernetes exec probe
  grpcx health --watch                         # every change, until the server ends it

Exit codes: 0 SERVING, 3 NOT_SERVING, 4 UNKNOWN, 5 SERVICE_UNKNOWN (the server does not know
the service), 1 no answer (cannot connect), 64 + code when the check fails (76: the server
has no health service; 68: --max-time passed).")]
    Health(HealthArgs),
    /// Serve the demo ItemService, with server reflection and health checking.
    #[command(
        after_help = "Examples:\n  grpcx serve-demo\n  grpcx serve-demo --listen 127.0.0.1:6000 --log\n  grpcx serve-demo --listen unix:/tmp/demo.sock\n  grpcx serve-demo --no-reflection\n  grpcx serve-demo --tls-cert server.pem --tls-key server.key --client-ca ca.pem"
    )]
    ServeDemo(ServeDemoArgs),
    /// Serve the server's methods over plain HTTP and JSON: its google.api.http routes and
    /// POST /<package.Service>/<Method> for every method; nothing generated.
    #[command(after_help = "\
Examples:
  grpcx gateway                                   # 127.0.0.1:8080 in front of 127.0.0.1:50051
  grpcx gateway --routes                          # the route table, then exit
  grpcx --addr api:443 gateway --listen 127.0.0.1:9000 -H 'authorization: Bearer $T'
  grpcx gateway --http-rules rules.yaml           # REST routes for protos without annotations
  curl localhost:8080/v1/items/1
  curl -d '{\"id\":1}' localhost:8080/grpcx.demo.v1.ItemService/GetItem
  curl -H 'Accept: text/event-stream' localhost:8080/v1/items

Errors are a google.rpc.Status as JSON ({\"code\",\"message\",\"details\"}) with the HTTP status of
the gRPC code (NOT_FOUND 404, INVALID_ARGUMENT 400, DEADLINE_EXCEEDED 504, ...). A server
stream is NDJSON ({\"result\":...} a line) or SSE (event: message), and ends with a
{\"status\":...} record (event: status) that says whether it ended with OK. A client stream
is an NDJSON body, a request a line. Every method also answers a WebSocket at its generic
path: a text frame per request, an empty one half-closes. GET /healthz asks the upstream's
grpc.health.v1.")]
    Gateway(GatewayArgs),
    /// Print an OpenAPI 3.1 document of the gateway's routes for the schema (all services, or
    /// those named), generated from reflection, --proto or --protoset.
    #[command(after_help = "\
Examples:
  grpcx openapi > openapi.json                    # the server's services, by reflection
  grpcx openapi ItemService --yaml                # one service, as YAML
  grpcx --proto api/items.proto openapi -o openapi.json   # no server needed
  grpcx openapi --http-rules rules.yaml           # with the gateway's rules file

The document describes what `grpcx gateway` serves: every route (annotated and generic), its
path and query parameters, bodies and answers, and the messages in the protobuf JSON mapping.
The gateway serves the same document at GET /openapi.json.")]
    Openapi(OpenapiArgs),
    /// Explore the server in a browser: a gateway on a free loopback port serving /ui, a page
    /// to pick any method, fill its request in a form and call it (streams included).
    #[command(after_help = "\
Examples:
  grpcx ui                                        # prints the page's URL, e.g. http://127.0.0.1:40125/ui
  grpcx ui --open                                 # and opens it in the desktop's browser
  grpcx --addr api:443 ui --listen 127.0.0.1:9000 -H 'authorization: Bearer $T'

The page is served by the gateway (see `grpcx gateway --help`), which also serves /docs and
/openapi.json. It answers only to this machine's loopback names, and a call from a web page
needs the token the gateway's own pages carry, so that no other site can drive it.")]
    Ui(UiArgs),
    /// Load-test a method: many calls, closed or open loop, with latency percentiles from HDR
    /// histograms (corrected for coordinated omission), objectives, and reports to merge and compare.
    #[command(after_help = "\
Examples:
  grpcx bench ItemService/GetItem '{\"id\":1}' -c 50 -n 10000       # closed loop: 50 workers
  grpcx bench ItemService/GetItem '{\"id\":1}' --rps 2000 -z 30s     # open loop at 2000 calls/s
  grpcx bench ItemService/GetItem '{\"id\":{{randomInt 1 4}}}' -z 10s --warmup 2s
  grpcx bench ItemService/ListItems '{}' -c 8 -z 10s                 # server streams
  grpcx bench ItemService/GetItem '{\"id\":1}' --rps 500 -z 1m --slo 'p99<50ms' --slo 'error-rate<0.1%'
  grpcx bench ItemService/GetItem '{\"id\":1}' -n 100000 -o json > new.json
  grpcx bench compare old.json new.json --max-regression 10%
  grpcx bench merge shard-*.json --slo 'p99<50ms'
  grpcx bench k8s-job --shards 4 -- ItemService/GetItem '{\"id\":1}' --rps 8000 -z 5m

Templates in DATA and in -H values, as ghz writes them: {{.RequestNumber}}, {{.WorkerID}},
{{.Timestamp}}, {{.TimestampUnix}}, {{.TimestampUnixMilli}}, {{.TimestampUnixNano}},
{{.UUID}} (one per call), {{newUUID}}, {{randomInt MIN MAX}}, {{randomString N}},
{{.FullyQualifiedName}}, {{.MethodName}}, {{.ServiceName}}.

Exit codes: 0 the run ended (errors among its calls are in the report), 6 an --slo objective
was not met, 7 the generator could not hold the --rps asked for (said in the report), 8
`compare` found a regression beyond --max-regression, 1 the run could not start, 2 usage,
130 interrupted (after the report of what was done).")]
    Bench(Box<BenchCommand>),
    /// A guided tour of grpcx on an embedded demo server; needs nothing else running.
    #[command(after_help = "Example:\n  grpcx demo")]
    Demo,
    /// The descriptor cache that lets `call` skip reflection round trips.
    #[command(after_help = "Examples:\n  grpcx cache clear\n  grpcx cache path")]
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Print a shell completion script; method and service names are completed from the
    /// server (or the cache) in bash and fish.
    #[command(
        after_help = "Examples:\n  source <(grpcx completions bash)\n  grpcx completions fish > ~/.config/fish/completions/grpcx.fish\n  grpcx completions zsh > \"${fpath[1]}/_grpcx\""
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of grpcx or of one subcommand, or write them all into a
    /// folder; made from the same definitions as --help.
    #[command(
        after_help = "Examples:\n  grpcx man > grpcx.1 && man ./grpcx.1\n  grpcx man call | man -l -\n  grpcx man --dir /usr/local/share/man/man1"
    )]
    Man {
        /// The subcommand whose page to print. Example: grpcx man call
        subcommand: Option<String>,
        /// Write every page (grpcx.1, grpcx-call.1, …) into DIR instead.
        /// Example: --dir man1
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        dir: Option<PathBuf>,
    },
    /// Names for shell completion, asked by the completion scripts as `grpcx __complete KIND
    /// -- WORDS…` (read by `Cli::read`, not by clap, so that no listing shows it).
    #[command(skip)]
    Complete {
        /// What is being completed: call, describe, list or health.
        kind: String,
        /// The words of the command line before the one being completed.
        words: Vec<String>,
    },
    /// The config file of named profiles.
    #[command(after_help = "Example:\n  grpcx config path")]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

impl Command {
    /// Refuses an address where a method, service or symbol is expected, rather than dial
    /// the default address with it as a name.
    fn check_names(&self) -> Result<(), clap::Error> {
        if let Command::Man {
            subcommand: Some(name),
            ..
        } = self
            && Cli::command().find_subcommand(name).is_none()
        {
            return Err(Cli::command().error(
                ErrorKind::InvalidValue,
                format!("`{name}` is no subcommand of grpcx: `grpcx --help` lists them"),
            ));
        }
        if let Command::Bench(bench) = self
            && bench.action.is_none()
            && bench.run.method.is_none()
        {
            return Err(Cli::command().error(
                ErrorKind::MissingRequiredArgument,
                "`grpcx bench` needs the METHOD to call, e.g. `grpcx bench ItemService/GetItem '{\"id\":1}' -n 1000`",
            ));
        }
        let word = match self {
            Command::Call(args) => Some(&args.method),
            Command::Bench(bench) => bench.run.method.as_ref(),
            Command::List(args) => args.service.as_ref(),
            Command::Describe(args) => args.symbol.as_ref(),
            _ => None,
        };
        match word {
            Some(word) if grpcurl::looks_like_address(word) => {
                Err(Cli::command()
                    .error(ErrorKind::ValueValidation, address_in_place_of_a_name(word)))
            }
            _ => Ok(()),
        }
    }

    /// The server options given after the subcommand, for the subcommands that take them.
    fn global_mut(&mut self) -> Option<&mut GlobalArgs> {
        match self {
            Command::List(args) => Some(&mut args.global),
            Command::Describe(args) => Some(&mut args.global),
            Command::Call(args) => Some(&mut args.global),
            Command::Health(args) => Some(&mut args.global),
            Command::Gateway(args) => Some(&mut args.global),
            Command::Openapi(args) => Some(&mut args.global),
            Command::Ui(args) => Some(&mut args.global),
            Command::Bench(bench) => Some(&mut bench.run.global),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove every cached schema.
    Clear,
    /// Print the cache directory ($GRPCX_CACHE_DIR, else grpcx/ in the user's cache dir).
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print where the config file is read from ($GRPCX_CONFIG, else the user's config dir).
    #[command(after_help = "Example:\n  $EDITOR \"$(grpcx config path)\"")]
    Path,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A service whose methods to list: full name or, when unique, the short name.
    pub service: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// List methods (of every service, or of SERVICE) with their kind and their request and
    /// response types. Example: grpcx list --long
    #[arg(short = 'l', long)]
    pub long: bool,

    /// text (names, one a line) or json (one document: every service with its methods, their
    /// kinds, types and options). Example: grpcx list -o json | jq '.services[].methods[].name'
    #[arg(short = 'o', long, value_enum, default_value_t = Listing::Text, value_name = "FORMAT")]
    pub output: Listing,
}

/// How `list` and `describe` write what they find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Listing {
    /// For people: names, or proto source.
    Text,
    /// For scripts: JSON documents.
    Json,
}

/// Where to write the schema a command used.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Also write the symbols' files and all they import as a FileDescriptorSet, for
    /// --protoset later. Example: --protoset-out items.protoset
    #[arg(long, value_name = "FILE")]
    pub protoset_out: Option<PathBuf>,

    /// Also write the symbols' files and all they import as .proto sources under DIR, for
    /// --proto later. Example: --proto-out-dir schema/
    #[arg(long, value_name = "DIR")]
    pub proto_out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// A fully-qualified or, when unique, short symbol: Service, Service/Method, Message,
    /// Message.field, Enum. Without it, every service is described.
    pub symbol: Option<String>,

    /// Print a JSON template of the message (of a method: its request) with every field, a
    /// valid request for `call` as it is. Example: grpcx describe --template ItemService/GetItem
    #[arg(long, requires = "symbol")]
    pub template: bool,

    /// text (proto source) or json (each symbol as a JSON document: its kind, names, fields,
    /// methods, types and options). Example: grpcx describe Item -o json | jq '.fields[].name'
    #[arg(short = 'o', long, value_enum, default_value_t = Listing::Text, value_name = "FORMAT", conflicts_with = "template")]
    pub output: Listing,

    #[command(flatten)]
    pub export: ExportArgs,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The service whose health to ask [default: the server as a whole].
    pub service: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// Print each health the server reports, as it changes, until the server ends the stream
    /// (or --max-time, or Ctrl-C); the exit code is the last one's. Example: --watch
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method: pkg.Service/Method, pkg.Service.Method, or Service/Method when unique.
    pub method: String,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// The request: JSON text, @FILE, or @, @- or - for stdin [default: stdin when it is not a
    /// terminal].
    #[arg(value_name = "DATA", conflicts_with = "data")]
    pub data_arg: Option<String>,

    /// The request, as with grpcurl: JSON text, @FILE, or @, @- or - for stdin.
    /// Example: -d '{"id":1}'
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,

    /// Output: pretty JSON (default on a terminal), one compact JSON value a line (default in
    /// a pipe), or one envelope document for the whole call. Example: --output envelope
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// The format of requests and responses: the protobuf JSON mapping, or the protobuf text
    /// format (messages separated by blank lines or 0x1E on input, by 0x1E on output).
    /// Example: --format text
    #[arg(long, value_enum, default_value_t = Format::Json, value_name = "FORMAT")]
    pub format: Format,

    /// Ignore request fields the message does not have, instead of failing.
    /// Example: --allow-unknown-fields
    #[arg(long)]
    pub allow_unknown_fields: bool,

    /// Print every field of each response, zero values and empty lists included.
    /// Example: --emit-defaults
    #[arg(long)]
    pub emit_defaults: bool,

    /// Print field names as the .proto file writes them (created_at), not in lowerCamelCase.
    /// Example: --proto-names
    #[arg(long)]
    pub proto_names: bool,

    /// On a non-OK status, print it (code, codeName, message, details) as one JSON object on
    /// stdout instead of a line on stderr; the exit code is still 64 + code.
    /// Example: --format-error
    #[arg(long)]
    pub format_error: bool,

    #[command(flatten)]
    pub export: ExportArgs,
}

impl CallArgs {
    /// The DATA argument, wherever it was given.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref().or(self.data_arg.as_deref())
    }
}

/// How messages are written, in and out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The protobuf JSON mapping.
    Json,
    /// The protobuf text format.
    Text,
}

#[derive(Debug, Args)]
pub struct OpenapiArgs {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Only these services (full or short names); all of the server's without any.
    /// Example: ItemService
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Write the document to FILE instead of standard output. Example: -o openapi.json
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write YAML instead of JSON. Example: grpcx openapi --yaml > openapi.yaml
    #[arg(long)]
    pub yaml: bool,

    /// The gateway's rules file, whose routes the document then has too.
    /// Example: --http-rules rules.yaml
    #[arg(long, value_name = "FILE")]
    pub http_rules: Option<PathBuf>,

    /// The document's title [default: the services' names].
    /// Example: --title "Items API"
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The HTTP address to listen on, IP:PORT or localhost:PORT [default: 127.0.0.1:8080].
    /// Beyond loopback, any Host header is answered (put it behind your load balancer).
    /// Example: --listen 127.0.0.1:9000 (port 0 picks a free one)
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<ListenAddr>,

    /// Print the route table (HTTP method, path template, gRPC method, body, source) and exit.
    /// Example: grpcx gateway --routes
    #[arg(long)]
    pub routes: bool,

    /// Read HTTP rules from a service config YAML file (`http: rules: - selector: …`), for
    /// protos without google.api.http annotations; they replace a method's annotations.
    /// Example: --http-rules rules.yaml
    #[arg(long, value_name = "FILE")]
    pub http_rules: Option<PathBuf>,

    /// Ignore query parameters that name no field, instead of answering 400.
    /// Example: --allow-unknown-query
    #[arg(long)]
    pub allow_unknown_query: bool,

    /// Ignore request body fields the message does not have, instead of answering 400.
    /// Example: --allow-unknown-fields
    #[arg(long)]
    pub allow_unknown_fields: bool,

    /// Answer with every field of each response, zero values and empty lists included.
    /// Example: --emit-defaults
    #[arg(long)]
    pub emit_defaults: bool,

    /// Answer with field names as the .proto file writes them (created_at).
    /// Example: --proto-names
    #[arg(long)]
    pub proto_names: bool,

    /// The largest request body read; larger ones get 413. Example: --max-body 16MiB
    #[arg(long, default_value = "4MiB", value_name = "SIZE", value_parser = values::parse_size)]
    pub max_body: usize,

    /// Forward this request header to the server as metadata (repeatable; Authorization
    /// and Grpc-Metadata-* are always forwarded). Example: --forward-header x-request-id
    #[arg(long, value_name = "NAME")]
    pub forward_header: Vec<String>,

    /// Let pages of this origin call the gateway (CORS; repeatable). Without it, a request a
    /// page of another origin sends is refused. Example: --cors-origin http://localhost:3000
    #[arg(long, value_name = "ORIGIN", value_parser = values::parse_origin)]
    pub cors_origin: Vec<String>,

    /// On Ctrl-C or SIGTERM, how long requests in flight may take to finish before they are
    /// cut and the gateway exits; a second signal cuts them at once.
    /// Example: --shutdown-grace 30s
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = values::parse_duration)]
    pub shutdown_grace: Duration,

    /// Read the schema (and --http-rules) again this often, and serve the new routes; a
    /// failed reload keeps the old ones. SIGHUP reloads at any time. Example: --reload-interval 5m
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration)]
    pub reload_interval: Option<Duration>,

    /// Worker threads serving requests [default: one per core]. Example: --threads 4
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

/// `grpcx bench`: a run, or one of the commands on reports.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchCommand {
    #[command(subcommand)]
    pub action: Option<BenchAction>,
    #[command(flatten)]
    pub run: BenchArgs,
}

#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Print how a run differs from another: rate, each percentile, error rate.
    #[command(
        after_help = "Example:\n  grpcx bench compare old.json new.json --max-regression 10%"
    )]
    Compare {
        /// The earlier run's JSON report.
        old: PathBuf,
        /// The later run's JSON report.
        new: PathBuf,
        /// Exit 8 when the rate falls, or p50, p90, p99, p99.9, p99.99, max or the error rate
        /// rises, by more than this. Example: --max-regression 10%
        #[arg(long, value_name = "PERCENT", value_parser = values::parse_percent)]
        max_regression: Option<f64>,
    },
    /// Add up the JSON reports of a run's shards (histograms added exactly), and check
    /// objectives on the whole.
    #[command(
        after_help = "Example:\n  grpcx bench merge shard-0.json shard-1.json --slo 'p99<50ms' -o json"
    )]
    Merge {
        /// The shards' JSON reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        #[command(flatten)]
        report: BenchReportArgs,
    },
    /// Print a Kubernetes Indexed Job that runs a bench split over N pods, each its shard.
    #[command(after_help = "\
Example:
  grpcx --addr items.default.svc:50051 bench k8s-job --shards 4 --image registry.example/grpcx:1 \\
      -- ItemService/GetItem '{\"id\":1}' --rps 8000 -z 5m > job.yaml
  kubectl apply -f job.yaml && kubectl wait --for=condition=complete job/grpcx-bench
  for pod in $(kubectl get pods -l job-name=grpcx-bench -o name); do kubectl logs $pod > $(basename $pod).json; done
  grpcx bench merge grpcx-bench-*.json")]
    K8sJob(K8sJobArgs),
}

#[derive(Debug, Args)]
pub struct K8sJobArgs {
    /// How many pods (shards) share the load. Example: --shards 4
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub shards: u64,
    /// The container image with the grpcx binary. Example: --image registry.example/grpcx:1
    #[arg(long, default_value = "grpcx:latest", value_name = "IMAGE")]
    pub image: String,
    /// The Job's name. Example: --name items-load
    #[arg(long, default_value = "grpcx-bench", value_name = "NAME")]
    pub name: String,
    /// How long after the Job is printed its shards start, all at once (their --start-at).
    /// Example: --start-in 2m
    #[arg(long, default_value = "1m", value_name = "DURATION", value_parser = values::parse_duration)]
    pub start_in: Duration,
    /// The bench's own arguments: METHOD, DATA and its options (each pod adds --shard and -o json).
    #[arg(last = true, required = true, value_name = "BENCH ARGS")]
    pub bench: Vec<String>,
}

/// How a run's (or a merge's) report is given, and the objectives checked on it.
#[derive(Debug, Clone, Args)]
pub struct BenchReportArgs {
    /// The report's form: the summary (default), json (versioned, with the histograms, to
    /// merge and compare), csv (one line a second) or html (one self-contained page).
    /// Example: -o json
    #[arg(short = 'o', long, value_enum, default_value_t = BenchOutput::Summary, value_name = "FORMAT")]
    pub output: BenchOutput,

    /// An objective checked at the end (repeatable); one not met exits 6.
    /// Example: --slo 'p99<250ms' --slo 'error-rate<0.1%' --slo 'rps>=950'
    #[arg(long, value_name = "OBJECTIVE", value_parser = values::parse_objective)]
    pub slo: Vec<crate::bench::slo::Objective>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOutput {
    Summary,
    Json,
    Csv,
    Html,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The method, as `call` takes it. Example: ItemService/GetItem
    #[arg(value_name = "METHOD")]
    pub method: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// The request as JSON (several values for a request stream), @FILE, or - for stdin; may
    /// hold templates. Example: '{"id": {{randomInt 1 100}}}'
    #[arg(value_name = "DATA", conflicts_with = "data")]
    pub data_arg: Option<String>,

    /// The request, as DATA. Example: -d @request.json
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,

    /// Requests to cycle through, one call's data a line (NDJSON), sent as they are
    /// (templates go in DATA). Example: --data-file requests.ndjson
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "data_arg"])]
    pub data_file: Option<PathBuf>,

    /// Closed loop: this many workers, each starting a call when its last one ends.
    /// Example: -c 64
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub concurrency: u64,

    /// Open loop: start this many calls a second, whatever their latency. Example: --rps 2000
    #[arg(short = 'r', long, value_name = "RATE", value_parser = values::parse_rate)]
    pub rps: Option<f64>,

    /// The open loop's schedule: const (--rps), step or line (ghz's).
    /// Example: --load-schedule step --load-start 100 --load-step 100 --load-step-duration 10s --load-end 1000
    #[arg(long, value_enum, default_value_t = LoadSchedule::Const, value_name = "SCHEDULE")]
    pub load_schedule: LoadSchedule,

    /// The step and line schedules' first rate [default: --rps]. Example: --load-start 100
    #[arg(long, value_name = "RATE", value_parser = values::parse_rate)]
    pub load_start: Option<f64>,

    /// The step and line schedules' last rate (they hold it). Example: --load-end 1000
    #[arg(long, value_name = "RATE", value_parser = values::parse_rate)]
    pub load_end: Option<f64>,

    /// How much the rate changes each step (step) or each second (line); negative goes down.
    /// Example: --load-step 50
    #[arg(long, value_name = "RATE", allow_hyphen_values = true)]
    pub load_step: Option<f64>,

    /// How long each step of the step schedule lasts. Example: --load-step-duration 10s
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = values::parse_duration)]
    pub load_step_duration: Duration,

    /// Open loop: the most calls in flight at once; a call that finds none free waits, and is
    /// late. Example: --max-inflight 5000
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_inflight: u64,

    /// Stop after this many calls (warm-up not counted) [default: 200 without -z].
    /// Example: -n 100000
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub total: Option<u64>,

    /// Stop after this long (warm-up not counted). Example: -z 30s
    #[arg(short = 'z', long, value_name = "DURATION", value_parser = values::parse_duration)]
    pub duration: Option<Duration>,

    /// Calls for this long first, left out of the results. Example: --warmup 5s
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = values::parse_duration)]
    pub warmup: Duration,

    /// HTTP/2 connections the calls are spread over. Example: --connections 4
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub connections: u64,

    /// Each call's deadline (--max-time, when given, caps it). Example: -t 5s
    #[arg(short = 't', long, default_value = "20s", value_name = "DURATION", value_parser = values::parse_duration)]
    pub timeout: Duration,

    /// Client and bidi streams: messages each stream sends, cycling through DATA's.
    /// Example: --stream-count 100
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_count: Option<u64>,

    /// Client and bidi streams: the pause between a stream's messages. Example: --stream-interval 10ms
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration)]
    pub stream_interval: Option<Duration>,

    /// Run shard I of N: this process sends its share of the rate, of -n and of the request
    /// numbers (merge the shards' JSON with `grpcx bench merge`). Example: --shard 0/4
    #[arg(long, value_name = "I/N", value_parser = values::parse_shard)]
    pub shard: Option<(u64, u64)>,

    /// Start at this time (RFC 3339, or Unix seconds), to line shards up.
    /// Example: --start-at 2026-12-02T16:00:00Z
    #[arg(long, value_name = "TIME", value_parser = values::parse_time)]
    pub start_at: Option<std::time::SystemTime>,

    /// Ignore request fields the message does not have, instead of failing.
    /// Example: --allow-unknown-fields
    #[arg(long)]
    pub allow_unknown_fields: bool,

    #[command(flatten)]
    pub report: BenchReportArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadSchedule {
    Const,
    Step,
    Line,
}

impl BenchArgs {
    pub fn data(&self) -> Option<&str> {
        self.data_arg.as_deref().or(self.data.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct UiArgs {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The HTTP address to listen on, IP:PORT or localhost:PORT [default: 127.0.0.1:0, a free
    /// port]. Example: --listen 127.0.0.1:9000
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<ListenAddr>,

    /// Read HTTP rules from a service config YAML file, as `grpcx gateway --http-rules` does:
    /// the page shows their routes and copies curl commands for them. Example: --http-rules rules.yaml
    #[arg(long, value_name = "FILE")]
    pub http_rules: Option<PathBuf>,

    /// Open the page in the desktop's browser ($BROWSER, else xdg-open, or open on macOS).
    /// Example: --open
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct ServeDemoArgs {
    /// Address to listen on: IP:PORT, localhost:PORT or unix:PATH (--addr works too)
    /// [default: 127.0.0.1:50051]. Example: --listen 127.0.0.1:6000 (port 0 picks a free one)
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<ListenAddr>,

    /// The same as --listen, for those who give a server's address as its clients do.
    /// Example: --addr localhost:6000
    #[arg(long, value_name = "ADDRESS", conflicts_with = "listen")]
    pub addr: Option<ListenAddr>,

    /// Serve TLS with this certificate chain (PEM); goes with --tls-key.
    /// Example: --tls-cert server.pem
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert. Example: --tls-key server.key
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this CA (PEM): mutual TLS.
    /// Example: --client-ca ca.pem
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,

    /// Print each call received, with its metadata, on stderr. Example: --log
    #[arg(long)]
    pub log: bool,

    /// Which server reflection versions to serve. Example: --reflection v1alpha
    #[arg(long, value_enum, default_value_t = ReflectionVersions::Both, value_name = "VERSIONS")]
    pub reflection: ReflectionVersions,

    /// Serve no reflection at all (clients need --proto or --protoset), like --reflection none.
    /// Example: --no-reflection
    #[arg(long, conflicts_with = "reflection")]
    pub no_reflection: bool,

    /// Store this many generated items besides the seed ones, for benchmarks of long streams.
    /// Example: --seed-items 100000
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed_items: u32,

    /// Report this service NOT_SERVING in health checks (repeatable; "" is the whole
    /// server), to try probes. Example: --not-serving grpcx.demo.v1.ItemService
    #[arg(long, value_name = "SERVICE")]
    pub not_serving: Vec<String>,

    /// Compress responses with gzip for clients that accept it (requests may always be
    /// compressed). Example: --gzip
    #[arg(long)]
    pub gzip: bool,

    /// On Ctrl-C or SIGTERM, how long calls in flight may take to finish before they are
    /// cancelled and the server exits; a second signal cuts it short. Example:
    /// --shutdown-grace 30s
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = values::parse_duration)]
    pub shutdown_grace: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// The narrow tree reads what it reads as the whole tree does, and refuses the rest.
    #[test]
    fn the_narrow_tree_parses_as_the_whole_tree() {
        let lines: &[&[&str]] = &[
            &["call", "S/M", "{}"],
            &[
                "--addr", "h:1", "-H", "k: v", "call", "S/M", "-d", "{}", "-o", "envelope",
            ],
            &[
                "call",
                "S/M",
                "--max-time",
                "2s",
                "--plaintext",
                "-vv",
                "--format",
                "text",
            ],
            &["-H", "call", "call", "S/M"],
            &["--authority", "list", "call", "S/M"],
            &["list", "--long", "-o", "json"],
            &["list", "call"],
            &["describe", "Item", "--template", "--protoset-out", "x.pb"],
            &["health", "svc", "--watch", "--insecure"],
            &["call", "--help"],
            &["--version", "call", "S/M"],
            &["call"],
            &["call", "S/M", "--nope"],
            &["help", "call"],
        ];
        let mut narrowed = 0;
        for line in lines {
            let words: Vec<OsString> = std::iter::once("grpcx")
                .chain(line.iter().copied())
                .map(OsString::from)
                .collect();
            let whole = Arguments::try_parse_from(&words).map(|a| format!("{a:?}"));
            let narrow = narrow_command(&words)
                .and_then(|command| command.try_get_matches_from(&words).ok())
                .and_then(|matches| {
                    <Arguments as clap::FromArgMatches>::from_arg_matches(&matches).ok()
                })
                .map(|a| format!("{a:?}"));
            if let Some(narrow) = narrow {
                narrowed += 1;
                assert_eq!(whole.as_ref().ok(), Some(&narrow), "{line:?}");
            }
        }
        // All that parse but `--authority list call`, whose first subcommand-like word is a value.
        assert_eq!(narrowed, 8);
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["grpcx", "-H", "k: v", "-v", "call", "S/M"]).unwrap();
        let after = Cli::try_parse_from(["grpcx", "call", "S/M", "-H", "k: v", "-v"]).unwrap();
        assert_eq!(before.global.headers, after.global.headers);
        assert_eq!(before.global.headers.len(), 1);
        assert_eq!(after.global.verbose, 1);
    }

    #[test]
    fn tls_flags_conflict_with_plaintext() {
        assert!(Cli::try_parse_from(["grpcx", "--tls", "--plaintext", "list"]).is_err());
        assert!(Cli::try_parse_from(["grpcx", "--insecure", "--plaintext", "list"]).is_err());
        assert!(Cli::try_parse_from(["grpcx", "--cert", "c.pem", "list"]).is_err());
        assert!(Cli::try_parse_from(["grpcx", "--cert", "c", "--key", "k", "list"]).is_ok());
        // The same rules across the subcommand.
        let across = |words: &[&str]| Cli::try_parse_from(words.iter().copied());
        assert!(across(&["grpcx", "--tls", "list", "--plaintext"]).is_err());
        assert!(across(&["grpcx", "--plaintext", "call", "S/M", "--cacert", "c"]).is_err());
        assert!(across(&["grpcx", "--cert", "c", "describe"]).is_err());
        assert!(across(&["grpcx", "--cert", "c", "call", "S/M", "--key", "k"]).is_ok());
    }

    #[test]
    fn options_on_both_sides_come_together() {
        let cli = Cli::try_parse_from([
            "grpcx",
            "-v",
            "-H",
            "a: 1",
            "--max-time",
            "1s",
            "--color",
            "never",
            "call",
            "S/M",
            "-v",
            "-H",
            "b: 2",
            "--max-time",
            "2s",
        ])
        .unwrap();
        assert_eq!(cli.global.headers, ["a: 1", "b: 2"]);
        assert_eq!(cli.global.verbose, 2);
        assert_eq!(
            cli.global.max_time,
            Some(Duration::from_secs(2)),
            "the later wins"
        );
        assert_eq!(
            cli.global.color,
            ColorChoice::Never,
            "an unset later keeps the earlier"
        );
        let addr = Cli::try_parse_from(["grpcx", "list", "--addr", "127.0.0.1:1"]).unwrap();
        assert_eq!(addr.global.addr.unwrap().to_string(), "127.0.0.1:1");
        // Options that talk to a server are not the demo server's.
        assert!(Cli::try_parse_from(["grpcx", "serve-demo", "-H", "a: 1"]).is_err());
    }
}
