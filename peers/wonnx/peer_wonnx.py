#!/usr/bin/env python3
"""resnet-wgpu against wonnx (a wgpu ONNX runtime) on the same seeded torchvision ResNets.

For each architecture:

1. `make_resnet_onnx.py` (from the shared test data's tools) writes seeded torchvision weights
   as safetensors and ONNX, and onnxruntime's logits of a seeded input (the reference).
2. The ONNX file is rewritten into the form wonnx 0.5.1 accepts, without changing what it
   computes: fixed batch and image size (wonnx rejects symbolic dimensions), the classifier's
   weight stored transposed instead of `transB = 1` (its Gemm takes B as [K, N] only), and each
   BatchNormalization folded into the conv before it
   (w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β, in float64). onnxruntime runs the rewrite
   and must match the reference within 1e-5, or the harness stops.
3. Checks: ours (`resnet logits` on the original ONNX file) and wonnx (the rewrite) against the
   reference, as max |Δ| / max |reference| and top-1 agreement; and wonnx on the model with
   its BatchNormalization nodes kept (fixed shapes and Gemm only), reported, not timed.
4. Timing, end to end (host input to host logits), in `--rounds` rounds: each round runs
   `resnet bench --iters N` (ours; upload + GPU + readback per call, its median) and then N
   timed wonnx calls (`Session.run`, input list built before the clock starts). Reported: the
   median over the rounds of ours' per-round medians, the median of all wonnx calls, and the
   ratio ours / wonnx (below 1: ours is faster).

Needs `pip install -r requirements.txt` and a built `resnet` binary. Not run by CI.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from safetensors.numpy import load_file

onnxruntime.set_default_logger_severity(3)


def relative_error(y, ref):
    return float(np.abs(y - ref).max() / np.abs(ref).max())


def top1(y, ref):
    return float((y.argmax(1) == ref.argmax(1)).mean())


def generate(tool, arch, batch, size, seed, out):
    """The seeded model files and the onnxruntime reference (written once per setting)."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{arch}{suffix}" for suffix in (".onnx", ".safetensors", "-reference.safetensors")]
    if not all(f.exists() for f in files):
        subprocess.run(
            [sys.executable, str(tool), "--arch", arch, "--batch", str(batch), "--size", str(size),
             "--seed", str(seed), "--out", str(out)],
            check=True,
        )
    return files


def fix_shapes(model, batch, size, classes):
    """Every symbolic dimension of the input and output made concrete; inner shapes re-inferred."""
    del model.graph.value_info[:]
    for value, dims in ((model.graph.input[0], [batch, 3, size, size]),
                        (model.graph.output[0], [batch, classes])):
        for d, n in zip(value.type.tensor_type.shape.dim, dims):
            d.ClearField("dim_param")
            d.dim_value = n


def untranspose_gemm(model):
    """`Gemm` with transB = 1 becomes transB = 0 over the transposed weight."""
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Gemm":
            continue
        attrs = {a.name: a for a in node.attribute}
        if "transB" in attrs and attrs["transB"].i == 1:
            w = inits[node.input[1]]
            w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w).T.copy(), w.name))
            node.attribute.remove(attrs["transB"])


def fold_batch_norms(model):
    """Each Conv → BatchNormalization pair becomes one Conv with a bias (float64 arithmetic)."""
    inits = {i.name: i for i in model.graph.initializer}
    value = lambda name: numpy_helper.to_array(inits[name]).astype(np.float64)
    producer = {o: n for n in model.graph.node for o in n.output}
    readers = {}
    for n in model.graph.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    folded = []
    for bn in [n for n in model.graph.node if n.op_type == "BatchNormalization"]:
        conv = producer.get(bn.input[0])
        if conv is None or conv.op_type != "Conv" or readers[bn.input[0]] != 1:
            sys.exit(f"BatchNormalization {bn.name}: its input is not a conv read only by it")
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (value(n) for n in bn.input[1:5])
        scale = gamma / np.sqrt(var + eps)
        weight = value(conv.input[1]) * scale[:, None, None, None]
        bias = value(conv.input[2]) if len(conv.input) > 2 else np.zeros_like(mean)
        bias = bias * scale + beta - mean * scale
        inits[conv.input[1]].CopyFrom(numpy_helper.from_array(weight.astype(np.float32), conv.input[1]))
        bias_name = f"{conv.output[0]}.folded_bias"
        model.graph.initializer.append(numpy_helper.from_array(bias.astype(np.float32), bias_name))
        if len(conv.input) > 2:
            conv.input[2] = bias_name
        else:
            conv.input.append(bias_name)
        conv.output[0] = bn.output[0]
        folded.append(bn)
    for bn in folded:
        model.graph.node.remove(bn)
    used = {i for n in model.graph.node for i in n.input}
    unused = [i for i in model.graph.initializer if i.name not in used]
    for i in unused:
        model.graph.initializer.remove(i)
    return len(folded)


def for_wonnx(src, dst, batch, size, classes, fold):
    model = onnx.load(src)
    fix_shapes(model, batch, size, classes)
    untranspose_gemm(model)
    folded = fold_batch_norms(model) if fold else 0
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.save(model, dst)
    return folded


