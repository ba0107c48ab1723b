#!/bin/sh
# The 8x8 handwritten digits through trainctl: train on 80% of digits.csv,
# predict the other 20% and print the held-out accuracy. Usage: run.sh
# [DIGITS.csv] (default: digits.csv beside this script, exported by export.py
# when missing). The server: $TRAIND_URL.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=examples/lib.sh
. "$here/../lib.sh"

csv=${1:-$here/digits.csv}
[ -f "$csv" ] || "$here/export.py" "$csv"  # its #! is Debian's python3, which has sklearn
prepare "$csv"
train digits
predict
score label held-out
