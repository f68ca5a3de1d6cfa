#!/usr/bin/env python3
"""Training Loom's models with PyTorch's distributed tooling, for one machine
or many, and back into GIMP: the files it writes are Loom's (the same
architecture, class table and parameter names), so `loom segment`,
`loom generate` and the plug-in load them.

    train.py segment --data DIR -o MODEL.safetensors [--nproc N] [--init MODEL] ...
    train.py texture --data DIR -o MODEL.safetensors ...
    train.py dcgan   --data DIR -o MODEL.safetensors ...

segment: DIR holds images/NAME.* beside labels/NAME.* (the layout
`loom augment` writes).  Loom's label conventions: each opaque colour of a
label image is a class (numbered in order of first appearance, the pairs in
name order, or the --init model's table), pixels below full alpha are
unlabelled, and so are those where the image itself is below half alpha.
texture, dcgan: DIR holds images (or an images/ folder of them).

Processes: `--nproc N` starts N processes on this machine (torch.multiprocessing,
env:// rendezvous; works with Debian's PyTorch, whose torchrun lacks libuv).
Under torchrun (RANK, WORLD_SIZE and LOCAL_RANK set) it joins torchrun's
group instead.  gloo on CPUs, NCCL on GPUs (one a process, LOCAL_RANK's),
bfloat16 autocast on GPUs unless --no-amp.  The batch (--batch) is the
global one, split evenly between the processes; batch norms use the
statistics of the whole batch and the gradients are averaged, so N
processes train the weights one process would with the whole batch.
Rank 0 writes the checkpoints, atomically.
"""
import argparse
import datetime
import json
import math
import os
import socket
import sys
import time
from functools import lru_cache

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loomweights  # noqa: E402
from gan import Gan  # noqa: E402
from unet import UNet  # noqa: E402

PROG = "train.py"
MAX_CLASSES = 32                # as `loom train-seg` and the plug-in
UNLABELLED = -1
ELASTIC_CELLS = 4               # LOOM_ELASTIC_CELLS
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


class DataError(Exception):
    """Bad data or options: a message for the user, no traceback."""


# ---- processes ------------------------------------------------------------------------


class World:
    """This process's place: rank, size, device; `size` 1 without a group."""

    def __init__(self, rank, size, local_rank, device, backend, quiet=False):
        self.rank, self.size, self.local_rank, self.quiet = rank, size, local_rank, quiet
        self.device, self.backend = device, backend

    def say(self, text):
        if self.rank == 0 and not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def all_sum(self, tensor):
        if self.size > 1:
            dist.all_reduce(tensor)
        return tensor


def under_torchrun():
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_device(wanted, local_rank):
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cuda":
        if not torch.cuda.is_available():
            raise DataError("--device cuda: PyTorch sees no GPU here")
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        return device
    if wanted != "cpu":
        raise DataError(f"--device must be auto, cpu or cuda, not {wanted!r}")
    return torch.device("cpu")


def run_rank(args, rank, size, local_rank):
    """One process's whole run; its exit status."""
    try:
        device = pick_device(args.device, local_rank)
        backend = "nccl" if device.type == "cuda" else "gloo"
        if size > 1:
            dist.init_process_group(backend, init_method="env://", rank=rank, world_size=size,
                                    timeout=datetime.timedelta(seconds=args.timeout))
        world = World(rank, size, local_rank, device, backend if size > 1 else "none",
                      args.quiet)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, args.local_processes)))
        COMMANDS[args.command][1](args, world)
        if world.size > 1:      # together: a rank leaving first stalls the others' teardown
            dist.barrier()
            dist.destroy_process_group()
        return 0
    except (DataError, ValueError, OSError) as e:
        where = f" [rank {rank}/{size}]" if size > 1 else ""
        sys.stderr.write(f"{PROG} {args.command}{where}: {e}\n")     # one write: ranks' lines stay whole
        sys.stderr.flush()
        return 1
    except KeyboardInterrupt:
        return 130


def _spawned(args, rank, size):
    sys.exit(run_rank(args, rank, size, rank))


def launch(args):
    """Under torchrun: this process is one rank.  Otherwise --nproc processes
    here (spawned, env:// rendezvous on a free local port, no libuv); one
    failing stops the others after a grace period, so nothing hangs."""
    if under_torchrun():
        args.local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return run_rank(args, int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                        int(os.environ["LOCAL_RANK"]))
    args.local_processes = args.nproc
    if args.nproc == 1:
        return run_rank(args, 0, 1, 0)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), USE_LIBUV="0")
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")     # one machine: the loopback
    # fork starts at once (torch already imported) and is safe before any
    # work on the CPU; GPUs need spawn (CUDA does not survive a fork).
    method = args.start_method or ("spawn" if args.cuda else "fork")
    ctx = torch.multiprocessing.get_context(method)
    procs = [ctx.Process(target=_spawned, args=(args, r, args.nproc)) for r in range(args.nproc)]
    for p in procs:
        p.start()
    failed_at = None
    while any(p.is_alive() for p in procs):
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:       # the children got it too: let them go
            for p in procs:
                p.join(args.grace)
                if p.is_alive():
                    p.terminate()
            return 130
        if failed_at is None and any(p.exitcode not in (None, 0) for p in procs):
            failed_at = time.monotonic()
        if failed_at is not None and time.monotonic() - failed_at > args.grace:
            for p in procs:
                if p.is_alive():
                    p.terminate()
    for p in procs:
        p.join()
    codes = [p.exitcode for p in procs]
    bad = [c for c in codes if c != 0]
    if bad and failed_at is not None and any(c is not None and c < 0 for c in codes):
        print(f"{PROG} {args.command}: a process failed; the others were stopped",
              file=sys.stderr)
    return 0 if not bad else (bad[0] if bad[0] > 0 else 1)


