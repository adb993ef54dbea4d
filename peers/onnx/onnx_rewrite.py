"""Rewrites of an ONNX ResNet for the peers, none of which changes what it computes.

For ONNX Runtime builds older than the `onnx` package that wrote the file: the IR version set to
the lowest one its opsets allow (a ResNet uses nothing newer), since ONNX Runtime refuses a file
whose IR version is above the newest it knows.

For wonnx 0.5.1 (and the IR version as above, for the check by ONNX Runtime): concrete batch
and image size (wonnx rejects symbolic dimensions), the classifier's weight stored transposed
instead of `transB = 1` (its Gemm takes B as [K, N] only), and each BatchNormalization folded
into the conv before it:

    w' = w·γ/√(σ²+ε),  b' = (b − μ)·γ/√(σ²+ε) + β      (float64, stored as float32)
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper


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


def lowest_ir_version(model):
    model.ir_version = onnx.helper.find_min_ir_version_for(list(model.opset_import))


def for_onnxruntime(src, dst):
    model = onnx.load(src)
    lowest_ir_version(model)
    onnx.save(model, dst)
    return dst


def for_wonnx(src, dst, batch, size, classes, fold):
    model = onnx.load(src)
    fix_shapes(model, batch, size, classes)
    untranspose_gemm(model)
    folded = fold_batch_norms(model) if fold else 0
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    lowest_ir_version(model)
    onnx.save(model, dst)
    return folded
