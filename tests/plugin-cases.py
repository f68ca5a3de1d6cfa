# The plug-in's cases, run inside GIMP (python-fu-eval) by tests/test-plugin.py:
#
#   gimp-console-3.0 -i --quit --batch-interpreter=python-fu-eval \
#       -b "exec(open('tests/plugin-cases.py').read())"
#
# Images are made here through the PDB (select a rectangle, fill it with the
# foreground colour), the procedures run non-interactively, and their layers
# are read back pixel by pixel.  One JSON line per case goes to
# $LOOM_PLUGIN_RESULTS: {"name", "ok", "message"}; the driver turns them
# into TAP (a case that never reports is a failure there).
import json
import os
import shutil
import traceback

import gi
gi.require_version('Gimp', '3.0')
gi.require_version('Gegl', '0.4')
from gi.repository import Gimp, Gegl, Gio

RESULTS = os.environ["LOOM_PLUGIN_RESULTS"]
W, H = 64, 48
IMG_LEFT, IMG_RIGHT = (220, 40, 30), (30, 60, 200)     # the picture: two halves
LBL_LEFT, LBL_RIGHT = (250, 200, 0), (0, 160, 80)      # the painted classes
TRAIN = dict(steps=60, seed=1, depth=2, base=8)
pdb = Gimp.get_pdb()
state = {}


def report(name, ok, message=""):
    with open(RESULTS, "a") as f:
        f.write(json.dumps({"name": name, "ok": ok, "message": message}) + "\n")


def case(name):
    def wrap(fn):
        try:
            fn()
            report(name, True)
        except Exception:
            report(name, False, traceback.format_exc()[-3000:])
        return fn
    return wrap


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def colour(rgb):
    return Gegl.Color.new("#%02x%02x%02x" % rgb)


def fill(img, layer, x, y, w, h, rgb):
    img.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
    Gimp.context_set_foreground(colour(rgb))
    layer.edit_fill(Gimp.FillType.FOREGROUND)
    Gimp.Selection.none(img)


def picture(img_w=W, img_h=H, ox=0, oy=0):
    """An image with a W × H layer at (OX, OY): red left half, blue right."""
    img = Gimp.Image.new(img_w, img_h, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "picture", W, H, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    layer.set_offsets(ox, oy)
    fill(img, layer, ox, oy, W // 2, H, IMG_LEFT)
    fill(img, layer, ox + W // 2, oy, W - W // 2, H, IMG_RIGHT)
    return img, layer


def label_layer(img, strokes, w=W, h=H):
    """A transparent layer (above all) with STROKES: (x, y, w, h, rgb)."""
    lab = Gimp.Layer.new(img, "labels", w, h, Gimp.ImageType.RGBA_IMAGE, 100.0,
                         Gimp.LayerMode.NORMAL)
    img.insert_layer(lab, None, 0)
    Gimp.Selection.none(img)
    lab.edit_clear()
    for x, y, sw, sh, rgb in strokes:
        fill(img, lab, x, y, sw, sh, rgb)
    return lab


SCRIBBLES = [(4, 20, 20, 4, LBL_LEFT), (40, 20, 20, 4, LBL_RIGHT), (8, 6, 4, 30, LBL_LEFT),
             (50, 6, 4, 30, LBL_RIGHT)]


def run(name, image, drawable, **args):
    proc = pdb.lookup_procedure(name)
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [drawable])
    for key, value in args.items():
        config.set_property(key.replace("_", "-"), value)
    result = proc.run(config)
    status = result.index(0)
    if status == Gimp.PDBStatusType.SUCCESS:
        return status, [result.index(i) for i in range(1, result.length())]
    return status, result.index(1) if result.length() > 1 else ""


def succeeded(status, values):
    check(status == Gimp.PDBStatusType.SUCCESS, f"status {status}: {values}")
    return values


def failed(status, message, *words):
    check(status != Gimp.PDBStatusType.SUCCESS, "succeeded where it should fail")
    for w in words:
        check(w in (message or ""), f"{w!r} not in the error message {message!r}")


def pixels(drawable):
    """R'G'B'A u8 rows of DRAWABLE: list of rows of (r, g, b, a)."""
    w, h = drawable.get_width(), drawable.get_height()
    data = drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "R'G'B'A u8",
                                     Gegl.AbyssPolicy.NONE)
    data = bytes(data)
    return [[tuple(data[4 * (y * w + x): 4 * (y * w + x) + 4]) for x in range(w)] for y in range(h)]


def selection_values(img):
    sel = img.get_selection()
    w, h = img.get_width(), img.get_height()
    data = bytes(sel.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "Y u8",
                                      Gegl.AbyssPolicy.NONE))
    return [[data[y * w + x] for x in range(w)] for y in range(h)]


