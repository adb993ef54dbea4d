"""The ONNX engines compared with ours. Each is built from one network's files and offers
`run(x)`, one end-to-end call (host NCHW float32 array in, host logits out), plus the facts
its table row reports (`facts`). A peer that cannot run here raises `Unavailable` with the
reason, and the harness reports that instead of a time.
"""

from pathlib import Path

import numpy as np
import onnxruntime

from onnx_rewrite import for_onnxruntime, for_wonnx


class Unavailable(Exception):
    """The engine cannot run on this machine (the message says why)."""


def relative_error(y, ref):
    return float(np.abs(y - ref).max() / np.abs(ref).max())


def top1(y, ref):
    return float((y.argmax(1) == ref.argmax(1)).mean())


class Wonnx:
    """wonnx 0.5.1 (wgpu 0.16, WGSL) through its Python package, on the rewritten model. Its
    input is a Python list, built once before any clock starts."""

    name = "wonnx"

    def __init__(self, onnx_path: Path, work: Path, x, ref_logits):
        try:
            import wonnx
        except ImportError as e:
            raise Unavailable(f"the Python package wonnx is missing ({e})")
        batch, _, size, _ = x.shape
        classes = ref_logits.shape[1]
        folded_path, kept_path = work / "wonnx.onnx", work / "wonnx-batchnorm.onnx"
        folded = for_wonnx(onnx_path, folded_path, batch, size, classes, fold=True)
        for_wonnx(onnx_path, kept_path, batch, size, classes, fold=False)
        check = onnxruntime.InferenceSession(str(folded_path), providers=["CPUExecutionProvider"])
        rewrite_err = relative_error(check.run(None, {"input": x})[0], ref_logits)
        if rewrite_err > 1e-5:
            raise SystemExit(f"{onnx_path}: the rewrite for wonnx differs from the reference by {rewrite_err:.1e}")
        self.shape = ref_logits.shape
        self.x_list = x.flatten().tolist()
        kept = self.run_session(wonnx.Session.from_path(str(kept_path)))
        self.session = wonnx.Session.from_path(str(folded_path))
        self.facts = {
            "batch_norms_folded": folded,
            "rewrite_rel_err_onnxruntime": rewrite_err,
            "with_its_batchnorm_rel_err": relative_error(kept, ref_logits),
            "with_its_batchnorm_top1": top1(kept, ref_logits),
        }

    def run_session(self, session):
        out = session.run({"input": self.x_list})
        return np.array(out["logits"], dtype=np.float32).reshape(self.shape)

    def run(self, _x):
        return self.run_session(self.session)


class OrtWebGpu:
    """ONNX Runtime's WebGPU execution provider (Dawn) on the original model, from either
    package that carries it:

    - `onnxruntime-webgpu`, an ONNX Runtime build with the EP inside (`WebGpuExecutionProvider`
      among its providers). Dawn takes the first adapter it accepts, a CPU one included: on
      lavapipe it needs Mesa 23 or newer (Mesa 22.3 lacks the dynamic indexing of uniform
      arrays Dawn requires, and Dawn refuses the adapter).
    - `onnxruntime` with the plugin package `onnxruntime-ep-webgpu`. ONNX Runtime offers a
      plugin EP only the hardware devices it enumerates; where that is no GPU, the EP has no
      device and this peer is unavailable.

    Either way the session must place every node on WebGPU: a CPU fallback is an error, not a
    slower peer."""

    name = "ort-webgpu"
    builtin = "WebGpuExecutionProvider"

    def __init__(self, onnx_path: Path, work: Path, _x, _ref_logits):
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        if self.builtin in onnxruntime.get_available_providers():
            ep_name, model = self.builtin, for_onnxruntime(onnx_path, work / "ort-webgpu.onnx")
            self.facts = {"package": f"onnxruntime-webgpu {onnxruntime.__version__}"}
            kwargs = {"providers": [self.builtin]}
        else:
            ep_name, model = self.plugin_device(options), onnx_path
            kwargs = {}
        try:
            self.session = onnxruntime.InferenceSession(str(model), sess_options=options, **kwargs)
        except Exception as e:
            raise Unavailable(
                f"ONNX Runtime {onnxruntime.__version__} could not start {ep_name} and would "
                f"have fallen back to its CPU EP (the EP's own error is on stderr; Dawn refuses "
                f"lavapipe before Mesa 23): {' '.join(str(e).split())}")
        providers = self.session.get_providers()
        if providers[0] != ep_name:
            raise Unavailable(f"the session did not take {ep_name} (providers: {providers})")
        self.facts["providers"] = providers

    def plugin_device(self, options):
        """Registers the plugin EP, adds its device to `options` and returns the EP's name."""
        try:
            import onnxruntime_ep_webgpu as webgpu_ep
        except ImportError as e:
            raise Unavailable(f"neither onnxruntime-webgpu nor the plugin package "
                              f"onnxruntime-ep-webgpu is installed ({e})")
        if not getattr(OrtWebGpu, "registered", False):
            onnxruntime.register_execution_provider_library("webgpu", webgpu_ep.get_library_path())
            OrtWebGpu.registered = True
        devices = onnxruntime.get_ep_devices()
        device = next((d for d in devices if d.ep_name == webgpu_ep.get_ep_name()), None)
        if device is None:
            found = ", ".join(f"{d.ep_name} on {d.device.type.name}" for d in devices)
            raise Unavailable(f"ONNX Runtime {onnxruntime.__version__} lists no device for "
                              f"{webgpu_ep.get_ep_name()} (its EP devices: {found})")
        options.add_provider_for_devices([device], {})
        self.facts = {"package": "onnxruntime-ep-webgpu", "device_vendor": device.device.vendor}
        return webgpu_ep.get_ep_name()

    def run(self, x):
        return self.session.run(None, {"input": x})[0]


ENGINES = {engine.name: engine for engine in (Wonnx, OrtWebGpu)}
