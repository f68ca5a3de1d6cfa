#!/usr/bin/env python3
"""The GIMP plug-in inside the real GIMP 3, in batch mode (TAP).

    tests/test-plugin.py BUILD/plugin/loom BUILD/cli/loom [plugin-cases-NAME.py ...]

(Case files named after the binaries: only those run after plugin-cases.py.)
Installs the built plug-in into a throwaway GIMP profile (GIMP3_DIRECTORY,
as <plug-ins>/loom/loom), runs tests/plugin-cases.py and then every
tests/plugin-cases-*.py (which use its helpers) in one gimp-console's
Python-Fu (images made through the PDB, the procedures run
non-interactively, their layers read back pixel by pixel), then one
Script-Fu batch that calls both procedures with keyword arguments and
exports the result with gimp-file-save, checked here with PIL.  The
generator models the Generate cases need (texture, dcgan, pix2pix and a
grey texture; tiny, 2 steps) are trained here first with the command-line
tool, into $LOOM_TEST_GAN_DIR, beside a U-Net tools/torch/train.py trained
and `loom segment`'s output with it (tests/plugin-cases-torch.py).

GIMP itself never runs under the sanitizers' LD_PRELOAD: in the ASan build
(LOOM_RUNNER_PRELOAD set) the plug-in, linked with ASan, starts from GIMP
with ASAN_OPTIONS=detect_leaks=0 (GTK and libgimp keep memory to the end
by design; the command-line test checks Loom's own leaks).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

PLUGIN = os.path.abspath(sys.argv[1])
CLI = os.path.abspath(sys.argv[2])
ONLY = sys.argv[3:]            # case files to run after plugin-cases.py (default: every one)
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="loom-plugin-")
PROFILE = os.path.join(TMP, "profile")
RESULTS = os.path.join(TMP, "results.jsonl")
GAN_DIR = os.path.join(TMP, "gan")
W, H = 64, 48
LBL_LEFT, LBL_RIGHT = (250, 200, 0), (0, 160, 80)


def env():
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    if e.pop("LOOM_RUNNER_PRELOAD", None):
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    e.pop("LOOM_DEVICE", None)     # the device comes from the profile's loomrc (install())
    e["LOOM_DATA_DIR"] = os.path.join(TMP, "data")     # a starting point only where a case puts one
    e["GIMP3_DIRECTORY"] = PROFILE
    e["HOME"] = TMP
    e["XDG_CACHE_HOME"] = os.path.join(TMP, "cache")
    e["XDG_CONFIG_HOME"] = os.path.join(TMP, "config")
    e["LOOM_PLUGIN_RESULTS"] = RESULTS
    e["LOOM_TEST_GAN_DIR"] = GAN_DIR
    e["LOOM_TEST_CLI"] = CLI                            # cases compare with the CLI's output
    e["LANG"] = "C.UTF-8"
    e.pop("DISPLAY", None)
    return e


def gimp(interpreter, batch, timeout=1800):
    return subprocess.run(["gimp-console-3.0", "-i", "--quit", "--batch-interpreter=" + interpreter,
                           "-b", batch], capture_output=True, text=True, env=env(), timeout=timeout)


def train_gans():
    """Tiny generator models for the Generate cases: 2 steps each."""
    os.makedirs(GAN_DIR)
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, :16], img[:, 16:] = (220, 40, 30), (30, 60, 200)
    img[::4] += 10
    lbl = np.zeros((32, 32, 3), np.uint8)
    lbl[:, :16], lbl[:, 16:] = LBL_LEFT, LBL_RIGHT
    Image.fromarray(img).save(os.path.join(GAN_DIR, "img.png"))
    Image.fromarray(lbl).save(os.path.join(GAN_DIR, "lbl.png"))
    Image.fromarray(img[..., 0], "L").save(os.path.join(GAN_DIR, "grey.png"))
    common = ["--steps", "2", "--size", "32", "--batch", "2", "--width", "8", "-q"]
    for name, args in (("tex", ["--kind", "texture", "--image", "img.png"]),
                       ("dc", ["--kind", "dcgan", "--images", "img.png", "--latent", "8"]),
                       ("p2p", ["--kind", "pix2pix", "--image", "img.png", "--labels", "lbl.png"]),
                       ("grey", ["--kind", "texture", "--image", "grey.png"])):
        subprocess.run([CLI, "train-gan", *args, *common, "-o", name + ".safetensors"],
                       cwd=GAN_DIR, env=dict(env(), LOOM_DEVICE=os.environ.get("LOOM_DEVICE") or "cpu"),
                       check=True, capture_output=True, timeout=120)


def train_torch():
    """A tiny U-Net trained by tools/torch/train.py (Loom's models on
    PyTorch's tooling) on the cases' picture and scribbles, and what
    `loom segment` makes of that picture with it: the plug-in must load the
    file and agree."""
    folder = os.path.join(GAN_DIR, "torch")
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(folder, "pairs", sub))
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :W // 2], img[:, W // 2:] = (220, 40, 30), (30, 60, 200)
    lbl = np.zeros((H, W, 4), np.uint8)
    for x, y, sw, sh, rgb in ((4, 20, 20, 4, LBL_LEFT), (40, 20, 20, 4, LBL_RIGHT),
                              (8, 6, 4, 30, LBL_LEFT), (50, 6, 4, 30, LBL_RIGHT)):
        lbl[y:y + sh, x:x + sw] = (*rgb, 255)
    Image.fromarray(img).save(os.path.join(folder, "pairs", "images", "picture.png"))
    Image.fromarray(lbl, "RGBA").save(os.path.join(folder, "pairs", "labels", "picture.png"))
    model = os.path.join(GAN_DIR, "torch-seg.safetensors")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "tools", "torch", "train.py"), "segment",
                    "--data", os.path.join(folder, "pairs"), "-o", model, "--device", "cpu",
                    "--steps", "40", "--depth", "1", "--base", "4", "--crop", "32", "--batch", "2",
                    "--seed", "3", "-q"],
                   env=env(), check=True, capture_output=True, timeout=300)
    subprocess.run([CLI, "segment", "-m", model, "-i", os.path.join(folder, "pairs", "images", "picture.png"),
                    "-o", os.path.join(GAN_DIR, "torch-seg-cli.png"), "-q"],
                   env=dict(env(), LOOM_DEVICE=os.environ.get("LOOM_DEVICE") or "cpu"),
                   check=True, capture_output=True, timeout=120)


def install():
    folder = os.path.join(PROFILE, "plug-ins", "loom")
    os.makedirs(folder)
    shutil.copy2(PLUGIN, os.path.join(folder, "loom"))
    # Loom's preferences pick the device (LOOM_DEVICE, if the caller set one,
    # else the CPU): the plug-in runs without LOOM_DEVICE, as in GIMP.
    os.makedirs(os.path.join(PROFILE, "loom"))
    with open(os.path.join(PROFILE, "loom", "loomrc"), "w") as f:
        f.write("[loom]\ndevice=%s\n" % (os.environ.get("LOOM_DEVICE") or "cpu"))


SCRIPT_FU = """
(define (fill img layer x y w h col)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE x y w h)
  (gimp-context-set-foreground col)
  (gimp-drawable-edit-fill layer FILL-FOREGROUND))
