import os
import tempfile

# Hermetic tests: jkeras's home (config file, caches) and JAX's compilation cache live in
# a fresh folder for this test session, never the user's.
_SESSION_HOME = tempfile.mkdtemp(prefix="jkeras-tests-")
os.environ["JKERAS_HOME"] = _SESSION_HOME
os.environ["KERAS_HOME"] = os.path.join(_SESSION_HOME, "keras")  # never the user's keras.json
os.environ["JKERAS_COMPILATION_CACHE"] = os.path.join(_SESSION_HOME, "xla_cache")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jkeras  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    """Each test starts with default names (dense, dense_1, ...) and a fixed seed."""
    jkeras.backend.clear_session(free_memory=False)
    jkeras.utils.set_random_seed(1234)
    jkeras.backend.set_image_data_format(None)
    yield
    jkeras.backend.set_image_data_format(None)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
