#!/usr/bin/env python3
"""Loom's convolutions against PyTorch: forward, input, weight and bias
gradients, every padding mode, on every backend.  Prints TAP.

    tests/torch-conv.py CONV_RUNNER

PyTorch (Debian's python3-torch) computes the expectations at test time from
seeded random data; CONV_RUNNER (tests/conv-runner.c) computes Loom's on
the CPU backend and on Vulkan (with the validation layer on), and the two
are compared here: max |loom - torch| / max |torch| must stay below 1e-4.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy
import torch
import torch.nn.functional as F

MODES = {"zero": 0, "reflect": 1, "circular": 2}
TOLERANCE = 1e-4

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


def torch_case(case, gen):
    n, c, h, w, k, r, s, stride, pad, dil, mode, bias = case
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
    db = b.grad if bias else dy.sum(dim=(0, 2, 3))
    return {"x": x, "w": wt, "b": b, "dy": dy}, {"y": y, "dx": x.grad, "dw": wt.grad, "db": db}


def main():
    runner = sys.argv[1]
    gen = torch.Generator().manual_seed(2026)
    with tempfile.TemporaryDirectory() as tmp:
        manifest, expected = [], {}
        for i, case in enumerate(CASES):
            n, c, h, w, k, r, s, stride, pad, dil, mode, bias = case
            name = f"case{i}"
            inputs, outputs = torch_case(case, gen)
            for key, t in inputs.items():
                t.detach().numpy().astype("<f4").tofile(os.path.join(tmp, f"{name}.{key}"))
            expected[name] = {key: t.detach().numpy().ravel() for key, t in outputs.items()}
            manifest.append({"name": name, "bias": bias, "conv": {
                "batch": n, "in_channels": c, "in_height": h, "in_width": w,
                "out_channels": k, "kernel_h": r, "kernel_w": s,
                "stride_h": stride[0], "stride_w": stride[1], "pad_h": pad[0], "pad_w": pad[1],
                "dilation_h": dil[0], "dilation_w": dil[1], "pad_mode": MODES[mode]}})
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f)

        devices = ["cpu", "vulkan"]
        print("TAP version 14")
        print(f"1..{len(devices) * len(CASES)}")
        number = 0
        failed = False
        for device in devices:
            out = os.path.join(tmp, device)
            os.mkdir(out)
            run = subprocess.run([runner, os.path.join(tmp, "manifest.json"), out, device],
                                 capture_output=True, text=True)
            for line in run.stderr.splitlines():
                print(f"# {line}")
            for i, case in enumerate(CASES):
                number += 1
                name = f"case{i}"
                errors = [] if run.returncode == 0 else [f"conv-runner exited with {run.returncode}"]
                for key, want in expected[name].items():
                    path = os.path.join(out, f"{name}.{key}")
                    if not os.path.exists(path):
                        errors.append(f"{key} missing")
                        continue
                    got = torch.from_numpy(numpy.fromfile(path, dtype="<f4"))
                    want = torch.from_numpy(want)
                    if got.shape != want.shape:
                        errors.append(f"{key} has {got.numel()} values, not {want.numel()}")
                        continue
                    err = ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()
                    if not err <= TOLERANCE:
                        errors.append(f"{key} off by {err:.3g}")
                status = "ok" if not errors else "not ok"
                failed |= bool(errors)
                print(f"{status} {number} - {device} {case}" + (f": {'; '.join(errors)}" if errors else ""))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
