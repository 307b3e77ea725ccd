"""Loss targets and input data standardisation: user arrays (numpy, jax, torch,
tf; single, list or dict) become flat, checked lists over the model's inputs and
the outputs that have a loss or metrics, with per-output sample weights (class
weights folded in). Every check raises before any step runs, naming the
argument and the fix."""

from __future__ import annotations

import numbers

import jax
import numpy as np

from jkeras.training import data_adapter as da
from jkeras.training.compile_utils import by_output_name, loss_kind
from jkeras.training.data_checks import check_inputs, single_input_list, to_array

_STANDARD_LOSSES = {
    "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "kld",
    "kullback_leibler_divergence", "poisson", "cosine_similarity", "huber", "huber_loss",
    "log_cosh", "logcosh", "binary_crossentropy", "binary_focal_crossentropy",
}

_REGRESSION_LOSSES = {
    "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "poisson", "cosine_similarity", "huber", "huber_loss", "log_cosh", "logcosh",
}
_TARGET_VALUES = "numbers (class ids or float targets)"
_FINITE_CHUNK_BYTES = 1 << 22  # checks NaN/inf in 4 MiB pieces (little extra memory)


def _cast_default(a, dtype=None):
    """float64 -> float32 and int64 -> int32 (JAX's defaults), or to `dtype`."""
    dt = np.dtype(a.dtype)
    if dtype is not None:
        target = np.dtype(dtype)
        if dt != target and not (np.issubdtype(target, np.integer)
                                 and np.issubdtype(dt, np.floating)):
            return a.astype(target)
        return a
    if dt == np.float64:
        return a.astype(np.float32)
    if dt == np.int64:
        return a.astype(np.int32)
    if dt == np.uint64:
        return a.astype(np.uint32)
    if dt == np.bool_:
        return a.astype(np.float32)
    return a