def agree(world, error):
    """Every rank learns whether any rank failed (its data, its options) and
    stops with the message: nobody waits in a collective for a rank that
    has gone."""
    text = None if error is None else str(error)
    if world.size > 1:
        texts = [None] * world.size
        dist.all_gather_object(texts, text)
        failed = [(r, t) for r, t in enumerate(texts) if t is not None]
        if failed and text is None:
            r, t = failed[0]
            raise DataError(f"rank {r} stopped: {t}")
    if text is not None:
        raise DataError(text)


# ---- batch norm over the whole batch ------------------------------------------------


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch
    (all ranks': sums all-reduced, differentiably), in float32 whatever the
    autocast; the same names and buffers as nn.BatchNorm2d, so the files
    are unchanged.  With one process it is plain batch norm."""

    world_size = 1

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        dtype, x = x.dtype, x.float()
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device)
        total = x.sum((0, 2, 3))
        if self.world_size > 1:
            import torch.distributed.nn.functional as dnn
            total = dnn.all_reduce(total)
            count = count * self.world_size     # every rank has the same local batch
        mean = total / count
        centred = x - mean[None, :, None, None]
        square = (centred * centred).sum((0, 2, 3))
        if self.world_size > 1:
            square = dnn.all_reduce(square)
        var = square / count
        with torch.no_grad():
            m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked + 1)
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * count / (count - 1).clamp_min(1))
            self.num_batches_tracked += 1
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(dtype)


def global_batch_norms(module, world):
    """MODULE with each BatchNorm2d a GlobalBatchNorm (state kept)."""
    for name, child in list(module.named_children()):
        if type(child) is nn.BatchNorm2d:
            bn = GlobalBatchNorm(child.num_features, child.eps, child.momentum)
            bn.load_state_dict(child.state_dict())
            bn.world_size = world.size
            setattr(module, name, bn)
        else:
            global_batch_norms(child, world)
    return module


def batch_norms(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


# ---- images ---------------------------------------------------------------------------


def read_rgba(path):
    """H×W×4 uint8 of PATH (sRGB as stored), or DataError."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: not an image PIL can read ({e})") from None


def image_files(folder):
    """{stem: path} of the images in FOLDER; two files of one stem are an error."""
    found = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        path = os.path.join(folder, name)
        if name.startswith(".") or ext.lower() not in IMAGE_SUFFIXES or not os.path.isfile(path):
            continue
        if stem in found:
            raise DataError(f"{folder}: two images named {stem!r} ({os.path.basename(found[stem])} "
                            f"and {name})")
        found[stem] = path
    return found


def list_pairs(data):
    images_dir, labels_dir = os.path.join(data, "images"), os.path.join(data, "labels")
    if not os.path.isdir(data):
        raise DataError(f"{data}: no such folder")
    if not os.path.isdir(images_dir) or not os.path.isdir(labels_dir):
        raise DataError(f"{data}: no images/ and labels/ folders in it (images/NAME.png beside "
                        f"labels/NAME.png, as `loom augment` writes them)")
    images, labels = image_files(images_dir), image_files(labels_dir)
    for stem, path in images.items():
        if stem not in labels:
            raise DataError(f"{path}: no label image for it ({labels_dir}/{stem}.png)")
    if not images:
        raise DataError(f"{data}: no image/label pairs (images/NAME.png beside labels/NAME.png)")
    return [(stem, images[stem], labels[stem]) for stem in sorted(images)]


def rgb_planes(rgba):
    return np.ascontiguousarray(rgba[..., :3].transpose(2, 0, 1), dtype=np.float32) / 255.0


def keys_of(rgba):
    return (rgba[..., 0].astype(np.int32) << 16) | (rgba[..., 1].astype(np.int32) << 8) \
        | rgba[..., 2].astype(np.int32)


def label_map(rgba, table, known, path):
    """The class of each pixel (−1: unlabelled) of label image RGBA, Loom's way:
    opaque colours are classes, new ones appended to TABLE (a list of RGB
    tuples) in raster order of first appearance.  KNOWN > 0: a model's
    table of KNOWN classes, a colour outside it an error."""
    opaque = rgba[..., 3] == 255
    keys = keys_of(rgba)
    flat = keys[opaque]
    present, first = np.unique(flat, return_index=True)
    have = {(r << 16) | (g << 8) | b for r, g, b in table}
    where = np.flatnonzero(opaque.reshape(-1))
    for i in np.argsort(first, kind="stable"):
        key = int(present[i])
        if key in have:
            continue
        at = int(where[first[i]])
        y, x = divmod(at, rgba.shape[1])
        if known > 0:
            raise DataError(f"{path}: the colour #{key:06x} is not one of the model's {known} "
                            f"classes")
        if len(table) >= MAX_CLASSES:
            raise DataError(f"{path}: the label image has more than {MAX_CLASSES} colours "
                            f"(the {MAX_CLASSES + 1}-th, #{key:06x}, is at {x},{y}): paint labels "
                            f"with a hard-edged brush such as the pencil, one colour per class")
        table.append((key >> 16, (key >> 8) & 255, key & 255))
        have.add(key)
    order = np.array([(r << 16) | (g << 8) | b for r, g, b in table], dtype=np.int64)
    sort = np.argsort(order)
    labels = np.full(keys.shape, UNLABELLED, dtype=np.int64)
    if len(order):
        idx = np.searchsorted(order[sort], keys[opaque])
        labels[opaque] = sort[np.clip(idx, 0, len(order) - 1)]
    return labels


def classes_json(table, names=None):
    return json.dumps([{"name": (names[i] if names and i < len(names) and names[i] else
                                 f"class {i + 1}"), "color": list(map(int, c))}
                       for i, c in enumerate(table)], separators=(",", ":"))


