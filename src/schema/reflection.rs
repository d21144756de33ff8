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

/// How many reflection questions may wait for their answers at once.
const PIPELINE_WINDOW: usize = 32;

struct OpenStream {
    requests: mpsc::Sender<ServerReflectionRequest>,
    responses: Streaming<ServerReflectionResponse>,
}

/// A reflection conversation with one server.
pub struct ReflectionClient {
    channel: Channel,
    headers: Vec<Header>,
    host: String,
    answer_timeout: Duration,
    /// The largest answer accepted, in bytes.
    max_message_size: usize,
    /// Keep the comments (source code info) of the files received: `describe` prints them,
    /// calls need none.
    keep_comments: bool,
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
    /// How many bytes the server sent for it (comments included), for the bound on a schema.
    pub sent: usize,
}

impl ReflectionClient {
    pub fn new(
        channel: Channel,
        host: String,
        headers: Vec<Header>,
        answer_timeout: Duration,
        max_message_size: usize,
    ) -> ReflectionClient {
        ReflectionClient {
            channel,
            headers,
            host,
            answer_timeout,
            max_message_size,
            keep_comments: true,
            version: Version::V1,
            version_confirmed: false,
            stream: None,
        }
    }

    /// Drops the comments of the files received, which a call never reads: decoding them was
    /// the larger part of building a cold call's schema.
    pub fn drop_comments(&mut self) {
        self.keep_comments = false;
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
        files_from(answer, self.keep_comments)
    }

    /// The files with these names (and possibly their dependencies), asked all at once and
    /// answered in order: one round trip for a whole level of imports. More than `budget`
    /// bytes of descriptors in the answers is `SchemaError::TooLarge`.
    pub async fn files_by_filename(
        &mut self,
        names: &[String],
        mut budget: usize,
    ) -> Result<Vec<Answer>, SchemaError> {
        let mut answers = Vec::with_capacity(names.len());
        let mut rest = names;
        // The first question goes alone only when the stream is not open yet, so that the
        // version fallback and the first-answer bound apply as usual.
        if self.stream.is_none()
            && let Some((first, others)) = names.split_first()
        {
            answers.push(self.ask_file(first, &mut budget).await?);
            rest = others;
        }
        self.ask_files_pipelined(rest, &mut budget, &mut answers)
            .await?;
        Ok(answers)
    }

    /// One file by name, asked on its own.
    async fn ask_file(&mut self, name: &str, budget: &mut usize) -> Result<Answer, SchemaError> {
        let answer = self
            .ask(MessageRequest::FileByFilename(name.to_string()))
            .await;
        spend(budget, files_from(answer, self.keep_comments)?)
    }

    /// Files by name on the open stream, the questions pipelined but never more than a window
    /// of them unanswered: a server that answers each before it reads the next would otherwise
    /// fill the flow-control window with answers while grpcx still sends, and both would wait
    /// for ever.
    async fn ask_files_pipelined(
        &mut self,
        names: &[String],
        budget: &mut usize,
        answers: &mut Vec<Answer>,
    ) -> Result<(), SchemaError> {
        let (mut sent, mut read) = (0, 0);
        while read < names.len() {
            let Some(stream) = self.stream.as_mut() else {
                // The stream broke (tonic ends it with NOT_FOUND): the questions it took with
                // it are asked again, each on a new stream when need be.
                for name in names.get(read..).unwrap_or_default() {
                    answers.push(self.ask_file(name, budget).await?);
                }
                return Ok(());
            };
            let room = PIPELINE_WINDOW - (sent - read);
            let waiting = names.get(sent..).unwrap_or_default();
            sent += send_file_questions(stream, &self.host, waiting, room).await;
            if sent == read {
                self.stream = None;
                continue;
            }
            let next = tokio::time::timeout(self.answer_timeout, stream.responses.message());
            let Ok(next) = next.await else {
                self.stream = None;
                return Err(SchemaError::ReflectionStalled(self.answer_timeout));
            };
            let answer = match next {
                Ok(Some(ServerReflectionResponse {
                    message_response: Some(answer),
                    ..
                })) => Ok(answer),
                Ok(_) => {
                    self.stream = None;
                    return Err(SchemaError::Reflection {
                        status: Status::unavailable(
                            "the server closed the reflection stream without answering",
                        ),
                    });
                }
                Err(status) => {
                    // The stream is gone with the questions sent after this one.
                    self.stream = None;
                    sent = read + 1;
                    Err(SchemaError::Reflection { status })
                }
            };
            answers.push(spend(budget, files_from(answer, self.keep_comments)?)?);
            read += 1;
        }
        Ok(())
    }

