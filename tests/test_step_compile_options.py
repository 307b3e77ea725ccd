"""Per-model XLA compile options of the step functions (model_io.step_compiler_options)."""

import pytest

import jkeras as keras
from jkeras.backend import xla_flags
from jkeras.ops import conv_kernels
from jkeras.training.model_io import step_compiler_options

YNN = "xla_cpu_experimental_ynn_fusion_type"
DOTS_ONLY = {YNN: "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}
REDUCE_ONLY = {YNN: "LIBRARY_FUSION_TYPE_REDUCE"}


def test_step_compile_options_by_model_kind(monkeypatch):
    """On CPU with jkeras's YNNPACK fusion flag in XLA_FLAGS: models with attention or
    convolutions of more than 16 channels keep the process-wide fusion, models with
    depthwise convolutions (shifted sums) use it for reduce ops only, others for dots
    only; JKERAS_STEP_XLA_OPTIONS replaces the choice; the user's own XLA_FLAGS without
    jkeras's flag are left alone."""
    monkeypatch.setenv("XLA_FLAGS", f"{xla_flags.YNN_FLAG}={xla_flags.YNN_VALUE}")
    monkeypatch.delenv("JKERAS_STEP_XLA_OPTIONS", raising=False)
    monkeypatch.delenv("JKERAS_CONV_IMPL", raising=False)
    layers = keras.layers
    i = keras.Input((6, 4))
    dense = keras.Model(i, layers.Dense(3)(layers.LayerNormalization()(i)))
    attention = keras.Model(i, layers.Dense(3)(layers.MultiHeadAttention(2, 2)(i, i)))
    nested = keras.Model(i, attention(i))
    conv = keras.Model(i, layers.Conv1D(17, 3)(i))  # more than 16 channels: YNNPACK's
    small_conv = keras.Model(i, layers.Conv1D(16, 3)(i))  # XLA:CPU keeps it off YNNPACK
    image = keras.Input((8, 8, 24))
    depthwise = keras.Model(image, layers.Conv2D(32, 1)(layers.DepthwiseConv2D(3)(image)))
    separable = keras.Model(image, layers.SeparableConv2D(8, 3)(image))
    assert step_compiler_options(dense) == DOTS_ONLY
    assert step_compiler_options(small_conv) == DOTS_ONLY
    for model in (attention, nested, conv):
        assert step_compiler_options(model) == {}
    for model in (depthwise, separable):
        assert step_compiler_options(model) == REDUCE_ONLY
    conv_kernels.set_conv_implementation("lax")  # grouped convolutions, not shifted sums
    try:
        assert step_compiler_options(depthwise) == {}
    finally:
        conv_kernels.set_conv_implementation(None)
    monkeypatch.setenv("JKERAS_STEP_XLA_OPTIONS", '{"xla_cpu_enable_fast_math": true}')
    assert step_compiler_options(attention) == {"xla_cpu_enable_fast_math": True}
    for bad in ("{not json", "[1, 2]"):
        monkeypatch.setenv("JKERAS_STEP_XLA_OPTIONS", bad)
        with pytest.raises(ValueError, match="JKERAS_STEP_XLA_OPTIONS must be a JSON object"):
            step_compiler_options(dense)
    monkeypatch.setenv("JKERAS_STEP_XLA_OPTIONS", "")
    monkeypatch.setenv("XLA_FLAGS", "")
    assert step_compiler_options(dense) == {}