def table_of(metadata, path):
    try:
        entries = json.loads(metadata["loom.classes"])
        return [tuple(e["color"]) for e in entries], [e["name"] for e in entries]
    except (KeyError, ValueError, TypeError) as e:
        raise DataError(f"{path}: no class table (loom.classes) in it ({e})") from None


# ---- Loom's augmentation --------------------------------------------------------------


def crop_map(crop, x0, y0, turn, flip, angle, scale, shear):
    """Loom's crop map (compute/crop-map.c): output (u, v) reads source
    (a·u + b·v + tx, c·u + d·v + ty)."""
    n1, fa = crop - 1.0, (-1.0 if flip else 1.0)
    fb = n1 if flip else 0.0
    a, b, c, d, tx, ty = [
        (fa, 0, 0, 1, fb + x0, y0),
        (0, 1, -fa, 0, x0, n1 - fb + y0),
        (-fa, 0, 0, -1, n1 - fb + x0, n1 + y0),
        (0, -1, fa, 0, n1 + x0, fb + y0),
    ][turn % 4]
    if angle != 0.0 or scale != 1.0 or shear != 0.0:
        q00 = scale * math.cos(angle)
        q01 = scale * (shear * math.cos(angle) - math.sin(angle))
        q10 = scale * math.sin(angle)
        q11 = scale * (shear * math.sin(angle) + math.cos(angle))
        cx, cy = x0 + n1 / 2.0, y0 + n1 / 2.0
        ox, oy = tx - cx, ty - cy
        a, b, c, d = q00 * a + q01 * c, q00 * b + q01 * d, q10 * a + q11 * c, q10 * b + q11 * d
        tx, ty = cx + q00 * ox + q01 * oy, cy + q10 * ox + q11 * oy
    return a, b, c, d, tx, ty


def elastic_field(rng, amplitude, n):
    """Shifts (dx, dy) at each output pixel: uniform random knots on a
    ELASTIC_CELLS² grid, eased by smoothstep between them (as Loom's)."""
    knots = amplitude * (2.0 * rng.random((ELASTIC_CELLS + 1, ELASTIC_CELLS + 1, 2)) - 1.0)
    g = np.arange(n) * (ELASTIC_CELLS / max(n - 1, 1))
    k = np.minimum(g.astype(np.int64), ELASTIC_CELLS - 1)
    t = g - k
    t = t * t * (3.0 - 2.0 * t)
    ky, kx, ty, tx = k[:, None], k[None, :], t[:, None, None], t[None, :, None]
    top = knots[ky, kx] + tx * (knots[ky, kx + 1] - knots[ky, kx])
    bottom = knots[ky + 1, kx] + tx * (knots[ky + 1, kx + 1] - knots[ky + 1, kx])
    field = top + ty * (bottom - top)
    return field[..., 0], field[..., 1]


def cut(planes, labels, m, n, shift=None):
    """The crop of side N that map M reads: bilinear with clamped edges for
    the planes, nearest for the labels (outside: unlabelled)."""
    a, b, c, d, tx, ty = m
    v, u = np.mgrid[0:n, 0:n].astype(np.float64)
    sx, sy = a * u + b * v + tx, c * u + d * v + ty
    if shift is not None:
        sx, sy = sx + shift[0], sy + shift[1]
    h, w = planes.shape[1:]
    fx, fy = np.floor(sx), np.floor(sy)
    ax, ay = (sx - fx).astype(np.float32), (sy - fy).astype(np.float32)
    x0, x1 = np.clip(fx, 0, w - 1).astype(np.int64), np.clip(fx + 1, 0, w - 1).astype(np.int64)
    y0, y1 = np.clip(fy, 0, h - 1).astype(np.int64), np.clip(fy + 1, 0, h - 1).astype(np.int64)
    top = planes[:, y0, x0] + ax * (planes[:, y0, x1] - planes[:, y0, x0])
    bottom = planes[:, y1, x0] + ax * (planes[:, y1, x1] - planes[:, y1, x0])
    x = top + ay * (bottom - top)
    if labels is None:
        return x, None
    rx, ry = np.floor(sx + 0.5).astype(np.int64), np.floor(sy + 0.5).astype(np.int64)
    inside = (rx >= 0) & (ry >= 0) & (rx < w) & (ry < h)
    out = np.full((n, n), UNLABELLED, dtype=np.int64)
    out[inside] = labels[ry[inside], rx[inside]]
    return x, out


def blur(x, sigma):
    """Gaussian of deviation SIGMA, radius min(⌈2σ⌉, 3), edges repeated."""
    r = min(math.ceil(2 * sigma), 3)
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma))
    k2 = np.outer(k, k)
    k2 /= k2.sum()
    t = torch.from_numpy(x)[None]
    t = F.pad(t, (r, r, r, r), mode="replicate")
    weight = torch.from_numpy(k2.astype(np.float32))[None, None].repeat(x.shape[0], 1, 1, 1)
    return F.conv2d(t, weight, groups=x.shape[0])[0].numpy()


