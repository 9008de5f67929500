#!/usr/bin/env bash
# Training throughput of the MNIST and CIFAR-10 networks: tensorcook vs
# PyTorch on this machine in the same run, at 1 and 2 threads (PyTorch with
# its best 2-thread setting, OMP_WAIT_POLICY=PASSIVE). Wall-clock images/s and
# process CPU time per step (the figure that holds on a loaded machine).
# PYTORCH_MALLOC=tuned keeps glibc from returning PyTorch's activation buffers
# to the kernel after each step (their page faults make PyTorch 3-4x slower
# and erratic on a VM; docs/perf.md): PyTorch at its best.
# Usage: [PYTORCH_MALLOC=tuned] bench/compare_train.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-20}
tune=()
[ "${PYTORCH_MALLOC:-}" = tuned ] &&
  tune=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)
for t in 1 2; do
  TENSORCOOK_THREADS=$t "$build/bench/bench_train" "$steps" > /tmp/tc_train_$t.txt
  env "${tune[@]}" OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$(dirname "$0")/torch_train.py" $t "$steps" > /tmp/torch_train_$t.txt
  echo "== $t thread(s): network, tensorcook / PyTorch images/s (wall), ratio; CPU ms/step, ratio"
  paste /tmp/tc_train_$t.txt /tmp/torch_train_$t.txt |
    awk '{printf "%-6s %7.1f  %7.1f  %.2fx   %7.2f  %7.2f  %.2fx\n", $1, $4, $13, $4/$13, $6, $15, $15/$6}'
done
