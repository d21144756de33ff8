//! JSON → wire bytes, through the encoder's fast path (`invoke::encode`), against the
//! reference path (serde_json and prost-reflect, as a stream reads a request).
//!
//! The first byte chooses the message (the low five bits: the every-type message for most,
//! else one of the demo's request messages) and whether unknown fields are allowed (0x80); the
//! rest is the data. Never a panic; whatever the fast path encodes, the reference reads too,
//! as the same message, from the same bytes of the data; whatever the reference refuses, the
//! fast path refuses.
#![no_main]

use std::sync::LazyLock;

use grpcx::fuzzing;
use grpcx_fuzz::{request_messages, same_message};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};

static MESSAGES: LazyLock<Vec<MessageDescriptor>> = LazyLock::new(request_messages);

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let index = match usize::from(selector & 0x1f) {
        n if n < 16 => 0,
        n => (n - 16) % MESSAGES.len(),
    };
    let descriptor = &MESSAGES[index];
    let allow_unknown = selector & 0x80 != 0;
    let Some(fast) = fuzzing::encode_json_fast(descriptor, input, allow_unknown) else {
        return;
    };
    let reference = fuzzing::read_json_reference(descriptor, input, allow_unknown);
    match (fast, reference) {
        (Ok((bytes, read)), Ok((message, consumed))) => {
            assert_eq!(read, consumed, "the two paths read different lengths");
            // Both as a server would see them: decoded from the wire.
            let fast = DynamicMessage::decode(descriptor.clone(), bytes.as_slice())
                .unwrap_or_else(|err| panic!("the fast path's bytes do not decode: {err}"));
            let reference = DynamicMessage::decode(descriptor.clone(), message.encode_to_vec().as_slice())
                .expect("the reference's own bytes decode");
            assert!(
                same_message(&fast, &reference),
                "the fast path encoded another message:\n{fast:?}\n{reference:?}"
            );
        }
        (Ok(_), Err(error)) => panic!("the fast path encoded what the reference refuses: {error}"),
        (Err(_), _) => {}
    }
});
