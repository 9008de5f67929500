"""PyTorch counterpart of the default `tensorcook mnist` run, for timing as a
whole process (bench/compare_mnist_process.sh): the same IDX files read and
decompressed (gzip, /255 floats), the same network (conv 5x5 32 SAME relu,
maxpool 2, conv 5x5 64 SAME relu, maxpool 2, dense 1024 relu, dropout 0.15,
dense 10), Adam 1e-3, batch 128, shuffled epochs, 500 iterations, evaluation
on 1000 test images every 10 steps and on all 10,000 at the end.
Usage: OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_mnist_process.py [DATA] [ITERS]"""
import gzip
import os
import struct
import sys
import time

t_start = time.perf_counter()
import numpy as np
import torch
import torch.nn as nn

data = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 500
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
torch.manual_seed(42)


def idx(name):
    path = os.path.join(data, name)
    raw = gzip.open(path).read() if os.path.exists(path) else open(path[:-3], "rb").read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


t_import = time.perf_counter()
xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
t_data = time.perf_counter()
model = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Dropout(0.15),
                      nn.Linear(1024, 10))
opt = torch.optim.Adam(model.parameters(), 1e-3)


def evaluate(n, batch=500):
    model.eval()
    loss = correct = 0.0
    with torch.no_grad():
        for b in range(0, n, batch):
            out = model(xte[b:b + batch])
            loss += nn.functional.cross_entropy(out, yte[b:b + batch], reduction="sum").item()
            correct += (out.argmax(1) == yte[b:b + batch]).sum().item()
    model.train()
    return loss / n, correct / n


batch, perm, pos, t_eval = 128, torch.randperm(len(xtr)), 0, 0.0
t_train = time.perf_counter()
for step in range(1, iters + 1):
    if pos + batch > len(xtr):
        perm, pos = torch.randperm(len(xtr)), 0
    i = perm[pos:pos + batch]
    pos += batch
    opt.zero_grad()
    out = model(xtr[i])
    loss = nn.functional.cross_entropy(out, ytr[i])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        t = time.perf_counter()
        acc = (out.argmax(1) == ytr[i]).float().mean().item()
        vl, va = evaluate(1000)
        t_eval += time.perf_counter() - t
        print(f"Iter {step}, Minibatch Loss= {loss.item():.6f}, Training Accuracy= {acc:.5f}, Test Accuracy= {va:.5f}",
              flush=True)
t = time.perf_counter()
tl, ta = evaluate(len(xte))
t_end = time.perf_counter()
print(f"Testing Accuracy: {ta:.4f} (loss {tl:.4f}) on {len(xte)} images")
print(f"phases: import {t_import - t_start:.2f} s, data {t_data - t_import:.2f} s, "
      f"training {t - t_train - t_eval:.2f} s, periodic eval {t_eval:.2f} s, final eval {t_end - t:.2f} s")
