//! grpcx: talk to any gRPC server from the shell.
//!
//! Data flows one way: arguments (`cli`) → settings (`settings`) → schema (`schema`) → invoke
//! (`invoke`) → output (`output`), with `transport` below them and `commands` the only layer
//! that knows them all. `error` turns every ending into a message and an exit code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod invoke;
pub mod output;
pub mod schema;
pub mod server;
pub mod settings;
pub mod transport;

use tokio::time::Instant;

use cli::{Cli, Command, ConfigAction, OutputFormat};
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
            Command::Config {
                action: ConfigAction::Path,
            } => config::path()
                .map_err(Error::from)
                .and_then(|path| Ok(out.line(&path.display().to_string())?))
                .map(|()| Outcome::Success),
            Command::Cache { action } => commands::cache(action, &mut out),
            Command::Completions { shell } => commands::completions::script(*shell, &mut out),
            Command::Man => commands::completions::man(&mut out),
            Command::Complete { kind, words } => {
                commands::completions::complete(kind, words, &mut out).await
            }
            _ => {
                tokio::select! {
                    result = execute(cli, &mut out) => result,
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
pub async fn execute(cli: Cli, out: &mut Output) -> Result<Outcome, Error> {
    let started = Instant::now();
    let profile = match &cli.global.profile {
        Some(name) => Some(config::load_profile(name)?),
        None => None,
    };
    let settings = Settings::resolve(&cli.global, profile.as_ref(), &|name| {
        std::env::var(name).ok()
    })?;
    let deadline = settings.max_time.map(|max_time| started + max_time);
    let work = async {
        match &cli.command {
            Command::List(args) => commands::list::run(&settings, args, out).await,
            Command::Describe(args) => commands::describe::run(&settings, args, out).await,
            Command::Call(args) => commands::call::run(&settings, args, deadline, out).await,
            _ => Err(Error::Usage(
                "only list, describe and call run inside another command".to_string(),
            )),
        }
    };
    match deadline {
        None => work.await,
        Some(deadline) => match tokio::time::timeout_at(deadline, work).await {
            Ok(result) => result,
            Err(_) => Ok(Outcome::status(tonic::Status::deadline_exceeded(format!(
                "the deadline of {:?} set by --max-time passed",
                settings.max_time.unwrap_or_default()
            )))),
        },
    }
}
