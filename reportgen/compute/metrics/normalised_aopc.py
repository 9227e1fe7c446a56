"""Comprehensiveness and sufficiency normalised by their bounds per example (Edin et al., ACL 2025, "Normalized
AOPC"), so they compare across models.

Raw AOPC is a fall in the explained class's probability: a confident model falls further whatever its explanations
are worth, and the best and worst values any ranking of an example's pieces could reach differ from example to
example and from model to model. Here each example's value is placed between those two: 0 for the worst ranking,
1 for the best. The bounds are found by a greedy search, one threshold at a time: at each of the ten thresholds
(10%, 20%, ... 100% of the non-special pieces, as the raw metrics count them) the search tries every remaining
piece alone and takes the ones that move the probability most (for the best ranking) or least (for the worst), as
Edin et al.'s beam search with a beam of one, stepped by threshold. A search can miss the true bound; where a
method's own ranking does better than the search found, the bound is that ranking, so the value is exactly 1 (or 0
for one worse than the worst found).

Unlike the raw metrics (ferret's rule: only positively scored pieces, repeated selections not counted), the
method's ranking here is all of its non-special pieces by score (ties by position), so the method and its bounds
are areas over the same ten thresholds."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from reportgen.compute.metrics.base import METRICS, Metric, MetricContext
from reportgen.compute.metrics.faithfulness import PERCENTS, _probabilities, ranked_pieces, selected_count
from reportgen.i18n import N_

# The search tries each remaining piece at each threshold (about 5.5 x pieces passes per bound): an example with
# more pieces than this is left without a value, as its search would cost minutes.
MAX_SEARCH_PIECES = 128
FLAT = 1e-6  # bounds closer than this: every ranking scores the same, and the normalised value is undefined


def threshold_counts(n: int) -> list[int]:
    """How many of n pieces each threshold selects, as the raw metrics count them."""
    return [selected_count(p, n) for p in PERCENTS]


class _NormalisedAOPC(Metric):
    family = "faithfulness"
    low, high = 0.0, 1.0
    keep_selected: bool  # False: the pieces are removed (deletion); True: only they are kept (insertion)
    best_falls_most: bool  # the best ranking makes the probability fall most (deletion) or least (insertion)

    def __init__(self) -> None:
        # Bounds per model input and probe, kept across the methods of a build: every method is normalised by the
        # same two numbers, and each search runs once. Probes are held so their ids stay theirs.
        self._bounds: dict[tuple, Optional[tuple[float, float]]] = {}
        self._probes: list = []

    def compute(self, ctx: MetricContext) -> dict[str, list[Optional[float]]]:
        bounds = self.bounds(ctx)
        results: dict[str, list[Optional[float]]] = {}
        for method, per_example in sorted(ctx.token_scores.items()):
            areas = self._areas(ctx, [ranked_pieces(np.asarray(s), enc.special_mask).tolist() for s, enc in
                                      zip(per_example, ctx.encoded)], f"{self.title} of {method}")
            results[method] = [_placed(area, bound, self.best_falls_most) for area, bound in zip(areas, bounds)]
        return results

    def bounds(self, ctx: MetricContext) -> list[Optional[tuple[float, float]]]:
        """Per example, the smallest and largest area the search found (None past MAX_SEARCH_PIECES or with no
        piece to rank)."""
        if ctx.adapter.probe is not None and all(p is not ctx.adapter.probe for p in self._probes):
            self._probes.append(ctx.adapter.probe)
        keys = [(tuple(enc.input_ids), tuple(enc.token_type_ids or ()), target, id(ctx.adapter.probe))
                for enc, target in zip(ctx.encoded, ctx.targets)]
        todo = [i for i, key in enumerate(keys) if key not in self._bounds]
        searchable = [i for i in todo if 0 < len(_candidates(ctx.encoded[i])) <= MAX_SEARCH_PIECES]
        for i in todo:
            self._bounds[keys[i]] = None
        if searchable:
            low = self._search(ctx, searchable, largest=False)
            high = self._search(ctx, searchable, largest=True)
            for i, a, b in zip(searchable, low, high):
                self._bounds[keys[i]] = (min(a, b), max(a, b))
        return [self._bounds[key] for key in keys]

    def _search(self, ctx: MetricContext, rows: Sequence[int], largest: bool) -> list[float]:
        """Greedy by threshold, all rows at once: at each threshold, every remaining piece is tried with the ones
        chosen so far, and those that make the probability fall most (largest) or least join them."""
        chosen: dict[int, list[int]] = {i: [] for i in rows}
        remaining = {i: _candidates(ctx.encoded[i]) for i in rows}
        falls: dict[int, list[float]] = {i: [] for i in rows}
        counts = {i: threshold_counts(len(remaining[i])) for i in rows}
        for step in range(len(PERCENTS)):
            tries: list[tuple[int, int]] = []  # (row, piece) whose one-more variant runs
            for i in rows:
                need = counts[i][step] - len(chosen[i])
                if 0 < need < len(remaining[i]):
                    tries.extend((i, piece) for piece in remaining[i])
            fall_of = dict(zip(tries, self._falls(ctx, [(i, chosen[i] + [piece]) for i, piece in tries],
                                                  f"{self.title}: bounds")))
            for i in rows:
                need = counts[i][step] - len(chosen[i])
                if need <= 0:
                    continue
                if need < len(remaining[i]):  # the pieces whose own try moved most (least), ties by position
                    order = sorted(remaining[i], key=lambda p: (-fall_of[(i, p)] if largest else fall_of[(i, p)], p))
                    picked = order[:need]
                else:
                    picked = list(remaining[i])
                taken = set(picked)
                chosen[i] = chosen[i] + sorted(taken)
                remaining[i] = [p for p in remaining[i] if p not in taken]
            at_step = self._falls(ctx, [(i, chosen[i]) for i in rows], f"{self.title}: bounds")
            for i, fall in zip(rows, at_step):
                falls[i].append(fall)
        return [float(np.mean(falls[i])) for i in rows]

    def _areas(self, ctx: MetricContext, rankings: Sequence[list[int]], label: str) -> list[float]:
        """The area over the ten thresholds of each example's ranking (its first k pieces at each threshold)."""
        variants = [(i, ranking[: k]) for i, ranking in enumerate(rankings)
                    for k in threshold_counts(len(ranking))]
        falls = self._falls(ctx, variants, label)
        per = len(PERCENTS)
        return [float(np.mean(falls[i * per: (i + 1) * per])) for i in range(len(rankings))]

    def _falls(self, ctx: MetricContext, selections: Sequence[tuple[int, list[int]]], label: str) -> list[float]:
        """The fall of the explained class's probability with each selection removed (or kept alone)."""
        variants, owners = [], []
        for i, selected in selections:
            enc, picked = ctx.encoded[i], set(selected)
            special = enc.special_mask
            variants.append([t for t in range(enc.length) if special[t] or ((t in picked) == self.keep_selected)])
            owners.append(i)
        probs = _probabilities(ctx, variants, owners, label)
        return [float(ctx.probabilities[i, ctx.targets[i]]) - p for (i, _), p in zip(selections, probs)]


