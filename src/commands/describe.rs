//! `grpcx describe [SYMBOL]`: a symbol as proto source (every service when none is named), or
//! with `--template` a JSON request skeleton; optionally exported as a protoset or sources.

use crate::cli::{DescribeArgs, Listing};
use crate::error::Error;
use crate::invoke::Outcome;
use crate::output::Printer;
use crate::schema::{Schema, SchemaError, Symbol, as_json, proto_text, template};
use crate::settings::Settings;

use super::session::{self, Needs};

pub async fn run(
    settings: &Settings,
    args: &DescribeArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    printer.configure(settings.inspect_print_options());
    let mut session = session::open(settings, Needs::Inspect, printer).await?;
    let result = describe(&mut session.schema, args, printer).await;
    printer.info(&format!("schema: {}", session.schema.describe_source()));
    session.schema.save_cache();
    match result {
        Err(err) => Err(session.explain(err).await),
        ok => ok,
    }
}

async fn describe(
    schema: &mut Schema,
    args: &DescribeArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let symbols = match &args.symbol {
        Some(name) => vec![schema.resolve_symbol(name).await?],
        None => {
            let mut symbols = Vec::new();
            for name in schema.services().await? {
                symbols.push(Symbol::Service(schema.resolve_service(&name).await?));
            }
            symbols
        }
    };
    session::export(&args.export, &symbols)?;
    if args.template {
        let message = match symbols.first() {
            Some(Symbol::Message(message)) => message.clone(),
            Some(Symbol::Method(method)) => method.input(),
            Some(other) => {
                return Err(SchemaError::NotAMessage(other.full_name().to_string()).into());
            }
            None => return Ok(Outcome::Ok),
        };
        printer.pretty_json(&template::template(&message))?;
        return Ok(Outcome::Ok);
    }
    if args.output == Listing::Json {
        for symbol in &symbols {
            printer.document(&as_json::symbol(symbol))?;
        }
        return Ok(Outcome::Ok);
    }
    for (index, symbol) in symbols.iter().enumerate() {
        if index > 0 {
            printer.line("")?;
        }
        printer.text(&proto_text::describe(symbol))?;
    }
    Ok(Outcome::Ok)
}
