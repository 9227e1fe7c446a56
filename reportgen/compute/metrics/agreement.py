"""Agreement between methods: mean Spearman rank correlation of their word scores over examples."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    """Rank correlation (average ranks for ties); None when either side is constant, too short or not
    finite (a randomised model in the sanity check can overflow)."""
    if not (rankable(a) and rankable(b)):
        return None
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    value = float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))
    return value if np.isfinite(value) else None


def rankable(a: np.ndarray) -> bool:
    """Whether a rank correlation with this map is defined: at least two finite values, not all equal."""
    return len(a) >= 2 and bool(np.isfinite(a).all()) and a.max() != a.min()


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
    """0-based ranks, ties given the mean of the ranks they span (start + (count - 1) / 2), without a loop: the
    data-set aggregate ranks every example's words once per pair of methods."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.empty(len(values), dtype=bool)
    starts_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    counts = np.empty(len(starts), dtype=np.int64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = len(values) - starts[-1]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = (starts + (counts - 1) / 2.0)[np.cumsum(starts_group) - 1]
    return ranks
