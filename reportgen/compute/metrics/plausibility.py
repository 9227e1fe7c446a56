"""Agreement of word scores with human rationales: token F1 and IOU of the top-k words, and AUPRC."""

from __future__ import annotations

from typing import Optional

import numpy as np

from reportgen.compute.metrics.base import METRICS, Metric, MetricContext
from reportgen.compute.words import rationale_words, word_scores
from reportgen.i18n import N_


def top_k_words(scores: np.ndarray, k: int) -> set[int]:
    order = np.lexsort((np.arange(len(scores)), -scores))
    return set(order[:k].tolist())


def f1_iou(predicted: set[int], gold: set[int]) -> tuple[float, float]:
    overlap = len(predicted & gold)
    precision = overlap / len(predicted) if predicted else 0.0
    recall = overlap / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    union = len(predicted | gold)
    return f1, (overlap / union if union else 0.0)


def average_precision(scores: np.ndarray, gold: np.ndarray) -> float:
    """AUPRC as average precision: mean of the precision at the rank of every rationale word
    (ranks sorted by score, ties broken by position)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    hits = gold[order].astype(bool)
    if not hits.any():
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


class _RationaleMetric(Metric):
    family = "plausibility"
    low, high = 0.0, 1.0
    higher_is_better = True

    def value(self, scores: np.ndarray, gold: np.ndarray) -> float:
        raise NotImplementedError

    def compute(self, ctx: MetricContext) -> dict[str, list[Optional[float]]]:
        results: dict[str, list[Optional[float]]] = {}
        golds = [rationale_words(ex, enc) for ex, enc in zip(ctx.examples, ctx.encoded)]
        for method, per_example in sorted(ctx.token_scores.items()):
            values: list[Optional[float]] = []
            for enc, gold, scores in zip(ctx.encoded, golds, per_example):
                if not gold.any():
                    values.append(None)  # no human rationale: nothing to agree with
                    continue
                values.append(self.value(word_scores(scores, enc), gold))
            results[method] = values
        return results


@METRICS.register("token_f1")
class TokenF1(_RationaleMetric):
    title = N_("Token F1")
    description = N_("""\
**Token F1** compares the k highest-scoring words with the k words the annotators marked (k = the
rationale's length in words). Plausibility says whether an explanation looks right to people, not
whether the model uses those words.
""")

    def value(self, scores: np.ndarray, gold: np.ndarray) -> float:
        return f1_iou(top_k_words(scores, int(gold.sum())), set(np.flatnonzero(gold).tolist()))[0]


@METRICS.register("token_iou")
class TokenIOU(_RationaleMetric):
    title = N_("Token IOU")
    description = N_("""\
**Token IOU** is the intersection over union of the k highest-scoring words and the rationale's words.
""")

    def value(self, scores: np.ndarray, gold: np.ndarray) -> float:
        return f1_iou(top_k_words(scores, int(gold.sum())), set(np.flatnonzero(gold).tolist()))[1]


@METRICS.register("auprc")
class AUPRC(_RationaleMetric):
    title = N_("AUPRC")
    description = N_("""\
**AUPRC** (average precision) ranks all words by score and asks how early the rationale's words come;
1 means every marked word outranks every unmarked one. It uses the full ranking, not a cut-off.
""")

    def value(self, scores: np.ndarray, gold: np.ndarray) -> float:
        return average_precision(scores, gold)

