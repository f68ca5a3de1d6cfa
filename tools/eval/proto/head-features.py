#!/usr/bin/env python3
"""Which features a pixel head needs (issue 15, phase one): on photos.py composites of
another composite seed (SEED, default 7; N composites, default 4) with 0.5 % strokes and two
stroke seeds, the forest on scikit-image's multi-scale features against an MLP (PyTorch) on
them, on them + the shipped U-Net trunk's 16 features, + every U-Net level, and on the U-Net
levels alone.  Prints mean IoU per run; not a test.

    python3 tools/eval/photos.py --fetch      # once, on the host
    N=3 tools/env python3 tools/eval/proto/head-features.py
"""
import sys, os, time, json
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "eval")); sys.path.insert(0, os.path.join(REPO, "tools", "torch"))
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import photos
from segment import forest, miou, strokes
from skimage.feature import multiscale_basic_features
from unet import UNet
torch.set_num_threads(2)
pool = photos.load_pool(os.path.join(REPO, "build", "eval-photos"), False)
rng = np.random.default_rng(int(os.environ.get("SEED", 7)))
N = int(os.environ.get("N", 4))
scenes = [photos.composite(rng, pool, 640, 480, (2, 3)) for _ in range(N)]
net = UNet.load(os.path.join(REPO, "weights", "segment-start.safetensors")).eval()

def cnn_feats(image, levels):
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
    H, W = x.shape[2:]
    depth = net.config["depth"]
    with torch.no_grad():
        skips = []
        for i in range(depth + 1):
            x = getattr(net, f"enc{i}")(x); skips.append(x)
            if i < depth: x = F.max_pool2d(x, 2)
        outs = []
        for i in reversed(range(depth)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = getattr(net, f"dec{i}")(torch.cat([skips[i], x], 1))
        feats = {"dec0": x}
        for i, s in enumerate(skips):
            feats[f"enc{i}"] = F.interpolate(s, size=(H, W), mode="bilinear", align_corners=False) if i else s
    return torch.cat([feats[l] for l in levels], 1)[0].permute(1, 2, 0).numpy()

def mlp(features, labels, classes, iters=300, hidden=64, wd=1e-4):
    t0 = time.perf_counter()
    f = features.reshape(-1, features.shape[-1]).astype(np.float32)
    mu, sd = f.mean(0), f.std(0) + 1e-6
    f = (f - mu) / sd
    mask = labels.ravel() >= 0
    X = torch.from_numpy(f[mask]); y = torch.from_numpy(labels.ravel()[mask].astype(np.int64))
    w = torch.bincount(y, minlength=classes).float(); w = w.sum() / (w + 1) / classes
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(f.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    opt = torch.optim.Adam(m.parameters(), 1e-2, weight_decay=wd)
    for it in range(iters):
        opt.zero_grad(); loss = F.cross_entropy(m(X + 0.0 * torch.randn_like(X)), y, weight=w); loss.backward(); opt.step()
    with torch.no_grad():
        pred = m(torch.from_numpy(f)).argmax(1).numpy().reshape(labels.shape)
    return pred, time.perf_counter() - t0

def rf(features, labels):
    from sklearn.ensemble import RandomForestClassifier
    t0 = time.perf_counter()
    mask = labels >= 0
    clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0).fit(features[mask], labels[mask])
    return clf.predict(features.reshape(-1, features.shape[-1])).reshape(labels.shape), time.perf_counter() - t0

res = {}
def add(k, v): res.setdefault(k, []).append(v)
for c, (image, truth, names, _) in enumerate(scenes):
    classes = len(names)
    mbf = multiscale_basic_features(image, channel_axis=-1, sigma_min=1, sigma_max=16)
    cdec = cnn_feats(image, ["dec0"])
    call = cnn_feats(image, ["dec0", "enc0", "enc1", "enc2", "enc3"])
    for s in range(2):
        labels = strokes(np.random.default_rng([7, c, s]), truth, classes, 0.005)
        p, t = forest(image, labels); add("forest_mbf", miou(p, truth, classes))
        p, t = mlp(mbf, labels, classes); add("mlp_mbf", miou(p, truth, classes))
        p, t = mlp(np.concatenate([mbf, cdec], -1), labels, classes); add("mlp_mbf_dec", miou(p, truth, classes))
        p, t = mlp(np.concatenate([mbf, call], -1), labels, classes); add("mlp_mbf_all", miou(p, truth, classes))
        p, t = mlp(call, labels, classes); add("mlp_all", miou(p, truth, classes))
        pass
        print(c, s, {k: round(v[-1], 3) for k, v in res.items()}, flush=True)
print({k: round(float(np.mean(v)), 3) for k, v in res.items()})
