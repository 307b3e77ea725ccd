"""ProgbarLogger: prints the progress bar of fit/evaluate (added by fit when verbose)."""

from __future__ import annotations

from jkeras.backend.interactive_logging import print_msg
from jkeras.callbacks.callback import Callback


class ProgbarLogger(Callback):
    """Shows `Epoch i/N` and a Keras-style bar per epoch (verbose=1), or one line
    per epoch (verbose=2). Batch logs are fetched only when the bar redraws."""

    _sync_on_batch = False
    _lazy_batch_logs = True

    def __init__(self, count_mode: str = "steps", stateful_metrics=None):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self._progbar = None
        self._in_fit = False
        self._seen = 0

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self, target):
        from jkeras.training.progbar import Progbar

        self._progbar = Progbar(target=target, verbose=self.verbose, unit_name="step")
        self._seen = 0

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._batch_update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit and self._progbar is not None and self.verbose:
            self._progbar.update(self._seen, dict(logs or {}), finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self._progbar is not None and self._progbar.should_draw(self._seen):
            self._progbar.update(self._seen)

    def on_predict_end(self, logs=None):
        if self._progbar is not None and self.verbose:
            self._progbar.update(self._seen, finalize=True)

    def _batch_update(self, batch, logs):
        self._seen = batch + 1
        bar = self._progbar
        if bar is None or not self.verbose:
            return
        if bar.target is not None and self._seen >= bar.target:
            return  # the epoch's end draws the final line with validation values
        if bar.should_draw(self._seen, finalize=False):
            bar.update(self._seen, dict(logs or {}), finalize=False)
        else:
            bar.update(self._seen, None, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._progbar is not None and self.verbose:
            self._progbar.update(self._seen, dict(logs or {}), finalize=True)
