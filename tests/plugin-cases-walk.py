# plug-in-loom-generate's latent walk and shipped models by name (run after
# plugin-cases.py, with its helpers and generate(), in the same GIMP session;
# see tests/test-plugin.py).


def walk(img, active, model, a, b, count, **args):
    return generate(img, active, model_file=model, count=count, seed=a, seed_b=b, interpolate=True, **args)


@case("generate interpolate: a walk's layers named by step above the layer, its ends the seeds' own layers")
def _():
    img, layer = picture()
    layers = succeeded(*walk(img, layer, gan("tex"), 5, 8, 4, width=40, height=24))
    names = [f"Walk (tex, seed 5 → 8, step {i} of 4)" for i in range(1, 5)]
    check(layer_names(img) == [*names, "picture"], f"layers {layer_names(img)}")
    check([l.get_name() for l in layers] == names, f"returned {[l.get_name() for l in layers]}")
    other = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    a, = succeeded(*generate(other, model_file=gan("tex"), width=40, height=24, seed=5))
    b, = succeeded(*generate(other, model_file=gan("tex"), width=40, height=24, seed=8))
    steps = [opaque_rgb(pixels(l)) for l in layers]
    check(steps[0] == opaque_rgb(pixels(a)), "the first step is not seed 5's layer")
    check(steps[3] == opaque_rgb(pixels(b)), "the last step is not seed 8's layer")
    check(steps[1] != steps[0] and steps[1] != steps[3] and steps[2] != steps[1],
          "a middle step is one of its neighbours")
    # a DCGAN's walk: its ends within a level (a batch rounds as generate's does)
    dc = succeeded(*walk(other, None, gan("dc"), 1, 2, 3))
    alone, = succeeded(*generate(other, model_file=gan("dc"), seed=2))
    worst = max(abs(p - q) for r, s in zip(pixels(dc[2]), pixels(alone)) for u, v in zip(r, s)
                for p, q in zip(u, v))
    check(worst <= 1, f"the DCGAN walk's end is {worst} levels from seed 2's image")


@case("generate interpolate: a pix2pix walk over the label layer, its ends the layer's renders")
def _():
    img, layer = picture()
    lab = label_layer(img, [(0, 0, W // 2, H, LBL_LEFT), (W // 2, 0, W - W // 2, H, LBL_RIGHT)])
    layers = succeeded(*walk(img, lab, gan("p2p"), 2, 7, 3, label_layer=lab))
    check([l.get_name() for l in layers] == [f"Walk (p2p, seed 2 → 7, step {i} of 3)" for i in (1, 2, 3)],
          f"layers {[l.get_name() for l in layers]}")
    end, = succeeded(*generate(img, lab, model_file=gan("p2p"), label_layer=lab, seed=7))
    check(pixels(layers[2]) == pixels(end), "the walk's last step is not seed 7's render")
    check((layers[0].get_width(), layers[0].get_height()) == (W, H), "not the label layer's size")


@case("error: generate interpolate refuses a count of 1; the image unchanged")
def _():
    img, layer = picture()
    before = layer_names(img)
    failed(*walk(img, layer, gan("tex"), 1, 2, 1, width=32, height=32), "count of 2")
    unchanged(img, before)


@case("generate model-name: the shipped models offered by name, the data folder's file used; a file wins")
def _():
    proc = pdb.lookup_procedure("plug-in-loom-generate")
    nicks = Gimp.param_spec_choice_get_choice(proc.find_argument("model-name")).list_nicks()
    names = [n for n in nicks if n != "none"]
    check("none" in nicks and any(n.startswith("texture-") for n in names), f"choices {nicks}")
    check("segment-start" not in nicks, f"a segmentation model offered: {nicks}")
    name = names[0]
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    shipped = os.path.join(os.environ["LOOM_DATA_DIR"], "weights", name + ".safetensors")
    os.makedirs(os.path.dirname(shipped), exist_ok=True)
    shutil.copyfile(gan("tex").get_path(), shipped)      # not the source tree's model
    try:
        named, = succeeded(*generate(img, model_name=name, width=32, height=32, seed=2))
    finally:
        os.remove(shipped)
    check(named.get_name() == f"Generated ({name}, seed 2)", named.get_name())
    same, = succeeded(*generate(img, model_file=gan("tex"), width=32, height=32, seed=2))
    check(pixels(named) == pixels(same), f"not the data folder's {name} file")
    source, = succeeded(*generate(img, model_name=name, width=32, height=32, seed=2))
    check(pixels(source) != pixels(same), f"the source tree's {name} is the test's texture")
    out, = succeeded(*generate(img, model_file=gan("dc"), model_name=name, seed=3))
    check(out.get_name() == "Generated (dc, seed 3)" and out.get_width() == 32, "the file did not win")
    # a name not offered: GIMP's choice refuses it before any run sees it
    # (setting it is a critical, so only asked)
    check(not Gimp.param_spec_choice_get_choice(proc.find_argument("model-name")).is_valid("no-such-model"),
          "an unknown model name is a valid choice")
