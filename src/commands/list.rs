//! `grpcx list [SERVICE]`: the server's services, or one service's methods, one a line.

use crate::cli::ListArgs;
use crate::error::{Error, Outcome};
use crate::output::Output;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ListArgs, out: &mut Output) -> Result<Outcome, Error> {
    let (_channel, mut schema) = super::connect(settings).await?;
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
