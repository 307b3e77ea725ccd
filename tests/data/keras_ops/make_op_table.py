"""Prints the op table of jkeras/saving/keras_ops.py (`_TABLE`) from an installed
Keras 3 (run in Keras's own environment, JAX backend):

    KERAS_BACKEND=jax python tests/data/keras_ops/make_op_table.py

One line per Keras op function that records a graph node: the function, its module
(keras.src.ops.<module>), the op class, then the function's parameters in order, the
class's call arguments marked `@` (`*`/`**`: variadic), then constructor parameters
the function only takes through **kwargs. Lines longer than 95 characters are wrapped
with indented continuation lines. Edited by hand after running it: the defaults of
the **kwargs-only parameters (`rms_scaling=False`), and `@volumes` for
`extract_patches_3d` (its class calls that argument `images`).
"""

import importlib
import inspect
import re
import textwrap

MODULES = ("numpy", "nn", "core", "math", "linalg", "image", "einops")


def _names(params, skip_name=True):
    out = []
    for p in params:
        if skip_name and p.name == "name":
            continue
        stars = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append((stars, p.name))
    return out


def rows():
    import keras
    from keras.src.ops.operation import Operation

    for short in MODULES:
        module = importlib.import_module(f"keras.src.ops.{short}")
        classes = {n: c for n, c in vars(module).items() if inspect.isclass(c)
                   and issubclass(c, Operation) and c.__module__ == module.__name__}
        public = getattr(keras.ops, short, None) if short in ("numpy", "nn", "image",
                                                              "linalg") else keras.ops
        for fname in sorted(dir(public)):
            fn = getattr(public, fname)
            if fname.startswith("_") or not inspect.isfunction(fn) or (
                    fn.__module__ != module.__name__):
                continue
            used = [c for c in re.findall(r"\b([A-Z]\w*)\(", inspect.getsource(fn))
                    if c in classes]
            if not used or "does not support symbolic" in inspect.getsource(fn):
                continue  # not recorded as a graph node
            cls = classes[used[0]]
            init = [n for s, n in _names(list(inspect.signature(cls.__init__).parameters
                                              .values())[1:]) if s != "**"]
            call = [n for s, n in _names(list(inspect.signature(cls.call).parameters
                                              .values())[1:])]
            tokens, seen = [], set()
            for stars, name in _names(inspect.signature(fn).parameters.values(), False):
                mark = "@" if name in call else ""
                tokens.append(f"{stars}{mark}{name}")
                seen.add(name)
            tokens += [n for n in init if n not in seen]
            yield f"{fname} {short} {cls.__name__} " + " ".join(tokens)


if __name__ == "__main__":
    for line in sorted(rows()):
        print("\n".join(textwrap.wrap(line, 95, subsequent_indent="    ",
                                      break_long_words=False)))
