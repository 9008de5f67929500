#!/usr/bin/env bash
# Installs the Debian packages tensorcook needs to build, test and run its
# recipes. Does nothing (and needs no network) when they are all present.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config   # toolchain
  libopenblas-dev                    # GEMM
  libcmocka-dev                      # unit tests
  zlib1g-dev                         # gzip'd IDX files, checksums
  libcairo2-dev                      # PNG plots
  dataset-fashion-mnist              # the MNIST recipe's default data
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev  # ONNX import (onnx.proto -> C)
  protobuf-compiler python3-protobuf # TF GraphDef test generator (tf_graph.proto -> Python)
  libonnx-testdata                   # the ONNX conformance tests
  fortunes                           # the charrnn recipe's default text
  libsndfile1-dev libsamplerate0-dev # audio files (wavenet), rate conversion
  alsa-utils                         # the wavenet recipe's default speech recordings
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # video decoding (video recipe)
  python3-scipy                      # independent WAV reader for the audio tests
  libhdf5-dev libjson-c-dev          # Keras .h5 import (HDF5, model_config JSON)
  python3-h5py python3-numpy         # the Keras .h5 / .npy test generators
  libjpeg62-turbo-dev libpng-dev     # JPEG/PNG images (the decoders Pillow uses)
  darknet                            # photos and ImageNet synset lists (classify, transfer)
  python3-pil                        # Pillow: reference for image decoding and resizing in tests
  python3-nltk                       # BLEU reference of tests/fixtures/gen_text.py
  python3-torch                      # PyTorch: reference of the generators that run at test time (keras_h5, c3d, visualize, zoo)
  python3-onnx                       # onnx.checker on exported models (test_onnx_export, cli_onnx_export), ops doc check
  python3-torchvision                # the benchmarks' reference models (bench/onnx_models.py)
  libmatio-dev                       # MatConvNet .mat import (the style recipe's VGG19)
  # gettext catalogs with Vietnamese translations: the nmt recipes' default corpus
  gcc-12-locales libgtk-3-common nano bison cpio gawk psmisc sharutils util-linux-locales mc-data
  gnome-desktop3-data libglib2.0-data aspell iso-codes
)
missing=()
for p in "${PACKAGES[@]}" ${TC_EXTRA_PACKAGES:-}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
