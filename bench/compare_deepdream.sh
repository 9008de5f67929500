#!/usr/bin/env bash
# A DeepDream step (the seed's: inception5h's architecture to
# mixed4d_3x3_bottleneck_pre_relu, channel 139, at 224x224, one tile) in
# tensorcook (the TF importer) and PyTorch, 1 and 2 threads, in the same run.
# Usage: bench/compare_deepdream.sh [TENSORCOOK_BINARY] [ITERS]
# TC_ARGS="..." passes extra arguments to tensorcook (e.g. "--conv winograd").
set -eu
bin=${1:-build/tensorcook} iters=${2:-10}
here=$(dirname "$0")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/deepdream_inception5h.py" graph "$tmp/g.pb"
echo "load: $(uptime)"
for t in 1 2; do
  "$bin" deepdream --noise 224 --graph "$tmp/g.pb" --channel 139 --octaves 1 --iters "$iters" --threads "$t" --quiet ${TC_ARGS:-} \
    --out "$tmp/o$t" --summary-json "$tmp/s$t.json" >/dev/null 2>&1
  tc=$(/usr/bin/python3 -c "import json,sys; print('%.4f' % json.load(open(sys.argv[1]))['seconds_per_iteration'])" "$tmp/s$t.json")
  pt=$(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t /usr/bin/python3 "$here/deepdream_inception5h.py" time "$t" "$iters")
  echo "threads $t: tensorcook $tc s/it ($(/usr/bin/python3 -c "print('%.2f' % (1/$tc))") it/s), PyTorch $pt s/it ($(/usr/bin/python3 -c "print('%.2f' % (1/$pt))") it/s), ratio $(/usr/bin/python3 -c "print('%.2f' % ($pt/$tc))")x"
done
