"""The one reader of ``distribution`` mappings (``model.spec.distributions``): the three forms, and a refusal that
names the place and the field for every rule."""

import math

import pytest

from model.errors import PriorError
from model.spec.distributions import parse_bounds, parse_distribution, short

WHERE = "priors/x.yaml: entry_a"
OPEN = (-math.inf, math.inf)


def test_quantile_form_accepts_any_percentile_and_sorts_by_probability():
    spec = parse_distribution({"family": "lognormal", "p97.5": 9.0, "p2.5": 1.0, "p50": 3.0}, (0.0, math.inf), WHERE)
    assert spec.form == "quantiles"
    assert list(spec.stated) == ["p2.5", "p50", "p97.5"]
    assert spec.stated["p2.5"] == (0.025, 1.0) and spec.stated["p97.5"] == (0.975, 9.0)


def test_three_point_form_maps_min_max_to_the_quantiles_of_the_coverage():
    spec = parse_distribution({"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 0.9}, OPEN, WHERE)
    assert spec.form == "three_point" and spec.mode == 2.0 and spec.coverage == 0.9
    assert spec.stated == {"p5": (pytest.approx(0.05), 1.0), "p95": (pytest.approx(0.95), 5.0)}
    full = parse_distribution({"family": "uniform", "min": 1, "max": 5, "coverage": 1.0}, OPEN, WHERE)
    assert full.stated == {"min": (0.0, 1.0), "max": (1.0, 5.0)}


def test_fixed_form_and_the_key_identify_a_specification():
    a = parse_distribution({"family": "fixed", "value": 3.2}, OPEN, WHERE)
    b = parse_distribution({"family": "fixed", "value": 3.2}, OPEN, "elsewhere: b")
    c = parse_distribution({"family": "fixed", "value": 3.3}, OPEN, WHERE)
    assert a.values == {"value": 3.2}
    assert a.key() == b.key() != c.key()
    hash(a.key())


@pytest.mark.parametrize("spec, field, fragment", [
    ({"family": "cauchy", "p5": 1, "p95": 2}, "distribution.family", "unknown family"),
    ({"family": "normal", "p5": 2, "p95": 1}, "distribution.p5", "must increase"),
    ({"family": "normal", "p5": 1}, "distribution", "at least 2 quantiles"),
    ({"family": "metalog", "p5": 1, "p95": 2}, "distribution", "at least 3 quantiles"),
    ({"family": "normal", "p0": 1, "p95": 2}, "distribution.p0", "strictly between"),
    ({"family": "normal", "p5": "abc", "p95": 2}, "distribution.p5", "finite number"),
    ({"family": "normal", "p5": True, "p95": 2}, "distribution.p5", "finite number"),
    ({"family": "normal", "p5": float("nan"), "p95": 2}, "distribution.p5", "finite number"),
    ({"family": "normal", "p5": 1, "p95": 2, "colour": 1}, "distribution", "unknown key 'colour'"),
    ({"family": "pert", "min": 1, "mode": 2, "max": 5}, "distribution", "missing ['coverage']"),
    ({"family": "pert", "min": 1, "mode": 9, "max": 5, "coverage": 1}, "distribution.mode", "min <= mode <= max"),
    ({"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 1.2}, "distribution.coverage", "(0, 1]"),
    ({"family": "uniform", "min": 1, "mode": 2, "max": 5, "coverage": 1}, "distribution.mode", "not a mode"),
    ({"family": "lognormal", "min": 1, "max": 5, "coverage": 1}, "distribution", "only for uniform"),
    ({"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 1, "p50": 2}, "distribution", "not both"),
    ({"family": "normal", "value": 2}, "distribution.value", "only for family fixed"),
    ({"family": "fixed", "value": 2, "p5": 1}, "distribution", "exactly the key 'value'"),
    ([1, 2], "distribution", "must be a mapping"),
])
def test_each_rule_is_refused_with_place_and_field(spec, field, fragment):
    with pytest.raises(PriorError) as exc:
        parse_distribution(spec, OPEN, WHERE)
    msg = str(exc.value)
    assert msg.startswith(f"{WHERE}: {field}:"), msg
    assert fragment in msg, msg


def test_stated_values_lie_inside_the_hard_bounds():
    with pytest.raises(PriorError, match=r"distribution\.p5: -1 lies outside the hard bounds \[0, inf\]"):
        parse_distribution({"family": "normal", "p5": -1, "p95": 2}, (0.0, math.inf), WHERE)


@pytest.mark.parametrize("bounds, fragment", [
    ([0], "must be a list"), ("0,1", "must be a list"), ([0, "a"], "numbers or null"),
    ([1, 1], "not below"), ([float("nan"), 1], "numbers or null"), ([False, 1], "numbers or null"),
])
def test_bad_bounds_are_refused(bounds, fragment):
    with pytest.raises(PriorError, match=fragment):
        parse_bounds(bounds, WHERE)


def test_open_bounds_are_infinite():
    assert parse_bounds([None, 10], WHERE) == (-math.inf, 10.0)


def test_messages_never_expand_a_huge_value():
    nested = [[list(range(10_000))] * 1_000] * 1_000       # what a YAML alias bomb expands into
    assert len(short(nested)) < 200                        # depth 2, four items a level
    with pytest.raises(PriorError) as exc:
        parse_distribution({"family": "normal", "p5": nested, "p95": 2}, OPEN, WHERE)
    assert len(str(exc.value)) < 300
