//! The grpcx binary: run on this process's command line, exit with the code it gives.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(grpcx::run(
        std::env::args_os(),
        grpcx::output::Printer::stdio,
    ))
}