def offsets(layer):
    r = layer.get_offsets()
    return tuple(r[-2:])


def check_labels(px, where=lambda x, y: True, accuracy=0.9):
    """Opaque pixels (where WHERE) are exactly the label colours and mostly right."""
    right = total = 0
    for y, row in enumerate(px):
        for x, p in enumerate(row):
            if not where(x, y):
                continue
            check(p[3] == 255, f"pixel {x},{y} not opaque: {p}")
            check(p[:3] in (LBL_LEFT, LBL_RIGHT), f"pixel {x},{y} {p[:3]} is no label colour")
            total += 1
            right += p[:3] == (LBL_LEFT if x < W // 2 else LBL_RIGHT)
    check(total > 0 and right / total > accuracy, f"accuracy {right}/{total}")


def models_dir():
    return os.path.join(Gimp.directory(), "loom", "models")


def layer_names(img):
    return [l.get_name() for l in img.get_layers()]


# ---- training ---------------------------------------------------------------

@case("train-segmentation: model saved, segment-after adds a layer in the label colours")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    lab.set_visible(False)
    values = succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                            model_name="test", segment_after=True, **TRAIN))
    model, seg = values[0], values[1]
    path = os.path.join(models_dir(), "test.safetensors")
    check(model is not None and model.get_path() == path, f"model file {model and model.get_path()}")
    check(os.path.getsize(path) > 1000, "model file empty")
    check(seg is not None and seg.get_name() == "Segmentation (test)", f"layer {seg and seg.get_name()}")
    check(img.get_item_position(seg) == img.get_item_position(layer) - 1, "not just above the source")
    check_labels(pixels(seg))
    state["model"] = path


@case("train-segmentation without segment-after leaves the image alone")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    before = layer_names(img)
    values = succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                            model_name="quiet", segment_after=False, steps=3, seed=2, depth=2, base=8))
    check(values[1] is None, "a layer came back")
    check(layer_names(img) == before, f"layers changed: {layer_names(img)}")
    check(os.path.exists(os.path.join(models_dir(), "quiet.safetensors")), "no model file")


def architecture(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return json.loads(header["__metadata__"]["loom.architecture"])


@case("train-segmentation: default depth/base start from LOOM_DATA_DIR's weights/segment-start.safetensors")
def _():
    start = os.path.join(os.environ["LOOM_DATA_DIR"], "weights", "segment-start.safetensors")
    os.makedirs(os.path.dirname(start), exist_ok=True)
    with open(state["model"], "rb") as f, open(start, "wb") as g:
        g.write(f.read())                  # depth 2, base 8: not the defaults (3, 16)
    try:
        img, layer = picture()
        lab = label_layer(img, SCRIBBLES)
        model = succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                               model_name="started", segment_after=False, steps=3, seed=1,
                               depth=0, base=0))[0]
    finally:
        os.remove(start)
    arch = architecture(model.get_path())
    check((arch.get("depth"), arch.get("base")) == (2, 8), f"not the starting point's shape: {arch}")


@case("train-segmentation: a time limit alone; neither steps nor time is refused")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab, model_name="timed",
                   segment_after=False, steps=0, seconds=1.0, seed=1, depth=2, base=8))
    check(os.path.exists(os.path.join(models_dir(), "timed.safetensors")), "no model file")
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab, model_name="never",
                segment_after=False, steps=0, seconds=0.0, seed=1, depth=2, base=8), "time limit")


# ---- segment ----------------------------------------------------------------

