//! A real terminal for a grpcx process: a new pseudo-terminal as its stdout, so that what a
//! person at a terminal sees is tested as it is, with no test-only switch in grpcx.

use std::io::Read as _;
use std::process::{Command, Stdio};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

use super::{RUN_LIMIT, wait_bounded};

/// Runs `command` with its stdout on a new pseudo-terminal; returns the exit code (`None` when
/// it had to be killed) and what it wrote there, line ends as `\n`.
pub fn run_on_terminal(mut command: Command) -> (Option<i32>, String) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    command
        .stdin(Stdio::null())
        .stdout(terminal)
        .stderr(Stdio::null());
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
