//! Entry points for the `cargo fuzz` targets in `fuzz/`, each a thin wrapper over the code a
//! command runs on outside data, so that the fuzzer exercises exactly that code.
//!
//! Compiled only for tests and for fuzzing (`cargo fuzz` builds with `--cfg fuzzing`): not an
//! API, and free to change with the targets. The targets' oracles (round trips, the fast JSON
//! path against the reference) live in `fuzz/`, not here.

use futures_util::FutureExt as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::invoke::Response;
use crate::invoke::encode::{Encoder, Stop};
use crate::invoke::input::{self, InputError, InputFormat, JsonInput};
use crate::output::OutputError;
use crate::output::transcode::Transcoder;
use crate::schema::{Schema, SchemaError};

/// The demo server's schema (`proto/`), with the types grpcx adds for a call that reaches an
/// `Any` (google.rpc and the well-known types), as `call` has it.
pub fn demo_pool() -> Result<DescriptorPool, prost_reflect::DescriptorError> {
    let mut pool = DescriptorPool::decode(crate::demo::pb::FILE_DESCRIPTOR_SET)?;
    crate::schema::builtin::add_missing(&mut pool, true);
    Ok(pool)
}

/// How `call` reads a unary request: JSON (strict or not) or text format; the message it
/// sends, decoded.
pub fn read_request(
    descriptor: &MessageDescriptor,
    data: &[u8],
    format: InputFormat,
) -> Result<DynamicMessage, InputError> {
    let bytes = input::read_single(data, descriptor, "Fuzz/Call", format)?;
    Ok(decode_request(descriptor, &bytes))
}

/// A request as grpcx encoded it, decoded; grpcx must never encode what does not decode.
fn decode_request(descriptor: &MessageDescriptor, bytes: &[u8]) -> DynamicMessage {
    DynamicMessage::decode(descriptor.clone(), bytes)
        .unwrap_or_else(|err| panic!("grpcx encoded a request that does not decode: {err}"))
}

/// How a streaming `call` reads its requests: every message read, then the error that ended
/// the stream, if one did.
pub fn read_request_stream(
    descriptor: &MessageDescriptor,
    data: &[u8],
    format: InputFormat,
) -> (Vec<DynamicMessage>, Option<InputError>) {
    let mut receiver = input::spawn_stream_reader(
        Box::new(std::io::Cursor::new(data.to_vec())),
        descriptor.clone(),
        format,
    );
    let mut messages = Vec::new();
    while let Some(batch) = receiver.blocking_recv() {
        match batch {
            Ok(batch) => {
                messages.extend(batch.iter().map(|bytes| decode_request(descriptor, bytes)))
            }
            Err(err) => return (messages, Some(err)),
        }
    }
    (messages, None)
}

/// The first JSON value of `data` as a request of type `descriptor`, through the encoder's
/// fast path: its encoding and how much of `data` it read, or why the fast path stopped
/// (`None`: the type has no plan).
pub fn encode_json_fast(
    descriptor: &MessageDescriptor,
    data: &[u8],
    allow_unknown_fields: bool,
) -> Option<Result<(Vec<u8>, usize), Stop>> {
    let json = JsonInput {
        allow_unknown_fields,
    };
    let encoder = Encoder::new(descriptor, json)?;
    let mut out = Vec::new();
    Some(encoder.encode(data, &mut out).map(|read| (out, read)))
}

/// The first JSON value of `data` as a request of type `descriptor`, through the reference
/// path as a stream reads it (serde_json finds the value, prost-reflect reads it): the
/// message and how much of `data` it read, or the error.
pub fn read_json_reference(
    descriptor: &MessageDescriptor,
    data: &[u8],
    allow_unknown_fields: bool,
) -> Result<(DynamicMessage, usize), String> {
    let json = JsonInput {
        allow_unknown_fields,
    };
    let mut values =
        serde_json::Deserializer::from_slice(data).into_iter::<&serde_json::value::RawValue>();
    let raw = match values.next() {
        None => return Err("no value".to_string()),
        Some(raw) => raw.map_err(|err| err.to_string())?,
    };
    input::from_raw(descriptor, raw.get(), 1, json, &json.options())
        .map(|message| (message, values.byte_offset()))
        .map_err(|err| err.to_string())
}

/// JSON input, strict (the default) or with `--allow-unknown-fields`.
pub fn json_format(allow_unknown_fields: bool) -> InputFormat {
    InputFormat::Json(JsonInput {
        allow_unknown_fields,
    })
}

/// One response as `call` prints it in compact JSON (NDJSON to a pipe): straight from the
/// wire through `transcoder` when it covers the bytes, else through a decoded message.
pub fn compact_json(
    transcoder: &Transcoder,
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    proto_names: bool,
) -> Result<Vec<u8>, OutputError> {
    let options = SerializeOptions::new().use_proto_field_name(proto_names);
    let mut out = Vec::new();
    crate::output::compact_json(
        transcoder,
        Response { descriptor, bytes },
        &options,
        &mut out,
    )?;
    Ok(out)
}

