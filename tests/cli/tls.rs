//! TLS, mutual TLS, protocol mismatches, Unix sockets and connect timeouts, against real
//! servers on loopback. Certificates are made by each test; no private key is committed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use grpcx::demo::ServerTls;
use grpcx::transport::ListenAddr;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::support::{TestServer, run};
use rustls::pki_types::pem::PemObject as _;

/// A CA that signs server and client certificates, written to a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), certificate.pem()).unwrap();
        Pki {
            dir,
            issuer: Issuer::new(params, key),
        }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issues a certificate for `names`, written as NAME.pem and NAME.key; returns the PEMs.
    fn issue(
        &self,
        file: &str,
        names: &[&str],
        purpose: ExtendedKeyUsagePurpose,
    ) -> (Vec<u8>, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        params.extended_key_usages = vec![purpose];
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_pem, key_pem) = (certificate.pem(), key.serialize_pem());
        std::fs::write(self.dir.path().join(format!("{file}.pem")), &cert_pem).unwrap();
        std::fs::write(self.dir.path().join(format!("{file}.key")), &key_pem).unwrap();
        (cert_pem.into_bytes(), key_pem.into_bytes())
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    /// Issues a client certificate as `openssl x509 -req` makes one without `-extfile`:
    /// X.509 version 1, no extensions. It is an issued version 3 certificate with its version
    /// and extensions taken out of the signed part, signed again. Written as NAME.pem and
    /// NAME.key.
    fn issue_version_1(&self, file: &str) {
        let (cert_pem, _) = self.issue(file, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
        let der = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap();
        let (certificate, _) = der_element(&der);
        let (tbs, rest) = der_element(certificate);
        let (algorithm, _) = der_element(rest);
        // TBSCertificate without `[0] version` and `[3] extensions`.
        let mut fields = Vec::new();
        let mut rest = tbs;
        while !rest.is_empty() {
            let (content, after) = der_element(rest);
            let whole = &rest[..rest.len() - after.len()];
            if !matches!(rest[0], 0xa0 | 0xa3) {
                fields.extend_from_slice(whole);
            }
            let _ = content;
            rest = after;
        }
        let tbs = der_wrap(0x30, &fields);
        let signature = rcgen::SigningKey::sign(self.issuer.key(), &tbs).unwrap();
        let bits = der_wrap(0x03, &[&[0_u8][..], &signature].concat());
        let algorithm = der_wrap(0x30, algorithm);
        let v1 = der_wrap(0x30, &[tbs, algorithm, bits].concat());
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64_lines(&v1)
        );
        std::fs::write(self.dir.path().join(format!("{file}.pem")), pem).unwrap();
    }
}

/// The contents of the DER element `bytes` starts with, and what follows it.
fn der_element(bytes: &[u8]) -> (&[u8], &[u8]) {
    let length = bytes[1];
    let (length, header) = if length < 0x80 {
        (usize::from(length), 2)
    } else {
        let count = usize::from(length & 0x7f);
        let length = bytes[2..2 + count]
            .iter()
            .fold(0_usize, |sum, b| sum * 256 + usize::from(*b));
        (length, 2 + count)
    };
    (&bytes[header..header + length], &bytes[header + length..])
}

