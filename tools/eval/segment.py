#!/usr/bin/env python3
"""Scribble segmentation, Loom's U-Net against a random forest on
multi-scale filter features (the method of ilastik and scikit-image's
trainable segmentation), on mosaics of real textures with exact ground
truth and strokes sampled from it.  Prints a table; not a test.

    tools/env python3 tools/eval/segment.py [--runner build/tools/eval/segment-runner]
        [--mosaics 4] [--size 256] [--classes 4] [--labelled 0.005] [--seconds 30]

Textures: GIMP's patterns (Debian's gimp-data, /usr/share/gimp/3.0/patterns),
tiled.  Each mosaic: Voronoi cells of random textures, several cells per
class; strokes: short segments inside each class until LABELLED of its
pixels are painted.  Both methods see the same strokes; Loom trains for
SECONDS (its default configuration), the forest takes what it takes (its
time is printed).  Score: mean intersection over union on all pixels.
"""
import argparse
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

PATTERNS = "/usr/share/gimp/3.0/patterns"
REAL = ["Stone", "Wood", "Animal", "Fabric", "Paper", "Plant", "Food", "Sky", "Water"]


def read_pat(path):
    """A GIMP .pat pattern as an H×W×3 float array in [0, 1]."""
    data = open(path, "rb").read()
    header, _, w, h, bpp = struct.unpack(">IIIII", data[:20])
    pixels = np.frombuffer(data[header:header + w * h * bpp], dtype=np.uint8).reshape(h, w, bpp)
    if bpp < 3:
        pixels = np.repeat(pixels[..., :1], 3, axis=2)
    return pixels[..., :3].astype(np.float32) / 255.0


def textures():
    found = []
    for folder in REAL:
        for path in sorted(glob.glob(os.path.join(PATTERNS, folder, "*.pat"))):
            t = read_pat(path)
            if t.shape[0] >= 32 and t.shape[1] >= 32:
                found.append((os.path.basename(path)[:-4], t))
    return found


def mosaic(rng, pool, size, classes):
    """An image, its ground truth, and the textures used."""
    picks = rng.choice(len(pool), classes, replace=False)
    seeds = rng.uniform(0, size, (classes * 3, 2))
    owner = np.repeat(np.arange(classes), 3)
    yy, xx = np.mgrid[0:size, 0:size]
    d = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    truth = owner[d.argmin(axis=0)]
    image = np.zeros((size, size, 3), np.float32)
    for k, p in enumerate(picks):
        t = pool[p][1]
        oy, ox = rng.integers(0, t.shape[0]), rng.integers(0, t.shape[1])
        tiled = t[(yy + oy) % t.shape[0], (xx + ox) % t.shape[1]]
        image[truth == k] = tiled[truth == k]
    return image, truth, [pool[p][0] for p in picks]


def strokes(rng, truth, classes, share):
    """Short horizontal strokes inside each class until SHARE of it is painted."""
    size = truth.shape[1]
    labels = np.full(truth.shape, -1, np.int32)
    for k in range(classes):
        want = max(10, int(share * (truth == k).sum()))
        painted, tries = 0, 0
        while painted < want and tries < 100000:
            tries += 1
            y, x = rng.integers(0, truth.shape[0]), rng.integers(0, size - 12)
            seg = slice(x, x + 12)
            if (truth[y, seg] == k).all() and (labels[y, seg] < 0).all():
                labels[y, seg] = k
                painted += 12
    return labels


def miou(pred, truth, classes):
    ious = []
    for k in range(classes):
        inter = ((pred == k) & (truth == k)).sum()
        union = ((pred == k) | (truth == k)).sum()
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))


def forest(image, labels):
    from skimage.feature import multiscale_basic_features
    from sklearn.ensemble import RandomForestClassifier

    start = time.perf_counter()
    features = multiscale_basic_features(image, channel_axis=-1, sigma_min=1, sigma_max=16)
    mask = labels >= 0
    # As ilastik: 100 full-depth trees (the forest is quick; more time does not help it).
    clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
    clf.fit(features[mask], labels[mask])
    pred = clf.predict(features.reshape(-1, features.shape[-1])).reshape(labels.shape)
    return pred, time.perf_counter() - start


def loom(runner, image, labels, classes, seconds, tmp):
    planes = os.path.join(tmp, "planes")
    lab = os.path.join(tmp, "labels")
    out = os.path.join(tmp, "out")
    np.ascontiguousarray(image.transpose(2, 0, 1)).astype("<f4").tofile(planes)
    labels.astype("<f4").tofile(lab)
    h, w = labels.shape
    result = subprocess.run([runner, planes, lab, str(w), str(h), str(classes), str(seconds), out],
                            check=True, capture_output=True, text=True)
    info = json.loads(result.stdout)
    pred = np.fromfile(out, dtype="<f4").reshape(h, w).astype(np.int32)
    return pred, info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "build", "tools", "eval", "segment-runner"))
    parser.add_argument("--mosaics", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--labelled", type=float, default=0.005)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    pool = textures()
    rng = np.random.default_rng(args.seed)
    print(f"{len(pool)} textures; {args.mosaics} mosaics of {args.size}², {args.classes} classes, "
          f"{100 * args.labelled:.2f} % painted; Loom trains {args.seconds:g} s")
    print(f"{'mosaic':>6} {'painted %':>9} {'forest mIoU':>11} {'forest s':>8} "
          f"{'loom mIoU':>9} {'loom s':>7} {'steps':>6}  textures")
    scores = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in range(args.mosaics):
            image, truth, names = mosaic(rng, pool, args.size, args.classes)
            labels = strokes(rng, truth, args.classes, args.labelled)
            painted = 100 * (labels >= 0).mean()
            rf_pred, rf_s = forest(image, labels)
            loom_pred, info = loom(args.runner, image, labels, args.classes, args.seconds, tmp)
            a, b = miou(rf_pred, truth, args.classes), miou(loom_pred, truth, args.classes)
            scores.append((a, b))
            print(f"{m:6d} {painted:9.2f} {a:11.3f} {rf_s:8.1f} {b:9.3f} "
                  f"{info['train_s'] + info['predict_s']:7.1f} {info['provenance']['steps']:6d}  "
                  f"{', '.join(names)}")
    rf, lm = np.mean(scores, axis=0)
    print(f"{'mean':>6} {'':9} {rf:11.3f} {'':8} {lm:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
