"""Layers, under the names Keras gives them (Keras 1 aliases included)."""

from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.layer import Layer
from jkeras.layers.activation_layers import (
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
)
from jkeras.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from jkeras.layers.augmentation_layers import *  # noqa: F403
from jkeras.layers.augmentation_layers import __all__ as _augmentation_all
from jkeras.layers.convolutional import *  # noqa: F403
from jkeras.layers.convolutional import __all__ as _conv_all
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
from jkeras.layers.masking import Masking
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
from jkeras.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from jkeras.layers.normalization import BatchNormalization, LayerNormalization
from jkeras.layers.normalization_extra import GroupNormalization, UnitNormalization
from jkeras.layers.pooling import *  # noqa: F403
from jkeras.layers.pooling import __all__ as _pool_all
from jkeras.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from jkeras.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    Recurrent,
    SimpleRNN,
    SimpleRNNCell,
)
from jkeras.layers.regularization import (
    ActivityRegularization,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from jkeras.layers.reshaping import *  # noqa: F403
from jkeras.layers.reshaping import __all__ as _reshape_all
from jkeras.layers.wrappers import Bidirectional, TimeDistributed, Wrapper

__all__ = [
    "BatchNormalization", "LayerNormalization",
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Embedding",
    "Flatten", "Input", "InputLayer", "Lambda", "Layer", "Maximum", "Merge", "Minimum",
    "Multiply", "Permute", "RepeatVector", "Reshape", "Subtract", "add", "average",
    "concatenate", "dot", "maximum", "merge", "minimum", "multiply", "subtract",
]
__all__ += [*_conv_all, *_pool_all, *_reshape_all]
__all__ += _augmentation_all
__all__ += ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "Recurrent", "SimpleRNN",
            "SimpleRNNCell", "Bidirectional", "TimeDistributed", "Wrapper"]
__all__ += ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU", "Masking",
            "AlphaDropout", "GaussianDropout", "GaussianNoise"]
__all__ += ["AdditiveAttention", "Attention", "MultiHeadAttention"]
__all__ += ["ActivityRegularization", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
            "GroupNormalization", "UnitNormalization", "CenterCrop", "Normalization", "Rescaling",
            "Resizing"]

# Keras 3 layers added for parity (EinsumDense, ConvLSTM, adaptive pooling, ...)
from jkeras.engine.input_spec import InputSpec  # noqa: E402
from jkeras.layers.adaptive_pooling import *  # noqa: E402,F403
from jkeras.layers.adaptive_pooling import __all__ as _adaptive_all  # noqa: E402
from jkeras.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D  # noqa: E402
from jkeras.layers.einsum_dense import EinsumDense  # noqa: E402
from jkeras.layers.group_query_attention import (  # noqa: E402
    GroupedQueryAttention,
    GroupQueryAttention,
)
from jkeras.layers.identity import Identity  # noqa: E402
from jkeras.layers.jax_layer import FlaxLayer, JaxLayer  # noqa: E402
from jkeras.layers.reversible_embedding import ReversibleEmbedding  # noqa: E402
from jkeras.layers.rms_normalization import RMSNormalization  # noqa: E402
from jkeras.layers.spectral_normalization import SpectralNormalization  # noqa: E402
from jkeras.layers.stacked_rnn_cells import StackedRNNCells  # noqa: E402

__all__ += [*_adaptive_all, "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "EinsumDense",
            "GroupQueryAttention", "GroupedQueryAttention", "Identity", "FlaxLayer", "JaxLayer",
            "ReversibleEmbedding", "RMSNormalization", "SpectralNormalization",
            "StackedRNNCells", "InputSpec"]


def _mark_batch_independent() -> None:
    """Layers whose output for a sample depends only on that sample, in every mode."""
    from jkeras.layers import convolutional, pooling, reshaping

    for module in (convolutional, pooling, reshaping):
        for name in module.__all__:
            getattr(module, name)._batch_independent = True
    for cls in (Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, Embedding,
                Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
                LayerNormalization, InputLayer, RNN, Bidirectional, TimeDistributed,
                ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU, Masking,
                AlphaDropout, GaussianDropout, GaussianNoise):
        cls._batch_independent = True


_mark_batch_independent()


def serialize(layer) -> dict:
    """A layer's config in Keras 3's serialized form."""
    from jkeras.saving import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer from its serialized config (jkeras classes and registered objects only)."""
    from jkeras.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, kind="layer")

# Categorical, text and audio preprocessing (host-side string layers carry `_host_only`).
from jkeras.layers.preprocessing_audio import MelSpectrogram, STFTSpectrogram  # noqa: E402
from jkeras.layers.preprocessing_encoding import CategoryEncoding, Discretization  # noqa: E402
from jkeras.layers.preprocessing_hashing import HashedCrossing, Hashing  # noqa: E402
from jkeras.layers.preprocessing_lookup import IntegerLookup, StringLookup  # noqa: E402
from jkeras.layers.preprocessing_pipeline import Pipeline  # noqa: E402
from jkeras.layers.preprocessing_text_vectorization import TextVectorization  # noqa: E402

__all__ += ["CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup",
            "StringLookup", "TextVectorization", "MelSpectrogram", "STFTSpectrogram", "Pipeline"]
