"""Numeric helpers of compiled code: numba intrinsics, a vectorisable exp, and the transforms of one normal score
to a value of a prior marginal that the engine's marginals step (``model.engine.blocks.marginals_block``) inlines.

They are ``register_jitable``: compiled into, and cached with, the generated module (``model.engine.codegen``),
whose cache key covers this file.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic, register_jitable

from model.spec.families import FIXED, METALOG, TABLE_DZ, TABLE_INV_DZ, TABLE_LEN, TABLE_Z_MAX, TRIANGULAR

# --------------------------------------------------------------------------------------------
# Bit casts and fused multiply-add
# --------------------------------------------------------------------------------------------


@intrinsic
def bits(typingctx, x):
    """The bit pattern of a float64 as int64 (no conversion)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def from_bits(typingctx, i):
    """The float64 with a given int64 bit pattern."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


if config.DISABLE_JIT:  # plain Python (NUMBA_DISABLE_JIT=1): the same bit casts on numpy scalars
    def bits(x):  # noqa: F811
        """The bit pattern of a float64 as int64."""
        return np.float64(x).view(np.int64)

    def from_bits(i):  # noqa: F811
        """The float64 with a given int64 bit pattern."""
        return np.int64(i).view(np.float64)

@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma: one instruction with FMA hardware, exact in software without)."""
    if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


# --------------------------------------------------------------------------------------------
# Vectorisable exp (the engine's lognormal marginals)
# --------------------------------------------------------------------------------------------
# numba compiles ``math.exp``/``np.exp`` to a call into the C library, one value at a time (about 9.6 ns per
# value on the 2-core benchmark machine, as much as a standard normal). exp_scalar is the same function
# as straight-line arithmetic without calls or branches, so LLVM turns a loop over draws into AVX2 code
# (about 2 ns per value):
#
#     exp(x) = 2^n · e^r,   n = round(x / ln 2),   r = x - n ln 2  (Cody-Waite, two-part ln 2),  |r| <= ln2/2
#     e^r    = Taylor polynomial of degree 13 (truncation error < 5e-18 relative), Estrin's scheme
#     every a * b + c as one fused multiply-add (``fma``: 20-25% faster than separate multiplies and adds, which
#              numba does not contract; IEEE fma rounds once, so the result is the same on any machine)
#     2^n    : n added to the exponent field of e^r (integer add on the bit pattern)
#
# The result is within 2 ulp of the C library's ``exp`` (tested on 10^6 arguments over the whole range).
# Arguments beyond ``±708.4`` follow ``exp``'s limits: overflow gives ``inf``; results below the smallest
# normal double (x < -708.396) are 0 (``exp`` would give a subnormal there); NaN gives NaN.
#
# Under ``NUMBA_DISABLE_JIT=1`` :func:`exp_scalar` is ``numpy.exp`` (the values agree to 2 ulp). Called once at a
# time (not in a loop that vectorises) the C library's exp is faster: its latency is shorter.

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's two-part ln 2: the high part has 21 zero low bits
_LN2_LO = 1.90821492927058770002e-10
_MAGIC = 6755399441055744.0            # 1.5 * 2^52: adding it rounds to an integer kept in the low bits
_HI = 709.782712893384                 # log(DBL_MAX)
_LO = -708.3964185322641               # log(smallest normal double)
_C = tuple(1.0 / math.factorial(k) for k in range(14))


