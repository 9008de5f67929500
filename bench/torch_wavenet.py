"""PyTorch side of bench_wavenet's training step: the same WaveNet (the
fixture generator's implementation, tests/fixtures/gen_wavenet.py) in float32,
one window of receptive field - 1 + target inputs, batch 1, Adam.
Usage: /usr/bin/python3 bench/torch_wavenet.py [--threads N] [--steps N] [--blocks B --layers L --channels C]"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures'))
from gen_wavenet import decoder_logits, decoder_params  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--steps', type=int, default=5)
ap.add_argument('--blocks', type=int, default=2)
ap.add_argument('--layers', type=int, default=10)
ap.add_argument('--channels', type=int, default=64)
ap.add_argument('--target', type=int, default=1024)
a = ap.parse_args()
torch.set_num_threads(a.threads)
B, L, R = a.blocks, a.layers, a.channels
D, S, A, Q = R, 2 * R, 2 * R, 256
p = {k: v.detach().float().requires_grad_() for k, v in decoder_params(B, L, R, D, S, A, Q, 0, 0).items()}
rf = B * (2 ** L - 1) + 1
T = rf - 1 + a.target
ids = torch.randint(0, Q, (1, T + 1))
opt = torch.optim.Adam(list(p.values()), lr=1e-3)
best = best_cpu = 1e30
for s in range(a.steps + 2):
    t0, u0 = time.perf_counter(), time.process_time()
    opt.zero_grad()
    logits = decoder_logits(p, B, L, D, ids[:, :T])
    loss = F.cross_entropy(logits[:, T - a.target:].reshape(-1, Q), ids[:, T + 1 - a.target:].reshape(-1))
    loss.backward()
    opt.step()
    dt, du = time.perf_counter() - t0, time.process_time() - u0
    if s > 1:  # the first two steps warm up, as in bench_wavenet
        best, best_cpu = min(best, dt), min(best_cpu, du)
print('torch %d threads: window %d inputs, %d targets: best %.3f s/step wall, %.3f s/step cpu over %d steps'
      % (a.threads, T, a.target, best, best_cpu, a.steps))
