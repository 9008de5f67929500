#!/bin/sh
# int8 speed per kernel path, CPU time, 1 thread, RUNS alternating rounds:
#   novnni   TENSORCOOK_ISA=avx2 TENSORCOOK_INT8_VNNI=0 (the kernels of an AVX2
#            CPU without VNNI: Haswell .. Zen 3), int8 and fp32 on that path;
#   avxvnni  TENSORCOOK_ISA=avx2 (AVX-VNNI where the CPU has it);
#   avx512   TENSORCOOK_ISA=avx512 (AVX512-VNNI where the CPU has it);
#   old      OLD_BUILD (optional, e.g. a build of an earlier commit) with
#            TENSORCOOK_ISA=avx2 TENSORCOOK_LOWP_DOT=0 TENSORCOOK_INT8_VNNI=0.
# Each round: bench_lowp (int8 GEMM on ResNet-50 shapes, one char-RNN step's
# GEMVs), bench_onnx MODEL batch 1 (median CPU ms), charrnn --sample
# --length 4000 from CHECKPOINT (characters per CPU second). The CPU's own
# paths only: on a CPU without VNNI the vnni rows run the AVX2 kernels.
# Usage: bench/compare_int8_paths.sh BUILD MODEL.onnx CHECKPOINT [RUNS] [OLD_BUILD]
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BUILD MODEL.onnx CHECKPOINT [RUNS] [OLD_BUILD]" >&2; exit 2; }
new=$1 model=$2 ckpt=$3 runs=${4:-3} old=${5:-}
for b in $new $old; do
    [ -x "$b/tensorcook" ] && [ -x "$b/bench/bench_onnx" ] && [ -x "$b/bench/bench_lowp" ] ||
        { echo "compare_int8_paths: build tensorcook, bench_onnx and bench_lowp in $b" >&2; exit 1; }
done
NOV="TENSORCOOK_ISA=avx2,TENSORCOOK_INT8_VNNI=0"
OLDENV="TENSORCOOK_ISA=avx2,TENSORCOOK_LOWP_DOT=0,TENSORCOOK_INT8_VNNI=0"
# name|build|environment (comma-separated)|precision
confs="novnni-int8|$new|$NOV|int8 novnni-fp32|$new|$NOV|fp32 avxvnni-int8|$new|TENSORCOOK_ISA=avx2|int8 avx512-int8|$new|TENSORCOOK_ISA=avx512|int8"
[ -n "$old" ] && confs="old-int8|$old|$OLDENV|int8 $confs"
r=1
while [ "$r" -le "$runs" ]; do
    echo "round $r load $(cut -d' ' -f1-3 /proc/loadavg)"
    for c in $confs; do
        name=${c%%|*} rest=${c#*|}
        b=${rest%%|*} rest=${rest#*|}
        e=$(echo "${rest%%|*}" | tr ',' ' ') p=${rest#*|}
        # shellcheck disable=SC2086
        set -- $e
        if [ "$p" = int8 ]; then
            env "$@" "$b/bench/bench_lowp" 5 | grep -E "together|gemv" | sed "s/^/lowp $name: /"
        fi
        env "$@" BENCH_PRECISION=$p TENSORCOOK_THREADS=1 "$b/bench/bench_onnx" "$model" 1 5 | grep -o "median CPU [0-9.]* ms" | sed "s/^/onnx $name: /"
        env "$@" TENSORCOOK_THREADS=1 "$b/tensorcook" charrnn --sample --checkpoint "$ckpt" --length 4000 --seed 7 --threads 1 \
            --precision "$p" 2>&1 >/dev/null | grep -o "[0-9]* characters per CPU second" | sed "s/^/charrnn $name: /"
    done
    r=$((r + 1))
done
echo "end load $(cut -d' ' -f1-3 /proc/loadavg)"
