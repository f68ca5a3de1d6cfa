# Train Segmentation: fine-tuning, several image layers, augmentation
# strength.  Run after tests/plugin-cases.py (its helpers, and
# state["model"]: depth 2, base 8, classes LBL_LEFT then LBL_RIGHT).
import hashlib

GREEN, YELLOW = (40, 200, 60), (230, 220, 40)     # a second picture's halves


def tensors_digest(path):
    """A digest of the tensors of a safetensors file (not its metadata)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        f.seek(8 + n)
        return hashlib.sha256(f.read()).hexdigest()


def classes_of(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return [tuple(c["color"]) for c in json.loads(header["__metadata__"]["loom.classes"])]


@case("train-segmentation: fine-tuning keeps the model's classes and shape; one colour is enough")
def _():
    img, layer = picture()
    lab = label_layer(img, [(40, 20, 20, 4, LBL_RIGHT), (50, 6, 4, 30, LBL_RIGHT)])
    model = succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                           model_name="tuned", init_model=Gio.File.new_for_path(state["model"]),
                           segment_after=True, steps=10, seed=3, depth=0, base=0))
    path = model[0].get_path()
    arch = architecture(path)
    check((arch.get("depth"), arch.get("base")) == (2, 8), f"not the fine-tuned model's shape: {arch}")
    check(classes_of(path) == [LBL_LEFT, LBL_RIGHT], f"classes {classes_of(path)}")
    check(tensors_digest(path) != tensors_digest(state["model"]), "the weights did not change")
    check_labels(pixels(model[1]))


@case("error: fine-tuning with a colour the model does not have")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES + [(0, 0, 4, 4, (0, 0, 255))])
    before = layer_names(img)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab, model_name="wrong",
                init_model=Gio.File.new_for_path(state["model"]), **TRAIN),
           "#0000ff", "not one of the 2 classes")
    unchanged(img, before)
    check(not os.path.exists(os.path.join(models_dir(), "wrong.safetensors")), "a model was saved")


def two_pictures():
    """The red/blue picture and, above it, a green/yellow one of the same scene."""
    img, layer = picture()
    other = Gimp.Layer.new(img, "other", W, H, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(other, None, 0)
    fill(img, other, 0, 0, W // 2, H, GREEN)
    fill(img, other, W // 2, 0, W - W // 2, H, YELLOW)
    return img, layer, other


@case("train-segmentation: several selected layers train one model that knows both")
def _():
    img, layer, other = two_pictures()
    lab = label_layer(img, SCRIBBLES)
    proc = pdb.lookup_procedure("plug-in-loom-train-segmentation")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    config.set_core_object_array("drawables", [layer, other])
    for key, value in dict(label_layer=lab, model_name="both", segment_after=False,
                           steps=80, seed=1, depth=2, base=8).items():
        config.set_property(key.replace("_", "-"), value)
    result = proc.run(config)
    check(result.index(0) == Gimp.PDBStatusType.SUCCESS, f"status {result.index(0)}: {result.index(1)}")
    path = os.path.join(models_dir(), "both.safetensors")
    for source in (layer, other):         # the second picture's colours were seen too
        seg = succeeded(*run("plug-in-loom-segment", img, source,
                             model_file=Gio.File.new_for_path(path)))[0]
        check_labels(pixels(seg))


@case("error: an image layer of another size among the selected ones")
def _():
    img, layer = picture(100, 80)
    small = Gimp.Layer.new(img, "small", 10, 10, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(small, None, 0)
    lab = label_layer(img, SCRIBBLES)
    before = layer_names(img)
    proc = pdb.lookup_procedure("plug-in-loom-train-segmentation")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    config.set_core_object_array("drawables", [layer, small])
    config.set_property("label-layer", lab)
    config.set_property("model-name", "sizes")
    result = proc.run(config)
    failed(result.index(0), result.index(1), "image layer 'small'", "10×10")
    unchanged(img, before)


@case("train-segmentation: the augmentation strength changes training (0 vs 2, same seed)")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    digests = []
    for name, strength in (("aug0", 0.0), ("aug2", 2.0), ("aug2again", 2.0)):
        model = succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                               model_name=name, augment=strength, segment_after=False,
                               steps=3, seed=5, depth=2, base=8))[0]
        digests.append(tensors_digest(model.get_path()))
    check(digests[0] != digests[1], "augment 0 and 2 trained the same weights")
    check(digests[1] == digests[2], "the same seed and strength trained different weights")
