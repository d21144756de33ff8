//! Hostile reflection servers: a tonic server that speaks the reflection protocol but answers
//! with crafted nonsense. grpcx must end each case with one clear error, in bounded time and
//! under a bounded address space (1 GiB, set with prlimit), and never panic or hang.

use std::pin::Pin;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message as _;
use prost_types::{
    DescriptorProto, FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto,
    SourceCodeInfo, source_code_info::Location,
};
use tokio_stream::{Stream, StreamExt as _};

use crate::support::LoopbackServer;
use tonic::{Request, Response, Status, Streaming};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::server_reflection_server::{
    ServerReflection, ServerReflectionServer,
};
use tonic_reflection::pb::v1::{
    ErrorResponse, FileDescriptorResponse, ListServiceResponse, ServerReflectionRequest,
    ServerReflectionResponse, ServiceResponse,
};

/// What the server does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// File descriptors that are not protobuf at all.
    Garbage,
    /// The service's file imports a file the server does not have.
    MissingDependency,
    /// Two files that import each other.
    ImportCycle,
    /// The same message defined twice in one file.
    DuplicateSymbol,
    /// One answer larger than any message grpcx accepts.
    HugeAnswer,
    /// Every file imports fifty new ones, without end.
    EndlessImports,
    /// Every file is 1 MiB and imports four new ones, without end.
    EndlessBytes,
    /// Answers the list of services, then never answers again.
    Stall,
    /// Answers a question about one symbol with a file about another.
    WrongFile,
    /// Sends answers nobody asked for, as fast as it can, forever.
    Flood,
}

