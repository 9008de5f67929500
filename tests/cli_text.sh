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
