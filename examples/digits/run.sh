#!/usr/bin/env bash
# The digits example end to end: data, epoch-mode training with nobias-train from
# He-initialized weights, held-out accuracy in numpy.
#
#   examples/digits/run.sh [NOBIAS_TRAIN] [EXTRA nobias-train FLAGS...]
#
# NOBIAS_TRAIN defaults to build/release/tools/nobias-train (./dev build makes it); this
# script builds nothing. Extra flags are appended to the nobias-train command line, e.g.
# --quiet, or --val-x examples/digits/data/test_x.npy --val-y examples/digits/data/test_y.npy
# to print the held-out loss every epoch. nobias-train rejects a flag given twice: change
# the flags this script sets through the settings below, not by repeating them.
#
# Settings, from the environment: SEED (0; the weights' draw and the shuffle), EPOCHS (50),
# BATCH (32), LR (3e-3), THREADS (1; empty for nobias's default, every core),
# MIN_ACCURACY (0.97), DATA (examples/digits/data), OUT (examples/digits/out).
# One thread: this network is so small that a second core gains nothing on an idle machine,
# and on a busy one the two-thread split was 3-13x slower (README.md, "Threads").
# Exit status: that of the first step that fails; evaluate.py exits 1 when the accuracy is
# below MIN_ACCURACY.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY=/usr/bin/python3

TRAIN="${1:-$ROOT/build/release/tools/nobias-train}"
[ $# -gt 0 ] && shift
SEED="${SEED:-0}"
EPOCHS="${EPOCHS:-50}"
BATCH="${BATCH:-32}"
LR="${LR:-3e-3}"
THREADS="${THREADS-1}"
MIN_ACCURACY="${MIN_ACCURACY:-0.97}"
DATA="${DATA:-$HERE/data}"
OUT="${OUT:-$HERE/out}"

if [ ! -x "$TRAIN" ]; then
  echo "run.sh: no nobias-train at '$TRAIN'; run ./dev build first, or pass its path" >&2
  exit 2
fi
if ! "$TRAIN" --help | grep -q -- '--epochs'; then
  echo "run.sh: '$TRAIN' has no --epochs (epoch mode); rebuild it from a newer tree" >&2
  exit 2
fi
if ! "$PY" -c 'import numpy, sklearn' 2>/dev/null; then
  echo "run.sh: needs numpy and scikit-learn: apt-get install python3-numpy python3-sklearn" >&2
  exit 2
fi

# As ./dev does: OpenBLAS 0.3.21 does not know recent CPUs and falls back to slow kernels.
if [ -z "${OPENBLAS_CORETYPE+set}" ] && grep -q ' avx2 ' /proc/cpuinfo && grep -q ' fma ' /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=Haswell
fi

"$PY" "$HERE/make_data.py" "$DATA"
mkdir -p "$OUT/weights"

cmd=("$TRAIN" --x "$DATA/train_x.npy" --y "$DATA/train_y.npy" --layers 64,128,64,10
     --init he --seed "$SEED" --dtype f32
     --epochs "$EPOCHS" --batch-size "$BATCH" --optimizer adam --lr "$LR" --loss mean
     --weights-out "$OUT/weights")
[ -n "$THREADS" ] && cmd+=(--threads "$THREADS")
cmd+=("$@")
echo "+ ${cmd[*]}"
start=$(date +%s.%N)
"${cmd[@]}"
end=$(date +%s.%N)
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')

status=0
"$PY" "$HERE/evaluate.py" "$OUT/weights" --data "$DATA" --min-accuracy "$MIN_ACCURACY" || status=$?
echo "training time ${seconds} s (nobias-train wall time, $EPOCHS epochs of batch $BATCH, seed $SEED, threads ${THREADS:-default})"
exit "$status"
