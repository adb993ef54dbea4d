//! Generates the Rust types of the ONNX messages (`proto/onnx.proto`) with prost, compiling the
//! schema with protox (a pure-Rust protobuf compiler), so no `protoc` binary is needed.

fn main() {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let fds = match protox::compile(["proto/onnx.proto"], ["proto"]) {
        Ok(fds) => fds,
        Err(e) => fail(&e),
    };
    if let Err(e) = prost_build::Config::new().compile_fds(fds) {
        fail(&e);
    }
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("error: compiling proto/onnx.proto: {e}");
    std::process::exit(1);
}
