#!/usr/bin/env python3
"""Loom's convolutions against PyTorch: forward, input, weight and bias
gradients, every padding mode, on every backend.  Prints TAP.

    tests/torch-conv.py CONV_RUNNER

PyTorch (Debian's python3-torch) computes the expectations at test time from
seeded random data; CONV_RUNNER (tests/conv-runner.c) computes Loom's through
the public API on the CPU backend and on Vulkan (validation layer on).
"""
import sys

import torch
import torch.nn.functional as F

import torchref

MODES = {"zero": 0, "reflect": 1, "circular": 2}

# (N, C, H, W, K, R, S, stride, pad, dilation, mode, bias)
CASES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0), (1, 1), "zero", False),
    (2, 3, 7, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), "zero", True),
    (1, 4, 13, 11, 5, 3, 3, (2, 2), (1, 1), (1, 1), "reflect", True),
    (2, 3, 9, 10, 6, 3, 3, (1, 1), (2, 2), (2, 2), "circular", False),
    (1, 5, 8, 8, 7, 4, 4, (2, 2), (1, 1), (1, 1), "zero", True),
    (3, 2, 6, 7, 3, 1, 1, (1, 1), (0, 0), (1, 1), "zero", True),
    (1, 3, 16, 16, 8, 5, 5, (1, 1), (2, 2), (1, 1), "reflect", False),
    (1, 2, 5, 6, 3, 3, 2, (2, 2), (1, 1), (1, 1), "circular", True),
    (2, 17, 12, 12, 19, 3, 3, (1, 1), (1, 1), (1, 1), "zero", True),
    (1, 3, 6, 5, 70, 3, 3, (1, 1), (1, 1), (1, 1), "circular", True),
    (2, 3, 11, 9, 4, 3, 3, (2, 1), (1, 0), (1, 2), "reflect", True),
    (1, 2, 7, 7, 3, 3, 3, (3, 3), (3, 3), (1, 1), "circular", False),
    (1, 16, 32, 32, 16, 3, 3, (1, 1), (1, 1), (1, 1), "reflect", True),
]


def make_case(i, spec, gen):
    n, c, h, w, k, r, s, stride, pad, dil, mode, bias = spec
    x = torch.randn(n, c, h, w, generator=gen, requires_grad=True)
    wt = torch.randn(k, c, r, s, generator=gen, requires_grad=True)
    b = torch.randn(k, generator=gen, requires_grad=True)
    if mode == "zero":
        y = F.conv2d(x, wt, b if bias else None, stride=stride, padding=pad, dilation=dil)
    else:
        xp = F.pad(x, (pad[1], pad[1], pad[0], pad[0]), mode=mode)
        y = F.conv2d(xp, wt, b if bias else None, stride=stride, dilation=dil)
    dy = torch.randn(y.shape, generator=gen)
    y.backward(dy)
    name = f"conv{i}-{mode}"
    return {
        "name": name,
        "entry": {"name": name, "bias": bias, "conv": {
            "batch": n, "in_channels": c, "in_height": h, "in_width": w,
            "out_channels": k, "kernel_h": r, "kernel_w": s,
            "stride_h": stride[0], "stride_w": stride[1], "pad_h": pad[0], "pad_w": pad[1],
            "dilation_h": dil[0], "dilation_w": dil[1], "pad_mode": MODES[mode]}},
        "inputs": {"x": x, "w": wt, "b": b, "dy": dy},
        "expected": {"y": y, "dx": x.grad, "dw": wt.grad,
                     "db": b.grad if bias else dy.sum(dim=(0, 2, 3))},
    }


def main():
    gen = torch.Generator().manual_seed(2026)
    cases = [make_case(i, spec, gen) for i, spec in enumerate(CASES)]
    return torchref.run(sys.argv[1], cases)


if __name__ == "__main__":
    sys.exit(main())
