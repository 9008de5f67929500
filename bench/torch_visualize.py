#!/usr/bin/python3
"""PyTorch side of the visualisation-step benchmark: one keras-vis step on
VGG16 at 224x224 (forward to the logits, -logit[20] + 10 LPNorm(6) + 10 TV,
gradient with respect to the image only, RMS normalisation, RMSprop update).
Usage: torch_visualize.py THREADS ITERS; prints wall and process-CPU seconds per iteration."""
import sys
import time

import torch
import torchvision

threads, iters = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = torchvision.models.vgg16().eval()  # random weights: the speed does not depend on them
for p in m.parameters():
    p.requires_grad_(False)
x = (torch.rand(1, 3, 224, 224) * 25.5 + 115).requires_grad_(True)
cache = torch.zeros_like(x)


def step():
    global cache
    n = x.numel()
    act = -m(x)[0, 20]
    lp = (x.abs() ** 6).sum() ** (1 / 6) / n
    tv = ((x[:, :, 1:, :-1] - x[:, :, :-1, :-1]) ** 2 + (x[:, :, :-1, 1:] - x[:, :, :-1, :-1]) ** 2).sum() / n
    (act + 10 * lp + 10 * tv).backward()
    with torch.no_grad():
        g = x.grad / (x.grad.pow(2).mean().sqrt() + 1e-7)
        cache = 0.95 * cache + 0.05 * g * g
        x.sub_(g / (cache + 1e-7).sqrt())
        x.grad = None


step()  # warm-up
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(iters):
    step()
print("%.4f %.4f" % ((time.perf_counter() - t0) / iters, (time.process_time() - c0) / iters))
