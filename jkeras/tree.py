"""`keras.tree`: utilities for nested structures of lists, tuples and dicts.

The rules are Keras 3's (which uses optree):

- Nested containers are exactly: `list`, `tuple`, namedtuples (tuple subclasses with
  `_fields`), structseqs (`time.struct_time`, ...), `collections.deque`, and the dicts
  `dict`, `collections.OrderedDict`, `collections.defaultdict`. Anything else, subclasses
  of list/dict included, is a leaf: arrays, KerasTensors, Variables, strings, sets.
- `None` is a leaf (`map_structure(..., none_is_leaf=False)` is the one exception).
- A `dict` or `defaultdict` is flattened in sorted-key order (keys that cannot be
  compared are sorted by `(type name, key)`, else kept in insertion order), an
  `OrderedDict` in insertion order; a rebuilt dict keeps the key order of the
  structure it was rebuilt from.
- Structures match when their containers have the same type, except that the three
  dict types match each other (and pair their values by key). Mismatches raise
  ValueError.

`jax.tree_util` is not used: it sorts dict keys when rebuilding, treats `None` as an
empty container, does not know deques or structseqs, and would look inside any class
registered as a pytree.
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
    "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
    "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse",
]

_DICT_TYPES = (dict, collections.OrderedDict, collections.defaultdict)
_STRUCTSEQ_FIELDS = ("n_sequence_fields", "n_fields", "n_unnamed_fields")


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Returned by a `traverse` function to replace a sub-structure by `None`."""


# --- what is a container --------------------------------------------------------

def _is_namedtuple(x) -> bool:
    cls = type(x)
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple) and (
        hasattr(cls, "_make"))


def _is_structseq(x) -> bool:
    cls = type(x)
    return issubclass(cls, tuple) and cls is not tuple and all(
        isinstance(getattr(cls, f, None), int) for f in _STRUCTSEQ_FIELDS)


def _node_kind(x, none_is_leaf: bool = True) -> str | None:
    """The container kind of `x` ('list', 'dict', ...), or None for a leaf."""
    cls = type(x)
    if cls is list:
        return "list"
    if cls is tuple:
        return "tuple"
    if cls in _DICT_TYPES:
        return "dict"
    if cls is collections.deque:
        return "deque"
    if x is None:
        return None if none_is_leaf else "none"
    if issubclass(cls, tuple):
        if _is_namedtuple(x):
            return "namedtuple"
        if _is_structseq(x):
            return "structseq"
    return None


def _sorted_keys(d) -> list:
    """The keys of a dict in flattening order (see the module docstring)."""
    if type(d) is collections.OrderedDict:
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        pass
    try:
        return sorted(d, key=lambda k: (f"{type(k).__module__}.{type(k).__qualname__}", k))
    except TypeError:
        return list(d)


def _keys(x, kind: str) -> list:
    """The child keys of a container in flattening order (indices for sequences)."""
    if kind == "dict":
        return _sorted_keys(x)
    if kind == "none":
        return []
    return list(range(len(x)))


def _children(x, kind: str) -> list:
    if kind == "dict":
        return [x[k] for k in _sorted_keys(x)]
    if kind == "none":
        return []
    return list(x)


def _rebuild(x, kind: str, values: list):
    """A container like `x` (same type and key order) holding `values`, given in
    flattening order."""
    if kind == "list":
        return values
    if kind == "tuple":
        return tuple(values)
    if kind == "dict":
        by_key = dict(zip(_sorted_keys(x), values))
        if type(x) is collections.defaultdict:
            return collections.defaultdict(x.default_factory, ((k, by_key[k]) for k in x))
        return type(x)((k, by_key[k]) for k in x)
    if kind == "namedtuple":
        return type(x)(*values)
    if kind == "structseq":
        return type(x)(values)
    if kind == "deque":
        return collections.deque(values, maxlen=x.maxlen)
    return None  # "none": an empty container


def _type_label(x, kind: str) -> str:
    if kind in ("namedtuple", "structseq"):
        return f"the {kind} {type(x).__module__}.{type(x).__qualname__}"
    if kind == "none":
        return "None"
    if kind == "deque":
        return "collections.deque"
    return type(x).__name__


