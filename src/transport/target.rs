//! Addresses: where to connect (the `--addr` value, parsed once into a typed [`Target`]) and
//! where a server listens ([`ListenAddr`]), and the rule that chooses TLS.
//!
//! The TLS rule, in order ([`Target::uses_tls`]): `--plaintext` or `--tls` decide when given;
//! a TLS option (`--cacert`, `--cert`, `--key`, `--insecure`, on the command line or in the
//! profile) means TLS; a profile's `tls` or `plaintext` decides for the profile's own address;
//! an explicit `http://` or `https://` decides; a bare `HOST:PORT` is plaintext on loopback
//! (local development servers rarely have certificates) and TLS anywhere else; a `unix:`
//! socket is plaintext.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// A gRPC server address, as given by `--addr` or `GRPCX_ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub route: Route,
    /// The scheme written in the address, if any.
    pub scheme: Option<Scheme>,
}

/// How to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// TCP to a host name or IP address (IPv6 without brackets).
    Tcp { host: String, port: u16 },
    /// A Unix domain socket.
    Unix(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plaintext HTTP/2 ("h2c").
    Http,
    /// HTTP/2 over TLS.
    Https,
}

impl Target {
    /// Whether a connection to this target uses TLS, by the module's rule: `flag` is `--tls`
    /// (true) or `--plaintext` (false), `tls_options` whether any TLS option is set, `profile`
    /// the profile's own choice when the address is the profile's.
    pub fn uses_tls(&self, flag: Option<bool>, tls_options: bool, profile: Option<bool>) -> bool {
        flag.or(tls_options.then_some(true))
            .or(profile)
            .unwrap_or_else(|| self.tls_by_default())
    }

    /// Whether the address alone asks for TLS (see the module's rule).
    pub fn tls_by_default(&self) -> bool {
        match (self.scheme, &self.route) {
            (Some(scheme), _) => scheme == Scheme::Https,
            (None, Route::Tcp { host, .. }) => !is_loopback(host),
            (None, Route::Unix(_)) => false,
        }
    }

    /// The host name: what TLS checks the certificate against unless `--authority` says else.
    pub fn host(&self) -> &str {
        match &self.route {
            Route::Tcp { host, .. } => host,
            Route::Unix(_) => "localhost",
        }
    }

    /// `host:port` as HTTP/2's `:authority`, IPv6 hosts in brackets.
    pub fn authority(&self) -> String {
        match &self.route {
            Route::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Route::Tcp { host, port } => format!("{host}:{port}"),
            Route::Unix(_) => "localhost".to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.route, self.scheme) {
            (Route::Unix(path), _) => write!(f, "unix:{}", path.display()),
            (_, Some(Scheme::Https)) => write!(f, "https://{}", self.authority()),
            (_, Some(Scheme::Http)) => write!(f, "http://{}", self.authority()),
            (_, None) => f.write_str(&self.authority()),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            // unix:/abs/path, unix:relative/path and unix:///abs/path
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`unix:` needs a socket path, e.g. unix:/run/app.sock".to_string());
            }
            return Ok(Target {
                route: Route::Unix(PathBuf::from(path)),
                scheme: None,
            });
        }
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (Some(Scheme::Http), rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Some(Scheme::Https), rest)
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "unknown scheme `{scheme}://`; use http://HOST:PORT, https://HOST:PORT, HOST:PORT or unix:PATH"
            ));
        } else {
            (None, text)
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(format!(
                "`{text}` has a path; give only HOST:PORT (the method goes in the command)"
            ));
        }
        let (host, port) = split_host_port(rest, scheme)?;
        Ok(Target {
            route: Route::Tcp { host, port },
            scheme,
        })
    }
}

