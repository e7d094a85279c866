"""The labelled results of a run, written to ``dataset.nc`` (netCDF4, written with h5netcdf; read with xarray or
ArviZ, no project code needed).

Root group (``xarray.open_dataset(path)``): the summaries, ``samenvatting`` (uitkomst, statistiek), in euros, with
every dimension named and labelled. Group ``regionaal``: every deelopgave per region and per gemeente
(``regio_bedrag``: variant, maatstaf, deelopgave, regio, statistiek; ``gemeente_bedrag`` likewise; ``regio_kolom``
the column totals; ``kans_eerste``), absolute and per inhabitant and per dwelling.

Group ``prior`` (``xarray.open_dataset(path, group="prior")``, or ``arviz.from_netcdf(path).prior``): the draws,
one copy, laid out as ArviZ expects (``chain`` × ``draw`` first). A Monte Carlo run draws independently, so its
chains are consecutive stretches of the run: draw ``j`` of chain ``c`` is draw ``c·N/C + j`` of the run, with ``C``
= 4 chains (2, or 1, when the number of draws ``N`` is not divisible by 4). Which draws are stored is the run's
``store`` setting:

- ``compact`` (default): the aggregates a reviewer works with -- the Table 1.2 columns, the PM total, goals, payers,
  cost types and deelopgaven (``opgave``: chain, draw, uitkomst) -- in single precision: half the size of double
  precision, 7 significant digits (a relative rounding of at most 6e-8: about 60 euros on a billion); every
  statistic in the root group is computed from the double-precision draws. (General-purpose compression shrinks
  random draws by only 10-20% and costs more time than a warm run takes; it is not applied.)
- ``full``: every output (lines too) and every sampled prior entry (``invoer_<entry>``), in double
  precision, gzip-compressed;
- ``none``: no draws, the summaries only.

``az.summary`` on the group reports ArviZ's own interval, the HDI of ``arviz.rcParams["stats.hdi_prob"]`` (0.94 by
default), beside the tool's 90% HDI in ``samenvatting``; for independent draws its ESS is close to the number of
draws and its R-hat close to 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.analysis.summary import STATISTICS
from model.spec.data import REGIOS

STORE = ("compact", "full", "none")
#: The outputs whose draws a compact run folder stores.
COMPACT_SOORTEN = ("kolom", "totaal", "doel", "betaler", "kostensoort", "deelopgave")
_GZIP = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


def chains_of(draws: int) -> int:
    """The number of chains the draws of a run are stored as (4, 2 or 1: the largest that divides them)."""
    return next(c for c in (4, 2, 1) if draws % c == 0)


def _strings(values) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def _coordinate(group, name: str, values, long_name: str, units: str | None = None) -> None:
    import h5py

    values = list(values)
    is_text = bool(values) and isinstance(values[0], str)
    data = _strings(values) if is_text else np.asarray(values)
    var = group.create_variable(name, (name,), data=data, dtype=h5py.string_dtype() if is_text else None)
    var.attrs["long_name"] = long_name
    if units is not None:
        var.attrs["units"] = units


def _attrs(obj, attrs: dict) -> None:
    for k, v in attrs.items():
        if isinstance(v, (str, int, float, np.integer, np.floating)) and not isinstance(v, bool):
            obj.attrs[k] = v


def write_dataset(path: Path, result, rows: list[dict], *, store: str = "compact", attrs: dict | None = None,
                  jaren=None, variants=(), regionaal=None) -> Path:
    """Write ``dataset.nc``: the summaries in the root group, the stored draws in the group ``prior`` and, with
    ``jaren`` (the year model's dataset), the group ``jaren``. ``variants`` (``(naam, titel, keuzes, result, rows)``
    of every policy variant the run evaluated, the main one first) gives the group ``varianten``: every variant's
    summaries (dims ``variant``, ``uitkomst``, ``statistiek``), the values of the choices and, when draws are
    stored, the draws of the aggregates of the other variants (dims ``andere_variant``, ``draw``, ``aggregaat``;
    the main variant's are in the group ``prior``; common random numbers: draw j is the same draw of every
    uncertain entry in each variant). :func:`variant_draws` reads them back, all variants together.
    ``regionaal`` (variant -> ``model.analysis.regionaal.Regionaal``) gives the group ``regionaal``.

    The file is built in memory and then written with one ordinary write: an error of the disk (a full disk,
    ENOSPC) is then an ``OSError`` naming the file, never an error inside the HDF5 library (which, after a failed
    write, can crash the process when it closes its files)."""
    import io

    import h5netcdf
    import h5py

    if store not in STORE:
        raise ValueError(f"store must be one of {STORE}, got {store!r}")
    plan = result.plan
    attrs = {"title": "NPVR Monte Carlo run", "seed": int(result.seed), "draws": int(result.draws),
             "chunk_size": int(plan.chunk_size), "store": store, "eenheid": "EUR", **(attrs or {})}
    text = h5py.string_dtype()
    buffer = io.BytesIO()
    with h5netcdf.File(buffer, "w") as f:
        _attrs(f, attrs)
        f.dimensions = {"uitkomst": len(plan.outputs), "statistiek": len(STATISTICS)}
        _coordinate(f, "uitkomst", [o.naam for o in plan.outputs],
                    "Uitkomst (deelopgave, doel, kolom van Tabel 1.2, betaler, kostensoort, lijn, regio)")
        _coordinate(f, "statistiek", STATISTICS, "Statistiek")
        for name, values, long_name in (("soort", [o.soort for o in plan.outputs], "Soort uitkomst"),
                                        ("omschrijving", [o.long_name for o in plan.outputs], "Omschrijving")):
            var = f.create_variable(name, ("uitkomst",), data=_strings(values), dtype=text)
            var.attrs["long_name"] = long_name
        var = f.create_variable("pm", ("uitkomst",), data=np.array([o.pm for o in plan.outputs], dtype=np.int8))
        var.attrs["long_name"] = "PM-post (buiten de totalen van het rapport): 1"
        var = f.create_variable("samenvatting", ("uitkomst", "statistiek"),
                                data=np.array([[r[s] for s in STATISTICS] for r in rows[:len(plan.outputs)]]))
        var.attrs.update({"units": "EUR (cv: 1)", "long_name": "Samenvatting per uitkomst, 2025-2035",
                          "coordinates": "soort omschrijving pm"})
        if store != "none" and result.has_draws:
            _write_draws(f, result, store)
        if jaren is not None:
            _write_jaren(f, jaren)
        if variants:
            _write_variants(f, variants, store)
        if regionaal:
            _write_regionaal(f, regionaal)
    return _write_file(path, buffer)


def _write_regionaal(f, regionaal) -> None:
    """The group ``regionaal``: every deelopgave per region and per gemeente (``model.analysis.regionaal``), per
    variant, absolute and per inhabitant and per dwelling, and the probability that each region ranks first."""
    import h5py

    from model.analysis.regionaal import MAATSTAVEN, STATS

    regs = list(regionaal.values())
    first = regs[0]
    g = f.create_group("regionaal")
    g.attrs.update({"long_name": "Regionale verdeling per deelopgave (priors/verdeling/verdeelsleutels.yaml)",
                    "trekkingen": int(first.n), "bron_inwoners_woningen": "CBS KWB 2025 (1 jan 2025)"})
    g.dimensions = {"variant": len(regs), "deelopgave": len(first.deelopgaven), "regio": len(REGIOS),
                    "gemeente": len(first.gm_code), "statistiek": len(STATS), "maatstaf": len(MAATSTAVEN),
                    "kolom": len(first.kolommen)}
    _coordinate(g, "variant", [r.variant for r in regs], "Beleidsvariant (de hoofdvariant eerst)")
    _coordinate(g, "deelopgave", first.deelopgaven, "Deelopgave")
    _coordinate(g, "regio", REGIOS, "NPVR-regio")
    _coordinate(g, "gemeente", first.gm_code, "Gemeente (CBS-code)")
    _coordinate(g, "statistiek", STATS, "Statistiek over de trekkingen van de verdeling")
    _coordinate(g, "maatstaf", list(MAATSTAVEN), "Absoluut (EUR), per inwoner of per woning (EUR per eenheid)")
    _coordinate(g, "kolom", first.kolommen, "Kolom van Tabel 1.2 (totaal: alle kolommen), zonder PM")
    text = h5py.string_dtype()
    for name, values, long_name in (("gemeentenaam", first.gemeente, "Naam van de gemeente"),
                                    ("gemeente_regio", first.regio_van, "NPVR-regio van de gemeente")):
        var = g.create_variable(name, ("gemeente",), data=_strings(values), dtype=text)
        var.attrs["long_name"] = long_name
    for name, values, dim, long_name, unit in (
            ("inwoners_gemeente", first.inwoners, "gemeente", "Inwoners (KWB 2025)", "inwoners"),
            ("woningen_gemeente", first.woningen, "gemeente", "Woningen (KWB 2025)", "woningen"),
            ("inwoners_regio", first.per_regio(first.inwoners), "regio", "Inwoners (KWB 2025)", "inwoners"),
            ("woningen_regio", first.per_regio(first.woningen), "regio", "Woningen (KWB 2025)", "woningen")):
        var = g.create_variable(name, (dim,), data=np.asarray(values, dtype=float))
        var.attrs.update({"long_name": long_name, "units": unit})
    pm = g.create_variable("pm", ("deelopgave",), data=np.array(first.pm, dtype=np.int8))
    pm.attrs["long_name"] = "PM-post (buiten de totalen van het rapport): 1"
    for niveau in ("regio", "gemeente"):
        data = np.stack([np.stack([getattr(r, f"{niveau}_stats") / r.divisor(m, niveau)[None, :, None]
                                   for m in MAATSTAVEN]) for r in regs])
        var = g.create_variable(f"{niveau}_bedrag", ("variant", "maatstaf", "deelopgave", niveau, "statistiek"),
                                data=data)
        var.attrs.update({"units": "EUR (maatstaf per_inwoner, per_woning: EUR per inwoner, per woning)",
                          "long_name": f"Deelopgave per {niveau}, 2025-2035, prijspeil 2024"})
    data = np.stack([np.stack([r.kolom_stats / r.divisor(m, "regio")[None, :, None] for m in MAATSTAVEN])
                     for r in regs])
    var = g.create_variable("regio_kolom", ("variant", "maatstaf", "kolom", "regio", "statistiek"), data=data)
    var.attrs.update({"units": "EUR (maatstaf per_inwoner, per_woning: EUR per eenheid)",
                      "long_name": "Kolomtotalen van Tabel 1.2 per regio (zonder PM)"})
    data = np.stack([np.stack([r.gemeente_totaal_stats / r.divisor(m, "gemeente")[:, None] for m in MAATSTAVEN])
                     for r in regs])
    var = g.create_variable("gemeente_totaal", ("variant", "maatstaf", "gemeente", "statistiek"), data=data)
    var.attrs.update({"units": "EUR (maatstaf per_inwoner, per_woning: EUR per eenheid)",
                      "long_name": "Totaal per gemeente, 2025-2035, prijspeil 2024 (zonder PM)"})
    for name, attr, long_name in (("kans_eerste", "kans_eerste", "Kans dat de regio het hoogste bedrag heeft"),
                                  ("kans_eerste_per_inwoner", "kans_eerste_per_inwoner",
                                   "Kans dat de regio het hoogste bedrag per inwoner heeft")):
        var = g.create_variable(name, ("variant", "deelopgave", "regio"),
                                data=np.stack([getattr(r, attr) for r in regs]))
        var.attrs.update({"units": "1", "long_name": long_name})


def _write_variants(f, variants, store: str) -> None:
    import h5py

    text = h5py.string_dtype()
    plan = variants[0][3].plan
    g = f.create_group("varianten")
    g.attrs["long_name"] = "Beleidsvarianten (scenarios/varianten.toml): keuzes, geen onzekerheid"
    g.dimensions = {"variant": len(variants), "uitkomst": len(plan.outputs), "statistiek": len(STATISTICS)}
    _coordinate(g, "variant", [v[0] for v in variants], "Beleidsvariant (de hoofdvariant eerst)")
    _coordinate(g, "uitkomst", [o.naam for o in plan.outputs], "Uitkomst")
    _coordinate(g, "statistiek", STATISTICS, "Statistiek")
    var = g.create_variable("titel", ("variant",), data=_strings([v[1] for v in variants]), dtype=text)
    var.attrs["long_name"] = "Titel van de variant"
    for entry in variants[0][2]:
        e = plan.priors[entry]
        var = g.create_variable(f"keuze_{entry}", ("variant",), data=np.array([v[2][entry] for v in variants]))
        var.attrs.update({"units": e.unit, "long_name": e.description})
    n = len(plan.outputs)
    var = g.create_variable("samenvatting", ("variant", "uitkomst", "statistiek"),
                            data=np.array([[[r[s] for s in STATISTICS] for r in v[4][:n]] for v in variants]))
    var.attrs.update({"units": "EUR (cv: 1)", "long_name": "Samenvatting per variant en uitkomst, 2025-2035"})
    for field, units, long_name in (("rapport", "EUR", "Het cijfer van het rapport voor deze variant"),
                                    ("p_rapport", "1", "Aandeel trekkingen op of onder het cijfer van het rapport")):
        data = np.array([[np.nan if r[field] is None else r[field] for r in v[4][:n]] for v in variants])
        var = g.create_variable(field, ("variant", "uitkomst"), data=data)
        var.attrs.update({"units": units, "long_name": long_name})
    results = [v[3] for v in variants[1:]]
    if store != "none" and results and all(r.has_draws for r in results):
        chosen = [o for o, out in enumerate(plan.outputs) if out.soort in COMPACT_SOORTEN]
        draws = results[0].draws
        g.dimensions.update({"andere_variant": len(results), "draw": draws, "aggregaat": len(chosen)})
        _coordinate(g, "andere_variant", [v[0] for v in variants[1:]], "Beleidsvariant naast de hoofdvariant")
        _coordinate(g, "draw", range(draws), "Trekking van de run (dezelfde trekking van elke onzekere invoer in elke "
                                             "variant)")
        _coordinate(g, "aggregaat", [plan.outputs[o].naam for o in chosen], "Uitkomst (aggregaten)")
        dtype = np.float64 if store == "full" else np.float32
        data = np.empty((len(results), draws, len(chosen)), dtype=dtype)
        for i, res in enumerate(results):
            for k, o in enumerate(chosen):
                data[i, :, k] = res.draws_of(o)
        var = g.create_variable("opgave", ("andere_variant", "draw", "aggregaat"), data=data,
                                chunks=(1, min(draws, 1 << 16), len(chosen)))
        var.attrs.update({"units": "EUR", "long_name": "Financiële opgave 2025-2035 per variant en trekking "
                                                       "(de hoofdvariant: groep prior)"})


def variant_draws(path: Path):
    """The draws of the aggregates of every variant of a run's ``dataset.nc``, the main one first: a DataArray
    (``variant``, ``draw``, ``aggregaat``) in euros, draw j being draw j of the run in each variant."""
    import xarray as xr

    with xr.open_dataset(path, group="prior", engine="h5netcdf") as ds:          # chains: run order
        main = ds["opgave"].stack(trekking=("chain", "draw")).load()
    with xr.open_dataset(path, group="varianten", engine="h5netcdf") as ds:
        names = [str(v) for v in ds["variant"].values]
        others = ds["opgave"].load() if "opgave" in ds else None
    aggregaten = others["aggregaat"].values if others is not None else main["uitkomst"].values
    first = main.sel(uitkomst=aggregaten).transpose("uitkomst", "trekking").values.T
    parts = [first] + ([others.values[i] for i in range(others.sizes["andere_variant"])] if others is not None else [])
    return xr.DataArray(np.stack(parts), dims=("variant", "draw", "aggregaat"),
                        coords={"variant": names, "aggregaat": aggregaten}, attrs={"units": "EUR"})


def _write_file(path: Path, buffer) -> Path:
    """The bytes of a netCDF file built in memory, written with one ordinary write (see :func:`write_dataset`)."""
    with Path(path).open("wb") as fh:
        fh.write(buffer.getbuffer())
    return Path(path)


def write_inference_data(idata, path: Path) -> Path:
    """An ArviZ ``InferenceData`` as netCDF (``arviz.from_netcdf`` reads it), built in memory first like
    ``dataset.nc``: its attributes in the root group, each group compressed (zlib) as ArviZ's own writer does."""
    import io

    import xarray as xr

    buffer = io.BytesIO()
    mode = "w"
    if idata.attrs:
        xr.Dataset(attrs=idata.attrs).to_netcdf(buffer, mode=mode, engine="h5netcdf")
        mode = "a"
    for group in idata.groups():
        data = getattr(idata, group)
        encoding = {name: {"zlib": True} for name, v in data.variables.items() if v.dtype.kind in "biufcS"}
        data.to_netcdf(buffer, mode=mode, group=group, engine="h5netcdf", encoding=encoding)
        mode = "a"
    return _write_file(path, buffer)


