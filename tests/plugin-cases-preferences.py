# Preferences: the device Loom runs on, kept in <GIMP folder>/loom/loomrc.
# Run after tests/plugin-cases.py (its helpers).


def preferences(device):
    proc = pdb.lookup_procedure("plug-in-loom-preferences")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("device", device)
    result = proc.run(config)
    status = result.index(0)
    return status, result.index(1) if result.length() > 1 else ""


def loomrc():
    path = os.path.join(Gimp.directory(), "loom", "loomrc")
    return open(path).read() if os.path.exists(path) else ""


@case("preferences: a device that opens is saved in loomrc; one that does not is refused")
def _():
    status, name = preferences("cpu")
    check(status == Gimp.PDBStatusType.SUCCESS, f"status {status}: {name}")
    check("CPU" in name, f"device name {name!r}")
    check("device=cpu" in loomrc(), f"loomrc {loomrc()!r}")
    failed(*preferences("no-such-device"), "no-such-device")
    check("device=cpu" in loomrc() and "no-such" not in loomrc(), f"loomrc changed: {loomrc()!r}")
    img, layer = picture()
    succeeded(*run("plug-in-loom-segment", img, layer,
                   model_file=Gio.File.new_for_path(state["model"])))


@case("preferences: the procedures open the device loomrc names (LOOM_DEVICE unset)")
def _():
    path = os.path.join(Gimp.directory(), "loom", "loomrc")
    saved = loomrc()
    with open(path, "w") as f:
        f.write("[loom]\ndevice=no-such-device\n")
    try:
        img, layer = picture()
        before = layer_names(img)
        failed(*run("plug-in-loom-segment", img, layer,
                    model_file=Gio.File.new_for_path(state["model"])), "Preferences", "no-such-device")
        unchanged(img, before)
    finally:
        with open(path, "w") as f:
            f.write(saved)
