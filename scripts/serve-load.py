#!/usr/bin/env python3
"""A bounded load on `resnet serve` with stock tritonclient: C concurrent clients, each
sending R requests (or, with --until-stopped, requests until the server goes away), every
answer checked against a reference when one is given. Reports images/s and p50/p99
latency as one JSON line.

Example (the figures in BENCHMARKS.md):
  resnet serve --model cifar=../shared/models/cifar10/resnet20-12fca82f.onnx &
  python3 scripts/serve-load.py --url 127.0.0.1:8000 --model cifar --clients 16 --requests 40 \
      --reference ../shared/data/cifar10/first20-reference.safetensors --logits-tensor logits_resnet20
"""
import argparse
import json
import sys
import threading
import time

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--url", required=True, help="HOST:PORT of the HTTP (or, with --grpc, gRPC) endpoint")
p.add_argument("--grpc", action="store_true")
p.add_argument("--model", required=True)
p.add_argument("--clients", type=int, default=16)
p.add_argument("--requests", type=int, default=40, help="per client")
p.add_argument("--batch", type=int, default=1, help="images per request")
p.add_argument("--reference", help="safetensors with the inputs and logits to check against")
p.add_argument("--input-tensor", default="input_nchw")
p.add_argument("--logits-tensor", default="logits")
p.add_argument("--shape", default="3,32,32", help="C,H,W of random inputs without --reference")
p.add_argument("--until-stopped", action="store_true",
               help="send until the connection fails (for shutdown tests); prints `started` after the first answers")
a = p.parse_args()

if a.reference:
    from safetensors.numpy import load_file
    t = load_file(a.reference)
    X, WANT = t[a.input_tensor].astype(np.float32), t[a.logits_tensor].astype(np.float32)
else:
    c, h, w = (int(v) for v in a.shape.split(","))
    X, WANT = np.random.default_rng(0).standard_normal((max(a.batch, 8), c, h, w), dtype=np.float32), None

mod = grpcclient if a.grpc else httpclient
lock = threading.Lock()
latencies, wrong, http_errors, conn_errors = [], [], [], []
started = threading.Event()


def client(k):
    cl = mod.InferenceServerClient(a.url)
    i = 0
    while a.until_stopped or i < a.requests:
        start = (k * 7 + i) % (X.shape[0] - a.batch + 1)
        x = X[start:start + a.batch]
        inp = mod.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        t0 = time.perf_counter()
        try:
            r = cl.infer(a.model, [inp], outputs=[mod.InferRequestedOutput("logits")])
        except InferenceServerException as e:
            # An answered error (a status) is a failure; no connection ends this client.
            with lock:
                (http_errors if e.status() not in (None, "StatusCode.UNAVAILABLE") or not a.until_stopped
                 else conn_errors).append(f"{e.status()}: {e.message()[:200]}")
            if a.until_stopped:
                return
            i += 1
            continue
        except Exception as e:  # noqa: BLE001 - connection refused/reset while stopping
            with lock:
                conn_errors.append(f"{type(e).__name__}: {str(e)[:200]}")
            return
        dt = time.perf_counter() - t0
        got = r.as_numpy("logits")
        if WANT is not None:
            want = WANT[start:start + a.batch]
            if got is None or got.shape != want.shape or np.max(np.abs(got - want)) > 1e-3 * np.max(np.abs(want)):
                with lock:
                    wrong.append(f"client {k} request {i}")
        with lock:
            latencies.append(dt)
            if len(latencies) >= 2 * a.clients:
                started.set()
        i += 1


threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(a.clients)]
t0 = time.perf_counter()
for t in threads:
    t.start()
if a.until_stopped:
    started.wait(timeout=120)
    print("started", flush=True)
for t in threads:
    t.join(timeout=600)
elapsed = time.perf_counter() - t0
lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
report = {
    "protocol": "grpc" if a.grpc else "http",
    "clients": a.clients,
    "batch": a.batch,
    "requests": len(latencies),
    "images_per_s": round(len(latencies) * a.batch / elapsed, 1),
    "p50_ms": round(float(np.percentile(lat, 50)), 2),
    "p99_ms": round(float(np.percentile(lat, 99)), 2),
    "wrong": len(wrong),
    "errors": len(http_errors),
    "connection_errors": len(conn_errors),
    "first_errors": (http_errors + wrong)[:3],
}
print(json.dumps(report), flush=True)
sys.exit(1 if wrong or http_errors or any(t.is_alive() for t in threads) else 0)
