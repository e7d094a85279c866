"""The engine's steps on one block of draws, as numba functions.

A block is at most ``BLOCK`` draws of a chunk, laid out entry-major: ``z[i, j]`` is entry ``i`` of draw ``j``,
so that each step is a tight loop along the draws that LLVM vectorises and that stays in the L2 cache. The
chunk loop that strings these steps together is :func:`model.chunk.run_chunk`, compiled together with the
model (``model.compiled``). The steps are ``register_jitable``: compiled into, and cached with, the generated
module, whose cache key covers this file. The block size changes no draw: every step works draw by draw or
entry by entry. The running sums are added block after block in a fixed order, so their last bits (about
1e-15 relative) depend on the block size, which is therefore a constant of the code, not a setting.
"""

from __future__ import annotations

import numpy as np
from numba import config
from numba.extending import register_jitable
# numpy's ziggurat tables for standard normals (numpy/random/src/distributions/ziggurat_constants.h), as numba
# copies them for its own Generator support; tests/test_blocks.py checks the result against numpy bit for bit
from numba.np.random._constants import fi_double as _ZIG_F
from numba.np.random._constants import ki_double as _ZIG_K
from numba.np.random._constants import wi_double as _ZIG_W
from numba.np.random._constants import ziggurat_nor_inv_r as _ZIG_INV_R
from numba.np.random._constants import ziggurat_nor_r as _ZIG_R

from model.distributions import _bits, _float, closed_form, exp_scalar, phi_hermite, table_value

BLOCK = 256  # 2-8% faster than 128 in interleaved A/B runs; 512 no faster
#: Allocated row length of the block arrays: BLOCK + 8 doubles, an odd number of cache lines (33). With rows of
#: a power-of-two size, entry i of one draw would fall in only a few of the L1 cache's sets, and the steps that
#: walk a draw across the entries (normals, model) would evict each other's lines.
ROW = BLOCK + 8
_NORMAL, _LOGNORMAL, _TRUNCNORMAL, _UNIFORM, _PERT, _BETA = 1, 2, 3, 4, 6, 7  # model.distributions

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
    return idx, rabs, _float(_bits(x) ^ (np.int64(r & _U1) << _I63))  # the sign bit: no branch, no multiply


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


@register_jitable
def correlate_block(z, nb, block_ptr, block_idx, chol_ptr, chol_flat):
    """``z[block, :nb] = L @ z[block, :nb]`` per copula block; the same arithmetic, in the same order, as
    :func:`model.dependence.correlate` (rows last to first, diagonal term first, then l = 0 .. i-1)."""
    for b in range(block_ptr.size - 1):
        start = block_ptr[b]
        k = block_ptr[b + 1] - start
        base = chol_ptr[b]
        for i in range(k - 1, -1, -1):
            zi = z[block_idx[start + i]]
            d = chol_flat[base + i * k + i]
            for j in range(nb):
                zi[j] = d * zi[j]
            for l in range(i):
                c = chol_flat[base + i * k + l]
                if c != 0.0:
                    zl = z[block_idx[start + l]]
                    for j in range(nb):
                        zi[j] = zi[j] + c * zl[j]


@register_jitable
def marginals_block(z, nb, codes, vectors, tables, table_row, rows, x):
    """Each sampled entry's marginal: ``x[rows[i], j] = z_to_x(z[i, j])``, family by family with the same
    helpers as :func:`~model.distributions.z_to_x` inlined into tight loops (normal and lognormal vectorise,
    ``model.distributions.exp_scalar``); the rare closed-form families (triangular, metalog) through
    ``closed_form``. Entry ``i``'s lookup table is ``tables[table_row[i]]``: entries share a row where their
    tables are equal (every uniform reads the one Phi table), which keeps the tables in the L2 cache."""
    for i in range(codes.size):
        code = codes[i]
        zi = z[i]
        xi = x[rows[i]]
        if code == _LOGNORMAL:
            mu, s = vectors[i, 0], vectors[i, 1]
            for j in range(nb):
                xi[j] = exp_scalar(mu + s * zi[j])
        elif code == _NORMAL:
            mu, s = vectors[i, 0], vectors[i, 1]
            for j in range(nb):
                xi[j] = mu + s * zi[j]
        elif code == _UNIFORM:
            a, w = vectors[i, 0], vectors[i, 1] - vectors[i, 0]
            tab = tables[table_row[i]]
            for j in range(nb):
                xi[j] = a + w * phi_hermite(zi[j], tab)
        elif code == _TRUNCNORMAL or code == _PERT or code == _BETA:
            tab = tables[table_row[i]]
            for j in range(nb):
                xi[j] = table_value(zi[j], tab)
        else:
            vec = vectors[i]
            for j in range(nb):
                xi[j] = closed_form(zi[j], code, vec)


@register_jitable
def fill_rows(x, rows, values, nb):
    """``x[rows[k], :nb] = values[k]`` (the constants of the model's inputs)."""
    for k in range(rows.size):
        xk = x[rows[k]]
        v = values[k]
        for j in range(nb):
            xk[j] = v


