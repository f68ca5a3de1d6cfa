#!/usr/bin/env python3
"""A 6000 × 4000 photograph (a photos.py composite scaled up) with 0.05 % strokes: `loom
train-seg --time T` (default 30) and `loom segment` on it, each one's seconds and the peak
RSS of the processes so far (issue 15's memory bar).  Writes build/big/; not a test.

    tools/env python3 tools/eval/proto/large-photo.py 20
"""
import sys, os, subprocess, resource, time
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "eval"))
import numpy as np
from skimage import io, transform
import photos
from segment import strokes
pool = photos.load_pool(os.path.join(REPO, "build", "eval-photos"), False)
rng = np.random.default_rng(11)
image, truth, names, _ = photos.composite(rng, pool, 640, 480, (2, 3))
big = transform.resize(image, (4000, 6000), order=1)
bt = transform.resize(truth, (4000, 6000), order=0, preserve_range=True, anti_aliasing=False).astype(int)
labels = strokes(np.random.default_rng(3), bt, len(names), 0.0005)
os.chdir(REPO)
os.makedirs("build/big", exist_ok=True)
io.imsave("build/big/photo.png", (big * 255 + 0.5).astype(np.uint8), check_contrast=False)
colors = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48]], np.uint8)
rgba = np.zeros((4000, 6000, 4), np.uint8)
m = labels >= 0
rgba[m, :3] = colors[labels[m]]
rgba[m, 3] = 255
io.imsave("build/big/labels.png", rgba, check_contrast=False)
print("painted", m.sum(), "pixels;", len(names), "classes", flush=True)
loom = os.path.join(REPO, "build", "cli", "loom")
for cmd in ([loom, "train-seg", "--image", "build/big/photo.png", "--labels", "build/big/labels.png",
             "-o", "build/big/m.safetensors", "--time", sys.argv[1] if len(sys.argv) > 1 else "30", "--json"],
            [loom, "segment", "--model", "build/big/m.safetensors", "-i", "build/big/photo.png",
             "-o", "build/big/seg.png", "--quiet"]):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(cmd[1], "rc", r.returncode, f"{time.time() - t0:.1f} s", "peak RSS so far (any child)",
          f"{ru.ru_maxrss / 1024:.0f} MiB", r.stdout[-300:], r.stderr[-300:], flush=True)
