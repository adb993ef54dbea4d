#!/usr/bin/env bash
# Benchmarks resnet-wgpu against PyTorch on one NVIDIA GPU, side by side in the same run.
#
#   scripts/gpu-bench.sh [RESULTS_DIR]        (default: $OUT, else bench-results/<time>)
#
# Needs: Linux, an NVIDIA GPU and driver, python3 with torch + torchvision (CUDA). Runs within
# about 8 minutes (BUDGET_S) and writes everything (raw JSON, logs, the profile chart,
# summary.md) to RESULTS_DIR:
#   1. device description (nvidia-smi, `resnet info`, whose cooperative-matrix line the summary
#      repeats); with no GPU adapter it stops here, after a few seconds, with what it found of
#      the Vulkan setup in run.log;
#      then `resnet verify` of the architecture at the first two batches in f32 and f16 (the
#      GPU's logits against the CPU reference on this machine; at batch 8 the plan runs all
#      three GEMM tilings: split K, 64 × 64 and 128 × 128);
#   2. torchvision resnet50 in eval mode at batch 1, 8, 64, f32 with TF32 off and f16, timed
#      with CUDA events after warm-up (GPU time of the forward pass) and end to end (input
#      upload + forward + logits download, wall clock);
#   3. `resnet bench --peak` (f32 and f16 FMA GFLOP/s, copy GB/s);
#   4. `resnet bench --arch resnet50` at batch 1, 8, 64 in f32 and f16 (end to end: upload,
#      GPU, logits readback; median and p90);
#      The first batch in f32 also runs with RESNET_SUBMIT_GROUPS=0 (each call submitted whole
#      instead of in groups as it is recorded): what the grouped submissions gain; the first
#      and the last batch in f32 also run with RESNET_LOOP_BOUNDING=1 (wgpu's loop counter in
#      every shader loop, which the engine leaves out): what leaving it out gains; and with
#      RESNET_TILE_SWIZZLE=0 (the tiles' A columns without the swizzle against workgroup
#      memory's bank conflicts): what the swizzle gains;
#   5. `resnet profile --arch resnet50` at batch 1 and 64 (per-layer table + SVG/HTML chart);
#   6. with PEER_BURN_BIN, the peer harness (peers/burn) at the first batch: burn's wgpu backend
#      and ours on the same seeded resnet18 and resnet50, end to end, in one run; with
#      PEER_ONNX=1, peers/onnx likewise against wonnx and ONNX Runtime's WebGPU EP;
#   7. `resnet tune` at the first and the last batch in f32 (every candidate kernel of every
#      layer timed by GPU timestamps and checked against the CPU reference, Winograd's tiled
#      GEMM among them, the leading ones then searched in the whole network; the choices in
#      tune.json), then each batch's bench and profile again with the tuned kernels: what the
#      heuristic leaves on the table; then the same tune and bench at the first batch in f16;
#   8. summary.md: one table with both engines and the ratios (and the GPU time between
#      dispatches: what launches and barriers cost), the whole-submission line, the tuned lines
#      and the peer harness's table.
# Every step has a time limit and the steps share a budget, so that one slow step cannot
# starve the others; a failed step is reported at the end and the rest still run. Exit status:
# 0 when every step passed, 1 when one failed (summary.md is still written), 2 without a GPU
# adapter. A TERM (the caller's own time limit) still writes summary.md from what finished.
#
# Environment:
#   RESNET_BIN         a prebuilt `resnet` binary (else `cargo build --release`, else
#                      target/release/resnet if it exists)
#   VULKAN_LOADER_DIR  folder with libvulkan.so.1 for machines without the Vulkan loader
#                      (default: target/vulkan-loader when it exists)
#   PYTHON             python with torch (default python3)
#   CUDNN_BENCHMARK    1 (default) lets cuDNN pick its fastest algorithms, as tuned inference
#                      would; 0 for plain eager defaults
#   BUDGET_S           seconds for all measurements (default 450; the build is extra)
#   PEER_BURN_BIN      a prebuilt peer harness (peers/burn: `cargo build --release` there)
#   PEER_ITERS         its timed rounds (default 20)
#   PEER_ONNX          1: run peers/onnx (needs its requirements.txt in PYTHON, and
#                      make_resnet_onnx.py: PEER_ONNX_TOOL, default $RESNET_TESTDATA/tools/ or
#                      ../shared/tools/); PEER_ONNX_WHEELS: a folder of wheels to install
#                      them from first, offline; PEER_ONNX_REQUIREMENTS: which list to install
#                      (default peers/onnx/requirements.txt; requirements-webgpu.txt takes the
#                      onnxruntime-webgpu build); PEER_ONNX_ARCH (default resnet18,resnet50)
# For a dry run of the script itself on a machine without the GPU (e.g. on lavapipe):
#   ALLOW_CPU_ADAPTER=1 ARCH=simple SIZE=64 BATCHES="1 2" scripts/gpu-bench.sh /tmp/dry
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
results="${1:-${OUT:-bench-results/$(date +%Y%m%d-%H%M%S)}}"
mkdir -p "$results" || exit 1
results="$(cd "$results" && pwd)"
python="${PYTHON:-python3}"
arch="${ARCH:-resnet50}"
size="${SIZE:-224}"
read -r -a batches <<<"${BATCHES:-1 8 64}"
if [ "${#batches[@]}" -eq 0 ]; then
    echo "BATCHES: expected batch sizes such as \"1 8 64\", found none" >&2
    exit 1
