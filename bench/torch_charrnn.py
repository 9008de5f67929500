"""The charrnn recipe's model and data pipeline in PyTorch, for the
side-by-side comparison: same windows (25 characters every 3), same
validation split (the last 5% of the sequences), one-hot inputs, LSTM stack
with dropout 0.5, dense softmax, Adam 1e-3, clipping at global norm 5, batch
128. Prints validation loss (nats/char) after --iters steps and samples/s.
Usage: OMP_NUM_THREADS=N OPENBLAS_NUM_THREADS=N OMP_WAIT_POLICY=PASSIVE \\
       /usr/bin/python3 bench/torch_charrnn.py --text FILE --layers 2 --units 128 --iters 300 --threads N"""
import argparse
import time

import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument('--text', required=True)
ap.add_argument('--layers', type=int, default=3)
ap.add_argument('--units', type=int, default=512)
ap.add_argument('--iters', type=int, default=100)
ap.add_argument('--batch', type=int, default=128)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--max-chars', type=int, default=0)
ap.add_argument('--gen', type=int, default=0, help='also time N characters of one-step generation')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(42)
text = open(a.text, encoding='utf-8').read()
if a.max_chars:
    text = text[:a.max_chars]
chars = sorted(set(text))
idx = {c: i for i, c in enumerate(chars)}
T, STEP = 25, 3
starts = list(range(0, len(text) - T, STEP))
X = torch.tensor([[idx[c] for c in text[s:s + T]] for s in starts])
Y = torch.tensor([idx[text[s + T]] for s in starts])
nval = int(len(starts) * 0.05)
Xt, Yt, Xv, Yv = X[:-nval], Y[:-nval], X[-nval:], Y[-nval:]
V = len(chars)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(V, a.units, a.layers, batch_first=True, dropout=0.5)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(a.units, V)

    def forward(self, ids):
        x = nn.functional.one_hot(ids, V).float()
        y, _ = self.lstm(x)
        return self.out(self.drop(y[:, -1]))


net = Net()
opt = torch.optim.Adam(net.parameters(), 1e-3)
t0, seen, step = time.perf_counter(), 0, 0
while step < a.iters:
    perm = torch.randperm(len(Xt))
    for i in range(0, len(Xt), a.batch):
        if step == a.iters:
            break
        b = perm[i:i + a.batch]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(Xt[b]), Yt[b])
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        seen += len(b)
        step += 1
secs = time.perf_counter() - t0
net.eval()
with torch.no_grad():
    vl = sum(nn.functional.cross_entropy(net(Xv[i:i + 512]), Yv[i:i + 512], reduction='sum').item()
             for i in range(0, len(Xv), 512)) / len(Xv)
print(f'pytorch: {step} steps, train loss {loss.item():.4f}, validation loss {vl:.4f} nats/char, '
      f'{seen / secs:.1f} samples/s ({a.threads} threads)')
if a.gen:
    with torch.no_grad():
        state, x = None, torch.zeros(1, 1, dtype=torch.long)
        t = time.perf_counter()
        for _ in range(a.gen):
            y, state = net.lstm(nn.functional.one_hot(x, V).float(), state)
            p = torch.softmax(net.out(y[:, -1]), -1)
            x = torch.multinomial(p, 1)
        print(f'pytorch generation: {a.gen / (time.perf_counter() - t):.0f} characters/s')
