"""User data as arrays a model can take, checked before any step runs.

`to_array` turns one argument (an array, a framework tensor or a nested list) into
a numpy/JAX array of real numbers or booleans, refusing strings, Python objects,
complex numbers, dates and ragged lists with an error that names the argument,
what it holds and the dtype expected (text or complex values pass where the input
declares such a dtype). `single_input_list` reads a nested list of numbers given to
a one-input model as one array. `check_validation_inputs` runs validation inputs
whose shape differs from the training inputs through the model abstractly, so a
shape the model cannot take is refused before the first training step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.training import data_adapter as da

_TEXT_DTYPES = ("string", "str", "object")  # declared Input dtypes that take text

_HINTS = {
    "U": "Map text or labels to numbers first (integer ids, e.g. with "
         "keras.layers.StringLookup, or np.asarray(..., dtype='float32') when the "
         "strings spell numbers).",
    "O": "Convert it to a numeric array (np.asarray(..., dtype='float32')); pad "
         "sequences of different lengths to one length with keras.utils.pad_sequences.",
    "c": "Pass real values: np.real(...), or the real and imaginary parts as separate "
         "features.",
    "M": "Convert the dates or durations to numbers first (e.g. seconds as float32).",
    "V": "Pass a plain numeric array (one field per feature column).",
}
_HINTS["S"] = _HINTS["U"]
_HINTS["m"] = _HINTS["M"]


def _takes_text(declared) -> bool:
    if declared is None:
        return False
    if isinstance(declared, str) and declared.lower() in _TEXT_DTYPES:
        return True
    try:
        return np.dtype(declared).kind in "OUS"
    except TypeError:
        return False


def _takes_complex(declared) -> bool:
    try:
        return declared is not None and jnp.issubdtype(declared, jnp.complexfloating)
    except TypeError:
        return False


def _is_real(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.bool_) or (
        jnp.issubdtype(dtype, jnp.number) and not jnp.issubdtype(dtype, jnp.complexfloating)))


def _holds(a) -> str:
    dt = np.dtype(a.dtype)
    if dt.kind in "US":
        sample = f"; e.g. {np.asarray(a).flat[0].item()!r:.40}" if a.size else ""
        return f"strings (dtype {dt}{sample})"
    if dt.kind == "O":
        if not a.size:
            return "Python objects (dtype object)"
        first = a.flat[0]
        shape = getattr(first, "shape", None)
        detail = f" of shape {tuple(shape)}" if shape is not None else f" {first!r:.40}"
        return f"Python objects (dtype object; the first is a {type(first).__name__}{detail})"
    if dt.kind == "c":
        return f"complex numbers (dtype {dt})"
    if dt.kind in "Mm":
        return f"dates or durations (dtype {dt})"
    return f"values of dtype {dt}"


def _ragged_detail(seq) -> str:
    """Where a nested list stops being rectangular: two sibling lengths that differ."""
    level = [seq]
    for depth in range(32):
        lengths = []
        nxt = []
        for item in level:
            for child in item:
                if isinstance(child, (list, tuple)) or np.ndim(child) > 0:
                    lengths.append(len(child))
                    nxt.append(child)
                else:
                    lengths.append(None)
        distinct = list(dict.fromkeys(lengths))
        if len(distinct) > 1:
            a, b = distinct[:2]
            say = (lambda n: "a number" if n is None else f"{n} item{'s' * (n != 1)}")
            where = "rows" if depth == 0 else f"items at depth {depth + 1}"
            return f"its {where} differ in length: {say(a)} and {say(b)}"
        level = nxt
        if not level:
            break
    return "its items are not all of one shape"


def to_array(a, what: str, expected: str = "numbers (float or integer)", declared=None):
    """`a` (an array, a framework tensor, a scalar or a nested list) as a numpy/JAX
    array of real numbers or booleans; strings pass where `declared` (the input's
    declared dtype) is a text dtype, complex numbers where it is complex.
    Raises a ValueError naming `what`, what it holds and `expected` otherwise."""
    if isinstance(a, (list, tuple)):
        try:
            a = np.asarray(a)
        except (ValueError, TypeError):
            raise ValueError(
                f"`{what}` is a ragged nested list ({_ragged_detail(a)}), so it is not an "
                f"array of {expected}. Pad the sequences to one length (keras.utils."
                f"pad_sequences) or pass a rectangular array."
            ) from None
    else:
        a = da.to_host(a)
        if not isinstance(a, (np.ndarray, jax.Array)):
            a = np.asarray(a)
    dt = a.dtype
    if _is_real(dt):
        return a
    kind = np.dtype(dt).kind
    if (kind in "OUS" and _takes_text(declared)) or (kind == "c" and _takes_complex(declared)):
        return a
    raise ValueError(
        f"`{what}` holds {_holds(a)}, but {expected} are expected. "
        f"{_HINTS.get(kind, 'Pass a numeric array.')}"
    )


def expected_input(declared) -> str:
    """What an input takes, for error messages: its declared dtype when known."""
    if declared is None:
        return "numbers (float or integer)"
    return f"{np.dtype(declared).name if not isinstance(declared, str) else declared} values " \
           f"(the input's declared dtype)"


def check_inputs(flat: list, what: str, names=None, declared=None) -> list:
    """The flat inputs through `to_array`, each checked against its declared dtype
    (`declared[j]`, None when unknown) and named `what` or `what['name']`."""
    out = []
    for j, a in enumerate(flat):
        dt = declared[j] if declared and j < len(declared) else None
        label = what
        if len(flat) > 1:
            label = f"{what}['{names[j]}']" if names and j < len(names) else f"{what}[{j}]"
        out.append(to_array(a, label, expected_input(dt), dt))
    return out


def input_count(model) -> int | None:
    """How many inputs `model` takes, when its class says (Functional, Sequential)."""
    from jkeras.engine.functional import Functional
    from jkeras.engine.sequential import Sequential

    if isinstance(model, Sequential):
        return 1
    if isinstance(model, Functional):
        return len(model.inputs)
    return None


def single_input_list(model, x, what: str):
    """`x` unchanged, except that a list/tuple given to a one-input model with more
    than one item (so not one item per input) is read as one array (numbers or
    nested lists of numbers), a ragged one refused by `to_array`."""
    if not isinstance(x, (list, tuple)) or len(x) == 1 or input_count(model) != 1:
        return x
    if any(da.is_array_like(v) for v in x):  # several arrays for one input: say so later
        return x
    return to_array(x, what)


def _first_x(handler) -> list:
    """Shapes/dtypes of the flat inputs of a data handler's batches."""
    if isinstance(handler, da.ArrayHandler):
        return list(handler.window_avals()[0][0])
    return list(handler.peek()[0])


