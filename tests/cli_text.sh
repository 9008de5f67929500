# The text recipes (bleu, textcnn) on good and bad input; sourced by
# test_cli.sh (uses its $bin, $tmp, check, passed and failed).
fx=$(dirname "${BASH_SOURCE[0]}")/fixtures/text
check bleu-help 0 "multi-bleu" "$bin" bleu --help
check bleu 0 "BLEU = 35.91, 77.5/49.7/30.4/17.1 (BP=0.955, ratio=0.956, hyp_len=649, ref_len=679)" \
  "$bin" bleu "$fx/bleu_noisy.ref" "$fx/bleu_noisy.hyp" --summary-json "$tmp/bleu.json"
grep -q '"bleu": 35.91' "$tmp/bleu.json" || { echo "FAIL bleu summary"; failed=$((failed + 1)); }
check bleu-same 0 "BLEU = 100.00, 100.0/100.0/100.0/100.0 (BP=1.000" "$bin" bleu "$fx/bleu_same.ref" "$fx/bleu_same.hyp"
printf 'a b c\nd e f\n' > "$tmp/ref2.txt"; printf 'a b c\n' > "$tmp/hyp1.txt"
check bleu-line-counts nonzero "ref2.txt has 2 lines but .*hyp1.txt has 1" "$bin" bleu "$tmp/ref2.txt" "$tmp/hyp1.txt"
: > "$tmp/empty.txt"
check bleu-empty nonzero "empty.txt: empty file" "$bin" bleu "$tmp/ref2.txt" "$tmp/empty.txt"
printf 'a b\ncaf\xe9\n' > "$tmp/latin1.txt"
check bleu-not-utf8 nonzero "latin1.txt:2: invalid UTF-8" "$bin" bleu "$tmp/ref2.txt" "$tmp/latin1.txt"
check bleu-missing nonzero "nothere.txt: cannot open" "$bin" bleu "$tmp/ref2.txt" "$tmp/nothere.txt"

# a small aclImdb-layout folder: reviews of good and bad words
imdb=$tmp/imdb
for split in train test; do for c in pos neg; do mkdir -p "$imdb/$split/$c"; done; done
good=(great superb lovely fine moving) badw=(awful dull boring poor weak) filler=(the film was and a plot actor scene)
for split in train test; do
  for i in $(seq 1 40); do
    w=""; for k in 1 2 3 4 5 6; do w="$w ${filler[$(((i * k + k) % 8))]}"; done
    printf '%s %s movie.<br />%s\n' "${good[$((i % 5))]}" "$w" "${good[$(((i + 2) % 5))]}" > "$imdb/$split/pos/${i}_9.txt"
    printf '%s %s movie.<br />%s\n' "${badw[$((i % 5))]}" "$w" "${badw[$(((i + 3) % 5))]}" > "$imdb/$split/neg/${i}_2.txt"
  done
done
check textcnn-help 0 "--merge" "$bin" textcnn --help
check textcnn-imdb 0 "validation accuracy" "$bin" textcnn --data "$imdb" --epochs 2 --vocab 100 --maxlen 20 \
  --out "$tmp/t1" --summary-json "$tmp/t1/summary.json"
for f in metrics.csv textcnn_loss.png textcnn_accuracy.png checkpoint.tcck vocab.txt train.ids val.labels summary.json; do
  [ -s "$tmp/t1/$f" ] || { echo "FAIL textcnn-imdb: no $f"; failed=$((failed + 1)); }
done
grep -q '"val_accuracy"' "$tmp/t1/summary.json" || { echo "FAIL textcnn summary"; failed=$((failed + 1)); }
check textcnn-channels 0 "merge along channels" "$bin" textcnn --data "$imdb" --epochs 1 --vocab 100 --maxlen 20 \
  --merge channels --out "$tmp/t2"
{ for i in $(seq 1 30); do printf 'Package: p%d\nSection: utils\nDescription: tool number %d for files\n\n' $i $i
    printf 'Package: q%d\nSection: net\nDescription: network daemon %d for sockets\n\n' $i $i; done; } > "$tmp/Packages"
check textcnn-packages 0 "classes utils / net; train 54" "$bin" textcnn --packages "$tmp/Packages" --epochs 1 \
  --vocab 100 --maxlen 10 --out "$tmp/t3"
