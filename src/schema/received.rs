//! Checks on descriptors that come from outside (a server, the cache): what prost-reflect
//! would panic on later, or accept although no compiler would, is refused as they are added.

use std::collections::HashSet;

use prost_reflect::DescriptorPool;

use super::{SchemaError, encode_set};

/// Adds encoded file descriptors (in any order) to `pool`, keeping their custom options.
pub(super) fn add_encoded(
    pool: &mut DescriptorPool,
    files: impl IntoIterator<Item = Vec<u8>>,
) -> Result<(), prost_reflect::DescriptorError> {
    pool.decode_file_descriptor_set(encode_set(files).as_slice())
}

/// Adds file descriptors that came from outside (a server, the cache) to `pool`, refusing
/// them, and leaving `pool` as it was, when they do not build or their options do not decode.
pub fn add_received(
    pool: &mut DescriptorPool,
    files: impl IntoIterator<Item = Vec<u8>>,
) -> Result<(), SchemaError> {
    let files: Vec<Vec<u8>> = files.into_iter().collect();
    for file in &files {
        check_syntax(file).map_err(SchemaError::BadDescriptor)?;
    }
    let mut candidate = pool.clone();
    let before = candidate.files().len();
    add_encoded(&mut candidate, files)
        .map_err(|err| SchemaError::BadDescriptor(err.to_string()))?;
    check_options(&candidate, before).map_err(SchemaError::BadDescriptor)?;
    *pool = candidate;
    Ok(())
}

/// Checks that a file's syntax is one prost-reflect reads: it panics on any other (0.16 does
/// not read editions yet).
fn check_syntax(file: &[u8]) -> Result<(), String> {
    let mut syntax = None;
    options::fields(file, &mut |number, value| {
        if number == 12 {
            syntax = Some(value);
        }
        Ok(())
    })?;
    match syntax.map(String::from_utf8_lossy) {
        None => Ok(()),
        Some(syntax) if syntax == "proto2" || syntax == "proto3" => Ok(()),
        Some(syntax) => Err(format!(
            "a file has syntax `{syntax}`; grpcx reads proto2 and proto3 (not editions yet)"
        )),
    }
}

/// Checks that every option of the files from index `from` on decodes as the pool declares
/// it. prost-reflect checks the standard options when it builds a pool, but decodes the
/// rest (custom options, or every option when the pool has its own descriptor.proto) only
/// when asked, and panics when they do not decode: a server could crash `describe`.
fn check_options(pool: &DescriptorPool, from: usize) -> Result<(), String> {
    // Options are decoded as the pool declares them when read, not when their file was added:
    // when the new files declare option types or extensions, the earlier files' options must
    // decode as those declare them too.
    let new: HashSet<String> = pool
        .files()
        .skip(from)
        .map(|f| f.name().to_string())
        .collect();
    let redeclared = pool
        .all_extensions()
        .any(|e| new.contains(e.parent_file().name()))
        || pool.all_messages().any(|m| {
            m.package_name() == "google.protobuf"
                && m.name().ends_with("Options")
                && new.contains(m.parent_file().name())
        });
    let from = if redeclared { 0 } else { from };
    for file in pool.files().skip(from) {
        let bytes = file.encode_to_vec();
        options::walk(&bytes, options::Element::File, &mut |type_name, options| {
            // Without a type of its own, the pool decodes options as prost-reflect's global
            // pool declares them: what building the pool checked already.
            let Some(descriptor) = pool.get_message_by_name(type_name) else {
                return Ok(());
            };
            prost_reflect::DynamicMessage::decode(descriptor, options)
                .map(drop)
                .map_err(|err| {
                    format!(
                        "`{}` holds {type_name} that do not decode as the schema declares them: {err}",
                        file.name()
                    )
                })
        })?;
    }
    Ok(())
}

/// Finding the options in an encoded FileDescriptorProto.
pub(super) mod options {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

    /// An element of a file that may have options.
    #[derive(Debug, Clone, Copy)]
    pub enum Element {
        File,
        Message,
        Field,
        Oneof,
        Enum,
        EnumValue,
        Service,
        Method,
    }

    impl Element {
        /// The field number of the element's options, and their type.
        fn options(self) -> (u32, &'static str) {
            match self {
                Element::File => (8, "google.protobuf.FileOptions"),
                Element::Message => (7, "google.protobuf.MessageOptions"),
                Element::Field => (8, "google.protobuf.FieldOptions"),
                Element::Oneof => (2, "google.protobuf.OneofOptions"),
                Element::Enum => (3, "google.protobuf.EnumOptions"),
                Element::EnumValue => (3, "google.protobuf.EnumValueOptions"),
                Element::Service => (3, "google.protobuf.ServiceOptions"),
                Element::Method => (4, "google.protobuf.MethodOptions"),
            }
        }

        /// The element that the field `number` of this one holds, if it has options.
        fn child(self, number: u32) -> Option<Element> {
            Some(match (self, number) {
                (Element::File, 4) | (Element::Message, 3) => Element::Message,
                (Element::File, 5) | (Element::Message, 4) => Element::Enum,
                (Element::File, 6) => Element::Service,
                (Element::File, 7) | (Element::Message, 2 | 6) => Element::Field,
                (Element::Message, 8) => Element::Oneof,
                (Element::Enum, 2) => Element::EnumValue,
                (Element::Service, 2) => Element::Method,
                _ => return None,
            })
        }
    }

    /// What `walk` calls with the type and the bytes of each options message it finds.
    pub type OptionsVisitor<'a> = dyn FnMut(&'static str, &[u8]) -> Result<(), String> + 'a;

    /// Calls `found` with the number and the contents of each length-delimited field of the
    /// encoded message `bytes`, in order.
    pub fn fields<'a>(
        mut bytes: &'a [u8],
        found: &mut dyn FnMut(u32, &'a [u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let malformed =
            |err: prost::DecodeError| format!("a file descriptor does not decode: {err}");
        while !bytes.is_empty() {
            let (number, wire_type) = decode_key(&mut bytes).map_err(malformed)?;
            if wire_type != WireType::LengthDelimited {
                skip_field(wire_type, number, &mut bytes, DecodeContext::default())
                    .map_err(malformed)?;
                continue;
            }
            let length = decode_varint(&mut bytes).map_err(malformed)?;
            let (inner, rest) = usize::try_from(length)
                .ok()
                .and_then(|length| bytes.split_at_checked(length))
                .ok_or_else(|| "a file descriptor is cut short".to_string())?;
            bytes = rest;
            found(number, inner)?;
        }
        Ok(())
    }

    /// Calls `found` with the type and the bytes of every element's options in `bytes`, an
    /// encoded `element`.
    pub fn walk(
        bytes: &[u8],
        element: Element,
        found: &mut OptionsVisitor<'_>,
    ) -> Result<(), String> {
        let (options_number, options_type) = element.options();
        fields(bytes, &mut |number, inner| match element.child(number) {
            Some(child) => walk(inner, child, found),
            None if number == options_number => found(options_type, inner),
            None => Ok(()),
        })
    }
}
