"""The writers of a laid-out `plot_model` diagram: SVG text, PNG/JPEG drawn
with pillow, and Graphviz DOT text."""

from __future__ import annotations

import io
import math
from xml.sax.saxutils import escape, quoteattr

from jkeras.utils.plot_edges import _arrow, _drawn_links
from jkeras.utils.plot_graph import _all_boxes, _all_links, _Box, _Graph, _Options
from jkeras.utils.plot_layout import _FONT, _LINE, _PAD_X, _PAD_Y

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


def _drawn_boxes(g: _Graph, clusters: bool):
    """The expanded models (`clusters`) or else the other boxes of `g`, outer ones
    first, as (box, fill, stroke, left, top, corner radius)."""
    for box, _ in sorted(_all_boxes(g), key=lambda t: t[1]):
        if (box.inner is not None) != clusters:
            continue
        fill, stroke = _STYLE["cluster" if clusters else box.kind]
        rx = 6 if clusters else (10 if box.kind == "op" else 4)
        yield box, fill, stroke, box.x - box.w / 2, box.y - box.h / 2, rx


def _render_svg(g: _Graph, width: float, height: float, rankdir: str, name: str) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" font-family={quoteattr(_FONT_FAMILY)} '
        f'font-size="{_f(_FONT)}">',
        f"<title>{escape(name)}</title>",
        f'<rect x="0" y="0" width="{_f(width)}" height="{_f(height)}" fill="white"/>',
    ]
    labels: list[str] = []
    for box, fill, stroke, x0, y0, rx in _drawn_boxes(g, clusters=True):
        parts.append(
            f'<g class="cluster" id="cluster-{box.uid}"><title>{escape(box.name)}</title>'
            f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(box.w)}" height="{_f(box.h)}" '
            f'rx="{rx}" '
            f'fill="{fill}" stroke="{stroke}" stroke-dasharray="5,3"/></g>'
        )
        # drawn after the connections, with a halo, so that arrows do not hide it
        labels.append(
            f'<text x="{_f(x0 + _PAD_X)}" y="{_f(y0 + _LINE * 0.95)}" font-weight="bold" '
            f'fill="{_TEXT_COLOR}" stroke="{fill}" stroke-width="4" paint-order="stroke">'
            f'{escape(box.title)}</text>'
        )
    for sl, dl, points in _drawn_links(g, rankdir):
        pts, head = _arrow(points)
        d = "M" + " L".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        tri = " ".join(f"{_f(x)},{_f(y)}" for x, y in head)
        parts.append(
            f'<g class="edge"><title>{escape(sl.name)}&#45;&gt;{escape(dl.name)}</title>'
            f'<path d="{d}" fill="none" stroke="{_EDGE_COLOR}" stroke-width="1.2"/>'
            f'<polygon points="{tri}" fill="{_EDGE_COLOR}"/></g>'
        )
    if labels:
        parts.append('<g class="cluster-labels">' + "".join(labels) + "</g>")
    for box, fill, stroke, x0, y0, rx in _drawn_boxes(g, clusters=False):
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
    clusters = list(_drawn_boxes(g, clusters=True))
    for box, fill, stroke, x0, y0, rx in clusters:
        draw.rounded_rectangle([x0 * s, y0 * s, (x0 + box.w) * s, (y0 + box.h) * s],
                               radius=rx * s, fill=fill, outline=stroke, width=lw)
    for _, _, points in _drawn_links(g, rankdir):
        pts, head = _arrow(points)
        draw.line([(x * s, y * s) for x, y in pts], fill=_EDGE_COLOR, width=lw, joint="curve")
        draw.polygon([(x * s, y * s) for x, y in head], fill=_EDGE_COLOR)
    for box, fill, _, x0, y0, _ in clusters:  # titles over the connections, with a halo
        draw.text(((x0 + _PAD_X) * s, (y0 + _LINE * 0.95) * s), box.title,
                  font=metrics.font(True), fill=_TEXT_COLOR, anchor="ls",
                  stroke_width=max(1, round(2 * s)), stroke_fill=fill)
    for box, fill, stroke, x0, y0, rx in _drawn_boxes(g, clusters=False):
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
    for gg, _, _, sl, dl in _all_links(g):  # one edge per tensor, as Keras draws them
        lines.extend([f"  n{sl.uid} -> n{dl.uid};"] * gg.counts[(sl.uid, dl.uid)])
    lines.append("}")
    return "\n".join(lines) + "\n"