def _children_like(template, kind: str, other, path: tuple) -> list:
    """The children of `other` matched to those of `template` (a container of `kind`):
    ValueError naming the position when `other` is not a container of the same kind,
    has another length, or other keys."""
    where = f" at {list(path)}" if path else ""
    other_kind = _node_kind(other, kind != "none")
    if kind == "none":
        if other is not None:
            raise ValueError(f"Structures differ{where}: expected None, got {other!r:.100}.")
        return []
    if other_kind != kind or (kind in ("namedtuple", "structseq") and type(other) is not (
            type(template))):
        got = type(other).__name__
        if type(other).__name__ == type(template).__name__:
            got = f"another class also named {got} (from {type(other).__module__})"
        raise ValueError(
            f"Structures differ{where}: expected an instance of {_type_label(template, kind)}, "
            f"got {got}: {other!r:.100}."
        )
    if kind == "dict":
        keys = _sorted_keys(template)
        if set(keys) != set(other):
            missing = [k for k in keys if k not in other]
            extra = [k for k in other if k not in template]
            raise ValueError(
                f"Structures differ{where}: dict keys {keys} expected, got {list(other)} "
                f"(missing {missing}, extra {extra})."
            )
        return [other[k] for k in keys]
    if len(other) != len(template):
        raise ValueError(
            f"Structures differ{where}: a {type(template).__name__} of length {len(template)} "
            f"expected, got length {len(other)}: {other!r:.100}."
        )
    return list(other)


def _check_callable(func, where: str) -> None:
    if not callable(func):
        raise TypeError(f"keras.tree.{where}: `func` must be callable, got "
                        f"{type(func).__name__} {func!r:.60}.")


_NOT_SAME = "Structures don't have the same nested structure"


# --- public functions -----------------------------------------------------------

def is_nested(structure) -> bool:
    """True for a list, tuple, namedtuple, deque or dict (the containers `flatten`
    looks into); False for anything else, `None` included."""
    return _node_kind(structure) is not None


def flatten(structure) -> list:
    """The leaves of `structure` as a list, depth first; dicts in sorted-key order
    (OrderedDicts in insertion order). A leaf gives `[structure]`, `None` gives
    `[None]`; empty containers contribute nothing."""
    return [leaf for _, leaf in _walk(structure, ())]


def flatten_with_path(structure) -> list:
    """`[(path, leaf), ...]` in `flatten`'s order; a path is the tuple of indices
    (sequences, namedtuples) and keys (dicts) leading to the leaf."""
    return list(_walk(structure, ()))


def _walk(structure, path: tuple):
    # an explicit stack: deep structures do not hit Python's recursion limit
    stack = [(structure, path)]
    while stack:
        node, at = stack.pop()
        kind = _node_kind(node)
        if kind is None:
            yield at, node
            continue
        pairs = list(zip(_keys(node, kind), _children(node, kind)))
        stack.extend((child, (*at, key)) for key, child in reversed(pairs))


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """`func` applied to the leaves of `structures` taken together, in a structure
    like the first one. The structures must match (ValueError otherwise; dicts pair
    by key). With `none_is_leaf=False`, `None` entries stay `None` without calling
    `func`."""
    if not structures:
        raise ValueError("Must provide at least one structure")
    _check_callable(func, "map_structure")
    return _map(func, structures, none_is_leaf, (), len(structures) > 1)


def _map(func, structures, none_is_leaf: bool, path: tuple, check_leaves: bool):
    first = structures[0]
    kind = _node_kind(first, none_is_leaf)
    if kind is None:
        if check_leaves and any(_node_kind(s, none_is_leaf) is not None
                                for s in structures[1:]):
            where = f" at {list(path)}" if path else ""
            raise ValueError(f"{_NOT_SAME}{where}: a leaf in the first structure "
                             f"({first!r:.60}) is a container in another.")
        return func(*structures)
    columns = [_children_like(first, kind, s, path) for s in structures[1:]]
    keys = _keys(first, kind)
    values = [
        _map(func, (child, *(col[i] for col in columns)), none_is_leaf, (*path, keys[i]),
             check_leaves)
        for i, child in enumerate(_children(first, kind))
    ]
    return _rebuild(first, kind, values)


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """`func` applied at each leaf of `shallow_structure` (`None` included) to the
    sub-structures of `structures` found there, in a structure like
    `shallow_structure`. `structures` may be nested deeper than
    `shallow_structure`, not shallower (ValueError).

    Keras 3.15.1 raises ValueError when `shallow_structure` holds `None` (its own
    documented examples fail); jkeras follows the documentation."""
    if not structures:
        raise ValueError("Must provide at least one structure")
    _check_callable(func, "map_structure_up_to")
    return _map_up_to(shallow_structure, func, structures, ())