/// What `call` does with reflection answers: the answers, held in memory, go through the
/// schema's own loading path (decoded as a server's answers are, their imports asked for,
/// bounded, checked and built), one answer after the other as for successive lookups.
pub fn pool_from_reflection(answers: Vec<Vec<Vec<u8>>>) -> Result<DescriptorPool, SchemaError> {
    let count = answers.len();
    let mut schema = Schema::from_memory(answers);
    for index in 0..count {
        // Answers held in memory never wait.
        let loaded = schema.load_answer(index).now_or_never().ok_or_else(|| {
            SchemaError::BadDescriptor("a reflection answer held in memory waited".to_string())
        })?;
        loaded?;
    }
    Ok(schema.pool().clone())
}

/// The fuzz targets' seeds, made from the fixtures and the demo schema rather than kept as
/// binary files: `fuzz/run.sh` writes them with `GRPCX_FUZZ_SEEDS_DIR=DIR`.
#[cfg(test)]
mod seeds {
    use std::path::{Path, PathBuf};

    use prost::Message as _;
    use prost_reflect::{DescriptorPool, DynamicMessage};

    use super::*;

    fn fixture(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(path)
    }

    fn compiled(root: &str, files: &[&str]) -> Vec<u8> {
        let mut compiler = protox::Compiler::new([fixture(root)]).unwrap();
        compiler.include_imports(true).include_source_info(true);
        compiler.open_files(files).unwrap();
        compiler.encode_file_descriptor_set()
    }

    fn message(pool: &DescriptorPool, name: &str, json: &str) -> DynamicMessage {
        let descriptor = pool.get_message_by_name(name).unwrap();
        read_request(&descriptor, json.as_bytes(), json_format(false)).unwrap()
    }

    /// (target, seed name, bytes). A seed's first byte chooses what the target does with the
    /// rest (see each target).
    fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
        let pool = demo_pool().unwrap();
        let all_types = std::fs::read(fixture("all_types.json")).unwrap();
        let all_types_text = std::str::from_utf8(&all_types).unwrap();
        let every = message(&pool, "grpcx.demo.v1.AllTypes", all_types_text);
        let mut seeds = Vec::new();
        let with = |selector: u8, bytes: &[u8]| [&[selector][..], bytes].concat();
        // json_to_message: AllTypes as JSON (strict, lenient, with defaults written) and
        // text; every demo request as its template.
        for selector in [0x00, 0x20, 0x40] {
            seeds.push((
                "json_to_message",
                format!("all_types_{selector:02x}"),
                with(selector, &all_types),
            ));
        }
        let text = every.to_text_format();
        seeds.push((
            "json_to_message",
            "all_types_text".to_string(),
            with(0x80, text.as_bytes()),
        ));
        for (index, name) in [
            "grpcx.demo.v1.Item",
            "grpcx.demo.v1.GetItemRequest",
            "grpcx.demo.v1.ListItemsRequest",
            "grpcx.demo.v1.SyncRequest",
        ]
        .iter()
        .enumerate()
        {
            let descriptor = pool.get_message_by_name(name).unwrap();
            let json = crate::schema::template::template(&descriptor).to_string();
            let selector = u8::try_from(index).unwrap() + 16;
            seeds.push((
                "json_to_message",
                format!("template_{name}"),
                with(selector, json.as_bytes()),
            ));
        }
        // json_to_wire: AllTypes as JSON (strict and lenient), and its fast-path twin.
        for selector in [0x00, 0x80, 0x01] {
            seeds.push((
                "json_to_wire",
                format!("all_types_{selector:02x}"),
                with(selector, &all_types),
            ));
        }
        // wire_to_json: AllTypes encoded, for the fast path (JSON and .proto names), the
        // reference path, and a status with details.
        let encoded = every.encode_to_vec();
        for selector in [0x00, 0x01, 0x04] {
            seeds.push((
                "wire_to_json",
                format!("all_types_{selector:02x}"),
                with(selector, &encoded),
            ));
        }
        let status = message(
            &pool,
            "google.rpc.Status",
            r#"{"code": 8, "message": "slow down", "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"},
                {"@type": "type.googleapis.com/google.rpc.BadRequest",
                 "fieldViolations": [{"field": "id", "description": "negative"}]}]}"#,
        );
        seeds.push((
            "wire_to_json",
            "status_details".to_string(),
            with(0x06, &status.encode_to_vec()),
        ));
        // reflection_to_pool: whole schemas as a server reflects them.
        seeds.push((
            "reflection_to_pool",
            "demo".to_string(),
            crate::demo::pb::FILE_DESCRIPTOR_SET.to_vec(),
        ));
        seeds.push((
            "reflection_to_pool",
            "rich".to_string(),
            compiled("rich", &["acme/store/v1/store.proto"]),
        ));
        seeds.push((
            "reflection_to_pool",
            "split".to_string(),
            compiled("split", &["grpcx/demo/v1/service.proto"]),
        ));
        seeds
    }

    #[test]
    fn fuzz_seeds_are_accepted_by_their_targets() {
        let pool = demo_pool().unwrap();
        let every = pool.get_message_by_name("grpcx.demo.v1.AllTypes").unwrap();
        for (target, name, bytes) in seeds() {
            let (selector, rest) = bytes.split_first().unwrap();
            match target {
                "json_to_message" if *selector == 0x80 => {
                    read_request(&every, rest, InputFormat::Text).unwrap();
                }
                "json_to_message" if *selector < 16 || *selector >= 0x20 => {
                    read_request(&every, rest, json_format(false)).unwrap();
                }
                "wire_to_json" if *selector < 6 => {
                    DynamicMessage::decode(every.clone(), rest).unwrap();
                }
                "reflection_to_pool" => {
                    // The set's files as the server sends them: bytes, custom options kept.
                    #[derive(Clone, PartialEq, prost::Message)]
                    struct Files {
                        #[prost(bytes = "vec", repeated, tag = "1")]
                        file: Vec<Vec<u8>>,
                    }
                    let files = Files::decode(bytes.as_slice()).unwrap().file;
                    pool_from_reflection(vec![files]).unwrap_or_else(|err| panic!("{name}: {err}"));
                }
                _ => {}
            }
            if let Some(dir) = std::env::var_os("GRPCX_FUZZ_SEEDS_DIR") {
                let dir = Path::new(&dir).join(target);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(&name), &bytes).unwrap();
            }
        }
    }
}

