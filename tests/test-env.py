#!/usr/bin/env python3
"""tools/env's view of the user's files (TAP).

    tests/test-env.py BUILD/cli/loom

What the build root sees: tools/env in root mode with LOOM_ENV_PRINT=1
prints the bwrap arguments it would run, and these cases read the binds
from them (a fake root under a throwaway LOOM_ROOT_CACHE stands for the
root's own files); and, inside the root (LOOM_IN_ROOT, as CI runs every
test), that $HOME really is the caller's folder bound there, with the CLI
run on files in a folder of $HOME outside the repository.  Outside the
root that last case runs the CLI natively on a folder outside the
repository and skips the bind check.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

LOOM = os.path.abspath(sys.argv[1])
SOURCE = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TOOL = os.path.join(SOURCE, "tools", "env")
TMP = os.path.realpath(tempfile.mkdtemp(prefix="loom-env-"))
results = []


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def check(cond, message):
    if not cond:
        raise AssertionError(message)


class Skip(Exception):
    pass


def mkdir(*parts):
    p = os.path.join(TMP, *parts)
    os.makedirs(p, exist_ok=True)
    return p


CACHE = mkdir("cache")


def printed(*args, cwd, home, bind=None, env=None):
    """tools/env's bwrap arguments and its messages for ARGS run from CWD
    (ENV: more variables)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_ENV")}
    e.update(LOOM_ENV="root", LOOM_ENV_PRINT="1", LOOM_ROOT_CACHE=CACHE, HOME=home, PWD=cwd)
    if bind is not None:
        e["LOOM_ENV_BIND"] = bind
    e.update(env or {})
    r = subprocess.run([TOOL, *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"tools/env exit {r.returncode}: {r.stderr}")
    argv = r.stdout.splitlines()
    check(argv[:1] == ["bwrap"], f"not a bwrap command: {argv[:3]}")
    binds, chdir = [], None
    i = 1
    while i < len(argv):
        if argv[i] in ("--bind", "--ro-bind"):
            binds.append((argv[i], argv[i + 1], argv[i + 2]))
            i += 3
        elif argv[i] == "--chdir":
            chdir = argv[i + 1]
            rest = argv[i + 2:]
            break
        else:
            i += 1
    check(rest == list(args), f"the command changed: {rest}")
    return binds, chdir, r.stderr


def root_dir():
    binds, _, _ = printed("true", cwd=SOURCE, home=mkdir("home0"))
    return binds[0][1]          # --bind ROOT /


def bound(binds, path):
    """PATH bound read-write at its own path."""
    return ("--bind", path, path) in binds


@case("the current folder and $HOME are bound read-write at their paths")
def _():
    home, work = mkdir("home1"), mkdir("elsewhere", "photos")
    binds, chdir, err = printed("build/cli/loom", "info", cwd=work, home=home)
    check(bound(binds, home) and bound(binds, work), f"binds {binds}")
    check(bound(binds, SOURCE), f"the repository is not bound: {binds}")
    check(chdir == work, f"runs in {chdir}, not {work}")
    check(err == "", f"messages: {err}")


@case("a folder inside $HOME is not bound twice; the repository's folders keep their place")
def _():
    home = mkdir("home2")
    work = mkdir("home2", "pictures")
    binds, chdir, _ = printed("true", cwd=work, home=home)
    check(bound(binds, home) and not any(b[2] == work for b in binds), f"binds {binds}")
    check(chdir == work, f"runs in {chdir}")
    sub = os.path.join(SOURCE, "tests")
    binds, chdir, _ = printed("true", cwd=sub, home=home)
    check(chdir == sub, f"runs in {chdir}, not {sub}")


@case("LOOM_ENV_BIND binds more folders; a missing one is named")
def _():
    a, b = mkdir("extra-a"), mkdir("extra-b")
    gone = os.path.join(TMP, "gone")
    binds, _, err = printed("true", cwd=SOURCE, home=mkdir("home3"), bind=f"{a}:{b}:{gone}")
    check(bound(binds, a) and bound(binds, b), f"binds {binds}")
    check(gone in err and "no such folder" in err and not any(x[2] == gone for x in binds), err)


@case("a link to a folder is bound at its own path and where it points")
def _():
    real = mkdir("real-home")
    link = os.path.join(TMP, "link-home")
    os.symlink(real, link)
    binds, _, _ = printed("true", cwd=SOURCE, home=link)
    check(("--bind", real, link) in binds and bound(binds, real), f"binds {binds}")


@case("folders where the root has files of its own are not bound over them")
def _():
    root = root_dir()
    check(root.startswith(CACHE), f"the root {root} is not under LOOM_ROOT_CACHE")
    for d in ("etc", "opt/vendor", "root", "usr/lib"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ("etc/passwd", "opt/vendor/lib.so", "root/.bashrc", "usr/lib/x.so"):
        open(os.path.join(root, f), "w").close()
    os.makedirs(os.path.join(root, "mnt", "empty", "mount-point"), exist_ok=True)
    # $HOME at / would hide the whole root; /etc is the root's own.
    binds, _, err = printed("true", cwd=SOURCE, home="/")
    check(not any(b[2] == "/" and b[1] != root for b in binds), f"/ bound: {binds}")
    check("$HOME (/)" in err and "files of its own" in err, err)
    binds, _, err = printed("true", cwd=SOURCE, home=mkdir("home4"), bind="/etc:/usr")
    check(not bound(binds, "/etc") and not bound(binds, "/usr"), f"binds {binds}")
    check("/etc" in err and "/usr" in err, err)
    # /root as $HOME (CI runs as root): bound over the root's dotfiles.
    if os.path.isdir("/root") and os.access("/root", os.R_OK | os.X_OK):
        binds, _, err = printed("true", cwd=SOURCE, home="/root")
        check(bound(binds, "/root"), f"/root not bound: {binds} {err}")
    # A folder holding only empty folders (earlier binds' mount points) hides nothing.
    if os.path.isdir("/mnt"):
        binds, _, err = printed("true", cwd=SOURCE, home=mkdir("home5"), bind="/mnt")
        check(bound(binds, "/mnt"), f"/mnt not bound: {binds} {err}")


@case("an argument naming a path the root cannot see gets a line naming it and LOOM_ENV_BIND")
def _():
    home = mkdir("home6")
    outside = mkdir("outside")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(outside, "photo.png"))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(home, "mine.png"))
    photo = os.path.join(outside, "photo.png")
    _, _, err = printed("loom", "segment", "-i", photo, f"--output={outside}/new.png",
                        "--model", os.path.join(home, "mine.png"), cwd=home, home=home)
    lines = err.splitlines()
    check(len(lines) == 2, f"wanted two lines: {err}")
    check(photo in lines[0] and f"LOOM_ENV_BIND={outside}" in lines[0], lines[0])
    check(f"{outside}/new.png" in lines[1], lines[1])
    # Relative to the current folder, and nothing for what it sees.
    _, _, err = printed("loom", "segment", "-i", os.path.relpath(photo, home), "-o", "mine.png",
                        cwd=home, home=home)
    check(os.path.relpath(photo, home) in err and f"LOOM_ENV_BIND={outside}" in err and err.count("\n") == 1, err)
    _, _, err = printed("loom", "segment", "-i", photo, cwd=home, home=home, bind=outside)
    check(err == "", f"bound, and still a message: {err}")


