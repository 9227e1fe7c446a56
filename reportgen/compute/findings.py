"""Automatic alerts: what a reader should distrust, each with a severity, drawn from the numbers."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from reportgen.bundle.declarations import MethodDecl, MetricDecl, lead_method, reference_method
from reportgen.bundle.sections import ProbeSummary
from reportgen.bundle.vocabulary import SEVERITIES
from reportgen.compute.aggregate import SPECIAL_SHARE, DatasetAggregate

CUE_SHARE = 0.2  # one word is the top word of at least this share of examples...
CUE_MIN_EXAMPLES = 5  # ...and of at least this many
OVERFIT_GAP = 0.15
CHANCE_P = 0.05  # a probe whose held-out accuracy does not beat the majority class at this level is an error


def finding(code: str, severity: str, params: dict[str, Any], examples: Sequence[str] = (),
            values: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A finding is data: a stable code, its severity and the numbers and names it rests on (params). The sentence a
    reader sees is written from them by render/wording.py, so it can be translated and compared across reports.
    values: each listed example's own number (slug -> value), so its page says where it stands."""
    out = {"code": code, "severity": severity, "params": params, "examples": list(examples)}
    if values is not None:
        out["values"] = values
    return out


def detect_findings(
    aggregate: DatasetAggregate, summary: dict[str, Any], methods: Sequence[MethodDecl],
    metrics: Sequence[MetricDecl], probe: Optional[ProbeSummary],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = aggregate.n
    if summary["unreadable"]:
        out.append(finding("unreadable", "error", {"count": len(summary["unreadable"]), "n": n},
                           summary["unreadable"]))
    for name, conv in summary.get("convergence", {}).items():
        if conv["flagged"]:
            option = next(m.completeness.steps_option for m in methods if m.name == name)
            out.append(finding("not_converged", "warning", {"method": name, "count": len(conv["flagged"]),
                                                            "n": conv["n"], "threshold": conv["threshold"],
                                                            "end": conv["end"], "option": option}, conv["flagged"]))
    if summary["truncated"]:
        out.append(finding("truncated", "info", {"count": len(summary["truncated"])}, summary["truncated"]))
    if summary.get("windowed"):
        out.append(finding("windowed", "info", {"count": len(summary["windowed"])}, summary["windowed"]))
    for name, shares in aggregate.special_shares.items():
        if shares:
            out.append(finding("special_tokens", "warning", {"method": name, "share": SPECIAL_SHARE,
                                                             "count": len(shares)}, list(shares), dict(shares)))
    if aggregate.disagree_pair and aggregate.disagree:
        a, b = aggregate.disagree_pair
        rhos = aggregate.disagree
        out.append(finding("methods_disagree", "warning", {"methods": [a, b], "count": len(rhos)},
                           list(rhos), dict(rhos)))
    out.extend(_no_better_than_reference(summary, methods, metrics))
    out.extend(_verdict_not_better(summary, out))
    out.extend(_lead_less_faithful(summary))
    out.extend(_faithfulness_for_cost(summary, methods, metrics))
    sanity = (summary.get("sanity") or {}).get("methods", {})
    failing = sorted(name for name, result in sanity.items() if result["passes"] is False)
    if failing:
        out.append(finding("sanity_check", "warning", {"methods": failing,
                                                       "threshold": summary["sanity"]["threshold"]}))
    out.extend(_spurious_cues(aggregate))
    out.extend(_probe_findings(probe))
    return out


def _probe_findings(probe: Optional[ProbeSummary]) -> list[dict[str, Any]]:
    """A probe no better than always answering the most frequent class explains nothing about the task:
    every highlight on the site would explain noise. Judged on held-out predictions, by a one-sided binomial
    test against the majority share."""
    if probe is None or probe.held_out_accuracy is None:
        return []
    out = []
    accuracy, majority, p_value = probe.held_out_accuracy, probe.majority_share, probe.p_value
    if p_value is not None and p_value >= CHANCE_P:
        out.append(finding("probe_at_chance", "error", {"accuracy": accuracy, "majority": majority,
                                                        "p_value": p_value, "n": probe.n_held_out}))
    if probe.train_accuracy - accuracy > OVERFIT_GAP:
        out.append(finding("probe_overfits", "warning", {"train_accuracy": probe.train_accuracy,
                                                         "accuracy": accuracy}))
    return out


def at_or_above(findings: Sequence[dict[str, Any]], severity: str) -> list[dict[str, Any]]:
    level = SEVERITIES.index(severity)
    return [f for f in findings if SEVERITIES.index(f["severity"]) >= level]


def _no_better_than_reference(summary: dict[str, Any], methods: Sequence[MethodDecl],
                              metrics: Sequence[MetricDecl]) -> list[dict[str, Any]]:
    """Per faithfulness metric, the methods whose mean is no better than the reference method's (random scores):
    their highlights do not show what the model uses."""
    reference = reference_method(methods)
    out = []
    for metric in metrics:
        per = summary.get("metrics", {}).get(metric.name, {})
        floor = per.get(reference.name) if reference is not None else None
        if metric.family != "faithfulness" or not floor:
            continue
        bad = sorted(k for k, v in per.items() if k != reference.name and metric.no_better(v["mean"], floor["mean"]))
        if bad:
            out.append(finding("no_better_than_reference", "warning", {"metric": metric.name, "methods": bad,
                                                                       "reference": floor["mean"]}))
    return out


def _verdict_not_better(summary: dict[str, Any], found: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdict on the highlights, where its interval does not show the lead beating random scores and no other
    alert already says so for that metric."""
    verdict = summary.get("verdict")
    if not verdict:
        return []
    named = {f["params"]["metric"] for f in found
             if f["code"] == "no_better_than_reference" and verdict["method"] in f["params"]["methods"]}
    failing = [name for name, figures in sorted(verdict["metrics"].items())
               if name not in named and figures["outcome"] != "better"]
    if not failing:
        return []
    return [finding("verdict_not_better", "warning", {"method": verdict["method"], "metrics": failing,
                                                      "examples": verdict["examples"], "sampled": verdict["sampled"]})]


def _lead_less_faithful(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The one-pass lead shown less faithful than a costly method it stands in for, on the same sample: then the
    costly method belongs on every example (--costly-sample all) and in the lead."""
    verdict = summary.get("verdict")
    out = []
    for against in (verdict or {}).get("against", []):
        worse = [name for name, figures in sorted(against["metrics"].items()) if figures["outcome"] == "worse"]
        if worse:
            out.append(finding("lead_less_faithful", "warning", {"method": verdict["method"],
                                                                 "than": against["method"], "metrics": worse,
                                                                 "examples": verdict["examples"]}))
    return out


def _faithfulness_for_cost(summary: dict[str, Any], methods: Sequence[MethodDecl],
                           metrics: Sequence[MetricDecl]) -> list[dict[str, Any]]:
    """What a cheaper method gives up against the first method with a completeness check (Integrated Gradients by
    default): every one-pass decomposition method, and any cheaper method at least as faithful by the deletion
    metric (comprehensiveness), with the insertion metric (sufficiency) beside it where it ran."""
    counted = summary.get("cost") or {}
    cost, a = counted.get("methods", {}), counted.get("relative_to")
    deletion = next((m.name for m in metrics if m.curve == "deletion"), None)
    insertion = next((m.name for m in metrics if m.curve == "insertion"), None)
    means = summary.get("metrics", {})
    comp, suff = means.get(deletion, {}), means.get(insertion, {})
    if a is None or a not in comp:
        return []
    lead = getattr(lead_method(methods), "name", None)
    out = []
    for m in methods:
        name, share = m.name, cost.get(m.name, {}).get("share")
        if name == a or m.reference or name not in comp or not share or share >= 1:
            continue
        as_faithful = comp[name]["mean"] >= comp[a]["mean"]
        if m.family != "decomposition" and not as_faithful:
            continue
        both = name in suff and a in suff
        paired = comp[name].get("vs_lead") if a == lead else None  # the interval of the difference, where paired
        out.append(finding("faithfulness_for_cost", "info", {
            "difference": [paired["mean"], paired["interval"]["low"], paired["interval"]["high"]]
            if paired and paired["interval"] else None,
            "method": name, "anchor": a, "deletion_metric": deletion, "deletion": [comp[name]["mean"], comp[a]["mean"]],
            "insertion_metric": insertion, "insertion": [suff[name]["mean"], suff[a]["mean"]] if both else None,
            "share": share,
            "as_faithful": as_faithful}))
    return out


def _spurious_cues(aggregate: DatasetAggregate) -> list[dict[str, Any]]:
    method = aggregate.cue_method
    if method is None:
        return []
    out = []
    readable = aggregate.cue_readable
    for word, k in aggregate.top_word_counts.most_common():
        if k >= CUE_MIN_EXAMPLES and k >= CUE_SHARE * readable:
            out.append(finding("spurious_cue", "warning", {"word": word, "method": method.name, "count": k,
                                                           "readable": readable}, aggregate.top_word_slugs[word]))
    return out
