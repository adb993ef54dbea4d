"""16+ client threads (HTTP and gRPC, stock tritonclient) x a bounded number of requests of
mixed batch sizes; every answer compared with the reference rows it was asked for. Prints
the average batch size the server's /metrics shows for the model."""
import argparse
import re
import threading
import urllib.request

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from common import check, close, main, reference

p = argparse.ArgumentParser()
p.add_argument("--http", required=True)
p.add_argument("--grpc", required=True)
p.add_argument("--model", required=True)
p.add_argument("--reference", required=True)
p.add_argument("--input-tensor", default="input_nchw")
p.add_argument("--logits-tensor", default="logits")
p.add_argument("--threads", type=int, default=16)
p.add_argument("--requests", type=int, default=12)
a = p.parse_args()


def metric(text, name, model):
    m = re.search(rf'^{name}{{model="{model}",version="1"}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def run():
    x, want = reference(a.reference, a.input_tensor, a.logits_tensor)
    errors, done = [], [0]
    lock = threading.Lock()

    def client(t):
        try:
            grpc = t % 2 == 1
            c = grpcclient.InferenceServerClient(a.grpc) if grpc else httpclient.InferenceServerClient(a.http)
            mod = grpcclient if grpc else httpclient
            rng = np.random.default_rng(t)
            for _ in range(a.requests):
                n = int(rng.integers(1, 4))
                start = int(rng.integers(0, x.shape[0] - n + 1))
                i = mod.InferInput("input", [n, *x.shape[1:]], "FP32")
                i.set_data_from_numpy(x[start:start + n])
                r = c.infer(a.model, [i], outputs=[mod.InferRequestedOutput("logits")])
                close(f"thread {t} rows {start}..{start + n}", r.as_numpy("logits"), want[start:start + n])
                with lock:
                    done[0] += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(f"thread {t}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(t,)) for t in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    check(not any(t.is_alive() for t in threads), "a client thread did not finish within 300 s")
    check(not errors, "; ".join(errors[:5]))
    check(done[0] == a.threads * a.requests, f"{done[0]} answers, expected {a.threads * a.requests}")
    text = urllib.request.urlopen(f"http://{a.http}/metrics", timeout=30).read().decode()
    inferences = metric(text, "nv_inference_count", a.model)
    executions = metric(text, "nv_inference_exec_count", a.model)
    check(executions > 0, f"no executions in /metrics:\n{text}")
    return {"requests": done[0], "inferences": inferences, "executions": executions,
            "avg_batch": inferences / executions}


main(run)
