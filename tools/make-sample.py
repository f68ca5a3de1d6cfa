#!/usr/bin/env python3
"""Makes the bundled data of `loom demo` (data/) from GIMP's patterns and
scikit-image's sample textures.

    tools/env python3 tools/make-sample.py [--out data]

A landscape collage, 512×384: sky, stone hills, foliage, water, and a
wooden pier, each region filled with one of GIMP's patterns (Debian's
gimp-data, GPL-3+); its scribbles (a few strokes a class, the rest
transparent) and its true regions, in the same colours.  The textures are
tiled, so the collage is exactly reproducible from the patterns.  And the
textures the shipped models learnt (data/textures/): grass and gravel from
scikit-image (CC0).

    tools/env python3 tools/make-sample.py --pretrain DIR

writes instead the data the shipped segmentation starting point learns
from (tools/train-weights): mosaics of pieces of scikit-image's sample
photographs (CC0 or public domain), each piece labelled by its photograph,
every pixel labelled.  None of GIMP's patterns are among them, so the
evaluation on pattern mosaics (tools/eval/segment.py) and the demo's
sample stay unseen.
"""
import argparse
import os
import shutil
import struct

import numpy as np
from PIL import Image, ImageDraw

PATTERNS = "/usr/share/gimp/3.0/patterns"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
W, H = 512, 384
# name, pattern, colour of the class in the label images
CLASSES = [
    ("sky", "Sky/sky.pat", (110, 170, 230)),
    ("stone", "Stone/rock.pat", (128, 128, 128)),
    ("foliage", "Plant/leaves.pat", (40, 150, 50)),
    ("water", "Water/pool.pat", (20, 40, 160)),
    ("wood", "Wood/pine.pat", (170, 100, 40)),
]
# A few strokes a class: polylines of (x, y), drawn 5 px wide.
STROKES = {
    "sky": [[(40, 20), (140, 30), (230, 18)], [(330, 15), (470, 25)], [(20, 62), (120, 72)], [(380, 40), (470, 48)]],
    "stone": [[(40, 135), (110, 140)], [(300, 120), (400, 130), (430, 140)]],
    "foliage": [[(30, 200), (130, 190), (200, 205)], [(330, 185), (480, 195)]],
    "water": [[(40, 330), (200, 345)], [(320, 300), (470, 320)], [(110, 270), (150, 290)]],
    "wood": [[(245, 250), (245, 360)], [(225, 262), (290, 262)]],
}


def read_pat(path):
    """A GIMP .pat pattern as an H×W×3 uint8 array."""
    data = open(path, "rb").read()
    header, _, w, h, bpp = struct.unpack(">IIIII", data[:20])
    pixels = np.frombuffer(data[header:header + w * h * bpp], dtype=np.uint8).reshape(h, w, bpp)
    if bpp < 3:
        pixels = np.repeat(pixels[..., :1], 3, axis=2)
    return pixels[..., :3]


