"""plot_model (SVG / PNG / DOT without pydot or graphviz) and plot_history."""

import re
import sys
import xml.etree.ElementTree as ET

import pytest

import jkeras
from jkeras import layers
from jkeras.utils.plot import model_to_dot, plot_model
from jkeras.utils.plot_layout import _inversions, _isotonic_place

SVG = "{http://www.w3.org/2000/svg}"


def _headline_model():
    """Two inputs, two outputs, an op node (x + 1.0)."""
    main_input = layers.Input(shape=(20,), dtype="int32", name="main_input")
    x = layers.Embedding(output_dim=8, input_dim=100)(main_input)
    x = layers.Flatten(name="flat")(x)
    aux_output = layers.Dense(1, activation="sigmoid", name="aux_output")(x)
    aux_input = layers.Input(shape=(5,), name="aux_input")
    x = layers.concatenate([x, aux_input], name="merge")
    x = layers.Dense(16, activation="relu", name="d1")(x)
    x = x + 1.0
    main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    return jkeras.Model(inputs=[main_input, aux_input], outputs=[main_output, aux_output])


def _shared_vision_model():
    a = layers.Input(shape=(6,), name="img")
    h = layers.Dense(4, activation="relu", name="enc1")(a)
    h = layers.Dense(4, name="enc2")(h)
    vision = jkeras.Model(a, h, name="vision")
    ia = layers.Input(shape=(6,), name="digit_a")
    ib = layers.Input(shape=(6,), name="digit_b")
    merged = layers.concatenate([vision(ia), vision(ib)], name="pair")
    out = layers.Dense(1, activation="sigmoid", name="same")(merged)
    return jkeras.Model([ia, ib], out, name="pairs")


def _connections(model):
    """Distinct (producer, consumer) pairs of the model's graph."""
    pairs = set()
    for node in model._nodes:
        for t in node.input_tensors:
            pairs.add((t._keras_history[0].name, node.operation.name))
    return pairs


def _parse(path):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    return root


def _groups(root, cls):
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


def _titles(groups):
    return [g.find(SVG + "title").text for g in groups]


def _rects(root):
    out = {}
    for g in _groups(root, "node"):
        r = g.find(SVG + "rect")
        out[g.find(SVG + "title").text] = tuple(
            float(r.get(k)) for k in ("x", "y", "width", "height"))
    return out


def test_svg_is_xml_with_every_layer_and_connection(tmp_path):
    model = _headline_model()
    result = plot_model(model, to_file=str(tmp_path / "m.svg"), show_shapes=True)
    root = _parse(tmp_path / "m.svg")
    names = set(_titles(_groups(root, "node")))
    assert {layer.name for layer in model.layers} <= names
    assert any(n.startswith("add") for n in names)  # the x + 1.0 op is drawn too
    text = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    assert "Output shape: (None, 20, 8)" in text and "ops.add" in text
    edges = _titles(_groups(root, "edge"))
    expected = _connections(model)
    assert len(edges) == len(expected)
    assert {tuple(e.split("->")) for e in edges} == expected
    assert result._repr_svg_().startswith("<?xml") and result.path == str(tmp_path / "m.svg")


def test_boxes_do_not_overlap_and_sit_inside_the_picture(tmp_path):
    model = _headline_model()
    plot_model(model, to_file=str(tmp_path / "m.svg"), show_shapes=True)
    root = _parse(tmp_path / "m.svg")
    width, height = float(root.get("width")), float(root.get("height"))
    rects = list(_rects(root).values())
    for x, y, w, h in rects:
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    for i, (x1, y1, w1, h1) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


def test_flow_follows_rankdir(tmp_path):
    model = _headline_model()
    tb = _rects(_parse_plot(model, tmp_path / "tb.svg", rankdir="TB"))
    lr = _rects(_parse_plot(model, tmp_path / "lr.svg", rankdir="LR"))
    # each connection goes down (TB) or right (LR)
    for src, dst in _connections(model):
        assert tb[src][1] + tb[src][3] <= tb[dst][1]
        assert lr[src][0] + lr[src][2] <= lr[dst][0]
    bt = _rects(_parse_plot(model, tmp_path / "bt.svg", rankdir="BT"))
    assert bt["main_input"][1] > bt["main_output"][1]
    with pytest.raises(ValueError, match="rankdir must be one of"):
        plot_model(model, to_file=None, rankdir="diagonal")


