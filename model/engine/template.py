"""Source template: the compiled entry points of the engine, copied into the generated module.

Read these functions here; nothing calls them from this module. They call ``model_block``, the whole model on one
block of draws, which ``model.engine.codegen`` generates from the registry: numba can cache a function only when
its callees are fixed globals, so ``codegen`` copies the source of the functions listed in :data:`COPIED` into
the generated module (after ``model_block`` and the sizes ``N_INPUTS``/``N_LINES``, with this module's import
from the engine's step modules) and compiles them there (``cache=True, nogil=True``).

Their arguments are NamedTuples of arrays (``model.engine.plan.ModelArrays``, and :class:`HistArrays` and
:class:`Kept` below), read by field name, so no two arrays can be passed in each other's place.

- :func:`run_chunk`: one chunk of the Monte Carlo engine, block by block: normals -> copula -> marginals ->
  model -> outputs -> statistics and histograms (and, when asked, the draws kept).
- :func:`evaluate_theta`: outputs for given values of the sampled inputs (sensitivity designs).
- :func:`model_loop`: every line for a draw-major input matrix (the compiled model on given inputs).
- :func:`transform`: correlated values of the sampled entries for given independent normal scores (the copula and
  the marginals of :func:`run_chunk`, on scores from elsewhere).
- :func:`allocate`: a deelopgave's draws divided over the gemeenten by its allocation key (``model.engine.verdeling``).
"""

# ruff: noqa: F821  (model_block, N_INPUTS and N_LINES are globals of the generated module)

from typing import NamedTuple

import numpy as np

from model.engine.blocks import (BLOCK, ROW, copy_block, copy_rows, correlate_block, fill_rows, finish_stats,
                                 hist_block, marginals_block, outputs_block, posterior_block, stats_block,
                                 transpose_in, transpose_out)
from model.engine.numerics import exp_scalar
from model.engine.rng import normals_block

COPIED = ("run_chunk", "evaluate_theta", "model_loop", "transform", "allocate")  # copied into the generated module


class HistArrays(NamedTuple):
    """Fixed-bin histograms of the computed outputs: ``lo``/``inv_width`` per output, ``counts`` (n_outputs,
    n_bins + 2; first and last column: below and above the bins), ``below``/``above`` the extremes outside the
    bins. All accumulate. Empty arrays (zero rows): no histograms."""

    lo: np.ndarray
    inv_width: np.ndarray
    counts: np.ndarray
    below: np.ndarray
    above: np.ndarray


class Kept(NamedTuple):
    """Where the draws of a chunk are kept: ``y`` (n_outputs, n) the computed outputs, ``x`` (n_sampled, n) the
    sampled inputs, ``lines`` (n_lines, n) every line; draw ``j`` of the chunk goes to column ``offset + j``. An
    array with zero rows keeps nothing; the sampled inputs of blocks beyond the columns of ``x`` are not kept (so
    ``x`` may keep just the first draws of a run)."""

    y: np.ndarray
    x: np.ndarray
    lines: np.ndarray


def run_chunk(state, m, offset, model, hist, mean, m2, kept):
    """``m`` draws from the SFC64 ``state`` (advanced in place): per block the normals, copula, marginals,
    model, outputs; the chunk's ``mean`` and ``m2`` (sum of squared deviations) per output and, if
    ``hist.counts`` has rows, the histograms; the draws into ``kept`` from column ``offset`` on."""
    n = model.codes.size
    n_out = model.out_ptr.size - 1
    n_post = model.post.shape[0]
    z = np.empty((n, ROW))
    x = np.empty((N_INPUTS, ROW))
    lines = np.empty((N_LINES, ROW))
    y = np.empty((n_out, ROW))
    picks = np.empty(BLOCK, dtype=np.int64)
    bins = np.empty(BLOCK, dtype=np.int32)
    shift = np.empty(n_out)
    fill_rows(x, model.const_rows, model.const_values, BLOCK)  # constants: the same in every block
    for b0 in range(0, m, BLOCK):
        nb = min(BLOCK, m - b0)
        normals_block(state, z, picks, nb, n_post)
        correlate_block(z, nb, model.block_ptr, model.block_idx, model.chol_ptr, model.chol_flat)
        marginals_block(z, nb, model.codes, model.vectors, model.tables, model.table_row, model.rows, x)
        posterior_block(x, model.post, model.post_rows, picks, nb)
        model_block(x, lines, nb)
        outputs_block(lines, y, nb, model.out_ptr, model.out_idx, model.out_w)
        stats_block(y, nb, b0 == 0, shift, mean, m2)
        if hist.counts.shape[0] > 0:
            hist_block(y, nb, hist.lo, hist.inv_width, hist.counts, bins, hist.below, hist.above)
        if kept.y.shape[0] > 0:
            copy_block(y, kept.y, offset + b0, nb)
        if kept.x.shape[0] > 0 and offset + b0 + nb <= kept.x.shape[1]:
            copy_rows(x, model.rows, kept.x, offset + b0, nb)
        if kept.lines.shape[0] > 0:
            copy_block(lines, kept.lines, offset + b0, nb)
    finish_stats(m, shift, mean, m2)


