//! A TCP proxy on loopback that counts the HTTP/2 PING frames a client sends through it, so
//! that a test sees keepalive pings on the wire rather than trusting a flag. Plaintext (h2c)
//! only; stopped on drop.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The client connection preface every HTTP/2 client sends first (RFC 9113, 3.4).
const PREFACE_LENGTH: usize = 24;
/// An HTTP/2 frame header: length (3), type (1), flags (1), stream (4).
const FRAME_HEADER_LENGTH: usize = 9;
const PING: u8 = 0x6;
const ACK: u8 = 0x1;

pub struct PingCounter {
    /// The address as `--addr` takes it.
    pub addr: String,
    pings: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
}

impl PingCounter {
    /// A proxy to `upstream` (`HOST:PORT`) on a free loopback port.
    pub fn start(upstream: &str) -> PingCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let pings = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let (counted, stop, upstream) = (pings.clone(), stopped.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else {
                    continue;
                };
                proxy(client, server, counted.clone());
            }
        });
        PingCounter {
            addr,
            pings,
            stopped,
        }
    }

    /// The PING frames (not acknowledgements) clients sent so far.
    pub fn pings(&self) -> usize {
        self.pings.load(Ordering::SeqCst)
    }
}

impl Drop for PingCounter {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// Copies both ways on threads of their own, counting the client's PING frames.
fn proxy(client: TcpStream, server: TcpStream, pings: Arc<AtomicUsize>) {
    let (mut client_in, mut server_out) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut server_in, mut client_out) = (server, client);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let mut frames = Frames::default();
        let mut buffer = [0_u8; 16 * 1024];
        while let Ok(read) = client_in.read(&mut buffer) {
            if read == 0 || server_out.write_all(&buffer[..read]).is_err() {
                break;
            }
            pings.fetch_add(frames.pings_in(&buffer[..read]), Ordering::SeqCst);
        }
        let _ = server_out.shutdown(Shutdown::Write);
    });
}

/// Where the reader is in the client's byte stream.
#[derive(Default)]
struct Frames {
    preface_read: usize,
    header: Vec<u8>,
    /// Payload bytes of the current frame still to pass.
    payload_left: usize,
}

impl Frames {
    /// Reads `bytes`, the next part of the stream; returns how many PING frames began in it.
    fn pings_in(&mut self, mut bytes: &[u8]) -> usize {
        let mut pings = 0;
        while !bytes.is_empty() {
            let take = if self.preface_read < PREFACE_LENGTH {
                let take = (PREFACE_LENGTH - self.preface_read).min(bytes.len());
                self.preface_read += take;
                take
            } else if self.payload_left > 0 {
                let take = self.payload_left.min(bytes.len());
                self.payload_left -= take;
                take
            } else {
                let take = (FRAME_HEADER_LENGTH - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..take]);
                if self.header.len() == FRAME_HEADER_LENGTH {
                    let header = std::mem::take(&mut self.header);
                    self.payload_left = usize::from(header[0]) << 16
                        | usize::from(header[1]) << 8
                        | usize::from(header[2]);
                    if header[3] == PING && header[4] & ACK == 0 {
                        pings += 1;
                    }
                }
                take
            };
            bytes = &bytes[take..];
        }
        pings
    }
}
