# The visualize recipe on good and bad input; sourced by test_cli.sh (uses
# its $bin, $tmp, check, passed and failed). Gradients against PyTorch via
# tests/fixtures/gen_visualize.py (random VGG16 weights written to .h5).
vfx=$(dirname "${BASH_SOURCE[0]}")/fixtures
vv=$tmp/visualize
mkdir -p "$vv"
check visualize-help 0 "--saliency IMAGE" "$bin" visualize --help
check visualize-bad-layer nonzero "has no layer 'block3_conv'; nearest: block3_conv1, block3_conv2, block3_conv3" \
  "$bin" visualize --layer block3_conv --size 32 --out "$vv/bad"
check visualize-bad-filter nonzero "layer block1_conv1 has 64 outputs" "$bin" visualize --layer block1_conv1 --filter 64 --size 32 --out "$vv/bad"
echo "not an image" > "$vv/bad.jpg"
check visualize-bad-image nonzero "bad.jpg: not a JPEG or PNG" "$bin" visualize --saliency "$vv/bad.jpg" --out "$vv/bad"
[ -e "$vv/bad" ] && { echo "FAIL visualize: output folder made for bad input"; failed=$((failed + 1)); }
if /usr/bin/python3 "$vfx/gen_visualize.py" weights "$vv" >/dev/null; then
  w=$vv/vgg16_notop.h5
  check visualize-dump 0 "visualize.png: block3_conv1" "$bin" visualize --weights "$w" --layer block3_conv1 --filter 5 --size 32 \
    --iters 1 --out "$vv/o" --dump "$vv/d"
  check visualize-saliency 0 "saliency of block3_conv1\[5\]" "$bin" visualize --weights "$w" --layer block3_conv1 --filter 5 \
    --size 32 --saliency "$vv/img.png" --out "$vv/o" --dump "$vv/d"
  check visualize-vs-pytorch 0 "rectified saliency" /usr/bin/python3 "$vfx/gen_visualize.py" check "$vv"
  for f in visualize saliency saliency_vanilla saliency_guided saliency_rectified; do
    [ -s "$vv/o/$f.png" ] || { echo "FAIL visualize: no $f.png"; failed=$((failed + 1)); }
  done
  # the default objective moves the right way: keras-vis' total loss falls
  check visualize-run 0 "visualize.png" "$bin" visualize --weights "$w" --layer block5_conv3 --size 32 --iters 40 \
    --out "$vv/r" --summary-json "$vv/r.json"
  /usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s['last_loss'] < s['first_loss'] and s['seconds_per_iteration'] > 0 else 1)" \
    "$vv/r.json" || { echo "FAIL visualize: the total loss did not fall"; failed=$((failed + 1)); }
  # --conv winograd (block1_conv2 at 32x32 has 64 tiles of 4x4) runs and is reported
  check visualize-winograd 0 "visualize.png" "$bin" visualize --weights "$w" --layer block3_conv1 --filter 5 --size 32 \
    --iters 3 --conv winograd --out "$vv/w" --summary-json "$vv/w.json"
  grep -q '"conv": "winograd"' "$vv/w.json" || { echo "FAIL visualize: --conv winograd not in the summary"; failed=$((failed + 1)); }
else
  echo "FAIL visualize: the generator (needs /usr/bin/python3 with h5py, torch, PIL) did not run"; failed=$((failed + 1))
fi
