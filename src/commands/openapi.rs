//! `grpcx openapi [SERVICE...]`: the OpenAPI document of what `grpcx gateway` would serve for
//! the schema, from reflection or from files alone (no server needed then).

use super::gateway::{methods, read_rules, warn_left_out};
use super::session::{self, Needs};
use crate::cli::{GlobalArgs, OpenapiArgs};
use crate::error::Error;
use crate::http::openapi::{self, Info};
use crate::http::routes::Routes;
use crate::invoke::Outcome;
use crate::output::Printer;
use crate::schema::SchemaError;
use crate::schema::export;

pub async fn run(
    global: &GlobalArgs,
    args: &OpenapiArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let settings = super::settings(global)?;
    printer.configure(settings.inspect_print_options());
    let rules = read_rules(args.http_rules.as_deref())?;
    let mut session = session::open(&settings, Needs::Inspect, printer).await?;
    let mut chosen = Vec::new();
    for name in &args.services {
        match session.schema.resolve_service(name).await {
            Ok(service) => chosen.push(service.full_name().to_string()),
            Err(error) => return Err(session.explain(error.into()).await),
        }
    }
    let all = match methods(&mut session.schema).await {
        Ok(methods) => methods,
        Err(error) => return Err(session.explain(error).await),
    };
    let methods: Vec<_> = all
        .into_iter()
        .filter(|method| {
            chosen.is_empty()
                || chosen
                    .iter()
                    .any(|s| s == method.parent_service().full_name())
        })
        .collect();
    let (routes, problems) = Routes::build(&methods, &rules);
    warn_left_out(&problems, printer);
    let document = openapi::document(&routes, &Info::of(&methods, args.title.clone()));
    let text = if args.yaml {
        serde_yaml_ng::to_string(&document)
            .map_err(|error| Error::Internal(format!("the document as YAML: {error}")))?
    } else {
        let mut text = serde_json::to_string_pretty(&document)
            .map_err(|error| Error::Internal(format!("the document as JSON: {error}")))?;
        text.push('\n');
        text
    };
    match &args.output {
        Some(path) => {
            export::write_file(path, text.as_bytes()).map_err(SchemaError::Export)?;
        }
        None => printer.text(&text)?,
    }
    Ok(Outcome::Ok)
}
