//! Response bytes → JSON, as `call` prints them: the fast wire→JSON path against the reference
//! (prost-reflect's decode and serde, with grpcx's options).
//!
//! The first byte chooses what the rest is read as:
//! - AllTypes without the types the fast path leaves to the reference (it covers that one):
//!   printing must give byte for byte the reference's JSON (as JSON values when a map holds
//!   several entries, whose order is the wire's on the fast path and a hash map's on the
//!   reference path), and fail exactly when the reference fails to decode;
//! - the full AllTypes (the fast path declines it): the reference path and the other ways of
//!   printing (pretty JSON with defaults, text format) must not panic;
//! - a status's grpc-status-details-bin: decoding the details must not panic.
#![no_main]

use std::sync::LazyLock;

use grpcx::fuzzing;
use grpcx::output::transcode::Transcoder;
use grpcx_fuzz::{DEMO, all_types, fast_path_all_types, has_multi_entry_map};
use libfuzzer_sys::fuzz_target;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

struct Fast {
    descriptor: MessageDescriptor,
    /// With JSON names, and with .proto names.
    transcoders: [Transcoder; 2],
}

thread_local! {
    // A transcoder keeps scratch space in a RefCell: one per thread.
    static FAST: Fast = {
        let descriptor = fast_path_all_types();
        let transcoder = |proto_names| {
            Transcoder::new(&descriptor, proto_names).expect("the fast path covers it")
        };
        Fast {
            transcoders: [transcoder(false), transcoder(true)],
            descriptor,
        }
    };
}

static ALL_TYPES: LazyLock<MessageDescriptor> = LazyLock::new(all_types);

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let proto_names = selector & 1 == 1;
    match (selector >> 1) % 4 {
        0 | 1 => FAST.with(|fast| fast_against_reference(fast, bytes, proto_names)),
        2 => reference_only(bytes, proto_names),
        _ => details(bytes),
    }
});

fn reference(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    options: &SerializeOptions,
) -> Result<(DynamicMessage, Vec<u8>), String> {
    let message = DynamicMessage::decode(descriptor.clone(), bytes).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    message
        .serialize_with_options(&mut serde_json::Serializer::new(&mut json), options)
        .map_err(|e| e.to_string())?;
    Ok((message, json))
}

fn fast_against_reference(fast: &Fast, bytes: &[u8], proto_names: bool) {
    let transcoder = &fast.transcoders[usize::from(proto_names)];
    let options = SerializeOptions::new().use_proto_field_name(proto_names);
    let expected = reference(&fast.descriptor, bytes, &options);
    let printed = fuzzing::compact_json(transcoder, &fast.descriptor, bytes, proto_names);
    match (&expected, &printed) {
        (Ok((message, expected)), Ok(printed)) => {
            if expected != printed {
                let as_value = |json: &[u8]| serde_json::from_slice::<serde_json::Value>(json);
                let (a, b) = (as_value(expected), as_value(printed));
                assert!(
                    has_multi_entry_map(message) && a.is_ok() && a.ok() == b.ok(),
                    "printed JSON differs from the reference:\n{}\n{}",
                    String::from_utf8_lossy(printed),
                    String::from_utf8_lossy(expected)
                );
            }
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(err)) => panic!("printing fails where the reference writes JSON: {err}"),
        (Err(err), Ok(printed)) => panic!(
            "printing writes JSON where the reference fails ({err}):\n{}",
            String::from_utf8_lossy(printed)
        ),
    }
}

fn reference_only(bytes: &[u8], proto_names: bool) {
    let descriptor = &*ALL_TYPES;
    // The fast path declines AllTypes: its printing is the reference path.
    assert!(Transcoder::new(descriptor, proto_names).is_none());
    let options = SerializeOptions::new().use_proto_field_name(proto_names);
    let Ok((message, _)) = reference(descriptor, bytes, &options) else {
        return;
    };
    let mut pretty = Vec::new();
    let _ = message.serialize_with_options(
        &mut serde_json::Serializer::pretty(&mut pretty),
        &options.clone().skip_default_fields(false),
    );
    let _ = message.to_text_format_with_options(
        &prost_reflect::text_format::FormatOptions::new().pretty(true),
    );
}

fn details(bytes: &[u8]) {
    let status = tonic::Status::with_details(
        tonic::Code::FailedPrecondition,
        "fuzz",
        bytes.to_vec().into(),
    );
    let _ = grpcx::schema::details::decode(&status, &DEMO);
}
