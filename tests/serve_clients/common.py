"""Helpers shared by the `resnet serve` client checks (driven by tests/serve.rs)."""
import json
import sys

import numpy as np
from safetensors.numpy import load_file

REL = 1e-3
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def reference(path, input_name, logits_name):
    t = load_file(path)
    return t[input_name].astype(np.float32), t[logits_name].astype(np.float32)


def close(what, got, want, rel=REL):
    got = np.asarray(got, dtype=np.float32).reshape(want.shape)
    err = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    check(np.all(np.isfinite(got)), f"{what}: non-finite values")
    check(err <= rel * scale, f"{what}: max |d| {err:.3e} > {rel:g} x max |logit| {scale:.3e}")
    return err / scale if scale else err


def labels(kind, repo_root):
    if kind == "cifar":
        return CIFAR10
    names = []
    with open(f"{repo_root}/src/labels/imagenet.txt") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                names.append(parts[2])
    return names


def check_classes(what, cells, logits, names, k):
    """cells: [n, k] of b"value:index:label"; the top k of each row of logits, in order."""
    cells = np.asarray(cells).reshape(logits.shape[0], k)
    for r in range(logits.shape[0]):
        want = np.argsort(-logits[r], kind="stable")[:k]
        for j in range(k):
            cell = cells[r, j]
            cell = cell.decode() if isinstance(cell, bytes) else str(cell)
            value, index, label = cell.split(":", 2)
            index = int(index)
            # Near-ties may swap places between engines: compare by value.
            check(abs(float(value) - logits[r, index]) <= REL * np.max(np.abs(logits)) + 1e-6,
                  f"{what}: row {r} cell {j} `{cell}`: value differs from logit {logits[r, index]}")
            check(abs(logits[r, index] - logits[r, want[j]]) <= REL * np.max(np.abs(logits)),
                  f"{what}: row {r} cell {j} `{cell}`: expected class {want[j]} ({names[want[j]]})")
            check(label == names[index], f"{what}: row {r} cell {j} `{cell}`: label should be {names[index]}")


def main(run):
    """Runs `run()` (returns a dict); prints it as JSON on the last line, or the failure."""
    try:
        result = run()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))
