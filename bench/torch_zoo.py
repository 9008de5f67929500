"""PyTorch side of bench/bench_zoo.c: the same cases, the same output lines
(MODEL BATCH cpu_ms_per_image images_per_s, best of REPEATS after two
warm-up runs, as bench_zoo), float32, eval mode, torch.no_grad for inference.

  vgg16, vgg19   torchvision's (the same layers as Keras' VGGs)
  resnet50       torchvision's, with the stride of each downsampling block
                 moved from the 3x3 to the first 1x1 convolution: Keras'
                 ResNet50 is v1 (stride on the 1x1 and the shortcut), which
                 has fewer FLOPs than torchvision's v1.5
  inception_v3   torchvision's, without the auxiliary classifier (299x299)
  xception       the PyTorch rewrite of Keras' code in tests/fixtures/
                 gen_zoo.py (imported), with each layer's weights turned
                 into PyTorch's layout once instead of on every call
  vgg16_finetune the transfer recipe's step: torchvision's vgg16 features at
                 256x256, its first four blocks frozen (Keras' layers[:15]),
                 Flatten -> Linear 256 -> ReLU -> Dropout 0.5 -> Linear 1,
                 BCEWithLogits, SGD lr 1e-4 momentum 0.9, batch 16

Run with OMP_NUM_THREADS=N OMP_WAIT_POLICY=PASSIVE (PyTorch's fastest
2-thread setting here): /usr/bin/python3 torch_zoo.py THREADS [REPEATS] [CASE...]
"""
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures'))
import gen_zoo  # noqa: E402  (sets float64 as the default dtype: undone below)

