#!/usr/bin/env python3
"""Scribble segmentation on real photographs: Loom against the random
forest (ilastik's method) at 5, 10, 30 and 60 s, then a second round of
corrective strokes.  Prints a table, writes a JSON; not a test.

    python3 tools/eval/photos.py --fetch           # once, on the host (apt-get)
    tools/env python3 tools/eval/photos.py [--composites 5] [--seeds 2]
        [--marks 5,10,30,60] [--separate] [--per-composite] [--json PATH]

Photographs: 23 freely licensed ones from three Debian packages
(mate-backgrounds, lomiri-wallpapers-16.04, lomiri-wallpapers-20.04; the
table PHOTOS gives author and licence from each package's copyright file,
and a checksum).  `--fetch` takes them with `apt-get download` into
build/eval-photos with the packages' copyright files; the evaluation
refuses files whose checksum differs.  These photographs are held out:
nothing Loom ships may be trained on them (the script looks for their
names and packages in weights/*.provenance.json and says so); the shipped
segment-start saw only scikit-image's photographs, and the package that
is reserved for the independent evaluation is never used.

Composites: WIDTH × HEIGHT (default 640 × 480, 0.31 MP), 3–5 classes,
each class 2–3 photographs (--per-class; each a random crop at a random scale, 0.6–1 of the
photograph brought to a short side of 768), cut along irregular shapes:
SLIC superpixels of yet another photograph, each given to the class whose
smoothed random field is largest over it, so every class has several
regions with natural, ragged edges and the truth is exact.  Strokes as
tools/eval/segment.py makes them: 12-pixel strokes inside each class until
0.5 % of its pixels are painted, one set per stroke seed.

Loom: tools/eval/photo-runner, `loom train-seg --time 60` with the
command line's defaults (the shipped starting point
weights/segment-start.safetensors, seed 1); anytime: one 60 s run keeps the
weights of the last step ended by each mark (setup included, whole-image
prediction not: its seconds are reported apart), so one run gives all
four points.  `--separate` runs `--time T` for each mark instead (the
learning rate's cosine then ends at T).  The forest: tools/eval/segment.py's
(multi-scale basic features σ 1–16, 100 full-depth trees), the same
answer at every mark; its fit + predict seconds are printed.

Round two: the pixels that round one got wrong (Loom's 60 s result or the
forest's, --correct-from), split in connected regions per true class; the
largest get 12-pixel strokes of their true class, in proportion to their
area, until another 0.25 % of the image is painted (--corrective).  Loom
goes on from its round-one model as `loom train-seg --init` does (a new
run: the schedule starts again), the forest is refitted on all strokes.
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# name, package, path in the package, copyright holder, licence, sha256 (first 16 hex digits)
PHOTOS = [
    ("Aqua", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Aqua.jpg",
     "2008 Charles Barbin", "GPL-2+", "5c30118205982da4"),
    ("Blinds", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Blinds.jpg",
     "2008 Lennart Poettering, Andrea Cimitan", "GPL-2+", "f7aac0dcc2e06d04"),
    ("Dune", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Dune.jpg",
     "2007 Marco Cogoni, 2008 Hylke Bons", "GPL-2+", "8a67c2cb0be8c46b"),
    ("FreshFlower", "mate-backgrounds", "usr/share/backgrounds/mate/nature/FreshFlower.jpg",
     "2005 Jens Ansorg", "GPL-2+", "972b0a0c4e5e3fa9"),
    ("Garden", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Garden.jpg",
     "2008 Charles Barbin", "GPL-2+", "d3095ee09d425ef2"),
    ("GreenMeadow", "mate-backgrounds", "usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
     "2005 Timothy Schellhase, 2008 Lapo Calamandrei", "GPL-2+", "8fa0de0aa4089f73"),
    ("LadyBird", "mate-backgrounds", "usr/share/backgrounds/mate/nature/LadyBird.jpg",
     "2008 Charles Barbin", "GPL-2+", "e35a9a4126ef969c"),
    ("RainDrops", "mate-backgrounds", "usr/share/backgrounds/mate/nature/RainDrops.jpg",
     "2008 \"blackcombwhistler07\"", "GPL-2+", "3e4ea9671c28c90a"),
    ("Storm", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Storm.jpg",
     "2008 Sergey Nazarov", "GPL-2+", "77ca53077831d323"),
    ("TwoWings", "mate-backgrounds", "usr/share/backgrounds/mate/nature/TwoWings.jpg",
     "2008 Charles Barbin, Hylke Bons", "GPL-2+", "665e5abf8a539907"),
    ("Wood", "mate-backgrounds", "usr/share/backgrounds/mate/nature/Wood.jpg",
     "2008 Jean-François Fortin Tam", "GPL-2+", "19c78500ac00a622"),
    ("YellowFlower", "mate-backgrounds", "usr/share/backgrounds/mate/nature/YellowFlower.jpg",
     "2008 Charles Barbin", "GPL-2+", "254da96256acb7ad"),
    ("Dragonfly", "lomiri-wallpapers-16.04", "usr/share/backgrounds/Dragonfly_by_Bolly.jpg",
     "2018 \"Bolly\"", "CC-BY-SA-4.0", "af5af17841009732"),
    ("Picture_0B", "lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
     "2018 Trevor \"Freespace\"", "CC-BY-4.0", "c8c0ab18e48d9e04"),
    ("Picture_1A", "lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_1A_by_freespace.jpg",
     "2018 Trevor \"Freespace\"", "CC-BY-4.0", "89e86af38d04daae"),
    ("Wine", "lomiri-wallpapers-16.04", "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
     "2018 Jakub Mede", "CC-BY-4.0", "d2e96e6d4da40dd8"),
    ("aitzgorri", "lomiri-wallpapers-16.04",
     "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
     "2018 Aitzol Berasategi", "CC-BY-4.0", "66268e7b48f8854d"),
    ("friends", "lomiri-wallpapers-16.04", "usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
     "2018 Aitzol Berasategi", "CC-BY-4.0", "cc40e313c74e421e"),
    ("life", "lomiri-wallpapers-16.04", "usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
     "2018 Aitzol Berasategi", "CC-BY-4.0", "4c119350ead80201"),
    ("picosdeeuropa", "lomiri-wallpapers-16.04",
     "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
     "2018 Aitzol Berasategi", "CC-BY-4.0", "414d0072b2f6f2c5"),
    ("seeding", "lomiri-wallpapers-16.04",
     "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
     "2018 Clemens Engelhardt", "CC0-1.0", "a5634d1ab5e41a35"),
    ("sunset", "lomiri-wallpapers-16.04", "usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
     "2018 Aitzol Berasategi", "CC-BY-4.0", "474dab6a4b9f94dc"),
    ("Kleiber", "lomiri-wallpapers-20.04", "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
     "2021 Lukas Baubkus", "CC-BY-SA-3.0", "6572410c09f4492c"),
]
PACKAGES = sorted({p[1] for p in PHOTOS})
SHORT_SIDE = 768
STROKE = 12


def sha16(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def fetch(folder):
    """The photographs and the packages' copyright files into FOLDER, with apt-get download."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        sys.exit("photos.py --fetch: needs apt-get and dpkg-deb (run it on the Debian host, "
                 "outside tools/env; 'apt-get update' first if apt knows no packages)")
    os.makedirs(folder, exist_ok=True)
    versions = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)    # apt's _apt user writes there where it can
        for pkg in PACKAGES:
            got = subprocess.run(["apt-get", "download", pkg], cwd=tmp, capture_output=True,
                                 text=True)
            debs = glob.glob(os.path.join(tmp, f"{pkg}_*.deb"))
            if got.returncode != 0 or not debs:
                sys.exit(f"photos.py --fetch: apt-get download {pkg} failed:\n{got.stderr.strip()}")
            deb = debs[0]
            versions[pkg] = subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True,
                                           capture_output=True, text=True).stdout.strip()
            root = os.path.join(tmp, pkg)
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
            shutil.copy(os.path.join(root, "usr/share/doc", pkg, "copyright"),
                        os.path.join(folder, f"{pkg}.copyright"))
            for name, p, path, _, _, digest in PHOTOS:
                if p != pkg:
                    continue
                out = os.path.join(folder, name + os.path.splitext(path)[1])
                shutil.copy(os.path.join(root, path), out)
                if sha16(out) != digest:
                    print(f"photos.py --fetch: {pkg} {versions[pkg]}: {path} differs from the "
                          f"recorded one ({sha16(out)}, not {digest}); figures will not compare",
                          file=sys.stderr)
            os.unlink(deb)
    with open(os.path.join(folder, "packages.json"), "w") as f:
        json.dump(versions, f, indent=1)
    print(f"{len(PHOTOS)} photographs from {', '.join(f'{k} {v}' for k, v in versions.items())} "
          f"in {folder}")


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs"


