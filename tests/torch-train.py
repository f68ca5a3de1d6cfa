#!/usr/bin/env python3
"""tools/torch/train.py, the distributed trainer, on the CPU (gloo).  Prints TAP.

    tests/torch-train.py LOOM_CLI

A tiny U-Net trains a few steps on generated pairs: two processes
(--nproc 2, and as torchrun starts them: RANK, WORLD_SIZE, LOCAL_RANK)
with half the batch each must give one process's weights with the whole
batch (max |two − one| / max |one| ≤ 1e-5 per tensor, running statistics
included), and differ from where they started; `loom segment` must label
the file's pixels as the twin predicts; a model `loom train-seg` made must
resume in train.py; bad data folders must stop every rank with the
message, quickly; a texture GAN's file must carry the EMA of G beside the
live weights and load in `loom generate`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "tools", "torch")
TRAIN = os.path.join(TOOLS, "train.py")
sys.path.insert(0, TOOLS)
import loomweights  # noqa: E402
import train  # noqa: E402
from unet import UNet  # noqa: E402

TINY = ["--depth", "1", "--base", "4", "--crop", "16", "--batch", "4", "--steps", "3",
        "--seed", "5", "--log-every", "1"]
LIMIT = 120     # seconds a run may take before it counts as a hang
RESULTS = []


def check(name, errors, skip=None):
    RESULTS.append((name, errors, skip))
    n = len(RESULTS)
    if skip:
        print(f"ok {n} - {name} # SKIP {skip}", flush=True)
    elif errors:
        print(f"not ok {n} - {name}", flush=True)
        for e in errors:
            for line in str(e).splitlines():
                print(f"# {line}", flush=True)
    else:
        print(f"ok {n} - {name}", flush=True)


def run_many(runs):
    """[(status, stderr)] of train.py with each of RUNS' argument lists (or
    (arguments, environment) pairs), all at once; status None when it hung."""
    began = time.monotonic()
    procs = []
    for r in runs:
        args, env = r if isinstance(r, tuple) else (r, None)
        procs.append(subprocess.Popen([sys.executable, TRAIN] + args, stderr=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, text=True, env=env))
    out = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=max(1, LIMIT - (time.monotonic() - began)))
            status = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            status = None
        for line in err.splitlines():
            print(f"#   {line}")
        print(f"#   ({time.monotonic() - began:.1f} s, exit {status})", flush=True)
        out.append((status, err))
    return out


def run(args, env=None):
    return run_many([(args, env)])[0]


def make_pair(folder, name, size=(40, 48), seed=0, extra=False):
    """An image of three regions and its label image: strokes of two or
    three opaque colours on a transparent layer."""
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "labels"), exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (200, 60, 40)
    img[:, w // 2:] = (30, 90, 210)
    if extra:
        img[h // 2:] = (40, 200, 60)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    lab = np.zeros((h, w, 4), np.uint8)
    lab[4:8, 2:w // 2 - 4] = (255, 0, 0, 255)
    lab[4:8, w // 2 + 4:w - 2] = (0, 0, 255, 255)
    lab[9, 2:w // 2 - 4] = (255, 0, 0, 128)         # half transparent: unlabelled
    if extra:
        lab[h - 8:h - 4, 5:w - 8] = (0, 255, 0, 255)
    Image.fromarray(img).save(os.path.join(folder, "images", name + ".png"))
    Image.fromarray(lab, "RGBA").save(os.path.join(folder, "labels", name + ".png"))


def differences(a, b):
    """{name: max |a − b| / max |b|} over B's tensors (all of them in A)."""
    out = {}
    for k, want in b.items():
        if k not in a:
            out[k] = float("inf")
            continue
        got = a[k].double()
        out[k] = ((got - want.double()).abs().max() / want.double().abs().max()
                  .clamp_min(1e-30)).item()
    return out


def compare(label, path, reference, tolerance=1e-5):
    a, _ = loomweights.load(path)
    b, _ = loomweights.load(reference)
    worst = max(differences(a, b).items(), key=lambda kv: kv[1])
    errors = [] if worst[1] <= tolerance and set(a) == set(b) else \
        [f"{label}: {worst[0]} off by {worst[1]:.3g} (tolerance {tolerance:g})"]
    print(f"# {label}: worst tensor {worst[0]}, {worst[1]:.3g}")
    return errors


def start_model(path, table):
    torch.manual_seed(11)
    net = UNet(3, len(table), 1, 4)
    net.save(path, {"loom.classes": train.classes_json(table)})


