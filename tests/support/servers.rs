//! Servers on loopback for the tests: the demo in this process (on a runtime of its own), the
//! demo as a child process (`grpcx serve-demo`, which can be signalled and killed), and any
//! other tonic services. Each listens on a free 127.0.0.1 port and stops when dropped.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use grpcx::demo::{DemoServer, RequestLog, ServeOptions, ServerTls};
use grpcx::transport::ListenAddr;

use super::{Home, Interactive, RUN_LIMIT, Run, run_command};

/// The demo server in this process, on its own runtime, on a fresh loopback port; stopped on
/// drop.
pub struct TestServer {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<DemoServer>,
    /// The address as `--addr` takes it.
    pub addr: String,
    /// The calls the server received.
    pub log: RequestLog,
    /// Each server's clients have a home of their own, so that a port reused by another
    /// test's server never finds a cached schema of this one.
    home: Home,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_options(ServeOptions::default())
    }

    /// A demo server on `listen`, with TLS when `tls` is given.
    pub fn start_with(listen: &ListenAddr, tls: Option<ServerTls>) -> TestServer {
        TestServer::start_with_options(
            listen,
            ServeOptions {
                tls,
                ..ServeOptions::default()
            },
        )
    }

    /// A demo server that compresses its responses.
    pub fn start_gzip() -> TestServer {
        TestServer::start_options(ServeOptions {
            gzip_responses: true,
            ..ServeOptions::default()
        })
    }

    /// A demo server on a loopback port, as `options` say.
    pub fn start_options(options: ServeOptions) -> TestServer {
        TestServer::start_with_options(&ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()), options)
    }

    pub fn start_with_options(listen: &ListenAddr, mut options: ServeOptions) -> TestServer {
        let log = RequestLog::default();
        options.log = Some(log.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(DemoServer::start_with(listen, options))
            .unwrap();
        let addr = server.addr().to_string();
        TestServer {
            runtime: Some(runtime),
            server: Some(server),
            addr,
            log,
            home: Home::new(),
        }
    }

    /// `grpcx --addr <this server> ARGS…`, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        self.home.client(&self.addr, args)
    }

    /// `grpcx --addr <this server> ARGS…`, run to its end.
    pub fn grpcx(&self, args: &[&str]) -> Run {
        run_command(self.command(args), None)
    }

    /// The same, with `stdin` as standard input.
    pub fn grpcx_stdin(&self, args: &[&str], stdin: &str) -> Run {
        run_command(self.command(args), Some(stdin))
    }

    /// `grpcx --addr <this server> ARGS…` with piped stdin and stdout, for interactive streams.
    pub fn interactive(&self, args: &[&str]) -> Interactive {
        Interactive::spawn(self.command(args))
    }

    /// `grpcx --addr <this server> ARGS…` with piped stdout and stderr, stdin closed.
    pub fn spawn_piped(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The descriptor cache directory of the grpcx runs against this server.
    pub fn cache_dir(&self) -> &std::path::Path {
        self.home.path()
    }

    /// Waits (bounded) until the server notes an event starting with `prefix`.
    pub fn wait_for_event(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(event) = self
                .log
                .events()
                .into_iter()
                .find(|e| e.starts_with(prefix))
            {
                return event;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server never noted {prefix:?}: {:?}", self.log.events());
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let (Some(runtime), Some(server)) = (self.runtime.take(), self.server.take()) {
            let _ = runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), server.stop()).await
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A runtime of its own for a test server, and a listener on a free loopback port.
fn loopback_runtime() -> (
    tokio::runtime::Runtime,
    tokio::net::TcpListener,
    std::net::SocketAddr,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    (runtime, listener, addr)
}

/// Any tonic services on a loopback port, on a runtime of their own; stopped on drop.
pub struct LoopbackServer {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub addr: std::net::SocketAddr,
}

impl LoopbackServer {
    pub fn start(routes: tonic::service::Routes) -> LoopbackServer {
        let (runtime, listener, addr) = loopback_runtime();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await;
        });
        LoopbackServer {
            runtime: Some(runtime),
            shutdown: Some(shutdown),
            addr,
        }
    }

    /// A server with health checking but no reflection, as many production servers are.
    pub fn without_reflection() -> LoopbackServer {
        let (_reporter, health) = tonic_health::server::health_reporter();
        LoopbackServer::start(tonic::service::Routes::new(health))
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// `grpcx serve-demo` as a child process on a free loopback port, so that it can be
/// signalled, killed, and its memory read; killed on drop.
pub struct DemoProcess {
    child: Child,
    /// The address as `--addr` takes it.
    pub addr: String,
    pub port: u16,
    /// Its stderr lines, read on a thread so that it never blocks on a full pipe.
    stderr: mpsc::Receiver<String>,
    /// The stderr lines read so far.
    pub seen: Vec<String>,
    /// The home of the server and of every grpcx run against it.
    home: Home,
}

impl DemoProcess {
    /// Starts it on a free loopback port with `extra` options, and waits (bounded) until it
    /// says where it listens.
    pub fn start(extra: &[&str]) -> DemoProcess {
        DemoProcess::start_with(&[&["serve-demo", "--listen", "127.0.0.1:0"][..], extra].concat())
    }

    /// Starts `grpcx WORDS…` (a serve-demo command line), and waits (bounded) until it says
    /// where it listens.
    pub fn start_with(words: &[&str]) -> DemoProcess {
        let home = Home::new();
        let mut child = home
            .command()
            .args(words)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = super::read_lines(child.stderr.take().unwrap());
        let mut server = DemoProcess {
            child,
            addr: String::new(),
            port: 0,
            stderr,
            seen: Vec::new(),
            home,
        };
        // src/commands/serve_demo.rs: "grpcx demo server listening on ADDR (…"
        let line = server.wait_for_line("grpcx demo server listening on ");
        let addr = line
            .strip_prefix("grpcx demo server listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        server.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        server.addr = addr;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for a stderr line starting with `prefix`.
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return line.clone();
        }
        let deadline = Instant::now() + RUN_LIMIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "the server never printed {prefix:?}; it printed {:?}",
            self.seen
        );
    }

    /// `grpcx --addr <this server> ARGS…`, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        self.home.client(&self.addr, args)
    }

    /// `grpcx --addr <this server> ARGS…`, run to its end.
    pub fn grpcx(&self, args: &[&str]) -> Run {
        run_command(self.command(args), None)
    }

    /// Sends the signal `name` (`INT`, `TERM`).
    pub fn signal(&self, name: &str) {
        super::signal(self.pid(), name);
    }

    /// Waits (bounded) for the server to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        super::wait_for(&mut self.child, RUN_LIMIT * 2).expect("the server exits")
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A gRPC server that takes every call and never answers it, deadlines included: plain HTTP/2
/// on a loopback port, holding each request open until it is dropped.
pub struct IgnoringServer {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: std::net::SocketAddr,
}

impl IgnoringServer {
    pub fn start() -> IgnoringServer {
        let (runtime, listener, addr) = loopback_runtime();
        runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(socket).await else {
                        return;
                    };
                    let mut held = Vec::new();
                    while let Some(Ok(call)) = connection.accept().await {
                        held.push(call);
                    }
                });
            }
        });
        IgnoringServer {
            runtime: Some(runtime),
            addr,
        }
    }
}

