#!/usr/bin/env python3
"""Screenshots of Segment's explanations in GIMP's own window (docs/plugin/).

    tools/env python3 tools/plugin-screenshots.py BUILD/plugin/loom MODEL OUTDIR [CLASS]

Starts Xvfb, installs the built plug-in into a throwaway profile and runs
the full GIMP (not the console) on it, whose Python-Fu opens
data/sample.png, runs Segment with the probability masks, the uncertainty
layer and five squares to paint next, shows the image and saves the
screen twice: OUTDIR/segment-uncertainty.png (the squares over the
uncertainty) and OUTDIR/segment-probabilities.png (the copy of CLASS, a
class layer's name, default "class 1", its probability as the layer mask,
alone) and OUTDIR/segment-evidence.png (the evidence for a selection on
the pier and the water beside it, screened over the picture), each cropped to GIMP's window.  Not a test: pictures for people.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

PLUGIN, MODEL, OUT = (os.path.abspath(a) for a in sys.argv[1:4])
CLASS = sys.argv[4] if len(sys.argv) > 4 else "class 1"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TMP = tempfile.mkdtemp(prefix="loom-shots-")

SCRIPT = r'''
import time
from gi.repository import Gimp, Gio, Gdk
def shot(name):
    Gimp.displays_flush()
    time.sleep(10)
    root = Gdk.get_default_root_window()
    Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height()).savev(OUT + "/" + name, "png", [], [])
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(SAMPLE))
layer = img.get_layers()[0]
proc = Gimp.get_pdb().lookup_procedure("plug-in-loom-segment")
c = proc.create_config()
c.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
c.set_property("image", img)
c.set_core_object_array("drawables", [layer])
c.set_property("model-file", Gio.File.new_for_path(MODEL))
for k, v in (("label-layer", True), ("probability-masks", True), ("uncertainty-layer", True), ("paint-next", 5)):
    c.set_property(k, v)
r = proc.run(c)
assert r.index(0) == Gimp.PDBStatusType.SUCCESS, r.index(1)
Gimp.Display.new(img)
byname = {l.get_name(): l for l in img.get_layers()}
group = [l for l in img.get_layers() if l.get_name().startswith("Probabilities")][0]
for l in img.get_layers():
    l.set_visible(l.get_name() in ("Paint here next", "Uncertainty"))
shot("segment-uncertainty.png")
for l in img.get_layers():
    l.set_visible(l == group)
kids = group.get_children()
for k in kids:
    k.set_visible(k.get_name() == CLASS)
img.set_selected_layers([k for k in kids if k.get_name() == CLASS])
group.set_expanded(True)
shot("segment-probabilities.png")
for l in img.get_layers():
    l.set_visible(False)
layer.set_visible(True)
img.select_rectangle(Gimp.ChannelOps.REPLACE, 222, 240, 48, 60)      # the pier and water
c.set_property("label-layer", False)
for k in ("probability-masks", "uncertainty-layer"):
    c.set_property(k, False)
c.set_property("paint-next", 0)
c.set_property("evidence-layer", True)
r = proc.run(c)
assert r.index(0) == Gimp.PDBStatusType.SUCCESS, r.index(1)
ev = [l for l in img.get_layers() if l.get_name().startswith("Evidence")][0]
ev.set_mode(Gimp.LayerMode.SCREEN)
img.set_selected_layers([ev])
shot("segment-evidence.png")
'''


def main():
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=[w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    display = ":" + os.fdopen(r).readline().strip()
    profile = os.path.join(TMP, "profile")
    os.makedirs(os.path.join(profile, "plug-ins", "loom"))
    shutil.copy2(PLUGIN, os.path.join(profile, "plug-ins", "loom", "loom"))
    os.makedirs(os.path.join(profile, "loom"))
    with open(os.path.join(profile, "loom", "loomrc"), "w") as f:
        f.write("[loom]\ndevice=cpu\n")
    os.makedirs(OUT, exist_ok=True)
    env = dict(os.environ, DISPLAY=display, GIMP3_DIRECTORY=profile, HOME=TMP, LANG="C.UTF-8",
               NO_AT_BRIDGE="1", XDG_CONFIG_HOME=os.path.join(TMP, "config"),
               XDG_CACHE_HOME=os.path.join(TMP, "cache"))
    env.pop("G_DEBUG", None)
    script = (f"OUT = {OUT!r}; CLASS = {CLASS!r}; SAMPLE = {os.path.join(SOURCE, 'data', 'sample.png')!r}; MODEL = {MODEL!r}\n"
              + SCRIPT)
    path = os.path.join(TMP, "shots.py")
    with open(path, "w") as f:
        f.write(script)
    try:
        p = subprocess.run(["gimp-3.0", "--no-splash", "--quit", "--batch-interpreter=python-fu-eval",
                            "-b", f"exec(open({path!r}).read())"],
                           env=env, capture_output=True, text=True, timeout=240)
        print(p.stderr[-3000:])
    finally:
        xvfb.terminate()
        shutil.rmtree(TMP, ignore_errors=True)
    for name in ("segment-uncertainty.png", "segment-probabilities.png", "segment-evidence.png"):
        path = os.path.join(OUT, name)
        if os.path.exists(path):
            im = Image.open(path).convert("RGB")
            im.crop(im.convert("L").getbbox()).save(path)
        print(path, os.path.exists(path))


main()
