#!/usr/bin/env python3
"""Registered ops run one by one against PyTorch, on every backend.  Prints TAP.

    tests/torch-ops.py OP_RUNNER

Each case names an op of compute/ops/, its params in struct order, and its
bindings; PyTorch computes what the written bindings must hold, from seeded
random data, at test time; OP_RUNNER (tests/op-runner.c) runs the op.
"""
import sys

import torch
import torch.nn.functional as F

import torchref

# LoomActivation order, with PyTorch's function for each.
ACTIVATIONS = [
    ("relu", lambda x, slope: F.relu(x)),
    ("leaky_relu", lambda x, slope: F.leaky_relu(x, slope)),
    ("tanh", lambda x, slope: torch.tanh(x)),
    ("sigmoid", lambda x, slope: torch.sigmoid(x)),
    ("gelu", lambda x, slope: F.gelu(x)),
]
SIZES = [1, 7, 1000, 65537]


def activation_cases(gen):
    cases = []
    for kind, (label, fn) in enumerate(ACTIVATIONS):
        for n in SIZES:
            slope = 0.2
            # Spread over where the functions bend, with exact zeros for the kinks.
            x = (torch.randn(n, generator=gen) * 3).requires_grad_()
            with torch.no_grad():
                x[::17] = 0.0
            dy = torch.randn(n, generator=gen)
            y = fn(x, slope)
            y.backward(dy)
            params = [["u", n], ["f", slope], ["u", kind]]
            name = f"{label}{n}"
            cases.append({
                "name": name + "-fwd",
                "entry": {"name": name + "-fwd", "op": "activation_forward", "params": params,
                          "bindings": [{"length": n, "output": True},
                                       {"length": n, "input": name + "-fwd.x"}]},
                "inputs": {"x": x},
                "expected": {"0": y},
            })
            cases.append({
                "name": name + "-bwd",
                "entry": {"name": name + "-bwd", "op": "activation_backward", "params": params,
                          "bindings": [{"length": n, "output": True},
                                       {"length": n, "input": name + "-bwd.dy"},
                                       {"length": n, "input": name + "-bwd.x"}]},
                "inputs": {"dy": dy, "x": x},
                "expected": {"0": x.grad},
            })
    return cases


def main():
    gen = torch.Generator().manual_seed(2026)
    return torchref.run(sys.argv[1], activation_cases(gen))


if __name__ == "__main__":
    sys.exit(main())
