"""The PyTorch twin of Loom's GANs (include/loom/loom-gan.h): DCGAN, the fully
convolutional texture GAN and the pix2pix label→image GAN, with the same
layers, parameter names and weights files.

    from gan import Gan
    gan = Gan("texture-gan", channels=3, latent=8, levels=3, g_width=16, d_width=16,
              tileable=True)
    image = gan.generator(torch.randn(1, 8, 16, 16))     # 1×3×128×128, tiles seamlessly
    gan.save("texture.safetensors")                      # Loom loads it
    gan = Gan.load("texture.safetensors")                # a file Loom saved

Images are in [−1, 1].  Train at scale with PyTorch and bring the file back.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loomweights  # noqa: E402


from unet import UNet  # noqa: E402


def _init(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, kind, channels, latent, levels, g_width, tileable):
        super().__init__()
        self.kind, self.levels = kind, levels
        convs, norms = [], {}
        for i in range(levels + 1):
            cin = latent if i == 0 else g_width << (levels - i)
            width = channels if i == levels else g_width << (levels - 1 - i)
            if kind == "dcgan":
                stride, pad = (1, 0) if i == 0 else (2, 1)
                convs.append(nn.ConvTranspose2d(cin, width, 4, stride, pad, bias=False))
            else:
                convs.append(nn.Conv2d(cin, width, 3, padding=1, bias=i == levels,
                                       padding_mode="circular" if tileable else "zeros"))
            if i < levels:
                norms[str(i)] = nn.BatchNorm2d(width)
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleDict(norms)
        _init(self)

    def forward(self, z):
        h = z
        for i, conv in enumerate(self.convs):
            if self.kind != "dcgan" and i < self.levels:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = conv(h)
            if i < self.levels:
                h = F.relu(self.norms[str(i)](h))
        return torch.tanh(h)


class UNetGenerator(UNet):
    """pix2pix's G: Loom's U-Net on label planes and noise, tanh on its head."""

    def forward(self, x):
        return torch.tanh(super().forward(x))


class Discriminator(nn.Module):
    def __init__(self, kind, channels, levels, d_width):
        super().__init__()
        self.levels = levels
        convs, norms = [], {}
        for i in range(levels + 1):
            cin = channels if i == 0 else d_width << (i - 1)
            if i < levels:
                convs.append(nn.Conv2d(cin, d_width << i, 4, 2, 1, bias=False))
                if i > 0:
                    norms[str(i)] = nn.BatchNorm2d(d_width << i)
            elif kind == "dcgan":
                convs.append(nn.Conv2d(cin, 1, 4, 1, 0, bias=False))
            else:
                convs.append(nn.Conv2d(cin, 1, 3, 1, 1))
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleDict(norms)
        _init(self)

    def forward(self, x):
        h = x
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i == self.levels:
                break
            if str(i) in self.norms:
                h = self.norms[str(i)](h)
            h = F.leaky_relu(h, 0.2)
        return h


class Gan(nn.Module):
    def __init__(self, name="dcgan", channels=3, latent=100, levels=4, g_width=64, d_width=64,
                 tileable=False, classes=0):
        super().__init__()
        if name not in ("dcgan", "texture-gan", "pix2pix"):
            raise ValueError(f"{name!r} is not a GAN Loom builds")
        self.config = dict(name=name, channels=channels, latent=latent, levels=levels,
                           g_width=g_width, d_width=d_width, tileable=tileable, classes=classes)
        if name == "pix2pix":     # G reads label planes and noise; D labels and image
            self.generator = UNetGenerator(classes + latent, channels, levels, g_width)
        else:
            self.generator = Generator(name, channels, latent, levels, g_width, tileable)
        self.discriminator = Discriminator(name, channels + classes, levels, d_width)

    def architecture(self):
        return dict(self.config)

    def save(self, path, metadata=None):
        """Writes the weights (F32) with Loom's metadata, atomically."""
        loomweights.save_model(path, self, self.architecture(), metadata)

    @classmethod
    def load(cls, path):
        """A file Loom (or this) saved; one with the generator only leaves
        the discriminator as initialised."""
        tensors, metadata = loomweights.load(path)
        arch = json.loads(metadata["loom.architecture"])
        gan = cls(**arch)
        tensors = {k: v for k, v in tensors.items()
                   if k.startswith("generator.") or k.startswith("discriminator.")}
        missing, unexpected = gan.load_state_dict(tensors, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")
                   and not (k.startswith("discriminator.")
                            and not any(t.startswith("discriminator.") for t in tensors))]
        if missing or unexpected:
            raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
        gan.metadata = metadata
        return gan
