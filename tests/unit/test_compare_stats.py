"""The comparison's statistics against hand-worked cases and scipy: exact McNemar, Spearman with ties, top-k
overlap, calibration error, the paired bootstrap of an accuracy difference; and word alignment across tokenizers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from reportgen.bundle.records import Word
from reportgen.compare.align import _summed, shared_spans
from reportgen.compare.stats import Calibration, average_ranks, mcnemar_exact, spearman, top_overlap
from reportgen.compute.intervals import bootstrap_mean


@pytest.mark.parametrize("b, c, expected", [
    (0, 0, 1.0),  # no discordant pair: nothing to test
    (1, 0, 1.0),  # 2 x P(X <= 0 | n=1) = 2 x 1/2
    (5, 0, 2 / 32),  # 2 x (1/2)^5
    (10, 2, 2 * (1 + 12 + 66) / 4096),  # n = 12: C(12,0) + C(12,1) + C(12,2) over 2^12
    (2, 10, 2 * (1 + 12 + 66) / 4096),  # symmetric
    (6, 6, 1.0),  # capped at 1
])
def test_mcnemar_exact_by_hand(b, c, expected):
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_exact_matches_scipy_binomial_test_and_survives_large_counts():
    for b, c in [(3, 9), (40, 61), (150, 120), (0, 7)]:
        assert mcnemar_exact(b, c) == pytest.approx(scipy_stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    p = mcnemar_exact(5000, 5200)  # 2^10200 would overflow a float: exact integers do not
    assert 0 < p < 1 and math.isfinite(p)
    assert p == pytest.approx(scipy_stats.binomtest(5000, 10200, 0.5).pvalue, rel=1e-6)


def test_average_ranks_and_spearman_with_ties_match_scipy():
    a = [0.3, 0.1, 0.3, 0.9, -0.2, 0.1]
    b = [1.0, 2.0, 2.0, 5.0, 0.0, 3.0]
    assert average_ranks(a).tolist() == scipy_stats.rankdata(a).tolist()
    assert spearman(a, b) == pytest.approx(scipy_stats.spearmanr(a, b).statistic, abs=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 4, 12).astype(float), rng.normal(size=12)
        expected = scipy_stats.spearmanr(x, y).statistic
        assert spearman(x, y) == pytest.approx(expected, abs=1e-12)


def test_spearman_is_undefined_for_constant_or_too_short_sides():
    assert spearman([1.0, 1.0, 1.0], [0.1, 0.2, 0.3]) is None
    assert spearman([0.1, 0.2], [0.0, 0.0]) is None
    assert spearman([0.5], [0.7]) is None
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0


def test_top_overlap_counts_the_shared_top_k():
    assert top_overlap([5, 4, 3, 2, 1, 0], [5, 4, 3, 2, 1, 0], k=3) == 1.0
    assert top_overlap([5, 4, 3, 0, 0, 0], [0, 0, 0, 5, 4, 3], k=3) == 0.0
    assert top_overlap([5, 4, 3, 2], [4, 5, 0, 3], k=2) == 1.0
    assert top_overlap([1, 2], [2, 1], k=5) == 1.0  # k capped at the length
    assert top_overlap([], [], k=5) is None


def test_calibration_error_by_hand():
    cal = Calibration()
    for confidence, right in [(0.95, True), (0.95, False), (0.65, True), (0.62, True)]:
        cal.add(confidence, right)
    # bin 0.9-1.0: 2 examples, confidence 0.95, accuracy 0.5 -> |0.5 - 0.95| x 2; bin 0.6-0.7: mean conf 0.635, acc 1
    expected = (2 * abs(0.5 - 0.95) + 2 * abs(1 - 0.635)) / 4
    assert cal.ece() == pytest.approx(expected)
    assert Calibration().ece() is None


def test_paired_bootstrap_of_an_accuracy_difference():
    assert bootstrap_mean([0.0] * 50)["low"] == 0.0  # nothing changed: the interval is the point
    diffs = [1.0] * 30 + [0.0] * 70  # NEW right on 30 more of 100
    interval = bootstrap_mean(diffs)
    assert interval["low"] < 0.3 < interval["high"] and interval["low"] > 0.15
    assert bootstrap_mean(diffs) == interval  # seeded: the same bytes every run


def test_word_spans_line_up_across_tokenizers():
    """BERT splits "don't" into three words, a byte-level BPE keeps it whole: they meet on the whole word."""
    bert = [Word("don", 0, 3, 0), Word("'", 3, 4, 0), Word("t", 4, 5, 0), Word("stop", 6, 10, 0)]
    bpe = [Word("don't", 0, 5, 0), Word(" stop", 6, 10, 0), Word("yes", 0, 3, 1)]
    spans = shared_spans(bert, bpe)
    assert [(s.segment, s.start, s.end) for s in spans] == [(0, 0, 5), (0, 6, 10), (1, 0, 3)]
    totals, counts = _summed(spans, bert, [0.1, 0.2, 0.3, -1.0])
    assert totals[:2] == pytest.approx([0.6, -1.0]) and counts == [3, 1, 0]
