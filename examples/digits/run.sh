#!/usr/bin/env bash
# The digits example end to end: data, nobias-train with its real-data defaults (only --x and
# --y: columns standardized, Glorot's scale, Adam, mean loss, mini-batches, early stopping on
# a held-out 10% of the training rows), nobias-evaluate on the test set, an independent numpy check, and the
# history plot.
#
#   examples/digits/run.sh [NOBIAS_TRAIN] [EXTRA nobias-train FLAGS...]
#
# NOBIAS_TRAIN defaults to build/release/tools/nobias-train (./dev build makes it);
# nobias-evaluate is taken from the same directory. This script builds nothing. Extra flags
# are appended to the nobias-train command line (e.g. --quiet).
#
# Settings, from the environment: SEED (nobias-train's default, 0), THREADS (1; empty for nobias's default: this
# network is so small that a second core gains nothing, and on a busy machine the split was
# 3-13x slower), MIN_ACCURACY (0.97), DATA (examples/digits/data), OUT (examples/digits/out).
# Exit status: that of the first step that fails; 1 when the accuracy is below MIN_ACCURACY.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY=/usr/bin/python3

TRAIN="${1:-$ROOT/build/release/tools/nobias-train}"
[ $# -gt 0 ] && shift
EVALUATE="$(dirname "$TRAIN")/nobias-evaluate"
SEED="${SEED:-}"
THREADS="${THREADS-1}"
MIN_ACCURACY="${MIN_ACCURACY:-0.97}"
DATA="${DATA:-$HERE/data}"
OUT="${OUT:-$HERE/out}"

for program in "$TRAIN" "$EVALUATE"; do
  if [ ! -x "$program" ]; then
    echo "run.sh: no '$program'; run ./dev build first, or pass nobias-train's path" >&2
    exit 2
  fi
done
if ! "$PY" -c 'import numpy, sklearn' 2>/dev/null; then
  echo "run.sh: needs numpy and scikit-learn: apt-get install python3-numpy python3-sklearn" >&2
  exit 2
fi

"$PY" "$HERE/make_data.py" "$DATA"
mkdir -p "$OUT"

cmd=("$TRAIN" --x "$DATA/train_x.npy" --y "$DATA/train_labels.npy"
     --weights-out "$OUT/model" --history "$OUT/history.csv")
[ -n "$SEED" ] && cmd+=(--seed "$SEED")
[ -n "$THREADS" ] && cmd+=(--threads "$THREADS")
cmd+=("$@")
echo "+ ${cmd[*]}"
start=$(date +%s.%N)
"${cmd[@]}"
end=$(date +%s.%N)
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "training time ${seconds} s (nobias-train wall time, seed ${SEED:-0}, threads ${THREADS:-default})"

echo "+ $EVALUATE --weights $OUT/model --x $DATA/test_x.npy --y $DATA/test_labels.npy"
"$EVALUATE" --weights "$OUT/model" --x "$DATA/test_x.npy" --y "$DATA/test_labels.npy"

if "$PY" -c 'import matplotlib' 2>/dev/null; then
  "$PY" "$ROOT/tools/plot_history.py" "$OUT/history.csv" "$OUT/history.png"
else
  echo "run.sh: no matplotlib (apt-get install python3-matplotlib): no history plot" >&2
fi

# The held-out accuracy again, from the saved w*.npy by numpy alone: the check that decides.
"$PY" "$HERE/evaluate.py" "$OUT/model" --data "$DATA" --min-accuracy "$MIN_ACCURACY"