@case("segment: label layer at the source's offsets, above it, exact colours")
def _():
    img, layer = picture(100, 80, 20, 10)
    status, values = run("plug-in-loom-segment", img, layer,
                         model_file=Gio.File.new_for_path(state["model"]))
    seg = succeeded(status, values)[0]
    check(offsets(seg) == (20, 10), f"offsets {offsets(seg)}")
    check((seg.get_width(), seg.get_height()) == (W, H), "size")
    check(seg.get_name() == "Segmentation (test)", seg.get_name())
    check(img.get_item_position(seg) == img.get_item_position(layer) - 1, "not just above the source")
    check_labels(pixels(seg))


@case("segment: an active selection limits the output")
def _():
    img, layer = picture(100, 80, 20, 10)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 30, 0, 30, 40)   # image coordinates
    seg = succeeded(*run("plug-in-loom-segment", img, layer,
                         model_file=Gio.File.new_for_path(state["model"])))[0]
    inside = lambda x, y: 10 <= x < 40 and y < 30                    # layer coordinates
    px = pixels(seg)
    check_labels(px, inside, accuracy=0.8)      # half of it near the boundary
    for y, row in enumerate(px):
        for x, p in enumerate(row):
            check(inside(x, y) or p[3] == 0, f"pixel {x},{y} outside the selection written: {p}")


@case("segment: transparent source pixels stay unlabelled")
def _():
    img, layer = picture()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 16, H)
    layer.edit_clear()
    Gimp.Selection.none(img)
    seg = succeeded(*run("plug-in-loom-segment", img, layer,
                         model_file=Gio.File.new_for_path(state["model"])))[0]
    px = pixels(seg)
    check(all(px[y][x][3] == 0 for y in range(H) for x in range(16)), "transparent source labelled")
    check_labels(px, lambda x, y: x >= 16)


@case("segment: confidence layer and the selection of one class")
def _():
    img, layer = picture()
    seg, _ = succeeded(*run("plug-in-loom-segment", img, layer,
                          model_file=Gio.File.new_for_path(state["model"]),
                          confidence_layer=True, select_classes="1",
                          channel_op=Gimp.ChannelOps.REPLACE))
    names = layer_names(img)
    check(names[:3] == ["Segmentation (test)", "Confidence", "picture"], f"layers {names}")
    conf = pixels(img.get_layers()[1])
    for y, row in enumerate(conf):
        for x, p in enumerate(row):
            check(p[0] == p[1] == p[2] and p[3] == 255, f"confidence {x},{y} not opaque grey: {p}")
            check(p[0] >= 127, f"confidence below a half at {x},{y}: {p}")
    sel, px = selection_values(img), pixels(seg)
    for y in range(H):
        for x in range(W):
            want = 255 if px[y][x][:3] == LBL_RIGHT else 0
            check(sel[y][x] == want, f"selection {sel[y][x]} at {x},{y}, class colour {px[y][x]}")


@case("segment: no model file given takes the newest in the models folder")
def _():
    later = os.path.getmtime(state["model"]) + 60
    os.utime(state["model"], (later, later))     # newer than quiet.safetensors
    img, layer = picture()
    seg, _ = succeeded(*run("plug-in-loom-segment", img, layer))
    check(seg.get_name() == "Segmentation (test)", seg.get_name())


# ---- errors: a message that says what is wrong, and the image as it was -----

def unchanged(img, before):
    check(layer_names(img) == before, f"the image changed: {layer_names(img)}")


@case("error: no labelled pixels")
def _():
    img, layer = picture()
    lab = label_layer(img, [])
    before = layer_names(img)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                model_name="none", **TRAIN), "no labelled pixels")
    unchanged(img, before)
    check(not os.path.exists(os.path.join(models_dir(), "none.safetensors")), "a model was written")


@case("error: label layer of another size")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, 0, 10, 10, LBL_LEFT), (20, 0, 10, 10, LBL_RIGHT)], w=W - 8)
    before = layer_names(img)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                model_name="size", **TRAIN), "same size", f"{W - 8}×{H}")
    unchanged(img, before)


@case("error: too many label colours (antialiasing) says how to fix it")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, i, W, 1, (200 - 3 * i, 40 + 3 * i, 30)) for i in range(40)])
    before = layer_names(img)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                model_name="many", **TRAIN), "more than 32 colours", "pencil")
    unchanged(img, before)


@case("error: one colour is one class")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, 0, 10, 10, LBL_LEFT)])
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                model_name="one", **TRAIN), "at least two")


