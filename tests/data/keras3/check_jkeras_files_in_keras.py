"""Loads the files of write_jkeras_files.py in real Keras 3 and checks them.

    KERAS_BACKEND=jax python tests/data/keras3/check_jkeras_files_in_keras.py DIR

(run in the Keras virtual environment of README.md). For every DIR/NAME.keras
with its NAME.npz it checks that Keras 3

* loads it without a warning (an optimizer state of the wrong count, for one,
  makes Keras warn and skip it);
* has the same `model.layers` names and `get_weights()` as recorded;
* predicts what was recorded (atol 1e-5);
* for the optimizer models (`tx` in the npz): restored the optimizer's
  iteration count, and after one `train_on_batch(tx, ty)` holds the recorded
  next-step weights (atol 1e-5), i.e. training continues exactly.

Prints one line per file and exits with status 1 if any check failed.
"""

from __future__ import annotations

import glob
import os
import sys
import traceback
import warnings

import numpy as np

ATOL = 1e-5


def _numbered(npz, prefix: str) -> list:
    keys = [k for k in npz.files if k.startswith(prefix) and k[len(prefix):].isdigit()]
    return [npz[k] for k in sorted(keys, key=lambda k: int(k[len(prefix):]))]


def _maxdiff(got, want) -> float:
    if len(got) != len(want):
        return float("inf")
    worst = 0.0
    for a, b in zip(got, want):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return float("inf")
        if a.size:
            worst = max(worst, float(np.max(np.abs(a.astype("float64") - b))))
    return worst


def check(path: str, keras) -> list[str]:
    npz = np.load(path[:-len(".keras")] + ".npz", allow_pickle=False)
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(path)
    for w in caught:
        problems.append(f"warning on load: {w.message}")
    names = [layer.name for layer in model.layers]
    if "layer_names" in npz.files and names != list(npz["layer_names"]):
        problems.append(f"layers {names} != recorded {list(npz['layer_names'])}")
    d = _maxdiff(model.get_weights(), _numbered(npz, "w"))
    if d > ATOL:
        problems.append(f"get_weights() differs from the recorded weights (max diff {d})")
    xs = _numbered(npz, "x")
    preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    preds = list(preds) if isinstance(preds, (list, tuple)) else [preds]
    d = _maxdiff(preds, _numbered(npz, "y"))
    if d > ATOL:
        problems.append(f"predictions differ (max diff {d})")
    if "tx" in npz.files:
        if int(model.optimizer.iterations) != 2:
            problems.append(f"optimizer iterations {int(model.optimizer.iterations)} != 2")
        model.train_on_batch(npz["tx"], npz["ty"])
        d = _maxdiff(model.get_weights(), _numbered(npz, "next"))
        if d > ATOL:
            problems.append(f"weights after one more train_on_batch differ (max diff {d})")
    return problems


def main(folder: str) -> int:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    failed = 0
    paths = sorted(glob.glob(os.path.join(folder, "*.keras")))
    for path in paths:
        keras.backend.clear_session()
        name = os.path.basename(path)
        try:
            problems = check(path, keras)
        except Exception as e:  # noqa: BLE001 - report and go on
            if os.environ.get("JKERAS_CHECK_TRACEBACK"):
                traceback.print_exc()
            problems = [f"error: {type(e).__name__}: {str(e).splitlines()[-1][:400]}"]
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {name}")
        for p in problems:
            print(f"       {p}")
    print(f"Keras {keras.__version__}: {len(paths) - failed}/{len(paths)} files ok")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
