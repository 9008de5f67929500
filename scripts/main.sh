#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, and train the
# cookbook's MNIST CNN on Fashion-MNIST. Plots and logs go to out/mnist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
if ./build/tensorcook --help | grep -q ' mnist '; then
  ./build/tensorcook mnist --out out/mnist "$@"
  echo "plots, CSV and TensorBoard logs: $(pwd)/out/mnist/"
else
  ./build/tensorcook demo "$@"
fi
