#!/usr/bin/env bash
# The command line on bad and good input: each bad case gives a one-line
# error naming the file and the problem, a non-zero exit and no output files.
# Usage: test_cli.sh TENSORCOOK_BINARY
set -u
bin=$1
source "$(dirname "$0")/cli_lib.sh"
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
# reduced-precision inference (issue 10 part 4): parsed, one-line error when invalid, and a run in each
fcnn="$(dirname "$0")/fixtures/onnx/fold_cnn.onnx"
check onnx-run-bad-precision nonzero "^tensorcook onnx run: --precision fp16: expected fp32, bf16 or int8$" "$bin" onnx run "$fcnn" --precision fp16
for p in bf16 int8; do
  mkdir -p "$tmp/prec_$p"
  check onnx-run-$p 0 "output_0.pb" "$bin" onnx run "$fcnn" --precision $p --output-dir "$tmp/prec_$p"
done
# Winograd for imported models (issue 10, default since issue 11): --conv parsed, one-line error when
# invalid, the last line says which ran; auto (the default) gives --conv winograd's bits on this model
check onnx-run-bad-conv nonzero "^tensorcook onnx run: --conv fft: expected auto, direct or winograd$" "$bin" onnx run "$fcnn" --conv fft
mkdir -p "$tmp/conv_w" "$tmp/conv_d" "$tmp/conv_a"
check onnx-run-winograd 0 "^conv: winograd, winograd for [1-9][0-9]* of 7 Conv runs$" "$bin" onnx run "$fcnn" --conv winograd --output-dir "$tmp/conv_w"
check onnx-run-direct 0 "^conv: direct, winograd for 0 of 7 Conv runs$" "$bin" onnx run "$fcnn" --conv direct --output-dir "$tmp/conv_d"
check onnx-run-auto 0 "^conv: auto, winograd for [1-9][0-9]* of 7 Conv runs$" "$bin" onnx run "$fcnn" --output-dir "$tmp/conv_a"
cmp -s "$tmp/conv_w/output_0.pb" "$tmp/conv_a/output_0.pb" || { echo "FAIL onnx-run-auto: not --conv winograd's output"; failed=$((failed + 1)); }
cmp -s "$tmp/conv_d/output_0.pb" "$tmp/conv_a/output_0.pb" && { echo "FAIL onnx-run-auto: the direct path's bits (did Winograd run?)"; failed=$((failed + 1)); }
# per-node profile: the runs counted after the warm-up, the product rows with their GFLOP/s and CPU ms
check onnx-run-profile 0 "^profile: 2 run(s) after a warm-up" "$bin" onnx run "$fcnn" --profile --runs 2 --output-dir "$tmp/conv_d"
check onnx-run-profile-conv 0 "^  Conv  *\/c1\/Conv  *[0-9.]*  *[0-9.]*%  *[0-9.]*  *[0-9.]*$" "$bin" onnx run "$fcnn" --profile --output-dir "$tmp/conv_d"
check onnx-run-bad-runs nonzero "^tensorcook onnx run: --runs 0: expected a count from 1 to 1000000$" "$bin" onnx run "$fcnn" --runs 0
check classify-bad-precision nonzero "^tensorcook classify: --precision half: expected fp32, bf16 or int8$" "$bin" classify --model resnet50 --precision half

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
check charrnn-sample-bf16 0 "characters/s" "$bin" charrnn --sample --checkpoint "$tmp/c4/checkpoint.tcck" --length 50 --seed-text "the " --precision bf16
check charrnn-sample-int8 0 "characters/s" "$bin" charrnn --sample --checkpoint "$tmp/c4/checkpoint.tcck" --length 50 --seed-text "the " --precision int8
# int8 writes the seed and 50 sampled characters (both int8 ways)
for dot in 1 0; do
    gen=$(TENSORCOOK_INT8_DOT=$dot "$bin" charrnn --sample --checkpoint "$tmp/c4/checkpoint.tcck" --length 50 --seed-text "the " --precision int8 2>/dev/null)
    case "$gen" in "the "?*) [ "$(printf '%s' "$gen" | wc -m)" -ge 54 ] && passed=$((passed + 1)) || fail "charrnn-sample-int8 dot $dot: ${#gen} characters: $gen" ;;
    *) fail "charrnn-sample-int8 dot $dot: no text after the seed: $gen" ;; esac
