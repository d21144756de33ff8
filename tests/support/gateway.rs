//! `grpcx gateway` as a child process on a free loopback port, with an HTTP client for it
//! (hyper's): whole answers, answers read a line at a time as they come, bodies sent a piece
//! at a time. Shared by the gateway's tests against the demo (`tests/cli/`) and against other
//! stacks' servers (`tests/interop/`).

use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::{Home, TestServer, read_lines};

/// How long any one HTTP exchange may take before the test fails.
pub const EXCHANGE_LIMIT: Duration = Duration::from_secs(15);

/// A request body that is sent as it is written: for streams of requests.
pub type Streamed = StreamBody<
    tokio_stream::wrappers::ReceiverStream<Result<Frame<Bytes>, std::convert::Infallible>>,
>;

/// Where the pieces of a `Streamed` body are written.
pub type BodySender = tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>;

/// The arguments that read the gateway's routing fixture (`fixtures/gateway/library.proto`).
pub const LIBRARY_PROTO: &[&str] = &[
    "--import-path",
    "fixtures/gateway",
    "--import-path",
    "proto",
    "--proto",
    "library.proto",
];

/// A `grpcx gateway` process on a free loopback port, and an HTTP client for it; the process
/// is killed on drop.
pub struct Gateway {
    pub child: Child,
    /// `127.0.0.1:PORT`, as the ready line says.
    pub addr: String,
    /// What it printed before the ready line (warnings), then its access log.
    pub early: Vec<String>,
    pub log: mpsc::Receiver<String>,
    pub runtime: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
    streaming_client: Client<HttpConnector, Streamed>,
    /// HTTP/2 without TLS (h2c), with prior knowledge.
    h2_client: Client<HttpConnector, Full<Bytes>>,
    /// The gateway's own home (its descriptor cache), when no test server lends one.
    _home: Option<Home>,
}

impl Gateway {
    pub fn start(server: &TestServer, args: &[&str]) -> Gateway {
        Gateway::spawn(server.command(&Gateway::args(args)), None)
    }

    /// A gateway in front of the server at `addr`.
    pub fn start_at(addr: &str, args: &[&str]) -> Gateway {
        let home = Home::new();
        Gateway::spawn(home.client(addr, &Gateway::args(args)), Some(home))
    }

    pub fn args<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["gateway", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        all
    }

    pub fn spawn(mut command: std::process::Command, home: Option<Home>) -> Gateway {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = read_lines(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut early = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = log.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the gateway never said it was ready; it said {early:?}");
            };
            if let Some((_, rest)) = line.split_once("listening on http://") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            early.push(line);
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (client, streaming_client, h2_client) = {
            let _entered = runtime.enter();
            (
                Client::builder(TokioExecutor::new()).build_http(),
                Client::builder(TokioExecutor::new()).build_http(),
                Client::builder(TokioExecutor::new())
                    .http2_only(true)
                    .build_http(),
            )
        };
        Gateway {
            child,
            addr,
            early,
            log,
            runtime,
            client,
            streaming_client,
            h2_client,
            _home: home,
        }
    }

