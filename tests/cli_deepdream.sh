#!/usr/bin/env bash
# `tensorcook deepdream` on good and bad input. The objective's gradient and
# one octave's image against PyTorch: tests/fixtures/gen_deepdream.py (an
# inception5h-like TF graph with random weights, the seed's layer names).
# Bad input gives a one-line error, exit 1 and no output folder.
# Usage: cli_deepdream.sh TENSORCOOK_BINARY
set -u
bin=$1
fx=$(dirname "$0")/fixtures
CLI_ONE_LINE=1
source "$(dirname "$0")/cli_lib.sh"
if ! /usr/bin/python3 "$fx/gen_deepdream.py" graph "$tmp/g" >/dev/null; then
  echo "FAIL: gen_deepdream.py (needs /usr/bin/python3 with protobuf, numpy, torch, PIL) did not run"; exit 1
fi
g=$tmp/g/dream.pb L=mixed4d_3x3_bottleneck_pre_relu
check dd-help 0 "--channel N" "$bin" deepdream --help
# one channel, the smallest octave in one tile (tile 16 > 12x15)
check dd-channel 0 "$tmp/o1/dream.png: $L channel 2 objective" "$bin" deepdream "$tmp/g/img.png" --graph "$g" --channel 2 \
  --tile 16 --out "$tmp/o1" --dump "$tmp/d1" --summary-json "$tmp/o1.json" --threads 2 --seed 3 --quiet
for f in octave_1 octave_2 octave_3 octave_4 dream; do [ -s "$tmp/o1/$f.png" ] || fail "dd-channel: no $f.png"; done
# written atomically: nothing else (no temporary file) is left in the folder
[ "$(ls "$tmp/o1" | tr '\n' ' ')" = "dream.png octave_1.png octave_2.png octave_3.png octave_4.png " ] || fail "dd-channel: $(ls "$tmp/o1")"
/usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s['last_loss'] > s['first_loss'] and s['seconds_per_iteration'] > 0 and s['iterations'] == 40 else 1)" \
  "$tmp/o1.json" || fail "dd-channel: the objective did not rise"
# the whole layer, 2 octaves: the first is 26x30 in four tiles of 16 (partial ones, the seed's uncovered border)
check dd-layer 0 "objective" "$bin" deepdream "$tmp/g/img.png" --graph "$g" --octaves 2 --tile 16 --out "$tmp/o2" --dump "$tmp/d2" --quiet
check dd-vs-pytorch 0 "deepdream matches PyTorch" /usr/bin/python3 "$fx/gen_deepdream.py" check "$tmp/g" \
  "$tmp/d1" $L 2 16 10 4 "$tmp/d2" $L -1 16 10 2
# the unroll is the exact inverse of the roll: a shift-invariant objective (mean of x * x, one tile of a 43x37
# image) gives the same gradient whatever the roll (seed 5 rolls by 20 columns, 10 rows)
check dd-roll-inverse 0 "sq objective" "$bin" deepdream "$tmp/g/img.png" --graph "$tmp/g/square.pb" --layer sq --octaves 1 \
  --iters 1 --tile 64 --seed 5 --out "$tmp/o7" --dump "$tmp/d7" --quiet
check dd-roll-vs-numpy 0 "the unroll inverts the roll" /usr/bin/python3 "$fx/gen_deepdream.py" check-roll "$tmp/d7"
# the same bits with 1 and 2 threads
"$bin" deepdream "$tmp/g/img.png" --graph "$g" --octaves 2 --tile 16 --out "$tmp/o3" --threads 1 --quiet >/dev/null 2>&1
cmp -s "$tmp/o2/dream.png" "$tmp/o3/dream.png" || fail "dd: 1 and 2 threads differ"
# grey noise start
check dd-noise 0 "grey noise" "$bin" deepdream --noise 40 --graph "$g" --iters 3 --out "$tmp/o4"
# --conv winograd is accepted and reported (at these sizes every layer has too few tiles for it)
check dd-conv-winograd 0 "grey noise" "$bin" deepdream --noise 40 --graph "$g" --iters 1 --conv winograd --out "$tmp/o8" \
  --summary-json "$tmp/o8.json"
