//! The KServe manifests in `deploy/` agree with the server: the container's arguments are
//! accepted by `resnet serve` (run against an empty repository, it gets as far as reading
//! it), the HTTP port of the arguments is the container port and the probes' port, the
//! probes' paths are routes of the server (live answers 200, ready 503 while nothing is
//! loaded), the runtime speaks v2 and grpc-v2, asks for a GPU and the graphics capability,
//! and the InferenceService uses the runtime with min/max replicas.

mod common;

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn load(file: &str) -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs =
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{file}: expected one document");
    docs.remove(0)
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("the runtime's args have no {name}=...: {args:?}"))
}

#[test]
fn serving_runtime_matches_the_server() {
    let rt = load("servingruntime.yaml");
    assert_eq!(rt["kind"].as_str(), Some("ServingRuntime"));
    let protocols = strings(&rt["spec"]["protocolVersions"]);
    assert!(
        protocols.contains(&"v2".into()) && protocols.contains(&"grpc-v2".into()),
        "{protocols:?}"
    );
    let c = &rt["spec"]["containers"][0];
    assert_eq!(strings(&c["command"]), ["resnet"]);
    let args = strings(&c["args"]);
    assert_eq!(args.first().map(String::as_str), Some("serve"));
    let http_port: i64 = flag(&args, "--http-port")
        .parse()
        .unwrap_or_else(|e| panic!("--http-port: {e}"));
    flag(&args, "--grpc-port")
        .parse::<u16>()
        .unwrap_or_else(|e| panic!("--grpc-port: {e}"));
    assert_eq!(
        flag(&args, "--model-repository"),
        "/mnt/models",
        "KServe mounts models at /mnt/models"
    );
    assert_eq!(
        flag(&args, "--host"),
        "0.0.0.0",
        "a pod must listen beyond loopback"
    );
    assert_eq!(c["ports"][0]["containerPort"].as_i64(), Some(http_port));
    let metrics_port = flag(&args, "--metrics-port");
    assert_eq!(
        rt["spec"]["annotations"]["prometheus.kserve.io/port"].as_str(),
        Some(metrics_port)
    );
    let mut probe_paths = Vec::new();
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["port"].as_i64(), Some(http_port), "{probe} port");
        probe_paths.push(
            get["path"]
                .as_str()
                .unwrap_or_else(|| panic!("{probe} has no path"))
                .to_string(),
        );
    }
    assert_eq!(
        c["resources"]["limits"]["nvidia.com/gpu"].as_str(),
        Some("1")
    );
    let caps = c["env"]
        .as_vec()
        .and_then(|env| {
            env.iter()
                .find(|e| e["name"].as_str() == Some("NVIDIA_DRIVER_CAPABILITIES"))
        })
        .and_then(|e| e["value"].as_str())
        .unwrap_or_default();
    assert!(
        caps.split(',').any(|c| c == "graphics"),
        "NVIDIA_DRIVER_CAPABILITIES `{caps}` lacks graphics (Vulkan)"
    );

    // The real flags: every argument parses, the server gets as far as the repository.
    let empty = common::TempDir::new("deploy-repo");
    let real: Vec<String> = args[1..]
        .iter()
        .map(|a| a.replace("/mnt/models", &empty.path().display().to_string()))
        .collect();
    let serve: Vec<&str> = ["serve"]
        .into_iter()
        .chain(real.iter().map(String::as_str))
        .collect();
    let err = common::cli::error_of(&serve, &[]);
    assert!(
        err.contains("no model folders"),
        "resnet serve {real:?} did not accept the runtime's args:\n{err}"
    );

    // The probe paths are server routes.
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let state = resnet_wgpu::serve::ServerState::new(vec!["m".into()], 1 << 20);
        let app = resnet_wgpu::serve::http::router(state);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { axum::serve(l, app).await });
        for path in &probe_paths {
            let status = tokio::task::spawn_blocking({
                let path = path.clone();
                move || get_status(&addr.to_string(), &path)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let want = if path.ends_with("/live") { 200 } else { 503 };
            assert_eq!(status, want, "probe path {path} (nothing loaded yet)");
        }
    });
}

fn get_status(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("{e}"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn inference_service_uses_the_runtime() {
    let isvc = load("inferenceservice.yaml");
    assert_eq!(isvc["kind"].as_str(), Some("InferenceService"));
    let p = &isvc["spec"]["predictor"];
    let (min, max) = (
        p["minReplicas"].as_i64().unwrap_or(0),
        p["maxReplicas"].as_i64().unwrap_or(0),
    );
    assert!(min >= 1 && max >= min, "replicas {min}..{max}");
    let rt = load("servingruntime.yaml");
    assert_eq!(
        p["model"]["runtime"].as_str(),
        rt["metadata"]["name"].as_str()
    );
    assert_eq!(p["model"]["protocolVersion"].as_str(), Some("v2"));
    assert_eq!(
        p["model"]["modelFormat"]["name"].as_str(),
        rt["spec"]["supportedModelFormats"][0]["name"].as_str()
    );
}
