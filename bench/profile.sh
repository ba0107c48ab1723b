#!/bin/sh
# Profiles of one training step and one predict request, quoted in
# docs/performance.md. Instruction counts from valgrind's callgrind: unlike
# time, they repeat on a loaded machine.
#
#   bench/profile.sh [BUILD_DIR]      BUILD_DIR defaults to build
#
# Writes BUILD_DIR/bench/profile/{train,predict}.out (open them with
# callgrind_annotate or kcachegrind) and prints, for each, the instructions
# per step or request and the functions that execute the most of them.
#
# - train: bench_core -s on config (c) with SGD at 1 thread, counted inside
#   nn_trainer_epoch only (not the data generation around it).
# - predict: traind under callgrind with instrumentation off until the xor
#   model is trained, then on for REQUESTS predicts of one row, sent one
#   after the other on a keep-alive connection: the whole daemon's
#   instructions for them, HTTP included.
#
# Valgrind emulates no AVX-512, so OpenBLAS picks its AVX2 kernel and core's
# target_clones their avx2 versions here.
set -eu
cd "$(dirname "$0")/.."

build=${1:-build}
out=$build/bench/profile
py=/usr/bin/python3
steps=20
requests=2000
top=12
make --no-print-directory -s "$build/bench/bench_core" "$build/traind" >&2
rm -rf "$out"
mkdir -p "$out"

# summary FILE UNITS WHAT: the collected total over UNITS, and the top
# functions by their own (exclusive) instructions, per unit.
summary() {
  echo "## $3: $(callgrind_annotate --auto=no "$1" | awk -v n="$2" '
    /PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f instructions each\n", $1 / n }')"
  echo
  echo "| instructions each | share | function |"
  echo "|---:|---:|---|"
  callgrind_annotate --auto=no --threshold=100 --inclusive=no "$1" | awk -v n="$2" -v top="$top" '
    /^ *[0-9,]+ \([ 0-9.]+%\)  / && !/PROGRAM TOTALS/ && shown < top {
      ir = $1
      gsub(",", "", ir)
      match($0, /\([ 0-9.]+%\)/)
      pct = substr($0, RSTART + 1, RLENGTH - 2)
      gsub(" ", "", pct)
      fn = substr($0, RSTART + RLENGTH + 2)
      sub(/ \[.*\]$/, "", fn)   # the object file
      sub(/^[^:]*:/, "", fn)      # the source file
      printf "| %.0f | %s | `%s` |\n", ir / n, pct, fn
      shown++
    }'
  echo
}

echo "bench: profiling a training step" >&2
OPENBLAS_NUM_THREADS=1 valgrind --quiet --tool=callgrind --callgrind-out-file="$out/train.out" \
  --toggle-collect=nn_trainer_epoch "$build/bench/bench_core" -o sgd -s "$steps" c >/dev/null

echo "bench: profiling predict requests" >&2
tmp=$(mktemp -d)
daemon=""
trap '[ -z "$daemon" ] || kill "$daemon" 2>/dev/null; rm -rf "$tmp"' EXIT
OPENBLAS_NUM_THREADS=1 valgrind --quiet --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$out/predict.out" "$build/traind" --listen 127.0.0.1:0 \
  --db "$tmp/profile.db" --workers 1 --threads 1 >"$tmp/stdout" 2>"$tmp/log" &
daemon=$!
"$py" - "$daemon" "$tmp/stdout" "$requests" <<'EOF'
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join("clients", "python"))
from traind_client import Client  # noqa: E402

pid, stdout, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 300
url = None
while url is None:
    with open(stdout) as f:
        line = f.readline()
    if line.startswith("listening on "):
        url = line.split()[-1]
    elif time.monotonic() > deadline:
        sys.exit("profile: traind did not start under valgrind")
    else:
        time.sleep(0.5)
c = Client(url, timeout=300)
d = c.create_dataset("xor", [[0, 0], [0, 1], [1, 0], [1, 1]], targets=[[0], [1], [1], [0]])
m = c.create_model({"name": "xor", "inputs": 2, "loss": "mse",
                    "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                               {"type": "dense", "units": 1, "activation": "sigmoid"}]})
job = c.create_job(m["id"], d["id"], epochs=5, batch_size=4)
if c.wait(job["id"], timeout=300)["state"] != "succeeded":
    sys.exit("profile: the xor job failed")
host, port = url.split("//")[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=300)
body = json.dumps({"inputs": [[0.0, 1.0]]})
path = f"/v1/models/{m['id']}/predict"


def predict():
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"profile: predict answered {r.status}")


predict()  # the connection's thread, its buffers and the model's cache entry
subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)
for _ in range(requests):
    predict()
subprocess.run(["callgrind_control", "--instr=off", pid], check=True, capture_output=True)
conn.close()
EOF
kill -TERM "$daemon"
wait "$daemon"
daemon=""

summary "$out/train.out" "$steps" "Training step, (c) 784-256-128-10 relu, batch 128, SGD, 1 thread"
summary "$out/predict.out" "$requests" "Predict request, xor 2-16-1, 1 row, keep-alive"