mkdir -p "$tmp/imdb-empty/train/pos" "$tmp/imdb-empty/train/neg"
check textcnn-empty-imdb nonzero "imdb-empty/train/neg: no \*.txt files" "$bin" textcnn --data "$tmp/imdb-empty" --out "$tmp/t4"
cp -r "$imdb" "$tmp/imdb-bad"; printf 'caf\xe9 au lait' > "$tmp/imdb-bad/train/neg/99_1.txt"
check textcnn-not-utf8 nonzero "99_1.txt:1: invalid UTF-8" "$bin" textcnn --data "$tmp/imdb-bad" --out "$tmp/t5"
: > "$tmp/imdb-bad/train/neg/99_1.txt"
check textcnn-empty-review nonzero "99_1.txt: empty file" "$bin" textcnn --data "$tmp/imdb-bad" --out "$tmp/t6"
check textcnn-bad-merge nonzero "invalid option" "$bin" textcnn --merge diagonal --out "$tmp/t7"
for o in t4 t5 t6 t7; do [ -e "$tmp/$o" ] && { echo "FAIL: textcnn bad input left $tmp/$o"; failed=$((failed + 1)); }; done

# the gettext corpus in tensorflow/nmt's layout
loc=$tmp/locale/xx/LC_MESSAGES; mkdir -p "$loc"
cp "$fx/a_le.mo" "$loc/a.mo"; cp "$fx/b_be.mo" "$loc/b.mo"
check nmt-data 0 "7 English-xx pairs" "$bin" nmt-data --locale-dir "$tmp/locale" --lang xx --min-count 1 \
  --dev 0.2 --test 0.2 --out "$tmp/n1" --summary-json "$tmp/n1.json"
for f in train.en train.xx tst2012.en tst2012.xx tst2013.en tst2013.xx vocab.en vocab.xx; do
  [ -e "$tmp/n1/$f" ] || { echo "FAIL nmt-data: no $f"; failed=$((failed + 1)); }
done
[ "$(head -3 "$tmp/n1/vocab.xx" | tr '\n' ' ')" = "<unk> <s> </s> " ] || { echo "FAIL nmt-data vocab specials"; failed=$((failed + 1)); }
grep -q '"pairs": 7' "$tmp/n1.json" || { echo "FAIL nmt-data summary"; failed=$((failed + 1)); }
check nmt-data-no-locale nonzero "zz/LC_MESSAGES: cannot open folder" "$bin" nmt-data --locale-dir "$tmp/locale" --lang zz --out "$tmp/n2"
head -c 300 /dev/urandom > "$loc/c.mo"
check nmt-data-random-mo nonzero "c.mo: not a gettext .mo file" "$bin" nmt-data --locale-dir "$tmp/locale" --lang xx --out "$tmp/n3"
head -c 100 "$fx/a_le.mo" > "$loc/c.mo"
check nmt-data-truncated-mo nonzero "c.mo: truncated" "$bin" nmt-data --locale-dir "$tmp/locale" --lang xx --out "$tmp/n4"
for o in n2 n3 n4; do [ -e "$tmp/$o" ] && { echo "FAIL: nmt-data bad input left $tmp/$o"; failed=$((failed + 1)); }; done

# nmt, attention and nmt-infer on a tiny corpus in tensorflow/nmt's layout
nd=$tmp/iwslt; mkdir -p "$nd"
words=(xin chao ban toi la mot cai nha dep qua)
ewords=(hello friend i am a the house nice very good)
: > "$nd/train.vi"; : > "$nd/train.en"
for i in $(seq 1 40); do
  v=""; e=""; for k in $(seq 1 $((i % 5 + 2))); do v="$v ${words[$(((i + k) % 10))]}"; e="$e ${ewords[$(((i + k) % 10))]}"; done
  echo $v >> "$nd/train.vi"; echo $e >> "$nd/train.en"
done
head -6 "$nd/train.vi" > "$nd/tst2012.vi"; head -6 "$nd/train.en" > "$nd/tst2012.en"
tail -5 "$nd/train.vi" > "$nd/tst2013.vi"; tail -5 "$nd/train.en" > "$nd/tst2013.en"
{ printf '<unk>\n<s>\n</s>\n'; printf '%s\n' "${words[@]}"; } > "$nd/vocab.vi"
{ printf '<unk>\n<s>\n</s>\n'; printf '%s\n' "${ewords[@]}"; } > "$nd/vocab.en"
small="--steps 4 --batch 8 --units 8 --eval-every 2 --beam 3"
check nmt-help 0 "--attention" "$bin" nmt --help
check nmt-tiny 0 "test: perplexity" "$bin" nmt --data "$nd" $small --out "$tmp/m1" --summary-json "$tmp/m1.json"
for f in best.tcck vocab.src vocab.tgt metrics.csv nmt_dev.png test.greedy.en test.beam3.en; do
  [ -s "$tmp/m1/$f" ] || { echo "FAIL nmt-tiny: no $f"; failed=$((failed + 1)); }
