//! A client for gRPC server reflection, v1 first and v1alpha when the server lacks v1.
//!
//! The two protocol versions are identical on the wire and differ only in the service path, so
//! one set of message types serves both. All questions go over ONE bidirectional stream, opened
//! on the first question and reused, to keep reflection to one round trip per question.

use std::time::Duration;

use prost::Message as _;
use prost_types::FileDescriptorProto;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use super::SchemaError;
use crate::transport::Header;

/// The reflection protocol version a server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V1Alpha,
}

impl Version {
    fn path(self) -> PathAndQuery {
        PathAndQuery::from_static(match self {
            Version::V1 => "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            Version::V1Alpha => "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        })
    }
}

struct OpenStream {
    requests: mpsc::Sender<ServerReflectionRequest>,
    responses: Streaming<ServerReflectionResponse>,
}

/// A reflection conversation with one server.
pub struct ReflectionClient {
    channel: Channel,
    headers: Vec<Header>,
    host: String,
    first_answer_timeout: Duration,
    version: Version,
    /// Set once the server has answered: from then on its version is known.
    version_confirmed: bool,
    stream: Option<OpenStream>,
}

/// What the server answered to one question.
pub enum Answer {
    Files(Vec<RawFile>),
    NotFound,
}

/// A file descriptor as the server sent it. The bytes are kept because they carry custom
/// options (such as `google.api.http`) that decoding into `FileDescriptorProto` would drop.
pub struct RawFile {
    pub proto: FileDescriptorProto,
    pub bytes: Vec<u8>,
}

impl ReflectionClient {
    pub fn new(
        channel: Channel,
        host: String,
        headers: Vec<Header>,
        first_answer_timeout: Duration,
    ) -> ReflectionClient {
        ReflectionClient {
            channel,
            headers,
            host,
            first_answer_timeout,
            version: Version::V1,
            version_confirmed: false,
            stream: None,
        }
    }

    /// The protocol version the server answered, once it has.
    pub fn version(&self) -> Option<Version> {
        self.version_confirmed.then_some(self.version)
    }

    /// The fully-qualified names of the services the server lists.
    pub async fn list_services(&mut self) -> Result<Vec<String>, SchemaError> {
        match self
            .ask(MessageRequest::ListServices(String::new()))
            .await?
        {
            MessageResponse::ListServicesResponse(list) => Ok(list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect()),
            MessageResponse::ErrorResponse(error) => Err(SchemaError::ReflectionRefused {
                code: Code::from_i32(error.error_code),
                message: error.error_message,
            }),
            _ => Err(unexpected_answer("a list of services")),
        }
    }

    /// The file that defines `symbol` (and possibly its dependencies).
    pub async fn file_containing_symbol(&mut self, symbol: &str) -> Result<Answer, SchemaError> {
        let answer = self
            .ask(MessageRequest::FileContainingSymbol(symbol.to_string()))
            .await;
        files_from(answer)
    }

    /// The files with these names (and possibly their dependencies), asked all at once and
    /// answered in order: one round trip for a whole level of imports.
    pub async fn files_by_filename(
        &mut self,
        names: &[String],
    ) -> Result<Vec<Answer>, SchemaError> {
        let Some((first, rest)) = names.split_first() else {
            return Ok(Vec::new());
        };
        let mut answers = Vec::new();
        // The first question goes alone only when the stream is not open yet, so that the
        // version fallback and the first-answer bound apply as usual.
        let rest = if self.stream.is_some() {
            names
        } else {
            answers.push(files_from(
                self.ask(MessageRequest::FileByFilename(first.clone()))
                    .await,
            )?);
            rest
        };
        if rest.is_empty() {
            return Ok(answers);
        }
        let Some(stream) = self.stream.as_mut() else {
            for name in rest {
                answers.push(files_from(
                    self.ask(MessageRequest::FileByFilename(name.clone())).await,
                )?);
            }
            return Ok(answers);
        };
        for name in rest {
            let request = ServerReflectionRequest {
                host: self.host.clone(),
                message_request: Some(MessageRequest::FileByFilename(name.clone())),
            };
            if stream.requests.send(request).await.is_err() {
                self.stream = None;
                return Err(SchemaError::Reflection {
                    status: Status::unavailable("the reflection stream closed"),
                });
            }
        }
        for _ in rest {
            let answer = match stream.responses.message().await {
                Ok(Some(ServerReflectionResponse {
                    message_response: Some(answer),
                    ..
                })) => Ok(answer),
                Ok(_) => Err(SchemaError::Reflection {
                    status: Status::unavailable(
                        "the server closed the reflection stream without answering",
                    ),
                }),
                Err(status) => Err(SchemaError::Reflection { status }),
            };
            if answer.is_err() {
                // The stream is unusable now; a later question opens a new one.
                self.stream = None;
                answers.push(files_from(answer)?);
                return Ok(answers);
            }
            answers.push(files_from(answer)?);
        }
        Ok(answers)
    }

