//! Generates the demo server's code from `proto/` at build time.
//!
//! protox compiles the schema in pure Rust, so neither building nor running grpcx needs a system
//! `protoc`. The same compiled descriptor set is embedded for server reflection, so what the demo
//! server reflects is exactly what it serves.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    // The demo's schema, served (and reflected) by the demo server.
    // Encoded by protox itself rather than through `prost_types`, which would drop the
    // `google.api.http` options the gateway reads.
    let mut compiled = protox::Compiler::new(["proto"])?;
    compiled
        .include_source_info(true)
        .include_imports(true)
        .open_files(["item_service.proto", "types.proto"])?;
    std::fs::write(
        out_dir.join("demo_descriptor.bin"),
        compiled.encode_file_descriptor_set(),
    )?;
    let demo = compiled.file_descriptor_set();
    // The client is generated too: the benchmark's code-generated baseline uses it.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".google.rpc", "crate::demo::rpc")
        .compile_fds(demo)?;

    // google.rpc.Status and the standard error details, which grpcx ships to decode
    // grpc-status-details-bin whatever the server reflects; the demo server sends them.
    let rpc = protox::compile(
        ["google/rpc/status.proto", "google/rpc/error_details.proto"],
        ["proto"],
    )?;
    std::fs::write(
        out_dir.join("google_rpc_descriptor.bin"),
        prost::Message::encode_to_vec(&rpc),
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(false)
        .compile_fds(rpc)?;

    // The well-known types' files, one encoded FileDescriptorProto each, without comments: a
    // call whose schema imports them takes these instead of asking the server (see
    // `schema::builtin::well_known_file`).
    let mut well_known = String::from("/// The well-known types' files, by name.\n");
    well_known.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    let names = [
        "any",
        "api",
        "duration",
        "empty",
        "field_mask",
        "source_context",
        "struct",
        "timestamp",
        "type",
        "wrappers",
    ];
    let set = protox::Compiler::new(["proto"])?
        .include_source_info(false)
        .include_imports(true)
        .open_files(names.map(|name| format!("google/protobuf/{name}.proto")))?
        .file_descriptor_set();
    for file in &set.file {
        let name = file.name.clone().unwrap_or_default();
        if !name.starts_with("google/protobuf/") || name.ends_with("descriptor.proto") {
            continue;
        }
        let path = out_dir.join(name.replace('/', "_") + ".bin");
        std::fs::write(&path, prost::Message::encode_to_vec(file))?;
        well_known.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    well_known.push_str("];\n");
    std::fs::write(out_dir.join("well_known.rs"), well_known)?;
    Ok(())
}
