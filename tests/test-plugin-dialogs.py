#!/usr/bin/env python3
"""Every dialog of the plug-in on a screen, screenshotted (TAP).

    tests/test-plugin-dialogs.py BUILD/plugin/loom BUILD/cli/loom ARTIFACTS

Starts Xvfb on a free display (-displayfd), installs the built plug-in into
a throwaway GIMP profile, and runs gimp-console-3.0 with DISPLAY set and
tests/plugin-dialogs.py in its Python-Fu, which runs each procedure of
DIALOGS RUN-INTERACTIVE on a 64 × 48 image with a label layer.  The
plug-in's screenshot hook (LOOM_PLUGIN_SCREENSHOTS=DIR, in plugin/dialogs.c)
saves each dialog, once drawn, as DIR/<procedure>.png and clicks OK; Loom's
training window saves DIR/<procedure>-window.png after its first preview
and clicks Stop or Cancel, as LOOM_PLUGIN_SCREENSHOTS_PRESS says.  Four
GIMP sessions, since that variable is GIMP's environment: Cancel of Train
Segmentation and Train Generator (no model, no checkpoint, the image's
layers unchanged), then Stop (the model saved and usable: segment-after
made its layer in the label colours, the checkpoint gone) followed by the
other procedures (Preferences without an image: loomrc written) and Train
Generator's Stop (model, sample, no checkpoint), then a batch training
whose plug-in is killed once its first checkpoint is there, as GIMP kills
it on Cancel (the checkpoint stays, the models folder and the image
unchanged), and the same for a batch Train Generator.

The pictures are checked (size, not blank) and kept in ARTIFACTS (the
build tree's test-artifacts/dialogs/), their paths printed.  A procedure
added to DIALOGS is screenshotted the same way, as long as its dialog goes
through loom_plugin_dialog_run.

As in tests/test-plugin.py, GIMP itself never runs under the sanitizers'
LD_PRELOAD; the ASan plug-in starts with ASAN_OPTIONS=detect_leaks=0.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

PLUGIN = os.path.abspath(sys.argv[1])
CLI = os.path.abspath(sys.argv[2])
ARTIFACTS = os.path.abspath(sys.argv[3])
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="loom-dialogs-")
PROFILE = os.path.join(TMP, "profile")
MODELS = os.path.join(PROFILE, "loom", "models")
CHECKPOINTS = os.path.join(PROFILE, "loom", "checkpoints")
LABELS = {(250, 200, 0), (0, 160, 80), (200, 0, 200)}
TEX = os.path.join(TMP, "tex.safetensors")
TRAIN = "plug-in-loom-train-segmentation"
GEN = "plug-in-loom-train-generator"
LOOMRC = os.path.join(PROFILE, "loom", "loomrc")

# What each session runs.  Training: 1000 steps asked, a minute at most;
# the hook presses its button at the first checkpoint (step 50).
TRAIN_RUN = {"proc": TRAIN, "label_layer": True,
             "args": {"model-name": "window", "steps": 1000, "seconds": 60.0, "seed": 1,
                      "depth": 2, "base": 8, "segment-after": True}}
# The generator's window the same way: a tiny texture GAN, its preview a
# sample of the checkpoint at step 50.
GEN_RUN = {"proc": GEN,
           "args": {"kind": "texture", "model-name": "gen", "size": 32, "width": 8, "batch": 2,
                    "steps": 1000, "seconds": 60.0, "seed": 1, "generate-after": True}}
# Killed by GIMP (Cancel on its progress bar in a batch run) once the
# first checkpoint is there.
KILLED_RUN = {"proc": TRAIN, "label_layer": True, "run_mode": "noninteractive",
              "args": {"model-name": "killed", "steps": 100000, "seconds": 120.0, "seed": 1,
                       "depth": 2, "base": 8, "segment-after": True}}
# The same for the generator, a session of its own (one file to wait for).
KILLED_GEN_RUN = {"proc": GEN, "run_mode": "noninteractive",
                  "args": {**GEN_RUN["args"], "model-name": "killed-gen", "steps": 100000,
                           "seconds": 120.0}}
DIALOGS = [
    {"proc": "plug-in-loom-segment", "args": {"confidence-layer": True}},
    {"proc": "plug-in-loom-generate", "args": {"model-file": "file:" + TEX,
                                               "width": 32, "height": 32, "count": 1}},
    {"proc": "plug-in-loom-augment", "label_layer": True, "args": {"count": 2, "size": 32}},
    {"proc": "plug-in-loom-preferences", "no_image": True, "args": {"device": "cpu"}},
]
# Every picture the sessions make: the dialogs, then the training windows.
PICTURES = [TRAIN, TRAIN + "-window", GEN, GEN + "-window"] + [d["proc"] for d in DIALOGS]


def magenta(px):   # the third label colour (200, 0, 200), alone or over the picture
    return (px[..., 0] > 150) & (px[..., 1] < 100) & (px[..., 2] > 150)


def curve_blue(px):   # the first loss curve's colour (51, 140, 242)
    return (abs(px[..., 0] - 51) < 40) & (abs(px[..., 1] - 140) < 40) & (px[..., 2] > 200)


def curve_orange(px):   # the second curve's colour (242, 128, 26)
    return (px[..., 0] > 200) & (abs(px[..., 1] - 128) < 40) & (px[..., 2] < 80)


def preview_colours(px):
    """Many colours in the window's left part: a picture in the preview,
    not the grey hint text it has before the first checkpoint."""
    left = px[30:300, :290].reshape(-1, 3).astype(np.int64)
    n = len(np.unique(left[:, 0] * 65536 + left[:, 1] * 256 + left[:, 2]))
    return np.full(n, True)


# What must show in a picture: (what, pixel test, at least this many pixels).
SHOWS = {
    TRAIN: [("the label layer's thumbnail", magenta, 10)],
    TRAIN + "-window": [("the preview's segmentation", magenta, 1000),
                        ("the loss curve", curve_blue, 100)],
    # a texture has thousands of colours there (13 000 seen), the hint a few dozen
    GEN + "-window": [("a generated texture in the preview (distinct colours)",
                       preview_colours, 2000),
                      ("the D curve", curve_blue, 100), ("the G curve", curve_orange, 100)],
}


def env(press, shots, runs, results):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    # Not fatal here: every GimpProcedureDialog in a GIMP without a display
    # of its own (console mode) trips libgimpui's transient-for assertion.
    # The plug-in's other criticals fail t_messages instead.
    e.pop("G_DEBUG", None)
    if e.pop("LOOM_RUNNER_PRELOAD", None):
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    e.setdefault("LOOM_DEVICE", "cpu")
    e["LOOM_DATA_DIR"] = os.path.join(TMP, "data")      # no starting point
    e["GIMP3_DIRECTORY"] = PROFILE
    e["HOME"] = TMP
    e["XDG_CACHE_HOME"] = os.path.join(TMP, "cache")
    e["XDG_CONFIG_HOME"] = os.path.join(TMP, "config")
    e["LANG"] = "C.UTF-8"
    e["NO_AT_BRIDGE"] = "1"                              # no accessibility bus here
    e["LOOM_PLUGIN_SCREENSHOTS"] = shots
    e["LOOM_PLUGIN_SCREENSHOTS_PRESS"] = press
    # the generator's window waits for a second checkpoint's preview
    e["LOOM_PLUGIN_SCREENSHOTS_PREVIEWS"] = GEN + "-window=2"
    e["LOOM_DIALOG_RUNS"] = json.dumps(runs)
    e["LOOM_PLUGIN_RESULTS"] = results
    return e


def start_xvfb():
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=[w],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    number = b""
    with os.fdopen(r, "rb") as f:
        while not number.endswith(b"\n"):
            c = f.read(1)
            if not c:
                raise RuntimeError("Xvfb did not start")
            number += c
    return xvfb, ":" + number.decode().strip()


def plug_in_pids():
    """The Loom plug-in processes of this test's profile (GIMP starts them
    from there): found by their executable's path."""
    exe = os.path.join(PROFILE, "plug-ins", "loom", "loom")
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[0].decode() == exe:
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def session(display, press, runs, kill_at=None):
    """One gimp-console with DISPLAY set; the runs' results, by order.
    KILL_AT: once that file exists, the plug-in is killed (SIGKILL), as
    GIMP does 10 ms after Cancel on its progress bar."""
    shots = os.path.join(TMP, "shots-" + press)
    results = os.path.join(TMP, "results-" + press + ".jsonl")
    output = os.path.join(ARTIFACTS, f"gimp-{press}.log")
    os.makedirs(shots)
    e = env(press, shots, runs, results)
    e["DISPLAY"] = display
    t = time.monotonic()
    killed = None
    with open(output, "w") as out:
        gimp = subprocess.Popen(["gimp-console-3.0", "-i", "--quit",
                                 "--batch-interpreter=python-fu-eval", "-b",
                                 "exec(open(%r).read())" % os.path.join(HERE, "plugin-dialogs.py")],
                                stdout=out, stderr=subprocess.STDOUT, env=e)
        while gimp.poll() is None and time.monotonic() - t < 240:
            if kill_at is not None and killed is None and os.path.exists(kill_at):
                killed = plug_in_pids()
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        if gimp.poll() is None:
            # a dialog nobody answered: the checks below fail and say so
            gimp.kill()
        gimp.wait()
    got = []
    if os.path.exists(results):
        with open(results) as f:
            got = [json.loads(l) for l in f]
    with open(output) as f:
        text = f.read()
    log = f"gimp exit {gimp.returncode} after {time.monotonic() - t:.0f} s:\n{text[-4000:]}"
    # what the session left in the profile, before the next one runs
    files = {d: sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in (MODELS, CHECKPOINTS)}
    return shots, got, log, files, killed


