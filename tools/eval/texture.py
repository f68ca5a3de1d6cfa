#!/usr/bin/env python3
"""The texture GAN against patch-based synthesis (G'MIC) on freely licensed
textures: are Loom's outputs closer to held-out crops of each texture than
a shuffled-patch baseline and than G'MIC's, do they tile, and how much of
each is copied from the sample?  Prints a table per texture and a summary,
writes sample grids; not a test.

    tools/env python3 tools/eval/texture.py [--texture NAME_OR_IMAGE ...]
        [--seconds 180] [--runner build/tools/eval/gan-runner] [--out DIR]
        [--copy-threshold 0.1] [--no-gmic]

Textures: scikit-image's sample textures by name (Debian's python3-skimage;
brick, grass and gravel are public domain, 512×512 grey) or image files,
grey or colour (RGB); the default is data/textures/*.png.  Images larger
than --size (512) are cut to their top-left SIZE × SIZE.  The left three
quarters of the columns are the sample: they train Loom's texture GAN (the
defaults: tileable, flips and turns as the sample's statistics allow) for
SECONDS on the CPU (or --device), and they are G'MIC's exemplar; the right
quarter is held out.

Statistic: the sliced Wasserstein distance between the distributions of
7×7 patches (each minus its mean, per channel) of a set and of the held-out
part, at four pyramid levels (full resolution, 1/2, 1/4, 1/8: patches
covering 7 to 56 pixels), as Karras et al. (2018) measure GANs.  A texture
is its distribution of local patches at every scale; a patch shuffle keeps
the fine level exactly but breaks every structure across patch seams.
Sets of 32 images of 128×128: Loom's (one seed each), G'MIC's
(`gmic SAMPLE syntexturize_matchpatch 128,128`, 32 times), the
shuffled-patch baseline's (16×16 patches of the sample placed at random),
and real crops of the sample (the floor: real against real).

Seams: the mean |difference| across the wrap edge (last column to first,
last row to first) over the mean |difference| between interior
neighbours: 1 or less tiles seamlessly; real crops show what an edge
that does not wrap gives.

Near-copies: for 512 random 16×16 patches of a set, the distance to the
nearest 16×16 patch of the sample (every position): the RMS difference
over the patch's own RMS deviation from its mean (all channels).  A patch
nearer than --copy-threshold (0.1) is a near-copy; held-out crops, which
are no copies, show how often texture alone comes that close.

Times: G'MIC's for the 32 outputs; Loom's training (the budget) plus its
generation of the 32 (both with the programs' start-up).

Colour textures: Debian's mypaint-data-extras (2.0.1-9) ships MyPaint's
paper, canvas and cork backgrounds, 512×512 RGB, CC0-1.0 by its copyright
file (backgrounds/ramon/*: Ramón Miranda 2010; backgrounds/mrmamurk/*:
MrMamurk 2011).  On the host, outside tools/env:
    apt-get download mypaint-data-extras
    dpkg-deb -x mypaint-data-extras_*_all.deb build/mypaint
The full run, six textures × 300 s:
    B=build/mypaint/usr/share/mypaint/backgrounds/ramon
    tools/env python3 tools/eval/texture.py --seconds 300 --texture brick \\
        data/textures/grass.png data/textures/gravel.png "$B/HR_Cork.png" \\
        "$B/HR_Canvas 01.png" "$B/HR_WaterColor.png"
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIDE, COUNT, PATCH = 128, 32, 16
COPY_PATCH, COPY_QUERIES = 16, 512


def pyramid(images, levels=4):
    """Gaussian-ish pyramid (2× average pooling) of N×C×H×W images."""
    h = torch.from_numpy(np.ascontiguousarray(images)).float()
    out = [h]
    for _ in range(levels - 1):
        h = F.avg_pool2d(h, 2)
        out.append(h)
    return out


def descriptors(level, size=7, limit=8192, seed=0):
    """Up to LIMIT random SIZE×SIZE patches of a pyramid level, each minus
    its own mean per channel (brightness drifts across the photo; texture
    is the rest)."""
    c = level.shape[1]
    p = F.unfold(level, size).transpose(1, 2).reshape(-1, c, size * size)
    gen = torch.Generator().manual_seed(seed)
    if p.shape[0] > limit:
        p = p[torch.randperm(p.shape[0], generator=gen)[:limit]]
    return (p - p.mean(2, keepdim=True)).reshape(p.shape[0], -1)


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
    _, h, w = image.shape
    out = []
    for _ in range(count):
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        out.append(image[:, y:y + side, x:x + side])
    return np.stack(out)


def shuffled(rng, image, count, side, patch):
    c, h, w = image.shape
    out = np.empty((count, c, side, side), np.float32)
    for i in range(count):
        for y in range(0, side, patch):
            for x in range(0, side, patch):
                sy, sx = rng.integers(0, h - patch + 1), rng.integers(0, w - patch + 1)
                out[i, :, y:y + patch, x:x + patch] = image[:, sy:sy + patch, sx:sx + patch]
    return out


def seams(images):
    """Mean |difference| across the wrap edge over that between interior neighbours."""
    x = images
    wrap = np.concatenate([np.abs(x[..., 0] - x[..., -1]).ravel(),
                           np.abs(x[..., 0, :] - x[..., -1, :]).ravel()]).mean()
    inner = np.concatenate([np.abs(np.diff(x, axis=3)).ravel(),
                            np.abs(np.diff(x, axis=2)).ravel()]).mean()
    return wrap / inner


def near_copies(images, sample, threshold, seed=2):
    """The share of COPY_QUERIES random patches of IMAGES nearer than
    THRESHOLD to a patch of SAMPLE (the RMS difference over the patch's own
    RMS deviation from its mean), and their median distance."""
    rng = np.random.default_rng(seed)
    n, c, s, _ = images.shape
    k = COPY_PATCH
    q = np.stack([images[i, :, y:y + k, x:x + k].ravel()
                  for i, y, x in zip(rng.integers(0, n, COPY_QUERIES),
                                     rng.integers(0, s - k + 1, COPY_QUERIES),
                                     rng.integers(0, s - k + 1, COPY_QUERIES))])
    q = torch.from_numpy(q).float()
    src = torch.from_numpy(np.ascontiguousarray(sample)).float()[None]
    best = torch.full((q.shape[0],), float("inf"))
    rows = 24
    for y0 in range(0, src.shape[2] - k + 1, rows):
        p = F.unfold(src[:, :, y0:y0 + rows + k - 1], k)[0]          # D × L
        d2 = (q * q).sum(1, keepdim=True) - 2 * q @ p + (p * p).sum(0, keepdim=True)
        best = torch.minimum(best, d2.min(1).values)
    spread = (q - q.mean(1, keepdim=True)).pow(2).mean(1).sqrt().clamp_min(1e-6)
    d = (best.clamp_min(0) / q.shape[1]).sqrt() / spread
    return float((d < threshold).float().mean()), float(d.median())


def grid(images, path):
    n, c, s, _ = images.shape
    cols = 4
    rows = (n + cols - 1) // cols
    canvas = np.ones((c, rows * (s + 4) + 4, cols * (s + 4) + 4), np.float32)
    for i, im in enumerate(images):
        r, col = divmod(i, cols)
        canvas[:, 4 + r * (s + 4):4 + r * (s + 4) + s, 4 + col * (s + 4):4 + col * (s + 4) + s] = im
    out = (np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(out[0] if c == 1 else out.transpose(1, 2, 0)).save(path)


def load(name, size):
    """A texture as C×H×W floats in [0, 1] (C = 1 for grey files) and its description."""
    if os.path.exists(name):
        im = Image.open(name)
        rgb = np.asarray(im.convert("RGB"), np.float32) / 255.0
        grey = im.mode in ("L", "LA", "I", "I;16", "1") or (
            np.abs(rgb[..., 0] - rgb[..., 1]).max() == 0 and np.abs(rgb[..., 1] - rgb[..., 2]).max() == 0)
        image = rgb[..., :1].transpose(2, 0, 1) if grey else rgb.transpose(2, 0, 1)
        label = os.path.basename(name)
    else:
        import skimage.data
        image = (getattr(skimage.data, name)().astype(np.float32) / 255.0)[None]
        label = f"{name} (skimage)"
    image = np.ascontiguousarray(image[:, :size, :size])
    return image, label


def gmic(exemplar, out_dir, count, side):
    """COUNT outputs of G'MIC's patch matcher from EXEMPLAR (C×H×W), and the seconds."""
    c = exemplar.shape[0]
    src = os.path.join(out_dir, "gmic-exemplar.png")
    pixels = (np.clip(exemplar, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(pixels[0] if c == 1 else pixels.transpose(1, 2, 0)).save(src)
    for f in glob.glob(os.path.join(out_dir, "gmic_*.png")):
        os.remove(f)
    t0 = time.monotonic()
    r = subprocess.run(["gmic", "-v", "-1", src, "repeat", str(count),
                        "+syntexturize_matchpatch[0]", f"{side},{side}", "done", "rm[0]",
                        "-o", os.path.join(out_dir, "gmic.png")], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"gmic failed: {r.stderr[-2000:]}")
    files = sorted(glob.glob(os.path.join(out_dir, "gmic_*.png")))
    out = []
    for f in files:
        a = np.asarray(Image.open(f).convert("RGB"), np.float32) / 255.0
        out.append(a[..., :1].transpose(2, 0, 1) if c == 1 else a.transpose(2, 0, 1))
    return np.stack(out), seconds


def run_texture(args, name):
    image, label = load(name, args.size)
    c, h, w = image.shape
    split = w * 3 // 4
    train, held = np.ascontiguousarray(image[:, :, :split]), image[:, :, split:]
    rng = np.random.default_rng(0)
    stem = os.path.splitext(os.path.basename(name))[0].replace(" ", "_")
    out = os.path.join(args.out, stem)
    os.makedirs(out, exist_ok=True)
    planes = os.path.join(out, "train.f32")
    model = os.path.join(out, f"{stem}.safetensors")
    samples = os.path.join(out, "samples.f32")
    train.astype("<f4").tofile(planes)
    t0 = time.monotonic()
    result = subprocess.run([args.runner, "texture", planes, str(c), str(split), str(h), "1",
                             str(args.seconds), model, args.device], capture_output=True, text=True)
    train_seconds = time.monotonic() - t0
    if result.returncode != 0:
        sys.exit(f"gan-runner train failed: {result.stderr}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    t0 = time.monotonic()
    result = subprocess.run([args.runner, "generate", model, str(COUNT), str(SIDE), str(SIDE), "1",
                             samples, args.device], capture_output=True, text=True)
    generate_seconds = time.monotonic() - t0
    if result.returncode != 0:
        sys.exit(f"gan-runner generate failed: {result.stderr}")
    sets = {"Loom texture GAN": np.fromfile(samples, dtype="<f4").reshape(COUNT, c, SIDE, SIDE)}
    gmic_seconds = None
    if not args.no_gmic:
        sets["G'MIC matchpatch"], gmic_seconds = gmic(train, out, COUNT, SIDE)
    sets["shuffled 16×16 patches"] = shuffled(rng, train, COUNT, SIDE, PATCH)
    sets["real crops (floor)"] = crops(rng, train, COUNT, SIDE)
    prov = info["provenance"]

    print(f"\n== {label}: {w}×{h} {'grey' if c == 1 else 'RGB'}; Loom trained on {split}×{h} "
          f"for {info['seconds']:.0f} s, {prov['steps']} steps, batch {prov['batch']} of "
          f"{prov['crop']}², flips h/v {prov.get('flip_h')}/{prov.get('flip_v')}, turns "
          f"{prov.get('turns')}")
    print(f"{'SWD ×100 to the held-out part':28s} {'128²':>7s} {'64²':>7s} {'32²':>7s} {'16²':>7s}"
          f" {'mean':>7s} {'seam':>6s} {'copies':>7s} {'median':>7s}")
    row = {"texture": label}
    target = held[None]                         # all of it: the most patches
    copy_sets = dict(sets, **{"held-out crops (no copies)": crops(rng, held, COUNT,
                                                                  min(SIDE, held.shape[2]))})
    for set_name, images in copy_sets.items():
        share, median = near_copies(images, train, args.copy_threshold)
        if set_name in sets:
            d = distances(images, target)
            seam = seams(images)
            print(f"{set_name:28s} " + " ".join(f"{v:7.3f}" for v in d)
                  + f" {np.mean(d):7.3f} {seam:6.2f} {share:7.1%} {median:7.3f}")
            grid(images, os.path.join(out, set_name.split()[0].lower().replace("'", "") + ".png"))
            row[set_name] = {"swd": float(np.mean(d)), "seam": float(seam), "copies": share}
        else:
            print(f"{set_name:28s} {'':39s} {'':6s} {share:7.1%} {median:7.3f}")
            row["held copies"] = share
    print(f"times: Loom {train_seconds:.1f} s training + {generate_seconds:.1f} s generating "
          f"{COUNT} × {SIDE}²" + (f"; G'MIC {gmic_seconds:.1f} s for {COUNT} × {SIDE}²"
                                  if gmic_seconds is not None else ""))
    row.update(loom_seconds=train_seconds + generate_seconds, gmic_seconds=gmic_seconds)
    return row


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..", "..")
    ap = argparse.ArgumentParser()
    ap.add_argument("--texture", nargs="+",
                    default=sorted(glob.glob(os.path.join(root, "data", "textures", "*.png"))),
                    help="skimage names (brick, grass, gravel) or image files")
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--copy-threshold", type=float, default=0.1)
    ap.add_argument("--no-gmic", action="store_true")
    ap.add_argument("--runner", default=os.path.join(root, "build", "tools", "eval", "gan-runner"))
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "loom-eval-texture"))
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    print(f"near-copy: a 16×16 patch whose RMS difference to the nearest sample patch is under "
          f"{args.copy_threshold} of its own RMS deviation; seam: wrap-edge over "
          f"interior-neighbour difference")
    rows = [run_texture(args, name) for name in args.texture]

    print(f"\n{'summary (SWD ×100 mean)':28s} {'Loom':>7s} {'GMIC':>7s} {'shuffle':>7s} {'real':>7s}"
          f" {'L/G':>5s} {'seam L':>6s} {'seam G':>6s} {'copy L':>6s} {'copy G':>6s} {'held':>6s}"
          f" {'t L':>6s} {'t G':>5s}")
    for r in rows:
        loom, real, shuf = r["Loom texture GAN"], r["real crops (floor)"], r["shuffled 16×16 patches"]
        gm = r.get("G'MIC matchpatch")
        print(f"{r['texture'][:28]:28s} {loom['swd']:7.3f} "
              + (f"{gm['swd']:7.3f} " if gm else f"{'-':>7s} ")
              + f"{shuf['swd']:7.3f} {real['swd']:7.3f} "
              + (f"{loom['swd'] / gm['swd']:5.2f} " if gm else f"{'-':>5s} ")
              + f"{loom['seam']:6.2f} " + (f"{gm['seam']:6.2f} " if gm else f"{'-':>6s} ")
              + f"{loom['copies']:6.1%} " + (f"{gm['copies']:6.1%} " if gm else f"{'-':>6s} ")
              + f"{r['held copies']:6.1%} {r['loom_seconds']:6.0f} "
              + (f"{r['gmic_seconds']:5.1f}" if gm else f"{'-':>5s}"))
    print(f"sample grids: {args.out}/*/*.png")


if __name__ == "__main__":
    main()