def _all_finite(a) -> bool:
    if not np.issubdtype(np.dtype(a.dtype), np.floating):
        return True
    if isinstance(a, jax.Array):
        a = np.asarray(a)
    if a.ndim == 0 or a.size == 0:
        return bool(np.isfinite(a).all())
    rows = max(1, _FINITE_CHUNK_BYTES // max(1, a.itemsize * (a.size // len(a))))
    return all(bool(np.isfinite(a[i:i + rows]).all()) for i in range(0, len(a), rows))


def _first_bad(a) -> int:
    bad = ~np.isfinite(np.asarray(a).reshape(len(a), -1)).all(axis=1)
    return int(np.argmax(bad))


def _nrows(a) -> int | None:
    return int(a.shape[0]) if getattr(a, "ndim", 0) > 0 else None


class Standardizer:
    """Checks and flattens user data for one compiled model (see the module doc).
    `owner` is the Trainer: its `model`, `io` (ModelIO) and `config` (CompileConfig)."""

    def __init__(self, owner):
        self._owner = owner

    @property
    def model(self):
        return self._owner.model

    @property
    def io(self):
        return self._owner.io

    @property
    def outputs(self):
        return self._owner.config.outputs

    @property
    def _targets(self) -> list[int]:
        return [i for i, o in enumerate(self.outputs) if o.has_target]

    def host_x(self, x, what: str = "x"):
        """`x` with framework tensors as numpy arrays, a nested list given to a
        one-input model read as one array; before the model is built (its input
        dtypes unknown) every leaf must already hold numbers (`data_checks`)."""
        x = single_input_list(self.model, x, what)
        if not self.io.ready:
            return da.map_structure(lambda a: to_array(a, what), x)
        return da.map_structure(da.to_host, x)

    def flatten_targets(self, y, what: str) -> list:
        names = self.io.output_names
        n = len(names)
        if y is None:
            return [None] * n
        if isinstance(y, dict):
            return by_output_name(y, names, f"`{what}`", self.model.name)
        if isinstance(y, (list, tuple)) and not da.is_array_like(y):
            if n == 1 and (len(y) != 1 or not da.is_array_like(y[0])):
                return [to_array(y, what, _TARGET_VALUES)]
            if len(y) != n:
                raise ValueError(
                    f"`{what}` is a list of {len(y)} arrays, but model '{self.model.name}' has "
                    f"{n} output(s) {names}. Pass one array per output, in that order, or a "
                    f"dict keyed by output name."
                )
            return list(y)
        if n > 1:
            raise ValueError(
                f"`{what}` is a single array, but model '{self.model.name}' has {n} outputs "
                f"{names}. Pass a list of {n} arrays (one per output, in that order) or a dict "
                f"keyed by output name."
            )
        return [y]

    def check_target(self, i: int, y, what: str):
        spec = self.outputs[i]
        name = spec.name
        pred = self.io.output_shapes[i]
        kind = loss_kind(spec.loss) if spec.loss is not None else ""
        units = pred[-1] if pred else None
        ys = tuple(y.shape)
        if kind == "categorical":
            if len(ys) == len(pred) - 1 or (len(ys) == len(pred) and ys[-1] == 1
                                            and units not in (None, 1)):
                raise ValueError(
                    f"Output '{name}' is trained with categorical_crossentropy, which expects "
                    f"one-hot targets of shape {pred}, but `{what}` has shape {ys} (class ids). "
                    f"Use loss='sparse_categorical_crossentropy' for integer class ids, or "
                    f"one-hot encode them with jkeras.utils.to_categorical(y, num_classes="
                    f"{units})."
                )
        if kind == "sparse":
            if len(ys) == len(pred) and ys[-1] == units and units not in (None, 1):
                raise ValueError(
                    f"Output '{name}' is trained with sparse_categorical_crossentropy, which "
                    f"expects integer class ids of shape {pred[:-1]}, but `{what}` has shape "
                    f"{ys} (one-hot). Use loss='categorical_crossentropy' for one-hot targets, "
                    f"or pass the class ids (y.argmax(axis=-1))."
                )
            ok_rank = len(ys) == len(pred) - 1 or (len(ys) == len(pred) and ys[-1] == 1)
            if not ok_rank:
                raise ValueError(
                    f"Output '{name}' has shape {pred}; sparse_categorical_crossentropy needs "
                    f"class ids of shape {pred[:-1]}, but `{what}` has shape {ys}."
                )
            if y.size and units is not None:
                arr = np.asarray(y)
                if np.issubdtype(arr.dtype, np.floating) and not np.all(np.mod(arr, 1) == 0):
                    raise ValueError(
                        f"Output '{name}' is trained with sparse_categorical_crossentropy, "
                        f"which expects integer class ids, but `{what}` holds non-integer "
                        f"values. Pass class ids 0..{units - 1}."
                    )
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0 or hi >= units:
                    raise ValueError(
                        f"`{what}` for output '{name}' holds class id(s) in [{lo}, {hi}], but the "
                        f"output has {units} units, so ids must be in [0, {units - 1}]. Give the "
                        f"last layer as many units as there are classes (Dense({hi + 1})) or "
                        f"fix the labels."
                    )
            return y
        if len(ys) == len(pred) - 1 and units == 1:
            y = y.reshape(*ys, 1)
            ys = tuple(y.shape)
        if kind == "binary" and y.size:
            arr = np.asarray(y)
            lo, hi = float(arr.min()), float(arr.max())
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"Output '{name}' is trained with binary_crossentropy, which expects targets "
                    f"in [0, 1], but `{what}` holds values in [{lo:g}, {hi:g}]. For several "
                    f"classes use a softmax output with sparse_categorical_crossentropy."
                )
        standard = kind in ("categorical", "binary") or _loss_name(spec.loss) in _STANDARD_LOSSES
        if standard and (len(ys) != len(pred) or any(
                p is not None and p != d for p, d in zip(pred[1:], ys[1:]))):
            raise ValueError(
                f"Output '{name}' has shape {pred}, but its target `{what}` has shape {ys}. "
                f"Targets must have the output's shape (batch first)."
            )
        return y

    def standardize(self, x, y, sw, *, what_x="x", what_y="y", what_sw="sample_weight",
                     check_finite=True, checks=True):
        """Flat, checked numpy/jax arrays: (x list, y list, sw list) over the
        model inputs and the outputs that have a loss or metrics."""
        io = self.io
        x = self.host_x(x, what_x)
        try:
            flat_x = io.flatten_x(x)
        except ValueError as e:
            raise ValueError(f"`{what_x}`: {e}") from None
        declared = io.input_dtypes or []
        names = io.input_names if io.functional else None
        xs = [_cast_default(a, declared[j] if j < len(declared) else None)
              for j, a in enumerate(check_inputs(flat_x, what_x, names, declared))]
        targets = self._targets
        flat_y = self.flatten_targets(y, what_y)
        names = io.output_names
        ys = []
        missing = [names[i] for i in targets if flat_y[i] is None]
        if missing:
            if y is None:
                raise ValueError(
                    f"Model '{self.model.name}' has a loss (or metrics) for output(s) {missing}, "
                    f"so it needs targets: pass `{what_y}` (one array per output, or a dict "
                    f"keyed by output name)."
                )
            raise ValueError(
                f"No targets given for output(s) {missing} of model '{self.model.name}', which "
                f"have a loss or metrics. Pass them in `{what_y}`, or set their loss to None."
            )
        for i in targets:
            lbl = what_y if len(names) == 1 else f"{what_y}['{names[i]}']"
            a = _cast_default(to_array(flat_y[i], lbl, _TARGET_VALUES))
            ys.append(self.check_target(i, a, lbl) if checks else a)
        counts = {}
        for j, a in enumerate(xs):
            counts[f"{what_x}[{j}]" if len(xs) > 1 else what_x] = _nrows(a)
        for k, i in enumerate(targets):
            counts[f"{what_y}['{names[i]}']" if len(names) > 1 else what_y] = _nrows(ys[k])
        sizes = {v for v in counts.values() if v is not None}
        if len(sizes) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise ValueError(
                f"Data cardinality is ambiguous: the arrays have different numbers of samples "
                f"({detail}). Make sure `{what_x}` and `{what_y}` hold the same number of "
                f"samples (rows)."
            )
        n = sizes.pop() if sizes else 0
        sws = self.standardize_weights(sw, n, ys, what_sw)
        if check_finite:
            for j, a in enumerate(xs):
                if not _all_finite(a):
                    nm = io.input_names[j] if io.functional else str(j)
                    raise ValueError(
                        f"`{what_x}` (input '{nm}') contains NaN or infinite values (first at "
                        f"sample {_first_bad(a)}). Clean or impute the data before training, "
                        f"or pass check_finite=False to skip this check."
                    )
            for k, a in enumerate(ys):
                if not _all_finite(a):
                    raise ValueError(
                        f"`{what_y}` (output '{names[targets[k]]}') contains NaN or infinite "
                        f"values (first at sample {_first_bad(a)}). Clean the targets, or pass "
                        f"check_finite=False to skip this check."
                    )
        return xs, ys, sws

    def standardize_weights(self, sw, n: int, ys: list, what: str) -> list:
        targets = self._targets
        names = self.io.output_names
        if sw is None:
            per = [None] * len(names)
        elif isinstance(sw, dict):
            per = by_output_name(sw, names, f"`{what}`", self.model.name)
        elif isinstance(sw, (list, tuple)) and not da.is_array_like(sw) and (
                len(names) > 1 or (len(sw) == 1 and da.is_array_like(sw[0]))):
            if len(sw) != len(names):
                raise ValueError(
                    f"`{what}` is a list of {len(sw)} arrays, but model '{self.model.name}' has "
                    f"{len(names)} outputs {names}. Pass one per output or a dict by name."
                )
            per = list(sw)
        else:
            per = [sw] * len(names)
        out = []
        for i in targets:
            w = per[i]
            if w is None:
                out.append(np.ones((n,), dtype="float32"))
                continue
            lbl = what if len(names) == 1 else f"{what}['{names[i]}']"
            w = np.asarray(to_array(w, lbl, "float weights"), dtype="float32")
            pred = self.io.output_shapes[i]
            per_rank = max(len(pred) - 1, 1)
            if w.ndim == 2 and w.shape[1] == 1 and per_rank == 1:
                w = w[:, 0]
            if w.ndim == 0 or w.shape[0] != n:
                raise ValueError(
                    f"`{lbl}` has shape {w.shape}, but there are {n} samples: give one weight "
                    f"per sample, shape ({n},)."
                )
            if w.ndim > 1:
                time_ok = (w.ndim <= per_rank and all(
                    p is None or p == d for p, d in zip(pred[1:w.ndim], w.shape[1:])))
                if not time_ok:
                    raise ValueError(
                        f"`{lbl}` has shape {w.shape}; expected ({n},) (one weight per sample)"
                        f"{' or (' + str(n) + ', timesteps) per timestep' if per_rank > 1 else ''}"
                        f". Output '{names[i]}' has shape {pred}. For per-timestep weights "
                        f"use compile(sample_weight_mode='temporal') with a sequence output."
                    )
            if not np.isfinite(w).all():
                raise ValueError(f"`{lbl}` contains NaN or infinite weights.")
            out.append(w)
        return out

    def class_weight_tables(self, class_weight) -> list:
        """Per target output: a dict {class id: weight} or None."""
        targets = self._targets
        names = self.io.output_names
        if class_weight is None:
            return [None] * len(targets)
        if not isinstance(class_weight, (dict, list, tuple)):
            raise TypeError(
                f"class_weight must be a dict {{class id: weight}} (or a dict of such dicts "
                f"keyed by output name), got {type(class_weight).__name__}."
            )
        if isinstance(class_weight, (list, tuple)):
            if len(class_weight) != len(names):
                raise ValueError(
                    f"class_weight is a list of {len(class_weight)} dicts, but the model has "
                    f"{len(names)} outputs {names}."
                )
            per = list(class_weight)
        elif class_weight and all(isinstance(k, str) for k in class_weight):
            per = by_output_name(
                class_weight, names, "class_weight", self.model.name,
                hint=" (For a single output, use a dict of class ids: {0: 1.0, 1: 5.0}.)")
        else:
            if len(names) > 1:
                raise ValueError(
                    f"class_weight for model '{self.model.name}' with several outputs {names} "
                    f"must be a dict keyed by output name, each value a dict {{class id: "
                    f"weight}}."
                )
            per = [class_weight]
        out = []
        for i in targets:
            cw = per[i]
            if cw is None:
                out.append(None)
                continue
            if not isinstance(cw, dict):
                raise TypeError(
                    f"class_weight for output '{names[i]}' must be a dict {{class id: weight}}, "
                    f"got {type(cw).__name__}."
                )
            self._check_classifier(i)
            out.append(_class_table(cw, names[i], *self._classes(i)))
        return out

    def _check_classifier(self, i: int) -> None:
        """Refuses class weights for an output trained with a regression loss."""
        loss = _loss_name(self.outputs[i].loss)
        if loss in _REGRESSION_LOSSES:
            raise ValueError(
                f"class_weight is given for output '{self.outputs[i].name}', which is trained "
                f"with {loss}, a regression loss: class weights apply to classification "
                f"outputs, whose targets are class ids or one-hot rows. Weight the samples "
                f"with sample_weight instead, or leave this output out of class_weight."
            )

    def _classes(self, i: int) -> tuple[int | None, str]:
        """(number of classes of output i or None when unknown, how that was found)."""
        pred = self.io.output_shapes[i]
        units = pred[-1] if pred else None
        kind = loss_kind(self.outputs[i].loss) if self.outputs[i].loss is not None else ""
        if units is None:
            return None, ""
        if units == 1:
            if kind == "binary":
                return 2, "a binary output (1 unit): its classes are 0 and 1"
            return None, ""
        return units, f"{units} units, so class ids 0 to {units - 1}"

    def apply_class_weights(self, tables, ys, sws, what="class_weight") -> list:
        out = []
        for k, i in enumerate(self._targets):
            table = tables[k] if k < len(tables) else None
            if table is None:
                out.append(sws[k])
                continue
            y = np.asarray(ys[k])
            pred = self.io.output_shapes[i]
            kind = loss_kind(self.outputs[i].loss)
            if kind == "sparse" or y.ndim == len(pred) - 1 or y.shape[-1] == 1:
                ids = np.rint(y).astype("int64")
                if y.ndim == len(pred) and y.shape[-1] == 1:
                    ids = ids[..., 0]
                _check_class_ids(y, ids, kind, self.outputs[i].name, what)
            else:
                ids = np.argmax(y, axis=-1)
            present = np.unique(ids)
            missing = [int(c) for c in present if int(c) not in table]
            if missing:
                raise ValueError(
                    f"`{what}` for output '{self.outputs[i].name}' has no weight for class(es) "
                    f"{missing}, which occur in the targets. Give every class a weight "
                    f"(classes present: {[int(c) for c in present]})."
                )
            lut = np.ones(int(max(max(table), present.max(initial=0))) + 1, dtype="float32")
            for c, v in table.items():
                lut[c] = v
            cw = lut[ids]
            w = sws[k]
            if w.ndim < cw.ndim:
                w = w.reshape(w.shape + (1,) * (cw.ndim - w.ndim))
            out.append((w * cw).astype("float32"))
        return out


