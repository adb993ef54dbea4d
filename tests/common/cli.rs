//! The `resnet` binary as the CLI tests run it: one runner that sets or removes environment
//! variables for the run, and the two outcomes the tests check, a success (its stdout) and a
//! failure (its error lines, or those as one text). Every message names the run as a shell
//! would write it, `VAR=value resnet args`.

use std::process::{Command, Output};

/// An environment variable of one run: `Some(value)` sets it, `None` removes it, so that the
/// run does not inherit the test process's value.
pub type EnvVar<'a> = (&'a str, Option<&'a str>);

/// Runs `resnet args` with `env` applied; panics only when the binary cannot be started.
pub fn run(args: &[&str], env: &[EnvVar]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resnet"));
    cmd.args(args);
    for &(var, value) in env {
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("running {}: {e}", shell(args, env)))
}

/// The stdout of a run that must succeed; a failure panics with the run's stderr.
pub fn stdout_of(args: &[&str], env: &[EnvVar]) -> String {
    let out = run(args, env);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        shell(args, env),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The error lines of a run that must fail: its stderr without blank lines and without the
/// notice wgpu prints when `XDG_RUNTIME_DIR` is unset.
pub fn error_lines_of(args: &[&str], env: &[EnvVar]) -> Vec<String> {
    let out = run(args, env);
    assert!(!out.status.success(), "{} succeeded", shell(args, env));
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// [`error_lines_of`] as one text, a line each.
pub fn error_of(args: &[&str], env: &[EnvVar]) -> String {
    error_lines_of(args, env).join("\n")
}

/// `VAR=value resnet args` (a removed variable as `-u VAR`), for messages.
pub fn shell(args: &[&str], env: &[EnvVar]) -> String {
    let mut words: Vec<String> = env
        .iter()
        .map(|&(var, value)| match value {
            Some(v) => format!("{var}={v}"),
            None => format!("-u {var}"),
        })
        .collect();
    words.push("resnet".into());
    words.extend(args.iter().map(|a| a.to_string()));
    words.join(" ")
}