/// What the fuzz targets found, kept as tests of the code they broke (the inputs are also in
/// `fuzz/regressions/`).
#[cfg(test)]
mod regressions {
    use prost::Message as _;
    use prost_types::FileDescriptorProto;

    use super::*;

    /// Options are decoded as the pool declares them when they are read, not as it did when
    /// their file was added: a later answer that declares an extension the earlier file's
    /// options hold under another type made `describe` panic. Such an answer is refused.
    #[test]
    fn an_extension_that_redeclares_earlier_options_is_refused_not_a_panic() {
        let mut a = FileDescriptorProto {
            name: Some("a.proto".to_string()),
            ..FileDescriptorProto::default()
        }
        .encode_to_vec();
        // options { 50001: 1 } (a varint), unknown when a.proto is added.
        a.extend([0x42, 0x04, 0x88, 0xb5, 0x18, 0x01]);
        let descriptor = DescriptorPool::global()
            .get_file_by_name("google/protobuf/descriptor.proto")
            .unwrap()
            .encode_to_vec();
        let b = FileDescriptorProto {
            name: Some("b.proto".to_string()),
            dependency: vec!["google/protobuf/descriptor.proto".to_string()],
            extension: vec![prost_types::FieldDescriptorProto {
                name: Some("x".to_string()),
                number: Some(50001),
                label: Some(prost_types::field_descriptor_proto::Label::Optional as i32),
                r#type: Some(prost_types::field_descriptor_proto::Type::String as i32),
                extendee: Some(".google.protobuf.FileOptions".to_string()),
                ..Default::default()
            }],
            ..FileDescriptorProto::default()
        }
        .encode_to_vec();
        match pool_from_reflection(vec![vec![a], vec![descriptor, b]]) {
            Err(err) => assert!(err.to_string().contains("a.proto"), "{err}"),
            Ok(pool) => {
                // Reading the options back is what panicked.
                let _ = pool.get_file_by_name("a.proto").unwrap().options();
            }
        }
    }

    /// Found by `json_to_message`: serde_json's default float parsing may round a long number
    /// to a neighbouring double, so grpcx sent a value 1 ULP off what was written and its own
    /// JSON for it did not read back the same. Floats are read exactly now (serde_json's
    /// `float_roundtrip`).
    #[test]
    fn long_numbers_read_as_the_nearest_double() {
        let pool = demo_pool().unwrap();
        let every = pool.get_message_by_name("grpcx.demo.v1.AllTypes").unwrap();
        for text in [
            "4344440000000200000000000",
            "4.3444400000002003e+24",
            "2.2250738585072011e-308",
        ] {
            let json = format!(r#"{{"fDouble": {text}}}"#);
            let message = read_request(&every, json.as_bytes(), json_format(false)).unwrap();
            let value = message
                .get_field_by_name("f_double")
                .unwrap()
                .as_f64()
                .unwrap();
            assert_eq!(value, text.parse::<f64>().unwrap(), "{text}");
        }
    }

    /// Found by `reflection_to_pool`: prost-reflect panicked (an index out of bounds while
    /// naming the place of the error) on a file whose syntax is neither proto2 nor proto3, so
    /// a server could crash any command. It is refused up front now.
    #[test]
    fn a_file_of_unknown_syntax_is_refused_not_a_panic() {
        for syntax in ["proto4", "", "editions"] {
            let file = FileDescriptorProto {
                name: Some("a.proto".to_string()),
                syntax: Some(syntax.to_string()),
                ..FileDescriptorProto::default()
            };
            let err = pool_from_reflection(vec![vec![file.encode_to_vec()]]).unwrap_err();
            assert!(
                err.to_string().contains(&format!("syntax `{syntax}`")),
                "{err}"
            );
        }
    }
}
