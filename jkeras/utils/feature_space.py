"""`FeatureSpace` (Keras 3's `keras.utils.FeatureSpace`): one object that preprocesses a
dict of structured-data features (numbers, integer and string categories), crosses some,
and returns one concatenated vector per sample (or a dict of encoded features).

It runs on the host, like the string layers it uses: `adapt` on a dict of arrays (as
`tf.data.Dataset.from_tensor_slices` would give, in batches of 32) or on an iterable of
dict batches, then call it on a dict of arrays. It saves to `.keras` files in Keras 3's
layout (config, preprocessor weights and vocabularies), so files exchange with Keras 3.
"""

from __future__ import annotations

import numpy as np

from jkeras.backend.naming import unique_name
from jkeras.engine.layer import Layer
from jkeras.layers import (
    CategoryEncoding,
    Discretization,
    HashedCrossing,
    Hashing,
    IntegerLookup,
    Normalization,
    Rescaling,
    StringLookup,
    TextVectorization,
)

__all__ = ["Cross", "Feature", "FeatureSpace"]

_MODULE = "keras.src.layers.preprocessing.feature_space"
_ADAPT_BATCH = 32  # Keras batches a dict of arrays by 32 before adapting


def _wrap(obj, class_name: str) -> dict:
    return {"module": _MODULE, "class_name": class_name, "config": obj.get_config(),
            "registered_name": class_name}


