"""Keras 1/2 backend functions: `K.function(inputs, outputs)` and `K.learning_phase()`.

`function` turns symbolic tensors of a model (inputs, and any tensors computed
from them: a layer's output, ...) into a compiled callable on arrays. It builds
a Functional model from `inputs` to `outputs` (sharing the original layers and
their weights) and jit-compiles its forward pass; the weights' current values
are read at every call, so the function follows training.

`learning_phase()` is the placeholder Keras 1/2 code adds to the inputs to pick
the mode at call time: 0 (inference) or 1 (training: dropout and noise active,
BatchNormalization on batch statistics, moving statistics left unchanged).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from jkeras.backend.keras_tensor import KerasTensor

__all__ = ["function", "learning_phase"]


class LearningPhase:
    """The learning-phase placeholder: a value of 0 or 1 fed to a `K.function`."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<jkeras learning_phase placeholder (feed 0 for inference, 1 for training)>"


def learning_phase() -> LearningPhase:
    """The learning-phase placeholder of Keras 1/2. Put it among the inputs of
    `function(...)` and feed 0 (inference) or 1 (training) for it when calling."""
    return LearningPhase()


def _flat(structure) -> list:
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(_flat(item))
        return out
    return [structure]


def _describe(x) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


class KerasFunction:
    """A compiled function from values of symbolic `inputs` to numpy `outputs`."""

    def __init__(self, inputs, outputs, name: str | None = None):
        from jkeras.engine.functional import Functional

        flat_inputs = _flat(inputs)
        self._phase_positions = [i for i, t in enumerate(flat_inputs)
                                 if isinstance(t, LearningPhase)]
        if len(self._phase_positions) > 1:
            raise ValueError("function: K.learning_phase() appears more than once in `inputs`.")
        tensors = [t for t in flat_inputs if not isinstance(t, LearningPhase)]
        for i, t in enumerate(flat_inputs):
            if not isinstance(t, (KerasTensor, LearningPhase)):
                raise TypeError(
                    f"function: inputs[{i}] must be a symbolic tensor (model.input, "
                    f"layer.input or layer.output) or K.learning_phase(), got {_describe(t)}."
                )
        if not tensors:
            raise ValueError("function: `inputs` must contain at least one symbolic tensor.")
        self._single_output = not isinstance(outputs, (list, tuple))
        flat_outputs = _flat(outputs)
        for i, t in enumerate(flat_outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"function: outputs[{i}] must be a symbolic tensor (e.g. "
                    f"model.layers[i].output), got {_describe(t)}."
                )
        self._n_inputs = len(flat_inputs)
        self.inputs = flat_inputs
        self.outputs = flat_outputs
        self.name = name
        self._model = Functional(tensors, list(flat_outputs), name=name or "backend_function")
        self._compiled: dict[tuple, Callable] = {}

    def _compiled_fn(self, training: bool) -> Callable:
        model = self._model
        key = (training, tuple(id(v) for v in model.weights))
        fn = self._compiled.get(key)
        if fn is None:
            import jax

            from jkeras.engine.stateless import stateless_call

            variables = list(model.weights)

            def forward(values, xs, rng):
                outputs, _, _ = stateless_call(model, variables, values, list(xs),
                                               training=training, rng=rng)
                return outputs

            jitted = jax.jit(forward)

            def fn(xs, rng):
                return jitted([v.value for v in variables], xs, rng)

            self._compiled = {k: f for k, f in self._compiled.items() if k[1] == key[1]}
            self._compiled[key] = fn
        return fn

    def __call__(self, inputs) -> Any:
        """Outputs (a list of numpy arrays, or one array if `outputs` was a single
        tensor) for `inputs`, one value per entry of the symbolic inputs."""
        import jax

        from jkeras.backend.random import next_key

        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != self._n_inputs and len(_flat(values)) == self._n_inputs:
            values = _flat(values)  # nested like the symbolic inputs were
        if len(values) != self._n_inputs:
            expected = ["learning_phase" if isinstance(t, LearningPhase) else t.shape
                        for t in self.inputs]
            raise ValueError(
                f"function: expected {self._n_inputs} input value(s), one per symbolic input "
                f"{expected}, but got {len(values)}."
            )
        training = False
        if self._phase_positions:
            phase = values[self._phase_positions[0]]
            if isinstance(phase, np.ndarray) and phase.size == 1:
                phase = phase.item()
            if isinstance(phase, (list, tuple, str)) or phase not in (0, 1):
                raise ValueError(
                    f"function: the value for K.learning_phase() must be 0 (inference) or 1 "
                    f"(training), got {phase!r}."
                )
            training = bool(phase)
        arrays = []
        for i, (t, v) in enumerate(zip(self.inputs, values)):
            if isinstance(t, LearningPhase):
                continue
            a = np.asarray(v) if not isinstance(v, jax.Array) else v
            expected = t.shape[1:]
            if a.ndim != len(t.shape) or any(
                e is not None and e != d for e, d in zip(expected, a.shape[1:])
            ):
                raise ValueError(
                    f"function: inputs[{i}] expects arrays of shape {t.shape}, got shape "
                    f"{tuple(a.shape)}."
                )
            arrays.append(a.astype(t.dtype) if a.dtype != np.dtype(t.dtype) else a)
        rng = next_key() if training else jax.random.key(0)
        outs = self._compiled_fn(training)(arrays, rng)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        result = [np.asarray(o) for o in outs]
        return result[0] if self._single_output else result


def function(inputs, outputs, updates=None, name: str | None = None, **kwargs) -> KerasFunction:
    """Keras 1/2 `K.function`: a compiled callable from values of the symbolic
    `inputs` (a list of tensors, possibly with `K.learning_phase()`) to numpy values
    of `outputs` (a list of tensors computed from them; a single tensor gives a
    single array). Call it with a list of arrays, one per input.

    `updates` (variable updates run at each call, for hand-written training loops) is
    not supported: train with `model.fit` or a custom `train_step`.
    """
    if updates:
        raise NotImplementedError(
            "function: `updates` are not supported; jkeras compiles whole training steps. "
            "Train with model.fit (or write a custom train_step) and use K.function for "
            "inference only."
        )
    if kwargs:
        warnings.warn(
            f"function: ignoring backend-specific argument(s) {sorted(kwargs)} (they were "
            f"passed to Theano/TensorFlow by Keras 1/2).",
            DeprecationWarning,
            stacklevel=2,
        )
    return KerasFunction(inputs, outputs, name=name)
