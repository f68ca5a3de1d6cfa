#!/usr/bin/env python3
"""Small models trained by Loom's static graph against the same models
trained by PyTorch: the same initial weights and data, 20 steps of SGD
(with and without momentum), Adam and AdamW; every step's loss and the final weights must agree.  Prints TAP.

    tests/torch-graph.py GRAPH_RUNNER

The models (tests/graph-runner.c builds the same):
  mlp: x 12×8 → linear 8→16 → tanh → linear 16→4 → MSE
  cnn: x 2×3×9×9 → conv 3→4 3×3 (reflect padding 1) → GELU
       → conv 4→2 3×3 stride 2 (zero padding 1) → MSE
  seg: x 2×3×8×8 → conv 3→4 3×3 (padding 1) → ReLU → conv 4→3 1×1
       → cross-entropy, class weights, label −1 ignored
  gen: z 2×4×3×3 → transposed conv 4→3 4×4 stride 2 (padding 1) → tanh → MSE
  bn:  x 4×3×6×6 → conv 3→5 3×3 (padding 1, no bias) → BatchNorm2d → ReLU
       → conv 5→2 1×1 → MSE; running statistics compared too (momentum 0.1, and
       None: a cumulative average)
  gn:  x 2×3×6×6 → conv 3→4 3×3 (padding 1) → GroupNorm(2, 4) → ReLU → conv 4→2 1×1 → MSE
  gate: x 2×4×6×6 → conv 4→6 3×3 (padding 1) → ch 0-2 · sigmoid(ch 3-5) → · scale (1×3×1×1)
       + image (1×1×6×6) → tanh → reshape 2×108 → linear 108→4 → MSE
  gan: G linear 3→4 on z 8×3; D linear 4→6 → leaky ReLU 0.2 → linear 6→1;
       BCE with logits of D(x) against 1 + of D(G(z).detach()) against 0 + of D with
       detached weights on G(z) against 1 (loss_add): one Adam step updates both
  sn:  x 2×3×6×6 → spectral_norm(conv 3→4 3×3, padding 1) → leaky ReLU 0.2
       → spectral_norm(conv 4→2 1×1) → MSE (torch.nn.utils.spectral_norm, one power
       iteration a step); the losses (forward), the last step's weight gradients and the
       u vectors after the steps are compared too
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import torchref

STEPS = 20


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(8, 16), nn.Linear(16, 4)

    def forward(self, x):
        return self.l2(torch.tanh(self.l1(x)))


class Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 3, 1)

    def forward(self, x):
        return self.c2(F.relu(self.c1(x)))


class Gen(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)

    def forward(self, x):
        return torch.tanh(self.c1(x))


class Bn(nn.Module):
    def __init__(self, momentum=0.1):
        super().__init__()
        self.c1 = nn.Conv2d(3, 5, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(5, momentum=momentum)
        self.c2 = nn.Conv2d(5, 2, 1)
        with torch.no_grad():     # not the trivial 1 and 0
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.c2(F.relu(self.bn(self.c1(x))))


class Gn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.c2 = nn.Conv2d(4, 2, 1)
        with torch.no_grad():
            self.gn.weight.uniform_(0.5, 1.5)
            self.gn.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.c2(F.relu(self.gn(self.c1(x))))


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 6, 3, padding=1)
        self.scale = nn.Parameter(torch.rand(1, 3, 1, 1) + 0.5)
        self.image = nn.Parameter(torch.randn(1, 1, 6, 6) * 0.3)
        self.l2 = nn.Linear(108, 4)

    def forward(self, x):
        h = self.c1(x)
        h = h[:, 0:3] * torch.sigmoid(h[:, 3:6])
        h = torch.tanh(h * self.scale + self.image)
        return self.l2(h.reshape(2, 108))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
        self.c2 = nn.Conv2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x):
        return self.c2(F.gelu(self.c1(x)))


def make_case(name, model, x_shape, t_shape, optimizer, lr, momentum=0.0, weight_decay=0.0,
              clip=None, bn_momentum=0.1):
    torch.manual_seed(7)
    net = {"mlp": Mlp, "cnn": Cnn, "seg": Seg, "gen": Gen, "bn": Bn, "gn": Gn,
           "gate": Gate}[model](*([bn_momentum] if model == "bn" else []))
    layers = {"mlp": lambda: [net.l1, net.l2], "gen": lambda: [net.c1], "gate": list}.get(
        model, lambda: [net.c1, net.c2])()
    x = torch.randn(*x_shape)
    if model == "seg":
        labels = torch.randint(-1, 3, t_shape)          # −1: unlabelled
        weights = torch.tensor([0.5, 1.0, 2.0])
        target = labels.float()
        loss_fn = lambda y: F.cross_entropy(y, labels[:, 0], weight=weights, ignore_index=-1)
    else:
        target = torch.randn(*t_shape)
        loss_fn = lambda y: F.mse_loss(y, target)
    inputs = {"x": x, "target": target}
    if model == "seg":
        inputs["class_weights"] = weights
    if model == "gn":
        state = {"w1": net.c1.weight, "b1": net.c1.bias, "gamma": net.gn.weight,
                 "beta": net.gn.bias, "w2": net.c2.weight, "b2": net.c2.bias}
        layers = []
        inputs.update({k: v.detach().clone() for k, v in state.items()})
    if model == "gate":
        state = {"w1": net.c1.weight, "b1": net.c1.bias, "scale": net.scale,
                 "image": net.image, "w2": net.l2.weight, "b2": net.l2.bias}
        layers = []
        inputs.update({k: v.detach().clone() for k, v in state.items()})
    if model == "bn":
        state = {"w1": net.c1.weight, "gamma": net.bn.weight, "beta": net.bn.bias,
                 "running_mean": net.bn.running_mean, "running_var": net.bn.running_var,
                 "w2": net.c2.weight, "b2": net.c2.bias}
        layers = []
        inputs.update({k: v.detach().clone() for k, v in state.items()})
    for i, layer in enumerate(layers, 1):
        inputs[f"w{i}"] = layer.weight.detach().clone()
        inputs[f"b{i}"] = layer.bias.detach().clone()
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    elif weight_decay:
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn(net(x))
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    expected = {"losses": torch.tensor(losses)}
    if model in ("bn", "gn", "gate"):
        expected.update({f"{k}-final": v.detach() for k, v in state.items()})
    for i, layer in enumerate(layers, 1):
        expected[f"w{i}-final"] = layer.weight.detach()
        expected[f"b{i}-final"] = layer.bias.detach()
    entry = {"name": name, "model": model, "steps": STEPS, "optimizer": optimizer,
             "lr": lr, "momentum": momentum, "weight_decay": weight_decay}
    if clip:
        entry["clip"] = clip
    if bn_momentum != 0.1:     # None: PyTorch's cumulative average, a tiny negative for Loom
        entry["bn_momentum"] = -1e-9 if bn_momentum is None else bn_momentum
    return {"name": name, "inputs": inputs, "expected": expected, "entry": entry}


def make_gan_case(name, lr):
    torch.manual_seed(9)
    g, d1, d2 = nn.Linear(3, 4), nn.Linear(4, 6), nn.Linear(6, 1)
    x, z = torch.randn(8, 4) + 1.5, torch.randn(8, 3)
    target = torch.tensor([[1.0, 0.0]]).repeat(8, 1)
    state = {"gw": g.weight, "gb": g.bias, "dw1": d1.weight, "db1": d1.bias,
             "dw2": d2.weight, "db2": d2.bias}
    inputs = {"x": x, "target": target, "z": z}
    inputs.update({k: v.detach().clone() for k, v in state.items()})

    def judge(h, w):
        return F.linear(F.leaky_relu(F.linear(h, w[0], w[1]), 0.2), w[2], w[3])

    opt = torch.optim.Adam(list(state.values()), lr=lr)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        fake = g(z)
        w = [d1.weight, d1.bias, d2.weight, d2.bias]
        bce = F.binary_cross_entropy_with_logits
        loss = (bce(judge(x, w), target[:, :1]) + bce(judge(fake.detach(), w), target[:, 1:])
                + bce(judge(fake, [v.detach() for v in w]), target[:, :1]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    expected = {"losses": torch.tensor(losses)}
    expected.update({f"{k}-final": v.detach() for k, v in state.items()})
    entry = {"name": name, "model": "gan", "steps": STEPS, "optimizer": "adam", "lr": lr,
             "momentum": 0.0, "weight_decay": 0.0}
    return {"name": name, "inputs": inputs, "expected": expected, "entry": entry}


def make_sn_case(name, optimizer, lr, momentum=0.0):
    torch.manual_seed(11)
    c1 = nn.utils.spectral_norm(nn.Conv2d(3, 4, 3, padding=1))
    c2 = nn.utils.spectral_norm(nn.Conv2d(4, 2, 1))
    with torch.no_grad():       # a spread of singular values, so that σ matters
        c1.weight_orig.mul_(3.0)
    x, target = torch.randn(2, 3, 6, 6), torch.randn(2, 2, 6, 6)
    inputs = {"x": x, "target": target}
    for i, c in enumerate((c1, c2), 1):
        inputs.update({f"w{i}": c.weight_orig.detach().clone(), f"b{i}": c.bias.detach().clone(),
                       f"u{i}": c.weight_u.detach().clone()})
    params = [c1.weight_orig, c1.bias, c2.weight_orig, c2.bias]
    opt = (torch.optim.SGD(params, lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr))
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(c2(F.leaky_relu(c1(x), 0.2)), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    expected = {"losses": torch.tensor(losses)}
    for i, c in enumerate((c1, c2), 1):
        expected.update({f"w{i}-final": c.weight_orig.detach(), f"b{i}-final": c.bias.detach(),
                         f"u{i}-final": c.weight_u.detach(), f"w{i}-grad": c.weight_orig.grad})
    entry = {"name": name, "model": "sn", "steps": STEPS, "optimizer": optimizer, "lr": lr,
             "momentum": momentum, "weight_decay": 0.0}
    return {"name": name, "inputs": inputs, "expected": expected, "entry": entry}


def main():
    cases = [
        make_case("mlp-sgd", "mlp", (12, 8), (12, 4), "sgd", 0.1),
        make_case("mlp-momentum", "mlp", (12, 8), (12, 4), "sgd", 0.05, momentum=0.9),
        make_case("cnn-momentum", "cnn", (2, 3, 9, 9), (2, 2, 5, 5), "sgd", 0.05, momentum=0.9),
        make_case("mlp-adam", "mlp", (12, 8), (12, 4), "adam", 0.01),
        make_case("cnn-adamw", "cnn", (2, 3, 9, 9), (2, 2, 5, 5), "adam", 0.01, weight_decay=0.1),
        make_case("seg-adam", "seg", (2, 3, 8, 8), (2, 1, 8, 8), "adam", 0.02),
        make_case("gen-adam", "gen", (2, 4, 3, 3), (2, 3, 6, 6), "adam", 0.02),
        make_case("bn-sgd", "bn", (4, 3, 6, 6), (4, 2, 6, 6), "sgd", 0.05, momentum=0.9),
        make_case("bn-cumulative", "bn", (4, 3, 6, 6), (4, 2, 6, 6), "sgd", 0.05, momentum=0.9,
                  bn_momentum=None),
        make_case("mlp-clipped", "mlp", (12, 8), (12, 4), "sgd", 0.1, momentum=0.5, clip=0.05),
        make_case("gn-adam", "gn", (2, 3, 6, 6), (2, 2, 6, 6), "adam", 0.02),
        make_case("gate-adam", "gate", (2, 4, 6, 6), (2, 4), "adam", 0.02),
        make_gan_case("gan-detach-adam", 0.05),
        make_sn_case("sn-sgd", "sgd", 0.1, momentum=0.5),
        make_sn_case("sn-adam", "adam", 0.02),
    ]
    return torchref.run(sys.argv[1], cases)


if __name__ == "__main__":
    sys.exit(main())
