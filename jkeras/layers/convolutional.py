"""Convolution layers: Conv1D/2D/3D, their transposes, SeparableConv1D/2D and
DepthwiseConv1D/2D, plus the Keras 1 spellings (Convolution2D(nb_filter, nb_row,
nb_col, border_mode=, subsample=, dim_ordering=), ...).

Weights have Keras's names, shapes and order so that weights move across:
`kernel` (*kernel_size, in_channels // groups, filters) then `bias` (filters,);
transposed convolutions store `kernel` as (*kernel_size, filters, in_channels);
separable ones `depthwise_kernel` (*kernel_size, in_channels, depth_multiplier),
`pointwise_kernel` (1, ..., 1, in_channels * depth_multiplier, filters), `bias`;
depthwise ones `kernel` (*kernel_size, in_channels, depth_multiplier), `bias`.

Every convolution is one `jax.lax.conv_general_dilated` whose dimension numbers
follow the data format. Conv1D/2D/3D and the pointwise step of the separable
convolutions go through `jkeras.ops.conv_kernels.conv`, which on XLA:CPU may use a
custom-gradient formulation of the same convolution that XLA:CPU runs faster
(`JKERAS_CONV_IMPL=lax` turns it off; see that module).

This module also holds the small helpers (argument normalisation, output-length
arithmetic, input checks, Keras 1 renaming) shared by `pooling` and `reshaping`.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend import naming
from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.engine.legacy import COMMON, user_stacklevel, warn_keras1  # noqa: F401
from jkeras.ops import conv_kernels
from jkeras.ops.conv_kernels import (  # noqa: F401  (shared with pooling/reshaping)
    conv_output_length,
    deconv_output_length,
    dimension_numbers,
    spatial_axes,
)

_SPATIAL_NAMES = {1: "steps", 2: "rows, cols", 3: "dim1, dim2, dim3"}


# ---------------------------------------------------------------------------
# Shared helpers (also used by pooling.py and reshaping.py)
# ---------------------------------------------------------------------------
def legacy_data_format(value):
    """Keras 1 `dim_ordering`: 'th'/'tf', or 'default' for the global setting."""
    if value is None or value == "default":
        return None
    return standardize_data_format(value, "dim_ordering")


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def rename_keras1(owner: str, kwargs: dict, table: dict) -> dict:
    """Renames Keras 1 keyword arguments to their modern names (`table` maps
    old -> (new, converter or None)), warning once per argument."""
    for old in [k for k in kwargs if k in table]:
        new, convert = table[old]
        value = kwargs.pop(old)
        if new in kwargs:
            raise TypeError(
                f"{owner} got both '{old}' (Keras 1) and '{new}'; pass only '{new}'."
            )
        warn_keras1(f"{owner}: argument '{old}' is the Keras 1 name; use '{new}' instead.")
        kwargs[new] = convert(value) if convert else value
    return kwargs


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def normalize_tuple(value, n: int, name: str, owner: str, min_value: int = 1) -> tuple:
    """`value` (an int or a sequence of `n` ints, each >= min_value) as an n-tuple."""
    if _is_int(value):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(_is_int(v) for v in values):
            raise ValueError(
                f"{owner}: '{name}' must be an integer or a tuple of {n} integers, got "
                f"{value!r}."
            )
        values = tuple(int(v) for v in values)
    if any(v < min_value for v in values):
        raise ValueError(
            f"{owner}: every value of '{name}' must be >= {min_value}, got {value!r}."
        )
    return values


def normalize_padding(value, owner: str, allowed=("valid", "same")) -> str:
    """The padding mode in lower case; a clear error for anything else."""
    v = str(value).lower() if isinstance(value, str) else value
    if v == "full":
        raise ValueError(
            f"{owner}: padding='full' (Keras 1, Theano only) is not supported. Pad with "
            f"ZeroPadding (kernel_size - 1 on each side) and use padding='valid'."
        )
    if v not in allowed:
        raise ValueError(
            f"{owner}: padding must be one of {list(allowed)}, got {value!r}."
        )
    return v


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def layout(rank: int, data_format: str) -> str:
    """A readable layout such as '(batch, rows, cols, channels)'."""
    sp = _SPATIAL_NAMES[rank]
    if data_format == "channels_last":
        return f"(batch, {sp}, channels)"
    return f"(batch, channels, {sp})"


def check_rank(layer: Layer, inputs, rank: int, data_format: str | None) -> tuple | None:
    """Raises a ValueError naming the layer, the expected rank/layout and the given
    shape unless `inputs` has rank `rank + 2`; returns the shape (None if unknown)."""
    shape = getattr(inputs, "shape", None)
    if shape is None:
        if isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) expects a single tensor, but "
                f"got a list of {len(inputs)} inputs."
            )
        return None
    shape = tuple(shape)
    if len(shape) != rank + 2:
        where = (f" {layout(rank, data_format)} with data_format='{data_format}'"
                 if data_format else "")
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects an input of rank "
            f"{rank + 2}{where}, but got an input of shape {shape} (rank {len(shape)})."
        )
    return shape


def _owner(layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'" if hasattr(layer, "name") else str(layer)


# ---------------------------------------------------------------------------
# Keras 1 arguments of convolutions
# ---------------------------------------------------------------------------
_K1_CONV_TABLE = {
    **COMMON,
    "subsample": ("strides", _as_tuple),
    "dim_ordering": ("data_format", legacy_data_format),
    "nb_filter": ("filters", None),
    "filter_length": ("kernel_size", None),
    "subsample_length": ("strides", None),
    "atrous_rate": ("dilation_rate", _as_tuple),
}
# Keras 1 keywords that mark a call as Keras 1 code (1D layers then default to
# channels_last, as Keras 1 and 2 did, whatever the global image data format).
_K1_MARKERS = frozenset({
    "nb_filter", "filter_length", "subsample_length", "border_mode", "init", "W_regularizer",
    "b_regularizer", "W_constraint", "b_constraint", "bias", "input_dim", "input_length",
    "pool_length", "stride",
})
_K1_POSITIONAL_CONV = ("init", "activation", "weights", "border_mode", "subsample",
                       "dim_ordering", "W_regularizer", "b_regularizer",
                       "activity_regularizer", "W_constraint", "b_constraint", "bias")


def keras1_sequence_input(owner: str, kwargs: dict) -> None:
    """Keras 1 `input_dim`/`input_length` on a 1D layer mean input_shape=(length, dim)."""
    if "input_dim" not in kwargs and "input_length" not in kwargs:
        return
    dim = kwargs.pop("input_dim", None)
    length = kwargs.pop("input_length", None)
    if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
        warn_keras1(
            f"{owner}: 'input_dim'/'input_length' are Keras 1 arguments; use "
            f"input_shape=({length}, {dim}) (or an Input layer) instead."
        )
        kwargs["input_shape"] = (length, dim)


def _keras1_conv_init(init):
    """Decorates a convolution `__init__`: turns Keras 1 positional kernel
    dimensions and keyword names into the modern signature (with warnings)."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        args, kwargs = type(self)._keras1_preprocess(self, args, kwargs)
        kwargs = rename_keras1(type(self).__name__, kwargs, type(self)._keras1_table)
        return init(self, *args, **kwargs)

    return wrapper


