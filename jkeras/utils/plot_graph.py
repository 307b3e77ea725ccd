"""The graph that `plot_model` draws: one box per layer or op (or, for a nested
model drawn expanded, a box holding the nested model's own graph) and the
connections between them, read from a Functional model's nodes."""

from __future__ import annotations


class _Box:
    """A drawn vertex: a layer/op, or (with `inner`) an expanded nested model."""

    __slots__ = ("uid", "name", "title", "lines", "kind", "inner", "parent", "w", "h", "x", "y",
                 "order", "a", "b", "rank", "inner_left", "band_ports")

    def __init__(self, uid: int, name: str, title: str, lines: list[str], kind: str,
                 order: int):
        self.uid = uid
        self.name = name
        self.title = title
        self.lines = lines
        self.kind = kind
        self.inner: _Graph | None = None
        self.parent: _Box | None = None  # the expanded model drawn around this box
        self.w = self.h = self.x = self.y = 0.0
        self.a = self.b = 0.0  # layout coordinates: along / across ranks
        self.order = order
        self.rank = 0  # the layer of its graph's layout it sits in
        # expanded models: from the box's left side to its drawn graph's left side
        self.inner_left = 0.0
        # expanded models: the leaves inside whose connections cross the title band
        self.band_ports: list[_Box] = []


class _Graph:
    """One model's boxes and connections. `links` are drawn connections:
    (top-level source box, top-level target box, source leaf, target leaf), once
    per pair of leaves; `counts` says how many tensors each carries (a shared
    model called twice feeds the next layer twice: two arrows)."""

    def __init__(self, model):
        self.model = model
        self.boxes: list[_Box] = []
        self.index: dict[int, _Box] = {}
        self.links: list[tuple[_Box, _Box, _Box, _Box]] = []
        self.counts: dict[tuple[int, int], int] = {}  # (source leaf, target leaf) uids
        self.width = self.height = 0.0
        self.n_ranks = 0
        self.routes: dict[tuple[int, int], list[tuple[float, float]]] = {}

    def add_link(self, src, dst, src_leaf, dst_leaf) -> None:
        key = (src_leaf.uid, dst_leaf.uid)
        if key not in self.counts:
            self.links.append((src, dst, src_leaf, dst_leaf))
        self.counts[key] = self.counts.get(key, 0) + 1


class _Options:
    def __init__(self, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                 show_layer_activations, show_trainable):
        self.show_shapes = show_shapes
        self.show_dtype = show_dtype
        self.show_layer_names = show_layer_names
        self.rankdir = rankdir
        self.expand_nested = expand_nested
        self.show_layer_activations = show_layer_activations
        self.show_trainable = show_trainable
        self._uid = 0

    def next_uid(self) -> int:
        self._uid += 1
        return self._uid


def _is_graph_model(op) -> bool:
    return hasattr(op, "_nodes") and hasattr(op, "inputs") and getattr(op, "built", False)


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _summarize(per_node: list[list]) -> str:
    texts = []
    for items in per_node:
        if not items:
            continue
        texts.append(items[0] if len(items) == 1 else "[" + ", ".join(items) + "]")
    if not texts:
        return "-"
    return texts[0] if all(t == texts[0] for t in texts) else "multiple"


def _engine():
    # imported on use: jkeras.utils is imported while the engine may still be loading
    from jkeras.engine.input_layer import InputLayer
    from jkeras.engine.layer import Layer

    return InputLayer, Layer


def _op_class(op) -> str:
    _, Layer = _engine()  # noqa: N806
    op_name = getattr(op, "op_name", None)
    if op_name is not None and not isinstance(op, Layer):
        return f"ops.{op_name}"
    return type(op).__name__


def _activation_name(op) -> str | None:
    act = getattr(op, "activation", None)
    if act is None or not callable(act):
        return None
    from jkeras import activations

    try:
        return activations.serialize(act)
    except Exception:  # noqa: BLE001 - any odd callable: fall back to its name
        return getattr(act, "__name__", type(act).__name__)


