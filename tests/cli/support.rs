//! Test servers and a bounded way to run the binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use grpcx::demo::{DemoServer, RequestLog, ServeOptions, ServerTls};
use grpcx::transport::ListenAddr;

/// The longest any one grpcx run may take in a test.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A demo server on its own runtime, on a fresh loopback port; stopped on drop.
pub struct TestServer {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<DemoServer>,
    /// The address as `--addr` takes it.
    pub addr: String,
    /// The calls the server received.
    pub log: RequestLog,
    /// Each server has its own descriptor cache, so that a port reused by another test's
    /// server never finds an entry of this one.
    cache: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()), None)
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
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// `grpcx --addr <this server> ARGS…`
    pub fn grpcx(&self, args: &[&str]) -> Run {
        let mut all = vec!["--addr".to_string(), self.addr.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        run_in(&all, None, self.cache.path())
    }

    /// The same, with `stdin` as standard input.
    pub fn grpcx_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut all = vec!["--addr".to_string(), self.addr.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        run_in(&all, Some(stdin), self.cache.path())
    }

    /// `grpcx --addr <this server> ARGS…` with piped stdin and stdout, for interactive streams.
    pub fn interactive(&self, args: &[&str]) -> Interactive {
        let mut all = vec!["--addr".to_string(), self.addr.clone()];
        all.extend(args.iter().map(|a| a.to_string()));
        Interactive::spawn(&all)
    }

    /// The descriptor cache directory of the grpcx runs against this server.
    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache.path()
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

/// Any tonic services on a loopback port, on a runtime of their own; stopped on drop.
pub struct LoopbackServer {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub addr: std::net::SocketAddr,
}

impl LoopbackServer {
    pub fn start(routes: tonic::service::Routes) -> LoopbackServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
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

/// What one run of grpcx did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "grpcx failed: {self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        &self.stdout
    }

    /// Asserts the exit code, that stderr mentions each of `needles`, and that nothing panicked.
    #[track_caller]
    pub fn fails(&self, code: i32, needles: &[&str]) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {self:#?}"
            );
        }
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }

    /// stdout as JSON values, one a line.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line:?}: {err}")))
            .collect()
    }
}

/// Runs grpcx with `args`, killing it after [`RUN_LIMIT`].
pub fn run(args: &[String], stdin: Option<&str>) -> Run {
    let cache = tempfile::tempdir().unwrap();
    run_in(args, stdin, cache.path())
}

/// Runs grpcx with `args` and the descriptor cache in `cache`.
pub fn run_in(args: &[String], stdin: Option<&str>, cache: &std::path::Path) -> Run {
    let mut command = grpcx_command();
    command.args(args).env("GRPCX_CACHE_DIR", cache);
    let mut assert = assert_cmd::Command::from_std(command);
    assert.timeout(RUN_LIMIT);
    assert.env_remove("GRPCX_ADDR");
    if let Some(stdin) = stdin {
        assert.write_stdin(stdin.to_string());
    }
    let output = assert.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The grpcx binary, with no address from the environment and a descriptor cache of its own
/// (under the system's temporary directory), never the user's.
pub fn grpcx_command() -> Command {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = std::env::temp_dir().join(format!("grpcx-tests-{}-{run}", std::process::id()));
    let mut command = Command::cargo_bin("grpcx").unwrap();
    command
        .env_remove("GRPCX_ADDR")
        .env_remove("GRPCX_PROFILE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("GRPCX_CACHE_DIR", cache);
    command
}

/// A grpcx process with piped stdin and stdout, for interactive streams; killed on drop.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Interactive {
    pub fn spawn(args: &[String]) -> Interactive {
        let mut child = grpcx_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Interactive {
            child,
            stdin,
            lines,
        }
    }

    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line, waiting at most `limit`.
    pub fn next_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for the exit code, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        self.kill();
    }
}

/// grpcx against `server` with piped stdout and stderr, stdin closed.
pub fn spawn_piped(server: &TestServer, args: &[&str]) -> std::process::Child {
    grpcx_command()
        .arg("--addr")
        .arg(&server.addr)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The exit code, waiting at most `limit`; None (and the process killed) after it.
pub fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Sends SIGINT, as Ctrl-C does.
pub fn interrupt(child: &std::process::Child) {
    interrupt_pid(child.id());
}

pub fn interrupt_pid(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits (bounded) until the server notes an event starting with `prefix`.
pub fn wait_for_event(server: &TestServer, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(event) = server
            .log
            .events()
            .into_iter()
            .find(|e| e.starts_with(prefix))
        {
            return event;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "the server never noted {prefix:?}: {:?}",
        server.log.events()
    );
}

/// Runs grpcx with its stdout on a new pseudo-terminal, as a person at a terminal sees it,
/// with `env` set; returns the exit code and what it wrote there (line ends as `\n`).
pub fn run_on_terminal(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut command = grpcx_command();
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(terminal)
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    // Only the child holds the terminal now: reading ends (EIO) when it exits.
    drop(command);
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0_u8; 4096];
        while let Ok(read) = std::io::Read::read(&mut master, &mut buffer) {
            if read == 0 {
                break;
            }
            seen.extend_from_slice(&buffer[..read]);
        }
        seen
    });
    let code = wait_bounded(&mut child, RUN_LIMIT);
    let seen = reader.join().unwrap();
    (code, String::from_utf8_lossy(&seen).replace("\r\n", "\n"))
}
