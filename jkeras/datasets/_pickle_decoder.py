"""Decoding the pickle streams of numpy object arrays without running pickle.

numpy can only write object arrays (IMDB's and Reuters's ragged sequences) as
a pickle stream. `decode_pickled_array` is a small interpreter of the pickle
opcodes that builds lists, tuples, numbers, strings and numpy arrays itself. It
never imports a module or calls anything named in the stream: the only
"globals" it accepts are the few names numpy uses to describe an array
(``_reconstruct``, ``ndarray``, ``dtype``, ``scalar``, ``_frombuffer``) and
``_codecs.encode`` (how protocol 2 spells bytes), and each is interpreted by
this code, not looked up. Any other global, persistent id, extension or object
construction is refused with an error naming it; a malformed stream is an
`UnsafePickleError`, and the memory the decoded objects take is charged to the
load's `ReadBudget`.
"""

from __future__ import annotations

import re
import struct

import numpy as np

from jkeras.saving.limits import FileLimitError, ReadBudget


class UnsafePickleError(ValueError):
    """A pickle stream asked for something other than plain data and arrays."""


_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}
_SCALAR = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}
_NDARRAY = {("numpy", "ndarray")}
_DTYPE = {("numpy", "dtype")}
_FROMBUFFER = {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}
_ENCODE = {("_codecs", "encode")}
_ALLOWED = _RECONSTRUCT | _SCALAR | _NDARRAY | _DTYPE | _ENCODE | _FROMBUFFER
_PLAIN = {int, float, str, bytes, bool, type(None)}
_DTYPE_SPEC = re.compile(r"^(b1|[iuf][1248]|f16|c8|c16|c32|O[48]|[SU]\d+)$")


class _Global:
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        key = (module, name)
        if key not in _ALLOWED:
            raise UnsafePickleError(
                f"refusing to load '{module}.{name}': the file asks to run code, which a "
                f"dataset file never needs. It may be corrupted or malicious; delete it and "
                f"download it again."
            )
        self.module, self.name = key

    @property
    def key(self):
        return (self.module, self.name)


class _DtypeBuilder:
    __slots__ = ("spec", "order", "dtype")

    def __init__(self, spec):
        if not isinstance(spec, str) or not _DTYPE_SPEC.match(spec):
            raise UnsafePickleError(f"unsupported array dtype {spec!r} in the pickle stream.")
        self.spec = spec
        self.order = "|"
        self.dtype = np.dtype(spec)

    def build(self, state):
        if not isinstance(state, tuple) or len(state) < 2:
            raise UnsafePickleError("malformed dtype state in the pickle stream.")
        if len(state) > 3 and state[3] is not None:
            raise UnsafePickleError("structured dtypes are not supported in dataset files.")
        order = state[1]
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


class _ArrayBuilder:
    __slots__ = ("value",)

    def __init__(self):
        self.value = None

    def build(self, state):
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafePickleError("malformed ndarray state in the pickle stream.")
        _, shape, dtype, fortran, data = state
        if not isinstance(dtype, _DtypeBuilder):
            raise UnsafePickleError("ndarray state without a dtype in the pickle stream.")
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise UnsafePickleError(f"malformed ndarray shape {shape!r} in the pickle stream.")
        dt = dtype.dtype
        count = int(np.prod(shape, dtype=np.int64))
        if dt.hasobject:
            if not isinstance(data, list) or len(data) != count:
                raise UnsafePickleError("object array data does not match its shape.")
            arr = np.empty(count, dtype=object)
            memo: dict = {}
            for i, v in enumerate(data):
                arr[i] = _resolve(v, memo)
            self.value = arr.reshape(shape, order="F" if fortran else "C")
            return 8 * count
        if isinstance(data, str):  # Python 2 strings
            data = data.encode("latin-1")
        if not isinstance(data, (bytes, bytearray)) or len(data) != count * dt.itemsize:
            raise UnsafePickleError("numeric array data does not match its shape and dtype.")
        arr = np.frombuffer(bytes(data), dtype=dt)
        self.value = arr.reshape(shape, order="F" if fortran else "C").copy()
        return self.value.nbytes


