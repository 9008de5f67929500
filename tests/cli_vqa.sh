# The vqa recipe on good and bad input; sourced by test_cli.sh (uses its
# $bin, $tmp, check, passed and failed). A small model (widths / 16, no
# dropout) on raw 16x16 pictures of a small generated set, trained briefly
# (~10 s): its test accuracy must beat the majority answer's by 0.1.
check vqa-help 0 "--vectors FILE" "$bin" vqa --help
check vqa-summary 0 "Total params: 13,707,240" "$bin" vqa --summary
check vqa-summary-linear 0 "Total params: 13,707,240" "$bin" vqa --summary --linear-dense
vq=$tmp/vqa
check vqa-train 0 "test accuracy" "$bin" vqa --images 150 --width-div 16 --features pixels --epochs 15 --optimizer adam \
  --lr 0.003 --dropout 0 --out "$vq" --summary-json "$vq/summary.json"
[ -s "$vq/vqa.tcck" ] || { echo "FAIL vqa-train: no checkpoint"; failed=$((failed + 1)); }
if python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["test_accuracy"] > s["majority_accuracy"] + 0.1 else 1)' "$vq/summary.json"; then
  passed=$((passed + 1))
else
  echo "FAIL vqa-train: test accuracy does not beat the majority answer by 0.1: $(cat "$vq/summary.json")"; failed=$((failed + 1))
fi
check vqa-answer 0 "% *yes" "$bin" vqa --checkpoint "$vq/vqa.tcck" --answers "$vq/data/answers.txt" \
  --image "$vq/data/images/00000.png" --question "is there a red circle?"
[ "$("$bin" vqa --checkpoint "$vq/vqa.tcck" --answers "$vq/data/answers.txt" --image "$vq/data/images/00000.png" \
  --question "how many shapes are there?" 2>/dev/null | grep -c ' %  ')" = 5 ] && passed=$((passed + 1)) ||
  { echo "FAIL vqa-answer: not 5 answers"; failed=$((failed + 1)); }
# bad input: one line naming the file, exit 1, nothing written
printf 'what 0.1 0.2 0.3\ncolor 0.1 0.2 0.3\nis 0.5 0.6\n' > "$tmp/vqa_bad.glove"
check vqa-bad-vectors nonzero "vqa_bad.glove:3" "$bin" vqa --vectors "$tmp/vqa_bad.glove" --out "$tmp/vqa_b1"
[ -e "$tmp/vqa_b1" ] && { echo "FAIL vqa-bad-vectors left $tmp/vqa_b1"; failed=$((failed + 1)); }
head -n 5 "$vq/data/answers.txt" > "$tmp/vqa_short.txt"
check vqa-short-answers nonzero "vqa_short.txt: 5 answers, but the model" "$bin" vqa --checkpoint "$vq/vqa.tcck" \
  --answers "$tmp/vqa_short.txt" --image "$vq/data/images/00000.png" --question "is it?"
printf 'not an image at all\n' > "$tmp/vqa_bad.png"
check vqa-bad-image nonzero "vqa_bad.png" "$bin" vqa --checkpoint "$vq/vqa.tcck" --answers "$vq/data/answers.txt" \
  --image "$tmp/vqa_bad.png" --question "is it?"
check vqa-missing-checkpoint nonzero "/nonexistent/vqa.tcck" "$bin" vqa --checkpoint /nonexistent/vqa.tcck \
  --answers "$vq/data/answers.txt" --image "$vq/data/images/00000.png" --question "is it?"
n_err=$("$bin" vqa --checkpoint /nonexistent/vqa.tcck --answers "$vq/data/answers.txt" --image "$tmp/vqa_bad.png" --question x 2>&1 | wc -l)
[ "$n_err" = 1 ] && passed=$((passed + 1)) || { echo "FAIL vqa errors are $n_err lines, not one"; failed=$((failed + 1)); }
