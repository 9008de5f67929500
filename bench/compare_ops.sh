#!/usr/bin/env bash
# tensorcook vs PyTorch on the same shapes, same machine, same run: prints
# both GFLOP/s and tensorcook's speed divided by PyTorch's, at 1 and 2 threads.
# Usage: bench/compare_ops.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
build=${1:-build}
repeats=${2:-5}
for t in 1 2; do
  TENSORCOOK_THREADS=$t "$build/bench/bench_ops" "$repeats" > /tmp/tc_ops_$t.txt
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$(dirname "$0")/torch_ops.py" $t "$repeats" > /tmp/torch_ops_$t.txt
  echo "== $t thread(s): shape, tensorcook GFLOP/s (% of peak), PyTorch GFLOP/s, ratio"
  paste /tmp/tc_ops_$t.txt /tmp/torch_ops_$t.txt | awk '{printf "%-12s %7.1f (%s)  %7.1f   %.2fx\n", $1, $6, $8, $16, $6/$16}'
done
