"""`plot_model`: diagrams of functional models without pydot or graphviz.

The model graph (one box per layer or op, one arrow per connection) is laid out
here, in layers (Sugiyama style):

1. every box gets a rank by longest path from the inputs (inputs that feed only
   deep layers move down next to their consumer); connections spanning several
   ranks get invisible bend points, one per rank crossed;
2. the order of boxes within each rank is improved by barycentre sweeps, down
   and up, keeping the order with the fewest edge crossings;
3. positions along each rank are the weighted least-squares fit to the
   neighbours' positions that keeps the order and the spacing (isotonic
   regression, linear time per rank), alternating downward and upward passes.

Nested models drawn with `expand_nested=True` are laid out first, recursively,
and then take part in the outer layout as one large box. The same layout is
written as SVG (text made here), PNG or JPEG (drawn with pillow, a jkeras
dependency); `.dot`/`.gv` writes Graphviz DOT text for those who have graphviz.
Neither graphviz nor pydot is needed for any format.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
from xml.sax.saxutils import escape, quoteattr

_FONT = 12.0  # px
_LINE = 1.35 * _FONT
_PAD_X, _PAD_Y = 10.0, 7.0
_CLUSTER_PAD = 12.0
_NODE_SEP = 26.0  # between boxes along a rank
_DUMMY_SEP = 12.0
_DUMMY_SIZE = 6.0
_RANK_SEP = 38.0  # between ranks
_MARGIN = 12.0
_ARROW_LEN, _ARROW_HALF = 9.0, 4.0
_SWEEPS = 8
_PLACEMENT_ROUNDS = 6
_FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', sans-serif"

_STYLE = {  # fill, stroke
    "input": ("#fdf0d5", "#c28a1e"),
    "layer": ("#e3f0fb", "#4a7fb5"),
    "op": ("#eaf3df", "#5f8a2a"),
    "model": ("#efe4f7", "#7b4fa0"),
    "frozen": ("#e8e8e8", "#8a8a8a"),
    "cluster": ("#fafafa", "#9a9a9a"),
}
_EDGE_COLOR = "#505050"
_TEXT_COLOR = "#1a1a1a"
_FORMATS = (".svg", ".png", ".jpg", ".jpeg", ".dot", ".gv")
_RANKDIRS = ("TB", "LR", "BT", "RL")


# ---------------------------------------------------------------------------
# The graph to draw
# ---------------------------------------------------------------------------
class _Box:
    """A drawn vertex: a layer/op, or (with `inner`) an expanded nested model."""

    __slots__ = ("uid", "name", "title", "lines", "kind", "inner", "parent", "w", "h", "x", "y",
                 "order", "a", "b")

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


class _Graph:
    """One model's boxes and connections. `links` are drawn connections:
    (top-level source box, top-level target box, source leaf, target leaf)."""

    def __init__(self, model):
        self.model = model
        self.boxes: list[_Box] = []
        self.index: dict[int, _Box] = {}
        self.links: list[tuple[_Box, _Box, _Box, _Box]] = []
        self._link_keys: set = set()
        self.width = self.height = 0.0
        self.routes: dict[tuple[int, int], list[tuple[float, float]]] = {}

    def add_link(self, src, dst, src_leaf, dst_leaf) -> None:
        key = (src_leaf.uid, dst_leaf.uid)
        if key not in self._link_keys:
            self._link_keys.add(key)
            self.links.append((src, dst, src_leaf, dst_leaf))


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


# ---------------------------------------------------------------------------
# Text metrics
# ---------------------------------------------------------------------------
_NARROW = set("ijlI.,:;'|!()[]{} ft")
_WIDE = set("mwMW@%")


class _SvgMetrics:
    """Width estimates for a Helvetica-like font (SVG viewers pick the font)."""

    def width(self, text: str, bold: bool = False) -> float:
        w = 0.0
        for c in text:
            if c in _NARROW:
                w += 0.3
            elif c in _WIDE:
                w += 0.86
            elif c.isupper():
                w += 0.68
            else:
                w += 0.56
        # sized for DejaVu Sans (wider than Helvetica/Arial), so text fits in all three
        return w * _FONT * (1.2 if bold else 1.12)


class _PillowMetrics:
    def __init__(self, scale: float):
        from PIL import ImageFont

        self.scale = scale
        size = max(6, round(_FONT * scale))
        self.regular = _load_font(ImageFont, ("DejaVuSans.ttf", "Arial.ttf", "arial.ttf"), size)
        self.bold = _load_font(ImageFont, ("DejaVuSans-Bold.ttf", "Arial Bold.ttf",
                                           "arialbd.ttf"), size) or self.regular
        if self.regular is None:
            try:
                self.regular = ImageFont.load_default(size=size)
            except TypeError:  # Pillow < 10.1: fixed-size bitmap font
                self.regular = ImageFont.load_default()
            self.bold = self.regular

    def font(self, bold: bool):
        return self.bold if bold else self.regular

    def width(self, text: str, bold: bool = False) -> float:
        f = self.font(bold)
        if hasattr(f, "getlength"):
            return f.getlength(text) / self.scale
        return f.getsize(text)[0] / self.scale  # pragma: no cover - very old pillow


def _load_font(image_font, names, size):
    for name in names:
        try:
            return image_font.truetype(name, size)
        except OSError:
            continue
    return None


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------
class _Dummy:
    __slots__ = ("a", "b", "order")

    def __init__(self, order: float):
        self.a = self.b = 0.0
        self.order = order


def _size_boxes(g: _Graph, metrics, rankdir: str) -> None:
    for box in g.boxes:
        if box.inner is not None:
            _layout(box.inner, metrics, rankdir)
            title_w = metrics.width(box.title, True) + 2 * _PAD_X
            box.w = max(box.inner.width + 2 * _CLUSTER_PAD, title_w)
            box.h = box.inner.height + 2 * _CLUSTER_PAD + _LINE
        else:
            widths = [metrics.width(box.title, True)] + [metrics.width(s) for s in box.lines]
            box.w = max(widths) + 2 * _PAD_X
            box.h = _LINE * (1 + len(box.lines)) + 2 * _PAD_Y


def _inversions(pairs: list[tuple[int, int]]) -> int:
    if len(pairs) < 2:
        return 0
    pairs.sort()
    size = max(p[1] for p in pairs) + 2
    tree = [0] * (size + 1)
    total = 0
    seen = 0
    for _, q in pairs:
        # count already-seen pairs with second coordinate > q
        i, le = q + 1, 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        total += seen - le
        i = q + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
        seen += 1
    return total


def _isotonic_place(items: list, desired: list[float], weights: list[float],
                    sizes: list[float], gaps: list[float]) -> list[float]:
    """Centres closest (weighted least squares) to `desired` keeping the order
    and at least `gaps[i]` between item i-1's and item i's facing sides."""
    n = len(items)
    offsets = [0.0] * n
    for i in range(1, n):
        offsets[i] = offsets[i - 1] + (sizes[i - 1] + sizes[i]) / 2 + gaps[i]
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for i in range(n):
        blocks.append([(desired[i] - offsets[i]) * weights[i], weights[i], 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w
            blocks[-1][2] += c
    out = []
    i = 0
    for s, w, c in blocks:
        y = s / w
        for _ in range(c):
            out.append(y + offsets[i])
            i += 1
    return out


def _port_offset(top: _Box, leaf: _Box, vertical: bool) -> float:
    """Where `leaf` (a box inside the expanded model `top`, or `top` itself)
    sits along the rank, relative to `top`'s centre (inner layouts are done)."""
    off = 0.0
    b = leaf
    while b is not top and b.parent is not None:
        c = b.parent
        if vertical:
            off += b.x - c.inner.width / 2
        else:
            off += b.y - c.h / 2 + _LINE + _CLUSTER_PAD
        b = c
    return off


