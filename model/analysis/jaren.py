"""Years: spread every deelopgave over 2025 t/m 2035, index prices, and discount to a present value.

The report (and the Monte Carlo engine) gives each deelopgave as one total over 2025 t/m 2035 at its prijspeil.
This module adds the ``jaar`` dimension, draw by draw, on the engine's kept outputs (``RunResult.outputs``, the
rows of soort ``deelopgave``).

Phasing (``fasering``). Each deelopgave gets a profile over the 11 years that sums to 1:

- investment lines -- every deelopgave in kolom ``investeringsopgave`` plus the one-off OV costs
  (``ov_eenmalig``) -- follow an S-curve: the logistic ``F(t) = 1 / (1 + exp(-k (t - midden)))`` in continuous
  time (year ``t`` spans ``[t, t + 1)``), the share of year ``t`` being ``F(t + 1) - F(t)``, renormalised over
  ``[2025, 2036)`` so the whole total falls inside the period. ``midden`` and ``k`` have priors
  (``fasering_investering_midden``, ``fasering_investering_steilheid``), one pair shared by all investment
  lines (they are driven by the same programme ramp-up);
- everything else (exploitation, programme costs, onrendabele toppen) is flat: 1/11 a year.

Prices. A deelopgave's total is at its prijspeil ``p`` (the price level year of its money entries, see
:func:`prijspeilen`; 2024 for most, 2025 for the OV and personnel costs). In year ``t`` it costs

- nominal (``nominaal``, lopende prijzen): ``total x share_t x (1 + g)^(t - p)``, with ``g`` the yearly
  construction-cost growth (``bouwkostenstijging_per_jaar``) for investment lines and general inflation
  (``inflatie_per_jaar``) for the rest;
- real (``reeel``, prijspeil 2024 = the model's price level): nominal ``/ (1 + inflatie)^(t - 2024)``. Flat lines
  at prijspeil 2024 are therefore unchanged in real terms; investment lines grow by the real construction-cost
  escalation; entries at prijspeil 2025 are brought back to 2024 prices.

The phasing and index priors are sampled with their own stream ``SeedSequence(seed, spawn_key=(2**31 - 2,))``
(:data:`JAREN_SPAWN_KEY`), draw-major (all parameters of draw 1, then draw 2, ...), so a run with seed ``s``
always gets the same phasing draws, and a shorter run is a prefix of a longer one. The four priors are
independent of each other and of the model priors (a simplification: construction costs and inflation are in
reality positively correlated). A fixed value (scenario ``[fixed]``) replaces an entry's draws but does not
shift the others' streams.

Present value (``contante_waarde``). Real flows (prijspeil 2024) discounted at a real rate, by default the Dutch
standard discount rate of 2.25% (Werkgroep discontovoet 2020, in force since 1 Jan 2021: risk-free -1% plus
risk premium 3.25%), with sensitivities at 1.6% (the rate for fixed, sunk costs) and 3% (the 2015 standard).
Convention: **payments at the end of each year, discounted to 1 January 2025**: the flow of year ``t`` is
multiplied by ``(1 + r)^-(t - 2024)`` (2025 by ``1/(1 + r)``). A flat 1 a year for 11 years is then the
ordinary annuity ``(1 - (1 + r)^-11) / r`` (9.649 at 2.25%). ``midjaar=True`` moves every payment to mid-year
(exponent ``t - 2024.5``), i.e. multiplies the present value by ``(1 + r)^0.5``.

The report's per-year row (Table 1.2, ``per_jaar`` = total / 11) is the flat profile at zero index rates:
:func:`verdeel` with ``vlak=True`` and both rates 0 (see ``tests/test_jaren.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import xarray as xr

from model.deelopgaven.registry import DEELOPGAVEN, GROEP_TITELS, KOLOMMEN
from model.errors import PriorError
from model.spec.jaren import JAREN as _JAREN
from model.spec.jaren import (BOUWKOSTEN, GEVOELIGHEID, INFLATIE, MIDDEN, MODEL_PRIJSPEIL, PARAMETERS,  # noqa: F401
                              STANDAARD_DISCONTOVOET, STEILHEID, JaarInstellingen, load_jaren_priors)
from model.engine.run import transform
from model.spec.priors import PriorSet, fit_entry

JAREN = np.array(_JAREN)                      # 2025 t/m 2035
JAREN_SPAWN_KEY = 2**31 - 2
GROEPEN = tuple(GROEP_TITELS)                # the goals (registry order) and "totaal"
KWANTIELEN = (0.05, 0.25, 0.5, 0.75, 0.95)


# ------------------------------------------------------------------------------------------ sampling
def sample_jaren(priors: PriorSet, seed: int, draws: int,
                 overrides: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draws of the year parameters from the stream ``SeedSequence(seed, spawn_key=(JAREN_SPAWN_KEY,))``.

    Standard normals are drawn for every parameter (fixed or not, draw-major) and mapped through each
    marginal; fixed entries and ``overrides`` give constant arrays.
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(PARAMETERS)
    if unknown:
        raise PriorError(f"jaren: overrides: unknown year parameter(s) {sorted(unknown)}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(JAREN_SPAWN_KEY,))))
    z = rng.standard_normal((draws, len(PARAMETERS)))
    out = {}
    for i, name in enumerate(PARAMETERS):
        entry = priors[name]
        if name in overrides:
            out[name] = np.full(draws, float(overrides[name]))
        elif entry.fixed:
            out[name] = np.full(draws, entry.point)
        else:
            out[name] = transform(np.ascontiguousarray(z[:, i])[None, :], [fit_entry(entry)[0]])[0]
    return out


def point_jaren(priors: PriorSet, overrides: Mapping[str, float] | None = None, draws: int = 1) -> dict:
    """The year parameters at their point values (``draws`` copies), for report-style calculations."""
    vals = {name: priors[name].point for name in PARAMETERS}
    vals.update(overrides or {})
    return {name: np.full(draws, float(v)) for name, v in vals.items()}


# ------------------------------------------------------------------------------------------ phasing
def is_investering(d) -> bool:
    """Investment lines (S-curve, construction-cost index): kolom investeringsopgave and the one-off OV costs."""
    return d.kolom == "investeringsopgave" or d.naam == "ov_eenmalig"


def prijspeilen(priors: PriorSet) -> dict[str, int]:
    """The prijspeil of each deelopgave's total: the latest prijspeil of its own money entries or, without
    any, of the deelopgaven whose lines it uses (e.g. capaciteit uses the stichtingskosten of bereikbaarheid)."""
    made_by: dict[str, str] = {}
    out: dict[str, int] = {}
    for d in DEELOPGAVEN:
        years = [priors[n].prijspeil for n in d.inputs if n in priors and priors[n].prijspeil is not None]
        if not years:
            years = [out[made_by[n]] for n in d.inputs if n in made_by and made_by[n] in out]
        if years:
            out[d.naam] = max(years)
        elif d.kolom is not None:
            out[d.naam] = MODEL_PRIJSPEIL
        for line in d.lines:
            made_by[line.naam] = d.naam
    return out


@dataclass(frozen=True)
class Fasering:
    """How one deelopgave is spread over the years and indexed."""

    deelopgave: str
    doel: str
    kolom: str
    pm: bool
    profiel: str      # s_curve | vlak
    index: str        # bouwkosten | inflatie
    prijspeil: int


def faseringen(priors: PriorSet) -> tuple[Fasering, ...]:
    """One :class:`Fasering` per deelopgave with a Table 1.2 column, in registry order (= engine order)."""
    pp = prijspeilen(priors)
    return tuple(
        Fasering(deelopgave=d.naam, doel=d.doel, kolom=d.kolom, pm=d.pm,
                 profiel="s_curve" if is_investering(d) else "vlak",
                 index="bouwkosten" if is_investering(d) else "inflatie", prijspeil=pp[d.naam])
        for d in DEELOPGAVEN if d.kolom is not None
    )


def vlak_profiel(draws: int, jaren: Sequence[int] = JAREN) -> np.ndarray:
    """Flat profile (draws, years): 1/n a year."""
    n = len(jaren)
    return np.full((draws, n), 1.0 / n)


def s_curve(midden, steilheid, jaren: Sequence[int] = JAREN) -> np.ndarray:
    """Logistic S-curve shares (draws, years), each row summing to 1 over the period.

    Year ``t`` gets ``F(t + 1) - F(t)`` with ``F(x) = 1 / (1 + exp(-k (x - midden)))``, renormalised by
    ``F(end) - F(start)``; ``k -> 0`` tends to the flat profile, which is used for ``k * n < 1e-9``.
    """
    from scipy.special import expit

    jaren = np.asarray(jaren, dtype=float)
    mid = np.atleast_1d(np.asarray(midden, dtype=float))[:, None]
    k = np.atleast_1d(np.asarray(steilheid, dtype=float))[:, None]
    edges = np.append(jaren, jaren[-1] + 1.0)[None, :]
    F = expit(k * (edges - mid))
    w = np.diff(F, axis=1)
    total = F[:, -1:] - F[:, :1]
    tiny = (np.abs(k) * len(jaren) < 1e-9)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = w / total
    shares[tiny] = 1.0 / len(jaren)
    return shares


def verdeel(totalen: np.ndarray, fas: Sequence[Fasering], params: Mapping[str, np.ndarray], *, vlak: bool = False,
            jaren: Sequence[int] = JAREN, prijspeil: int = MODEL_PRIJSPEIL) -> tuple[np.ndarray, np.ndarray]:
    """Spread totals over the years: returns ``(nominaal, reeel)``, each (deelopgave, draw, jaar) in EUR.

    ``totalen`` is (deelopgave, draw) at each deelopgave's own prijspeil, rows in the order of ``fas``;
    ``params`` holds (draw,) arrays of :data:`PARAMETERS`. ``vlak=True`` uses the flat profile for every line.
    """
    totalen = np.asarray(totalen, dtype=float)
    n, m = totalen.shape
    if n != len(fas):
        raise ValueError(f"{n} rows of totals for {len(fas)} faseringen")
    t = np.asarray(jaren, dtype=float)[None, :]
    flat = vlak_profiel(m, jaren)
    scurve = flat if vlak else s_curve(params[MIDDEN], params[STEILHEID], jaren)
    g = np.asarray(params[BOUWKOSTEN], dtype=float)[:, None]
    pi = np.asarray(params[INFLATIE], dtype=float)[:, None]
    deflator = (1.0 + pi) ** (t - prijspeil)
    nominaal = np.empty((n, m, len(t[0])))
    reeel = np.empty_like(nominaal)
    for i, f in enumerate(fas):
        profiel = scurve if f.profiel == "s_curve" else flat
        rate = g if f.index == "bouwkosten" else pi
        nominaal[i] = totalen[i][:, None] * profiel * (1.0 + rate) ** (t - f.prijspeil)
        reeel[i] = nominaal[i] / deflator
    return nominaal, reeel


# ------------------------------------------------------------------------------------ present value
def discount_factors(rate: float, jaren: Sequence[int] = JAREN, *, midjaar: bool = False,
                     basisjaar: int = 2025) -> np.ndarray:
    """Discount factors of the years: ``(1 + rate)^-(t - basisjaar + 1)`` (year end) or ``+ 0.5`` (mid-year)."""
    t = np.asarray(jaren, dtype=float)
    return (1.0 + rate) ** -(t - basisjaar + (0.5 if midjaar else 1.0))


def contante_waarde(flows: np.ndarray, rate: float, jaren: Sequence[int] = JAREN, *,
                    midjaar: bool = False) -> np.ndarray:
    """Present value per 1 Jan 2025 of flows (..., jaar) at ``rate`` (real flows, real rate)."""
    return np.asarray(flows, dtype=float) @ discount_factors(rate, jaren, midjaar=midjaar)


# ------------------------------------------------------------------------------------------ dataset
def jaren_dataset(result, *, seed: int | None = None, priors: PriorSet | None = None,
                  overrides: Mapping[str, float] | None = None, instellingen: JaarInstellingen | None = None,
                  vlak: bool = False, params: Mapping[str, np.ndarray] | None = None) -> xr.Dataset:
    """The year model on a Monte Carlo run (``RunResult`` with kept outputs).

    Returns a Dataset with ``nominaal`` and ``reeel`` (deelopgave, draw, jaar), ``contante_waarde``
    (deelopgave, discontovoet, draw) and the year parameters per draw. ``seed`` defaults to the run's seed;
    ``priors`` to ``scenarios/jaren.yaml``; ``params`` replaces the sampled year parameters altogether.
    """
    if not result.has_draws:
        raise ValueError("the year model needs the run's draws: run the engine with keep=True")
    seed = result.seed if seed is None else seed
    instellingen = instellingen or JaarInstellingen()
    fas = faseringen(result.plan.priors)
    names = [o.naam for o in result.plan.outputs]
    totalen = np.vstack([result.draws_of(names.index(f.deelopgave)) for f in fas])
    m = totalen.shape[1]
    if params is None:
        priors = priors if priors is not None else load_jaren_priors()
        params = sample_jaren(priors, seed, m, overrides)
    nominaal, reeel = verdeel(totalen, fas, params, vlak=vlak)
    for name, values in (("nominaal", nominaal), ("reeel", reeel)):
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:     # never a number that is not one: the sums per goal would carry it on silently
            raise PriorError(f"jaren: the year amounts ({name}) are not finite for {fas[bad[0][0]].deelopgave}, "
                             f"draw {bad[0][1]} (check the year parameters of scenarios/jaren.yaml and its overrides)")
    rates = instellingen.rates
    cw = np.stack([contante_waarde(reeel, r, midjaar=instellingen.midjaar) for r in rates], axis=1)
    ds = xr.Dataset(
        {
            "nominaal": (("deelopgave", "draw", "jaar"), nominaal,
                         {"units": "EUR", "long_name": "Uitgaven per jaar, lopende prijzen"}),
            "reeel": (("deelopgave", "draw", "jaar"), reeel,
                      {"units": "EUR", "long_name": f"Uitgaven per jaar, prijspeil {MODEL_PRIJSPEIL}"}),
            "contante_waarde": (("deelopgave", "discontovoet", "draw"), cw,
                                {"units": "EUR", "long_name": f"Contante waarde per 1-1-2025, prijspeil "
                                                              f"{MODEL_PRIJSPEIL}"}),
            **{name: (("draw",), np.asarray(params[name], dtype=float)) for name in PARAMETERS},
        },
        coords={
            "deelopgave": [f.deelopgave for f in fas],
            "doel": ("deelopgave", [f.doel for f in fas]),
            "kolom": ("deelopgave", [f.kolom for f in fas]),
            "pm": ("deelopgave", [f.pm for f in fas]),
            "profiel": ("deelopgave", [f.profiel for f in fas]),
            "index": ("deelopgave", [f.index for f in fas]),
            "prijspeil": ("deelopgave", [f.prijspeil for f in fas]),
            "draw": np.arange(m),
            "jaar": JAREN,
            "discontovoet": list(rates),
        },
        attrs={"seed": int(seed), "jaren_spawn_key": JAREN_SPAWN_KEY, "model_prijspeil": MODEL_PRIJSPEIL,
               "discontovoet_standaard": float(instellingen.discontovoet), "midjaar": int(instellingen.midjaar),
               "conventie": "payments at year end (mid-year if midjaar), discounted to 1 Jan 2025",
               "vlak": int(vlak)},
    )
    return ds


def groepen(ds: xr.Dataset, prijzen: str = "reeel", per: str = "doel") -> xr.DataArray:
    """Per-year amounts (groep, draw, jaar) by goal (``per='doel'``) or column (``'kolom'``) plus ``totaal``;
    PM deelopgaven are left out, as in the report's totals. Each group is the sum of its deelopgaven in their
    order (numpy, without xarray's NaN-skipping sum: a year amount is never NaN, and that sum took 0.8 s a call at
    200,000 draws)."""
    keys = list(GROEPEN[:-1]) if per == "doel" else list(KOLOMMEN)
    values = ds[prijzen].transpose("deelopgave", "draw", "jaar").values
    counted = ~ds["pm"].values.astype(bool)
    labels = ds[per].values
    parts = [_sum_of(values, counted & (labels == k)) for k in keys] + [_sum_of(values, counted)]
    return xr.DataArray(np.stack(parts), dims=("groep", "draw", "jaar"),
                        coords={"groep": keys + ["totaal"], "draw": ds["draw"].values, "jaar": ds["jaar"].values},
                        attrs=dict(ds[prijzen].attrs))


def _sum_of(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The sum over the first axis of the rows ``mask`` selects, added in their order (zeros when it selects
    none); no copy of the selected rows."""
    out = np.zeros(values.shape[1:])
    for i in np.flatnonzero(mask):
        out += values[i]
    return out


