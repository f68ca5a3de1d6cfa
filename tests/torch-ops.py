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


def pool_cases(gen):
    """max_pool2d and avg_pool2d (count_include_pad), forward and backward."""
    cases = []
    for planes, h, w, kernel, stride, pad in [(3, 8, 8, 2, 2, 0), (2, 7, 9, 2, 2, 0),
                                              (4, 13, 11, 3, 2, 1), (2, 10, 10, 3, 1, 1)]:
        out_h, out_w = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
        for is_max in (0, 1):
            x = torch.randn(1, planes, h, w, generator=gen, requires_grad=True)
            pool = F.max_pool2d if is_max else F.avg_pool2d
            y = pool(x, kernel, stride, pad)
            dy = torch.randn(y.shape, generator=gen)
            y.backward(dy)
            params = [["u", planes], ["u", h], ["u", w], ["u", out_h], ["u", out_w],
                      ["u", kernel], ["u", stride], ["u", pad], ["u", is_max]]
            name = f"{'max' if is_max else 'avg'}pool{h}x{w}k{kernel}s{stride}p{pad}"
            cases.append({
                "name": name + "-fwd",
                "entry": {"name": name + "-fwd", "op": "pool_forward", "params": params,
                          "bindings": [{"length": y.numel(), "output": True},
                                       {"length": x.numel(), "input": name + "-fwd.x"}]},
                "inputs": {"x": x}, "expected": {"0": y},
            })
            cases.append({
                "name": name + "-bwd",
                "entry": {"name": name + "-bwd", "op": "pool_backward", "params": params,
                          "bindings": [{"length": x.numel(), "output": True},
                                       {"length": y.numel(), "input": name + "-bwd.dy"},
                                       {"length": x.numel(), "input": name + "-bwd.x"}]},
                "inputs": {"dy": dy, "x": x}, "expected": {"0": x.grad},
            })
    return cases


def upsample_cases(gen):
    """interpolate, nearest and bilinear (align_corners false), forward and backward."""
    cases = []
    for planes, h, w, scale in [(3, 4, 5, 2), (2, 7, 3, 3), (1, 5, 6, 4), (2, 1, 1, 2)]:
        for bilinear in (0, 1):
            x = torch.randn(1, planes, h, w, generator=gen, requires_grad=True)
            y = F.interpolate(x, scale_factor=scale, mode="bilinear" if bilinear else "nearest",
                              **({"align_corners": False} if bilinear else {}))
            dy = torch.randn(y.shape, generator=gen)
            y.backward(dy)
            params = [["u", planes], ["u", h], ["u", w], ["u", scale], ["u", bilinear]]
            name = f"{'bilinear' if bilinear else 'nearest'}{h}x{w}s{scale}"
            cases.append({
                "name": name + "-fwd",
                "entry": {"name": name + "-fwd", "op": "upsample_forward", "params": params,
                          "bindings": [{"length": y.numel(), "output": True},
                                       {"length": x.numel(), "input": name + "-fwd.x"}]},
                "inputs": {"x": x}, "expected": {"0": y},
            })
            cases.append({
                "name": name + "-bwd",
                "entry": {"name": name + "-bwd", "op": "upsample_backward", "params": params,
                          "bindings": [{"length": x.numel(), "output": True},
                                       {"length": y.numel(), "input": name + "-bwd.dy"}]},
                "inputs": {"dy": dy}, "expected": {"0": x.grad},
            })
    return cases


def strides(shape, out):
    """Contiguous strides of SHAPE, 0 where it broadcasts to OUT."""
    result, step = [0] * 4, 1
    for i in range(3, -1, -1):
        result[i] = 0 if shape[i] == 1 and out[i] != 1 else step
        step *= shape[i]
    return result