/// A DER element of `tag` holding `contents`.
fn der_wrap(tag: u8, contents: &[u8]) -> Vec<u8> {
    let length = contents.len();
    let mut element = vec![tag];
    if length < 0x80 {
        element.push(u8::try_from(length).unwrap());
    } else {
        let digits: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        element.push(0x80 | u8::try_from(digits.len()).unwrap());
        element.extend(digits);
    }
    element.extend_from_slice(contents);
    element
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn tls_server(pki: &Pki, names: &[&str], client_ca: Option<&Path>) -> TestServer {
    let (cert_pem, key_pem) = pki.issue("server", names, ExtendedKeyUsagePurpose::ServerAuth);
    let tls = ServerTls {
        cert_pem,
        key_pem,
        client_ca_pem: client_ca.map(|ca| std::fs::read(ca).unwrap()),
    };
    TestServer::start_with(&ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()), Some(tls))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tls_with_a_custom_ca() {
    let pki = Pki::new("grpcx test CA");
    let server = tls_server(&pki, &["localhost", "127.0.0.1"], None);
    let ca = pki.ca().display().to_string();

    let https = format!("https://{}", server.addr);
    let got = run(
        &args(&[
            "--addr",
            &https,
            "--cacert",
            &ca,
            "call",
            "ItemService/GetItem",
            r#"{"id":1}"#,
        ]),
        None,
    );
    got.ok();
    assert_eq!(got.json_lines()[0]["name"], "Claw hammer");

    // A TLS option on a loopback address means TLS.
    let got = run(
        &args(&["--addr", &server.addr, "--cacert", &ca, "list"]),
        None,
    );
    assert!(got.ok().contains("grpcx.demo.v1.ItemService"));
}

#[test]
fn a_wrong_ca_fails_with_a_clear_message() {
    let pki = Pki::new("grpcx test CA");
    let other = Pki::new("some other CA");
    let server = tls_server(&pki, &["127.0.0.1"], None);
    let got = run(
        &args(&[
            "--addr",
            &format!("https://{}", server.addr),
            "--cacert",
            &other.ca().display().to_string(),
            "list",
        ]),
        None,
    );
    got.fails(1, &["not signed by a trusted CA", "--cacert"]);
    assert_eq!(got.stdout, "");

    let got = run(
        &args(&["--addr", &format!("https://{}", server.addr), "list"]),
        None,
    );
    got.fails(1, &["not signed by a trusted CA"]);
}

#[test]
fn insecure_skips_verification_and_says_so() {
    let pki = Pki::new("grpcx test CA");
    let server = tls_server(&pki, &["somewhere.else"], None);
    let got = run(&args(&["--addr", &server.addr, "--insecure", "list"]), None);
    assert!(got.ok().contains("grpcx.demo.v1.ItemService"));
    assert!(got.stderr.contains("warning: --insecure"), "{got:#?}");
}

#[test]
fn authority_sets_the_name_the_certificate_must_carry() {
    let pki = Pki::new("grpcx test CA");
    let server = tls_server(&pki, &["items.internal"], None);
    let ca = pki.ca().display().to_string();
    run(
        &args(&[
            "--addr",
            &format!("https://{}", server.addr),
            "--cacert",
            &ca,
            "list",
        ]),
        None,
    )
    .fails(1, &["not valid for `127.0.0.1`", "--authority"]);
    let got = run(
        &args(&[
            "--addr",
            &format!("https://{}", server.addr),
            "--cacert",
            &ca,
            "--authority",
            "items.internal",
            "list",
        ]),
        None,
    );
    assert!(got.ok().contains("grpcx.demo.v1.ItemService"));
    // A wrong --authority is named, and the hint does not ask for the flag already given.
    let wrong = run(
        &args(&[
            "--addr",
            &format!("https://{}", server.addr),
            "--cacert",
            &ca,
            "--authority",
            "other.internal",
            "list",
        ]),
        None,
    );
    wrong.fails(
        1,
        &["not valid for `other.internal`, the name --authority gives"],
    );
    assert!(!wrong.stderr.contains("127.0.0.1`"), "{wrong:#?}");
    assert!(
        !wrong.stderr.contains("with --authority NAME"),
        "{wrong:#?}"
    );
}

#[test]
fn mutual_tls_accepted_and_rejected() {
    let pki = Pki::new("grpcx test CA");
    let server = tls_server(&pki, &["127.0.0.1"], Some(&pki.ca()));
    pki.issue("client", &["client"], ExtendedKeyUsagePurpose::ClientAuth);
    let https = format!("https://{}", server.addr);
    let ca = pki.ca().display().to_string();

    let got = run(
        &args(&[
            "--addr",
            &https,
            "--cacert",
            &ca,
            "--cert",
            &pki.path("client.pem"),
            "--key",
            &pki.path("client.key"),
            "call",
            "ItemService/GetItem",
            r#"{"id":2}"#,
        ]),
        None,
    );
    got.ok();
    assert_eq!(got.json_lines()[0]["id"], "2");

    let got = run(&args(&["--addr", &https, "--cacert", &ca, "list"]), None);
    got.fails(1, &["requires a client certificate", "--cert"]);

    let stranger = Pki::new("a stranger's CA");
    stranger.issue("client", &["client"], ExtendedKeyUsagePurpose::ClientAuth);
    let got = run(
        &args(&[
            "--addr",
            &https,
            "--cacert",
            &ca,
            "--cert",
            &stranger.path("client.pem"),
            "--key",
            &stranger.path("client.key"),
            "list",
        ]),
        None,
    );
    got.fails(1, &["refused grpcx's client certificate"]);
}

#[test]
fn a_plaintext_client_at_a_tls_server_is_told_at_once() {
    let pki = Pki::new("grpcx test CA");
    let server = tls_server(&pki, &["127.0.0.1"], None);
    let started = Instant::now();
    let got = run(
        &args(&["--addr", &server.addr, "--connect-timeout", "60s", "list"]),
        None,
    );
    // Either grpcx saw the TLS alert, or the server hung up without a word of HTTP/2.
    got.fails(1, &["speaks TLS", "use an https:// address or --tls"]);
    // Recognised, not waited out: far below the connect timeout.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_tls_client_at_a_plaintext_server_is_told_at_once() {
    let server = TestServer::start();
    let started = Instant::now();
    let got = run(
        &args(&[
            "--addr",
            &server.addr,
            "--tls",
            "--connect-timeout",
            "60s",
            "list",
        ]),
        None,
    );
    got.fails(1, &["the server speaks plaintext", "--plaintext"]);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn unix_socket_targets() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("demo.sock");
    let server = TestServer::start_with(&ListenAddr::Unix(socket.clone()), None);
    assert_eq!(server.addr, format!("unix:{}", socket.display()));
    let got = server.grpcx(&["call", "ItemService/GetItem", r#"{"id":3}"#]);
    got.ok();
    assert_eq!(got.json_lines()[0]["name"], "Espresso beans");

    let missing = format!("unix:{}", dir.path().join("nothing.sock").display());
    run(&args(&["--addr", &missing, "list"]), None).fails(1, &["no socket at"]);
}

#[test]
fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    // The kernel accepts connections into the backlog; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    run(
        &args(&["--addr", &addr, "--connect-timeout", "300ms", "list"]),
        None,
    )
    .fails(1, &["did not answer within 300ms", "--connect-timeout"]);
    run(
        &args(&[
            "--addr",
            &addr,
            "--tls",
            "--connect-timeout",
            "300ms",
            "list",
        ]),
        None,
    )
    .fails(1, &["no answer within 300ms", "--connect-timeout"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(silent);
}

#[test]
fn a_web_server_on_the_port_is_named_as_such_whatever_the_tls_flags() {
    for answer in [
        &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
        &b"<!DOCTYPE HTML>\n<html><body><h1>Error response</h1></body></html>\n"[..],
    ] {
        let server = crate::support::Http1Server::start(answer);
        let addr = server.addr.to_string();
        for flags in [&[][..], &["--tls"][..], &["--plaintext"][..]] {
            let words = [&["--addr", addr.as_str()][..], flags, &["list"]].concat();
            let got = run(&words, None);
            got.fails(1, &["speaks HTTP/1.1", "not gRPC"]);
            assert!(
                !got.stderr.contains("use an http") && !got.stderr.contains("use an https"),
                "no round in a loop between --tls and --plaintext: {got:#?}"
            );
        }
    }
}

#[test]
fn a_version_1_client_certificate_is_sent_and_a_refusal_says_what_it_is() {
    let pki = Pki::new("grpcx test CA");
    pki.issue_version_1("client-v1");
    let v1 = pki.path("client-v1.pem");
    assert!(grpcx::transport::tls::is_version_1_file(Path::new(&v1)));
    // A server whose TLS stack (rustls) refuses version 1 client certificates.
    let server = tls_server(&pki, &["127.0.0.1"], Some(&pki.ca()));
    let client = [
        "--cacert",
        &pki.ca().display().to_string(),
        "--cert",
        &v1,
        "--key",
        &pki.path("client-v1.key"),
    ]
    .map(String::from);
    let https = format!("https://{}", server.addr);
    let got = run(
        &[
            &["--addr", https.as_str()][..],
            &client.each_ref().map(String::as_str),
            &["list"],
        ]
        .concat(),
        None,
    );
    got.fails(1, &["X.509 version 1", "make a version 3 certificate"]);
    assert!(!got.stderr.contains("do not fit together"), "{got:#?}");
    assert!(
        !got.stderr.contains("Inconsistent"),
        "no Rust debug text: {got:#?}"
    );

    // A server that takes any client certificate (as Go's or OpenSSL's may take a v1 one)
    // gets this one.
    let accepting = crate::support::AnyClientCertificate::start(
        &pki.path("server.pem"),
        &pki.path("server.key"),
    );
    let https = format!("https://127.0.0.1:{}", accepting.port);
    let _ = run(
        &[
            &["--addr", https.as_str(), "--connect-timeout", "2s"][..],
            &client.each_ref().map(String::as_str),
            &["list"],
        ]
        .concat(),
        None,
    );
    let received = accepting.received();
    let sent = rustls::pki_types::CertificateDer::from_pem_file(&v1).unwrap();
    assert_eq!(
        received.as_deref(),
        Some(sent.as_ref()),
        "the server got the v1 certificate"
    );
}
