"""The Keras 3 public names that jkeras leaves out on purpose, each with its reason.

This is the one list: the `keras` import alias (jkeras.compat) names the reason when a
program asks for one of these, and the Keras 3 parity test and the compatibility
table in the docs read `EXCLUDED`.

Keys are paths below `keras` (`"layers.TFSMLayer"`); a module's key (`"export"`)
covers every name in it.
"""

from __future__ import annotations

TENSORFLOW_SAVEDMODEL = "needs TensorFlow: it works on TensorFlow SavedModel files"
QUANTIZATION = ("quantization (int8/int4/float8 weights, GPTQ, AWQ) is not part of jkeras, "
                "which trains and runs float models")

EXCLUDED: dict[str, str] = {
    "layers.TFSMLayer": f"{TENSORFLOW_SAVEDMODEL} (it loads one as a layer)",
    "layers.TorchModuleWrapper": "PyTorch backend only: it wraps a torch.nn.Module",
    "export": f"{TENSORFLOW_SAVEDMODEL} (keras.export writes one); to serve a jkeras "
              f"model, save it as .keras or export its jitted function with jax.export",
    "export.ExportArchive": f"{TENSORFLOW_SAVEDMODEL} (it writes one)",
    "quantizers": QUANTIZATION,
    "Quantizer": QUANTIZATION,
    "dtype_policies.AWQDTypePolicy": QUANTIZATION,
    "dtype_policies.GPTQDTypePolicy": QUANTIZATION,
    "dtype_policies.Int4DTypePolicy": QUANTIZATION,
    "dtype_policies.QuantizedDTypePolicy": QUANTIZATION,
    "dtype_policies.QuantizedFloat8DTypePolicy": QUANTIZATION,
    "src": "Keras's private implementation package, not a public API (under the keras "
           "import alias, `keras.src.<module>` imports reach jkeras's public module of "
           "that name where there is one)",
}


def reason(path: str) -> str | None:
    """Why jkeras leaves out the Keras 3 name `path` (`"layers.TFSMLayer"`,
    `"keras.export.ExportArchive"`), or None when it is not excluded."""
    if path == "keras" or path.startswith("keras."):
        path = path[len("keras."):]
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = EXCLUDED.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def is_excluded(module: str, name: str) -> bool:
    """Whether `name` of the Keras 3 module `module` (`""` for the top level,
    `"layers"`, ...) is left out on purpose."""
    return reason(f"{module}.{name}" if module else name) is not None


__all__ = ["EXCLUDED", "is_excluded", "reason"]
