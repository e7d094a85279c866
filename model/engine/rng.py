"""The engine's random numbers: numpy's SFC64 and its standard normal (ziggurat), inline, and the stream of a run.

Streams. The draws of a run are cut into chunks of ``chunk_size`` draws. Chunk ``k`` of a run with seed ``s``
draws from its own generator ``Generator(SFC64(SeedSequence(s, spawn_key=(k,))))`` (:func:`chunk_generator`):
seeded by the ``k``-th child that ``SeedSequence(s).spawn`` would give, so a chunk's numbers depend only on
``(seed, k, chunk_size)`` and results are bit-identical on 1 or 2 threads, in one task or split over many. Within
a chunk the standard normals are drawn draw by draw (all entries of draw 1, then draw 2, ...), so a shorter last
chunk is a prefix of a full one; with a posterior, each draw's normals are followed by one uniform that picks the
posterior row. :data:`STREAM` says this in one line for the manifests.

The engine draws that generator's numbers with the inline SFC64 and ziggurat below (:func:`normals_block`, bit for
bit, tested), started from :func:`chunk_state`. SFC64 (Doty-Humphrey's Small Fast Chaotic generator, in numpy)
passes PractRand and BigCrush.
"""

from __future__ import annotations

import numpy as np
from numba import config
from numba.extending import register_jitable
# numpy's ziggurat tables for standard normals (numpy/random/src/distributions/ziggurat_constants.h), as numba
# copies them for its own Generator support; the tests check the result against numpy bit for bit
from numba.np.random._constants import fi_double as _ZIG_F
from numba.np.random._constants import ki_double as _ZIG_K
from numba.np.random._constants import wi_double as _ZIG_W
from numba.np.random._constants import ziggurat_nor_inv_r as _ZIG_INV_R
from numba.np.random._constants import ziggurat_nor_r as _ZIG_R

from model.engine.numerics import bits, from_bits

#: The stream of a run, as recorded in its manifest.
STREAM = ("chunk k of a run: numpy Generator(SFC64(SeedSequence(seed, spawn_key=(k,)))); standard normals drawn "
          "draw-major (all sampled entries of a draw, then the next draw), with a posterior one uniform per draw "
          "after its normals picking the posterior row; the pilot of the histogram ranges uses spawn key 2**31-1")
PILOT_KEY = 2**31 - 1  # spawn key of the pilot stream that fixes histogram ranges


def chunk_generator(seed: int, k: int) -> np.random.Generator:
    """The generator of chunk ``k``: numpy's SFC64 seeded by the ``k``-th child of ``SeedSequence(seed)``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(k,))))


def chunk_state(seed: int, k: int) -> np.ndarray:
    """The initial SFC64 state (4,) uint64 of chunk ``k``'s generator (:func:`chunk_generator`)."""
    return np.array(chunk_generator(seed, k).bit_generator.state["state"]["state"], dtype=np.uint64)


# ------------------------------------------------------------------------------------------------------
# numpy's SFC64 and its standard normal, inline
#
# numba's Generator support calls the bit generator through a function pointer for every variate, and
# branches on the sign of each normal (a 50% misprediction). The same arithmetic inline, with the state in
# registers and the sign put into the sign bit (exact), draws the identical numbers about 3x faster.
# ------------------------------------------------------------------------------------------------------

_U1, _U3, _U8, _U11, _U24, _U40 = (np.uint64(k) for k in (1, 3, 8, 11, 24, 40))
_I63 = np.int64(63)
_U255 = np.uint64(0xFF)
_MASK52 = np.uint64(0x000FFFFFFFFFFFFF)
_INV_2_53 = 1.0 / 9007199254740992.0


@register_jitable
def sfc64_next(a, b, c, d):
    """One step of numpy's SFC64 (``sfc64.h``; state ``a, b, c`` and counter ``d``): the new state and the
    64-bit output."""
    out = a + b + d
    return b ^ (b >> _U11), c + (c << _U3), ((c << _U24) | (c >> _U40)) + out, d + _U1, out