done
CLI_ONE_LINE=1 check charrnn-bad-precision nonzero "^tensorcook charrnn: --precision int4: expected fp32, bf16 or int8$" "$bin" charrnn --sample --checkpoint "$tmp/c4/checkpoint.tcck" --precision int4
CLI_ONE_LINE=1 check charrnn-empty-precision nonzero "expected fp32, bf16 or int8" "$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --precision ""
# --eval: the validation text through the generation path, fp32 and bf16 weights; bf16 must stay close
check charrnn-eval 0 "validation loss .* nats/char (fp32" "$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2
check charrnn-eval-bf16 0 "validation loss .* nats/char (bf16" "$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2 --precision bf16
check charrnn-eval-int8 0 "validation loss .* nats/char (int8" "$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2 --precision int8
check charrnn-eval-no-checkpoint nonzero "eval needs --checkpoint" "$bin" charrnn --eval
printf 'other words entirely: zebras, yaks and xylophones!' > "$tmp/zoo_eval.txt"
check charrnn-eval-other-text nonzero "not in .* vocabulary" "$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/zoo_eval.txt" --val-split 0.5
e32=$("$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2 | sed -n 's/^validation loss \([0-9.]*\).*/\1/p')
e16=$("$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2 --precision bf16 | sed -n 's/^validation loss \([0-9.]*\).*/\1/p')
awk -v a="$e32" -v b="$e16" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && a < 10 && d < 0.05) }' ||
    { echo "FAIL charrnn-eval fp32 $e32 vs bf16 $e16 nats/char"; failed=$((failed + 1)); }
e8=$("$bin" charrnn --eval --checkpoint "$tmp/c4/checkpoint.tcck" --text "$tmp/fox.txt" --val-split 0.2 --precision int8 | sed -n 's/^validation loss \([0-9.]*\).*/\1/p')
awk -v a="$e32" -v b="$e8" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && a < 10 && d < 0.05) }' ||
    { echo "FAIL charrnn-eval fp32 $e32 vs int8 $e8 nats/char"; failed=$((failed + 1)); }
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

