//! `grpcx serve-demo`: the demo ItemService until Ctrl-C or SIGTERM.

use crate::cli::ServeDemoArgs;
use crate::error::{Error, Outcome};
use crate::output::diagnostics;
use crate::server::{self, ReflectionVersions, RequestLog, ServeOptions, ServerTls};

pub async fn run(args: &ServeDemoArgs) -> Result<Outcome, Error> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(ServerTls::from_files(cert, key, args.client_ca.as_deref())?)
        }
        _ => None,
    };
    let security = match &tls {
        None => "plaintext",
        Some(ServerTls {
            client_ca_pem: None,
            ..
        }) => "TLS",
        Some(_) => "mutual TLS",
    };
    let reflection = if args.no_reflection {
        ReflectionVersions::None
    } else {
        args.reflection
    };
    let listener = server::bind(&args.listen).await?;
    let addr = listener.addr()?;
    diagnostics::note(&format!(
        "grpcx demo server listening on {addr} ({security}; ItemService, health, reflection: {}); Ctrl-C stops it",
        match reflection {
            ReflectionVersions::Both => "v1 and v1alpha",
            ReflectionVersions::V1 => "v1",
            ReflectionVersions::V1alpha => "v1alpha",
            ReflectionVersions::None => "none",
        }
    ));
    let options = ServeOptions {
        reflection,
        tls,
        log: args.log.then(RequestLog::printing),
        gzip_responses: args.gzip,
        seed_items: args.seed_items,
        reflected_schema: None,
    };
    server::serve(listener, options, shutdown_signal()).await?;
    diagnostics::note("grpcx demo server stopped");
    Ok(Outcome::Success)
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
