//! Where the demo server listens: a TCP port or a Unix socket, bound before serving so that
//! the real address (of port 0) is known, and announced, before the first client comes.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::{TcpListener, UnixListener};

use super::DemoError;
use crate::transport::ListenAddr;

/// A bound listener, so that the address (and a port 0's real port) is known before serving.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// The address clients connect to.
    pub fn addr(&self) -> Result<ListenAddr, DemoError> {
        match self {
            Listener::Tcp(listener) => {
                listener
                    .local_addr()
                    .map(ListenAddr::Tcp)
                    .map_err(|source| DemoError::Bind {
                        addr: ListenAddr::Tcp(SocketAddr::from(([0, 0, 0, 0], 0))),
                        source,
                    })
            }
            Listener::Unix(_, path) => Ok(ListenAddr::Unix(path.clone())),
        }
    }
}

/// Binds `addr` for the demo server.
pub async fn bind(addr: &ListenAddr) -> Result<Listener, DemoError> {
    let failed = |source| DemoError::Bind {
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
