"""jkeras.tree: Keras 3's nested-structure rules (sorted dict keys, key order kept on
rebuild, None as a leaf, namedtuples/deques/structseqs, errors)."""

import collections
import time
import warnings

import numpy as np
import pytest

from jkeras import tree

Point = collections.namedtuple("Point", ["y", "x"])
OD = collections.OrderedDict


def test_public_names():
    assert sorted(tree.__all__) == sorted([
        "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
        "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
        "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"])
    assert all(hasattr(tree, n) for n in tree.__all__)


def test_is_nested():
    nested = [[], (), {}, OD(), Point(1, 2), collections.deque(), time.gmtime(0),
              collections.defaultdict(list)]
    leaves = [None, 1, "ab", b"x", {1, 2}, np.zeros(2), type("D", (dict,), {})(a=1)]
    assert all(tree.is_nested(x) for x in nested)
    assert not any(tree.is_nested(x) for x in leaves)


def test_flatten_orders_and_none():
    assert tree.flatten({"b": 1, "a": 2}) == [2, 1]
    assert tree.flatten(OD([("b", 1), ("a", 2)])) == [1, 2]
    assert tree.flatten(collections.defaultdict(int, {"b": 1, "a": 2})) == [2, 1]
    assert tree.flatten(None) == [None]
    assert tree.flatten([None, {}, [], ()]) == [None]
    assert tree.flatten([[1, 2, 3], [4, [5], [[6]]]]) == [1, 2, 3, 4, 5, 6]
    assert tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    # keys of mixed types: by type name, then key; incomparable keys: insertion order
    assert tree.flatten({"b": 1, 2: 2, 1.5: 3, "a": 4}) == [3, 2, 4, 1]
    key_class = type("Key", (), {"__hash__": lambda s: id(s)})
    assert tree.flatten({key_class(): "first", key_class(): "second"}) == ["first", "second"]
    assert tree.flatten(collections.deque([1, [2]], maxlen=4)) == [1, 2]
    assert tree.flatten(time.gmtime(0))[:3] == [1970, 1, 1]
    deep = 0
    for _ in range(3000):  # deeper than Python's recursion limit
        deep = [deep]
    assert tree.flatten(deep) == [0]


def test_flatten_with_path():
    got = tree.flatten_with_path([{"foo": 42, "a": None}, Point(1, (2,)), 3])
    assert got == [((0, "a"), None), ((0, "foo"), 42), ((1, 0), 1), ((1, 1, 0), 2),
                   ((2,), 3)]
    assert tree.flatten_with_path(5) == [((), 5)]


def test_map_structure_keeps_types_and_key_order():
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    out = tree.map_structure(lambda v: v * 10, dd)
    assert type(out) is collections.defaultdict and out.default_factory is list
    assert list(out.items()) == [("b", 10), ("a", 20)]
    assert list(tree.map_structure(lambda a, b: a + b, {"b": 1, "a": 2},
                                   {"a": 10, "b": 20}).items()) == [("b", 21), ("a", 12)]
    mixed = tree.map_structure(lambda a, b: a + b, OD([("a", 10), ("b", 20)]), {"b": 1, "a": 2})
    assert type(mixed) is OD and list(mixed.items()) == [("a", 12), ("b", 21)]
    assert tree.map_structure(lambda v: v * 2, Point(1, 2)) == Point(2, 4)
    q = tree.map_structure(lambda v: v, collections.deque([1, 2], maxlen=5))
    assert q.maxlen == 5 and list(q) == [1, 2]
    assert type(tree.map_structure(lambda v: v, time.gmtime(0))) is time.struct_time
    calls = []
    tree.map_structure(calls.append, {"b": 1, "a": 2, "c": [3]})
    assert calls == [2, 1, 3]  # leaves visited in flatten order


def test_map_structure_none():
    assert tree.map_structure(lambda v: 1, [None, 2]) == [1, 1]
    assert tree.map_structure(lambda v: 1, [None, 2], none_is_leaf=False) == [None, 1]
    assert tree.map_structure(lambda v: 1, None, none_is_leaf=False) is None
    assert tree.map_structure(lambda a, b: 1, [None, 2], [None, 3], none_is_leaf=False) == [
        None, 1]
    with pytest.raises(ValueError, match="expected None"):
        tree.map_structure(lambda a, b: 1, [None, 2], [5, 3], none_is_leaf=False)
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure(lambda a, b: 1, [5, 2], [None, 3], none_is_leaf=False)


@pytest.mark.parametrize("a,b,match", [
    ([1, 2], (3, 4), "expected an instance of list, got tuple"),
    ([1, 2], [3, 4, 5], "length 2 expected, got length 3"),
    ({"a": 1}, {"b": 2}, r"missing \['a'\], extra \['b'\]"),
    ([1, 2], [[3], 4], "same nested structure at \\[0\\]"),
    ([[3], 4], [1, 2], "expected an instance of list, got int"),
    (Point(1, 2), (1, 2), "namedtuple"),
    (Point(1, 2), collections.namedtuple("Point", ["y", "x"])(1, 2), "another class"),
    (collections.deque([1]), [1], "deque"),
])
def test_mismatched_structures(a, b, match):
    with pytest.raises(ValueError, match=match):
        tree.map_structure(lambda x, y: x, a, b)
    with pytest.raises(ValueError, match=match):
        tree.assert_same_structure(a, b)


