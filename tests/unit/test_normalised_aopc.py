"""Normalised comprehensiveness and sufficiency (Edin et al., ACL 2025) on a tiny model, against every ranking of
a five-piece input worked out by brute force."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from reportgen.compute.metrics import METRICS
from reportgen.compute.metrics.normalised_aopc import threshold_counts
from reportgen.types import Example


def test_threshold_counts_are_the_raw_metrics_integer_fractions():
    assert threshold_counts(5) == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert threshold_counts(10) == list(range(1, 11))


@pytest.fixture(scope="module")
def five_pieces(tiny_encoder):
    import torch

    from reportgen.compute.metrics import MetricContext
    from tests.unit.test_methods import _context

    ctx = _context(tiny_encoder)
    adapter, enc, target = ctx.adapter, ctx.encoded[0], ctx.targets[0]  # [CLS] the film was very good [SEP]
    pieces = [t for t, s in enumerate(enc.special_mask) if not s]
    assert len(pieces) == 5

    @functools.lru_cache(maxsize=None)  # 32 subsets of five pieces: every ranking's area reads from them
    def prob(keep: tuple[int, ...]) -> float:
        with torch.no_grad():
            ids = torch.tensor([[enc.input_ids[t] for t in keep]])
            types = torch.tensor([[enc.token_type_ids[t] for t in keep]])
            logits = adapter.logits_from_embeddings(adapter.embed(ids), torch.ones_like(ids), types)
            return float(torch.softmax(logits, -1)[0, target])

    full = prob(tuple(range(enc.length)))
    probabilities = np.zeros((1, 2))
    probabilities[0, target] = full

    def area(ranking, keep_selected: bool) -> float:
        falls = []
        for k in threshold_counts(len(ranking)):
            chosen = set(ranking[:k])
            keep = tuple(t for t in range(enc.length) if t not in pieces or ((t in chosen) == keep_selected))
            falls.append(full - prob(keep))
        return float(np.mean(falls))

    def context(scores: dict[str, np.ndarray]):
        return MetricContext(adapter, [Example(id="x", text="the film was very good")], [enc], [target],
                             [ctx.target_logits[0]], probabilities, scores, ctx.config, ctx.progress)

    return pieces, area, context


@pytest.mark.parametrize("name, keep_selected", [("normalised_comprehensiveness", False),
                                                 ("normalised_sufficiency", True)])
def test_the_search_bounds_lie_within_every_ranking_and_the_value_is_placed_between_them(five_pieces, name,
                                                                                       keep_selected):
    pieces, area, context = five_pieces
    every = [area(list(order), keep_selected) for order in itertools.permutations(pieces)]
    exact_low, exact_high = min(every), max(every)
    assert exact_high - exact_low > 1e-6  # the tiny model does tell rankings apart

    metric = METRICS.get(name)()
    scores = np.array([0.0, 0.3, -0.2, 0.9, 0.1, 0.4, 0.0], dtype=np.float32)
    ranking = [3, 5, 1, 4, 2]  # the scores' order, highest first
    values = metric.compute(context({"m": [scores], "flat": [np.zeros(7, dtype=np.float32)]}))
    (low, high), = metric.bounds(context({}))
    # A greedy search finds rankings that exist, so it never goes past the true bounds.
    assert exact_low - 1e-7 <= low <= high <= exact_high + 1e-7
    mine = area(ranking, keep_selected)
    low, high = min(low, mine), max(high, mine)
    share = (mine - low) / (high - low)
    # Deletion: the best ranking makes the probability fall most; insertion: least. Both read higher is better.
    assert values["m"][0] == pytest.approx(share if not keep_selected else 1 - share, abs=1e-4)
    assert 0.0 <= values["flat"][0] <= 1.0
    assert len(metric._bounds) == 1  # one search for both methods, and for the bounds asked for again


def test_the_search_reaches_the_exact_bounds_on_most_rankings_of_a_short_input(five_pieces):
    """With five pieces the greedy search should find the best and the worst ranking's area or come close: its
    bounds cover most of the span of every ranking's area."""
    pieces, area, context = five_pieces
    for name, keep_selected in (("normalised_comprehensiveness", False), ("normalised_sufficiency", True)):
        every = [area(list(order), keep_selected) for order in itertools.permutations(pieces)]
        metric = METRICS.get(name)()
        (low, high), = metric.bounds(context({}))
        assert (high - low) >= 0.8 * (max(every) - min(every)), name
