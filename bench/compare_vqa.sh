#!/usr/bin/env bash
# VQA training steps (the cookbook's 13.7M-parameter model, batch 32):
# tensorcook vs PyTorch in the same run, at 1 and 2 threads, alternating the
# two programs ROUNDS times (PyTorch with OMP_WAIT_POLICY=PASSIVE, its best
# 2-thread setting here). On a shared machine read the CPU-time columns and
# give the load (printed first and last).
# Usage: bench/compare_vqa.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -euo pipefail
build=${1:-build}
steps=${2:-5}
rounds=${3:-2}
here=$(dirname "$0")
echo "load: $(cat /proc/loadavg)"
for t in 1 2; do
  for r in $(seq "$rounds"); do
    TENSORCOOK_THREADS=$t OPENBLAS_NUM_THREADS=1 "$build/bench/bench_vqa" "$steps"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/torch_vqa.py" --threads "$t" --steps "$steps" | grep -v '^#'
  done
done
echo "load: $(cat /proc/loadavg)"
