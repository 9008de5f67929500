#!/usr/bin/env bash
# The command line on bad and good input: each bad case gives a one-line
# error naming the file and the problem, a non-zero exit and no output files.
# Usage: test_cli.sh TENSORCOOK_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # name, expected exit ("0" or "nonzero"), pattern in stderr/stdout, command...
  local name=$1 want=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; } || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL $name (exit $rc): $(tail -n 3 <<<"$out")"; failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
}
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
idx_images() { { printf '\x00\x00\x08\x03'; be32 "$2"; be32 28; be32 28; head -c $(($2 * 784)) /dev/urandom; } > "$1"; }
idx_labels() { { printf '\x00\x00\x08\x01'; be32 "$2"; for ((i = 0; i < $2; i++)); do printf "\\x0$((i % 10))"; done; } > "$1"; }

check help 0 "mnist" "$bin" --help
check version 0 "tensorcook" "$bin" --version
check unknown nonzero "unknown command" "$bin" nope
check mnist-help 0 "--summary-json" "$bin" mnist --help
check missing-folder nonzero "/nonexistent/data: no such folder" "$bin" mnist --data /nonexistent/data --out "$tmp/o1"
[ -e "$tmp/o1" ] && { echo "FAIL missing-folder left $tmp/o1"; failed=$((failed + 1)); }

good=$tmp/good; mkdir -p "$good"
idx_images "$good/train-images-idx3-ubyte" 200; idx_labels "$good/train-labels-idx1-ubyte" 200
idx_images "$good/t10k-images-idx3-ubyte" 50; gzip -c "$good/t10k-images-idx3-ubyte" > "$good/t10k-images-idx3-ubyte.gz"
rm "$good/t10k-images-idx3-ubyte"; idx_labels "$good/t10k-labels-idx1-ubyte" 50
check mnist-small-run 0 "Testing Accuracy" "$bin" mnist --data "$good" --iters 4 --batch 32 --display-step 2 \
  --out "$tmp/run" --summary-json "$tmp/run/summary.json"
for f in metrics.csv mnist_loss.png mnist_accuracy.png checkpoint.tcck summary.json; do
  [ -s "$tmp/run/$f" ] || { echo "FAIL mnist-small-run: no $f"; failed=$((failed + 1)); }
done
grep -q '"test_accuracy"' "$tmp/run/summary.json" || { echo "FAIL summary json"; failed=$((failed + 1)); }
check mnist-resume 0 "Testing Accuracy" "$bin" mnist --data "$good" --iters 2 --batch 32 --out "$tmp/run2" --resume "$tmp/run/checkpoint.tcck"
check mnist-bad-resume nonzero "checksum\|not a tensorcook checkpoint" "$bin" mnist --data "$good" --iters 2 --out "$tmp/run3" --resume "$good/train-labels-idx1-ubyte"

