#!/usr/bin/env python3
"""The `loom` command line through the real binary (TAP).

    tests/test-cli.py BUILD/cli/loom

Every subcommand on small inputs, each error case of the interface (exit
status and the file or option named), exact label colours out of
`segment`, seeds, Ctrl-C, odd image files (a header that claims 10^10
pixels, cut-short PNG and JPEG, 16-bit, CMYK, palette, grey+alpha, 1×1),
--help in the C locale.  Images are made here with PIL.  Under the
sanitizers LOOM_RUNNER_PRELOAD is the binary's LD_PRELOAD.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import struct
import zlib

import numpy as np
from PIL import Image

LOOM = os.path.abspath(sys.argv[1])
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TMP = tempfile.mkdtemp(prefix="loom-cli-")
RED, BLUE, GREEN = (220, 40, 30), (30, 60, 200), (40, 170, 60)
results = []


def env():
    e = dict(os.environ)
    if e.get("LOOM_RUNNER_PRELOAD"):
        e["LD_PRELOAD"] = e["LOOM_RUNNER_PRELOAD"]
        # Whole stacks: the libraries GEGL's modules load allocate in their
        # constructors (tests/lsan.supp), which frame pointers cannot reach.
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
    e.setdefault("LOOM_DEVICE", "cpu")
    e["LOOM_DATA_DIR"] = SOURCE
    return e


def loom(*args, timeout=600, extra=None):
    r = subprocess.run([LOOM, *map(str, args)], capture_output=True, text=True, env={**env(), **(extra or {})},
                       timeout=timeout)
    # Any message of the validation layer is a failure.
    check("Vulkan validation" not in r.stderr, f"loom {' '.join(map(str, args))}: {r.stderr[-2000:]}")
    return r


def path(name):
    return os.path.join(TMP, name)


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def ok(r, what):
    check(r.returncode == 0, f"{what}: exit {r.returncode}\nstderr: {r.stderr[-2000:]}")


def fails(r, status, *words):
    """R exited with STATUS and one stderr line holding every one of WORDS."""
    line = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    check(r.returncode == status, f"exit {r.returncode}, wanted {status}; stderr: {r.stderr[-1000:]}")
    for w in words:
        check(w in line, f"'{w}' not in the error line: {line!r}")
    check("Segmentation fault" not in r.stderr and "AddressSanitizer" not in r.stderr, r.stderr)


def one_line(r, *words):
    """R failed with exit 1 and a single stderr line naming each of WORDS once."""
    fails(r, 1, *words)
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1, f"more than the error on stderr: {r.stderr[-1500:]}")
    for w in words:
        check(lines[0].count(w) == 1, f"'{w}' named {lines[0].count(w)} times: {lines[0]!r}")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def raw_png(width, height, depth, rows):
    """A PNG of RGB rows (bytes, filter byte included) at DEPTH bits."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def pixels(name):
    return np.array(Image.open(path(name)))


# ---- inputs ---------------------------------------------------------------

