#!/bin/sh
# Build and run the training-throughput benchmarks (bench/README.md) and
# print one table, also written to bench/RESULTS.md. `make bench` runs it
# after installing the peers (scripts/deps.sh bench).
#   bench/run.sh [BUILD_DIR]    BUILD_DIR defaults to build
set -eu
cd "$(dirname "$0")/.."

build=${1:-build}
san=0
[ "$build" = build-san ] && san=1
out=$build/bench
make --no-print-directory -s SAN=$san "$out/bench_core" "$out/bench_fann" "$out/bench_data" >&2

cpus=$(getconf _NPROCESSORS_ONLN) # before OMP_NUM_THREADS, which nproc obeys
# One thread everywhere: OpenBLAS (core), OpenMP/MKL (PyTorch).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

load=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$out/data"
"$out/bench_data" "$out/data"
failed=""
echo "bench: core (our library)..." >&2
"$out/bench_core" >"$out/core.txt" || failed="$failed core"
echo "bench: PyTorch..." >&2
/usr/bin/python3 bench/bench_torch.py "$out/data" >"$out/torch.txt" || failed="$failed torch"
echo "bench: FANN..." >&2
"$out/bench_fann" >"$out/fann.txt" || failed="$failed fann"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
fann_version=$(dpkg-query -W -f='${Version}' libfann-dev 2>/dev/null || echo unknown)

{
  echo "# Training throughput: core vs PyTorch vs FANN"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $cpu, $cpus logical CPUs; every peer runs on 1 thread;" \
       "load average at start: $load"
  echo "- Peers: PyTorch $torch_version (CPU); FANN $fann_version (float)"
  awk -v manifest="$out/data/manifest.txt" '
    FILENAME == manifest && $1 == "protocol" { printf "- Protocol: probe %s rows, best of %s repetitions of about %s s\n", $2, $3, $4 }
    FILENAME == manifest && $1 == "config" {
      n++; cfg[n] = $2; batch[$2] = $4
      w = $6; for (i = 7; i <= NF; i++) w = w "-" $i
      net[$2] = w " " ($3 == "regression" ? "tanh, MSE" : "relu, softmax CE")
    }
    FILENAME == manifest && $1 == "optim" { m++; opt[m] = $2; lr[$2] = $3 }
    $1 == "blas" && $2 == "corename" { corename = $3 }
    $1 == "blas" && $2 == "config" { $1 = $2 = ""; blasconfig = substr($0, 3) }
    $1 == "core" || $1 == "torch" { sps[$1, $2, $3] = $4 }
    $1 == "fann" { fann[$2] = $4; algo[$2] = $3 }
    $1 == "sgemm" { sgemm[$2] = $3 }
    $1 == "gflops" { gflops[$2, $3] = $4; frac[$2, $3] = $5 }
    function num(x) { return x == "" ? "n/a" : sprintf("%.0f", x) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.2f", a / b) }
    END {
      printf "- OpenBLAS kernel: %s (%s)\n\n", corename == "" ? "n/a" : corename, blasconfig
      print "| config | network | batch | optimizer | core samples/s | PyTorch samples/s | core/PyTorch | FANN samples/s (algorithm) | core/FANN |"
      print "|---|---|---:|---|---:|---:|---:|---:|---:|"
      for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
        c = cfg[i]; o = opt[j]
        f = fann[c] == "" ? "n/a" : sprintf("%s (%s)%s", num(fann[c]), algo[c], c == "a" ? "" : " *")
        printf "| %s | %s | %s | %s lr %s | %s | %s | %s | %s | %s |\n", c, net[c], batch[c], o, lr[o],
               num(sps["core", c, o]), num(sps["torch", c, o]), ratio(sps["core", c, o], sps["torch", c, o]),
               f, ratio(sps["core", c, o], fann[c])
      }
      print ""
      print "\\* FANN has no ReLU, softmax or mini-batches: bounded-linear hidden units, sigmoid outputs,"
      print "squared error, per-row or whole-epoch updates (same shapes and multiply-adds). FANN has no"
      print "Adam either; its figure is its fastest algorithm, shown against both of our optimizers."
      for (c in sgemm) {
        printf "\ncblas_sgemm on (%s)'"'"'s training products (forward, dW, dX; batch %s, 1 thread): %.1f GFLOP/s\n",
               c, batch[c], sgemm[c]
        for (j = 1; j <= m; j++) if ((c, opt[j]) in gflops)
          printf "- core (%s) %s: %.1f GFLOP/s = %.1f %% of sgemm\n", c, opt[j], gflops[c, opt[j]], 100 * frac[c, opt[j]]
      }
    }
  ' "$out/data/manifest.txt" "$out/core.txt" "$out/torch.txt" "$out/fann.txt"
  if [ -n "$failed" ]; then
    echo
    echo "Failed:$failed (see stderr; their columns read n/a)"
  fi
} | tee bench/RESULTS.md

[ -z "$failed" ]
