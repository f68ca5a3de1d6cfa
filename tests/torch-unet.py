#!/usr/bin/env python3
"""Loom's U-Net against its PyTorch twin (tools/torch/unet.py), both ways,
on every backend.  Prints TAP.

    tests/torch-unet.py UNET_RUNNER

torch → loom: PyTorch makes the weights and saves them; Loom loads the file
and must give PyTorch's logits (evaluation: running statistics; training:
batch statistics) and, after a training pass, PyTorch's running statistics.
loom → torch: Loom makes fresh weights and saves them; PyTorch loads the
file and must give Loom's logits and running statistics.
Tolerance: max |loom − torch| / max |torch| ≤ 1e-4.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "torch"))
import loomweights  # noqa: E402
import torchref  # noqa: E402
from unet import UNet  # noqa: E402

SHAPES = [  # in, classes, depth, base, n, h, w
    (3, 3, 2, 4, 2, 16, 12),
    (3, 5, 4, 8, 2, 32, 48),
    (5, 2, 1, 6, 1, 6, 10),
]


def net_for(cfg, seed):
    torch.manual_seed(seed)
    net = UNet(*cfg[:4])
    with torch.no_grad():       # not the trivial running statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net


def forward(net, x, training):
    net.train(training)
    with torch.no_grad():
        return net(x)


def compare(label, got, want, errors):
    err = torchref.relative_error(got.reshape(-1), want.reshape(-1))
    if not err <= torchref.TOLERANCE:
        errors.append(f"{label} off by {err:.3g}")


def main():
    runner = sys.argv[1]
    cases, checks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, cfg in enumerate(SHAPES):
            n, h, w = cfg[4:]
            x = torch.randn(n, cfg[0], h, w, generator=torch.Generator().manual_seed(i))
            for training in (False, True):
                for direction in ("torch2loom", "loom2torch"):
                    name = f"{direction}-{'train' if training else 'eval'}-{i}"
                    entry = dict(name=name, in_channels=cfg[0], classes=cfg[1], depth=cfg[2],
                                 base=cfg[3], n=n, h=h, w=w, training=training)
                    torchref.write(os.path.join(tmp, f"{name}.x"), x)
                    if direction == "torch2loom":
                        net = net_for(cfg, 100 + i)
                        entry["weights"] = os.path.join(tmp, f"{name}.safetensors")
                        net.save(entry["weights"])
                    else:
                        entry["seed"] = 7 + i
                    cases.append(entry)
                    checks.append((entry, x))
        manifest = os.path.join(tmp, "manifest.json")
        with open(manifest, "w") as f:
            json.dump(cases, f)
        print("TAP version 14")
        print(f"1..{2 * len(cases)}")
        number, failed = 0, False
        for device in ("cpu", "vulkan"):
            out = os.path.join(tmp, device)
            os.mkdir(out)
            result = subprocess.run([runner, manifest, out, device], capture_output=True,
                                    text=True, env=torchref.runner_env())
            for line in result.stderr.splitlines():
                print(f"# {line}")
            for entry, x in checks:
                number += 1
                name, training = entry["name"], entry["training"]
                errors = [] if result.returncode == 0 else [f"runner exited {result.returncode}"]
                try:
                    if "weights" in entry:
                        net = UNet.load(entry["weights"])
                    else:
                        net = UNet.load(os.path.join(out, f"{name}.safetensors"))
                    want = forward(net, x, training)
                    got = torch.from_numpy(numpy.fromfile(os.path.join(out, f"{name}.logits"),
                                                          dtype="<f4"))
                    compare("logits", got, want, errors)
                    after, _ = loomweights.load(os.path.join(out, f"{name}.after.safetensors"))
                    for key, value in net.state_dict().items():
                        if key.endswith("running_mean") or key.endswith("running_var"):
                            compare(key, after[key], value, errors)
                except (OSError, ValueError, KeyError) as e:
                    errors.append(str(e))
                failed |= bool(errors)
                print(("ok" if not errors else "not ok") + f" {number} - {device} {name}"
                      + (f": {'; '.join(errors)}" if errors else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