def _parse_plot(model, path, **kwargs):
    plot_model(model, to_file=str(path), **kwargs)
    return _parse(path)


def test_a_chain_is_straight_and_has_no_crossings(tmp_path):
    inputs = layers.Input(shape=(4,), name="x")
    h = inputs
    for i in range(5):
        h = layers.Dense(4, name=f"d{i}")(h)
    model = jkeras.Model(inputs, h)
    rects = _rects(_parse_plot(model, tmp_path / "c.svg"))
    centres = {round(x + w / 2, 3) for x, y, w, h in rects.values()}
    assert len(centres) == 1


def test_nested_model_expanded_or_collapsed(tmp_path):
    model = _shared_vision_model()
    root = _parse_plot(model, tmp_path / "collapsed.svg")
    names = set(_titles(_groups(root, "node")))
    assert "vision" in names and "enc1" not in names
    assert not _groups(root, "cluster")
    root = _parse_plot(model, tmp_path / "expanded.svg", expand_nested=True)
    names = set(_titles(_groups(root, "node")))
    assert {"enc1", "enc2", "img", "digit_a", "digit_b", "pair", "same"} <= names
    assert "vision" not in names
    (cluster,) = _groups(root, "cluster")
    assert cluster.find(SVG + "title").text == "vision"
    # the frame holds the inner layers
    r = cluster.find(SVG + "rect")
    cx, cy, cw, ch = (float(r.get(k)) for k in ("x", "y", "width", "height"))
    rects = _rects(root)
    for inner in ("img", "enc1", "enc2"):
        x, y, w, h = rects[inner]
        assert cx <= x and x + w <= cx + cw and cy <= y and y + h <= cy + ch
    # both calls of the shared model enter its input; its output feeds the merge
    edges = set(_titles(_groups(root, "edge")))
    assert {"digit_a->img", "digit_b->img", "img->enc1", "enc1->enc2", "enc2->pair",
            "pair->same"} == edges


def test_sequential_and_nested_sequential(tmp_path):
    inner = jkeras.Sequential([layers.Input(shape=(4,)), layers.Dense(3, name="s1"),
                               layers.Dense(3, name="s2")], name="inner_seq")
    outer = jkeras.Sequential([layers.Input(shape=(4,)), inner, layers.Dense(2, name="head")])
    root = _parse_plot(outer, tmp_path / "s.svg", expand_nested=True, rankdir="LR")
    names = set(_titles(_groups(root, "node")))
    assert {"s1", "s2", "head"} <= names
    edges = _titles(_groups(root, "edge"))
    assert "s2->head" in edges and "s1->s2" in edges


def test_unbuilt_and_subclassed_models_are_explained():
    with pytest.raises(ValueError, match="not built yet"):
        plot_model(jkeras.Sequential([layers.Dense(2)]), to_file=None)
    with pytest.raises(ValueError, match="draws Functional and Sequential"):
        plot_model(layers.Dense(2), to_file=None)


def test_labels_options(tmp_path):
    inputs = layers.Input(shape=(3,), name="x")
    frozen = layers.Dense(2, activation="relu", name="frozen", trainable=False)
    model = jkeras.Model(inputs, layers.Dense(1, name="out")(frozen(inputs)))
    root = _parse_plot(model, tmp_path / "o.svg", show_dtype=True, show_layer_activations=True,
                       show_trainable=True, show_layer_names=False)
    text = [t.text for t in root.iter(SVG + "text")]
    assert "Activation: relu" in text and "Activation: linear" in text
    assert "Trainable: False" in text and "Trainable: True" in text
    assert "Output dtype: float32" in text
    assert "Dense" in text and "frozen (Dense)" not in text