    fn http_request<B>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: B,
    ) -> hyper::Request<B> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .body(body)
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                // from_bytes: a test may send what is not printable ASCII.
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        request
    }

    /// One request, answered in full.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        self.runtime
            .block_on(self.exchange(method, path, headers, body))
    }

    /// One request over HTTP/2 (h2c), answered in full.
    pub fn request_h2(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let request = self.http_request(
            method,
            path,
            headers,
            Full::new(Bytes::from(body.to_string())),
        );
        self.runtime
            .block_on(self.send_over(&self.h2_client, hyper::Version::HTTP_2, request))
    }

    /// One HTTP/1.1 request, answered in full when the returned future is run.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let request = self.http_request(
            method,
            path,
            headers,
            Full::new(Bytes::from(body.to_string())),
        );
        self.send_over(&self.client, hyper::Version::HTTP_11, request)
    }

    /// Sends `request` with `client`, whose answer must come in `version`.
    fn send_over(
        &self,
        client: &Client<HttpConnector, Full<Bytes>>,
        version: hyper::Version,
        mut request: hyper::Request<Full<Bytes>>,
    ) -> impl std::future::Future<Output = Answer> + Send + 'static {
        *request.version_mut() = version;
        let sent = {
            let _entered = self.runtime.enter();
            client.request(request)
        };
        async move {
            let response = tokio::time::timeout(EXCHANGE_LIMIT, sent)
                .await
                .expect("an answer in time")
                .unwrap();
            assert_eq!(response.version(), version);
            Answer::read(response).await
        }
    }

    /// The gateway's token, as its `/ui` page carries it for the page's calls.
    pub fn token(&self) -> String {
        let page = self.get("/ui");
        assert_eq!(page.status, 200, "{page:?}");
        let (_, rest) = page
            .body
            .split_once(r#"<meta name="grpcx-token" content=""#)
            .expect("the page carries the token");
        rest.split('"').next().unwrap().to_string()
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], "")
    }

    pub fn post(&self, path: &str, body: &str) -> Answer {
        self.request("POST", path, &[("Content-Type", "application/json")], body)
    }

    /// Sends a request and hands back its answer as it comes, for reading a line at a time;
    /// dropping it closes the connection.
    pub fn open(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Open {
        let request = self.http_request(method, path, headers, Full::new(Bytes::new()));
        let response = self
            .runtime
            .block_on(async {
                tokio::time::timeout(EXCHANGE_LIMIT, self.client.request(request)).await
            })
            .expect("an answer in time")
            .unwrap();
        Open::new(response)
    }

    /// A request whose body is sent a piece at a time, through the returned sender, and whose
    /// answer is read as it comes.
    pub fn duplex(
        &self,
        path: &str,
    ) -> (
        BodySender,
        tokio::task::JoinHandle<hyper::Response<Incoming>>,
    ) {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
        let request = self.http_request("POST", path, &[], body);
        let _entered = self.runtime.enter();
        let sent = self.streaming_client.request(request);
        let answer = self.runtime.spawn(async move { sent.await.unwrap() });
        (sender, answer)
    }

    /// The next access-log line, waiting a little.
    pub fn next_log_line(&self) -> String {
        self.log
            .recv_timeout(Duration::from_secs(10))
            .expect("an access-log line")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer being read a line at a time.
pub struct Open {
    pub status: u16,
    body: Incoming,
    buffered: String,
    runtime: tokio::runtime::Runtime,
}

impl Open {
    pub fn new(response: hyper::Response<Incoming>) -> Open {
        Open {
            status: response.status().as_u16(),
            body: response.into_body(),
            buffered: String::new(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// The next line of the body; `None` at its end.
    pub fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some((line, rest)) = self.buffered.split_once('\n') {
                let line = line.to_string();
                self.buffered = rest.to_string();
                return Some(line);
            }
            let frame = self
                .runtime
                .block_on(async { tokio::time::timeout(EXCHANGE_LIMIT, self.body.frame()).await })
                .expect("a frame in time")?
                .unwrap();
            if let Ok(data) = frame.into_data() {
                self.buffered.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

/// An HTTP response, read to its end.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub trailers: Option<HeaderMap>,
}

impl Answer {
    pub async fn read(response: hyper::Response<Incoming>) -> Answer {
        let (parts, body) = response.into_parts();
        let collected = tokio::time::timeout(EXCHANGE_LIMIT, body.collect())
            .await
            .expect("the whole body in time")
            .unwrap();
        let trailers = collected.trailers().cloned();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            trailers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {} {}", self.status, self.body))
    }

    /// The NDJSON records of a streamed body.
    pub fn records(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `status`, and a JSON `google.rpc.Status` body with `code`.
    pub fn expect_status(&self, status: u16, code: i64) -> &Answer {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.json()["code"], code, "{self:?}");
        self
    }

    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap().to_string()
    }
}