/// The file that defines `hostile.Svc`, importing `dependencies`.
fn service_file(dependencies: &[&str]) -> FileDescriptorProto {
    let request = DescriptorProto {
        name: Some("Req".into()),
        ..Default::default()
    };
    FileDescriptorProto {
        name: Some("svc.proto".into()),
        package: Some("hostile".into()),
        dependency: dependencies.iter().map(|d| d.to_string()).collect(),
        message_type: vec![request],
        service: vec![ServiceDescriptorProto {
            name: Some("Svc".into()),
            method: vec![MethodDescriptorProto {
                name: Some("Call".into()),
                input_type: Some(".hostile.Req".into()),
                output_type: Some(".hostile.Req".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    }
}

/// A file named `name` that imports `dependencies` and defines nothing, padded with a comment
/// of `padding` bytes.
fn empty_file(name: &str, dependencies: Vec<String>, padding: usize) -> FileDescriptorProto {
    let source_code_info = (padding > 0).then(|| SourceCodeInfo {
        location: vec![Location {
            leading_comments: Some("x".repeat(padding)),
            ..Default::default()
        }],
    });
    FileDescriptorProto {
        name: Some(name.into()),
        package: Some("hostile.more".into()),
        dependency: dependencies,
        source_code_info,
        syntax: Some("proto3".into()),
        ..Default::default()
    }
}

fn files(files: Vec<Vec<u8>>) -> MessageResponse {
    MessageResponse::FileDescriptorResponse(FileDescriptorResponse {
        file_descriptor_proto: files,
    })
}

fn not_found(what: &str) -> MessageResponse {
    MessageResponse::ErrorResponse(ErrorResponse {
        error_code: tonic::Code::NotFound as i32,
        error_message: format!("{what} not found"),
    })
}

/// The answer to one question, or None to never answer it.
fn answer(scenario: Scenario, question: &MessageRequest) -> Option<MessageResponse> {
    let listed = MessageResponse::ListServicesResponse(ListServiceResponse {
        service: vec![ServiceResponse {
            name: "hostile.Svc".into(),
        }],
    });
    let by_name = match question {
        MessageRequest::ListServices(_) => return Some(listed),
        MessageRequest::FileContainingSymbol(_) => None,
        MessageRequest::FileByFilename(name) => Some(name.as_str()),
        _ => return Some(not_found("that")),
    };
    Some(match (scenario, by_name) {
        (Scenario::Garbage, _) => files(vec![b"\x0a\xff\xff\xff\xff\x0f garbage".to_vec()]),
        (Scenario::MissingDependency, None) => {
            files(vec![service_file(&["missing.proto"]).encode_to_vec()])
        }
        (Scenario::MissingDependency, Some(name)) => not_found(name),
        (Scenario::ImportCycle, None | Some("svc.proto")) => {
            files(vec![service_file(&["cycle.proto"]).encode_to_vec()])
        }
        (Scenario::ImportCycle, Some(_)) => files(vec![
            empty_file("cycle.proto", vec!["svc.proto".into()], 0).encode_to_vec(),
        ]),
        (Scenario::DuplicateSymbol, _) => {
            let mut file = service_file(&[]);
            file.message_type.push(file.message_type[0].clone());
            files(vec![file.encode_to_vec()])
        }
        (Scenario::HugeAnswer, _) => files(vec![
            empty_file("huge.proto", Vec::new(), 5 << 20).encode_to_vec(),
        ]),
        (Scenario::EndlessImports | Scenario::EndlessBytes, None) => {
            files(vec![service_file(&["more/0.proto"]).encode_to_vec()])
        }
        (Scenario::EndlessImports, Some(name)) => {
            let imports = (0..50).map(|i| format!("{name}.{i}.proto")).collect();
            files(vec![empty_file(name, imports, 0).encode_to_vec()])
        }
        (Scenario::EndlessBytes, Some(name)) => {
            let imports = (0..4).map(|i| format!("{name}.{i}.proto")).collect();
            files(vec![empty_file(name, imports, 1 << 20).encode_to_vec()])
        }
        (Scenario::Stall, _) => return None,
        (Scenario::WrongFile, _) => {
            let mut file = empty_file("other.proto", Vec::new(), 0);
            file.message_type.push(DescriptorProto {
                name: Some("Other".into()),
                ..Default::default()
            });
            files(vec![file.encode_to_vec()])
        }
        (Scenario::Flood, _) => files(vec![service_file(&[]).encode_to_vec()]),
    })
}

struct Hostile(Scenario);

type Answers = Pin<Box<dyn Stream<Item = Result<ServerReflectionResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ServerReflection for Hostile {
    type ServerReflectionInfoStream = Answers;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<ServerReflectionRequest>>,
    ) -> Result<Response<Answers>, Status> {
        let scenario = self.0;
        let mut questions = request.into_inner();
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(Ok(question)) = questions.next().await {
                let Some(asked) = question.message_request else {
                    continue;
                };
                let Some(answer) = answer(scenario, &asked) else {
                    // Never answer, but keep the stream open.
                    std::future::pending::<()>().await;
                    return;
                };
                let response = ServerReflectionResponse {
                    valid_host: question.host.clone(),
                    original_request: None,
                    message_response: Some(answer),
                };
                let repeats = if scenario == Scenario::Flood {
                    usize::MAX
                } else {
                    1
                };
                for _ in 0..repeats {
                    if sender.send(Ok(response.clone())).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }
}

/// A hostile reflection server on a loopback port; stopped on drop.
fn hostile(scenario: Scenario) -> LoopbackServer {
    let service =
        ServerReflectionServer::new(Hostile(scenario)).max_encoding_message_size(64 << 20);
    LoopbackServer::start(tonic::service::Routes::new(service))
}

/// The bound on each run: every case ends well within it, or grpcx hangs.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs grpcx against `server` with a 1 GiB address space; kills it after [`LIMIT`].
fn grpcx(server: &LoopbackServer, args: &[&str]) -> crate::support::Run {
    let cache = tempfile::tempdir().unwrap();
    let binary = assert_cmd::cargo::cargo_bin("grpcx");
    let mut child = Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg("--")
        .arg(binary)
        .args([
            "--addr",
            &server.addr.to_string(),
            "--connect-timeout",
            "2s",
        ])
        .args(args)
        .env("GRPCX_CACHE_DIR", cache.path())
        .env_remove("GRPCX_ADDR")
        .env_remove("GRPCX_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "grpcx {args:?} hung: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `call`, `describe` and `list --long` against the scenario; each must fail with exit 1,
/// stderr naming the problem in one error line (and perhaps a hint), nothing on stdout.
fn each_command_fails(scenario: Scenario, needle: &str) {
    let server = hostile(scenario);
    for args in [
        &["call", "hostile.Svc/Call", "{}"][..],
        &["describe", "hostile.Svc"][..],
        &["list", "--long"][..],
    ] {
        let run = grpcx(&server, args);
        run.fails(1, &[needle]);
        assert_eq!(run.stdout, "", "{scenario:?} {args:?}: {run:#?}");
        let errors = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(errors, 1, "{scenario:?} {args:?}: {run:#?}");
    }
}

#[test]
fn descriptors_that_do_not_parse() {
    each_command_fails(Scenario::Garbage, "does not decode");
}

#[test]
fn a_dependency_that_never_arrives() {
    each_command_fails(
        Scenario::MissingDependency,
        "does not serve `missing.proto`, which its schema imports",
    );
}

#[test]
fn a_cycle_of_imports() {
    each_command_fails(Scenario::ImportCycle, "cycle");
}

#[test]
fn a_file_that_defines_a_symbol_twice() {
    each_command_fails(Scenario::DuplicateSymbol, "hostile.Req");
}

#[test]
fn an_answer_larger_than_any_message() {
    each_command_fails(Scenario::HugeAnswer, "too large");
    // --max-msg-sz bounds reflection answers as it bounds responses, and the hint says so.
    let server = hostile(Scenario::HugeAnswer);
    grpcx(&server, &["describe", "hostile.Svc"]).fails(1, &["too large", "--max-msg-sz"]);
    let run = grpcx(
        &server,
        &["--max-msg-sz", "16MiB", "describe", "hostile.Svc"],
    );
    run.fails(1, &["no symbol `hostile.Svc`"]);
    assert!(!run.stderr.contains("too large"), "{run:#?}");
}

#[test]
fn imports_without_end() {
    each_command_fails(Scenario::EndlessImports, "more than 10000 files");
}

#[test]
fn megabytes_without_end() {
    each_command_fails(Scenario::EndlessBytes, "larger than 64 MiB");
}

#[test]
fn a_server_that_stops_answering() {
    let server = hostile(Scenario::Stall);
    // A short name needs the list first, which comes; the file never does.
    let run = grpcx(&server, &["call", "Svc/Call", "{}"]);
    run.fails(
        1,
        &["stopped answering reflection requests", "--connect-timeout"],
    );
    // A full name's first question is the file: no answer at all.
    let run = grpcx(&server, &["call", "hostile.Svc/Call", "{}"]);
    run.fails(1, &["did not answer within 2s"]);
}

#[test]
fn an_answer_about_another_symbol() {
    let server = hostile(Scenario::WrongFile);
    let run = grpcx(&server, &["call", "hostile.Svc/Call", "{}"]);
    run.fails(1, &["hostile.Svc"]);
    assert_eq!(run.stdout, "");
}

#[test]
fn answers_nobody_asked_for() {
    let server = hostile(Scenario::Flood);
    // The first answer is the right one; the flood behind it is never read, and flow control
    // keeps it in the server's buffers, not grpcx's.
    let run = grpcx(&server, &["describe", "hostile.Svc"]);
    assert!(run.ok().contains("service Svc"), "{run:#?}");
}