@case("LOOM_ENV_GIMP (tools/gimp): the profile, the X authority file and the Wayland socket bound")
def _():
    import socket
    home, profile, run = mkdir("home6"), mkdir("gimp-profile"), mkdir("run")
    xauth = os.path.join(home, ".Xauthority")
    open(xauth, "w").close()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(run, "wayland-1"))
    try:
        binds, _, err = printed("gimp", cwd=SOURCE, home=home,
                                env={"LOOM_ENV_GIMP": profile, "DISPLAY": ":5", "XAUTHORITY": xauth,
                                     "XDG_RUNTIME_DIR": run, "WAYLAND_DISPLAY": "wayland-1"})
    finally:
        sock.close()
    check(bound(binds, profile), f"the profile is not bound: {binds}")
    check(("--ro-bind", xauth, "/tmp/loom-xauthority") in binds, f"no X authority file: {binds}")
    check(("--bind", os.path.join(run, "wayland-1"), "/tmp/loom-runtime/wayland-0") in binds,
          f"no Wayland socket: {binds}")
    check(err == "", f"messages: {err}")
    binds, _, _ = printed("gimp", cwd=SOURCE, home=home)
    check(not any(b[2] == "/tmp/loom-xauthority" or b[2].startswith("/tmp/loom-runtime/") for b in binds)
          and not bound(binds, profile),
          f"display binds without LOOM_ENV_GIMP: {binds}")


@case("the CLI on files in a folder of $HOME outside the repository, through tools/env's bind")
def _():
    inside = os.environ.get("LOOM_IN_ROOT") == "1"
    home = os.path.realpath(os.environ.get("HOME", "/"))
    base = home if inside else TMP
    check(not base.startswith(SOURCE + "/"), f"{base} is inside the repository")
    work = tempfile.mkdtemp(prefix=".loom-env-test-", dir=base)
    try:
        rng = np.random.default_rng(3)
        Image.fromarray((rng.random((48, 40, 3)) * 255).astype(np.uint8)).save(os.path.join(work, "photo.png"))
        lab = np.zeros((48, 40, 4), np.uint8)
        lab[20:24, 4:16] = (220, 40, 30, 255)
        lab[20:24, 24:36] = (30, 60, 200, 255)
        Image.fromarray(lab).save(os.path.join(work, "labels.png"))
        e = dict(os.environ, LOOM_DEVICE="cpu", LOOM_DATA_DIR=SOURCE)
        if e.get("LOOM_RUNNER_PRELOAD"):
            e["LD_PRELOAD"] = e["LOOM_RUNNER_PRELOAD"]
            e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
        for args in (["train-seg", "--image", "photo.png", "--labels", "labels.png", "-o", "m.safetensors",
                      "--steps", "3", "--crop", "32", "--depth", "2", "--base", "8", "--no-pretrained", "-q"],
                     ["segment", "--model", "m.safetensors", "-i", os.path.join(work, "photo.png"),
                      "-o", "seg.png", "-q"]):
            r = subprocess.run([LOOM, *args], cwd=work, env=e, capture_output=True, text=True, timeout=300)
            check(r.returncode == 0, f"loom {args[0]}: exit {r.returncode}: {r.stderr[-1500:]}")
        check(Image.open(os.path.join(work, "seg.png")).size == (40, 48), "no segmentation of the photo")
        if not inside:
            raise Skip("not inside tools/env's root: the CLI ran natively")
        mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
        check(home in mounts, f"$HOME {home} is not a mount point in the root: {mounts}")
        check(home in os.environ.get("LOOM_ENV_BOUND", "").split(":"), os.environ.get("LOOM_ENV_BOUND"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    print(f"1..{len(results)}")
    failed = 0
    for i, (name, fn) in enumerate(results, 1):
        try:
            fn()
            print(f"ok {i} - {name}")
        except Skip as s:
            print(f"ok {i} - {name} # SKIP {s}")
        except Exception as e:  # noqa: BLE001 - a failing case, reported
            failed += 1
            print(f"not ok {i} - {name}")
            for line in str(e).splitlines():
                print(f"# {line}")
        sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
