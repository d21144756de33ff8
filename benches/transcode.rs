//! Per-message cost of the two directions grpcx converts, each by its fast path and by the
//! reference path through prost-reflect's serde: wire bytes to JSON, and JSON to wire bytes.
//!
//! Run with `cargo bench --bench transcode`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde::de::DeserializeSeed as _;

const ITEM: &str = r#"{"id":"1","name":"Claw hammer","category":"CATEGORY_TOOL","price":{"currencyCode":"EUR","units":"24","nanos":990000000},"tags":["steel","workshop"],"attributes":{"weight":"450g"},"createdAt":"2026-01-01T00:00:00Z","dimensions":{"widthCm":12.0,"heightCm":33.0,"depthCm":3.5}}"#;

fn item() -> MessageDescriptor {
    DescriptorPool::decode(grpcx::demo::pb::FILE_DESCRIPTOR_SET)
        .unwrap()
        .get_message_by_name("grpcx.demo.v1.Item")
        .unwrap()
}

fn wire_to_json(c: &mut Criterion) {
    let descriptor = item();
    let bytes = DynamicMessage::deserialize(
        descriptor.clone(),
        &mut serde_json::Deserializer::from_str(ITEM),
    )
    .unwrap()
    .encode_to_vec();
    let transcoder = grpcx::output::transcode::Transcoder::new(&descriptor, false).unwrap();
    let mut out = Vec::with_capacity(512);
    c.bench_function("wire to JSON, fast path (Item)", |b| {
        b.iter(|| {
            out.clear();
            transcoder
                .write(std::hint::black_box(&bytes), &mut out)
                .unwrap();
        })
    });
    c.bench_function("wire to JSON, reference path (Item)", |b| {
        b.iter(|| {
            out.clear();
            let message =
                DynamicMessage::decode(descriptor.clone(), std::hint::black_box(&bytes[..]))
                    .unwrap();
            serde_json::to_writer(&mut out, &message).unwrap();
        })
    });
}

fn json_to_wire(c: &mut Criterion) {
    let descriptor = item();
    let mut out = Vec::with_capacity(512);
    let encoder = grpcx::invoke::encode::Encoder::new(
        &descriptor,
        grpcx::invoke::input::JsonInput::default(),
    )
    .unwrap();
    c.bench_function("JSON to wire, fast path (Item)", |b| {
        b.iter(|| {
            out.clear();
            encoder
                .encode(std::hint::black_box(ITEM.as_bytes()), &mut out)
                .unwrap();
        })
    });
    // What W4 sends: the smallest of messages.
    let small = br#"{"name":"bench 12345"}"#;
    c.bench_function("JSON to wire, fast path (Item, name only)", |b| {
        b.iter(|| {
            out.clear();
            encoder
                .encode(std::hint::black_box(small), &mut out)
                .unwrap();
        })
    });
    c.bench_function("JSON to wire, reference path (Item)", |b| {
        b.iter(|| {
            out.clear();
            let mut deserializer = serde_json::Deserializer::from_str(std::hint::black_box(ITEM));
            let message = descriptor.clone().deserialize(&mut deserializer).unwrap();
            message.encode(&mut out).unwrap();
        })
    });
}

criterion_group!(benches, wire_to_json, json_to_wire);
criterion_main!(benches);
