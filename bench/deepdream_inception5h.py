#!/usr/bin/python3
"""The DeepDream step of the seed on inception5h's architecture (GoogLeNet as
in tensorflow_inception_graph.pb, up to mixed4d, with its layer names and
channel counts; random weights: the speed does not depend on them).

usage: deepdream_inception5h.py graph OUT.pb
         the frozen graph for `tensorcook deepdream --graph` (written with
         tests/fixtures/gen_tf_graph.py's builder)
       deepdream_inception5h.py time THREADS ITERS [SIZE]
         PyTorch: wall and CPU seconds per step at SIZE x SIZE [224]: forward to
         mixed4d_3x3_bottleneck_pre_relu, mean of channel 139, gradient with
         respect to the image, img += g * 1.5 / mean|g| (NCHW, float32)
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# (name, 1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce): inception5h's
BLOCKS = [("mixed3a", 64, 96, 128, 16, 32, 32), ("mixed3b", 128, 128, 192, 32, 96, 64), "maxpool4",
          ("mixed4a", 192, 96, 204, 16, 48, 64), ("mixed4b", 160, 112, 224, 24, 64, 64),
          ("mixed4c", 128, 128, 256, 24, 64, 64), ("mixed4d", 112, 144, 288, 32, 64, 64)]
LRN = dict(depth_radius=5, bias=1.0, alpha=0.0001, beta=0.75)


def write_graph(path):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    import gen_tf_graph as tfg
    pb = tfg.load_schema()
    rng = np.random.default_rng(5)
    b = tfg.Builder(pb)
    b.placeholder("input", np.zeros((1, 32, 32, 3), np.float32), shape=[-1, -1, -1, 3])
    chans = {"input": 3}

    def conv(name, src, cout, k, stride=1):
        cin = chans[src]
        b.const(name + "_w", rng.standard_normal((k, k, cin, cout)) * np.sqrt(2.0 / (k * k * cin)))
        b.const(name + "_b", np.zeros(cout))
        c = b.op(name + "_pre_relu/conv", "Conv2D", [src, name + "_w"], strides=[1, stride, stride, 1], padding=b"SAME")
        pre = b.op(name + "_pre_relu", "BiasAdd", [c, name + "_b"])
        chans[name] = cout
        return b.op(name, "Relu", [pre])

    def pool(name, src, s):
        chans[name] = chans[src]
        return b.op(name, "MaxPool", [src], ksize=[1, 3, 3, 1], strides=[1, s, s, 1], padding=b"SAME")

    x = conv("conv2d0", "input", 64, 7, 2)
    x = pool("maxpool0", x, 2)
    chans["localresponsenorm0"] = 64
    x = b.op("localresponsenorm0", "LRN", [x], **LRN)
    x = conv("conv2d1", x, 64, 1)
    x = conv("conv2d2", x, 192, 3)
    chans["localresponsenorm1"] = 192
    x = b.op("localresponsenorm1", "LRN", [x], **LRN)
    x = pool("maxpool1", x, 2)
    for blk in BLOCKS:
        if blk == "maxpool4":
            x = pool("maxpool4", x, 2)
            continue
        n, c1, b3, c3, b5, c5, cp = blk
        a = conv(n + "_1x1", x, c1, 1)
        t = conv(n + "_3x3", conv(n + "_3x3_bottleneck", x, b3, 1), c3, 3)
        f = conv(n + "_5x5", conv(n + "_5x5_bottleneck", x, b5, 1), c5, 5)
        p = conv(n + "_pool_reduce", pool(n + "_pool", x, 1), cp, 1)
        b.const(n + "/concat_dim", np.array(3, np.int32), "int32")
        x = b.op(n, "Concat", [n + "/concat_dim", a, t, f, p], N=4)
        chans[n] = c1 + c3 + c5 + cp
    with open(path, "wb") as f:
        f.write(b.g.SerializeToString())


class Net(torch.nn.Module):
    """The same layers in NCHW, up to mixed4d_3x3_bottleneck_pre_relu."""

    def __init__(self):
        super().__init__()
        c = lambda i, o, k: torch.nn.Conv2d(i, o, k)
        self.stem = torch.nn.ModuleList([c(3, 64, 7), c(64, 64, 1), c(64, 192, 3)])
        self.blocks = torch.nn.ModuleList()
        cin = 192
        for blk in BLOCKS:
            if blk == "maxpool4":
                continue
            n, c1, b3, c3, b5, c5, cp = blk
            self.blocks.append(torch.nn.ModuleList([c(cin, c1, 1), c(cin, b3, 1), c(b3, c3, 3), c(cin, b5, 1),
                                                    c(b5, c5, 5), c(cin, cp, 1)]))
            cin = c1 + c3 + c5 + cp
        self.lrn = torch.nn.LocalResponseNorm(11, alpha=0.0001 * 11, beta=0.75, k=1.0)

    @staticmethod
    def same(x, k, s):
        h, w = x.shape[2:]
        ph = max((-(-h // s) - 1) * s + k - h, 0)
        pw = max((-(-w // s) - 1) * s + k - w, 0)
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))

    def conv(self, m, x, s=1):
        return m(self.same(x, m.kernel_size[0], s)) if m.kernel_size[0] > 1 or s > 1 else m(x)

    def pool(self, x, s):
        return F.max_pool2d(F.pad(x, self.pad_amounts(x, s), value=-float("inf")), 3, s)

    def pad_amounts(self, x, s):
        h, w = x.shape[2:]
        ph = max((-(-h // s) - 1) * s + 3 - h, 0)
        pw = max((-(-w // s) - 1) * s + 3 - w, 0)
        return (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)

    def forward(self, x):
        x = self.lrn(self.pool(F.relu(self.conv(self.stem[0], x, 2)), 2))
        x = F.relu(self.conv(self.stem[1], x))
        x = self.pool(self.lrn(F.relu(self.conv(self.stem[2], x))), 2)
        blocks = [b for b in BLOCKS if b != "maxpool4"]
        for i, m in enumerate(self.blocks):
            if blocks[i][0] == "mixed4a":
                x = self.pool(x, 2)
            if blocks[i][0] == "mixed4d":
                return m[1](x)  # mixed4d_3x3_bottleneck_pre_relu
            a = F.relu(m[0](x))
            t = F.relu(self.conv(m[2], F.relu(m[1](x))))
            f = F.relu(self.conv(m[4], F.relu(m[3](x))))
            p = F.relu(m[5](self.pool(x, 1)))
            x = torch.cat([a, t, f, p], 1)


def time_steps(threads, iters, size):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Net().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    img = torch.rand(1, 3, size, size) + 100

    def step():
        x = (img - 117).requires_grad_(True)
        net(x)[:, 139].mean().backward()
        g = x.grad
        img.add_(g * (1.5 / (g.abs().mean() + 1e-7)))

    step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    print("%.4f %.4f" % ((time.perf_counter() - t0) / iters, (time.process_time() - c0) / iters))


if __name__ == "__main__":
    if sys.argv[1] == "graph":
        write_graph(sys.argv[2])
    else:
        time_steps(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 224)