@register_jitable
def exp_scalar(x):
    """exp(x) without calls or branches (selects only), so that loops over it vectorise."""
    xc = x if x < _HI else _HI          # NaN -> _HI here; fixed at the end
    xc = xc if xc > _LO else _LO
    t = fma(xc, _LOG2E, _MAGIC)
    n = t - _MAGIC                      # round(x / ln 2)
    r = fma(-n, _LN2_LO, fma(-n, _LN2_HI, xc))
    # Estrin's scheme: a shallow dependency chain, so that scalar calls overlap too
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p01 = fma(_C[1], r, _C[0])
    p23 = fma(_C[3], r, _C[2])
    p45 = fma(_C[5], r, _C[4])
    p67 = fma(_C[7], r, _C[6])
    p89 = fma(_C[9], r, _C[8])
    pab = fma(_C[11], r, _C[10])
    pcd = fma(_C[13], r, _C[12])
    p03 = fma(p23, r2, p01)
    p47 = fma(p67, r2, p45)
    p8b = fma(pab, r2, p89)
    p07 = fma(p47, r4, p03)
    p8d = fma(pcd, r4, p8b)
    p = fma(p8d, r8, p07)
    # the low bits of t hold n (two's complement); shifted into the exponent field they scale p by 2^n
    y = from_bits(bits(p) + (bits(t) << 52))
    y = y if x < _HI else math.inf
    y = y if x > _LO else 0.0
    return y if x == x else x


if config.DISABLE_JIT:  # plain Python: the fused multiply-add above is compiled code only
    def exp_scalar(x):  # noqa: F811
        """exp(x) (numpy.exp: under NUMBA_DISABLE_JIT=1)."""
        return np.exp(x)


# --------------------------------------------------------------------------------------------
# Transforms of one normal score (inlined by model.engine.blocks.marginals_block)
# --------------------------------------------------------------------------------------------

_SQRT_HALF = math.sqrt(0.5)


@register_jitable
def table_value(z, table):
    """Linear interpolation of ``table`` (values on the z grid of ``TABLE_LEN`` points); ends beyond it."""
    t = (z + TABLE_Z_MAX) * TABLE_INV_DZ
    if not t > 0.0:  # also catches NaN -> table[0]
        return table[0]
    if t >= TABLE_LEN - 1:
        return table[TABLE_LEN - 1]
    i = int(t)
    f = t - i
    return table[i] + f * (table[i + 1] - table[i])


@register_jitable
def phi_hermite(z, table):
    """Phi(z) by cubic Hermite interpolation of ``table`` = [Phi on the z grid, phi on the z grid]
    (``model.spec.distributions.PHI_TABLE``): absolute error below 3e-13; 0/1 beyond the grid (|z| > 7,
    probability 1.3e-12)."""
    t = (z + TABLE_Z_MAX) * TABLE_INV_DZ
    if not t > 0.0:
        return table[0]
    if t >= TABLE_LEN - 1:
        return table[TABLE_LEN - 1]
    i = int(t)
    f = t - i
    g = 1.0 - f
    return ((1.0 + 2.0 * f) * g * g * table[i] + f * f * (3.0 - 2.0 * f) * table[i + 1]
            + TABLE_DZ * f * g * (g * table[TABLE_LEN + i] - f * table[TABLE_LEN + i + 1]))


@register_jitable
def closed_form(z, code, vector):
    """The families without a table, triangular and metalog (fixed: its value; NaN for other codes): ``u = Phi(z)``
    and ``1 - u`` (the smaller of the two by one ``math.erfc``, the other as 1 minus it, so both tails stay
    accurate) in the closed-form quantile function."""
    if code == FIXED:
        return vector[0]
    t = 0.5 * math.erfc(abs(z) * _SQRT_HALF)  # the smaller of u = Phi(z) and v = 1 - u: accurate in both tails
    u = t if z < 0.0 else 1.0 - t
    v = 1.0 - t if z < 0.0 else t
    if code == TRIANGULAR:
        a, c, b = vector[0], vector[1], vector[2]
        if u * (b - a) <= c - a:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt(v * (b - a) * (b - c))
    if code == METALOG:
        if u <= 0.0:
            return vector[3]
        if v <= 0.0:
            return vector[4]
        logit = math.log(u / v)
        m = vector[0] + vector[1] * logit + vector[2] * (u - 0.5) * logit
        lo, hi = vector[3], vector[4]
        if math.isfinite(lo) and math.isfinite(hi):
            if m >= 0.0:
                return lo + (hi - lo) / (1.0 + math.exp(-m))
            e = math.exp(m)
            return lo + (hi - lo) * e / (1.0 + e)
        if math.isfinite(lo):
            return lo + math.exp(m)
        if math.isfinite(hi):
            return hi - math.exp(-m)
        return m
    return math.nan