def photometric(rng, x, grey, a):
    """Loom's colour jitter (compute/ops/photometric.c, its order and its
    ranges): blur, saturation and hue (YIQ), contrast about the image's
    mean grey, brightness, gamma, Gaussian noise, grey cutout."""
    k = a.color
    if rng.random() < a.blur:
        x = blur(x, rng.uniform(0.3, 1.5))
    sat = 1.0 + k * rng.uniform(-0.3, 0.3)
    hue = k * rng.uniform(-0.1, 0.1)
    contrast = 1.0 + k * rng.uniform(-0.2, 0.2)
    bright = k * rng.uniform(-0.1, 0.1)
    gamma = math.exp(k * rng.uniform(-0.2, 0.2))
    noise = rng.uniform(0.0, a.noise) if a.noise > 0 else 0.0
    r, g, b = x
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    ci = 0.596 * r - 0.274 * g - 0.322 * b
    cq = 0.211 * r - 0.523 * g + 0.312 * b
    ch, sh = math.cos(hue), math.sin(hue)
    i2, q2 = sat * (ch * ci - sh * cq), sat * (sh * ci + ch * cq)
    x = np.stack([luma + 0.956 * i2 + 0.621 * q2, luma - 0.272 * i2 - 0.647 * q2,
                  luma - 1.106 * i2 + 1.703 * q2])
    x = grey + contrast * (x - grey) + bright
    if gamma != 1.0:
        x = np.power(np.maximum(x, 0.0), gamma)
    if noise:
        x = x + noise * rng.standard_normal(x.shape)
    if a.cutout > 0 and rng.random() < a.cutout:
        n = x.shape[-1]
        side = n // 2
        cx, cy = rng.integers(0, n - side + 1), rng.integers(0, n - side + 1)
        x[:, cy:cy + side, cx:cx + side] = 0.5
    return x.astype(np.float32)


class Augment:
    """Loom's settings (loom_segment_config_init) times a strength, 0 to 2
    (loom_segment_config_set_augment_strength)."""

    def __init__(self, strength):
        self.on = strength > 0
        self.rotate = 20.0 * strength
        self.scale = 1.0 + 0.25 * strength
        self.shear = 0.1 * strength
        self.elastic = 2.0 * strength
        self.color = min(1.0, 0.5 * strength)
        self.noise = 0.02 * strength
        self.blur = min(1.0, 0.2 * strength)
        self.cutout = 0.0


# ---- segmentation ---------------------------------------------------------------------


class Pairs(torch.utils.data.Dataset):
    """Crops of a folder's pairs: item i is a crop of pair i mod n, mostly
    around one of its labelled pixels, augmented as Loom does.  Its random
    draws depend on the seed, the epoch and i alone, not on the rank: N
    processes see the crops one would."""

    def __init__(self, pairs, table, known, crop, length, seed, augment):
        self.pairs, self.table, self.known = pairs, table, known
        self.crop, self.length, self.seed, self.augment = crop, length, seed, augment
        self.epoch = 0

    def __len__(self):
        return self.length

    @lru_cache(maxsize=64)
    def load(self, k):
        _, image_path, label_path = self.pairs[k]
        rgba = read_rgba(image_path)
        labels = label_map(read_rgba(label_path), list(self.table), len(self.table), label_path)
        labels[rgba[..., 3] < 128] = UNLABELLED        # outside the image: unlabelled
        planes = rgb_planes(rgba)
        valid = rgba[..., 3] >= 128
        luma = 0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]
        grey = float(luma[valid].mean()) if valid.any() else 0.5
        return planes, labels, np.argwhere(labels >= 0), grey

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, i])
        planes, labels, labelled, grey = self.load(i % len(self.pairs))
        h, w = labels.shape
        n, a = self.crop, self.augment
        if rng.integers(0, 5) > 0 and len(labelled):
            ly, lx = labelled[rng.integers(0, len(labelled))]
            x0, y0 = lx - rng.integers(0, n), ly - rng.integers(0, n)
        else:
            x0, y0 = rng.integers(0, w - n + 1), rng.integers(0, h - n + 1)
        x0, y0 = int(np.clip(x0, 0, w - n)), int(np.clip(y0, 0, h - n))
        if a.on:
            turn, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
            angle = rng.uniform(-a.rotate, a.rotate) * math.pi / 180 if a.rotate > 0 else 0.0
            scale = math.exp(rng.uniform(-math.log(a.scale), math.log(a.scale))) \
                if a.scale > 1 else 1.0
            shear = rng.uniform(-a.shear, a.shear) if a.shear > 0 else 0.0
            m = crop_map(n, x0, y0, turn, flip, angle, scale, shear)
            shift = elastic_field(rng, a.elastic, n) if a.elastic > 0 else None
            x, y = cut(planes, labels, m, n, shift)
            x = photometric(rng, x, grey, a)
        else:
            x = planes[:, y0:y0 + n, x0:x0 + n].copy()
            y = labels[y0:y0 + n, x0:x0 + n].copy()
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def scan_pairs(pairs, table, known):
    """Checks every pair and counts: (smallest side, labelled pixels per class)."""
    counts = np.zeros(MAX_CLASSES if known == 0 else known, dtype=np.int64)
    smallest = None
    for stem, image_path, label_path in pairs:
        rgba, lrgba = read_rgba(image_path), read_rgba(label_path)
        (h, w), (lh, lw) = rgba.shape[:2], lrgba.shape[:2]
        if (h, w) != (lh, lw):
            raise DataError(f"{label_path}: the labels are {lw}×{lh}, the image {w}×{h}: they "
                            f"must be the same size")
        labels = label_map(lrgba, table, known, label_path)
        labels[rgba[..., 3] < 128] = UNLABELLED
        if not (labels >= 0).any():
            raise DataError(f"{label_path}: no labelled pixels (paint opaque strokes, one colour "
                            f"per class, over a transparent layer)")
        counts += np.bincount(labels[labels >= 0], minlength=len(counts))[:len(counts)]
        smallest = min(h, w) if smallest is None else min(smallest, h, w)
    return smallest, counts[:len(table)]


def class_weights(counts, balance):
    """Loom's: the inverse of each class's share, 1 on average over the
    classes present; 0 for a class with no labelled pixel."""
    present = int((counts > 0).sum())
    total = int(counts.sum())
    return [0.0 if c == 0 else (total / (present * c) if balance else 1.0) for c in counts]


