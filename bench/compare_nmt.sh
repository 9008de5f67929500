#!/usr/bin/env bash
# tensorcook attention (2+2 layer LSTM 128, scaled_luong, input feeding, batch
# 128, SGD) against the same model in PyTorch (bench/torch_nmt.py) on the same
# data for the same steps, then beam-10 decoding of the first SENTENCES test
# sentences (batch 128) by each; 1 and 2 threads, the two run alternately
# ROUNDS times. Prints target tokens/s (wall) and CPU seconds: on a loaded
# machine compare the CPU columns (tokens per CPU second).
# Usage: bench/compare_nmt.sh [BUILD_DIR] [STEPS] [SENTENCES] [ROUNDS]   (NMT_THREADS="2" runs one thread count)
set -euo pipefail
build=${1:-build}
steps=${2:-30}
sentences=${3:-200}
rounds=${4:-1}
here=$(dirname "$0")
work=${TMPDIR:-/tmp}/compare_nmt.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
data=$work/data
"$build/tensorcook" nmt-data --out "$data" > /dev/null
py_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join('%.6g' % d[k] for k in sys.argv[2:]))" "$@"; }
printf '%-4s %-10s %9s %9s %10s %9s %9s %10s\n' thr who tok/s cpu_s tok/cpu_s beam_s beam_cpu sent/cpu_s
for r in $(seq "$rounds"); do
  for t in ${NMT_THREADS:-1 2}; do
    "$build/tensorcook" attention --data "$data" --steps "$steps" --eval-every 1000000 --eval-max 16 --test-max "$sentences" \
      --beam 10 --threads "$t" --out "$work/tc" --summary-json "$work/tc.json" > /dev/null 2>&1
    read -r tps cpu tok bs bc bn < <(py_field "$work/tc.json" target_tokens_per_second cpu_seconds target_tokens beam_seconds beam_cpu_seconds beam_sentences)
    awk -v t="$t" -v a="$tps" -v c="$cpu" -v k="$tok" -v bs="$bs" -v bc="$bc" -v bn="$bn" \
      'BEGIN {printf "%-4s %-10s %9.0f %9.2f %10.0f %9.2f %9.2f %10.2f\n", t, "tensorcook", a, c, k / c, bs, bc, bn / bc}'
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/torch_nmt.py" "$data" --steps "$steps" \
      --beam 10 --beam-sentences "$sentences" --threads "$t" --summary-json "$work/torch.json" > /dev/null
    read -r tps cpu bs bc bn < <(py_field "$work/torch.json" target_tokens_per_second cpu_seconds beam_seconds beam_cpu_seconds beam_sentences)
    tok=$(awk -v a="$tps" -v w="$(py_field "$work/torch.json" train_seconds)" 'BEGIN {print a * w}')
    awk -v t="$t" -v a="$tps" -v c="$cpu" -v k="$tok" -v bs="$bs" -v bc="$bc" -v bn="$bn" \
      'BEGIN {printf "%-4s %-10s %9.0f %9.2f %10.0f %9.2f %9.2f %10.2f\n", t, "pytorch", a, c, k / c, bs, bc, bn / bc}'
  done
done
