#!/usr/bin/env bash
# The style recipe on bad and good input, and against PyTorch: random VGG19
# weights written to .mat and .h5 by tests/fixtures/gen_style.py give the
# cookbook's losses, gradient w.r.t. the image and first Adam step (1e-4);
# the loss falls over a short run; outputs are complete files, also when the
# run is killed. Usage: cli_style.sh TENSORCOOK_BINARY
set -u
bin=$1
fx=$(dirname "$0")/fixtures
source "$(dirname "$0")/cli_lib.sh"
# bad input: exit 1, one line on stderr naming the file, nothing written
bad() { # name, pattern, style options...
  local name=$1 pattern=$2; shift 2
  local err rc
  "$bin" style --out "$tmp/bad" --summary-json "$tmp/bad.json" --iters 2 "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"; rc=$?
  err=$(cat "$tmp/bad.err")
  if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/bad.err")" -ne 1 ] || ! grep -q -- "$pattern" <<<"$err"; then
    fail "style-$name (exit $rc): $err"
  elif [ -e "$tmp/bad" ] || [ -e "$tmp/bad.json" ]; then
    fail "style-$name: output written for bad input"
  else
    passed=$((passed + 1))
  fi
}

check style-help 0 "--weights FILE" "$bin" style --help
check style-bad-option nonzero "invalid option values" "$bin" style --size 8
if ! /usr/bin/python3 "$fx/gen_style.py" weights "$tmp" >/dev/null; then
  fail "style: the generator (needs /usr/bin/python3 with numpy, scipy, h5py, torch, PIL) did not run"
  echo "$passed passed, $failed failed"; exit 1
fi
# the direct path unless a check says otherwise (winograd is the recipe's default)
c=(--content "$tmp/content.png" --style "$tmp/style.png" --conv direct)
echo "not an image" >"$tmp/bad.jpg"
head -c 4096 /dev/urandom >"$tmp/random.mat"
head -c 4096 /dev/urandom >"$tmp/random.h5"
head -c 40000000 "$tmp/vgg19.mat" >"$tmp/truncated.mat"
/usr/bin/python3 -c "from PIL import Image; Image.new('RGB', (20, 24)).save('$tmp/tiny.png')"
bad missing-content "$tmp/none.jpg" --content "$tmp/none.jpg" --style "$tmp/style.png"
bad undecodable-style "bad.jpg: not a JPEG or PNG" --content "$tmp/content.png" --style "$tmp/bad.jpg"
bad small-content "tiny.png: the content image is 20x24; VGG19 needs at least 32x32" --content "$tmp/tiny.png" --style "$tmp/style.png"
bad mat-no-layers "nolayers.mat: no cell array 'layers'" "${c[@]}" --weights "$tmp/nolayers.mat"
bad mat-wrong-shape "badshape.mat: layer conv1_1: kernel 3x3x3x32, the model's block1_conv1 needs 3x3x3x64" "${c[@]}" --weights "$tmp/badshape.mat"
bad mat-random "random.mat: not a readable MATLAB .mat file" "${c[@]}" --weights "$tmp/random.mat"
bad mat-truncated "truncated.mat" "${c[@]}" --weights "$tmp/truncated.mat"
bad h5-random "random.h5" "${c[@]}" --weights "$tmp/random.h5"

# the same numbers as PyTorch from either weight file
for w in vgg19.mat vgg19_notop.h5; do
  check "style-dump-$w" 0 "final.png" "$bin" style "${c[@]}" --weights "$tmp/$w" --iters 1 --out "$tmp/o-$w" --dump "$tmp/d-$w"
  check "style-vs-pytorch-$w" 0 "style matches PyTorch" /usr/bin/python3 "$fx/gen_style.py" check "$tmp" "$tmp/d-$w"
done

# the same bits with 1 and 2 threads
check style-dump-1-thread 0 "final.png" "$bin" style "${c[@]}" --weights "$tmp/vgg19.mat" --iters 1 --threads 1 --out "$tmp/o1" --dump "$tmp/d1"
check style-dump-2-threads 0 "final.png" "$bin" style "${c[@]}" --weights "$tmp/vgg19.mat" --iters 1 --threads 2 --out "$tmp/o2" --dump "$tmp/d2"
for f in step0_losses step0_grad step1_input; do
  cmp -s "$tmp/d1/$f.npy" "$tmp/d2/$f.npy" || fail "style: $f.npy differs between 1 and 2 threads"
