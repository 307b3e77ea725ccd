"""The benchmark models in plain PyTorch, written as a PyTorch user writes them.

Same architectures and shapes as models_keras.py. As PyTorch users do, the modules return
logits and the losses take logits (`cross_entropy`, `binary_cross_entropy_with_logits`);
`predict` applies the softmax/sigmoid. Images are NCHW. Parameter counts equal the Keras
models' except the LSTM, whose second bias vector adds 4 * units (data.TORCH_PARAM_EXTRA).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


class MLP(nn.Module):
    """(a) 784 -> 64 -> 64 -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Linear(64, 10))

    def forward(self, x):
        return (self.net(x),)


class Headline(nn.Module):
    """(b) Embedding 10000x512 -> LSTM(32) -> aux logit; concat aux input -> 3x64 -> main."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(10000, 512)
        self.lstm = nn.LSTM(512, 32, batch_first=True)
        self.aux_out = nn.Linear(32, 1)
        self.dense = nn.Sequential(nn.Linear(37, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                   nn.Linear(64, 64), nn.ReLU())
        self.main_out = nn.Linear(64, 1)

    def forward(self, headlines, extra):
        _, (h, _) = self.lstm(self.embedding(headlines))
        lstm_out = h[-1]
        x = self.dense(torch.cat([lstm_out, extra], dim=1))
        return self.main_out(x), self.aux_out(lstm_out)


class SharedVision(nn.Module):
    """(c) One conv-conv-pool-flatten tower on both digits, concat, one logit."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = nn.Sequential(nn.Conv2d(1, 64, 3), nn.Conv2d(64, 64, 3), nn.MaxPool2d(2),
                                   nn.Flatten())
        self.out = nn.Linear(2 * 64 * 11 * 11, 1)

    def forward(self, a, b):
        return (self.out(torch.cat([self.tower(a), self.tower(b)], dim=1)),)


class Inception(nn.Module):
    """(d) Three towers (16 filters, relu, same padding), concat, global average, 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.t1 = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                                nn.ReLU())
        self.t2 = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, 16, 5, padding=2),
                                nn.ReLU())
        self.t3 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(3, 16, 1),
                                nn.ReLU())
        self.out = nn.Linear(48, 10)

    def forward(self, x):
        x = torch.cat([self.t1(x), self.t2(x), self.t3(x)], dim=1)
        return (self.out(x.mean(dim=(2, 3))),)


MODULES = {"a": MLP, "b": Headline, "c": SharedVision, "d": Inception}


def build(key: str) -> nn.Module:
    """A fresh PyTorch module for benchmark model `key`."""
    return MODULES[key]()


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def to_torch_inputs(key: str, inputs: list) -> list[torch.Tensor]:
    """numpy inputs (as data.make_data gives them) -> tensors in PyTorch's layout."""
    out = []
    for a in inputs:
        t = torch.from_numpy(a)
        if t.ndim == 4:
            t = t.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
        if t.dtype == torch.int32:
            t = t.long()
        out.append(t)
    return out


def to_torch_targets(key: str, targets: list) -> list[torch.Tensor]:
    """Targets for the logit losses: class indices for softmax models, float columns else."""
    if key in ("a", "d"):
        return [torch.from_numpy(targets[0].argmax(axis=1))]
    return [torch.from_numpy(t) for t in targets]


def loss_fn(key: str, outputs, targets) -> torch.Tensor:
    """The model's training loss from logits (same weighting as the Keras compile)."""
    if key in ("a", "d"):
        return F.cross_entropy(outputs[0], targets[0])
    if key == "b":
        return (F.binary_cross_entropy_with_logits(outputs[0], targets[0])
                + 0.2 * F.binary_cross_entropy_with_logits(outputs[1], targets[1]))
    return F.binary_cross_entropy_with_logits(outputs[0], targets[0])


def probabilities(key: str, outputs):
    """Logits -> what the Keras model outputs (softmax or sigmoid)."""
    if key in ("a", "d"):
        return [torch.softmax(outputs[0], dim=1)]
    return [torch.sigmoid(o) for o in outputs]