def _resolve(x, memo: dict):
    """Plain Python/numpy data for a decoded value. A list or tuple reached twice
    (the stream may share or nest them) is resolved once, so resolving takes
    time and memory linear in the stream, whatever its sharing."""
    if isinstance(x, _ArrayBuilder):
        if x.value is None:
            raise UnsafePickleError("an array in the pickle stream was never filled in.")
        return x.value
    if isinstance(x, list):
        if {type(v) for v in x} <= _PLAIN:
            return x
        if id(x) in memo:
            return memo[id(x)]
        out: list = []
        memo[id(x)] = out
        out.extend(_resolve(v, memo) for v in x)
        return out
    if isinstance(x, tuple):
        if id(x) not in memo:
            memo[id(x)] = tuple(_resolve(v, memo) for v in x)
        return memo[id(x)]
    if isinstance(x, _DtypeBuilder):
        return x.dtype
    if isinstance(x, _Global):
        raise UnsafePickleError(f"stray reference to '{x.module}.{x.name}' in the data.")
    return x


def _reduce(fn, args):
    if not isinstance(fn, _Global) or not isinstance(args, tuple):
        raise UnsafePickleError("the pickle stream calls something that is not allowed.")
    key = fn.key
    if key in _RECONSTRUCT:
        if not args or not isinstance(args[0], _Global) or args[0].key not in _NDARRAY:
            raise UnsafePickleError("numpy _reconstruct is only allowed for ndarray.")
        return _ArrayBuilder()
    if key in _DTYPE:
        return _DtypeBuilder(args[0] if args else None)
    if key in _SCALAR:
        if len(args) != 2 or not isinstance(args[0], _DtypeBuilder):
            raise UnsafePickleError("malformed numpy scalar in the pickle stream.")
        raw = args[1].encode("latin-1") if isinstance(args[1], str) else args[1]
        if not isinstance(raw, bytes) or args[0].dtype.hasobject:
            raise UnsafePickleError("malformed numpy scalar in the pickle stream.")
        return np.frombuffer(raw, dtype=args[0].dtype)[0]
    if key in _FROMBUFFER:
        if len(args) != 4 or not isinstance(args[1], _DtypeBuilder) or args[1].dtype.hasobject:
            raise UnsafePickleError("malformed numpy _frombuffer call in the pickle stream.")
        buf, dtype, shape, order = args
        if not isinstance(buf, bytes) or not isinstance(shape, tuple):
            raise UnsafePickleError("malformed numpy _frombuffer call in the pickle stream.")
        builder = _ArrayBuilder()
        builder.build((1, shape, dtype, order == "F", buf))
        return builder
    if key in _ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or args[1] != "latin1":
            raise UnsafePickleError("unexpected _codecs.encode call in the pickle stream.")
        return args[0].encode("latin-1")
    raise UnsafePickleError(f"'{fn.module}.{fn.name}' cannot be called.")


def _pickle_unsupported(op: int) -> UnsafePickleError:
    return UnsafePickleError(
        f"pickle opcode {bytes([op])!r} (0x{op:02x}) is not supported: the stream holds "
        f"something other than lists, numbers, strings and numpy arrays."
    )


def decode_pickled_array(data: bytes, start: int = 0, budget: ReadBudget | None = None,
                         what: str = "the pickled object array"):
    """Decodes a pickle stream (``data[start:]``) that holds plain data and numpy
    arrays, without running pickle. Returns the decoded object (numpy arrays as
    ndarrays). The objects it builds are counted against `budget`
    (FileLimitError naming `what` beyond it); a malformed stream raises
    UnsafePickleError."""
    cap = budget.remaining() if budget is not None else float("inf")
    used = 0
    try:
        value, used = _decode(bytes(data), start, cap)
    except (UnsafePickleError, FileLimitError):
        raise
    except _OverBudgetError as e:
        used = e.args[0]
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, OverflowError,
            struct.error, RecursionError) as e:
        raise UnsafePickleError(f"malformed pickle stream ({type(e).__name__}: {e}).") \
            from None
    if budget is not None:
        budget.charge(used, f"{what} (decoded into about {used:,} bytes of Python objects)")
    return value


