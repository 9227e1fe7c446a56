"""Agreement between methods: mean Spearman rank correlation of their word scores over examples."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    """Rank correlation (average ranks for ties); None when either side is constant, too short or not
    finite (a randomised model in the sanity check can overflow)."""
    if len(a) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    value = float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])
    return value if np.isfinite(value) else None


def agreement_matrix(word_scores: dict[str, Sequence[np.ndarray]]) -> dict[str, dict[str, Optional[float]]]:
    names = sorted(word_scores)
    matrix: dict[str, dict[str, Optional[float]]] = {a: {} for a in names}
    for a in names:
        for b in names:
            values = [spearman(x, y) for x, y in zip(word_scores[a], word_scores[b])]
            kept = [v for v in values if v is not None]
            matrix[a][b] = float(np.mean(kept)) if kept else None
    return matrix


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for value in np.unique(values):  # average the ranks of ties
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
