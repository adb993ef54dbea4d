//! Standard output closed by its reader (`resnet classify DIR | head -1`): the commands that
//! print results end quietly, killed by SIGPIPE as Unix tools are, instead of panicking on
//! the failed print (Rust ignores SIGPIPE, so `println!` would see the closed pipe as an
//! error). `serve` keeps Rust's default: a client that hangs up must be an error on its
//! socket, never a signal that stops the server.

/// Restores SIGPIPE's default action (end the process).
#[cfg(unix)]
pub fn end_quietly_when_stdout_closes() {
    // SAFETY: setting a signal's disposition to the default is async-signal-safe, and runs
    // before the command starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Nothing to do where there is no SIGPIPE.
#[cfg(not(unix))]
pub fn end_quietly_when_stdout_closes() {}
