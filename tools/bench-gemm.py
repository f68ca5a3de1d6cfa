#!/usr/bin/env python3
"""GEMM figures of `loom bench` beside torch.mm on the same sizes, in one run.

    tools/bench-gemm.py [--loom build/cli/loom] [--sizes 1024,2048] [--repeat 5]

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


def torch_mm_ms(n, device, repeat):
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=gen).to(device)
    b = torch.rand(n, n, generator=gen).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.mm(a, b)  # warm-up
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        torch.mm(a, b)
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loom", default=os.path.join(os.path.dirname(__file__), "..",
                                                       "build", "cli", "loom"),
                        help="the loom command (may hold arguments, e.g. a loader)")
    parser.add_argument("--sizes", default="1024,2048")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=["cpu", "vulkan"])
    args = parser.parse_args()

    # Full precision on both sides: no TF32 shortcuts in PyTorch's CUDA GEMM.
    torch.backends.cuda.matmul.allow_tf32 = False
    cmd = shlex.split(args.loom) + ["bench", "--json", "--sizes", args.sizes,
                                    "--repeat", str(args.repeat)]
    if args.backend:
        cmd += ["--backend", args.backend]
    loom = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    cuda = torch.cuda.is_available()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name()}" if cuda else ", no CUDA"))
    print(f"{'backend':8} {'what':20} {'Loom ms':>10} {'GFLOP/s':>9}   "
          f"{'PyTorch':>8} {'ms':>10} {'GFLOP/s':>9} {'ratio':>7}")
    cache = {}
    for r in loom:
        if not r["name"].startswith("gemm_"):
            print(f"{r['backend']:8} {r['name']:20} {r['ms_median'] * 1000:9.2f}us")
            continue
        n = int(r["name"].split("_")[1])
        device = "cuda" if r["backend"] == "vulkan" and cuda else "cpu"
        if (n, device) not in cache:
            cache[(n, device)] = torch_mm_ms(n, device, args.repeat)
        t = cache[(n, device)]
        flops = 2.0 * n ** 3
        print(f"{r['backend']:8} {r['name']:20} {r['ms_median']:10.2f} {r['gflops']:9.1f}   "
              f"{device:>8} {t:10.2f} {flops / t / 1e6:9.1f} {r['ms_median'] / t:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
