//! Stand-ins for descriptor.proto's option messages, for the pools that calls build.
//!
//! prost-reflect decodes every option of a file while it builds a pool, as the type the pool
//! declares (`google.protobuf.MessageOptions`, ...) or, when the pool has none, as its global
//! pool declares it; building that global pool (descriptor.proto and every well-known type)
//! costs more than building a call's own few files. Every schema with a map has an option (a
//! map entry is a message with `map_entry` set), so nearly every call would pay for it.
//!
//! A call never reads options back: what it needs of them (`map_entry`, `packed`) prost-reflect
//! takes from the descriptors themselves. So a call's pool starts with empty messages of those
//! names, and every option decodes as unknown fields, which are kept as they were. `describe`
//! and the exports read options, and never use the stand-ins. When a file of the server's
//! imports the real descriptor.proto (custom options), the stand-ins make way for it.

use prost_reflect::DescriptorPool;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

/// The file that holds the stand-ins; a name no server uses.
pub const FILE_NAME: &str = "grpcx/internal/option_types.proto";

const OPTION_TYPES: [&str; 9] = [
    "FileOptions",
    "MessageOptions",
    "FieldOptions",
    "OneofOptions",
    "EnumOptions",
    "EnumValueOptions",
    "ServiceOptions",
    "MethodOptions",
    "ExtensionRangeOptions",
];

/// A pool holding only the stand-ins.
pub fn pool() -> DescriptorPool {
    let file = FileDescriptorProto {
        name: Some(FILE_NAME.to_string()),
        package: Some("google.protobuf".to_string()),
        message_type: OPTION_TYPES
            .iter()
            .map(|name| DescriptorProto {
                name: Some((*name).to_string()),
                ..DescriptorProto::default()
            })
            .collect(),
        syntax: Some("proto2".to_string()),
        ..FileDescriptorProto::default()
    };
    // Nine empty messages always build; an empty pool is the safe answer all the same.
    DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: vec![file] })
        .unwrap_or_default()
}

/// Whether `pool` holds the stand-ins.
pub fn present(pool: &DescriptorPool) -> bool {
    pool.get_file_by_name(FILE_NAME).is_some()
}

/// `pool` without the stand-ins: the same files, built again, with options decoded as the
/// pool's own descriptor.proto or prost-reflect's global pool declare them.
pub fn removed(pool: &DescriptorPool) -> Result<DescriptorPool, prost_reflect::DescriptorError> {
    let mut rebuilt = DescriptorPool::new();
    let files = pool
        .files()
        .filter(|file| file.name() != FILE_NAME)
        .map(|file| file.encode_to_vec());
    rebuilt.decode_file_descriptor_set(super::encode_set(files).as_slice())?;
    Ok(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_packing_survive_the_stand_ins() {
        let demo = DescriptorPool::decode(crate::demo::pb::FILE_DESCRIPTOR_SET).unwrap();
        let files =
            crate::schema::dependencies_first(demo.files().filter(|f| f.name() == "types.proto"));
        assert!(!files.is_empty());
        let mut lean = pool();
        let encoded = files.iter().map(|f| f.encode_to_vec());
        lean.decode_file_descriptor_set(crate::schema::encode_set(encoded).as_slice())
            .unwrap();
        let all = lean.get_message_by_name("grpcx.demo.v1.AllTypes").unwrap();
        assert!(all.get_field_by_name("m_string").unwrap().is_map());
        assert!(all.get_field_by_name("r_int64").unwrap().is_packed());

        let full = removed(&lean).unwrap();
        assert!(!present(&full) && present(&lean));
        assert_eq!(full.files().len() + 1, lean.files().len());
        let again = full.get_message_by_name("grpcx.demo.v1.AllTypes").unwrap();
        assert!(again.get_field_by_name("m_string").unwrap().is_map());
    }
}
