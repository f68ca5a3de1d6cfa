#!/usr/bin/env python3
"""The pixels of what the installed packages made (tools/test-packages):
`loom segment`'s and the plug-in's segmentations of the sample against its
true regions and each other, and the plug-in's generated texture.  Prints
"ok - NAME" / "not ok - NAME" lines (tools/test-packages numbers them).

    check-outputs.py WORK_DIR DATA_DIR
"""
import os
import sys

import numpy as np
from PIL import Image

WORK, DATA = sys.argv[1:3]


def result(ok, name, why=""):
    print(f"{'ok' if ok else 'not ok'} - {name}")
    for line in ([] if ok else str(why).splitlines()):
        print("#   " + line)


def load(name, mode="RGBA"):
    path = os.path.join(WORK, name)
    if not os.path.isfile(path):
        return None
    return np.asarray(Image.open(path).convert(mode))


truth = load(os.path.join(os.path.abspath(DATA), "sample-truth.png"), "RGB")
scribbles = np.asarray(Image.open(os.path.join(DATA, "sample-scribbles.png")).convert("RGBA"))
classes = {tuple(c) for c in scribbles[scribbles[..., 3] == 255][:, :3].tolist()}


def segmentation(name):
    """(agreement with the truth, pixels) of a colour segmentation, or why not."""
    px = load(name)
    if px is None:
        return None, f"no {name}"
    if px.shape[:2] != truth.shape[:2]:
        return None, f"{name} is {px.shape[1]}x{px.shape[0]}, not {truth.shape[1]}x{truth.shape[0]}"
    colours = {tuple(c) for c in px[..., :3].reshape(-1, 3).tolist()}
    if not colours <= classes or not (px[..., 3] == 255).all():
        return None, f"{name}: colours {sorted(colours)[:6]} are not the classes {sorted(classes)}"
    return float((px[..., :3] == truth).all(axis=2).mean()), px


cli, cli_px = segmentation("segment.png")
result(cli is not None and cli >= 0.9,
       f"loom segment: the sample's classes, {100 * (cli or 0):.1f} % agree with the truth (>= 90 %)",
       cli_px if cli is None else "")
gimp, gimp_px = segmentation("gimp-segment.png")
result(gimp is not None and gimp >= 0.9,
       f"plug-in-loom-segment: the sample's classes, {100 * (gimp or 0):.1f} % agree with the truth (>= 90 %)",
       gimp_px if gimp is None else "")
same = float((cli_px == gimp_px).all(axis=2).mean()) if cli is not None and gimp is not None else 0
result(same >= 0.99, f"the plug-in and the command line agree on {100 * same:.2f} % of the pixels (>= 99 %)")

gen = load("gimp-generate.png")
why = "no gimp-generate.png" if gen is None else f"shape {gen.shape}, std {gen[..., :3].std():.1f}"
result(gen is not None and gen.shape == (64, 96, 4) and (gen[..., 3] == 255).all()
       and (gen[..., 0] == gen[..., 1]).all() and (gen[..., 1] == gen[..., 2]).all()
       and gen[..., :3].std() > 8,
       "plug-in-loom-generate without a model: a 96x64 grey texture (the shipped gravel), not flat", why)