    async fn ask(&mut self, question: MessageRequest) -> Result<MessageResponse, SchemaError> {
        loop {
            let attempt = if self.version_confirmed {
                self.try_ask(question.clone()).await
            } else {
                // The first answer also proves the server is alive: bound the wait for it.
                let timeout = self.first_answer_timeout;
                match tokio::time::timeout(timeout, self.try_ask(question.clone())).await {
                    Ok(attempt) => attempt,
                    Err(_) => return Err(SchemaError::NoAnswer(timeout)),
                }
            };
            match attempt {
                Ok(answer) => {
                    self.version_confirmed = true;
                    return Ok(answer);
                }
                Err(status) if status.code() == Code::Unimplemented && !self.version_confirmed => {
                    self.stream = None;
                    if self.version == Version::V1 {
                        self.version = Version::V1Alpha;
                        continue;
                    }
                    return Err(SchemaError::ReflectionUnsupported {
                        host: self.host.clone(),
                    });
                }
                Err(status) => {
                    self.stream = None;
                    return Err(SchemaError::Reflection { status });
                }
            }
        }
    }

    async fn try_ask(&mut self, question: MessageRequest) -> Result<MessageResponse, Status> {
        let request = ServerReflectionRequest {
            host: self.host.clone(),
            message_request: Some(question),
        };
        let stream = match self.stream.as_mut() {
            Some(stream) => {
                stream
                    .requests
                    .send(request)
                    .await
                    .map_err(|_| Status::unavailable("the reflection stream closed"))?;
                stream
            }
            None => {
                let opened = self.open(request).await?;
                self.stream.insert(opened)
            }
        };
        match stream.responses.message().await? {
            Some(ServerReflectionResponse {
                message_response: Some(answer),
                ..
            }) => Ok(answer),
            Some(_) => Err(Status::internal(
                "the server sent an empty reflection answer",
            )),
            None => Err(Status::unavailable(
                "the server closed the reflection stream without answering",
            )),
        }
    }

    /// Opens the stream with its first question already queued, so that servers that wait
    /// for a request before sending headers still answer.
    async fn open(&mut self, first: ServerReflectionRequest) -> Result<OpenStream, Status> {
        let (requests, receiver) = mpsc::channel(4);
        requests
            .send(first)
            .await
            .map_err(|_| Status::internal("the reflection request queue closed"))?;
        let mut request = tonic::Request::new(ReceiverStream::new(receiver));
        for header in &self.headers {
            header.insert_into(request.metadata_mut());
        }
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|err| Status::unavailable(format!("the connection is not ready: {err}")))?;
        let codec =
            tonic_prost::ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default();
        let responses = grpc
            .streaming(request, self.version.path(), codec)
            .await?
            .into_inner();
        Ok(OpenStream {
            requests,
            responses,
        })
    }
}

/// Files from an answer. "Not found" comes either as an error answer on the stream (grpc-go)
/// or as a NOT_FOUND status that ends the stream (tonic); both mean the same.
fn files_from(answer: Result<MessageResponse, SchemaError>) -> Result<Answer, SchemaError> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(SchemaError::Reflection { status }) if status.code() == Code::NotFound => {
            return Ok(Answer::NotFound);
        }
        Err(err) => return Err(err),
    };
    match answer {
        MessageResponse::FileDescriptorResponse(response) => response
            .file_descriptor_proto
            .into_iter()
            .map(|bytes| {
                let proto = FileDescriptorProto::decode(bytes.as_slice()).map_err(|err| {
                    SchemaError::BadDescriptor(format!("a file descriptor does not decode: {err}"))
                })?;
                Ok(RawFile { proto, bytes })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Answer::Files),
        MessageResponse::ErrorResponse(error) if error.error_code == Code::NotFound as i32 => {
            Ok(Answer::NotFound)
        }
        MessageResponse::ErrorResponse(error) => Err(SchemaError::ReflectionRefused {
            code: Code::from_i32(error.error_code),
            message: error.error_message,
        }),
        _ => Err(unexpected_answer("file descriptors")),
    }
}

fn unexpected_answer(expected: &str) -> SchemaError {
    SchemaError::Reflection {
        status: Status::internal(format!(
            "the server answered a reflection request for {expected} with something else"
        )),
    }
}
