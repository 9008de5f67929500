#!/bin/bash
# The ideal 2-thread speed-up of each conv layer and pass at batch 1 from
# thread CPU times (bench_conv_crit): 1-thread work / 2-thread critical path,
# the 1- and 2-thread runs alternating ROUNDS times (one line per round).
# Usage: bash bench/conv_crit.sh BUILD_DIR [REPEATS] [ROUNDS]  (10, 1);
# BENCH_ONLY / BENCH_PASS as for bench_conv_crit.
set -e
BIN=${1:?usage: conv_crit.sh BUILD_DIR [REPEATS] [ROUNDS]}/bench/bench_conv_crit
R=${2:-10}
N=${3:-1}
T=$(mktemp)
trap 'rm -f "$T"' EXIT
echo "# layer/pass  1t work ms  2t crit ms  2t work ms  2t serial ms  ideal 2t speed-up (per run, under the load of the moment)"
for i in $(seq "$N"); do
  for t in 1 2; do TENSORCOOK_THREADS=$t "$BIN" "$R" 2>&1 >/dev/null | grep "^pool stats tag"; done |
    sed 's#/\([12]t\) # \1 #' > "$T"
  join <(awk '$5=="1t"{print $4, $9}' "$T" | sort) <(awk '$5=="2t"{print $4, $7, $9, $11}' "$T" | sort) |
    awk -v r="$R" '{printf "%-20s %8.3f %8.3f %8.3f %7.3f  %.2fx\n", $1, $2/r, $3/r, $4/r, $5/r, $2/$3}'
done