def _write_draws(f, result, store: str) -> None:
    plan = result.plan
    n = result.draws
    chains = chains_of(n)
    per = n // chains
    chosen = [o for o, out in enumerate(plan.outputs) if store == "full" or out.soort in COMPACT_SOORTEN]
    dtype = np.float64 if store == "full" else np.float32
    opgave = np.empty((chains, per, len(chosen)), dtype=dtype)
    for k, o in enumerate(chosen):
        opgave[:, :, k] = result.draws_of(o).reshape(chains, per)
    g = f.create_group("prior")
    _attrs(g, {"inference_library": "npvr-model", "seed": int(result.seed),
               "draw_order": "draw j of chain c is draw c * draws_per_chain + j of the run"})
    g.dimensions = {"chain": chains, "draw": per, "uitkomst": len(chosen)}
    _coordinate(g, "chain", range(chains), "Keten: een opeenvolgend deel van de onafhankelijke trekkingen")
    _coordinate(g, "draw", range(per), "Trekking binnen de keten")
    _coordinate(g, "uitkomst", [plan.outputs[o].naam for o in chosen], "Uitkomst")
    compression = _GZIP if store == "full" else {}
    var = g.create_variable("opgave", ("chain", "draw", "uitkomst"), data=opgave,
                            chunks=(1, min(per, 1 << 16), len(chosen)), **compression)
    var.attrs.update({"units": "EUR", "long_name": "Financiële opgave 2025-2035 per trekking"})
    if store == "full" and result.inputs is not None:
        for name, arr in result.inputs.items():
            entry = plan.priors[name]
            var = g.create_variable(f"invoer_{name}", ("chain", "draw"), data=arr.reshape(chains, per),
                                    chunks=(1, min(per, 1 << 16)), **compression)
            var.attrs.update({"units": entry.unit, "long_name": entry.description})