fi
for b in "${batches[@]}"; do
    if ! [[ "$b" =~ ^[1-9][0-9]*$ ]]; then
        echo "BATCHES: expected positive whole numbers separated by spaces, found \"$b\"" >&2
        exit 1
    fi
done
export ARCH="$arch" SIZE="$size" BATCHES="${batches[*]}"
failures=()

log() { printf '\n== %s\n' "$*" | tee -a "$results/run.log"; }
# run NAME SECONDS CMD...: stdout to NAME.out, stderr to NAME.err, at most SECONDS and never
# past the time budget; records a failure.
budget_end=$((SECONDS + 100000)) # set after the build
run() {
    local name="$1" secs="$2"
    shift 2
    local left=$((budget_end - SECONDS))
    if [ "$left" -lt 15 ]; then
        echo "$name: skipped (time budget spent)" | tee -a "$results/run.log"
        failures+=("$name (skipped: time budget spent)")
        return 124
    fi
    [ "$secs" -gt "$left" ] && secs=$left
    local start=$SECONDS
    # In the background and waited for, so that a TERM reaches the trap at once (bash defers a
    # trap until a foreground command ends), which stops the step first.
    timeout "$secs" "$@" >"$results/$name.out" 2>"$results/$name.err" &
    step=$!
    wait "$step"
    local rc=$?
    step=
    printf '%s: exit %d after %ds\n' "$name" "$rc" "$((SECONDS - start))" | tee -a "$results/run.log"
    if [ "$rc" -ne 0 ]; then
        failures+=("$name (exit $rc: $(tail -n 1 "$results/$name.err"))")
    fi
    return "$rc"
}

