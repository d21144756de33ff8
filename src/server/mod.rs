//! The demo `ItemService` as a library: `grpcx serve-demo`, the `grpcx demo` tour and the tests
//! all start it in process. It serves the service, server reflection (v1 and v1alpha) and
//! gRPC health checking, over TCP or a Unix socket, in plaintext or TLS (with client
//! certificates when asked), and stops gracefully, letting in-flight calls finish.

mod items;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::KeyAndValueRef;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::{Request, Status};

pub use items::ItemStore;

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

/// The echo service of every protobuf type.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypesEcho;

#[tonic::async_trait]
impl pb::types_service_server::TypesService for TypesEcho {
    async fn echo(
        &self,
        request: Request<pb::AllTypes>,
    ) -> Result<tonic::Response<pb::AllTypes>, Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }

    async fn fail(&self, request: Request<rpc::Status>) -> Result<tonic::Response<()>, Status> {
        let wanted = request.into_inner();
        let code = tonic::Code::from_i32(wanted.code);
        if code == tonic::Code::Ok {
            return Ok(tonic::Response::new(()));
        }
        let message = wanted.message.clone();
        Err(Status::with_details(
            code,
            message,
            prost::Message::encode_to_vec(&wanted).into(),
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
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
                Some("another process uses that address; pick another with --listen 127.0.0.1:PORT (port 0 picks a free one), or remove a stale socket file".to_string())
            }
            _ => None,
        }
    }
}

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(path) = text.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`unix:` needs a socket path, e.g. unix:/tmp/demo.sock".to_string());
            }
            return Ok(ListenAddr::Unix(PathBuf::from(path)));
        }
        text.parse().map(ListenAddr::Tcp).map_err(|_| {
            format!("`{text}` is not an IP:PORT or unix:PATH address, e.g. 127.0.0.1:50051")
        })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(addr) => write!(f, "{addr}"),
            ListenAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The server's TLS identity, in PEM.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl ServerTls {
    /// Reads the PEM files named on the command line.
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
        client_ca: Option<&std::path::Path>,
    ) -> Result<ServerTls, ServerError> {
        let read = |what, path: &std::path::Path| {
            std::fs::read(path).map_err(|source| ServerError::ReadFile {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        Ok(ServerTls {
            cert_pem: read("the certificate", cert)?,
            key_pem: read("the key", key)?,
            client_ca_pem: client_ca.map(|ca| read("the client CA", ca)).transpose()?,
        })
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
    /// Extra generated items after the seed ones (`item 1` …), for benchmarks of long streams.
    pub seed_items: u32,
    /// Reflect this encoded FileDescriptorSet instead of the demo's own schema: a server
    /// whose reflection disagrees with what it serves, as after a schema change (for tests of
    /// clients that cache schemas).
    pub reflected_schema: Option<Vec<u8>>,
}

/// The calls a demo server received, with their metadata: `serve-demo --log` prints them as
/// they come, so a person can see what a client really sent; tests read them back.
///
/// Only a log made to be read back (the default one) keeps what it sees: a server that runs
/// for long, as `serve-demo` does, must not grow with every call it serves.
#[derive(Debug, Clone)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<LoggedCall>>>,
    events: Arc<Mutex<Vec<String>>>,
    print: bool,
    keep: bool,
}

impl Default for RequestLog {
    /// A log that keeps every call and event, for [`RequestLog::calls`] and
    /// [`RequestLog::events`].
    fn default() -> RequestLog {
        RequestLog {
            entries: Arc::default(),
            events: Arc::default(),
            print: false,
            keep: true,
        }
    }
}

/// One call as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCall {
    /// The service called, e.g. `grpcx.demo.v1.ItemService`.
    pub service: &'static str,
    /// Metadata keys and values; binary values in base64.
    pub metadata: Vec<(String, String)>,
}

impl LoggedCall {
    /// The value of metadata `key`, if the call carried it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl RequestLog {
    /// A log that prints each call and event on stderr, and keeps none.
    pub fn printing() -> RequestLog {
        RequestLog {
            print: true,
            keep: false,
            ..RequestLog::default()
        }
    }

    /// A log that neither prints nor keeps anything.
    pub fn off() -> RequestLog {
        RequestLog {
            keep: false,
            ..RequestLog::default()
        }
    }

    /// Every call logged so far.
    pub fn calls(&self) -> Vec<LoggedCall> {
        self.entries
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    /// What the service noticed beyond the calls themselves, such as a client's cancellation.
    pub fn events(&self) -> Vec<String> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Notes an event.
    pub(crate) fn note(&self, event: String) {
        if self.print {
            crate::output::diagnostics::note(&event);
        }
        if !self.keep {
            return;
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    fn record(&self, service: &'static str, metadata: &tonic::metadata::MetadataMap) {
        if !self.print && !self.keep {
            return;
        }
        let metadata: Vec<(String, String)> = metadata
            .iter()
            .map(|entry| match entry {
                KeyAndValueRef::Ascii(key, value) => (
                    key.to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
                KeyAndValueRef::Binary(key, value) => (
                    key.to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
            })
            .collect();
        if self.print {
            let mut text = format!("call to {service}");
            for (key, value) in &metadata {
                text.push_str(&format!("\n  {key}: {value}"));
            }
            crate::output::diagnostics::note(&text);
        }
        if !self.keep {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(LoggedCall { service, metadata });
        }
    }

    /// Wraps `service` so that each of its calls is logged.
    fn wrap<S>(
        &self,
        name: &'static str,
        service: S,
    ) -> InterceptedService<
        S,
        impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<S>,
    > {
        let log = self.clone();
        InterceptedService::new(service, move |request: Request<()>| {
            log.record(name, request.metadata());
            Ok(request)
        })
    }
}

/// A bound listener, so that the address (and a port 0's real port) is known before serving.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// The address clients connect to.
    pub fn addr(&self) -> Result<ListenAddr, ServerError> {
        match self {
            Listener::Tcp(listener) => {
                listener
                    .local_addr()
                    .map(ListenAddr::Tcp)
                    .map_err(|source| ServerError::Bind {
                        addr: ListenAddr::Tcp(SocketAddr::from(([0, 0, 0, 0], 0))),
                        source,
                    })
            }
            Listener::Unix(_, path) => Ok(ListenAddr::Unix(path.clone())),
        }
    }
}

/// Binds `addr` for the demo server.
pub async fn bind(addr: &ListenAddr) -> Result<Listener, ServerError> {
    let failed = |source| ServerError::Bind {
        addr: addr.clone(),
        source,
    };
    match addr {
        ListenAddr::Tcp(socket) => TcpListener::bind(socket)
            .await
            .map(Listener::Tcp)
            .map_err(failed),
        ListenAddr::Unix(path) => UnixListener::bind(path)
            .map(|listener| Listener::Unix(listener, path.clone()))
            .map_err(failed),
    }
}

/// A demo server running on a background task.
pub struct DemoServer {
    addr: ListenAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl DemoServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving plaintext in the background.
    /// The address is bound before this returns, so clients may connect at once.
    pub async fn start(addr: SocketAddr) -> Result<DemoServer, ServerError> {
        DemoServer::start_with(&ListenAddr::Tcp(addr), ServeOptions::default()).await
    }

    /// The same, on any address, as `options` say.
    pub async fn start_with(
        addr: &ListenAddr,
        options: ServeOptions,
    ) -> Result<DemoServer, ServerError> {
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
    pub async fn stop(mut self) -> Result<(), ServerError> {
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
) -> Result<(), ServerError> {
    let router = router(options).await?;
    match listener {
        // No Nagle: small responses must not wait for the client's delayed ACK (a 40 ms stall).
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

async fn router(options: ServeOptions) -> Result<Router, ServerError> {
    let schema: &[u8] = options
        .reflected_schema
        .as_deref()
        .unwrap_or(pb::FILE_DESCRIPTOR_SET);
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(schema)
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
        .add_service(log.wrap("grpcx.demo.v1.ItemService", items))
        .add_service(log.wrap(
            "grpcx.demo.v1.TypesService",
            pb::types_service_server::TypesServiceServer::new(TypesEcho),
        ))
        .add_optional_service(
            v1.then(|| log.wrap("grpc.reflection.v1.ServerReflection", reflection_v1)),
        )
        .add_optional_service(v1alpha.then(|| {
            log.wrap(
                "grpc.reflection.v1alpha.ServerReflection",
                reflection_v1alpha,
            )
        }))
        .add_service(log.wrap("grpc.health.v1.Health", health_service)))
}

#[cfg(test)]
mod tests {
    use super::RequestLog;

    #[test]
    fn only_a_log_made_to_be_read_back_keeps_calls_and_events() {
        let metadata = tonic::metadata::MetadataMap::new();
        let kept = RequestLog::default();
        kept.record("grpcx.demo.v1.ItemService", &metadata);
        kept.note("an event".to_string());
        assert_eq!((kept.calls().len(), kept.events().len()), (1, 1));

        // serve-demo's logs: a server that runs for long does not grow with each call.
        let off = RequestLog::off();
        off.record("grpcx.demo.v1.ItemService", &metadata);
        off.note("an event".to_string());
        assert_eq!((off.calls().len(), off.events().len()), (0, 0));
        assert!(!RequestLog::printing().keep);
    }
}
