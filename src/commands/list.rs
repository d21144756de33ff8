//! `grpcx list [SERVICE] [--long]`: the server's services, or methods, one a line.

use crate::cli::{ListArgs, Listing};
use crate::error::Error;
use crate::invoke::Outcome;
use crate::invoke::RpcKind;
use crate::output::Printer;
use crate::schema::{Schema, as_json};
use crate::settings::Settings;

use super::session::{self, Needs};

pub async fn run(
    settings: &Settings,
    args: &ListArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    printer.configure(settings.inspect_print_options());
    let mut session = session::open(settings, Needs::Inspect, printer).await?;
    let result = list(&mut session.schema, args, printer).await;
    printer.info(&format!("schema: {}", session.schema.describe_source()));
    session.schema.save_cache();
    match result {
        Err(err) => Err(session.explain(err).await),
        ok => ok,
    }
}

async fn list(
    schema: &mut Schema,
    args: &ListArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let services = match &args.service {
        Some(name) => vec![schema.resolve_service(name).await?],
        None if args.long || args.output == Listing::Json => {
            let mut all = Vec::new();
            for name in schema.services().await? {
                all.push(schema.resolve_service(&name).await?);
            }
            all
        }
        None => {
            for service in schema.services().await? {
                printer.line(&service)?;
            }
            return Ok(Outcome::Ok);
        }
    };
    if args.output == Listing::Json {
        let services: Vec<_> = services.iter().map(as_json::service).collect();
        printer.document(&serde_json::json!({ "services": services }))?;
        return Ok(Outcome::Ok);
    }
    let methods: Vec<_> = services.iter().flat_map(|s| s.methods()).collect();
    if args.long {
        // Aligned columns: METHOD  KIND  REQUEST -> RESPONSE, easy to read and to cut.
        let rows: Vec<(String, &str, String)> = methods
            .iter()
            .map(|m| {
                (
                    m.full_name().to_string(),
                    RpcKind::of(m).describe(),
                    format!("{} -> {}", m.input().full_name(), m.output().full_name()),
                )
            })
            .collect();
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let kind_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        for (path, kind, types) in rows {
            printer.line(&format!("{path:width$}  {kind:kind_width$}  {types}"))?;
        }
    } else {
        for method in methods {
            printer.line(method.full_name())?;
        }
    }
    Ok(Outcome::Ok)
}
