//! The demo server's reflection service, v1 and v1alpha, serving each file as it was compiled.
//!
//! tonic-reflection decodes the files into `prost_types`, which drop what they do not know,
//! and so serves every method without its extension options: the demo's `google.api.http`
//! routes would vanish on the way to a client. prost-reflect keeps them, so the files are
//! indexed here and encoded from its pool. The answers follow grpc-go's: a file comes with
//! every file it imports, the asked one first.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;

use prost::Message as _;
use prost_reflect::DescriptorPool;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tonic_reflection::pb::{v1, v1alpha};

use v1::server_reflection_request::MessageRequest;
use v1::server_reflection_response::MessageResponse;

/// The files of the schema, and where each name is declared.
#[derive(Debug, Default)]
pub struct ReflectionIndex {
    pool: DescriptorPool,
    /// A fully-qualified symbol (message, enum, service, method, extension) → its file.
    symbols: HashMap<String, String>,
    /// (extended message, field number) → the file declaring the extension.
    extensions: HashMap<(String, i32), String>,
}

impl ReflectionIndex {
    /// The index of the encoded `FileDescriptorSet`s `sets`.
    pub fn new(sets: &[&[u8]]) -> Result<ReflectionIndex, prost_reflect::DescriptorError> {
        let mut pool = DescriptorPool::new();
        for set in sets {
            pool.decode_file_descriptor_set(*set)?;
        }
        let mut symbols = HashMap::new();
        let mut extensions = HashMap::new();
        for message in pool.all_messages() {
            symbols.insert(
                message.full_name().to_string(),
                message.parent_file().name().to_string(),
            );
        }
        for an_enum in pool.all_enums() {
            symbols.insert(
                an_enum.full_name().to_string(),
                an_enum.parent_file().name().to_string(),
            );
        }
        for service in pool.services() {
            let file = service.parent_file().name().to_string();
            for method in service.methods() {
                symbols.insert(method.full_name().to_string(), file.clone());
            }
            symbols.insert(service.full_name().to_string(), file);
        }
        for extension in pool.all_extensions() {
            let file = extension.parent_file().name().to_string();
            extensions.insert(
                (
                    extension.containing_message().full_name().to_string(),
                    extension.number() as i32,
                ),
                file.clone(),
            );
            symbols.insert(extension.full_name().to_string(), file);
        }
        Ok(ReflectionIndex {
            pool,
            symbols,
            extensions,
        })
    }

    /// The answer to one reflection request.
    fn answer(&self, request: &MessageRequest) -> MessageResponse {
        let not_found = |message: String| {
            MessageResponse::ErrorResponse(v1::ErrorResponse {
                error_code: tonic::Code::NotFound as i32,
                error_message: message,
            })
        };
        match request {
            MessageRequest::FileByFilename(name) => match self.files_from(name) {
                Some(files) => files,
                None => not_found(format!("no file named {name}")),
            },
            MessageRequest::FileContainingSymbol(symbol) => {
                let symbol = symbol.trim_start_matches('.');
                match self
                    .symbols
                    .get(symbol)
                    .and_then(|file| self.files_from(file))
                {
                    Some(files) => files,
                    None => not_found(format!("no symbol named {symbol}")),
                }
            }
            MessageRequest::FileContainingExtension(extension) => {
                let key = (
                    extension
                        .containing_type
                        .trim_start_matches('.')
                        .to_string(),
                    extension.extension_number,
                );
                match self
                    .extensions
                    .get(&key)
                    .and_then(|file| self.files_from(file))
                {
                    Some(files) => files,
                    None => not_found(format!(
                        "no extension {} of {}",
                        key.1, extension.containing_type
                    )),
                }
            }
            MessageRequest::AllExtensionNumbersOfType(name) => {
                let name = name.trim_start_matches('.');
                if self.pool.get_message_by_name(name).is_none() {
                    return not_found(format!("no message named {name}"));
                }
                let mut numbers: Vec<i32> = self
                    .extensions
                    .keys()
                    .filter(|(extended, _)| extended == name)
                    .map(|(_, number)| *number)
                    .collect();
                numbers.sort_unstable();
                MessageResponse::AllExtensionNumbersResponse(v1::ExtensionNumberResponse {
                    base_type_name: name.to_string(),
                    extension_number: numbers,
                })
            }
            MessageRequest::ListServices(_) => {
                MessageResponse::ListServicesResponse(v1::ListServiceResponse {
                    service: self
                        .pool
                        .services()
                        .map(|service| v1::ServiceResponse {
                            name: service.full_name().to_string(),
                        })
                        .collect(),
                })
            }
        }
    }

    /// The file `name` and every file it imports, directly or not, as encoded descriptors.
    fn files_from(&self, name: &str) -> Option<MessageResponse> {
        let first = self.pool.get_file_by_name(name)?;
        let mut seen = HashSet::new();
        let mut order = vec![first];
        let mut encoded = Vec::new();
        while let Some(file) = order.pop() {
            if !seen.insert(file.name().to_string()) {
                continue;
            }
            encoded.push(file.encode_to_vec());
            order.extend(file.dependencies());
        }
        Some(MessageResponse::FileDescriptorResponse(
            v1::FileDescriptorResponse {
                file_descriptor_proto: encoded,
            },
        ))
    }

