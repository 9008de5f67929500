"""The `tensorcook attention` model in PyTorch, for the speed comparison of
bench/compare_nmt.sh: trained on the data the recipe wrote (DATA/train.SRC,
train.TGT, vocab.*; tst2013.* for decoding) for the same number of steps with
the recipe's configuration, then a batched beam search over the first test
sentences.

Model (recipes/nmt.c, src/models/seq2seq.c): source and target embeddings of
128, a 2-layer LSTM encoder over the padded batch (packed, so padded
positions neither update the state nor the memory), a 2-layer LSTM decoder
initialised from the encoder's final states, scaled_luong attention (keys =
memory W_mem, score = g * keys . h, masked softmax, context = a . memory,
attention vector = [h; context] W_c, no bias), input feeding of the attention
vector into the next step, dropout 0.2 on every layer's input, a projection to
the target vocabulary without bias, masked softmax cross-entropy summed over
tokens and divided by the batch, SGD lr 1.0 with global-norm clipping at 5,
uniform init +-0.1, batch 128, source and target cut at 50, 5 length buckets
(tensorcook's tc_length_bucket / tc_bucket_batches: a shuffle within each
bucket and of the batch order).

Beam search: width K, GNMT length penalty ((5 + len) / 6) ^ alpha on the
ranking, finished beams continue with </s> at no cost, up to twice the longest
source of the batch, batched over sentences and beams (B*K rows a step), state
rows reordered by parent beam; stops when every beam of the batch finished.

    /usr/bin/python3 bench/torch_nmt.py DATA [--steps 30] [--threads 1] [--beam 10] [--beam-sentences 200]
"""
import argparse
import json
import math
import random
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

UNK, SOS, EOS = 0, 1, 2


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def read_vocab(path):
    with open(path, encoding='utf-8') as f:
        return {w: i for i, w in enumerate(line.rstrip('\n') for line in f)}


def read_ids(path, vocab):
    with open(path, encoding='utf-8') as f:
        return [[vocab.get(w, UNK) for w in line.split()] for line in f]


