# The video recipe on good and bad input; sourced by test_cli.sh (uses its
# $bin, $tmp, check, passed and failed). Tiny sizes: 4 videos a class, 16x16.
check video-help 0 "--method" "$bin" video --help
check video-c3d-summary 0 "Total params: 79,991,015" "$bin" video --summary --method c3d --size 112 --divisor 1 --classes 487
check video-bad-method nonzero "--method nope is not one of" "$bin" video --method nope
for m in frames cnn-rnn c3d features-rnn features-mlp c3d-rnn; do
  check "video-$m-summary" 0 "Total params:" "$bin" video --summary --method "$m" --cnn-divisor 16
  # VGG16 needs 32x32 frames; at 1/16 of its widths the features cost little
  check "video-$m" 0 "method $m: test accuracy" "$bin" video --method "$m" --per-class 4 --size $([ "${m%%-*}" = features ] && echo 32 || echo 16) \
    --frames 24 --clips 2 --cnn-divisor 16 --iters 2 --out "$tmp/video_$m" --summary-json "$tmp/video_$m/summary.json"
  grep -q '"test_accuracy":' "$tmp/video_$m/summary.json" || { echo "FAIL video-$m summary"; failed=$((failed + 1)); }
  [ -s "$tmp/video_$m/confusion_$m.png" ] || { echo "FAIL video-$m confusion png"; failed=$((failed + 1)); }
done
# a damaged file among real ones: one line naming it, non-zero exit
vbad=$tmp/video_bad; mkdir -p "$vbad"; cp -r "$tmp/video_c3d/data/." "$vbad/"
head -c 400 "$vbad/disk_up/000.mp4" > "$vbad/disk_up/001.mp4"
check video-truncated nonzero "video .*disk_up/001.mp4:" "$bin" video --data "$vbad" --size 16 --iters 1 --out "$tmp/vb1"
printf 'not a video at all, just words\n' > "$vbad/disk_up/001.mp4"
check video-not-video nonzero "video .*disk_up/001.mp4: not a readable video file" "$bin" video --data "$vbad" --size 16 --iters 1 --out "$tmp/vb2"
# the fixed features are computed once: a second run reads them from OUT/features
check video-features-cache 0 "train features read from the cache" "$bin" video --method features-mlp --per-class 4 --size 32 \
  --frames 24 --cnn-divisor 16 --iters 1 --pool mean --out "$tmp/video_features-rnn"
check video-summary-features 0 "Feature extractor (fixed; features: the output of block3_pool" "$bin" video --summary --method features-rnn
check video-bad-layer nonzero "has no layer 'nope'" "$bin" video --summary --method features-rnn --cnn-layer nope
# C3D weights from a c3d-keras .h5 (h5py-written by the C3D fixture's generator, widths / 16)
vw=$tmp/video_weights; mkdir -p "$vw"
if /usr/bin/python3 "$(dirname "$0")/fixtures/gen_c3d.py" "$vw" >/dev/null 2>&1; then
  check video-c3d-weights 0 "C3D weights loaded from .*c3d_small.h5 (all but fc8" "$bin" video --method c3d --weights "$vw/c3d_small.h5" \
    --data "$tmp/video_c3d/data" --size 32 --iters 1 --out "$vw/c3d"
  check video-c3d-rnn-weights 0 "c3d weights loaded from .*c3d_small.h5" "$bin" video --method c3d-rnn --weights "$vw/c3d_small.h5" \
    --data "$tmp/video_c3d/data" --size 32 --iters 1 --out "$vw/c3d-rnn"
  check video-c3d-weights-wrong-width nonzero "c3d_small.h5: the file does not fit model 'c3d'" "$bin" video --method c3d \
    --weights "$vw/c3d_small.h5" --divisor 8 --data "$tmp/video_c3d/data" --size 32 --iters 1 --out "$vw/bad"
else
  echo "FAIL video-c3d-weights: the generator (needs /usr/bin/python3 with h5py, torch) did not run"; failed=$((failed + 1))
fi
