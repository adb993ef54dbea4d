//! What the `resnet serve` tests share: a server child process on ports the system picks (its
//! stdout read on a thread, every wait bounded, killed on drop), one-shot HTTP/1.1 exchanges
//! over a TcpStream, JSON helpers, the shared CIFAR files, and the Python clients' runner.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use super::common::require;

pub const START_TIMEOUT: Duration = Duration::from_secs(300);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `resnet serve` on ports picked by the system.
pub struct Server {
    pub child: Child,
    pub http: String,
    pub grpc: String,
    pub lines: Receiver<String>,
}

pub fn stdout_lines(out: ChildStdout) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Server {
    pub fn start(args: &[String]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_resnet"))
            .args([
                "serve",
                "--http-port",
                "0",
                "--grpc-port",
                "0",
                "--metrics-port",
                "0",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting resnet serve: {e}"));
        let lines = stdout_lines(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        let deadline = Instant::now() + START_TIMEOUT;
        let (mut http, mut grpc) = (None, None);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(l) => l,
                Err(e) => {
                    let _ = child.kill();
                    panic!("resnet serve did not print `ready` within {START_TIMEOUT:?}: {e}");
                }
            };
            if let Some(a) = line.strip_prefix("http ") {
                http = Some(a.to_string());
            } else if let Some(a) = line.strip_prefix("grpc ") {
                grpc = Some(a.to_string());
            } else if line.starts_with("ready") {
                break;
            }
        }
        let (Some(http), Some(grpc)) = (http, grpc) else {
            panic!("resnet serve printed `ready` before its ports");
        };
        Server {
            child,
            http,
            grpc,
            lines,
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return s,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("resnet serve did not exit within {STOP_TIMEOUT:?} of SIGTERM");
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while self.lines.try_recv().is_ok() {}
    }
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .and_then(|_| s.write_all(body))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)
        .unwrap_or_else(|e| panic!("reading the answer to {path}: {e}"));
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end"));
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let mut body = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

/// A plain JSON inference request to `model`: (status, body).
pub fn infer_json(addr: &str, model: &str, req: &serde_json::Value) -> (u16, Vec<u8>) {
    let path = format!("/v2/models/{model}/infer");
    http(addr, "POST", &path, &[], req.to_string().as_bytes())
}

/// A request in the binary tensor extension: the body (the JSON `header`, then the raw tensor
/// bytes `payload`) and the HTTP header that gives the JSON part's length.
pub fn binary_request(
    header: &serde_json::Value,
    payload: impl IntoIterator<Item = u8>,
) -> (Vec<u8>, [(&'static str, String); 1]) {
    let json = header.to_string();
    let length = [("Inference-Header-Content-Length", json.len().to_string())];
    let mut body = json.into_bytes();
    body.extend(payload);
    (body, length)
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 4 + n..];
    }
    out
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The first output's `data` of a JSON inference answer, as f32.
pub fn json_floats(body: &[u8]) -> Vec<f32> {
    json(body)["outputs"][0]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data"))
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
        .collect()
}

pub fn cifar_files(data: &Path) -> (PathBuf, PathBuf) {
    (
        require(&data.join("models/cifar10/resnet20-12fca82f.onnx")),
        require(&data.join("data/cifar10/first20-reference.safetensors")),
    )
}

/// `$RESNET_PYTHON`: `None` (after a note) when unset; a panic when set but missing.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("RESNET_PYTHON") {
        None => {
            eprintln!("note: the tritonclient tests skipped: RESNET_PYTHON is not set (bash .ci/run sets it)");
            None
        }
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "RESNET_PYTHON={} is set but is not a file",
                p.display()
            );
            Some(p)
        }
    }
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve_clients")
}

/// Runs a Python client to completion (bounded) and returns the JSON of its last line.
pub fn run_py(python: &Path, script: &Path, args: &[String]) -> serde_json::Value {
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .env("PYTHONPATH", clients_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
    let lines = stdout_lines(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
    let deadline = Instant::now() + Duration::from_secs(400);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                panic!("{} did not finish within 400 s", script.display());
            }
        }
    };
    let out: Vec<String> =
        std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
    assert!(
        status.success(),
        "{} failed ({status}); stdout:\n{}",
        script.display(),
        out.join("\n")
    );
    json(out.last().map(|s| s.as_bytes()).unwrap_or(b""))
}
