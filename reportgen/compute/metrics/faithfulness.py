"""Comprehensiveness and sufficiency (ERASER, DeYoung et al. 2020) as AOPC over removal thresholds.

Defaults follow ferret 0.4.2 exactly (checked against its evaluators in benchmarks/vs_ferret.py): at
thresholds 10%, 20%, ... 100%, the top int(p x n) of the n non-special word pieces are selected, only those
with a positive score; [CLS]/[SEP] are never removed; a threshold whose selection is empty or the same
as the previous threshold's is left out of the average, and an example with no selection at all scores 0.
Removing a piece deletes it from the sequence (ferret decodes the remaining ids to text and tokenises it
again, which can merge word pieces differently; reportgen deletes the ids). Both metrics are differences
of the explained class's probability."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from reportgen.compute.encode import token_batches
from reportgen.compute.metrics.base import METRICS, Metric, MetricContext
from reportgen.i18n import N_

PERCENTS = tuple(range(10, 101, 10))
THRESHOLDS = tuple(p / 100 for p in PERCENTS)


def ranked_pieces(scores: np.ndarray, special: Sequence[bool]) -> np.ndarray:
    """The non-special pieces' indices, highest score first, ties by position."""
    candidates = np.flatnonzero(~np.asarray(special, dtype=bool))
    return candidates[np.lexsort((candidates, -scores[candidates]))]


def selected_count(percent: int, n: int) -> int:
    """How many of n pieces a threshold selects: exact integer arithmetic, so 30% of 10 is 3."""
    return percent * n // 100


def top_positive(scores: np.ndarray, special: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the highest-scoring non-special pieces: int(fraction * n) of them, keeping only those with a
    positive score. Ties break by position."""
    order = ranked_pieces(scores, special)
    chosen = order[: selected_count(round(fraction * 100), len(order))]
    return np.sort(chosen[scores[chosen] > 0])


def aopc(original: float, perturbed: Sequence[float]) -> float:
    """Area over the perturbation curve: mean drop of the probability over the thresholds."""
    return float(np.mean([original - p for p in perturbed])) if len(perturbed) else 0.0


def counted_thresholds(selections: Sequence[frozenset]) -> list[int]:
    """Which thresholds enter the AOPC (ferret's rule): those with a non-empty selection that differs
    from the previous counted one, so the same perturbation is not averaged in twice."""
    counted, last = [], None
    for k, chosen in enumerate(selections):
        if chosen and chosen != last:
            counted.append(k)
            last = chosen
    return counted


class _RemovalMetric(Metric):
    family = "faithfulness"
    low, high = -1.0, 1.0
    model_scaled = True
    keep_selected: bool  # False: remove the top pieces (comprehensiveness); True: keep only them

    def compute(self, ctx: MetricContext) -> dict[str, list[Optional[float]]]:
        results: dict[str, list[Optional[float]]] = {}
        # Mean probability of the explained class at 0% then at each threshold: the deletion curve
        # (comprehensiveness) or the insertion curve (sufficiency), per method.
        self.curves: dict[str, list[float]] = {}
        start = float(np.mean([ctx.probabilities[i, t] for i, t in enumerate(ctx.targets)]))
        for method, per_example in sorted(ctx.token_scores.items()):
            variants: list[list[int]] = []
            owners: list[int] = []
            counted: list[list[int]] = []
            for i, (enc, scores) in enumerate(zip(ctx.encoded, per_example)):
                special = np.array(enc.special_mask)
                selections = [frozenset(top_positive(np.asarray(scores), special, f).tolist()) for f in THRESHOLDS]
                counted.append(counted_thresholds(selections))
                for chosen in selections:  # every threshold is evaluated: the curves need all of them
                    keep = [t for t in range(enc.length)
                            if special[t] or ((t in chosen) == self.keep_selected)]
                    variants.append(keep)
                    owners.append(i)
            probs = _probabilities(
                ctx, variants, owners, f"{self.title} of {method} (distinct removal variants)")
            values: list[Optional[float]] = []
            for i in range(len(ctx.encoded)):
                mine = probs[i * len(THRESHOLDS) : (i + 1) * len(THRESHOLDS)]
                values.append(aopc(float(ctx.probabilities[i, ctx.targets[i]]), [mine[k] for k in counted[i]]))
            results[method] = values
            by_threshold = np.asarray(probs).reshape(len(ctx.encoded), len(THRESHOLDS)).mean(axis=0)
            self.curves[method] = [start, *map(float, by_threshold)]
        return results


def _probabilities(ctx: MetricContext, variants: list[list[int]], owners: list[int], label: str) -> list[float]:
    """Probability of each owner's target class on each variant (a subset of its token positions). The same
    variant recurs (thresholds that select the same pieces, methods that agree, comprehensiveness and
    sufficiency meeting at the full input): each distinct one runs once per build, cached on the context."""
    cache: dict[tuple[int, tuple[int, ...]], float] = ctx.shared.setdefault("removal_probabilities", {})
    keys = [(o, tuple(v)) for o, v in zip(owners, variants)]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    computed = _run_variants(ctx, [list(k[1]) for k in missing], [k[0] for k in missing], label)
    cache.update(zip(missing, computed))
    return [cache[k] for k in keys]


def _run_variants(ctx: MetricContext, variants: list[list[int]], owners: list[int], label: str) -> list[float]:
    adapter = ctx.adapter
    out = [0.0] * len(variants)
    lengths = [len(v) for v in variants]
    bar = ctx.progress(label, len(variants))
    with torch.no_grad():
        for batch in token_batches(lengths, ctx.config.batch_tokens):
            width = max(lengths[j] for j in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            types = torch.zeros_like(ids)
            for row, j in enumerate(batch):
                enc = ctx.encoded[owners[j]]
                keep = variants[j]
                ids[row, : len(keep)] = torch.tensor([enc.input_ids[t] for t in keep])
                mask[row, : len(keep)] = 1
                if enc.token_type_ids is not None:
                    types[row, : len(keep)] = torch.tensor([enc.token_type_ids[t] for t in keep])
            has_types = ctx.encoded[owners[batch[0]]].token_type_ids is not None
            ids, mask = ids.to(adapter.device), mask.to(adapter.device)
            logits = adapter.logits_from_embeddings(
                adapter.embed(ids), mask, types.to(adapter.device) if has_types else None)
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            for row, j in enumerate(batch):
                out[j] = float(probs[row, ctx.targets[owners[j]]])
            bar.update(len(batch))
    bar.close()
    return out


@METRICS.register("comprehensiveness")
class Comprehensiveness(_RemovalMetric):
    title = N_("Comprehensiveness")
    higher_is_better = True
    keep_selected = False
    curve = "deletion"
    description = N_("""\
**Comprehensiveness** removes the word pieces a method ranks highest (10%, 20%, ... 100% of them, only
positively scored ones) and measures how much the probability of the explained class falls, averaged
over the thresholds (AOPC; as in ferret, a threshold that removes nothing new is not counted). High
values mean the highlighted words really carry the prediction.
""")


@METRICS.register("sufficiency")
class Sufficiency(_RemovalMetric):
    title = N_("Sufficiency")
    higher_is_better = False
    keep_selected = True
    curve = "insertion"
    description = N_("""\
**Sufficiency** keeps *only* the top-ranked word pieces (same thresholds) and measures how much the
probability of the explained class falls, averaged (AOPC). Low values mean the highlighted words alone
are enough for the prediction. Negative values mean the highlighted words alone make the model even
more confident.
""")
