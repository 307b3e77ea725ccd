"""`OrbaxCheckpoint` (Keras 3): checkpoints through the optional
`orbax-checkpoint` package."""

from __future__ import annotations

from jkeras.callbacks.callback import Callback


def _import_orbax():
    try:
        import orbax.checkpoint as ocp  # noqa: F401 - optional dependency
    except ImportError as e:
        raise ImportError(
            "OrbaxCheckpoint needs the optional package `orbax-checkpoint`: install it with "
            "`pip install orbax-checkpoint`, or use jkeras.callbacks.ModelCheckpoint."
        ) from e
    return ocp


class OrbaxCheckpoint(Callback):
    """Keras 3's Orbax checkpointing callback (arguments as in Keras).

    jkeras accepts and checks the arguments and requires `orbax-checkpoint`
    (ImportError naming it otherwise), but does not write Orbax checkpoints
    yet: with the package installed, construction raises NotImplementedError.
    Use `ModelCheckpoint` (or `BackupAndRestore`) meanwhile."""

    def __init__(self, directory, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, max_to_keep=1,
                 save_on_background=True, save_weights_only=False):
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(
                f"OrbaxCheckpoint: save_freq must be 'epoch' or an int >= 1, got {save_freq!r}."
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"OrbaxCheckpoint: mode must be 'auto', 'min' or 'max', got {mode!r}."
            )
        _import_orbax()
        raise NotImplementedError(
            "OrbaxCheckpoint: writing Orbax checkpoints is not implemented in jkeras yet; use "
            "jkeras.callbacks.ModelCheckpoint or BackupAndRestore."
        )
