"""PyTorch's training throughput on the same networks as bench_train.c.
Usage: OMP_NUM_THREADS=N OPENBLAS_NUM_THREADS=N OMP_WAIT_POLICY=PASSIVE \
       /usr/bin/python3 bench/torch_train.py N [steps]"""
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
torch.manual_seed(0)
mnist = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Dropout(0.15),
                      nn.Linear(1024, 10))
cifar = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                      nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(4096, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
for name, model, batch, h, c in (("mnist", mnist, 128, 28, 1), ("cifar", cifar, 96, 32, 3)):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.rand(batch, c, h, h), torch.arange(batch) % 10
    for s in range(steps + 2):
        if s == 2:
            t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    t, c = time.perf_counter() - t0, time.process_time() - c0
    print(f"{name:<6} threads {threads}  {batch * steps / t:7.1f} images/s  {c / steps * 1e3:7.2f} cpu-ms/step"
          f"  {t / steps * 1e3:7.2f} wall-ms/step")