def held_out_check():
    """Provenance files of the shipped weights that name an evaluation photograph or package."""
    hits = []
    for path in sorted(glob.glob(os.path.join(REPO, "weights", "*.provenance.json"))):
        text = open(path, encoding="utf-8").read()
        for word in PACKAGES + [p[2].rsplit("/", 1)[1] for p in PHOTOS]:
            if word in text:
                hits.append(f"{os.path.relpath(path, REPO)}: {word}")
    return hits


def load_pool(folder, any_version):
    import numpy as np
    from skimage import io, transform

    if not os.path.isdir(folder):
        sys.exit(f"photos.py: no {folder}: run 'python3 tools/eval/photos.py --fetch' on the "
                 "host first (outside tools/env: it needs apt-get)")
    cache = os.path.join(folder, f"cache-{SHORT_SIDE}")
    os.makedirs(cache, exist_ok=True)
    pool = []
    for name, _, path, _, _, digest in PHOTOS:
        src = os.path.join(folder, name + os.path.splitext(path)[1])
        if not os.path.exists(src):
            sys.exit(f"photos.py: {src} missing: run 'python3 tools/eval/photos.py --fetch' again")
        if sha16(src) != digest:
            msg = f"{src}: checksum {sha16(src)}, not the recorded {digest}"
            if not any_version:
                sys.exit(f"photos.py: {msg} (--any-version runs anyway; figures will not compare)")
            print(f"warning: {msg}", file=sys.stderr)
        small = os.path.join(cache, f"{name}-{digest}.npy")
        if not os.path.exists(small):
            im = io.imread(src)[..., :3]
            s = SHORT_SIDE / min(im.shape[:2])
            im = transform.rescale(im, s, channel_axis=-1, anti_aliasing=True, order=1)
            np.save(small, (np.clip(im, 0, 1) * 255 + 0.5).astype(np.uint8))
        pool.append((name, np.load(small)))
    return pool