def check_crop(wanted, smallest, quantum, model):
    crop = min(wanted, smallest) // quantum * quantum
    if crop < 2 * quantum:
        raise DataError(f"an image of {smallest} pixels across is too small for {model} "
                        f"(at least {2 * quantum})")
    return crop


def check_batch(args, world):
    if args.batch < 1 or args.steps < 1:
        raise DataError("--batch and --steps must be at least 1")
    if args.batch % world.size:
        raise DataError(f"--batch {args.batch} (the global batch) does not split evenly "
                        f"between {world.size} processes")
    return args.batch // world.size


def learning_rate(base, step, steps):
    """Loom's cosine decay to 5 % over the steps."""
    return base * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(step / steps, 1.0))))


def provenance(task, args, world, **more):
    p = dict(task=task, **more, steps=args.steps_done, batch=args.batch, seed=args.seed,
             learning_rate=args.lr, trainer="tools/torch/train.py", torch=torch.__version__,
             processes=world.size, backend=world.backend, device=world.device.type,
             amp=bool(args.amp_on), init=args.init, pretrained=getattr(args, "pretrained", None))
    return json.dumps(p, separators=(",", ":"))


def autocast(world, args):
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16) if args.amp_on \
        else torch.autocast(device_type=world.device.type, enabled=False)


def loader_for(dataset, world, per_rank, args):
    sampler = torch.utils.data.distributed.DistributedSampler(
        dataset, num_replicas=world.size, rank=world.rank, shuffle=True, seed=args.seed,
        drop_last=False)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=per_rank, sampler=sampler, num_workers=args.workers,
        pin_memory=world.device.type == "cuda", drop_last=True,
        persistent_workers=False)
    return sampler, loader


def batches(dataset, sampler, loader):
    """Batches for ever, one epoch after another."""
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        dataset.epoch = epoch
        for batch in loader:
            yield batch
        epoch += 1


def progress(world, args, step, text, began):
    if world.rank == 0 and not args.quiet and (step % args.log_every == 0 or step == args.steps):
        rate = step * args.batch / max(time.monotonic() - began, 1e-9)
        print(f"step {step}/{args.steps}  {text}  {rate:.1f} crops/s", file=sys.stderr,
              flush=True)


