"""Exports torchvision ResNet-18 and ResNet-50 (random weights, seeded) to ONNX
in the ONNX backend-test layout (model.onnx + test_data_set_0/input_0.pb,
output_0.pb with PyTorch's output), for `tensorcook onnx test` and
bench_onnx. Needs Debian's python3-torch, python3-torchvision, python3-onnx.
Usage: /usr/bin/python3 bench/onnx_models.py OUT_DIR [--batch N]"""
import argparse
import os

import onnx
from onnx import numpy_helper
import torch
import torchvision


def export(name, model, out_dir, batch):
    d = os.path.join(out_dir, f'{name}_b{batch}')
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    model.eval()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    torch.onnx.export(model, x, os.path.join(d, 'model.onnx'), opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    with torch.no_grad():
        y = model(x)
    for kind, t in (('input', x), ('output', y)):
        p = numpy_helper.from_array(t.numpy(), name='input' if kind == 'input' else 'logits')
        with open(os.path.join(d, 'test_data_set_0', f'{kind}_0.pb'), 'wb') as f:
            f.write(p.SerializeToString())
    print(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--batch', type=int, nargs='+', default=[1])
    ap.add_argument('--models', nargs='+', default=['resnet18', 'resnet50'])
    a = ap.parse_args()
    for name in a.models:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)()
        for b in a.batch:
            export(name, model, a.out_dir, b)


if __name__ == '__main__':
    main()
