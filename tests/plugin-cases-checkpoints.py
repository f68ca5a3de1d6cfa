# Train Segmentation's checkpoints, with the helpers of plugin-cases.py
# (run after it by tests/test-plugin.py, in the same GIMP session).


def checkpoints_dir():
    return os.path.join(Gimp.directory(), "loom", "checkpoints")


@case("train-segmentation: checkpoints go to loom/checkpoints, never the models folder, and go at the end")
def _():
    img, layer = picture()
    lab = label_layer(img, SCRIBBLES)
    # 60 steps: one checkpoint, at step 50
    succeeded(*run("plug-in-loom-train-segmentation", img, layer, label_layer=lab,
                   model_name="ckpt", segment_after=False, **TRAIN))
    check(os.path.isdir(checkpoints_dir()), f"no {checkpoints_dir()}: the checkpoint went elsewhere")
    check(os.listdir(checkpoints_dir()) == [], f"left behind: {os.listdir(checkpoints_dir())}")
    with open(os.path.join(models_dir(), "ckpt.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        steps = json.loads(json.loads(f.read(n))["__metadata__"]["loom.provenance"])["steps"]
    check(steps == TRAIN["steps"], f"the model has {steps} steps, not {TRAIN['steps']}: a checkpoint?")


@case("train-generator: checkpoints go to loom/checkpoints (every 50 steps), gone at the end; the model is whole")
def _():
    img, layer = picture()
    before = set(os.listdir(models_dir()))
    # 60 steps: one checkpoint, at step 50
    succeeded(*run("plug-in-loom-train-generator", img, layer, kind="texture",
                   model_name="gen-ckpt", size=32, width=8, batch=2, steps=60, seconds=0.0,
                   seed=1, generate_after=False))
    check(os.listdir(checkpoints_dir()) == [], f"left behind: {os.listdir(checkpoints_dir())}")
    check(set(os.listdir(models_dir())) - before == {"gen-ckpt.safetensors"},
          f"the models folder got {sorted(set(os.listdir(models_dir())) - before)}")
    with open(os.path.join(models_dir(), "gen-ckpt.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        steps = json.loads(json.loads(f.read(n))["__metadata__"]["loom.provenance"])["steps"]
    check(steps == 60, f"the model has {steps} steps, not 60: a checkpoint?")
