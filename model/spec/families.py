"""The distribution families of the priors and the layout of their fitted parameters: the one definition of the
family codes and of the lookup-table grid, shared by the fitting (``model.spec.distributions``, scipy), the
engine's transform (``model.engine.numerics``, numba) and the calibration's (``model.analysis.calibration``,
PyTensor). No heavy imports: the engine reads these constants without loading scipy.

Families, their canonical ``Marginal.params`` and how the engine maps a normal score ``z`` to a value:

==============  ====  =======================================  ============================================
family          code  params                                   transform of z
==============  ====  =======================================  ============================================
fixed           0     ``(value,)``                             the value
normal          1     ``(mu, sigma)``                          ``mu + sigma z``
lognormal       2     ``(mu, sigma)`` of ``log x``             ``exp(mu + sigma z)``
truncnormal     3     ``(mu, sigma, lo, hi)``                  table
uniform         4     ``(a, b)``                               ``a + (b - a) Phi(z)``, Phi from a table
triangular      5     ``(a, c, b)``                            closed-form quantile of ``Phi(z)``
pert            6     ``(a, c, b)``                            table
beta            7     ``(alpha, beta, lo, hi)``                table
metalog         8     ``(a1, a2, a3, lo, hi)``                 closed-form quantile of ``Phi(z)``
==============  ====  =======================================  ============================================
"""

from __future__ import annotations

import math

import numpy as np

FIXED, NORMAL, LOGNORMAL, TRUNCNORMAL, UNIFORM, TRIANGULAR, PERT, BETA, METALOG = range(9)
FAMILY_CODES = {
    "fixed": FIXED,
    "normal": NORMAL,
    "lognormal": LOGNORMAL,
    "truncnormal": TRUNCNORMAL,
    "uniform": UNIFORM,
    "triangular": TRIANGULAR,
    "pert": PERT,
    "beta": BETA,
    "metalog": METALOG,
}
#: Families whose quantile function is tabulated as x(z) (an expensive ppf).
TABLE_FAMILIES = ("truncnormal", "pert", "beta")

#: Length of a marginal's parameter vector (zero padded).
VECTOR_LEN = 8

# Lookup tables for the families with an expensive ppf are tabulated as x(z) = F^-1(Phi(z)) on a uniform grid in z
# over [-TABLE_Z_MAX, TABLE_Z_MAX] (not in u: a z grid resolves both tails and copes with an infinite end, as for a
# one-sided truncnormal). With 4097 points (dz = 7/2048) the linear interpolation error is below 1e-4 of
# max(|x|, IQR). Scores beyond the grid (probability 1.3e-12 per tail) are clamped to the end values.
TABLE_LEN = 4097
TABLE_Z_MAX = 7.0
TABLE_DZ = 2.0 * TABLE_Z_MAX / (TABLE_LEN - 1)
TABLE_INV_DZ = (TABLE_LEN - 1) / (2.0 * TABLE_Z_MAX)

#: The uniform family's table: Phi and its density on the table's z grid, for cubic Hermite interpolation of Phi
#: (``model.engine.numerics.phi_hermite``).
_GRID = np.linspace(-TABLE_Z_MAX, TABLE_Z_MAX, TABLE_LEN)
PHI_TABLE = np.concatenate([[0.5 * math.erfc(-z / math.sqrt(2.0)) for z in _GRID],
                            np.exp(-0.5 * _GRID * _GRID) / math.sqrt(2.0 * math.pi)])
PHI_TABLE.setflags(write=False)
