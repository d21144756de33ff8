//! One module per subcommand; the only layer that knows all the others.

pub mod call;
pub mod demo;
pub mod describe;
pub mod list;
pub mod serve_demo;

use tonic::transport::Channel;

use crate::error::Error;
use crate::schema::Schema;
use crate::settings::Settings;
use crate::transport;

/// Opens the channel and a reflection-backed schema on it; both share the one connection.
pub async fn connect(settings: &Settings) -> Result<(Channel, Schema), Error> {
    let channel = transport::connect(&settings.target, settings.connect_timeout).await?;
    let schema = Schema::from_reflection(
        channel.clone(),
        settings.target.host.clone(),
        settings.headers.clone(),
    );
    Ok((channel, schema))
}
