"""Writes `.keras` files with jkeras, for check_jkeras_files_in_keras.py to load
in real Keras 3 (the direction CI cannot test without Keras).

    .venv/bin/python tests/data/keras3/write_jkeras_files.py OUT_DIR

Two kinds of files, each with a NAME.npz in make_fixtures.py's layout
(`x*`, `y*`, `w*`, `layer_names`, `weight_names`; `tx`, `ty`, `next*` for
the optimizer models):

* jk_NAME.keras: the models of make_fixtures.py built, trained and saved by
  jkeras (the same code, with `jkeras` as `keras`); predictions and weights
  after one more `train_on_batch` are jkeras's.
* resaved_NAME.keras: each Keras 3 fixture of FIXTURE_DIR (default
  keras-3.6.0 next to this script) loaded by jkeras and saved again; its
  NAME.npz is the fixture's own (Keras's predictions and next-step weights).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_fixtures  # noqa: E402


def main(out: str, fixture_dir: str) -> None:
    import jkeras as keras

    os.makedirs(out, exist_ok=True)
    for build in make_fixtures.MODELS:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model, inputs = build(keras, np.random.default_rng(0))
        name = f"jk_{build.__name__}"
        model.save(os.path.join(out, f"{name}.keras"))
        np.savez_compressed(os.path.join(out, f"{name}.npz"),
                            **make_fixtures.io_arrays(model, inputs))
    for opt_name, make_opt in make_fixtures.optimizers(keras).items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model, tx, ty = make_fixtures.optimizer_model(keras, make_opt,
                                                      np.random.default_rng(1))
        name = f"jk_opt_{opt_name}"
        model.save(os.path.join(out, f"{name}.keras"))
        arrays = make_fixtures.io_arrays(model, tx)
        arrays.update(tx=tx, ty=ty)
        model.train_on_batch(tx, ty)
        arrays.update({f"next{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
        np.savez_compressed(os.path.join(out, f"{name}.npz"), **arrays)
    for path in sorted(glob.glob(os.path.join(fixture_dir, "*.keras"))):
        base = os.path.basename(path)[:-len(".keras")]
        keras.backend.clear_session()
        model = keras.models.load_model(path)
        model.save(os.path.join(out, f"resaved_{base}.keras"))
        shutil.copy(os.path.join(fixture_dir, f"{base}.npz"),
                    os.path.join(out, f"resaved_{base}.npz"))
    print(f"wrote jkeras {keras.__version__} files to {out}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "keras-3.6.0"))
