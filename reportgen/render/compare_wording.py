"""The comparison's paragraphs, each written from comparison.json's numbers (as story.py writes a report's)."""

from __future__ import annotations

from typing import Optional, Sequence

from reportgen.compare.gate import SIGNIFICANCE
from reportgen.compare.records import Comparison, MethodShift, MetricPair
from reportgen.i18n import _, ngettext
from reportgen.render.formatting import count, interval, num, p_value, pct, signed


def predictions_text(c: Comparison) -> str:
    parts = []
    if c.accuracy is None:
        parts.append(_("No example the two models both read has a gold label, so their accuracy cannot be compared; "
                       "the flips below still show where their predictions part."))
    else:
        a, m = c.accuracy, c.mcnemar
        d = a.difference
        parts.append(_(
            "On the %(n)s labelled examples both models read, OLD is right on %(old)s (%(old_interval)s) and NEW on "
            "%(new)s (%(new_interval)s): a difference of %(points)s points (95%% bootstrap interval %(interval)s, "
            "paired over the same examples).") % {
            "n": count(a.n), "old": pct(a.old, 1), "old_interval": interval(a.old_interval, 1, percent=True),
            "new": pct(a.new, 1), "new_interval": interval(a.new_interval, 1, percent=True),
            "points": signed(100 * d.mean, 1), "interval": interval(d.interval, 1, percent=True)})
        if m is not None and m.b + m.c == 0:
            parts.append(_("No example went from right to wrong or back, so there is no difference to test."))
        elif m is not None:
            parts.append(ngettext(
                "%(b)s example went from right to wrong and %(c)s from wrong to right; the exact McNemar test on those "
                "%(n)s gives %(p)s, %(reading)s.",
                "%(b)s examples went from right to wrong and %(c)s from wrong to right; the exact McNemar test on "
                "those %(n)s gives %(p)s, %(reading)s.", m.b) % {
                "b": count(m.b), "c": count(m.c), "n": count(m.b + m.c), "p": p_value(m.p_value),
                "reading": mcnemar_reading(c)})
    if c.agreement is not None:
        parts.append(_("The two predict the same class for %(share)s of the %(n)s examples both could read.") % {
            "share": pct(c.agreement, 1), "n": count(c.readable)})
    return " ".join(parts)


def mcnemar_reading(c: Comparison) -> str:
    m, a = c.mcnemar, c.accuracy
    if m is None or a is None:
        return _("no test")
    if m.p_value >= SIGNIFICANCE:
        return _("so the difference could be chance at this number of examples")
    return (_("so NEW is significantly less accurate than OLD") if a.new < a.old
            else _("so NEW is significantly more accurate than OLD"))


def flips_text(c: Comparison) -> str:
    if not c.flips:
        return _("No example changed its predicted class.")
    worse = sum(1 for f in c.flips if f.label is not None and f.old_predicted == f.label)
    better = sum(1 for f in c.flips if f.label is not None and f.new_predicted == f.label)
    text = ngettext(
        "%(n)s example (%(share)s of the readable ones) changed class. Sorted by how far the probability of the gold "
        "class (or, without one, of OLD's prediction) moved, the largest fall first.",
        "%(n)s examples (%(share)s of the readable ones) changed class. Sorted by how far the probability of the gold "
        "class (or, without one, of OLD's prediction) moved, the largest fall first.", len(c.flips)) % {
        "n": count(len(c.flips)), "share": pct(len(c.flips) / max(c.readable, 1), 1)}
    if worse or better:
        text += " " + _("%(worse)s of them were right and are now wrong; %(better)s were wrong and are now right.") % {
            "worse": count(worse), "better": count(better)}
    return text


