//! Where to connect: the `--addr` value, parsed once into a typed target.
//!
//! The rule for bare `host:port` follows what people expect from grpcurl and `buf curl`:
//! loopback speaks plaintext HTTP/2 (local development servers rarely have certificates),
//! anything else is assumed to be TLS.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A gRPC server address, as given by `--addr` or `GRPCX_ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// `host:port`, with IPv6 hosts in brackets; used as the HTTP/2 `:authority`.
    pub authority: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plaintext HTTP/2 ("h2c").
    Http,
    /// HTTP/2 over TLS.
    Https,
}

impl Target {
    /// The URI tonic connects to.
    pub fn uri(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}", self.authority)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Http => f.write_str(&self.authority),
            Scheme::Https => write!(f, "https://{}", self.authority),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (explicit_scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (Some(Scheme::Http), rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Some(Scheme::Https), rest)
        } else if text.starts_with("unix:") {
            return Err(
                "unix socket targets are not supported yet; listen on 127.0.0.1:PORT instead"
                    .to_string(),
            );
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "unknown scheme `{scheme}://`; use http://HOST:PORT, https://HOST:PORT or HOST:PORT"
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
        let (host, port) = split_host_port(rest)?;
        let scheme = explicit_scheme.unwrap_or(if is_loopback(&host) {
            Scheme::Http
        } else {
            Scheme::Https
        });
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Target {
            scheme,
            authority,
            host,
            port,
        })
    }
}

fn split_host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            format!("`{text}` opens an IPv6 address with `[` but never closes it")
        })?;
        let port = after.strip_prefix(':').ok_or_else(|| {
            format!("`{text}` has no port; write it as [{host}]:PORT, e.g. [::1]:50051")
        })?;
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err(format!(
                    "`{text}` looks like an IPv6 address; put it in brackets: [ADDRESS]:PORT"
                ));
            }
            Some((host, port)) => (host, port),
            None => {
                return Err(format!(
                    "`{text}` has no port; write HOST:PORT, e.g. {text}:50051"
                ));
            }
        }
    };
    if host.is_empty() {
        return Err(format!(
            "`{text}` has no host; write HOST:PORT, e.g. 127.0.0.1:50051"
        ));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (1-65535)"))?;
    if port == 0 {
        return Err("port 0 cannot be connected to; give the server's port".to_string());
    }
    Ok((host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_host_port_is_plaintext() {
        let target: Target = "127.0.0.1:50051".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Http);
        assert_eq!(target.uri(), "http://127.0.0.1:50051");
        let target: Target = "localhost:8080".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Http);
        let target: Target = "[::1]:8080".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Http);
        assert_eq!(target.authority, "[::1]:8080");
    }

    #[test]
    fn remote_host_port_is_tls_and_schemes_are_explicit() {
        let target: Target = "api.example.com:443".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Https);
        let target: Target = "http://api.example.com:80".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Http);
        let target: Target = "https://127.0.0.1:443/".parse().unwrap();
        assert_eq!(target.scheme, Scheme::Https);
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
