# plug-in-loom-train-generator's cases (run after plugin-cases.py, with its
# helpers, in the same GIMP session; see tests/test-plugin.py).  Training
# is tiny: 2 steps, 32-pixel crops, networks 8 channels wide.

GEN = dict(size=32, steps=2, seconds=0.0, width=8, batch=2, seed=1)


def train_gen(img, drawable, **args):
    return run("plug-in-loom-train-generator", img, drawable, **{**GEN, **args})


def model_path(name):
    return os.path.join(models_dir(), name + ".safetensors")


def size_of(layer):
    return layer.get_width(), layer.get_height()


@case("train-generator: texture model saved, a sample above the layer, Generate makes any size from it")
def _():
    img, layer = picture(100, 80, 20, 10)
    model, sample = succeeded(*train_gen(img, layer, kind="texture", model_name="gen-tex",
                                         generate_after=True))
    check(model is not None and model.get_path() == model_path("gen-tex"),
          f"model file {model and model.get_path()}")
    check(os.path.getsize(model.get_path()) > 1000, "model file empty")
    check(sample is not None and sample.get_name() == "Generated (gen-tex, seed 1)",
          f"sample {sample and sample.get_name()}")
    check(size_of(sample) == (W, H) and offsets(sample) == (20, 10),
          f"sample {size_of(sample)} at {offsets(sample)}")
    check(img.get_item_position(sample) == img.get_item_position(layer) - 1, "not just above the layer")
    check(len({p for row in opaque_rgb(pixels(sample)) for p in row}) > 1, "a flat sample")
    out, = succeeded(*generate(img, layer, model_file=model, width=48, height=32, tileable=True,
                               count=1, seed=3))
    check(size_of(out) == (48, 32), f"generated {size_of(out)}")
    state["gen-tex"] = model.get_path()


@case("train-generator: a selection crops the texture to its bounds; without generate-after the image stays")
def _():
    img, layer = picture(100, 80, 20, 10)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 52, 10, 32, 40)   # the right half, image coordinates
    before = layer_names(img)
    model, sample = succeeded(*train_gen(img, layer, kind="texture", model_name="gen-sel",
                                         generate_after=True))
    check(size_of(sample) == (32, 40) and offsets(sample) == (52, 10),
          f"sample {size_of(sample)} at {offsets(sample)}: not the selection's bounds")
    check(layer_names(img) == ["Generated (gen-sel, seed 1)", *before], f"layers {layer_names(img)}")
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 20, 10, 20, 40)
    before = layer_names(img)
    failed(*train_gen(img, layer, kind="texture", model_name="gen-small"),
           "selection", "20×40", "smaller than the training crops")
    unchanged(img, before)
    Gimp.Selection.none(img)
    model, sample = succeeded(*train_gen(img, layer, kind="texture", model_name="gen-quiet",
                                         generate_after=False))
    check(sample is None and layer_names(img) == before, f"the image changed: {layer_names(img)}")
    check(os.path.exists(model_path("gen-quiet")), "no model file")


