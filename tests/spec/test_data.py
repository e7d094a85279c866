"""Municipality data: the reconstructed NPVR membership and its CBS KWB 2024 figures (docs/sources.md §1)."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from model.spec.data import DATA_DIR, MEMBERSHIP_FILE, REGIOS, load_gebieden
from model.errors import PriorError

# docs/sources.md §1: region -> (number of gemeenten, inhabitants 1-1-2024, dwellings 1-1-2024), CBS KWB 2024
PER_REGIO = {
    "Kop van Noord-Holland": (4, 167_513, 78_764),
    "Noord- en Oost-Groningen": (8, 292_683, 140_499),
    "Zuidoost-Friesland": (5, 190_818, 87_500),
    "Noard-Fryslân": (4, 125_822, 55_962),
    "Zuid- en Oost-Drenthe": (4, 227_676, 103_857),
    "Twente": (14, 640_806, 288_025),
    "Achterhoek": (8, 302_458, 136_681),
    "Noord-Limburg": (8, 290_392, 129_884),
    "Midden-Limburg": (7, 242_573, 113_438),
    "Zuid-Limburg": (16, 600_290, 305_291),
    "Zeeuws-Vlaanderen": (3, 105_612, 55_440),
}
HARLINGEN = ("GM0072", 16_229, 8_113)
WAADHOEKE = ("GM1949", 46_911, 21_493)


@pytest.fixture(scope="module")
def gebieden():
    return load_gebieden()


def test_default_membership_81_gemeenten_in_11_regions(gebieden):
    assert len(gebieden.gm_code) == 81
    assert len(set(gebieden.gm_code)) == 81
    assert set(gebieden.regio) == set(REGIOS)
    assert len(REGIOS) == 11


def test_default_membership_sums(gebieden):
    assert gebieden.inwoners.sum() == 3_186_643
    assert gebieden.woningen.sum() == 1_495_341
    q = gebieden.quantities()
    assert q["inwoners_2024"] == 3_186_643
    assert q["woningen_2024"] == 1_495_341


@pytest.mark.parametrize("regio", list(PER_REGIO))
def test_per_regio(gebieden, regio):
    n, inwoners, woningen = PER_REGIO[regio]
    mask = np.array(gebieden.regio) == regio
    assert mask.sum() == n
    assert gebieden.inwoners[mask].sum() == inwoners
    assert gebieden.woningen[mask].sum() == woningen
    i = REGIOS.index(regio)
    assert gebieden.per_regio(gebieden.inwoners)[i] == inwoners


def test_membership_figures_equal_cbs_kwb_2024():
    """Every member's inhabitants and dwellings are copied unchanged from the CBS KWB 2024 file."""
    with (DATA_DIR / "cbs_kwb2024_gemeenten.csv").open(encoding="utf-8", newline="") as fh:
        kwb = {r["gm_code"]: r for r in csv.DictReader(fh)}
    assert len(kwb) == 342
    with (DATA_DIR / MEMBERSHIP_FILE).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            ref = kwb[row["gm_code"]]
            assert row["inwoners_1jan2024"] == ref["inwoners_1jan2024"], row["gm_code"]
            assert row["woningvoorraad_1jan2024"] == ref["woningvoorraad_1jan2024"], row["gm_code"]


def test_adding_harlingen_and_waadhoeke_gives_83(gebieden):
    plus = load_gebieden(extra=(HARLINGEN[0], WAADHOEKE[0]))
    assert len(plus.gm_code) == 83
    assert {HARLINGEN[0], WAADHOEKE[0]} <= set(plus.gm_code)
    assert plus.inwoners.sum() == gebieden.inwoners.sum() + HARLINGEN[1] + WAADHOEKE[1]
    assert plus.woningen.sum() == gebieden.woningen.sum() + HARLINGEN[2] + WAADHOEKE[2]
    assert set(np.array(plus.regio)[np.isin(plus.gm_code, [HARLINGEN[0], WAADHOEKE[0]])]) == {"Noard-Fryslân"}


def test_unknown_extra_code_is_refused():
    with pytest.raises(PriorError) as exc:
        load_gebieden(extra=("GM9999",))
    assert MEMBERSHIP_FILE in str(exc.value) and "GM9999" in str(exc.value)


def test_corrupt_inhabitants_names_file_and_line(tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / MEMBERSHIP_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # line 3 of the file (the second data row): Hollands Kroon, a default member
    assert lines[2].startswith("Kop van Noord-Holland,GM1911,Hollands Kroon,high,49522,")
    lines[2] = lines[2].replace(",49522,", ",4952x,", 1)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PriorError) as exc:
        load_gebieden(data_dir=data_dir)
    msg = str(exc.value)
    assert MEMBERSHIP_FILE in msg, msg
    assert "line 3" in msg, msg
    assert "inwoners_1jan2024" in msg, msg