def check_validation_inputs(trainer, train, val, what: str = "validation_data x") -> None:
    """Refuses validation inputs the model cannot run on, before any training step:
    when an input's shape (past the batch axis) differs from the training data's,
    the model runs on the validation batch's shapes under `jax.eval_shape` (a
    trace: nothing is compiled or allocated), as the evaluation step will; a
    failure is a ValueError naming the input, the shapes and the model's own
    error. (A model that needs concrete values, run eagerly, is not checked.)"""
    from jkeras.training import model_io as mio

    train_x, val_x = _first_x(train), _first_x(val)
    differ = [j for j, (t, v) in enumerate(zip(train_x, val_x))
              if tuple(t.shape[1:]) != tuple(v.shape[1:])]
    if not differ:
        return
    # the compiled model the handlers' inputs feed (`net`, where string inputs are
    # preprocessed on the host first; else the model itself)
    model, io = getattr(trainer, "net", trainer.model), trainer.io
    rows = int(val.batch_size or 1)
    specs = [jax.ShapeDtypeStruct((rows, *v.shape[1:]), np.dtype(v.dtype)) for v in val_x]
    variables = list(model.weights)
    values = [jax.ShapeDtypeStruct(tuple(v.shape), v.dtype) for v in variables]

    def run(vals, flat):
        return mio.forward(model, variables, vals, io.pack_x(flat), False, None)[0]

    try:
        jax.eval_shape(run, values, specs)
    except jax.errors.JAXTypeError:
        return  # the model needs concrete values (run_eagerly): not checkable abstractly
    except Exception as e:  # noqa: BLE001 - any failure of the model on these shapes
        j = differ[0]
        names = getattr(io, "input_names", None) or []
        name = f" '{names[j]}'" if j < len(names) else f" {j}"
        declared = ""
        if input_count(model) is not None:
            declared = f" (declared shape {tuple(model.inputs[j].shape)})"
        raise ValueError(
            f"`{what}` does not fit model '{model.name}': input{name}{declared} gets samples "
            f"of shape {tuple(train_x[j].shape[1:])} from the training data but "
            f"{tuple(val_x[j].shape[1:])} from `{what}`, and the model fails on them: {e} "
            f"Give the validation inputs the shape of the training inputs. (Checked before "
            f"training: the weights are unchanged.)"
        ) from None
