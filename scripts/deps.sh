#!/bin/sh
# Install the Debian packages traind needs to build and test. Idempotent:
# apt-get runs only when a package is missing. Uses sudo when not root.
#   scripts/deps.sh          build + test dependencies, and pandas (make bench's
#                            ingest part reads its CSV with pandas.read_csv)
#   scripts/deps.sh bench    also the benchmark peers (PyTorch, scikit-learn,
#                            FANN) and wrk
#   scripts/deps.sh fuzz     also clang with libFuzzer and the sanitizer runtimes
set -eu

# r-cran-palmerpenguins is for its data only: examples/penguins reads its raw CSV;
# python3-torch is the outside implementation the trace is tested against.
pkgs="build-essential pkg-config libopenblas-dev libcriterion-dev libuv1-dev
libmicrohttpd-dev libcjson-dev libyajl-dev libsodium-dev libsqlite3-dev libcurl4-openssl-dev
python3 python3-pytest python3-yaml python3-jsonschema python3-setuptools groff-base valgrind
python3-sklearn chromium libgnutls28-dev openssl openmpi-bin libopenmpi-dev
libprotobuf-c-dev protobuf-c-compiler python3-onnx python3-torch r-cran-palmerpenguins python3-pandas"
if [ "${1:-}" = bench ]; then
  pkgs="$pkgs python3-torch python3-numpy python3-sklearn libfann-dev wrk"
fi
if [ "${1:-}" = fuzz ]; then
  pkgs="$pkgs clang-14 libclang-rt-14-dev llvm-14"
fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# The browser tests run on Node.js (20 or later) with npm: the machine's own
# when it has one, else Debian's.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
