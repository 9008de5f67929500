"""Quality cost of reduced-precision inference (`tensorcook onnx run
--precision bf16|int8`) against fp32 on the ImageNet-shaped models that
bench/onnx_models.py exports: real photographs (Debian's darknet sample
images and their mirror images) as one batch, ImageNet preprocessing, and
per model the largest output difference (absolute, and relative to the
largest fp32 output), the mean absolute difference, and top-1 agreement
with fp32. Random weights make top-1 agreement weak evidence (the logits of
an untrained network are close together), hence the difference figures.
Usage: /usr/bin/python3 bench/lowp_quality.py TENSORCOOK MODELS_DIR [--models resnet50 ...] [--work DIR]"""
import argparse
import glob
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

SIZE = {'inception_v3': 299}
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def images(side):
    out = []
    for path in sorted(glob.glob('/usr/share/darknet/data/*.jpg')):
        im = Image.open(path).convert('RGB')
        w, h = im.size
        s = side * 256 // 224 / min(w, h)
        im = im.resize((max(side, round(w * s)), max(side, round(h * s))), Image.BILINEAR)
        w, h = im.size
        im = im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
        a = (np.asarray(im, dtype=np.float32) / 255 - MEAN) / STD
        out += [a, a[:, ::-1]]
    return np.ascontiguousarray(np.stack(out).transpose(0, 3, 1, 2))


def run(tc, model, inp, prec, work):
    d = os.path.join(work, prec)
    os.makedirs(d, exist_ok=True)
    subprocess.run([tc, 'onnx', 'run', model, '--input', inp, '--output-dir', d, '--precision', prec], check=True,
                   stdout=subprocess.DEVNULL)
    t = onnx.TensorProto()
    with open(os.path.join(d, 'output_0.pb'), 'rb') as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('tensorcook')
    ap.add_argument('models_dir')
    ap.add_argument('--models', nargs='+', default=['resnet50', 'mobilenet_v2', 'inception_v3'])
    ap.add_argument('--work', default=None)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix='tc_lowp_')
    print('model          precision  max|d|     max|d|/max|y|  mean|d|    top-1 agree  (batch of N real images)')
    for name in a.models:
        model = os.path.join(a.models_dir, name + '_b1', 'model.onnx')
        x = images(SIZE.get(name, 224))
        inp = os.path.join(work, name + '_input.pb')
        with open(inp, 'wb') as f:
            f.write(numpy_helper.from_array(x, 'input').SerializeToString())
        ref = run(a.tensorcook, model, inp, 'fp32', os.path.join(work, name))
        for prec in ('bf16', 'int8'):
            y = run(a.tensorcook, model, inp, prec, os.path.join(work, name))
            d = np.abs(y - ref)
            agree = np.mean(np.argmax(y, 1) == np.argmax(ref, 1))
            print('%-14s %-9s  %-9.3g  %-13.3g  %-9.3g  %d/%d (%.0f%%)' %
                  (name, prec, d.max(), d.max() / np.abs(ref).max(), d.mean(), round(agree * len(y)), len(y),
                   100 * agree))


if __name__ == '__main__':
    main()
