"""PyTorch's C3D training step, the same network and data shapes as
bench_c3d.c (16x112x112x3 clips, full widths, 487 classes, Adam).
Usage: OMP_NUM_THREADS=N OPENBLAS_NUM_THREADS=N OMP_WAIT_POLICY=PASSIVE \
       /usr/bin/python3 bench/torch_c3d.py N [steps] [batch] [divisor]"""
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 2
div = int(sys.argv[4]) if len(sys.argv) > 4 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)


def conv(cin, cout):
    return [nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU()]


w = [64 // div, 128 // div, 256 // div, 512 // div, 4096 // div]
model = nn.Sequential(*conv(3, w[0]), nn.MaxPool3d((1, 2, 2)), *conv(w[0], w[1]), nn.MaxPool3d(2),
                      *conv(w[1], w[2]), *conv(w[2], w[2]), nn.MaxPool3d(2), *conv(w[2], w[3]), *conv(w[3], w[3]),
                      nn.MaxPool3d(2), *conv(w[3], w[3]), *conv(w[3], w[3]), nn.ConstantPad3d((1, 1, 1, 1, 0, 0), 0),
                      nn.MaxPool3d(2), nn.Flatten(), nn.Linear(w[3] * 16, w[4]), nn.ReLU(), nn.Dropout(0.5),
                      nn.Linear(w[4], w[4]), nn.ReLU(), nn.Dropout(0.5), nn.Linear(w[4], 487))
if div == 1:  # the same network as tensorcook's C3D summary
    assert sum(p.numel() for p in model.parameters()) == 79991015
opt = torch.optim.Adam(model.parameters(), 1e-4)
x, y = torch.rand(batch, 3, 16, 112, 112), torch.arange(batch) * 37 % 487
for s in range(steps + 2):  # two warm-up steps, as bench_c3d
    if s == 2:
        w0, c0 = time.perf_counter(), time.process_time()
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
wall, cpu = (time.perf_counter() - w0) / steps, (time.process_time() - c0) / steps
print(f"pytorch    c3d threads {threads} batch {batch}: {wall:.3f} s/step wall, {cpu:.3f} s/step cpu")