def train_texture():
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, :16], img[:, 16:] = (220, 40, 30), (30, 60, 200)
    img[::4] += 10
    Image.fromarray(img).save(os.path.join(TMP, "img.png"))
    subprocess.run([CLI, "train-gan", "--kind", "texture", "--image", "img.png", "--steps", "2",
                    "--size", "32", "--batch", "2", "--width", "8", "-q", "-o", TEX],
                   cwd=TMP, env=env("stop", "", [], ""), check=True, capture_output=True,
                   timeout=120)


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def check_picture(path):
    """A real picture of a window: a plausible size, not one flat colour."""
    check(os.path.exists(path), f"no screenshot {path}")
    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    h, w = px.shape[:2]
    check(150 <= w <= 1280 and 100 <= h <= 1024, f"{w}x{h} is no dialog's size")
    check(px.std() > 10, f"blank: pixel deviation {px.std():.1f}")
    rows = (px.std(axis=(1, 2)) > 1).mean()
    check(rows > 0.3, f"mostly empty: only {rows:.0%} of the rows have anything")
    for what, test, least in SHOWS.get(os.path.basename(path)[:-4], []):
        n = int(test(px).sum())
        check(n >= least, f"{what} is missing: {n} pixels of its colour, not {least}")
    return w, h


def brief(values):
    """Values for a message: a layer by its name, not its pixels."""
    return [v["name"] if isinstance(v, dict) else v for v in values]


