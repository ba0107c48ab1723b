#!/bin/sh
# XOR through trainctl: train on the four rows of xor.csv, predict them and
# print how many come out right (the output rounded at 0.5). The server:
# $TRAIND_URL.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
# shellcheck source=examples/lib.sh
. "$here/../lib.sh"

prepare "$here/xor.csv" all
train xor
predict
score binary training
