"""The benchmark models in plain PyTorch, written as a PyTorch user writes them.

Same architectures and shapes as models_keras.py. As PyTorch users do, the modules return
logits and the losses take logits (`cross_entropy`, `binary_cross_entropy_with_logits`);
`predict` applies the softmax/sigmoid. Images are NCHW. Parameter counts equal the Keras
models' except the LSTM, whose second bias vector adds 4 * units (data.TORCH_PARAM_EXTRA),
and torchvision's ResNet50 and MobileNetV2 (e, f), which differ from Keras's in details
(README: "Models"). The text model (g) takes the token ids bench_data.tokenize makes.
"""

from __future__ import annotations

import sys

import bench_data as bd
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


_TORCHVISION_STUBS: list = []  # keeps the stub op library alive (see import_torchvision)


def import_torchvision():
    """torchvision (optional: only models e and f need it), importable on a CPU-only torch.

    The torchvision 0.28.0 wheel on PyPI is built for CUDA torch: on torch 2.13.0+cpu its
    compiled ops (_C.so, needing libc10_cuda.so) do not load, and its import then fails
    registering fake kernels for `torchvision::nms` and `qnms`, ops that do not exist. The
    models (pure Python) never use those ops: declare the two schemas and import again."""
    try:
        import torchvision
    except RuntimeError as e:
        if "torchvision::" not in str(e):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or
                     m.startswith("torchvision.")]:
            del sys.modules[name]
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for op in ("nms", "qnms"):
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_STUBS.append(lib)
        import torchvision
    return torchvision


class Vision(nn.Module):
    """(e, f) A torchvision classifier (random weights, 10 classes) returning its logits."""

    def __init__(self, name: str) -> None:
        super().__init__()
        torchvision = import_torchvision()
        self.net = getattr(torchvision.models, name)(weights=None,
                                                     num_classes=bd.IMAGE_CLASSES)

    def forward(self, x):
        return (self.net(x),)


class EncoderBlock(nn.Module):
    """Post-norm Transformer encoder block, as the Keras model's: self-attention, add &
    LayerNorm, ReLU Linear pair, add & LayerNorm."""

    def __init__(self) -> None:
        super().__init__()
        d = bd.TEXT_EMBED
        self.attention = nn.MultiheadAttention(d, bd.TEXT_HEADS, batch_first=True)
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.ff = nn.Sequential(nn.Linear(d, bd.TEXT_FF), nn.ReLU(), nn.Linear(bd.TEXT_FF, d))
        self.norm2 = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x):
        x = self.norm1(x + self.attention(x, x, x, need_weights=False)[0])
        return self.norm2(x + self.ff(x))


class TextTransformer(nn.Module):
    """(g) Token ids -> Embedding + learned positions -> 2 encoder blocks -> mean over the
    sequence -> class logits."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(bd.TEXT_MAX_TOKENS, bd.TEXT_EMBED)
        self.positions = nn.Parameter(torch.empty(bd.TEXT_SEQUENCE, bd.TEXT_EMBED)
                                      .uniform_(-0.05, 0.05))
        self.blocks = nn.Sequential(*[EncoderBlock() for _ in range(bd.TEXT_BLOCKS)])
        self.out = nn.Linear(bd.TEXT_EMBED, bd.TEXT_CLASSES)

    def forward(self, tokens):
        x = self.blocks(self.embedding(tokens) + self.positions)
        return (self.out(x.mean(dim=1)),)


MODULES = {"a": MLP, "b": Headline, "c": SharedVision, "d": Inception,
           "e": lambda: Vision("resnet50"), "f": lambda: Vision("mobilenet_v2"),
           "g": TextTransformer}


def build(key: str) -> nn.Module:
    """A fresh PyTorch module for benchmark model `key`."""
    return MODULES[key]()


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


SOFTMAX = "adefg"  # the models with a softmax output (categorical cross-entropy)


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
    if key in SOFTMAX:
        return [torch.from_numpy(targets[0].argmax(axis=1))]
    return [torch.from_numpy(t) for t in targets]


def loss_fn(key: str, outputs, targets) -> torch.Tensor:
    """The model's training loss from logits (same weighting as the Keras compile)."""
    if key in SOFTMAX:
        return F.cross_entropy(outputs[0], targets[0])
    if key == "b":
        return (F.binary_cross_entropy_with_logits(outputs[0], targets[0])
                + 0.2 * F.binary_cross_entropy_with_logits(outputs[1], targets[1]))
    return F.binary_cross_entropy_with_logits(outputs[0], targets[0])


def probabilities(key: str, outputs):
    """Logits -> what the Keras model outputs (softmax or sigmoid)."""
    if key in SOFTMAX:
        return [torch.softmax(outputs[0], dim=1)]
    return [torch.sigmoid(o) for o in outputs]