impl Drop for IgnoringServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A web server that speaks only HTTP/1: it reads the first line of whatever comes, answers
/// `answer` and hangs up (the way Python's http.server answers an HTTP/2 preface); stopped on
/// drop.
pub struct Http1Server {
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Http1Server {
    pub fn start(answer: &'static [u8]) -> Http1Server {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(mut client) = client else { continue };
                let mut line = [0_u8; 16];
                let _ = client.read(&mut line);
                let _ = client.write_all(answer);
            }
        });
        Http1Server { addr, stop }
    }
}

impl Drop for Http1Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

/// A TLS server that asks for a client certificate and takes any, keeping the one it got,
/// as a server whose TLS stack accepts what rustls cannot read (a version 1 certificate)
/// would; it speaks no HTTP/2 after the handshake. Stopped on drop.
pub struct AnyClientCertificate {
    pub port: u16,
    received: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl AnyClientCertificate {
    /// On a free loopback port, with the server certificate and key in these PEM files.
    pub fn start(cert: &str, key: &str) -> AnyClientCertificate {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = std::sync::Arc::new(TakesAny(provider.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let (runtime, listener, addr) = loopback_runtime();
        let received = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = received.clone();
        runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                if let Ok(stream) = acceptor.accept(socket).await {
                    let (_, session) = stream.get_ref();
                    let certificate = session
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|certificate| certificate.to_vec());
                    *keep.lock().unwrap() = certificate;
                }
            }
        });
        AnyClientCertificate {
            port: addr.port(),
            received,
            runtime: Some(runtime),
        }
    }

    /// The client certificate the last handshake brought, DER; waits up to two seconds for
    /// a handshake to finish on the server's side.
    pub fn received(&self) -> Option<Vec<u8>> {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let received = self.received.lock().unwrap().clone();
            if received.is_some() || std::time::Instant::now() >= deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for AnyClientCertificate {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// Takes any client certificate and any handshake signature: rustls's own signature check
/// parses the certificate with webpki, which refuses version 1, and this server stands for
/// the stacks (Go's, OpenSSL's) that do not.
#[derive(Debug)]
struct TakesAny(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for TakesAny {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &rustls::pki_types::CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &rustls::pki_types::CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl LoopbackServer {
    /// A server of the schema in `descriptor_set` (an encoded FileDescriptorSet, options kept)
    /// that answers every call with its request, message for message: any method whose input
    /// and output are the same type works. It serves reflection v1 and v1alpha of that schema,
    /// through the demo's reflection service (which keeps method options, so a schema's
    /// `google.api.http` rules reach the client).
    pub fn echoing(descriptor_set: &[u8]) -> LoopbackServer {
        use grpcx::demo::reflection::{Reflection, ReflectionIndex};
        use tonic_reflection::pb::{v1, v1alpha};
        let index = std::sync::Arc::new(ReflectionIndex::new(&[descriptor_set]).unwrap());
        let reflection = tonic::service::Routes::new(
            v1::server_reflection_server::ServerReflectionServer::new(Reflection::new(
                index.clone(),
            )),
        )
        .add_service(
            v1alpha::server_reflection_server::ServerReflectionServer::new(Reflection::new(index)),
        );
        let router = reflection.into_axum_router().fallback(echo_call);
        LoopbackServer::start(tonic::service::Routes::from(router))
    }
}

/// A gRPC call answered with its own request frames, then OK.
async fn echo_call(request: axum::extract::Request) -> axum::response::Response {
    use http_body_util::BodyExt as _;
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    let mut trailers = axum::http::HeaderMap::new();
    trailers.insert("grpc-status", axum::http::HeaderValue::from_static("0"));
    let frames = vec![
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(body)),
        Ok(hyper::body::Frame::trailers(trailers)),
    ];
    let body = http_body_util::StreamBody::new(tokio_stream::iter(frames));
    let mut response = axum::response::Response::new(axum::body::Body::new(body));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/grpc"),
    );
    response
}
