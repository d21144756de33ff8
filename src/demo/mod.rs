//! The demo `ItemService` as a library: `grpcx serve-demo`, the `grpcx demo` tour and the tests
//! all start it in process. It serves the service, server reflection (v1 and v1alpha) and
//! gRPC health checking, over TCP or a Unix socket, in plaintext or TLS (with client
//! certificates when asked), and stops gracefully, letting in-flight calls finish.
//!
//! It never prints: what it sees goes to a [`RequestLog`], which hands it to a callback when
//! the command that started the server wants to show it.

mod items;
mod listeners;
pub mod reflection;
mod request_log;
mod tls;
mod types_echo;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

pub use items::ItemStore;
pub use listeners::{Listener, bind};
pub use request_log::{LoggedCall, Reporter, RequestLog};
pub use tls::ServerTls;
pub use types_echo::TypesEcho;

use crate::transport::ListenAddr;

/// Code generated at build time from `proto/item_service.proto` (see build.rs).
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod pb {
    tonic::include_proto!("grpcx.demo.v1");

    /// The compiled schema, served through reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/demo_descriptor.bin"));
}

/// google.rpc.Status and the standard error details, generated at build time, for the rich
/// errors the demo returns.
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod rpc {
    tonic::include_proto!("google.rpc");
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: ListenAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {what} {}: {source}", .path.display())]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the reflection service cannot be built: {0}")]
    Reflection(#[from] prost_reflect::DescriptorError),
    #[error("the demo server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("the demo server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl DemoError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DemoError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
                Some("another process uses that address; pick another with --listen 127.0.0.1:PORT (port 0 picks a free one), or remove a stale socket file".to_string())
            }
            _ => None,
        }
    }
}

/// Which server reflection versions to serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReflectionVersions {
    /// grpc.reflection.v1 and grpc.reflection.v1alpha.
    #[default]
    Both,
    /// Only grpc.reflection.v1.
    V1,
    /// Only grpc.reflection.v1alpha, as older servers do.
    V1alpha,
    /// No reflection, as many production servers run.
    None,
}

impl ReflectionVersions {
    /// The versions in words.
    pub fn describe(self) -> &'static str {
        match self {
            ReflectionVersions::Both => "v1 and v1alpha",
            ReflectionVersions::V1 => "v1",
            ReflectionVersions::V1alpha => "v1alpha",
            ReflectionVersions::None => "none",
        }
    }
}

/// How to serve.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Which reflection versions to serve.
    pub reflection: ReflectionVersions,
    /// TLS, when given; plaintext otherwise.
    pub tls: Option<ServerTls>,
    /// Where to record the metadata of each call received.
    pub log: Option<RequestLog>,
    /// Compress responses with gzip when the client accepts it.
    pub gzip_responses: bool,
    /// Services whose health is NOT_SERVING (all others served are SERVING), to try probes.
    pub not_serving: Vec<String>,
    /// Extra generated items after the seed ones (`item 1` …), for benchmarks of long streams.
    pub seed_items: u32,
    /// Reflect this encoded FileDescriptorSet instead of the demo's own schema: a server
    /// whose reflection disagrees with what it serves, as after a schema change (for tests of
    /// clients that cache schemas).
    pub reflected_schema: Option<Vec<u8>>,
}

/// A demo server running on a background task.
pub struct DemoServer {
    addr: ListenAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), DemoError>>,
}

impl DemoServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving plaintext in the background.
    /// The address is bound before this returns, so clients may connect at once.
    pub async fn start(addr: SocketAddr) -> Result<DemoServer, DemoError> {
        DemoServer::start_with(&ListenAddr::Tcp(addr), ServeOptions::default()).await
    }

    /// The same, on any address, as `options` say.
    pub async fn start_with(
        addr: &ListenAddr,
        options: ServeOptions,
    ) -> Result<DemoServer, DemoError> {
        let listener = bind(addr).await?;
        let addr = listener.addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, options, async {
            let _ = stopped.await;
        }));
        Ok(DemoServer {
            addr,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// The address the server listens on, as a client's `--addr` takes it.
    pub fn addr(&self) -> &ListenAddr {
        &self.addr
    }

    /// Stops accepting calls, lets in-flight ones finish, and waits for the server to end.
    pub async fn stop(mut self) -> Result<(), DemoError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await?
    }
}

/// Serves the demo on `listener` until `shutdown` completes.
pub async fn serve(
    listener: Listener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DemoError> {
    let router = router(options).await?;
    match listener {
        // No Nagle: small responses must not wait for the client's delayed ACK, a stall of tens
        // of milliseconds per answer.
        Listener::Tcp(listener) => {
            router
                .serve_with_incoming_shutdown(
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    shutdown,
                )
                .await?
        }
        Listener::Unix(listener, path) => {
            let served = router
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
                .await;
            let _ = std::fs::remove_file(path);
            served?
        }
    }
    Ok(())
}

async fn router(options: ServeOptions) -> Result<Router, DemoError> {
    let schema: &[u8] = options
        .reflected_schema
        .as_deref()
        .unwrap_or(pb::FILE_DESCRIPTOR_SET);
    let index = std::sync::Arc::new(reflection::ReflectionIndex::new(&[
        schema,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ])?);
    let reflection_v1 =
        tonic_reflection::pb::v1::server_reflection_server::ServerReflectionServer::new(
            reflection::Reflection::new(index.clone()),
        );
    let reflection_v1alpha =
        tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflectionServer::new(
            reflection::Reflection::new(index),
        );

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::item_service_server::ItemServiceServer<ItemStore>>()
        .await;
    for service in &options.not_serving {
        health
            .set_service_status(service, tonic_health::ServingStatus::NotServing)
            .await;
    }

    let mut builder = tonic::transport::Server::builder()
        .initial_connection_window_size(crate::transport::CONNECTION_WINDOW)
        .initial_stream_window_size(crate::transport::STREAM_WINDOW);
    if let Some(tls) = options.tls {
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
        if let Some(ca) = tls.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(config)?;
    }
    let log = options.log.unwrap_or_else(RequestLog::off);
    let (v1, v1alpha) = match options.reflection {
        ReflectionVersions::Both => (true, true),
        ReflectionVersions::V1 => (true, false),
        ReflectionVersions::V1alpha => (false, true),
        ReflectionVersions::None => (false, false),
    };
    let mut items = pb::item_service_server::ItemServiceServer::new(ItemStore::seeded(
        log.clone(),
        options.seed_items,
    ))
    .accept_compressed(CompressionEncoding::Gzip);
    if options.gzip_responses {
        items = items.send_compressed(CompressionEncoding::Gzip);
    }
    Ok(builder
        .add_service(log.wrap(items))
        .add_service(log.wrap(pb::types_service_server::TypesServiceServer::new(TypesEcho)))
        .add_optional_service(v1.then(|| log.wrap(reflection_v1)))
        .add_optional_service(v1alpha.then(|| log.wrap(reflection_v1alpha)))
        .add_service(log.wrap(health_service)))
}
