"""The chunk loop of the Monte Carlo engine, and the model's two other entry points.

These functions call ``model_block``, the whole model on one block of draws, which ``model.compiled``
generates from the registry. numba can only cache a function whose callees are fixed globals, so
``model.compiled`` copies the source of the functions below into the generated module, after
``model_block`` and the sizes ``N_INPUTS``/``N_LINES``, and compiles them there (``cache=True, nogil=True``).
Read them here; they are not called from this module.

- :func:`run_chunk`: one chunk of the Monte Carlo engine, block by block: normals -> copula -> marginals ->
  model -> outputs -> statistics and histograms (and, when asked, the draws kept).
- :func:`evaluate_theta`: outputs for given values of the sampled inputs (sensitivity designs).
- :func:`model_loop`: every line for a draw-major input matrix (report mode, ``model.evaluate``).
"""

# ruff: noqa: F821  (model_block, N_INPUTS and N_LINES are globals of the generated module)

import numpy as np

from model.blocks import (BLOCK, ROW, copy_block, copy_rows, correlate_block, fill_rows, finish_stats, hist_block,
                          marginals_block, normals_block, outputs_block, posterior_block, stats_block,
                          transpose_in, transpose_out)

COPIED = ("run_chunk", "evaluate_theta", "model_loop")  # what model.compiled copies into the generated module
# (with the import from model.blocks above, and numpy)


def run_chunk(state, m, codes, vectors, tables, table_row, rows, const_rows, const_values, block_ptr, block_idx,
              chol_ptr, chol_flat, post, post_rows, out_ptr, out_idx, out_w, hist_lo, hist_inv_width, counts, below,
              above, mean, m2, keep_y, keep_x, keep_lines):
    """``m`` draws from the SFC64 ``state`` (advanced in place): per block the normals, copula, marginals,
    model, outputs; the chunk's ``mean`` and ``m2`` (sum of squared deviations) per output and, if ``counts``
    has rows, the histograms ``counts`` (n_outputs, n_bins + 2) with the extremes ``below``/``above`` outside
    them (all three accumulate). Entry ``i``'s marginal reads ``tables[table_row[i]]``. ``keep_y``
    (n_outputs, m), ``keep_x`` (n_sampled, m) and ``keep_lines`` (n_lines, m) receive the draws when they have
    rows (pass empty arrays otherwise)."""
    n = codes.size
    n_out = out_ptr.size - 1
    n_post = post.shape[0]
    z = np.empty((n, ROW))
    x = np.empty((N_INPUTS, ROW))
    lines = np.empty((N_LINES, ROW))
    y = np.empty((n_out, ROW))
    picks = np.empty(BLOCK, dtype=np.int64)
    bins = np.empty(BLOCK, dtype=np.int32)
    shift = np.empty(n_out)
    fill_rows(x, const_rows, const_values, BLOCK)  # constants: the same in every block
    for b0 in range(0, m, BLOCK):
        nb = min(BLOCK, m - b0)
        normals_block(state, z, picks, nb, n_post)
        correlate_block(z, nb, block_ptr, block_idx, chol_ptr, chol_flat)
        marginals_block(z, nb, codes, vectors, tables, table_row, rows, x)
        posterior_block(x, post, post_rows, picks, nb)
        model_block(x, lines, nb)
        outputs_block(lines, y, nb, out_ptr, out_idx, out_w)
        stats_block(y, nb, b0 == 0, shift, mean, m2)
        if counts.shape[0] > 0:
            hist_block(y, nb, hist_lo, hist_inv_width, counts, bins, below, above)
        if keep_y.shape[0] > 0:
            copy_block(y, keep_y, b0, nb)
        if keep_x.shape[0] > 0:
            copy_rows(x, rows, keep_x, b0, nb)
        if keep_lines.shape[0] > 0:
            copy_block(lines, keep_lines, b0, nb)
    finish_stats(m, shift, mean, m2)


def evaluate_theta(theta, rows, const_rows, const_values, out_ptr, out_idx, out_w, y_out):
    """Outputs ``y_out`` (one row per output of the CSR ``out_ptr``: the plan's computed outputs, m) for the
    sampled inputs ``theta`` (n_sampled, m) (rows ``rows`` of the model's inputs) and the constants: the model
    and output sums of :func:`run_chunk`, on given values (``model.engine.evaluate_inputs`` adds the multiples)."""
    m = theta.shape[1]
    x = np.empty((N_INPUTS, ROW))
    lines = np.empty((N_LINES, ROW))
    y = np.empty((out_ptr.size - 1, ROW))
    fill_rows(x, const_rows, const_values, BLOCK)
    for b0 in range(0, m, BLOCK):
        nb = min(BLOCK, m - b0)
        for k in range(rows.size):
            xk = x[rows[k]]
            tk = theta[k]
            for j in range(nb):
                xk[j] = tk[b0 + j]
        model_block(x, lines, nb)
        outputs_block(lines, y, nb, out_ptr, out_idx, out_w)
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
