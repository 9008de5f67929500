# tensorcook onnx export on the checkpoints the recipes wrote earlier in
# test_cli.sh (mnist, cifar10, charrnn, forecast, textcnn both merges, video's
# three methods):
# each export re-imports its file and compares it with the model (--check),
# and the onnx package's checker (full_check) reads every file. Bad input:
# a one-line error and no file. Sourced by test_cli.sh (uses check, $bin, $tmp).
ox=$tmp/onnx_export; mkdir -p "$ox"
check onnx-export-help 0 "--opset" "$bin" onnx export --help
check onnx-export-mnist 0 "re-imported gives" "$bin" onnx export "$tmp/run/checkpoint.tcck" --out "$ox/mnist.onnx" --check
check onnx-export-cifar10 0 "re-imported gives" "$bin" onnx export "$tmp/o6/checkpoint.tcck" --out "$ox/cifar10.onnx" --check
check onnx-export-charrnn 0 "re-imported gives" "$bin" onnx export "$tmp/c4/checkpoint.tcck" --out "$ox/charrnn.onnx" --check
check onnx-export-forecast 0 "re-imported gives" "$bin" onnx export "$tmp/f2/checkpoint.tcck" --out "$ox/forecast.onnx" --check
check onnx-export-textcnn 0 "re-imported gives" "$bin" onnx export "$tmp/t1/checkpoint.tcck" --out "$ox/textcnn.onnx" --seq-len 20 --check
check onnx-export-textcnn-channels 0 "textcnn model" "$bin" onnx export "$tmp/t2/checkpoint.tcck" --out "$ox/textcnn2.onnx" --seq-len 20 --check --opset 13
for m in frames cnn-rnn c3d; do
  check "onnx-export-video-$m" 0 "re-imported gives" "$bin" onnx export "$tmp/video_$m/checkpoint.tcck" --out "$ox/video_$m.onnx" --check
done
check onnx-export-bad-opset nonzero "opset 12 is not supported by the exporter (13 to 17)" "$bin" onnx export "$tmp/run/checkpoint.tcck" --out "$ox/bad1.onnx" --opset 12
check onnx-export-not-checkpoint nonzero "not a tensorcook checkpoint" "$bin" onnx export "$tmp/fox.txt" --out "$ox/bad2.onnx"
check onnx-export-no-out nonzero "usage" "$bin" onnx export "$tmp/run/checkpoint.tcck"
for b in bad1 bad2; do
  [ -e "$ox/$b.onnx" ] && { echo "FAIL: onnx export left $b.onnx"; failed=$((failed + 1)); }
  n=$("$bin" onnx export "$tmp/fox.txt" --out "$ox/$b.onnx" 2>&1 | wc -l)
  [ "$n" -eq 1 ] || { echo "FAIL onnx export bad input: $n lines"; failed=$((failed + 1)); }
done
if /usr/bin/python3 "$(dirname "$0")/fixtures/check_onnx_export.py" "$ox"/*.onnx > "$ox/checker.log" 2>&1; then
  passed=$((passed + 1))
else
  echo "FAIL onnx export: onnx.checker: $(grep FAIL "$ox/checker.log" | head -n 3)"; failed=$((failed + 1))
fi
