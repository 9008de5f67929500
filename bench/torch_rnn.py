"""PyTorch's nn.LSTM / nn.GRU (one layer, batch_first) over the shapes of
bench_rnn.c: batch 128, 25 steps, 512 -> 512, forward + backward of the sum
of the output sequence (gradients of input, weights and biases); best of
`steps` runs, in sequences/s.
Usage: OMP_NUM_THREADS=N /usr/bin/python3 bench/torch_rnn.py N [steps]"""
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(threads)
B, T, I, H = 128, 25, 512, 512
for name, cls in (('lstm', torch.nn.LSTM), ('gru', torch.nn.GRU)):
    torch.manual_seed(1)
    net = cls(I, H, batch_first=True)
    x = (torch.rand(B, T, I) - 0.5).requires_grad_(True)
    best = 0.0
    for s in range(-1, steps):
        t0 = time.perf_counter()
        net.zero_grad()
        x.grad = None
        y, _ = net(x)
        y.sum().backward()
        rate = B / (time.perf_counter() - t0)
        if s >= 0:
            best = max(best, rate)
    print(f'{name:5s} threads {threads}  pytorch {best:7.1f} sequences/s')