grep -q '"conv": "winograd"' "$tmp/o8.json" || fail "deepdream --conv winograd: the summary does not say winograd"
check dd-conv-bad nonzero "invalid options" "$bin" deepdream --noise 40 --graph "$g" --conv fft --out "$tmp/bad9"
# bad input: one line, no output folder
check dd-bad-layer nonzero "has no layer 'mixed4d_3x3_bottleneck_pre_rel'; nearest: mixed4d_3x3_bottleneck_pre_relu, mixed4d_5x5_bottleneck_pre_relu, mixed4d_3x3_bottleneck_pre_relu/conv" \
  "$bin" deepdream "$tmp/g/img.png" --graph "$g" --layer mixed4d_3x3_bottleneck_pre_rel --out "$tmp/bad1"
check dd-bad-channel nonzero "--channel 6: layer $L has 6 channels" "$bin" deepdream "$tmp/g/img.png" --graph "$g" --channel 6 --out "$tmp/bad2"
echo "not an image" > "$tmp/bad.jpg"
check dd-bad-image nonzero "bad.jpg: not a JPEG or PNG" "$bin" deepdream "$tmp/bad.jpg" --graph "$g" --out "$tmp/bad3"
check dd-missing-image nonzero "/nonexistent/x.jpg" "$bin" deepdream /nonexistent/x.jpg --graph "$g" --out "$tmp/bad4"
head -c 100 "$g" > "$tmp/trunc.pb"
check dd-bad-graph nonzero "trunc.pb: not a TensorFlow GraphDef" "$bin" deepdream "$tmp/g/img.png" --graph "$tmp/trunc.pb" --out "$tmp/bad5"
check dd-too-small nonzero "too small for 4 octaves" "$bin" deepdream --noise 2 --graph "$g" --out "$tmp/bad6"
check dd-zoo-bad-layer nonzero "has no layer 'mixed33'; nearest: mixed3, mixed0, mixed1" "$bin" deepdream "$tmp/g/photo.png" \
  --model inception_v3 --width-div 8 --layer mixed33 --out "$tmp/bad7"
check dd-const-layer nonzero "layer softmax2_w does not depend on the image" "$bin" deepdream "$tmp/g/img.png" --graph "$g" \
  --layer softmax2_w --out "$tmp/bad8"
for d in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8; do [ -e "$tmp/$d" ] && fail "dd: bad input made $d"; done
# the zoo's InceptionV3: random weights (said so), then Keras .h5 weights
check dd-zoo-random 0 "RANDOM" "$bin" deepdream "$tmp/g/photo.png" --model inception_v3 --width-div 8 --iters 2 --octaves 2 \
  --out "$tmp/o5" --quiet
if /usr/bin/python3 "$fx/gen_zoo.py" --base inception_v3 --out "$tmp/iv3.h5" --image "$tmp/g/photo.png" --div 8 --size 120 >/dev/null; then
  check dd-zoo-weights 0 "$tmp/o6/dream.png: mixed3 objective" "$bin" deepdream "$tmp/g/photo.png" --model inception_v3 --width-div 8 \
    --weights "$tmp/iv3.h5" --layer mixed3 --iters 3 --octaves 2 --out "$tmp/o6" --dump "$tmp/d6" --summary-json "$tmp/o6.json" --quiet
  /usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s['last_loss'] > s['first_loss'] and not s['random_weights'] else 1)" \
    "$tmp/o6.json" || fail "dd-zoo-weights: the objective did not rise"
  # the zoo path against PyTorch's InceptionV3 (gen_zoo.py) with the same file: the whole layer in one tile, then one
  # channel in an 80x80 tile (a second model built for the tile's size, the image's border left out as the seed does)
  check dd-zoo-vs-pytorch 0 "deepdream (zoo) matches PyTorch" /usr/bin/python3 "$fx/gen_deepdream.py" check-zoo "$tmp/iv3.h5" 8 \
    "$tmp/d6" mixed3 -1 512 3 2
  check dd-zoo-tile 0 "mixed3 channel 5 objective" "$bin" deepdream "$tmp/g/photo.png" --model inception_v3 --width-div 8 \
    --weights "$tmp/iv3.h5" --layer mixed3 --channel 5 --tile 80 --iters 3 --octaves 1 --out "$tmp/o8" --dump "$tmp/d8" --quiet
  check dd-zoo-tile-vs-pytorch 0 "deepdream (zoo) matches PyTorch" /usr/bin/python3 "$fx/gen_deepdream.py" check-zoo "$tmp/iv3.h5" 8 \
    "$tmp/d8" mixed3 5 80 3 1
else
  fail "dd-zoo-weights: gen_zoo.py did not run"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