class NMT(nn.Module):
    def __init__(self, vs, vt, U=128, layers=2, dropout=0.2, init=0.1):
        super().__init__()
        self.U, self.L, self.p = U, layers, dropout
        self.emb_src = nn.Embedding(vs, U)
        self.emb_tgt = nn.Embedding(vt, U)
        self.enc = nn.ModuleList([nn.LSTM(U, U, batch_first=True) for _ in range(layers)])
        self.dec = nn.ModuleList([nn.LSTMCell(2 * U if l == 0 else U, U) for l in range(layers)])
        self.w_mem = nn.Linear(U, U, bias=False)
        self.g = nn.Parameter(torch.ones(1))
        self.w_att = nn.Linear(2 * U, U, bias=False)
        self.proj = nn.Linear(U, vt, bias=False)
        for name, p in self.named_parameters():
            if name == 'g':
                continue
            if 'bias' in name:
                nn.init.zeros_(p)
            else:
                nn.init.uniform_(p, -init, init)
        with torch.no_grad():  # BasicLSTMCell's forget bias 1 (torch's gate order i, f, g, o)
            for cell in list(self.enc) + list(self.dec):
                for n, p in cell.named_parameters():
                    if n.startswith('bias_ih'):
                        p[U:2 * U] = 1.0

    def drop(self, x):
        return F.dropout(x, self.p, self.training) if self.p > 0 else x

    def encode(self, src, src_len):
        x = self.emb_src(src)
        hs, cs = [], []
        for lstm in self.enc:
            packed = nn.utils.rnn.pack_padded_sequence(self.drop(x), src_len, batch_first=True, enforce_sorted=False)
            out, (h, c) = lstm(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
            hs.append(h[0])
            cs.append(c[0])
        mask = torch.arange(src.shape[1])[None, :] < src_len[:, None]
        bias = (~mask).float() * -1e9
        return x, self.w_mem(x), bias, hs, cs

    def step(self, ids, att, h, c, memory, keys, bias):
        x = torch.cat([self.emb_tgt(ids), att], 1)
        for l, cell in enumerate(self.dec):
            h[l], c[l] = cell(self.drop(x), (h[l], c[l]))
            x = h[l]
        score = self.g * torch.bmm(keys, x.unsqueeze(2)).squeeze(2) + bias
        a = torch.softmax(score, -1)
        ctx = torch.bmm(a.unsqueeze(1), memory).squeeze(1)
        return self.w_att(torch.cat([x, ctx], 1))

    def loss(self, src, src_len, tgt_in, tgt_out, tgt_mask):
        memory, keys, bias, h, c = self.encode(src, src_len)
        att = torch.zeros(src.shape[0], self.U)
        outs = []
        for t in range(tgt_in.shape[1]):
            att = self.step(tgt_in[:, t], att, h, c, memory, keys, bias)
            outs.append(att)
        logits = self.proj(torch.stack(outs, 1))
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), reduction='none')
        return (ce * tgt_mask.reshape(-1)).sum() / src.shape[0]

    @torch.no_grad()
    def beam(self, src, src_len, K, alpha):
        B, V = src.shape[0], self.proj.out_features
        memory, keys, bias, h, c = self.encode(src, src_len)
        rep = lambda t: t.repeat_interleave(K, 0)
        memory, keys, bias = rep(memory), rep(keys), rep(bias)
        h, c = [rep(t) for t in h], [rep(t) for t in c]
        att = torch.zeros(B * K, self.U)
        ids = torch.full((B * K,), SOS, dtype=torch.long)
        score = torch.full((B, K), -math.inf)
        score[:, 0] = 0
        score = score.reshape(-1)
        length = torch.zeros(B * K)
        fin = torch.zeros(B * K, dtype=torch.bool)
        eos_row = torch.full((V,), -math.inf)
        eos_row[EOS] = 0
        toks, parents = [], []
        base = (torch.arange(B) * K)[:, None]
        for _ in range(int(2 * src_len.max().item())):
            att = self.step(ids, att, h, c, memory, keys, bias)
            logp = torch.log_softmax(self.proj(att), -1)
            logp = torch.where(fin[:, None], eos_row[None, :], logp)
            total = score[:, None] + logp
            nl = length[:, None] + ((~fin)[:, None] & (torch.arange(V)[None, :] != EOS)).float()
            rank = total / ((5 + nl) / 6) ** alpha if alpha != 0 else total
            top = rank.reshape(B, K * V).topk(K, 1).indices
            parent = (base + top // V).reshape(-1)
            v = (top % V).reshape(-1)
            score = total.reshape(B, K * V).gather(1, top).reshape(-1)
            length = nl.reshape(B, K * V).gather(1, top).reshape(-1)
            fin = fin[parent] | (v == EOS)
            h, c, att = [t[parent] for t in h], [t[parent] for t in c], att[parent]
            ids = v
            toks.append(v)
            parents.append(parent)
            if bool(fin.all()):
                break
        out = []  # beam 0 of each sentence, traced back
        for b in range(B):
            r, seq = b * K, []
            for t in range(len(toks) - 1, -1, -1):
                seq.append(int(toks[t][r]))
                r = int(parents[t][r])
            seq.reverse()
            out.append(seq[:seq.index(EOS)] if EOS in seq else seq)
        return out


def bucket_batches(n_buckets, buckets, batch, rng):
    groups = [[] for _ in range(n_buckets + 1)]
    for i, b in enumerate(buckets):
        groups[b].append(i)
    batches = []
    for g in groups:
        rng.shuffle(g)
        batches += [g[i:i + batch] for i in range(0, len(g), batch)]
    rng.shuffle(batches)
    return batches


def make_batch(src, tgt, idx, max_len):
    s = [src[i][:max_len] for i in idx]
    Ts = max(1, max(len(x) for x in s))
    S = torch.full((len(idx), Ts), EOS, dtype=torch.long)
    for r, x in enumerate(s):
        S[r, :len(x)] = torch.tensor(x, dtype=torch.long)
    src_len = torch.tensor([max(1, len(x)) for x in s])
    if tgt is None:
        return S, src_len, None, None, None, 0
    t = [tgt[i][:max_len] for i in idx]
    Tt = max(len(x) for x in t) + 1
    ti = torch.full((len(idx), Tt), EOS, dtype=torch.long)
    to = torch.full((len(idx), Tt), EOS, dtype=torch.long)
    tm = torch.zeros(len(idx), Tt)
    for r, x in enumerate(t):
        ti[r, 0] = SOS
        ti[r, 1:len(x) + 1] = torch.tensor(x, dtype=torch.long)
        to[r, :len(x)] = torch.tensor(x, dtype=torch.long)
        tm[r, :len(x) + 1] = 1
    return S, src_len, ti, to, tm, sum(len(x) + 1 for x in t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('data')
    ap.add_argument('--src', default='vi')
    ap.add_argument('--tgt', default='en')
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--max-len', type=int, default=50)
    ap.add_argument('--buckets', type=int, default=5)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--beam', type=int, default=10)
    ap.add_argument('--length-penalty', type=float, default=0.0)
    ap.add_argument('--beam-sentences', type=int, default=200)
    ap.add_argument('--beam-batch', type=int, default=128)
    ap.add_argument('--summary-json')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    vs, vt = read_vocab('%s/vocab.%s' % (a.data, a.src)), read_vocab('%s/vocab.%s' % (a.data, a.tgt))
    src, tgt = read_ids('%s/train.%s' % (a.data, a.src), vs), read_ids('%s/train.%s' % (a.data, a.tgt), vt)
    keep = [i for i in range(len(src)) if src[i] and tgt[i]]
    width = (a.max_len + a.buckets - 1) // a.buckets
    bk = [min(a.buckets, max(min(len(src[i]), a.max_len) // width, min(len(tgt[i]), a.max_len) // width)) for i in keep]
    m = NMT(len(vs), len(vt))
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    batches, step, tokens, wall, cpu = [], 0, 0, 0.0, 0.0
    m.train()
    while step < a.steps:
        if not batches:
            batches = [[keep[j] for j in b] for b in bucket_batches(a.buckets, bk, a.batch, rng)]
        S, sl, ti, to, tm, nt = make_batch(src, tgt, batches.pop(0), a.max_len)
        w0, c0 = time.perf_counter(), cpu_seconds()
        loss = m.loss(S, sl, ti, to, tm)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        wall += time.perf_counter() - w0
        cpu += cpu_seconds() - c0
        tokens += nt
        step += 1
    print('torch train: %d steps, loss %.3f, %d target tokens in %.2f s wall, %.2f s CPU: %.0f target tokens/s (%.0f per CPU second)'
          % (step, loss.item(), tokens, wall, cpu, tokens / wall, tokens / cpu), flush=True)
    res = {'steps': step, 'train_seconds': wall, 'cpu_seconds': cpu, 'target_tokens_per_second': tokens / wall}
    if a.beam > 1 and a.beam_sentences > 0:
        ts = read_ids('%s/tst2013.%s' % (a.data, a.src), vs)[:a.beam_sentences]
        m.eval()
        w0, c0, n_out = time.perf_counter(), cpu_seconds(), 0
        for at in range(0, len(ts), a.beam_batch):
            S, sl, *_ = make_batch(ts, None, list(range(at, min(len(ts), at + a.beam_batch))), 0 or 10 ** 9)
            n_out += sum(len(x) for x in m.beam(S, sl, a.beam, a.length_penalty))
        bw, bc = time.perf_counter() - w0, cpu_seconds() - c0
        print('torch beam %d: %d sentences (%d output tokens) in %.2f s wall, %.2f s CPU: %.2f sentences/s'
              % (a.beam, len(ts), n_out, bw, bc, len(ts) / bw))
        res.update({'beam_sentences': len(ts), 'beam_seconds': bw, 'beam_cpu_seconds': bc, 'beam_output_tokens': n_out})
    if a.summary_json:
        with open(a.summary_json, 'w') as f:
            json.dump(res, f)


if __name__ == '__main__':
    main()
