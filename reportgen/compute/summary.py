"""Data-set level numbers the index and the auto-written findings are drawn from."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional, Sequence

import numpy as np

from reportgen.compute.bundle import ExampleResult

IG_RELATIVE_DELTA_WARN = 0.05  # |delta| above 5% of |f(x) - f(baseline)|: the integral is not resolved
TOP_WORDS = 15


def summarise(
    results: Sequence[ExampleResult], labels: Sequence[str], methods: Sequence[dict],
    ig_threshold: float = IG_RELATIVE_DELTA_WARN,
) -> dict[str, Any]:
    """Every prediction here is held out (a model's own head, or a probe that never saw the example); texts
    that are mostly [UNK] are left out of every data-set figure, and counted."""
    readable = [r for r in results if not r.unreadable]
    labelled = [r for r in readable if r.label is not None]
    correct = [r for r in labelled if r.correct]
    confusion = {gold: {pred: 0 for pred in labels} for gold in labels}
    for r in labelled:
        confusion[r.label][r.predicted] += 1
    summary: dict[str, Any] = {
        "n_examples": len(results),
        "n_readable": len(readable),
        "n_labelled": len(labelled),
        "n_correct": len(correct),
        "accuracy": len(correct) / len(labelled) if labelled else None,
        "confusion": confusion,
        "predicted_counts": {lab: sum(1 for r in readable if r.predicted == lab) for lab in labels},
        "mean_confidence": float(np.mean([r.confidence for r in readable])) if readable else None,
        "unreadable": [r.slug for r in results if r.unreadable],
        "truncated": [r.slug for r in results if r.truncated],
        "special_mass_by_layer": _mean_rows([r.attention["special_mass"] for r in results]),
        "top_words": {m["name"]: top_words(readable, m["name"], m["signed"]) for m in methods},
        # Signed methods per explained class: the words that push the model toward each of its answers.
        "top_words_by_class": {
            m["name"]: {lab: top_words([r for r in readable if r.target == lab], m["name"], True) for lab in labels}
            for m in methods if m["signed"] and m["family"] != "reference"},
    }
    summary["metrics"] = metric_means(results)
    summary["gxi_vs_ig"] = _gxi_vs_ig(readable, methods)
    if any(m["name"] == "integrated_gradients" for m in methods):
        summary["integrated_gradients"] = _ig_summary(results, ig_threshold)
    return summary


def top_words(results: Sequence[ExampleResult], method: str, signed: bool) -> list[dict[str, Any]]:
    """Words with the most attribution toward the explained class, summed over examples after
    normalising each example to unit total |attribution| (so long texts do not dominate)."""
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        scores = np.asarray(r.methods[method]["words"], dtype=np.float64)
        norm = np.abs(scores).sum()
        if norm == 0 or not np.isfinite(norm):  # nothing to rank, or the method skipped this example
            continue
        seen = set()
        for word, score in zip(r.words, scores / norm):
            key = word["text"].lower()
            contribution = score if signed else abs(score)
            if contribution <= 0 or not any(ch.isalnum() for ch in key):
                continue
            totals[key] += float(contribution)
            if key not in seen:
                counts[key] += 1
                seen.add(key)
    ranked = sorted(totals, key=lambda k: (-totals[k], k))[:TOP_WORDS]
    return [{"word": k, "score": totals[k], "examples": counts[k]} for k in ranked]


def metric_means(results: Sequence[ExampleResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """metric -> method -> {"mean", "n"}, over the examples where the metric applies."""
    collected: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        for method, values in r.metrics.items():
            for metric, value in values.items():
                if value is not None:
                    collected[metric][method].append(value)
    return {
        metric: {method: {"mean": float(np.mean(v)), "n": len(v)} for method, v in sorted(per.items())}
        for metric, per in sorted(collected.items())
    }


def _ig_summary(results: Sequence[ExampleResult], threshold: float) -> dict[str, Any]:
    infos = [r.methods["integrated_gradients"]["info"] for r in results]
    rel = [info["relative_delta"] for info in infos]
    flagged = [r.slug for r, v in zip(results, rel) if v > threshold]
    steps = [info["steps"] for info in infos]
    finite = [v for v in rel if np.isfinite(v)]
    return {
        "threshold": threshold,
        "rule": infos[0].get("rule", "gauss-legendre") if infos else None,
        "mean_steps": float(np.mean(steps)) if steps else None,
        "steps_histogram": {str(k): steps.count(k) for k in sorted(set(steps))},
        "median_relative_delta": float(np.median(finite)) if finite else None,
        "max_relative_delta": float(np.max(finite)) if finite else None,
        "max_abs_delta": float(max(abs(r.methods["integrated_gradients"]["info"]["delta"]) for r in results)),
        "flagged": flagged,
    }


def _mean_rows(rows: Sequence[Sequence[float]]) -> list[float]:
    return [float(v) for v in np.mean(np.asarray(rows, dtype=np.float64), axis=0)] if rows else []


def _gxi_vs_ig(readable: Sequence[ExampleResult], methods: Sequence[dict]) -> Optional[dict[str, Any]]:
    """How often Gradient x Input and Integrated Gradients rank the words in opposite orders: the methods page
    explains why (a one-point linearisation against a path integral) with these numbers."""
    from reportgen.compute.metrics.agreement import spearman

    if not {"gradient_x_input", "integrated_gradients"} <= {m["name"] for m in methods}:
        return None
    rhos = [spearman(np.asarray(r.methods["gradient_x_input"]["words"]),
                     np.asarray(r.methods["integrated_gradients"]["words"])) for r in readable]
    rhos = [r for r in rhos if r is not None]
    if not rhos:
        return None
    return {"n": len(rhos), "negative": sum(1 for r in rhos if r < 0), "mean": float(np.mean(rhos))}
