"""Shared by the PyTorch referee tests: write inputs, run a Loom runner per
device, compare its outputs with PyTorch's, print TAP.

A case is a dict: "name"; "entry" (the runner's manifest entry); "inputs"
({file suffix: tensor}); "expected" ({file suffix: tensor}).  The runner is
called as RUNNER MANIFEST OUTDIR DEVICE and writes NAME.SUFFIX in OUTDIR.
"""
import json
import os
import subprocess
import tempfile

import numpy
import torch

TOLERANCE = 1e-4   # max |loom - torch| / max |torch|


def runner_env():
    """The runner's environment: LOOM_RUNNER_PRELOAD becomes its LD_PRELOAD
    (sanitizer runtimes for the runner, not for Python)."""
    env = dict(os.environ)
    if env.get("LOOM_RUNNER_PRELOAD"):
        env["LD_PRELOAD"] = env["LOOM_RUNNER_PRELOAD"]
    return env


def write(path, tensor):
    tensor.detach().contiguous().numpy().astype("<f4").tofile(path)


def relative_error(got, want):
    return ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()


def run(runner, cases, devices=("cpu", "vulkan"), tolerance=TOLERANCE):
    """Prints TAP for every case on every device; returns the exit status."""
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            for suffix, tensor in case["inputs"].items():
                write(os.path.join(tmp, f"{case['name']}.{suffix}"), tensor)
        manifest = os.path.join(tmp, "manifest.json")
        with open(manifest, "w") as f:
            json.dump([case["entry"] for case in cases], f)

        print("TAP version 14")
        print(f"1..{len(devices) * len(cases)}")
        number = 0
        for device in devices:
            out = os.path.join(tmp, device)
            os.mkdir(out)
            result = subprocess.run([runner, manifest, out, device], capture_output=True, text=True,
                                    env=runner_env())
            for line in result.stderr.splitlines():
                print(f"# {line}")
            for case in cases:
                number += 1
                errors = [] if result.returncode == 0 else [f"runner exited with {result.returncode}"]
                for suffix, want in case["expected"].items():
                    path = os.path.join(out, f"{case['name']}.{suffix}")
                    if not os.path.exists(path):
                        errors.append(f"{suffix} missing")
                        continue
                    got = torch.from_numpy(numpy.fromfile(path, dtype="<f4"))
                    want = want.detach().reshape(-1)
                    if got.shape != want.shape:
                        errors.append(f"{suffix} has {got.numel()} values, not {want.numel()}")
                    elif not relative_error(got, want) <= tolerance:
                        errors.append(f"{suffix} off by {relative_error(got, want):.3g}")
                failed |= bool(errors)
                print(("ok" if not errors else "not ok") + f" {number} - {device} {case['name']}"
                      + (f": {'; '.join(errors)}" if errors else ""))
    return 1 if failed else 0