@case("error: missing model file")
def _():
    # GIMP checks that an "open" file argument exists before the plug-in
    # runs: the message is GIMP's, naming the argument.
    img, layer = picture()
    before = layer_names(img)
    failed(*run("plug-in-loom-segment", img, layer,
                model_file=Gio.File.new_for_path("/nonexistent/model.safetensors")),
           "model-file")
    unchanged(img, before)


@case("error: a file that is no model")
def _():
    bad = os.path.join(models_dir(), "..", "not-a-model.safetensors")
    with open(bad, "w") as f:
        f.write("not a model")
    img, layer = picture()
    before = layer_names(img)
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(bad)),
           "not-a-model.safetensors")
    unchanged(img, before)


@case("error: class to select past the model's classes")
def _():
    img, layer = picture()
    before = layer_names(img)
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(state["model"]),
                select_classes="5"), "classes 0 to 1")
    unchanged(img, before)


@case("error: grayscale and indexed images refused")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.GRAY)
    layer = Gimp.Layer.new(img, "grey", W, H, Gimp.ImageType.GRAYA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    lab = Gimp.Layer.new(img, "labels", W, H, Gimp.ImageType.GRAYA_IMAGE, 100.0,
                         Gimp.LayerMode.NORMAL)
    img.insert_layer(lab, None, 0)
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(state["model"])),
           "RGB", "grayscale")
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab, model_name="grey",
                **TRAIN), "RGB", "grayscale")
    check(len(img.get_layers()) == 2, "the image changed")
    img, layer = picture()
    img.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False,
                        False, "")
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(state["model"])),
           "RGB", "indexed")


@case("error: bad model name")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                model_name="../escape", **TRAIN), "plain name")


# ---- generate ---------------------------------------------------------------

def gan(name):
    return Gio.File.new_for_path(os.path.join(os.environ["LOOM_TEST_GAN_DIR"], name + ".safetensors"))


def generate(img, active=None, **args):
    """plug-in-loom-generate on IMG with ACTIVE (or no drawables): (status, values)."""
    proc = pdb.lookup_procedure("plug-in-loom-generate")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    if active is not None:         # an empty array is refused: leave it unset
        config.set_core_object_array("drawables", [active])
    for key, value in args.items():
        config.set_property(key.replace("_", "-"), value)
    result = proc.run(config)
    status = result.index(0)
    if status == Gimp.PDBStatusType.SUCCESS:       # the layers returned (a core object array)
        return status, list(result.get_core_object_array(1) or [])
    return status, result.index(1) if result.length() > 1 else ""


def opaque_rgb(px):
    check(all(p[3] == 255 for row in px for p in row), "transparent pixels")
    return [[p[:3] for p in row] for row in px]


@case("generate: texture layers of the asked size, count and names, on an image with no layers")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    layers = succeeded(*generate(img, model_file=gan("tex"), width=40, height=24, count=2, seed=5))
    names = layer_names(img)
    check(names == ["Generated (tex, seed 5)", "Generated (tex, seed 6)"], f"layers {names}")
    check([l.get_name() for l in layers] == names, f"returned {[l.get_name() for l in layers]}")
    for l in img.get_layers():
        check((l.get_width(), l.get_height()) == (40, 24), f"size {l.get_width()}x{l.get_height()}")
        check(not l.has_alpha(), "the layer has alpha")
        check(offsets(l) == (0, 0), f"offsets {offsets(l)}")
    a, b = (opaque_rgb(pixels(l)) for l in img.get_layers())
    check(a != b, "seeds 5 and 6 gave the same pixels")
    check(len({p for row in a for p in row}) > 1, "a flat layer")
    state["tex6"] = b


@case("generate: the same seed gives the same pixels; above the active layer")
def _():
    img, layer = picture()
    top = label_layer(img, [])
    layers = succeeded(*generate(img, layer, model_file=gan("tex"), width=40, height=24, seed=6))
    check(len(layers) == 1, f"{len(layers)} layers")
    check(layer_names(img) == ["labels", "Generated (tex, seed 6)", "picture"], f"{layer_names(img)}")
    check(opaque_rgb(pixels(layers[0])) == state["tex6"], "seed 6 alone differs from seed 6 of two")


