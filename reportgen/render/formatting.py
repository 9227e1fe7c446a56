"""How numbers are written on every page: never "-0.00", never "1.000" for 0.9996, a negative number with the minus
sign (U+2212) in plain figures, signed differences and intervals alike, in the page's language (Babel's number,
percent and date formatting for the active locale)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Optional

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from reportgen.i18n import _, active

MAX_EXTRA_DIGITS = 4  # 0.99996 -> "0.99996", not "1.000"; beyond that the value is 1 for every reader
# Babel writes the locale's minus as a hyphen-minus (en, zh): beside a dash or a signed difference it reads as a
# hyphen, so every page writes the true minus sign instead.
MINUS = "\u2212"


def _minus(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def decimal_text(value: float, digits: int) -> str:
    """value with exactly `digits` decimals in the active locale. The float's exact binary value is rounded half to
    even, as Python's own formatting does, so a figure reads the same as it always did; "-0" loses its sign."""
    exact = Decimal(value)
    pattern = "0." + "0" * digits if digits else "0"
    text = format_decimal(exact, format=pattern, locale=active(), decimal_quantization=True)
    return _minus(text) if round(exact, digits) != 0 else format_decimal(0, format=pattern, locale=active())


def count(n: int) -> str:
    """A whole number with the active locale's grouping (1,234 in English)."""
    return format_decimal(n, locale=active())


def num(value: Optional[float], digits: int = 3, bounds: tuple[float, ...] = (-1.0, 0.0, 1.0)) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return decimal_text(value, _digits(value, digits, bounds))


def _digits(value: float, digits: int, bounds: tuple[float, ...]) -> int:
    """The decimals a value needs: a value short of a bound (a probability of 1, a correlation of 0) must not read as
    the bound itself (0.9996 is not "1.000"), so more digits are shown until it does not."""
    for extra in range(MAX_EXTRA_DIGITS + 1):
        rounded = float(round(Decimal(value), digits + extra))
        if rounded == value or rounded not in bounds or value in bounds:
            return digits + extra
    return digits + MAX_EXTRA_DIGITS


def pct(value: Optional[float], digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    places = _digits(100 * value, digits, bounds=(0.0, 100.0))
    pattern = ("0." + "0" * places if places else "0") + "%"
    # The percentage rounded as 100 x value in binary is, so 0.8925 reads as before; Babel places the sign.
    shown = Decimal(100 * value) / 100
    return _minus(format_percent(shown if round(Decimal(100 * value), places) != 0 else 0, format=pattern,
                                 locale=active(), decimal_quantization=True))


def signed(value: Optional[float], digits: int = 3) -> str:
    """With an explicit sign for non-zero values: "+0.120", "−0.050", "0.000"."""
    text = num(value, digits)
    if text == "n/a" or round(Decimal(value), _digits(value, digits, (-1.0, 0.0, 1.0))) == 0:
        return text
    return text if text.startswith(MINUS) else "+" + text


def p_value(p: float) -> str:
    """"p < 0.001" below a thousandth (never "1.4e-05"), else two decimals or two significant digits."""
    if p < 0.001:
        return "p < " + decimal_text(0.001, 3)
    return f"p = {num(p, 2) if p >= 0.01 else num(p, 3)}"


def interval(value: Optional[Any], digits: int = 3, percent: bool = False) -> str:
    """A 95% interval as "low–high" ("52.4–85.7%" with percent; "low to high" when low is negative, where a dash
    would read as a minus), or "" without one (no examples). Fixed digits: the bounds are an estimate's spread,
    and need no more precision than the figure they surround."""
    if value is None:
        return ""
    scale, unit = (100, "%") if percent else (1, "")
    low, high = (decimal_text(scale * v, digits) for v in (value.low, value.high))
    if low.startswith(MINUS):
        return _("%(low)s to %(high)s") % {"low": low, "high": high + unit}
    return f"{low}–{high}{unit}"


def timestamp(epoch: int) -> str:
    """A build's time as every page states it (UTC, to the minute)."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    return format_datetime(moment, "yyyy-MM-dd HH:mm", tzinfo=dt.timezone.utc, locale=active()) + " UTC"