done
for k in dev_bleu test_bleu test_perplexity train_seconds target_tokens_per_second; do
  grep -q "\"$k\"" "$tmp/m1.json" || { echo "FAIL nmt summary: no $k"; failed=$((failed + 1)); }
done
check attention-tiny 0 "attention scaled_luong" "$bin" attention --data "$nd" $small --out "$tmp/m2"
[ -s "$tmp/m2/attention.png" ] || { echo "FAIL attention: no attention.png"; failed=$((failed + 1)); }
check attention-bahdanau 0 "attention normed_bahdanau, bidirectional" "$bin" nmt --data "$nd" $small --attention normed_bahdanau \
  --bidirectional --out "$tmp/m3"
check nmt-bad-attention nonzero "unknown kind 'dot'" "$bin" nmt --data "$nd" --attention dot --out "$tmp/m4"
check nmt-infer-greedy 0 "5 sentences" "$bin" nmt-infer --checkpoint "$tmp/m2/best.tcck" --input "$nd/tst2013.vi" \
  --output "$tmp/hyp.en" --attention-png "$tmp/att.png"
[ "$(wc -l < "$tmp/hyp.en")" = 5 ] && [ -s "$tmp/att.png" ] || { echo "FAIL nmt-infer outputs"; failed=$((failed + 1)); }
check nmt-infer-beam 0 "beam search" "$bin" nmt-infer --checkpoint "$tmp/m2/best.tcck" --input "$nd/tst2013.vi" --beam 10
check nmt-infer-sample 0 "sampling" "$bin" nmt-infer --checkpoint "$tmp/m1/best.tcck" --input "$nd/tst2013.vi" --sample 0.7
check bleu-of-infer 0 "BLEU = " "$bin" bleu "$nd/tst2013.en" "$tmp/hyp.en"
# bad input: mismatched line counts, a vocabulary without the special tokens, another vocabulary's checkpoint,
# an empty / non-UTF-8 input
cp -r "$nd" "$tmp/bad1"; echo "extra line" >> "$tmp/bad1/train.en"
check nmt-line-counts nonzero "train.vi has 40 lines but .*train.en has 41" "$bin" nmt --data "$tmp/bad1" --out "$tmp/m5"
cp -r "$nd" "$tmp/bad2"; printf '%s\n' "${words[@]}" > "$tmp/bad2/vocab.vi"
check nmt-vocab-specials nonzero "bad2/vocab.vi:1: a vocabulary file starts with <unk>, <s>, </s>" "$bin" nmt --data "$tmp/bad2" --out "$tmp/m6"
{ printf '<unk>\n<s>\n</s>\n'; printf '%s\n' "${words[@]}" extra1 extra2; } > "$tmp/other.vocab"
check nmt-infer-other-vocab nonzero "another vocabulary" "$bin" nmt-infer --checkpoint "$tmp/m1/best.tcck" --vocab-src "$tmp/other.vocab" \
  --input "$nd/tst2013.vi" --output "$tmp/o8.txt"
: > "$tmp/empty.vi"
check nmt-infer-empty nonzero "empty.vi: empty file" "$bin" nmt-infer --checkpoint "$tmp/m1/best.tcck" --input "$tmp/empty.vi" --output "$tmp/o9.txt"
printf 'xin \xff chao\n' > "$tmp/bin.vi"
check nmt-infer-not-utf8 nonzero "bin.vi:1: invalid UTF-8" "$bin" nmt-infer --checkpoint "$tmp/m1/best.tcck" --input "$tmp/bin.vi" --output "$tmp/o10.txt"
check nmt-infer-not-checkpoint nonzero "not a tensorcook checkpoint" "$bin" nmt-infer --checkpoint "$nd/train.vi" --input "$nd/tst2013.vi" \
  --vocab-src "$tmp/m1/vocab.src" --vocab-tgt "$tmp/m1/vocab.tgt"
for o in m4 m5 m6 o8.txt o9.txt o10.txt; do [ -e "$tmp/$o" ] && { echo "FAIL: nmt bad input left $tmp/$o"; failed=$((failed + 1)); }; done