    async fn ask(&mut self, question: MessageRequest) -> Result<MessageResponse, SchemaError> {
        loop {
            // The first answer also proves the server is alive; every later one is bounded
            // the same way, so that a server that stops answering cannot hang grpcx.
            let timeout = self.answer_timeout;
            let attempt = match tokio::time::timeout(timeout, self.try_ask(question.clone())).await
            {
                Ok(attempt) => attempt,
                Err(_) if self.version_confirmed => {
                    self.stream = None;
                    return Err(SchemaError::ReflectionStalled(timeout));
                }
                Err(_) => return Err(SchemaError::NoAnswer(timeout)),
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
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(self.max_message_size);
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

/// Sends a question for each of the first `room` of `names` on `stream`; returns how many
/// went (fewer when the stream closed).
async fn send_file_questions(
    stream: &mut OpenStream,
    host: &str,
    names: &[String],
    room: usize,
) -> usize {
    let mut sent = 0;
    for name in names.iter().take(room) {
        let request = ServerReflectionRequest {
            host: host.to_string(),
            message_request: Some(MessageRequest::FileByFilename(name.clone())),
        };
        if stream.requests.send(request).await.is_err() {
            break;
        }
        sent += 1;
    }
    sent
}

/// Where reflection answers come from: a server, or, for the fuzz targets and tests, answers
/// held in memory, which go through the same decoding and the same schema loading.
// The memory source exists only in tests and fuzzing builds, where the size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    Server(ReflectionClient),
    #[cfg(any(test, fuzzing))]
    Memory(Memory),
}

impl Source {
    /// Drops the comments of the files received (see `ReflectionClient::drop_comments`).
    pub fn drop_comments(&mut self) {
        match self {
            Source::Server(client) => client.drop_comments(),
            #[cfg(any(test, fuzzing))]
            Source::Memory(memory) => memory.keep_comments = false,
        }
    }

    /// The protocol version the server answered, once it has.
    pub fn version(&self) -> Option<Version> {
        match self {
            Source::Server(client) => client.version(),
            #[cfg(any(test, fuzzing))]
            Source::Memory(_) => Some(Version::V1),
        }
    }

    /// The fully-qualified names of the services the server lists.
    pub async fn list_services(&mut self) -> Result<Vec<String>, SchemaError> {
        match self {
            Source::Server(client) => client.list_services().await,
            #[cfg(any(test, fuzzing))]
            Source::Memory(memory) => Ok(memory.services()),
        }
    }

    /// The file that defines `symbol` (and possibly its dependencies).
    pub async fn file_containing_symbol(&mut self, symbol: &str) -> Result<Answer, SchemaError> {
        match self {
            Source::Server(client) => client.file_containing_symbol(symbol).await,
            #[cfg(any(test, fuzzing))]
            Source::Memory(memory) => memory.file_containing_symbol(symbol),
        }
    }

    /// The files with these names, in order (see `ReflectionClient::files_by_filename`).
    pub async fn files_by_filename(
        &mut self,
        names: &[String],
        budget: usize,
    ) -> Result<Vec<Answer>, SchemaError> {
        match self {
            Source::Server(client) => client.files_by_filename(names, budget).await,
            #[cfg(any(test, fuzzing))]
            Source::Memory(memory) => memory.files_by_filename(names, budget),
        }
    }
}

/// Reflection answers held in memory: the answer to `FileContainingSymbol("answer:N")` is the
/// N-th list of encoded files, and a file asked for by name is the first file of that name in
/// any of them. Answers are decoded as a server's are.
#[cfg(any(test, fuzzing))]
pub struct Memory {
    answers: Vec<Vec<Vec<u8>>>,
    keep_comments: bool,
}

#[cfg(any(test, fuzzing))]
impl Memory {
    pub fn new(answers: Vec<Vec<Vec<u8>>>) -> Memory {
        Memory {
            answers,
            keep_comments: true,
        }
    }

    /// The symbol whose answer is the `index`-th.
    pub fn symbol(index: usize) -> String {
        format!("answer:{index}")
    }

    fn answer(&self, files: Vec<Vec<u8>>) -> Result<Answer, SchemaError> {
        let response = tonic_reflection::pb::v1::FileDescriptorResponse {
            file_descriptor_proto: files,
        };
        files_from(
            Ok(MessageResponse::FileDescriptorResponse(response)),
            self.keep_comments,
        )
    }

    fn services(&self) -> Vec<String> {
        self.answers
            .iter()
            .flatten()
            .filter_map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).ok())
            .flat_map(|file| {
                let package = file.package().to_string();
                file.service
                    .into_iter()
                    .map(move |service| match package.as_str() {
                        "" => service.name().to_string(),
                        package => format!("{package}.{}", service.name()),
                    })
            })
            .collect()
    }

    fn file_containing_symbol(&self, symbol: &str) -> Result<Answer, SchemaError> {
        let found = symbol
            .strip_prefix("answer:")
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| self.answers.get(index));
        match found {
            Some(files) => self.answer(files.clone()),
            None => Ok(Answer::NotFound),
        }
    }

