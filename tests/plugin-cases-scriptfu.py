# Segment (class layers, classes to select), Generate and Preferences from
# Script-Fu with keyword arguments, as a script would call them (Train
# Segmentation and Segment also run in the driver's Script-Fu batch; Train
# Generator and Augment in their own case files).  Run after
# tests/plugin-cases.py (its helpers and state["model"]).


def script_fu(text):
    proc = pdb.lookup_procedure("plug-in-script-fu-eval")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("script", text)
    result = proc.run(config)
    check(result.index(0) == Gimp.PDBStatusType.SUCCESS,
          f"status {result.index(0)}: {result.index(1) if result.length() > 1 else ''}")


@case("Script-Fu: segment with cut-out class layers and classes selected by colour")
def _():
    img, layer = picture()
    script_fu(f"""
      (plug-in-loom-segment #:run-mode RUN-NONINTERACTIVE #:image {img.get_id()}
        #:drawables (vector {layer.get_id()}) #:model-file "{state['model']}"
        #:label-layer FALSE #:class-layers "cutouts" #:select-classes "#00a050")""")
    names = layer_names(img)
    check(names == ["Classes (test)", "picture"], f"layers {names}")
    group = img.get_layers()[0]
    check([c.get_name() for c in group.get_children()] == ["class 1", "class 2"], "class layers")
    sel = selection_values(img)
    second = pixels(group.get_children()[1])       # class 2 is #00a050: its cut-out
    for y in range(H):
        for x in range(W):
            check((sel[y][x] == 255) == (second[y][x][3] == 255),
                  f"selection {sel[y][x]} and class 2's cut-out {second[y][x]} at {x},{y}")
    check(sum(1 for row in sel for v in row[W // 2:] if v) > 0.8 * (W // 2) * H, "right half unselected")


@case("Script-Fu: generate two texture layers; preferences set the device")
def _():
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    script_fu(f"""
      (plug-in-loom-preferences #:run-mode RUN-NONINTERACTIVE #:device "cpu")
      (plug-in-loom-generate #:run-mode RUN-NONINTERACTIVE #:image {img.get_id()}
        #:model-file "{gan('tex').get_path()}" #:width 24 #:height 16 #:count 2 #:seed 9)""")
    check(layer_names(img) == ["Generated (tex, seed 9)", "Generated (tex, seed 10)"],
          f"layers {layer_names(img)}")
    check(all((l.get_width(), l.get_height()) == (24, 16) for l in img.get_layers()), "sizes")