def _make_box(op, nodes, input_tensor, opts: _Options, order: int) -> _Box:
    InputLayer, Layer = _engine()  # noqa: N806
    cls = _op_class(op)
    title = f"{op.name} ({cls})" if opts.show_layer_names else cls
    lines: list[str] = []
    if isinstance(op, InputLayer) or nodes == []:
        kind = "input" if isinstance(op, InputLayer) else "layer"
        outs = [[input_tensor]] if input_tensor is not None else []
        ins: list = []
    else:
        kind = "layer" if isinstance(op, Layer) else "op"
        if _is_graph_model(op):
            kind = "model"
        outs = [n.output_tensors for n in nodes]
        ins = [n.input_tensors for n in nodes]
    if opts.show_layer_activations:
        act = _activation_name(op)
        if act is not None:
            lines.append(f"Activation: {act}")
    if opts.show_shapes:
        if ins:
            lines.append("Input shape: " + _summarize([[_fmt_shape(t.shape) for t in ts]
                                                       for ts in ins]))
        lines.append("Output shape: " + _summarize([[_fmt_shape(t.shape) for t in ts]
                                                    for ts in outs]))
    if opts.show_dtype:
        if ins:
            lines.append("Input dtype: " + _summarize([[str(t.dtype) for t in ts] for ts in ins]))
        lines.append("Output dtype: " + _summarize([[str(t.dtype) for t in ts] for ts in outs]))
    if opts.show_trainable and isinstance(op, Layer) and not isinstance(op, InputLayer):
        lines.append(f"Trainable: {bool(op.trainable)}")
        if not op.trainable:
            kind = "frozen"
    return _Box(opts.next_uid(), op.name, title, lines, kind, order)


def _build_graph(model, opts: _Options, layer_range=None) -> _Graph:
    g = _Graph(model)
    nodes = list(model._nodes)
    nodes_of: dict[int, list] = {}
    for n in nodes:
        nodes_of.setdefault(id(n.operation), []).append(n)
    ops: list = []
    input_tensor_of: dict[int, object] = {}
    for t in model.inputs:
        op = t._keras_history[0]
        input_tensor_of.setdefault(id(op), t)
        ops.append(op)
    ops.extend(n.operation for n in nodes)
    allowed = None
    if layer_range is not None:
        allowed = _layer_range_ids(model, layer_range)
    for op in ops:
        if id(op) in g.index or (allowed is not None and id(op) not in allowed):
            continue
        box = _make_box(op, nodes_of.get(id(op), []), input_tensor_of.get(id(op)), opts,
                        len(g.boxes))
        if opts.expand_nested and _is_graph_model(op) and id(op) in nodes_of:
            box.inner = _build_graph(op, opts)
            box.kind = "cluster"
            for child in box.inner.boxes:
                child.parent = box
        g.index[id(op)] = box
        g.boxes.append(box)
    for node in nodes:
        dst = g.index.get(id(node.operation))
        if dst is None:
            continue
        for p, t in enumerate(node.input_tensors):
            src_op, ni, ti = t._keras_history
            src = g.index.get(id(src_op))
            if src is None:
                continue
            g.add_link(src, dst, _out_port(src, src_op, ni, ti), _in_port(dst, node, p))
    return g


def _layer_range_ids(model, layer_range) -> set[int]:
    _, Layer = _engine()  # noqa: N806
    names = [la.name for la in model.layers]
    if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
            or any(n not in names for n in layer_range)):
        raise ValueError(f"plot_model: layer_range must be [first_name, last_name] of layers of "
                         f"model '{model.name}' (layers: {names}), got {layer_range!r}.")
    i, j = names.index(layer_range[0]), names.index(layer_range[1])
    if i > j:
        i, j = j, i
    keep = {id(la) for la in model.layers[i:j + 1]}
    keep |= {id(n.operation) for n in model._nodes if not isinstance(n.operation, Layer)}
    return keep


def _out_port(box: _Box, op, node_index: int, tensor_index: int) -> _Box:
    """The innermost box that produces output `tensor_index` of `op`'s node."""
    if box.inner is None:
        return box
    k = tensor_index  # a node's outputs and the model's `outputs` share one order
    if k >= len(op.outputs):
        return box
    inner_t = op.outputs[k]
    inner_op, ni, ti = inner_t._keras_history
    inner_box = box.inner.index.get(id(inner_op))
    return box if inner_box is None else _out_port(inner_box, inner_op, ni, ti)


def _in_port(box: _Box, node, position: int) -> _Box:
    """The innermost box that receives input `position` of a call of a nested model."""
    if box.inner is None:
        return box
    sub = node.operation
    idx = position
    first = node.call_args[0] if node.call_args else None
    if isinstance(first, dict):
        keys = sorted(first)
        if position < len(keys) and keys[position] in sub.input_names:
            idx = sub.input_names.index(keys[position])
    if idx >= len(sub.inputs):
        return box
    inner_op = sub.inputs[idx]._keras_history[0]
    return box.inner.index.get(id(inner_op), box)


def _all_links(g: _Graph):
    """Every drawn connection of `g` and its expanded children, as
    (graph, top source, top target, source leaf, target leaf)."""
    for link in g.links:
        yield (g, *link)
    for box in g.boxes:
        if box.inner is not None:
            yield from _all_links(box.inner)


def _all_boxes(g: _Graph, depth: int = 0):
    for box in g.boxes:
        yield box, depth
        if box.inner is not None:
            yield from _all_boxes(box.inner, depth + 1)


def _ancestors(box: _Box) -> list[_Box]:
    out = []
    while box.parent is not None:
        box = box.parent
        out.append(box)
    return out
