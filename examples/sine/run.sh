#!/bin/sh
# y = sin(x) through trainctl: train on 80% of sine.csv, predict the other 20%
# and print the held-out root mean squared error. The server: $TRAIND_URL.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=examples/lib.sh
. "$here/../lib.sh"

prepare "$here/sine.csv"
train sine
predict
score rmse held-out
