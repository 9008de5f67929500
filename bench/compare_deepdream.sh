#!/usr/bin/env bash
# A DeepDream step (the seed's: inception5h's architecture to
# mixed4d_3x3_bottleneck_pre_relu, channel 139, at 224x224, one tile) in
# tensorcook (the TF importer) and PyTorch, 1 and 2 threads, in the same run:
# wall and process-CPU seconds per iteration, the first step not counted (on a
# loaded machine the CPU times are the fairer figures).
# Usage: bench/compare_deepdream.sh [TENSORCOOK_BINARY] [ITERS] [ROUNDS]
# TC_ARGS="..." passes extra arguments to tensorcook (e.g. "--conv winograd").
set -eu
bin=${1:-build/tensorcook} iters=${2:-10} rounds=${3:-1}
here=$(dirname "$0")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
py() { /usr/bin/python3 -c "$@"; }
/usr/bin/python3 "$here/deepdream_inception5h.py" graph "$tmp/g.pb"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    echo "load: $(cat /proc/loadavg)"
    "$bin" deepdream --noise 224 --graph "$tmp/g.pb" --channel 139 --octaves 1 --iters $((iters + 1)) --threads "$t" --quiet ${TC_ARGS:-} \
      --out "$tmp/o$t" --summary-json "$tmp/s$t.json" >/dev/null 2>&1
    read -r tw tc < <(py "import json,sys; s = json.load(open(sys.argv[1])); print(s['seconds_per_iteration'], s['cpu_seconds_per_iteration'])" "$tmp/s$t.json")
    read -r pw pc < <(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t /usr/bin/python3 "$here/deepdream_inception5h.py" time "$t" "$iters")
    py "print('threads $t: tensorcook %.4f s/it wall (%.2f it/s), %.4f s/it CPU; PyTorch %.4f s/it wall (%.2f it/s), %.4f s/it CPU; ratio (PyTorch/tensorcook) wall %.2fx, CPU %.2fx' % ($tw, 1/$tw, $tc, $pw, 1/$pw, $pc, $pw/$tw, $pc/$tc))"
  done
done