    fn respond(&self, request: v1::ServerReflectionRequest) -> v1::ServerReflectionResponse {
        let message_response = match &request.message_request {
            Some(message) => self.answer(message),
            None => MessageResponse::ErrorResponse(v1::ErrorResponse {
                error_code: tonic::Code::InvalidArgument as i32,
                error_message: "the request names nothing to look up".to_string(),
            }),
        };
        v1::ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(message_response),
        }
    }
}

/// The reflection service, for `ServerReflectionServer` of either version.
#[derive(Debug, Clone)]
pub struct Reflection {
    index: Arc<ReflectionIndex>,
}

impl Reflection {
    pub fn new(index: Arc<ReflectionIndex>) -> Reflection {
        Reflection { index }
    }

    /// Answers each request of `requests` in turn, as `convert` makes them v1 messages and
    /// makes the answers the client's version again.
    fn conversation<In, Out>(
        &self,
        mut requests: Streaming<In>,
    ) -> Pin<Box<dyn Stream<Item = Result<Out, Status>> + Send>>
    where
        In: prost::Message + Default + Send + 'static,
        Out: prost::Message + Default + Send + 'static,
    {
        let index = self.index.clone();
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let request = match requests.message().await {
                    Ok(Some(request)) => request,
                    Ok(None) => break,
                    Err(status) => {
                        let _ = sender.send(Err(status)).await;
                        break;
                    }
                };
                // v1 and v1alpha are the same messages under two names: the bytes convert.
                let answer =
                    v1::ServerReflectionRequest::decode(request.encode_to_vec().as_slice())
                        .map(|request| index.respond(request))
                        .and_then(|answer| Out::decode(answer.encode_to_vec().as_slice()))
                        .map_err(|error| Status::internal(error.to_string()));
                if sender.send(answer).await.is_err() {
                    break;
                }
            }
        });
        Box::pin(ReceiverStream::new(receiver))
    }
}

#[tonic::async_trait]
impl v1::server_reflection_server::ServerReflection for Reflection {
    type ServerReflectionInfoStream =
        Pin<Box<dyn Stream<Item = Result<v1::ServerReflectionResponse, Status>> + Send>>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(self.conversation(request.into_inner())))
    }
}

#[tonic::async_trait]
impl v1alpha::server_reflection_server::ServerReflection for Reflection {
    type ServerReflectionInfoStream =
        Pin<Box<dyn Stream<Item = Result<v1alpha::ServerReflectionResponse, Status>> + Send>>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1alpha::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(self.conversation(request.into_inner())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> ReflectionIndex {
        ReflectionIndex::new(&[super::super::pb::FILE_DESCRIPTOR_SET]).unwrap()
    }

    fn files(response: MessageResponse) -> Vec<prost_types::FileDescriptorProto> {
        let MessageResponse::FileDescriptorResponse(files) = response else {
            panic!("not files: {response:?}");
        };
        files
            .file_descriptor_proto
            .iter()
            .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
            .collect()
    }

    #[test]
    fn a_symbol_comes_with_its_file_first_and_every_import_once() {
        let index = index();
        let files = files(index.answer(&MessageRequest::FileContainingSymbol(
            "grpcx.demo.v1.ItemService.GetItem".to_string(),
        )));
        let names: Vec<&str> = files.iter().map(|file| file.name()).collect();
        assert_eq!(names.first(), Some(&"item_service.proto"));
        for import in [
            "google/api/annotations.proto",
            "google/api/http.proto",
            "google/protobuf/descriptor.proto",
        ] {
            assert_eq!(names.iter().filter(|name| **name == import).count(), 1);
        }
    }

    #[test]
    fn method_options_keep_their_extensions() {
        let index = index();
        let MessageResponse::FileDescriptorResponse(files) = index.answer(
            &MessageRequest::FileByFilename("item_service.proto".to_string()),
        ) else {
            panic!("no file");
        };
        // The answer as a FileDescriptorSet, built from the raw bytes: decoding them through
        // prost-types would drop the very option this test looks for.
        let mut set = Vec::new();
        for file in &files.file_descriptor_proto {
            prost::encoding::bytes::encode(1, file, &mut set);
        }
        let pool = DescriptorPool::decode(set.as_slice()).unwrap();
        let method = pool
            .get_service_by_name("grpcx.demo.v1.ItemService")
            .and_then(|service| service.methods().find(|m| m.name() == "GetItem"))
            .unwrap();
        let http = pool.get_extension_by_name("google.api.http").unwrap();
        let options = method.options();
        let rule = options.get_extension(&http);
        let get = rule
            .as_message()
            .and_then(|rule| rule.get_field_by_name("get"));
        assert_eq!(
            get.as_deref().and_then(|get| get.as_str()),
            Some("/v1/items/{id}")
        );
    }

    #[test]
    fn unknown_names_are_not_found_and_services_are_listed() {
        let index = index();
        let MessageResponse::ErrorResponse(error) =
            index.answer(&MessageRequest::FileContainingSymbol("no.Such".to_string()))
        else {
            panic!("found");
        };
        assert_eq!(error.error_code, tonic::Code::NotFound as i32);
        let MessageResponse::ListServicesResponse(list) =
            index.answer(&MessageRequest::ListServices(String::new()))
        else {
            panic!("no list");
        };
        assert!(
            list.service
                .iter()
                .any(|service| service.name == "grpcx.demo.v1.ItemService")
        );
    }
}
