"""Model: a layer with training and inference methods.

`Model(inputs, outputs)` (or the Keras 1 `Model(input=, output=)`) returns a
`Functional` model; subclassing `Model` and defining `call` gives a
subclassed model, and a subclass whose `__init__` passes `(inputs, outputs)`
to `super().__init__` is a functional model of that subclass (its
`train_step`, `compute_loss`, ... overrides apply), as in Keras 3.

Training, inference and saving are implemented by `jkeras.training` and
`jkeras.saving`, which the methods here reach through
`jkeras.engine.services` (the engine does not import them).
"""

from __future__ import annotations

import jax

from jkeras.backend.global_flags import filter_traceback
from jkeras.engine import services
from jkeras.engine.layer import Layer

_FUNCTIONAL_KEYS = ("inputs", "outputs", "input", "output")


def functional_init_arguments(args: tuple, kwargs: dict) -> bool:
    """Whether constructor arguments are those of a functional model."""
    has_out = "outputs" in kwargs or "output" in kwargs
    has_in = "inputs" in kwargs or "input" in kwargs
    return len(args) == 2 or (len(args) == 1 and has_out) or (has_in and has_out)


_functional_subclasses: dict = {}


def _functional_subclass(cls):
    """`cls` combined with Functional (made once per class): the class of a
    subclassed model built from inputs and outputs."""
    from jkeras.engine.functional import Functional

    made = _functional_subclasses.get(cls)
    if made is None:
        made = type(cls.__name__, (cls, Functional),
                    {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                     "_functional_subclass_of": cls})
        _functional_subclasses[cls] = made
    return made