class _Conv(Layer):
    """Shared machinery of the convolution layers (rank 1, 2 or 3)."""

    rank = 2
    _keras1_table = _K1_CONV_TABLE
    # Names of the Keras 1 positional arguments after (nb_filter, *kernel dims),
    # set on the Keras 1 alias classes (Convolution2D, ...) only.
    _keras1_positional: tuple | None = None
    # The modern class whose default names an alias class takes (conv2d, ...).
    _alias_of: str | None = None
    _allowed_padding = ("valid", "same")

    def _keras1_preprocess(self, args, kwargs):
        owner = type(self).__name__
        kwargs = dict(kwargs)
        rank = self.rank
        if self._alias_of and kwargs.get("name") is None:
            kwargs["name"] = naming.unique_name(naming.to_snake_case(self._alias_of))
        dim_keys = {2: ("nb_row", "nb_col"), 3: ("kernel_dim1", "kernel_dim2", "kernel_dim3")}
        keys = dim_keys.get(rank, ())
        if any(k in kwargs for k in keys):
            missing = [k for k in keys if k not in kwargs]
            if missing:
                raise TypeError(f"{owner}: Keras 1 kernel size needs all of {keys}; "
                                f"missing {missing}. Prefer kernel_size=(...).")
            ks = tuple(kwargs.pop(k) for k in keys)
            warn_keras1(f"{owner}: {', '.join(keys)} are Keras 1 arguments; use "
                        f"kernel_size={ks} instead.")
            if "kernel_size" in kwargs:
                raise TypeError(f"{owner} got both {keys} (Keras 1) and 'kernel_size'.")
            kwargs["kernel_size"] = ks
        names = self._keras1_positional
        if (names is not None and rank >= 2 and len(args) >= rank + 1
                and all(_is_int(a) for a in args[1:rank + 1])):
            ks = tuple(int(a) for a in args[1:rank + 1])
            rest = args[rank + 1:]
            if len(rest) > len(names):
                raise TypeError(f"{owner}: too many positional arguments ({len(args)}).")
            modern = self._alias_of or owner
            warn_keras1(
                f"{owner}({args[0]}, {', '.join(map(str, ks))}) is the Keras 1 spelling "
                f"(nb_filter, {', '.join(keys)}); use {modern}({args[0]}, "
                f"kernel_size={ks}) instead."
            )
            for name, value in zip(names, rest):
                if name in kwargs:
                    raise TypeError(f"{owner} got '{name}' both by position and by keyword.")
                kwargs[name] = value
            args = (args[0], ks)
        if rank == 1:
            if "data_format" not in kwargs and any(k in kwargs for k in _K1_MARKERS):
                # Keras 1/2 1D convolutions were always channels_last.
                kwargs["data_format"] = "channels_last"
            keras1_sequence_input(owner, kwargs)
        if kwargs.get("padding") == "full" or kwargs.get("border_mode") == "full":
            normalize_padding("full", owner)
        return args, kwargs

    def _init_common(self, filters, kernel_size, strides, padding, data_format,
                     dilation_rate, activation, use_bias, bias_initializer, bias_regularizer,
                     bias_constraint):
        owner = _owner(self)
        if filters is not None and (not _is_int(filters) or filters <= 0):
            raise ValueError(f"{owner}: filters must be a positive integer, got {filters!r}.")
        self.filters = None if filters is None else int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", owner)
        self.strides = normalize_tuple(strides, self.rank, "strides", owner)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", owner)
        self.padding = normalize_padding(padding, owner, self._allowed_padding)
        self.data_format = standardize_data_format(data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 together with dilation_rate > 1 is not supported "
                f"(got strides={self.strides}, dilation_rate={self.dilation_rate})."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self._input_channels = None

    # input checks --------------------------------------------------------------
    def _validate_input(self, inputs):
        shape = check_rank(self, inputs, self.rank, self.data_format)
        if shape is None:
            return
        ch = shape[channel_axis(self.data_format)]
        if ch is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the channel dimension of its "
                f"input (axis {channel_axis(self.data_format)}, data_format="
                f"'{self.data_format}') must be known, got shape {shape}."
            )
        if self._input_channels is not None and ch != self._input_channels:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for inputs with "
                f"{self._input_channels} channels (axis {channel_axis(self.data_format)}, "
                f"data_format='{self.data_format}'), but got an input of shape {shape}."
            )

    def _prepare(self, inputs, kernel):
        self._validate_input(inputs)
        x = jnp.asarray(inputs)
        if x.dtype != kernel.dtype:
            x = x.astype(kernel.dtype)
        return x

    def _add_bias_and_activate(self, y):
        if self.use_bias:
            b = self.bias.value
            if self.data_format == "channels_first":
                b = b.reshape((-1,) + (1,) * self.rank)
            y = y + b
        return self.activation(y)

    def _spatial_out(self, input_shape) -> list:
        sp = [input_shape[a] for a in spatial_axes(self.rank, self.data_format)]
        out = [conv_output_length(n, k, s, self.padding, d)
               for n, k, s, d in zip(sp, self.kernel_size, self.strides, self.dilation_rate)]
        for i, (n, o) in enumerate(zip(sp, out)):
            if o is not None and o <= 0:
                extent = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): an input of shape "
                    f"{tuple(input_shape)} is too small for kernel_size={self.kernel_size} "
                    f"with padding='{self.padding}' (spatial dimension {i} has size {n}, the "
                    f"dilated kernel spans {extent}). Use padding='same' or a larger input."
                )
        return out

    def _output_shape(self, input_shape, spatial, channels) -> tuple:
        if self.data_format == "channels_last":
            return (input_shape[0], *spatial, channels)
        return (input_shape[0], channels, *spatial)

    def _padding_arg(self):
        if self.padding == "causal":
            return [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
        return self.padding.upper()

    def _base_config(self) -> dict:
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def _make_bias(self, size: int):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)


