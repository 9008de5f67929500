#!/usr/bin/env bash
# Inference speed of imported models, same machine, same run: tensorcook
# (build/bench/bench_onnx, BatchNormalization folded and epilogues fused),
# onnxruntime (npm onnxruntime-node, CPU, graph optimisations on) and
# PyTorch (the torchvision model in eval mode), for ResNet-50, MobileNet-v2
# and Inception-v3 with random weights (bench/onnx_models.py; every engine
# that reads ONNX reads the same file), at batch 1 and 8 on 1 and 2 threads.
# Prints images/s, the ratios of tensorcook to onnxruntime and to PyTorch,
# and tensorcook's GFLOP/s as a fraction of the machine's measured FMA peak
# on as many threads (bench_peak; FLOPs from the models' Conv/Gemm nodes).
# onnxruntime is installed by npm into a temporary folder (mktemp -d), never
# a dependency of tensorcook; without the registry its column is skipped.
# Wall-clock, best of REPEATS: on a shared machine say what the load was.
# Usage: bench/compare_onnx.sh [BUILD_DIR] [REPEATS] [MODEL...]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet50 mobilenet_v2 inception_v3)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in bench_onnx bench_peak; do
  if [ ! -x "$build/bench/$tool" ]; then
    echo "compare_onnx: $build/bench/$tool is missing (make -C $build $tool)" >&2
    exit 1
  fi
done
echo "load before: $(cat /proc/loadavg)"
/usr/bin/python3 "$here/onnx_models.py" "$work/models" --models "${models[@]}" --batch 1 > /dev/null 2> "$work/export.log" ||
  { cat "$work/export.log" >&2; exit 1; }
ort=0
if command -v npm > /dev/null && command -v node > /dev/null &&
   npm install --prefix "$work/ort" --no-audit --no-fund --loglevel=error --ignore-scripts onnxruntime-node \
     > "$work/npm.log" 2>&1; then
  # --ignore-scripts: the package's install script only fetches the CUDA provider (from nuget); the CPU
  # binaries ship inside the package
  ort=1
  echo "onnxruntime-node $(node -e "console.log(require('$work/ort/node_modules/onnxruntime-node/package.json').version)")"
else
  echo "compare_onnx: npm could not install onnxruntime-node (no registry?); the onnxruntime column is skipped"
  tail -3 "$work/npm.log" 2> /dev/null || true
fi
"$build/bench/bench_peak" 1 2 > "$work/peak.txt"
for m in "${models[@]}"; do
  side=224
  [ "$m" = inception_v3 ] && side=299
  f="$work/models/${m}_b1/model.onnx"
  for t in 1 2; do
    for b in 1 8; do
      TENSORCOOK_THREADS=$t "$build/bench/bench_onnx" "$f" "$b" "$repeats" | sed "s|$f|$m|" >> "$work/tc.txt"
    done
    if [ $ort = 1 ]; then
      NODE_PATH="$work/ort/node_modules" node "$here/ort_speed.js" "$f" "$side" "$t" "$repeats" 1 8 | sed "s|$f|$m|" >> "$work/ort.txt"
    fi
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE \
      /usr/bin/python3 "$here/torch_onnx_speed.py" "$t" "$m" 1 8 --repeats "$repeats" >> "$work/torch.txt" 2> /dev/null
  done
  cp "$work/models/${m}_b1/flops.txt" "$work/flops_$m.txt"
done
echo "load after: $(cat /proc/loadavg)"
/usr/bin/python3 - "$work" "${models[@]}" <<'PY'
import os, re, sys
d, models = sys.argv[1], sys.argv[2:]
def table(name):
    out = {}
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return out
    for line in open(p):
        m = re.match(r'\S+ (\S+) batch (\d+) threads (\d+): ([\d.]+) images/s', line)
        if m:
            out[(m[1], int(m[2]), int(m[3]))] = float(m[4])
    return out
tc, ort, th = table('tc.txt'), table('ort.txt'), table('torch.txt')
peak = {int(l.split()[1]): float(l.split()[2]) for l in open(os.path.join(d, 'peak.txt'))}
isa = open(os.path.join(d, 'peak.txt')).read().split()[3]
print(f"measured FMA peak ({isa}): {peak[1]:.1f} GFLOP/s on 1 core, {peak[2]:.1f} on 2")
print(f"{'model':<13} {'batch':>5} {'thr':>3} | {'tc':>7} {'ort':>7} {'torch':>7} | {'tc/ort':>6} {'tc/pt':>6} | {'GFLOP/s':>7} {'%peak':>5}")
for m in models:
    fl = int(open(os.path.join(d, f'flops_{m}.txt')).read())
    for t in (1, 2):
        for b in (1, 8):
            k = (m, b, t)
            a = tc.get(k)
            o, p = ort.get(k), th.get(k)
            fmt = lambda v: f"{v:7.2f}" if v else "      -"
            r = lambda x, y: f"{x / y:5.2f}x" if x and y else "     -"
            g = a * fl * 1e-9 if a else 0
            print(f"{m:<13} {b:>5} {t:>3} | {fmt(a)} {fmt(o)} {fmt(p)} | {r(a, o)} {r(a, p)} | {g:7.1f} {100 * g / peak[t]:4.0f}%")
PY
