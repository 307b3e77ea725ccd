"""numpy-style ops that work on arrays and on symbolic tensors alike.

On arrays (or jkeras Variables) each op computes with jax.numpy; on a
KerasTensor it records a graph node, so ops can be used between layers when
building a functional model.
"""

from jkeras.ops import image, linalg  # noqa: F401
from jkeras.ops.adaptive_pooling import adaptive_average_pool, adaptive_max_pool  # noqa: F401
from jkeras.ops.linalg import *  # noqa: F401,F403
from jkeras.ops.numpy import *  # noqa: F401,F403
from jkeras.ops.numpy import batch_dot, getitem  # noqa: F401
from jkeras.ops.operation import Operation, symbolic_function  # noqa: F401

# isort: split
# keras.ops core, math and nn ops (cast, stop_gradient and one_hot live there).
from jkeras.ops import core, math, nn  # noqa: F401,E402
from jkeras.ops.core import *  # noqa: F401,F403,E402
from jkeras.ops.math import *  # noqa: F401,F403,E402
from jkeras.ops.nn import *  # noqa: F401,F403,E402
