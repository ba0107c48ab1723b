#!/bin/sh
# Run the benchmarks (bench/README.md) and write bench/RESULTS.md.
#
#   bench/run.sh [-b BUILD_DIR] PART...
#
# PART is `train` (our core and every training peer that is installed, at 1
# and 2 threads), `ingest` (typed CSV upload through the daemon against
# pandas.read_csv) or `http` (the daemon: predict, memory, overhead; needs wrk).
# Each run of a program writes its raw lines to BUILD_DIR/bench/results/
# NAME.txt; the directory is emptied first, so the report holds one run's
# figures only. bench/report.py then makes RESULTS.md from whichever files
# exist. BUILD_DIR defaults to build.
set -eu
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bench/run.sh [-b BUILD_DIR] train|ingest|http..." >&2
  exit 2
}

build=build
while getopts b: opt; do
  case $opt in
    b) build=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
for part in "$@"; do
  case $part in
    train | ingest | http) ;;
    *) usage ;;
  esac
done

san=0
[ "$build" = build-san ] && san=1
out=$build/bench
res=$out/results
py=/usr/bin/python3
rm -rf "$res"
mkdir -p "$res" "$out/data"

# note KEY VALUE...: a fact about the run for the report's header.
note() {
  echo "$*" >>"$res/machine.txt"
}

# piece NAME COMMAND...: COMMAND's output into $res/NAME.txt. A failure is
# recorded for the report and does not stop the other pieces.
piece() {
  name=$1
  shift
  echo "bench: $name" >&2
  "$@" >"$res/$name.txt" || echo "$name" >>"$res/failed.txt"
}

# skip NAME REASON...: a peer that cannot run here, named in the report.
skip() {
  echo "bench: skipping $*" >&2
  echo "$*" >>"$res/skipped.txt"
}

# has_python MODULE: whether /usr/bin/python3 imports it.
has_python() {
  "$py" -c "import $1" 2>/dev/null
}

# one|two COMMAND...: COMMAND with that many threads in every library under
# it: OpenBLAS (ours and the peers'), OpenMP and MKL (PyTorch).
one() {
  env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$@"
}
two() {
  env OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 "$@"
}

# Our core at 1 thread (every config and the sgemm ceiling), with the
# environment's OPENBLAS_CORETYPE and, when that pins a kernel, without it;
# at 2 threads on the large configs; and two 1-thread (d) runs at once.
train_core() {
  piece core-1 one "$out/bench_core"
  if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    piece core-1-detected one env -u OPENBLAS_CORETYPE "$out/bench_core"
  fi
  piece core-2 one "$out/bench_core" -t 2 c d
  echo "bench: core-pair" >&2
  one "$out/bench_core" -o sgd d >"$res/core-pair-1.txt" &
  first=$!
  one "$out/bench_core" -o sgd d >"$res/core-pair-2.txt" &
  second=$!
  wait "$first" || echo core-pair-1 >>"$res/failed.txt"
  wait "$second" || echo core-pair-2 >>"$res/failed.txt"
}

# PyTorch at 1 thread; at 2 cores as one torch thread over two OpenBLAS
# threads, and as two of each.
train_torch() {
  if ! has_python torch; then
    skip PyTorch "(python3-torch is not installed: make bench-peers)"
    return 0
  fi
  note torch "$("$py" -c 'import torch; print(torch.__version__)')"
  piece torch-1 one "$py" bench/bench_torch.py -t 1 "$out/data"
  piece torch-1x2 two "$py" bench/bench_torch.py -t 1 "$out/data" c d
  piece torch-2 two "$py" bench/bench_torch.py -t 2 "$out/data" c d
}

# scikit-learn with numpy's OpenBLAS on 1 and 2 threads.
train_sklearn() {
  if ! has_python sklearn; then
    skip scikit-learn "(python3-sklearn is not installed: make bench-peers)"
    return 0
  fi
  note sklearn "$("$py" -c 'import sklearn; print(sklearn.__version__)')"
  piece sklearn-1 one "$py" bench/bench_sklearn.py "$out/data"
  piece sklearn-2 two "$py" bench/bench_sklearn.py "$out/data" c d
}

train_fann() {
  if ! pkg-config --exists fann; then
    skip FANN "(libfann-dev is not installed: make bench-peers)"
    return 0
  fi
  make --no-print-directory -s SAN=$san "$out/bench_fann" >&2
  note fann "$(pkg-config --modversion fann)"
  piece fann "$out/bench_fann"
}

train() {
  make --no-print-directory -s SAN=$san "$out/bench_core" "$out/bench_data" >&2
  "$out/bench_data" "$out/data"
  cp "$out/data/manifest.txt" "$res/manifest.txt"
  train_core
  train_torch
  train_sklearn
  train_fann
}

# A ~100 MB mixed CSV uploaded as a typed table, and read by pandas.
ingest() {
  if ! has_python pandas; then
    skip pandas "(python3-pandas is not installed: scripts/deps.sh bench)"
    return 0
  fi
  make --no-print-directory -s SAN=$san "$build/traind" >&2
  piece ingest env TRAIND_BIN="$build/traind" "$py" bench/bench_ingest.py
}

http() {
  if ! command -v wrk >/dev/null; then
    skip "the daemon" "(wrk is not installed: make bench-peers)"
    return 0
  fi
  make --no-print-directory -s SAN=$san "$build/traind" >&2
  piece http env TRAIND_BIN="$build/traind" "$py" bench/bench_http.py
}

note date "$(date -u '+%Y-%m-%d %H:%M UTC')"
note cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
# before OMP_NUM_THREADS could apply, which nproc obeys
note cpus "$(getconf _NPROCESSORS_ONLN)"
note cores "$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)"
# what libblas.so.3 (numpy's, PyTorch's) resolves to
note blas_library "$(readlink -f "/usr/lib/$(gcc -print-multiarch)/libblas.so.3")"
note coretype "${OPENBLAS_CORETYPE:-}"
note load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
for part in "$@"; do
  "$part"
done
note load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

"$py" bench/report.py "$res" >bench/RESULTS.md.tmp
mv bench/RESULTS.md.tmp bench/RESULTS.md
cat bench/RESULTS.md
[ ! -e "$res/failed.txt" ]
