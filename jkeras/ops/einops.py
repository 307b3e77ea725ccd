"""`rearrange`: einops-style reordering, splitting and merging of axes, as
`keras.ops.rearrange` does.

A pattern such as ``"b (h w) c -> b h w c"`` names each input axis on the left and the
output axes on the right; parentheses group several named axes into one dimension
(their product). Every name appears once on each side; a group splitting an input axis
may leave one of its sizes out (it is inferred), the others come as keyword arguments
(``h=4``).
"""

from __future__ import annotations

import math
import re

import jax.numpy as jnp

from jkeras.ops.spec_function import KerasTensor, spec_function

_TOKEN = re.compile(r"\(([^()]*)\)|([A-Za-z_]\w*)|(\S)")


def _parse_side(text: str, pattern: str) -> list:
    groups = []
    for match in _TOKEN.finditer(text):
        grouped, name, other = match.groups()
        if other is not None or (grouped is not None and not grouped.split()):
            raise ValueError(
                f"rearrange: cannot read {match.group(0)!r} in pattern {pattern!r}: use axis "
                f"names (letters, digits, _) and parentheses around groups of names, e.g. "
                f"'b (h w) c -> b h w c'."
            )
        names = grouped.split() if grouped is not None else [name]
        for n in names:
            if not re.fullmatch(r"[A-Za-z_]\w*", n):
                raise ValueError(f"rearrange: {n!r} in pattern {pattern!r} is not an axis name.")
        groups.append(names)
    return groups


def _product(values):
    return None if any(v is None for v in values) else math.prod(values)


def _plan(pattern: str, input_shape: tuple, axes_lengths: dict):
    """(decomposed input shape, permutation, output shape) for `pattern`; None stands
    for an unknown size."""
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must read 'input axes -> output axes', got "
                         f"{pattern!r}.")
    left, right = (_parse_side(side, pattern) for side in pattern.split("->"))
    flat_left = [a for g in left for a in g]
    flat_right = [a for g in right for a in g]
    for side, flat in (("input", flat_left), ("output", flat_right)):
        repeated = sorted({a for a in flat if flat.count(a) > 1})
        if repeated:
            raise ValueError(f"rearrange: axis names {repeated} appear twice on the {side} "
                             f"side of {pattern!r}.")
    if set(flat_left) != set(flat_right):
        raise ValueError(
            f"rearrange: both sides of {pattern!r} must name the same axes; only on the "
            f"input side: {sorted(set(flat_left) - set(flat_right))}, only on the output "
            f"side: {sorted(set(flat_right) - set(flat_left))}."
        )
    unused = sorted(set(axes_lengths) - set(flat_left))
    if unused:
        raise ValueError(f"rearrange: axis lengths {unused} name no axis of {pattern!r}.")
    if len(left) != len(input_shape):
        raise ValueError(
            f"rearrange: the input side of {pattern!r} has {len(left)} axes, but the tensor "
            f"has shape {tuple(input_shape)} ({len(input_shape)} axes)."
        )
    sizes = dict(axes_lengths)
    for group, dim in zip(left, input_shape):
        unknown = [a for a in group if a not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(
                f"rearrange: the sizes of {unknown} in {pattern!r} cannot all be inferred; "
                f"give all but one as keyword arguments (e.g. {unknown[0]}=...)."
            )
        known = math.prod(axes_lengths[a] for a in group if a in axes_lengths)
        if unknown:
            if dim is not None and dim % known:
                raise ValueError(f"rearrange: dimension {dim} of shape {tuple(input_shape)} "
                                 f"cannot be split into {group} with {axes_lengths}.")
            sizes[unknown[0]] = None if dim is None else dim // known
        elif dim is not None and dim != known:
            raise ValueError(f"rearrange: dimension {dim} of shape {tuple(input_shape)} does "
                             f"not match {group} = {known} with {axes_lengths}.")
    decomposed = [sizes[a] for a in flat_left]
    permutation = [flat_left.index(a) for a in flat_right]
    output_shape = [_product([sizes[a] for a in g]) for g in right]
    return decomposed, permutation, output_shape


def _rearrange(tensor, pattern, **axes_lengths):
    """Reorders, splits and merges the axes of `tensor` as `pattern` says, e.g.
    ``rearrange(x, "b h w c -> b (h w) c")`` or ``rearrange(x, "b (h w) -> b h w", h=2)``."""
    tensor = jnp.asarray(tensor)
    decomposed, permutation, output_shape = _plan(pattern, tensor.shape, axes_lengths)
    return jnp.transpose(tensor.reshape(decomposed), permutation).reshape(output_shape)


def _rearrange_spec(tensor, pattern, **axes_lengths):
    return KerasTensor(_plan(pattern, tensor.shape, axes_lengths)[2], tensor.dtype)


rearrange = spec_function(_rearrange, _rearrange_spec, "rearrange")

__all__ = ["rearrange"]
