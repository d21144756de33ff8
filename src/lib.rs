//! grpcx: talk to any gRPC server from the shell.
//!
//! Data flows one way: arguments (`cli`) → settings (`settings`) → schema (`schema`) → invoke
//! (`invoke`) → output (`output`), with `transport` below them and `commands` the only layer
//! that knows them all. `error` turns every ending into a message and an exit code.

pub mod cli;
pub mod commands;
pub mod error;
pub mod invoke;
pub mod output;
pub mod schema;
pub mod server;
pub mod settings;
pub mod transport;

use tokio::time::Instant;

use cli::{Cli, Command, OutputFormat};
use error::{Error, Outcome};
use output::{Output, OutputError};
use settings::Settings;

/// Runs one grpcx invocation to its end.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    // A client needs one thread; the servers (serve-demo, the tour's) use both cores.
    let runtime = match cli.command {
        Command::ServeDemo(_) | Command::Demo => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .map_err(Error::Runtime)?;

    runtime.block_on(async {
        let mut out = Output::new(OutputFormat::Ndjson);
        let result = match &cli.command {
            Command::ServeDemo(args) => commands::serve_demo::run(args).await,
            Command::Demo => commands::demo::run(&mut out).await,
            _ => {
                let deadline = cli
                    .global
                    .max_time
                    .map(|max_time| Instant::now() + max_time);
                tokio::select! {
                    result = execute(cli, deadline, &mut out) => result,
                    _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
                }
            }
        };
        // What was received is printed even when the call ended badly.
        match out.flush() {
            Ok(()) | Err(OutputError::Closed) => result,
            Err(err) => result.and(Err(err.into())),
        }
    })
}

/// Runs a command that talks to a server, within the deadline if there is one. The tour runs
/// its steps through here too, so they take the same path as a user's commands.
pub async fn execute(
    cli: Cli,
    deadline: Option<Instant>,
    out: &mut Output,
) -> Result<Outcome, Error> {
    let settings = Settings::from_args(&cli.global);
    let work = async {
        match &cli.command {
            Command::List(args) => commands::list::run(&settings, args, out).await,
            Command::Describe(args) => commands::describe::run(&settings, args, out).await,
            Command::Call(args) => commands::call::run(&settings, args, deadline, out).await,
            Command::ServeDemo(_) | Command::Demo => Err(Error::Usage(
                "serve-demo and demo cannot run inside another command".to_string(),
            )),
        }
    };
    match deadline {
        None => work.await,
        Some(deadline) => match tokio::time::timeout_at(deadline, work).await {
            Ok(result) => result,
            Err(_) => Ok(Outcome::Status(tonic::Status::deadline_exceeded(format!(
                "the deadline of {:?} set by --max-time passed",
                cli.global.max_time.unwrap_or_default()
            )))),
        },
    }
}
