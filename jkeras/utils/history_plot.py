"""`plot_history`: training curves (loss and metrics, training vs validation)
drawn with matplotlib, an optional extra."""

from __future__ import annotations

import os


def _history_dict(history) -> dict:
    data = getattr(history, "history", history)
    if not isinstance(data, dict):
        raise TypeError(
            f"plot_history expects a History object (what fit() returns) or a dict of "
            f"lists, got {type(history).__name__}."
        )
    return data


def _epochs(history, n: int) -> list[int]:
    epochs = getattr(history, "epoch", None)
    if isinstance(epochs, (list, tuple)) and len(epochs) == n:
        return [int(e) + 1 for e in epochs]
    return list(range(1, n + 1))


def plot_history(history, to_file: str | None = None, metrics=None, title: str | None = None,
                 dpi: int = 96):
    """Draws one panel per metric (``loss`` first), with the training curve and,
    when present, the ``val_`` curve, and writes it to `to_file` (any format
    matplotlib writes: .png, .svg, .pdf, ...).

    Args:
        history: a `History` (what `fit` returns) or a dict ``name -> list of
            per-epoch values``.
        to_file: where to write the figure (None: write nothing).
        metrics: names to draw (without ``val_``), e.g. ``["loss", "accuracy"]``;
            default: all of them.
        title: a title over the panels.
        dpi: resolution of raster output.

    Returns:
        The matplotlib `Figure` (displayed inline by Jupyter).
    """
    data = _history_dict(history)
    base = [k for k in data if not k.startswith("val_")]
    base += [k[4:] for k in data if k.startswith("val_") and k[4:] not in data]
    base.sort(key=lambda k: (k != "loss", list(data).index(k) if k in data else 0))
    if metrics is not None:
        if isinstance(metrics, str):
            metrics = [metrics]
        unknown = [m for m in metrics if m not in base]
        if unknown:
            raise ValueError(f"plot_history: no history for {unknown}; it has {base}.")
        base = list(metrics)
    series = [(k, data.get(k), data.get(f"val_{k}")) for k in base]
    series = [(k, tr, va) for k, tr, va in series if (tr is not None and len(tr)) or
              (va is not None and len(va))]
    if not series:
        raise ValueError("plot_history: the history is empty; train with fit() first.")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError(
            "plot_history draws with matplotlib, which is not installed: pip install "
            "matplotlib (or pip install 'jkeras[demo]')."
        ) from e
    n = len(series)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, (name, train, val) in enumerate(series):
        ax = axes[i // cols][i % cols]
        for values, label, style in ((train, "training", "-o"), (val, "validation", "--s")):
            if values is None or not len(values):
                continue
            values = [float(v) for v in values]
            ax.plot(_epochs(history, len(values)), values, style, markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if to_file is not None:
        to_file = os.fspath(to_file)
        folder = os.path.dirname(os.path.abspath(to_file))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(to_file, dpi=dpi)
    return fig


__all__ = ["plot_history"]
