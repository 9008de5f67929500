"""PyTorch's inference speed for ResNet-50 (images/s) at batch 1 and 8, for the
side-by-side comparison with bench_onnx. Usage:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_onnx_speed.py THREADS"""
import sys
import time

import torch
import torchvision

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
model = torchvision.models.resnet50().eval()
for batch in (1, 8):
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        model(x)
        best = float('inf')
        for _ in range(3 if batch == 8 else 5):
            t = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t)
    print(f'pytorch resnet50 batch {batch} threads {threads}: {batch / best:.2f} images/s')