def _candidates(enc) -> list[int]:
    special = enc.special_mask
    return [t for t in range(enc.length) if not special[t]]


def _placed(area: float, bound: Optional[tuple[float, float]], best_falls_most: bool) -> Optional[float]:
    """area between the bounds: 0 at the worst ranking, 1 at the best, with a method that beat the search taken as
    the bound itself."""
    if bound is None:
        return None
    low, high = min(bound[0], area), max(bound[1], area)
    if high - low < FLAT:
        return None
    share = (area - low) / (high - low)
    return share if best_falls_most else 1.0 - share


@METRICS.register("normalised_comprehensiveness")
class NormalisedComprehensiveness(_NormalisedAOPC):
    title = N_("Normalised comprehensiveness")
    higher_is_better = True
    keep_selected = False
    best_falls_most = True
    description = N_("""\
**Normalised comprehensiveness** (Edin et al., ACL 2025, "Normalized AOPC") places each example's comprehensiveness
between the lowest and the highest that any ranking of its word pieces could reach on this model: 0 is the worst
ranking, 1 the best. Raw comprehensiveness is a fall in probability, so a more confident model scores higher
whatever its explanations are worth; normalised, two models' values compare. The method's ranking is all of its
pieces by score at the ten thresholds (10%, ... 100%); the bounds come from a greedy search that tries each
remaining piece at each threshold (about 11 × pieces extra passes per example, shared by every method; examples
of more than 128 pieces are left out). A search can miss the true bound, so values near 1 mean "as good as the
search found".
""")


@METRICS.register("normalised_sufficiency")
class NormalisedSufficiency(_NormalisedAOPC):
    title = N_("Normalised sufficiency")
    higher_is_better = True
    keep_selected = True
    best_falls_most = False
    description = N_("""\
**Normalised sufficiency** places each example's sufficiency between the best and the worst that any ranking of
its word pieces could reach on this model, keeping only the top pieces at each threshold (Edin et al., ACL 2025):
1 is the ranking whose top pieces alone keep the prediction best, 0 the worst. Unlike raw sufficiency (lower is
better), **higher is better** here, so both normalised metrics read the same way and compare across models. The
bounds come from the same kind of greedy search as for normalised comprehensiveness.
""")
