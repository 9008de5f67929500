# The video recipe on good and bad input; sourced by test_cli.sh (uses its
# $bin, $tmp, check, passed and failed). Tiny sizes: 4 videos a class, 16x16.
check video-help 0 "--method" "$bin" video --help
check video-c3d-summary 0 "Total params: 79,991,015" "$bin" video --summary --method c3d --size 112 --divisor 1 --classes 487
check video-bad-method nonzero "--method nope is not one of" "$bin" video --method nope
for m in frames cnn-rnn c3d; do
  check "video-$m" 0 "method $m: test accuracy" "$bin" video --method "$m" --per-class 4 --size 16 --iters 2 \
    --out "$tmp/video_$m" --summary-json "$tmp/video_$m/summary.json"
  grep -q '"test_accuracy":' "$tmp/video_$m/summary.json" || { echo "FAIL video-$m summary"; failed=$((failed + 1)); }
  [ -s "$tmp/video_$m/confusion_$m.png" ] || { echo "FAIL video-$m confusion png"; failed=$((failed + 1)); }
done
# a damaged file among real ones: one line naming it, non-zero exit
vbad=$tmp/video_bad; mkdir -p "$vbad"; cp -r "$tmp/video_c3d/data/." "$vbad/"
head -c 400 "$vbad/disk_up/000.mp4" > "$vbad/disk_up/001.mp4"
check video-truncated nonzero "video .*disk_up/001.mp4:" "$bin" video --data "$vbad" --size 16 --iters 1 --out "$tmp/vb1"
printf 'not a video at all, just words\n' > "$vbad/disk_up/001.mp4"
check video-not-video nonzero "video .*disk_up/001.mp4: not a readable video file" "$bin" video --data "$vbad" --size 16 --iters 1 --out "$tmp/vb2"