bad=$tmp/bad; mkdir -p "$bad"; cp "$good"/* "$bad"/
head -c 3000 "$good/train-images-idx3-ubyte" > "$bad/train-images-idx3-ubyte"
check truncated-idx nonzero "train-images-idx3-ubyte: truncated" "$bin" mnist --data "$bad" --out "$tmp/o2"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x00' > "$bad/train-images-idx3-ubyte"
check wrong-magic nonzero "wrong magic number" "$bin" mnist --data "$bad" --out "$tmp/o3"
idx_images "$bad/train-images-idx3-ubyte" 200; idx_labels "$bad/train-labels-idx1-ubyte" 199
check count-mismatch nonzero "200 images but .*199 labels" "$bin" mnist --data "$bad" --out "$tmp/o4"
for o in o2 o3 o4; do [ -e "$tmp/$o" ] && { echo "FAIL: bad input left $tmp/$o"; failed=$((failed + 1)); }; done
touch "$tmp/afile"
check unwritable-out nonzero "cannot create" "$bin" mnist --data "$good" --iters 2 --out "$tmp/afile/sub"
check bad-option nonzero "not a whole number" "$bin" mnist --iters many

cif=$tmp/cifar; mkdir -p "$cif"
head -c $((3073 * 2 + 5)) /dev/urandom > "$cif/test_batch.bin"
for i in 1 2 3 4 5; do head -c 3073 /dev/zero > "$cif/data_batch_$i.bin"; done
check cifar-record-size nonzero "test_batch.bin: size 6151 is not a multiple" "$bin" cifar10 --data "$cif" --out "$tmp/o5"
check cifar-no-data nonzero "--data DIR is required" "$bin" cifar10
head -c $((3073 * 2)) /dev/zero > "$cif/test_batch.bin"
check cifar-small-run 0 "test accuracy" "$bin" cifar10 --data "$cif" --epochs 1 --batch 2 --out "$tmp/o6"

check onnx-missing nonzero "cannot open" "$bin" onnx info "$tmp/none.onnx"
printf 'garbage!' > "$tmp/g.onnx"
check onnx-garbage nonzero "not a valid ONNX model" "$bin" onnx info "$tmp/g.onnx"
strnorm=/usr/share/libonnx-testdata/data/node/test_strnormalizer_nostopwords_nochangecase/model.onnx
check onnx-info-unsupported 0 "StringNormalizer .*(not supported)" "$bin" onnx info "$strnorm"

# charrnn and forecast (issue 4's bad inputs)
: > "$tmp/empty.txt"
check charrnn-empty nonzero "empty.txt: 0 characters" "$bin" charrnn --text "$tmp/empty.txt" --out "$tmp/c1"
printf 'short text' > "$tmp/short.txt"
check charrnn-short nonzero "short.txt: 10 characters; need at least 26" "$bin" charrnn --text "$tmp/short.txt" --out "$tmp/c2"
printf 'caf\xe9 is not utf-8 text, but latin-1 encoded...' > "$tmp/latin1.txt"
check charrnn-not-utf8 nonzero "latin1.txt: not UTF-8 (invalid byte sequence at byte 3)" "$bin" charrnn --text "$tmp/latin1.txt" --out "$tmp/c3"
for i in 1 2 3 4 5 6; do echo "the quick brown fox jumps over the lazy dog, again and again $i."; done > "$tmp/fox.txt"
check charrnn-train 0 "validation loss" "$bin" charrnn --text "$tmp/fox.txt" --layers 1 --units 16 --batch 8 --out "$tmp/c4" --summary-json "$tmp/c4/s.json"
grep -q '"val_loss"' "$tmp/c4/s.json" || { echo "FAIL charrnn summary json"; failed=$((failed + 1)); }
check charrnn-sample 0 "characters/s" "$bin" charrnn --sample --checkpoint "$tmp/c4/checkpoint.tcck" --length 50 --seed-text "the "
check charrnn-resume 0 "validation loss" "$bin" charrnn --text "$tmp/fox.txt" --batch 8 --out "$tmp/c5" --resume "$tmp/c4/checkpoint.tcck"
printf 'other words entirely: zebras, yaks and xylophones!' > "$tmp/zoo.txt"
check charrnn-other-model nonzero "another vocabulary" "$bin" charrnn --text "$tmp/zoo.txt" --out "$tmp/c6" --resume "$tmp/c4/checkpoint.tcck"
check charrnn-bad-checkpoint nonzero "not a tensorcook checkpoint" "$bin" charrnn --sample --checkpoint "$tmp/fox.txt"
{ echo "date,usd,eur"; for i in $(seq 1 100); do echo "2020-01-$i,$((i % 7)).5,$((i % 5)).25"; done; echo "2020-05-01,3.5"; } > "$tmp/bad.csv"
check forecast-bad-csv nonzero "bad.csv: line 102" "$bin" forecast --csv "$tmp/bad.csv" --out "$tmp/f1"
{ echo "date,usd"; for i in $(seq 1 150); do echo "d$i,$(( (i * 37) % 101 )).0"; done; } > "$tmp/good.csv"
check forecast-csv 0 "test MSE" "$bin" forecast --csv "$tmp/good.csv" --iters 20 --batch 4 --out "$tmp/f2"
[ -s "$tmp/f2/prediction_5.png" ] || { echo "FAIL forecast plots"; failed=$((failed + 1)); }
printf '{"bpi": {"2017-01-01": 997.69, "2017-01-02": oops}}' > "$tmp/bad.json"
check forecast-bad-json nonzero "bad.json: malformed" "$bin" forecast --json "$tmp/bad.json" --out "$tmp/f3"
check shapes 0 "many-to-many" "$bin" shapes --steps 3

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
