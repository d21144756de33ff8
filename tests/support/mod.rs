//! What every test binary shares (`cli`, `interop`, `load`): running the real grpcx binary with
//! nothing from the user's environment, bounded in time; interactive grpcx processes; the demo
//! server in process and as a child process; other loopback servers; a real terminal; a
//! headless browser; and grpcx run in this process for the checks that need no child.
//!
//! Every process started here is bounded in time and killed when its handle is dropped, and
//! every temporary directory is removed with the handle that owns it. Each test binary uses a
//! part of this, so the rest is unused there.
#![allow(dead_code, unused_imports)]

mod browser;
mod gateway;
mod proxy;
mod servers;
mod terminal;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

pub use browser::{Browser, SeenRequest};
pub use gateway::{Answer, BodySender, EXCHANGE_LIMIT, Gateway, LIBRARY_PROTO, Open};
pub use proxy::PingCounter;
pub use servers::{
    AnyClientCertificate, DemoProcess, Http1Server, IgnoringServer, LoopbackServer, TestServer,
};
pub use terminal::{TerminalSession, run_on_terminal, run_with_stderr_on_terminal};

/// The longest any one grpcx run may take in a test.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A private home for grpcx runs: the descriptor cache, and a config file that does not
/// exist. Removed on drop, so keep it until the runs that use it have ended.
pub struct Home(tempfile::TempDir);

impl Home {
    pub fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The grpcx binary living here (see `grpcx_command`).
    pub fn command(&self) -> Command {
        grpcx_command(self.path())
    }

    /// `grpcx --addr ADDR ARGS…` living here, not started.
    pub fn client(&self, addr: &str, args: &[&str]) -> Command {
        let mut command = self.command();
        command.args(["--addr", addr]).args(args);
        command
    }
}

/// The grpcx binary with nothing from the user's environment: no address, no profile, no
/// config file, no colour preference, and the descriptor cache in `home`.
pub fn grpcx_command(home: &Path) -> Command {
    let mut command = Command::cargo_bin("grpcx").unwrap();
    command
        .env_remove("GRPCX_ADDR")
        .env_remove("GRPCX_PROFILE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("GRPCX_CONFIG", home.join("no-config.toml"))
        .env("GRPCX_CACHE_DIR", home);
    command
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
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("{line:?}: {err}\n{self:#?}"))
            })
            .collect()
    }

    /// The one JSON value on stdout, after asserting success.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        self.ok();
        let mut lines = self.json_lines();
        assert_eq!(lines.len(), 1, "one answer expected: {self:#?}");
        lines.remove(0)
    }
}

/// Runs `command` to its end with `stdin`, killing it after [`RUN_LIMIT`].
pub fn run_command(command: Command, stdin: Option<&str>) -> Run {
    let mut bounded = assert_cmd::Command::from_std(command);
    bounded.timeout(RUN_LIMIT);
    if let Some(stdin) = stdin {
        bounded.write_stdin(stdin.to_string());
    }
    let output = bounded.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs grpcx with `args` in a home of its own.
pub fn run<S: AsRef<OsStr>>(args: &[S], stdin: Option<&str>) -> Run {
    let home = Home::new();
    run_in(args, stdin, home.path())
}

/// Runs grpcx with `args` in `home`.
pub fn run_in<S: AsRef<OsStr>>(args: &[S], stdin: Option<&str>, home: &Path) -> Run {
    let mut command = grpcx_command(home);
    command.args(args);
    run_command(command, stdin)
}

/// Runs grpcx in this process, as `main` does, its output captured: for checks that end
/// before anything is connected (usage errors), each its own test without a child process.
/// The process's environment is the test's: give `--addr` explicitly.
pub fn run_in_process(args: &[&str]) -> Run {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let (out, err) = (stdout.clone(), stderr.clone());
    let code = grpcx::run(std::iter::once("grpcx").chain(args.iter().copied()), |_| {
        grpcx::output::Printer::new(Box::new(out), Box::new(err), Default::default())
    });
    let text = |captured: Captured| {
        String::from_utf8_lossy(
            &captured
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
        .into_owned()
    };
    Run {
        code: i32::from(code),
        stdout: text(stdout),
        stderr: text(stderr),
    }
}

/// A grpcx process with piped stdin and stdout, for a conversation; killed on drop.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Interactive {
    pub fn spawn(mut command: Command) -> Interactive {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let lines = read_lines(child.stdout.take().unwrap());
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
        wait_for(&mut self.child, limit).map(|status| status.code().unwrap_or(-1))
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

/// The lines of `pipe`, read on a thread of their own so that the child never blocks on a
/// full pipe.
pub fn read_lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// The exit status, waiting at most `limit`; `None` while it still runs.
pub fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// The exit code, waiting at most `limit`; `None` (and the process killed) after it.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    match wait_for(child, limit) {
        Some(status) => Some(status.code().unwrap_or(-1)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// Sends SIGINT, as Ctrl-C does.
pub fn interrupt(child: &Child) {
    signal(child.id(), "INT");
}

/// Sends the signal `name` (`INT`, `TERM`) to process `pid`.
pub fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// The property that the descriptor cache never changes an answer: `methods` (full names,
/// `pkg.Service.Method`) are called in the three spellings a user types (`pkg.Service/Method`,
/// `Service/Method`, `Method`) with the empty request (no DATA, an empty stdin). Each call, made
/// right after any one method was called (from a cold cache, so that the cache holds exactly
/// what that call kept), answers exactly (exit code and stdout) as the same call with
/// `--no-cache`, against the server at `addr`.
pub fn assert_the_cache_changes_no_answer(addr: &str, methods: &[String]) {
    let grpcx =
        |words: &[&str], home: &Path| run_in(&[&["--addr", addr][..], words].concat(), None, home);
    let mut calls = Vec::new();
    for method in methods {
        let (service, name) = method.rsplit_once('.').unwrap();
        let short = service.rsplit('.').next().unwrap();
        calls.push(format!("{service}/{name}"));
        calls.push(format!("{short}/{name}"));
        calls.push(name.to_string());
    }
    let call = |method: &str, extra: &[&str], home: &Path| {
        let words = [&["--max-time", "10s"][..], extra, &["call", method]].concat();
        let run = grpcx(&words, home);
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        (run.code, run.stdout)
    };
    let reference_home = Home::new();
    let reference: Vec<(i32, String)> = calls
        .iter()
        .map(|method| call(method, &["--no-cache"], reference_home.path()))
        .collect();
    let check_after = |first: usize| {
        for (second, expected) in calls.iter().zip(&reference) {
            let home = Home::new();
            assert_eq!(call(&calls[first], &[], home.path()), reference[first]);
            assert_eq!(
                call(second, &[], home.path()),
                *expected,
                "{second}, with what a call of {} cached, answers otherwise than without a cache",
                calls[first]
            );
        }
    };
    // Both cores: the pairs after each full-name call, half on each.
    let firsts: Vec<usize> = (0..calls.len()).step_by(3).collect();
    let (one, other) = firsts.split_at(firsts.len() / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| one.iter().for_each(|&first| check_after(first)));
        other.iter().for_each(|&first| check_after(first));
    });
}
