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

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/well_known.rs"));
}

/// grpcx's own copy of a well-known type's file (`google/protobuf/timestamp.proto`, …),
/// encoded. Their contents are fixed by the protobuf project, so a call takes these rather
/// than spend a reflection round trip on them; `describe` and the exports still ask the
/// server, whose copy may differ in options and comments.
pub fn well_known_file(name: &str) -> Option<&'static [u8]> {
    shipped::FILES
        .iter()
        .find(|(shipped, _)| *shipped == name)
        .map(|(_, bytes)| *bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn the_well_known_files_are_shipped_whole_and_build_alone() {
        for name in [
            "timestamp",
            "duration",
            "any",
            "struct",
            "wrappers",
            "empty",
            "type",
        ] {
            let name = format!("google/protobuf/{name}.proto");
            let bytes = well_known_file(&name).unwrap_or_else(|| panic!("{name} missing"));
            let file = prost_types::FileDescriptorProto::decode(bytes).unwrap();
            assert_eq!(file.name(), name);
            assert!(file.source_code_info.is_none(), "{name} carries comments");
        }
        assert!(well_known_file("google/protobuf/descriptor.proto").is_none());
        let mut pool = DescriptorPool::new();
        let all = shipped::FILES.iter().map(|(_, bytes)| bytes.to_vec());
        // The set is in dependency order, so it builds as it is.
        pool.decode_file_descriptor_set(encode_set(all).as_slice())
            .unwrap();
        assert!(
            pool.get_message_by_name("google.protobuf.Timestamp")
                .is_some()
        );
    }
}
