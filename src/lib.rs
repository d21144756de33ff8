//! grpcx: talk to any gRPC server from the shell.
//!
//! The modules form layers, and dependencies point down only (`layers.rs` checks it):
//!
//! - `status`, `well_known`, `units`: leaves (gRPC code names and exit codes; the well-known
//!   types; durations as people write them);
//! - `transport`: addresses, channels, TLS, metadata rules;
//! - `schema`, `invoke`, `demo`: descriptors from reflection or files; dynamic calls of the
//!   four kinds behind an observer; the demo server. Each knows only the layers below;
//! - `output`: the printer, an observer of calls;
//! - `http`, `bench`: the gateway, and the load generator, on top of the call layers;
//! - `profiles`, `cli`, `settings`: the config file, the command line, and the settings
//!   resolved from both;
//! - `error`: every failure, its exit code and its hint;
//! - `commands`: one module per subcommand and the dispatcher, the only layer that knows all.
//!
//! Data flows one way: arguments → settings → schema → invoke → output.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod error;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod invoke;
#[cfg(test)]
mod layers;
pub mod output;
pub mod profiles;
pub mod schema;
pub mod settings;
pub mod status;
pub mod transport;
pub mod units;
pub mod well_known;

use std::ffi::OsString;

use cli::Cli;
use output::{ColorChoice, Printer};

/// Runs grpcx on the command line `args` (the program's name first) and returns the exit
/// code. `printer` makes the printer once the `--color` choice is known: the process's own
/// streams in `main`, buffers in tests that run grpcx in-process.
pub fn run<I, T>(args: I, printer: impl FnOnce(ColorChoice) -> Printer) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::read(args.into_iter().map(Into::into).collect()) {
        Ok(cli) => commands::run(&cli, &mut printer(cli.global.color)),
        Err(err) => {
            // clap's own words (usage errors, --help, --version), styled as clap styles them.
            let mut printer = printer(ColorChoice::Auto);
            let rendered = err.render();
            let to_stderr = err.use_stderr();
            let colored = if to_stderr {
                printer.console().stderr_color
            } else {
                printer.console().stdout_color
            };
            let text = if colored {
                rendered.ansi().to_string()
            } else {
                rendered.to_string()
            };
            if to_stderr {
                printer.stderr_text(&text);
            } else if printer.text(&text).and_then(|()| printer.flush()).is_err() {
                return status::EXIT_OK;
            }
            u8::try_from(err.exit_code()).unwrap_or(status::EXIT_USAGE)
        }
    }
}
