//! The demo's `TypesService`: an echo of every protobuf type, and a method that fails with the
//! status it is sent, so that a client's JSON mapping and error display can be tried.

use tonic::{Request, Status};

use super::{pb, rpc};

/// The echo service of every protobuf type.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypesEcho;

#[tonic::async_trait]
impl pb::types_service_server::TypesService for TypesEcho {
    async fn echo(
        &self,
        request: Request<pb::AllTypes>,
    ) -> Result<tonic::Response<pb::AllTypes>, Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }

    async fn fail(&self, request: Request<rpc::Status>) -> Result<tonic::Response<()>, Status> {
        let wanted = request.into_inner();
        let code = tonic::Code::from_i32(wanted.code);
        if code == tonic::Code::Ok {
            return Ok(tonic::Response::new(()));
        }
        let message = wanted.message.clone();
        Err(Status::with_details(
            code,
            message,
            prost::Message::encode_to_vec(&wanted).into(),
        ))
    }
}