# keras: .h5 files written by the generator in Keras' layout (issue 12)
kh=$tmp/keras; mkdir -p "$kh"
if /usr/bin/python3 "$(dirname "$0")/fixtures/gen_keras_h5.py" "$kh" >/dev/null 2>&1; then
  check keras-help 0 "keras run MODEL.h5" "$bin" keras --help
  check keras-info-weights 0 "block1_conv1_W_1:0 \[3, 3, 3, 4\]" "$bin" keras info "$kh/keras1_vgg.h5"
  check keras-info-params 0 "parameters: 503 in 8 weights" "$bin" keras info "$kh/keras1_vgg.h5"
  check keras-info-full 0 "Total params: 83" "$bin" keras info "$kh/func_full.h5"
  check keras-info-unsupported 0 "ZeroPadding2D" "$bin" keras info "$kh/unsupported_full.h5"
  check keras-run 0 "output 0 \[2, 5\]" "$bin" keras run "$kh/seq_full.h5" --input "$kh/seq_full_x.npy" \
    --output "$kh/out.npy" --summary-json "$kh/s.json" --threads 1 --seed 1
  /usr/bin/python3 -c "import numpy as np, sys; a, b = np.load(sys.argv[1]), np.load(sys.argv[2]); sys.exit(0 if abs(a - b).max() < 1e-5 else 1)" \
    "$kh/out.npy" "$kh/seq_full_y.npy" || { echo "FAIL keras-run output differs from PyTorch"; failed=$((failed + 1)); }
  grep -q '"parameters": 475' "$kh/s.json" || { echo "FAIL keras summary json"; failed=$((failed + 1)); }
  check keras-run-out 0 "output_0.npy" "$bin" keras run "$kh/func_rnn_full.h5" --input "$kh/func_rnn_full_x.npy" --out "$kh/o"
  [ -s "$kh/o/output_0.npy" ] || { echo "FAIL keras run --out"; failed=$((failed + 1)); }
  : > "$kh/empty.h5"
  head -c 3000 "$kh/cnn.h5" > "$kh/trunc.h5"
  head -c 4096 /dev/urandom > "$kh/random.h5"
  printf '\x89HDF\r\n\x1a\n' > "$kh/sig.h5"
  check keras-empty nonzero "empty.h5: empty file" "$bin" keras info "$kh/empty.h5"
  check keras-trunc nonzero "trunc.h5: " "$bin" keras info "$kh/trunc.h5"
  check keras-random nonzero "random.h5: not an HDF5 file" "$bin" keras info "$kh/random.h5"
  check keras-sig nonzero "sig.h5: " "$bin" keras info "$kh/sig.h5"
  check keras-missing nonzero "none.h5: No such file" "$bin" keras info "$kh/none.h5"
  check keras-run-weights-only nonzero "dense.h5: no model_config" "$bin" keras run "$kh/dense.h5" --input "$kh/dense_x.npy" --output "$kh/bad1.npy"
  check keras-run-unsupported nonzero "LeakyReLU" "$bin" keras run "$kh/unsupported_full.h5" --input "$kh/cnn_x.npy" --output "$kh/bad2.npy"
  check keras-run-wrong-input nonzero "does not fit the model's input 0" "$bin" keras run "$kh/func_full.h5" --input "$kh/cnn_x.npy" --output "$kh/bad3.npy"
  check keras-run-bad-npy nonzero "cnn.h5: not a .npy file" "$bin" keras run "$kh/func_full.h5" --input "$kh/cnn.h5" --output "$kh/bad4.npy"
  check keras-run-no-input nonzero "at least one --input" "$bin" keras run "$kh/func_full.h5"
  check keras-run-trunc nonzero "trunc.h5" "$bin" keras run "$kh/trunc.h5" --input "$kh/cnn_x.npy" --output "$kh/bad5.npy"
  for o in bad1 bad2 bad3 bad4 bad5; do [ -e "$kh/$o.npy" ] && { echo "FAIL: bad keras input left $o.npy"; failed=$((failed + 1)); }; done
  # the fuzz regressions are HDF5's own faults (leaks, absurd allocations): a sanitizer build
  # reports libhdf5's leaks on them, so they run with the plain build only
  regs=("$(dirname "$0")"/fuzz/regressions/keras_h5/*)
  ldd "$bin" 2>/dev/null | grep -q libasan && regs=()
  for f in "$kh"/*.h5 "${regs[@]}"; do
    one=$("$bin" keras info "$f" 2>&1 >/dev/null | wc -l)
    [ "$one" -le 1 ] || { echo "FAIL keras info $f: $one error lines"; failed=$((failed + 1)); }
  done
else
  echo "FAIL keras: the generator (needs /usr/bin/python3 with h5py, numpy, torch) did not run"; failed=$((failed + 1))
fi
source "$(dirname "$0")/cli_text.sh"
source "$(dirname "$0")/cli_visualize.sh"
source "$(dirname "$0")/cli_video.sh"
source "$(dirname "$0")/cli_vqa.sh"
source "$(dirname "$0")/cli_onnx_export.sh"

# vision: images, the model zoo, classify / features / transfer / inception-transfer (issue 12)
vz=$tmp/vision; mkdir -p "$vz"
fx=$(dirname "$0")/fixtures
check classify-help 0 "--summary" "$bin" classify --help
check classify-summary 0 "Total params: 138,357,544" "$bin" classify --model vgg16 --summary
check classify-summary-notop 0 "Total params: 21,802,784" "$bin" classify --model inception_v3 --summary --no-top
check classify-summary-resnet 0 "conv2_block1_0_conv (Conv2D)" "$bin" classify --model resnet50 --summary
check classify-unknown-model nonzero "unknown --model 'alexnet'" "$bin" classify --model alexnet --summary
photo=$fx/image/photo.jpg
[ -r /usr/share/darknet/data/dog.jpg ] && photo=/usr/share/darknet/data/dog.jpg
check classify-random 0 "weights are RANDOM" "$bin" classify "$photo" --model vgg16 --top 3 --json "$vz/p.json" \
  --summary-json "$vz/c.json" --threads 2
grep -q '"probability"' "$vz/p.json" || { echo "FAIL classify json"; failed=$((failed + 1)); }
grep -q '"top1_probability"' "$vz/c.json" || { echo "FAIL classify summary json"; failed=$((failed + 1)); }
if [ -r /usr/share/darknet/data/imagenet.labels.list ]; then
  check classify-labels 0 "n0" "$bin" classify "$photo" --model vgg16 --top 2
fi
printf 'cat\ndog\n' > "$vz/two.txt"
check classify-bad-labels nonzero "two.txt has 2 class names" "$bin" classify "$photo" --model vgg16 --labels "$vz/two.txt"
head -c 600 "$fx/image/photo.jpg" > "$vz/half.jpg"
head -c 20 "$fx/image/photo.jpg" > "$vz/header.jpg"
head -c 900 "$fx/image/rgb.png" > "$vz/cut.png"
printf 'just some words\n' > "$vz/words.jpg"
check classify-truncated-jpeg nonzero "half.jpg: bad JPEG: truncated" "$bin" classify "$vz/half.jpg" --model vgg16 --json "$vz/bad1.json"
check classify-header-jpeg nonzero "header.jpg: bad JPEG" "$bin" classify "$vz/header.jpg" --model vgg16 --json "$vz/bad2.json"
check classify-truncated-png nonzero "cut.png: bad PNG" "$bin" classify "$vz/cut.png" --model vgg16 --json "$vz/bad3.json"
check classify-not-image nonzero "words.jpg: not a JPEG or PNG" "$bin" classify "$vz/words.jpg" --model vgg16 --json "$vz/bad4.json"
for b in half.jpg header.jpg cut.png words.jpg; do
  n=$("$bin" classify "$vz/$b" --model vgg16 2>&1 | wc -l)
  [ "$n" -eq 1 ] || { echo "FAIL classify $b: $n lines of output, one error line expected"; failed=$((failed + 1)); }
done
# with real weights in Keras' layout (gen_zoo.py's ResNet50, full size): the CLI's top-1 is PyTorch's
if [ -r /usr/share/darknet/data/dog.jpg ] && /usr/bin/python3 "$fx/gen_zoo.py" --out "$vz/zoo" --image "$photo" --cases resnet50 >/dev/null; then
  seq 1 1000 | sed 's/^/class_/' > "$vz/zoo/numbers.txt"
  check classify-weights 0 "weights loaded from" "$bin" classify "$photo" --model resnet50 --weights "$vz/zoo/resnet50.h5" \
    --top 1 --labels "$vz/zoo/numbers.txt" --json "$vz/r.json" --summary-json "$vz/rs.json"
  # the default conv (auto) ran the folded 3x3 kernels as Winograd, and the top-1 below still is PyTorch's
  grep -q '"winograd_convs": [1-9].*"conv": "auto"' "$vz/rs.json" || { echo "FAIL classify: auto ran no Winograd ($(cat "$vz/rs.json"))"; failed=$((failed + 1)); }
  /usr/bin/python3 - "$vz/r.json" "$fx" "$vz/zoo/resnet50.tcfx" <<'PY' || { echo "FAIL classify --weights: top-1 differs from PyTorch"; failed=$((failed + 1)); }
import json, struct, sys
import numpy as np
top = json.load(open(sys.argv[1]))[0]['top'][0]
f = open(sys.argv[3], 'rb'); f.read(8); n = struct.unpack('<I', f.read(4))[0]
for _ in range(n):
    name = f.read(struct.unpack('<I', f.read(4))[0]).decode(); nd = struct.unpack('<I', f.read(4))[0]
    shape = struct.unpack('<%dq' % nd, f.read(8 * nd)); a = np.frombuffer(f.read(4 * int(np.prod(shape))), '<f4')
    if name == 'probs':
        sys.exit(0 if top['index'] == int(a.argmax()) and abs(top['probability'] - float(a.max())) < 1e-3 else 1)
sys.exit(1)
PY
  rm -rf "$vz/zoo"
fi
check features-random 0 "block4_pool output of 1 image \[1, 14, 14, 512\]" "$bin" features "$photo" --layer block4_pool --out "$vz/f.npy"
/usr/bin/python3 -c "import numpy as np, sys; a = np.load(sys.argv[1]); sys.exit(0 if a.shape == (1, 14, 14, 512) else 1)" "$vz/f.npy" \
  || { echo "FAIL features .npy not readable by NumPy"; failed=$((failed + 1)); }
check features-predictions 0 "\[1, 1000\]" "$bin" features "$photo" --layer predictions --out "$vz/p.npy"
check features-bad-layer nonzero "no layer 'block9_pool'" "$bin" features "$photo" --layer block9_pool --out "$vz/bad5.npy"
check features-bad-image nonzero "half.jpg: bad JPEG" "$bin" features "$vz/half.jpg" --out "$vz/bad6.npy"
for o in bad1.json bad2.json bad3.json bad4.json bad5.npy bad6.npy; do
  [ -e "$vz/$o" ] && { echo "FAIL: bad vision input left $o"; failed=$((failed + 1)); }
done
if /usr/bin/python3 "$fx/gen_shapes.py" "$vz/s2" --train 24 --val 12 --size 64 &&
   /usr/bin/python3 "$fx/gen_shapes.py" "$vz/s3" --classes 3 --train 16 --val 8 --size 80 &&
   /usr/bin/python3 "$fx/gen_zoo.py" --base vgg16 --div 8 --size 48 --image "$vz/s2/train/circle/circle_001.png" \
     --out "$vz/vgg16_notop.h5" >/dev/null &&
   /usr/bin/python3 "$fx/gen_zoo.py" --base inception_v3 --div 16 --size 75 --out "$vz/inception_notop.h5" \
     --image "$(ls "$vz"/s3/train/*/*_00[0-3].* | tr '\n' ',' | sed 's/,$//')" >/dev/null; then
  check transfer-help 0 "--freeze N" "$bin" transfer --help
  check transfer-train 0 "val_loss" "$bin" transfer --train "$vz/s2/train" --val "$vz/s2/val" --weights "$vz/vgg16_notop.h5" \
    --size 48 --width-div 8 --epochs 5 --batch 8 --lr 0.003 --out "$vz/t1" --summary-json "$vz/t1/s.json" \
    --predict "$vz/s2/val/circle/circle_000.jpg"
  for f in checkpoint.tcck model.h5 metrics.csv transfer_loss.png transfer_accuracy.png; do
    [ -s "$vz/t1/$f" ] || { echo "FAIL transfer: no $f"; failed=$((failed + 1)); }
  done
  /usr/bin/python3 - "$vz/t1/s.json" <<'PY' || { echo "FAIL transfer: validation loss did not fall"; failed=$((failed + 1)); }
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["val_loss"] < s["first_val_loss"] else 1)
PY
  # layers[:15] frozen: blocks 1 to 4 bit-identical to the loaded file, block 5 and the top changed
  /usr/bin/python3 - "$vz/vgg16_notop.h5" "$vz/t1/model.h5" <<'PY' || { echo "FAIL transfer: frozen weights changed"; failed=$((failed + 1)); }
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
def w(f, layer):
    g = f[layer]
    return [np.array(g[n]) for n in g.attrs['weight_names']]
