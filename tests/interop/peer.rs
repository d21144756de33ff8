//! The peers: the interop service served by another gRPC stack, installed from its package
//! registry into the cargo target directory on first use, started once per test process and
//! shared by that stack's tests.
//!
//! Installs are keyed by a hash of the pinned package lists and the interpreter's version, and
//! kept under `target/tmp/interop/`, so only the first run pays for them. Any install failure
//! fails the stack's tests, a registry that cannot be reached said as such.
//!
//! A server lives until its standard input closes, which the operating system does when the test
//! process ends however it ends, or until its own time limit: the servers sit in statics, which
//! Rust never drops.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::support::{Home, Interactive, Run, run_command};

/// The longest an install (a virtual environment and pip, or npm ci) may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);
/// The longest code generation may take.
const GENERATE_LIMIT: Duration = Duration::from_secs(120);
/// The longest a server may take to print its port.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The schema's import root, and its files.
pub const SCHEMA_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/interop");
pub const SCHEMA_FILES: [&str; 4] = [
    "interop/v1/service.proto",
    "interop/v1/scalars.proto",
    "interop/v1/well_known.proto",
    "interop/v1/shared/common.proto",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// grpcio (the C core) with grpcio-reflection, from PyPI.
    Python,
    /// @grpc/grpc-js with @grpc/reflection and @grpc/proto-loader, from npm.
    Node,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::Python => "python",
            Stack::Node => "node",
        }
    }

    /// How the server names its stack in WhoAmI answers and error details.
    pub fn stack_prefix(self) -> &'static str {
        match self {
            Stack::Python => "grpcio-python ",
            Stack::Node => "grpc-js ",
        }
    }
}

/// A running peer server.
pub struct Peer {
    pub stack: Stack,
    /// The address as `--addr` takes it.
    pub addr: String,
    /// Each peer's clients have a home of their own, never the user's.
    home: Home,
    /// The Python peer's environment, which also holds the suite's Python tools
    /// (`openapi-spec-validator`); `None` for the other peers.
    pub python_env: Option<PathBuf>,
    // Held so that the server runs until this process ends; see the module's comment.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

enum Setup {
    Ready(Peer),
    /// The package registry could not be reached.
    Unreachable(String),
    Failed(String),
}

/// The peer of `stack`, set up on first use. The suite runs only when asked for
/// (`--include-ignored`), so a peer that cannot be set up fails every test of its stack,
/// saying whether its package registry could not be reached.
pub fn peer(stack: Stack) -> &'static Peer {
    static PYTHON: OnceLock<Setup> = OnceLock::new();
    static NODE: OnceLock<Setup> = OnceLock::new();
    let cell = match stack {
        Stack::Python => &PYTHON,
        Stack::Node => &NODE,
    };
    match cell.get_or_init(|| setup(stack)) {
        Setup::Ready(peer) => peer,
        Setup::Failed(why) => panic!("interop {}: setup failed: {why}", stack.name()),
        Setup::Unreachable(why) => panic!(
            "interop {}: the package registry cannot be reached, so the peer cannot be installed: {why}",
            stack.name()
        ),
    }
}

fn setup(stack: Stack) -> Setup {
    let result = match stack {
        Stack::Python => setup_python(),
        Stack::Node => setup_node(),
    };
    match result {
        Ok(peer) => Setup::Ready(peer),
        Err(Failure::Unreachable(why)) => Setup::Unreachable(why),
        Err(Failure::Other(why)) => Setup::Failed(why),
    }
}

enum Failure {
    Unreachable(String),
    Other(String),
}

impl From<&str> for Failure {
    fn from(why: &str) -> Failure {
        Failure::Other(why.to_string())
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure::Other(why)
    }
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop")
}

