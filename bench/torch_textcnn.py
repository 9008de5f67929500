"""The textcnn recipe's network in PyTorch, trained on the very ids the
recipe exported (OUT/train.ids, train.labels, val.ids, val.labels), with the
same budget: Embedding 128 (uniform +-0.05), Conv1D widths 3/4/5 x 128 VALID
ReLU (Glorot uniform, zero bias), merged along time (default) or channels,
global max, Dropout 0.5, Dense 2 (Glorot), softmax cross-entropy + 0.001 *
l2_loss of the conv kernels (TFLearn's L2 regulariser), Adam 1e-3, batch 32,
5 epochs, validation accuracy per epoch.

    /usr/bin/python3 bench/torch_textcnn.py OUT [--merge channels] [--epochs 5] [--threads 1] [--seed 42]
"""
import argparse
import json
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load(prefix):
    x = np.loadtxt(prefix + '.ids', dtype=np.int64, ndmin=2)
    y = np.loadtxt(prefix + '.labels', dtype=np.int64, ndmin=1)
    return torch.from_numpy(x), torch.from_numpy(y)


class TextCNN(nn.Module):
    def __init__(self, vocab, channels):
        super().__init__()
        self.emb = nn.Embedding(vocab, 128)
        nn.init.uniform_(self.emb.weight, -0.05, 0.05)
        self.convs = nn.ModuleList([nn.Conv1d(128, 128, k) for k in (3, 4, 5)])
        for c in self.convs:
            nn.init.xavier_uniform_(c.weight)
            nn.init.zeros_(c.bias)
        self.channels = channels
        self.fc = nn.Linear(384 if channels else 128, 2)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        e = self.emb(x).transpose(1, 2)            # [B, 128, T]
        hs = [F.relu(c(e)) for c in self.convs]    # [B, 128, T-k+1]
        if self.channels:
            h = torch.cat([t.max(dim=2).values for t in hs], dim=1)
        else:
            h = torch.cat(hs, dim=2).max(dim=2).values   # TFLearn's merge along time
        return self.fc(self.drop(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--merge', default='time')
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--vocab', type=int, default=10000)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--summary-json')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xt, yt = load(a.out + '/train')
    xv, yv = load(a.out + '/val')
    m = TextCNN(a.vocab, a.merge == 'channels')
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    n = xt.shape[0]
    train_time, train_cpu, seen = 0.0, 0.0, 0
    for epoch in range(1, a.epochs + 1):
        m.train()
        t0, c0 = time.perf_counter(), cpu_seconds()
        perm = torch.randperm(n)
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            logits = m(xt[idx])
            loss = F.cross_entropy(logits, yt[idx])
            loss = loss + sum(0.001 * 0.5 * (c.weight ** 2).sum() for c in m.convs)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += idx.numel()
        train_time += time.perf_counter() - t0
        train_cpu += cpu_seconds() - c0
        m.eval()
        with torch.no_grad():
            lv = m(xv)
            vloss = F.cross_entropy(lv, yv).item()
            vacc = (lv.argmax(1) == yv).float().mean().item()
        print('epoch %d: loss %.5f val_loss %.5f val_acc %.4f' % (epoch, loss.item(), vloss, vacc), flush=True)
    sps = seen / train_time
    print('validation accuracy %.4f (loss %.4f); %.1f s, %.1f s CPU (%.0f samples/s)' % (vacc, vloss, train_time, train_cpu, sps))
    if a.summary_json:
        with open(a.summary_json, 'w') as f:
            json.dump({'val_accuracy': vacc, 'val_loss': vloss, 'train_seconds': train_time,
                   'cpu_seconds': train_cpu, 'samples': seen, 'samples_per_second': sps}, f)


if __name__ == '__main__':
    main()
