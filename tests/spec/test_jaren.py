"""The year priors ``scenarios/jaren.yaml`` (``model.spec.jaren``), loaded with the rules of ``priors/``."""

from __future__ import annotations

import pytest

from model.errors import PriorError
from model.spec import jaren as J
from model.spec.priors import load_priors


@pytest.fixture(scope="module")
def jaren_priors():
    return J.load_jaren_priors(priors=load_priors(fit=False))


def test_year_priors_are_strict_and_all_used(jaren_priors, tmp_path):
    assert tuple(jaren_priors.entries) == J.PARAMETERS
    text = J.JAREN_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "jaren.yaml"
    bad.write_text(text.replace("p5: 0.01, p50: 0.035", "p5: 0.05, p50: 0.035"), encoding="utf-8")
    with pytest.raises(PriorError, match=r"jaren.yaml: bouwkostenstijging_per_jaar: distribution.p5"):
        J.load_jaren_priors(bad)
    bad.write_text(text.replace("  inflatie_per_jaar:", "  inflatie_per_jaar_x:"), encoding="utf-8")
    with pytest.raises(PriorError, match=r"jaren.yaml: inflatie_per_jaar_x: unknown year parameter"):
        J.load_jaren_priors(bad)
    bad.write_text(text.replace("sources: [cbs_bouwkosten_83908]", "sources: [nergens]"), encoding="utf-8")
    with pytest.raises(PriorError, match=r"bouwkostenstijging_per_jaar: sources: unknown source id 'nergens'"):
        J.load_jaren_priors(bad)