def _write_jaren(f, jds) -> None:
    """The group ``jaren`` of ``dataset.nc``: the present value of the total without PM per draw and discount
    rate (chain, draw, discontovoet; the chains of the group ``prior``) and the quantiles and mean of the amounts
    per goal and year (real and nominal prices)."""
    from model.analysis.jaren import KWANTIELEN, contante_waarde_totaal, groepen

    cw = contante_waarde_totaal(jds).values           # (discontovoet, draw)
    n = cw.shape[1]
    chains = chains_of(n)
    per = n // chains
    rates = jds["discontovoet"].values
    g = f.create_group("jaren")
    reeel = groepen(jds, "reeel")
    g.dimensions = {"chain": chains, "draw": per, "discontovoet": len(rates), "groep": reeel.sizes["groep"],
                    "jaar": reeel.sizes["jaar"], "kwantiel": len(KWANTIELEN)}
    _coordinate(g, "chain", range(chains), "Keten: een opeenvolgend deel van de onafhankelijke trekkingen")
    _coordinate(g, "draw", range(per), "Trekking binnen de keten")
    _coordinate(g, "discontovoet", rates.tolist(), "Discontovoet (reëel)", units="1")
    _coordinate(g, "groep", [str(v) for v in reeel["groep"].values], "Doel (of totaal)")
    _coordinate(g, "jaar", [int(v) for v in jds["jaar"].values], "Jaar")
    _coordinate(g, "kwantiel", list(KWANTIELEN), "Kwantiel", units="1")
    var = g.create_variable("contante_waarde", ("chain", "draw", "discontovoet"),
                            data=np.ascontiguousarray(cw.T.reshape(chains, per, len(rates))))
    var.attrs.update({"units": "EUR", "long_name": "Contante waarde per 1-1-2025, prijspeil 2024, zonder PM "
                                                   "(betalingen aan het eind van elk jaar)"})
    for prijzen, label in (("reeel", "prijspeil 2024"), ("nominaal", "lopende prijzen")):
        values = groepen(jds, prijzen).values      # (groep, draw, jaar)
        var = g.create_variable(f"per_jaar_{prijzen}", ("groep", "jaar", "kwantiel"),
                                data=np.moveaxis(np.quantile(values, KWANTIELEN, axis=1), 0, -1))
        var.attrs.update({"units": "EUR", "long_name": f"Uitgaven per jaar ({label}): kwantielen"})
        var = g.create_variable(f"per_jaar_{prijzen}_mean", ("groep", "jaar"), data=values.mean(axis=1))
        var.attrs.update({"units": "EUR", "long_name": f"Uitgaven per jaar ({label}): gemiddelde"})