# --- summary ------------------------------------------------------------------------------------
# summary.md from whatever finished, then the failures; at the end of the run or on a TERM.
summarize() {
    log "summary"
    "$python" - "$results" <<'PY' | tee "$results/summary.md"
import json, os, pathlib, sys
d = pathlib.Path(sys.argv[1])
batches = [int(b) for b in os.environ["BATCHES"].split()]
def load(name):
    try:
        return json.loads((d / f"{name}.out").read_text().strip().splitlines()[-1])
    except Exception:
        return None
peak = load("peak") or {}
torch = {}
try:
    lines = [json.loads(l) for l in (d / "torch.out").read_text().splitlines() if l.strip()]
    head = lines[0]
    torch = {(l["precision"], l["batch"]): l for l in lines[1:]}
except Exception:
    head = {}
dev = (d / "nvidia-smi.csv").read_text().splitlines()[-1] if (d / "nvidia-smi.csv").exists() else "?"
print(f"# {os.environ['ARCH']} at {os.environ['SIZE']}x{os.environ['SIZE']} on {dev}\n")
fmt = lambda v, f="{:.2f}": "–" if v is None else f.format(v)
print(f"resnet-wgpu peak: f32 {fmt(peak.get('f32_gflops'), '{:.0f}')} GFLOP/s, "
      f"f16 {fmt(peak.get('f16_gflops'), '{:.0f}')} GFLOP/s, "
      f"copy {fmt(peak.get('bandwidth_gbs'), '{:.0f}')} GB/s ({peak.get('adapter')})  ")
print(f"PyTorch {head.get('torch')} / torchvision {head.get('torchvision')}, "
      f"cudnn.benchmark={head.get('cudnn_benchmark')}, TF32 off  ")
info = (d / "info.out").read_text() if (d / "info.out").exists() else ""
coop = [l for l in info.splitlines() if l.startswith("cooperative matrices:")]
print(f"{coop[0] if coop else 'cooperative matrices: ?'} (`resnet info`)\n")
print("| precision | batch | resnet-wgpu median ms | p90 ms | submit ms | GPU ms | GPU ms between dispatches "
      "| images/s | conv GFLOP/s (% of peak) "
      "| PyTorch events ms | PyTorch end-to-end ms | images/s | wgpu / PyTorch (end to end) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
p = peak.get("f32_gflops")  # the kernels multiply-add in f32 in both precisions
for prec in ("f32", "f16"):
    for batch in batches:
        w = load(f"wgpu-b{batch}-{prec}") or {}
        t = torch.get((prec, batch), {})
        lat, te = w.get("latency_ms_median"), t.get("e2e_ms_median")
        conv = w.get("conv_gflops")
        conv_s = "–" if conv is None else (f"{conv:.1f}" + (f" ({conv / p * 100:.0f} %)" if p else ""))
        print(f"| {prec} | {batch} | {fmt(lat)} | {fmt(w.get('latency_ms_p90'))} | "
              f"{fmt(w.get('submit_ms_median'), '{:.3f}')} | {fmt(w.get('gpu_ms'))} | "
              f"{fmt(w.get('gpu_gaps_ms'))} | "
              f"{fmt(w.get('images_per_s'), '{:.0f}')} | {conv_s} | {fmt(t.get('events_ms_median'))} | "
              f"{fmt(te)} | {fmt(t.get('images_per_s'), '{:.0f}')} | "
              f"{fmt(lat / te if lat and te else None)} |")
print()
def against_default(batch, name, setting, detail, label):
    """The f32 bench at `batch` run with `setting` (results `name`) beside the default run:
    both medians, `detail` of each run, and default / setting."""
    other, plain = load(name), load(f"wgpu-b{batch}-f32")
    if other and plain:
        lo, lp = other.get("latency_ms_median"), plain.get("latency_ms_median")
        print(f"f32 batch {batch}, {setting}: median {fmt(lo)} ms, {detail(other)}; by default "
              f"{fmt(lp)} ms, {detail(plain)} ({label} {fmt(lp / lo if lp and lo else None)})  ")
against_default(batches[0], f"wgpu-b{batches[0]}-f32-whole",
                "each call submitted whole (RESNET_SUBMIT_GROUPS=0)",
                lambda r: f"submit {fmt(r.get('submit_ms_median'), '{:.3f}')} ms, "
                          f"{r.get('submissions_per_chunk')} submission(s) per chunk",
                "groups / whole")
for tag, setting, label in [
        ("bounded", "with wgpu's loop counter (RESNET_LOOP_BOUNDING=1)", "without / with"),
        ("unswizzled", "the tiles' A columns left in place (RESNET_TILE_SWIZZLE=0)",
         "swizzled / unswizzled")]:
    for batch in sorted({batches[0], batches[-1]}):
        against_default(batch, f"wgpu-b{batch}-f32-{tag}", setting,
                        lambda r: f"GPU {fmt(r.get('gpu_ms'))} ms", label)
for prec, batch in [("f32", b) for b in sorted({batches[0], batches[-1]})] + [("f16", batches[0])]:
    tuned, plain = load(f"wgpu-b{batch}-{prec}-tuned"), load(f"wgpu-b{batch}-{prec}")
    if tuned:
        lat, base = tuned.get("latency_ms_median"), (plain or {}).get("latency_ms_median")
        print(f"{prec} batch {batch} with `resnet tune`'s kernels (tune.json): median "
              f"{fmt(lat)} ms, p90 {fmt(tuned.get('latency_ms_p90'))} ms, GPU {fmt(tuned.get('gpu_ms'))} ms, "
              f"{fmt(tuned.get('images_per_s'), '{:.0f}')} images/s; heuristic {fmt(base)} ms "
              f"(tuned / heuristic {fmt(lat / base if lat and base else None)})  ")
for prec, batch, name in [("f32", b, f"tune-b{b}") for b in sorted({batches[0], batches[-1]})] + [
        ("f16", batches[0], f"tune-b{batches[0]}-f16")]:
    t = d / f"{name}.out"
    line = next((l for l in (t.read_text().splitlines() if t.exists() else [])
                 if "shapes differ from the heuristic" in l), None)
    if line:
        print(f"`resnet tune` {prec} batch {batch}, per distinct conv shape: {line}  ")
for batch in batches[:2]:
    for prec in ("f32", "f16"):
        v = load(f"verify-b{batch}-{prec}")
        if v:
            print(f"`resnet verify` {prec}, batch {batch}: max |Δ| / max |logit| "
                  f"{fmt(v.get('max_rel_err'), '{:.1e}')}, top-1 agreement "
                  f"{fmt(v.get('top1_agreement'), '{:.2f}')}, within {v.get('tolerance')}: "
                  f"{v.get('agrees')} (GPU against the CPU reference)  ")
peer = d / f"peer-burn-b{batches[0]}.out"
if peer.exists() and peer.read_text().strip():
    print(f"\nPeer harness (peers/burn), batch {batches[0]} f32, end to end:\n\n```")
    print(peer.read_text().rstrip())
    print("```")
peer = d / f"peer-onnx-b{batches[0]}.out"
if peer.exists() and peer.read_text().strip():
    print(f"\nPeer harness (peers/onnx), batch {batches[0]} f32, end to end:\n")
    print("\n".join(l for l in peer.read_text().splitlines() if l.startswith("|")))
PY
    if [ "${#failures[@]}" -gt 0 ]; then
        log "failures"
        printf '%s\n' "${failures[@]}" | tee -a "$results/run.log"
    fi
    echo "results in $results"
}
step=""
trap '[ -n "$step" ] && kill -TERM "$step" 2>/dev/null
      echo "stopped by TERM" | tee -a "$results/run.log"; failures+=("stopped by TERM")
      summarize; exit 1' TERM

log "device"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv |
        tee "$results/nvidia-smi.csv" | tee -a "$results/run.log"
else
    echo "nvidia-smi not found" | tee -a "$results/run.log"
fi

# --- Vulkan: loader and NVIDIA driver ---------------------------------------------------------
has_loader() {
    ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' && return 0
    local d
    for d in ${LD_LIBRARY_PATH//:/ }; do
        [ -e "$d/libvulkan.so.1" ] && return 0
    done
    return 1
}
if ! has_loader; then
    loader_dir="${VULKAN_LOADER_DIR:-$root/target/vulkan-loader}"
    if [ -e "$loader_dir/libvulkan.so.1" ]; then
        export LD_LIBRARY_PATH="$loader_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        echo "Vulkan loader: $loader_dir/libvulkan.so.1" | tee -a "$results/run.log"
    else
        echo "no Vulkan loader (libvulkan.so.1): install libvulkan1 or set VULKAN_LOADER_DIR" |
            tee -a "$results/run.log"
    fi
fi
# Use the NVIDIA ICD alone (so that a software driver can never be picked). Its manifest sits
# in one of the standard folders; containers sometimes mount only the library, in which case a
# manifest pointing at it is written here.
icd=""
for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
    /usr/local/share/vulkan/icd.d/nvidia_icd*.json \
    /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json; do
    if [ -e "$f" ]; then
        icd="$f"
        break
    fi
done
if [ -z "$icd" ]; then
    glx="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}')"
    for f in /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0; do
        [ -z "$glx" ] && [ -e "$f" ] && glx="$f"
    done
    if [ -n "$glx" ]; then
        icd="$results/nvidia_icd.json"
        printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' \
            "$glx" >"$icd"
    fi
fi
if [ -n "$icd" ]; then
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    echo "Vulkan ICD: $icd" | tee -a "$results/run.log"
else
    echo "no NVIDIA Vulkan ICD found (nvidia_icd.json or libGLX_nvidia.so.0); in a container, enable the 'graphics' driver capability" |
        tee -a "$results/run.log"
fi
export WGPU_BACKEND=vulkan

# --- build -------------------------------------------------------------------------------------
bin="${RESNET_BIN:-}"
if [ -z "$bin" ] && command -v cargo >/dev/null 2>&1; then
    log "building (cargo build --release)"
    if run build 300 cargo build --release; then
        bin="$root/target/release/resnet"
    fi
fi
if [ -z "$bin" ] && [ -x "$root/target/release/resnet" ]; then
    bin="$root/target/release/resnet"
fi
budget_end=$((SECONDS + ${BUDGET_S:-450}))

# --- the adapter, and the GPU's logits against the CPU reference -------------------------------
log "resnet info"
wgpu_ok=0
if [ -n "$bin" ] && run info 60 "$bin" info; then
    tee -a "$results/run.log" <"$results/info.out"
    if grep -q '^type: *Cpu' "$results/info.out" && [ "${ALLOW_CPU_ADAPTER:-0}" != 1 ]; then
        echo "the adapter is a CPU driver, not the GPU" | tee -a "$results/run.log"
        failures+=("resnet-wgpu: no GPU adapter (see info.out)")
    else
        wgpu_ok=1
    fi
else
    failures+=("resnet-wgpu: no binary or no adapter")
fi
if [ "$wgpu_ok" -ne 1 ]; then
    # Stop before the long steps: what the Vulkan setup looked like, for the next try.
    {
        echo "binary: ${bin:-none}; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}; VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
        ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
        ldconfig -p 2>/dev/null | grep -E 'libvulkan|nvidia' | head -n 20
        tail -n 20 "$results/info.err" 2>/dev/null
    } | tee -a "$results/run.log"
    printf '%s\n' "${failures[@]}" | tee -a "$results/run.log"
    exit 2
fi
for batch in "${batches[@]:0:2}"; do
    for prec in f32 f16; do
        name="verify-b$batch-$prec"
        log "resnet verify $arch batch $batch $prec (GPU against the CPU reference)"
        run "$name" 90 "$bin" verify --arch "$arch" --batch "$batch" --height "$size" \
            --width "$size" --precision "$prec" --runs 1 --json && cat "$results/$name.out"
    done
done

# --- PyTorch ------------------------------------------------------------------------------------
log "torchvision $arch (eval), CUDA events after warm-up"
cat >"$results/torch_bench.py" <<'PY'
"""torchvision's $ARCH in eval mode: per batch and precision, the median forward time from
CUDA events (after warm-up) and the median end-to-end time (upload, forward, download)."""
import json, os, statistics, time
import torch, torchvision

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = os.environ.get("CUDNN_BENCHMARK", "1") == "1"
dev = torch.device("cuda")
print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                  "torchvision": torchvision.__version__,
                  "cudnn_benchmark": torch.backends.cudnn.benchmark}), flush=True)
