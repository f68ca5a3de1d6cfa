# Loom's procedures run INTERACTIVE inside GIMP (python-fu-eval), for
# tests/test-plugin-dialogs.py: the plug-in's screenshot hook
# ($LOOM_PLUGIN_SCREENSHOTS) saves each dialog and answers it, the training
# window pressing $LOOM_PLUGIN_SCREENSHOTS_PRESS (stop or cancel) after its
# first preview.  $LOOM_DIALOG_RUNS is a JSON list of
# {"proc", "args", "label_layer", "no_image"}; one JSON line per run goes
# to $LOOM_PLUGIN_RESULTS with what the driver checks: the status, the
# values returned, the image's layers before and after (none with
# "no_image": a procedure without image and drawables, as Preferences).
import json
import os
import traceback

import gi
gi.require_version('Gimp', '3.0')
gi.require_version('Gegl', '0.4')
from gi.repository import Gimp, Gegl, Gio

W, H = 64, 48
pdb = Gimp.get_pdb()


def colour(rgb):
    return Gegl.Color.new("#%02x%02x%02x" % tuple(rgb))


def fill(img, layer, x, y, w, h, rgb):
    img.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
    Gimp.context_set_foreground(colour(rgb))
    layer.edit_fill(Gimp.FillType.FOREGROUND)
    Gimp.Selection.none(img)


def picture():
    """64 × 48: a red left half with a stripe, a blue right half; above it
    a hidden label layer with a few strokes per class."""
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    pic = Gimp.Layer.new(img, "picture", W, H, Gimp.ImageType.RGBA_IMAGE, 100.0,
                         Gimp.LayerMode.NORMAL)
    img.insert_layer(pic, None, 0)
    fill(img, pic, 0, 0, W // 2, H, (220, 40, 30))
    fill(img, pic, W // 2, 0, W - W // 2, H, (30, 60, 200))
    fill(img, pic, 0, 20, W, 8, (240, 230, 210))
    lab = Gimp.Layer.new(img, "labels", W, H, Gimp.ImageType.RGBA_IMAGE, 100.0,
                         Gimp.LayerMode.NORMAL)
    img.insert_layer(lab, None, 0)
    lab.edit_clear()
    for x, y, w, h, rgb in [(4, 4, 20, 4, (250, 200, 0)), (40, 4, 20, 4, (0, 160, 80)),
                            (8, 30, 4, 14, (250, 200, 0)), (50, 30, 4, 14, (0, 160, 80)),
                            (10, 22, 44, 3, (200, 0, 200))]:
        fill(img, lab, x, y, w, h, rgb)
    lab.set_visible(False)
    img.set_selected_layers([pic])
    return img, pic, lab


def layer_state(img):
    """Each top layer: name, size, offsets, and a group's number of children."""
    return [[l.get_name(), l.get_width(), l.get_height(), list(l.get_offsets()[-2:]),
             len(l.get_children()) if l.is_group() else None]
            for l in img.get_layers()]


def value(v):
    if isinstance(v, Gio.File):
        return v.get_path()
    if isinstance(v, Gimp.Layer):
        return {"name": v.get_name(),
                "pixels": list(bytes(v.get_buffer().get(
                    Gegl.Rectangle.new(0, 0, v.get_width(), v.get_height()), 1.0,
                    "R'G'B'A u8", Gegl.AbyssPolicy.NONE)))}
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return type(v).__name__       # e.g. Generate's array of layers


def run_one(spec):
    # a procedure without an image (Preferences) has no such arguments
    img, pic, lab = picture() if not spec.get("no_image") else (None, None, None)
    proc = pdb.lookup_procedure(spec["proc"])
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE if spec.get("run_mode") == "noninteractive"
                        else Gimp.RunMode.INTERACTIVE)
    if img is not None:
        config.set_property("image", img)
        config.set_core_object_array("drawables", [pic])
    for key, v in spec.get("args", {}).items():
        if isinstance(v, str) and v.startswith("file:"):
            v = Gio.File.new_for_path(v[5:])
        config.set_property(key, v)
    if spec.get("label_layer"):
        config.set_property("label-layer", lab)
    before = layer_state(img) if img is not None else None
    result = proc.run(config)
    status = result.index(0)
    values = [value(result.index(i)) for i in range(1, result.length())]
    out = {"proc": spec["proc"], "status": status.value_nick, "values": values,
           "before": before, "after": layer_state(img) if img is not None else None}
    if img is not None:
        img.delete()
    return out


for spec in json.loads(os.environ["LOOM_DIALOG_RUNS"]):
    try:
        out = run_one(spec)
    except Exception:
        out = {"proc": spec["proc"], "status": "exception", "message": traceback.format_exc()}
    with open(os.environ["LOOM_PLUGIN_RESULTS"], "a") as f:
        f.write(json.dumps(out) + "\n")
