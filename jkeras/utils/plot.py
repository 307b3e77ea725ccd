"""`plot_model`: diagrams of functional models without pydot or graphviz.

The model graph (`plot_graph`) is laid out by `plot_layout`, its arrows shaped by
`plot_edges`, and the whole written by `plot_render` as SVG (text made here), PNG
or JPEG (drawn with pillow, a jkeras dependency); `.dot`/`.gv` writes Graphviz DOT
text for those who have graphviz. Neither graphviz nor pydot is needed for any
format.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from jkeras.utils.plot_graph import _build_graph, _Graph, _Options
from jkeras.utils.plot_layout import (
    _MARGIN,
    _layout,
    _mark_band_ports,
    _PillowMetrics,
    _SvgMetrics,
    _translate,
)
from jkeras.utils.plot_render import _render_dot, _render_raster, _render_svg

_FORMATS = (".svg", ".png", ".jpg", ".jpeg", ".dot", ".gv")
_RANKDIRS = ("TB", "LR", "BT", "RL")



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
    _mark_band_ports(g, rankdir)
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
