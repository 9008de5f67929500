"""PyTorch side of bench_vqa: the same VQA model (nn.LSTM x 3 of 512, the
last one's final output, concat with the 4096 image features, 3 x
(Linear 1024, tanh, Dropout 0.5), Linear 1000) in float32, the same batch
shapes (questions of 8 words right-padded to 30), cross-entropy, RMSprop.
Prints wall and process CPU time per step (best, median; the first two steps
are not timed). Usage: /usr/bin/python3 bench/torch_vqa.py [--threads N] [--steps N] [--batch N]"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--steps', type=int, default=10)
ap.add_argument('--batch', type=int, default=32)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class VQA(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(300, 512, num_layers=3, batch_first=True)
        self.dense = nn.ModuleList([nn.Linear(4096 + 512, 1024), nn.Linear(1024, 1024), nn.Linear(1024, 1024)])
        self.out = nn.Linear(1024, 1000)

    def forward(self, img, q):
        _, (h, _) = self.lstm(q)
        x = torch.cat([img, h[-1]], 1)
        for d in self.dense:
            x = F.dropout(torch.tanh(d(x)), 0.5, self.training)
        return self.out(x)


m = VQA()
print('# parameters', sum(p.numel() for p in m.parameters()), '(PyTorch LSTMs have two biases: +6,144)')
opt = torch.optim.RMSprop(m.parameters(), lr=1e-3)
B = a.batch
img = torch.rand(B, 4096)
q = torch.zeros(B, 30, 300)
q[:, :8] = torch.randn(B, 8, 300) * 0.4
y = torch.randint(0, 1000, (B,))
wall, cpu = [], []
for s in range(a.steps + 2):  # two warm-up steps, as bench_vqa
    w0, c0 = time.perf_counter(), time.process_time()
    opt.zero_grad()
    loss = F.cross_entropy(m(img, q), y)
    loss.backward()
    opt.step()
    if s > 1:
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
wall.sort()
cpu.sort()
print('torch vqa %d threads batch %d: wall best %.3f median %.3f s/step; cpu best %.3f median %.3f s/step'
      % (a.threads, B, wall[0], wall[len(wall) // 2], cpu[0], cpu[len(cpu) // 2]))
