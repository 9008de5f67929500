#!/usr/bin/env bash
# The ONNX conformance suites (data from Debian's libonnx-testdata) through
# `tensorcook onnx test`.
#   onnx_conformance.sh TENSORCOOK_BINARY          every folder of onnx-required.txt
#   onnx_conformance.sh TENSORCOOK_BINARY --all    every folder of node/, pytorch-converted/
#                                                  and pytorch-operator/
# Both skip the folders listed with a reason in tests/onnx_known_failures.txt;
# --all also runs those and fails if one of them now passes (the list must
# stay true: remove the line).
set -euo pipefail
bin=$1
mode=${2:-required}
here=$(cd "$(dirname "$0")" && pwd)
data=/usr/share/libonnx-testdata/data
[ -d "$data" ] || { echo "$data missing: install libonnx-testdata"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$mode" = --all ]; then
  (cd "$data" && ls -d node/*/ pytorch-converted/*/ pytorch-operator/*/ | sed 's|/$||') > "$tmp/all"
else
  required=""
  for cand in "$here/../../shared/conformance/onnx-required.txt" "$here/onnx-required.txt"; do
    [ -f "$cand" ] && { required=$cand; break; }
  done
  [ -n "$required" ] || { echo "onnx-required.txt not found"; exit 1; }
  cp "$required" "$tmp/all"
fi
known="$here/onnx_known_failures.txt"
touch "$tmp/known"
[ -f "$known" ] && sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$known" > "$tmp/known"
grep -v -x -F -f "$tmp/known" "$tmp/all" > "$tmp/list" || true
grep -x -F -f "$tmp/known" "$tmp/all" > "$tmp/skipped" || true
echo "running $(wc -l < "$tmp/list") test folders; skipping $(wc -l < "$tmp/skipped") known failures listed in $known"
rc=0
"$bin" onnx test --quiet --root "$data" --list "$tmp/list" || rc=1
if [ "$mode" = --all ] && [ -s "$tmp/skipped" ]; then
  # a known failure that passes is a stale line
  while read -r t; do
    if "$bin" onnx test --quiet "$data/$t" > /dev/null 2>&1; then
      echo "STALE $t passes now: remove it from $known"
      rc=1
    fi
  done < "$tmp/skipped"
fi
exit $rc