def cmd_segment(args, world):
    error, table, names, counts, smallest, start = None, [], None, None, None, None
    try:
        pairs = list_pairs(args.data)
        if args.init and args.pretrained:
            raise DataError("--init goes on from a model of the same classes: no --pretrained "
                            "with it")
        if args.init:
            _, metadata = loomweights.load(args.init)
            start = UNet.load(args.init)
            table, names = table_of(metadata, args.init)
        pretrained = UNet.load(args.pretrained) if args.pretrained else None
        known = len(table)
        smallest, counts = scan_pairs(pairs, table, known)
        if not args.init and len(table) < 2:
            raise DataError(f"{pairs[-1][2]}: only one class (one colour); paint at least two")
        per_rank = check_batch(args, world)
        shape = start or pretrained
        depth = shape.config["depth"] if shape else args.depth
        crop = check_crop(args.crop, smallest, 1 << depth, f"a U-Net of depth {depth}")
    except Exception as e:      # every rank must reach agree(), whatever went wrong
        error = e if isinstance(e, (DataError, ValueError, OSError)) \
            else DataError(f"{type(e).__name__}: {e}")
    agree(world, error)

    torch.manual_seed(args.seed)
    if start is not None:
        net = start
    elif pretrained is not None:     # its features, new classes: all but the head
        net = UNet(3, len(table), pretrained.config["depth"], pretrained.config["base"])
        net.load_state_dict({k: v for k, v in pretrained.state_dict().items()
                             if not k.startswith("head.")}, strict=False)
    else:
        net = UNet(3, len(table), args.depth, args.base)
    global_batch_norms(net, world)
    net.to(world.device).train()
    model = net
    if world.size > 1:
        model = nn.parallel.DistributedDataParallel(
            net, device_ids=[world.device.index] if world.device.type == "cuda" else None,
            broadcast_buffers=False)
    weights = torch.tensor(class_weights(counts, not args.no_balance), dtype=torch.float32,
                           device=world.device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    length = max(1, math.ceil(len(pairs) / args.batch)) * args.batch
    dataset = Pairs(pairs, tuple(table), len(table), crop, length, args.seed,
                    Augment(args.augment))
    sampler, loader = loader_for(dataset, world, per_rank, args)
    labelled = int(counts.sum())
    world.say(f"{PROG} segment: {world.size} process{'es' if world.size > 1 else ''} "
              f"({world.backend}, {world.device.type}{', bf16 autocast' if args.amp_on else ''}), "
              f"{len(pairs)} pair{'s' if len(pairs) > 1 else ''}, {len(table)} classes, "
              f"{labelled} labelled pixels, batch {args.batch} ({per_rank} a process), crop {crop}")

    def save(steps):
        args.steps_done = steps
        if world.rank == 0:
            net.save(args.output, {
                "loom.classes": classes_json(table, names),
                "loom.provenance": provenance("segmentation", args, world, images=len(pairs),
                                              labelled_pixels=labelled, crop=crop,
                                              augment=args.augment)})

    began, step = time.monotonic(), 0
    for x, y in batches(dataset, sampler, loader):
        if step == args.steps:
            break
        x, y = x.to(world.device, non_blocking=True), y.to(world.device, non_blocking=True)
        for g in opt.param_groups:
            g["lr"] = learning_rate(args.lr, step, args.steps)
        for bn in batch_norms(net):     # Loom's: averaged over ten steps, then momentum 0.1
            bn.momentum = max(1.0 / (step + 1), 0.1)
        with autocast(world, args):
            logits = model(x)
        ce = F.cross_entropy(logits.float(), y, weight=weights, ignore_index=UNLABELLED,
                             reduction="none")
        local = torch.stack([ce.sum().detach(), (weights[y.clamp_min(0)] * (y >= 0)).sum()])
        total = world.all_sum(local.clone())
        # The mean over the global batch's weights; DDP averages the
        # ranks' gradients, hence the world size.
        loss = ce.sum() * world.size / total[1].clamp_min(1e-12)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = (total[0] / total[1].clamp_min(1e-12)).item()
        if not math.isfinite(value):
            raise DataError(f"the loss became {value:g} at step {step}; try a lower learning rate")
        progress(world, args, step, f"loss {value:.4f}", began)
        if args.checkpoint_every and step % args.checkpoint_every == 0 and step < args.steps:
            save(step)
    save(step)
    world.say(f"{args.output}: {len(table)} classes, {step} steps in "
              f"{time.monotonic() - began:.1f} s, loss {value:.4f}")


def predict(net, planes):
    """The twin's class map of PLANES (3×H×W in [0, 1]), as `loom segment`
    runs an image that fits one tile: mirrored up to a multiple of 2^depth
    (at least two), evaluation batch norms.  Returns (classes, logits)."""
    step = 1 << net.config["depth"]
    h, w = planes.shape[1:]
    th, tw = max(-(-h // step) * step, 2 * step), max(-(-w // step) * step, 2 * step)
    x = torch.from_numpy(planes)[None]
    x = F.pad(x, (0, tw - w, 0, th - h), mode="reflect")
    net.eval()
    with torch.no_grad():
        logits = net(x)[0, :, :h, :w]
    return logits.argmax(0), logits


# ---- GANs -----------------------------------------------------------------------------


class Images(torch.utils.data.Dataset):
    """Real examples in [−1, 1]: random crops (texture) or whole images
    (dcgan, centred squares scaled to the side), flipped and turned as Loom's
    trainer does, draws keyed on the seed, the epoch and the item."""

    def __init__(self, paths, crop, whole, turns, augment, length, seed):
        self.paths, self.crop, self.whole, self.turns = paths, crop, whole, turns
        self.augment, self.length, self.seed, self.epoch = augment, length, seed, 0

    def __len__(self):
        return self.length

    @lru_cache(maxsize=64)
    def load(self, k):
        return prepare(self.paths[k], self.crop if self.whole else 0)

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, i])
        planes = self.load(i % len(self.paths))
        h, w = planes.shape[1:]
        n = self.crop
        x0, y0 = int(rng.integers(0, w - n + 1)), int(rng.integers(0, h - n + 1))
        turn = int(rng.integers(0, 4)) if self.augment and self.turns else 0
        flip = bool(rng.integers(0, 2)) if self.augment else False
        x, _ = cut(planes, None, crop_map(n, x0, y0, turn, flip, 0.0, 1.0, 0.0), n)
        return torch.from_numpy(np.ascontiguousarray(2.0 * x - 1.0, dtype=np.float32))


def prepare(path, side):
    """3×H×W planes in [0, 1]; SIDE > 0: the centred square scaled to SIDE."""
    rgba = read_rgba(path)
    if side:
        from PIL import Image
        h, w = rgba.shape[:2]
        s = min(h, w)
        im = Image.fromarray(rgba).crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s,
                                         (h - s) // 2 + s))
        rgba = np.asarray(im.resize((side, side), Image.BILINEAR), dtype=np.uint8)
    return rgb_planes(rgba)


def list_images(data):
    if not os.path.isdir(data):
        raise DataError(f"{data}: no such folder")
    folder = os.path.join(data, "images") if os.path.isdir(os.path.join(data, "images")) else data
    paths = list(image_files(folder).values())
    if not paths:
        raise DataError(f"{folder}: no images in it")
    return paths


def generator_parameters(gan):
    return [(n, p) for n, p in gan.named_parameters() if n.startswith("generator.")]


def gan_tensors(gan, averages, recalibrated=None):
    """Loom's layout (loom_gan_store_averaged): G's averages under their
    names, the live G under "training." too; D and the buffers as they are
    (G's buffers those of RECALIBRATED when given)."""
    state = {k: v for k, v in gan.state_dict().items() if not k.endswith("num_batches_tracked")}
    out = {}
    for k, v in state.items():
        if averages is not None and k in averages:
            out[k] = averages[k]
            out["training." + k] = v
        elif recalibrated is not None and k.startswith("generator."):
            out[k] = recalibrated[k[len("generator."):]]
        else:
            out[k] = v
    return out


def recalibrate(gan, averages, batch, seed, device):
    """The averaged G's batch-norm statistics (it never ran): the averaged G
    in training mode on 16 batches of fresh noise, statistics averaged over
    all of them, as Loom's trainer does."""
    import copy
    g = copy.deepcopy(gan.generator)
    with torch.no_grad():
        for n, p in g.named_parameters():
            p.copy_(averages["generator." + n])
        for bn in batch_norms(g):
            bn.reset_running_stats()
            bn.momentum = None
            if isinstance(bn, GlobalBatchNorm):
                bn.world_size = 1
        g.train()
        gen = torch.Generator(device="cpu").manual_seed(seed ^ 0x5EC0DE)
        side = gan.side
        for _ in range(16):
            z = torch.randn(batch, gan.config["latent"], side, side, generator=gen).to(device)
            g(z)
    return {k: v for k, v in g.state_dict().items() if not k.endswith("num_batches_tracked")}


def cmd_gan(args, world):
    kind = "dcgan" if args.command == "dcgan" else "texture-gan"
    dcgan = kind == "dcgan"
    error, start, paths = None, None, None
    try:
        paths = list_images(args.data)
        if args.init:
            _, metadata = loomweights.load(args.init)
            arch = json.loads(metadata.get("loom.architecture", "{}"))
            if arch.get("name") != kind:
                raise DataError(f"{args.init}: a {arch.get('name') or 'file without an architecture'}, "
                                f"not a {kind}")
            start = Gan.load(args.init)
            if start.config["name"] != kind:
                raise DataError(f"{args.init}: a {start.config['name']}, not a {kind}")
            tensors, _ = loomweights.load(args.init)
        config = dict(start.config) if start else dict(
            name=kind, channels=3, latent=args.latent or (100 if dcgan else 16),
            levels=4, g_width=args.g_width or (64 if dcgan else 16),
            d_width=args.d_width or (64 if dcgan else 16), tileable=not dcgan and not
            args.not_tileable, classes=0)
        if dcgan:
            side = args.size or 64
            if side & (side - 1) or not 32 <= side <= 256:
                raise DataError(f"{side}: a DCGAN learns images of 32, 64, 128 or 256 pixels a side")
            if start is None:
                config["levels"] = side.bit_length() - 1 - 2
            crop = 4 << config["levels"]
        else:
            quantum = 1 << config["levels"]
            crop = args.size or 64
            if crop % quantum or not max(16, 2 * quantum) <= crop <= 1024:
                raise DataError(f"{crop}: the training crops' side is a multiple of {quantum} "
                                f"from {max(16, 2 * quantum)} to 1024 (a texture GAN of "
                                f"{config['levels']} levels)")
            for p in paths:
                h, w = read_rgba(p).shape[:2]
                if min(h, w) < crop:
                    raise DataError(f"{p} ({w}×{h}) is smaller than the crops ({crop})")
        per_rank = check_batch(args, world)
    except Exception as e:      # every rank must reach agree(), whatever went wrong
        error = e if isinstance(e, (DataError, ValueError, OSError)) \
            else DataError(f"{type(e).__name__}: {e}")
    agree(world, error)

    torch.manual_seed(args.seed)
    gan = start if start is not None else Gan(**config)
    gan.side = 1 if dcgan else crop >> config["levels"]
    averages = None
    if args.ema > 0:
        live = dict(generator_parameters(gan))
        averages = {n: (tensors[n] if start is not None else p.detach()).clone()
                    for n, p in live.items()}
        if start is not None:    # the live G under training., the averages as saved
            with torch.no_grad():
                for n, p in live.items():
                    if "training." + n in tensors:
                        p.copy_(tensors["training." + n])
    global_batch_norms(gan, world)
    gan.to(world.device).train()
    if averages is not None:
        averages = {n: v.to(world.device) for n, v in averages.items()}
    with torch.no_grad():        # every rank starts from rank 0's weights
        for t in list(gan.parameters()) + list(gan.buffers()):
            if world.size > 1:
                dist.broadcast(t, 0)
    params = list(gan.parameters())
    d_params = list(gan.discriminator.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(args.beta1, 0.999), eps=1e-8)
    length = max(1, math.ceil(len(paths) / args.batch)) * args.batch
    dataset = Images(paths, crop, dcgan, not dcgan and not args.no_turns, args.augment > 0,
                     length, args.seed)
    sampler, loader = loader_for(dataset, world, per_rank, args)
    noise = torch.Generator(device="cpu").manual_seed(args.seed * 1009 + world.rank)
    world.say(f"{PROG} {args.command}: {world.size} process{'es' if world.size > 1 else ''} "
              f"({world.backend}, {world.device.type}{', bf16 autocast' if args.amp_on else ''}), "
              f"{len(paths)} image{'s' if len(paths) > 1 else ''}, {crop}×{crop}, batch "
              f"{args.batch} ({per_rank} a process)")

    def save(steps, final):
        args.steps_done = steps
        recal = recalibrate(gan, averages, per_rank, args.seed, world.device) \
            if final and averages is not None and world.rank == 0 else None
        if world.rank == 0:
            meta = {"loom.architecture": json.dumps(gan.architecture(), separators=(",", ":")),
                    "loom.provenance": provenance("gan", args, world, images=len(paths),
                                                  crop=crop, loss="non-saturating",
                                                  ema=args.ema)}
            loomweights.save(args.output, gan_tensors(gan, averages, recal), meta)

    bce = F.binary_cross_entropy_with_logits
    began, step, d_average = time.monotonic(), 0, 1.0
    for real in batches(dataset, sampler, loader):
        if step == args.steps:
            break
        real = real.to(world.device, non_blocking=True)
        z = torch.randn(per_rank, gan.config["latent"], gan.side, gan.side, generator=noise)
        z = z.to(world.device)
        with autocast(world, args):
            fake = gan.generator(z)
            judged_real = gan.discriminator(real).float()
            judged_fake = gan.discriminator(fake.detach()).float()
            for p in d_params:                  # D frozen while it judges G
                p.requires_grad_(False)
            judged_g = gan.discriminator(fake).float()
            for p in d_params:
                p.requires_grad_(True)
        d_loss = bce(judged_real, torch.ones_like(judged_real)) \
            + bce(judged_fake, torch.zeros_like(judged_fake))
        g_loss = bce(judged_g, torch.ones_like(judged_g))
        opt.zero_grad(set_to_none=False)
        (d_loss + g_loss).backward()
        if world.size > 1:      # the ranks' gradients averaged, as DDP would
            flat = torch.cat([p.grad.reshape(-1) for p in params])
            dist.all_reduce(flat)
            flat /= world.size
            at = 0
            for p in params:
                p.grad.copy_(flat[at:at + p.numel()].view_as(p))
                at += p.numel()
        opt.step()
        if averages is not None:
            rate = 1.0 - min(args.ema, (1.0 + step) / (10.0 + step))
            with torch.no_grad():
                for n, p in generator_parameters(gan):
                    averages[n].add_(rate * (p - averages[n]))
        losses = world.all_sum(torch.stack([d_loss.detach(), g_loss.detach()])) / world.size
        dv, gv = losses.tolist()
        step += 1
        if not (math.isfinite(dv) and math.isfinite(gv)):
            raise DataError(f"training diverged at step {step} (discriminator loss {dv:g}, "
                            f"generator loss {gv:g}); try a lower learning rate")
        d_average = 0.98 * d_average + 0.02 * dv
        if step > 200 and d_average < 1e-3:
            raise DataError(f"the discriminator tells every generated image apart (its loss "
                            f"{d_average:.2g} at step {step}): the generator has collapsed; try "
                            f"a lower learning rate or more images")
        progress(world, args, step, f"D {dv:.4f}  G {gv:.4f}", began)
        if args.checkpoint_every and step % args.checkpoint_every == 0 and step < args.steps:
            save(step, False)
    save(step, True)
    world.say(f"{args.output}: {step} steps in {time.monotonic() - began:.1f} s, "
              f"D {dv:.4f}, G {gv:.4f}")


# ---- command line ---------------------------------------------------------------------

COMMANDS = {
    "segment": ("a U-Net from image/label pairs (as `loom train-seg`)", cmd_segment),
    "texture": ("a texture GAN from images (as `loom train-gan --kind texture`)", cmd_gan),
    "dcgan": ("a DCGAN from images (as `loom train-gan --kind dcgan`)", cmd_gan),
}


def parser():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (text, _) in COMMANDS.items():
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("--data", required=True, metavar="DIR",
                       help="images/ and labels/ (segment) or images (texture, dcgan)")
        s.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="the Loom weights file to write (checkpoints too)")
        s.add_argument("--init", metavar="MODEL",
                       help="start from this Loom file (resume or fine-tune; its class table)")
        s.add_argument("--nproc", type=int, default=1, metavar="N",
                       help="processes to start here (not under torchrun; default 1)")
        s.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
        s.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast on GPUs")
        gan = name != "segment"
        s.add_argument("--steps", type=int, default=1000 if gan else 300,
                       help="optimiser steps (default: %(default)s)")
        s.add_argument("--batch", type=int, default={"segment": 4, "texture": 16,
                                                     "dcgan": 64}[name],
                       help="the global batch, split between processes (default %(default)s)")
        s.add_argument("--lr", "--learning-rate", type=float, default=2e-4 if gan else 5e-3,
                       help="Adam's learning rate (default %(default)g)")
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--augment", type=float, default=1.0, metavar="F",
                       help="augmentation strength, 0 (none) to 2 (default 1)")
        s.add_argument("--checkpoint-every", type=int, default=50, metavar="N",
                       help="rewrite the model every N steps (0: only at the end)")
        s.add_argument("--workers", type=int, default=None, metavar="N",
                       help="data-loading processes a rank (default 2 on GPUs, 0 on CPUs)")
        s.add_argument("--timeout", type=float, default=300, metavar="S",
                       help="seconds a collective may wait for the others (default 300)")
        s.add_argument("--start-method", choices=("spawn", "fork", "forkserver"),
                       help="--nproc: how the processes start (default: fork on CPUs, spawn "
                            "on GPUs)")
        s.add_argument("--grace", type=float, default=10, metavar="S",
                       help="--nproc: seconds the others get after one fails (default 10)")
        s.add_argument("--log-every", type=int, default=10, metavar="N")
        s.add_argument("-q", "--quiet", action="store_true")
        if name == "segment":
            s.add_argument("--crop", type=int, default=128, help="crop side (default 128)")
            s.add_argument("--depth", type=int, default=3, help="U-Net poolings (default 3)")
            s.add_argument("--base", type=int, default=16, help="channels at full size (16)")
            s.add_argument("--no-balance", action="store_true", help="no class weights")
            s.add_argument("--pretrained", metavar="MODEL",
                           help="a new model's starting point: all but the classes of this "
                                "U-Net (as loom train-seg --pretrained)")
        else:
            s.add_argument("--size", type=int, default=0,
                           help="dcgan: image side (32–256, default 64); texture: crop side (64)")
            s.add_argument("--latent", type=int, default=0)
            s.add_argument("--g-width", type=int, default=0)
            s.add_argument("--d-width", type=int, default=0)
            s.add_argument("--ema", type=float, default=0.999,
                           help="decay of G's moving average (0: none; default 0.999)")
            s.add_argument("--beta1", type=float, default=0.5)
            s.add_argument("--not-tileable", action="store_true")
            s.add_argument("--no-turns", action="store_true")
    return p


def main(argv):
    args = parser().parse_args(argv[1:])
    if args.nproc < 1:
        print(f"{PROG}: --nproc must be at least 1", file=sys.stderr)
        return 2
    if not 0 <= args.augment <= 2:
        print(f"{PROG}: --augment must be from 0 to 2", file=sys.stderr)
        return 2
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        print(f"{PROG}: -o {args.output}: no such folder {out_dir!r}", file=sys.stderr)
        return 2
    if not under_torchrun() and args.batch % args.nproc:
        print(f"{PROG} {args.command}: --batch {args.batch} (the global batch) does not split "
              f"evenly between {args.nproc} processes", file=sys.stderr)
        return 2
    if under_torchrun() and args.nproc > 1:
        print(f"{PROG}: --nproc under torchrun: torchrun starts the processes", file=sys.stderr)
        return 2
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    args.amp_on = cuda and not args.no_amp
    args.cuda = cuda
    if args.workers is None:
        args.workers = 2 if cuda else 0
    args.steps_done = 0
    return launch(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
