"""The geometry of a laid-out `plot_model` diagram's arrows: each drawn
connection's polyline and arrowhead, computed once for every writer."""

from __future__ import annotations

import math

from jkeras.utils.plot_graph import _all_links, _Box, _Graph
from jkeras.utils.plot_layout import (
    _APPROACH,
    _ARROW_HALF,
    _ARROW_LEN,
    _PARALLEL_SEP,
    _on_band,
    _slot_sep,
)


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


def _bends(g: _Graph, src: _Box, dst: _Box) -> list[tuple[float, float]]:
    """The bend points of the connection from `src` to `dst`, in that order."""
    if src.order < dst.order:
        return list(g.routes.get((src.uid, dst.uid), []))
    return list(reversed(g.routes.get((dst.uid, src.uid), [])))


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
    bends = _bends(g, src, dst)
    first_target = bends[0] if bends else (dst_leaf.x, dst_leaf.y)
    last_source = bends[-1] if bends else (src_leaf.x, src_leaf.y)
    start = _clip(src_leaf, first_target)
    end = _clip(dst_leaf, last_source)
    return _smooth([start, *bends, end])


def _band_port(src: _Box, dst: _Box, src_leaf: _Box, dst_leaf: _Box, rankdir: str):
    """The leaf through whose expanded model's title band this connection runs
    straight (see `_on_band`), or None."""
    if rankdir == "TB" and dst.inner is not None and dst_leaf is not dst:
        return dst_leaf if _on_band(dst_leaf, dst, rankdir) else None
    if rankdir == "BT" and src.inner is not None and src_leaf is not src:
        return src_leaf if _on_band(src_leaf, src, rankdir) else None
    return None


def _band_link_points(g: _Graph, src: _Box, dst: _Box, src_leaf: _Box, dst_leaf: _Box,
                      rankdir: str, x: float) -> list[tuple[float, float]]:
    """A connection that enters (TB) or leaves (BT) an expanded model through its
    title band: an S-curve to `x`, then straight down (up) at `x`, clear of the
    title."""
    bends = _bends(g, src, dst)
    if rankdir == "TB":
        approach = (x, dst.y - dst.h / 2 - _APPROACH)
        start = (_clip(src_leaf, bends[0]) if bends
                 else _facing_point(src_leaf, x, 1) or _clip(src_leaf, approach))
        head = _smooth([start, *bends])
        return head + _s_curve(head[-1], approach)[1:] + [(x, dst_leaf.y - dst_leaf.h / 2)]
    leave = (x, src.y - src.h / 2 - _APPROACH)
    end = (_clip(dst_leaf, bends[-1]) if bends
           else _facing_point(dst_leaf, x, 1) or _clip(dst_leaf, leave))
    tail = _smooth([*bends, end]) if bends else [end]
    return [(x, src_leaf.y - src_leaf.h / 2)] + _s_curve(leave, tail[0]) + tail[1:]


def _facing_point(box: _Box, x: float, side: int):
    """The point at `x` on the bottom (`side` 1) or top (-1) border of `box`, when
    `x` is well inside the box's width (an arrow can then run straight to it)."""
    if abs(x - box.x) > box.w / 2 - 6:
        return None
    return (x, box.y + side * box.h / 2)


def _s_curve(p: tuple[float, float], q: tuple[float, float], samples: int = 12):
    """A curve from `p` to `q` that leaves and arrives vertically (a cubic Bezier)."""
    h = (q[1] - p[1]) / 2
    c1, c2 = (p[0], p[1] + h), (q[0], q[1] - h)
    out = []
    for k in range(samples + 1):
        t = k / samples
        u = 1 - t
        out.append(tuple(u ** 3 * p[j] + 3 * u * u * t * c1[j] + 3 * u * t * t * c2[j]
                         + t ** 3 * q[j] for j in (0, 1)))
    return out


def _drawn_links(g: _Graph, rankdir: str):
    """Every arrow of the diagram as (source leaf, target leaf, polyline), one
    per tensor: a connection carrying several tensors (a shared model called
    twice feeding one layer) is drawn as parallel arrows; arrows crossing an
    expanded model's title band are spread along the box they reach."""
    vertical = rankdir in ("TB", "BT")
    links = list(_all_links(g))
    groups: dict[int, tuple[_Box, list]] = {}
    for i, (gg, src, dst, sl, dl) in enumerate(links):
        port = _band_port(src, dst, sl, dl, rankdir)
        if port is not None:
            other = sl if port is dl else dl
            for c in range(gg.counts[(sl.uid, dl.uid)]):
                groups.setdefault(id(port), (port, []))[1].append((other.x, c, i))
    slots: dict[tuple[int, int], float] = {}
    for port, items in groups.values():
        items.sort()
        sep = _slot_sep(port, len(items))
        for j, (_, c, i) in enumerate(items):
            slots[(i, c)] = port.x + (j - (len(items) - 1) / 2) * sep
    for i, (gg, src, dst, sl, dl) in enumerate(links):
        n = gg.counts[(sl.uid, dl.uid)]
        for c in range(n):
            if (i, c) in slots:
                yield sl, dl, _band_link_points(gg, src, dst, sl, dl, rankdir, slots[(i, c)])
                continue
            pts = _link_points(gg, src, dst, sl, dl, rankdir)
            d = (c - (n - 1) / 2) * _PARALLEL_SEP
            if d:
                pts = [(x + d, y) if vertical else (x, y + d) for x, y in pts]
            yield sl, dl, pts


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
