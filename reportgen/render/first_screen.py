"""The index's first screen: what the model does, on which data, how accurately, whether its highlights beat
random ones, and the top risks. Every figure is one the rest of the site states (accuracy_text, the verdict, the
alerts), so the summary and the pages below it never disagree."""

from __future__ import annotations

from typing import Any

from reportgen.bundle import ReportBundle
from reportgen.render.formatting import plural
from reportgen.render.story import accuracy_text, verdict_text

TOP_RISKS = 3  # alerts repeated on the first screen; the rest follow in the alerts section
CLASSES_LISTED = 8


def first_screen(bundle: ReportBundle, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """alerts: the error and warning alerts in the order the alerts section shows them (most severe first, the
    ones about nearly every example last)."""
    d, m = bundle.data, bundle.model
    labels = bundle.labels
    listed = ", ".join(labels[:CLASSES_LISTED]) + (f" and {len(labels) - CLASSES_LISTED} more"
                                                     if len(labels) > CLASSES_LISTED else "")
    inputs = "sentence pairs" if d.n_pairs and d.n_pairs == d.n_examples else "texts"
    model = f"{m.name} ({m.layers} layers × {m.heads} attention heads)"
    if m.probe:
        model += (", which has no classification head of its own: reportgen fitted a logistic-regression probe on "
                  "it, and every prediction here is held out")
    data = f"{plural(d.n_examples, 'example')} from {d.file}: {d.n_labelled} with a gold label"
    if d.n_with_rationale:
        data += f", {d.n_with_rationale} with human rationales"
    return {
        "task": f"Sorts {inputs} into {len(labels)} classes: {listed}.",
        "data": data + ".",
        "model": model + ".",
        "accuracy": accuracy_text(bundle) if bundle.summary.n_labelled else None,
        "verdict": verdict_text(bundle),
        "risks": alerts[:TOP_RISKS],
        "more_risks": max(0, len(alerts) - TOP_RISKS),
    }
