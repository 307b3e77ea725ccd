"""Callback base class, CallbackList, History and LambdaCallback."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

_BATCH_HOOKS = {
    "train_begin": ("on_train_batch_begin", "on_batch_begin"),
    "train_end": ("on_train_batch_end", "on_batch_end"),
    "test_begin": ("on_test_batch_begin",),
    "test_end": ("on_test_batch_end",),
    "predict_begin": ("on_predict_batch_begin",),
    "predict_end": ("on_predict_batch_end",),
}


class Callback:
    """Base class of training callbacks.

    `fit`/`evaluate`/`predict` call the hooks below; `self.model` is the model
    being trained and `self.params` holds `epochs`, `steps`, `verbose` (and the
    Keras 1/2 keys `batch_size`, `samples`, `do_validation`, `metrics`).
    Epoch-level hooks see the model's current weights; batch-level hooks of
    user callbacks do too (the trainer syncs weights for them).
    Keras 1/2 `on_batch_begin`/`on_batch_end` are called for training batches.
    """

    # Whether the trainer must write the weights to the model around this
    # callback's batch hooks. None: yes if it implements a batch hook.
    _sync_on_batch: bool | None = None
    # Built-in callbacks that accept lazily computed batch logs.
    _lazy_batch_logs = False
    # Built-in callbacks whose batch hooks do nothing in their configuration.
    _no_batch_hooks = False

    def __init__(self):
        self.validation_data = None
        self._model = None
        self.params: dict = {}

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model) -> None:
        self._model = model

    @property
    def model(self):
        return self._model

    @model.setter
    def model(self, model) -> None:
        self._model = model

    # Keras 1/2 batch hooks (training batches) ---------------------------------------
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training batch (Keras 1/2 name)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each training batch (Keras 1/2 name)."""

    # epochs ---------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of an epoch (0-based `epoch`)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of an epoch with the epoch's metrics (`val_` ones too)."""

    # batches ---------------------------------------------------------------------------
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of evaluate (and of validation in fit)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of evaluate (and of validation in fit)."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of predict."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of predict."""

    # whole runs -------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called at the start of fit."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called at the end of fit (also after an early stop)."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the start of evaluate (and of validation in fit)."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of evaluate (and of validation in fit)."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the start of predict."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of predict."""


def implements(cb: Callback, hook: str) -> bool:
    """Whether `cb` does something in `hook` (overridden in its class or set on
    the instance, as LambdaCallback does)."""
    if hook in vars(cb):
        return True
    base = getattr(Callback, hook, None)
    return getattr(type(cb), hook, None) is not base


def implements_batch(cb: Callback, kind: str) -> bool:
    if cb._no_batch_hooks:
        return False
    return any(implements(cb, h) for h in _BATCH_HOOKS[kind])


class LazyLogs(MutableMapping):
    """Batch logs computed on first access (fetching them waits for the device)."""

    def __init__(self, fn: Callable[[], dict]):
        self._fn = fn
        self._data: dict | None = None

    def _get(self) -> dict:
        if self._data is None:
            self._data = dict(self._fn())
        return self._data

    def __getitem__(self, key):
        return self._get()[key]

    def __setitem__(self, key, value):
        self._get()[key] = value

    def __delitem__(self, key):
        del self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def copy(self) -> dict:
        return dict(self._get())

    def __repr__(self):
        return f"LazyLogs({self._get()!r})"


