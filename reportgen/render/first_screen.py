"""The index's first screen: what the model does, on which data, how accurately, whether its highlights beat
random ones, and the top risks. Every figure is one the rest of the site states (accuracy_text, the verdict, the
alerts), so the summary and the pages below it never disagree."""

from __future__ import annotations

from typing import Any

from reportgen.bundle import ReportBundle
from reportgen.i18n import _, ngettext
from reportgen.render.story import accuracy_text, verdict_text

TOP_RISKS = 3  # alerts repeated on the first screen; the rest follow in the alerts section
CLASSES_LISTED = 8


def first_screen(bundle: ReportBundle, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """alerts: the error and warning alerts in the order the alerts section shows them (most severe first, the
    ones about nearly every example last)."""
    d, m = bundle.data, bundle.model
    labels = bundle.labels
    listed = ", ".join(labels[:CLASSES_LISTED])
    if len(labels) > CLASSES_LISTED:
        listed = _("%(listed)s and %(more)d more") % {"listed": listed, "more": len(labels) - CLASSES_LISTED}
    pairs = d.n_pairs and d.n_pairs == d.n_examples
    task = (_("Sorts sentence pairs into %(n)d classes: %(classes)s.") if pairs
            else _("Sorts texts into %(n)d classes: %(classes)s.")) % {"n": len(labels), "classes": listed}
    shape = {"name": m.name, "layers": m.layers, "heads": m.heads}
    model = (_("%(name)s (%(layers)d layers × %(heads)d attention heads), which has no classification head of its "
               "own: reportgen fitted a logistic-regression probe on it, and every prediction here is held out.")
             if m.probe else _("%(name)s (%(layers)d layers × %(heads)d attention heads).")) % shape
    counts = {"n": d.n_examples, "file": d.file, "labelled": d.n_labelled, "rationales": d.n_with_rationale}
    data = (ngettext("%(n)d example from %(file)s: %(labelled)d with a gold label, %(rationales)d with human "
                     "rationales.", "%(n)d examples from %(file)s: %(labelled)d with a gold label, %(rationales)d "
                     "with human rationales.", d.n_examples) if d.n_with_rationale else
            ngettext("%(n)d example from %(file)s: %(labelled)d with a gold label.",
                     "%(n)d examples from %(file)s: %(labelled)d with a gold label.", d.n_examples)) % counts
    return {
        "task": task,
        "data": data,
        "model": model,
        "accuracy": accuracy_text(bundle) if bundle.summary.n_labelled else None,
        "verdict": verdict_text(bundle),
        "risks": alerts[:TOP_RISKS],
        "more_risks": max(0, len(alerts) - TOP_RISKS),
    }
