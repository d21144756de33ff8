//! One module per subcommand, and the dispatcher: the only layer that knows all the others.
//!
//! [`run`] is the whole of a grpcx process after its command line is parsed: it starts the
//! async runtime, runs the command, shows what is left to show through the printer and
//! returns the exit code (see `error::report`).

pub mod bench;
pub mod call;
pub mod completions;
pub mod demo;
pub mod describe;
pub mod gateway;
pub mod health;
pub mod list;
pub mod openapi;
pub mod serve_demo;
pub mod session;

use tokio::time::Instant;

use crate::cli::{
    CacheAction, CallArgs, Cli, Command, ConfigAction, DescribeArgs, GlobalArgs, HealthArgs,
    ListArgs,
};
use crate::error::{self, Error};
use crate::invoke::Outcome;
use crate::output::{OutputError, Printer};
use crate::profiles;
use crate::schema::{self, SchemaError};
use crate::settings::Settings;

/// Runs the command `cli`, writing through `printer`; returns the exit code.
pub fn run(cli: &Cli, printer: &mut Printer) -> u8 {
    // A client needs one thread; the servers (serve-demo, the tour's) use both cores.
    let runtime = match &cli.command {
        Command::ServeDemo(_) | Command::Demo | Command::Ui(_) | Command::Bench(_) => {
            tokio::runtime::Builder::new_multi_thread()
        }
        Command::Gateway(args) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(threads) = args.threads {
                builder.worker_threads(usize::from(threads));
            }
            builder
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(execute(cli, printer)),
        Err(err) => Err(Error::Runtime(err)),
    };
    // What was received is printed even when the call ended badly.
    let result = match printer.flush() {
        Ok(()) | Err(OutputError::Closed) => result,
        Err(err) => result.and(Err(err.into())),
    };
    error::report(result, printer)
}

/// Runs one command. The tour runs its steps through here too, so that they take the same
/// path as a user's commands.
pub async fn execute(cli: &Cli, printer: &mut Printer) -> Result<Outcome, Error> {
    match &cli.command {
        Command::List(args) => {
            talk_to_server(&cli.global, ServerCommand::List(args), printer).await
        }
        Command::Describe(args) => {
            talk_to_server(&cli.global, ServerCommand::Describe(args), printer).await
        }
        Command::Call(args) => {
            talk_to_server(&cli.global, ServerCommand::Call(args), printer).await
        }
        Command::Health(args) => {
            talk_to_server(&cli.global, ServerCommand::Health(args), printer).await
        }
        Command::ServeDemo(args) => serve_demo::run(args, printer).await,
        Command::Gateway(args) => gateway::run(&cli.global, args, None, printer).await,
        Command::Ui(args) => gateway::run_ui(&cli.global, args, printer).await,
        Command::Bench(bench) => bench::run(&cli.global, bench, printer).await,
        Command::Openapi(args) => openapi::run(&cli.global, args, printer).await,
        // Boxed: the tour runs its steps through `execute`.
        Command::Demo => Box::pin(demo::run(printer)).await,
        Command::Config {
            action: ConfigAction::Path,
        } => {
            let path = profiles::path()?;
            printer.line(&path.display().to_string())?;
            Ok(Outcome::Ok)
        }
        Command::Cache { action } => cache(action, printer),
        Command::Completions { shell } => completions::script(*shell, printer),
        Command::Man { subcommand, dir } => {
            completions::man(subcommand.as_deref(), dir.as_deref(), printer)
        }
        Command::Complete { kind, words } => completions::complete(kind, words, printer).await,
    }
}

/// The commands that talk to a server.
#[derive(Debug, Clone, Copy)]
enum ServerCommand<'a> {
    List(&'a ListArgs),
    Describe(&'a DescribeArgs),
    Call(&'a CallArgs),
    Health(&'a HealthArgs),
}

/// Runs a command that talks to a server: within `--max-time` when it is set, and until
/// Ctrl-C.
async fn talk_to_server(
    global: &GlobalArgs,
    command: ServerCommand<'_>,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let settings = settings(global)?;
    let deadline = settings.max_time.map(|max_time| started + max_time);
    let work = async {
        match command {
            ServerCommand::List(args) => list::run(&settings, args, printer).await,
            ServerCommand::Describe(args) => describe::run(&settings, args, printer).await,
            ServerCommand::Call(args) => call::run(&settings, args, deadline, printer).await,
            ServerCommand::Health(args) => health::run(&settings, args, deadline, printer).await,
        }
    };
    let within_deadline = async {
        match deadline {
            None => Some(work.await),
            Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
        }
    };
    let finished = tokio::select! {
        finished = within_deadline => finished,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
    };
    match finished {
        Some(result) => result,
        None => {
            let status = tonic::Status::deadline_exceeded(format!(
                "the deadline of {:?} set by --max-time passed",
                settings.max_time.unwrap_or_default()
            ));
            printer.status(&status, &[])?;
            Ok(Outcome::Status(status))
        }
    }
}

/// The settings of a command that talks to a server: its flags over the chosen profile, with
/// the process's environment.
pub fn settings(global: &GlobalArgs) -> Result<Settings, Error> {
    let profile = match &global.profile {
        Some(name) => Some(profiles::load_profile(name)?),
        None => None,
    };
    Ok(Settings::resolve(global, profile.as_ref(), &|name| {
        std::env::var(name).ok()
    })?)
}

/// `grpcx cache clear|path`.
fn cache(action: &CacheAction, printer: &mut Printer) -> Result<Outcome, Error> {
    let dir = schema::cache::dir().ok_or(SchemaError::NoCacheDir)?;
    match action {
        CacheAction::Path => printer.line(&dir.display().to_string())?,
        CacheAction::Clear => {
            let removed = schema::cache::clear(&dir).map_err(|source| SchemaError::ReadFile {
                path: dir.clone(),
                source,
            })?;
            printer.note(&format!(
                "removed {removed} cached schemas from {}",
                dir.display()
            ));
        }
    }
    Ok(Outcome::Ok)
}
