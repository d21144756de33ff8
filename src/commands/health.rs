//! `grpcx health [SERVICE] [--watch]`: the server's health as grpc.health.v1 reports it, with
//! exit codes a probe can use (0 SERVING; see `status` for the others).

use super::session;
use crate::cli::HealthArgs;
use crate::error::Error;
use crate::invoke::health::{self, Health};
use crate::invoke::{CallOptions, Outcome};
use crate::output::Printer;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    args: &HealthArgs,
    deadline: Option<tokio::time::Instant>,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    printer.configure(settings.inspect_print_options());
    let connection = session::connect(settings, printer).await?;
    let channel = connection.channel.clone();
    let service = args.service.as_deref().unwrap_or_default();
    let options = CallOptions {
        headers: &settings.rpc_headers,
        timeout: deadline
            .map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now())),
        max_message_size: settings.max_message_size,
        compression: None,
    };
    let answer = if args.watch {
        let mut shown = Ok(());
        let last = health::watch(channel, service, &options, &mut |health| {
            shown = printer.line(health.name()).and_then(|()| printer.flush());
            shown.is_ok()
        })
        .await;
        shown?;
        last
    } else {
        health::check(channel, service, &options)
            .await
            .map(|health| {
                let _ = printer.line(health.name());
                Some(health)
            })
    };
    match answer {
        Ok(Some(Health::Serving)) => Ok(Outcome::Ok),
        Ok(Some(other)) => Err(Error::Unhealthy {
            what: match service {
                "" => "the server".to_string(),
                service => format!("`{service}`"),
            },
            health: other,
        }),
        // A watch the server ended before saying anything.
        Ok(None) => Err(Error::Unhealthy {
            what: "the server".to_string(),
            health: Health::Unknown,
        }),
        Err(status) => match connection.diagnose(&status).await {
            Some(problem) => Err(problem.into()),
            None => {
                printer.status(&status, &[])?;
                Ok(Outcome::Status(status))
            }
        },
    }
}
