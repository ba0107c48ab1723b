#!/bin/sh
# Install the Debian packages traind needs to build and test. Idempotent:
# apt-get runs only when a package is missing. Uses sudo when not root.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh bench    also the benchmark peers (PyTorch, FANN)
set -eu

pkgs="build-essential pkg-config libopenblas-dev libcriterion-dev libuv1-dev
libmicrohttpd-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev
python3 python3-pytest python3-yaml python3-setuptools groff-base valgrind
libgnutls28-dev openssl"
if [ "${1:-}" = bench ]; then
  pkgs="$pkgs python3-torch python3-numpy libfann-dev"
fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
