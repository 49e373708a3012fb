//! Compiles the original RemoteMedia SDK's `proto/` files (copied unchanged into
//! `proto/`) into prost messages and tonic services. protox parses them in Rust, so the
//! build needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/execution.proto", "proto/streaming.proto"];
    for file in [
        "proto/common.proto",
        "proto/execution.proto",
        "proto/streaming.proto",
    ] {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
