"""compile() arguments resolved against a model's outputs.

Output names are the output layers' names (or the keys of a dict of outputs).
`loss` may be one loss for every output, a list in output order or a dict by
output name; `loss_weights` a list or dict; `metrics`/`weighted_metrics` a list
for every output, a list of lists, or a dict by output name. History keys:
`loss`, then per output `<out>_loss` (several outputs), then the metrics,
named as the user wrote them (`acc` stays `acc`), prefixed `<out>_` when the
model has several outputs.
"""

from __future__ import annotations

import copy
import numbers


def _is_loss_spec(x) -> bool:
    return x is None or isinstance(x, str) or callable(x)


def loss_kind(loss) -> str:
    """'sparse', 'categorical', 'binary' or '' from a loss object's name."""
    names = []
    for obj in (loss, getattr(loss, "fn", None)):
        if obj is None:
            continue
        for attr in ("name", "__name__"):
            v = getattr(obj, attr, None)
            if isinstance(v, str):
                names.append(v)
        names.append(type(obj).__name__)
    text = " ".join(names).lower().replace("_", "")
    if "sparsecategoricalcrossentropy" in text or "sparsecategoricalfocal" in text:
        return "sparse"
    if "categoricalcrossentropy" in text or "categoricalfocal" in text:
        return "categorical"
    if "binarycrossentropy" in text or "binaryfocal" in text:
        return "binary"
    return ""


def by_output_name(value: dict, names: list[str], what: str, model_name: str,
                   default=None, hint: str = "") -> list:
    """The values of a dict keyed by output name, in output order (`default` for
    outputs it leaves out); a ValueError naming `what` for keys that name no output."""
    unknown = [k for k in value if k not in names]
    if unknown:
        raise ValueError(
            f"{what} has key(s) {unknown} that name no output of model '{model_name}'. "
            f"Valid output names: {names}.{hint}"
        )
    return [value.get(k, default) for k in names]


def _per_output(value, names: list[str], argument: str, model_name: str,
                is_single, default=None) -> list:
    """Spreads a compile argument over the outputs (one value for all, a list in
    output order, or a dict by output name)."""
    n = len(names)
    if isinstance(value, dict):
        return by_output_name(value, names, f"compile(): `{argument}`", model_name, default)
    if isinstance(value, (list, tuple)) and not is_single(value):
        if len(value) != n:
            raise ValueError(
                f"compile(): `{argument}` is a list of {len(value)} entries, but model "
                f"'{model_name}' has {n} output(s) {names}. Give one entry per output (in that "
                f"order), a dict keyed by output name, or a single value for every output."
            )
        return list(value)
    return [value] * n


class OutputSpec:
    """What compile says about one output."""

    def __init__(self, name: str, loss, loss_weight: float, metrics: list,
                 weighted_metrics: list, sample_weight_mode):
        self.name = name
        self.loss = loss
        self.loss_weight = loss_weight
        self.metric_ids = metrics
        self.weighted_metric_ids = weighted_metrics
        self.sample_weight_mode = sample_weight_mode
        self.metrics: list = []  # (display name, Metric, weighted)

    @property
    def has_target(self) -> bool:
        return self.loss is not None or bool(self.metric_ids) or bool(self.weighted_metric_ids)


