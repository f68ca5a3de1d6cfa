#!/usr/bin/env python3
"""`meson install` into a throwaway DESTDIR (TAP): the plug-in lands in
GIMP's plug-in folder as <plug-ins>/loom/loom, executable; the command line
in bin; the shipped weights and the demo data in share/loom, where both
binaries look for them (the path compiled into them).

    tests/test-install.py BUILD_ROOT PREFIX PLUGIN_DIR DATA_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

BUILD, PREFIX, PLUGIN_DIR, DATA_DIR = sys.argv[1:5]
DEST = tempfile.mkdtemp(prefix="loom-install-")
n = 0


def result(ok, name, why=""):
    global n
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {name}")
    for line in ([] if ok else str(why).splitlines()):
        print("# " + line)


def inside(path):
    return os.path.join(DEST, path.lstrip("/"))


print("1..5", flush=True)
r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", DEST, "--no-rebuild", "--quiet"],
                   capture_output=True, text=True)
result(r.returncode == 0, "meson install --destdir succeeds", r.stdout[-2000:] + r.stderr[-2000:])
plugin = inside(os.path.join(PLUGIN_DIR, "loom", "loom"))
result(os.path.isfile(plugin) and os.access(plugin, os.X_OK),
       f"the plug-in is {PLUGIN_DIR}/loom/loom, executable", f"not at {plugin}")
cli = inside(os.path.join(PREFIX, "bin", "loom"))
result(os.path.isfile(cli) and os.access(cli, os.X_OK), "the command line is PREFIX/bin/loom", cli)
wanted = ["weights/segment-start.safetensors", "weights/texture-gravel.safetensors",
          "weights/texture-grass.safetensors", "data/sample.png", "data/sample-scribbles.png"]
missing = [w for w in wanted if not os.path.isfile(inside(os.path.join(DATA_DIR, w)))]
result(not missing, "shipped weights and demo data in share/loom", f"missing: {missing}")
compiled = [p for p in (plugin, cli)
            if os.path.isfile(p) and DATA_DIR.encode() not in open(p, "rb").read()]
result(os.path.isfile(plugin) and not compiled,
       "both binaries look for them in share/loom", f"{DATA_DIR} not compiled into {compiled}")
shutil.rmtree(DEST, ignore_errors=True)
