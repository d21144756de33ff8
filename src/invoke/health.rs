//! gRPC health checking (`grpc.health.v1`), asked with its own generated client: a probe must
//! work against a server without reflection, as `grpc_health_probe` does.

use tokio_stream::StreamExt as _;
use tonic::Status;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::CallOptions;

/// What the server says of a service's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Serving,
    NotServing,
    Unknown,
    /// The server does not know the service.
    ServiceUnknown,
}

impl Health {
    /// The status as the protocol names it.
    pub fn name(self) -> &'static str {
        match self {
            Health::Serving => "SERVING",
            Health::NotServing => "NOT_SERVING",
            Health::Unknown => "UNKNOWN",
            Health::ServiceUnknown => "SERVICE_UNKNOWN",
        }
    }

    fn from_wire(status: i32) -> Health {
        match ServingStatus::try_from(status) {
            Ok(ServingStatus::Serving) => Health::Serving,
            Ok(ServingStatus::NotServing) => Health::NotServing,
            Ok(ServingStatus::ServiceUnknown) => Health::ServiceUnknown,
            Ok(ServingStatus::Unknown) | Err(_) => Health::Unknown,
        }
    }
}

fn request(service: &str, options: &CallOptions<'_>) -> tonic::Request<HealthCheckRequest> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.to_string(),
    });
    super::prepare(&mut request, options.headers, options.timeout);
    request
}

/// `Check`: the health of `service` (the whole server for `""`). A server that does not know
/// the service answers NOT_FOUND, which is `ServiceUnknown` here; other statuses are errors.
pub async fn check(
    channel: Channel,
    service: &str,
    options: &CallOptions<'_>,
) -> Result<Health, Status> {
    let started = tokio::time::Instant::now();
    let mut client = HealthClient::new(channel);
    match client.check(request(service, options)).await {
        Ok(response) => Ok(Health::from_wire(response.into_inner().status)),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(Health::ServiceUnknown),
        Err(status) => Err(super::deadline_named(status, options.timeout, started)),
    }
}

/// `Watch`: each health the server reports for `service`, to `seen`, until the server ends the
/// stream (then the last one) or fails. `seen` returns false to stop watching.
pub async fn watch(
    channel: Channel,
    service: &str,
    options: &CallOptions<'_>,
    seen: &mut dyn FnMut(Health) -> bool,
) -> Result<Option<Health>, Status> {
    let started = tokio::time::Instant::now();
    let named = |status| super::deadline_named(status, options.timeout, started);
    let mut client = HealthClient::new(channel);
    let mut stream = client
        .watch(request(service, options))
        .await
        .map_err(named)?
        .into_inner();
    let mut last = None;
    while let Some(answer) = stream.next().await {
        let health = Health::from_wire(answer.map_err(named)?.status);
        last = Some(health);
        if !seen(health) {
            break;
        }
    }
    Ok(last)
}
