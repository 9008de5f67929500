"""PyTorch's own inference speed (eval mode, no_grad; the torchvision model,
not the ONNX file) in images/s, best of REPEATS after one warm-up, for the
side-by-side comparison with bench_onnx. Usage:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_onnx_speed.py THREADS [MODEL] [BATCH...] [--repeats N]
(MODEL: a torchvision name, default resnet50; BATCH default 1 8)"""
import sys
import time

import torch
import torchvision

args = [a for a in sys.argv[1:]]
repeats = 3
if '--repeats' in args:
    i = args.index('--repeats')
    repeats = int(args[i + 1])
    del args[i:i + 2]
threads = int(args[0]) if args else 1
name = args[1] if len(args) > 1 else 'resnet50'
batches = [int(b) for b in args[2:]] or [1, 8]
torch.set_num_threads(threads)
torch.manual_seed(0)
if name == 'inception_v3':
    model, side = torchvision.models.inception_v3(aux_logits=False, init_weights=True), 299
else:
    model, side = getattr(torchvision.models, name)(), 224
model = model.eval()
for batch in batches:
    x = torch.randn(batch, 3, side, side)
    with torch.no_grad():
        model(x)
        best = float('inf')
        for _ in range(repeats):
            t = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t)
    print(f'pytorch {name} batch {batch} threads {threads}: {batch / best:.2f} images/s', flush=True)