# ---------------------------------------------------------------------------
# Conv1D / Conv2D / Conv3D
# ---------------------------------------------------------------------------
class _BaseConv(_Conv):
    """`activation(conv(inputs, kernel) + bias)`."""

    @_keras1_conv_init
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, bias_initializer, bias_regularizer,
                          bias_constraint)
        if not _is_int(groups) or groups <= 0 or self.filters % groups:
            raise ValueError(
                f"{_owner(self)}: groups must be a positive integer dividing filters="
                f"{self.filters}, got {groups!r}."
            )
        self.groups = int(groups)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        ch = input_shape[channel_axis(self.data_format)]
        if ch % self.groups:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the number of input channels "
                f"({ch}) must be divisible by groups={self.groups}; input shape "
                f"{tuple(input_shape)}."
            )
        self._input_channels = int(ch)
        shape = (*self.kernel_size, self._input_channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._make_bias(self.filters)
        self.built = True

    def call(self, inputs):
        kernel = self.kernel.value
        x = self._prepare(inputs, kernel)
        y = conv_kernels.conv(x, kernel, self.strides, self._padding_arg(), self.dilation_rate,
                              self.data_format, groups=self.groups)
        return self._add_bias_and_activate(y)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self._spatial_out(input_shape), self.filters)

    def get_config(self):
        return {
            **self._base_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }


