"""95% intervals for the figures a report states, so a reader sees how far n examples pin each one down:
Wilson's score interval for a proportion (accuracy, precision, recall: exact enough at small n and never outside
[0, 1], unlike the normal approximation), and a percentile bootstrap with a fixed seed for means and for
statistics that are not proportions (F1, ECE). The same seed and resamples every time, so a rebuild gives the
same bytes."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from reportgen.bundle.vocabulary import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, INTERVAL_LEVEL

Z = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval
BLOCK = 100  # resamples drawn at a time: 100 x n indices stay a few MB for 10k examples


def wilson(successes: int, n: int) -> Optional[dict[str, object]]:
    """Wilson's score interval for successes / n, or None without examples."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    # At 0 or n successes the bound is exactly 0 or 1; rounding would put it a hair inside, below the figure.
    low = 0.0 if successes == 0 else float(max(0.0, centre - half))
    high = 1.0 if successes == n else float(min(1.0, centre + half))
    return {"low": low, "high": high, "kind": "wilson"}


def bootstrap(statistic: Callable[[np.ndarray], np.ndarray], n: int) -> Optional[dict[str, object]]:
    """Percentile interval of statistic over resamples of n examples. statistic takes int[resamples, n] indices
    and returns float[resamples] (NaN where a resample leaves it undefined: left out)."""
    if n <= 0:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    values = np.concatenate([statistic(rng.integers(0, n, size=(min(BLOCK, BOOTSTRAP_RESAMPLES - start), n)))
                             for start in range(0, BOOTSTRAP_RESAMPLES, BLOCK)])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    tail = (1 - INTERVAL_LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return {"low": float(low), "high": float(high), "kind": "bootstrap"}


def bootstrap_mean(values: Sequence[float]) -> Optional[dict[str, object]]:
    data = np.asarray(values, dtype=np.float64)
    return bootstrap(lambda idx: data[idx].mean(axis=1), len(data))


def mean_of(values: Sequence[float]) -> dict[str, object]:
    """A mean as results.json stores every one (MetricMean): the value, the examples it covers, its interval."""
    return {"mean": float(np.mean(values)), "n": len(values), "interval": bootstrap_mean(values)}
