"""PyTorch's speed on bench/shapes.h's shapes (conv2d forward+backward with
input, kernel and bias gradients; GEMMs; max pooling forward+backward),
printed like bench_ops.
Usage: /usr/bin/python3 bench/torch_ops.py THREADS [REPEATS]
(for 2 threads run it with OMP_WAIT_POLICY=PASSIVE, PyTorch's best setting here)"""
import sys
import time

import torch
import torch.nn.functional as F

CONV = [("mnist_conv1", 128, 28, 28, 1, 5, 32), ("mnist_conv2", 128, 14, 14, 32, 5, 64),
        ("cifar_conv1", 96, 32, 32, 3, 3, 32), ("cifar_conv2", 96, 16, 16, 32, 3, 64),
        ("cifar_conv3", 96, 16, 16, 64, 3, 64)]
POOL = [("mnist_pool1", 128, 28, 28, 32, 2, 2, 0), ("mnist_pool2", 128, 14, 14, 64, 2, 2, 0),
        ("cifar_pool1", 96, 32, 32, 32, 2, 2, 0), ("cifar_pool2", 96, 16, 16, 64, 2, 2, 0),
        ("resnet_pool", 8, 112, 112, 64, 3, 2, 1)]
GEMM = [("matmul_1024", 1024, 1024, 1024), ("lstm_gates", 128, 1024, 2048)]

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(threads)
peak = 202.0 if threads >= 2 else 102.0


def report(name, best, flops):
    g = flops / best * 1e-9
    print(f"{name:<12} threads {threads}  {best * 1e3:8.2f} ms  {g:7.1f} GFLOP/s  {100 * g / 102.0:4.0f}% of 1-core peak  "
          f"{100 * g / peak:4.0f}% of {threads}-core peak", flush=True)
for name, n, h, w, c, k, f in CONV:
    wt = torch.randn(f, c, k, k, requires_grad=True)
    b = torch.zeros(f, requires_grad=True)
    best = float('inf')
    for r in range(repeats + 1):
        x = torch.randn(n, c, h, w, requires_grad=True)
        t = time.perf_counter()
        y = F.conv2d(x, wt, b, padding=k // 2)
        y.backward(torch.ones_like(y))
        t = time.perf_counter() - t
        if r > 0:
            best = min(best, t)
    report(name, best, 3.0 * 2.0 * n * h * w * k * k * c * f)
for name, m, k, n in GEMM:
    a, bm = torch.randn(m, k), torch.randn(k, n)
    best = float('inf')
    for r in range(repeats + 1):
        t = time.perf_counter()
        torch.mm(a, bm)
        t = time.perf_counter() - t
        if r > 0:
            best = min(best, t)
    report(name, best, 2.0 * m * n * k)
for name, n, h, w, c, k, s, pad in POOL:
    best, best_f, best_b = float('inf'), float('inf'), float('inf')
    for r in range(repeats + 1):
        x = torch.randn(n, c, h, w, requires_grad=True)  # NCHW, PyTorch's default layout
        t = time.perf_counter()
        y = F.max_pool2d(x, k, s, pad)
        tf = time.perf_counter()
        y.backward(torch.ones_like(y))
        tb = time.perf_counter()
        if r > 0:
            best, best_f, best_b = min(best, tb - t), min(best_f, tf - t), min(best_b, tb - tf)
    print(f"{name:<12} threads {threads}  {best * 1e3:8.2f} ms  {n * h * w * c / best * 1e-9:7.2f} Gelem/s  "
          f"forward {best_f * 1e3:7.2f} ms  backward {best_b * 1e3:7.2f} ms", flush=True)
