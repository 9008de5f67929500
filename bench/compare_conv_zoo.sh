#!/usr/bin/env bash
# tensorcook vs PyTorch on the convolution layers of VGG16, ResNet-50 and
# InceptionV3 (bench/conv_zoo_shapes.h), forward alone and forward + backward,
# 1 and 2 threads, same machine, alternating runs (best of ROUNDS x REPEATS).
# tensorcook runs on each of its instruction-set paths this CPU has (the best
# one and AVX2) under both OpenBLAS kernel choices (OPENBLAS_CORETYPE unset and
# Haswell), since which BLAS kernel the environment picks must not decide the
# speed. Printed per layer and pass: PyTorch's figure, tensorcook's for each
# path and its ratio, and each path's % of the measured FMA peak of its own
# ISA (bench_conv_zoo's last column: the AVX2 path against the 256-bit loop,
# about half the 512-bit peak on Zen 5): GFLOP per CPU-second over the 1-core
# peak at 1 thread, wall GFLOP/s over the 2-core peak at 2.
# At 1 thread the figures are GFLOP per CPU-second (steady on a shared
# machine); at 2 threads GFLOP/s of wall time (a speed-up needs both cores).
# Usage: bench/compare_conv_zoo.sh [BUILD_DIR] [REPEATS] [ROUNDS] [BATCH]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
rounds=${3:-2}
batch=${4:-1}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
paths="native"
grep -qw avx512f /proc/cpuinfo && grep -qw avx2 /proc/cpuinfo && paths="native avx2"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    for p in $paths; do
      for core in unset Haswell; do
        isa=() ; [ "$p" = native ] || isa=(TENSORCOOK_ISA="$p")
        if [ "$core" = unset ]; then cenv=(-u OPENBLAS_CORETYPE); else cenv=(OPENBLAS_CORETYPE=$core); fi
        env "${cenv[@]}" "${isa[@]}" TENSORCOOK_THREADS=$t "$build/bench/bench_conv_zoo" "$repeats" "$batch" \
          >> "$out/tc_${p}_${core}_$t.txt"
      done
    done
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE \
      /usr/bin/python3 "$here/torch_conv_zoo.py" "$t" "$repeats" "$batch" >> "$out/torch_$t.txt"
  done
done
/usr/bin/python3 - "$out" "$paths" <<'PY'
import glob, os, sys
d, paths = sys.argv[1], sys.argv[2].split()
def best(path, t):
    """{(layer, pass): best figure}: GFLOP/cpu-s at 1 thread, GFLOP/s at 2; best % of peak; the peak."""
    b, order, peak, pct = {}, [], None, {}
    for line in open(path):
        f = line.split()
        if line.startswith("measured FMA peak"):
            peak = float(f[f.index("GFLOP/s") - 1])
            if t > 1 and "core," in f:  # the peak of t cores, which the % divides by there
                peak = float(f[f.index("core,") + 1])
            continue
        if len(f) < 12 or f[2] != "threads":
            continue
        key = (f[0], f[1])
        v = float(f[f.index("GFLOP/cpu-s") - 1]) if t == 1 else float(f[f.index("GFLOP/s") - 1])
        if key not in b:
            order.append(key)
        b[key] = max(b.get(key, 0.0), v)
        if "peak" in f:
            pct[key] = max(pct.get(key, 0.0), float(f[-3].rstrip("%")))
    return b, order, peak, pct
cols = [(p, c) for p in paths for c in ("unset", "Haswell")]
for t in (1, 2):
    th, order, _, _ = best(f"{d}/torch_{t}.txt", t)
    tc = {pc: best(f"{d}/tc_{pc[0]}_{pc[1]}_{t}.txt", t) for pc in cols}
    unit = "GFLOP/cpu-s" if t == 1 else "GFLOP/s"
    peaks = ", ".join(f"{p} {tc[(p, 'unset')][2]:.0f}" for p in paths)
    what = "GFLOP/cpu-s over its own ISA's 1-core peak" if t == 1 else "GFLOP/s (wall) over its own ISA's 2-core peak"
    print(f"\n{t} thread(s), {unit}; %pk: the path's {what} ({peaks} GFLOP/s)")
    head = "".join(f" | {p + '/' + ('cs-unset' if c == 'unset' else 'cs-Haswell'):>16} ratio  %pk" for p, c in cols)
    print(f"{'layer':<13} {'pass':<5} | {'torch':>6}{head}")
    for key in order:
        row = f"{key[0]:<13} {key[1]:<5} | {th[key]:6.1f}"
        for pc in cols:
            v = tc[pc][0].get(key, float('nan'))
            row += f" | {v:16.1f} {v / th[key]:4.2f}x {tc[pc][3].get(key, float('nan')):3.0f}%"
        print(row)
PY