(let* ((img (car (gimp-image-new 64 48 RGB)))
       (pic (car (gimp-layer-new img "picture" 64 48 RGBA-IMAGE 100 LAYER-MODE-NORMAL)))
       (lab (car (gimp-layer-new img "labels" 64 48 RGBA-IMAGE 100 LAYER-MODE-NORMAL))))
  (gimp-image-insert-layer img pic 0 0)
  (fill img pic 0 0 32 48 '(220 40 30))
  (fill img pic 32 0 32 48 '(30 60 200))
  (gimp-image-insert-layer img lab 0 0)
  (gimp-selection-none img)
  (gimp-drawable-edit-clear lab)
  (fill img lab 4 20 20 4 '(250 200 0))
  (fill img lab 40 20 20 4 '(0 160 80))
  (fill img lab 8 6 4 30 '(250 200 0))
  (fill img lab 50 6 4 30 '(0 160 80))
  (gimp-selection-none img)
  (gimp-item-set-visible lab FALSE)
  (plug-in-loom-train-segmentation #:run-mode RUN-NONINTERACTIVE #:image img
    #:drawables (vector pic) #:label-layer lab #:model-name "scheme"
    #:steps 60 #:seed 1 #:depth 2 #:base 8 #:segment-after FALSE)
  (let ((seg (car (plug-in-loom-segment #:run-mode RUN-NONINTERACTIVE #:image img
                    #:drawables (vector pic) #:model-file "MODEL"))))
    (gimp-item-set-visible pic FALSE)
    (gimp-file-save RUN-NONINTERACTIVE img "OUT" -1)
    (gimp-image-delete img)))
"""


def script_fu():
    model = os.path.join(PROFILE, "loom", "models", "scheme.safetensors")
    out = os.path.join(TMP, "scheme.png")
    r = gimp("plug-in-script-fu-eval",
             SCRIPT_FU.replace("MODEL", model).replace("OUT", out))
    if not os.path.exists(out):
        raise AssertionError(f"no {out}; gimp said:\n{r.stdout[-2000:]}{r.stderr[-3000:]}")
    px = np.array(Image.open(out).convert("RGBA"))
    if px.shape != (H, W, 4) or not (px[..., 3] == 255).all():
        raise AssertionError(f"shape {px.shape} or transparent pixels")
    colours = {tuple(c) for c in px[..., :3].reshape(-1, 3).tolist()}
    if not colours <= {LBL_LEFT, LBL_RIGHT}:
        raise AssertionError(f"colours not the label colours: {sorted(colours)[:5]}")
    right = (px[:, :W // 2, :3] == LBL_LEFT).all(axis=2).sum() + (px[:, W // 2:, :3] == LBL_RIGHT).all(axis=2).sum()
    if right / (W * H) <= 0.9:
        raise AssertionError(f"accuracy {right / (W * H):.3f}")


def case_files():
    """plugin-cases.py (the helpers: images, run(), checks) and then every
    plugin-cases-*.py, one Python-Fu session for them all."""
    rest = sorted(f for f in os.listdir(HERE) if f.startswith("plugin-cases-") and f.endswith(".py")
                  and (not ONLY or f in ONLY))
    return [os.path.join(HERE, f) for f in ["plugin-cases.py", *rest]]


def case_names():
    names = []
    for path in case_files():
        with open(path) as f:
            for line in f:
                if line.startswith("@case("):
                    names.append(json.loads(line[len("@case("):line.rindex(")")]))
    return names


def main():
    install()
    train_gans()
    train_torch()
    names = case_names()
    print(f"1..{len(names) + 1}", flush=True)
    r = gimp("python-fu-eval", "; ".join("exec(open(%r).read())" % f for f in case_files()))
    got = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            for line in f:
                d = json.loads(line)
                got[d["name"]] = d
    n = 0
    for name in names:
        n += 1
        d = got.get(name)
        if d is not None and d["ok"]:
            print(f"ok {n} - {name}")
        else:
            print(f"not ok {n} - {name}")
            why = d["message"] if d is not None else \
                f"no result (gimp exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            for l in why.splitlines():
                print("# " + l)
    n += 1
    try:
        script_fu()
        print(f"ok {n} - Script-Fu: both procedures with keyword arguments, exported PNG in label colours")
    except Exception as e:
        print(f"not ok {n} - Script-Fu: both procedures with keyword arguments, exported PNG in label colours")
        for l in str(e).splitlines():
            print("# " + l)
    sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)


main()
