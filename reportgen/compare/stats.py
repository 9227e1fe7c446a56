"""The comparison's statistics, each small enough to check by hand (tests/unit/test_compare_stats.py)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

TOP_K = 5  # the top-k overlap of two explanations: their k highest-scoring words (fewer in a shorter text)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test on the discordant pairs: b (OLD right, NEW wrong) and c (the reverse) are a
    Binomial(b + c, 1/2) under "equally accurate"; p = 2 P(X <= min(b, c)), capped at 1, and 1 without discordant
    pairs. Exact rational arithmetic, so 10,000 pairs lose no precision."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2 ** n)))


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n with ties given the mean of the ranks they span (scipy.stats.rankdata's "average")."""
    data = np.asarray(values, dtype=np.float64)
    order = np.argsort(data, kind="stable")
    ranks = np.empty(len(data))
    sorted_values = data[order]
    start = 0
    while start < len(data):
        end = start
        while end + 1 < len(data) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Spearman's rank correlation (Pearson's on average ranks, as scipy.stats.spearmanr); None when it is
    undefined: fewer than two values, or either side constant."""
    if len(a) != len(b):
        raise ValueError("spearman: the two sides differ in length")
    if len(a) < 2:
        return None
    ra, rb = average_ranks(a) - (len(a) + 1) / 2, average_ranks(b) - (len(b) + 1) / 2
    norm = math.sqrt(float(ra @ ra) * float(rb @ rb))
    if norm == 0:
        return None
    return max(-1.0, min(1.0, float(ra @ rb) / norm))


def top_overlap(a: Sequence[float], b: Sequence[float], k: int = TOP_K) -> Optional[float]:
    """Share of the k highest-scoring positions (ties broken by position) that both sides rank in their top k;
    k is capped at the length. None without positions."""
    k = min(k, len(a))
    if k == 0:
        return None
    def top(values: Sequence[float]) -> set[int]:
        return set(np.lexsort((np.arange(len(values)), -np.asarray(values, dtype=np.float64)))[:k].tolist())
    return len(top(a) & top(b)) / k


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    low, mid, high = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
    return float(low), float(mid), float(high)


class Calibration:
    """Expected calibration error over equal-width confidence bins, accumulated one example at a time."""

    BINS = 10

    def __init__(self) -> None:
        self.count = np.zeros(self.BINS, dtype=np.int64)
        self.confidence = np.zeros(self.BINS)
        self.right = np.zeros(self.BINS)

    def add(self, confidence: float, right: bool) -> None:
        k = min(int(confidence * self.BINS), self.BINS - 1)
        self.count[k] += 1
        self.confidence[k] += confidence
        self.right[k] += right

    def ece(self) -> Optional[float]:
        n = int(self.count.sum())
        if n == 0:
            return None
        used = self.count > 0
        gaps = np.abs(self.right[used] - self.confidence[used])  # n_k |acc_k - conf_k|, summed then over n
        return float(gaps.sum() / n)
