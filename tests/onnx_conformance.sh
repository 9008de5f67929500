#!/usr/bin/env bash
# The ONNX conformance suite: every test folder listed in
# shared/conformance/onnx-required.txt (data from Debian's libonnx-testdata)
# must pass `tensorcook onnx test`, except those listed with a reason in
# tests/onnx_known_failures.txt (each one is a known defect, reported in the
# issue notes). Usage: onnx_conformance.sh TENSORCOOK_BINARY
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
required=""
for cand in "$here/../../shared/conformance/onnx-required.txt" "$here/onnx-required.txt"; do
  [ -f "$cand" ] && { required=$cand; break; }
done
[ -n "$required" ] || { echo "onnx-required.txt not found"; exit 1; }
data=/usr/share/libonnx-testdata/data
[ -d "$data" ] || { echo "$data missing: install libonnx-testdata"; exit 1; }
list=$(mktemp)
trap 'rm -f "$list"' EXIT
known="$here/onnx_known_failures.txt"
if [ -f "$known" ]; then
  grep -v -x -F -f <(sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$known") "$required" > "$list" || true
  echo "skipping $(sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$known" | wc -l) known failures listed in $known"
else
  cp "$required" "$list"
fi
"$bin" onnx test --quiet --root "$data" --list "$list"
