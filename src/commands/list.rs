//! `grpcx list [SERVICE]`: the server's services, or one service's methods, one a line.

use crate::cli::ListArgs;
use crate::error::{Error, Outcome};
use crate::output::Output;
use crate::schema::Schema;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ListArgs, out: &mut Output) -> Result<Outcome, Error> {
    let mut session = super::open(settings, super::Needs::SchemaOnly).await?;
    let result = list(&mut session.schema, args, out).await;
    session.explain(result)
}

async fn list(schema: &mut Schema, args: &ListArgs, out: &mut Output) -> Result<Outcome, Error> {
    match &args.service {
        None => {
            for service in schema.services().await? {
                out.line(&service)?;
            }
        }
        Some(name) => {
            let service = schema.resolve_service(name).await?;
            for method in service.methods() {
                out.line(method.full_name())?;
            }
        }
    }
    Ok(Outcome::Success)
}
