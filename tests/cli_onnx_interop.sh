#!/bin/sh
# Branch-parallel regions (src/io/onnx_branches.c): an Inception-style net
# (tests/fixtures/gen_onnx_branches.py) gives the same bits on 2 threads with
# its branches running at the same time as on 1 thread and on 2 threads node
# by node (TENSORCOOK_ONNX_INTEROP=0), on every instruction set; the regions
# do run (onnx run's last line), and never on 1 thread.
set -e
TC=$1
FIX=$(dirname "$0")/fixtures/onnx
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
for isa in avx512 avx2 generic; do
    for cfg in 1 2 2off; do
        mkdir -p "$D/$isa$cfg"
        off=1; [ "$cfg" = 2off ] && off=0
        TENSORCOOK_ISA=$isa TENSORCOOK_THREADS=${cfg%off} TENSORCOOK_ONNX_INTEROP=$off "$TC" onnx run "$FIX/branches_incep.onnx" \
            --input "$FIX/branches_incep_x.pb" --output-dir "$D/$isa$cfg" --runs 3 > "$D/$isa$cfg.log"
    done
    grep -q '^interop: 0 regions' "$D/${isa}1.log" || { echo "FAIL $isa: regions on 1 thread"; cat "$D/${isa}1.log"; exit 1; }
    grep -q '^interop: 0 regions' "$D/${isa}2off.log" || { echo "FAIL $isa: regions with TENSORCOOK_ONNX_INTEROP=0"; exit 1; }
    # planned at the first run, run at the two others: both modules
    grep -q '^interop: 2 regions branch-parallel, 4 region runs' "$D/${isa}2.log" ||
        { echo "FAIL $isa: regions did not run"; cat "$D/${isa}2.log"; exit 1; }
    cmp "$D/${isa}1/output_0.pb" "$D/${isa}2/output_0.pb" || { echo "FAIL $isa: 2 threads (regions) != 1 thread"; exit 1; }
    cmp "$D/${isa}2off/output_0.pb" "$D/${isa}2/output_0.pb" || { echo "FAIL $isa: regions != node by node"; exit 1; }
    echo "ok $isa"
done
