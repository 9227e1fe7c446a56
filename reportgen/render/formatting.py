"""How numbers are written on every page: never "-0.00", never "1.000" for 0.9996, plural nouns that agree."""

from __future__ import annotations

import math
from typing import Any, Optional

from reportgen.i18n import _

MAX_EXTRA_DIGITS = 4  # 0.99996 -> "0.99996", not "1.000"; beyond that the value is 1 for every reader


def num(value: Optional[float], digits: int = 3, bounds: tuple[float, ...] = (-1.0, 0.0, 1.0)) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    for extra in range(MAX_EXTRA_DIGITS + 1):
        text = f"{value:.{digits + extra}f}"
        rounded = float(text)
        # A value short of a bound (a probability of 1, a correlation of 0) must not read as the bound itself:
        # 0.9996 is not "1.000". More digits are shown until it does not.
        if rounded == value or rounded not in bounds or value in bounds:
            break
    return unsigned_zero(text)


def pct(value: Optional[float], digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return num(100 * value, digits, bounds=(0.0, 100.0)) + "%"


def signed(value: Optional[float], digits: int = 3) -> str:
    """With an explicit sign for non-zero values: "+0.120", "−0.050", "0.000"."""
    text = num(value, digits)
    if text == "n/a" or float(text) == 0:
        return text
    return ("+" + text) if not text.startswith("-") else "−" + text[1:]


def p_value(p: float) -> str:
    """"p < 0.001" below a thousandth (never "1.4e-05"), else two decimals or two significant digits."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {num(p, 2) if p >= 0.01 else num(p, 3)}"


def interval(value: Optional[Any], digits: int = 3, percent: bool = False) -> str:
    """A 95% interval as "low–high" ("52.4–85.7%" with percent; "low to high" when low is negative, where a dash
    would read as a minus), or "" without one (no examples). Fixed digits: the bounds are an estimate's spread,
    and need no more precision than the figure they surround."""
    if value is None:
        return ""
    scale, unit = (100, "%") if percent else (1, "")
    low, high = (unsigned_zero(f"{scale * v:.{digits}f}") for v in (value.low, value.high))
    if low.startswith("-"):
        return _("%(low)s to %(high)s") % {"low": low, "high": high + unit}
    return f"{low}–{high}{unit}"


def plural(count: int, noun: str, plural_form: Optional[str] = None) -> str:
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"


def unsigned_zero(text: str) -> str:
    if text.startswith("-") and float(text) == 0:
        return text[1:]
    return text
