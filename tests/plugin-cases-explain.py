# Segment's explanations: probability masks, the uncertainty layer, the
# squares to paint next.  Run after tests/plugin-cases.py (its helpers and
# state["model"]: two classes, LBL_LEFT then LBL_RIGHT).
import math


def grey_values(drawable, fmt="Y u8"):
    w, h = drawable.get_width(), drawable.get_height()
    data = bytes(drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt,
                                           Gegl.AbyssPolicy.NONE))
    return [[data[y * w + x] for x in range(w)] for y in range(h)]


def explain_segment(img, layer, **args):
    return succeeded(*run("plug-in-loom-segment", img, layer,
                          model_file=Gio.File.new_for_path(state["model"]), **args))


def layer_named(img, name):
    found = [l for l in img.get_layers() if l.get_name() == name]
    check(len(found) == 1, f"no single layer {name!r} among {layer_names(img)}")
    return found[0]


def bits(p):
    return 0.0 if p <= 0 or p >= 1 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def explain_picture():
    """The cases' picture at offsets (20, 10) with a purple band over the
    edge the model has never seen: somewhere to be unsure."""
    img, layer = picture(100, 80, 20, 10)
    fill(img, layer, 20 + W // 2 - 4, 10, 8, H, (125, 50, 115))
    return img, layer


@case("segment: probability masks sum to 1 and their argmax is the label layer; uncertainty is their entropy")
def _():
    img, layer = explain_picture()
    source_position = img.get_item_position(layer)
    seg, _ = explain_segment(img, layer, probability_masks=True, uncertainty_layer=True, paint_next=3)
    group = layer_named(img, "Probabilities (test)")
    unc = layer_named(img, "Uncertainty")
    nxt = layer_named(img, "Paint here next")
    for item in (group, unc, nxt, seg):
        check(img.get_item_position(item) < img.get_item_position(layer), f"{item.get_name()} not above the source")
    check(img.get_item_position(layer) == source_position + 4, "not four new layers just above the source")
    for item in (unc, nxt, *group.get_children()):
        check(offsets(item) == (20, 10), f"{item.get_name()} offsets {offsets(item)}")
    children = group.get_children()
    check([c.get_name() for c in children] == ["class 1", "class 2"], f"{[c.get_name() for c in children]}")
    source = pixels(layer)
    masks = []
    for child in children:
        check(pixels(child) == source, f"{child.get_name()}: not a copy of the source")
        check(child.get_mask() is not None, f"{child.get_name()} has no mask")
        masks.append(grey_values(child.get_mask()))
    labels, u = pixels(seg), grey_values(unc, "Y' u8")
    unsure = 0
    for y in range(H):
        for x in range(W):
            a, b = masks[0][y][x], masks[1][y][x]
            check(abs(a + b - 255) <= 1, f"probabilities {a} + {b} at {x},{y}")
            if abs(a - b) > 1:
                want = LBL_LEFT if a > b else LBL_RIGHT
                check(labels[y][x][:3] == want, f"argmax {a}/{b} but label {labels[y][x]} at {x},{y}")
            if 13 <= a <= 242:
                unsure += 1
                check(abs(u[y][x] - 255 * bits(a / 255)) <= 6, f"uncertainty {u[y][x]} for {a}/255 at {x},{y}")
    check(unsure > 0, "the model is sure of every pixel, even on the band")


@case("segment: paint here next marks the most uncertain squares in magenta on a transparent layer")
def _():
    img, layer = explain_picture()
    seg, _ = explain_segment(img, layer, label_layer=False, uncertainty_layer=True, paint_next=2)
    u = grey_values(layer_named(img, "Uncertainty"), "Y' u8")
    px = pixels(layer_named(img, "Paint here next"))
    marked = [(x, y) for y in range(H) for x in range(W) if px[y][x][3] > 0]
    check(marked, "nothing marked")
    for x, y in marked:
        check(px[y][x][:3] == (255, 0, 255), f"mark {px[y][x]} at {x},{y}")
    check(len(marked) < W * H // 3, f"{len(marked)} pixels marked")
    mean_marked = sum(u[y][x] for x, y in marked) / len(marked)
    mean_all = sum(map(sum, u)) / (W * H)
    check(mean_marked > 2 * mean_all, f"marked squares {mean_marked:.1f} vs the layer {mean_all:.1f}")
    # only inside a selection: the left half holds no mark
    img2, layer2 = explain_picture()
    img2.select_rectangle(Gimp.ChannelOps.REPLACE, 20, 10, W // 4, H)
    explain_segment(img2, layer2, label_layer=False, paint_next=2, probability_masks=True)
    px2 = pixels(layer_named(img2, "Paint here next"))
    check(all(px2[y][x][3] == 0 for y in range(H) for x in range(W // 4, W)), "a mark outside the selection")
    for child in layer_named(img2, "Probabilities (test)").get_children():
        values = grey_values(child.get_mask())
        check(all(values[y][x] == 0 for y in range(H) for x in range(W // 4, W)),
              f"{child.get_name()}: mask outside the selection")


@case("error: nothing to make names the explanations")
def _():
    img, layer = picture()
    failed(*run("plug-in-loom-segment", img, layer, model_file=Gio.File.new_for_path(state["model"]),
                label_layer=False), "Nothing to make", "probability masks", "uncertainty")
    check(layer_names(img) == ["picture"], f"the image changed: {layer_names(img)}")


@case("segment: evidence for the selection lies on its side of the picture; none without a selection")
def _():
    img, layer = picture(100, 80, 20, 10)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 20 + 8, 10 + 16, 12, 12)     # inside the left half
    explain_segment(img, layer, label_layer=False, evidence_layer=True)
    ev = layer_named(img, "Evidence (class 1)")
    check(offsets(ev) == (20, 10), f"offsets {offsets(ev)}")
    check(img.get_item_position(ev) < img.get_item_position(layer), "not above the source")
    px = pixels(ev)
    values = [[p[0] for p in row] for row in px]
    check(all(p[0] == p[1] == p[2] and p[3] == 255 for row in px for p in row), "not opaque grey")
    total = sum(map(sum, values))
    left = sum(sum(row[:W // 2]) for row in values)
    check(max(map(max, values)) == 255 and left / total > 0.8, f"{100 * left / total:.1f} % on the left half")
    img2, layer2 = picture()
    failed(*run("plug-in-loom-segment", img2, layer2, model_file=Gio.File.new_for_path(state["model"]),
                evidence_layer=True), "Evidence", "select")
    check(layer_names(img2) == ["picture"], f"the image changed: {layer_names(img2)}")
