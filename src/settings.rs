//! Resolves raw command-line arguments into the settings the rest of grpcx uses.
//!
//! Validation only, no I/O: later issues add profiles and TLS files here, with the rule that a
//! flag given on the command line overrides whatever a profile says.

use std::time::Duration;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::transport::{Header, Target};

/// Everything a command needs to reach a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub headers: Vec<Header>,
    /// The deadline for the whole operation, if any.
    pub max_time: Option<Duration>,
    pub connect_timeout: Duration,
}

impl Settings {
    pub fn from_args(args: &GlobalArgs) -> Settings {
        Settings {
            target: args.addr.clone(),
            headers: args.headers.clone(),
            max_time: args.max_time,
            connect_timeout: args.connect_timeout,
        }
    }
}

/// Pretty JSON for a person at a terminal, one value a line for a pipe, unless chosen.
pub fn output_format(chosen: Option<OutputFormat>, stdout_is_terminal: bool) -> OutputFormat {
    chosen.unwrap_or(if stdout_is_terminal {
        OutputFormat::Json
    } else {
        OutputFormat::Ndjson
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_follows_the_terminal_unless_chosen() {
        assert_eq!(output_format(None, true), OutputFormat::Json);
        assert_eq!(output_format(None, false), OutputFormat::Ndjson);
        assert_eq!(
            output_format(Some(OutputFormat::Json), false),
            OutputFormat::Json
        );
        assert_eq!(
            output_format(Some(OutputFormat::Ndjson), true),
            OutputFormat::Ndjson
        );
    }
}
