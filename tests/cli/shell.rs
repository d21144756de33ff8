//! Shell integration: completion scripts (run in a real bash against the demo server) and the
//! man page.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{RUN_LIMIT, TestServer, run};

/// Runs bash with grpcx's completion script loaded and completes `words`, the last being the
/// word under the cursor; returns the candidates. grpcx's cache is in `home`, and its config
/// file is `config.toml` there, when a test writes one.
fn complete_in_bash(words: &[&str], home: &std::path::Path) -> Vec<String> {
    let binary = assert_cmd::cargo::cargo_bin("grpcx");
    let dir = binary.parent().unwrap().display().to_string();
    // As bash sets them: the line up to the cursor, and its words split at ':' too.
    let line = words.join(" ");
    let mut split: Vec<String> = Vec::new();
    for word in words {
        let mut pieces = word.split(':').peekable();
        while let Some(piece) = pieces.next() {
            if !piece.is_empty() || pieces.peek().is_none() {
                split.push(piece.to_string());
            }
            if pieces.peek().is_some() {
                split.push(":".to_string());
            }
        }
    }
    let quoted: Vec<String> = split.iter().map(|w| format!("'{w}'")).collect();
    let cword = split.len() - 1;
    let (cur, prev) = (&split[cword], &split[cword - 1]);
    let script = format!(
        r#"export PATH="{dir}:$PATH"
source <(grpcx completions bash)
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({words}); COMP_CWORD={cword}
_grpcx_with_names grpcx '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = quoted.join(" ")
    );
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(script)
        .env("GRPCX_CACHE_DIR", home)
        .env("GRPCX_CONFIG", home.join("config.toml"))
        .env_remove("GRPCX_ADDR")
        .env_remove("GRPCX_PROFILE");
    let output = assert_cmd::Command::from_std(bash)
        .timeout(RUN_LIMIT)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_methods_and_services_from_the_server() {
    let server = TestServer::start();
    let methods = complete_in_bash(
        &["grpcx", "--addr", &server.addr, "call", "ItemService/"],
        server.cache_dir(),
    );
    assert_eq!(
        methods,
        [
            "ItemService/GetItem",
            "ItemService/ListItems",
            "ItemService/CreateItems",
            "ItemService/SyncItems"
        ]
    );
    let bench = complete_in_bash(
        &["grpcx", "--addr", &server.addr, "bench", "ItemService/G"],
        server.cache_dir(),
    );
    assert_eq!(bench, ["ItemService/GetItem"]);
    let full = complete_in_bash(
        &["grpcx", "--addr", &server.addr, "call", "grpcx.demo.v1.T"],
        server.cache_dir(),
    );
    assert_eq!(
        full,
        [
            "grpcx.demo.v1.TypesService/Echo",
            "grpcx.demo.v1.TypesService/Fail"
        ]
    );
    let services = complete_in_bash(
        &["grpcx", "list", "--addr", &server.addr],
        server.cache_dir(),
    );
    assert!(
        services.is_empty(),
        "only the argument right after the subcommand: {services:?}"
    );
    let services = complete_in_bash(
        &["grpcx", "--addr", &server.addr, "list", "grpc.h"],
        server.cache_dir(),
    );
    assert_eq!(services, ["grpc.health.v1.Health"]);
    let health = complete_in_bash(
        &["grpcx", "--addr", &server.addr, "health", "grpc.h"],
        server.cache_dir(),
    );
    assert_eq!(health, ["grpc.health.v1.Health"]);
    // Subcommands come from the definitions, and the hidden one is not among them.
    let subcommands = complete_in_bash(&["grpcx", "ca"], server.cache_dir());
    assert_eq!(subcommands, ["call", "cache"]);
    let every = complete_in_bash(&["grpcx", ""], server.cache_dir());
    assert!(every.contains(&"health".to_string()), "{every:?}");
    assert!(!every.iter().any(|w| w.starts_with("__")), "{every:?}");
}

#[test]
fn completion_asks_the_server_of_the_profile_named_on_the_line() {
    let server = TestServer::start();
    let config = format!("[profiles.demo]\naddr = \"{}\"\n", server.addr);
    std::fs::write(server.cache_dir().join("config.toml"), config).unwrap();
    let methods = complete_in_bash(
        &["grpcx", "--profile", "demo", "call", "ItemService/G"],
        server.cache_dir(),
    );
    assert_eq!(methods, ["ItemService/GetItem"]);
}

#[test]
fn completion_is_silent_and_quick_when_the_server_is_away() {
    let cache = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let names = complete_in_bash(
        &["grpcx", "--addr", &format!("127.0.0.1:{port}"), "call", ""],
        cache.path(),
    );
    assert!(names.is_empty(), "{names:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
    // A server that accepts but never answers is cut off by the completion's own limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let names = complete_in_bash(&["grpcx", "--addr", &addr, "call", ""], cache.path());
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn scripts_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = run(&["completions", shell], None);
        assert!(script.ok().contains("grpcx"), "{shell}");
    }
    let fish = run(&["completions", "fish"], None);
    assert!(
        fish.stdout.contains("grpcx __complete call --"),
        "fish completes names from the server"
    );
    let man = run(&["man"], None);
    let page = man.ok();
    assert!(page.contains(".TH grpcx 1"), "{page}");
    assert!(
        page.contains("call") && page.contains("\\-\\-addr"),
        "{page}"
    );
}

#[test]
fn a_man_page_for_each_subcommand_with_the_environment() {
    let call = run(&["man", "call"], None);
    let page = call.ok();
    assert!(page.contains(".TH grpcx-call 1"), "{page}");
    assert!(
        page.contains(".SH ENVIRONMENT") && page.contains("GRPCX_CACHE_DIR"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--dir", dir.path().to_str().unwrap()], None).ok();
    for name in [
        "grpcx.1",
        "grpcx-call.1",
        "grpcx-health.1",
        "grpcx-serve-demo.1",
    ] {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
    run(&["man", "nope"], None).fails(2, &["`nope` is no subcommand"]);
}

#[test]
fn commands_that_talk_to_no_server_list_no_server_options() {
    for words in [
        &["demo", "--help"][..],
        &["config", "path", "--help"],
        &["man", "--help"],
    ] {
        let help = run(words, None);
        assert!(!help.ok().contains("--addr"), "{words:?}: {}", help.stdout);
    }
    assert!(run(&["call", "--help"], None).ok().contains("--addr"));
}
