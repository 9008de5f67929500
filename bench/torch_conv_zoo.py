"""PyTorch's speed on bench/conv_zoo_shapes.h's layers (read from that file),
printed like bench_conv_zoo: forward alone under no_grad, and forward +
backward (kernel, bias and, unless the layer has <= 4 input channels, input
gradients). Each pass is timed in PyTorch's default NCHW layout and in
channels_last, and the faster is reported (with which), so the comparison is
against PyTorch at its best on this machine.
Usage: /usr/bin/python3 bench/torch_conv_zoo.py THREADS [REPEATS] [BATCH]
(for 2 threads run it with OMP_WAIT_POLICY=PASSIVE, PyTorch's best setting here)"""
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
ENTRY = re.compile(r'\{"(\w+)",\s*' + r',\s*'.join([r'(\d+)'] * 9) + r'\}')
SHAPES = [(m.group(1), *map(int, m.groups()[1:])) for m in ENTRY.finditer(open(os.path.join(here, "conv_zoo_shapes.h")).read())]
if not SHAPES:
    sys.exit("torch_conv_zoo.py: no shapes found in conv_zoo_shapes.h")

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)


def timed(fn):
    best_wall, best_cpu = float("inf"), float("inf")
    for r in range(repeats + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if r > 0:
            best_wall, best_cpu = min(best_wall, w), min(best_cpu, c)
    return best_wall, best_cpu


for name, h, w, c, kh, kw, f, stride, ph, pw in SHAPES:
    ho, wo = (h + 2 * ph - kh) // stride + 1, (w + 2 * pw - kw) // stride + 1
    fwd_flops = 2.0 * batch * ho * wo * kh * kw * c * f
    for train in (False, True):
        best = None
        for fmt in (torch.contiguous_format, torch.channels_last):
            wt = torch.randn(f, c, kh, kw).mul_(0.05).contiguous(memory_format=fmt).requires_grad_(train)
            b = torch.zeros(f, requires_grad=train)
            x = torch.randn(batch, c, h, w).contiguous(memory_format=fmt).requires_grad_(train and c > 4)

            def step():
                if train:
                    y = F.conv2d(x, wt, b, stride=stride, padding=(ph, pw))
                    y.backward(torch.ones_like(y))
                else:
                    with torch.no_grad():
                        F.conv2d(x, wt, b, stride=stride, padding=(ph, pw))
            t = timed(step)
            if best is None or t[0] < best[0][0]:
                best = (t, "nchw" if fmt is torch.contiguous_format else "nhwc")
        (wall, cpu), fmt = best
        flops = fwd_flops * ((3 if c > 4 else 2) if train else 1)
        print(f"{name:<13} {'train' if train else 'fwd':<5} threads {threads} batch {batch}  {wall * 1e3:9.2f} ms  "
              f"{flops / wall * 1e-9:7.1f} GFLOP/s  {cpu * 1e3:9.2f} cpu-ms  {flops / cpu * 1e-9:7.1f} GFLOP/cpu-s  {fmt}",
              flush=True)
