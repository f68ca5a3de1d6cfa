#!/usr/bin/env python3
"""The texture GAN on one freely licensed texture: are its outputs closer to
held-out crops of the texture than a shuffled-patch baseline is?  Prints a
table and writes sample grids; not a test.

    tools/env python3 tools/eval/texture.py [--texture brick|grass|gravel]
        [--seconds 180] [--runner build/tools/eval/gan-runner] [--out DIR]

Texture: scikit-image's sample textures (Debian's python3-skimage; brick,
grass and gravel are public domain), 512×512 grey.  The left 384 columns
train Loom's texture GAN (tileable, the defaults) for SECONDS on the CPU;
the right 128 columns are held out.

Statistic: the sliced Wasserstein distance between the distributions of
7×7 patches (each minus its mean) of a set and of the held-out crops, at
four pyramid levels (full resolution, 1/2, 1/4, 1/8: patches covering 7 to
56 pixels), as Karras et al. (2018) measure GANs.  A texture is its
distribution of local patches at every scale; a patch shuffle keeps the
fine level exactly but breaks every structure across patch seams, which is
what a texture model must get right.  Sets of 16 images of 128×128: the GAN's, the shuffled-patch
baseline's (16×16 patches of the training part, placed at random), and
real crops of the training part (the floor: real against real).
Seams: for the tileable outputs, the mean difference across the wrap edge
against the mean difference between interior neighbours.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

SIDE, COUNT, PATCH = 128, 32, 16


def pyramid(images, levels=4):
    """Gaussian-ish pyramid (2× average pooling) of N×1×H×W images."""
    h = torch.from_numpy(np.ascontiguousarray(images)).float()
    out = [h]
    for _ in range(levels - 1):
        h = F.avg_pool2d(h, 2)
        out.append(h)
    return out


def descriptors(level, size=7, limit=8192, seed=0):
    """Up to LIMIT random SIZE×SIZE patches of a pyramid level, each minus
    its own mean (brightness drifts across the photo; texture is the rest)."""
    p = F.unfold(level, size).transpose(1, 2).reshape(-1, size * size)
    gen = torch.Generator().manual_seed(seed)
    if p.shape[0] > limit:
        p = p[torch.randperm(p.shape[0], generator=gen)[:limit]]
    return p - p.mean(1, keepdim=True)


def swd(a, b, directions=256, seed=1):
    """Sliced Wasserstein distance between two sets of descriptors."""
    gen = torch.Generator().manual_seed(seed)
    d = torch.randn(a.shape[1], directions, generator=gen)
    d /= d.norm(dim=0, keepdim=True)
    n = min(a.shape[0], b.shape[0])
    pa, _ = (a[:n] @ d).sort(0)
    pb, _ = (b[:n] @ d).sort(0)
    return float((pa - pb).abs().mean())


def distances(images, held):
    """SWD per pyramid level (full resolution first) against the held-out set."""
    return [swd(descriptors(x), descriptors(y)) * 1e2
            for x, y in zip(pyramid(images), pyramid(held))]


def crops(rng, image, count, side):
    h, w = image.shape
    out = []
    for _ in range(count):
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        out.append(image[y:y + side, x:x + side])
    return np.stack(out)[:, None]


def shuffled(rng, image, count, side, patch):
    out = np.empty((count, 1, side, side), np.float32)
    h, w = image.shape
    for i in range(count):
        for y in range(0, side, patch):
            for x in range(0, side, patch):
                sy, sx = rng.integers(0, h - patch + 1), rng.integers(0, w - patch + 1)
                out[i, 0, y:y + patch, x:x + patch] = image[sy:sy + patch, sx:sx + patch]
    return out


def seams(images):
    """Mean |difference| across the wrap edge, and between interior neighbours."""
    x = images[:, 0]
    wrap = np.concatenate([np.abs(x[:, :, 0] - x[:, :, -1]).ravel(),
                           np.abs(x[:, 0, :] - x[:, -1, :]).ravel()]).mean()
    inner = np.concatenate([np.abs(np.diff(x, axis=2)).ravel(),
                            np.abs(np.diff(x, axis=1)).ravel()]).mean()
    return wrap, inner


def grid(images, path):
    from skimage.io import imsave
    n = len(images)
    cols = 4
    rows = (n + cols - 1) // cols
    s = images.shape[-1]
    canvas = np.ones((rows * (s + 4) + 4, cols * (s + 4) + 4), np.float32)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        canvas[4 + r * (s + 4):4 + r * (s + 4) + s, 4 + c * (s + 4):4 + c * (s + 4) + s] = im[0]
    imsave(path, (np.clip(canvas, 0, 1) * 255).astype(np.uint8), check_contrast=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--texture", default="brick", choices=["brick", "grass", "gravel"])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--runner", default=os.path.join(here, "..", "..", "build", "tools", "eval",
                                                     "gan-runner"))
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "loom-eval-texture"))
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import skimage.data
    image = getattr(skimage.data, args.texture)().astype(np.float32) / 255.0
    train, held = image[:, :384], image[:, 384:]
    rng = np.random.default_rng(0)
    os.makedirs(args.out, exist_ok=True)
    planes = os.path.join(args.out, "train.f32")
    model = os.path.join(args.out, f"{args.texture}.safetensors")
    samples = os.path.join(args.out, "samples.f32")
    np.ascontiguousarray(train).astype("<f4").tofile(planes)
    result = subprocess.run([args.runner, "texture", planes, "1", str(train.shape[1]),
                             str(train.shape[0]), "1", str(args.seconds), model, args.device],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gan-runner train failed: {result.stderr}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    result = subprocess.run([args.runner, "generate", model, str(COUNT), str(SIDE), str(SIDE), "1",
                             samples, args.device], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gan-runner generate failed: {result.stderr}")
    gan = np.fromfile(samples, dtype="<f4").reshape(COUNT, 1, SIDE, SIDE)

    target = held[None, None]                   # all of it: the most patches
    sets = {
        "Loom texture GAN": gan,
        "shuffled 16×16 patches": shuffled(rng, train, COUNT, SIDE, PATCH),
        "real crops (floor)": crops(rng, train, COUNT, SIDE),
    }
    print(f"texture {args.texture} (skimage, public domain), 512×512 grey; trained on 512×384 for "
          f"{info['seconds']:.0f} s, {info['provenance']['steps']} steps, batch "
          f"{info['provenance']['batch']} of {info['provenance']['crop']}²")
    print(f"{'SWD ×100 to the held-out part':28s} {'128²':>7s} {'64²':>7s} {'32²':>7s} {'16²':>7s}"
          f" {'mean':>7s}")
    for name, images in sets.items():
        d = distances(images, target)
        print(f"{name:28s} " + " ".join(f"{v:7.3f}" for v in d) + f" {np.mean(d):7.3f}")
        grid(images, os.path.join(args.out, name.split()[0].lower() + ".png"))
    wrap, inner = seams(gan)
    print(f"tileable: mean |difference| across the wrap edge {wrap:.4f}, between interior "
          f"neighbours {inner:.4f}")
    print(f"sample grids: {args.out}/*.png")


if __name__ == "__main__":
    main()
