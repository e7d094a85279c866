"""Municipality data: the reconstructed NPVR membership and its CBS KWB 2024 figures (docs/sources.md §1)."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import PriorError
from model.spec.data import (CONFIDENCES, DATA_DIR, INDICATOREN, KWB2025_FILE, KWB_INWONERS_TOLERANCE, MEMBERSHIP_FILE,
                             LEEGSTAND_FILE, REGION_CLASS_FILE, REGIOS, WOONDEALS_FILE, _kwb2025, load_gebieden)

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


# --------------------------------------------------------------------------------------------------------------
# bad data files: a clear error naming the file and line, never a plausible total


def _data_copy(tmp_path, edit) -> Path:
    """A copy of data/ whose membership file's text went through ``edit``."""
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / MEMBERSHIP_FILE
    path.write_bytes(edit(path.read_bytes()))
    return data_dir


def _lines(edit_lines):
    def edit(raw: bytes) -> bytes:
        lines = raw.decode("utf-8").splitlines(keepends=True)
        return "".join(edit_lines(lines)).encode("utf-8")
    return edit


def _set_field(line_no: int, column: str, value: str):
    def edit(lines):
        header = lines[0].rstrip("\r\n").split(",")
        row = next(csv.reader([lines[line_no - 1]]))
        row[header.index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        lines[line_no - 1] = out.getvalue()
        return lines
    return _lines(edit)


BAD_DATA = {
    "empty file": (lambda raw: b"", "(file): empty"),
    "header only": (_lines(lambda lines: lines[:1]), "(file): no data rows"),
    "missing column": (_lines(lambda lines: [lines[0].replace("gemeente,", "naam,", 1), *lines[1:]]),
                       "(header): missing column(s) ['gemeente']"),
    "doubled column": (_lines(lambda lines: [lines[0].replace("note", "gemeente", 1), *lines[1:]]),
                       "named more than once"),
    "duplicated row": (_lines(lambda lines: [*lines, lines[2]]), "gm_code: GM1911 is also on line 3"),
    "High for high": (_set_field(3, "membership_confidence", "High"), "line 3: membership_confidence: unknown value"),
    "short row": (_lines(lambda lines: [*lines[:2], lines[2].rsplit(",", 2)[0] + "\n", *lines[3:]]),
                  "line 3: has 5 field(s), the header has 7"),
    "long row": (_lines(lambda lines: [*lines[:2], lines[2].rstrip("\r\n") + ",extra\n", *lines[3:]]),
                 "line 3: has 8 field(s), the header has 7"),
    "zero inhabitants": (_set_field(3, "inwoners_1jan2024", "0"), "line 3: inwoners_1jan2024: must be positive"),
    "negative dwellings": (_set_field(3, "woningvoorraad_1jan2024", "-5"), "woningvoorraad_1jan2024: must be positive"),
    "fraction": (_set_field(3, "inwoners_1jan2024", "4952.5"), "inwoners_1jan2024: not a whole number"),
    "bad code": (_set_field(3, "gm_code", "1911"), "gm_code: not a CBS municipality code"),
    "unknown region": (_set_field(3, "npvr_region", "Atlantis"), "npvr_region: unknown region 'Atlantis'"),
    "no name": (_set_field(3, "gemeente", " "), "line 3: gemeente: empty"),
    "not UTF-8": (lambda raw: raw.replace("Noard-Fryslân".encode(), "Noard-Fryslân".encode("latin-1")),
                  "(file): not UTF-8 text"),
    "not CSV": (lambda raw: raw + b'"unclosed,\n', "line"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_membership_data_is_refused_naming_the_file(tmp_path, case):
    edit, fragment = BAD_DATA[case]
    data_dir = _data_copy(tmp_path, edit)
    with pytest.raises(PriorError) as exc:
        load_gebieden(data_dir=data_dir)
    msg = str(exc.value)
    assert msg.startswith(f"{MEMBERSHIP_FILE}: "), msg
    assert fragment in msg, msg


def test_a_byte_order_mark_is_read_as_utf8(tmp_path, gebieden):
    data_dir = _data_copy(tmp_path, lambda raw: b"\xef\xbb\xbf" + raw)
    again = load_gebieden(data_dir=data_dir)
    assert again.gm_code == gebieden.gm_code and again.inwoners.sum() == gebieden.inwoners.sum()


def test_a_folder_where_the_file_should_be_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    (data_dir / MEMBERSHIP_FILE).unlink()
    (data_dir / MEMBERSHIP_FILE).mkdir()
    with pytest.raises(PriorError, match=f"^{MEMBERSHIP_FILE}: \\(file\\): is a folder"):
        load_gebieden(data_dir=data_dir)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"confidences": ()}, "confidences: empty"),
    ({"confidences": ("zeker",)}, "unknown confidence 'zeker'"),
    ({"exclude": ("GM9999",)}, "exclude: unknown gemeente code 'GM9999'"),
    ({"confidences": ("candidate",), "exclude": ("GM0072", "GM1949", "GM0160", "GM1680", "GM0060", "GM0088")},
     "no municipality selected"),
])
def test_a_selection_without_municipalities_is_refused(kwargs, fragment):
    with pytest.raises(PriorError, match=re.escape(fragment)):
        load_gebieden(**kwargs)


