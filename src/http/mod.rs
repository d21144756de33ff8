//! The HTTP side: `grpcx gateway` puts any gRPC server behind plain HTTP and JSON, with the
//! REST routes of its `google.api.http` rules and a generic route for every method, read
//! from the schema at run time (nothing generated).
//!
//! By concern: `template` (path templates, parsed and matched), `rules` (the rules, from
//! method options or a service config file), `routes` (the table, its conflicts and lookup),
//! `request` (path, query string and body as one request message) and `server` (the HTTP
//! server, calls and answers). It builds on schema, invoke and output, and prints nothing:
//! what it has to say goes to the command through channels.

pub mod codecs;
pub mod docs;
pub mod explorer;
pub mod openapi;
pub mod request;
pub mod routes;
pub mod rules;
pub mod server;
pub mod stream_body;
pub mod template;
pub mod websocket;

use std::path::PathBuf;

/// What stops a gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot read the HTTP rules file {}: {reason}", .path.display())]
    RulesFile { path: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the gateway listens on TCP only, not on {0}")]
    UnixListen(String),
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("the system gave no random numbers for the gateway's token: {0}")]
    Random(String),
}

impl GatewayError {
    pub fn hint(&self) -> Option<String> {
        match self {
            GatewayError::RulesFile { .. } => Some(
                "write it as a service config: `http:` then `rules:`, each with a `selector` (pkg.Service.Method) and one of get, put, post, delete, patch or custom".to_string(),
            ),
            GatewayError::Listen { source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                Some("another program listens there: pick another port with --listen, or port 0 for a free one".to_string())
            }
            GatewayError::Listen { .. } => {
                Some("give an address of this machine to --listen, e.g. 127.0.0.1:8080".to_string())
            }
            GatewayError::UnixListen(_) => {
                Some("give --listen an IP:PORT, e.g. 127.0.0.1:8080".to_string())
            }
            GatewayError::Serve(_) | GatewayError::Random(_) => None,
        }
    }
}