class _OverBudgetError(Exception):
    pass


def _decode(data: bytes, pos: int, cap) -> tuple:
    """(decoded object, estimated bytes built); see `decode_pickled_array`.

    Each opcode adds what it builds in CPython (64-bit), roughly: 8 for a
    pointer to an existing object (small ints, None, memo fetches), 40 for a new
    number, 72 for a new container or string (plus its payload), 100 per memo
    or dict entry (literals, not names: this loop is the hot path)."""
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    append = stack.append
    n = len(data)
    used = 0
    unpack_from = struct.unpack_from
    while pos < n:
        if used > cap:
            raise _OverBudgetError(used)
        op = data[pos]
        pos += 1
        if op == 0x4B:  # BININT1
            append(data[pos])
            pos += 1
            used += 8
        elif op == 0x4D:  # BININT2
            append(data[pos] | (data[pos + 1] << 8))
            pos += 2
            used += 40
        elif op == 0x4A:  # BININT
            append(unpack_from("<i", data, pos)[0])
            pos += 4
            used += 40
        elif op == 0x65:  # APPENDS
            k = marks.pop()
            items = stack[k:]
            del stack[k:]
            target = stack[-1]
            if not isinstance(target, list):
                raise UnsafePickleError("APPENDS on something that is not a list.")
            target.extend(items)
        elif op == 0x28:  # MARK
            marks.append(len(stack))
            used += 40
        elif op == 0x5D:  # EMPTY_LIST
            append([])
            used += 72
        elif op == 0x71:  # BINPUT
            memo[data[pos]] = stack[-1]
            pos += 1
            used += 100
        elif op == 0x72:  # LONG_BINPUT
            memo[unpack_from("<I", data, pos)[0]] = stack[-1]
            pos += 4
            used += 100
        elif op == 0x94:  # MEMOIZE
            memo[len(memo)] = stack[-1]
            used += 100
        elif op == 0x68:  # BINGET
            append(memo[data[pos]])
            pos += 1
            used += 8
        elif op == 0x6A:  # LONG_BINGET
            append(memo[unpack_from("<I", data, pos)[0]])
            pos += 4
            used += 8
        elif op == 0x61:  # APPEND
            v = stack.pop()
            if not isinstance(stack[-1], list):
                raise UnsafePickleError("APPEND on something that is not a list.")
            stack[-1].append(v)
        elif op == 0x80:  # PROTO
            pos += 1
        elif op == 0x95:  # FRAME
            pos += 8
        elif op == 0x8A or op == 0x8B:  # LONG1 / LONG4
            if op == 0x8A:
                size = data[pos]
                pos += 1
            else:
                size = unpack_from("<i", data, pos)[0]
                pos += 4
            append(int.from_bytes(data[pos:pos + size], "little", signed=True))
            pos += size
            used += 40 + max(0, size)
        elif op == 0x47:  # BINFLOAT
            append(unpack_from(">d", data, pos)[0])
            pos += 8
            used += 40
        elif op == 0x4E:  # NONE
            append(None)
            used += 8
        elif op == 0x88:  # NEWTRUE
            append(True)
            used += 8
        elif op == 0x89:  # NEWFALSE
            append(False)
            used += 8
        elif op in (0x43, 0x42, 0x8E, 0x96, 0x55, 0x54, 0x8C, 0x58, 0x8D):
            # SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8, SHORT_BINSTRING,
            # BINSTRING, SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
            if op in (0x43, 0x55, 0x8C):
                size = data[pos]
                pos += 1
            elif op in (0x8E, 0x8D, 0x96):
                size = unpack_from("<Q", data, pos)[0]
                pos += 8
            else:
                size = unpack_from("<I", data, pos)[0]
                pos += 4
            raw = data[pos:pos + size]
            if len(raw) != size:
                raise UnsafePickleError("truncated pickle stream.")
            pos += size
            used += 72 + 4 * size
            if op in (0x43, 0x42, 0x8E, 0x96):
                append(raw)
            elif op in (0x55, 0x54):
                append(raw.decode("latin-1"))
            else:
                append(raw.decode("utf-8", "surrogatepass"))
        elif op == 0x63:  # GLOBAL "module\nname\n"
            end1 = data.index(b"\n", pos)
            end2 = data.index(b"\n", end1 + 1)
            module = data[pos:end1].decode("ascii")
            name = data[end1 + 1:end2].decode("ascii")
            pos = end2 + 1
            append(_Global(module, name))
            used += 72
        elif op == 0x93:  # STACK_GLOBAL
            name = stack.pop()
            module = stack.pop()
            if not isinstance(module, str) or not isinstance(name, str):
                raise UnsafePickleError("malformed STACK_GLOBAL in the pickle stream.")
            append(_Global(module, name))
            used += 72
        elif op == 0x52:  # REDUCE
            args = stack.pop()
            fn = stack.pop()
            result = _reduce(fn, args)
            append(result)
            used += 72
            if isinstance(result, _ArrayBuilder) and result.value is not None:
                used += result.value.nbytes
        elif op == 0x62:  # BUILD
            state = stack.pop()
            obj = stack[-1]
            if not isinstance(obj, (_ArrayBuilder, _DtypeBuilder)):
                raise UnsafePickleError("BUILD on something that is not a numpy array or dtype.")
            used += obj.build(state) or 0
        elif op == 0x29:  # EMPTY_TUPLE
            append(())
            used += 8
        elif op == 0x85:  # TUPLE1
            stack[-1] = (stack[-1],)
            used += 72
        elif op == 0x86:  # TUPLE2
            b = stack.pop()
            stack[-1] = (stack[-1], b)
            used += 72
        elif op == 0x87:  # TUPLE3
            c = stack.pop()
            b = stack.pop()
            stack[-1] = (stack[-1], b, c)
            used += 72
        elif op == 0x74:  # TUPLE
            k = marks.pop()
            t = tuple(stack[k:])
            del stack[k:]
            append(t)
            used += 72
        elif op == 0x6C:  # LIST
            k = marks.pop()
            lst = stack[k:]
            del stack[k:]
            append(lst)
            used += 72
        elif op == 0x7D:  # EMPTY_DICT
            append({})
            used += 72
        elif op in (0x73, 0x75):  # SETITEM / SETITEMS
            if op == 0x73:
                items = stack[-2:]
                del stack[-2:]
            else:
                k = marks.pop()
                items = stack[k:]
                del stack[k:]
            target = stack[-1]
            if not isinstance(target, dict):
                raise UnsafePickleError("SETITEM on something that is not a dict.")
            for i in range(0, len(items), 2):
                key = items[i]
                if not isinstance(key, (str, int, bytes)):
                    raise UnsafePickleError("dict key of an unsupported type.")
                target[key] = items[i + 1]
            used += 100 * (len(items) // 2)
        elif op == 0x30:  # POP
            if marks and marks[-1] == len(stack):
                marks.pop()
            else:
                stack.pop()
        elif op == 0x32:  # DUP
            append(stack[-1])
            used += 8
        elif op == 0x2E:  # STOP
            if len(stack) != 1:
                raise UnsafePickleError("malformed pickle stream (stack not empty at STOP).")
            return _resolve(stack[0], {}), used
        else:
            raise _pickle_unsupported(op)
    raise UnsafePickleError("truncated pickle stream (no STOP).")
