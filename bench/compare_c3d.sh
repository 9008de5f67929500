#!/usr/bin/env bash
# C3D training steps on 16x112x112 clips: tensorcook vs PyTorch in the same
# run, at 1 and 2 threads, alternating the two ROUNDS times (both after two
# warm-up steps). Compare the CPU
# seconds per step (process CPU time of all threads): wall time means little
# on a shared machine. The load is printed with each round.
# Usage: bench/compare_c3d.sh [BUILD_DIR] [STEPS] [BATCH] [ROUNDS]
set -euo pipefail
build=${1:-build}
steps=${2:-3}
batch=${3:-2}
rounds=${4:-2}
for t in 1 2; do
  for ((r = 1; r <= rounds; r++)); do
    echo "== $t thread(s), round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
    TENSORCOOK_THREADS=$t "$build/bench/bench_c3d" "$steps" "$batch"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE \
      /usr/bin/python3 "$(dirname "$0")/torch_c3d.py" $t "$steps" "$batch"
  done
done