def two_regions(w=96, h=64, seed=0):
    """Left red, right blue, with noise; truth 0 left, 1 right."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float64)
    img[:, : w // 2] = RED
    img[:, w // 2:] = BLUE
    img += rng.normal(0, 12, img.shape)
    truth = np.zeros((h, w), int)
    truth[:, w // 2:] = 1
    return np.clip(img, 0, 255).astype(np.uint8), truth


def scribbles(w=96, h=64, colours=(RED, BLUE)):
    lab = np.zeros((h, w, 4), np.uint8)
    lab[h // 2 - 2: h // 2 + 2, 6: w // 2 - 10] = colours[0] + (255,)
    lab[h // 2 - 2: h // 2 + 2, w // 2 + 10: w - 6] = colours[1] + (255,)
    return lab


def setup():
    img, truth = two_regions()
    Image.fromarray(img).save(path("img.png"))
    Image.fromarray(scribbles()).save(path("lbl.png"))
    Image.fromarray(np.zeros((64, 96, 4), np.uint8)).save(path("empty.png"))
    Image.fromarray(scribbles(90, 64)).save(path("small-lbl.png"))
    many = np.zeros((64, 96, 4), np.uint8)
    for i in range(40):                       # an antialiased edge: 40 near-duplicate colours
        many[i, :] = (200 - i, 40 + i, 30, 255)
    Image.fromarray(many).save(path("many.png"))
    other = scribbles(colours=(RED, GREEN))
    Image.fromarray(other).save(path("other-lbl.png"))
    with open(path("text.png"), "w") as f:
        f.write("this is not an image\n")
    # With alpha: the right quarter transparent.
    rgba = np.concatenate([img, np.full((64, 96, 1), 255, np.uint8)], axis=2)
    rgba[:, 72:, 3] = 0
    Image.fromarray(rgba).save(path("alpha.png"))
    # A texture: stripes with noise, 64×64; and a folder of small images.
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:64, 0:64]
    tex = (127 + 100 * np.sin(xx / 3.0))[..., None] * np.array([1.0, 0.8, 0.6]) + rng.normal(0, 10, (64, 64, 3))
    Image.fromarray(np.clip(tex, 0, 255).astype(np.uint8)).save(path("tex.png"))
    os.makedirs(path("set"), exist_ok=True)
    for i in range(4):
        Image.fromarray(np.clip(tex[i:i + 40, i:i + 40] + 10 * i, 0, 255).astype(np.uint8)).save(path(f"set/{i}.png"))
    with open(path("set/notes.txt"), "w") as f:
        f.write("not an image, skipped\n")
    # Odd files.  A header-only bomb: 100000×100000 claimed, 70 bytes.
    with open(path("bomb.png"), "wb") as f:
        f.write(raw_png(100000, 100000, 8, b"\0" * 301))
    Image.fromarray(img).save(path("img.jpg"), quality=95)
    for name in ("img.png", "img.jpg"):
        data = open(path(name), "rb").read()
        with open(path("cut" + name[3:]), "wb") as f:
            f.write(data[: len(data) // 2])
    open(path("zero.png"), "wb").close()
    with open(path("rgb16.png"), "wb") as f:        # 16 bits a channel: the 8-bit values × 257
        f.write(raw_png(96, 64, 16, b"".join(b"\0" + (img[y].astype(">u2") * 257).tobytes() for y in range(64))))
    Image.fromarray(img[..., 0].astype(np.uint16) * 257).save(path("grey16.png"))
    Image.fromarray(img).convert("CMYK").save(path("cmyk.jpg"), quality=95)
    Image.fromarray(img).convert("CMYK").save(path("cmyk.tif"))
    Image.fromarray(img).quantize(64).save(path("palette.png"))
    la = Image.fromarray(img).convert("LA")
    alpha = np.array(la)
    alpha[:, 72:, 1] = 0
    Image.fromarray(alpha, "LA").save(path("grey-alpha.png"))
    Image.fromarray(img[:1, :1]).save(path("one.png"))


# ---- the commands -----------------------------------------------------------

@case("info --json lists the devices")
def _():
    r = loom("info", "--json")
    ok(r, "info")
    check(len(json.loads(r.stdout)["devices"]) >= 1, r.stdout)


@case("train-seg then segment: exact label colours, index, overlay, confidence")
def _():
    r = loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "-o", path("m.safetensors"),
             "--steps", 40, "--crop", 32, "--batch", 4, "--depth", 2, "--base", 8, "--json")
    ok(r, "train-seg")
    summary = json.loads(r.stdout)
    check(summary["classes"] == 2 and summary["steps"] == 40, r.stdout)
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("seg.png"),
            "--confidence", path("conf.png")), "segment")
    seg = pixels("seg.png")
    colours = {tuple(c) for c in seg.reshape(-1, seg.shape[-1])[:, :3].tolist()}
    check(colours <= {RED, BLUE}, f"colours not the label colours: {sorted(colours)[:5]}")
    _, truth = two_regions()
    predicted = (seg[..., :3] == BLUE).all(axis=2).astype(int)
    check((predicted == truth).mean() > 0.9, f"accuracy {(predicted == truth).mean():.3f}")
    conf = pixels("conf.png")
    check(conf.dtype == np.uint8 and conf.ndim == 2 and conf.shape == (64, 96), f"confidence {conf.shape} {conf.dtype}")
    check(conf.min() >= 127, f"confidence below a half: {conf.min()}")
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("idx.png"),
            "--format", "index"), "index")
    idx = pixels("idx.png")
    check(idx.dtype == np.uint8 and idx.ndim == 2 and (idx == predicted).all(), "index disagrees with colours")
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("ov.png"),
            "--format", "overlay"), "overlay")
    ov, img = pixels("ov.png").astype(int), np.array(Image.open(path("img.png"))).astype(int)
    want = (img + np.where(predicted[..., None] == 1, BLUE, RED) + 1) // 2
    check(np.abs(ov[..., :3] - want).max() <= 1, "overlay is not the half-way blend")


@case("train-seg and segment on Vulkan (lavapipe in CI, validation on)")
def _():
    ok(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "-o", path("vk.safetensors"),
            "--steps", 10, "--crop", 32, "--batch", 2, "--depth", 2, "--base", 8, "--device", "vulkan"), "train-seg")
    r = loom("segment", "--model", path("vk.safetensors"), "-i", path("img.png"), "-o", path("vk.png"),
             "--device", "vulkan")
    ok(r, "segment")
    check("device:" in r.stderr and "CPU (" not in r.stderr.split("device:")[1].splitlines()[0], r.stderr)
    seg = pixels("vk.png")
    check({tuple(c) for c in seg.reshape(-1, 3).tolist()} <= {RED, BLUE}, "colours not the label colours")


@case("segment keeps alpha: transparent pixels stay transparent")
def _():
    r = loom("segment", "--model", path("m.safetensors"), "-i", path("alpha.png"), "-o", path("seg-alpha.png"))
    ok(r, "segment alpha")
    seg = pixels("seg-alpha.png")
    check(seg.shape[-1] == 4, "no alpha channel")
    check((seg[:, 72:, 3] == 0).all() and (seg[:, :72, 3] == 255).all(), "alpha not kept")


# ---- explanations: probabilities, uncertainty, evidence, paint here next ----

def entropy2(p):
    p = np.clip(p, 1e-12, 1)
    q = np.clip(1 - p, 1e-12, 1)
    return -(p * np.log2(p) + q * np.log2(q))


@case("segment --probabilities and --uncertainty: sum to 1, argmax is the index, alpha kept")
def _():
    ok(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "-o", path("p.safetensors"),
            "--steps", 30, "--crop", 32, "--batch", 4, "--depth", 2, "--base", 8), "train-seg")
    ok(loom("segment", "--model", path("p.safetensors"), "-i", path("img.png"), "-o", path("p-idx.png"),
            "--format", "index", "--probabilities", path("probs"), "--uncertainty", path("u.png")), "segment")
    check(sorted(os.listdir(path("probs"))) == ["0-dc281e.png", "1-1e3cc8.png"], os.listdir(path("probs")))
    p = np.stack([pixels("probs/0-dc281e.png"), pixels("probs/1-1e3cc8.png")]).astype(int)
    check(p.shape == (2, 64, 96), f"probability files {p.shape}")
    total = p.sum(axis=0)
    check(np.abs(total - 255).max() <= 2, f"probabilities sum to {total.min()}…{total.max()} of 255")
    idx = pixels("p-idx.png")
    clear = np.abs(p[0] - p[1]) > 1                  # not a tie after rounding
    check(clear.mean() > 0.9 and (np.argmax(p, axis=0) == idx)[clear].all(), "argmax is not the label")
    # the uncertainty is the entropy (bits, two classes) of those probabilities
    u = pixels("u.png").astype(float)
    mid = (p[0] >= 13) & (p[0] <= 242)
    want = 255 * entropy2(p[0] / 255.0)
    check(mid.any(), "no pixel between sure and unsure")
    off = np.abs(u - want)[mid].max()
    check(off <= 6, f"uncertainty off the entropy by {off}")
    check(not (~mid).any() or u[~mid].max() <= 80, "a sure pixel is uncertain")
    # with alpha: grey + alpha files, transparent pixels 0
    ok(loom("segment", "--model", path("p.safetensors"), "-i", path("alpha.png"), "-o", path("p-a.png"),
            "--probabilities", path("probs-a"), "--uncertainty", path("u-a.png")), "segment alpha")
    for name in ("probs-a/0-dc281e.png", "probs-a/1-1e3cc8.png", "u-a.png"):
        im = Image.open(path(name))
        check(im.mode == "LA", f"{name}: {im.mode}")
        a = np.array(im)
        check((a[:, 72:, 1] == 0).all() and (a[:, :72, 1] == 255).all() and (a[:, 72:, 0] == 0).all(),
              f"{name}: alpha not kept")
    # bad input: a file where the folder goes, an unwritable uncertainty
    open(path("afile"), "w").close()
    fails(loom("segment", "--model", path("p.safetensors"), "-i", path("img.png"), "-o", path("s.png"),
               "--probabilities", path("afile")), 2, "afile", "not a folder")
    fails(loom("segment", "--model", path("p.safetensors"), "-i", path("img.png"), "-o", path("s.png"),
               "--uncertainty", path("nowhere/u.png")), 2, "nowhere")


@case("segment --uncertainty: highest on a boundary painted both ways")
def _():
    img, _ = two_regions()
    lab = np.zeros((64, 96, 4), np.uint8)
    lab[:, :48] = RED + (255,)
    lab[:, 48:] = BLUE + (255,)
    band = slice(42, 54)
    lab[0::2, band] = RED + (255,)                   # conflicting strokes, row by row
    lab[1::2, band] = BLUE + (255,)
    Image.fromarray(lab).save(path("conflict.png"))
    ok(loom("train-seg", "--image", path("img.png"), "--labels", path("conflict.png"), "-o",
            path("cf.safetensors"), "--steps", 150, "--crop", 32, "--batch", 4, "--depth", 2, "--base", 8,
            "--augment", 0), "train-seg")
    ok(loom("segment", "--model", path("cf.safetensors"), "-i", path("img.png"), "-o", path("cf.png"),
            "--uncertainty", path("cu.png")), "segment")
    u = pixels("cu.png").astype(float)
    inside, outside = u[:, band].mean(), np.delete(u, np.r_[band], axis=1).mean()
    check(inside > 2 * outside, f"uncertainty {inside:.1f} in the band, {outside:.1f} elsewhere")
    check(42 <= int(np.argmax(u.mean(axis=0))) < 54, "the most uncertain column is not in the band")


def red_squares():
    """Grey noise, four red and four grey 12 × 12 squares: only colour tells the red class."""
    rng = np.random.default_rng(3)
    g = rng.uniform(64, 192, (64, 64))
    img = np.stack([g, g, g], axis=2)
    red = np.zeros((64, 64), bool)
    for i, (x, y) in enumerate([(6, 5), (41, 9), (10, 43), (45, 46), (26, 27), (7, 25), (47, 27), (27, 4)]):
        n = rng.uniform(-12, 12, (12, 12, 1))
        img[y:y + 12, x:x + 12] = (np.array([217, 38, 38]) if i < 4 else np.array([140, 140, 140])) + n
        red[y:y + 12, x:x + 12] = i < 4
    lab = np.zeros((64, 64, 4), np.uint8)
    lab[...] = (128, 128, 128, 255)
    lab[red] = RED + (255,)
    return np.clip(img, 0, 255).astype(np.uint8), lab, red


@case("explain: evidence for a class defined by colour lies on its pixels; --next marks squares")
def _():
    img, lab, red = red_squares()
    Image.fromarray(img).save(path("rs.png"))
    Image.fromarray(lab).save(path("rs-lbl.png"))
    ok(loom("train-seg", "--image", path("rs.png"), "--labels", path("rs-lbl.png"), "-o", path("rs.safetensors"),
            "--steps", 150, "--crop", 32, "--batch", 4, "--depth", 2, "--base", 8, "--augment", 0), "train-seg")
    mask = np.zeros((64, 64), np.uint8)
    mask[9:21, 41:53] = 255                           # the red square at (41, 9)
    Image.fromarray(mask).save(path("rs-mask.png"))
    r = loom("explain", "--model", path("rs.safetensors"), "-i", path("rs.png"), "--region", path("rs-mask.png"),
             "-o", path("ev.png"), "--next", path("next.png"), "--count", 3)
    ok(r, "explain")
    check("#dc281e" in r.stderr, f"not the red class: {r.stderr}")
    ev = pixels("ev.png").astype(float)
    check(ev.shape == (64, 64) and ev.max() == 255, f"evidence {ev.shape} max {ev.max()}")
    share = ev[red].sum() / ev.sum()
    check(share > 0.8, f"{100 * share:.1f} % of the evidence on red pixels")
    # the same region as a rectangle, the class by number: the same map
    ok(loom("explain", "--model", path("rs.safetensors"), "-i", path("rs.png"), "--region", "41,9,12,12",
            "--class", "1", "-o", path("ev2.png")), "explain rect")
    check((pixels("ev2.png") == ev).all(), "rectangle and mask disagree")
    # --next: the squares on stdout, their outlines magenta on the image
    squares = [tuple(map(int, line.split()[0].split(","))) for line in r.stdout.split("\n") if line.strip()]
    check(1 <= len(squares) <= 3, r.stdout)
    nxt = pixels("next.png")
    for x, y, w, h in squares:
        check(tuple(nxt[y, x, :3]) == (255, 0, 255) and tuple(nxt[y + h - 1, x + w - 1, :3]) == (255, 0, 255),
              f"square {x},{y} not marked")
    check((nxt[..., :3] == img).all(axis=2).mean() > 0.5, "the image is not under the marks")


@case("explain: bad input (region outside, mask size, unknown class, usage)")
def _():
    m = path("p.safetensors")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", "90,10,20,20", "-o", path("e.png")), 1,
          "--region 90,10,20,20", "96×64")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", path("rs-mask.png"), "-o",
               path("e.png")), 1, "64×64", "96×64")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", "1,1,4,4", "--class", "#00ff00",
               "-o", path("e.png")), 1, "#00ff00", "classes 0 to 1")
    Image.fromarray(np.zeros((64, 96), np.uint8)).save(path("black.png"))
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", path("black.png"), "-o", path("e.png")),
          1, "no pixel")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", "1,2,3", "-o", path("e.png")), 1, "1,2,3")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--region", "1,1,4,4"), 2, "--region")
    fails(loom("explain", "--model", m, "-i", path("img.png")), 2, "--next")
    fails(loom("explain", "--model", m, "-i", path("img.png"), "--next", path("n.png"), "--count", 0), 2, "--count")
    check(not os.path.exists(path("e.png")), "an evidence file from a failed run")
    r = subprocess.run([LOOM, "explain", "--help"], capture_output=True, env={**env(), "LC_ALL": "C"}, timeout=60)
    check(r.returncode == 0 and b"loom explain [OPTION...]" in r.stdout and b"--region" in r.stdout
          and all(b < 128 for b in r.stdout), r.stdout[:300])


@case("train-seg --init fine-tunes; a colour outside the model's classes is refused")
def _():
    ok(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "--init", path("m.safetensors"),
            "-o", path("m2.safetensors"), "--steps", 5, "--crop", 32, "-q"), "fine-tune")
    fails(loom("train-seg", "--image", path("img.png"), "--labels", path("other-lbl.png"), "--init",
               path("m.safetensors"), "-o", path("m3.safetensors"), "--steps", 5), 1, "other-lbl.png",
          "not one of the model's 2 classes")
    check(not os.path.exists(path("m3.safetensors")), "a model was written after an error")


@case("train-seg --pretrained: a starting point of other classes")
def _():
    r = loom("train-seg", "--image", path("img.png"), "--labels", path("other-lbl.png"), "--pretrained",
             path("m.safetensors"), "-o", path("pre.safetensors"), "--steps", 3, "--crop", 32, "--json")
    ok(r, "pretrained")
    check(json.loads(r.stdout).get("starting_point") == path("m.safetensors"), r.stdout)
    ok(loom("segment", "--model", path("pre.safetensors"), "-i", path("img.png"), "-o", path("pre.png")), "segment")
    colours = {tuple(c) for c in pixels("pre.png").reshape(-1, 3).tolist()}
    check(colours <= {RED, GREEN}, f"not the new model's colours: {colours}")
    fails(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "--init", path("m.safetensors"),
               "--pretrained", path("m.safetensors"), "-o", path("x.safetensors")), 2, "--pretrained")
    fails(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "--pretrained",
               path("tex.png"), "-o", path("x.safetensors")), 1, "tex.png")


@case("errors: missing, unreadable, no labels, too many colours, size mismatch")
def _():
    base = ["train-seg", "-o", path("x.safetensors"), "--steps", 5]
    fails(loom(*base, "--image", path("nothing.png"), "--labels", path("lbl.png")), 1, "nothing.png", "no such file")
    fails(loom(*base, "--image", path("text.png"), "--labels", path("lbl.png")), 1, "text.png", "not an image")
    fails(loom(*base, "--image", path("img.png"), "--labels", path("empty.png")), 1, "empty.png", "no labelled pixels")
    fails(loom(*base, "--image", path("img.png"), "--labels", path("many.png")), 1, "many.png", "more than 32 colours")
    fails(loom(*base, "--image", path("img.png"), "--labels", path("small-lbl.png")), 1, "small-lbl.png", "same size")
    check(not os.path.exists(path("x.safetensors")), "a model was written after an error")


@case("errors: corrupt model, wrong model kind, missing model")
def _():
    data = open(path("m.safetensors"), "rb").read()
    with open(path("cut.safetensors"), "wb") as f:
        f.write(data[: len(data) // 2])
    fails(loom("segment", "--model", path("cut.safetensors"), "-i", path("img.png"), "-o", path("s.png")), 1, "cut.safetensors")
    fails(loom("segment", "--model", path("gone.safetensors"), "-i", path("img.png"), "-o", path("s.png")), 1,
          "gone.safetensors", "no such file")
    fails(loom("generate", "--model", path("m.safetensors"), "-o", path("g.png")), 1, "m.safetensors", "not")
    check(not os.path.exists(path("s.png")) and not os.path.exists(path("g.png")), "output written after an error")


@case("odd files: a header claiming 100000×100000 fails from the header, before any pixel")
def _():
    start = time.monotonic()
    one_line(loom("segment", "--model", path("m.safetensors"), "-i", path("bomb.png"), "-o", path("b.png")),
             "bomb.png", "100000×100000", "LOOM_MAX_PIXELS")
    one_line(loom("train-seg", "--image", path("bomb.png"), "--labels", path("lbl.png"), "-o", path("b.safetensors"),
                  "--steps", 1), "bomb.png", "100000×100000")
    one_line(loom("train-seg", "--image", path("img.png"), "--labels", path("bomb.png"), "-o", path("b.safetensors"),
                  "--steps", 1), "bomb.png")
    one_line(loom("augment", "-i", path("bomb.png"), "-o", path("b-aug"), "--count", 1), "bomb.png")
    check(time.monotonic() - start < 120, f"{time.monotonic() - start:.0f} s: decoded, not read from the header")
    check(not os.path.exists(path("b.png")) and not os.path.exists(path("b.safetensors")), "output after an error")
    # The limit moves: below this image, refused; a bad value is an error.
    one_line(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("b.png"),
                  extra={"LOOM_MAX_PIXELS": "6000"}), "img.png", "96×64", "LOOM_MAX_PIXELS=6000")
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("b.png"),
            extra={"LOOM_MAX_PIXELS": "6144"}), "at the limit")
    one_line(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("b2.png"),
                  extra={"LOOM_MAX_PIXELS": "lots"}), "LOOM_MAX_PIXELS=lots")


@case("odd files: cut-short PNG and JPEG, an empty file: exit 1, one line, no output")
def _():
    for name in ("cut.png", "cut.jpg"):
        one_line(loom("segment", "--model", path("m.safetensors"), "-i", path(name), "-o", path("c.png")), name,
                 "damaged or cut-short")
        one_line(loom("train-seg", "--image", path(name), "--labels", path("lbl.png"), "-o", path("c.safetensors"),
                      "--steps", 1), name)
    one_line(loom("segment", "--model", path("m.safetensors"), "-i", path("zero.png"), "-o", path("c.png")),
             "zero.png", "empty file")
    one_line(loom("segment", "--model", path("m.safetensors"), "-i", path("text.png"), "-o", path("c.png")),
             "text.png", "not an image")
    check(not os.path.exists(path("c.png")) and not os.path.exists(path("c.safetensors")), "output after an error")
    # The codec's own words come with --verbose.
    r = loom("segment", "--model", path("m.safetensors"), "-i", path("cut.png"), "-o", path("c.png"), "--verbose")
    fails(r, 1, "cut.png")
    check(len(r.stderr.strip().splitlines()) > 1 and "libpng" in r.stderr.lower(), f"--verbose: {r.stderr}")


@case("odd files that are images: 16-bit, CMYK JPEG and TIFF, palette, grey+alpha, 1×1")
def _():
    # CMYK files (GEGL converts their colours to sRGB through a profile) and lossy ones (64-colour palette)
    # come back with colours moved a little: their probe is a network alone, whose colour-jittered training
    # makes it indifferent to that, not the phase-one pixel head, which learns the strokes' exact colours
    # (GEGL's CMYK decoding flips a third of it).
    ok(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "-o", path("probe.safetensors"),
            "--steps", 40, "--crop", 32, "--batch", 4, "--depth", 2, "--base", 8, "--no-pixel-head", "-q"), "probe")
    for model in ("m", "probe"):
        ok(loom("segment", "--model", path(f"{model}.safetensors"), "-i", path("img.png"), "-o",
                path(f"o-ref-{model}.png"), "--format", "index"), "segment")
    # 16 bits a channel: the same values, the same answer.
    for name in ("rgb16.png", "grey16.png", "cmyk.jpg", "cmyk.tif", "palette.png", "grey-alpha.png"):
        model = "probe" if name in ("cmyk.jpg", "cmyk.tif", "palette.png") else "m"
        ref = pixels(f"o-ref-{model}.png")
        r = loom("segment", "--model", path(f"{model}.safetensors"), "-i", path(name), "-o", path(f"o-{name}.png"),
                 "--format", "index")
        ok(r, name)
        check(r.stderr.count("WARNING") == 0, f"{name}: warnings on stderr: {r.stderr}")
        out = pixels(f"o-{name}.png")
        check(out.shape == (64, 96), f"{name}: {out.shape}")
        if name in ("rgb16.png", "cmyk.tif"):
            check((out == ref).mean() > 0.97, f"{name}: agrees with the 8-bit RGB file on {(out == ref).mean():.3f}")
        elif name in ("cmyk.jpg", "palette.png"):
            check((out == ref).mean() > 0.9, f"{name}: agrees with the RGB file on {(out == ref).mean():.3f}")
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("grey-alpha.png"), "-o", path("o-la.png")), "LA")
    la = pixels("o-la.png")
    check(la.shape == (64, 96, 4) and (la[:, 72:, 3] == 0).all() and (la[:, :72, 3] == 255).all(),
          "grey+alpha: alpha not kept")
    ok(loom("segment", "--model", path("m.safetensors"), "-i", path("one.png"), "-o", path("o-one.png")), "1×1")
    check(pixels("o-one.png").shape[:2] == (1, 1), f"1×1: {pixels('o-one.png').shape}")


@case("each command's --help names it, in the C locale as in UTF-8")
def _():
    for command in ("info", "bench", "train-seg", "segment", "train-gan", "generate", "augment", "demo"):
        for lang, dots in (("C", "[OPTION...]"), ("C.UTF-8", "[OPTION…]")):
            r = subprocess.run([LOOM, command, "--help"], capture_output=True, env={**env(), "LC_ALL": lang},
                               timeout=60)
            check(r.returncode == 0, f"{command} --help under {lang}: exit {r.returncode}")
            text = r.stdout.decode("utf-8")
            check(f"loom {command} {dots}" in text, f"{command} --help under {lang}: {text[:200]!r}")
            check("--verbose" in text, f"{command} --help has no --verbose")
            if lang == "C":
                check(all(b < 128 for b in r.stdout) and "?" not in text.split("\n")[1],
                      f"{command} --help under C is not plain ASCII: {text[:300]!r}")
    r = subprocess.run([LOOM, "--help"], capture_output=True, env={**env(), "LC_ALL": "C"}, timeout=60)
    check(r.returncode == 0 and all(b < 128 for b in r.stdout) and b"LBL ...]" in r.stdout, r.stdout[:300])


@case("a weights error names its file once")
def _():
    data = open(path("m.safetensors"), "rb").read()
    with open(path("half.safetensors"), "wb") as f:
        f.write(data[:100])
    os.makedirs(path("folder.safetensors"), exist_ok=True)
    one_line(loom("segment", "--model", path("half.safetensors"), "-i", path("img.png"), "-o", path("w.png")),
             "half.safetensors")
    one_line(loom("segment", "--model", path("folder.safetensors"), "-i", path("img.png"), "-o", path("w.png")),
             "folder.safetensors", "a folder")
    one_line(loom("train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "--init",
                  path("half.safetensors"), "-o", path("w.safetensors")), "half.safetensors")
    one_line(loom("generate", "--model", path("m.safetensors"), "-o", path("w.png")), "m.safetensors")


@case("bad usage exits 2 naming the option")
def _():
    fails(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png")), 2, "-o")
    fails(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("s.png"),
               "--format", "sepia"), 2, "--format", "sepia")
    fails(loom("segment", "--nonsense"), 2, "--nonsense")
    fails(loom("segment", "--model", path("m.safetensors"), "-i", path("img.png"), "-o", path("s.xyz")), 2, "s.xyz")
    fails(loom("train-seg", "--image", path("img.png"), "-o", path("x.safetensors")), 2, "--labels")
    fails(loom("train-gan", "--kind", "vae", "--image", path("tex.png"), "-o", path("x.safetensors")), 2, "--kind", "vae")
    fails(loom("generate", "--model", path("m.safetensors"), "-o", path("g.png"), "--size", "12xq"), 2, "--size")
    fails(loom("augment", "-i", path("img.png"), "-o", path("aug")), 2, "--count")
    fails(loom("frobnicate"), 2, "frobnicate")


@case("train-gan texture, generate: tileable, numbered files, seeds")
def _():
    ok(loom("train-gan", "--kind", "texture", "--image", path("tex.png"), "-o", path("tex.safetensors"),
            "--steps", 4, "--size", 32, "--batch", 2, "--width", 8), "train-gan texture")
    ok(loom("generate", "--model", path("tex.safetensors"), "-o", path("t.png"), "--size", "64x48",
            "--count", 3, "--seed", 5, "--tileable"), "generate")
    files = sorted(f for f in os.listdir(TMP) if f.startswith("t-"))
    check(files == ["t-0001.png", "t-0002.png", "t-0003.png"], f"files {files}")
    check(pixels("t-0001.png").shape == (48, 64, 3), f"shape {pixels('t-0001.png').shape}")
    ok(loom("generate", "--model", path("tex.safetensors"), "-o", path("u.png"), "--size", "64x48", "--seed", 6), "one")
    check((pixels("u.png") == pixels("t-0002.png")).all(), "seed 6 alone differs from the second of seeds 5…")
    check((pixels("t-0001.png") != pixels("t-0002.png")).any(), "two seeds, the same image")
    fails(loom("generate", "--model", path("tex.safetensors"), "-o", path("v.png"), "--size", "60x48", "--tileable"),
          1, "multiples of")
    fails(loom("generate", "--model", path("tex.safetensors"), "-o", path("v.png"), "--labels", path("lbl.png")),
          1, "pix2pix")


@case("train-gan texture: flips and turns only where the sample allows them (brick, gravel), or forced")
def _():
    import skimage.data
    Image.fromarray(skimage.data.brick()).save(path("brick.png"))
    small = ("--steps", 1, "--size", 32, "--batch", 2, "--width", 4, "--json")
    decided = {}
    for name, image in (("brick", path("brick.png")),
                        ("gravel", os.path.join(SOURCE, "data", "textures", "gravel.png"))):
        r = loom("train-gan", "--kind", "texture", "--image", image, "-o", path(f"{name}.safetensors"), *small)
        ok(r, f"train-gan {name}")
        decided[name] = json.loads(r.stdout)
    brick, gravel = decided["brick"], decided["gravel"]
    check(not brick["turns"] and brick["flip_h"] and brick["flip_v"], f"brick: {brick}")
    check(brick["orientation"][2] > 0.3, f"brick's turn barely changes it: {brick['orientation']}")
    check(gravel["turns"] and gravel["flip_h"] and gravel["flip_v"], f"gravel: {gravel}")
    r = loom("train-gan", "--kind", "texture", "--image", path("brick.png"), "-o", path("b2.safetensors"),
             *small, "--turns", "--no-flip-v")
    ok(r, "train-gan brick --turns")
    forced = json.loads(r.stdout)
    check(forced["turns"] and not forced["flip_v"] and forced["flip_h"], f"forced: {forced}")
    fails(loom("train-gan", "--kind", "texture", "--image", path("brick.png"), "-o", path("b3.safetensors"),
               "--turns", "--no-turns"), 2, "--turns")


@case("train-gan dcgan on a folder (grey files make a grey model), generate a batch")
def _():
    r = loom("train-gan", "--kind", "dcgan", "--images", path("set"), "-o", path("dc.safetensors"), "--steps", 2,
             "--size", 32, "--batch", 4, "--width", 8, "--latent", 8, "--json")
    ok(r, "train-gan dcgan")
    check(json.loads(r.stdout)["images"] == 4, r.stdout)
    ok(loom("generate", "--model", path("dc.safetensors"), "-o", path("dc.png"), "--count", 2), "generate dcgan")
    check(pixels("dc-0002.png").shape == (32, 32, 3), "dcgan image shape")
    fails(loom("generate", "--model", path("dc.safetensors"), "-o", path("dc.png"), "--size", "64"), 1, "32×32")


@case("train-gan pix2pix, generate from a label map")
def _():
    lab = np.zeros((64, 96, 4), np.uint8)
    lab[:, :48] = RED + (255,)
    lab[:, 48:] = BLUE + (255,)
    Image.fromarray(lab).save(path("dense.png"))
    ok(loom("train-gan", "--kind", "pix2pix", "--image", path("img.png"), "--labels", path("dense.png"),
            "-o", path("p2p.safetensors"), "--steps", 2, "--size", 32, "--batch", 2), "train pix2pix")
    ok(loom("generate", "--model", path("p2p.safetensors"), "--labels", path("dense.png"), "-o", path("p.png")), "render")
    check(pixels("p.png").shape == (64, 96, 3), "pix2pix shape")
    fails(loom("generate", "--model", path("p2p.safetensors"), "--labels", path("other-lbl.png"), "-o", path("q.png")),
          1, "other-lbl.png", "not one of the model's 2 classes")
    fails(loom("generate", "--model", path("p2p.safetensors"), "-o", path("q.png")), 1, "--labels")


@case("generate --interpolate: a walk whose ends are the seeds' own images, a strip; bad walks refused")
def _():
    gravel = os.path.join(SOURCE, "weights", "texture-gravel.safetensors")
    ok(loom("generate", "--model", gravel, "-o", path("walk.png"), "--size", "48x32", "--interpolate", 3, 9,
            "--count", 5, "--strip", path("strip.png")), "interpolate")
    ok(loom("generate", "--model", gravel, "-o", path("s3.png"), "--size", "48x32", "--seed", 3), "seed 3")
    ok(loom("generate", "--model", gravel, "-o", path("s9.png"), "--size", "48x32", "--seed", 9), "seed 9")
    walk = [pixels(f"walk-000{i}.png").astype(int) for i in range(1, 6)]
    check(not os.path.exists(path("walk-0006.png")), "more images than --count")
    check((walk[0] == pixels("s3.png")).all(), "the walk's first image is not seed 3's")
    check((walk[4] == pixels("s9.png")).all(), "the walk's last image is not seed 9's")
    ends = np.abs(walk[0] - walk[4]).mean()
    for i in (1, 2, 3):
        check(np.abs(walk[i] - walk[0]).mean() > 0.1 * ends and np.abs(walk[i] - walk[4]).mean() > 0.1 * ends,
              f"step {i + 1} is one of the ends")
    check(np.abs(walk[2] - walk[0]).mean() < ends and np.abs(walk[2] - walk[4]).mean() < ends,
          "the middle is farther from an end than the ends are apart: no walk")
    strip = pixels("strip.png").astype(int)
    check(strip.shape == (32, 5 * 48 + 4 * 2), f"strip shape {strip.shape}")     # grey model: one plane
    for i in range(5):
        check((strip[:, i * 50: i * 50 + 48] == walk[i]).all(), f"strip cell {i + 1} is not image {i + 1}")
    check((strip[:, 48:50] == 255).all(), "the strip's gap is not white")
    # one option, A,B; the same seed twice: a still walk; a DCGAN's ends
    ok(loom("generate", "--model", gravel, "-o", path("still.png"), "--size", 32, "--interpolate", "4,4",
            "--count", 3), "still")
    check((pixels("still-0001.png") == pixels("still-0003.png")).all(), "same seed, different ends")
    ok(loom("generate", "--model", path("dc.safetensors"), "-o", path("dcw.png"), "--interpolate", 1, 2,
            "--count", 4), "dcgan walk")
    ok(loom("generate", "--model", path("dc.safetensors"), "-o", path("dc2.png"), "--seed", 2), "dcgan seed 2")
    check(np.abs(pixels("dcw-0004.png").astype(int) - pixels("dc2.png")).max() <= 1,
          "a DCGAN walk's end is not its seed's image")  # a batch: rounding, 1e-5, may flip one level
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--interpolate", 3), 2, "--interpolate", "two seeds")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--interpolate", 3, "nine", "--count", 3), 2,
          "--interpolate", "nine")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--interpolate", 3, 9), 2, "--count")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--strip", path("y.png")), 2, "--strip")
    # pix2pix: the walk over a label map, its ends the map's renders with the two seeds
    ok(loom("generate", "--model", path("p2p.safetensors"), "--labels", path("dense.png"), "-o", path("pw.png"),
            "--interpolate", 1, 4, "--count", 3), "pix2pix walk")
    ok(loom("generate", "--model", path("p2p.safetensors"), "--labels", path("dense.png"), "-o", path("p4.png"),
            "--seed", 4), "pix2pix seed 4")
    check((pixels("pw-0003.png") == pixels("p4.png")).all(), "the pix2pix walk's end is not seed 4's render")
    check(pixels("pw-0001.png").shape == (64, 96, 3), "pix2pix walk shape")
    fails(loom("generate", "--model", path("p2p.safetensors"), "-o", path("x.png"), "--interpolate", 1, 2,
               "--count", 3), 1, "p2p.safetensors", "--labels")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--interpolate", 1, 2, "--count", 3,
               "--size", 30000, "--strip", path("y.png")), 1, "--strip", "65536")


@case("generate --nearest: a sample that is a training crop is found there at distance 0; bad input")
def _():
    gravel = os.path.join(SOURCE, "weights", "texture-gravel.safetensors")
    ok(loom("generate", "--model", gravel, "-o", path("near.png"), "--size", 40, "--seed", 2), "sample")
    sample = pixels("near.png")
    rng = np.random.default_rng(3)
    for name, at in (("train-a.png", None), ("train-b.png", (37, 21))):   # the copy in the second, off the grid
        train = rng.integers(0, 256, (90, 120, 3), np.uint8)
        if at:
            train[at[1]:at[1] + 40, at[0]:at[0] + 40] = sample[..., None]
        Image.fromarray(train).save(path(name))
    r = loom("generate", "--model", gravel, "-o", path("near.png"), "--size", 40, "--seed", 2, "--nearest",
             path("train-a.png"), path("train-b.png"))
    ok(r, "nearest")
    check(f"{path('train-b.png')} at 37,21 (40×40), distance " in r.stdout, r.stdout)
    words = r.stdout.split()
    check(float(words[words.index("distance") + 1]) < 0.002, f"a copy not at ~0 (8-bit rounding): {r.stdout}")
    pair = pixels("near-nearest.png")
    check(pair.shape == (40, 84), f"side by side shape {pair.shape}")
    check((pair[:, :40] == sample).all() and (pair[:, 44:] == sample).all(), "not the sample beside its copy")
    # something not in the training images: a distance, the crop beside it exactly the training image's
    r = loom("generate", "--model", gravel, "-o", path("far.png"), "--size", 40, "--seed", 5, "--nearest",
             path("train-a.png"), "--nearest-stride", 1)
    ok(r, "nearest of another")
    words = r.stdout.split()
    x, y = map(int, words[words.index("at") + 1].split(","))
    distance = float(words[words.index("distance") + 1])
    crop = pixels("train-a.png")[y:y + 40, x:x + 40, 0].astype(int)
    check(distance > 0.05, r.stdout)
    check((pixels("far-nearest.png")[:, 44:] == crop).all(), "the crop shown is not the one named")
    rms = np.sqrt((((crop - pixels("far.png")) / 255.0) ** 2).mean())
    check(abs(rms - distance) < 3e-3, f"distance {distance} is not the root mean square difference {rms}")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--size", 200, "--nearest", path("train-a.png")), 1,
          "--nearest", "as large as")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--size", 40, "--nearest", path("text.png")), 1,
          "text.png")
    fails(loom("generate", "--model", gravel, "-o", path("x.png"), "--nearest", path("set"), "--nearest-stride", 0),
          2, "--nearest-stride")


@case("augment: pairs in images/ and labels/, label colours kept, seeded")
def _():
    for out in ("aug1", "aug2"):
        ok(loom("augment", "-i", path("img.png"), "--labels", path("lbl.png"), "-o", path(out), "--count", 3,
                "--size", 48, "--seed", 9), "augment")
    names = sorted(os.listdir(path("aug1/images")))
    check(names == ["img-0001.png", "img-0002.png", "img-0003.png"], f"{names}")
    check(sorted(os.listdir(path("aug1/labels"))) == names, "labels do not pair with images")
    for n in names:
        lab = pixels(f"aug1/labels/{n}")
        opaque = lab[..., 3] == 255
        colours = {tuple(c) for c in lab[opaque][:, :3].tolist()}
        check(colours <= {RED, BLUE}, f"label colours {colours}")
        check(((lab[..., 3] == 0) | opaque).all(), "labels half transparent")
        check((pixels(f"aug1/images/{n}") == pixels(f"aug2/images/{n}")).all(), "the same seed gave other copies")


@case("Ctrl-C stops training and keeps the model")
def _():
    p = subprocess.Popen([LOOM, "train-seg", "--image", path("img.png"), "--labels", path("lbl.png"),
                          "-o", path("int.safetensors"), "--time", "300", "--crop", "32", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    time.sleep(8)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    check(p.returncode == 0, f"exit {p.returncode}: {err[-1000:]}")
    summary = json.loads(out)
    check(summary["stopped"] and summary["steps"] >= 1, out)
    r = loom("segment", "--model", path("int.safetensors"), "-i", path("img.png"), "-o", path("int.png"))
    ok(r, "segment with the stopped model")


def three_bands(w=96, h=64, seed=3):
    """Red, green and blue bands across, with noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float64)
    img[:, : w // 3], img[:, w // 3: 2 * w // 3], img[:, 2 * w // 3:] = RED, GREEN, BLUE
    return np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)


