# lib.sh — what the examples' run.sh scripts share; sourced (POSIX sh) after
# they set $here to their directory and `set -eu`.
#
# trainctl is $TRAINCTL, else this repository's build/trainctl, else the one on
# PATH; it talks to $TRAIND_URL (default http://127.0.0.1:8080) and sends
# $TRAIND_TOKEN when it is set. Scratch files live in $work, removed at exit.

TRAINCTL=${TRAINCTL:-$here/../../build/trainctl}
[ -x "$TRAINCTL" ] || TRAINCTL=trainctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# prepare FILE.csv [all]: $work/train.csv, $work/test.csv (the test rows without
# their last column, the target) and $work/expected (their targets, one a
# line). Data rows 5, 10, 15, ... (counting from 1) are the test rows and the
# others train, the rule of common.py's split; with "all" every row is both.
# The file's cells hold no commas (it is split on every comma).
prepare() {
  awk -v dir="$work" -v all="${2:-}" '
    NR == 1 { print > (dir "/train.csv"); sub(/,[^,]*$/, ""); print > (dir "/test.csv"); next }
    { t = all == "all" || (NR - 1) % 5 == 0 }
    !t || all == "all" { print > (dir "/train.csv") }
    t { target = $0; sub(/.*,/, "", target); print target > (dir "/expected")
        sub(/,[^,]*$/, ""); print > (dir "/test.csv") }' "$1"
}

# The value of "KEY: value" in trainctl's show output in FILE: field FILE KEY
field() {
  awk -v key="$2:" '$1 == key { print $2 }' "$1"
}

# train NAME: uploads $work/train.csv as the dataset NAME (its target: the last
# column), creates the model of $here/model.json and trains it with
# $here/job.json, printing about ten of its epochs; sets $model to its ID.
train() {
  target=$(head -n 1 "$work/train.csv" | sed 's/.*,//')
  "$TRAINCTL" datasets upload "$work/train.csv" --name "$1" --target "$target" > "$work/dataset"
  "$TRAINCTL" models create "$here/model.json" > "$work/model"
  dataset=$(field "$work/dataset" id)
  model=$(field "$work/model" id)
  echo "dataset $dataset: $(field "$work/dataset" rows) rows," \
    "$(field "$work/dataset" features) features, $(field "$work/dataset" task); model $model"
  if ! "$TRAINCTL" train --model "$model" --dataset "$dataset" --config "$here/job.json" \
      --follow > "$work/train.log"; then
    cat "$work/train.log" >&2
    exit 1
  fi
  # "epoch 30/300 loss ..." lines: every tenth of the epochs, then the job's end.
  awk '/^epoch / { split($2, e, "/"); every = int(e[2] / 10); if (every < 1) every = 1 }
       /^epoch / && e[1] % every == 0 || /^job / { print }' "$work/train.log"
}

# predict: the model's outputs for $work/test.csv into $work/predicted, CSV:
# a "row,output_0,...[,label]" header, then a line a row.
predict() {
  "$TRAINCTL" predict "$model" --csv "$work/test.csv" > "$work/predicted"
}

# score KIND WHAT: prints, like common.py, "WHAT accuracy 0.967 (29 of 30 rows)"
# for KIND label (the predicted label against the expected one) or binary (the
# one output rounded at 0.5 against a 0/1 target), or "WHAT RMSE 0.0042 (80
# rows)" for KIND rmse (the one output against a number).
score() {
  awk -F, 'NR > 1 { print $2, $NF }' "$work/predicted" | paste -d ' ' - "$work/expected" |
    awk -v kind="$1" -v what="$2" '
      { n++; d = $1 - $3; se += d * d }
      kind == "label" { right += $2 == $3 }
      kind == "binary" { right += ($1 >= 0.5) == $3 }
      END {
        if (n == 0) { print "no predictions" > "/dev/stderr"; exit 1 }
        if (kind == "rmse") printf "%s RMSE %.4f (%d rows)\n", what, sqrt(se / n), n
        else printf "%s accuracy %.3f (%d of %d rows)\n", what, right / n, right, n
      }'
}