def test_excluding_every_member_is_refused(gebieden):
    with pytest.raises(PriorError, match="no municipality selected"):
        load_gebieden(exclude=gebieden.gm_code)


def test_a_duplicated_or_missing_region_class_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / REGION_CLASS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    with pytest.raises(PriorError, match=f"^{REGION_CLASS_FILE}: line {len(lines) + 1}: npvr_region: .* twice"):
        load_gebieden(data_dir=data_dir)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    with pytest.raises(PriorError, match=f"^{REGION_CLASS_FILE}: \\(file\\): regions missing"):
        load_gebieden(data_dir=data_dir)


# ---------------------------------------------------------------------------- properties of the loader
ROW_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.integers(min_value=2, max_value=88), column=st.integers(min_value=0, max_value=5), value=ROW_TEXT)
def test_any_edited_field_loads_correctly_or_is_refused_naming_file_and_line(tmp_path_factory, line, column, value):
    """Whatever one field of the membership file is changed to, the loader either refuses it with a PriorError that
    names the file and the line, or loads exactly the selection the edited file describes."""
    tmp = tmp_path_factory.mktemp("prop")
    header = ("npvr_region", "gm_code", "gemeente", "membership_confidence", "inwoners_1jan2024",
              "woningvoorraad_1jan2024")
    data_dir = _data_copy(tmp, _set_field(line, header[column], value))
    try:
        g = load_gebieden(data_dir=data_dir)
    except PriorError as exc:
        assert str(exc).startswith(f"{MEMBERSHIP_FILE}: "), str(exc)
        return
    with (data_dir / MEMBERSHIP_FILE).open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["membership_confidence"] in ("high", "likely")]
    assert g.gm_code == tuple(r["gm_code"] for r in rows)
    assert g.inwoners.sum() == sum(int(r["inwoners_1jan2024"]) for r in rows)
    assert np.all(g.inwoners > 0) and np.all(g.woningen > 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_any_bytes_as_the_membership_file_are_loaded_or_refused_never_a_crash(tmp_path_factory, raw):
    tmp = tmp_path_factory.mktemp("bytes")
    data_dir = _data_copy(tmp, lambda _: raw)
    with pytest.raises(PriorError) as exc:      # random bytes never form a valid membership file
        load_gebieden(data_dir=data_dir)
    assert str(exc.value).startswith(f"{MEMBERSHIP_FILE}: ")


# --------------------------------------------------------------------------------------------------- KWB 2025
# CBS 86165NED, Kerncijfers wijken en buurten 2025, the national row NL00 (1 Jan 2025), as CBS publishes it
NL00_2025 = {"inwoners": 18_044_027, "huishoudens": 8_430_352, "woningen": 8_274_478}


def _kwb_rows() -> list[dict]:
    with (DATA_DIR / KWB2025_FILE).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_kwb2025_national_row_and_sums_are_as_cbs_publishes_them(gebieden):
    rows = _kwb_rows()
    nl = [r for r in rows if r["code"] == "NL00"]
    assert len(nl) == 1 and {k: int(nl[0][k]) for k in NL00_2025} == NL00_2025
    national, per_gemeente = _kwb2025(DATA_DIR / KWB2025_FILE)
    assert {k: national[k] for k in NL00_2025} == NL00_2025
    assert len(per_gemeente) == 87                                   # 81 members and the 6 candidates
    for k in NL00_2025:
        assert sum(v[k] for v in per_gemeente.values()) < national[k]
    # the 81 members: the sums of the carrier (data/kwb2025_verificatie.md)
    assert gebieden.huishoudens.sum() == 1_485_690
    assert gebieden.indicatoren["inwoners"].sum() == 3_196_689
    assert gebieden.indicatoren["woningen"].sum() == 1_503_612
    assert gebieden.quantities()["huishoudens_2025"] == 1_485_690


def test_every_member_and_candidate_has_kwb2025_figures_close_to_kwb2024():
    every = load_gebieden(confidences=CONFIDENCES)
    assert len(every.gm_code) == 87
    change = every.indicatoren["inwoners"] / every.inwoners - 1
    assert np.all(np.abs(change) <= KWB_INWONERS_TOLERANCE)
    assert np.max(np.abs(change)) > 0.03          # Westerwolde (Ter Apel): +3.6%, why the tolerance is 5%
    assert np.all(every.huishoudens <= every.indicatoren["inwoners"])
    for name, values in every.indicatoren.items():
        assert values.shape == (87,) and name in INDICATOREN
        if name not in ("woondeal_per_woning", "winkelleegstand"):
            assert np.all(np.isfinite(values)), name


def test_indicators_where_a_figure_names_the_gemeente_and_nan_elsewhere(gebieden):
    i = {c: k for k, c in enumerate(gebieden.gm_code)}
    deal, vacancy = gebieden.indicatoren["woondeal_per_woning"], gebieden.indicatoren["winkelleegstand"]
    won = gebieden.indicatoren["woningen"]
    assert deal[i["GM0153"]] == pytest.approx(100 * 5040 / won[i["GM0153"]])          # Enschede, its own deal
    twente = [c for c, r in zip(gebieden.gm_code, gebieden.regio) if r == "Twente" and c != "GM0153"]
    # the rest of Twente: the region's 14,100 less Enschede's 5,040, over the other 13 gemeenten's dwellings
    expected = 100 * (14_100 - 5_040) / sum(won[i[c]] for c in twente)
    assert all(deal[i[c]] == pytest.approx(expected) for c in twente)
    assert np.isnan(deal[i["GM0400"]])                                                 # Den Helder: no agreement
    assert vacancy[i["GM0984"]] == pytest.approx(18.4 / 6.8)                           # Venray / NL Locatus
    assert vacancy[i["GM0893"]] == pytest.approx(28 / 14)                              # Bergen (L.) / NL CBS LML
    assert np.isfinite(vacancy).sum() == 7 and np.isfinite(deal).sum() == 22


def _kwb_copy(tmp_path, edit) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / KWB2025_FILE
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return data_dir


def _kwb_field(code: str, column: str, value: str):
    def edit(text: str) -> str:
        lines = text.splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        for n, line in enumerate(lines):
            row = line.rstrip("\n").split(",")
            if len(row) > 1 and row[1] == code:
                row[header.index(column)] = value
                lines[n] = ",".join(row) + "\n"
        return "".join(lines)
    return edit


BAD_KWB = {
    "no national row": (lambda t: "".join(x for x in t.splitlines(keepends=True) if ",NL00," not in x),
                        f"{KWB2025_FILE}: \\(file\\): no national row NL00"),
    "households above the national row": (_kwb_field("GM0153", "huishoudens", "9000000"),
                                          f"{KWB2025_FILE}: line \\d+: huishoudens: .* is more than"),
    "a gemeente above the nation": (_kwb_field("NL00", "huishoudens", "50000"),
                                    f"{KWB2025_FILE}: line \\d+: huishoudens: GM\\d{{4}} has .* not less than"),
    "percentage above 100": (_kwb_field("GM0153", "corporatie_pct", "130"),
                             f"{KWB2025_FILE}: line \\d+: corporatie_pct: 130 outside \\[0, 100\\]"),
    "urbanity 6": (_kwb_field("GM0153", "stedelijkheid", "6"),
                   f"{KWB2025_FILE}: line \\d+: stedelijkheid: 6 outside \\[1, 5\\]"),
    "text": (_kwb_field("GM0153", "woz_k", "veel"), f"{KWB2025_FILE}: line \\d+: woz_k: not a number: 'veel'"),
    "a member's row missing": (lambda t: "".join(x for x in t.splitlines(keepends=True) if ",GM0153," not in x),
                               f"{MEMBERSHIP_FILE}: line \\d+: gm_code: GM0153 \\(Enschede\\) has no row in"),
    "inhabitants a tenth off": (_kwb_field("GM0153", "inwoners", "145000"),
                                f"{MEMBERSHIP_FILE}: line \\d+: inwoners_1jan2024: .* differ by -10.\\d%"),
}


@pytest.mark.parametrize("case", list(BAD_KWB))
def test_bad_kwb2025_data_is_refused_naming_file_line_and_field(tmp_path, case):
    edit, pattern = BAD_KWB[case]
    with pytest.raises(PriorError, match=f"^{pattern}"):
        load_gebieden(data_dir=_kwb_copy(tmp_path, edit))


BAD_SOURCED = {
    "bad code": (WOONDEALS_FILE, ",GM0715,", ",GX0715,", "line \\d+: gm_codes: not a CBS municipality code"),
    "no source": (WOONDEALS_FILE, "https://www.onbegrensdzeeuwsvlaanderen.nl/actueel/wonen-zeeland", "",
                  "line \\d+: source_url: empty"),
    "region below its gemeenten": (WOONDEALS_FILE, "regio,Twente,14100,", "regio,Twente,5000,",
                                   "line \\d+: woningen_2022_2030: the region's figure is not more than what its "
                                   "gemeenten agreed"),
    "zero vacancy": (LEEGSTAND_FILE, "rapportage),18.4,", "rapportage),0,", "line 2: value_pct: 0 outside"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCED))
def test_a_bad_housing_agreement_or_vacancy_figure_is_refused(tmp_path, case):
    """A bad code, a figure without its source, a region's agreement below what its gemeenten agreed on their own
    (a negative remainder), a vacancy of 0 (its log): each refused naming the file and line."""
    name, old, new, pattern = BAD_SOURCED[case]
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    path = data_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(PriorError, match=f"^{name}: {pattern}"):
        load_gebieden(data_dir=data_dir)
