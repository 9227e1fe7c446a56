"""The intervals a report states: Wilson's for proportions, a seeded percentile bootstrap for other statistics,
checked against scipy and against the point figures they surround."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from reportgen.compute.global_analysis.predictions import prediction_quality
from reportgen.compute.intervals import bootstrap_mean, wilson


@pytest.mark.parametrize("k,n", [(18, 25), (0, 7), (7, 7), (1, 3), (540, 600)])
def test_wilson_is_scipys_wilson_interval(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    got = wilson(k, n)
    assert got["kind"] == "wilson"
    assert got["low"] == pytest.approx(expected.low, abs=1e-9) and got["high"] == pytest.approx(expected.high, abs=1e-9)
    assert wilson(0, 0) is None


def test_the_bootstrap_is_seeded_and_surrounds_the_mean():
    values = np.random.default_rng(3).normal(0.6, 0.2, size=200)
    first, second = bootstrap_mean(values), bootstrap_mean(list(values))
    assert first == second and first["kind"] == "bootstrap"
    assert first["low"] < values.mean() < first["high"]
    # About ±1.96 standard errors for a mean of 200 normal values.
    assert first["high"] - first["low"] == pytest.approx(2 * 1.96 * values.std() / np.sqrt(200), rel=0.15)
    assert bootstrap_mean([]) is None and bootstrap_mean([0.5]) == {"low": 0.5, "high": 0.5, "kind": "bootstrap"}


class _Row:
    def __init__(self, slug, label, probabilities):
        self.slug, self.label, self.probabilities = slug, label, probabilities


def test_prediction_quality_intervals_surround_their_figures():
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    rows = []
    for k in range(90):
        p = rng.dirichlet([1, 1, 1])
        gold = labels[int(np.argmax(p))] if k % 3 else labels[k % 3]  # two thirds right, the rest by chance
        rows.append(_Row(f"s{k}", gold, list(p)))
    q = prediction_quality(rows, labels)
    assert q["ece_interval"]["low"] <= q["ece"] <= q["ece_interval"]["high"]
    for c in q["per_class"]:
        for name in ("precision", "recall", "f1"):
            iv = c[f"{name}_interval"]
            assert iv["low"] <= c[name] <= iv["high"], (c["label"], name)
        assert c["precision_interval"]["kind"] == "wilson" and c["f1_interval"]["kind"] == "bootstrap"
