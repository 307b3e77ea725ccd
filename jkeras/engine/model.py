"""Model: a layer with training and inference methods.

`Model(inputs, outputs)` (or the Keras 1 `Model(input=, output=)`) returns a
`Functional` model; subclassing `Model` and defining `call` gives a
subclassed model. Training and inference live in `jkeras.training` and are
reached through the methods here.
"""

from __future__ import annotations

import jax

from jkeras.engine.layer import Layer

_FUNCTIONAL_KEYS = ("inputs", "outputs", "input", "output")


class Model(Layer):
    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or any(k in kwargs for k in _FUNCTIONAL_KEYS)):
            from jkeras.engine.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args:
            raise TypeError(
                "Model(...) takes inputs and outputs together: Model(inputs, outputs). "
                "To subclass Model, call super().__init__() with keyword arguments only."
            )
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.compiled = False
        self.history = None
        self.stop_training = False
        self._trainer = None

    # structure -------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return [la for la in self._sublayers]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer with this name, or at this index of `layers`."""
        if index is not None and name is not None:
            raise ValueError("get_layer: give either name or index, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer: index {index} is out of range; model '{self.name}' has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is None:
            raise ValueError("get_layer: give a layer name or index.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named '{name}' in model '{self.name}'. Layers: "
            f"{[la.name for la in layers]}."
        )

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints a table of layers, output shapes and parameter counts."""
        from jkeras.engine.summary import print_summary

        print_summary(self, line_length=line_length, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    # training ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, **kwargs) -> None:
        """Configures the model for training.

        `optimizer`: a name or a `jkeras.optimizers` object. `loss`: a name, function
        or `jkeras.losses` object (applied to every output), a list in output order
        or a dict by output name. `metrics`/`weighted_metrics`: a list (for every
        output), a list of lists or a dict by output name; 'accuracy'/'acc' picks
        the accuracy that fits the loss. `loss_weights`: a list or dict.
        `sample_weight_mode='temporal'` accepts (samples, timesteps) weights.
        Also `run_eagerly`, `steps_per_execution`, `jit_compile`.
        """
        from jkeras.training.trainer import compile_model

        compile_model(self, optimizer, loss, metrics, loss_weights, sample_weight_mode,
                      weighted_metrics, **kwargs)

    def get_compile_config(self) -> dict | None:
        """The arguments of the last `compile` call (objects, not yet serialized)."""
        return dict(self._compile_config) if getattr(self, "_compile_config", None) else None

    def compile_from_config(self, config: dict) -> None:
        """Compiles with arguments as returned by `get_compile_config`."""
        self.compile(**config)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, **kwargs):
        """Trains the model for `epochs` epochs (Keras 1: `nb_epoch`) and returns a
        `History` (also `model.history`).

        `x`/`y`: arrays, lists or dicts of arrays (by input/output name); or `x` a
        generator/iterable of `(x, y[, sample_weight])` batches, a
        `jkeras.utils.PyDataset`, a torch DataLoader or a tf.data Dataset. Further
        keyword arguments: `validation_steps`, `validation_batch_size`,
        `validation_freq`, `max_queue_size`, `workers`, `use_multiprocessing`,
        `check_finite` (default True: reject NaN/inf in the data before training).
        """
        from jkeras.training.trainer import fit_model

        return fit_model(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                         callbacks=callbacks, validation_split=validation_split,
                         validation_data=validation_data, shuffle=shuffle,
                         class_weight=class_weight, sample_weight=sample_weight,
                         initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on the data: a scalar (loss only), a list in
        `metrics_names` order, or a dict with `return_dict=True`."""
        from jkeras.training.trainer import evaluate_model

        return evaluate_model(self, x, y, batch_size=batch_size, verbose=verbose,
                              sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                              return_dict=return_dict, **kwargs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """One training step on one batch; returns the loss and metrics like evaluate."""
        from jkeras.training.trainer import trainer_of

        return trainer_of(self, "train_on_batch").train_on_batch(
            x, y, sample_weight=sample_weight, class_weight=class_weight,
            reset_metrics=reset_metrics, return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        """Loss and metrics on one batch (inference mode)."""
        from jkeras.training.trainer import trainer_of

        return trainer_of(self, "test_on_batch").test_on_batch(
            x, y, sample_weight=sample_weight, reset_metrics=reset_metrics,
            return_dict=return_dict)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None, **kwargs):
        """Keras 1/2: fit on a generator (Keras 1 `samples_per_epoch`, `nb_epoch`,
        `nb_val_samples` accepted). Same as `fit(generator, ...)`."""
        from jkeras.training.trainer import fit_generator_model

        return fit_generator_model(self, generator, steps_per_epoch=steps_per_epoch,
                                   epochs=epochs, verbose=verbose, callbacks=callbacks,
                                   validation_data=validation_data,
                                   validation_steps=validation_steps, **kwargs)

    def evaluate_generator(self, generator, steps=None, **kwargs):
        """Keras 1/2: evaluate on a generator (Keras 1 `val_samples` accepted)."""
        from jkeras.training.trainer import evaluate_generator_model

        return evaluate_generator_model(self, generator, steps=steps, **kwargs)

    def predict_generator(self, generator, steps=None, **kwargs):
        """Keras 1/2: predictions for the batches of a generator."""
        from jkeras.training.trainer import predict_generator_model

        return predict_generator_model(self, generator, steps=steps, **kwargs)

    @property
    def metrics(self) -> list:
        """The loss trackers and compiled metrics (Metric objects), once built by
        the first fit/evaluate."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None or not trainer.config._metrics_built:
            return []
        return [m for _, m in trainer.config.all_metrics()]

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values evaluate returns and of the history keys: 'loss',
        per-output losses, then metrics."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            return []
        return trainer.config.metric_names()

    def reset_metrics(self) -> None:
        """Resets the state of every compiled metric."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.reset_metrics()

    # inference -------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` in batches and returns numpy outputs shaped like
        the model's outputs (array, list or dict)."""
        from jkeras.training.inference import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                       callbacks=callbacks)

    def predict_on_batch(self, x):
        """Outputs for a single batch, as numpy arrays."""
        from jkeras.training.inference import predict_on_batch

        return predict_on_batch(self, x)

    # saving ------------------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, include_optimizer: bool = True,
             **kwargs) -> None:
        """Saves the model: `.keras` (Keras 3 format) or `.h5` (Keras 2 format),
        atomically (a crash mid-save leaves any previous file whole)."""
        from jkeras.saving.saving_api import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Saves the weights to `.weights.h5` (Keras 3 layout) or `.h5` (Keras 2)."""
        from jkeras.saving.saving_api import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch: bool = False, by_name: bool = False,
                     **kwargs) -> None:
        """Loads weights from `.weights.h5`, `.keras` or Keras 1/2 `.h5` (by topology
        or `by_name=True`); everything is checked before anything is assigned."""
        from jkeras.saving.saving_api import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """A model from its config: a functional config (layers, input_layers,
        output_layers) rebuilds a Functional model, as `keras.Model.from_config`
        does; otherwise the subclass's constructor gets the config."""
        if isinstance(config, dict) and "layers" in config and "output_layers" in config:
            from jkeras.engine.functional import Functional
            from jkeras.saving.functional_config import functional_from_config
            from jkeras.saving.object_registration import CustomObjectScope

            target = Functional if cls is Model else cls
            with CustomObjectScope(custom_objects):
                return functional_from_config(target, dict(config), custom_objects)
        return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The model's architecture as a JSON string (Keras 3 layout);
        `jkeras.models.model_from_json` rebuilds it."""
        from jkeras.saving.saving_api import model_to_json

        return model_to_json(self, **kwargs)

    # flattened view used by the compiled functions ------------------------------
    def flatten_inputs(self, inputs) -> list:
        """The leaves of a (nested) input structure, in `jax.tree_util` order (dicts
        by sorted key); `pack_inputs` rebuilds the structure."""
        leaves, treedef = jax.tree_util.tree_flatten(inputs)
        self._input_treedef = treedef
        return leaves

    def pack_inputs(self, flat: list):
        """The input structure last given to `flatten_inputs`, from its leaves."""
        treedef = getattr(self, "_input_treedef", None)
        if treedef is None or treedef.num_leaves != len(flat):
            return flat[0] if len(flat) == 1 else list(flat)
        return jax.tree_util.tree_unflatten(treedef, list(flat))

    def record_output_structure(self, outputs) -> list:
        """The leaves of the model's outputs; remembers their structure for
        `pack_outputs`."""
        leaves, self._output_treedef = jax.tree_util.tree_flatten(outputs)
        return leaves

    def pack_outputs(self, flat: list):
        """Flat outputs in the structure the model returns (a dict stays a dict)."""
        treedef = getattr(self, "_output_treedef", None)
        if treedef is not None and treedef.num_leaves == len(flat):
            return jax.tree_util.tree_unflatten(treedef, list(flat))
        return flat[0] if len(flat) == 1 else list(flat)