class Conv1D(_BaseConv):
    """1D convolution over (batch, steps, channels) (or (batch, channels, steps)
    with data_format='channels_first'); padding 'valid', 'same' or 'causal'."""

    rank = 1
    _allowed_padding = ("valid", "same", "causal")


class Conv2D(_BaseConv):
    """2D convolution over images: kernel (rows, cols, in_channels // groups, filters)."""

    rank = 2


class Conv3D(_BaseConv):
    """3D convolution over volumes: kernel (d1, d2, d3, in_channels // groups, filters)."""

    rank = 3


class Convolution1D(Conv1D):
    """Keras 1 name of Conv1D: Convolution1D(nb_filter, filter_length, ...)."""

    _alias_of = "Conv1D"


class Convolution2D(Conv2D):
    """Keras 1/2 name of Conv2D. `Convolution2D(16, 3, 3)` is the Keras 1 form
    (nb_filter, nb_row, nb_col); `Convolution2D(16, (3, 3))` the Keras 2 one."""

    _alias_of = "Conv2D"
    _keras1_positional = _K1_POSITIONAL_CONV


class Convolution3D(Conv3D):
    """Keras 1/2 name of Conv3D: Convolution3D(nb_filter, d1, d2, d3, ...)."""

    _alias_of = "Conv3D"
    _keras1_positional = _K1_POSITIONAL_CONV


class AtrousConvolution1D(Conv1D):
    """Keras 1 dilated Conv1D: AtrousConvolution1D(nb_filter, filter_length, atrous_rate=)."""

    _alias_of = "Conv1D"


class AtrousConvolution2D(Conv2D):
    """Keras 1 dilated Conv2D: AtrousConvolution2D(nb_filter, nb_row, nb_col, atrous_rate=)."""

    _alias_of = "Conv2D"
    _keras1_positional = ("init", "activation", "weights", "border_mode", "subsample",
                          "atrous_rate", "dim_ordering", "W_regularizer", "b_regularizer",
                          "activity_regularizer", "W_constraint", "b_constraint", "bias")


