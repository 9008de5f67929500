"""PyTorch 1.13 on bench_thin's shapes and phases (the thin first layers:
forward; forward + dW + db; forward + dW + db + dX), timed in process CPU
time like bench_thin, so a loaded machine slows the figures less.
After them the strided stems inc_conv1 (3x3 stride 2 VALID, 299x299) and
res_conv1 (7x7 stride 2, pads of 3, 224x224) at batch 1 and 8, as bench_thin.
Usage: /usr/bin/python3 bench/torch_thin.py [REPEATS] [THREADS]   (10, 1)
BENCH_ONLY=NAME times only the shapes whose name starts with NAME."""
import os
import sys
import time

import torch
import torch.nn.functional as F

# name, batch, h, w, c, k, f, stride, padding
SHAPES = [("mnist_conv1", 128, 28, 28, 1, 5, 32, 1, 2), ("cifar_conv1", 96, 32, 32, 3, 3, 32, 1, 1),
          ("inc_conv1", 1, 299, 299, 3, 3, 32, 2, 0), ("inc_conv1", 8, 299, 299, 3, 3, 32, 2, 0),
          ("res_conv1", 1, 224, 224, 3, 7, 64, 2, 3), ("res_conv1", 8, 224, 224, 3, 7, 64, 2, 3)]
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
only = os.environ.get("BENCH_ONLY", "")


def step(n, h, w, c, k, f, s, pad, wt, b, phase, fmt):
    ho, wo = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    x = torch.randn(n, c, h, w).contiguous(memory_format=fmt).requires_grad_(phase == 2)
    g = torch.ones(n, f, ho, wo).contiguous(memory_format=fmt)
    t = time.process_time()
    y = F.conv2d(x, wt, b, stride=s, padding=pad)
    if phase > 0:
        y.backward(g)
    t = time.process_time() - t
    wt.grad = b.grad = None
    return t


for name, n, h, w, c, k, f, s, pad in SHAPES:
    if not name.startswith(only):
        continue
    b = torch.zeros(f, requires_grad=True)
    best = [float('inf')] * 3
    # the stems in NCHW and in channels_last, the faster kept per phase (PyTorch at its best)
    for fmt in (torch.contiguous_format, torch.channels_last) if s > 1 else (torch.contiguous_format,):
        wt = torch.randn(f, c, k, k).contiguous(memory_format=fmt).requires_grad_(True)
        for r in range(repeats + 1):
            for ph in range(3):
                t = step(n, h, w, c, k, f, s, pad, wt, b, ph, fmt)
                if r > 0:
                    best[ph] = min(best[ph], t)
    gemm = 2.0 * n * ((h + 2 * pad - k) // s + 1) * ((w + 2 * pad - k) // s + 1) * k * k * c * f
    label = f"{name} b{n}" if s > 1 else name
    print(f"{label:<12} fwd {best[0] * 1e3:6.2f} ms {gemm / best[0] * 1e-9:6.1f} GF/s | fwd+dW+db {best[1] * 1e3:6.2f} ms "
          f"{2 * gemm / best[1] * 1e-9:6.1f} GF/s | +dX {best[2] * 1e3:6.2f} ms {3 * gemm / best[2] * 1e-9:6.1f} GF/s",
          flush=True)
