"""Global analyses of the model on the user's examples, for model.html: computed once, saved in the bundle."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, Sequence

from reportgen.bundle import ExampleResult
from reportgen.compute.aggregate import DatasetAggregate
from reportgen.compute.encode import EncodedExample
from reportgen.compute.forward import Progress, SharedForward
from reportgen.compute.global_analysis.head_importance import head_importance
from reportgen.compute.global_analysis.head_stats import head_statistics, typical_example
from reportgen.compute.global_analysis.layers import layer_probing, layer_projections
from reportgen.compute.global_analysis.predictions import prediction_quality
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup, restricted

log = logging.getLogger(__name__)


def analyse_model(
    adapter: ModelAdapter,
    encoded: Sequence[EncodedExample],
    results: Sequence[ExampleResult],
    shared: SharedForward,
    labels: Sequence[str],
    cfg: ComputeConfig,
    progress: Progress,
    groups: Sequence[ProbeGroup],
    aggregate: DatasetAggregate,
    n_sampled_from: int,
) -> dict[str, Any]:
    """encoded/results/shared/groups: the seeded sample (--global-sample) the analyses that need every example
    at once run on (head statistics, head importance, layer probes, projection); class words and prediction
    quality come from every example (aggregate). Every analysis runs on the readable examples only (mostly-[UNK]
    texts say nothing about the model), and every prediction in it is held out: each example goes through the
    probe of its own fold."""
    log.info("global analyses")
    keep = [i for i, r in enumerate(results) if not r.unreadable]
    forced = not keep  # only reachable with --force: every text is unreadable, analysed anyway and said so
    if forced:
        keep = list(range(len(results)))
    enc = [encoded[i] for i in keep]
    kept = [results[i] for i in keep]
    local_groups = restricted(groups, keep)
    heads = head_statistics([shared.attentions[i] for i in keep], enc, adapter.tokenizer.cls_token,
                            adapter.tokenizer.sep_token)
    heads["typical_example"] = kept[typical_example(enc, [False] * len(enc))].slug
    # Importance is measured against the gold label where there is one, else the model's own prediction.
    targets = [labels.index(r.label if r.label is not None else r.predicted) for r in kept]
    importance = head_importance(adapter, enc, targets, cfg.batch_tokens, progress, local_groups)
    importance["labels_from"] = _labels_from(kept)
    layer_pooled = shared.layer_pooled[keep]
    return {
        "n_examples": len(kept),
        "n_unreadable": 0 if forced else len(results) - len(kept),
        "all_unreadable": forced,
        # The sample: every example when there are at most --global-sample, else a seeded random draw.
        "sample": {"size": len(results), "of": n_sampled_from, "seed": cfg.seed},
        "heads": heads,
        "importance": importance,
        "probing": layer_probing(layer_pooled, [r.label for r in kept], labels, cfg.seed, progress),
        "projection": {**layer_projections(layer_pooled), "slugs": [r.slug for r in kept]},
        "class_words": aggregate.class_words(),
        "quality": prediction_quality([Prediction(*row) for row in aggregate.labelled], labels),
    }


class Prediction(NamedTuple):
    slug: str
    label: str
    probabilities: list[float]


def _labels_from(results: Sequence[ExampleResult]) -> dict[str, int]:
    gold = sum(1 for r in results if r.label is not None)
    return {"gold": gold, "predicted": len(results) - gold}