fn split_host_port(text: &str, scheme: Option<Scheme>) -> Result<(String, u16), String> {
    let default_port = match scheme {
        Some(Scheme::Https) => Some(443),
        Some(Scheme::Http) => Some(80),
        None => None,
    };
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            format!("`{text}` opens an IPv6 address with `[` but never closes it")
        })?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => {
                return Err(format!(
                    "`{text}` has text after the IPv6 address; write [ADDRESS]:PORT"
                ));
            }
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err(format!(
                    "`{text}` looks like an IPv6 address; put it in brackets: [ADDRESS]:PORT"
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!(
            "`{text}` has no host; write HOST:PORT, e.g. 127.0.0.1:50051"
        ));
    }
    let port = match (port, default_port) {
        (Some(port), _) => port
            .parse::<u16>()
            .map_err(|_| format!("`{port}` is not a port number (1-65535)"))?,
        (None, Some(port)) => port,
        (None, None) => {
            return Err(format!(
                "`{text}` has no port; write HOST:PORT, e.g. {text}:50051"
            ));
        }
    };
    if port == 0 {
        return Err("port 0 cannot be connected to; give the server's port".to_string());
    }
    Ok((host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Where a server listens: `IP:PORT` (port 0 picks a free one) or `unix:PATH`.
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
        if let Ok(socket) = text.parse() {
            return Ok(ListenAddr::Tcp(socket));
        }
        // A host name (`localhost:6000`): its first address, IPv4 first, as a client dials.
        let not_an_address = || {
            format!(
                "`{text}` is not an IP:PORT, HOST:PORT or unix:PATH address, e.g. 127.0.0.1:50051"
            )
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(not_an_address)?;
        let port: u16 = port.parse().map_err(|_| not_an_address())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(|_| not_an_address())?
            .collect();
        addresses
            .iter()
            .find(|address| address.is_ipv4())
            .or(addresses.first())
            .copied()
            .map(ListenAddr::Tcp)
            .ok_or_else(not_an_address)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            "unix:/tmp/a.sock".parse::<ListenAddr>().unwrap(),
            ListenAddr::Unix("/tmp/a.sock".into())
        );
        assert!(matches!(
            "127.0.0.1:0".parse::<ListenAddr>().unwrap(),
            ListenAddr::Tcp(_)
        ));
        assert!("localhost".parse::<ListenAddr>().is_err());
        assert_eq!(
            "localhost:6000".parse::<ListenAddr>().unwrap(),
            ListenAddr::Tcp("127.0.0.1:6000".parse().unwrap())
        );
    }

    #[test]
    fn the_tls_rule_in_order() {
        let remote: Target = "example.com:443".parse().unwrap();
        let local: Target = "127.0.0.1:1".parse().unwrap();
        assert!(
            !remote.uses_tls(Some(false), true, Some(true)),
            "--plaintext first"
        );
        assert!(
            local.uses_tls(Some(true), false, Some(false)),
            "--tls first"
        );
        assert!(local.uses_tls(None, true, Some(false)), "then TLS options");
        assert!(
            !remote.uses_tls(None, false, Some(false)),
            "then the profile"
        );
        assert!(remote.uses_tls(None, false, None), "then the address");
        assert!(!local.uses_tls(None, false, None));
    }

    fn tcp(target: &Target) -> (&str, u16) {
        match &target.route {
            Route::Tcp { host, port } => (host, *port),
            Route::Unix(_) => panic!("not tcp"),
        }
    }

    #[test]
    fn loopback_host_port_is_plaintext() {
        for text in [
            "127.0.0.1:50051",
            "localhost:8080",
            "[::1]:8080",
            "127.1.2.3:1",
        ] {
            let target: Target = text.parse().unwrap();
            assert!(!target.tls_by_default(), "{text}");
        }
        let target: Target = "[::1]:8080".parse().unwrap();
        assert_eq!(target.authority(), "[::1]:8080");
        assert_eq!(target.host(), "::1");
    }

    #[test]
    fn remote_host_port_is_tls_and_schemes_are_explicit() {
        let target: Target = "api.example.com:443".parse().unwrap();
        assert!(target.tls_by_default());
        let target: Target = "http://api.example.com:80".parse().unwrap();
        assert!(!target.tls_by_default());
        let target: Target = "https://127.0.0.1:8443/".parse().unwrap();
        assert!(target.tls_by_default());
        assert_eq!(tcp(&target), ("127.0.0.1", 8443));
    }

    #[test]
    fn schemes_give_default_ports() {
        assert_eq!(
            tcp(&"https://api.example.com".parse().unwrap()),
            ("api.example.com", 443)
        );
        assert_eq!(tcp(&"http://[::1]".parse().unwrap()), ("::1", 80));
    }

    #[test]
    fn unix_sockets() {
        for text in ["unix:/run/a.sock", "unix:///run/a.sock"] {
            let target: Target = text.parse().unwrap();
            assert_eq!(target.route, Route::Unix("/run/a.sock".into()));
            assert!(!target.tls_by_default());
            assert_eq!(target.to_string(), "unix:/run/a.sock");
        }
        assert!("unix:".parse::<Target>().is_err());
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        assert!(
            "localhost"
                .parse::<Target>()
                .unwrap_err()
                .contains("no port")
        );
        assert!(
            "localhost:http"
                .parse::<Target>()
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            "localhost:70000"
                .parse::<Target>()
                .unwrap_err()
                .contains("not a port")
        );
        assert!(":50051".parse::<Target>().unwrap_err().contains("no host"));
        assert!(
            "ftp://x:1"
                .parse::<Target>()
                .unwrap_err()
                .contains("unknown scheme")
        );
        assert!("::1:80".parse::<Target>().unwrap_err().contains("brackets"));
        assert!(
            "http://h:1/x"
                .parse::<Target>()
                .unwrap_err()
                .contains("path")
        );
    }
}
