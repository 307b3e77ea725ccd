"""Connectionist temporal classification: `ctc_loss` (optax's) and `ctc_decode`
(greedy, or a prefix beam search), with Keras's arguments and output layouts.

`output` / `inputs` are unnormalized logits of shape (batch, max_time, num_classes);
`mask_index` is the blank class.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.ops.operation import symbolic_function

_NEG_INF = -jnp.inf


def _float_logits(x):
    x = jnp.asarray(x)
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def _beyond(lengths, max_length: int):
    """(batch, max_length) True at the steps past each sequence's length."""
    return jnp.arange(max_length)[None, :] >= jnp.asarray(lengths)[:, None]


def _check_rank(op: str, name: str, x, rank: int, layout: str):
    if x.ndim != rank:
        raise ValueError(f"{op}: `{name}` must have shape {layout}, got shape {x.shape}.")


def _ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per sample, shape (batch,): -log p(target | output), summing over every
    alignment of the first `target_length` labels with the first `output_length` steps.
    `target` (batch, max_label_length) holds class indices, `output` logits."""
    import optax

    target = jnp.asarray(target).astype(jnp.int32)
    output = _float_logits(output)
    target_length = jnp.asarray(target_length)
    output_length = jnp.asarray(output_length)
    _check_rank("ctc_loss", "target", target, 2, "(batch, max_label_length)")
    _check_rank("ctc_loss", "output", output, 3, "(batch, max_time, num_classes)")
    batch = output.shape[0]
    for name, x in (("target", target), ("target_length", target_length),
                    ("output_length", output_length)):
        if x.shape[:1] != (batch,) or (name.endswith("length") and x.ndim != 1):
            raise ValueError(
                f"ctc_loss: `{name}` must have {batch} rows (one per sample of `output`, "
                f"shape {output.shape}), got shape {x.shape}."
            )
    label_paddings = _beyond(target_length, target.shape[1]).astype(output.dtype)
    logit_paddings = _beyond(output_length, output.shape[1]).astype(output.dtype)
    return optax.ctc_loss(output, logit_paddings, target, label_paddings, blank_id=mask_index)


# ---------------------------------------------------------------------------
# Greedy decoding
# ---------------------------------------------------------------------------
def _greedy_decode(inputs, lengths, merge_repeated, blank):
    batch, steps, _ = inputs.shape
    best = jnp.argmax(inputs, axis=-1)
    beyond = _beyond(lengths, steps)
    best = jnp.where(beyond, blank, best)
    score = jnp.where(beyond, 0.0, jnp.max(inputs, axis=-1))
    if merge_repeated:
        repeat = jnp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0)))
        best = jnp.where(repeat, blank, best)
    keep = best != blank
    # Kept labels first, in time order (argsort is stable), then -1 padding.
    order = jnp.argsort(~keep, axis=-1)
    paths = jnp.take_along_axis(jnp.where(keep, best, -1), order, axis=-1)
    return paths[None].astype(jnp.int32), -jnp.sum(score, axis=1, keepdims=True)


# ---------------------------------------------------------------------------
# Prefix beam search
# ---------------------------------------------------------------------------
def _beam_step(state, log_probs, labels, blank):
    """One time step of the prefix beam search over W beams: each beam is a distinct
    label prefix (W, T) of length `lens` (-1: an unused beam) with the log probability
    of its alignments ending in a blank (`pb`) and in its last label (`pnb`)."""
    prefixes, lens, pb, pnb = state
    width, steps = prefixes.shape
    rows, pos = jnp.arange(width), jnp.arange(steps)
    valid = lens >= 0
    last = jnp.where(lens > 0, prefixes[rows, jnp.maximum(lens - 1, 0)], -1)
    total = jnp.logaddexp(pb, pnb)
    # The same prefix: a blank after anything, or its last label repeated (collapsed).
    same_pb = total + log_probs[blank]
    same_pnb = jnp.where(lens > 0, pnb + log_probs[jnp.maximum(last, 0)], _NEG_INF)
    # The prefix extended by a label; after that same label only through a blank.
    ext = jnp.where(labels[None, :] == last[:, None], pb[:, None], total[:, None])
    ext = jnp.where(valid[:, None], ext + log_probs[labels][None, :], _NEG_INF)
    # An extension that equals another beam's prefix adds to that beam instead.
    agrees = (prefixes[None, :, :] == prefixes[:, None, :]) | (pos >= lens[:, None, None])
    is_child = jnp.all(agrees, axis=-1) & (lens[None, :] == lens[:, None] + 1) & valid[:, None]
    child_label = prefixes[:, jnp.maximum(lens, 0)].T  # [w, v] = prefixes[v, lens[w]]
    match = is_child[:, None, :] & (child_label[:, None, :] == labels[None, :, None])
    merged = jax.nn.logsumexp(jnp.where(match, ext[:, :, None], _NEG_INF), axis=(0, 1))
    same_pnb = jnp.logaddexp(same_pnb, merged)
    ext = jnp.where(jnp.any(match, axis=-1), _NEG_INF, ext).reshape(-1)
    # Keep the W most probable candidates.
    candidates = jnp.concatenate([jnp.logaddexp(same_pb, same_pnb), ext])
    best, index = jax.lax.top_k(candidates, width)
    extended = index >= width
    parent = jnp.where(extended, (index - width) // labels.shape[0], index)
    label = labels[jnp.maximum(index - width, 0) % labels.shape[0]]
    new_lens = lens[parent]
    new_prefixes = jnp.where(extended[:, None] & (pos[None, :] == new_lens[:, None]),
                             label[:, None], prefixes[parent])
    alive = best > _NEG_INF
    new_pb = jnp.where(extended | ~alive, _NEG_INF, same_pb[parent])
    new_pnb = jnp.where(extended, ext[jnp.maximum(index - width, 0)], same_pnb[parent])
    new_pnb = jnp.where(alive, new_pnb, _NEG_INF)
    new_lens = jnp.where(alive, new_lens + extended, -1)
    new_prefixes = jnp.where(alive[:, None], new_prefixes, -1)
    return new_prefixes, new_lens, new_pb, new_pnb


def _beam_search_decode(inputs, lengths, beam_width, top_paths, blank):
    batch, steps, classes = inputs.shape
    log_probs = jax.nn.log_softmax(inputs, axis=-1)
    labels = jnp.asarray(np.array([c for c in range(classes) if c != blank], np.int32))
    active = ~_beyond(lengths, steps)

    def decode(sample_log_probs, sample_active):
        init = (jnp.full((beam_width, steps), -1, jnp.int32),
                jnp.full((beam_width,), -1, jnp.int32).at[0].set(0),
                jnp.full((beam_width,), _NEG_INF, inputs.dtype).at[0].set(0.0),
                jnp.full((beam_width,), _NEG_INF, inputs.dtype))

        def step(state, xs):
            lp, on = xs
            new = _beam_step(state, lp, labels, blank)
            return jax.tree_util.tree_map(lambda a, b: jnp.where(on, a, b), new, state), None

        (prefixes, _, pb, pnb), _ = jax.lax.scan(step, init, (sample_log_probs, sample_active))
        scores, index = jax.lax.top_k(jnp.logaddexp(pb, pnb), top_paths)
        return prefixes[index], scores

    paths, scores = jax.vmap(decode)(log_probs, active)
    return jnp.transpose(paths, (1, 0, 2)), scores


def _ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
                merge_repeated=True, mask_index=0):
    """Decodes CTC logits (batch, max_time, num_classes) into label sequences.

    Returns (paths, scores). 'greedy': paths (1, batch, max_time) of the best class per
    step with repeats merged (when merge_repeated) and blanks removed, -1 after the
    last label, and scores (batch, 1) = -sum over steps of the best logit. 'beam_search':
    the `top_paths` most probable label sequences of a prefix beam search keeping
    `beam_width` prefixes, paths (top_paths, batch, max_time) padded with -1 and scores
    (batch, top_paths) their log probabilities (repeats are always merged, as CTC
    defines). `mask_index` is the blank class (None: the last class)."""
    inputs = _float_logits(inputs)
    _check_rank("ctc_decode", "inputs", inputs, 3, "(batch, max_time, num_classes)")
    lengths = jnp.asarray(sequence_lengths).astype(jnp.int32)
    if lengths.shape != inputs.shape[:1]:
        raise ValueError(
            f"ctc_decode: `sequence_lengths` must have shape ({inputs.shape[0]},) (one length "
            f"per sample), got shape {lengths.shape}."
        )
    blank = inputs.shape[-1] - 1 if mask_index is None else int(mask_index)
    if strategy == "greedy":
        return _greedy_decode(inputs, lengths, merge_repeated, blank)
    if strategy != "beam_search":
        raise ValueError(
            f"ctc_decode: `strategy` must be 'greedy' or 'beam_search', got {strategy!r}."
        )
    if not 1 <= top_paths <= beam_width:
        raise ValueError(
            f"ctc_decode: `top_paths` must be between 1 and beam_width={beam_width}, got "
            f"top_paths={top_paths}."
        )
    return _beam_search_decode(inputs, lengths, int(beam_width), int(top_paths), blank)


ctc_loss = symbolic_function(_ctc_loss, "ctc_loss")
ctc_decode = symbolic_function(_ctc_decode, "ctc_decode")

__all__ = ["ctc_decode", "ctc_loss"]
