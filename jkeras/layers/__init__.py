"""Layers, under the names Keras gives them (Keras 1 aliases included)."""

from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.layer import Layer
from jkeras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Lambda,
    Permute,
    RepeatVector,
    Reshape,
)
from jkeras.layers.merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Merge,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    merge,
    minimum,
    multiply,
    subtract,
)
from jkeras.layers.normalization import BatchNormalization, LayerNormalization

__all__ = [
    "BatchNormalization", "LayerNormalization",
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Embedding",
    "Flatten", "Input", "InputLayer", "Lambda", "Layer", "Maximum", "Merge", "Minimum",
    "Multiply", "Permute", "RepeatVector", "Reshape", "Subtract", "add", "average",
    "concatenate", "dot", "maximum", "merge", "minimum", "multiply", "subtract",
]