def _layout(g: _Graph, metrics, rankdir: str) -> None:
    """Positions every box of `g` (centres, relative to g's top-left corner) and
    records the bend points of each connection in `g.routes`."""
    _size_boxes(g, metrics, rankdir)
    vertical = rankdir in ("TB", "BT")
    boxes = g.boxes
    if not boxes:
        g.width = g.height = 0.0
        return

    def sa(v):  # extent along a rank
        if isinstance(v, _Dummy):
            return _DUMMY_SIZE
        return v.w if vertical else v.h

    def sb(v):  # extent across ranks
        if isinstance(v, _Dummy):
            return 0.0
        return v.h if vertical else v.w

    # 1. orient connections along the box order (breaks cycles made by shared layers)
    edges: dict[tuple[int, int], tuple[_Box, _Box]] = {}
    for src, dst, _, _ in g.links:
        if src is dst:
            continue
        u, v = (src, dst) if src.order < dst.order else (dst, src)
        edges.setdefault((u.uid, v.uid), (u, v))
    # where each connection attaches, along the rank, relative to the box centre
    port_sums: dict[tuple[int, int], list[float]] = {}
    for src, dst, src_leaf, dst_leaf in g.links:
        if src is dst:
            continue
        for box, leaf, other in ((src, src_leaf, dst), (dst, dst_leaf, src)):
            acc = port_sums.setdefault((box.uid, other.uid), [0.0, 0])
            acc[0] += _port_offset(box, leaf, vertical)
            acc[1] += 1
    port = {k: s / n for k, (s, n) in port_sums.items() if s}
    preds: dict[int, list] = {b.uid: [] for b in boxes}
    succs: dict[int, list] = {b.uid: [] for b in boxes}
    for u, v in edges.values():
        preds[v.uid].append(u)
        succs[u.uid].append(v)
    rank: dict[int, int] = {}
    for b in sorted(boxes, key=lambda b: b.order):
        rank[b.uid] = max((rank[p.uid] + 1 for p in preds[b.uid]), default=0)
    for b in boxes:  # sources sit just above their first consumer
        if not preds[b.uid] and succs[b.uid]:
            rank[b.uid] = min(rank[s.uid] for s in succs[b.uid]) - 1
    n_ranks = max(rank.values()) + 1

    # 2. chains with one bend point per rank crossed
    layers: list[list] = [[] for _ in range(n_ranks)]
    for b in sorted(boxes, key=lambda b: b.order):
        layers[rank[b.uid]].append(b)
    down: dict[int, list] = {}  # id(vertex) -> vertices one rank above
    up: dict[int, list] = {}
    chains: dict[tuple[int, int], list] = {}
    shift: dict[tuple[int, int], float] = {}  # (id(v), id(n)) -> attach offset on v toward n
    for (ku, kv), (u, v) in edges.items():
        chain = [u]
        for r in range(rank[u.uid] + 1, rank[v.uid]):
            d = _Dummy(u.order + 0.5)
            layers[r].append(d)
            chain.append(d)
        chain.append(v)
        chains[(ku, kv)] = chain
        shift[(id(u), id(chain[1]))] = port.get((ku, kv), 0.0)
        shift[(id(v), id(chain[-2]))] = port.get((kv, ku), 0.0)
        for x, y in zip(chain, chain[1:]):
            down.setdefault(id(y), []).append(x)
            up.setdefault(id(x), []).append(y)
    for layer in layers:
        layer.sort(key=lambda v: v.order)

    # 3. barycentre sweeps, keeping the order with the fewest crossings
    def crossings(lys) -> int:
        total = 0
        for r in range(1, len(lys)):
            pos_up = {id(v): i for i, v in enumerate(lys[r - 1])}
            pairs = [(pos_up[id(u)], i) for i, v in enumerate(lys[r])
                     for u in down.get(id(v), ())]
            total += _inversions(pairs)
        return total

    def sweep(lys, downward: bool) -> None:
        rng = range(1, len(lys)) if downward else range(len(lys) - 2, -1, -1)
        for r in rng:
            ref = lys[r - 1] if downward else lys[r + 1]
            adj = down if downward else up
            pos = {id(v): i for i, v in enumerate(ref)}
            keyed = []
            for i, v in enumerate(lys[r]):
                ns = adj.get(id(v), ())
                key = sum(pos[id(n)] for n in ns) / len(ns) if ns else None
                keyed.append((key, i, v))
            # vertices without neighbours keep their slot
            free = sorted((k for k in keyed if k[0] is not None), key=lambda t: (t[0], t[1]))
            result = [None] * len(keyed)
            for key, i, v in keyed:
                if key is None:
                    result[i] = v
            it = iter(free)
            for i in range(len(result)):
                if result[i] is None:
                    result[i] = next(it)[2]
            lys[r] = result

    best = [list(layer) for layer in layers]
    best_crossings = crossings(best)
    current = [list(layer) for layer in layers]
    for _ in range(_SWEEPS):
        if best_crossings == 0:
            break
        sweep(current, True)
        c = crossings(current)
        if c < best_crossings:
            best, best_crossings = [list(layer) for layer in current], c
        sweep(current, False)
        c = crossings(current)
        if c < best_crossings:
            best, best_crossings = [list(layer) for layer in current], c
    layers = best

    # 4. positions along each rank
    for layer in layers:
        pos = 0.0
        prev = None
        for v in layer:
            if prev is not None:
                pos += (sa(prev) + sa(v)) / 2 + _gap(prev, v)
            v.a = pos
            prev = v

    def place(layer, neighbours_of) -> None:
        desired, weights = [], []
        for v in layer:
            ns = [n for f in neighbours_of for n in f.get(id(v), ())]
            if ns:
                desired.append(sum(n.a + shift.get((id(n), id(v)), 0.0)
                                   - shift.get((id(v), id(n)), 0.0) for n in ns) / len(ns))
                straight = isinstance(v, _Dummy) and all(isinstance(n, _Dummy) for n in ns)
                weights.append(8.0 if straight else (2.0 if isinstance(v, _Dummy) else 1.0))
            else:
                desired.append(v.a)
                weights.append(0.25)
        sizes = [sa(v) for v in layer]
        gaps = [0.0] + [_gap(layer[i - 1], layer[i]) for i in range(1, len(layer))]
        for v, a in zip(layer, _isotonic_place(layer, desired, weights, sizes, gaps)):
            v.a = a

    for _ in range(_PLACEMENT_ROUNDS):
        for r in range(1, n_ranks):
            place(layers[r], (down,))
        for r in range(n_ranks - 2, -1, -1):
            place(layers[r], (up,))
    for r in range(1, n_ranks):  # end downward: single-input boxes sit under their input
        place(layers[r], (down,))

    # 5. positions across ranks
    thickness = [max((sb(v) for v in layer), default=0.0) for layer in layers]
    b = 0.0
    centres = []
    for r in range(n_ranks):
        if r:
            b += thickness[r - 1] / 2 + _RANK_SEP + thickness[r] / 2
        else:
            b = thickness[0] / 2
        centres.append(b)
    total_b = centres[-1] + thickness[-1] / 2
    all_vertices = [v for layer in layers for v in layer]
    for r, layer in enumerate(layers):
        for v in layer:
            v.b = centres[r]
    lo = min(v.a - sa(v) / 2 for v in all_vertices)
    total_a = max(v.a + sa(v) / 2 for v in all_vertices) - lo
    for v in all_vertices:
        v.a -= lo

    def to_xy(a: float, bb: float) -> tuple[float, float]:
        if rankdir in ("BT", "RL"):
            bb = total_b - bb
        return (a, bb) if vertical else (bb, a)

    for box in boxes:
        box.x, box.y = to_xy(box.a, box.b)
    g.width, g.height = (total_a, total_b) if vertical else (total_b, total_a)
    for (ku, kv), chain in chains.items():
        g.routes[(ku, kv)] = [to_xy(d.a, d.b) for d in chain[1:-1]]


