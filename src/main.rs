//! The grpcx binary: parse the arguments, run, turn the result into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = grpcx::cli::Cli::parse();
    grpcx::error::exit_code(grpcx::run(cli))
}