def wait_for(what, test, seconds, proc=None):
    """Polls TEST until it holds; fails after SECONDS or when PROC ends first."""
    end = time.monotonic() + seconds
    while not test():
        check(proc is None or proc.poll() is None, f"the process ended while waiting for {what}")
        check(time.monotonic() < end, f"no {what} after {seconds} s")
        time.sleep(0.25)


@case("train-seg --watch: a rewritten label file is picked up (a new colour, a new class), a half-written one is not")
def _():
    Image.fromarray(three_bands()).save(path("bands.png"))
    lab = np.zeros((64, 96, 4), np.uint8)
    lab[30:34, 4:28] = RED + (255,)
    lab[30:34, 68:92] = BLUE + (255,)
    Image.fromarray(lab).save(path("w-lbl.png"))
    log = open(path("watch.log"), "w")
    preview = path("w-preview.png")
    args = [LOOM, "train-seg", "--image", path("bands.png"), "--labels", path("w-lbl.png"), "-o",
            path("w.safetensors"), "--watch", "--time", "60", "--preview", preview, "--crop", "32",
            "--depth", "2", "--base", "8", "--checkpoint-every", "20"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, text=True, env=env())
    middle = (slice(None), slice(32, 64))

    def text():
        with open(path("watch.log")) as f:
            return f.read()

    def shown(colour, band=middle):
        try:
            seg = np.array(Image.open(preview))[..., :3]
        except (OSError, ValueError):           # PIL's error for a file it cannot read (yet)
            return 0.0
        return (seg[band] == colour).all(axis=2).mean()

    def all_three():
        return min(shown(RED, (slice(None), slice(0, 32))), shown(GREEN),
                   shown(BLUE, (slice(None), slice(64, 96)))) > 0.8

    try:
        wait_for("first preview", lambda: os.path.exists(preview), 60, p)
        seg = np.array(Image.open(preview))[..., :3]
        colours = {tuple(c) for c in seg.reshape(-1, 3).tolist()}
        check(colours <= {RED, BLUE}, f"first preview's colours {sorted(colours)[:5]}")
        check(shown(GREEN) == 0, "green before it was painted")
        # A half-written file (another program still writing it): no crash, nothing taken.
        lab[10:14, 36:60] = GREEN + (255,)
        buf = path("w-new.png")
        Image.fromarray(lab).save(buf)
        data = open(buf, "rb").read()
        with open(path("w-lbl.png"), "wb") as f:
            f.write(data[: len(data) // 2])
        time.sleep(3)
        check(p.poll() is None, f"the process ended on a half-written file: {text()[-1500:]}")
        check("labels changed:" not in text(), f"a half-written file was taken: {text()[-1500:]}")
        # Then the whole file, atomically: a stroke of a new colour in the middle band.
        os.replace(buf, path("w-lbl.png"))
        wait_for("'labels changed' line", lambda: "labels changed:" in text(), 20, p)
        line = next(ln for ln in text().splitlines() if ln.startswith("labels changed:"))
        check("labels changed: 288 labelled pixels, 3 classes (new: #28aa3c)" == line, line)
        wait_for("the three bands in the preview", all_three, 40, p)
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=120)
        log.close()
    check(p.returncode == 0, f"exit {p.returncode}: {text()[-1500:]}")
    check("3 classes" in text().splitlines()[-1], text()[-500:])
    ok(loom("segment", "--model", path("w.safetensors"), "-i", path("bands.png"), "-o", path("w-seg.png")),
       "segment with the watched model")
    # The model as it was at Ctrl-C (a few steps past the preview): its three classes.
    seg = pixels("w-seg.png")[..., :3]
    colours = {tuple(c) for c in seg.reshape(-1, 3).tolist()}
    check(colours <= {RED, GREEN, BLUE}, f"colours {sorted(colours)[:5]}")
    share = (seg[middle] == GREEN).all(axis=2).mean()
    check(share > 0.5, f"green: {share:.3f} of the middle band")


@case("train-seg --watch: usage errors")
def _():
    base = ["train-seg", "--image", path("img.png"), "--labels", path("lbl.png"), "-o", path("x.safetensors")]
    fails(loom(*base, "--preview", path("x.png")), 2, "--preview", "--watch")
    fails(loom(*base, "--image", path("img.png"), "--labels", path("lbl.png"), "--watch"), 2, "--watch", "one")
    fails(loom(*base, "--watch", "--preview", path("no/such/folder/x.png")), 2, "--preview")


@case("bench --json has the benchmark table's names")
def _():
    names = ["conv3x3_64_256_fwd", "conv3x3_64_256_fwdbwd", "conv3x3_16_256_b4_fwdbwd", "convT4x4_128_64_fwdbwd",
             "unet_train_b4_256", "unet_infer_1024", "dcgan_train_b64", "dcgan_gen_64"]
    r = loom("bench", "--backend", "cpu", "--json", "--repeat", 1, "--only", ",".join(names))
    ok(r, "bench")
    got = json.loads(r.stdout)
    for n in names:
        entry = next((e for e in got if e["name"] == n), None)
        check(entry is not None, f"{n} missing")
        check(set(entry) >= {"name", "backend", "ms_median", "ms_min", "ms_max", "gflops"}, f"{entry}")
        check(entry["ms_median"] > 0, f"{entry}")


@case("demo runs on the bundled sample")
def _():
    r = loom("demo", "-o", path("demo"), "--time", 4)
    ok(r, "demo")
    for f in ("sample.safetensors", "segmentation.png", "overlay.png", "confidence.png"):
        check(os.path.exists(path(f"demo/{f}")), f"{f} missing")
    check("results are in" in r.stdout and "agrees" in r.stdout, r.stdout)
    shipped = [f for f in os.listdir(os.path.join(SOURCE, "weights")) if f.startswith("texture-")
               and f.endswith(".safetensors")]
    for f in shipped:
        check(os.path.exists(path("demo/" + f.replace(".safetensors", ".png"))), f"no texture from {f}")


def main():
    setup()
    print(f"1..{len(results)}")
    failed = 0
    only = sys.argv[2:]                       # words: just the cases naming one
    for i, (name, fn) in enumerate(results, 1):
        if only and not any(w in name for w in only):
            print(f"ok {i} - {name} # SKIP not chosen")
            continue
        try:
            fn()
            print(f"ok {i} - {name}")
        except Exception as e:  # noqa: BLE001 - a failing case, reported
            failed += 1
            print(f"not ok {i} - {name}")
            for line in str(e).splitlines():
                print(f"# {line}")
        sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
