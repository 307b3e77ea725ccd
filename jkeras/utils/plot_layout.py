"""Layout of a `plot_model` diagram, in layers (Sugiyama style):

1. every box gets a rank by longest path from the inputs (inputs that feed only
   deep layers move down next to their consumer); connections spanning several
   ranks get invisible bend points, one per rank crossed;
2. the order of boxes within each rank is improved by barycentre sweeps, down
   and up, keeping the order with the fewest edge crossings;
3. positions along each rank are the weighted least-squares fit to the
   neighbours' positions that keeps the order and the spacing (isotonic
   regression, linear time per rank), alternating downward and upward passes.

Nested models drawn with `expand_nested=True` are laid out first, recursively,
and then take part in the outer layout as one large box; arrows that cross a
nested model's title band get room beside the title (`_mark_band_ports`).
"""

from __future__ import annotations

from jkeras.utils.plot_graph import _all_links, _ancestors, _Box, _Graph

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
_PARALLEL_SEP = 11.0  # between the arrows of one connection carrying several tensors
_SLOT_SEP = 12.0  # between arrows entering one box through a title band
_APPROACH = 8.0  # straight run of an arrow before it crosses a title band
_LABEL_GAP = 8.0  # between a nested model's title and the arrows crossing its band
_SWEEPS = 8
_PLACEMENT_ROUNDS = 6


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
            box.inner_left = (box.w - box.inner.width) / 2
            # arrows crossing the title band pass right of the title
            first_slot = min((_offset_in(box, leaf, True) - _slot_span(leaf) / 2
                              for leaf in _band_leaves(box, rankdir)), default=None)
            if first_slot is not None:
                title_end = title_w - _PAD_X + _LABEL_GAP
                box.inner_left = max(box.inner_left, title_end - first_slot)
                box.w = max(box.w, box.inner_left + box.inner.width + _CLUSTER_PAD)
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


def _offset_in(top: _Box, leaf: _Box, vertical: bool) -> float:
    """Where the centre of `leaf` (a box inside the expanded model `top`) sits
    along the rank in the coordinates of `top`'s inner drawing."""
    b = leaf
    off = b.x if vertical else b.y
    while b.parent is not top:
        c = b.parent
        off += (c.x - c.w / 2 + c.inner_left) if vertical else (
            c.y - c.h / 2 + _LINE + _CLUSTER_PAD)
        b = c
    return off


def _port_offset(top: _Box, leaf: _Box, vertical: bool) -> float:
    """Where `leaf` (a box inside the expanded model `top`, or `top` itself)
    sits along the rank, relative to `top`'s centre (inner layouts are done)."""
    if leaf is top or leaf.parent is None:
        return 0.0
    off = _offset_in(top, leaf, vertical)
    if vertical:
        return off + top.inner_left - top.w / 2
    return off + _LINE + _CLUSTER_PAD - top.h / 2


def _mark_band_ports(g: _Graph, rankdir: str) -> None:
    """Records on each expanded model the leaves inside it whose connections to
    the outside cross its title band, once per arrow. The band is at the top:
    arrows entering the model cross it in TB, arrows leaving it in BT (in LR/RL
    they cross the sides)."""
    if rankdir not in ("TB", "BT"):
        return
    for gg, _, _, sl, dl in _all_links(g):
        inside, outside = (dl, sl) if rankdir == "TB" else (sl, dl)
        common = {id(c) for c in _ancestors(outside)}
        for c in _ancestors(inside):
            if id(c) in common:
                break
            c.band_ports.extend([inside] * gg.counts[(sl.uid, dl.uid)])


def _on_band(leaf: _Box, top: _Box, rankdir: str) -> bool:
    """True when a straight vertical line through `top`'s title band reaches
    `leaf` without crossing other boxes: `leaf`, and each expanded model between
    it and `top`, sits in the top drawn rank of its graph."""
    b = leaf
    while b is not top:
        first = 0 if rankdir == "TB" else b.parent.inner.n_ranks - 1
        if b.rank != first:
            return False
        b = b.parent
    return True


def _band_leaves(box: _Box, rankdir: str) -> list[_Box]:
    seen: dict[int, _Box] = {}
    for leaf in box.band_ports:
        if _on_band(leaf, box, rankdir):
            seen.setdefault(id(leaf), leaf)
    return list(seen.values())


def _slot_sep(leaf: _Box, k: int) -> float:
    return 0.0 if k < 2 else min(_SLOT_SEP, max(2.0, leaf.w - 12) / (k - 1))


def _slot_span(leaf: _Box) -> float:
    """Width of the run of arrows that cross title bands into (or out of) `leaf`."""
    k = sum(p is leaf for p in leaf.parent.band_ports) if leaf.parent else 0
    return (k - 1) * _slot_sep(leaf, k) if k > 1 else 0.0


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
    g.n_ranks = n_ranks
    for b in boxes:
        b.rank = rank[b.uid]

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
            ix = box.x - box.w / 2 + box.inner_left
            iy = box.y - box.h / 2 + _LINE + _CLUSTER_PAD
            _translate(box.inner, ix, iy)
    for key, pts in g.routes.items():
        g.routes[key] = [(x + dx, y + dy) for x, y in pts]
