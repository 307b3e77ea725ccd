"""scikit-learn estimators around jkeras models (Keras 3's `keras.wrappers`).

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` subclass
scikit-learn's `BaseEstimator`, so scikit-learn (an optional extra) is imported
only when one of them is first looked up: `import jkeras.wrappers` alone never
imports it. Without scikit-learn that lookup raises ImportError naming
`pip install scikit-learn`.
"""

from __future__ import annotations

import importlib

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def __getattr__(name: str):
    if name in __all__:
        module = importlib.import_module("jkeras.wrappers.sklearn_wrapper")
        return getattr(module, name)
    raise AttributeError(f"module 'jkeras.wrappers' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
