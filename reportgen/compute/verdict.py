"""The verdict on the highlights: do the lead method's top words carry the prediction better than random words?

Comprehensiveness and sufficiency (the deletion and insertion metrics) need no human rationales, so every report
can answer this. When the build computed both for every example, with the random reference beside the lead, the
verdict reads those figures (one number everywhere); otherwise it computes them here on a seeded sample of the
readable one-window examples, whose size the report states. Either way the difference from random is a paired
bootstrap interval over the same examples."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from reportgen.bundle.declarations import MethodDecl, MetricDecl, lead_method, reference_method
from reportgen.compute.encode import EncodedExample
from reportgen.compute.intervals import mean_of
from reportgen.compute.methods.base import METHODS, MethodContext
from reportgen.compute.metrics.base import METRICS, MetricContext
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup
from reportgen.progress import quiet
from reportgen.types import Example

CURVES = ("deletion", "insertion")


def verdict_metrics() -> list[Any]:
    """The registered deletion and insertion metrics (comprehensiveness, sufficiency), found by declaration."""
    return [METRICS.get(name)() for curve in CURVES for name in METRICS.names() if METRICS.get(name).curve == curve]


def reference_class() -> Any:
    return next(METHODS.get(name) for name in METHODS.names() if METHODS.get(name).family == "reference")


def from_summary(summary: dict[str, Any], methods: Sequence[MethodDecl],
                 metrics: Sequence[MetricDecl]) -> Optional[dict[str, Any]]:
    """The verdict from figures the build computed on every readable example, or None when it did not compute
    both metrics for the lead and the reference."""
    lead = lead_method(methods)
    reference = reference_method(methods)
    chosen = [m for curve in CURVES for m in metrics if m.curve == curve]
    if lead is None or reference is None or len(chosen) < len(CURVES):
        return None
    out = {}
    for metric in chosen:
        per = summary["metrics"].get(metric.name, {})
        if lead.name not in per or reference.name not in per or "vs_reference" not in per[lead.name]:
            return None
        out[metric.name] = _figures(metric, _bare(per[lead.name]), _bare(per[reference.name]),
                                    per[lead.name]["vs_reference"])
    n = min(v["difference"]["n"] for v in out.values())
    against = []
    for other in (m for m in methods if m.costly and m.name != lead.name):
        means = [summary["metrics"][metric.name].get(other.name, {}) for metric in chosen]
        if all("vs_lead" in mean for mean in means):  # lead minus other: the other's paired difference, negated
            against.append({"method": other.name, "metrics": {
                metric.name: _figures(metric, _bare(summary["metrics"][metric.name][lead.name]), _bare(mean),
                                      _negated(mean["vs_lead"])) for metric, mean in zip(chosen, means)}})
    return {"method": lead.name, "reference": reference.name, "sampled": False, "examples": n,
            "of": summary["n_readable"], "metrics": out, "against": against}


def _negated(mean: dict[str, Any]) -> dict[str, Any]:
    interval = mean["interval"]
    flipped = None if interval is None else {**interval, "low": -interval["high"], "high": -interval["low"]}
    return {**mean, "mean": -mean["mean"], "interval": flipped}


def sampled_verdict(
    adapter: ModelAdapter,
    lead: str,
    examples: Sequence[Example],
    encoded: Sequence[EncodedExample],
    chosen: Sequence[int],  # the sample, as indices of the report's examples
    lead_scores: Sequence[np.ndarray],  # the lead's token scores of each chosen example
    targets: Sequence[int],
    target_logits: Sequence[float],
    probabilities: np.ndarray,  # float[len(chosen), classes]
    groups: Sequence[ProbeGroup],  # restricted to the sample
    of: int,
    ccfg: Any,
    progress: Callable[[str, int], Any] = quiet,
    others: Optional[Mapping[str, Sequence[np.ndarray]]] = None,  # costly methods' token scores on the sample
) -> Optional[dict[str, Any]]:
    """Comprehensiveness and sufficiency of the lead and of random scores on the sample, each example through its
    own probe, and of each of the others beside the lead. None without examples."""
    if not chosen:
        return None
    reference = reference_class()()
    metrics = verdict_metrics()
    others = dict(others or {})
    values: dict[str, dict[str, list[Optional[float]]]] = {
        m.name: {name: [None] * len(chosen) for name in (lead, reference.name, *others)} for m in metrics}
    bar = progress("Verdict on the highlights (against random)", len(groups))
    for group in groups:
        pick = group.indices
        sub = [encoded[k] for k in pick]
        method_ctx = MethodContext(adapter, sub, [targets[k] for k in pick], [target_logits[k] for k in pick],
                                   [np.empty(0)] * len(pick), ccfg, quiet)
        random_scores = [o.token_scores for o in reference.attribute(method_ctx)]
        ctx = MetricContext(adapter, [examples[chosen[k]] for k in pick], sub, [targets[k] for k in pick],
                            [target_logits[k] for k in pick], probabilities[pick],
                            {lead: [lead_scores[k] for k in pick], reference.name: random_scores,
                             **{name: [scores[k] for k in pick] for name, scores in others.items()}}, ccfg, quiet)
        with adapter.using(group.probe):
            for metric in metrics:
                for method, per in metric.compute(ctx).items():
                    for k, v in zip(pick, per):
                        values[metric.name][method][k] = v
        bar.update(1)
    bar.close()
    out = {}
    for metric in metrics:
        figures = _paired(metric.declaration(), values[metric.name][lead], values[metric.name][reference.name])
        if figures is None:
            return None
        out[metric.name] = figures
    against = [{"method": name, "metrics": {metric.name: _paired(metric.declaration(), values[metric.name][lead],
                                                                  values[metric.name][name]) for metric in metrics}}
               for name in others]
    return {"method": lead, "reference": reference.name, "sampled": True, "examples": len(chosen), "of": of,
            "metrics": out, "against": [a for a in against if all(a["metrics"].values())]}


def _paired(metric: MetricDecl, mine: Sequence[Optional[float]],
            theirs: Sequence[Optional[float]]) -> Optional[dict[str, Any]]:
    """The figures of the lead's values against another's, paired over the examples both have; None if none."""
    paired = [(a, b) for a, b in zip(mine, theirs) if a is not None and b is not None]
    if not paired:
        return None
    return _figures(metric, mean_of([a for a, _ in paired]), mean_of([b for _, b in paired]),
                    mean_of([a - b for a, b in paired]))


def _bare(mean: dict[str, Any]) -> dict[str, Any]:
    """A metric mean without its paired differences."""
    return {k: mean[k] for k in ("mean", "n", "interval")}


def _figures(metric: MetricDecl, lead: dict[str, Any], reference: dict[str, Any],
             difference: dict[str, Any]) -> dict[str, Any]:
    interval = difference["interval"]
    return {"title": metric.title, "curve": metric.curve, "higher_is_better": metric.higher_is_better, "lead": lead,
            "reference": reference, "difference": difference,
            "outcome": metric.outcome(interval["low"], interval["high"]) if interval else "unclear"}