class CallbackList:
    """Calls a list of callbacks; adds History (and ProgbarLogger when asked)."""

    def __init__(self, callbacks=None, add_history: bool = False, add_progbar: bool = False,
                 model=None, **params):
        from jkeras.callbacks.progbar_logger import ProgbarLogger

        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        else:
            callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be jkeras.callbacks.Callback instances, got "
                    f"{type(cb).__name__}: {cb!r}. Subclass keras.callbacks.Callback or use "
                    f"keras.callbacks.LambdaCallback."
                )
        self.callbacks = callbacks
        self.history = None
        if add_history:
            self.history = next((c for c in callbacks if isinstance(c, History)), None)
            if self.history is None:
                self.history = History()
                self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in callbacks):
            self.callbacks.append(ProgbarLogger())
        self.model = None
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, cb: Callback) -> None:
        self.callbacks.append(cb)

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def has_batch_hooks(self, kind: str) -> bool:
        return any(implements_batch(cb, kind) for cb in self.callbacks)

    def needs_batch_sync(self, kind: str) -> bool:
        for cb in self.callbacks:
            if implements_batch(cb, kind):
                sync = cb._sync_on_batch
                if sync is None or sync:
                    return True
        return False

    def _call(self, hook: str, *args, logs=None):
        if logs is None:  # hooks always get a dict, as in Keras (`logs.keys()` works)
            logs = {}
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs=logs)

    def _call_batch(self, kind: str, batch: int, logs):
        hooks = _BATCH_HOOKS[kind]
        materialized = None
        if logs is None:
            logs = {}
        for cb in self.callbacks:
            if not implements_batch(cb, kind):
                continue
            if callable(logs) and not isinstance(logs, MutableMapping):
                if cb._lazy_batch_logs:
                    cb_logs = LazyLogs(logs)
                else:
                    if materialized is None:
                        materialized = dict(logs())
                    cb_logs = materialized
            else:
                cb_logs = logs
            getattr(cb, hooks[0])(batch, logs=cb_logs)

    # hooks ------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch("train_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch("train_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch("test_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch("test_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch("predict_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch("predict_end", batch, logs)

    def __iter__(self):
        return iter(self.callbacks)


class History(Callback):
    """Records each epoch's logs: `history.history['loss']` is a list with one
    value per epoch, `history.epoch` the epoch indices. `fit` returns it and
    sets `model.history`."""

    _sync_on_batch = False

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def set_model(self, model) -> None:
        super().set_model(model)
        model.history = self

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class LambdaCallback(Callback):
    """A callback from functions: `on_epoch_begin(epoch, logs)`,
    `on_epoch_end(epoch, logs)`, `on_train_begin(logs)`, `on_train_end(logs)`,
    `on_train_batch_begin(batch, logs)` / Keras 2 `on_batch_begin`, and the same
    for `_end`, test and predict hooks."""

    _NAMES = (
        "on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
        "on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
        "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
        "on_predict_batch_end",
    )

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        fns = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                   on_train_begin=on_train_begin, on_train_end=on_train_end,
                   on_train_batch_begin=on_train_batch_begin,
                   on_train_batch_end=on_train_batch_end)
        unknown = [k for k in fns if k not in self._NAMES]
        if unknown:
            raise TypeError(
                f"LambdaCallback got unknown hook(s) {unknown}; valid hooks: "
                f"{list(self._NAMES)}."
            )
        for name, fn in fns.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}.")
            if name.endswith(("train_begin", "train_end", "test_begin", "test_end",
                              "predict_begin", "predict_end")) and "batch" not in name:
                setattr(self, name, _drop_extra(fn, 1))
            else:
                setattr(self, name, _drop_extra(fn, 2))


def _drop_extra(fn, nargs: int):
    """Calls `fn` positionally with the hook's arguments (epoch/batch, logs)."""
    if nargs == 1:
        def hook(logs=None):
            return fn(logs)
    else:
        def hook(index, logs=None):
            return fn(index, logs)
    return hook


def monitor_mode(monitor: str, mode: str, owner: str) -> str:
    """'min' or 'max' for `mode` ('auto' guesses from the metric name)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode != "auto":
        return mode
    name = monitor.lower()
    if name.startswith("val_"):
        name = name[4:]
    for key in ("acc", "auc", "precision", "recall", "fmeasure", "f1", "iou", "top_k"):
        if key in name:
            return "max"
    return "min"
