#!/usr/bin/env python3
"""resnet-wgpu against the ONNX engines on WebGPU (wonnx; ONNX Runtime's WebGPU EP where it
finds a device) on the same seeded torchvision ResNets.

For each architecture:

1. `make_resnet_onnx.py` (from the shared test data's tools) writes seeded torchvision weights
   as safetensors and ONNX, and onnxruntime's logits (CPU) of a seeded input: the reference.
2. Each peer is built from the ONNX file (`engines.py`; wonnx on a rewrite that onnxruntime
   checks against the reference first, `onnx_rewrite.py`). A peer that cannot run here is
   reported with the reason.
3. Checks: ours (`resnet logits` on the ONNX file) and each peer against the reference, as
   max |Δ| / max |reference| and top-1 agreement.
4. Timing, end to end (host input to host logits), in `--rounds` rounds: each round runs
   `resnet bench --iters N` (ours: upload + GPU + readback per call, its median) and then N
   timed calls of each peer. Reported: the median of ours' per-round medians, the median of
   each peer's calls, and the ratio ours / peer (below 1: ours is faster).

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
import onnxruntime
from safetensors.numpy import load_file

from engines import ENGINES, Unavailable, relative_error, top1

onnxruntime.set_default_logger_severity(3)


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


def compare_arch(args, arch):
    work = Path(args.workdir) / f"{arch}-b{args.batch}-{args.size}-s{args.seed}"
    onnx_path, weights, ref_path = generate(args.tool, arch, args.batch, args.size, args.seed, work)
    ref = load_file(str(ref_path))
    x, ref_logits = ref["input_nchw"].astype(np.float32), ref["logits"]
    ours = ours_logits(args.resnet_bin, onnx_path, ref_path, work / "ours-logits.safetensors")
    result = {
        "arch": arch, "batch": args.batch, "size": args.size, "seed": args.seed,
        "ours_rel_err": relative_error(ours, ref_logits), "ours_top1": top1(ours, ref_logits),
        "ours_round_medians_ms": [], "peers": {},
    }
    peers = []
    for name in args.engines.split(","):
        try:
            peer = ENGINES[name](onnx_path, work, x, ref_logits)
        except Unavailable as e:
            result["peers"][name] = {"unavailable": str(e)}
            continue
        logits = peer.run(x)
        result["peers"][name] = {
            **peer.facts, "rel_err": relative_error(logits, ref_logits),
            "top1": top1(logits, ref_logits), "ms": [],
        }
        peers.append(peer)
    for _ in range(args.rounds):
        result["ours_round_medians_ms"].append(
            ours_bench(args.resnet_bin, arch, weights, args.batch, args.size, args.iters)["latency_ms_median"])
        for peer in peers:
            for _ in range(args.iters):
                t = time.perf_counter()
                peer.run(x)
                result["peers"][peer.name]["ms"].append((time.perf_counter() - t) * 1e3)
    result["ours_ms_median"] = statistics.median(result["ours_round_medians_ms"])
    for peer in peers:
        r = result["peers"][peer.name]
        r["ms_median"] = statistics.median(r["ms"])
        r["ours_over_peer"] = result["ours_ms_median"] / r["ms_median"]
    return result


def print_table(results, batch):
    print(f"| network, batch {batch} | ours (ms) | peer | peer (ms) | ours / peer | ours: rel. err, top-1 "
          "| peer: rel. err, top-1 | notes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for name, p in r["peers"].items():
            head = f"| {r['arch']} | {r['ours_ms_median']:.1f} | {name} |"
            ours = f"{r['ours_rel_err']:.1e}, {100 * r['ours_top1']:.0f} %"
            if "unavailable" in p:
                print(f"{head} - | - | {ours} | - | unavailable: {p['unavailable']} |")
                continue
            notes = ""
            if "with_its_batchnorm_rel_err" in p:
                notes = (f"batch norms folded for it ({p['batch_norms_folded']}); with its own: "
                         f"{p['with_its_batchnorm_rel_err']:.1e}, {100 * p['with_its_batchnorm_top1']:.0f} %")
            print(f"{head} {p['ms_median']:.1f} | **{p['ours_over_peer']:.2f}** | {ours} | "
                  f"{p['rel_err']:.1e}, {100 * p['top1']:.0f} % | {notes} |")


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
    p.add_argument("--engines", default=",".join(ENGINES), help=f"peers among {', '.join(ENGINES)}")
    p.add_argument("--workdir", default="/tmp/peer-onnx")
    p.add_argument("--json", help="also write the results as JSON to this file")
    args = p.parse_args()
    for path, what in ((args.resnet_bin, "--resnet-bin (cargo build --release)"),
                       (args.tool, "--tool (make_resnet_onnx.py)")):
        if not Path(path).exists():
            sys.exit(f"{what}: {path} does not exist")
    unknown = [e for e in args.engines.split(",") if e not in ENGINES]
    if unknown:
        sys.exit(f"--engines: unknown {', '.join(unknown)}; expected some of {', '.join(ENGINES)}")

    results = [compare_arch(args, arch) for arch in args.arch.split(",")]
    print_table(results, args.batch)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
