#!/usr/bin/env bash
# `tensorcook tf info` and `tensorcook tf run` on good and bad graphs: the
# graphs and the PyTorch reference outputs come from tests/fixtures/gen_tf_graph.py.
# Bad input gives a one-line error naming the file, a non-zero exit and no output file.
# Usage: cli_tf.sh TENSORCOOK_BINARY
set -u
bin=$1
fx=$(dirname "$0")/fixtures
CLI_ONE_LINE=1
source "$(dirname "$0")/cli_lib.sh"
if ! /usr/bin/python3 "$fx/gen_tf_graph.py" "$tmp/g" >/dev/null; then
  echo "FAIL: gen_tf_graph.py (needs /usr/bin/python3 with protobuf, numpy, torch) did not run"; exit 1
fi
g=$tmp/g/ops/inception_mixed4d.pb
check tf-help 0 "tensorcook tf run GRAPH.pb --input NAME=FILE.npy" "$bin" tf --help
check tf-info-inputs 0 "input                    float \[?, ?, ?, 3\]" "$bin" tf info "$g"
check tf-info-ops 0 "Conv2D                   7" "$bin" tf info "$g"
check tf-info-names 0 "mixed4d_3x3_bottleneck_pre_relu  *BiasAdd" "$bin" tf info "$g"
check tf-info-lrn 0 "localresponsenorm0  *LRN" "$bin" tf info "$g"
check tf-run 0 "mixed4d \[1, 8, 8, 16\] -> $tmp/y.npy" "$bin" tf run "$g" --input "input=$tmp/g/ops/inception_mixed4d_x.npy" \
  --output mixed4d --out "$tmp/y.npy"
check tf-run-two 0 "softmax2_pre_activation:0 \[1, 10\]" "$bin" tf run "$tmp/g/ops/inception_softmax2_pre_activation.pb" \
  --input "input=$tmp/g/ops/inception_softmax2_pre_activation_x.npy" --output mixed4d_3x3_bottleneck_pre_relu --out "$tmp/b.npy" \
  --output softmax2_pre_activation:0 --out "$tmp/s.npy" --threads 1
/usr/bin/python3 - "$tmp" <<'PY' || { echo "FAIL tf-run: outputs differ from PyTorch's"; failed=$((failed + 1)); }
import sys, numpy as np
t = sys.argv[1]
for got, want in (("y.npy", "inception_mixed4d_y.npy"), ("s.npy", "inception_softmax2_pre_activation_y.npy")):
    a, b = np.load(t + "/" + got), np.load(t + "/g/ops/" + want)
    assert a.dtype == np.float32 and a.shape == b.shape, (got, a.shape, b.shape)
    err = np.abs(a - b).max() / np.abs(b).max()
    assert err < 1e-5, (got, err)
PY
for bad in truncated.pb:"not a TensorFlow GraphDef" random.pb:"not a TensorFlow GraphDef" cycle.pb:"has a cycle through node" \
           missing.pb:"reads 'nowhere:1', which the graph does not have" unknown_op.pb:"node 'weird': operator 'FooBarOp' is not supported"; do
  f=${bad%%:*}; want=${bad#*:}
  check "tf-info-$f" nonzero "$tmp/g/$f: .*$want" "$bin" tf info "$tmp/g/$f"
  check "tf-run-$f" nonzero "$tmp/g/$f: .*$want" "$bin" tf run "$tmp/g/$f" --input "input=$tmp/g/input.npy" --output a --out "$tmp/bad_$f.npy"
done
check tf-no-file nonzero "/nonexistent/g.pb" "$bin" tf info /nonexistent/g.pb
check tf-bad-fetch nonzero "no tensor 'mixed9' to fetch" "$bin" tf run "$g" --input "input=$tmp/g/ops/inception_mixed4d_x.npy" \
  --output mixed4d --out "$tmp/bad1.npy" --output mixed9 --out "$tmp/bad2.npy"
check tf-unfed nonzero "node 'input' (Placeholder): the placeholder is not fed" "$bin" tf run "$g" --output mixed4d --out "$tmp/bad3.npy"
check tf-bad-shape nonzero "is fed a tensor of shape \[1, 9, 9, 3\]" "$bin" tf run "$tmp/g/ops/conv_same_s2.pb" --input "input=$tmp/g/input.npy" \
  --output out --out "$tmp/bad4.npy"
check tf-head-size nonzero "node 'avgpool0' (AvgPool)" "$bin" tf run "$g" --input "input=$tmp/g/input.npy" --output output2 --out "$tmp/bad5.npy"
echo "junk" > "$tmp/junk.npy"
check tf-bad-npy nonzero "junk.npy" "$bin" tf run "$g" --input "input=$tmp/junk.npy" --output mixed4d --out "$tmp/bad6.npy"
check tf-bad-arg nonzero "--input takes NAME=FILE.npy, at most 64 times" "$bin" tf run "$g" --input nothing --output mixed4d --out "$tmp/bad7.npy"
check tf-missing-value nonzero "needs a value" "$bin" tf run "$g" --output mixed4d --out "$tmp/bad8.npy" --input
check tf-missing-out nonzero "needs a value" "$bin" tf run "$g" --input "input=$tmp/g/ops/inception_mixed4d_x.npy" --output mixed4d --out
for f in "$tmp"/bad*.npy; do [ -e "$f" ] && { echo "FAIL: bad input left $f"; failed=$((failed + 1)); }; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