def per_jaar_intervallen(ds: xr.Dataset, prijzen: str = "reeel", kwantielen: Sequence[float] = KWANTIELEN,
                         per: str = "doel") -> xr.DataArray:
    """Quantiles of the per-year amounts: (groep, jaar, kwantiel), EUR."""
    g = groepen(ds, prijzen, per)
    q = np.quantile(g.values, list(kwantielen), axis=1)  # (kwantiel, groep, jaar)
    return xr.DataArray(np.moveaxis(q, 0, -1), dims=("groep", "jaar", "kwantiel"),
                        coords={"groep": g["groep"].values, "jaar": g["jaar"].values, "kwantiel": list(kwantielen)},
                        attrs=dict(g.attrs))


def contante_waarde_totaal(ds: xr.Dataset) -> xr.DataArray:
    """Present value of the total without PM items: (discontovoet, draw), EUR."""
    cw = ds["contante_waarde"].transpose("deelopgave", "discontovoet", "draw")
    return xr.DataArray(_sum_of(cw.values, ~ds["pm"].values.astype(bool)), dims=("discontovoet", "draw"),
                        coords={"discontovoet": ds["discontovoet"].values, "draw": ds["draw"].values},
                        attrs=dict(cw.attrs))


def contante_waarde_tabel(ds: xr.Dataset, kwantielen: Sequence[float] = (0.05, 0.5, 0.95)) -> xr.DataArray:
    """Quantiles and mean of the total present value per discount rate: (discontovoet, statistiek), EUR."""
    cw = contante_waarde_totaal(ds).values
    stats = np.column_stack([cw.mean(axis=1)] + [np.quantile(cw, q, axis=1) for q in kwantielen])
    return xr.DataArray(stats, dims=("discontovoet", "statistiek"),
                        coords={"discontovoet": ds["discontovoet"].values,
                                "statistiek": ["mean"] + [f"p{round(100 * q)}" for q in kwantielen]})


def annuiteit(rate: float, n: int = len(JAREN)) -> float:
    """Present value of 1 a year for ``n`` years, paid at year end: ``(1 - (1 + r)^-n) / r``."""
    return n if rate == 0 else (1.0 - (1.0 + rate) ** -n) / rate


__all__ = [
    "JAREN", "MODEL_PRIJSPEIL", "STANDAARD_DISCONTOVOET", "GEVOELIGHEID", "JAREN_SPAWN_KEY", "PARAMETERS",
    "JaarInstellingen", "Fasering", "load_jaren_priors", "sample_jaren", "point_jaren", "faseringen",
    "prijspeilen", "s_curve", "vlak_profiel", "verdeel", "discount_factors", "contante_waarde", "jaren_dataset",
    "groepen", "per_jaar_intervallen", "contante_waarde_totaal", "contante_waarde_tabel", "annuiteit",
]
