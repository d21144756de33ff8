//! Generates the demo server's code from `proto/` at build time.
//!
//! protox compiles the schema in pure Rust, so neither building nor running grpcx needs a system
//! `protoc`. The same compiled descriptor set is embedded for server reflection, so what the demo
//! server reflects is exactly what it serves.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let file_descriptors = protox::compile(["item_service.proto"], ["proto"])?;
    std::fs::write(
        out_dir.join("item_service_descriptor.bin"),
        prost::Message::encode_to_vec(&file_descriptors),
    )?;

    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(file_descriptors)?;
    Ok(())
}
