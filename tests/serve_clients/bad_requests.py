"""Bad requests of each kind get the documented status and a message naming the problem,
and the server answers the next good request; a client that disconnects mid-request changes
nothing; a full queue refuses at once with 503."""
import argparse
import http.client
import json
import socket
import struct
import threading

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from common import check, close, main, reference

p = argparse.ArgumentParser()
p.add_argument("--http", required=True)
p.add_argument("--grpc", required=True)
p.add_argument("--model", required=True)
p.add_argument("--small-queue-model", required=True)
p.add_argument("--reference", required=True)
p.add_argument("--input-tensor", default="input_nchw")
p.add_argument("--logits-tensor", default="logits")
p.add_argument("--max-body", type=int, required=True)
a = p.parse_args()
host, port = a.http.split(":")


def post(path, body, headers=None):
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request("POST", path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def run():
    x, want = reference(a.reference, a.input_tensor, a.logits_tensor)
    x1 = x[:1]
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    infer = f"/v2/models/{a.model}/infer"

    def good():
        i = httpclient.InferInput("input", list(x1.shape), "FP32")
        i.set_data_from_numpy(x1)
        r = h.infer(a.model, [i], outputs=[httpclient.InferRequestedOutput("logits")])
        close("good request after a bad one", r.as_numpy("logits"), want[:1])

    def tensor(shape, datatype="FP32", data=None, **params):
        t = {"name": "input", "datatype": datatype, "shape": shape}
        if params:
            t["parameters"] = params
        else:
            t["data"] = data if data is not None else x1.flatten().tolist()
        return t

    raw = x1.astype("<f4").tobytes()
    cases = []

    def binary(header_obj, blob, claimed=None):
        header = json.dumps(header_obj).encode()
        n = len(header) if claimed is None else claimed
        return header + blob, {"Inference-Header-Content-Length": str(n)}

    cases.append(("unknown model", "/v2/models/nope/infer", json.dumps({"inputs": [tensor([1, 3, 32, 32])]}).encode(), {}, 404, "unknown model `nope`"))
    cases.append(("unknown version", f"/v2/models/{a.model}/versions/9/infer", json.dumps({"inputs": [tensor([1, 3, 32, 32])]}).encode(), {}, 404, "no version `9`"))
    cases.append(("malformed JSON", infer, b'{"inputs": [', {}, 400, "malformed JSON"))
    cases.append(("wrong datatype", infer, json.dumps({"inputs": [tensor([1, 3, 32, 32], "INT32", [1] * 3072)]}).encode(), {}, 400, "wrong datatype"))
    cases.append(("wrong shape", infer, json.dumps({"inputs": [tensor([1, 4, 32, 32], data=[0.0] * 4096)]}).encode(), {}, 400, "wrong shape"))
    cases.append(("value count vs shape", infer, json.dumps({"inputs": [tensor([2, 3, 32, 32])]}).encode(), {}, 400, "needs 6144 values, found 3072"))
    cases.append(("batch over max", infer, json.dumps({"inputs": [tensor([1000, 3, 32, 32], data=[])]}).encode(), {}, 400, "batch size 1000"))
    body, hd = binary({"inputs": [tensor([1, 3, 32, 32], binary_data_size=len(raw) + 4)]}, raw)
    cases.append(("byte count vs binary_data_size", infer, body, hd, 400, "binary_data_size is 12292 bytes, but only 12288"))
    body, hd = binary({"inputs": [tensor([1, 3, 32, 32], binary_data_size=len(raw))]}, raw + b"xxxx")
    cases.append(("extra binary bytes", infer, body, hd, 400, "add up to 12288"))
    body, hd = binary({"inputs": [tensor([1, 3, 32, 32], binary_data_size=len(raw))]}, raw, claimed=10 ** 6)
    cases.append(("header length past the body", infer, body, hd, 400, "past the end"))
    cases.append(("unknown output", infer, json.dumps({"inputs": [tensor([1, 3, 32, 32])], "outputs": [{"name": "feat"}]}).encode(), {}, 400, "unknown output `feat`"))
    cases.append(("bad image", infer, json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["not an image"]}]}).encode(), {}, 400, "unknown format"))
    cases.append(("empty image size", infer, json.dumps({"inputs": [tensor([1, 3, 0, 32], data=[])]}).encode(), {}, 400, "H, W ≥ 1"))
    results = {}
    for name, path, body, hd, status, needle in cases:
        got, data = post(path, body, hd)
        msg = json.loads(data).get("error", "") if data.startswith(b"{") else data.decode(errors="replace")
        check(got == status and needle in msg, f"{name}: expected {status} with `{needle}`, got {got}: {msg}")
        results[name] = got
        good()

    # A body over the limit is refused from its Content-Length, before it is sent.
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(f"POST {infer} HTTP/1.1\r\nHost: x\r\nContent-Length: {a.max_body + 1}\r\n\r\n".encode())
    answer = b""
    while b"}" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    check(answer.startswith(b"HTTP/1.1 413") and b"over the limit" in answer, f"body over the limit: {answer[:300]}")
    results["body over the limit"] = 413
    good()

    # Unknown route and a client that disconnects mid-body.
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("GET", "/v2/nothing")
    r = c.getresponse()
    check(r.status == 404 and b"no route" in r.read(), "unknown route")
    c.close()
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(f"POST {infer} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".encode() + b'{"inputs": [')
    s.close()
    good()

    # gRPC errors carry status codes.
    gi = grpcclient.InferInput("input", list(x1.shape), "FP32")
    gi.set_data_from_numpy(x1)
    for model, code in (("nope", "StatusCode.NOT_FOUND"),):
        try:
            g.infer(model, [gi])
            check(False, "gRPC: unknown model answered")
        except InferenceServerException as e:
            check(e.status() == code and "unknown model" in e.message(), f"gRPC unknown model: {e.status()} {e.message()}")
    wrong = grpcclient.InferInput("input", [1, 3, 32, 32], "FP16")
    wrong.set_data_from_numpy(np.zeros((1, 3, 32, 32), np.float16))
    try:
        g.infer(a.model, [wrong])
        check(False, "gRPC: FP16 accepted")
    except InferenceServerException as e:
        check(e.status() == "StatusCode.INVALID_ARGUMENT" and "wrong datatype" in e.message(), f"gRPC FP16: {e}")
    # Bytes that are not a ModelInferRequest are the client's error, not the server's.
    import grpc
    with grpc.insecure_channel(a.grpc) as ch:
        raw = ch.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        try:
            raw(b"\x05garbage", timeout=30)
            check(False, "gRPC: undecodable request answered")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "do not decode" in e.details(),
                  f"gRPC undecodable request: {e.code()} {e.details()}")
        # A message over --max-body-bytes: RESOURCE_EXHAUSTED (as HTTP's 413), counted.
        def too_large_count():
            c = http.client.HTTPConnection(host, int(port), timeout=30)
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
            c.close()
            key = 'nv_inference_request_failure{model="",version="1",reason="too_large"} '
            return sum(int(l[len(key):]) for l in text.splitlines() if l.startswith(key))
        before = too_large_count()
        try:
            raw(b"\x00" * (a.max_body + 1), timeout=30)
            check(False, "gRPC: a message over the limit answered")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "--max-body-bytes" in e.details(),
                  f"gRPC message over the limit: {e.code()} {e.details()}")
        check(too_large_count() == before + 1, "gRPC message over the limit: not counted")
    try:
        g.get_inference_statistics(a.model)
        check(False, "gRPC: ModelStatistics answered")
    except InferenceServerException as e:
        check(e.status() == "StatusCode.UNIMPLEMENTED", f"gRPC ModelStatistics: {e.status()}")
    good()

    # A full queue refuses at once: the small-queue model holds 1 request, runs 1 batch.
    statuses = []
    lock = threading.Lock()
    big = x[:8]
    payload = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": list(big.shape),
                                      "parameters": {"binary_data_size": big.nbytes}}]}).encode()

    def flood():
        st, data = post(f"/v2/models/{a.small_queue_model}/infer", payload + big.astype("<f4").tobytes(),
                        {"Inference-Header-Content-Length": str(len(payload))})
        with lock:
            statuses.append((st, data[:200]))

    threads = [threading.Thread(target=flood) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    full = [d for st, d in statuses if st == 503]
    check(all(st in (200, 503) for st, _ in statuses), f"flood statuses {[st for st, _ in statuses]}")
    check(full and all(b"queue" in d for d in full), f"no 503 queue-full among {[st for st, _ in statuses]}")
    results["queue full"] = len(full)
    good()
    return results


main(run)
