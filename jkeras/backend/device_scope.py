"""`keras.device`: run the computations of a block on a chosen device."""

from __future__ import annotations

import contextlib

import jax


def _parse(device_name: str):
    if not isinstance(device_name, str):
        raise ValueError(f"device: expected a name like 'cpu', 'gpu:0', got {device_name!r}.")
    name = device_name.lower().replace("/device:", "").replace("/", "")
    kind, _, index = name.partition(":")
    kind = {"cuda": "gpu"}.get(kind, kind)
    try:
        devices = jax.devices(kind)
    except RuntimeError:
        raise ValueError(
            f"device({device_name!r}): no {kind!r} device is available here; available: "
            f"{sorted({d.platform for d in jax.devices()})} (and 'cpu')."
        ) from None
    i = int(index) if index else 0
    if not 0 <= i < len(devices):
        raise ValueError(
            f"device({device_name!r}): there are {len(devices)} {kind} device(s) (0 to "
            f"{len(devices) - 1})."
        )
    return devices[i]


@contextlib.contextmanager
def device(device_name: str):
    """Within the block, new arrays and computations go to `device_name`
    ('cpu', 'cpu:0', 'gpu:1', 'tpu:0', ...)."""
    with jax.default_device(_parse(device_name)):
        yield
