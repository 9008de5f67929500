#!/usr/bin/env bash
# One LSTM and one GRU layer (batch 128, 25 steps, 512 -> 512), forward and
# backward: tensorcook's fused kernel, its per-step composition of ops, and
# PyTorch's nn.LSTM / nn.GRU, at 1 and 2 threads, in the same run.
# Usage: bench/compare_rnn.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-5}
for t in 1 2; do
  TENSORCOOK_THREADS=$t "$build/bench/bench_rnn" "$steps" > /tmp/tc_rnn_$t.txt
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$(dirname "$0")/torch_rnn.py" $t "$steps" > /tmp/torch_rnn_$t.txt
  echo "== $t thread(s): cell, tensorcook fused, composed, PyTorch (sequences/s), fused/PyTorch"
  paste /tmp/tc_rnn_$t.txt /tmp/torch_rnn_$t.txt | awk '{printf "%-5s %7.1f %7.1f %7.1f  %.2fx\n", $1, $5, $7, $13, $5/$13}'
done
