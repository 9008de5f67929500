"""PyTorch 1.13 max pooling on bench_pool's shapes, forward and backward, in
process CPU time like bench_pool, in PyTorch's default NCHW layout and in
channels_last (its NHWC kernels, the layout tensorcook uses).
Usage: /usr/bin/python3 bench/torch_pool.py [REPEATS]   (1 thread)"""
import sys
import time

import torch
import torch.nn.functional as F

POOL = [("mnist_pool1", 128, 28, 28, 32, 2, 2, 0), ("mnist_pool2", 128, 14, 14, 64, 2, 2, 0),
        ("cifar_pool1", 96, 32, 32, 32, 2, 2, 0), ("cifar_pool2", 96, 16, 16, 64, 2, 2, 0),
        ("resnet_pool", 8, 112, 112, 64, 3, 2, 1)]
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
torch.set_num_threads(1)
for name, n, h, w, c, k, s, pad in POOL:
    out = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        bf, bb = float('inf'), float('inf')
        for r in range(repeats + 1):
            x = torch.randn(n, c, h, w).contiguous(memory_format=fmt).requires_grad_(True)
            t = time.process_time()
            y = F.max_pool2d(x, k, s, pad)
            tf = time.process_time()
            g = torch.ones_like(y)
            tg = time.process_time()
            y.backward(g)
            tb = time.process_time()
            if r > 0:
                bf, bb = min(bf, tf - t), min(bb, tb - tg)
        out.append((bf, bb))
    (f0, b0), (f1, b1) = out
    print(f"{name:<12} NCHW forward {f0 * 1e3:7.3f} ms  backward {b0 * 1e3:7.3f} ms | channels_last forward "
          f"{f1 * 1e3:7.3f} ms  backward {b1 * 1e3:7.3f} ms", flush=True)