def regions():
    """The class of every pixel."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    hills = 95 + 28 * np.sin(xx / 70.0) + 12 * np.sin(xx / 23.0 + 1.0)
    shore = 165 + 10 * np.sin(xx / 55.0 + 2.0)
    water = 235 + 8 * np.sin(xx / 40.0)
    truth = np.full((H, W), 3)
    truth[yy < water] = 2
    truth[yy < shore] = 1
    truth[yy < hills] = 0
    # The pier: a walkway into the water and a rail across it.
    pier = ((xx > 232) & (xx < 262) & (yy > 225)) | ((xx > 215) & (xx < 300) & (yy > 255) & (yy < 270))
    truth[pier] = 4
    return truth


PRETRAIN_SOURCES = ["astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
                    "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                    "ihc.png", "hubble_deep_field.jpg", "retina.jpg", "rocket.jpg"]


def pretrain_set(out, mosaics=8, size=320, per=5, seed=7):
    """MOSAICS images of SIZE², PER sources each in Voronoi cells, and their
    dense labels (class i = PRETRAIN_SOURCES[i], colours spread over hue)."""
    import colorsys
    rng = np.random.default_rng(seed)
    sources = [np.array(Image.open(os.path.join(SKIMAGE, n)).convert("RGB")) for n in PRETRAIN_SOURCES]
    colours = [tuple(int(255 * v) for v in colorsys.hsv_to_rgb(i / len(sources), 0.8, 0.4 + 0.5 * (i % 2)))
               for i in range(len(sources))]
    os.makedirs(out, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]
    for m in range(mosaics):
        picks = rng.choice(len(sources), per, replace=False)
        seeds = rng.uniform(0, size, (per * 3, 2))
        owner = np.repeat(picks, 3)
        d = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
        truth = owner[d.argmin(axis=0)]
        image = np.zeros((size, size, 3), np.uint8)
        for k in picks:
            src = sources[k]
            y0 = rng.integers(0, src.shape[0] - size + 1) if src.shape[0] > size else 0
            x0 = rng.integers(0, src.shape[1] - size + 1) if src.shape[1] > size else 0
            piece = np.array(Image.fromarray(src[y0:y0 + size, x0:x0 + size]).resize((size, size)))
            image[truth == k] = piece[truth == k]
        labels = np.array(colours, np.uint8)[truth]
        Image.fromarray(image).save(os.path.join(out, f"mosaic-{m}.png"))
        Image.fromarray(labels).save(os.path.join(out, f"mosaic-{m}-labels.png"))
    print(f"{out}: {mosaics} mosaics of {size}², {per} of {len(sources)} photographs each")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    ap.add_argument("--pretrain", metavar="DIR", help="write the starting point's training mosaics there instead")
    args = ap.parse_args()
    if args.pretrain:
        pretrain_set(args.pretrain)
        return
    os.makedirs(args.out, exist_ok=True)
    truth = regions()
    image = np.zeros((H, W, 3), np.uint8)
    for k, (_, pattern, _) in enumerate(CLASSES):
        tex = read_pat(os.path.join(PATTERNS, pattern))
        reps = (H // tex.shape[0] + 1, W // tex.shape[1] + 1, 1)
        tiled = np.tile(tex, reps)[:H, :W]
        image[truth == k] = tiled[truth == k]
    colours = np.array([c for _, _, c in CLASSES], np.uint8)
    truth_rgba = np.concatenate([colours[truth], np.full((H, W, 1), 255, np.uint8)], axis=2)

    scribbles = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(scribbles)
    for name, _, colour in CLASSES:
        for line in STROKES[name]:
            draw.line(line, fill=colour + (255,), width=5)
    # Strokes must stay inside their regions: a stroke over the wrong
    # texture would teach the wrong thing.
    s = np.array(scribbles)
    painted = s[..., 3] == 255
    for k, (_, _, colour) in enumerate(CLASSES):
        mine = painted & np.all(s[..., :3] == colour, axis=2)
        assert np.all(truth[mine] == k), f"a stroke of {CLASSES[k][0]} leaves its region"

    Image.fromarray(image).save(os.path.join(args.out, "sample.png"), optimize=True)
    scribbles.save(os.path.join(args.out, "sample-scribbles.png"), optimize=True)
    Image.fromarray(truth_rgba).save(os.path.join(args.out, "sample-truth.png"), optimize=True)
    textures = os.path.join(args.out, "textures")
    os.makedirs(textures, exist_ok=True)
    for name in ("grass.png", "gravel.png"):
        shutil.copyfile(os.path.join(SKIMAGE, name), os.path.join(textures, name))
    print(f"{args.out}: sample.png, sample-scribbles.png, sample-truth.png "
          f"({painted.mean() * 100:.2f} % of pixels painted); textures/grass.png, gravel.png")


if __name__ == "__main__":
    main()