done

# --conv winograd (F(4x4,3x3) on the 3x3 layers with >= 8 channels and >= 40
# tiles of 4x4: at 44x36 conv1_2 only): still PyTorch's numbers within the generator's tolerance, the same
# bits with 1 and 2 threads, and the summary says which path ran
check style-winograd-1-thread 0 "final.png" "$bin" style "${c[@]}" --weights "$tmp/vgg19.mat" --iters 1 --threads 1 --conv winograd --out "$tmp/ow1" --dump "$tmp/dw1" --summary-json "$tmp/w.json"
check style-winograd-vs-pytorch 0 "style matches PyTorch" /usr/bin/python3 "$fx/gen_style.py" check "$tmp" "$tmp/dw1"
check style-winograd-2-threads 0 "final.png" "$bin" style "${c[@]}" --weights "$tmp/vgg19.mat" --iters 1 --threads 2 --conv winograd --out "$tmp/ow2" --dump "$tmp/dw2"
for f in step0_losses step0_grad step1_input; do
  cmp -s "$tmp/dw1/$f.npy" "$tmp/dw2/$f.npy" || fail "style --conv winograd: $f.npy differs between 1 and 2 threads"
done
cmp -s "$tmp/d1/step0_grad.npy" "$tmp/dw1/step0_grad.npy" && fail "style --conv winograd: the direct path's gradient bits (did Winograd run?)"
grep -q '"conv": "winograd"' "$tmp/w.json" || fail "style --conv winograd: the summary does not say winograd"
# no --conv: the recipe's default is winograd, and the same bits as --conv winograd
check style-default-winograd 0 "final.png" "$bin" style --content "$tmp/content.png" --style "$tmp/style.png" --weights "$tmp/vgg19.mat" --iters 1 --threads 1 --out "$tmp/od" --dump "$tmp/dd" --summary-json "$tmp/dflt.json"
grep -q '"conv": "winograd"' "$tmp/dflt.json" || fail "style: the default is not winograd"
cmp -s "$tmp/dw1/step0_grad.npy" "$tmp/dd/step0_grad.npy" || fail "style: the default's gradient is not --conv winograd's"
check style-conv-bad-value nonzero "invalid option values" "$bin" style "${c[@]}" --conv fft

# a short run: the loss falls; every output is there and complete, no temporary file is left
o=$tmp/run
check style-run 0 "total loss" "$bin" style "${c[@]}" --weights "$tmp/vgg19.mat" --iters 12 --out "$o" --summary-json "$tmp/run.json"
/usr/bin/python3 - "$o" "$tmp/run.json" <<'PY' || fail "style-run: outputs"
import csv, json, os, sys
from PIL import Image
o, s = sys.argv[1], json.load(open(sys.argv[2]))
assert s["last_loss"] < 0.9 * s["first_loss"] and s["seconds_per_iteration"] > 0, s
rows = list(csv.DictReader(open(os.path.join(o, "losses.csv"))))
assert len(rows) == 12 and abs(float(rows[0]["total"]) - s["first_loss"]) <= 1e-5 * s["first_loss"], rows[:1]
assert all(abs(float(r["total"]) - float(r["content"]) - float(r["style"])) <= 1e-5 * float(r["total"]) for r in rows)
for f in ("0.png", "final.png", "losses.png"):
    Image.open(os.path.join(o, f)).load()
assert Image.open(os.path.join(o, "final.png")).size == (44, 36)
assert sorted(os.listdir(o)) == ["0.png", "final.png", "losses.csv", "losses.png"], os.listdir(o)
PY
# killed while it runs: what is there under an output name is complete
k=$tmp/killed
"$bin" style "${c[@]}" --iters 100000 --out "$k" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$k/0.png" ] && break; sleep 0.1; done
sleep 0.3
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
/usr/bin/python3 - "$k" <<'PY' || fail "style-killed: a partial output"
import os, sys
from PIL import Image
k = sys.argv[1]
names = [f for f in os.listdir(k) if ".tmp." not in f]
assert "0.png" in names and "final.png" not in names and "losses.csv" not in names, names
for f in names:
    Image.open(os.path.join(k, f)).load()
PY
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
