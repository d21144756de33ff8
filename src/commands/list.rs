//! `grpcx list [SERVICE] [--long]`: the server's services, or methods, one a line.

use crate::cli::ListArgs;
use crate::error::{Error, Outcome};
use crate::invoke::RpcKind;
use crate::output::Output;
use crate::schema::{Schema, method_path};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ListArgs, out: &mut Output) -> Result<Outcome, Error> {
    let mut session = super::open(settings, super::Needs::SchemaOnly).await?;
    let result = list(&mut session.schema, args, out).await;
    session.schema.save_cache();
    session.explain(result)
}

async fn list(schema: &mut Schema, args: &ListArgs, out: &mut Output) -> Result<Outcome, Error> {
    let services = match &args.service {
        Some(name) => vec![schema.resolve_service(name).await?],
        None if args.long => {
            let mut all = Vec::new();
            for name in schema.services().await? {
                all.push(schema.resolve_service(&name).await?);
            }
            all
        }
        None => {
            for service in schema.services().await? {
                out.line(&service)?;
            }
            return Ok(Outcome::Success);
        }
    };
    let methods: Vec<_> = services.iter().flat_map(|s| s.methods()).collect();
    if args.long {
        // Aligned columns: METHOD  KIND  REQUEST -> RESPONSE, easy to read and to cut.
        let rows: Vec<(String, &str, String)> = methods
            .iter()
            .map(|m| {
                (
                    method_path(m),
                    RpcKind::of(m).describe(),
                    format!("{} -> {}", m.input().full_name(), m.output().full_name()),
                )
            })
            .collect();
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let kind_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        for (path, kind, types) in rows {
            out.line(&format!("{path:width$}  {kind:kind_width$}  {types}"))?;
        }
    } else {
        for method in methods {
            out.line(method.full_name())?;
        }
    }
    Ok(Outcome::Success)
}
