#!/bin/sh
# The default `tensorcook mnist` run (Fashion-MNIST IDX files, 500 iterations,
# evaluation every 10 steps, final test) timed as a whole process at 1 thread,
# against the same run in PyTorch as a whole process (bench/torch_mnist_process.py:
# same files decompressed and scaled, same network, Adam, batch, iterations and
# evaluations), alternately RUNS times. Prints wall, user and system seconds of
# every run and the ranges; the ratio that holds on a shared machine is CPU
# time (user + system), wall time is the share of the cores each run got.
# Usage: bench/compare_mnist_process.sh [BUILD_DIR] [RUNS] [DATA]
set -eu
build=${1:-build}
runs=${2:-3}
data=${3:-/usr/share/datasets/fashion-mnist}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$build/tensorcook" ] || { echo "compare_mnist_process: build $build/tensorcook first" >&2; exit 1; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TENSORCOOK_THREADS=1
i=1
while [ "$i" -le "$runs" ]; do
    echo "run $i: load $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "tensorcook %e %U %S" -a -o "$work/times" \
        "$build/tensorcook" mnist --threads 1 --data "$data" --out "$work/out" > "$work/tc.log" 2>&1
    grep -E "Testing Accuracy" "$work/tc.log" | sed 's/^/  tensorcook: /'
    /usr/bin/time -f "pytorch %e %U %S" -a -o "$work/times" \
        /usr/bin/python3 "$root/bench/torch_mnist_process.py" "$data" 500 > "$work/pt.log" 2>&1
    grep -E "Testing Accuracy|phases" "$work/pt.log" | sed 's/^/  pytorch: /'
    tail -n 2 "$work/times" | sed 's/^/  wall user sys: /'
    i=$((i + 1))
done
python3 - "$work/times" <<'PY'
import sys
t = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[0] in ("tensorcook", "pytorch"):
        t.setdefault(f[0], []).append((float(f[1]), float(f[2]) + float(f[3])))
def rng(v): return f"{min(v):7.1f} - {max(v):7.1f}"
for k in ("tensorcook", "pytorch"):
    print(f"{k:<10} wall {rng([w for w, c in t[k]])} s   CPU {rng([c for w, c in t[k]])} s   ({len(t[k])} runs)")
pairs = list(zip(t["tensorcook"], t["pytorch"]))
print("tensorcook / PyTorch, run by run: CPU " + ", ".join(f"{a[1] / b[1]:.2f}" for a, b in pairs) +
      "; wall " + ", ".join(f"{a[0] / b[0]:.2f}" for a, b in pairs) + "  (target < 0.80)")
PY
