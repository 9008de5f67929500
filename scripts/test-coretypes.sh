#!/usr/bin/env bash
# Runs the tests labelled "threads" (results bit-identical for 1, 2 and 3
# threads) once per OpenBLAS kernel family: the environment's own choice
# (OPENBLAS_CORETYPE unset), then Haswell, SkylakeX, Zen, Sandybridge and
# Prescott forced. A kernel that needs an instruction set this CPU lacks is
# skipped with a line that says so (it would stop on an illegal instruction).
# Then the same tests once per tensorcook instruction-set path below the
# CPU's best (TENSORCOOK_ISA=avx2, generic): each path keeps the promise.
# Usage: scripts/test-coretypes.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { [[ " $flags " == *" $1 "* ]]; }
needs() { # kernel -> the CPU flag it needs
  case $1 in
    SkylakeX) echo avx512f ;; Haswell|Zen) echo avx2 ;; Sandybridge) echo avx ;; Prescott) echo pni ;;  # SSE3 *) echo "" ;;
  esac
}
for core in unset Haswell SkylakeX Zen Sandybridge Prescott; do
  if [ "$core" = unset ]; then
    echo "== threads tests, OPENBLAS_CORETYPE unset"
    env -u OPENBLAS_CORETYPE ctest --test-dir "$dir" --output-on-failure -j2 -L threads
    continue
  fi
  flag=$(needs "$core")
  if [ -n "$flag" ] && ! has "$flag"; then
    echo "== threads tests, OPENBLAS_CORETYPE=$core: skipped (this CPU has no $flag)"
    continue
  fi
  echo "== threads tests, OPENBLAS_CORETYPE=$core"
  OPENBLAS_CORETYPE=$core ctest --test-dir "$dir" --output-on-failure -j2 -L threads
done
for isa in avx2 generic; do
  if [ "$isa" = avx2 ] && ! has avx2; then
    echo "== threads tests, TENSORCOOK_ISA=avx2: skipped (this CPU has no avx2)"
    continue
  fi
  echo "== threads tests, TENSORCOOK_ISA=$isa"
  TENSORCOOK_ISA=$isa ctest --test-dir "$dir" --output-on-failure -j2 -L threads
done
