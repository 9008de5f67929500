#!/bin/sh
# Char-RNN generation speed and the quality cost of bf16 and int8 weights,
# default model (3 x LSTM 512, the fortunes corpus), batch 1:
#   1. characters/s of `charrnn --sample --length 5000` with fp32, bf16, int8
#      (x quantised per step, vpdpbusd) and int8w (int8 weights, x float:
#      TENSORCOOK_INT8_DOT=0) at 1 and 2 threads (THREADS, default "1 2"),
#      RUNS rounds alternating, wall clock and per
#      CPU second of the process (the figure that holds on a shared machine;
#      at 2 threads it counts both cores, spinning included);
#   2. the validation loss of the same checkpoint through the same generation
#      stepper with each of them (`charrnn --eval`);
#   3. a roofline: bytes of weights per step against the read bandwidth
#      bench_gemv measures for working sets of that size, in the same run.
# With no checkpoint it trains one for ITERS steps (default model, 2 threads).
# Usage: bench/compare_charrnn_gen.sh [BUILD_DIR] [CHECKPOINT|-] [RUNS] [ITERS]
set -eu
build=${1:-build}
ckpt=${2:--}
runs=${3:-3}
iters=${4:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tc=$build/tensorcook
[ -x "$tc" ] && [ -x "$build/bench/bench_gemv" ] || { echo "compare_charrnn_gen: build tensorcook and bench_gemv in $build" >&2; exit 1; }
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$ckpt" = - ]; then
    echo "training the default model for $iters steps..."
    "$tc" charrnn --iters "$iters" --threads 2 --out "$work/ck" | grep -E "vocabulary|validation loss" | sed 's/^/  /'
    ckpt=$work/ck/checkpoint.tcck
fi
r=1
while [ "$r" -le "$runs" ]; do
    for t in ${THREADS:-1 2}; do
        for p in fp32 bf16 int8 int8w; do
            dot=1 prec=$p
            [ "$p" = int8w ] && dot=0 prec=int8
            TENSORCOOK_INT8_DOT=$dot TENSORCOOK_THREADS=$t "$tc" charrnn --sample --checkpoint "$ckpt" --length 5000 --seed 7 --threads "$t" \
                --precision "$prec" 2>&1 >/dev/null | sed -n "s/^5000 characters at \([0-9]*\) characters.*: \([0-9]*\) characters per CPU second.*/gen $p $t \1 \2/p" \
                >> "$work/gen"
        done
    done
    echo "round $r done, load $(cut -d' ' -f1-3 /proc/loadavg)"
    r=$((r + 1))
done
for p in fp32 bf16 int8 int8w; do
    dot=1 prec=$p
    [ "$p" = int8w ] && dot=0 prec=int8
    TENSORCOOK_INT8_DOT=$dot "$tc" charrnn --eval --checkpoint "$ckpt" --threads 1 --precision "$prec" | sed -n "s/^validation loss \([0-9.]*\).*/eval $p \1/p" >> "$work/gen"
done
"$build/bench/bench_gemv" 5 > "$work/gemv"
python3 - "$work/gen" "$work/gemv" <<'PY'
import re, sys
gen, ev = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "gen": gen.setdefault((f[1], int(f[2])), []).append((int(f[3]), int(f[4])))
    if f[0] == "eval": ev[f[1]] = float(f[2])
bw = {}
for line in open(sys.argv[2]):
    m = re.match(r"read (\d+) KB\s+threads (\d)\s+\S+ us\s+(\S+) GB/s \(best\s+(\S+)\)", line)
    if m: bw[(int(m[1]), int(m[2]))] = (float(m[3]), float(m[4]))
# weights streamed per step (tc_gemv plans, bench_gemv's shapes): layer 1's recurrent 512x2048, layers 2-3
# [kernel; recurrent] 1024x2048, the dense 512x128 (vocabulary padded to 64-column panels)
floats = 512 * 2048 + 2 * 1024 * 2048 + 512 * 128
target = {("fp32", 1): 2700, ("bf16", 1): 5000}
# int8: one byte per weight plus a float scale and an int32 zero-point term per column (0.1%)
print(f"{'precision':<9} {'thr':>3} | {'chars/s (wall)':>15} | {'per CPU second':>15} | {'MB/step':>7} {'read GB/s median (best)':>24} {'ceiling steps/s':>16} | target")
for p, b in (("fp32", 4), ("bf16", 2), ("int8", 1), ("int8w", 1)):
    mb = floats * b / 1e6
    # the read-bandwidth working set nearest above the step's bytes (20.2 / 10.1 / 5.1 MB)
    kb = {4: 20480, 2: 12288, 1: 6144}[b]
    for t in (1, 2):
        v = gen.get((p, t), [])
        if not v: continue
        w, c = [x[0] for x in v], [x[1] for x in v]
        med, best = bw.get((kb, t), (float("nan"), float("nan")))
        print(f"{p:<9} {t:>3} | {min(w):>6} - {max(w):<6} | {min(c):>6} - {max(c):<6} | {mb:7.1f} {med:10.1f} ({best:6.1f}) GB/s "
              f"{med * 1e3 / mb:7.0f} ({best * 1e3 / mb:5.0f}) | {target.get((p, t), '')}")
if "fp32" in ev:
    for p in ("bf16", "int8", "int8w"):
        if p in ev:
            print(f"validation loss through the stepper: fp32 {ev['fp32']:.5f}, {p} {ev[p]:.5f} nats/char, "
                  f"{p} - fp32 = {ev[p] - ev['fp32']:+.5f}" + (" (target within 0.01)" if p == "bf16" else ""))
PY
