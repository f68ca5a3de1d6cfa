#!/usr/bin/env python3
"""The figures of `loom bench` beside PyTorch doing the same work, in one run.

    tools/bench.py [--loom build/cli/loom] [--only gemm,conv] [--sizes 1024,2048]
                   [--repeat 5] [--backend cpu|vulkan]

Loom's CPU backend is compared with PyTorch on the CPU; Loom's Vulkan
devices with PyTorch on CUDA when there is a GPU, else with PyTorch on the
CPU (lavapipe is a CPU driver, so the CPU is its fair opponent).
ratio = Loom ms / PyTorch ms: below 1, Loom is faster.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def gemm(n):
    def make(device, gen):
        a = torch.rand(n, n, generator=gen).to(device)
        b = torch.rand(n, n, generator=gen).to(device)
        return lambda: torch.mm(a, b)
    return make


def conv(n, c, hw, k, kernel, stride, pad, backward, transposed=False):
    """A convolution step (or a transposed one, C→K meaning its own in→out)."""
    def make(device, gen):
        x = torch.randn(n, c, hw, hw, generator=gen).to(device).requires_grad_(backward)
        shape = (c, k, kernel, kernel) if transposed else (k, c, kernel, kernel)
        w = torch.randn(*shape, generator=gen).to(device).requires_grad_(backward)
        b = torch.randn(k, generator=gen).to(device).requires_grad_(backward)
        op = F.conv_transpose2d if transposed else F.conv2d
        with torch.no_grad():
            dy = torch.ones_like(op(x, w, b, stride=stride, padding=pad))

        def step():
            if not backward:
                with torch.no_grad():
                    return op(x, w, b, stride=stride, padding=pad)
            x.grad = w.grad = b.grad = None
            op(x, w, b, stride=stride, padding=pad).backward(dy)
        return step
    return make


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch"))


def unet(batch, size, train):
    """Loom's U-Net benchmark (cli/bench.c) on its PyTorch twin: 4 poolings,
    base 16, RGB in, 4 classes; a training step with Adam, or an inference."""
    def make(device, gen):
        from unet import UNet
        torch.manual_seed(1)
        net = UNet(3, 4, 4, 16).to(device)
        x = torch.rand(batch, 3, size, size, generator=gen).to(device)
        labels = torch.randint(-1, 4, (batch, size, size), generator=gen).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train(train)

        def step():
            if not train:
                with torch.no_grad():
                    return net(x)
            opt.zero_grad()
            F.cross_entropy(net(x), labels, ignore_index=-1).backward()
            opt.step()
        return step
    return make


def dcgan(batch, train):
    """Loom's DCGAN benchmark (cli/bench.c) on its PyTorch twin: 64×64 RGB,
    latent 100, ngf = ndf = 64, BCE; a training step as PyTorch's DCGAN
    example takes it (D on real and detached fake, Adam; G through D, Adam),
    or G alone generating a batch."""
    def make(device, gen):
        from gan import Gan
        torch.manual_seed(1)
        gan = Gan("dcgan", 3, 100, 4, 64, 64).to(device)
        g, d = gan.generator, gan.discriminator
        real = (torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1).to(device)
        ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
        opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        bce = F.binary_cross_entropy_with_logits
        g.train(train)

        def step():
            z = torch.randn(batch, 100, 1, 1, device=device)
            if not train:
                with torch.no_grad():
                    return g(z)
            fake = g(z)
            opt_d.zero_grad()
            (bce(d(real).view(-1), ones) + bce(d(fake.detach()).view(-1), zeros)).backward()
            opt_d.step()
            opt_g.zero_grad()
            bce(d(fake).view(-1), ones).backward()
            opt_g.step()
        return step
    return make


WORK = {
    "dcgan_train_b64": dcgan(64, True),
    "dcgan_gen_64": dcgan(64, False),
    "unet_train_b4_256": unet(4, 256, True),
    "unet_infer_1024": unet(1, 1024, False),
    "conv3x3_64_256_fwd": conv(1, 64, 256, 64, 3, 1, 1, False),
    "conv3x3_64_256_fwdbwd": conv(1, 64, 256, 64, 3, 1, 1, True),
    "conv3x3_16_256_b4_fwdbwd": conv(4, 16, 256, 16, 3, 1, 1, True),
    "convT4x4_128_64_fwdbwd": conv(16, 128, 16, 64, 4, 2, 1, True, transposed=True),
}


def torch_ms(make, device, repeat):
    gen = torch.Generator().manual_seed(0)
    step = make(device, gen)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    step()  # warm-up
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loom", default=os.path.join(os.path.dirname(__file__), "..",
                                                       "build", "cli", "loom"),
                        help="the loom command (may hold arguments, e.g. a loader)")
    parser.add_argument("--only", help="names or prefixes, comma-separated")
    parser.add_argument("--sizes", default="1024,2048")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=["cpu", "vulkan"])
    args = parser.parse_args()

    # Full precision on both sides: no TF32 shortcuts in PyTorch's CUDA kernels.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cmd = shlex.split(args.loom) + ["bench", "--json", "--sizes", args.sizes,
                                    "--repeat", str(args.repeat)]
    for flag in ("only", "backend"):
        if getattr(args, flag):
            cmd += [f"--{flag}", getattr(args, flag)]
    loom = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    cuda = torch.cuda.is_available()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name()}" if cuda else ", no CUDA"))
    print(f"{'backend':8} {'what':26} {'Loom ms':>10} {'GFLOP/s':>9}   "
          f"{'PyTorch':>8} {'ms':>10} {'GFLOP/s':>9} {'ratio':>7}")
    cache = {}
    for r in loom:
        name = r["name"]
        make = gemm(int(name.split("_")[1])) if name.startswith("gemm_") else WORK.get(name)
        if make is None:
            print(f"{r['backend']:8} {name:26} {r['ms_median'] * 1000:9.2f}us")
            continue
        device = "cuda" if r["backend"] == "vulkan" and cuda else "cpu"
        if (name, device) not in cache:
            cache[(name, device)] = torch_ms(make, device, args.repeat)
        t = cache[(name, device)]
        flops = r["gflops"] * r["ms_median"] * 1e6
        print(f"{r['backend']:8} {name:26} {r['ms_median']:10.2f} {r['gflops']:9.1f}   "
              f"{device:>8} {t:10.2f} {flops / t / 1e6:9.1f} {r['ms_median'] / t:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
