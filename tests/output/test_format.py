"""Number formats for people (``model.output.format``): Dutch decimal commas, amounts in billions."""

import pytest

from model.output.format import decimal_nl, mld, mld_range


@pytest.mark.parametrize("x, digits, text", [(1234.5, 2, "1.234,50"), (0.05, 2, "0,05"), (-3.14159, 1, "-3,1"),
                                             (1e6, 0, "1.000.000")])
def test_decimal_nl(x, digits, text):
    assert decimal_nl(x, digits) == text


def test_mld_and_ranges_as_the_report_prints_them():
    assert mld(0.7e9) == "€0,7 mld."
    assert mld(0.135e9, 3) == "€0,135 mld."
    assert mld(3.6353e9, 2, euro=False) == "3,64"
    assert mld(None) == ""
    assert mld_range(6.3e9, 11.8e9) == "€6,3 - €11,8 mld."
    assert mld_range(0.6e9, 0.6e9) == "€0,6 mld."
