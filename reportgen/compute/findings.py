"""Automatic alerts: what a reader should distrust, each with a severity, drawn from the numbers."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from reportgen.compute.aggregate import SPECIAL_SHARE, DatasetAggregate

SEVERITIES = ("info", "warning", "error")
CUE_SHARE = 0.2  # one word is the top word of at least this share of examples...
CUE_MIN_EXAMPLES = 5  # ...and of at least this many
OVERFIT_GAP = 0.15
CHANCE_P = 0.05  # a probe whose held-out accuracy does not beat the majority class at this level is an error


def finding(code: str, severity: str, message: str, examples: Sequence[str] = (),
            values: Optional[dict[str, Any]] = None, value_label: str = "") -> dict[str, Any]:
    """values: each listed example's own number (slug -> value), so its page says where it stands."""
    out = {"code": code, "severity": severity, "message": message, "examples": list(examples)}
    if values is not None:
        out["values"], out["value_label"] = values, value_label
    return out


def detect_findings(
    aggregate: DatasetAggregate, summary: dict[str, Any], methods: Sequence[dict], probe: Optional[dict]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = aggregate.n
    if summary["unreadable"]:
        out.append(finding("unreadable", "error", f"{len(summary['unreadable'])} of {n} examples are mostly [UNK] "
                           "to the tokenizer; their predictions and explanations are meaningless, and they are "
                           "left out of the probe's fitting, the accuracy and every data-set figure.",
                           summary["unreadable"]))
    titles = {m["name"]: m["title"] for m in methods}
    for name, conv in summary.get("convergence", {}).items():
        if conv["flagged"]:
            out.append(finding("not_converged", "warning", f"{titles[name]} did not converge on "
                               f"{len(conv['flagged'])} of {n} examples (|delta| above {conv['threshold']:.0%} of "
                               "f(input) − f(baseline)); raise its steps (--ig-steps).", conv["flagged"]))
    if summary["truncated"]:
        out.append(finding("truncated", "info", f"{len(summary['truncated'])} examples were truncated to the "
                           "model's length limit.", summary["truncated"]))
    if summary.get("windowed"):
        out.append(finding("windowed", "info", f"{len(summary['windowed'])} examples were longer than the model's "
                           "window and were read in overlapping windows: each prediction is the mean of its windows' "
                           "logits, and every method's scores are merged over the windows (each example's page "
                           "states the rule and shows every window's attention).", summary["windowed"]))
    for name, shares in aggregate.special_shares.items():
        if shares:
            out.append(finding("special_tokens", "warning", f"{titles[name]} puts more than {SPECIAL_SHARE:.0%} of "
                               f"its attribution on [CLS]/[SEP]/punctuation in {len(shares)} examples.", list(shares),
                               dict(shares), f"share of {titles[name]} on [CLS]/[SEP]/punctuation here"))
    if aggregate.disagree_pair and aggregate.disagree:
        a, b = aggregate.disagree_pair
        rhos = aggregate.disagree
        out.append(finding("methods_disagree", "warning", f"{titles[a]} and {titles[b]} rank the words in "
                           f"opposite orders (negative rank correlation) on {len(rhos)} examples.",
                           list(rhos), dict(rhos), f"rank correlation of {titles[a]} with {titles[b]} here"))
    out.extend(_worse_than_random(summary, methods))
    out.extend(_faithfulness_for_cost(summary, methods))
    sanity = (summary.get("sanity") or {}).get("methods", {})
    failing = sorted(titles[name] for name, result in sanity.items() if result["passes"] is False)
    if failing:
        out.append(finding("sanity_check", "warning", f"{', '.join(failing)}: the map barely changes when every "
                           "layer's weights are randomised (rank correlation stays at or above "
                           f"{summary['sanity']['threshold']}); it does not explain this model."))
    out.extend(_spurious_cues(aggregate))
    out.extend(_probe_findings(probe))
    return out


def _probe_findings(probe: Optional[dict]) -> list[dict[str, Any]]:
    """A probe no better than always answering the most frequent class explains nothing about the task:
    every highlight on the site would explain noise. Judged on held-out predictions, by a one-sided binomial
    test against the majority share."""
    if not probe or probe.get("held_out_accuracy") is None:
        return []
    out = []
    accuracy, majority, p_value = probe["held_out_accuracy"], probe["majority_share"], probe["p_value"]
    if p_value is not None and p_value >= CHANCE_P:
        out.append(finding(
            "probe_at_chance", "error",
            f"The probe is no better than always answering the most frequent class: held-out accuracy "
            f"{accuracy:.1%} against {majority:.1%} for the majority class (one-sided binomial test p = "
            f"{p_value:.2f}, on {probe['n_held_out']} examples). The explained function has not learnt the task, "
            "so no highlight on this site can be trusted. Give more labelled examples, fit the probe on a "
            "training set (--probe-train FILE), or explain a model with its own classification head."))
    if probe["train_accuracy"] - accuracy > OVERFIT_GAP:
        out.append(finding(
            "probe_overfits", "warning",
            f"The probe's accuracy on the examples it was fitted on ({probe['train_accuracy']:.1%}) is far above its "
            f"held-out accuracy ({accuracy:.1%}): it memorises these examples more than it learns the task."))
    return out


def at_or_above(findings: Sequence[dict[str, Any]], severity: str) -> list[dict[str, Any]]:
    level = SEVERITIES.index(severity)
    return [f for f in findings if SEVERITIES.index(f["severity"]) >= level]


def _worse_than_random(summary: dict[str, Any], methods: Sequence[dict]) -> list[dict[str, Any]]:
    suff = summary.get("metrics", {}).get("sufficiency", {})
    comp = summary.get("metrics", {}).get("comprehensiveness", {})
    out = []
    titles = {m["name"]: m["title"] for m in methods}
    for name, per, worse in (("sufficiency", suff, lambda v, r: v >= r), ("comprehensiveness", comp,
                                                                          lambda v, r: v <= r)):
        reference = per.get("random")
        if not reference:
            continue
        bad = sorted(titles[k] for k, v in per.items() if k != "random" and worse(v["mean"], reference["mean"]))
        if bad:
            out.append(finding(f"{name}_vs_random", "warning", f"{', '.join(bad)}: {name} no better than random "
                               f"scores ({reference['mean']:.3f}); their highlights are not faithful here."))
    return out


def _faithfulness_for_cost(summary: dict[str, Any], methods: Sequence[dict]) -> list[dict[str, Any]]:
    """What a cheaper method gives up against the first method with a completeness check (Integrated Gradients by
    default): every one-pass decomposition method, and any cheaper method at least as comprehensive."""
    counted = summary.get("cost") or {}
    cost, a = counted.get("methods", {}), counted.get("relative_to")
    metrics = summary.get("metrics", {})
    comp, suff = metrics.get("comprehensiveness", {}), metrics.get("sufficiency", {})
    if a is None or a not in comp:
        return []
    anchor = next(m for m in methods if m["name"] == a)
    out = []
    for m in methods:
        name, share = m["name"], cost.get(m["name"], {}).get("share")
        if name == a or m["family"] == "reference" or name not in comp or not share or share >= 1:
            continue
        as_faithful = comp[name]["mean"] >= comp[a]["mean"]
        if m["family"] != "decomposition" and not as_faithful:
            continue
        parts = [f"comprehensiveness {comp[name]['mean']:.3f} against {anchor['title']}'s {comp[a]['mean']:.3f}"]
        if name in suff and a in suff:
            parts.append(f"sufficiency {suff[name]['mean']:.3f} against {suff[a]['mean']:.3f}")
        verdict = "as comprehensive, for less arithmetic" if as_faithful else "less comprehensive"
        out.append(finding("faithfulness_for_cost", "info",
                           f"{m['title']}: {' and '.join(parts)}, at {share:.2f}× its counted "
                           f"arithmetic per example ({verdict})."))
    return out


def _spurious_cues(aggregate: DatasetAggregate) -> list[dict[str, Any]]:
    method = aggregate.cue_method
    if method is None:
        return []
    out = []
    readable = aggregate.cue_readable
    for word, k in aggregate.top_word_counts.most_common():
        if k >= CUE_MIN_EXAMPLES and k >= CUE_SHARE * readable:
            out.append(finding("spurious_cue", "warning", f"“{word}” is the top {method['title']} word of {k} of "
                               f"{readable} examples: a candidate spurious cue; check that the model does not "
                               "predict from it alone.", aggregate.top_word_slugs[word]))
    return out
