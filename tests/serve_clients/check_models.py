"""Stock tritonclient calls against `resnet serve`, over HTTP and gRPC: health, metadata,
config, inference with binary and JSON inputs, classification, raw images; logits compared
with onnxruntime's reference (<= 1e-3 x max |logit|)."""
import argparse
import glob
import os

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from common import check, check_classes, close, labels, main, reference

p = argparse.ArgumentParser()
p.add_argument("--http", required=True)
p.add_argument("--grpc", required=True)
p.add_argument("--model", required=True)
p.add_argument("--reference", required=True)
p.add_argument("--input-tensor", default="input_nchw")
p.add_argument("--logits-tensor", default="logits")
p.add_argument("--labels", choices=["cifar", "imagenet"], required=True)
p.add_argument("--repo", required=True)
p.add_argument("--images", help="folder of PNGs whose logits are the reference's rows, in order")
p.add_argument("--batch", type=int, default=4)
a = p.parse_args()


def run():
    x, want = reference(a.reference, a.input_tensor, a.logits_tensor)
    x, want = x[: a.batch], want[: a.batch]
    names = labels(a.labels, a.repo)
    h = httpclient.InferenceServerClient(a.http)
    g = grpcclient.InferenceServerClient(a.grpc)
    out = {"model": a.model}

    # Health and metadata.
    check(h.is_server_live() and h.is_server_ready(), "HTTP: server not live/ready")
    check(g.is_server_live() and g.is_server_ready(), "gRPC: server not live/ready")
    check(h.is_model_ready(a.model) and g.is_model_ready(a.model), "model not ready")
    check(not h.is_model_ready("no-such-model"), "HTTP: an unknown model is ready")
    sm = h.get_server_metadata()
    check(sm["name"] == "resnet-wgpu" and "binary_tensor_data" in sm["extensions"], f"server metadata {sm}")
    gsm = g.get_server_metadata(as_json=True)
    check(gsm["extensions"] == sm["extensions"], f"gRPC server metadata {gsm}")
    md = h.get_model_metadata(a.model)
    inp = {t["name"]: t for t in md["inputs"]}
    check(inp["input"]["datatype"] == "FP32" and inp["input"]["shape"][:2] == [-1, 3], f"metadata {md}")
    outs = {t["name"]: t for t in md["outputs"]}
    check(outs["logits"]["shape"] == [-1, want.shape[1]], f"metadata outputs {md}")
    gmd = g.get_model_metadata(a.model, as_json=True)
    check(gmd["inputs"][0]["name"] == "input" and gmd["outputs"][0]["datatype"] == "FP32", f"gRPC metadata {gmd}")
    cfg = h.get_model_config(a.model)
    ci = cfg["input"][0]
    check(ci["format"] == "FORMAT_NCHW" and ci["data_type"] == "TYPE_FP32" and ci["dims"][0] == 3, f"config {cfg}")
    check(cfg["max_batch_size"] >= a.batch and "dynamic_batching" in cfg, f"config {cfg}")
    gcfg = g.get_model_config(a.model, as_json=True)["config"]
    check(int(gcfg["max_batch_size"]) == cfg["max_batch_size"], f"gRPC config {gcfg}")
    check(gcfg["input"][0]["format"] == "FORMAT_NCHW", f"gRPC config {gcfg}")

    # HTTP, binary input (tritonclient's default) and binary output.
    i = httpclient.InferInput("input", list(x.shape), "FP32")
    i.set_data_from_numpy(x)
    r = h.infer(a.model, [i], outputs=[httpclient.InferRequestedOutput("logits")])
    out["http_binary"] = close("HTTP binary", r.as_numpy("logits"), want)
    # HTTP, JSON input and JSON output.
    i = httpclient.InferInput("input", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=False)
    r = h.infer(a.model, [i], outputs=[httpclient.InferRequestedOutput("logits", binary_data=False)],
                request_id="req-7")
    check(r.get_response()["id"] == "req-7", "HTTP: request id not echoed")
    out["http_json"] = close("HTTP JSON", r.as_numpy("logits"), want)
    # No outputs named: all of them.
    i = httpclient.InferInput("input", list(x.shape), "FP32")
    i.set_data_from_numpy(x)
    r = h.infer(a.model, [i])
    close("HTTP all outputs", r.as_numpy("logits"), want)
    probs = r.as_numpy("probabilities")
    check(np.allclose(probs.sum(axis=1), 1.0, atol=1e-4), "probabilities do not sum to 1")
    # Classification, binary and JSON.
    for binary in (True, False):
        r = h.infer(a.model, [i], outputs=[httpclient.InferRequestedOutput("logits", binary_data=binary, class_count=3)])
        check_classes(f"HTTP classification (binary={binary})", r.as_numpy("logits"), want, names, 3)
    # Version route.
    r = h.infer(a.model, [i], model_version="1", outputs=[httpclient.InferRequestedOutput("logits")])
    close("HTTP version 1", r.as_numpy("logits"), want)

    # gRPC.
    gi = grpcclient.InferInput("input", list(x.shape), "FP32")
    gi.set_data_from_numpy(x)
    r = g.infer(a.model, [gi], outputs=[grpcclient.InferRequestedOutput("logits")])
    out["grpc"] = close("gRPC", r.as_numpy("logits"), want)
    r = g.infer(a.model, [gi], outputs=[grpcclient.InferRequestedOutput("logits", class_count=2)])
    check_classes("gRPC classification", r.as_numpy("logits"), want, names, 2)

    # Raw images: BYTES of PNG files, preprocessed by the server.
    if a.images:
        files = sorted(glob.glob(os.path.join(a.images, "*.png")))[: a.batch]
        blobs = np.array([open(f, "rb").read() for f in files], dtype=np.object_)
        hi = httpclient.InferInput("image", [len(files)], "BYTES")
        hi.set_data_from_numpy(blobs)
        r = h.infer(a.model, [hi], outputs=[httpclient.InferRequestedOutput("logits")])
        out["http_image"] = close("HTTP image", r.as_numpy("logits"), want)
        gi = grpcclient.InferInput("image", [len(files)], "BYTES")
        gi.set_data_from_numpy(blobs)
        r = g.infer(a.model, [gi], outputs=[grpcclient.InferRequestedOutput("logits", class_count=1)])
        check_classes("gRPC image classification", r.as_numpy("logits"), want, names, 1)
    return out


main(run)