# ---------------------------------------------------------------------------
# Transposed convolutions
# ---------------------------------------------------------------------------
class _BaseConvTranspose(_Conv):
    """Transposed convolution (the gradient of a convolution with respect to its
    input): kernel (*kernel_size, filters, in_channels)."""

    @_keras1_conv_init
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, bias_initializer, bias_regularizer,
                          bias_constraint)
        owner = _owner(self)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                                  owner, min_value=0)
            for op, s in zip(self.output_padding, self.strides):
                if op >= s:
                    raise ValueError(
                        f"{owner}: each output_padding must be smaller than its stride; got "
                        f"output_padding={self.output_padding}, strides={self.strides}."
                    )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _keras1_preprocess(self, args, kwargs):
        args, kwargs = super()._keras1_preprocess(args, kwargs)
        if "output_shape" in kwargs:
            kwargs.pop("output_shape")
            warn_keras1(
                f"{type(self).__name__}: the Keras 1 'output_shape' argument is ignored; the "
                f"output shape follows from strides, padding and output_padding."
            )
        return args, kwargs

    def build(self, input_shape):
        self._input_channels = int(input_shape[channel_axis(self.data_format)])
        shape = (*self.kernel_size, self.filters, self._input_channels)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._make_bias(self.filters)
        self.built = True

    def _out_lengths(self, spatial) -> list:
        ops = self.output_padding or (None,) * self.rank
        return [deconv_output_length(n, k, s, self.padding, op, d)
                for n, k, s, op, d in zip(spatial, self.kernel_size, self.strides, ops,
                                          self.dilation_rate)]

    def call(self, inputs):
        kernel = self.kernel.value
        x = self._prepare(inputs, kernel)
        y = conv_kernels.conv_transpose(x, kernel, self.strides, self.padding,
                                        self.output_padding, self.dilation_rate,
                                        self.data_format)
        return self._add_bias_and_activate(y)

    def compute_output_shape(self, input_shape):
        sp = [input_shape[a] for a in spatial_axes(self.rank, self.data_format)]
        return self._output_shape(input_shape, self._out_lengths(sp), self.filters)

    def get_config(self):
        return {
            **self._base_config(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }


class Conv1DTranspose(_BaseConvTranspose):
    rank = 1


class Conv2DTranspose(_BaseConvTranspose):
    """Transposed 2D convolution ("deconvolution"): kernel (rows, cols, filters, in)."""

    rank = 2


class Conv3DTranspose(_BaseConvTranspose):
    rank = 3


Convolution1DTranspose = Conv1DTranspose  # Keras 3 aliases: the same classes
Convolution3DTranspose = Conv3DTranspose


class Convolution2DTranspose(Conv2DTranspose):
    """Keras 2 name of Conv2DTranspose."""

    _alias_of = "Conv2DTranspose"
    _keras1_positional = _K1_POSITIONAL_CONV


class Deconvolution2D(Conv2DTranspose):
    """Keras 1 name: Deconvolution2D(nb_filter, nb_row, nb_col, output_shape, ...);
    `output_shape` is accepted and ignored (the shape follows from the arguments)."""

    _alias_of = "Conv2DTranspose"
    _keras1_positional = ("output_shape", *_K1_POSITIONAL_CONV)


# ---------------------------------------------------------------------------
# Separable and depthwise convolutions
# ---------------------------------------------------------------------------
_K1_SEPARABLE_TABLE = {
    "border_mode": ("padding", None),
    "subsample": ("strides", _as_tuple),
    "dim_ordering": ("data_format", legacy_data_format),
    "b_regularizer": ("bias_regularizer", None),
    "b_constraint": ("bias_constraint", None),
    "bias": ("use_bias", None),
    "nb_filter": ("filters", None),
}


def _depthwise_conv(layer, x, kernel):
    return conv_kernels.depthwise_conv(x, kernel, layer.strides, layer._padding_arg(),
                                       layer.dilation_rate, layer.data_format)


class _BaseSeparableConv(_Conv):
    """Depthwise convolution (each input channel on its own, `depth_multiplier`
    outputs per channel) followed by a 1x1 pointwise convolution to `filters`."""

    _depthwise = True  # step compile options: model_io.step_compiler_options

    _keras1_table = _K1_SEPARABLE_TABLE

    @_keras1_conv_init
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, bias_initializer, bias_regularizer,
                          bias_constraint)
        if not _is_int(depth_multiplier) or depth_multiplier <= 0:
            raise ValueError(f"{_owner(self)}: depth_multiplier must be a positive integer, "
                             f"got {depth_multiplier!r}.")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _keras1_preprocess(self, args, kwargs):
        args, kwargs = super()._keras1_preprocess(args, kwargs)
        if "init" in kwargs:
            init = kwargs.pop("init")
            warn_keras1(f"{type(self).__name__}: argument 'init' is the Keras 1 name; use "
                        f"'depthwise_initializer' and 'pointwise_initializer' instead.")
            kwargs.setdefault("depthwise_initializer", init)
            kwargs.setdefault("pointwise_initializer", init)
        return args, kwargs

    def build(self, input_shape):
        self._input_channels = int(input_shape[channel_axis(self.data_format)])
        ch = self._input_channels
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", (*self.kernel_size, ch, self.depth_multiplier),
            self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (*(1,) * self.rank, ch * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self._make_bias(self.filters)
        self.built = True

    def call(self, inputs):
        dk = self.depthwise_kernel.value
        x = self._prepare(inputs, dk)
        y = _depthwise_conv(self, x, dk)
        y = conv_kernels.conv(y, self.pointwise_kernel.value, (1,) * self.rank, "VALID",
                              (1,) * self.rank, self.data_format)
        return self._add_bias_and_activate(y)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self._spatial_out(input_shape), self.filters)

    def get_config(self):
        return {
            **self._base_config(),
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }


