"""The engine's steps on one block of draws, as numba functions.

A block is at most ``BLOCK`` draws of a chunk, laid out entry-major: ``z[i, j]`` is entry ``i`` of draw ``j``,
so that each step is a tight loop along the draws that LLVM vectorises and that stays in the L2 cache. The
entry points that string these steps together (``model.engine.template``) are compiled together with the model
(``model.engine.codegen``). The steps are ``register_jitable``: compiled into, and cached with, the generated
module, whose cache key covers this file. The block size changes no draw: every step works draw by draw or
entry by entry. The running sums are added block after block in a fixed order, so their last bits (about
1e-15 relative) depend on the block size, which is therefore a constant of the code, not a setting.

:func:`correlate_block` and :func:`marginals_block` are the one implementation of the Gaussian copula and of the
normal-score-to-value transform in production; the calibration's PyTensor versions are tested against them.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from model.engine.numerics import closed_form, exp_scalar, phi_hermite, table_value
from model.spec.families import BETA, LOGNORMAL, NORMAL, PERT, TRUNCNORMAL, UNIFORM

BLOCK = 256  # 2-8% faster than 128 in interleaved A/B runs; 512 no faster
#: Allocated row length of the block arrays: BLOCK + 8 doubles, an odd number of cache lines (33). With rows of
#: a power-of-two size, entry i of one draw would fall in only a few of the L1 cache's sets, and the steps that
#: walk a draw across the entries (normals, model) would evict each other's lines.
ROW = BLOCK + 8

@register_jitable
def correlate_block(z, nb, block_ptr, block_idx, chol_ptr, chol_flat):
    """``z[block, :nb] = L @ z[block, :nb]`` per copula block (``model.spec.dependence.CopulaPlan``, packed by
    ``model.engine.plan``): rows last to first, so row ``i`` reads rows ``< i`` not yet changed; per element the
    diagonal term first, then ``l = 0 .. i-1``."""
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
    """Each sampled entry's marginal: ``x[rows[i], j]`` = the value of entry ``i`` at normal score ``z[i, j]``,
    family by family (``model.spec.families``) in tight loops: normal and lognormal in closed form (they
    vectorise, ``model.engine.numerics.exp_scalar``), uniform through a cubic Hermite table of Phi, truncnormal,
    pert and beta by linear interpolation in their x(z) tables, the rare closed-form families (triangular,
    metalog) and fixed through ``closed_form``. Entry ``i``'s lookup table is ``tables[table_row[i]]``: entries
    share a row where their tables are equal (every uniform reads the one Phi table), which keeps the tables in
    the L2 cache."""
    for i in range(codes.size):
        code = codes[i]
        zi = z[i]
        xi = x[rows[i]]
        if code == LOGNORMAL:
            mu, s = vectors[i, 0], vectors[i, 1]
            for j in range(nb):
                xi[j] = exp_scalar(mu + s * zi[j])
        elif code == NORMAL:
            mu, s = vectors[i, 0], vectors[i, 1]
            for j in range(nb):
                xi[j] = mu + s * zi[j]
        elif code == UNIFORM:
            a, w = vectors[i, 0], vectors[i, 1] - vectors[i, 0]
            tab = tables[table_row[i]]
            for j in range(nb):
                xi[j] = a + w * phi_hermite(zi[j], tab)
        elif code == TRUNCNORMAL or code == PERT or code == BETA:
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