def broadcast_cases(gen):
    """a + b and a · b with broadcasting (op broadcast), and the gradient of
    each input: dy (· the other input, broadcast) summed back to its shape
    (op sum_to), against autograd."""
    cases = []
    for a_shape, b_shape in [((2, 3, 5, 7), (1, 3, 1, 1)), ((2, 1, 4, 6), (2, 3, 1, 6)),
                             ((1, 1, 1, 1), (3, 2, 9, 11)), ((4, 70, 3, 3), (4, 1, 3, 3))]:
        out = [max(x, y) for x, y in zip(a_shape, b_shape)]
        for mul in (0, 1):
            a = torch.randn(a_shape, generator=gen, requires_grad=True)
            b = torch.randn(b_shape, generator=gen, requires_grad=True)
            y = a * b if mul else a + b
            dy = torch.randn(y.shape, generator=gen)
            y.backward(dy)
            name = f"{'mul' if mul else 'add'}{'x'.join(map(str, a_shape))}-{'x'.join(map(str, b_shape))}"
            params = [["u", d] for d in out] + [["u", v] for v in strides(a_shape, out)] \
                + [["u", v] for v in strides(b_shape, out)] + [["u", mul]]
            cases.append({
                "name": name,
                "entry": {"name": name, "op": "broadcast", "params": params,
                          "bindings": [{"length": y.numel(), "output": True},
                                       {"length": a.numel(), "input": name + ".a"},
                                       {"length": b.numel(), "input": name + ".b"}]},
                "inputs": {"a": a, "b": b}, "expected": {"0": y},
            })
            for which, x, other in (("a", a, b), ("b", b, a)):
                # the contribution before the sum: dy, or dy · the other input
                full = dy * other.detach().expand(out) if mul else dy
                keep = sum(1 << i for i in range(4) if x.shape[i] == out[i])
                grad = f"{name}-d{which}"
                cases.append({
                    "name": grad,
                    "entry": {"name": grad, "op": "sum_to",
                              "params": [["u", d] for d in out] + [["u", keep]],
                              "bindings": [{"length": x.numel(), "output": True},
                                           {"length": full.numel(), "input": grad + ".full"}]},
                    "inputs": {"full": full.contiguous()}, "expected": {"0": x.grad},
                })
    return cases


# LoomLoss order: PyTorch's per-value loss for each, and a target maker.
LOSSES = [
    ("mse", lambda y, t: F.mse_loss(y, t, reduction="none"), lambda r: r),
    ("l1", lambda y, t: F.l1_loss(y, t, reduction="none"), lambda r: r),
    ("bce_with_logits", lambda y, t: F.binary_cross_entropy_with_logits(y, t, reduction="none"),
     lambda r: r.sigmoid()),
    ("hinge", lambda y, t: F.relu(1 - t * y), lambda r: r.sign()),
    ("linear", lambda y, t: -t * y, lambda r: r),
]


def loss_cases(gen):
    cases = []
    for kind, (label, fn, make_target) in enumerate(LOSSES):
        for n in (1, 7, 1000, 4099):
            y = (torch.randn(n, generator=gen) * 3).requires_grad_()
            t = make_target(torch.randn(n, generator=gen))
            alpha = 1.0 / n
            loss = fn(y, t)
            (loss * alpha).sum().backward()
            name = f"{label}{n}"
            params = [["u", n], ["f", alpha], ["u", kind]]
            for op, out, expected in (("pointwise_loss_forward", "fwd", loss),
                                      ("pointwise_loss_backward", "bwd", y.grad)):
                cases.append({
                    "name": f"{name}-{out}",
                    "entry": {"name": f"{name}-{out}", "op": op, "params": params,
                              "bindings": [{"length": n, "output": True},
                                           {"length": n, "input": f"{name}-{out}.y"},
                                           {"length": n, "input": f"{name}-{out}.t"}]},
                    "inputs": {"y": y, "t": t}, "expected": {"0": expected},
                })
    return cases


def main():
    gen = torch.Generator().manual_seed(2026)
    return torchref.run(sys.argv[1], activation_cases(gen) + pool_cases(gen) + upsample_cases(gen)
                        + loss_cases(gen) + broadcast_cases(gen))


if __name__ == "__main__":
    sys.exit(main())
