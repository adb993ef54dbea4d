//! Generates Rust types with prost, compiling the schemas with protox (a pure-Rust protobuf
//! compiler), so no `protoc` binary is needed:
//! - the ONNX messages (`proto/onnx.proto`);
//! - the KServe V2 gRPC service `inference.GRPCInferenceService` and the model configuration
//!   (`proto/inference/*.proto`), with tonic's server stubs (no client), whose codec answers
//!   a request that does not decode with `INVALID_ARGUMENT` (`src/serve/grpc_codec.rs`).

fn main() {
    for p in [
        "proto/onnx.proto",
        "proto/inference/grpc_service.proto",
        "proto/inference/model_config.proto",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    let onnx = compile(&["proto/onnx.proto"], "proto");
    if let Err(e) = prost_build::Config::new().compile_fds(onnx) {
        fail("proto/onnx.proto", &e);
    }
    let grpc = compile(&["proto/inference/grpc_service.proto"], "proto/inference");
    if let Err(e) = tonic_prost_build::configure()
        .build_client(false)
        .build_transport(false)
        .codec_path("crate::serve::grpc_codec::RequestCodec")
        .compile_fds(grpc)
    {
        fail("proto/inference/grpc_service.proto", &e);
    }
}

fn compile(files: &[&str], include: &str) -> prost_types::FileDescriptorSet {
    match protox::compile(files, [include]) {
        Ok(fds) => fds,
        Err(e) => fail(&files.join(", "), &e),
    }
}

fn fail(what: &str, e: &dyn std::fmt::Display) -> ! {
    eprintln!("error: compiling {what}: {e}");
    std::process::exit(1);
}
