"""--fail-on for `reportgen compare`: the policies a CI job gates a model change on, each read from the comparison's
own figures, and the one line that says which failed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from reportgen.compare.records import Comparison
from reportgen.errors import ConfigError

SIGNIFICANCE = 0.05  # McNemar's level for "regression"
POLICY = re.compile(r"^(regression|flips:(\d+(?:\.\d+)?)%|shift:(-?\d+(?:\.\d+)?))$")


@dataclass(frozen=True)
class Policy:
    kind: str  # "regression", "flips" or "shift"
    limit: Optional[float] = None  # flips: the largest share allowed (0-1); shift: the lowest median rho allowed


def parse_policy(text: str) -> Policy:
    found = POLICY.match(text.strip())
    if not found:
        raise ConfigError(f"--fail-on {text!r}: expected regression, flips:N% (e.g. flips:5%) or shift:R "
                          "(e.g. shift:0.5)")
    if found.group(2) is not None:
        return Policy("flips", float(found.group(2)) / 100)
    if found.group(3) is not None:
        rho = float(found.group(3))
        if not -1 <= rho <= 1:
            raise ConfigError(f"--fail-on {text!r}: a rank correlation lies between -1 and 1")
        return Policy("shift", rho)
    return Policy("regression")


def failure(policy: Policy, c: Comparison) -> Optional[str]:
    """The reason the comparison fails the policy, in one line, or None when it passes."""
    if policy.kind == "regression":
        a, m = c.accuracy, c.mcnemar
        if a is not None and m is not None and m.p_value < SIGNIFICANCE and a.new < a.old:
            return (f"regression: NEW is less accurate than OLD ({100 * a.new:.1f}% against {100 * a.old:.1f}% on "
                    f"{a.n:,} examples; McNemar b={m.b}, c={m.c}, p={m.p_value:.3g} < {SIGNIFICANCE})")
        return None
    if policy.kind == "flips":
        share = len(c.flips) / c.readable if c.readable else 0.0
        if share > policy.limit:
            return (f"flips: {len(c.flips):,} of {c.readable:,} examples changed class ({100 * share:.1f}% > "
                    f"{100 * policy.limit:g}%)")
        return None
    shift = next((s for s in c.shift if s.method == c.lead), None)
    if shift is None or shift.median is None:
        return f"shift: no method both reports computed gives a rank correlation to check against {policy.limit:g}"
    if shift.median < policy.limit:
        return (f"shift: the median rank correlation of {shift.title} word scores is {shift.median:.3f} "
                f"< {policy.limit:g} over {shift.n - shift.undefined:,} examples")
    return None
