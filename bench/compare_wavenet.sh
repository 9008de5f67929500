#!/usr/bin/env bash
# WaveNet training steps (one window of receptive field - 1 + 1024 inputs,
# batch 1, Adam): tensorcook (bench_wavenet --train-steps) vs PyTorch
# (bench/torch_wavenet.py, the fixture generator's model in float32) in the
# same run, at 1 and 2 threads, alternating the two ROUNDS times. Both skip two
# warm-up steps and print the best wall and CPU seconds per step (process CPU
# time of all threads): on a shared machine compare the CPU columns.
# Usage: bench/compare_wavenet.sh [BUILD_DIR] [STEPS] [ROUNDS] [BLOCKS LAYERS CHANNELS]
set -euo pipefail
build=${1:-build}
steps=${2:-3}
rounds=${3:-2}
blocks=${4:-2}
layers=${5:-10}
channels=${6:-64}
here=$(dirname "$0")
for t in 1 2; do
  for ((r = 1; r <= rounds; r++)); do
    echo "== $t thread(s), round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
    TENSORCOOK_THREADS=$t "$build/bench/bench_wavenet" "$blocks" "$layers" "$channels" \
      --samples 100 --naive 0 --train-steps "$steps" | grep '^train'
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/torch_wavenet.py" \
      --threads "$t" --steps "$steps" --blocks "$blocks" --layers "$layers" --channels "$channels"
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
