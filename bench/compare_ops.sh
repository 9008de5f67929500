#!/usr/bin/env bash
# tensorcook vs PyTorch on the same shapes (bench/shapes.h), same machine,
# alternating runs: each side runs ROUNDS times per thread count and the best
# GFLOP/s of each shape is kept (other people share the cores: best-of-N).
# Prints, per shape: tensorcook and PyTorch GFLOP/s at 1 and 2 threads, the
# ratio tensorcook / PyTorch, tensorcook's % of the machine's FMA peak on as
# many cores (measured by bench_ops at start-up, bench/peak.h; best of the
# rounds) and its 2-thread speed-up. The max-pooling rows (*_pool*,
# forward + backward, memory-bound) compare input elements per second
# (Gelem/s) instead, with no % of peak.
# Usage: bench/compare_ops.sh [BUILD_DIR] [REPEATS] [ROUNDS]
# (OPENBLAS_CORETYPE=Haswell bench/compare_ops.sh ... tries the Haswell kernels)
set -euo pipefail
build=${1:-build}
repeats=${2:-5}
rounds=${3:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for t in 1 2; do
    TENSORCOOK_THREADS=$t "$build/bench/bench_ops" "$repeats" >> "$out/tc_$t.txt"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE \
      /usr/bin/python3 "$here/torch_ops.py" "$t" "$repeats" >> "$out/torch_$t.txt"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import re, sys
d = sys.argv[1]
peak = {}  # bench_ops' measured FMA peak (bench/peak.h), not a constant from another machine
for t in (1, 2):
    for line in open(f"{d}/tc_{t}.txt"):
        m = re.match(r"measured FMA peak .*?: ([0-9.]+) GFLOP/s on 1 core, ([0-9.]+) on", line)
        if m:
            peak[1] = max(peak.get(1, 0.0), float(m[1]))
            if t == 2: peak[2] = max(peak.get(2, 0.0), float(m[2]))
print(f"measured FMA peak: {peak.get(1, 0):.1f} GFLOP/s on 1 core, {peak.get(2, 0):.1f} on 2")
def best(path):
    b, order = {}, []
    for line in open(path):
        f = line.split()
        if len(f) < 6 or f[1] != "threads":
            continue  # the peak line
        if f[0] not in b:
            order.append(f[0])
        b[f[0]] = max(b.get(f[0], 0.0), float(f[5]))
    return b, order
tc1, order = best(f"{d}/tc_1.txt"); tc2, _ = best(f"{d}/tc_2.txt")
th1, _ = best(f"{d}/torch_1.txt"); th2, _ = best(f"{d}/torch_2.txt")
print(f"{'shape':<12} | {'tc 1t':>6} {'torch':>6} {'ratio':>6} {'%peak':>6} | {'tc 2t':>6} {'torch':>6} {'ratio':>6} {'%peak':>6} | {'2t/1t':>6}")
for s in order:
    if s not in th1:
        continue
    pool = "_pool" in s
    pk = "     -" if pool or 1 not in peak else f"{100 * tc1[s] / peak[1]:5.0f}%"
    pk2 = "     -" if pool or 2 not in peak else f"{100 * tc2[s] / peak[2]:5.0f}%"
    v = (lambda x: f"{x:6.2f}") if pool else (lambda x: f"{x:6.1f}")  # pools: Gelem/s, below 1
    print(f"{s:<12} | {v(tc1[s])} {v(th1[s])} {tc1[s] / th1[s]:5.2f}x {pk} |"
          f" {v(tc2[s])} {v(th2[s])} {tc2[s] / th2[s]:5.2f}x {pk2} | {tc2[s] / tc1[s]:5.2f}x")
PY
