"""EinsumDense: a dense layer whose product is any einsum of the input with a
kernel, `activation(einsum(equation, inputs, kernel) + bias)`, as Keras 3's.

The equation takes one of the forms `ab,bc->ac` (no ellipsis; the first letter
of the input and output is the batch axis), `...ab,bc->...ac` (leading axes
elided) or `ab...,bc->ac...` (trailing axes elided). `output_shape` gives the
output's sizes without the batch axis and the elided axes (None where the input
decides). The kernel's shape follows from the letters it shares with the output
and the input; the bias has the output's sizes along `bias_axes` and 1 elsewhere
from the first bias axis on, so that it broadcasts. With `lora_rank`, the kernel
is frozen and a trainable low-rank delta `a @ b` (scaled by lora_alpha / rank)
is added to it; files store the merged kernel, as Keras does.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from jkeras import initializers
from jkeras.engine.input_spec import InputSpec
from jkeras.engine.layer import Layer
from jkeras.layers.arguments import KERNEL_BIAS_ARGUMENTS, arguments_config, set_arguments

_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"),
)


class EinsumShapes(NamedTuple):
    """What an equation, bias_axes, input shape and partial output shape imply."""

    kernel: tuple
    bias: tuple | None
    output: tuple
    input_axes: tuple  # kernel axes shared with the input (fan in)
    output_axes: tuple  # kernel axes shared with the output (fan out)


def parse_equation(owner: str, equation) -> tuple[str, str, str, str | None]:
    """(input letters, kernel letters, output letters, elided side or None)."""
    text = str(equation).replace(" ", "") if isinstance(equation, str) else None
    for pattern, side in _FORMS:
        m = pattern.fullmatch(text or "")
        if m:
            return m.group(1), m.group(2), m.group(3), side
    raise ValueError(
        f"{owner}: invalid einsum equation {equation!r}. Use the form 'ab,bc->ac', "
        f"'...ab,bc->...ac' or 'ab...,bc->ac...' (input, kernel -> output)."
    )


def analyze_einsum(owner: str, equation, bias_axes, input_shape, partial_output) -> EinsumShapes:
    """Kernel, bias and full output shapes (see the module docstring); clear errors
    for letters that do not match up and for unknown kernel sizes."""
    inp, wt, out, side = parse_equation(owner, equation)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(inp)
    if elided < 0 or (side is None and elided):
        raise ValueError(
            f"{owner}: the equation '{equation}' describes inputs of rank {len(inp)}"
            f"{' or more' if side else ''}, but the input has shape {input_shape}."
        )
    partial = list(partial_output)
    expected = len(out) if side == "left" else len(out) - 1
    if len(partial) != expected:
        raise ValueError(
            f"{owner}: output_shape must give {expected} size(s) (the output axes "
            f"'{out}' without the batch axis{' and the elided axes' if side else ''}), got "
            f"{tuple(partial_output)}."
        )
    if side == "left":
        full = list(input_shape[:elided]) + partial
        offset = elided
    else:
        full = [input_shape[0]] + partial + (list(input_shape[len(inp):]) if side else [])
        offset = 0
    in_pos = {c: offset + i for i, c in enumerate(inp)}
    out_pos = {c: offset + i for i, c in enumerate(out)}
    for c in inp:
        if c in out_pos:
            size_in, size_out = input_shape[in_pos[c]], full[out_pos[c]]
            if size_out is None:
                full[out_pos[c]] = size_in
            elif size_in is not None and size_in != size_out:
                raise ValueError(
                    f"{owner}: the input and output_shape disagree on axis '{c}' of "
                    f"'{equation}': the input has {size_in}, output_shape {size_out}."
                )
    for c in out:
        if c not in inp and c not in wt:
            raise ValueError(
                f"{owner}: output axis '{c}' of '{equation}' appears neither in the input "
                f"'{inp}' nor in the kernel '{wt}'."
            )
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(wt):
        if c in out_pos:
            size = full[out_pos[c]]
            output_axes.append(i)
        elif c in in_pos:
            size = input_shape[in_pos[c]]
            input_axes.append(i)
        else:
            raise ValueError(
                f"{owner}: kernel axis '{c}' of '{equation}' appears neither in the input "
                f"'{inp}' nor in the output '{out}'; every kernel axis must be one of theirs."
            )
        if size is None:
            raise ValueError(
                f"{owner}: the size of kernel axis '{c}' of '{equation}' is unknown; give it "
                f"in output_shape or in the input shape (input shape {input_shape}, "
                f"output_shape {tuple(partial_output)})."
            )
        kernel.append(int(size))
    bias = None
    if bias_axes is not None:
        missing = [c for c in bias_axes if c not in out]
        if missing:
            raise ValueError(
                f"{owner}: bias_axes '{bias_axes}' names axis {missing[0]!r}, which is not "
                f"an output axis of '{equation}' ('{out}')."
            )
        first = min(out.index(c) for c in bias_axes)
        bias = [full[out_pos[c]] if c in bias_axes else 1 for c in out[first:]]
        if side == "right":
            bias += [1] * elided
        bias = tuple(int(b) for b in bias)
    return EinsumShapes(tuple(kernel), bias, tuple(full), tuple(input_axes), tuple(output_axes))


def fan_aware_initializer(init, input_axes, output_axes):
    """For a variance-scaling initializer, one whose fans are the products of the
    kernel's input and output axes (as Keras gives EinsumDense kernels); other
    initializers are returned unchanged."""
    if not isinstance(init, initializers.VarianceScaling):
        return init

    def initialize(shape, dtype="float32"):
        fan_in = int(np.prod([shape[a] for a in input_axes]))
        fan_out = int(np.prod([shape[a] for a in output_axes]))
        rest = int(np.prod(shape)) // max(1, fan_in * fan_out)
        # variance scaling draws i.i.d. values: drawing them as a (fan_in, fan_out)
        # matrix gives the fans wanted, whatever the order of the kernel's axes
        return jnp.reshape(init((fan_in, fan_out * rest), dtype), shape)

    return initialize


class _MergedLoraKernel:
    """How a LoRA-enabled EinsumDense stores its kernel in weights files: the kernel
    with the low-rank delta merged in; loading sets the kernel and zeroes the delta."""

    def __init__(self, layer: EinsumDense):
        self.layer = layer
        self.name, self.path = "kernel", layer._kernel.path
        self.shape, self.dtype = layer._kernel.shape, layer._kernel.dtype
        self.trainable = True

    @property
    def _value(self):
        return self.layer._effective_kernel().astype(self.dtype)

    value = _value

    def assign(self, value) -> None:
        self.layer._kernel.assign(value)
        for v in (self.layer.lora_kernel_a, self.layer.lora_kernel_b):
            v.assign(jnp.zeros(v.shape, v.dtype))


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`; see the module doc.

    Weights: `kernel` (shape from the equation), `bias` (with `bias_axes`), and
    with LoRA `lora_kernel_a` (kernel.shape[:-1] + (rank,)) and `lora_kernel_b`
    ((rank, kernel.shape[-1])).
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"EinsumDense '{self.name}'"
        parse_equation(owner, equation)
        if quantization_config is not None or gptq_unpacked_column_size:
            raise NotImplementedError(
                f"{owner}: quantization (quantization_config, gptq_unpacked_column_size) is "
                f"not supported by jkeras; pass None."
            )
        if isinstance(output_shape, (int, np.integer)) and not isinstance(output_shape, bool):
            output_shape = (int(output_shape),)
        try:
            self.partial_output_shape = tuple(
                None if d is None else int(d) for d in output_shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: output_shape must be an integer or a tuple of integers/None, got "
                f"{output_shape!r}."
            ) from None
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"{owner}: bias_axes must be a string of output axis letters or "
                            f"None, got {bias_axes!r}.")
        self.equation = equation
        self.bias_axes = bias_axes
        set_arguments(self, activation=activation, kernel_initializer=kernel_initializer,
                      bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                      bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint)
        if lora_rank is not None and (not isinstance(lora_rank, (int, np.integer))
                                      or lora_rank <= 0):
            raise ValueError(f"{owner}: lora_rank must be a positive integer or None, got "
                             f"{lora_rank!r}.")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = None
        self.gptq_unpacked_column_size = None
        self.bias = None

    def _shapes(self, input_shape) -> EinsumShapes:
        return analyze_einsum(f"EinsumDense '{self.name}'", self.equation, self.bias_axes,
                              input_shape, self.partial_output_shape)

    def batch_independent(self, training=None) -> bool:
        inp, wt, out, side = parse_equation(self.name, self.equation)
        return side == "left" or (inp[0] == out[0] and inp[0] not in wt)

    def build(self, input_shape):
        shapes = self._shapes(input_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = fan_aware_initializer(self.kernel_initializer, shapes.input_axes,
                                     shapes.output_axes)
        self._kernel = self.add_weight("kernel", shapes.kernel, init,
                                       regularizer=self.kernel_regularizer,
                                       constraint=self.kernel_constraint)
        if shapes.bias is not None:
            self.bias = self.add_weight("bias", shapes.bias, self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def kernel(self):
        if not self.built:
            raise AttributeError(f"EinsumDense '{self.name}' is not built yet: call it on an "
                                 f"input (or build it) before reading `kernel`.")
        return self._kernel

    def _effective_kernel(self):
        kernel = self._kernel.value
        if self.lora_enabled:
            delta = jnp.matmul(self.lora_kernel_a.value, self.lora_kernel_b.value)
            kernel = kernel + (self.lora_alpha / self.lora_rank) * delta.astype(kernel.dtype)
        return kernel

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros") -> None:
        """Freezes the kernel and adds the trainable low-rank delta of rank `rank`."""
        owner = f"EinsumDense '{self.name}'"
        if self.kernel_constraint is not None:
            raise ValueError(f"{owner}: LoRA cannot be combined with a kernel_constraint; "
                             f"remove the constraint to enable LoRA.")
        if not self.built:
            raise ValueError(f"{owner}: build the layer before enabling LoRA.")
        if self.lora_enabled:
            raise ValueError(f"{owner}: LoRA is already enabled (it can be enabled once).")
        shape = self._kernel.shape
        self.lora_kernel_a = self.add_weight("lora_kernel_a", (*shape[:-1], rank),
                                             a_initializer, dtype="float32",
                                             regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight("lora_kernel_b", (rank, shape[-1]),
                                             b_initializer, dtype="float32",
                                             regularizer=self.kernel_regularizer)
        self._kernel.trainable = False
        self.lora_enabled = True
        self.lora_rank = int(rank)
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _saveable_variables(self) -> list:
        """Keras's file layout: kernel (merged with the LoRA delta), then bias."""
        kernel = _MergedLoraKernel(self) if self.lora_enabled else self._kernel
        return [kernel] + ([self.bias] if self.bias is not None else [])

    def call(self, inputs):
        y = jnp.einsum(self.equation, inputs, self._effective_kernel())
        if self.bias is not None:
            y = y + self.bias.value
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        return self._shapes(input_shape).output

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "bias_axes": self.bias_axes,
            **arguments_config(self, "activation", *KERNEL_BIAS_ARGUMENTS,
                               "activity_regularizer"),
            "quantization_config": None,
        }
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config


__all__ = ["EinsumDense"]