fn here(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn setup_python() -> Result<Peer, Failure> {
    let requirements = here("tests/interop/python/requirements.txt");
    let python = std::env::var("GRPCX_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let version = tool_version(&python, "--version")?;
    let key = fingerprint(&[&read(&requirements)?, version.as_bytes()]);
    let venv = installed(&format!("python-{key}"), |dir| {
        let out = run_bounded(
            Command::new(&python).arg("-m").arg("venv").arg(dir),
            INSTALL_LIMIT,
        )?;
        check(&out, "python3 -m venv")?;
        let out = run_bounded(
            Command::new(dir.join("bin/python"))
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(["--no-input", "--timeout", "30", "--retries", "2"])
                .args(["--only-binary", ":all:", "-r"])
                .arg(&requirements),
            INSTALL_LIMIT,
        )?;
        if !out.ok && is_network_failure(&out.text) {
            return Err(Failure::Unreachable(network_evidence(&out.text)));
        }
        check(&out, "pip install -r tests/interop/python/requirements.txt")?;
        Ok(())
    })?;
    let python = venv.join("bin/python");

    // Code generated at test time by grpcio-tools, as a Python project does; kept beside the
    // installs, keyed by them and the schema, so that it is made once and never left behind.
    let mut parts = vec![key.into_bytes()];
    for file in SCHEMA_FILES {
        parts.push(read(&Path::new(SCHEMA_ROOT).join(file))?);
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let generated = installed(
        &format!("python-generated-{}", fingerprint(&parts)),
        |dir| {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let out = run_bounded(
                Command::new(&python)
                    .args(["-m", "grpc_tools.protoc", "-I", SCHEMA_ROOT])
                    .arg(format!("--python_out={}", dir.display()))
                    .arg(format!("--grpc_python_out={}", dir.display()))
                    .args(SCHEMA_FILES),
                GENERATE_LIMIT,
            )?;
            check(&out, "grpc_tools.protoc")
        },
    )?;

    let mut command = Command::new(&python);
    command
        .arg("-u")
        .arg(here("tests/interop/python/server.py"))
        .arg(&generated);
    let mut peer = start(Stack::Python, command)?;
    peer.python_env = Some(venv);
    Ok(peer)
}

fn setup_node() -> Result<Peer, Failure> {
    let manifest = here("tests/interop/node/package.json");
    let lock = here("tests/interop/node/package-lock.json");
    let node = std::env::var("GRPCX_INTEROP_NODE").unwrap_or_else(|_| "node".into());
    let version = tool_version(&node, "--version")?;
    let npm_version = tool_version("npm", "--version")?;
    let key = fingerprint(&[
        &read(&manifest)?,
        &read(&lock)?,
        version.as_bytes(),
        npm_version.as_bytes(),
    ]);
    let folder = installed(&format!("node-{key}"), |dir| {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        for file in [&manifest, &lock] {
            let name = file.file_name().unwrap_or_default();
            std::fs::copy(file, dir.join(name)).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        let out = run_bounded(
            Command::new("npm")
                .args([
                    "ci",
                    "--prefer-offline",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                ])
                .args(["--fetch-timeout=30000", "--fetch-retries=2"])
                .current_dir(dir),
            INSTALL_LIMIT,
        )?;
        if !out.ok && is_network_failure(&out.text) {
            return Err(Failure::Unreachable(network_evidence(&out.text)));
        }
        check(&out, "npm ci in a copy of tests/interop/node/")?;
        Ok(())
    })?;

    let mut command = Command::new(&node);
    command
        .arg(here("tests/interop/node/server.js"))
        .arg(SCHEMA_ROOT)
        .env("NODE_PATH", folder.join("node_modules"));
    start(Stack::Node, command)
}

/// The folder `name` under the interop directory, made by `install` unless a finished one is
/// there. Each install goes to a folder of its own and is renamed into place when complete, so
/// that test processes running at once never see a half-made one.
fn installed(
    name: &str,
    install: impl FnOnce(&Path) -> Result<(), Failure>,
) -> Result<PathBuf, Failure> {
    let root = interop_dir();
    let done = root.join(name);
    let stamp = |dir: &Path| dir.join(".grpcx-interop-complete");
    if stamp(&done).exists() {
        return Ok(done);
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let partial = root.join(format!("{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let result = install(&partial).and_then(|()| {
        std::fs::write(stamp(&partial), name).map_err(|e| Failure::Other(e.to_string()))
    });
    if let Err(failure) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(failure);
    }
    if std::fs::rename(&partial, &done).is_err() {
        // Another process finished first, or a broken folder is in the way.
        let _ = std::fs::remove_dir_all(&partial);
        if !stamp(&done).exists() {
            return Err(Failure::Other(format!(
                "{} is in the way and incomplete: remove it",
                done.display()
            )));
        }
    }
    Ok(done)
}

/// Starts a server, waits for the port it prints, and checks that it accepts connections.
fn start(stack: Stack, mut command: Command) -> Result<Peer, Failure> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the {} server: {e}", stack.name()))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    // The server's stderr goes to the test's, where a failed test shows it.
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        if !text.is_empty() {
            eprint!("[{} server stderr]\n{text}", stack.name());
        }
    });
    let line = match receiver.recv_timeout(START_LIMIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Other(format!(
                "the {} server printed no port within {START_LIMIT:?}",
                stack.name()
            )));
        }
    };
    let Ok(port) = line.trim().parse::<u16>() else {
        let _ = child.kill();
        let status = child.wait().ok();
        return Err(Failure::Other(format!(
            "the {} server printed {line:?} instead of its port (exit: {status:?})",
            stack.name()
        )));
    };
    Ok(Peer {
        stack,
        addr: format!("127.0.0.1:{port}"),
        home: Home::new(),
        python_env: None,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    })
}

