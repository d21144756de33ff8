//! `grpcx health`: a probe's answer and exit code for each health the server can report.

use std::time::Duration;

use grpcx::demo::ServeOptions;

use crate::support::{IgnoringServer, TestServer, run};

fn server_with_one_service_down() -> TestServer {
    TestServer::start_options(ServeOptions {
        not_serving: vec!["grpcx.demo.v1.TypesService".to_string()],
        ..ServeOptions::default()
    })
}

#[test]
fn each_health_has_its_exit_code() {
    let server = server_with_one_service_down();
    assert_eq!(server.grpcx(&["health"]).ok(), "SERVING\n");
    assert_eq!(
        server.grpcx(&["health", "grpcx.demo.v1.ItemService"]).ok(),
        "SERVING\n"
    );
    let down = server.grpcx(&["health", "grpcx.demo.v1.TypesService"]);
    down.fails(3, &["`grpcx.demo.v1.TypesService` is NOT_SERVING"]);
    assert_eq!(down.stdout, "NOT_SERVING\n");
    let unknown = server.grpcx(&["health", "no.such.Service"]);
    unknown.fails(5, &["SERVICE_UNKNOWN"]);
    assert_eq!(unknown.stdout, "SERVICE_UNKNOWN\n");
}

#[test]
fn watch_prints_the_health_until_the_deadline() {
    let server = server_with_one_service_down();
    let got = server.grpcx(&[
        "health",
        "--watch",
        "--max-time",
        "500ms",
        "grpcx.demo.v1.TypesService",
    ]);
    assert_eq!(got.stdout, "NOT_SERVING\n");
    got.fails(68, &["DEADLINE_EXCEEDED"]);
}

#[test]
fn no_answer_is_not_a_health() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    run(&["--addr", &format!("127.0.0.1:{port}"), "health"], None)
        .fails(1, &["connection refused"]);
    let silent = IgnoringServer::start();
    let started = std::time::Instant::now();
    run(
        &[
            "--addr",
            &silent.addr.to_string(),
            "--max-time",
            "500ms",
            "health",
        ],
        None,
    )
    .fails(68, &["DEADLINE_EXCEEDED"]);
    assert!(started.elapsed() < Duration::from_secs(20));
}
