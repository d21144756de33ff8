//! Types grpcx ships, added to a schema that lacks them: google.rpc.Status and the standard
//! error details (most servers do not reflect them, yet send them in grpc-status-details-bin),
//! and the well-known types (an `Any` may pack one that the server's files never import).

use prost_reflect::DescriptorPool;

use super::encode_set;

/// google/rpc/status.proto and error_details.proto, compiled at build time.
const GOOGLE_RPC: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/google_rpc_descriptor.bin"));

/// Adds the google.rpc types, and with `well_known` every well-known type, where `pool` does
/// not define them already. A server's own copy of a file always wins.
pub fn add_missing(pool: &mut DescriptorPool, well_known: bool) {
    let mut shipped = DescriptorPool::new();
    if shipped.decode_file_descriptor_set(GOOGLE_RPC).is_err() {
        return;
    }
    let mut files: Vec<Vec<u8>> = shipped.files().map(|f| f.encode_to_vec()).collect();
    if well_known {
        files.extend(
            DescriptorPool::global()
                .files()
                .filter(|f| f.name().starts_with("google/protobuf/"))
                .map(|f| f.encode_to_vec()),
        );
    }
    // One at a time, so that a file clashing with the server's types is skipped alone; the
    // set is ordered dependencies first.
    for file in files {
        let mut candidate = pool.clone();
        if candidate
            .decode_file_descriptor_set(encode_set([file]).as_slice())
            .is_ok()
        {
            *pool = candidate;
        }
    }
}
