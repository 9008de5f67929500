"""PyTorch 1.13 on bench_thin's shapes and phases (the thin first layers:
forward; forward + dW + db; forward + dW + db + dX), timed in process CPU
time like bench_thin, so a loaded machine slows the figures less.
Usage: /usr/bin/python3 bench/torch_thin.py [REPEATS]   (1 thread)"""
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [("mnist_conv1", 128, 28, 28, 1, 5, 32), ("cifar_conv1", 96, 32, 32, 3, 3, 32)]
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
torch.set_num_threads(1)


def step(n, h, w, c, k, f, wt, b, phase):
    x = torch.randn(n, c, h, w, requires_grad=phase == 2)
    g = torch.ones(n, f, h, w)
    t = time.process_time()
    y = F.conv2d(x, wt, b, padding=k // 2)
    if phase > 0:
        y.backward(g)
    t = time.process_time() - t
    wt.grad = b.grad = None
    return t


for name, n, h, w, c, k, f in SHAPES:
    wt = torch.randn(f, c, k, k, requires_grad=True)
    b = torch.zeros(f, requires_grad=True)
    best = [float('inf')] * 3
    for r in range(repeats + 1):
        for ph in range(3):
            t = step(n, h, w, c, k, f, wt, b, ph)
            if r > 0:
                best[ph] = min(best[ph], t)
    gemm = 2.0 * n * h * w * k * k * c * f
    print(f"{name:<12} fwd {best[0] * 1e3:6.2f} ms {gemm / best[0] * 1e-9:6.1f} GF/s | fwd+dW+db {best[1] * 1e3:6.2f} ms "
          f"{2 * gemm / best[1] * 1e-9:6.1f} GF/s | +dX {best[2] * 1e3:6.2f} ms {3 * gemm / best[2] * 1e-9:6.1f} GF/s",
          flush=True)
