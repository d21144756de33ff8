//! A reflection answer → a descriptor pool, through the schema's own loading path (answers held
//! in memory), then what `list`, `describe` and `call` do with the pool.
//!
//! The bytes are an encoded FileDescriptorSet (the seeds are real ones), whose files are the
//! answer's file descriptors. A hostile server controls all of it, so nothing may panic: a
//! schema grpcx cannot use must be refused up front with an error. What builds must build
//! again from what the cache keeps of it.
#![no_main]

use std::sync::LazyLock;

use grpcx::invoke::RpcKind;
use grpcx::output::transcode::Transcoder;
use grpcx::schema::{Schema, Symbol, builtin, method_path, proto_text, template};
use grpcx_fuzz::answer_files;
use libfuzzer_sys::fuzz_target;
use prost_reflect::{DynamicMessage, SerializeOptions};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// A bound on the symbols looked up by name per input, to keep each run short.
const LOOKUPS: usize = 16;

fuzz_target!(|data: &[u8]| {
    // An odd length splits the files into two answers, added one after the other.
    let mut files = answer_files(data);
    let answers = if data.len() % 2 == 1 && files.len() > 1 {
        let second = files.split_off(files.len() / 2);
        vec![files, second]
    } else {
        vec![files]
    };
    let Ok(pool) = grpcx::fuzzing::pool_from_reflection(answers) else {
        return;
    };
    // What the cache keeps (each file re-encoded) builds the same pool again.
    let cached: Vec<Vec<u8>> = pool.files().map(|f| f.encode_to_vec()).collect();
    let again = grpcx::fuzzing::pool_from_reflection(vec![cached])
        .unwrap_or_else(|err| panic!("the cached schema does not build again: {err}"));
    assert_eq!(again.files().len(), pool.files().len());

    // `describe --proto-out-dir`: every file as proto source.
    for file in pool.files() {
        let _ = proto_text::file(&file);
    }
    // `list --long` and `describe`.
    for service in pool.services() {
        let _ = proto_text::describe(&Symbol::Service(service.clone()));
        for method in service.methods() {
            let _ = (method_path(&method), RpcKind::of(&method).describe());
            let _ = proto_text::describe(&Symbol::Method(method.clone()));
        }
    }
    for message in pool.all_messages() {
        describe_message(&message);
    }
    for enumeration in pool.all_enums() {
        let _ = proto_text::describe(&Symbol::Enum(enumeration.clone()));
        for value in enumeration.values() {
            let _ = proto_text::describe(&Symbol::EnumValue(value));
        }
    }
    // `call`: the types grpcx adds for an `Any`.
    let mut with_builtins = pool.clone();
    builtin::add_missing(&mut with_builtins, true);
    // Names resolved as the commands resolve them, from a schema given as files.
    RUNTIME.block_on(async {
        let mut schema = Schema::from_files(pool.clone());
        let Ok(services) = schema.services().await else {
            return;
        };
        for name in services.iter().take(LOOKUPS) {
            let _ = schema.resolve_service(name).await;
        }
        let names = pool
            .all_messages()
            .map(|m| m.full_name().to_string())
            .chain(pool.services().flat_map(|s| {
                s.methods()
                    .map(|m| method_path(&m))
                    .collect::<Vec<_>>()
            }));
        for name in names.take(LOOKUPS) {
            let _ = schema.resolve_symbol(&name).await;
            let _ = schema.resolve_method(&name).await;
        }
    });
});

/// What `describe` and `call` do with a message: its source, its JSON template, a fast-path
/// plan, and an empty one written as JSON with every field.
fn describe_message(message: &prost_reflect::MessageDescriptor) {
    let _ = proto_text::describe(&Symbol::Message(message.clone()));
    for field in message.fields() {
        let _ = proto_text::describe(&Symbol::Field(field));
    }
    for oneof in message.oneofs() {
        let _ = proto_text::describe(&Symbol::Oneof(oneof));
    }
    let skeleton = template::template(message);
    // The template is what `call` reads back.
    let _ = grpcx::fuzzing::read_request(
        message,
        skeleton.to_string().as_bytes(),
        grpcx::fuzzing::json_format(false),
    );
    let _ = Transcoder::new(message, false);
    let empty = DynamicMessage::new(message.clone());
    let mut json = Vec::new();
    let _ = empty.serialize_with_options(
        &mut serde_json::Serializer::new(&mut json),
        &SerializeOptions::new().skip_default_fields(false),
    );
}