frozen = ['block%d_conv%d' % (blk, c) for blk, n in ((1, 2), (2, 2), (3, 3), (4, 3)) for c in range(1, n + 1)]
ok = all(np.array_equal(x, y) for l in frozen for x, y in zip(w(a, l), w(b, l)))
ok = ok and all(not np.array_equal(w(a, l)[0], w(b, l)[0]) for l in ('block5_conv1', 'block5_conv3'))
sys.exit(0 if ok else 1)
PY
  check transfer-predict-only 0 "circle_000.jpg: circle" "$bin" transfer --train "$vz/s2/train" --weights "$vz/t1/model.h5" \
    --size 48 --width-div 8 --epochs 0 --out "$vz/t2" --predict "$vz/s2/val/circle/circle_000.jpg"
  check transfer-resume 0 "Epoch 6/6" "$bin" transfer --train "$vz/s2/train" --val "$vz/s2/val" --size 48 --width-div 8 \
    --epochs 1 --batch 8 --out "$vz/t3" --resume "$vz/t1/checkpoint.tcck"
  check transfer-softmax 0 "3 classes (softmax)" "$bin" transfer --train "$vz/s3/train" --val "$vz/s3/val" --size 48 \
    --width-div 16 --epochs 1 --batch 8 --out "$vz/t4"
  mkdir -p "$vz/empty" "$vz/one/cats"
  cp "$fx/image/photo.jpg" "$vz/one/cats/"
  check transfer-empty-folder nonzero "empty: no class subfolders" "$bin" transfer --train "$vz/empty" --val "$vz/s2/val" --out "$vz/t5"
  check transfer-one-class nonzero "one: 1 class folder (cats)" "$bin" transfer --train "$vz/one" --val "$vz/s2/val" --out "$vz/t6"
  check transfer-missing nonzero "nowhere: cannot open" "$bin" transfer --train "$vz/nowhere" --val "$vz/s2/val" --out "$vz/t7"
  check transfer-wrong-weights nonzero "inception_notop.h5" "$bin" transfer --train "$vz/s2/train" --val "$vz/s2/val" \
    --weights "$vz/inception_notop.h5" --size 48 --width-div 8 --out "$vz/t8"
  for d in t5 t6 t7 t8; do [ -e "$vz/$d/model.h5" ] && { echo "FAIL: bad transfer input left $d/model.h5"; failed=$((failed + 1)); }; done
  check inception-transfer 0 "phase 2 (layers\[249:\] trainable, from conv2d_80 (Conv2D) inside block mixed9" \
    "$bin" inception-transfer --train "$vz/s3/train" --val "$vz/s3/val" --weights "$vz/inception_notop.h5" --size 75 \
    --width-div 16 --epochs1 3 --epochs2 2 --batch 8 --lr2 0.003 --out "$vz/i1" --summary-json "$vz/i1/s.json"
  /usr/bin/python3 - "$vz/i1/s.json" <<'PY' || { echo "FAIL inception-transfer: validation loss did not fall"; failed=$((failed + 1)); }
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["val_loss"] < s["first_val_loss"] and s["phase2_trainable_params"] > s["phase1_trainable_params"] else 1)
PY
  # layers[:249] (conv2d .. conv2d_75 and their BatchNormalization: the stem and mixed0 to mixed8) unchanged
  /usr/bin/python3 - "$vz/inception_notop.h5" "$vz/i1/model.h5" <<'PY' || { echo "FAIL inception-transfer: frozen weights changed"; failed=$((failed + 1)); }
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
def w(f, layer):
    g = f[layer]
    return [np.array(g[n]) for n in g.attrs['weight_names']]
