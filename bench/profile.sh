#!/bin/sh
# Profiles of one training step and one predict request, quoted in
# docs/performance.md. Instruction counts from valgrind's callgrind: unlike
# time, they repeat on a loaded machine.
#
#   bench/profile.sh [BUILD_DIR]      BUILD_DIR defaults to build
#
# Writes BUILD_DIR/bench/profile/{train,predict}.out (open them with
# callgrind_annotate or kcachegrind) and prints, for each, the instructions
# per step or request and the functions that execute the most of them, by
# their own instructions and with their callees' (also in *.md there).
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

# table FILE UNITS yes|no: the top functions by instructions per unit,
# inclusive of their callees or not. Inclusive lists skip what encloses the
# whole collection (main, nn_trainer_epoch, the HTTP library's stripped
# thread functions) and each function's second line (callgrind names some
# by two file paths).
table() {
  echo "| instructions each | share | function |"
  echo "|---:|---:|---|"
  callgrind_annotate --auto=no --threshold=100 --inclusive="$3" "$1" |
    awk -v n="$2" -v top="$top" -v inclusive="$3" '
    function commas(x,   s) {
      s = sprintf("%.0f", x)
      while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
      return s
    }
    /^ *[0-9,]+ \([ 0-9.]+%\)  / && !/PROGRAM TOTALS/ && shown < top {
      ir = $1
      gsub(",", "", ir)
      match($0, /\([ 0-9.]+%\)/)
      pct = substr($0, RSTART + 1, RLENGTH - 2)
      gsub(" ", "", pct)
      fn = substr($0, RSTART + RLENGTH + 2)
      sub(/ \[.*\]$/, "", fn)   # the object file
      sub(/^[^:]*:/, "", fn)      # the source file
      if (inclusive == "yes" && (fn ~ /^0x/ || pct == "100.0%" || fn in seen)) next
      seen[fn] = 1
      printf "| %s | %s | `%s` |\n", commas(ir / n), pct, fn
      shown++
    }'
  echo
}

# summary FILE UNITS WHAT: the collected total over UNITS, and the top
# functions by their own instructions, then with their callees.
summary() {
  echo "## $3: $(callgrind_annotate --auto=no "$1" | awk -v n="$2" '
    /PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f instructions each\n", $1 / n }' |
    sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/;ta')"
  echo
  echo "Self:"
  echo
  table "$1" "$2" no
  echo "Inclusive:"
  echo
  table "$1" "$2" yes
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

summary "$out/train.out" "$steps" "Training step, (c) 784-256-128-10 relu, batch 128, SGD, 1 thread" |
  tee "$out/train.md"
summary "$out/predict.out" "$requests" "Predict request, xor 2-16-1, 1 row, keep-alive" |
  tee "$out/predict.md"
