# Segment's class layers and class selections, images without alpha, a
# 1×1 and a large image.  Run after tests/plugin-cases.py (its helpers, and
# state["model"]: two classes, LBL_LEFT then LBL_RIGHT, "class 1"/"class 2").


def mask_values(mask):
    w, h = mask.get_width(), mask.get_height()
    data = bytes(mask.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "Y u8",
                                       Gegl.AbyssPolicy.NONE))
    return [[data[y * w + x] for x in range(w)] for y in range(h)]


def segment_with(img, layer, **args):
    return succeeded(*run("plug-in-loom-segment", img, layer,
                          model_file=Gio.File.new_for_path(state["model"]), **args))


@case("segment: one layer per class with the class as its mask, in a group above the source")
def _():
    img, layer = picture(100, 80, 20, 10)
    seg, group = segment_with(img, layer, class_layers="masks")
    check(group is not None and group.is_group(), "no group came back")
    check(group.get_name() == "Classes (test)", group.get_name())
    check(img.get_item_position(group) < img.get_item_position(layer), "group not above the source")
    children = group.get_children()
    check([c.get_name() for c in children] == ["class 1", "class 2"],
          f"children {[c.get_name() for c in children]}")
    labels = pixels(seg)
    source = pixels(layer)
    for k, child in enumerate(children):
        check(offsets(child) == (20, 10), f"{child.get_name()} offsets {offsets(child)}")
        check(pixels(child) == source, f"{child.get_name()}: not a copy of the source")
        mask = child.get_mask()
        check(mask is not None, f"{child.get_name()} has no mask")
        values = mask_values(mask)
        want_colour = (LBL_LEFT, LBL_RIGHT)[k]
        for y in range(H):
            for x in range(W):
                want = 255 if labels[y][x][:3] == want_colour else 0
                check(values[y][x] == want, f"{child.get_name()} mask {values[y][x]} at {x},{y}")
    check(sum(1 for row in mask_values(children[0].get_mask()) for v in row if v) > W * H // 4,
          "class 1 almost empty")


@case("segment: cut-out layers hold the source's pixels of their class, the rest transparent")
def _():
    img, layer = picture()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, W, H // 2)   # only the top half
    seg, group = segment_with(img, layer, class_layers="cutouts")
    labels, source = pixels(seg), pixels(layer)
    for k, child in enumerate(group.get_children()):
        check(child.get_mask() is None, f"{child.get_name()} kept a mask")
        px = pixels(child)
        colour = (LBL_LEFT, LBL_RIGHT)[k]
        for y in range(H):
            for x in range(W):
                inside = y < H // 2 and labels[y][x][:3] == colour
                if inside:
                    check(px[y][x] == source[y][x], f"{child.get_name()} {px[y][x]} at {x},{y}")
                else:
                    check(px[y][x][3] == 0, f"{child.get_name()} opaque at {x},{y}: {px[y][x]}")


@case("segment: classes to select by number, name or colour, added to the selection")
def _():
    img, layer = picture()
    seg, group = segment_with(img, layer, label_layer=True, select_classes="#fac800, class 2")
    check(group is None, "a group without class layers")
    sel = selection_values(img)
    check(all(v == 255 for row in sel for v in row), "both classes should select everything")
    img, layer = picture()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, W - 4, 0, 4, 4)     # a corner of the right class
    seg, _ = segment_with(img, layer, label_layer=False, select_classes="0",
                          channel_op=Gimp.ChannelOps.ADD)
    check(seg is None, "a label layer that was not asked for")
    sel = selection_values(img)
    mine = pixels(segment_with(img, layer, label_layer=True)[0])     # the same classes again
    for y in range(H):
        for x in range(W):
            want = 255 if mine[y][x][:3] == LBL_LEFT or (x >= W - 4 and y < 4) else 0
            check(sel[y][x] == want, f"selection {sel[y][x]} at {x},{y}")


@case("error: a class name that is not the model's")
def _():
    img, layer = picture()
    before = layer_names(img)
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(state["model"]),
                select_classes="sky"), "'sky'", "classes 0 to 1")
    unchanged(img, before)


@case("segment: a layer without alpha gives an opaque label layer")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "flat", W, H, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    fill(img, layer, 0, 0, W // 2, H, IMG_LEFT)
    fill(img, layer, W // 2, 0, W - W // 2, H, IMG_RIGHT)
    check(not layer.has_alpha(), "the source has alpha")
    seg, _ = segment_with(img, layer)
    px = pixels(seg)
    check(all(p[3] == 255 for row in px for p in row), "transparent pixels in the label layer")
    check_labels(px)


@case("segment and train on a 1x1 image: one pixel labelled; one colour refused")
def _():
    img = Gimp.Image.new(1, 1, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "dot", 1, 1, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    fill(img, layer, 0, 0, 1, 1, IMG_RIGHT)
    seg, _ = segment_with(img, layer)
    px = pixels(seg)
    check(len(px) == 1 and len(px[0]) == 1, "not 1x1")
    check(px[0][0][:3] in (LBL_LEFT, LBL_RIGHT) and px[0][0][3] == 255, f"pixel {px[0][0]}")
    lab = label_layer(img, [(0, 0, 1, 1, LBL_LEFT)], 1, 1)
    before = layer_names(img)
    failed(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab, model_name="dot",
                **TRAIN), "one colour")
    unchanged(img, before)


@case("segment: a 1600x1200 layer, tiled, in the label colours and mostly right")
def _():
    big_w, big_h = 1600, 1200
    img = Gimp.Image.new(big_w, big_h, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "big", big_w, big_h, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    fill(img, layer, 0, 0, big_w // 2, big_h, IMG_LEFT)
    fill(img, layer, big_w // 2, 0, big_w - big_w // 2, big_h, IMG_RIGHT)
    seg, _ = segment_with(img, layer)
    check((seg.get_width(), seg.get_height()) == (big_w, big_h), "size")
    data = bytes(seg.get_buffer().get(Gegl.Rectangle.new(0, 0, big_w, big_h), 1.0, "R'G'B'A u8",
                                      Gegl.AbyssPolicy.NONE))
    colours, right, step = set(), 0, 7          # every 7th pixel: enough, and fast in Python
    for i in range(0, big_w * big_h, step):
        p = tuple(data[4 * i:4 * i + 3])
        colours.add(p)
        right += p == (LBL_LEFT if i % big_w < big_w // 2 else LBL_RIGHT)
    check(colours <= {LBL_LEFT, LBL_RIGHT}, f"colours {sorted(colours)[:4]}")
    check(right / len(range(0, big_w * big_h, step)) > 0.9, f"accuracy {right}")
