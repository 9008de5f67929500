#!/usr/bin/env bash
# tensorcook textcnn (Embedding 128, Conv1D 3/4/5 x 128, batch 32, Adam)
# against the same network in PyTorch (bench/torch_textcnn.py) trained on the
# very ids the recipe exported, EPOCHS epochs over EXAMPLES examples, 1 and 2
# threads, alternately ROUNDS times. Prints samples/s (wall) and CPU seconds:
# on a loaded machine compare the CPU columns (samples per CPU second).
# Usage: bench/compare_textcnn.sh [BUILD_DIR] [EPOCHS] [EXAMPLES] [ROUNDS]
set -euo pipefail
build=${1:-build}
epochs=${2:-1}
examples=${3:-4000}
rounds=${4:-1}
here=$(dirname "$0")
work=${TMPDIR:-/tmp}/compare_textcnn.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
py_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join('%.6g' % d[k] for k in sys.argv[2:]))" "$@"; }
printf '%-4s %-10s %9s %9s %12s %8s\n' thr who samples/s cpu_s samples/cpu_s val_acc
for r in $(seq "$rounds"); do
  for t in 1 2; do
    "$build/tensorcook" textcnn --epochs "$epochs" --max-examples "$examples" --threads "$t" --out "$work/tc" \
      --summary-json "$work/tc.json" > /dev/null 2>&1
    read -r sps cpu n acc < <(py_field "$work/tc.json" samples_per_second cpu_seconds samples val_accuracy)
    awk -v t="$t" -v s="$sps" -v c="$cpu" -v n="$n" -v a="$acc" 'BEGIN {printf "%-4s %-10s %9.0f %9.2f %12.0f %8.4f\n", t, "tensorcook", s, c, n / c, a}'
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/torch_textcnn.py" "$work/tc" \
      --epochs "$epochs" --threads "$t" --summary-json "$work/torch.json" > /dev/null
    read -r sps cpu n acc < <(py_field "$work/torch.json" samples_per_second cpu_seconds samples val_accuracy)
    awk -v t="$t" -v s="$sps" -v c="$cpu" -v n="$n" -v a="$acc" 'BEGIN {printf "%-4s %-10s %9.0f %9.2f %12.0f %8.4f\n", t, "pytorch", s, c, n / c, a}'
  done
done
