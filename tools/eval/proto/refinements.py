#!/usr/bin/env python3
"""Refinements of class probabilities (issue 15, item 3), tried on the forest's: a guided
filter of several radii and ε (grey guide) and SLIC superpixel averaging, on photos.py
composites of another composite seed (7; N composites, default 3), 0.5 % strokes, two stroke
seeds.  Prints mean IoU per run; not a test.

    N=3 tools/env python3 tools/eval/proto/refinements.py
"""
import sys, os, time
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "eval"))
import numpy as np
import photos
from segment import miou, strokes
from skimage.feature import multiscale_basic_features
from skimage.segmentation import slic
from scipy.ndimage import uniform_filter
from sklearn.ensemble import RandomForestClassifier
pool = photos.load_pool(os.path.join(REPO, "build", "eval-photos"), False)
rng = np.random.default_rng(7)
N = int(os.environ.get("N", 3))
scenes = [photos.composite(rng, pool, 640, 480, (2, 3)) for _ in range(N)]

def guided(I, p, r, eps):
    # I: H×W×3 guide (grey of it), p: H×W
    g = I.mean(-1)
    box = lambda x: uniform_filter(x, 2 * r + 1, mode="reflect")
    mI, mp = box(g), box(p)
    cov = box(g * p) - mI * mp
    var = box(g * g) - mI * mI
    a = cov / (var + eps); b = mp - a * mI
    return box(a) * g + box(b)

res = {}
def add(k, v): res.setdefault(k, []).append(v)
for c, (image, truth, names, _) in enumerate(scenes):
    K = len(names)
    mbf = multiscale_basic_features(image, channel_axis=-1, sigma_min=1, sigma_max=16)
    sp = {n: slic(image, n_segments=n, compactness=10, start_label=0) for n in (500, 2000)}
    for s in range(2):
        labels = strokes(np.random.default_rng([7, c, s]), truth, K, 0.005)
        m = labels >= 0
        clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0).fit(mbf[m], labels[m])
        P = clf.predict_proba(mbf.reshape(-1, mbf.shape[-1])).reshape(*labels.shape, -1)
        add("raw", miou(P.argmax(-1), truth, K))
        for r, eps in ((4, 1e-3), (8, 1e-3), (8, 1e-2), (16, 1e-2)):
            Q = np.stack([guided(image, P[..., k], r, eps) for k in range(P.shape[-1])], -1)
            add(f"guided r{r} e{eps}", miou(Q.argmax(-1), truth, K))
        for n, seg in sp.items():
            cnt = np.bincount(seg.ravel())
            Q = np.stack([np.bincount(seg.ravel(), P[..., k].ravel()) / cnt for k in range(P.shape[-1])], -1)[seg]
            add(f"slic{n}", miou(Q.argmax(-1), truth, K))
            add(f"slic{n}+half", miou((0.5 * Q + 0.5 * P).argmax(-1), truth, K))
        print(c, s, {k: round(v[-1], 3) for k, v in res.items()}, flush=True)
print({k: round(float(np.mean(v)), 3) for k, v in res.items()})
