//! `grpcx describe [SYMBOL]`: a symbol as proto source (every service when none is named), or
//! with `--template` a JSON request skeleton; optionally exported as a protoset or sources.

use crate::cli::DescribeArgs;
use crate::error::{Error, Outcome};
use crate::output::Output;
use crate::schema::{Schema, SchemaError, Symbol, source, template};
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    args: &DescribeArgs,
    out: &mut Output,
) -> Result<Outcome, Error> {
    let mut session = super::open(settings, super::Needs::SchemaOnly).await?;
    let result = describe(&mut session.schema, args, out).await;
    session.schema.save_cache();
    session.explain(result)
}

async fn describe(
    schema: &mut Schema,
    args: &DescribeArgs,
    out: &mut Output,
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
    super::export(&args.export, &symbols)?;
    if args.template {
        let message = match symbols.first() {
            Some(Symbol::Message(message)) => message.clone(),
            Some(Symbol::Method(method)) => method.input(),
            Some(other) => {
                return Err(SchemaError::NotAMessage(other.full_name().to_string()).into());
            }
            None => return Ok(Outcome::Success),
        };
        let skeleton = template::template(&message);
        let text =
            serde_json::to_string_pretty(&skeleton).map_err(crate::output::OutputError::Json)?;
        out.line(&text)?;
        return Ok(Outcome::Success);
    }
    for (index, symbol) in symbols.iter().enumerate() {
        if index > 0 {
            out.line("")?;
        }
        out.text(&source::describe(symbol))?;
    }
    Ok(Outcome::Success)
}