def _class_table(cw: dict, output: str, classes: int | None, about: str) -> dict:
    """{class id: weight} from a user's class_weight dict for one output, each key a
    class id of the output (below `classes` when known) and each weight a finite
    number >= 0; a ValueError/TypeError naming the output, key and value otherwise."""
    table = {}
    for k, v in cw.items():
        integral = isinstance(k, (numbers.Integral, np.integer)) or (
            isinstance(k, (float, np.floating)) and float(k).is_integer())
        if isinstance(k, (bool, np.bool_)) or not integral or k < 0:
            raise ValueError(
                f"class_weight for output '{output}' has the key {k!r}, but keys must be "
                f"class ids: integers >= 0 (e.g. {{0: 1.0, 1: 5.0}})."
            )
        if classes is not None and k >= classes:
            raise ValueError(
                f"class_weight for output '{output}' has the key {k!r}, which is not one of "
                f"its classes: the output has {about}. Give weights for classes 0 to "
                f"{classes - 1} only."
            )
        if isinstance(v, (str, bytes, bool, np.bool_)) or not isinstance(
                v, (numbers.Real, np.ndarray)) or np.ndim(v) != 0:
            raise TypeError(
                f"class_weight for output '{output}' gives class {k!r} the weight {v!r}; "
                f"weights must be numbers (floats >= 0)."
            )
        w = float(v)
        if not np.isfinite(w) or w < 0:
            raise ValueError(
                f"class_weight for output '{output}' gives class {k!r} the weight {w}; "
                f"weights must be finite numbers >= 0 (0 leaves the class out of the loss)."
            )
        table[int(k)] = w
    return table


def _check_class_ids(y, ids, kind: str, output: str, what: str) -> None:
    """Targets read as class ids must be integers >= 0 (binary targets in [0, 1]
    are rounded, as Keras does for soft labels)."""
    if kind != "binary" and np.issubdtype(y.dtype, np.floating) and y.size:
        off = np.flatnonzero(np.asarray(y).ravel() != ids.ravel())
        if off.size:
            raise ValueError(
                f"`{what}` for output '{output}' needs class ids as targets, but the targets "
                f"hold non-integer values (e.g. {np.asarray(y).ravel()[off[0]]:g}), as a "
                f"regression output has. Class weights apply to classification outputs; "
                f"weight regression samples with sample_weight instead."
            )
    if ids.size and ids.min() < 0:
        raise ValueError(
            f"`{what}` for output '{output}' needs class ids >= 0 as targets, but the targets "
            f"hold {int(ids.min())}. Map the labels to ids 0, 1, ... first."
        )


def _loss_name(loss) -> str:
    for obj in (loss, getattr(loss, "fn", None)):
        for attr in ("name", "__name__"):
            v = getattr(obj, attr, None)
            if isinstance(v, str) and v.lower() in _STANDARD_LOSSES:
                return v.lower()
    return ""