def composite(rng, pool, width, height, per_class):
    """An image (H × W × 3 in [0, 1]), its truth, its classes' photographs, the shape's."""
    import numpy as np
    from scipy.ndimage import gaussian_filter
    from skimage.segmentation import slic
    from skimage.transform import rescale

    classes = int(rng.integers(3, 6))
    counts = rng.integers(per_class[0], per_class[1] + 1, classes)
    picks = rng.choice(len(pool), int(counts.sum()) + 1, replace=False)
    owner = np.repeat(np.arange(classes), counts)       # each pick's class
    shape_photo = pool[picks[-1]][1]
    y0 = rng.integers(0, shape_photo.shape[0] - height + 1)
    x0 = rng.integers(0, shape_photo.shape[1] - width + 1)
    superpixels = slic(shape_photo[y0:y0 + height, x0:x0 + width],
                       n_segments=int(rng.integers(40, 90)), compactness=10, start_label=0)
    n_sp = superpixels.max() + 1

    def field_means(n):
        fields = [gaussian_filter(rng.standard_normal((height, width)), min(width, height) / 8)
                  for _ in range(n)]
        return np.stack([np.bincount(superpixels.ravel(), f.ravel(), n_sp) for f in fields])

    for _ in range(100):
        sp_class = field_means(classes).argmax(axis=0)
        truth = sp_class[superpixels]
        if (np.bincount(truth.ravel(), minlength=classes) / truth.size).min() >= 0.05:
            break
    else:
        raise RuntimeError("no composite with every class ≥ 5 % in 100 tries")
    # A class of several photographs: its superpixels shared out by fields of their own.
    sp_pick = np.zeros(n_sp, int)
    means = field_means(len(picks) - 1)
    for k in range(classes):
        mine = np.flatnonzero(owner == k)
        sp_pick[sp_class == k] = mine[means[mine][:, sp_class == k].argmax(axis=0)]
    source = sp_pick[superpixels]
    image = np.zeros((height, width, 3), np.float32)
    for j, p in enumerate(picks[:-1]):
        photo = pool[p][1]
        least = max(width / photo.shape[1], height / photo.shape[0])
        s = rng.uniform(max(0.6, least), 1.0) if least < 1 else least
        scaled = rescale(photo, s, channel_axis=-1, anti_aliasing=True, order=1)
        y = rng.integers(0, scaled.shape[0] - height + 1)
        x = rng.integers(0, scaled.shape[1] - width + 1)
        crop = scaled[y:y + height, x:x + width]
        image[source == j] = crop[source == j]
    names = ["+".join(pool[picks[j]][0] for j in np.flatnonzero(owner == k)) for k in range(classes)]
    return image, truth, names, pool[picks[-1]][0]