@case("generate: default size 512x512 and tileable at a multiple of 16")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    layer, = succeeded(*generate(img, model_file=gan("tex")))
    check((layer.get_width(), layer.get_height()) == (512, 512), "not 512x512")
    layer, = succeeded(*generate(img, model_file=gan("tex"), width=32, height=48, tileable=True))
    check((layer.get_width(), layer.get_height()) == (32, 48), "not 32x48")


@case("generate: no model file takes the shipped texture, from LOOM_DATA_DIR first")
def _():
    shipped = os.path.join(os.environ["LOOM_DATA_DIR"], "weights", "texture-gravel.safetensors")
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    os.makedirs(os.path.dirname(shipped), exist_ok=True)
    shutil.copyfile(gan("tex").get_path(), shipped)      # not the source tree's gravel model
    try:
        layer, = succeeded(*generate(img, width=32, height=32, seed=2))
    finally:
        os.remove(shipped)
    check(layer.get_name() == "Generated (texture-gravel, seed 2)", layer.get_name())
    same, = succeeded(*generate(img, model_file=gan("tex"), width=32, height=32, seed=2))
    check(pixels(layer) == pixels(same), "not the model in LOOM_DATA_DIR")


@case("generate: a grey model gives grey values in an RGB layer")
def _():
    img, layer = picture()
    out, = succeeded(*generate(img, layer, model_file=gan("grey"), width=32, height=32))
    px = opaque_rgb(pixels(out))
    check(all(p[0] == p[1] == p[2] for row in px for p in row), "not grey")
    check(len({p for row in px for p in row}) > 1, "a flat layer")


@case("generate: dcgan at its own side; other sizes refused")
def _():
    img, layer = picture()
    out, = succeeded(*generate(img, layer, model_file=gan("dc"), seed=3))
    check((out.get_width(), out.get_height()) == (32, 32), "not 32x32")
    check(out.get_name() == "Generated (dc, seed 3)", out.get_name())
    before = layer_names(img)
    failed(*generate(img, layer, model_file=gan("dc"), width=40, height=40), "32×32 images only")
    unchanged(img, before)


@case("generate: pix2pix from a label layer, at its size and offsets")
def _():
    img, layer = picture(100, 80)
    lab = label_layer(img, [(5, 7, 20, 24, LBL_LEFT), (25, 7, 20, 24, LBL_RIGHT)], w=40, h=24)
    lab.set_offsets(5, 7)
    out, = succeeded(*generate(img, lab, model_file=gan("p2p"), label_layer=lab, seed=2))
    check((out.get_width(), out.get_height()) == (40, 24), f"size {out.get_width()}x{out.get_height()}")
    check(offsets(out) == (5, 7), f"offsets {offsets(out)}")
    check(out.get_name() == "Generated (p2p, seed 2)", out.get_name())
    check(layer_names(img)[:2] == ["Generated (p2p, seed 2)", "labels"], f"{layer_names(img)}")
    px = opaque_rgb(pixels(out))
    check(len({p for row in px for p in row}) > 1, "a flat layer")


@case("error: generate refuses a tileable non-multiple size, pix2pix without labels, labels for a texture")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, 0, 16, 16, LBL_LEFT)])
    before = layer_names(img)
    failed(*generate(img, layer, model_file=gan("tex"), width=40, height=40, tileable=True),
           "multiples of 16")
    failed(*generate(img, layer, model_file=gan("p2p")), "label layer")
    failed(*generate(img, layer, model_file=gan("tex"), label_layer=lab), "pix2pix", "texture")
    unchanged(img, before)


@case("error: generate refuses a label colour that is not a class of the model")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, 0, 16, 16, LBL_LEFT), (16, 0, 16, 16, (1, 2, 3))])
    before = layer_names(img)
    failed(*generate(img, layer, model_file=gan("p2p"), label_layer=lab), "#010203", "2 classes")
    unchanged(img, before)


@case("error: generate refuses a segmentation model")
def _():
    img, layer = picture()
    before = layer_names(img)
    status, message = generate(img, layer, model_file=Gio.File.new_for_path(state["model"]))
    failed(status, message, "test.safetensors", "not a GAN")
    unchanged(img, before)


@case("error: generate refuses a grayscale image")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.GRAY)
    failed(*generate(img, model_file=gan("tex"), width=32, height=32), "RGB", "grayscale")
    check(len(img.get_layers()) == 0, "the image changed")