names = lambda p, r: [p if i == 0 else '%s_%d' % (p, i) for i in r]
frozen = names('conv2d', range(76)) + names('batch_normalization', range(76))
ok = all(np.array_equal(x, y) for l in frozen for x, y in zip(w(a, l), w(b, l)))
ok = ok and any(not np.array_equal(w(a, l)[0], w(b, l)[0]) for l in names('conv2d', range(76, 94)))
sys.exit(0 if ok else 1)
PY
  check inception-transfer-172 0 "inside block mixed6" "$bin" inception-transfer --train "$vz/s3/train" --val "$vz/s3/val" \
    --size 75 --width-div 16 --epochs1 0 --epochs2 1 --unfreeze-from 172 --batch 8 --out "$vz/i2"
else
  echo "FAIL vision: the generators (need /usr/bin/python3 with PIL, h5py, torch) did not run"; failed=$((failed + 1))
fi

# wavenet (issue 15): bad sound files, a short training run, generation, the autoencoder round trip
wv=$tmp/wv; mkdir -p "$wv"
if /usr/bin/python3 - "$wv" <<'PY'
import sys, numpy as np, scipy.io.wavfile as w
d = sys.argv[1]
t = np.arange(16000) / 16000.0
x = 0.4 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * np.random.default_rng(1).standard_normal(16000)
w.write(d + '/tone.wav', 16000, (x * 32767).astype(np.int16))
good = open(d + '/tone.wav', 'rb').read()
open(d + '/trunc.wav', 'wb').write(good[:len(good) // 2])
open(d + '/empty.wav', 'wb').write(b'')
open(d + '/noise.wav', 'wb').write(np.random.default_rng(2).bytes(3000))
np.save(d + '/badcode.npy', np.zeros((3, 5), np.float32))
PY
then
  wavcheck() { /usr/bin/python3 -c "import sys, scipy.io.wavfile as w; r, x = w.read(sys.argv[1]); assert r == 16000 and x.dtype.name == 'int16' and x.ndim == 1 and len(x) == int(sys.argv[2]), (r, x.dtype, x.shape)" "$@"; }
  small=(--blocks 1 --layers 4 --channels 8 --target 256)
  check wavenet-help 0 "--autoencoder" "$bin" wavenet --help
  check wavenet-summary 0 "Total params: 641,600" "$bin" wavenet --summary
  check wavenet-empty nonzero "empty.wav: empty file" "$bin" wavenet --train "$wv/empty.wav" --out "$wv/o1" "${small[@]}"
  check wavenet-trunc nonzero "trunc.wav: truncated" "$bin" wavenet --train "$wv/trunc.wav" --out "$wv/o2" "${small[@]}"
  check wavenet-noise nonzero "noise.wav: not a readable sound file" "$bin" wavenet --train "$wv/noise.wav" --out "$wv/o3" "${small[@]}"
  for o in o1 o2 o3; do [ -e "$wv/$o" ] && { echo "FAIL: bad wavenet input left $wv/$o"; failed=$((failed + 1)); }; done
  for f in empty trunc noise; do
    one=$("$bin" wavenet --train "$wv/$f.wav" --out "$wv/o4" "${small[@]}" 2>&1 | wc -l)
    [ "$one" -eq 1 ] || { echo "FAIL wavenet $f.wav: $one error lines"; failed=$((failed + 1)); }
  done
  check wavenet-train 0 "vs marginal entropy" "$bin" wavenet --train "$wv/tone.wav" "${small[@]}" --steps 30 --lr 0.003 \
    --generate 0.1 --out "$wv/run" --summary-json "$wv/run/s.json"
  for k in train_loss samples_per_second train_seconds; do
    grep -q "\"$k\"" "$wv/run/s.json" 2>/dev/null || { echo "FAIL wavenet summary json: no $k"; failed=$((failed + 1)); }
  done
  wavcheck "$wv/run/generated.wav" 1600 || { echo "FAIL wavenet: generated.wav"; failed=$((failed + 1)); }
  for f in generated_waveform.png generated_spectrogram.png wavenet.tcck; do
    [ -s "$wv/run/$f" ] || { echo "FAIL wavenet-train: no $f"; failed=$((failed + 1)); }
  done
  check wavenet-generate 0 "generated 800 samples" "$bin" wavenet --checkpoint "$wv/run/wavenet.tcck" --generate 0.05 --out "$wv/g.wav"
  wavcheck "$wv/g.wav" 800 || { echo "FAIL wavenet: g.wav"; failed=$((failed + 1)); }
  check wavenet-bad-checkpoint nonzero "noise.wav" "$bin" wavenet --checkpoint "$wv/noise.wav" --generate 0.05 --out "$wv/g2.wav"
  check wavenet-not-ae nonzero "not an autoencoder" "$bin" wavenet --checkpoint "$wv/run/wavenet.tcck" --encode "$wv/tone.wav" --out "$wv/c0.npy"
  check wavenet-ae-train 0 "(autoencoder)" "$bin" wavenet --autoencoder --hop 64 --code-channels 4 --train "$wv/tone.wav" "${small[@]}" \
    --steps 4 --generate 0.05 --out "$wv/ae"
  check wavenet-encode 0 "code \[250, 4\]" "$bin" wavenet --checkpoint "$wv/ae/wavenet.tcck" --encode "$wv/tone.wav" --out "$wv/code.npy"
  /usr/bin/python3 -c "import numpy as np, sys; c = np.load(sys.argv[1]); assert c.shape == (250, 4) and c.dtype == np.float32" "$wv/code.npy" \
    || { echo "FAIL wavenet: code.npy"; failed=$((failed + 1)); }
  check wavenet-decode 0 "16000 samples" "$bin" wavenet --checkpoint "$wv/ae/wavenet.tcck" --decode "$wv/code.npy" --out "$wv/dec.wav"
  wavcheck "$wv/dec.wav" 16000 || { echo "FAIL wavenet: dec.wav"; failed=$((failed + 1)); }
  check wavenet-decode-bad nonzero "badcode.npy: a code must be \[frames, 4\]" "$bin" wavenet --checkpoint "$wv/ae/wavenet.tcck" \
    --decode "$wv/badcode.npy" --out "$wv/dec2.wav"
  check wavenet-encode-bad nonzero "trunc.wav: truncated" "$bin" wavenet --checkpoint "$wv/ae/wavenet.tcck" --encode "$wv/trunc.wav" --out "$wv/c2.npy"
  for o in g2.wav c0.npy dec2.wav c2.npy; do [ -e "$wv/$o" ] && { echo "FAIL: bad wavenet input left $o"; failed=$((failed + 1)); }; done
else
  echo "FAIL wavenet: the test sound generator (/usr/bin/python3 with numpy, scipy) did not run"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