def loom(cli, *args):
    """The real binary (LOOM_RUNNER_PRELOAD: its sanitizers, not Python's)."""
    env = dict(os.environ)
    if env.get("LOOM_RUNNER_PRELOAD"):
        env["LD_PRELOAD"] = env["LOOM_RUNNER_PRELOAD"]
        # Whole stacks, as tests/test-cli.py: the libraries GEGL's modules
        # load allocate in their constructors (tests/lsan.supp), which frame
        # pointers cannot reach.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
    return subprocess.run([cli] + list(args), capture_output=True, text=True, timeout=LIMIT,
                          env=env)


def main():
    cli = sys.argv[1]
    print("TAP version 14")
    print("1..12", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        make_pair(data, "a", seed=1)
        make_pair(data, "b", seed=2, extra=True)
        table = [(255, 0, 0), (0, 0, 255), (0, 255, 0)]
        init = os.path.join(tmp, "init.safetensors")
        start_model(init, table)
        one, two, env2 = (os.path.join(tmp, f"{n}.safetensors") for n in ("one", "two", "env"))
        common = ["segment", "--data", data, "--init", init] + TINY

        # 1: two processes train (and, meanwhile, one process with the whole batch)
        (status, err), (one_status, _) = run_many([common + ["-o", two, "--nproc", "2",
                                                             "--start-method", "spawn"],
                                                   common + ["-o", one]])
        errors = [] if status == 0 else [f"exit {status}"]
        if status == 0:
            net = UNet.load(two)
            meta = net.metadata
            classes = json.loads(meta["loom.classes"])
            prov = json.loads(meta["loom.provenance"])
            if [tuple(c["color"]) for c in classes] != table:
                errors.append(f"class table {classes}")
            if prov.get("processes") != 2 or prov.get("steps") != 3 or prov.get("backend") != "gloo":
                errors.append(f"provenance {prov}")
            moved = max(differences(loomweights.load(two)[0], loomweights.load(init)[0]).values())
            if not moved > 1e-3:
                errors.append(f"the weights hardly moved from the start ({moved:.3g})")
            if "2 processes (gloo, cpu)" not in err:
                errors.append("no '2 processes (gloo, cpu)' in the transcript")
        check("two processes (--nproc 2) train a U-Net", errors)

        # 2: one process, the whole batch: the same weights
        check("two processes with half the batch each = one with the whole batch (1e-5)",
              [f"exit {one_status}"] if one_status != 0 or status != 0
              else compare("--nproc 2 vs 1", two, one))

        # 3: as torchrun starts its workers (its environment, env:// rendezvous)
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(train.free_port()),
                   WORLD_SIZE="2", LOCAL_WORLD_SIZE="2", USE_LIBUV="0", GLOO_SOCKET_IFNAME="lo")
        procs = [subprocess.Popen([sys.executable, TRAIN] + common + ["-o", env2, "-q"],
                                  env=dict(env, RANK=str(r), LOCAL_RANK=str(r)),
                                  stderr=subprocess.PIPE, text=True) for r in range(2)]
        errors = []
        for r, p in enumerate(procs):
            try:
                _, err = p.communicate(timeout=LIMIT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                errors.append(f"rank {r} hung")
                continue
            if p.returncode != 0:
                errors.append(f"rank {r}: exit {p.returncode}: {err.strip()}")
        check("torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK): the same weights",
              errors or compare("torchrun environment vs 1", env2, one))

        # 4: torchrun itself, where it works (Debian's PyTorch has no libuv)
        tr = os.path.join(tmp, "torchrun.safetensors")
        try:
            r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                "--nproc-per-node", "2", TRAIN] + common + ["-o", tr, "-q"],
                               capture_output=True, text=True, timeout=LIMIT,
                               env=dict(os.environ, USE_LIBUV="0"))
            if r.returncode != 0 and not os.path.exists(tr) and (
                    "libuv" in r.stderr or "RendezvousConnectionError" in r.stderr):
                check("torchrun --standalone --nproc-per-node 2", [],
                      skip="this PyTorch's torchrun cannot rendezvous (built without libuv)")
            else:
                check("torchrun --standalone --nproc-per-node 2",
                      [f"exit {r.returncode}: {r.stderr[-2000:]}"] if r.returncode != 0
                      else compare("torchrun vs 1", tr, one))
        except subprocess.TimeoutExpired:
            check("torchrun --standalone --nproc-per-node 2", ["torchrun hung"])

        # 5: loom segment labels the pixels as the twin predicts
        errors = []
        image = os.path.join(data, "images", "b.png")
        seg = os.path.join(tmp, "seg.png")
        conf = os.path.join(tmp, "confidence.png")
        r = loom(cli, "segment", "-m", two, "-i", image, "-o", seg, "--format", "index",
                 "--confidence", conf, "--device", "cpu", "-q")
        if r.returncode != 0:
            errors.append(f"loom segment: exit {r.returncode}: {r.stderr.strip()}")
        elif os.path.exists(two):
            got = np.asarray(Image.open(seg))
            want, logits = train.predict(UNet.load(two), train.rgb_planes(train.read_rgba(image)))
            top = logits.topk(2, dim=0).values
            clear = ((top[0] - top[1]) > 1e-4 * logits.abs().max()).numpy()
            wrong = (got != want.numpy()) & clear
            if wrong.any():
                errors.append(f"{int(wrong.sum())} of {got.size} pixels differ from the twin's "
                              f"classes")
            if clear.mean() < 0.99:
                errors.append(f"only {clear.mean():.1%} of the pixels have a clear class")
            # the confidence (the top class's probability, 8 bits) to a level
            sure = np.rint(torch.softmax(logits, 0).max(0).values.numpy() * 255)
            off = np.abs(np.asarray(Image.open(conf)).astype(np.int64) - sure).max()
            if off > 1:
                errors.append(f"the confidence is {int(off)} levels off the twin's")
            if len(np.unique(want.numpy())) < 2:
                errors.append("the twin predicts a single class: nothing to compare")
        check("loom segment labels the trained file's pixels as the twin does "
              "(classes, confidence)", errors)

        # 6: a model loom trained resumes in train.py
        errors = []
        only_a = os.path.join(tmp, "only-a")
        make_pair(only_a, "a", seed=1)
        loomed, resumed = os.path.join(tmp, "loom.safetensors"), os.path.join(tmp, "resumed.safetensors")
        r = loom(cli, "train-seg", "--image", os.path.join(only_a, "images", "a.png"),
                 "--labels", os.path.join(only_a, "labels", "a.png"), "-o", loomed, "--steps", "2",
                 "--depth", "1", "--base", "4", "--crop", "16", "--batch", "2", "--no-pretrained",
                 "--device", "cpu", "-q")
        if r.returncode != 0:
            errors.append(f"loom train-seg: exit {r.returncode}: {r.stderr.strip()}")
        else:
            status, _ = run(["segment", "--data", only_a, "--init", loomed, "-o", resumed,
                             "--steps", "2", "--batch", "2", "--crop", "16"])
            if status != 0:
                errors.append(f"train.py --init: exit {status}")
            else:
                a, ma = loomweights.load(resumed)
                b, mb = loomweights.load(loomed)
                if ma["loom.classes"] != mb["loom.classes"]:
                    errors.append(f"class table {ma['loom.classes']} ≠ {mb['loom.classes']}")
                if json.loads(ma["loom.architecture"]) != json.loads(mb["loom.architecture"]):
                    errors.append("architecture changed")
                if not max(differences(a, b).values()) > 1e-4:
                    errors.append("the weights did not move")
                r = loom(cli, "segment", "-m", resumed, "-i", os.path.join(only_a, "images", "a.png"),
                         "-o", os.path.join(tmp, "resumed.png"), "--device", "cpu", "-q")
                if r.returncode != 0:
                    errors.append(f"loom segment of the resumed file: {r.stderr.strip()}")
        check("a model loom train-seg made resumes in train.py and comes back", errors)

        # 7–9: bad data folders stop every rank with the message, no hang
        empty = os.path.join(tmp, "empty")
        os.makedirs(os.path.join(empty, "images"))
        os.makedirs(os.path.join(empty, "labels"))
        sized = os.path.join(tmp, "sized")
        make_pair(sized, "x")
        Image.new("RGBA", (30, 40)).save(os.path.join(sized, "labels", "x.png"))
        many = os.path.join(tmp, "many")
        make_pair(many, "x")
        lab = np.zeros((40, 48, 4), np.uint8)
        lab[..., 3] = 255
        lab[..., 0] = (np.arange(40 * 48).reshape(40, 48) % 40) * 6
        Image.fromarray(lab, "RGBA").save(os.path.join(many, "labels", "x.png"))
        cases = ((empty, "no image/label pairs", "no pairs"),
                 (sized, "the labels are 30×40, the image 48×40", "a label of another size"),
                 (many, "more than 32 colours", "more than 32 colours"))
        began = time.monotonic()
        results = run_many([["segment", "--data", folder, "-o",
                             os.path.join(tmp, f"bad-{i}.safetensors"), "--nproc", "2",
                             "--grace", "60"] + TINY[:-6]
                            for i, (folder, _, _) in enumerate(cases)])
        for (folder, message, what), (status, err) in zip(cases, results):
            errors = []
            if status is None:
                errors.append("hung")
            elif status == 0:
                errors.append("exit 0")
            for rank in range(2):
                if not any(f"[rank {rank}/2]" in line and message in line
                           for line in err.splitlines()):
                    errors.append(f"rank {rank} did not say '{message}'")
            if "the others were stopped" in err or time.monotonic() - began > 50:
                errors.append("a rank had to be stopped (it waited)")
            check(f"a bad data folder ({what}) stops both ranks with the message", errors)

        # 10: texture GAN, two processes: G's average and the live G, loom generate
        errors = []
        tex = os.path.join(tmp, "tex")
        os.makedirs(tex)
        y, x = np.mgrid[0:40, 0:40]
        v = (127 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)).astype(np.uint8)
        Image.fromarray(np.stack([v, 255 - v, v // 2], -1)).save(os.path.join(tex, "t.png"))
        gan_file = os.path.join(tmp, "texture.safetensors")
        status, _ = run(["texture", "--data", tex, "-o", gan_file, "--nproc", "2", "--steps", "3",
                         "--batch", "4", "--size", "32", "--latent", "4", "--g-width", "4",
                         "--d-width", "4"])
        if status != 0:
            errors.append(f"exit {status}")
        else:
            t, meta = loomweights.load(gan_file)
            arch = json.loads(meta["loom.architecture"])
            live = [k for k in t if k.startswith("training.generator.")]
            if arch.get("name") != "texture-gan" or not arch.get("tileable"):
                errors.append(f"architecture {arch}")
            if not live or any(k[len("training."):] not in t for k in live):
                errors.append("no live G (training.*) beside its average")
            elif not any((t[k] - t[k[len("training."):]]).abs().max() > 0 for k in live):
                errors.append("the average is the live G")
            if any(k.startswith("training.discriminator") for k in t):
                errors.append("D has a training. copy")
            r = loom(cli, "generate", "--model", gan_file, "-o", os.path.join(tmp, "gen.png"),
                     "--size", "32x32", "--device", "cpu", "-q")
            if r.returncode != 0:
                errors.append(f"loom generate: {r.stderr.strip()}")
        check("texture GAN over two processes: EMA of G as Loom saves it; loom generate", errors)

        # 12: a texture GAN loom trained resumes in train.py; a DCGAN trains; both generate
        errors = []
        loomed, resumed, dc = (os.path.join(tmp, f"{n}.safetensors")
                               for n in ("loom-texture", "resumed-texture", "dcgan"))
        r = loom(cli, "train-gan", "--kind", "texture", "--image", os.path.join(tex, "t.png"),
                 "-o", loomed, "--steps", "2", "--size", "32", "--batch", "2", "--width", "4",
                 "--latent", "4", "--device", "cpu", "-q")
        if r.returncode != 0:
            errors.append(f"loom train-gan: exit {r.returncode}: {r.stderr.strip()}")
        else:
            (status, _), (dc_status, _) = run_many([
                ["texture", "--data", tex, "--init", loomed, "-o", resumed, "--steps", "2",
                 "--batch", "2", "--size", "32", "-q"],
                ["dcgan", "--data", tex, "-o", dc, "--nproc", "2", "--steps", "2", "--batch", "4",
                 "--size", "32", "--latent", "8", "--g-width", "4", "--d-width", "4", "-q"]])
            if status != 0 or dc_status != 0:
                errors.append(f"train.py texture --init: exit {status}; dcgan: exit {dc_status}")
            else:
                a, ma = loomweights.load(resumed)
                b, mb = loomweights.load(loomed)
                if json.loads(ma["loom.architecture"]) != json.loads(mb["loom.architecture"]):
                    errors.append("the architecture changed")
                live = [k for k in b if k.startswith("training.")]
                if not live or set(a) != set(b):
                    errors.append(f"tensors {sorted(set(a) ^ set(b))[:4]} differ in name")
                elif not max(differences({k: a[k] for k in live}, {k: b[k] for k in live})
                             .values()) > 0:
                    errors.append("the live G did not move")
                for model in (resumed, dc):
                    r = loom(cli, "generate", "--model", model, "-o",
                             os.path.join(tmp, "again.png"), "--device", "cpu", "-q")
                    if r.returncode != 0:
                        errors.append(f"loom generate {os.path.basename(model)}: "
                                      f"{r.stderr.strip()}")
        check("a texture GAN loom trained resumes in train.py; a DCGAN over two processes; "
              "both generate", errors)

        # 11: the batch must split between the processes
        status, err = run(["segment", "--data", data, "-o", os.path.join(tmp, "odd.safetensors"),
                           "--nproc", "2", "--batch", "3", "--steps", "1", "--depth", "1"])
        check("a global batch that does not split stops with a message",
              [] if status not in (0, None) and "does not split evenly" in err
              else [f"exit {status}"])
    return 1 if any(e for _, e, s in RESULTS if not s) else 0


if __name__ == "__main__":
    sys.exit(main())
