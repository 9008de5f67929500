#!/usr/bin/env bash
# A visualisation step (keras-vis activation maximisation of VGG16's class 20
# at 224x224) in tensorcook and PyTorch, 1 and 2 threads, in the same run:
# wall and process-CPU seconds per iteration, the first step not counted (on a
# loaded machine the CPU times are the fairer figures).
# Usage: bench/compare_visualize.sh [TENSORCOOK_BINARY] [ITERS] [ROUNDS]
# TC_ARGS="..." passes extra arguments to tensorcook (e.g. "--conv winograd").
set -eu
bin=${1:-build/tensorcook} iters=${2:-5} rounds=${3:-1}
here=$(dirname "$0")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
py() { /usr/bin/python3 -c "$@"; }
for r in $(seq "$rounds"); do
  for t in 1 2; do
    echo "load: $(cat /proc/loadavg)"
    # tensorcook runs three results of ITERS + 1 steps each and reports their mean
    "$bin" visualize --iters $((iters + 1)) --threads "$t" ${TC_ARGS:-} --out "$tmp/o$t" --summary-json "$tmp/s$t.json" >/dev/null 2>&1
    read -r tw tc < <(py "import json,sys; s = json.load(open(sys.argv[1])); print(s['seconds_per_iteration'], s['cpu_seconds_per_iteration'])" "$tmp/s$t.json")
    read -r pw pc < <(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t /usr/bin/python3 "$here/torch_visualize.py" "$t" "$iters")
    py "print('threads $t: tensorcook %.4f s/it wall (%.2f it/s), %.4f s/it CPU; PyTorch %.4f s/it wall (%.2f it/s), %.4f s/it CPU; ratio (PyTorch/tensorcook) wall %.2fx, CPU %.2fx' % ($tw, 1/$tw, $tc, $pw, 1/$pw, $pc, $pw/$tw, $pc/$tc))"
  done
done
