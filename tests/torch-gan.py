#!/usr/bin/env python3
"""Loom's GANs against their PyTorch twin (tools/torch/gan.py), both ways,
on every backend.  Prints TAP.

    tests/torch-gan.py GAN_RUNNER

torch → loom: PyTorch makes the weights and saves them; Loom loads the file
and must give PyTorch's generated images (evaluation: running statistics;
training: batch statistics), the discriminator's logits (batch
statistics) and, after the pass, PyTorch's running statistics.
loom → torch: Loom makes fresh weights and saves them; PyTorch loads the
file and must give Loom's images, logits and running statistics.
Tolerance: max |loom − torch| / max(max |torch|, 0.01) ≤ 1e-4.
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
from gan import Gan  # noqa: E402

CONFIGS = [  # name, channels, latent, levels, g_width, d_width, tileable, classes, n, noise side
    ("dcgan", 3, 16, 3, 4, 4, False, 0, 3, 1),            # 32×32
    ("dcgan", 1, 8, 2, 6, 3, False, 0, 2, 1),             # 16×16, grey
    ("texture-gan", 3, 4, 2, 4, 4, True, 0, 2, 5),        # 20×20 from 5×5 noise, circular
    ("texture-gan", 3, 3, 3, 3, 5, False, 0, 2, 3),       # 24×24, zero padding
    ("pix2pix", 3, 2, 2, 4, 4, False, 3, 2, 12),          # 12×12 labels (3 classes) + noise
]


def gan_for(cfg, seed):
    torch.manual_seed(seed)
    gan = Gan(*cfg[:8])
    with torch.no_grad():       # not the trivial statistics and affines
        for m in gan.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                m.weight.normal_(0.0, 0.2)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1)
    return gan


def side_of(cfg):
    name, levels, noise = cfg[0], cfg[3], cfg[9]
    return 4 << levels if name == "dcgan" else noise if name == "pix2pix" else noise << levels


def compare(label, got, want, errors):
    # Relative to the largest value, but at least 0.01: Loom's fresh DCGAN
    # weights (N(0, 0.02)) with trivial running statistics give images of
    # ~1e-3 in evaluation, where rounding alone is 1e-4 of that.
    got, want = got.reshape(-1), want.reshape(-1)
    err = ((got - want).abs().max() / want.abs().max().clamp_min(0.01)).item()
    if not err <= torchref.TOLERANCE:
        errors.append(f"{label} off by {err:.3g}")


def main():
    runner = sys.argv[1]
    cases, checks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, cfg in enumerate(CONFIGS):
            name_, channels, latent, levels, gw, dw, tileable, classes, n, noise = cfg
            side = side_of(cfg)
            gen = torch.Generator().manual_seed(i)
            z = torch.randn(n, classes + latent, noise, noise, generator=gen)
            x = torch.rand(n, classes + channels, side, side, generator=gen) * 2 - 1
            for training in (False, True):
                for direction in ("torch2loom", "loom2torch"):
                    name = f"{direction}-{'train' if training else 'eval'}-{i}"
                    entry = dict(name=name, kind=name_, channels=channels, latent=latent,
                                 levels=levels, g_width=gw, d_width=dw, tileable=tileable,
                                 classes=classes, n=n,
                                 noise=noise, side=side, training=training)
                    torchref.write(os.path.join(tmp, f"{name}.z"), z)
                    torchref.write(os.path.join(tmp, f"{name}.x"), x)
                    if direction == "torch2loom":
                        entry["weights"] = os.path.join(tmp, f"{name}.safetensors")
                        gan_for(cfg, 100 + i).save(entry["weights"])
                    else:
                        entry["seed"] = 7 + i
                    cases.append(entry)
                    checks.append((entry, z, x))
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
            for entry, z, x in checks:
                number += 1
                name = entry["name"]
                errors = [] if result.returncode == 0 else [f"runner exited {result.returncode}"]
                try:
                    gan = Gan.load(entry.get("weights") or os.path.join(out, f"{name}.safetensors"))
                    gan.generator.train(entry["training"])
                    gan.discriminator.train(True)
                    with torch.no_grad():
                        fake, logits = gan.generator(z), gan.discriminator(x)
                    for label, want in (("fake", fake), ("logits", logits)):
                        got = torch.from_numpy(numpy.fromfile(os.path.join(out, f"{name}.{label}"),
                                                              dtype="<f4"))
                        compare(label, got, want, errors)
                    after, _ = loomweights.load(os.path.join(out, f"{name}.after.safetensors"))
                    for key, value in gan.state_dict().items():
                        if key.endswith("running_mean") or key.endswith("running_var"):
                            compare(key, after[key], value, errors)
                except (OSError, ValueError, KeyError, RuntimeError) as e:
                    errors.append(str(e))
                failed |= bool(errors)
                print(("ok" if not errors else "not ok") + f" {number} - {device} {name}"
                      + (f": {'; '.join(errors)}" if errors else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