def layered(colours, side=40):
    """An RGB image with one SIDE × SIDE layer a colour (with a stripe)."""
    img = Gimp.Image.new(side, side, Gimp.ImageBaseType.RGB)
    for i, rgb in enumerate(colours):
        l = Gimp.Layer.new(img, f"picture {i + 1}", side, side, Gimp.ImageType.RGB_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
        img.insert_layer(l, None, 0)
        fill(img, l, 0, 0, side, side, rgb)
        fill(img, l, 0, side // 3, side, side // 4, (255 - rgb[0], 255 - rgb[1], 255 - rgb[2]))
    return img


@case("train-generator: images (DCGAN) from all layers; Generate makes its side")
def _():
    img = layered([(200, 30, 30), (30, 200, 30), (30, 30, 200)])
    top = img.get_layers()[0]
    model, sample = succeeded(*train_gen(img, top, kind="images", model_name="gen-dc",
                                         generate_after=True, seed=2))
    check(size_of(sample) == (32, 32), f"sample {size_of(sample)}")
    check(sample.get_name() == "Generated (gen-dc, seed 2)", sample.get_name())
    check(layer_names(img)[:2] == ["Generated (gen-dc, seed 2)", "picture 3"], f"{layer_names(img)}")
    out, = succeeded(*generate(img, top, model_file=model, seed=4))
    check(size_of(out) == (32, 32), f"generated {size_of(out)}")
    one = layered([(200, 30, 30)])
    failed(*train_gen(one, one.get_layers()[0], kind="images", model_name="gen-one"),
           "set of pictures", "hold 1")
    check(len(one.get_layers()) == 1 and not os.path.exists(model_path("gen-one")), "something made")


def save_png(img, path):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(path), None)


@case("train-generator: images from a folder's files instead of the layers; a folder without images refused")
def _():
    folder = os.path.join(os.path.dirname(models_dir()), "dc-set")
    os.makedirs(folder, exist_ok=True)
    for i, rgb in enumerate([(200, 30, 30), (30, 200, 30)]):
        one = layered([rgb], side=48)
        save_png(one, os.path.join(folder, f"set-{i}.png"))
        one.delete()
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("not an image")
    img = layered([(90, 90, 90)])                 # one layer: alone it would be refused
    model, sample = succeeded(*train_gen(img, img.get_layers()[0], kind="images",
                                         model_name="gen-folder", folder=Gio.File.new_for_path(folder),
                                         generate_after=False))
    check(os.path.exists(model_path("gen-folder")) and sample is None, "no model or a sample")
    empty = os.path.join(os.path.dirname(models_dir()), "empty-set")
    os.makedirs(empty, exist_ok=True)
    failed(*train_gen(img, img.get_layers()[0], kind="images", model_name="gen-empty",
                      folder=Gio.File.new_for_path(empty)), "empty-set", "no image files")
    check(len(img.get_layers()) == 1, "the image changed")


HALVES = [(0, 0, W // 2, H, LBL_LEFT), (W // 2, 0, W - W // 2, H, LBL_RIGHT)]


@case("train-generator: label → image (pix2pix); Generate renders a label layer with it")
def _():
    img, layer = picture()
    lab = label_layer(img, HALVES)
    model, sample = succeeded(*train_gen(img, layer, kind="label-to-image", label_layer=lab,
                                         model_name="gen-p2p", generate_after=True))
    check(size_of(sample) == (W, H) and offsets(sample) == (0, 0), f"sample {size_of(sample)}")
    new = label_layer(img, [(0, 0, 16, 16, LBL_RIGHT), (16, 0, 16, 16, LBL_LEFT)], w=32, h=16)
    out, = succeeded(*generate(img, new, model_file=model, label_layer=new, seed=2))
    check(size_of(out) == (32, 16), f"rendered {size_of(out)}")
    failed(*generate(img, new, model_file=model, label_layer=label_layer(
        img, [(0, 0, 8, 8, (1, 2, 3))], w=32, h=16)), "#010203", "2 classes")


@case("error: train-generator refuses a grey image, a bad name, no steps nor time; the image unchanged")
def _():
    grey = Gimp.Image.new(W, H, Gimp.ImageBaseType.GRAY)
    gl = Gimp.Layer.new(grey, "grey", W, H, Gimp.ImageType.GRAY_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    grey.insert_layer(gl, None, 0)
    failed(*train_gen(grey, gl, kind="texture", model_name="gen-grey"), "RGB", "grayscale")
    check(len(grey.get_layers()) == 1, "the grey image changed")
    img, layer = picture()
    before = layer_names(img)
    failed(*train_gen(img, layer, kind="texture", model_name="../gen-escape"), "plain name")
    failed(*train_gen(img, layer, kind="texture", model_name="gen-never", steps=0, seconds=0.0),
           "time limit")
    failed(*train_gen(img, layer, kind="texture", model_name="gen-huge", size=64), "48",
           "smaller than the training crops")
    unchanged(img, before)
    for name in ("gen-grey", "gen-never", "gen-huge"):
        check(not os.path.exists(model_path(name)), f"{name} written")


@case("error: train-generator label → image: no label layer, another size, more than 32 colours")
def _():
    img, layer = picture()
    before = layer_names(img)
    failed(*train_gen(img, layer, kind="label-to-image", model_name="gen-nolab"), "label layer")
    lab = label_layer(img, HALVES, w=W - 8)
    failed(*train_gen(img, layer, kind="label-to-image", label_layer=lab, model_name="gen-size"),
           "same size", f"{W - 8}×{H}")
    many = label_layer(img, [(0, i, W, 1, (200 - 3 * i, 40 + 3 * i, 30)) for i in range(40)])
    failed(*train_gen(img, layer, kind="label-to-image", label_layer=many, model_name="gen-many"),
           "more than 32 colours")
    check(len(img.get_layers()) == len(before) + 2, f"layers {layer_names(img)}")
    for name in ("gen-nolab", "gen-size", "gen-many"):
        check(not os.path.exists(model_path(name)), f"{name} written")


@case("train-generator from Script-Fu with keyword arguments: label → image, the model saved")
def _():
    img, layer = picture()
    lab = label_layer(img, HALVES)
    before = layer_names(img)
    proc = pdb.lookup_procedure("plug-in-script-fu-eval")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("script", f"""
      (plug-in-loom-train-generator #:run-mode RUN-NONINTERACTIVE #:image {img.get_id()}
        #:drawables (vector {layer.get_id()}) #:kind "label-to-image" #:label-layer {lab.get_id()}
        #:model-name "gen-scheme" #:size 32 #:steps 2 #:seconds 0 #:width 8 #:batch 2
        #:generate-after FALSE)""")
    result = proc.run(config)
    check(result.index(0) == Gimp.PDBStatusType.SUCCESS,
          f"status {result.index(0)}: {result.index(1) if result.length() > 1 else ''}")
    check(os.path.exists(model_path("gen-scheme")), "no model file")
    check(layer_names(img) == before, f"the image changed: {layer_names(img)}")
