"""Model.summary(): a table of layers, output shapes, parameter counts and
connections."""

from __future__ import annotations

from jkeras.engine.input_layer import InputLayer


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n:.2f} GB"


def _model_nodes(model, layer):
    ids = getattr(model, "_node_ids", None)
    nodes = layer._inbound_nodes
    if ids is None:
        return nodes
    return [n for n in nodes if id(n) in ids] or nodes[:1]


def _layer_rows(model, show_connections: bool, expand_nested: bool, depth: int = 0):
    from jkeras.engine.functional import Functional

    rows = []
    for layer in model.layers:
        nodes = _model_nodes(model, layer)
        shapes = [n.output_shapes for n in nodes]
        if not shapes:
            out_shape = "?"
        elif all(s == shapes[0] for s in shapes):
            out_shape = _fmt_shape(shapes[0])
        else:
            out_shape = "multiple"
        params = layer.count_params() if layer.built else 0
        connected = []
        if show_connections:
            for n in nodes:
                for t in n.input_tensors:
                    op, ni, ti = t._keras_history
                    connected.append(f"{op.name}[{ni}][{ti}]")
        trainable = "Y" if layer.trainable else "N"
        if isinstance(layer, InputLayer):
            trainable = "-"
        rows.append((depth, f"{layer.name} ({type(layer).__name__})", out_shape,
                     f"{params:,}", connected, trainable))
        if expand_nested and isinstance(layer, Functional):
            rows.extend(_layer_rows(layer, show_connections, True, depth + 1))
    return rows


def print_summary(model, line_length=None, print_fn=None, expand_nested=False,
                  show_trainable=False) -> None:
    from jkeras.engine.functional import Functional
    from jkeras.engine.sequential import Sequential

    print_fn = print_fn or print
    if not model.built:
        print_fn(
            f'Model: "{model.name}" (not built yet: call it on data, or give the first '
            f"layer an input_shape, to see shapes and parameters)"
        )
        return
    show_connections = isinstance(model, Functional) and not isinstance(model, Sequential)
    headers = ["Layer (type)", "Output Shape", "Param #"]
    if show_connections:
        headers.append("Connected to")
    if show_trainable:
        headers.append("Trainable")
    rows = _layer_rows(model, show_connections, expand_nested)
    table = []
    for depth, name, shape, params, connected, trainable in rows:
        prefix = "  " * depth
        first = [prefix + name, shape, params]
        if show_connections:
            first.append(connected[0] if connected else "-")
        if show_trainable:
            first.append(trainable)
        table.append(first)
        for extra in connected[1:]:
            line = ["", "", "", extra]
            if show_trainable:
                line.append("")
            table.append(line)
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h)
              for i, h in enumerate(headers)]
    total_width = sum(widths) + 3 * (len(widths) - 1)
    if line_length:
        total_width = max(total_width, line_length)

    def fmt(cells):
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    print_fn(f'Model: "{model.name}"')
    print_fn("=" * total_width)
    print_fn(fmt(headers))
    print_fn("=" * total_width)
    for r in table:
        print_fn(fmt(r))
    print_fn("=" * total_width)
    weights = model.weights
    trainable_ids = {id(v) for v in model.trainable_weights}
    total = sum(v.size for v in weights)
    trainable = sum(v.size for v in weights if id(v) in trainable_ids)
    nbytes = sum(v.size * _itemsize(v.dtype) for v in weights)
    tbytes = sum(v.size * _itemsize(v.dtype) for v in weights if id(v) in trainable_ids)
    print_fn(f"Total params: {total:,} ({_human_bytes(nbytes)})")
    print_fn(f"Trainable params: {trainable:,} ({_human_bytes(tbytes)})")
    print_fn(f"Non-trainable params: {total - trainable:,} ({_human_bytes(nbytes - tbytes)})")


def _itemsize(dtype) -> int:
    import numpy as np

    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 2
