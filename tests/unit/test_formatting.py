"""How the pages write numbers: one minus sign, no "-0.000", no bound shown for a value short of it."""

from __future__ import annotations

import pytest

from reportgen.bundle.summary import Interval
from reportgen.i18n import activated
from reportgen.render.formatting import MINUS, decimal_text, interval, num, pct, signed


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_negative_figure_has_the_minus_sign_and_no_hyphen(locale):
    with activated(locale):
        figures = [num(-0.126), signed(-0.039), pct(-0.052, 1),
                   interval(Interval(low=-0.069, high=-0.008, kind="bootstrap")),
                   interval(Interval(low=-0.05, high=0.02, kind="bootstrap"), 1, percent=True)]
    assert figures[:3] == [f"{MINUS}0.126", f"{MINUS}0.039", f"{MINUS}5.2%"]
    # A negative low bound is never joined by a dash, which would read as a second minus.
    assert figures[3].startswith(f"{MINUS}0.069") and figures[3].endswith(f"{MINUS}0.008")
    assert figures[4].startswith(f"{MINUS}5.0") and figures[4].endswith("2.0%")
    assert all("-" not in f and "–" not in f for f in figures[3:]), figures


def test_signs_and_zero():
    with activated("en"):
        # A value short of 0 keeps its sign and the digits that show it is not 0.
        assert (signed(0.12), signed(-0.0001), num(-0.0001), signed(0.0), signed(None)) == (
            "+0.120", f"{MINUS}0.0001", f"{MINUS}0.0001", "0.000", "n/a")
        # Never "-0.000"; a percentage short of 0 keeps the digits that show it, with its sign.
        assert (num(-0.0), decimal_text(-0.0004, 3), pct(-0.0), pct(-0.0004)) == (
            "0.000", "0.000", "0%", f"{MINUS}0.04%")
        assert interval(Interval(low=0.524, high=0.857, kind="wilson"), 1, percent=True) == "52.4–85.7%"
        assert num(0.99996) == "0.99996" and num(-0.99996) == f"{MINUS}0.99996"
