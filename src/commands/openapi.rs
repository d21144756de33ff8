//! `grpcx openapi [SERVICE...]`: the OpenAPI document of what `grpcx gateway` would serve for
//! the schema, from reflection or from files alone (no server needed then).

use super::gateway::{inspected_methods, read_rules, warn_left_out};
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
    let methods = inspected_methods(&settings, &args.services, printer).await?;
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
