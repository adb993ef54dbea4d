#!/usr/bin/env bash
# A fixed-duration load on `resnet serve` with wrk (Debian package `wrk`): CONNS connections
# (default 16), each sending one-image inference requests (binary tensor data, C×H×W FP32,
# default 3×32×32) back to back for SECONDS (default 20); prints wrk's report with latency
# percentiles. wrk uses far less CPU than Python clients, so on a 2-core machine more of it
# goes to the server. Answers are not checked here (scripts/serve-load.py and the tests do).
#
#   scripts/serve-wrk.sh HOST:PORT MODEL [CONNS] [SECONDS] [C,H,W]
set -euo pipefail
addr=$1 model=$2 conns=${3:-16} seconds=${4:-20} shape=${5:-3,32,32}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
IFS=, read -r c h w <<<"$shape"
n=$((c * h * w))
header="{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,$c,$h,$w],\"parameters\":{\"binary_data_size\":$((n * 4))}}],\"outputs\":[{\"name\":\"logits\",\"parameters\":{\"binary_data\":true}}]}"
python3 - "$dir/body" "$header" "$n" <<'PY'
import struct, sys
path, header, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
with open(path, "wb") as f:
    f.write(header)
    f.write(struct.pack(f"<{n}f", *(((i * 37) % 255) / 255.0 - 0.5 for i in range(n))))
PY
here=$(cd "$(dirname "$0")" && pwd)
BODY="$dir/body" HEADER_LEN=${#header} MODEL="$model" \
    wrk -t2 -c"$conns" -d"${seconds}s" --timeout 10s --latency -s "$here/serve-wrk.lua" "http://$addr"