def _gap(prev, v) -> float:
    return _DUMMY_SEP if isinstance(prev, _Dummy) or isinstance(v, _Dummy) else _NODE_SEP


def _translate(g: _Graph, dx: float, dy: float) -> None:
    """Moves every box of `g` (and of its expanded children) by (dx, dy)."""
    for box in g.boxes:
        box.x += dx
        box.y += dy
        if box.inner is not None:
            ix = box.x - box.inner.width / 2
            iy = box.y - box.h / 2 + _LINE + _CLUSTER_PAD
            _translate(box.inner, ix, iy)
    for key, pts in g.routes.items():
        g.routes[key] = [(x + dx, y + dy) for x, y in pts]


# ---------------------------------------------------------------------------
# Geometry of connections
# ---------------------------------------------------------------------------
def _clip(box: _Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the segment from the box's centre toward `toward` leaves the box."""
    dx, dy = toward[0] - box.x, toward[1] - box.y
    hw, hh = box.w / 2, box.h / 2
    if abs(dx) < 1e-9 and abs(dy) < 1e-9:
        return box.x, box.y + hh
    tx = hw / abs(dx) if abs(dx) > 1e-9 else math.inf
    ty = hh / abs(dy) if abs(dy) > 1e-9 else math.inf
    t = min(tx, ty)
    if t >= 1:  # the target point lies inside the box
        return toward
    return box.x + dx * t, box.y + dy * t


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


def _link_points(g: _Graph, src: _Box, dst: _Box, src_leaf: _Box, dst_leaf: _Box,
                 rankdir: str) -> list[tuple[float, float]]:
    """The polyline of one drawn connection, from the source box's border to
    the target box's border."""
    if src is dst:  # a layer fed by its own output: a loop on the side
        top, bottom = (src_leaf, dst_leaf)
        right = src.x + src.w / 2 + 16
        if rankdir in ("TB", "BT"):
            sgn = 1 if rankdir == "TB" else -1
            y0 = top.y + sgn * top.h / 2
            y1 = bottom.y - sgn * bottom.h / 2
            return [(top.x + top.w / 4, y0), (top.x + top.w / 4, y0 + sgn * 10),
                    (right, y0 + sgn * 10), (right, y1 - sgn * 10),
                    (bottom.x + bottom.w / 4, y1 - sgn * 10), (bottom.x + bottom.w / 4, y1)]
        sgn = 1 if rankdir == "LR" else -1
        lowest = src.y + src.h / 2 + 16
        x0 = top.x + sgn * top.w / 2
        x1 = bottom.x - sgn * bottom.w / 2
        return [(x0, top.y + top.h / 4), (x0 + sgn * 10, top.y + top.h / 4),
                (x0 + sgn * 10, lowest), (x1 - sgn * 10, lowest),
                (x1 - sgn * 10, bottom.y + bottom.h / 4), (x1, bottom.y + bottom.h / 4)]
    if src.order < dst.order:
        bends = list(g.routes.get((src.uid, dst.uid), []))
    else:
        bends = list(reversed(g.routes.get((dst.uid, src.uid), [])))
    first_target = bends[0] if bends else (dst_leaf.x, dst_leaf.y)
    last_source = bends[-1] if bends else (src_leaf.x, src_leaf.y)
    start = _clip(src_leaf, first_target)
    end = _clip(dst_leaf, last_source)
    return _smooth([start, *bends, end])


def _smooth(points, samples: int = 8):
    """A polyline through `points` that rounds the bends (Catmull-Rom spline)."""
    if len(points) < 3:
        return list(points)
    pts = [points[0], *points, points[-1]]
    out = [points[0]]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(1, samples + 1):
            t = k / samples
            t2, t3 = t * t, t * t * t
            out.append(tuple(
                0.5 * (2 * p1[j] + (-p0[j] + p2[j]) * t + (2 * p0[j] - 5 * p1[j] + 4 * p2[j]
                                                          - p3[j]) * t2
                       + (-p0[j] + 3 * p1[j] - 3 * p2[j] + p3[j]) * t3)
                for j in (0, 1)))
    return out


def _arrow(points):
    """(line points shortened to the arrow's base, arrowhead triangle)."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = x1 - ux * _ARROW_LEN, y1 - uy * _ARROW_LEN
    head = [(x1, y1), (bx - uy * _ARROW_HALF, by + ux * _ARROW_HALF),
            (bx + uy * _ARROW_HALF, by - ux * _ARROW_HALF)]
    return [*points[:-1], (bx, by)], head


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------
def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _box_text_rows(box: _Box):
    """(text, bold, y offset of the baseline from the box top) for each line."""
    rows = [(box.title, True)] + [(s, False) for s in box.lines]
    out = []
    for i, (text, bold) in enumerate(rows):
        out.append((text, bold, _PAD_Y + _LINE * i + _LINE * 0.74))
    return out


def _render_svg(g: _Graph, width: float, height: float, rankdir: str, name: str) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" font-family={quoteattr(_FONT_FAMILY)} '
        f'font-size="{_f(_FONT)}">',
        f"<title>{escape(name)}</title>",
        f'<rect x="0" y="0" width="{_f(width)}" height="{_f(height)}" fill="white"/>',
    ]
    boxes = sorted(_all_boxes(g), key=lambda t: t[1])
    labels: list[str] = []
    for box, _ in boxes:
        if box.inner is None:
            continue
        fill, stroke = _STYLE["cluster"]
        x0, y0 = box.x - box.w / 2, box.y - box.h / 2
        parts.append(
            f'<g class="cluster" id="cluster-{box.uid}"><title>{escape(box.name)}</title>'
            f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(box.w)}" height="{_f(box.h)}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-dasharray="5,3"/></g>'
        )
        # drawn after the connections, with a halo, so that arrows do not hide it
        labels.append(
            f'<text x="{_f(x0 + _PAD_X)}" y="{_f(y0 + _LINE * 0.95)}" font-weight="bold" '
            f'fill="{_TEXT_COLOR}" stroke="{fill}" stroke-width="4" paint-order="stroke">'
            f'{escape(box.title)}</text>'
        )
    for gg, src, dst, sl, dl in _all_links(g):
        pts, head = _arrow(_link_points(gg, src, dst, sl, dl, rankdir))
        d = "M" + " L".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        tri = " ".join(f"{_f(x)},{_f(y)}" for x, y in head)
        parts.append(
            f'<g class="edge"><title>{escape(sl.name)}&#45;&gt;{escape(dl.name)}</title>'
            f'<path d="{d}" fill="none" stroke="{_EDGE_COLOR}" stroke-width="1.2"/>'
            f'<polygon points="{tri}" fill="{_EDGE_COLOR}"/></g>'
        )
    if labels:
        parts.append('<g class="cluster-labels">' + "".join(labels) + "</g>")
    for box, _ in boxes:
        if box.inner is not None:
            continue
        fill, stroke = _STYLE[box.kind]
        x0, y0 = box.x - box.w / 2, box.y - box.h / 2
        rx = 10 if box.kind == "op" else 4
        extra = ' stroke-width="2.2"' if box.kind == "model" else ""
        rows = "".join(
            f'<text x="{_f(box.x)}" y="{_f(y0 + dy)}" text-anchor="middle" fill="{_TEXT_COLOR}"'
            f'{" font-weight=" + chr(34) + "bold" + chr(34) if bold else ""}>{escape(t)}</text>'
            for t, bold, dy in _box_text_rows(box))
        parts.append(
            f'<g class="node" id="node-{box.uid}"><title>{escape(box.name)}</title>'
            f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(box.w)}" height="{_f(box.h)}" '
            f'rx="{rx}" fill="{fill}" stroke="{stroke}"{extra}/>{rows}</g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _render_raster(g: _Graph, width: float, height: float, rankdir: str, metrics,
                   fmt: str) -> bytes:
    from PIL import Image, ImageDraw

    s = metrics.scale
    img = Image.new("RGB", (max(1, math.ceil(width * s)), max(1, math.ceil(height * s))),
                    "white")
    draw = ImageDraw.Draw(img)
    lw = max(1, round(1.2 * s))
    boxes = sorted(_all_boxes(g), key=lambda t: t[1])
    for box, _ in boxes:
        if box.inner is None:
            continue
        fill, stroke = _STYLE["cluster"]
        x0, y0 = box.x - box.w / 2, box.y - box.h / 2
        draw.rounded_rectangle([x0 * s, y0 * s, (x0 + box.w) * s, (y0 + box.h) * s],
                               radius=6 * s, fill=fill, outline=stroke, width=lw)
    for gg, src, dst, sl, dl in _all_links(g):
        pts, head = _arrow(_link_points(gg, src, dst, sl, dl, rankdir))
        draw.line([(x * s, y * s) for x, y in pts], fill=_EDGE_COLOR, width=lw, joint="curve")
        draw.polygon([(x * s, y * s) for x, y in head], fill=_EDGE_COLOR)
    for box, _ in boxes:  # cluster titles over the connections, with a halo
        if box.inner is not None:
            x0, y0 = box.x - box.w / 2, box.y - box.h / 2
            draw.text(((x0 + _PAD_X) * s, (y0 + _LINE * 0.95) * s), box.title,
                      font=metrics.font(True), fill=_TEXT_COLOR, anchor="ls",
                      stroke_width=max(1, round(2 * s)), stroke_fill=_STYLE["cluster"][0])
    for box, _ in boxes:
        if box.inner is not None:
            continue
        fill, stroke = _STYLE[box.kind]
        x0, y0 = box.x - box.w / 2, box.y - box.h / 2
        rx = 10 if box.kind == "op" else 4
        width_px = max(lw, round((2.2 if box.kind == "model" else 1.2) * s))
        draw.rounded_rectangle([x0 * s, y0 * s, (x0 + box.w) * s, (y0 + box.h) * s],
                               radius=rx * s, fill=fill, outline=stroke, width=width_px)
        for text, bold, dy in _box_text_rows(box):
            draw.text((box.x * s, (y0 + dy) * s), text, font=metrics.font(bold),
                      fill=_TEXT_COLOR, anchor="ms")
    buf = io.BytesIO()
    dpi = round(96 * s)
    if fmt == "png":
        img.save(buf, format="PNG", dpi=(dpi, dpi))
    else:
        img.save(buf, format="JPEG", quality=92, dpi=(dpi, dpi))
    return buf.getvalue()


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_dot(g: _Graph, opts: _Options, dpi: int, name: str, subgraph: bool) -> str:
    lines = []
    header = f"subgraph {_dot_quote('cluster_' + name)}" if subgraph else (
        f"digraph {_dot_quote(name)}")
    lines.append(header + " {")
    lines.append(f"  graph [rankdir={opts.rankdir}, dpi={int(dpi)}, "
                 f"fontname=\"Helvetica\"];")
    lines.append('  node [shape=box, style="rounded,filled", fontname="Helvetica", '
                 'fontsize=11];')

    def emit(graph: _Graph, indent: str) -> None:
        for box in graph.boxes:
            if box.inner is not None:
                fill, stroke = _STYLE["cluster"]
                lines.append(f"{indent}subgraph cluster_{box.uid} {{")
                lines.append(f"{indent}  label={_dot_quote(box.title)}; style=dashed; "
                             f"color={_dot_quote(stroke)};")
                emit(box.inner, indent + "  ")
                lines.append(f"{indent}}}")
                continue
            fill, stroke = _STYLE[box.kind]
            label = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"')
                               for s in [box.title, *box.lines])
            lines.append(f'{indent}n{box.uid} [label="{label}", fillcolor="{fill}", '
                         f'color="{stroke}"];')

    emit(g, "  ")
    for _, _, _, sl, dl in _all_links(g):
        lines.append(f"  n{sl.uid} -> n{dl.uid};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------
class DotGraph(str):
    """Graphviz DOT text (a `str`), with pydot-like `to_string`, `write` and
    `create` (the last one runs the `dot` program, which must be installed)."""

    def to_string(self) -> str:
        return str(self)

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(str(self))

    def create(self, prog: str = "dot", format: str = "svg") -> bytes:  # noqa: A002
        exe = shutil.which(prog)
        if exe is None:
            raise FileNotFoundError(
                f"The Graphviz program '{prog}' is not installed. jkeras.utils.plot_model "
                f"draws SVG and PNG without it."
            )
        return subprocess.run([exe, f"-T{format}"], input=str(self).encode("utf-8"),
                              capture_output=True, check=True).stdout

    def _repr_svg_(self):  # pragma: no cover - needs graphviz
        try:
            return self.create(format="svg").decode("utf-8")
        except (OSError, subprocess.CalledProcessError):
            return None


class ModelPlot:
    """What `plot_model` returns: the diagram as SVG text (`svg`), raster bytes
    (`png`, when drawn), DOT text (`dot`) and the written `path`. Displays
    inline in Jupyter."""

    def __init__(self, svg: str | None, png: bytes | None, dot: str | None, path: str | None,
                 width: float, height: float):
        self.svg = svg
        self.png = png
        self.dot = dot
        self.path = path
        self.width = width
        self.height = height

    def _repr_svg_(self):
        return self.svg

    def _repr_png_(self):
        return self.png if self.svg is None else None

    def save(self, path: str) -> None:
        """Writes the diagram again in the format that `path`'s extension names
        (.svg, or .png/.jpg if it was rendered as such, or .dot)."""
        ext = os.path.splitext(path)[1].lower()
        data = {".svg": self.svg, ".png": self.png, ".dot": self.dot, ".gv": self.dot}.get(ext)
        if data is None:
            raise ValueError(f"ModelPlot.save: this diagram has no {ext or 'such'} rendering; "
                             f"call plot_model(model, to_file={path!r}) instead.")
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(data)

    def __repr__(self):
        where = f" written to {self.path}" if self.path else ""
        return f"<ModelPlot {self.width:.0f}x{self.height:.0f}{where}>"


def _check_model(model, fn: str) -> None:
    from jkeras.engine.functional import Functional

    if not isinstance(model, Functional) and not hasattr(model, "_nodes"):
        raise ValueError(
            f"{fn} draws Functional and Sequential models, but got {type(model).__name__}. "
            f"A subclassed model's call() is Python code, not a graph; build the same model "
            f"with the functional API to draw it."
        )
    if not getattr(model, "built", False) or not hasattr(model, "_nodes"):
        raise ValueError(
            f"{fn}: model '{model.name}' is not built yet, so it has no graph to draw. Give "
            f"its first layer an input shape (or add an Input), or call it on data first."
        )


def _prepare(model, fn, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
             show_layer_activations, show_trainable, layer_range):
    _check_model(model, fn)
    rd = str(rankdir).upper()
    if rd not in _RANKDIRS:
        raise ValueError(f"{fn}: rankdir must be one of {_RANKDIRS}, got {rankdir!r}.")
    opts = _Options(bool(show_shapes), bool(show_dtype), bool(show_layer_names), rd,
                    bool(expand_nested), bool(show_layer_activations), bool(show_trainable))
    return opts, _build_graph(model, opts, layer_range)


def _drawing(g: _Graph, metrics, rankdir: str) -> tuple[float, float]:
    _layout(g, metrics, rankdir)
    _translate(g, _MARGIN, _MARGIN)
    return g.width + 2 * _MARGIN, g.height + 2 * _MARGIN


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 96, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False,
                 layer_range=None, **kwargs) -> DotGraph:
    """The model graph as Graphviz DOT text (no pydot needed).

    Same options as `plot_model`; nested models become ``cluster`` subgraphs
    when `expand_nested`. `subgraph=True` returns a ``subgraph cluster_...``
    block to paste into another graph.
    """
    _reject_kwargs(kwargs, "model_to_dot")
    opts, g = _prepare(model, "model_to_dot", show_shapes, show_dtype, show_layer_names,
                       rankdir, expand_nested, show_layer_activations, show_trainable,
                       layer_range)
    return DotGraph(_render_dot(g, opts, dpi, model.name, subgraph))


def _reject_kwargs(kwargs: dict, fn: str) -> None:
    if kwargs:
        raise TypeError(f"{fn} got unexpected keyword argument(s) {sorted(kwargs)}.")


def plot_model(model, to_file: str | None = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 96, layer_range=None,
               show_layer_activations: bool = False, show_trainable: bool = False,
               **kwargs) -> ModelPlot:
    """Draws a Functional or Sequential model's graph and writes it to `to_file`.

    Needs neither pydot nor graphviz. The extension of `to_file` picks the
    format: ``.png`` (the default) / ``.jpg`` (drawn with pillow, which jkeras
    installs), ``.svg``, or ``.dot`` / ``.gv`` (Graphviz DOT text).
    `to_file=None` writes nothing (the returned object still displays inline).

    Args:
        model: a built Functional or Sequential model.
        show_shapes, show_dtype: add input/output shapes and dtypes to each box.
        show_layer_names: title boxes "name (Class)" instead of "Class".
        rankdir: "TB" (top to bottom), "LR" (left to right), "BT" or "RL".
        expand_nested: draw nested models as a frame around their own layers.
        dpi: raster resolution (96 draws one pixel per SVG unit).
        layer_range: [first_name, last_name] to draw only that slice of `model.layers`.
        show_layer_activations: add the activation of layers that have one.
        show_trainable: add "Trainable: ..." and grey out frozen layers.

    Returns:
        A `ModelPlot` (shown inline by Jupyter) holding the SVG/PNG/DOT text.
    """
    _reject_kwargs(kwargs, "plot_model")
    fmt = ".svg"
    if to_file is not None:
        to_file = os.fspath(to_file)
        fmt = os.path.splitext(to_file)[1].lower()
        if fmt not in _FORMATS:
            raise ValueError(
                f"plot_model: cannot write {to_file!r}: supported extensions are "
                f"{', '.join(_FORMATS)}."
            )
    if not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"plot_model: dpi must be a positive number, got {dpi!r}.")
    opts, g = _prepare(model, "plot_model", show_shapes, show_dtype, show_layer_names, rankdir,
                       expand_nested, show_layer_activations, show_trainable, layer_range)
    dot = _render_dot(g, opts, dpi, model.name, False)
    svg = png = None
    if fmt in (".png", ".jpg", ".jpeg"):
        try:
            import PIL  # noqa: F401
        except ImportError as e:
            raise ImportError(
                f"plot_model writes {fmt} images with pillow, a jkeras dependency that is "
                f"missing from this environment: pip install pillow, or save as "
                f"'{os.path.splitext(to_file)[0]}.svg', which needs nothing."
            ) from e
        metrics = _PillowMetrics(float(dpi) / 96.0)
        width, height = _drawing(g, metrics, opts.rankdir)
        png = _render_raster(g, width, height, opts.rankdir, metrics,
                             "png" if fmt == ".png" else "jpeg")
        data: str | bytes = png
    else:
        width, height = _drawing(g, _SvgMetrics(), opts.rankdir)
        svg = _render_svg(g, width, height, opts.rankdir, model.name)
        data = dot if fmt in (".dot", ".gv") else svg
    if to_file is not None:
        folder = os.path.dirname(os.path.abspath(to_file))
        os.makedirs(folder, exist_ok=True)
        if isinstance(data, bytes):
            with open(to_file, "wb") as f:
                f.write(data)
        else:
            with open(to_file, "w", encoding="utf-8") as f:
                f.write(data)
    return ModelPlot(svg, png, dot, to_file, width, height)


__all__ = ["DotGraph", "ModelPlot", "model_to_dot", "plot_model"]
