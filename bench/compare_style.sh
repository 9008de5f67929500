#!/usr/bin/env bash
# A style-transfer step (the cookbook's VGG19 with average pooling, losses on
# six layers, Adam on the image) at 300x400 in tensorcook and PyTorch, 1 and
# 2 threads, in the same run: wall and process-CPU seconds per iteration
# (on a loaded machine the CPU times are the fairer figures at 1 thread).
# Usage: bench/compare_style.sh [TENSORCOOK_BINARY] [ITERS] [ROUNDS]
# STYLE_CONVS="direct winograd" runs tensorcook once per --conv algorithm
# (alternating, next to the same PyTorch run; default: direct);
# STYLE_ARGS="..." passes extra arguments to `tensorcook style`.
set -eu
bin=${1:-build/tensorcook} iters=${2:-4} rounds=${3:-1}
here=$(dirname "$0")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
py() { /usr/bin/python3 -c "$@"; }
for r in $(seq "$rounds"); do
  for t in 1 2; do
    echo "load: $(cat /proc/loadavg)"
    # dog.jpg is 768x576: --size 400 makes it 400x300 (W x H)
    read -r pw pc < <(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t /usr/bin/python3 "$here/torch_style.py" "$t" "$iters" 300 400)
    for conv in ${STYLE_CONVS:-direct}; do
      # shellcheck disable=SC2086 # STYLE_ARGS is a list of words
      "$bin" style --size 400 --iters $((iters + 1)) --threads "$t" --conv "$conv" ${STYLE_ARGS:-} --out "$tmp/o$t" \
        --summary-json "$tmp/s$t.json" >/dev/null 2>&1
      read -r tw tc < <(py "import json,sys; s = json.load(open(sys.argv[1])); print(s['seconds_per_iteration'], s['cpu_seconds_per_iteration'])" "$tmp/s$t.json")
      py "print('threads $t, --conv $conv: tensorcook %.3f s/it wall (%.2f it/s), %.3f s/it CPU; PyTorch %.3f s/it wall (%.2f it/s), %.3f s/it CPU; ratio (PyTorch/tensorcook) wall %.2fx, CPU %.2fx' % ($tw, 1/$tw, $tc, $pw, 1/$pw, $pc, $pw/$tw, $pc/$tc))"
    done
  done
done
