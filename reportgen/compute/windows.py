"""How the windows of a long text make one explanation (--long-inputs window). The rules, stated once:

- prediction: the document's logits are the mean of its windows' logits (a probe is affine, so for a bare
  encoder this is also the probe applied to the mean of the windows' pooled features);
- scores: each window is explained for the document's target class against that window's own logit; a piece's
  score is the sum over the windows that read it of its score there, divided by the number of windows. That is
  each window's attribution to the mean logit, so completeness carries over: the document's scores add up to
  the mean over windows of f(window) - f(baseline);
- per-example diagnostics: sums and values (delta, f(x), f(baseline)) are averaged like the logits; the
  relative delta and the step count are the largest of any window (a document is as unresolved as its worst
  window), and every window's own values are kept under "windows";
- metrics: computed in each window with that window's scores, then averaged over the windows."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from reportgen.compute.encode import Document

WORST_OF = ("relative_delta", "steps", "samples")  # a document is as unresolved as its worst window


def merged_scores(doc: Document, window_scores: Sequence[np.ndarray]) -> np.ndarray:
    """float32[whole length]: each window's token scores moved to the whole text, summed, / number of windows."""
    if not doc.windowed:
        return np.asarray(window_scores[0])
    total = np.zeros(doc.whole.length, dtype=np.float64)
    for mapping, scores in zip(doc.to_whole, window_scores):
        np.add.at(total, np.asarray(mapping), np.asarray(scores, dtype=np.float64))
    return (total / len(doc.windows)).astype(np.float32)


def merged_info(infos: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if len(infos) == 1:
        return infos[0]
    out: dict[str, Any] = {}
    for key in infos[0]:
        values = [info.get(key) for info in infos]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if values and all(isinstance(v, bool) for v in values):
            out[key] = all(values)  # e.g. converged: only if every window did
        elif len(numbers) == len(values) and numbers:
            out[key] = max(numbers) if key in WORST_OF else float(np.mean(numbers))
        else:
            out[key] = next((v for v in values if v is not None), None)
    recomputed = next((info["recomputed_from"] for info in infos if "recomputed_from" in info), None)
    if recomputed is not None:
        out["recomputed_from"] = recomputed
    out["windows"] = [dict(info) for info in infos]
    return out


def merged_metric(values: Sequence[Optional[float]]) -> Optional[float]:
    if len(values) == 1:
        return values[0]  # one window: the example's own value, as it was
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def mean_over_windows(values: np.ndarray, owner: Sequence[int], n: int) -> np.ndarray:
    """[n, ...]: each document's mean over its windows' rows."""
    owner_arr = np.asarray(owner)
    total = np.zeros((n, *values.shape[1:]), dtype=np.float64)
    np.add.at(total, owner_arr, values.astype(np.float64))
    counts = np.bincount(owner_arr, minlength=n).reshape(-1, *([1] * (values.ndim - 1)))
    return (total / np.maximum(counts, 1)).astype(values.dtype)
