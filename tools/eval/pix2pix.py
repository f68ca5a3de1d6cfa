#!/usr/bin/env python3
"""Label → image: trained on one image and its dense label map, does the
model paint each region of a new label map with its class's texture?
Prints per-class figures and writes the pictures; not a test.

    tools/env python3 tools/eval/pix2pix.py [--seconds 120] [--size 256] [--classes 4]
        [--runner build/tools/eval/gan-runner] [--out DIR]

Data: a mosaic of GIMP's texture patterns (as tools/eval/segment.py makes
them, exact labels).  Loom trains its pix2pix model on it, then renders a
new label map: another Voronoi layout of the same classes, which it never
saw.  Per-class statistic: a random forest on multi-scale texture features
(ilastik's edge and Hessian filters, without the smoothed intensities, so
colour alone does not tell classes apart) trained on the real mosaic labels
the rendered image; its IoU per class says whether each region carries its
class's texture.
Against: the same forest on the new layout filled with the real textures
(what a perfect generator would give) and filled with each class's mean
colour (colour alone, no texture).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segment  # noqa: E402  (textures, mosaics)


def layout(rng, size, classes):
    """A new Voronoi label map: three cells per class."""
    seeds = rng.uniform(0, size, (classes * 3, 2))
    owner = np.repeat(np.arange(classes), 3)
    yy, xx = np.mgrid[0:size, 0:size]
    d = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    return owner[d.argmin(axis=0)]


def fill(rng, pool, picks, truth):
    yy, xx = np.mgrid[0:truth.shape[0], 0:truth.shape[1]]
    image = np.zeros(truth.shape + (3,), np.float32)
    for k, name in enumerate(picks):
        t = dict(pool)[name]
        oy, ox = rng.integers(0, t.shape[0]), rng.integers(0, t.shape[1])
        tiled = t[(yy + oy) % t.shape[0], (xx + ox) % t.shape[1]]
        image[truth == k] = tiled[truth == k]
    return image


def texture_features(image):
    """Edges and Hessian texture at scales 1–16, no smoothed intensities:
    what tells the classes apart is texture, not colour."""
    from skimage.feature import multiscale_basic_features
    return multiscale_basic_features(image, intensity=False, channel_axis=-1, sigma_min=1,
                                     sigma_max=16)


def forest(image, truth):
    from sklearn.ensemble import RandomForestClassifier
    f = texture_features(image)
    rng = np.random.default_rng(0)
    take = rng.random(truth.shape) < 0.2        # a fifth of the pixels is plenty
    clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
    clf.fit(f[take], truth[take])
    return lambda im: clf.predict(texture_features(im).reshape(-1, f.shape[-1])).reshape(truth.shape)


def ious(pred, truth, classes):
    return [float(((pred == k) & (truth == k)).sum() / max(((pred == k) | (truth == k)).sum(), 1))
            for k in range(classes)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runner", default=os.path.join(here, "..", "..", "build", "tools", "eval",
                                                     "gan-runner"))
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "loom-eval-pix2pix"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    pool = segment.textures()
    rng = np.random.default_rng(args.seed)
    image, truth, picks = segment.mosaic(rng, pool, args.size, args.classes)
    new = layout(rng, args.size, args.classes)
    paths = {k: os.path.join(args.out, k) for k in ("planes", "labels", "new", "out")}
    model = os.path.join(args.out, "pix2pix.safetensors")
    np.ascontiguousarray(image.transpose(2, 0, 1)).astype("<f4").tofile(paths["planes"])
    truth.astype("<f4").tofile(paths["labels"])
    new.astype("<f4").tofile(paths["new"])
    s = str(args.size)
    result = subprocess.run([args.runner, "pix2pix", paths["planes"], paths["labels"], "3", s, s,
                             str(args.classes), str(args.seconds), model],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gan-runner pix2pix failed: {result.stderr}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    result = subprocess.run([args.runner, "render", model, paths["new"], s, s, "1", paths["out"]],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gan-runner render failed: {result.stderr}")
    rendered = np.fromfile(paths["out"], dtype="<f4").reshape(3, args.size, args.size)
    rendered = np.ascontiguousarray(rendered.transpose(1, 2, 0))

    label = forest(image, truth)
    perfect = fill(rng, pool, picks, new)
    flat = np.zeros_like(perfect)
    for k in range(args.classes):
        flat[new == k] = image[truth == k].mean(0)
    rows = {"Loom pix2pix": rendered, "real textures (ceiling)": perfect,
            "class colours only": flat}
    print(f"mosaic of {args.size}², {args.classes} classes ({', '.join(picks)}); pix2pix trained "
          f"{info['seconds']:.0f} s, {info['provenance']['steps']} steps")
    print("forest trained on the real mosaic, labelling images of a new label map: IoU per class")
    print(f"{'image':26s} " + " ".join(f"{p[:10]:>10s}" for p in picks) + f" {'mean':>7s}")
    for name, im in rows.items():
        v = ious(label(im), new, args.classes)
        print(f"{name:26s} " + " ".join(f"{x:10.3f}" for x in v) + f" {np.mean(v):7.3f}")
    from skimage.io import imsave
    for name, im in (("training", image), ("rendered", rendered), ("ceiling", perfect)):
        imsave(os.path.join(args.out, f"{name}.png"),
               (np.clip(im, 0, 1) * 255).astype(np.uint8), check_contrast=False)
    print(f"pictures: {args.out}/*.png")


if __name__ == "__main__":
    main()
