#!/usr/bin/env bash
# A visualisation step (keras-vis activation maximisation of VGG16's class 20
# at 224x224) in tensorcook and PyTorch, 1 and 2 threads, in the same run.
# Usage: bench/compare_visualize.sh [TENSORCOOK_BINARY] [ITERS]
# TC_ARGS="..." passes extra arguments to tensorcook (e.g. "--conv winograd").
set -eu
bin=${1:-build/tensorcook} iters=${2:-5}
here=$(dirname "$0")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "load: $(uptime)"
for t in 1 2; do
  "$bin" visualize --iters "$iters" --threads "$t" ${TC_ARGS:-} --out "$tmp/o$t" --summary-json "$tmp/s$t.json" >/dev/null 2>&1
  tc=$(/usr/bin/python3 -c "import json,sys; print('%.4f' % json.load(open(sys.argv[1]))['seconds_per_iteration'])" "$tmp/s$t.json")
  pt=$(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t /usr/bin/python3 "$here/torch_visualize.py" "$t" "$iters")
  echo "threads $t: tensorcook $tc s/it ($(/usr/bin/python3 -c "print('%.2f' % (1/$tc))") it/s), PyTorch $pt s/it ($(/usr/bin/python3 -c "print('%.2f' % (1/$pt))") it/s), ratio $(/usr/bin/python3 -c "print('%.2f' % ($pt/$tc))")x"
done