    fn files_by_filename(
        &self,
        names: &[String],
        mut budget: usize,
    ) -> Result<Vec<Answer>, SchemaError> {
        names
            .iter()
            .map(|name| {
                let file = self.answers.iter().flatten().find(|bytes| {
                    FileDescriptorProto::decode(bytes.as_slice())
                        .is_ok_and(|file| file.name() == name)
                });
                match file {
                    Some(bytes) => spend(&mut budget, self.answer(vec![bytes.clone()])?),
                    None => Ok(Answer::NotFound),
                }
            })
            .collect()
    }
}

/// `answer`, when its descriptors fit in what is left of `budget` bytes (and takes them off).
fn spend(budget: &mut usize, answer: Answer) -> Result<Answer, SchemaError> {
    if let Answer::Files(files) = &answer {
        let bytes = files.iter().map(|file| file.sent).sum::<usize>();
        *budget = budget.checked_sub(bytes).ok_or(SchemaError::TooLarge)?;
    }
    Ok(answer)
}

/// Files from an answer. "Not found" comes either as an error answer on the stream (grpc-go)
/// or as a NOT_FOUND status that ends the stream (tonic); both mean the same.
fn files_from(
    answer: Result<MessageResponse, SchemaError>,
    keep_comments: bool,
) -> Result<Answer, SchemaError> {
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
                let sent = bytes.len();
                let bytes = if keep_comments {
                    bytes
                } else {
                    without_comments(&bytes)?
                };
                let proto = FileDescriptorProto::decode(bytes.as_slice()).map_err(|err| {
                    SchemaError::BadDescriptor(format!("a file descriptor does not decode: {err}"))
                })?;
                Ok(RawFile { proto, bytes, sent })
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

/// An encoded FileDescriptorProto without its source code info (field 9), copied field by
/// field without decoding the rest.
fn without_comments(mut bytes: &[u8]) -> Result<Vec<u8>, SchemaError> {
    use prost::encoding::{DecodeContext, WireType, decode_key, skip_field};
    const SOURCE_CODE_INFO: u32 = 9;
    let malformed = |err: prost::DecodeError| {
        SchemaError::BadDescriptor(format!("a file descriptor does not decode: {err}"))
    };
    let mut kept = Vec::with_capacity(bytes.len());
    while !bytes.is_empty() {
        let field = bytes;
        let (number, wire_type) = decode_key(&mut bytes).map_err(malformed)?;
        skip_field(wire_type, number, &mut bytes, DecodeContext::default()).map_err(malformed)?;
        if !(number == SOURCE_CODE_INFO && wire_type == WireType::LengthDelimited) {
            let length = field.len() - bytes.len();
            kept.extend_from_slice(field.get(..length).unwrap_or_default());
        }
    }
    Ok(kept)
}

fn unexpected_answer(expected: &str) -> SchemaError {
    SchemaError::Reflection {
        status: Status::internal(format!(
            "the server answered a reflection request for {expected} with something else"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{SourceCodeInfo, source_code_info::Location};

    #[test]
    fn comments_go_and_everything_else_stays_byte_for_byte() {
        let plain = FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("a".into()),
            dependency: vec!["b.proto".into()],
            ..Default::default()
        };
        let mut commented = plain.clone();
        commented.source_code_info = Some(SourceCodeInfo {
            location: vec![Location {
                leading_comments: Some("a comment".into()),
                ..Default::default()
            }],
        });
        // A custom option's bytes, which FileDescriptorProto would not keep: field 50000.
        let mut bytes = commented.encode_to_vec();
        let mut unknown = Vec::new();
        prost::encoding::string::encode(50000, &"custom".to_string(), &mut unknown);
        bytes.extend_from_slice(&unknown);

        let stripped = without_comments(&bytes).unwrap();
        let mut expected = plain.encode_to_vec();
        expected.extend_from_slice(&unknown);
        assert_eq!(stripped, expected);
        assert!(without_comments(b"\x0a\xff\xff").is_err());
    }
}
