#!/usr/bin/env python3
"""DCGAN on Fashion-MNIST: recognisable garments?  The Fréchet distance
between generated images and real ones in the features of a small
classifier trained here on the same data, against the distance between the
two halves of the real test set.  Prints figures and writes a sample grid;
not a test.

    tools/env python3 tools/eval/fashion.py [--seconds 300] [--samples 2000]
        [--size 32|64] [--budget] [--runner build/tools/eval/gan-runner] [--out DIR]

--size 64: the padded 32×32 images enlarged 2× (bilinear) for a DCGAN of 4
levels, its images halved (2×2 means) before the classifier.  --budget:
Loom's defaults as `loom train-gan --kind dcgan --time SECONDS` chooses
them (latent 100; width, batch and learning rate fitted to the time and
the device) instead of the fixed ones below.  The issue's run:
    tools/env python3 tools/eval/fashion.py --size 64 --seconds 600 --budget

Data: Debian's dataset-fashion-mnist (Zalando, MIT licence), 28×28 grey,
padded to 32×32 for a DCGAN of 3 levels (LOOM_EVAL_* of gan-runner set its
size; the defaults here: latent 64, widths 32, batch 64).  The classifier:
two 3×3 convolutions (32, 64 channels, ReLU, 2× max pooling), a 128-unit
layer (the features) and 10 classes, two epochs of Adam; its test
accuracy is printed so the features can be trusted.
"""
import argparse
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
           "bag", "boot"]


def find(name):
    hits = glob.glob(f"/usr/share/**/{name}*", recursive=True)
    if not hits:
        sys.exit(f"{name} not found: install Debian's dataset-fashion-mnist")
    return sorted(hits)[0]


def idx(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.f1, self.f2 = nn.Linear(64 * 5 * 5, 128), nn.Linear(128, 10)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return F.relu(self.f1(x.flatten(1)))

    def forward(self, x):
        return self.f2(self.features(x))


def train_classifier(x, y, epochs=2):
    torch.manual_seed(0)
    net = Classifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = order[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(net(x[b]), y[b]).backward()
            opt.step()
    return net.eval()


def features(net, x):
    with torch.no_grad():
        return torch.cat([net.features(x[i:i + 1000]) for i in range(0, len(x), 1000)]).double()


def frechet(a, b):
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T), torch.cov(b.T)
    # tr(sqrt(ca·cb)) from the eigenvalues of sqrt(ca)·cb·sqrt(ca)
    va, ea = torch.linalg.eigh(ca)
    root = ea @ torch.diag(va.clamp_min(0).sqrt()) @ ea.T
    vals = torch.linalg.eigvalsh(root @ cb @ root).clamp_min(0)
    return float((ma - mb).square().sum() + ca.trace() + cb.trace() - 2 * vals.sqrt().sum())


def grid(images, path, cols=10):
    from skimage.io import imsave
    n, s = len(images), images.shape[-1]
    rows = (n + cols - 1) // cols
    canvas = np.ones((rows * (s + 2) + 2, cols * (s + 2) + 2), np.float32)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        canvas[2 + r * (s + 2):2 + r * (s + 2) + s, 2 + c * (s + 2):2 + c * (s + 2) + s] = im
    imsave(path, (np.clip(canvas, 0, 1) * 255).astype(np.uint8), check_contrast=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--runner", default=os.path.join(here, "..", "..", "build", "tools", "eval",
                                                     "gan-runner"))
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "loom-eval-fashion"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=32, choices=[32, 64])
    ap.add_argument("--budget", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    train_x = idx(find("train-images-idx3-ubyte")).astype(np.float32) / 255
    train_y = idx(find("train-labels-idx1-ubyte")).astype(np.int64)
    test_x = idx(find("t10k-images-idx3-ubyte")).astype(np.float32) / 255
    test_y = idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)

    torch.set_num_threads(os.cpu_count() or 1)
    net = train_classifier(torch.from_numpy(train_x[:, None]), torch.from_numpy(train_y))
    with torch.no_grad():
        accuracy = float((net(torch.from_numpy(test_x[:, None])).argmax(1)
                          == torch.from_numpy(test_y)).float().mean())

    padded = np.zeros((len(train_x), 32, 32), np.float32)
    padded[:, 2:30, 2:30] = train_x
    side = args.size
    if side == 64:
        padded = F.interpolate(torch.from_numpy(padded[:, None]), scale_factor=2, mode="bilinear",
                               align_corners=False)[:, 0].clamp(0, 1).numpy()
    planes = os.path.join(args.out, "train.f32")
    model = os.path.join(args.out, "fashion.safetensors")
    samples = os.path.join(args.out, "samples.f32")
    padded.astype("<f4").tofile(planes)
    env = dict(os.environ)
    fixed = (("LOOM_EVAL_LATENT", "64"), ("LOOM_EVAL_WIDTH", "32"), ("LOOM_EVAL_BATCH", "64"))
    env.setdefault("LOOM_EVAL_LEVELS", "3" if side == 32 else "4")
    if args.budget:
        env["LOOM_EVAL_BUDGET"] = "1"
    else:
        for key, value in fixed:
            env.setdefault(key, value)
    result = subprocess.run([args.runner, "dcgan", planes, "1", str(side), str(side),
                             str(len(padded)), str(args.seconds), model, args.device],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"gan-runner train failed: {result.stderr}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    result = subprocess.run([args.runner, "generate", model, str(args.samples), str(side),
                             str(side), "1", samples, args.device], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gan-runner generate failed: {result.stderr}")
    fake = np.fromfile(samples, dtype="<f4").reshape(args.samples, 1, side, side)
    if side == 64:
        fake = F.avg_pool2d(torch.from_numpy(fake), 2).numpy()
    fake = np.ascontiguousarray(fake[:, 0, 2:30, 2:30])

    half = len(test_x) // 2
    fa = features(net, torch.from_numpy(test_x[:half, None]))
    fb = features(net, torch.from_numpy(test_x[half:, None]))
    fg = features(net, torch.from_numpy(np.ascontiguousarray(fake[:, None])))
    with torch.no_grad():
        kinds = np.bincount(net(torch.from_numpy(np.ascontiguousarray(fake[:, None]))).argmax(1)
                            .numpy(), minlength=10)
    n = min(args.samples, half)
    print(f"Fashion-MNIST, DCGAN {side}×{side} ("
          + ("Loom's defaults fitted to the time" if args.budget else
             f"latent {env['LOOM_EVAL_LATENT']}, widths {env['LOOM_EVAL_WIDTH']}")
          + f") trained {info['seconds']:.0f} s, "
          f"{info['provenance']['steps']} steps of batch {info['provenance']['batch']}")
    print(f"feature classifier: test accuracy {accuracy:.3f}")
    print(f"Fréchet distance, generated ({args.samples}) against test half A: "
          f"{frechet(fg, fa):.2f}")
    print(f"Fréchet distance, test half B ({n}) against test half A:        "
          f"{frechet(fb[:n], fa):.2f}")
    print("generated images by class: " + ", ".join(f"{c} {k}" for c, k in zip(CLASSES, kinds)))
    grid(fake[:100], os.path.join(args.out, "samples.png"))
    print(f"sample grid: {args.out}/samples.png")


if __name__ == "__main__":
    main()
