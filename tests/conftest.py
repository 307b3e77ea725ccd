import numpy as np
import pytest

import jkeras


@pytest.fixture(autouse=True)
def _fresh_session():
    """Each test starts with default names (dense, dense_1, ...) and a fixed seed."""
    jkeras.backend.clear_session()
    jkeras.utils.set_random_seed(1234)
    jkeras.backend.set_image_data_format(None)
    yield
    jkeras.backend.set_image_data_format(None)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
