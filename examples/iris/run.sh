#!/bin/sh
# Fisher's iris through trainctl: train on 80% of iris.csv, predict the other
# 20% and print the held-out accuracy. The server: $TRAIND_URL.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=examples/lib.sh
. "$here/../lib.sh"

prepare "$here/iris.csv"
train iris
predict
score label held-out