def ours_logits(bin_, onnx_path, ref_path, out_path):
    subprocess.run(
        [bin_, "logits", "--model", str(onnx_path), "--input", str(ref_path), "--output", str(out_path)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return load_file(str(out_path))["logits"]


def ours_bench(bin_, arch, weights, batch, size, iters):
    out = subprocess.run(
        [bin_, "bench", "--arch", arch, "--weights", str(weights), "--batch", str(batch),
         "--height", str(size), "--width", str(size), "--iters", str(iters), "--warmup", "1",
         "--no-peak", "--profile-runs", "1", "--json"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def wonnx_run(session, x_list, shape):
    out = session.run({"input": x_list})
    return np.array(out["logits"], dtype=np.float32).reshape(shape)


def compare_arch(args, wonnx, arch):
    work = Path(args.workdir) / f"{arch}-b{args.batch}-{args.size}-s{args.seed}"
    onnx_path, weights, ref_path = generate(args.tool, arch, args.batch, args.size, args.seed, work)
    ref = load_file(str(ref_path))
    x, ref_logits = ref["input_nchw"].astype(np.float32), ref["logits"]
    classes = ref_logits.shape[1]
    folded_path, kept_path = work / f"{arch}-wonnx.onnx", work / f"{arch}-wonnx-bn.onnx"
    folded = for_wonnx(onnx_path, folded_path, args.batch, args.size, classes, fold=True)
    for_wonnx(onnx_path, kept_path, args.batch, args.size, classes, fold=False)
    rewrite = onnxruntime.InferenceSession(str(folded_path), providers=["CPUExecutionProvider"])
    rewrite_err = relative_error(rewrite.run(None, {"input": x})[0], ref_logits)
    if rewrite_err > 1e-5:
        sys.exit(f"{arch}: the rewritten ONNX differs from the reference by {rewrite_err:.1e}")

    ours = ours_logits(args.resnet_bin, onnx_path, ref_path, work / "ours-logits.safetensors")
    x_list = x.flatten().tolist()
    kept = wonnx.Session.from_path(str(kept_path))
    kept_logits = wonnx_run(kept, x_list, ref_logits.shape)
    del kept
    session = wonnx.Session.from_path(str(folded_path))
    theirs = wonnx_run(session, x_list, ref_logits.shape)

    ours_ms, wonnx_ms = [], []
    for _ in range(args.rounds):
        ours_ms.append(ours_bench(args.resnet_bin, arch, weights, args.batch, args.size, args.iters)
                       ["latency_ms_median"])
        for _ in range(args.iters):
            t = time.perf_counter()
            session.run({"input": x_list})
            wonnx_ms.append((time.perf_counter() - t) * 1e3)
    ours_median, wonnx_median = statistics.median(ours_ms), statistics.median(wonnx_ms)
    return {
        "arch": arch, "batch": args.batch, "size": args.size, "seed": args.seed,
        "bn_folded_for_wonnx": folded, "rewrite_rel_err_onnxruntime": rewrite_err,
        "ours_rel_err": relative_error(ours, ref_logits), "ours_top1": top1(ours, ref_logits),
        "wonnx_rel_err": relative_error(theirs, ref_logits), "wonnx_top1": top1(theirs, ref_logits),
        "wonnx_with_batchnorm_rel_err": relative_error(kept_logits, ref_logits),
        "wonnx_with_batchnorm_top1": top1(kept_logits, ref_logits),
        "ours_round_medians_ms": ours_ms, "wonnx_ms": wonnx_ms,
        "ours_ms_median": ours_median, "wonnx_ms_median": wonnx_median,
        "ours_over_wonnx": ours_median / wonnx_median,
    }


def main():
    here = Path(__file__).resolve().parent
    shared = Path(os.environ.get("RESNET_TESTDATA", here.parents[2] / "shared"))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="resnet18,resnet50")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=3, help="timed calls per engine per round")
    p.add_argument("--resnet-bin", default=str(here.parents[1] / "target" / "release" / "resnet"))
    p.add_argument("--tool", default=str(shared / "tools" / "make_resnet_onnx.py"))
    p.add_argument("--workdir", default="/tmp/peer-wonnx")
    p.add_argument("--json", help="also write the results as JSON to this file")
    args = p.parse_args()
    for path, what in ((args.resnet_bin, "--resnet-bin (cargo build --release)"),
                       (args.tool, "--tool (make_resnet_onnx.py)")):
        if not Path(path).exists():
            sys.exit(f"{what}: {path} does not exist")
    import wonnx

    results = [compare_arch(args, wonnx, arch) for arch in args.arch.split(",")]
    print(f"| network, batch {args.batch} | ours (ms) | wonnx (ms) | ours / wonnx | ours: rel. err, top-1 "
          "| wonnx: rel. err, top-1 | wonnx with its BatchNormalization: rel. err, top-1 |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['arch']} | {r['ours_ms_median']:.1f} | {r['wonnx_ms_median']:.1f} | "
              f"**{r['ours_over_wonnx']:.2f}** | {r['ours_rel_err']:.1e}, {100 * r['ours_top1']:.0f} % | "
              f"{r['wonnx_rel_err']:.1e}, {100 * r['wonnx_top1']:.0f} % | "
              f"{r['wonnx_with_batchnorm_rel_err']:.1e}, {100 * r['wonnx_with_batchnorm_top1']:.0f} % |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