class Cross:
    """A crossing of features (by name) hashed into `crossing_dim` bins; `output_mode`
    'one_hot' (default) or 'int'."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"FeatureSpace cross: `output_mode` must be 'int' or 'one_hot', "
                             f"got {output_mode!r}.")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A feature: its input `dtype`, the `preprocessor` layer applied to it, and its
    `output_mode` ('int', 'one_hot' or 'float')."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in ("int", "one_hot", "float"):
            raise ValueError(f"FeatureSpace feature: `output_mode` must be 'int', 'one_hot' or "
                             f"'float', got {output_mode!r}.")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = _deserialize_preprocessor(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        from jkeras.saving import serialize_keras_object

        preprocessor = serialize_keras_object(self.preprocessor)
        if isinstance(self.preprocessor, TFDIdentity):  # where Keras 3 defines it
            preprocessor["module"] = _MODULE
        return {"dtype": self.dtype, "preprocessor": preprocessor,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class TFDIdentity(Layer):
    """Passes a feature through (Keras's name, kept for `.keras` files)."""

    def call(self, inputs):
        return inputs.astype("float32") if hasattr(inputs, "astype") else \
            np.asarray(inputs, "float32")


class TFDConcat(Layer):
    """Concatenates encoded features along `axis` (Keras's name, kept for files)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return np.concatenate([np.asarray(x, np.float32) for x in inputs], axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _deserialize_preprocessor(config: dict):
    if config.get("class_name") in ("TFDIdentity", "TFDConcat"):
        cls = TFDIdentity if config["class_name"] == "TFDIdentity" else TFDConcat
        return cls.from_config({k: v for k, v in config.get("config", {}).items()
                                if k != "trainable" or cls is TFDIdentity})
    from jkeras.saving import deserialize_keras_object

    return deserialize_keras_object(config, kind="layer")


def _categorical(lookup_cls, dtype, max_tokens, num_oov_indices, output_mode, name):
    layer = lookup_cls(name=f"{name}_preprocessor", max_tokens=max_tokens,
                       num_oov_indices=num_oov_indices)
    return Feature(dtype, layer, output_mode)


def _cardinality(layer):
    """The number of values an integer-valued preprocessor can output, or None."""
    if isinstance(layer, (IntegerLookup, StringLookup)):
        return layer.vocabulary_size()
    if isinstance(layer, CategoryEncoding):
        return layer.num_tokens
    if isinstance(layer, Discretization):
        return layer.num_bins or len(layer.bin_boundaries or []) + 1
    if isinstance(layer, (Hashing, HashedCrossing)):
        return layer.num_bins
    return None


def _batched(x) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(1, 1) if x.ndim == 0 else (x[:, None] if x.ndim == 1 else x)


class FeatureSpace(Layer):
    """Preprocesses a dict of features. `features` maps names to specs made by the class
    methods (`float`, `float_normalized`, `float_rescaled`, `float_discretized`,
    `integer_categorical`, `string_categorical`, `integer_hashed`, `string_hashed`,
    `feature`) or to their names as strings; `crosses` lists feature-name tuples (or
    `FeatureSpace.cross(...)`) hashed into `crossing_dim` bins. `output_mode='concat'`
    returns one float32 vector per sample (features sorted by name, then crosses);
    'dict' returns the encoded features by name. Call `adapt(data)` first when a
    preprocessor learns from data.
    """

    _keras_module = "keras.utils"  # where Keras 3 exports it (for .keras files)
    _host_only = True  # strings and hash tables: runs on numpy data, before a model

    # ----------------------------------------------------------- feature specs
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None) -> Feature:
        name = name or unique_name("float")
        return Feature("float32", TFDIdentity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None) -> Feature:
        name = name or unique_name("float_rescaled")
        layer = Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor")
        return Feature("float32", layer, "float")

    @classmethod
    def float_normalized(cls, name=None) -> Feature:
        name = name or unique_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot",
                          name=None) -> Feature:
        name = name or unique_name("float_discretized")
        if bin_boundaries is not None:  # Keras passes both and fails; boundaries win here
            layer = Discretization(bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        else:
            layer = Discretization(num_bins=num_bins, name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                            name=None) -> Feature:
        return _categorical(IntegerLookup, "int32", max_tokens, num_oov_indices, output_mode,
                            name or unique_name("integer_categorical"))

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                           name=None) -> Feature:
        return _categorical(StringLookup, "string", max_tokens, num_oov_indices, output_mode,
                            name or unique_name("string_categorical"))

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    # ----------------------------------------------------------- construction
    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32,
                 hashing_dim=32, num_discretization_bins=32, name=None, **kwargs):
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        if not features:
            raise ValueError("FeatureSpace: `features` must be a non-empty dict of feature "
                             "names to feature specs.")
        if output_mode not in ("dict", "concat"):
            raise ValueError(f"FeatureSpace: `output_mode` must be 'dict' or 'concat', got "
                             f"{output_mode!r}.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {n: self._standardize_feature(n, f) for n, f in features.items()}
        self.crosses = [self._standardize_cross(c) for c in (crosses or [])]
        self.crosses_by_name = {c.name: c for c in self.crosses}
        self.output_mode = output_mode
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self.one_hot_encoders = {}
        self.concat = None
        self._inputs = None
        self._is_adapted = False
        self._encoders_built = False
        self.built = True

    def _standardize_feature(self, name: str, feature) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        makers = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(
                num_bins=self.num_discretization_bins, name=name),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if not isinstance(feature, str) or feature not in makers:
            raise ValueError(f"FeatureSpace: invalid feature spec {feature!r} for '{name}'; "
                             f"use one of {sorted(makers)} or a FeatureSpace.* spec.")
        return makers[feature]()

    def _standardize_cross(self, cross) -> Cross:
        if isinstance(cross, dict):
            cross = Cross.from_config(cross.get("config", cross))
        if isinstance(cross, Cross):
            return cross
        if not self.crossing_dim:
            raise ValueError("FeatureSpace: `crosses` need `crossing_dim` (the number of bins "
                             "of the crossed space).")
        unknown = [k for k in cross if k not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace: the cross {tuple(cross)} names features "
                             f"{unknown} that are not in `features`.")
        return Cross(cross, crossing_dim=self.crossing_dim)

    # ----------------------------------------------------------- adapt
    def _adaptable(self) -> list:
        names = []
        for name, layer in self.preprocessors.items():
            if isinstance(layer, Normalization) and layer.input_mean is not None:
                continue
            if isinstance(layer, TextVectorization) and layer._has_input_vocabulary:
                continue
            if isinstance(layer, Discretization) and layer.num_bins is None:
                continue
            if isinstance(layer, (IntegerLookup, StringLookup)) and layer._has_input_vocabulary:
                continue
            if hasattr(layer, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset) -> None:
        """Adapts the preprocessors that learn from data, on a dict of arrays (one row
        per sample) or an iterable of dict batches."""
        if isinstance(dataset, dict):
            def batches_of(name):
                values = np.asarray(dataset[name])
                return [_batched(values[i:i + _ADAPT_BATCH])
                        for i in range(0, len(values), _ADAPT_BATCH)]
        elif hasattr(dataset, "__iter__") and not isinstance(dataset, (str, bytes)):
            dataset = list(dataset)

            def batches_of(name):
                return [_batched(batch[name]) for batch in dataset]
        else:
            raise ValueError(f"FeatureSpace.adapt takes a dict of arrays or an iterable of "
                             f"dict batches, got {type(dataset).__name__}.")
        for name in self._adaptable():
            self.preprocessors[name].adapt(iter(batches_of(name)))
        self._is_adapted = True
        self._build_encoders()

    def _check_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("FeatureSpace: call adapt(data) before using it.")
            self._is_adapted = True
        if not self._encoders_built:
            self._build_encoders()

    def _build_encoders(self) -> None:
        specs = {**{n: (f, self.preprocessors[n]) for n, f in self.features.items()},
                 **{n: (c, self.crossers[n]) for n, c in self.crosses_by_name.items()}}
        self.one_hot_encoders = {}
        for name in self._names():
            spec, layer = specs[name]
            if spec.output_mode != "one_hot":
                continue
            depth = _cardinality(layer)
            if depth is None:
                raise ValueError(
                    f"FeatureSpace: feature '{name}' has output_mode='one_hot', but the size "
                    f"of its preprocessor's output space is unknown; use output_mode='int'."
                )
            self.one_hot_encoders[name] = CategoryEncoding(num_tokens=depth,
                                                           output_mode="multi_hot")
        if self.output_mode == "concat":
            self.concat = TFDConcat(axis=-1)
        self._encoders_built = True

    def _names(self) -> list:
        return sorted(self.features) + sorted(self.crosses_by_name)

    # ----------------------------------------------------------- symbolic graph
    def get_inputs(self) -> dict:
        """One `Input(shape=(1,))` per feature, of the feature's dtype."""
        if self._inputs is None:
            from jkeras.engine.input_layer import Input

            inputs = {}
            for name, feature in self.features.items():
                try:
                    inputs[name] = Input(shape=(1,), dtype=feature.dtype, name=name)
                except (TypeError, ValueError) as e:
                    raise ValueError(
                        f"FeatureSpace: cannot make a symbolic input of dtype "
                        f"{feature.dtype!r} for feature '{name}' ({e}); jkeras's symbolic "
                        f"tensors hold numbers only. Call the FeatureSpace on data instead."
                    ) from None
            self._inputs = inputs
        return self._inputs

    def get_encoded_features(self):
        """The encoded features as symbolic tensors of `get_inputs()` (numeric features)."""
        self._check_adapted()
        inputs = self.get_inputs()
        pre = {n: self.preprocessors[n](inputs[n]) for n in self.features}
        return self._merge(pre, {c.name: self.crossers[c.name](
            [pre[n] for n in c.feature_names]) for c in self.crosses}, symbolic=True)

    # ----------------------------------------------------------- call
    def _merge(self, preprocessed: dict, crossed: dict, symbolic: bool = False):
        values = {**preprocessed, **crossed}
        out = {}
        for name in self._names():
            x = values[name]
            encoder = self.one_hot_encoders.get(name)
            if encoder is not None:
                if not np.issubdtype(np.dtype(x.dtype), np.integer):
                    raise ValueError(
                        f"FeatureSpace: feature '{name}' has output_mode='one_hot', so its "
                        f"preprocessor must return integers; it returns {x.dtype}."
                    )
                x = encoder(x)
            elif self.output_mode == "concat" and (
                    x.dtype == object or np.dtype(x.dtype).kind in "iuUS"):
                raise ValueError(
                    f"FeatureSpace: cannot concatenate feature '{name}': it is not encoded "
                    f"(dtype {x.dtype}). Use output_mode='dict' or encode it."
                )
            out[name] = x
        if self.output_mode == "dict":
            return out
        if symbolic:
            from jkeras import ops

            return ops.concatenate([ops.cast(v, "float32") for v in out.values()], axis=-1)
        return self.concat(list(out.values()))

    def __call__(self, data):
        self._check_adapted()
        if not isinstance(data, dict):
            raise ValueError(f"FeatureSpace can only be called on a dict of features, got "
                             f"{type(data).__name__}.")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(f"FeatureSpace: the data has no feature(s) {missing}.")
        arrays = {n: np.asarray(data[n]) for n in self.features}
        single = all(a.ndim == 0 for a in arrays.values())
        arrays = {n: _batched(a) for n, a in arrays.items()}
        pre = {n: np.asarray(self.preprocessors[n](arrays[n])) for n in self.features}
        crossed = {c.name: np.asarray(self.crossers[c.name]([pre[n] for n in c.feature_names]))
                   for c in self.crosses}
        merged = self._merge(pre, crossed)
        if self.output_mode == "dict":
            merged = {n: np.asarray(v) for n, v in merged.items()}
            if single:
                merged = {n: v[0] if v.ndim == 2 and v.shape[0] == 1 else v
                          for n, v in merged.items()}
            return merged
        merged = np.asarray(merged)
        return merged[0] if single else merged

    # ----------------------------------------------------------- saving
    def get_config(self):
        return {"features": {n: _wrap(f, "Feature") for n, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [_wrap(c, "Cross") for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config):
        space = cls(**config)
        space._is_adapted = True  # its learned state comes with the config and files
        return space

    def get_build_config(self) -> dict:
        out = {}
        for name, feature in self.features.items():
            shape = getattr(feature.preprocessor, "_build_input_shape", None)
            out[name] = {"input_shape": list(shape)} if isinstance(shape, tuple) else {}
        return out

    def save(self, filepath) -> None:
        """Saves the FeatureSpace to a `.keras` file (reload with `models.load_model`)."""
        from jkeras.saving.keras_file import save_keras_file

        save_keras_file(self, filepath)

