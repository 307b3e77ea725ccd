"""`SwapEMAWeights`: evaluate (and optionally checkpoint) with the
optimizer's moving averages of the weights instead of the weights."""

from __future__ import annotations

from jkeras.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's trainable weights with the optimizer's exponential
    moving averages (an optimizer created with `use_ema=True`) before
    evaluation and prediction, and swaps them back after, so metrics are
    computed with the averaged weights. With `swap_on_epoch=True` it also
    swaps at each epoch end and back at the next epoch's start, so that the
    callbacks placed after it (e.g. `ModelCheckpoint`) see the averages; the
    averages then stay in the model when fit ends, as the optimizer puts them
    there anyway. With a `MultiOptimizer`, the sub-optimizers with
    `use_ema=True` are swapped."""

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._ema_weights_in_model = False

    def _ema_optimizers(self) -> list:
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)  # LossScaleOptimizer
        subs = getattr(opt, "optimizers", None)
        if subs is not None:
            chosen = [o for o in subs if getattr(o, "use_ema", False)]
            if not chosen:
                raise ValueError(
                    "SwapEMAWeights needs at least one sub-optimizer of the MultiOptimizer "
                    "created with use_ema=True; none is."
                )
            return chosen
        if not getattr(opt, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights needs an optimizer created with use_ema=True (got "
                f"{type(opt).__name__} with use_ema={getattr(opt, 'use_ema', None)})."
            )
        return [opt]

    def _swap(self) -> None:
        """Exchanges the weights and their averages (nothing is copied)."""
        for opt in self._ema_optimizers():
            state = opt.state
            if state is None or state.ema is None:
                continue  # not built yet: nothing was averaged
            variables = opt._trainable_variables
            weights = [v.value for v in variables]
            for v, average in zip(variables, state.ema):
                v.assign(average)
            opt.state = state._replace(ema=weights)

    def _keep_averages(self) -> None:
        """Makes the averages equal to the (averaged) weights now in the model."""
        for opt in self._ema_optimizers():
            if opt.state is not None and opt.state.ema is not None:
                opt.state = opt.state._replace(
                    ema=[v.value for v in opt._trainable_variables])

    def _to_averages(self) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _to_weights(self) -> None:
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._to_weights()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._to_averages()
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends by moving the averages into the model: keep them
                self._keep_averages()

    def on_test_begin(self, logs=None):
        self._to_averages()

    def on_test_end(self, logs=None):
        self._to_weights()

    def on_predict_begin(self, logs=None):
        self._to_averages()

    def on_predict_end(self, logs=None):
        self._to_weights()
