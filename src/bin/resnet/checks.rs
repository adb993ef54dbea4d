//! Checks of command-line values that clap's types do not make: counts of at least 1, and
//! output paths that can be written (checked before a command spends its time).

use resnet_wgpu::{Error, Result};

/// Checks that a file can be written at `path` before a command spends its time (a file that
/// did not exist is not left behind); the error names the path.
pub fn check_writable(flag: &str, path: &std::path::Path) -> Result<()> {
    let existed = path.exists();
    let bad = |found: String| {
        Error::InvalidInput(format!(
            "{flag} {}: expected a file that can be written, found {found}",
            path.display()
        ))
    };
    if path.is_dir() {
        return Err(bad("a directory".into()));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| bad(e.to_string()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// A count that must be at least 1 (`--batch`, `--iters`, `--top`): clap's parser for it,
/// whose error names the flag, the expectation and the value found.
pub fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("expected at least 1, found 0".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!(
            "expected a whole number of at least 1, found '{s}' ({e})"
        )),
    }
}
