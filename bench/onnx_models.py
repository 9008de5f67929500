"""Exports torchvision models (random weights, seeded) to ONNX in the ONNX
backend-test layout (model.onnx + test_data_set_0/input_0.pb, output_0.pb
with PyTorch's output), for `tensorcook onnx test`, bench_onnx and
bench/compare_onnx.sh, with the batch axis dynamic. Also writes flops.txt:
the multiply-adds x 2 of one image through the Conv, Gemm and MatMul nodes
(from ONNX shape inference), for "% of peak" figures. torch.onnx.export in
eval mode folds BatchNormalization into the convolutions itself, so every
engine reads the same folded file. Needs Debian's python3-torch,
python3-torchvision, python3-onnx.
Usage: /usr/bin/python3 bench/onnx_models.py OUT_DIR [--batch N...] [--models NAME...]"""
import argparse
import os

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
import torch
import torchvision

SIZE = {'inception_v3': 299}  # input side; 224 for the others


def make(name):
    if name == 'inception_v3':
        return torchvision.models.inception_v3(aux_logits=False, init_weights=True)
    return getattr(torchvision.models, name)()


def flops(path):
    """2 x multiply-adds of Conv / Gemm / MatMul nodes for the exported batch"""
    m = shape_inference.infer_shapes(onnx.load(path))
    shapes = {}
    for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        shapes[v.name] = [d.dim_value if d.HasField('dim_value') else 1 for d in v.type.tensor_type.shape.dim]
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)
    total = 0
    for n in m.graph.node:
        if n.op_type == 'Conv':
            w, y = shapes[n.input[1]], shapes[n.output[0]]
            total += 2 * int(np.prod(y)) * int(np.prod(w[1:]))
        elif n.op_type in ('Gemm', 'MatMul'):
            a, y = shapes[n.input[0]], shapes[n.output[0]]
            total += 2 * int(np.prod(y)) * a[-1]
    return total


def export(name, model, out_dir, batch):
    d = os.path.join(out_dir, f'{name}_b{batch}')
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    model.eval()
    side = SIZE.get(name, 224)
    x = torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(1))
    path = os.path.join(d, 'model.onnx')
    torch.onnx.export(model, x, path, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    with torch.no_grad():
        y = model(x)
    for kind, t in (('input', x), ('output', y)):
        p = numpy_helper.from_array(t.numpy(), name='input' if kind == 'input' else 'logits')
        with open(os.path.join(d, 'test_data_set_0', f'{kind}_0.pb'), 'wb') as f:
            f.write(p.SerializeToString())
    with open(os.path.join(d, 'flops.txt'), 'w') as f:
        f.write(f'{flops(path) // batch}\n')
    print(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--batch', type=int, nargs='+', default=[1])
    ap.add_argument('--models', nargs='+', default=['resnet18', 'resnet50'])
    a = ap.parse_args()
    for name in a.models:
        torch.manual_seed(0)
        model = make(name)
        for b in a.batch:
            export(name, model, a.out_dir, b)


if __name__ == '__main__':
    main()
