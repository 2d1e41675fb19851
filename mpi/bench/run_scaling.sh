#!/usr/bin/env bash
# The scaling table of bench/RESULTS.md: nobias-mpi-bench on 1 and 2 ranks, one thread each.
#   mpi/bench/run_scaling.sh [path/to/nobias-mpi-bench] [epochs]
set -euo pipefail
bench=${1:-build/release/mpi/bench/nobias-mpi-bench}
epochs=${2:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
echo "| widths | n | mode | ranks | samples/s | waiting on communication |"
echo "|---|---|---|---|---|---|"
for ranks in 1 2; do
  mpirun -np "$ranks" --bind-to core "$bench" --epochs "$epochs"
done
