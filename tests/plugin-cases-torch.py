# A model trained on PyTorch's tooling (tools/torch/train.py) back in GIMP:
# test-plugin.py trained it on this picture's scribbles and segmented the
# same picture with `loom segment`; Segment must take the file as its own.
# Run after tests/plugin-cases.py (its helpers).


def torch_model_path():
    return os.path.join(os.environ["LOOM_TEST_GAN_DIR"], "torch-seg.safetensors")


def weights_metadata(path):
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(length))["__metadata__"]


@case("segment: a U-Net tools/torch/train.py trained segments in GIMP as `loom segment` does")
def _():
    meta = weights_metadata(torch_model_path())
    check(json.loads(meta["loom.provenance"]).get("trainer") == "tools/torch/train.py",
          f"provenance {meta.get('loom.provenance')}")
    img, layer = picture()
    seg = succeeded(*run("plug-in-loom-segment", img, layer,
                         model_file=Gio.File.new_for_path(torch_model_path())))[0]
    got = pixels(seg)
    cli_img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                             Gio.File.new_for_path(os.path.join(os.environ["LOOM_TEST_GAN_DIR"],
                                                                "torch-seg-cli.png")))
    want = pixels(cli_img.get_layers()[0])
    cli_img.delete()
    check([[p[:3] for p in row] for row in got] == [[p[:3] for p in row] for row in want],
          "the plug-in's segmentation differs from loom segment's")
    colours = {p[:3] for row in got for p in row}
    check(colours <= {LBL_LEFT, LBL_RIGHT}, f"colours {sorted(colours)[:4]} not the label colours")
    right = sum(1 for y in range(H) for x in range(W)
                if got[y][x][:3] == (LBL_LEFT if x < W // 2 else LBL_RIGHT))
    check(right > 0.9 * W * H, f"only {right} of {W * H} pixels right")