def _map_up_to(shallow, func, structures, path: tuple):
    kind = _node_kind(shallow)
    if kind is None:
        return func(*structures)
    columns = [_children_like(shallow, kind, s, path) for s in structures]
    keys = _keys(shallow, kind)
    values = [
        _map_up_to(child, func, [col[i] for col in columns], (*path, keys[i]))
        for i, child in enumerate(_children(shallow, kind))
    ]
    return _rebuild(shallow, kind, values)


def assert_same_structure(a, b, check_types=None) -> None:
    """ValueError unless `a` and `b` have the same containers (same types; the dict
    types match each other by keys) with leaves at the same places.
    `check_types` is deprecated and has no effect (a DeprecationWarning says so)."""
    if check_types is not None:
        advice = ("remove it." if check_types else
                  "for a looser check use keras.tree.assert_same_paths(), under which a "
                  "list, a tuple, a namedtuple and a deque of the same length match.")
        warnings.warn("keras.tree.assert_same_structure: `check_types` is deprecated and "
                      f"has no effect; {advice}", DeprecationWarning, stacklevel=2)
    _map(lambda *_: None, (a, b), True, (), True)


def assert_same_paths(a, b) -> None:
    """ValueError unless `a` and `b` have the same set of leaf paths (container types
    are not compared: a list matches a tuple or a namedtuple with as many items);
    the message lists the paths found in only one of them."""
    a_paths = {p for p, _ in _walk(a, ())}
    b_paths = {p for p, _ in _walk(b, ())}
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """The leaves `flat_sequence` (any iterable) put back into the shape of
    `structure`, in `flatten`'s order (dict keys keep `structure`'s order).
    ValueError when the number of leaves differs; TypeError when `flat_sequence`
    is not iterable."""
    try:
        leaves = list(flat_sequence)
    except TypeError:
        raise TypeError(
            f"keras.tree.pack_sequence_as: `flat_sequence` must be an iterable (a list of "
            f"leaves), got {type(flat_sequence).__name__} {flat_sequence!r:.60}."
        ) from None
    expected = sum(1 for _ in _walk(structure, ()))
    if len(leaves) != expected:
        raise ValueError(
            f"keras.tree.pack_sequence_as: the structure has {expected} leaves but "
            f"`flat_sequence` has {len(leaves)}; pass one value per leaf of the structure."
        )
    position = iter(leaves)
    return _map(lambda _: next(position), (structure,), True, (), False)


def traverse(func: Callable, structure, top_down: bool = True):
    """Visits every sub-structure depth first (parents before children when
    `top_down`, after them otherwise) and returns the structure rebuilt from what
    `func` returns: `None` keeps the sub-structure (top-down: and visits its
    children), `MAP_TO_NONE` replaces it by `None`, anything else replaces it
    (top-down: without visiting its children)."""
    _check_callable(func, "traverse")
    return _traverse(func, structure, top_down)


def _traverse(func, structure, top_down: bool):
    def children_traversed():
        kind = _node_kind(structure)
        if kind is None:
            return structure
        return _rebuild(structure, kind, [_traverse(func, c, top_down)
                                          for c in _children(structure, kind)])

    if top_down:
        out = func(structure)
        if out is None:
            return children_traversed()
    else:
        traversed = children_traversed()
        out = func(traversed)
        if out is None:
            return traversed
    return None if out is MAP_TO_NONE else out


def lists_to_tuples(structure):
    """The structure with every list (at any depth) turned into a tuple."""
    return traverse(lambda x: tuple(x) if type(x) is list else None, structure,
                    top_down=False)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(
        isinstance(e, int) or e is None for e in x)


def map_shape_structure(func: Callable, structure):
    """Like `map_structure(func, structure)`, but a list or tuple whose items are all
    ints or None (a shape, `()` included) is passed to `func` whole."""
    _check_callable(func, "map_shape_structure")

    def visit(x):
        if _is_shape(x) or _node_kind(x) is None:
            return func(x)
        kind = _node_kind(x)
        return _rebuild(x, kind, [visit(c) for c in _children(x, kind)])

    return visit(structure)

