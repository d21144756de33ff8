//! The demo `ItemService` as a library: `grpcx serve-demo`, the `grpcx demo` tour and the tests
//! all start it in process. It serves the service, server reflection (v1 and v1alpha) and
//! gRPC health checking, and stops gracefully, letting in-flight calls finish.

mod items;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

pub use items::ItemStore;

/// Code generated at build time from `proto/item_service.proto` (see build.rs).
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod pb {
    tonic::include_proto!("grpcx.demo.v1");

    /// The compiled schema, served through reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/item_service_descriptor.bin"));
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the reflection service cannot be built: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the demo server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("the demo server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl ServerError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ServerError::Bind { source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                Some("another process uses that port; pick another with --listen 127.0.0.1:PORT (port 0 picks a free one)".to_string())
            }
            _ => None,
        }
    }
}

/// A demo server running on a background task.
pub struct DemoServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl DemoServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving in the background. The port
    /// is bound before this returns, so clients may connect at once.
    pub async fn start(addr: SocketAddr) -> Result<DemoServer, ServerError> {
        let listener = bind(addr).await?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(DemoServer {
            addr,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting calls, lets in-flight ones finish, and waits for the server to end.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await?
    }
}

/// Binds a listener for the demo server.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves the demo on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::item_service_server::ItemServiceServer<ItemStore>>()
        .await;

    tonic::transport::Server::builder()
        .initial_connection_window_size(crate::transport::CONNECTION_WINDOW)
        .initial_stream_window_size(crate::transport::STREAM_WINDOW)
        .add_service(pb::item_service_server::ItemServiceServer::new(
            ItemStore::seeded(),
        ))
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(health_service)
        // No Nagle: small responses must not wait for the client's delayed ACK (a 40 ms stall).
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await?;
    Ok(())
}