@register_jitable
def posterior_block(x, post, post_rows, picks, nb):
    """The posterior's joint rows picked for each draw, into the posterior's input rows."""
    for k in range(post_rows.size):
        xk = x[post_rows[k]]
        for j in range(nb):
            xk[j] = post[picks[j], k]


@register_jitable
def outputs_block(lines, y, nb, out_ptr, out_idx, out_w):
    """Outputs as weighted sums over [lines, earlier outputs] (CSR ``out_ptr``/``out_idx``/``out_w``; an index
    >= n_lines refers to output ``index - n_lines``): ``y[o, :nb]``, one axpy per term along the draws."""
    n_lines = lines.shape[0]
    for o in range(out_ptr.size - 1):
        yo = y[o]
        for j in range(nb):
            yo[j] = 0.0
        for q in range(out_ptr[o], out_ptr[o + 1]):
            w = out_w[q]
            idx = out_idx[q]
            src = lines[idx] if idx < n_lines else y[idx - n_lines]
            for j in range(nb):
                yo[j] += w * src[j]


@register_jitable
def stats_block(y, nb, first, shift, s1, s2):
    """Add the block to the chunk's running sums, in one pass: per output the sums of ``y - shift`` and of its
    square (``shift`` = the chunk's first draw, so the sums do not lose digits). With ``first`` the sums start
    afresh. Four interleaved partial sums (LLVM packs them into one vector; a fixed order, so the result
    depends on the draws only, not on the machine)."""
    for o in range(y.shape[0]):
        row = y[o]
        if first:
            shift[o] = row[0]
            s1[o] = s2[o] = 0.0
        c = shift[o]
        a0 = a1 = a2 = a3 = 0.0
        q0 = q1 = q2 = q3 = 0.0
        j = 0
        while j + 4 <= nb:
            d0, d1, d2, d3 = row[j] - c, row[j + 1] - c, row[j + 2] - c, row[j + 3] - c
            a0 += d0
            a1 += d1
            a2 += d2
            a3 += d3
            q0 += d0 * d0
            q1 += d1 * d1
            q2 += d2 * d2
            q3 += d3 * d3
            j += 4
        while j < nb:
            d0 = row[j] - c
            a0 += d0
            q0 += d0 * d0
            j += 1
        s1[o] += (a0 + a1) + (a2 + a3)
        s2[o] += (q0 + q1) + (q2 + q3)


@register_jitable
def finish_stats(n, shift, s1, s2):
    """Turn the shifted sums into the chunk's mean (in ``s1``) and sum of squared deviations (in ``s2``)."""
    for o in range(shift.size):
        d = s1[o] / n  # mean - shift
        s1[o] = shift[o] + d
        s2[o] = max(s2[o] - d * d * n, 0.0)


@register_jitable
def hist_block(y, nb, lo, inv_width, counts, bins, below, above):
    """Add the block to fixed-bin histograms: ``counts[o, 0]`` counts values below ``lo[o]``,
    ``counts[o, 1 + b]`` bin ``b`` = ``[lo + b/inv_width, lo + (b+1)/inv_width)``, ``counts[o, -1]`` values above
    the last bin (and NaN). ``below``/``above`` keep the least/greatest value outside the bins (the outer edges
    of the first and last count). ``bins`` is scratch (nb,) int32."""
    top = counts.shape[1] - 1
    for o in range(y.shape[0]):
        row = y[o]
        lo_o = lo[o]
        iw = inv_width[o]
        c = counts[o]
        for j in range(nb):  # bin numbers: vectorisable
            t = (row[j] - lo_o) * iw + 1.0
            t = t if t < top else float(top)   # NaN -> top
            t = t if t > 0.0 else 0.0
            bins[j] = np.int32(t)  # int32: the conversion vectorises
        for j in range(nb):
            b = bins[j]
            c[b] += 1
            if b == 0:
                below[o] = min(below[o], row[j])
            elif b == top:
                above[o] = max(above[o], row[j])


@register_jitable
def copy_block(src, dst, start, nb):
    """``dst[:, start:start+nb] = src[:, :nb]``."""
    for i in range(src.shape[0]):
        s = src[i]
        d = dst[i]
        for j in range(nb):
            d[start + j] = s[j]


@register_jitable
def copy_rows(src, rows, dst, start, nb):
    """``dst[k, start:start+nb] = src[rows[k], :nb]``."""
    for k in range(rows.size):
        s = src[rows[k]]
        d = dst[k]
        for j in range(nb):
            d[start + j] = s[j]


@register_jitable
def transpose_in(inp, b0, nb, x):
    """``x[:, :nb] = inp[b0:b0+nb, :].T`` (draw-major input matrix into an entry-major block)."""
    for j in range(nb):
        r = inp[b0 + j]
        for i in range(r.size):
            x[i, j] = r[i]


@register_jitable
def transpose_out(lines, b0, nb, out):
    """``out[b0:b0+nb, :] = lines[:, :nb].T``."""
    for j in range(nb):
        r = out[b0 + j]
        for i in range(r.size):
            r[i] = lines[i, j]

