//! `grpcx serve-demo`: the demo ItemService until Ctrl-C or SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::sync::{mpsc, oneshot};

use crate::cli::ServeDemoArgs;
use crate::demo::{self, ReflectionVersions, RequestLog, ServeOptions, ServerTls};
use crate::error::Error;
use crate::invoke::Outcome;
use crate::output::Printer;
use crate::transport::ListenAddr;

pub async fn run(args: &ServeDemoArgs, printer: &mut Printer) -> Result<Outcome, Error> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(ServerTls::from_files(cert, key, args.client_ca.as_deref())?)
        }
        _ => None,
    };
    let security = tls.as_ref().map_or("plaintext", ServerTls::describe);
    let reflection = if args.no_reflection {
        ReflectionVersions::None
    } else {
        args.reflection
    };
    // The handlers are in place before the address is announced: a signal sent as soon as
    // the line is read stops the server gracefully instead of killing it.
    let mut signals = Signals::install();
    let listen = args
        .listen
        .clone()
        .unwrap_or(ListenAddr::Tcp(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            50051,
        ))));
    let listener = demo::bind(&listen).await?;
    let addr = listener.addr()?;
    printer.note(&format!(
        "grpcx demo server listening on {addr} ({security}; ItemService, health, reflection: {}); Ctrl-C stops it",
        reflection.describe()
    ));
    // What happens while serving reaches this command, which prints it: the server's calls
    // and events with --log, and the shutdown's progress.
    let (events, mut notes) = mpsc::unbounded_channel::<String>();
    let shutdown_notes = events.clone();
    let options = ServeOptions {
        reflection,
        tls,
        log: args.log.then(|| {
            RequestLog::reporting(move |event| {
                let _ = events.send(event);
            })
        }),
        gzip_responses: args.gzip,
        seed_items: args.seed_items,
        not_serving: args.not_serving.clone(),
        reflected_schema: None,
    };

    // On the first signal tonic stops accepting (the listening socket closes, so new clients
    // are refused at once), sends each connection a GOAWAY and waits for the calls in flight.
    // That wait alone has no end (a client stream whose client never closes it keeps it
    // open), so it gets `--shutdown-grace`; then, or on a second signal, the server returns
    // and the calls still open are cancelled as the runtime drops their tasks.
    let (stopping, stop_requested) = oneshot::channel::<Signals>();
    let grace = args.shutdown_grace;
    let serving = demo::serve(listener, options, async move {
        signals.next().await;
        let _ = shutdown_notes.send(format!(
            "grpcx demo server stopping: no new connections; calls in flight have {grace:?} to finish (Ctrl-C again stops at once)"
        ));
        let _ = stopping.send(signals);
    });
    let cut_short = async move {
        let Ok(mut signals) = stop_requested.await else {
            return std::future::pending().await;
        };
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            () = signals.next() => {}
        }
    };
    tokio::pin!(serving, cut_short);
    let ended = loop {
        tokio::select! {
            // Notes first, as they come.
            biased;
            Some(note) = notes.recv() => printer.note(&note),
            served = &mut serving => break served.map(|()| "grpcx demo server stopped"),
            () = &mut cut_short => {
                break Ok("grpcx demo server stopped; calls still in flight were cancelled");
            }
        }
    };
    // What happened before the end is told before it.
    while let Ok(note) = notes.try_recv() {
        printer.note(&note);
    }
    printer.note(ended?);
    Ok(Outcome::Ok)
}

/// Ctrl-C and, on Unix, SIGTERM, listened for from the moment they are installed.
pub(super) struct Signals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    pub(super) fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                unix: signal(SignalKind::interrupt())
                    .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Completes on the next Ctrl-C or SIGTERM.
    pub(super) async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.unix {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