def provenance(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return json.loads(header["__metadata__"]["loom.provenance"])


def tests(cancel, stop, killed, killed_gen):
    """(name, function) of every check, in TAP order."""
    cancel_shots, cancel_runs, cancel_log, cancel_files, _ = cancel
    stop_shots, stop_runs, stop_log, stop_files, _ = stop
    _, killed_runs, killed_log, killed_files, killed_pids = killed
    _, kgen_runs, kgen_log, kgen_files, kgen_pids = killed_gen
    cancel_log_full, stop_log_full = (open(os.path.join(ARTIFACTS, f"gimp-{p}.log")).read()
                                      for p in ("cancel", "stop"))
    model = os.path.join(MODELS, "window.safetensors")

    def result(runs, log, proc):
        found = [r for r in runs if r["proc"] == proc]
        check(found, f"{proc} never reported; {log}")
        check(found[0]["status"] != "exception", found[0].get("message", ""))
        return found[0]

    def t_cancel():
        r = result(cancel_runs, cancel_log, TRAIN)
        check(r["status"] == "cancel", f"status {r['status']}: {brief(r['values'])}")
        check(cancel_files[MODELS] == [], f"a model was saved: {cancel_files[MODELS]}")
        check(cancel_files[CHECKPOINTS] == [], f"checkpoints left: {cancel_files[CHECKPOINTS]}")
        check(r["after"] == r["before"], f"layers changed: {r['before']} -> {r['after']}")
        check(os.path.exists(os.path.join(cancel_shots, TRAIN + "-window.png")),
              "the training window never showed a preview (no screenshot)")

    def t_gen_cancel():
        r = result(cancel_runs, cancel_log, GEN)
        check(r["status"] == "cancel", f"status {r['status']}: {brief(r['values'])}")
        check("gen.safetensors" not in cancel_files[MODELS] + cancel_files[CHECKPOINTS],
              f"a model or checkpoint kept: {cancel_files}")
        check(r["after"] == r["before"], f"layers changed: {r['before']} -> {r['after']}")
        check(os.path.exists(os.path.join(cancel_shots, GEN + "-window.png")),
              "the generator's window never showed a preview (no screenshot)")

    def t_gen_stop():
        r = result(stop_runs, stop_log, GEN)
        gen_model = os.path.join(MODELS, "gen.safetensors")
        check(r["status"] == "success", f"status {r['status']}: {brief(r['values'])}")
        check(r["values"][0] == gen_model, f"model {r['values'][0]}, not {gen_model}")
        steps = provenance(gen_model)["steps"]
        check(50 <= steps < 1000, f"{steps} steps: Stop did not stop it at the preview")
        check("gen.safetensors" not in stop_files[CHECKPOINTS],
              f"checkpoints left: {stop_files[CHECKPOINTS]}")
        sample = r["values"][1]
        check(sample is not None and sample["name"] == "Generated (gen, seed 1)",
              f"layer {sample and sample['name']}")
        px = np.array(sample["pixels"], np.uint8).reshape(-1, 4)
        check(len(px) == 64 * 48 and px[:, :3].std() > 1, f"{len(px)} pixels, flat")
        check(len(r["after"]) == len(r["before"]) + 1, f"layers {r['after']}")

    def t_stop():
        r = result(stop_runs, stop_log, TRAIN)
        check(r["status"] == "success", f"status {r['status']}: {brief(r['values'])}")
        check(r["values"][0] == model, f"model {r['values'][0]}, not {model}")
        check(os.path.getsize(model) > 1000, "model file empty")
        steps = provenance(model)["steps"]
        # The first preview is phase one's (after step 1), or the step-50 checkpoint's when the window
        # shows that one first; Stop comes a few steps after the preview it answers.
        check(1 <= steps < 1000, f"{steps} steps: Stop did not stop it at the preview")
        check(stop_files[CHECKPOINTS] == [], f"checkpoints left: {stop_files[CHECKPOINTS]}")
        seg = r["values"][1]
        check(seg is not None and seg["name"] == "Segmentation (window)", f"layer {seg and seg['name']}")
        px = np.array(seg["pixels"], np.uint8).reshape(-1, 4)
        opaque = px[px[:, 3] > 0, :3]
        check(len(opaque) == 64 * 48, f"{len(opaque)} labelled pixels")
        colours = {tuple(c) for c in opaque.tolist()}
        check(colours <= LABELS and len(colours) >= 2, f"colours {sorted(colours)[:5]}")
        check(len(r["after"]) == len(r["before"]) + 1, f"layers {r['after']}")

    def t_gen_preview():
        """The window's preview: a 2 × 2 grid of samples from four seeds,
        drawn anew (other pixels) at each checkpoint."""
        grids = []
        for k in (1, 2):
            f = os.path.join(stop_shots, f"{GEN}-window-preview-{k}.png")
            check(os.path.exists(f), f"no preview {k} kept: {sorted(os.listdir(stop_shots))}")
            grids.append(np.asarray(Image.open(f).convert("RGB"), dtype=np.int64))
            shutil.copy2(f, ARTIFACTS)
        for g in grids:
            check(g.shape == (2 * 128 + 2, 2 * 128 + 2, 3), f"preview {g.shape}: not 2 × 2 samples of 128")
            check((g[128:130] == 255).all() and (g[:, 128:130] == 255).all(), "no white lines between the cells")
            cells = [g[y:y + 128, x:x + 128] for y in (0, 130) for x in (0, 130)]
            for i in range(4):
                check(len(np.unique(cells[i].reshape(-1, 3), axis=0)) > 50, f"cell {i + 1} is flat")
                for j in range(i):
                    check((cells[i] != cells[j]).any(), f"cells {j + 1} and {i + 1} alike: one seed")
        change = np.abs(grids[1] - grids[0]).mean()
        check(change > 0.5, f"the second checkpoint's preview is the first's ({change:.2f} levels apart)")
        return f"the second checkpoint's grid {change:.1f} levels from the first's on average"

    def t_killed():
        check(killed_pids, f"the plug-in was never killed (no checkpoint?); {killed_log}")
        r = result(killed_runs, killed_log, TRAIN)
        check(r["status"] != "success", f"status {r['status']}")
        check(r["after"] == r["before"], f"layers changed: {r['before']} -> {r['after']}")
        check(killed_files[MODELS] == stop_files[MODELS],
              f"the models folder changed: {stop_files[MODELS]} -> {killed_files[MODELS]}")
        check(killed_files[CHECKPOINTS] == ["killed.safetensors"],
              f"checkpoints {killed_files[CHECKPOINTS]}")
        steps = provenance(os.path.join(CHECKPOINTS, "killed.safetensors"))["steps"]
        # The first checkpoint is phase one's, written after step 1.
        check(steps == 1, f"the checkpoint has {steps} steps, not 1")

    def t_killed_gen():
        check(kgen_pids, f"the plug-in was never killed (no checkpoint?); {kgen_log}")
        r = result(kgen_runs, kgen_log, GEN)
        check(r["status"] != "success", f"status {r['status']}")
        check(r["after"] == r["before"], f"layers changed: {r['before']} -> {r['after']}")
        check(kgen_files[MODELS] == killed_files[MODELS],
              f"the models folder changed: {killed_files[MODELS]} -> {kgen_files[MODELS]}")
        check(kgen_files[CHECKPOINTS] == sorted(killed_files[CHECKPOINTS] + ["killed-gen.safetensors"]),
              f"checkpoints {kgen_files[CHECKPOINTS]}")
        steps = provenance(os.path.join(CHECKPOINTS, "killed-gen.safetensors"))["steps"]
        check(steps == 50, f"the checkpoint has {steps} steps, not 50")

    def t_settings():
        # GIMP's last-values mechanism: after a successful interactive run,
        # plug-in-settings/<config type>.last holds the values the next
        # interactive run starts from.
        folder = os.path.join(PROFILE, "plug-in-settings")
        want = {"plug-in-loom-segment": "(confidence-layer yes)",
                "plug-in-loom-augment": "(count 2)",
                "plug-in-loom-generate": "(count 1)",
                TRAIN: "(steps 1000)"}
        for proc, text in want.items():
            path = os.path.join(folder, f"GimpProcedureConfigRun-{proc}.last")
            check(os.path.exists(path), f"no {path}: {sorted(os.listdir(folder)) if os.path.isdir(folder) else 'no folder'}")
            with open(path) as f:
                content = f.read()
            check(text in content, f"{text} not in {path}:\n{content[:1500]}")

    def t_messages():
        # GIMP names mnemonic clashes between arguments and its buttons;
        # the transient-for assertion is libgimpui's in a GIMP without a
        # display of its own (console mode), not Loom's.
        bad = [l for log in (cancel_log_full, stop_log_full) for l in log.splitlines()
               if "duplicate mnemonic" in l or "Gtk-CRITICAL" in l or "Gtk-WARNING" in l
               or "loom-WARNING" in l
               or "AddressSanitizer" in l or "runtime error:" in l
               or ("(loom:" in l and "CRITICAL" in l and "gimp_window_transient_on_mapped" not in l)]
        check(not bad, "\n".join(bad[:10]))

    def t_dialog(proc):
        def t():
            r = result(stop_runs, stop_log, proc)
            check(r["status"] == "success", f"status {r['status']}: {brief(r['values'])}")
            if proc == "plug-in-loom-preferences":
                # no image: the choice is in loomrc, the device it opens returned
                check(os.path.exists(LOOMRC), f"no {LOOMRC}")
                with open(LOOMRC) as f:
                    rc = f.read()
                check("device=cpu" in rc.replace(" ", ""), f"loomrc: {rc!r}")
                check(isinstance(r["values"][0], str) and r["values"][0], f"values {brief(r['values'])}")
                return
            check(len(r["after"]) > len(r["before"]), f"no layer made: {r['after']}")
            if proc == "plug-in-loom-augment":
                # the group: two copies, each with its labels
                new = [l for l in r["after"] if l not in r["before"]]
                check(len(new) == 1 and new[0][0].startswith("Augmented") and new[0][4] == 4,
                      f"new layers {new}")
        return t

    def t_picture(name):
        def t():
            src = os.path.join(stop_shots, name + ".png")
            w, h = check_picture(src)
            dst = os.path.join(ARTIFACTS, name + ".png")
            shutil.copy2(src, dst)
            return f"{dst} ({w}x{h})"
        return t

    yield "train-segmentation window: Cancel keeps no model, no checkpoint, the image as it was", t_cancel
    yield "train-segmentation window: Stop at the first preview saves a usable model, segments, drops the checkpoint", t_stop
    yield "train-generator window: Cancel keeps no model, the image as it was", t_gen_cancel
    yield "train-generator window: Stop at the first preview saves the model, adds a sample, drops the checkpoint", t_gen_stop
    yield "train-generator window: its preview a 2 × 2 grid of fixed seeds' samples, redrawn at each checkpoint", t_gen_preview
    yield "train-segmentation killed by GIMP: the checkpoint stays, no model, the image as it was", t_killed
    yield "train-generator killed by GIMP: its checkpoint stays in loom/checkpoints, no model, the image as it was", t_killed_gen
    for d in DIALOGS:
        yield f"{d['proc']}: the dialog's OK runs it", t_dialog(d["proc"])
    yield "no mnemonic clashes, GTK warnings, criticals or sanitizer reports from the plug-in", t_messages
    yield "settings remembered: GIMP saved each OK'd dialog's values as the next run's", t_settings
    for name in PICTURES:
        yield f"screenshot {name}.png", t_picture(name)


def main():
    os.makedirs(os.path.join(PROFILE, "plug-ins", "loom"))
    shutil.copy2(PLUGIN, os.path.join(PROFILE, "plug-ins", "loom", "loom"))
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    os.makedirs(ARTIFACTS)
    train_texture()
    xvfb, display = start_xvfb()
    try:
        cancel = session(display, "cancel", [TRAIN_RUN, GEN_RUN])
        # the generator after the dialogs: Segment's dialog takes the newest model
        stop = session(display, "stop", [TRAIN_RUN] + DIALOGS + [GEN_RUN])
        killed = session(display, "killed", [KILLED_RUN],
                         kill_at=os.path.join(CHECKPOINTS, "killed.safetensors"))
        killed_gen = session(display, "killed-gen", [KILLED_GEN_RUN],
                             kill_at=os.path.join(CHECKPOINTS, "killed-gen.safetensors"))
    finally:
        xvfb.terminate()
        xvfb.wait()
    checks = list(tests(cancel, stop, killed, killed_gen))
    print(f"1..{len(checks)}", flush=True)
    for n, (name, fn) in enumerate(checks, 1):
        try:
            note = fn()
            print(f"ok {n} - {name}" + (f": {note}" if note else ""))
        except Exception as e:
            print(f"not ok {n} - {name}")
            for l in str(e).splitlines():
                print("# " + l)
    sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)


main()