class Model(Layer):
    def __new__(cls, *args, **kwargs):
        if cls is Model and functional_init_arguments(args, kwargs):
            from jkeras.engine.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        from jkeras.engine.functional import Functional

        if functional_init_arguments(args, kwargs) and not isinstance(self, Functional):
            # a subclass built from inputs and outputs: a functional model of it
            self.__class__ = _functional_subclass(type(self))
            Functional.__init__(self, *args, name=name, trainable=trainable, **kwargs)
            return
        if args:
            raise TypeError(
                f"{type(self).__name__}(...) got {len(args)} positional argument(s): a model "
                f"is built from its inputs and outputs together, Model(inputs, outputs). A "
                f"subclass of Model passes only keyword arguments (name=..., trainable=...) "
                f"to super().__init__(), or (inputs, outputs) to be a functional model."
            )
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.compiled = False
        self.history = None
        self.stop_training = False
        self._trainer = None
        self.optimizer = None

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
    @filter_traceback
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
        services.training().compile_model(self, optimizer, loss, metrics, loss_weights,
                                          sample_weight_mode, weighted_metrics, **kwargs)

    def get_compile_config(self) -> dict | None:
        """The arguments of the last `compile` call (objects, not yet serialized)."""
        return dict(self._compile_config) if getattr(self, "_compile_config", None) else None

    def compile_from_config(self, config: dict) -> None:
        """Compiles with arguments as returned by `get_compile_config`."""
        self.compile(**config)

    @filter_traceback
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
        A subclass that overrides `train_step` (Keras 3's JAX signature
        `train_step(self, state, data) -> (logs, state)`) or `compute_loss` is
        trained through it, jit-compiled once per input signature.
        """
        return services.training().fit_model(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_split=validation_split,
            validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
            sample_weight=sample_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, **kwargs)

    @filter_traceback
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on the data: a scalar (loss only), a list in
        `metrics_names` order, or a dict with `return_dict=True`."""
        return services.training().evaluate_model(
            self, x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
            steps=steps, callbacks=callbacks, return_dict=return_dict, **kwargs)

    @filter_traceback
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """One training step on one batch; returns the loss and metrics like evaluate."""
        return services.training().train_on_batch(
            self, x, y, sample_weight=sample_weight, class_weight=class_weight,
            reset_metrics=reset_metrics, return_dict=return_dict)

    @filter_traceback
    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        """Loss and metrics on one batch (inference mode)."""
        return services.training().test_on_batch(
            self, x, y, sample_weight=sample_weight, reset_metrics=reset_metrics,
            return_dict=return_dict)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None, **kwargs):
        """Keras 1/2: fit on a generator (Keras 1 `samples_per_epoch`, `nb_epoch`,
        `nb_val_samples` accepted). Same as `fit(generator, ...)`."""
        return services.training().fit_generator_model(
            self, generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_data=validation_data,
            validation_steps=validation_steps, **kwargs)

    def evaluate_generator(self, generator, steps=None, **kwargs):
        """Keras 1/2: evaluate on a generator (Keras 1 `val_samples` accepted)."""
        return services.training().evaluate_generator_model(self, generator, steps=steps,
                                                            **kwargs)

    def predict_generator(self, generator, steps=None, **kwargs):
        """Keras 1/2: predictions for the batches of a generator."""
        return services.training().predict_generator_model(self, generator, steps=steps,
                                                           **kwargs)

    # Keras 3's stateless training API (JAX) --------------------------------------------
    def train_step(self, state, data):
        """One training step as a pure function: `state` = (trainable_variables,
        non_trainable_variables, optimizer_variables, metrics_variables), lists of
        arrays; `data` = the batch, `(x, y[, sample_weight])`. Returns (logs,
        new state). Override it to customize `fit` (see Keras's "customizing what
        happens in fit" guide for JAX)."""
        return services.training().default_train_step(self, state, data)

    def test_step(self, state, data):
        """One evaluation step: `state` = (trainable_variables,
        non_trainable_variables, metrics_variables); returns (logs, new state)."""
        return services.training().default_test_step(self, state, data)

    def predict_step(self, state, data):
        """The model's outputs for one batch: `state` = (trainable_variables,
        non_trainable_variables); returns (outputs, non_trainable_variables)."""
        return services.training().default_predict_step(self, state, data)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch: the compiled losses of the outputs (weighted
        by `loss_weights` and `sample_weight`) plus the model's added losses
        (`add_loss`, weight regularizers)."""
        return services.training().compute_loss(self, x, y, y_pred, sample_weight, training)

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables,
                               metrics_variables, x=None, y=None, y_pred=None,
                               sample_weight=None, training=True):
        """`compute_loss` as a pure function of the variables: returns (loss,
        (trainable_variables, non_trainable_variables, metrics_variables))."""
        return services.training().stateless_compute_loss(
            self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
            y_pred, sample_weight, training)

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables,
                                 metrics_variables, x, y, sample_weight=None, training=False,
                                 optimizer_variables=None):
        """The forward pass and the loss as a pure function (what
        `jax.value_and_grad` differentiates in `train_step`): returns (loss,
        (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))."""
        return services.training().compute_loss_and_updates(
            self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
            sample_weight, training, optimizer_variables)

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Updates the compiled metrics with a batch and returns their results
        (`{name: value}`, the loss included)."""
        return services.training().compute_metrics(self, x, y, y_pred, sample_weight)

    def get_metrics_result(self) -> dict:
        """The current results of `metrics`, as a flat dict {name: value}."""
        return services.training().metrics_result(self)

    @property
    def metrics(self) -> list:
        """The Metric objects `fit` updates: the loss trackers and compiled metrics
        (once built by the first fit/evaluate), then metrics kept as attributes of
        the model."""
        compiled = []
        trainer = getattr(self, "_trainer", None)
        if trainer is not None and trainer.config._metrics_built:
            compiled = [m for _, m in trainer.config.all_metrics()]
        seen = {id(m) for m in compiled}
        tracked = [m for m in getattr(self, "_tracked_metrics", []) if id(m) not in seen]
        return compiled + tracked

    @property
    def metrics_variables(self) -> list:
        """The state variables of `metrics`, in order (the fourth item of
        `train_step`'s state)."""
        out, seen = [], set()
        for m in self.metrics:
            for v in m.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values evaluate returns and of the history keys: 'loss',
        per-output losses, then metrics."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            return [m.name for m in self.metrics]
        return trainer.config.metric_names()

    def reset_metrics(self) -> None:
        """Resets the state of every metric."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.reset_metrics()
        for m in getattr(self, "_tracked_metrics", []):
            m.reset_state()

    # inference -------------------------------------------------------------------
    @filter_traceback
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` in batches and returns numpy outputs shaped like
        the model's outputs (array, list or dict)."""
        return services.training().predict(self, x, batch_size=batch_size, verbose=verbose,
                                           steps=steps, callbacks=callbacks)

    @filter_traceback
    def predict_on_batch(self, x):
        """Outputs for a single batch, as numpy arrays."""
        return services.training().predict_on_batch(self, x)

    # saving ------------------------------------------------------------------------
    @filter_traceback
    def save(self, filepath, overwrite: bool = True, include_optimizer: bool = True,
             **kwargs) -> None:
        """Saves the model: `.keras` (Keras 3 format) or `.h5` (Keras 2 format),
        atomically (a crash mid-save leaves any previous file whole)."""
        services.saving().save_model(self, filepath, overwrite=overwrite,
                                     include_optimizer=include_optimizer, **kwargs)

    @filter_traceback
    def save_weights(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Saves the weights to `.weights.h5` (Keras 3 layout) or `.h5` (Keras 2)."""
        services.saving().save_weights(self, filepath, overwrite=overwrite, **kwargs)

    @filter_traceback
    def load_weights(self, filepath, skip_mismatch: bool = False, by_name: bool = False,
                     **kwargs) -> None:
        """Loads weights from `.weights.h5`, `.keras` or Keras 1/2 `.h5` (by topology
        or `by_name=True`); everything is checked before anything is assigned."""
        services.saving().load_weights(self, filepath, skip_mismatch=skip_mismatch,
                                       by_name=by_name, **kwargs)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """A model from its config: a functional config (layers, input_layers,
        output_layers) rebuilds a Functional model, as `keras.Model.from_config`
        does; otherwise the subclass's constructor gets the config."""
        if isinstance(config, dict) and "layers" in config and "output_layers" in config:
            from jkeras.engine.functional import Functional

            target = Functional if cls is Model else cls
            return services.saving().functional_from_config_with(target, config,
                                                                 custom_objects)
        return cls(**config)

    def __reduce__(self):
        """Pickling and `copy.deepcopy` go through the `.keras` format (config,
        weights, compile arguments and optimizer state), as in Keras 3."""
        saving = services.saving()
        return (saving.model_from_keras_bytes, (saving.model_to_keras_bytes(self),))

    def to_json(self, **kwargs) -> str:
        """The model's architecture as a JSON string (Keras 3 layout);
        `jkeras.models.model_from_json` rebuilds it."""
        return services.saving().model_to_json(self, **kwargs)

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
