#!/usr/bin/env python3
"""Timings of the plug-in inside real GIMP (gimp-console, batch mode) on a
1024×768 layer: the bundled sample and its scribbles scaled up (scribbles
with nearest neighbours, so their colours stay exact).  Prints one line per
run; not a test.

    tools/env sh -c 'tools/build && python3 tools/eval/plugin-timings.py build/plugin/loom'
        [--steps 100] [--device cpu] [--start]

Train Segmentation runs STEPS steps at the default shape, from scratch
(--start: from the shipped starting point), without segment-after; then
Segment runs the model over the layer.  Each figure is the procedure call
as seen from Python-Fu, reading the layers and writing the new one
included.  --device goes into the throwaway profile's loomrc.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CASES = r'''
import json, os, time
import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio
pdb = Gimp.get_pdb()
ARGS = json.loads(os.environ["LOOM_TIMING_ARGS"])

def load(path, interpolation):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    layer = img.get_layers()[0]
    Gimp.context_set_interpolation(interpolation)
    img.scale(1024, 768)
    return img, layer

def call(name, image, drawable, **args):
    proc = pdb.lookup_procedure(name)
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [drawable])
    for k, v in args.items():
        config.set_property(k.replace("_", "-"), v)
    t = time.monotonic()
    result = proc.run(config)
    seconds = time.monotonic() - t
    if result.index(0) != Gimp.PDBStatusType.SUCCESS:
        raise SystemExit(f"{name}: {result.index(1)}")
    return seconds, [result.index(i) for i in range(1, result.length())]

img, layer = load(ARGS["image"], Gimp.InterpolationType.CUBIC)
lab_img, lab = load(ARGS["labels"], Gimp.InterpolationType.NONE)
labels = Gimp.Layer.new_from_drawable(lab, img)
img.insert_layer(labels, None, 0)
depth = 0 if ARGS["start"] else 3
train_s, values = call("plug-in-loom-train-segmentation", img, layer, label_layer=labels,
                       model_name="timing", steps=ARGS["steps"], seed=1, depth=depth, base=0,
                       segment_after=False)
seg_s, _ = call("plug-in-loom-segment", img, layer, model_file=values[0])
with open(os.environ["LOOM_TIMING_OUT"], "w") as f:
    json.dump({"train_s": train_s, "segment_s": seg_s}, f)
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plugin")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--start", action="store_true")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="loom-timing-")
    try:
        profile = os.path.join(tmp, "profile")
        os.makedirs(os.path.join(profile, "plug-ins", "loom"))
        os.makedirs(os.path.join(profile, "loom"))
        shutil.copy2(a.plugin, os.path.join(profile, "plug-ins", "loom", "loom"))
        with open(os.path.join(profile, "loom", "loomrc"), "w") as f:
            f.write(f"[loom]\ndevice={a.device}\n")
        script = os.path.join(tmp, "cases.py")
        with open(script, "w") as f:
            f.write(CASES)
        out = os.path.join(tmp, "out.json")
        env = dict(os.environ, GIMP3_DIRECTORY=profile, HOME=tmp, LANG="C.UTF-8",
                   LOOM_TIMING_OUT=out,
                   LOOM_TIMING_ARGS=json.dumps({
                       "image": os.path.join(ROOT, "data", "sample.png"),
                       "labels": os.path.join(ROOT, "data", "sample-scribbles.png"),
                       "steps": a.steps, "start": a.start}))
        env.pop("LOOM_DEVICE", None)
        env.pop("DISPLAY", None)
        if not a.start:
            env["LOOM_DATA_DIR"] = os.path.join(tmp, "nothing")   # no starting point
        r = subprocess.run(["gimp-console-3.0", "-i", "--quit", "--batch-interpreter=python-fu-eval",
                            "-b", "exec(open(%r).read())" % script],
                           capture_output=True, text=True, env=env, timeout=3600)
        if not os.path.exists(out):
            sys.exit(f"no result; gimp said:\n{r.stdout[-2000:]}{r.stderr[-3000:]}")
        with open(out) as f:
            t = json.load(f)
        start = "from the shipped starting point" if a.start else "from scratch"
        print(f"device {a.device}, 1024x768 layer")
        print(f"Train Segmentation, {a.steps} steps, default shape, {start}: {t['train_s']:.1f} s")
        print(f"Segment (colour label layer): {t['segment_s']:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
