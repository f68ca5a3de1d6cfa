# plug-in-loom-augment's cases (run after plugin-cases.py, with its
# helpers, in the same GIMP session; see tests/test-plugin.py).

# Geometry only (no colour jitter, noise, blur): a copy's colours say
# which half of the picture each pixel came from.
PLAIN = dict(color=0.0, noise=0.0, blur=0.0, cutout=0.0)
HALVES_LBL = [(0, 0, W // 2, H, LBL_LEFT), (W // 2, 0, W - W // 2, H, LBL_RIGHT)]


def augment(img, layer, **args):
    return run("plug-in-loom-augment", img, layer, **args)


def size_of(layer):
    return layer.get_width(), layer.get_height()


def group_of(img):
    groups = [l for l in img.get_layers() if l.is_group()]
    check(len(groups) == 1, f"{len(groups)} layer groups")
    return groups[0]


def children(item):
    return list(item.get_children())


def near(p, q, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def check_pair(image_px, label_px):
    """Label pixels exactly a label colour or transparent; where labelled,
    the image pixel mostly the picture's colour of that class."""
    agree = total = 0
    for y, row in enumerate(label_px):
        for x, p in enumerate(row):
            check(p[3] in (0, 255), f"label pixel {x},{y} half transparent: {p}")
            if p[3] == 0:
                continue
            check(p[:3] in (LBL_LEFT, LBL_RIGHT), f"label pixel {x},{y} {p[:3]} is no label colour")
            total += 1
            want = IMG_LEFT if p[:3] == LBL_LEFT else IMG_RIGHT
            agree += near(image_px[y][x][:3], want)
    check(total > 0 and agree / total > 0.9, f"image and labels agree on {agree}/{total} pixels")


@case("augment: a group above the layer with copies and labels, same geometry, label colours exact")
def _():
    img, layer = picture(100, 80, 20, 10)
    lab = label_layer(img, HALVES_LBL)
    lab.set_offsets(20, 10)
    img.raise_item_to_top(layer)                     # the picture on top: the group goes above it
    status, values = augment(img, layer, count=3, seed=4, size=32, label_layer=lab, **PLAIN)
    new_image, count = succeeded(status, values)
    check(new_image is None and count == 3, f"returned {new_image}, {count}")
    group = img.get_layers()[0]
    check(group.get_name() == "Augmented (seed 4)" and group.is_group(), f"top {group.get_name()}")
    check(img.get_item_position(layer) == 1, "the group is not just above the layer")
    names = [c.get_name() for c in children(group)]
    check(names == ["Augmented 1 labels", "Augmented 1", "Augmented 2 labels", "Augmented 2",
                    "Augmented 3 labels", "Augmented 3"], f"children {names}")
    kids = children(group)
    for c in kids:
        check(size_of(c) == (32, 32) and offsets(c) == (20, 10), f"{c.get_name()} {size_of(c)} at {offsets(c)}")
    for i in range(3):
        label_px, image_px = pixels(kids[2 * i]), pixels(kids[2 * i + 1])
        check(all(p[3] == 255 for row in image_px for p in row), "a copy has transparent pixels")
        check_pair(image_px, label_px)
    state["aug-seed4"] = [pixels(k) for k in kids]


@case("augment: the same seed gives the same copies, another seed others; a new image as output")
def _():
    img, layer = picture(100, 80, 20, 10)
    lab = label_layer(img, HALVES_LBL)
    lab.set_offsets(20, 10)
    before = layer_names(img)
    new_image, count = succeeded(*augment(img, layer, count=3, seed=4, size=32, label_layer=lab,
                                          output="image", **PLAIN))
    check(layer_names(img) == before, "the source image changed")
    check(new_image is not None and count == 3, f"returned {new_image}, {count}")
    check((new_image.get_width(), new_image.get_height()) == (32, 32), "new image size")
    layers = new_image.get_layers()
    check([l.get_name() for l in layers][:2] == ["Augmented 1 labels", "Augmented 1"],
          f"{[l.get_name() for l in layers]}")
    check([pixels(l) for l in layers] == state["aug-seed4"], "seed 4 twice: different pixels")
    other, _ = succeeded(*augment(img, layer, count=3, seed=5, size=32, label_layer=lab,
                                  output="image", **PLAIN))
    check([pixels(l) for l in other.get_layers()] != state["aug-seed4"], "seeds 4 and 5 alike")
    new_image.delete()
    other.delete()


def load(path):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    px = pixels(img.get_layers()[0])
    img.delete()
    return px


@case("augment: export folder gets images/NAME-0001.png and labels/NAME-0001.png, the layers' pixels")
def _():
    folder = os.path.join(os.path.dirname(models_dir()), "aug-set")
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    new_image, count = succeeded(*augment(img, layer, count=2, seed=7, size=24, label_layer=lab,
                                          output="layers", export_folder=Gio.File.new_for_path(folder)))
    check(layer_names(img) == ["labels", "Augmented (seed 7)", "picture"], f"{layer_names(img)}")
    kids = children(group_of(img))
    for i in range(2):
        ip = os.path.join(folder, "images", f"picture-{i + 1:04d}.png")
        lp = os.path.join(folder, "labels", f"picture-{i + 1:04d}.png")
        check(os.path.exists(ip) and os.path.exists(lp), f"no {ip} or {lp}")
        label_px, image_px = load(lp), load(ip)
        check(len(image_px) == 24 and len(image_px[0]) == 24, "image file size")
        check(image_px == pixels(kids[2 * i + 1]), f"{ip} differs from its layer")
        check(label_px == pixels(kids[2 * i]), f"{lp} differs from its layer")
        colours = {p[:3] for row in label_px for p in row if p[3] == 255}
        check(colours <= {LBL_LEFT, LBL_RIGHT} and all(p[3] in (0, 255) for row in label_px for p in row),
              f"label colours {colours}")
    check(sorted(os.listdir(os.path.join(folder, "images"))) == ["picture-0001.png", "picture-0002.png"],
          f"files {os.listdir(os.path.join(folder, 'images'))}")
    # files only, no labels: FOLDER/NAME-0001.png, the image unchanged
    flat = os.path.join(os.path.dirname(models_dir()), "aug-flat")
    before = layer_names(img)
    new_image, count = succeeded(*augment(img, layer, count=2, seed=7, size=24, output="files",
                                          export_folder=Gio.File.new_for_path(flat)))
    check(sorted(os.listdir(flat)) == ["picture-0001.png", "picture-0002.png"], f"{os.listdir(flat)}")
    check(layer_names(img) == before and new_image is None, "the image changed")


@case("error: augment refuses a label layer of another size, count 0, an unwritable folder; the image unchanged")
def _():
    img, layer = picture()
    lab = label_layer(img, HALVES_LBL, w=W - 8)
    before = layer_names(img)
    failed(*augment(img, layer, count=2, label_layer=lab), "same size", f"{W - 8}×{H}")
    failed(*augment(img, layer, count=0), "at least one copy")
    failed(*augment(img, layer, count=101), "at most 100", "files")
    failed(*augment(img, layer, count=2, size=50), "too small", "50×50")
    failed(*augment(img, layer, count=2, output="files"), "export folder")
    blocker = os.path.join(os.path.dirname(models_dir()), "a-file")
    with open(blocker, "w") as f:
        f.write("in the way")
    failed(*augment(img, layer, count=2, export_folder=Gio.File.new_for_path(os.path.join(blocker, "set"))),
           "a-file")
    unchanged(img, before)
    grey = Gimp.Image.new(W, H, Gimp.ImageBaseType.GRAY)
    gl = Gimp.Layer.new(grey, "grey", W, H, Gimp.ImageType.GRAY_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    grey.insert_layer(gl, None, 0)
    failed(*augment(grey, gl, count=2), "RGB", "grayscale")
    check(len(grey.get_layers()) == 1, "the grey image changed")


def save_png(img, path):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(path), None)


def export_layer(layer, path):
    """LAYER alone as a PNG file at PATH."""
    img = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    copy = Gimp.Layer.new_from_drawable(layer, img)
    img.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    save_png(img, path)
    img.delete()


@case("augment from Script-Fu with keyword arguments: files only, the same files as `loom augment`")
def _():
    import subprocess
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    root = os.path.join(os.path.dirname(models_dir()), "aug-cli")
    os.makedirs(root, exist_ok=True)
    export_layer(layer, os.path.join(root, "picture.png"))
    export_layer(lab, os.path.join(root, "labels.png"))
    subprocess.run([os.environ["LOOM_TEST_CLI"], "augment", "-i", os.path.join(root, "picture.png"),
                    "--labels", os.path.join(root, "labels.png"), "-o", os.path.join(root, "cli"),
                    "--count", "3", "--seed", "2", "--size", "16", "-q"], check=True, timeout=60)
    folder = os.path.join(os.path.dirname(models_dir()), "aug-scheme")
    proc = pdb.lookup_procedure("plug-in-script-fu-eval")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("script", f"""
      (plug-in-loom-augment #:run-mode RUN-NONINTERACTIVE #:image {img.get_id()}
        #:drawables (vector {layer.get_id()}) #:label-layer {lab.get_id()} #:count 3 #:seed 2
        #:size 16 #:output "files" #:export-folder "{folder}")""")
    result = proc.run(config)
    check(result.index(0) == Gimp.PDBStatusType.SUCCESS,
          f"status {result.index(0)}: {result.index(1) if result.length() > 1 else ''}")
    for sub in ("images", "labels"):
        got = sorted(os.listdir(os.path.join(folder, sub)))
        check(got == [f"picture-000{i}.png" for i in (1, 2, 3)], f"{sub}: {got}")
        for name in got:
            check(load(os.path.join(folder, sub, name)) == load(os.path.join(root, "cli", sub, name)),
                  f"{sub}/{name} differs from loom augment's")
