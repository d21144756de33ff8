//! A real terminal for a grpcx process: a new pseudo-terminal as its stdout, so that what a
//! person at a terminal sees is tested as it is, with no test-only switch in grpcx.

use std::io::Read as _;
use std::process::{Command, Stdio};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

use super::{RUN_LIMIT, wait_bounded};

/// Runs `command` with its stdout on a new pseudo-terminal; returns the exit code (`None` when
/// it had to be killed) and what it wrote there, line ends as `\n`.
pub fn run_on_terminal(command: Command) -> (Option<i32>, String) {
    on_terminal(command, false)
}

/// Runs `command` with its stderr on a new pseudo-terminal (stdout goes nowhere), as a person
/// watches a command whose output is redirected; the exit code and what it wrote there.
pub fn run_with_stderr_on_terminal(command: Command) -> (Option<i32>, String) {
    on_terminal(command, true)
}

fn on_terminal(mut command: Command, stderr: bool) -> (Option<i32>, String) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    command.stdin(Stdio::null());
    if stderr {
        command.stdout(Stdio::null()).stderr(terminal);
    } else {
        command.stdout(terminal).stderr(Stdio::null());
    }
    let mut child = command.spawn().unwrap();
    // Only the child holds the terminal now: reading ends (EIO) when it exits.
    drop(command);
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0_u8; 4096];
        while let Ok(read) = master.read(&mut buffer) {
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

/// A grpcx process at a terminal that a test types into: its stdin, stdout and stderr are one
/// new pseudo-terminal, as a person's would be. Killed on drop.
pub struct TerminalSession {
    child: std::process::Child,
    keyboard: std::fs::File,
    screen: std::sync::mpsc::Receiver<Vec<u8>>,
    /// Everything shown so far, line ends as `\n` (typed text is echoed, as at a terminal).
    pub seen: String,
}

impl TerminalSession {
    pub fn spawn(mut command: Command) -> TerminalSession {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let terminal = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(name.to_str().unwrap())
                .unwrap()
        };
        command
            .stdin(terminal())
            .stdout(terminal())
            .stderr(terminal());
        let child = command.spawn().unwrap();
        drop(command);
        let mut master = std::fs::File::from(master);
        let keyboard = master.try_clone().unwrap();
        let (sender, screen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            while let Ok(read) = master.read(&mut buffer) {
                if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                    break;
                }
            }
        });
        TerminalSession {
            child,
            keyboard,
            screen,
            seen: String::new(),
        }
    }

    /// Types `text` (`\n` is Enter, `\x04` at a line's start is Ctrl-D).
    pub fn type_text(&mut self, text: &str) {
        use std::io::Write as _;
        self.keyboard.write_all(text.as_bytes()).unwrap();
        self.keyboard.flush().unwrap();
    }

    /// Waits (bounded) until the screen shows `needle` after what was seen before; panics with
    /// what it showed otherwise.
    pub fn wait_for(&mut self, needle: &str) {
        let from = self.seen.len();
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        while !self.seen[from..].contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(bytes) => self
                    .seen
                    .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                Err(_) => panic!(
                    "the terminal never showed {needle:?}; it showed {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The exit code, waiting at most `limit`.
    pub fn wait(&mut self, limit: std::time::Duration) -> Option<i32> {
        wait_bounded(&mut self.child, limit)
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