class SeparableConv1D(_BaseSeparableConv):
    rank = 1


class SeparableConv2D(_BaseSeparableConv):
    """Depthwise-separable 2D convolution: depthwise_kernel (rows, cols, in, multiplier),
    pointwise_kernel (1, 1, in * multiplier, filters), bias (filters,)."""

    rank = 2


class SeparableConvolution1D(SeparableConv1D):
    _alias_of = "SeparableConv1D"


class SeparableConvolution2D(SeparableConv2D):
    """Keras 1 name: SeparableConvolution2D(nb_filter, nb_row, nb_col, ...)."""

    _alias_of = "SeparableConv2D"
    _keras1_positional = ("init", "activation", "weights", "border_mode", "subsample",
                          "depth_multiplier", "dim_ordering", "depthwise_regularizer",
                          "pointwise_regularizer", "b_regularizer", "activity_regularizer",
                          "depthwise_constraint", "pointwise_constraint", "b_constraint",
                          "bias")


class _BaseDepthwiseConv(_Conv):
    """Convolves each input channel with its own `depth_multiplier` filters:
    kernel (*kernel_size, in_channels, depth_multiplier), bias (in * multiplier,)."""

    _depthwise = True  # step compile options: model_io.step_compiler_options

    _keras1_table = {k: v for k, v in _K1_SEPARABLE_TABLE.items() if k != "nb_filter"}

    @_keras1_conv_init
    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(None, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, bias_initializer, bias_regularizer,
                          bias_constraint)
        if not _is_int(depth_multiplier) or depth_multiplier <= 0:
            raise ValueError(f"{_owner(self)}: depth_multiplier must be a positive integer, "
                             f"got {depth_multiplier!r}.")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _keras1_preprocess(self, args, kwargs):
        args, kwargs = super()._keras1_preprocess(args, kwargs)
        if "init" in kwargs:
            rename_keras1(type(self).__name__, kwargs,
                          {"init": ("depthwise_initializer", None)})
        return args, kwargs

    def build(self, input_shape):
        self._input_channels = int(input_shape[channel_axis(self.data_format)])
        ch = self._input_channels
        self.kernel = self.add_weight(
            "kernel", (*self.kernel_size, ch, self.depth_multiplier),
            self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._make_bias(ch * self.depth_multiplier)
        self.built = True

    def call(self, inputs):
        kernel = self.kernel.value
        x = self._prepare(inputs, kernel)
        return self._add_bias_and_activate(_depthwise_conv(self, x, kernel))

    def compute_output_shape(self, input_shape):
        ch = input_shape[channel_axis(self.data_format)]
        out_ch = None if ch is None else ch * self.depth_multiplier
        return self._output_shape(input_shape, self._spatial_out(input_shape), out_ch)

    def get_config(self):
        return {
            **self._base_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        }


class DepthwiseConv1D(_BaseDepthwiseConv):
    rank = 1


class DepthwiseConv2D(_BaseDepthwiseConv):
    """Depthwise 2D convolution: kernel (rows, cols, in_channels, depth_multiplier)."""

    rank = 2


__all__ = [
    "AtrousConvolution1D", "AtrousConvolution2D", "Conv1D", "Conv1DTranspose", "Conv2D",
    "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Convolution1D", "Convolution1DTranspose",
    "Convolution2D", "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose",
    "Deconvolution2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
    "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
]