def corrective(rng, truth, labels, wrong, share):
    """LABELS plus strokes of the true class in the largest wrong regions, SHARE of the image."""
    import numpy as np
    from scipy.ndimage import binary_erosion
    from skimage.measure import label as connected

    budget = int(share * truth.size)
    regions = []
    for k in range(int(truth.max()) + 1):
        parts, n = connected(wrong & (truth == k), connectivity=1, return_num=True)
        sizes = np.bincount(parts.ravel(), minlength=n + 1)
        regions += [(int(sizes[i]), k, i, parts) for i in range(1, n + 1) if sizes[i] >= 2 * STROKE]
    regions.sort(key=lambda r: -r[0])
    total = sum(r[0] for r in regions)
    out = labels.copy()
    painted, touched = 0, 0
    h, w = truth.shape
    for size, k, i, parts in regions:
        if painted >= budget:
            break
        want = min(budget - painted, max(STROKE, round(budget * size / total)))
        region = parts == i
        inner = binary_erosion(region, iterations=2)
        if inner.sum() < STROKE:
            inner = region
        ys, xs = np.nonzero(inner)
        done = 0
        for _ in range(400):
            if done >= want:
                break
            j = rng.integers(0, len(ys))
            y, x = ys[j], xs[j]
            if rng.random() < 0.5 and STROKE // 2 <= x < w - STROKE // 2:
                cells = (np.full(STROKE, y), np.arange(x - STROKE // 2, x + STROKE // 2))
            elif STROKE // 2 <= y < h - STROKE // 2:
                cells = (np.arange(y - STROKE // 2, y + STROKE // 2), np.full(STROKE, x))
            else:
                continue
            if region[cells].all() and (out[cells] < 0).all():
                out[cells] = k
                done += STROKE
        painted += done
        touched += done > 0
    return out, painted, touched


def forest_refined(image, labels, radius=16, eps=0.01):
    """The forest's class probabilities through the guided filter Loom refines with
    (compute/segment/refine.c: grey guide, radius capped at a thirtieth of the short side):
    what the same refinement would give the forest, for a fair comparison."""
    import numpy as np
    from scipy.ndimage import uniform_filter
    from skimage.feature import multiscale_basic_features
    from sklearn.ensemble import RandomForestClassifier

    features = multiscale_basic_features(image, channel_axis=-1, sigma_min=1, sigma_max=16)
    mask = labels >= 0
    clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
    clf.fit(features[mask], labels[mask])
    p = clf.predict_proba(features.reshape(-1, features.shape[-1])).reshape(*labels.shape, -1)
    r = min(radius, min(labels.shape) // 30)
    grey = image.mean(-1)
    box = lambda x: uniform_filter(x, 2 * r + 1, mode="nearest")
    mi, vi = box(grey), box(grey * grey) - box(grey) ** 2
    out = []
    for k in range(p.shape[-1]):
        mp = box(p[..., k])
        a = (box(grey * p[..., k]) - mi * mp) / (np.maximum(vi, 0) + eps)
        b = mp - a * mi
        out.append(np.maximum(box(a) * grey + box(b), 0))
    return clf.classes_[np.argmax(np.stack(out, -1), -1)]


def loom(runner, image, labels, classes, marks, tmp, tag, init=None, start=None):
    """Loom's class maps at MARKS (None where no step had ended), the runner's report, the model."""
    import numpy as np

    planes = os.path.join(tmp, f"{tag}.planes")
    lab = os.path.join(tmp, f"{tag}.labels")
    out = os.path.join(tmp, tag)
    np.ascontiguousarray(image.transpose(2, 0, 1)).astype("<f4").tofile(planes)
    labels.astype("<f4").tofile(lab)
    h, w = labels.shape
    env = dict(os.environ)
    env.pop("LOOM_EVAL_START", None)
    if start and init is None:
        env["LOOM_EVAL_START"] = start
    cmd = [runner, planes, lab, str(w), str(h), str(classes), ",".join(f"{m:g}" for m in marks), out]
    if init:
        cmd.append(init)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"photos.py: {' '.join(cmd)}: {result.stderr.strip() or result.returncode}")
    info = json.loads(result.stdout)
    first = f"{out}-first.f32"
    info["first_pred"] = (np.fromfile(first, dtype="<f4").reshape(h, w).astype(np.int32)
                          if os.path.exists(first) else None)
    preds = []
    info["raw_preds"] = []      # the same models without refinement
    for i, mark in enumerate(info["marks"]):
        path = f"{out}-{i}.f32"
        preds.append(np.fromfile(path, dtype="<f4").reshape(h, w).astype(np.int32)
                     if mark["step"] else None)
        raw = f"{out}-{i}-raw.f32"
        info["raw_preds"].append(np.fromfile(raw, dtype="<f4").reshape(h, w).astype(np.int32)
                                 if mark["step"] and os.path.exists(raw) else None)
    return preds, info, out + ".safetensors"


def loom_round(args, image, labels, classes, tmp, tag, init=None):
    """Loom at every mark: one anytime run, or a --separate run of --time T per mark; the
    class maps, the marks' reports, the model of the last mark's run, its training seconds."""
    if not args.separate:
        preds, info, model = loom(args.runner, image, labels, classes, args.marks, tmp, tag,
                                  init=init, start=args.start)
        return preds, info["marks"], model, info["train_s"], info
    preds, marks, train_s, first = [], [], 0.0, None
    for t in args.marks:
        p, info, model = loom(args.runner, image, labels, classes, [t], tmp, f"{tag}-{t:g}",
                              init=init, start=args.start)
        preds += p
        marks += info["marks"]
        train_s += info["train_s"]
        first = first or info
    return preds, marks, model, train_s, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true",
                        help="take the photographs from Debian (apt-get download) and stop")
    parser.add_argument("--list", action="store_true",
                        help="print the photographs' table (package, file, copyright, licence) and stop")
    parser.add_argument("--photos", default=os.path.join(REPO, "build", "eval-photos"))
    parser.add_argument("--runner", default=os.path.join(REPO, "build", "tools", "eval",
                                                         "photo-runner"))
    parser.add_argument("--start", default=os.path.join(REPO, "weights", "segment-start.safetensors"),
                        help="Loom's starting point (the command line's default); '' for none")
    parser.add_argument("--composites", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2, help="stroke seeds per composite")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--per-class", default="2-3",
                        help="photographs per class, a range (a class may gather several things)")
    parser.add_argument("--labelled", type=float, default=0.005)
    parser.add_argument("--corrective", type=float, default=0.0025,
                        help="round two's strokes, a share of the image")
    parser.add_argument("--correct-from", choices=["both", "loom", "forest"], default="both",
                        help="whose round-one errors the corrective strokes go to")
    parser.add_argument("--marks", default="5,10,30,60", help="seconds, ascending")
    parser.add_argument("--separate", action="store_true",
                        help="one `--time T` run per mark instead of one anytime run")
    parser.add_argument("--rounds", type=int, choices=[1, 2], default=2)
    parser.add_argument("--seed", type=int, default=2026, help="the composites'")
    parser.add_argument("--per-composite", action="store_true")
    parser.add_argument("--any-version", action="store_true",
                        help="run even where a photograph's checksum differs from the table's")
    parser.add_argument("--json", default=os.path.join(REPO, "build", "eval-photos.json"))
    parser.add_argument("--save", metavar="DIR", help="write composites, truth and strokes as PNG")
    args = parser.parse_args()
    if args.fetch:
        fetch(args.photos)
        return 0
    if args.list:
        for name, pkg, path, who, lic, digest in PHOTOS:
            print(f"{name:<14} {pkg:<24} /{path:<62} {lic:<13} © {who}")
        return 0
    try:
        args.marks = [float(m) for m in args.marks.split(",")]
        width, height = (int(v) for v in args.size.lower().split("x"))
        per_class = [int(v) for v in args.per_class.split("-")] * 2
        per_class = per_class[0], per_class[-1]
    except ValueError:
        parser.error("--marks takes seconds like 5,10,30,60, --size WIDTHxHEIGHT, --per-class N or N-M")
    if not 1 <= per_class[0] <= per_class[1] <= 3:
        parser.error("--per-class: N or N-M, from 1 to 3")
    if sorted(set(args.marks)) != args.marks or args.marks[0] <= 0:
        parser.error("--marks: positive seconds in ascending order")
    if width < 64 or height < 64 or width > SHORT_SIDE or height > SHORT_SIDE:
        parser.error(f"--size: each side between 64 and {SHORT_SIDE}")
    if args.composites < 1 or args.seeds < 1:
        parser.error("--composites and --seeds: at least 1")
    if not os.access(args.runner, os.X_OK):
        sys.exit(f"photos.py: no runner {args.runner} (tools/env tools/build build)")
    if args.start and not os.path.exists(args.start):
        sys.exit(f"photos.py: no starting point {args.start}")

    import numpy as np
    sys.path.insert(0, HERE)
    from segment import forest, miou, strokes

    clash = held_out_check()
    for c in clash:
        print(f"WARNING: not held out: {c}", file=sys.stderr)
    pool = load_pool(args.photos, args.any_version)
    versions = {}
    if os.path.exists(os.path.join(args.photos, "packages.json")):
        versions = json.load(open(os.path.join(args.photos, "packages.json")))
    rng = np.random.default_rng(args.seed)
    scenes = [composite(rng, pool, width, height, per_class) for _ in range(args.composites)]
    mode = "separate --time T runs" if args.separate else "one anytime run"
    load0 = os.getloadavg()
    began = time.time()
    print(f"{len(pool)} photographs; {args.composites} composites of {width}×{height}, "
          f"{args.seeds} stroke seeds, {100 * args.labelled:g} % painted (+{100 * args.corrective:g} % "
          f"corrective from {args.correct_from}); Loom: {mode} to "
          f"{', '.join(f'{m:g}' for m in args.marks)} s from "
          f"{os.path.relpath(args.start, REPO) if args.start else 'random weights'}; "
          f"load average {load0[0]:.2f}")
    if load0[0] > 0.5:
        print("warning: the machine is busy; time budgets measure less than they would idle",
              file=sys.stderr)

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for c, (image, truth, names, shape_from) in enumerate(scenes):
            classes = len(names)
            for s in range(args.seeds):
                srng = np.random.default_rng([args.seed, c, s])
                labels = strokes(srng, truth, classes, args.labelled)
                tag = f"c{c}s{s}"
                record = {"composite": c, "seed": s, "classes": names, "shape_from": shape_from,
                          "rounds": []}
                model = None
                for r in range(args.rounds):
                    if r == 1:
                        wrong = np.zeros(truth.shape, bool)
                        if args.correct_from in ("both", "loom"):
                            last = record["rounds"][0]["loom_pred_last"]
                            wrong |= last != truth if last is not None else True
                        if args.correct_from in ("both", "forest"):
                            wrong |= record["rounds"][0]["forest_pred"] != truth
                        labels, added, regions = corrective(srng, truth, labels, wrong,
                                                            args.corrective)
                    rf_pred, rf_s = forest(image, labels)
                    # Round two goes on from round one's model of the last mark (--init).
                    preds, marks, model, train_s, first = loom_round(
                        args, image, labels, classes, tmp, f"{tag}r{r}", model)
                    rd = {
                        "painted_share": float((labels >= 0).mean()),
                        "forest_miou": miou(rf_pred, truth, classes), "forest_s": rf_s,
                        "forest_refined_miou": miou(forest_refined(image, labels), truth, classes),
                        "loom_miou": [miou(p, truth, classes) if p is not None else None
                                      for p in preds],
                        "loom_raw_miou": [miou(p, truth, classes) if p is not None else None
                                          for p in first["raw_preds"]] if not args.separate else [],
                        "loom_marks": marks, "loom_train_s": train_s,
                        "loom_first_step_s": first["first_step_s"],
                        # The first answer a user sees (the first step's model, whole image).
                        "loom_first_result_s": first["first_step_s"] + first.get("first_predict_s", 0),
                        "loom_first_miou": (miou(first["first_pred"], truth, classes)
                                            if first["first_pred"] is not None else None),
                        "forest_pred": rf_pred, "loom_pred_last": preds[-1],
                    }
                    if r == 1:
                        rd["corrective_px"], rd["corrective_regions"] = added, regions
                    record["rounds"].append(rd)
                    if args.save:
                        from skimage import io
                        os.makedirs(args.save, exist_ok=True)
                        if r == 0 and s == 0:
                            io.imsave(os.path.join(args.save, f"c{c}.png"),
                                      (image * 255 + 0.5).astype(np.uint8), check_contrast=False)
                            io.imsave(os.path.join(args.save, f"c{c}-truth.png"),
                                      (truth * (255 // 4)).astype(np.uint8), check_contrast=False)
                        io.imsave(os.path.join(args.save, f"{tag}r{r}-strokes.png"),
                                  ((labels + 1) * (255 // 5)).astype(np.uint8), check_contrast=False)
                        if preds[-1] is not None:
                            io.imsave(os.path.join(args.save, f"{tag}r{r}-loom.png"),
                                      (preds[-1] * (255 // 4)).astype(np.uint8), check_contrast=False)
                        io.imsave(os.path.join(args.save, f"{tag}r{r}-forest.png"),
                                  (rf_pred * (255 // 4)).astype(np.uint8), check_contrast=False)
                    if args.per_composite:
                        scores = " ".join(f"{v:.3f}" if v is not None else "  —  "
                                          for v in rd["loom_miou"])
                        steps = "/".join(str(m["step"]) for m in marks)
                        print(f"  composite {c} seed {s} round {r + 1}: {classes} classes "
                              f"({', '.join(names)}), painted {100 * rd['painted_share']:.2f} %: "
                              f"forest {rd['forest_miou']:.3f} ({rf_s:.1f} s), Loom {scores} "
                              f"(steps {steps})", flush=True)
                for rd in record["rounds"]:
                    del rd["forest_pred"], rd["loom_pred_last"]
                runs.append(record)

    # ---- the table ---------------------------------------------------------
    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    def fmt(v, width=7, digits=3):
        return f"{v:{width}.{digits}f}" if v is not None else f"{'—':>{width}}"

    summary = []
    head = "".join(f"{f'{m:g} s':>8}" for m in args.marks)
    print(f"\nmean IoU over {len(runs)} runs ({args.composites} composites × {args.seeds} seeds)")
    print(f"{'round':<6}{'method':<8}{head}   notes")
    for r in range(args.rounds):
        rounds = [run["rounds"][r] for run in runs]
        rf = mean([rd["forest_miou"] for rd in rounds])
        lm = [mean([rd["loom_miou"][i] for rd in rounds]) for i in range(len(args.marks))]
        steps = [mean([rd["loom_marks"][i]["step"] for rd in rounds]) for i in range(len(args.marks))]
        pred_s = mean([m["predict_s"] for rd in rounds for m in rd["loom_marks"]])
        first = mean([rd["loom_first_step_s"] for rd in rounds])
        first_result = mean([rd["loom_first_result_s"] for rd in rounds])
        first_miou = mean([rd["loom_first_miou"] for rd in rounds])
        rf_s = mean([rd["forest_s"] for rd in rounds])
        painted = mean([rd["painted_share"] for rd in rounds])
        rf_ref = mean([rd["forest_refined_miou"] for rd in rounds])
        print(f"{r + 1:<6}{'forest':<8}{''.join(fmt(rf, 8) for _ in args.marks)}   fit + predict "
              f"{rf_s:.1f} s (the same answer at every mark); painted {100 * painted:.2f} %")
        print(f"{'':<6}{'forest+':<8}{''.join(fmt(rf_ref, 8) for _ in args.marks)}   the forest's "
              f"probabilities through Loom's guided filter (for comparison; not the anchor)")
        print(f"{'':<6}{'Loom':<8}{''.join(fmt(v, 8) for v in lm)}   steps "
              f"{'/'.join(f'{v:.0f}' if v is not None else '—' for v in steps)}; "
              f"first step at {first:.1f} s; whole-image prediction {pred_s:.1f} s (not in the marks)")
        print(f"{'':<6}{'Δ':<8}{''.join(fmt(v - rf if v is not None else None, 8) for v in lm)}"
              f"   Loom − forest")
        if not args.separate:
            raw = [mean([rd["loom_raw_miou"][i] for rd in rounds]) for i in range(len(args.marks))]
            print(f"{'':<6}{'raw':<8}{''.join(fmt(v, 8) for v in raw)}   Loom without refinement "
                  f"(the guided filter off)")
            summary_raw = dict(zip((f"{m:g}" for m in args.marks), raw))
        else:
            summary_raw = None
        print(f"{'':<6}{'first':<8}{fmt(first_miou, 8)}   Loom's first whole-image answer "
              f"(the first step's model) after {first_result:.1f} s, training setup and prediction "
              f"included")
        summary.append({"round": r + 1, "forest_miou": rf, "forest_s": rf_s,
                        "forest_refined_miou": rf_ref,
                        "loom_miou": dict(zip((f"{m:g}" for m in args.marks), lm)),
                        "loom_steps": dict(zip((f"{m:g}" for m in args.marks), steps)),
                        "loom_predict_s": pred_s, "loom_first_step_s": first,
                        "loom_first_result_s": first_result, "loom_first_miou": first_miou,
                        "loom_raw_miou": summary_raw,
                        "painted_share": painted})
    first = summary[0]
    for t, bar in ((60, 0.10), (10, 0.03)):
        v = first["loom_miou"].get(f"{t:g}")
        if v is not None:
            print(f"bar after {t} s (round 1): Loom − forest = {v - first['forest_miou']:+.3f}, "
                  f"wanted ≥ +{bar:.2f}: {'met' if v - first['forest_miou'] >= bar else 'not met'}")
    load1 = os.getloadavg()
    print(f"{time.time() - began:.0f} s in all; load average {load1[0]:.2f} at the end")

    report = {
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "mode": "separate" if args.separate else "anytime",
        "size": [width, height], "composites": args.composites, "seeds": args.seeds,
        "labelled": args.labelled, "corrective": args.corrective,
        "correct_from": args.correct_from, "marks": args.marks,
        "start": os.path.relpath(args.start, REPO) if args.start else None,
        "composite_seed": args.seed, "per_class": list(per_class),
        "photos": [{"name": n, "package": p, "version": versions.get(p), "path": "/" + path,
                    "copyright": who, "licence": lic, "sha256_16": d}
                   for n, p, path, who, lic, d in PHOTOS],
        "held_out": not clash, "held_out_clashes": clash,
        "load_average": [load0[0], load1[0]], "seconds": time.time() - began,
        "machine": machine(),
        "summary": summary, "runs": runs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"results: {os.path.relpath(os.path.abspath(args.json), os.getcwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
