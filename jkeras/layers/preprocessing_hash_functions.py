"""The string hash functions TensorFlow's ops use, in plain Python, so that hashing layers
put values in the same bins as Keras 3 does (through TensorFlow):

- `fingerprint64(data)`: FarmHash's 64-bit fingerprint (farmhash "na" Hash64), what
  `tf.strings.to_hash_bucket_fast` and TensorFlow's `Fingerprint64` compute;
- `siphash24(key, data)`: SipHash-2-4 with a 128-bit key given as two uint64 words, what
  `tf.strings.to_hash_bucket_strong` computes;
- `fingerprint_cat64(fp1, fp2)`: TensorFlow's combination of two fingerprints, used by
  `tf.sparse.cross_hashed`.

All values are Python ints in [0, 2**64). The functions run on the host; `hash_buckets`
hashes an array of byte strings once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_M64 = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F
_CAT_MUL = 0xC6A4A7935BD1E995


def _rot(v: int, shift: int) -> int:
    """Rotates a 64-bit word right by `shift` bits."""
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _M64


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _word64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _word32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _mix16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & _M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M64
    b ^= b >> 47
    return (b * mul) & _M64


def _upto16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = _K2 + 2 * n
        a = (_word64(s, 0) + _K2) & _M64
        b = _word64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M64
        d = ((_rot(a, 25) + b) * mul) & _M64
        return _mix16(c, d, mul)
    if n >= 4:
        mul = _K2 + 2 * n
        return _mix16((n + (_word32(s, 0) << 3)) & _M64, _word32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
    return _K2


def _ends(s: bytes, n: int, mul: int, a_mul: int) -> tuple[int, int, int]:
    """(a, u, v): the words mixed from the first and last 16 bytes (17 to 64 bytes)."""
    a = (_word64(s, 0) * a_mul) & _M64
    b = _word64(s, 8)
    c = (_word64(s, n - 8) * mul) & _M64
    d = (_word64(s, n - 16) * _K2) & _M64
    return (a, (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
            (a + _rot((b + _K2) & _M64, 18) + c) & _M64)


def _upto32(s: bytes, n: int) -> int:
    mul = _K2 + 2 * n
    _, u, v = _ends(s, n, mul, _K1)
    return _mix16(u, v, mul)


def _upto64(s: bytes, n: int) -> int:
    mul = _K2 + 2 * n
    a, y, v = _ends(s, n, mul, _K2)
    z = _mix16(y, v, mul)
    e = (_word64(s, 16) * mul) & _M64
    f = _word64(s, 24)
    g = ((y + _word64(s, n - 32)) * mul) & _M64
    h = ((z + _word64(s, n - 24)) * mul) & _M64
    return _mix16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                  (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_word64(s, i + 8 * k) for k in range(4))
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    b = (b + _rot(a, 44)) & _M64
    return (a + z) & _M64, (b + c) & _M64


def fingerprint64(data: bytes) -> int:
    """FarmHash's 64-bit fingerprint of `data` (TensorFlow's `Fingerprint64`)."""
    s, n = bytes(data), len(data)
    if n <= 16:
        return _upto16(s, n)
    if n <= 32:
        return _upto32(s, n)
    if n <= 64:
        return _upto64(s, n)
    seed = 81
    y = (seed * _K1 + 113) & _M64
    z = (_shift_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v0 = v1 = w0 = w1 = 0
    x = (seed * _K2 + _word64(s, 0)) & _M64
    end = ((n - 1) // 64) * 64
    pos = 0
    while True:  # whole 64-byte blocks, then the last 64 bytes below
        x = (_rot((x + y + v0 + _word64(s, pos + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v1 + _word64(s, pos + 48)) & _M64, 42) * _K1) & _M64
        x ^= w1
        y = (y + v0 + _word64(s, pos + 40)) & _M64
        z = (_rot((z + w0) & _M64, 33) * _K1) & _M64
        v0, v1 = _weak32(s, pos, (v1 * _K1) & _M64, (x + w0) & _M64)
        w0, w1 = _weak32(s, pos + 32, (z + w1) & _M64, (y + _word64(s, pos + 16)) & _M64)
        z, x = x, z
        pos += 64
        if pos == end:
            break
    mul = _K1 + ((z & 0xFF) << 1)
    pos = n - 64
    w0 = (w0 + ((n - 1) & 63)) & _M64
    v0 = (v0 + w0) & _M64
    w0 = (w0 + v0) & _M64
    x = (_rot((x + y + v0 + _word64(s, pos + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v1 + _word64(s, pos + 48)) & _M64, 42) * mul) & _M64
    x ^= (w1 * 9) & _M64
    y = (y + v0 * 9 + _word64(s, pos + 40)) & _M64
    z = (_rot((z + w0) & _M64, 33) * mul) & _M64
    v0, v1 = _weak32(s, pos, (v1 * mul) & _M64, (x + w0) & _M64)
    w0, w1 = _weak32(s, pos + 32, (z + w1) & _M64, (y + _word64(s, pos + 16)) & _M64)
    z, x = x, z
    return _mix16((_mix16(v0, w0, mul) + _shift_mix(y) * _K0 + z) & _M64,
                  (_mix16(v1, w1, mul) + x) & _M64, mul)


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _M64
    v1 = _rot(v1, 51) ^ v0  # left rotation by 13 == right rotation by 51
    v0 = _rot(v0, 32)
    v2 = (v2 + v3) & _M64
    v3 = _rot(v3, 48) ^ v2
    v0 = (v0 + v3) & _M64
    v3 = _rot(v3, 43) ^ v0
    v2 = (v2 + v1) & _M64
    v1 = _rot(v1, 47) ^ v2
    v2 = _rot(v2, 32)
    return v0, v1, v2, v3


def siphash24(key: tuple[int, int], data: bytes) -> int:
    """SipHash-2-4 of `data` under the 128-bit key `(k0, k1)` (two uint64 words)."""
    k0, k1 = key[0] & _M64, key[1] & _M64
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    s = bytes(data)
    n = len(s)
    tail = n & ~7
    blocks = [_word64(s, i) for i in range(0, tail, 8)]
    blocks.append(int.from_bytes(s[tail:], "little") | ((n & 0xFF) << 56))
    for m in blocks:
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's `FingerprintCat64`: combines two 64-bit fingerprints."""
    result = fp1 ^ _CAT_MUL
    result ^= (_shift_mix((fp2 * _CAT_MUL) & _M64) * _CAT_MUL) & _M64
    result = (result * _CAT_MUL) & _M64
    result = (_shift_mix(result) * _CAT_MUL) & _M64
    return _shift_mix(result)


def hash_function(salt) -> Callable[[bytes], int]:
    """FarmHash fingerprints without a salt, SipHash-2-4 keyed by `salt` (k0, k1)."""
    if salt is None:
        return fingerprint64
    key = (int(salt[0]), int(salt[1]))
    return lambda data: siphash24(key, data)


def hash_buckets(values: np.ndarray, num_buckets: int, salt=None) -> np.ndarray:
    """`hash(value) % num_buckets` (int64) for an array of byte strings, hashing each
    distinct value once."""
    flat = values.reshape(-1)
    if flat.size == 0:
        return np.zeros(values.shape, np.int64)
    uniq, inverse = np.unique(flat, return_inverse=True)
    fn = hash_function(salt)
    bins = np.array([fn(u) % num_buckets for u in uniq.tolist()], np.int64)
    return bins[inverse].reshape(values.shape)