size = int(os.environ["SIZE"])
model = getattr(torchvision.models, os.environ["ARCH"])(weights=None).eval().to(dev)
for prec, dtype in (("f32", torch.float32), ("f16", torch.float16)):
    m = model.to(dtype)
    for batch in map(int, os.environ["BATCHES"].split()):
        iters = 20 if batch >= 64 else 50
        x_host = torch.randn(batch, 3, size, size).to(dtype).pin_memory()
        with torch.inference_mode():
            x = x_host.to(dev)
            for _ in range(10):
                m(x)
            torch.cuda.synchronize()
            gpu = []
            for _ in range(iters):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                m(x)
                b.record()
                b.synchronize()
                gpu.append(a.elapsed_time(b))
            e2e = []
            for _ in range(iters):
                t = time.perf_counter()
                m(x_host.to(dev, non_blocking=True)).float().cpu()
                e2e.append((time.perf_counter() - t) * 1e3)
        med = statistics.median(e2e)
        print(json.dumps({"precision": prec, "batch": batch, "iters": iters,
                          "events_ms_median": statistics.median(gpu),
                          "e2e_ms_median": med, "images_per_s": batch / med * 1e3}), flush=True)
PY
run torch 150 "$python" "$results/torch_bench.py" && cat "$results/torch.out"

