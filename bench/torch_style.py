#!/usr/bin/python3
"""PyTorch side of the style-step benchmark: one step of the cookbook's
neural style transfer (VGG19 conv part with 2x2 average pooling, TF SAME on
odd sizes; content loss on conv4_2, Gram-matrix style losses on conv1_1 ..
conv5_1; total = 5 content + 100 style; gradient w.r.t. the image only;
Adam lr 2.0) at H x W. Usage: torch_style.py THREADS ITERS [H W]; prints
wall and process-CPU seconds per iteration."""
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

threads, iters = int(sys.argv[1]), int(sys.argv[2])
H, W = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (300, 400)
torch.set_num_threads(threads)
torch.manual_seed(0)
convs = [m for m in torchvision.models.vgg19().features if isinstance(m, torch.nn.Conv2d)]  # random weights
for c in convs:
    c.requires_grad_(False)
BLOCKS = [2, 2, 4, 4, 4]
STYLE = {(0, 0): 0.5, (1, 0): 1.0, (2, 0): 1.5, (3, 0): 3.0, (4, 0): 4.0}


def features(x):
    out, h, k = {}, x, 0
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            h = F.relu(convs[k](h))
            k += 1
            if (b, i) in STYLE or (b, i) == (3, 1):
                out[(b, i)] = h
        if b < 4:  # conv5_1 is the last layer needed
            h = F.avg_pool2d(h, 2, 2, ceil_mode=True)
        else:
            break
    return out


def gram(f):
    n, m = f.shape[1], f.shape[2] * f.shape[3]
    ft = f.reshape(n, m)
    return ft @ ft.t(), n, m


content = torch.rand(1, 3, H, W) * 255 - 120
style = torch.rand(1, 3, H, W) * 255 - 120
with torch.no_grad():
    P = features(content)[(3, 1)]
    A = {k: gram(v)[0] for k, v in features(style).items() if k in STYLE}
x = (0.6 * (torch.rand(1, 3, H, W) * 40 - 20) + 0.4 * content).requires_grad_(True)
opt = torch.optim.Adam([x], lr=2.0)


def step():
    f = features(x)
    n, m = P.shape[1], P.shape[2] * P.shape[3]
    lc = ((f[(3, 1)] - P) ** 2).sum() / (4 * n * m)
    ls = 0
    for k, w in STYLE.items():
        g, n, m = gram(f[k])
        ls = ls + w * ((g - A[k]) ** 2).sum() / (4 * n * n * m * m)
    opt.zero_grad()
    (5 * lc + 100 * ls).backward()
    opt.step()


step()  # warm-up
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(iters):
    step()
print("%.4f %.4f" % ((time.perf_counter() - t0) / iters, (time.process_time() - c0) / iters))