def shift_text(s: MethodShift) -> str:
    values = {"method": s.title, "undefined": count(s.undefined), "n": count(s.n),
              "defined": count(s.n - s.undefined), "median": num(s.median, 2), "low": num(s.low, 2),
              "high": num(s.high, 2), "overlap": pct(s.top_overlap), "k": s.top_k, "other": count(s.other_class),
              "flipped_n": count(s.flipped_n), "flipped": num(s.flipped_median, 2), "kept_n": count(s.kept_n),
              "kept": num(s.kept_median, 2)}
    if s.median is None:
        return _("%(method)s: no example has a rank correlation (%(undefined)s of %(n)s have constant scores on one "
                 "side).") % values
    text = _("%(method)s: over %(defined)s examples the median rank correlation between the two models' word scores "
             "is %(median)s (half between %(low)s and %(high)s); on average %(overlap)s of the top %(k)s words stay in "
             "the top %(k)s.") % values
    if s.undefined:
        text += " " + ngettext("%(undefined)s example has no rank correlation, because one side gives every word the "
                               "same score.", "%(undefined)s examples have no rank correlation, because one side "
                               "gives every word the same score.", s.undefined) % values
    if s.other_class:
        text += " " + ngettext(
            "On %(other)s example the two reports explain different classes (each explains its own prediction), so "
            "part of the shift there is the change of class; reports that both explain the gold class compare like "
            "with like.",
            "On %(other)s examples the two reports explain different classes (each explains its own prediction), so "
            "part of the shift there is the change of class; reports that both explain the gold class compare like "
            "with like.", s.other_class) % values
    if s.flipped_median is not None and s.kept_median is not None:
        text += " " + (_("On the %(flipped_n)s flipped examples the median is %(flipped)s, against %(kept)s on the "
                         "other %(kept_n)s: the explanations moved more where the prediction changed.")
                       if s.flipped_median < s.kept_median else
                       _("On the %(flipped_n)s flipped examples the median is %(flipped)s, against %(kept)s on the "
                         "other %(kept_n)s: the explanations moved no more where the prediction changed.")) % values
    return text


def quality_text(c: Comparison) -> Optional[str]:
    """What the faithfulness that compares across models says of the shift's method: NEW against OLD, paired."""
    sentences = []
    for q in c.quality:
        if q.method != c.lead or q.family != "faithfulness" or q.model_scaled or q.difference is None:
            continue
        d = q.difference
        values = {"metric": _(q.title), "method": _(q.method_title), "difference": signed(d.mean, 3),
                  "interval": interval(d.interval, 3), "n": count(d.n)}
        low, high = (d.interval.low, d.interval.high) if d.interval else (0.0, 0.0)
        if low <= 0 <= high:
            sentences.append(_("By %(metric)s, %(method)s explains NEW about as faithfully as OLD: %(difference)s "
                               "(95%% interval %(interval)s, paired over %(n)s examples).") % values)
        elif (low > 0) == bool(q.higher_is_better):
            sentences.append(_("By %(metric)s, %(method)s explains NEW more faithfully than OLD: %(difference)s "
                               "(95%% interval %(interval)s, paired over %(n)s examples).") % values)
        else:
            sentences.append(_("By %(metric)s, %(method)s explains NEW less faithfully than OLD: %(difference)s "
                               "(95%% interval %(interval)s, paired over %(n)s examples).") % values)
    return " ".join(sentences) or None


def quality_note(pairs: Sequence[MetricPair]) -> Optional[str]:
    """Why the rows marked † do not compare across the two models, and which rows do."""
    if not any(q.model_scaled for q in pairs):
        return None
    if any(q.family == "faithfulness" and not q.model_scaled for q in pairs):  # faithfulness that compares
        return _("† Comprehensiveness and sufficiency are falls in the probability of the explained class, so a more "
                 "confident model scores higher on them whatever its explanations are worth: side by side they say "
                 "how each report's methods did against its own random reference, not which model is explained "
                 "better. Their normalised rows place each example between the worst and the best any ranking of its "
                 "words reaches on that model (Edin et al., ACL 2025, \"Normalized AOPC\"): those compare.")
    return _("† Comprehensiveness and sufficiency are falls in the probability of the explained class, so a more "
             "confident model scores higher on them whatever its explanations are worth: side by side they say how "
             "each report's methods did against its own random reference, not which model is explained better. "
             "Normalised comprehensiveness and sufficiency (Edin et al., ACL 2025, \"Normalized AOPC\"), which a "
             "build computes when they are among its metrics, place each example between the worst and the best any "
             "ranking of its words reaches on that model, and compare; these reports do not have them.")


def layers_text(old: Optional[tuple[float, ...]], new: Optional[tuple[float, ...]]) -> Optional[str]:
    if not old or not new:
        return None
    best_old = max(range(len(old)), key=lambda k: (old[k], -k))
    best_new = max(range(len(new)), key=lambda k: (new[k], -k))
    return _("A probe on each layer's output reads the label best at layer %(old_layer)s in OLD (%(old)s) and at "
             "layer %(new_layer)s in NEW (%(new)s).") % {"old_layer": best_old, "old": pct(old[best_old], 1),
                                                         "new_layer": best_new, "new": pct(new[best_new], 1)}