torch.set_default_dtype(torch.float32)


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class FastNet(gen_zoo.Net):
    """gen_zoo.Net in float32 that converts each layer's Keras-layout weights
    to PyTorch's once (the first call) and keeps no per-layer outputs, so a
    forward pass is just the PyTorch ops."""

    def __init__(self, seed):
        super().__init__(seed, dtype=np.float32)
        self.cache = {}
        self.calls = 0

    def begin(self):  # a new forward pass: automatic names start again
        self.counts = {}
        self.calls += 1

    def add_layer(self, name, weights, y):
        if self.calls == 1:
            self.layers.append((name, weights))
        return y

    def prepared(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def conv(self, x, filters, kh, kw, stride=1, padding='valid', bias=True, name=None, act=None):
        name = self.auto('conv2d', name)
        cin = x.shape[1]

        def make():
            k = self.rng.normal(0, math.sqrt(2.0 / (kh * kw * cin)), (kh, kw, cin, filters))
            b = self.rng.uniform(-0.1, 0.1, filters) if bias else None
            return (self.t(k).permute(3, 2, 0, 1).contiguous(), self.t(b) if bias else None)
        w, b = self.prepared(name, make)
        if padding == 'same':
            ph, pw = gen_zoo.same_pads(x.shape[2], kh, stride), gen_zoo.same_pads(x.shape[3], kw, stride)
            if ph[0] == ph[1] and pw[0] == pw[1]:
                y = F.conv2d(x, w, b, stride=stride, padding=(ph[0], pw[0]))
            else:
                y = F.conv2d(F.pad(x, (pw[0], pw[1], ph[0], ph[1])), w, b, stride=stride)
        else:
            y = F.conv2d(x, w, b, stride=stride)
        return self.add_layer(name, [], F.relu(y) if act == 'relu' else y)

    def sepconv(self, x, filters, k=3, name=None):
        name = self.auto('separable_conv2d', name)
        cin = x.shape[1]

        def make():
            dw = self.rng.normal(0, math.sqrt(2.0 / (k * k)), (k, k, cin, 1))
            pw = self.rng.normal(0, math.sqrt(2.0 / cin), (1, 1, cin, filters))
            return (self.t(dw).permute(2, 3, 0, 1).reshape(cin, 1, k, k).contiguous(),
                    self.t(pw).permute(3, 2, 0, 1).contiguous())
        dw, pw = self.prepared(name, make)
        y = F.conv2d(x, dw, None, padding=k // 2, groups=cin)  # SAME, stride 1, odd k: symmetric
        return self.add_layer(name, [], F.conv2d(y, pw))

    def bn(self, x, eps=1e-3, scale=True, name=None):
        name = self.auto('batch_normalization', name)
        c = x.shape[1]

        def make():
            r = self.rng
            return (self.t(r.normal(0, 0.1, c)), self.t(r.uniform(0.5, 1.5, c)),
                    self.t(r.uniform(0.7, 1.3, c)) if scale else None, self.t(r.uniform(-0.2, 0.2, c)))
        m, v, g, b = self.prepared(name, make)
        return self.add_layer(name, [], F.batch_norm(x, m, v, g, b, False, 0.0, eps))

    def dense(self, x, units, act=None, name=None, logits_std=None):
        name = self.auto('dense', name)
        fan_in = x.shape[1]

        def make():
            k = self.rng.normal(0, math.sqrt(2.0 / fan_in), (fan_in, units))
            return self.t(k).t().contiguous(), self.t(self.rng.uniform(-0.1, 0.1, units))
        w, b = self.prepared(name, make)
        y = F.linear(x, w, b)
        if act == 'relu':
            y = F.relu(y)
        elif act == 'softmax':
            y = torch.softmax(y, 1)
        return self.add_layer(name, [], y)



def xception_model():
    net = FastNet(7)

    def run(x):
        net.begin()
        return gen_zoo.xception(net, x)
    return run


def resnet50_v1():
    m = torchvision.models.resnet50()
    for layer in (m.layer2, m.layer3, m.layer4):
        b = layer[0]
        b.conv1.stride, b.conv2.stride = (2, 2), (1, 1)
    return m


def inference_model(name):
    if name == 'vgg16':
        return torchvision.models.vgg16().eval(), 224
    if name == 'vgg19':
        return torchvision.models.vgg19().eval(), 224
    if name == 'resnet50':
        return resnet50_v1().eval(), 224
    if name == 'inception_v3':
        return torchvision.models.inception_v3(aux_logits=False, init_weights=False).eval(), 299
    if name == 'xception':
        return xception_model(), 299
    raise SystemExit('torch_zoo: unknown case ' + name)


def timed(fn):
    c0, w0 = cpu_s(), time.perf_counter()
    fn()
    return cpu_s() - c0, time.perf_counter() - w0


def report(name, batch, cpu, wall):
    print('%s %d %.2f %.2f' % (name, batch, 1e3 * cpu / batch, batch / wall), flush=True)


def inference(name, repeats):
    model, side = inference_model(name)
    # BENCH_BATCH=B: that batch only, as bench_zoo
    for batch in ((int(os.environ['BENCH_BATCH']),) if os.environ.get('BENCH_BATCH') else (1, 8)):
        x = torch.rand(batch, 3, side, side) * 2 - 1
        best = [1e30, 1e30]
        with torch.no_grad():
            for i in range(repeats + 2):
                cpu, wall = timed(lambda: model(x))
                if i > 1:
                    best = [min(best[0], cpu), min(best[1], wall)]
        report(name, batch, *best)


def finetune(repeats):
    batch, side = 16, 256
    base = torchvision.models.vgg16().features
    for p in base[:24].parameters():  # block1..block4 with block4_pool: Keras' layers[1:15]
        p.requires_grad_(False)
    top = nn.Sequential(nn.Flatten(), nn.Linear(512 * 8 * 8, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 1))
    model = nn.Sequential(base, top).train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)
    x = torch.rand(batch, 3, side, side)
    y = (torch.arange(batch) % 2).float().reshape(batch, 1)
    loss_fn = nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    best = [1e30, 1e30]
    for i in range(repeats + 2):
        cpu, wall = timed(step)
        if i > 1:
            best = [min(best[0], cpu), min(best[1], wall)]
    report('vgg16_finetune', batch, *best)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    repeats = max(1, int(sys.argv[2])) if len(sys.argv) > 2 else 3
    torch.set_num_threads(threads)
    cases = sys.argv[3:] or ['vgg16', 'vgg19', 'resnet50', 'inception_v3', 'xception', 'vgg16_finetune']
    torch.manual_seed(0)
    for c in cases:
        if c == 'vgg16_finetune':
            finetune(repeats)
        else:
            inference(c, repeats)


if __name__ == '__main__':
    main()
