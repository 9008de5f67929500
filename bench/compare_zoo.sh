#!/usr/bin/env bash
# The model zoo against PyTorch on this machine, same run: inference of
# VGG16, VGG19, ResNet50, InceptionV3 and Xception at batch 1 and 8 and the
# transfer recipe's VGG16 fine-tuning step (bench/bench_zoo.c,
# bench/torch_zoo.py: random weights, each model at its own input size), at
# 1 and 2 threads (PyTorch with OMP_WAIT_POLICY=PASSIVE, its best 2-thread
# setting here). The two engines run alternately, case by case, so both see
# the same minutes of a shared machine. Prints per case the CPU time per
# image of each (process CPU time, all threads: what a loaded machine
# inflates least) and the wall-clock images/s, with tensorcook's speed-up
# on each (PyTorch's time / tensorcook's). Best of REPEATS runs after a warm-up.
# Usage: [ZOO_THREADS='1 2'] bench/compare_zoo.sh [BUILD_DIR] [REPEATS] [CASE...]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(vgg16 vgg19 resnet50 inception_v3 xception vgg16_finetune)
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/bench/bench_zoo" ]; then
  echo "compare_zoo: $build/bench/bench_zoo is missing (make -C $build bench_zoo)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(cat /proc/loadavg)"
for t in ${ZOO_THREADS:-1 2}; do
  echo "== $t thread(s)"
  printf '%-15s %5s | %9s %9s %6s | %8s %8s %6s\n' case batch "tc ms/img" "pt ms/img" "cpu x" "tc img/s" "pt img/s" "wall x"
  for c in "${cases[@]}"; do
    TENSORCOOK_THREADS=$t "$build/bench/bench_zoo" "$repeats" "$c" > "$work/tc.txt" 2> "$work/tc.err" ||
      { cat "$work/tc.err" >&2; exit 1; }
    OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE \
      /usr/bin/python3 "$here/torch_zoo.py" "$t" "$repeats" "$c" > "$work/pt.txt"
    paste "$work/tc.txt" "$work/pt.txt" |
      awk '{printf "%-15s %5d | %9.1f %9.1f %5.2fx | %8.2f %8.2f %5.2fx\n", $1, $2, $3, $7, $7/$3, $4, $8, $4/$8}'
  done
done
echo "load after: $(cat /proc/loadavg)"
