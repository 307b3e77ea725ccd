"""The order in which a fit visits its data, as a pure function of a seed.

A shuffling fit draws one seed from numpy's global generator when it starts
(`draw_seed`: `set_random_seed` / `np.random.seed` make it repeatable); the
order of epoch `e` is then a function of `(seed, e)` alone. So a fit resumed
from a backup (`BackupAndRestore`) that restores the seed visits the rest of
the data in exactly the order of an uninterrupted run, and can start in the
middle of an epoch (`skip_batches`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def draw_seed() -> int:
    """A data-order seed from numpy's global generator (one draw)."""
    return int(np.random.randint(0, 2**31 - 1, dtype=np.int64))


def generator(seed: int, epoch: int, part: int = 0) -> np.random.Generator:
    """The generator for pass `part` of epoch `epoch` of a fit seeded `seed`."""
    return np.random.default_rng([int(seed), int(epoch), int(part)])


def pass_order(n: int, batch_size: int, shuffle, rng: np.random.Generator | None) -> np.ndarray:
    """One pass over `n` rows in batches of `batch_size`: for each batch position
    (ceil(n / batch_size) * batch_size of them) the data row, or -1 for padding.
    `shuffle`: False (in order), True (rows shuffled) or 'batch' (consecutive
    blocks of `batch_size` rows, the blocks shuffled); `rng` draws the shuffle."""
    steps = -(-n // batch_size)
    total = steps * batch_size
    if shuffle == "batch":
        out = np.full(total, -1, dtype=np.int64)
        for pos, b in enumerate(rng.permutation(steps)):
            rows = np.arange(b * batch_size, min((b + 1) * batch_size, n))
            out[pos * batch_size:pos * batch_size + len(rows)] = rows
        return out
    rows = rng.permutation(n) if shuffle else np.arange(n)
    if total > n:
        rows = np.concatenate([rows, np.full(total - n, -1, dtype=rows.dtype)])
    return rows


def skip_batches(items: Iterator, count: int, window_type: type) -> Iterator:
    """`items` (windows of `window_type` with `start`/`steps` fields, and single
    batches) without their first `count` batches."""
    for item in items:
        if count <= 0:
            yield item
        elif isinstance(item, window_type):
            if item.steps <= count:
                count -= item.steps
                continue
            yield item._replace(start=item.start + count, steps=item.steps - count)
            count = 0
        else:
            count -= 1