def test_png_is_a_valid_image(tmp_path):
    image = pytest.importorskip("PIL.Image")
    model = _headline_model()
    result = plot_model(model, to_file=str(tmp_path / "m.png"), show_shapes=True)
    data = (tmp_path / "m.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with image.open(tmp_path / "m.png") as im:
        im.verify()
    with image.open(tmp_path / "m.png") as im:
        w1, h1 = im.size
        assert im.getpixel((0, 0)) == (255, 255, 255)
    assert result._repr_png_() == data
    plot_model(model, to_file=str(tmp_path / "m2.png"), show_shapes=True, dpi=192)
    with image.open(tmp_path / "m2.png") as im:
        w2, h2 = im.size
    assert 1.6 < w2 / w1 < 2.4 and 1.6 < h2 / h1 < 2.4
    plot_model(model, to_file=str(tmp_path / "m.jpg"), rankdir="LR", expand_nested=True)
    with image.open(tmp_path / "m.jpg") as im:
        assert im.format == "JPEG"


def test_png_without_pillow_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install pillow.*m\.svg"):
        plot_model(_headline_model(), to_file=str(tmp_path / "m.png"))


def test_dot_output(tmp_path):
    model = _shared_vision_model()
    plot_model(model, to_file=str(tmp_path / "m.dot"), expand_nested=True)
    dot = (tmp_path / "m.dot").read_text()
    assert dot.startswith('digraph "pairs" {') and dot.rstrip().endswith("}")
    assert "subgraph cluster_" in dot and 'label="vision (Functional)"' in dot
    # one edge per tensor: the shared tower feeds "pair" twice (Keras 3 draws one)
    assert dot.count("->") == 7
    collapsed = model_to_dot(model, show_shapes=True)
    assert "enc1" not in collapsed and collapsed.count("->") == len(_connections(model)) + 1
    assert "Output shape: (None, 1)" in collapsed.to_string()


def test_bad_arguments(tmp_path):
    model = _headline_model()
    with pytest.raises(ValueError, match=r"supported extensions are .svg"):
        plot_model(model, to_file=str(tmp_path / "m.bmp"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        plot_model(model, to_file=None, show_shape=True)
    with pytest.raises(ValueError, match="layer_range"):
        plot_model(model, to_file=None, layer_range=["nope", "d1"])


def test_layer_range(tmp_path):
    model = _headline_model()
    root = _parse_plot(model, tmp_path / "r.svg", layer_range=["merge", "main_output"])
    names = set(_titles(_groups(root, "node")))
    assert {"merge", "d1", "main_output"} <= names and "main_input" not in names


def test_shared_layer_applied_to_its_own_output(tmp_path):
    inputs = layers.Input(shape=(4,), name="x")
    shared = layers.Dense(4, name="shared")
    model = jkeras.Model(inputs, shared(shared(inputs)))
    root = _parse_plot(model, tmp_path / "loop.svg")
    assert sorted(_titles(_groups(root, "edge"))) == ["shared->shared", "x->shared"]


def test_layout_helpers():
    assert _inversions([(0, 1), (1, 0)]) == 1
    assert _inversions([(0, 0), (1, 1), (2, 2)]) == 0
    assert _inversions([(0, 2), (1, 1), (2, 0)]) == 3
    # two boxes of size 10 that both want position 0 end up 10 + 5 apart, centred on 0
    xs = _isotonic_place([0, 1], [0.0, 0.0], [1.0, 1.0], [10.0, 10.0], [0.0, 5.0])
    assert xs == pytest.approx([-7.5, 7.5])
    xs = _isotonic_place([0, 1, 2], [0.0, 100.0, 50.0], [1.0] * 3, [2.0] * 3, [0.0, 1.0, 1.0])
    assert xs[0] == pytest.approx(0.0) and xs[2] - xs[1] == pytest.approx(3.0)


# --- plot_history -----------------------------------------------------------------------
class _History:
    def __init__(self, history):
        self.history = history
        self.epoch = list(range(len(next(iter(history.values())))))


def test_plot_history_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    from jkeras.utils.history_plot import plot_history

    h = _History({"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
                  "val_loss": [1.1, 0.7, 0.6], "val_accuracy": [0.4, 0.6, 0.7]})
    fig = plot_history(h, str(tmp_path / "curves.png"))
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes if ax.get_visible()] == [2, 2]
    data = (tmp_path / "curves.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with image.open(tmp_path / "curves.png") as im:
        im.verify()
    fig = plot_history(h.history, None, metrics=["accuracy"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["accuracy"]
    with pytest.raises(ValueError, match=r"no history for \['auc'\]"):
        plot_history(h, None, metrics=["auc"])
    with pytest.raises(ValueError, match="empty"):
        plot_history({}, None)
    with pytest.raises(TypeError, match="History object"):
        plot_history([1, 2], None)


def test_plot_history_without_matplotlib(monkeypatch):
    from jkeras.utils.history_plot import plot_history

    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_history({"loss": [1.0]}, None)


# -- a shared model's two calls, titles of nested models, and what `pip install jkeras` brings
def _edge_paths(root):
    """{"src->dst": [[(x, y), ...], ...]}: every drawn arrow's line, by its title."""
    out = {}
    for g in _groups(root, "edge"):
        d = g.find(SVG + "path").get("d")
        pts = [tuple(float(v) for v in p.split(",")) for p in d[1:].split(" L")]
        out.setdefault(g.find(SVG + "title").text, []).append(pts)
    return out


@pytest.mark.parametrize("expand", [True, False])
def test_a_shared_model_feeding_one_layer_twice_draws_two_arrows(tmp_path, expand):
    root = _parse_plot(_shared_vision_model(), tmp_path / "m.svg", expand_nested=expand)
    paths = _edge_paths(root)
    (first, second) = paths["enc2->pair" if expand else "vision->pair"]
    # two separate arrows, side by side, both reaching the concatenation
    assert abs(first[-1][0] - second[-1][0]) >= 8
    pair_top = _rects(root)["pair"][1]
    assert all(abs(p[-1][1] - pair_top) < 12 for p in (first, second))


def _crosses(points, box, step=1.0):
    """True if the polyline `points` passes through the rectangle `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        n = max(1, int(max(abs(bx - ax), abs(by - ay)) / step))
        for k in range(n + 1):
            x, y = ax + (bx - ax) * k / n, ay + (by - ay) * k / n
            if x0 <= x <= x1 and y0 <= y <= y1:
                return True
    return False


@pytest.mark.parametrize("rankdir", ["TB", "BT"])
def test_arrows_keep_clear_of_nested_model_titles(tmp_path, rankdir):
    from jkeras.utils.plot_layout import _SvgMetrics

    root = _parse_plot(_shared_vision_model(), tmp_path / "m.svg", expand_nested=True,
                       show_shapes=True, rankdir=rankdir)
    (label,) = [t for g in _groups(root, "cluster-labels") for t in g.iter(SVG + "text")]
    assert label.text == "vision (Functional)"
    x, y = float(label.get("x")), float(label.get("y"))
    box = (x - 2, y - 11, x + _SvgMetrics().width(label.text, bold=True) + 2, y + 4)
    paths = _edge_paths(root)
    assert len(paths["digit_a->img"]) == len(paths["digit_b->img"]) == 1
    for name, lines in paths.items():
        for line in lines:
            assert not _crosses(line, box), f"the arrow {name} crosses the title"


def test_default_png_needs_only_what_jkeras_installs(tmp_path, monkeypatch):
    """`plot_model(model)` writes model.png with pillow alone: no graphviz program, no
    pydot, no matplotlib, and no system font (pillow's own font is used)."""
    image = pytest.importorskip("PIL.Image")
    import shutil

    from jkeras.utils import plot_layout

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    for name in ("pydot", "pydotplus", "graphviz", "matplotlib"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(plot_layout, "_load_font", lambda *a: None)
    plot_model(_headline_model())
    with image.open(tmp_path / "model.png") as im:
        assert im.format == "PNG"
        dark = sum(im.convert("L").histogram()[:100])
    assert dark > 500  # the boxes' titles were drawn


def test_pillow_is_a_core_dependency_and_matplotlib_is_not():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    project = tomllib.loads(text)["project"]
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower()
             for d in project["dependencies"]}
    assert "pillow" in names and "matplotlib" not in names
    assert "graphviz" not in names and "pydot" not in names