def evaluate_theta(theta, model, y_out):
    """Outputs ``y_out`` (one row per computed output, m) for the sampled inputs ``theta`` (n_sampled, m) and the
    plan's constants: the model and output sums of :func:`run_chunk`, on given values."""
    m = theta.shape[1]
    rows = model.rows
    x = np.empty((N_INPUTS, ROW))
    lines = np.empty((N_LINES, ROW))
    y = np.empty((model.out_ptr.size - 1, ROW))
    fill_rows(x, model.const_rows, model.const_values, BLOCK)
    for b0 in range(0, m, BLOCK):
        nb = min(BLOCK, m - b0)
        for k in range(rows.size):
            xk = x[rows[k]]
            tk = theta[k]
            for j in range(nb):
                xk[j] = tk[b0 + j]
        model_block(x, lines, nb)
        outputs_block(lines, y, nb, model.out_ptr, model.out_idx, model.out_w)
        copy_block(y, y_out, b0, nb)


def model_loop(inp, out):
    """Every line ``out`` (m, n_lines) for the inputs ``inp`` (m, n_inputs), draws first."""
    x = np.empty((N_INPUTS, ROW))
    lines = np.empty((N_LINES, ROW))
    for b0 in range(0, inp.shape[0], BLOCK):
        nb = min(BLOCK, inp.shape[0] - b0)
        transpose_in(inp, b0, nb, x)
        model_block(x, lines, nb)
        transpose_out(lines, b0, nb, out)


def transform(z, model, x_out):
    """``x_out`` (n_sampled, m): the sampled entries' values for independent standard normal scores ``z``
    (n_sampled, m): the copula, then each marginal, block by block as in :func:`run_chunk`."""
    n = model.codes.size
    m = z.shape[1]
    zb = np.empty((n, ROW))
    xb = np.empty((n, ROW))
    ident = np.arange(n)
    for b0 in range(0, m, BLOCK):
        nb = min(BLOCK, m - b0)
        for i in range(n):
            for j in range(nb):
                zb[i, j] = z[i, b0 + j]
        correlate_block(zb, nb, model.block_ptr, model.block_idx, model.chol_ptr, model.chol_flat)
        marginals_block(zb, nb, model.codes, model.vectors, model.tables, model.table_row, ident, xb)
        copy_block(xb, x_out, b0, nb)


def allocate(state, amounts, base, x, w_mean, w_sd, tau, out, w_out):
    """Divide the draws of a deelopgave's parts, ``amounts`` (n_parts, m), over the gemeenten, adding them up in
    ``out`` (m, n_gemeenten) (``model.spec.verdeling``). Per draw ``i``, from the SFC64 ``state`` (advanced in
    place): the weights ``w = w_mean + w_sd·z`` (``w_out[i]``), then one normal ``eps_g`` per gemeente; part ``p``'s
    shares are ``exp(base[p] + tau·eps + x @ w)`` normalised to 1, so the gemeenten add up to ``amounts[p, i]``.
    ``base`` (n_parts, n_gemeenten) is ln(basis) − tau²/2 (up to a constant) over the part's gemeenten and -inf
    elsewhere (exp gives 0: the loops over the gemeenten have no branches, so they vectorise)."""
    n_g = x.shape[0]
    n_j = x.shape[1]
    n_p = amounts.shape[0]
    z = np.empty((n_j + n_g, 1))
    picks = np.empty(1, dtype=np.int64)
    s = np.empty(n_g)
    lin = np.empty(n_g)
    for i in range(amounts.shape[1]):
        normals_block(state, z, picks, 1, 0)
        for j in range(n_j):
            w_out[i, j] = w_mean[j] + w_sd[j] * z[j, 0]
        for g in range(n_g):
            lin[g] = tau[g] * z[n_j + g, 0]
        for j in range(n_j):
            wj = w_out[i, j]
            for g in range(n_g):
                lin[g] += wj * x[g, j]
        for p in range(n_p):
            for g in range(n_g):
                s[g] = exp_scalar(base[p, g] + lin[g])
            total = 0.0
            for g in range(n_g):
                total += s[g]
            f = amounts[p, i] / total
            for g in range(n_g):
                out[i, g] += f * s[g]