/// What a bounded run printed, stdout and stderr together.
struct Output {
    ok: bool,
    text: String,
}

fn run_bounded(command: &mut Command, limit: Duration) -> Result<Output, Failure> {
    let shown = format!("{command:?}");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log_path = dir.path().join("output");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(if is_network_failure(&text) {
                Failure::Unreachable(format!("timed out: {}", network_evidence(&text)))
            } else {
                Failure::Other(format!(
                    "{shown} did not finish within {limit:?}:\n{}",
                    last_lines(&text)
                ))
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    Ok(Output {
        ok: status.success(),
        text: format!("{shown}: {status}\n{text}"),
    })
}

fn check(out: &Output, what: &str) -> Result<(), Failure> {
    if out.ok {
        Ok(())
    } else {
        Err(Failure::Other(format!("{what} failed:\n{}", out.text)))
    }
}

/// Whether a client's output says that it could not reach its registry (and not that the
/// registry said no).
fn is_network_failure(text: &str) -> bool {
    NETWORK_MARKERS.iter().any(|marker| text.contains(marker))
}

const NETWORK_MARKERS: [&str; 19] = [
    // pip (urllib3, requests)
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "No route to host",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "Connection refused",
    "Connection reset by peer",
    // npm
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "npm error network",
];

/// The first line of a client's output that shows the network failing.
fn network_evidence(text: &str) -> String {
    let line = text
        .lines()
        .find(|line| NETWORK_MARKERS.iter().any(|marker| line.contains(marker)))
        .unwrap_or_default()
        .trim();
    line.chars().take(300).collect()
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

fn tool_version(tool: &str, flag: &str) -> Result<String, Failure> {
    let out = Command::new(tool)
        .arg(flag)
        .output()
        .map_err(|e| format!("`{tool}` is needed for the interop suite: {e}"))?;
    if !out.status.success() {
        return Err(Failure::Other(format!("`{tool} {flag}` failed")));
    }
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

/// FNV-1a over the parts: stable across Rust versions, unlike `DefaultHasher`.
fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

impl Peer {
    /// `grpcx --addr <this peer> ARGS…`
    pub fn grpcx(&self, args: &[&str]) -> Run {
        self.grpcx_stdin(args, None)
    }

    /// The same, with `stdin` as standard input.
    pub fn grpcx_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run_command(self.command(args), stdin)
    }

    /// `grpcx --addr <this peer> ARGS…`, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        self.home.client(&self.addr, args)
    }

    /// `grpcx --addr <this peer> ARGS…` with one more environment variable.
    pub fn grpcx_env(&self, args: &[&str], (key, value): (&str, &str)) -> Run {
        let mut command = self.command(args);
        command.env(key, value);
        run_command(command, None)
    }

    /// `grpcx --addr <this peer> ARGS…` with piped stdin and stdout, killed on drop.
    pub fn interactive(&self, args: &[&str]) -> Interactive {
        Interactive::spawn(self.command(args))
    }
}

/// grpcx reading the schema from the fixture files, with no server: the oracle that what a
/// peer's reflection serves is compared with.
pub fn grpcx_from_files(args: &[&str]) -> Run {
    let home = Home::new();
    let mut command = home.command();
    command.args(["--import-path", SCHEMA_ROOT]);
    for file in SCHEMA_FILES {
        command.args(["--proto", file]);
    }
    command.args(args);
    run_command(command, None)
}