# --- resnet-wgpu --------------------------------------------------------------------------------
# The tune cache of this run only: absent until step 7, so steps 3-6 run the heuristic.
export RESNET_TUNE_CACHE="$results/tune.json"
rm -f "$RESNET_TUNE_CACHE"
# Timed runs of `resnet bench` at a batch: fewer for the large ones; untimed ones before them,
# about half a second of work on a GPU, so that its clocks have risen (a fresh process each).
bench_iters() { echo $(($1 >= 64 ? 20 : 50)); }
bench_warmup() { echo $(($1 >= 64 ? 20 : ($1 >= 8 ? 100 : 200))); }
if [ "$wgpu_ok" -eq 1 ]; then
    log "resnet bench --peak"
    run peak 30 "$bin" bench --peak --json && cat "$results/peak.out"
    for prec in f32 f16; do
        for batch in "${batches[@]}"; do
            log "resnet bench $arch batch $batch $prec"
            run "wgpu-b$batch-$prec" 45 "$bin" bench --arch "$arch" --batch "$batch" \
                --height "$size" --width "$size" --precision "$prec" \
                --iters "$(bench_iters "$batch")" --warmup "$(bench_warmup "$batch")" \
                --no-peak --json &&
                cat "$results/wgpu-b$batch-$prec.out"
        done
    done
    first="${batches[0]}" last="${batches[${#batches[@]} - 1]}"
    log "resnet bench $arch batch $first f32, each call submitted whole"
    RESNET_SUBMIT_GROUPS=0 run "wgpu-b$first-f32-whole" 45 "$bin" bench --arch "$arch" \
        --batch "$first" --height "$size" --width "$size" --iters "$(bench_iters "$first")" \
        --warmup "$(bench_warmup "$first")" --no-peak --json &&
        cat "$results/wgpu-b$first-f32-whole.out"
    # Settings timed against the default at the first and the last batch in f32 (tag, the
    # variable, what it changes).
    for setting in "bounded RESNET_LOOP_BOUNDING=1 wgpu's loop counter" \
        "unswizzled RESNET_TILE_SWIZZLE=0 the tiles' A columns left in place"; do
        read -r tag assign what <<<"$setting"
        for batch in $(printf '%s\n' "$first" "$last" | sort -un); do
            log "resnet bench $arch batch $batch f32 with $what ($assign)"
            run "wgpu-b$batch-f32-$tag" 45 env "$assign" "$bin" bench --arch "$arch" \
                --batch "$batch" --height "$size" --width "$size" \
                --iters "$(bench_iters "$batch")" --warmup "$(bench_warmup "$batch")" \
                --no-peak --json && cat "$results/wgpu-b$batch-f32-$tag.out"
        done
    done
    log "resnet profile $arch batch $first (table and HTML chart)"
    run "profile-b$first" 60 "$bin" profile --arch "$arch" --batch "$first" --runs 5 \
        --height "$size" --width "$size" --out "$results/profile-$arch-b$first.html" &&
        cat "$results/profile-b$first.out"
    log "resnet profile $arch batch $last (JSON and SVG chart)"
    run "profile-b$last" 60 "$bin" profile --arch "$arch" --batch "$last" --runs 3 --no-peak \
        --height "$size" --width "$size" --json --out "$results/profile-$arch-b$last.svg"
    if [ -n "${PEER_BURN_BIN:-}" ]; then
        log "peer harness: burn's wgpu backend and resnet-wgpu, batch $first f32, end to end"
        run "peer-burn-b$first" 150 "$PEER_BURN_BIN" --arch resnet18,resnet50 --batch "$first" \
            --iters "${PEER_ITERS:-20}" --warmup 3 --json "$results/peer-burn-b$first.json" &&
            cat "$results/peer-burn-b$first.out"
    fi
    if [ "${PEER_ONNX:-0}" = 1 ]; then
        log "peer harness: the ONNX engines on WebGPU and resnet-wgpu, batch $first f32, end to end"
        if [ -n "${PEER_ONNX_WHEELS:-}" ]; then
            run "peer-onnx-install" 120 "$python" -m pip install --no-index \
                --find-links "$PEER_ONNX_WHEELS" -r "${PEER_ONNX_REQUIREMENTS:-peers/onnx/requirements.txt}"
        fi
        tool="${PEER_ONNX_TOOL:-${RESNET_TESTDATA:-$root/../shared}/tools/make_resnet_onnx.py}"
        run "peer-onnx-b$first" 240 "$python" peers/onnx/peer_onnx.py \
            --arch "${PEER_ONNX_ARCH:-resnet18,resnet50}" --batch "$first" --size "$size" \
            --rounds 3 --iters 5 \
            --resnet-bin "$bin" --tool "$tool" --json "$results/peer-onnx-b$first.json" &&
            cat "$results/peer-onnx-b$first.out"
    fi
    tuned=("$first")
    [ "$last" != "$first" ] && tuned+=("$last")
    for batch in "${tuned[@]}"; do
        log "resnet tune $arch batch $batch f32, then bench and profile with the tuned kernels"
        if run "tune-b$batch" 150 "$bin" tune --arch "$arch" --batch "$batch" \
            --iters $((batch >= 64 ? 3 : 5)) \
            --height "$size" --width "$size"; then
            cat "$results/tune-b$batch.out"
            run "wgpu-b$batch-f32-tuned" 45 "$bin" bench --arch "$arch" --batch "$batch" \
                --height "$size" --width "$size" --iters "$(bench_iters "$batch")" \
                --warmup "$(bench_warmup "$batch")" --no-peak --json &&
                cat "$results/wgpu-b$batch-f32-tuned.out"
            run "profile-b$batch-tuned" 60 "$bin" profile --arch "$arch" --batch "$batch" \
                --runs 3 --no-peak --height "$size" --width "$size" --json
        fi
    done
    log "resnet tune $arch batch $first f16, then bench with the tuned f16 kernels"
    if run "tune-b$first-f16" 120 "$bin" tune --arch "$arch" --batch "$first" --iters 5 \
        --height "$size" --width "$size" --precision f16; then
        cat "$results/tune-b$first-f16.out"
        run "wgpu-b$first-f16-tuned" 45 "$bin" bench --arch "$arch" --batch "$first" \
            --height "$size" --width "$size" --precision f16 --iters "$(bench_iters "$first")" \
            --warmup "$(bench_warmup "$first")" --no-peak --json &&
            cat "$results/wgpu-b$first-f16-tuned.out"
    fi
fi

summarize
trap - TERM
[ "${#failures[@]}" -eq 0 ]
