//! Shared by the benches: the engine, and failing with a message instead of a panic.

use resnet_wgpu::{Engine, Result};

/// The value of `r`, or a message naming `what` and exit status 1.
pub fn or_exit<T>(r: Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("bench setup failed ({what}): {e}");
        std::process::exit(1)
    })
}

/// The default engine (see `Engine::new` for the adapter choice), announced on stderr.
pub fn engine() -> Engine {
    let e = or_exit(Engine::new(), "opening a GPU adapter");
    eprintln!("adapter: {}", e.describe());
    e
}
