"""The comparison's paragraphs, each written from comparison.json's numbers (as story.py writes a report's)."""

from __future__ import annotations

from typing import Optional

from reportgen.compare.gate import SIGNIFICANCE
from reportgen.compare.records import Comparison, MethodShift
from reportgen.render.formatting import interval, num, p_value, pct, plural, signed


def predictions_text(c: Comparison) -> str:
    parts = []
    if c.accuracy is None:
        parts.append("No example the two models both read has a gold label, so their accuracy cannot be compared; "
                     "the flips below still show where their predictions part.")
    else:
        a, m = c.accuracy, c.mcnemar
        d = a.difference
        parts.append(
            f"On the {a.n:,} labelled examples both models read, OLD is right on {pct(a.old, 1)} "
            f"({interval(a.old_interval, 1, percent=True)}) and NEW on {pct(a.new, 1)} "
            f"({interval(a.new_interval, 1, percent=True)}): a difference of {signed(100 * d.mean, 1)} points "
            f"(95% bootstrap interval {interval(d.interval, 1, percent=True)}, paired over the same examples).")
        if m is not None and m.b + m.c == 0:
            parts.append("No example went from right to wrong or back, so there is no difference to test.")
        elif m is not None:
            parts.append(
                f"{plural(m.b, 'example')} went from right to wrong and {m.c:,} from wrong to right; the exact McNemar "
                f"test on those {m.b + m.c:,} gives {p_value(m.p_value)}, " + mcnemar_reading(c) + ".")
    if c.agreement is not None:
        parts.append(f"The two predict the same class for {pct(c.agreement, 1)} of the {c.readable:,} examples both "
                     "could read.")
    return " ".join(parts)


def mcnemar_reading(c: Comparison) -> str:
    m, a = c.mcnemar, c.accuracy
    if m is None or a is None:
        return "no test"
    if m.p_value >= SIGNIFICANCE:
        return "so the difference could be chance at this number of examples"
    return ("so NEW is significantly less accurate than OLD" if a.new < a.old
            else "so NEW is significantly more accurate than OLD")


def flips_text(c: Comparison) -> str:
    if not c.flips:
        return "No example changed its predicted class."
    worse = sum(1 for f in c.flips if f.label is not None and f.old_predicted == f.label)
    better = sum(1 for f in c.flips if f.label is not None and f.new_predicted == f.label)
    text = (f"{plural(len(c.flips), 'example')} ({pct(len(c.flips) / max(c.readable, 1), 1)} of the readable ones) "
            f"changed class. Sorted by how far the probability of the gold class (or, without one, of OLD's "
            f"prediction) moved, the largest fall first.")
    if worse or better:
        text += f" {worse:,} of them were right and are now wrong; {better:,} were wrong and are now right."
    return text


def shift_text(s: MethodShift) -> str:
    if s.median is None:
        return (f"{s.title}: no example has a rank correlation ({s.undefined:,} of {s.n:,} have constant scores on "
                "one side).")
    text = (f"{s.title}: over {s.n - s.undefined:,} examples the median rank correlation between the two models' word "
            f"scores is {num(s.median, 2)} (half between {num(s.low, 2)} and {num(s.high, 2)}); on average "
            f"{pct(s.top_overlap)} of the top {s.top_k} words stay in the top {s.top_k}.")
    if s.undefined:
        text += (f" {plural(s.undefined, 'example')} have no rank correlation, because one side gives every word "
                 "the same score.")
    if s.other_class:
        text += (f" On {plural(s.other_class, 'example')} the two reports explain different classes (each explains its "
                 "own prediction), so part of the shift there is the change of class; reports that both explain the "
                 "gold class compare like with like.")
    if s.flipped_median is not None and s.kept_median is not None:
        relation = ("moved more where the prediction changed" if s.flipped_median < s.kept_median
                    else "moved no more where the prediction changed")
        text += (f" On the {s.flipped_n:,} flipped examples the median is {num(s.flipped_median, 2)}, against "
                 f"{num(s.kept_median, 2)} on the other {s.kept_n:,}: the explanations {relation}.")
    return text


def quality_note() -> str:
    return ("Comprehensiveness and sufficiency are falls in the probability of the explained class, so a more "
            "confident model scores higher on them whatever its explanations are worth: side by side they say how "
            "each report's methods did against its own random reference, not which model is explained better. "
            "Normalising each example's value by the best and worst values any ranking of its words could reach "
            "(Edin et al., ACL 2025, \"Normalized AOPC\") would make them compare; those bounds need the models, and "
            "the reports do not store them yet.")


def layers_text(old: Optional[tuple[float, ...]], new: Optional[tuple[float, ...]]) -> Optional[str]:
    if not old or not new:
        return None
    best_old = max(range(len(old)), key=lambda k: (old[k], -k))
    best_new = max(range(len(new)), key=lambda k: (new[k], -k))
    return (f"A probe on each layer's output reads the label best at layer {best_old} in OLD "
            f"({pct(old[best_old], 1)}) and at layer {best_new} in NEW ({pct(new[best_new], 1)}).")