if config.DISABLE_JIT:  # plain Python: numpy's uint64 scalars warn on the (intended) wrap-around
    _M64 = (1 << 64) - 1

    def sfc64_next(a, b, c, d):  # noqa: F811
        """One step of numpy's SFC64, on Python integers (under NUMBA_DISABLE_JIT=1)."""
        a, b, c, d = int(a), int(b), int(c), int(d)
        out = (a + b + d) & _M64
        c_next = ((((c << 24) | (c >> 40)) & _M64) + out) & _M64
        return (np.uint64(b ^ (b >> 11)), np.uint64((c + (c << 3)) & _M64), np.uint64(c_next),
                np.uint64((d + 1) & _M64), np.uint64(out))


@register_jitable
def unit_double(r):
    """numpy's ``next_double``: the top 53 bits of ``r`` as a double in [0, 1)."""
    return np.float64(np.int64(r >> _U11)) * _INV_2_53


@register_jitable
def ziggurat_layer(r):
    """numpy's first ziggurat step on the 64-bit output ``r``: the layer ``idx`` (low 8 bits), the 52-bit
    magnitude ``rabs`` and the candidate ``x = ±rabs * w[idx]``, accepted at once if ``rabs < k[idx]``."""
    idx = np.int64(r & _U255)
    r = r >> _U8
    rabs = (r >> _U1) & _MASK52
    x = np.float64(np.int64(rabs)) * _ZIG_W[idx]
    return idx, rabs, from_bits(bits(x) ^ (np.int64(r & _U1) << _I63))  # the sign bit: no branch, no multiply


@register_jitable
def normal_rest(a, b, c, d, idx, rabs, x):
    """numpy's ``random_standard_normal`` after a first ziggurat draw ``idx, rabs, x`` was not accepted at
    once (1.2% of draws): the tail (``idx == 0``), the wedge test, and fresh draws until one is accepted."""
    while True:
        if idx == 0:
            while True:
                a, b, c, d, r1 = sfc64_next(a, b, c, d)
                xx = -_ZIG_INV_R * np.log1p(-unit_double(r1))
                a, b, c, d, r2 = sfc64_next(a, b, c, d)
                yy = -np.log1p(-unit_double(r2))
                if yy + yy > xx * xx:
                    break
            if (rabs >> _U8) & _U1:
                return a, b, c, d, -(_ZIG_R + xx)
            return a, b, c, d, _ZIG_R + xx
        a, b, c, d, r1 = sfc64_next(a, b, c, d)
        if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * unit_double(r1) + _ZIG_F[idx] < np.exp(-0.5 * x * x):
            return a, b, c, d, x
        a, b, c, d, r = sfc64_next(a, b, c, d)
        idx, rabs, x = ziggurat_layer(r)
        if rabs < _ZIG_K[idx]:
            return a, b, c, d, x


@register_jitable
def normals_block(state, z, picks, nb, n_post):
    """Standard normals draw by draw (all entries of draw 1, then draw 2, ...), and with a posterior, after
    a draw's normals, one uniform ``u`` that picks posterior row ``floor(u * n_post)``: the chunk's stream does
    not depend on the block size. ``state`` is the SFC64 state (4,) uint64, advanced in place: the numbers are
    ``numpy.random.Generator(SFC64)``'s ``standard_normal()`` and ``random()``, bit for bit."""
    n = z.shape[0]
    a, b, c, d = state[0], state[1], state[2], state[3]
    for j in range(nb):
        for i in range(n):
            a, b, c, d, r = sfc64_next(a, b, c, d)
            idx, rabs, x = ziggurat_layer(r)
            if rabs >= _ZIG_K[idx]:
                a, b, c, d, x = normal_rest(a, b, c, d, idx, rabs, x)
            z[i, j] = x
        if n_post > 0:
            a, b, c, d, r = sfc64_next(a, b, c, d)
            picks[j] = min(int(unit_double(r) * n_post), n_post - 1)
    state[0], state[1], state[2], state[3] = a, b, c, d