def test_map_structure_errors():
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(lambda v: v)
    with pytest.raises(TypeError, match="func` must be callable"):
        tree.map_structure(3, [1])


def test_map_structure_up_to():
    # the documented examples (Keras 3.15.1 itself raises on these: None in the shallow
    # structure is not treated as a leaf there)
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]", ["2", "2"]]
    out = tree.map_structure_up_to({"b": 0, "a": 0}, str, {"a": [1], "b": 2})
    assert list(out.items()) == [("b", "2"), ("a", "[1]")]
    assert tree.map_structure_up_to(0, str, [1, 2]) == "[1, 2]"
    assert tree.map_structure_up_to([0, 0], lambda a, b: (a, b), [[1], 2], [3, [4]]) == [
        ([1], 3), (2, [4])]
    with pytest.raises(ValueError, match="expected an instance of list, got int"):
        tree.map_structure_up_to([[None], None], str, [1, 2])
    with pytest.raises(ValueError, match="extra \\['b'\\]"):
        tree.map_structure_up_to({"a": 0}, str, {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure_up_to([None], str)


def test_assert_same_structure():
    tree.assert_same_structure([(0, 1)], [(2, 3)])
    tree.assert_same_structure({"a": 1, "b": 2}, OD([("b", 1), ("a", 2)]))
    tree.assert_same_structure(None, 1)
    tree.assert_same_structure("a", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree.assert_same_structure([0], [1], check_types=True)
        with pytest.raises(ValueError):  # check_types=False does not loosen the check
            tree.assert_same_structure([0, 1], (2, 3), check_types=False)
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
    assert "assert_same_paths" in str(caught[1].message)


def test_assert_same_paths():
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths(Point(0, 1), (2, 3))
    tree.assert_same_paths({0: 1}, [1])
    with pytest.raises(ValueError) as err:
        tree.assert_same_paths({"a": 1, "c": 2}, {"a": 1, "b": [2]})
    assert "missing in `b`:\n{('c',)}" in str(err.value)
    assert "missing in `a`:\n{('b', 0)}" in str(err.value)


def test_pack_sequence_as():
    out = tree.pack_sequence_as({"key3": "", "key1": "", "key2": ""}, ["v1", "v2", "v3"])
    assert list(out.items()) == [("key3", "v3"), ("key1", "v1"), ("key2", "v2")]
    assert tree.pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"), range(1, 7)) == (
        (1, 2), (3, 4, 5), 6)
    assert tree.pack_sequence_as({"b": None, "a": [None, 1]}, [1, 2, 3]) == {
        "b": 3, "a": [1, 2]}
    assert tree.pack_sequence_as(1, [5]) == 5
    assert tree.pack_sequence_as([[], {}], []) == [[], {}]
    dd = tree.pack_sequence_as(collections.defaultdict(list, {"b": 0, "a": 0}), [5, 6])
    assert dd.default_factory is list and list(dd.items()) == [("b", 6), ("a", 5)]
    with pytest.raises(ValueError, match="has 2 leaves but `flat_sequence` has 1"):
        tree.pack_sequence_as([1, 2], [1])
    with pytest.raises(ValueError, match="has 1 leaves but `flat_sequence` has 2"):
        tree.pack_sequence_as(1, [5, 6])
    with pytest.raises(TypeError, match="must be an iterable"):
        tree.pack_sequence_as([1, 2], 5)


def test_traverse():
    seen = []
    assert tree.traverse(seen.append, [(1, 2), [3], {"a": 4}]) == [(1, 2), [3], {"a": 4}]
    assert seen == [[(1, 2), [3], {"a": 4}], (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    seen = []
    tree.traverse(seen.append, [(1, 2), [3], {"a": 4}], top_down=False)
    assert seen == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, [(1, 2), [3], {"a": 4}]]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, 2, (2, 3)]) == [
        1, None, (None, 3)]
    assert tree.traverse(lambda x: "T" if isinstance(x, tuple) else None, [1, (2, 3)]) == [
        1, "T"]
    assert tree.traverse(lambda x: x * 2 if isinstance(x, int) else None, [1, (2, 3)],
                         top_down=False) == [2, (4, 6)]
    with pytest.raises(TypeError, match="callable"):
        tree.traverse(3, [1])


def test_lists_to_tuples_and_map_shape_structure():
    assert tree.lists_to_tuples([1, [2, {"a": [3]}], (4, [5])]) == (1, (2, {"a": (3,)}),
                                                                    (4, (5,)))
    got = tree.map_shape_structure(lambda s: ("S", s),
                                   [(None, 3), {"b": [1, 2], "a": (4,)}, (), [(2, 3), None], 7,
                                    ("x",)])
    assert got == [("S", (None, 3)), {"b": ("S", [1, 2]), "a": ("S", (4,))}, ("S", ()),
                   [("S", (2, 3)), ("S", None)], ("S", 7), (("S", "x"),)]
