"""The PyTorch twin of Loom's U-Net (include/loom/loom-unet.h): the same layers,
the same parameter names, the same weights files.

    from unet import UNet
    net = UNet(in_channels=3, classes=4, depth=4, base=16)
    net.save("model.safetensors")                 # Loom loads it
    net = UNet.load("model.safetensors")          # a file Loom saved

Train it with PyTorch's tooling (DistributedDataParallel and the rest) when
one machine is not enough, and bring the file back to GIMP.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loomweights  # noqa: E402


class Level(nn.Module):
    """Two 3×3 convolutions (no bias), each followed by batch norm and ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class UNet(nn.Module):
    def __init__(self, in_channels=3, classes=2, depth=4, base=16):
        super().__init__()
        self.config = {"in_channels": in_channels, "classes": classes, "depth": depth,
                       "base": base}
        for i in range(depth + 1):
            cin = in_channels if i == 0 else base << (i - 1)
            setattr(self, f"enc{i}", Level(cin, base << i))
        for i in range(depth):
            setattr(self, f"dec{i}", Level((base << i) + (base << (i + 1)), base << i))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        depth = self.config["depth"]
        skips = []
        for i in range(depth + 1):
            x = getattr(self, f"enc{i}")(x)
            skips.append(x)
            if i < depth:
                x = F.max_pool2d(x, 2)
        for i in reversed(range(depth)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = getattr(self, f"dec{i}")(torch.cat([skips[i], x], dim=1))
        return self.head(x)

    def architecture(self):
        return dict(name="unet", **self.config, norm="batch", upsample="bilinear")

    def save(self, path, metadata=None):
        """Writes the weights (F32) with Loom's metadata, atomically."""
        loomweights.save_model(path, self, self.architecture(), metadata)

    @classmethod
    def load(cls, path):
        tensors, metadata = loomweights.load(path)
        arch = json.loads(metadata["loom.architecture"])
        if arch.get("name") != "unet":
            raise ValueError(f"{path}: a {arch.get('name')!r}, not a U-Net")
        net = cls(arch["in_channels"], arch["classes"], arch["depth"], arch["base"])
        # A segmentation model's phase-one pixel head and its encoder are not the network's.
        tensors = {k: v for k, v in tensors.items() if not k.startswith(("pixel.", "encoder."))}
        missing, unexpected = net.load_state_dict(tensors, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
        net.metadata = metadata
        return net