class CompileConfig:
    """The raw compile() arguments, and their resolution for a model's outputs."""

    def __init__(self, loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                 sample_weight_mode=None):
        self.loss = loss
        self.metrics = metrics
        self.loss_weights = loss_weights
        self.weighted_metrics = weighted_metrics
        self.sample_weight_mode = sample_weight_mode
        self.outputs: list[OutputSpec] | None = None
        self._metrics_built = False
        self.loss_trackers: list = []  # (display name, Mean, output index or None)

    # ---------------------------------------------------------------------------------
    def resolve(self, names: list[str], model_name: str) -> list[OutputSpec]:
        from jkeras import losses as losses_module

        if self.outputs is not None and [o.name for o in self.outputs] == list(names):
            return self.outputs
        n = len(names)
        raw_losses = _per_output(self.loss, names, "loss", model_name, lambda v: False)
        resolved = []
        for name, spec in zip(names, raw_losses):
            if spec is None:
                resolved.append(None)
                continue
            if not _is_loss_spec(spec):
                raise ValueError(
                    f"compile(): the loss for output '{name}' must be a loss name, a function "
                    f"or a jkeras.losses object, got {type(spec).__name__}: {spec!r}."
                )
            try:
                resolved.append(losses_module.get(spec))
            except (ValueError, TypeError) as e:
                raise ValueError(f"compile(): unknown loss {spec!r} for output '{name}': {e}") \
                    from e
        if self.loss_weights is None:
            weights = [1.0] * n
        elif isinstance(self.loss_weights, numbers.Number):
            weights = [float(self.loss_weights)] * n
        else:
            weights = _per_output(self.loss_weights, names, "loss_weights", model_name,
                                  lambda v: False, default=1.0)
        for name, w in zip(names, weights):
            if not isinstance(w, numbers.Number):
                raise ValueError(
                    f"compile(): loss_weights for output '{name}' must be a number, got {w!r}."
                )
        metrics = self._spread_metrics(self.metrics, names, "metrics", model_name)
        weighted = self._spread_metrics(self.weighted_metrics, names, "weighted_metrics",
                                        model_name)
        modes = _per_output(self.sample_weight_mode, names, "sample_weight_mode", model_name,
                            lambda v: False)
        for name, m in zip(names, modes):
            if m not in (None, "temporal"):
                raise ValueError(
                    f"compile(): sample_weight_mode for output '{name}' must be None or "
                    f"'temporal', got {m!r}."
                )
        self.outputs = [
            OutputSpec(nm, lo, float(w), me, wm, mo)
            for nm, lo, w, me, wm, mo in zip(names, resolved, weights, metrics, weighted, modes)
        ]
        self._metrics_built = False
        return self.outputs

    @staticmethod
    def _spread_metrics(value, names, argument, model_name) -> list[list]:
        n = len(names)
        if value is None:
            return [[] for _ in names]
        if isinstance(value, dict):
            per = by_output_name(value, names, f"compile(): `{argument}`", model_name)
            return [[] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]
                    for v in per]
        if not isinstance(value, (list, tuple)):
            value = [value]
        if n > 1 and len(value) == n and all(isinstance(v, (list, tuple)) or v is None
                                             for v in value):
            return [list(v) if v is not None else [] for v in value]
        if any(isinstance(v, (list, tuple)) for v in value):
            raise ValueError(
                f"compile(): `{argument}` mixes lists and single metrics. Give a list of metrics "
                f"for every output, one list per output ({n} lists for {names}), or a dict keyed "
                f"by output name."
            )
        return [list(value) for _ in names]

    # ---------------------------------------------------------------------------------
    def build_metrics(self, y_shapes: list, pred_shapes: list) -> None:
        """Creates the Metric objects (their kind may depend on target shapes)."""
        if self._metrics_built:
            return
        from jkeras import metrics as metrics_module

        multi = len(self.outputs) > 1
        used: dict[str, int] = {}
        seen_objects: set[int] = set()

        def unique(name):
            if name in used:
                used[name] += 1
                return f"{name}_{used[name]}"
            used[name] = 0
            return name

        self.loss_trackers = [(unique("loss"), metrics_module.Mean(name="loss"), None)]
        if multi:
            for i, o in enumerate(self.outputs):
                if o.loss is not None:
                    nm = unique(f"{o.name}_loss")
                    self.loss_trackers.append((nm, metrics_module.Mean(name=nm), i))
        for i, o in enumerate(self.outputs):
            o.metrics = []
            for ids, weighted in ((o.metric_ids, False), (o.weighted_metric_ids, True)):
                for ident in ids:
                    if ident is None:
                        continue
                    metric, name = _make_metric(metrics_module, ident, o.loss, y_shapes[i],
                                                pred_shapes[i], seen_objects)
                    build = getattr(metric, "build_from_shapes", None)  # shape-dependent state
                    if build is not None and y_shapes[i] is not None:
                        build(y_shapes[i], pred_shapes[i])
                    display = unique(f"{o.name}_{name}" if multi else name)
                    o.metrics.append((display, metric, weighted))
        self._metrics_built = True

    def all_metrics(self) -> list:
        """(display name, Metric) in history/metrics_names order."""
        out = [(n, m) for n, m, _ in self.loss_trackers]
        for o in self.outputs or []:
            out.extend((n, m) for n, m, _ in o.metrics)
        return out

    def metric_names(self) -> list[str]:
        """History keys, also before metrics are built."""
        if self._metrics_built:
            return [n for n, _ in self.all_metrics()]
        if self.outputs is None:
            return ["loss"]
        multi = len(self.outputs) > 1
        names = ["loss"]
        if multi:
            names += [f"{o.name}_loss" for o in self.outputs if o.loss is not None]
        for o in self.outputs:
            for ident in list(o.metric_ids) + list(o.weighted_metric_ids):
                if ident is None:
                    continue
                nm = _metric_display_name(ident)
                names.append(f"{o.name}_{nm}" if multi else nm)
        return names


def _metric_display_name(ident) -> str:
    if isinstance(ident, str):
        return ident
    name = getattr(ident, "name", None)
    if isinstance(name, str):
        return name
    return getattr(ident, "__name__", type(ident).__name__)


def _make_metric(metrics_module, ident, loss, y_shape, pred_shape, seen_objects: set):
    """The Metric for one output and its display name (a Metric instance used
    for several outputs is copied for each further output)."""
    name = _metric_display_name(ident)
    if isinstance(ident, str):
        return metrics_module.resolve(ident, loss, y_shape, pred_shape), ident
    if isinstance(ident, type):
        obj = ident()
        return obj, getattr(obj, "name", name)
    obj = metrics_module.get(ident)
    if id(obj) in seen_objects:
        obj = _fresh_copy(obj)
    seen_objects.add(id(obj))
    return obj, name


def _fresh_copy(metric):
    try:
        clone = type(metric).from_config(metric.get_config())
    except Exception:  # noqa: BLE001 - fall back to a deep copy
        clone = copy.deepcopy(metric)
    return clone


def shape_tuple(s) -> tuple:
    return tuple(None if d is None else int(d) for d in s)
