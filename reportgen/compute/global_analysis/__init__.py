"""Global analyses of the model on the user's examples, for model.html: computed once, saved in the bundle."""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np

from reportgen.compute.bundle import ExampleResult
from reportgen.compute.encode import EncodedExample
from reportgen.compute.forward import Progress, SharedForward
from reportgen.compute.global_analysis.head_importance import head_importance
from reportgen.compute.global_analysis.head_stats import head_statistics, typical_example
from reportgen.compute.global_analysis.layers import layer_probing, layer_projections
from reportgen.compute.global_analysis.predictions import prediction_quality
from reportgen.compute.summary import top_words
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter

log = logging.getLogger(__name__)


def analyse_model(
    adapter: ModelAdapter,
    encoded: Sequence[EncodedExample],
    results: Sequence[ExampleResult],
    shared: SharedForward,
    labels: Sequence[str],
    methods: Sequence[dict],
    cfg: ComputeConfig,
    progress: Progress,
    out_of_fold: Optional[dict[str, np.ndarray]] = None,
) -> dict[str, Any]:
    """out_of_fold: for a probe, slug -> probabilities from the probe fitted on the other folds; prediction
    quality is then judged on those, not on the probe's in-sample predictions."""
    log.info("global analyses")
    heads = head_statistics(shared.attentions, encoded, adapter.tokenizer.cls_token, adapter.tokenizer.sep_token)
    heads["typical_example"] = results[typical_example(encoded, [r.unreadable for r in results])].slug
    # Importance is measured against the gold label where there is one, else the model's own prediction.
    targets = [labels.index(r.label if r.label is not None else r.predicted) for r in results]
    importance = head_importance(adapter, encoded, targets, cfg.batch_tokens, progress)
    importance["labels_from"] = _labels_from(results)
    return {
        "heads": heads,
        "importance": importance,
        "probing": layer_probing(shared.layer_pooled, [r.label for r in results], labels, cfg.seed, progress),
        "projection": layer_projections(shared.layer_pooled),
        "class_words": _class_words(results, labels, methods),
        "quality": prediction_quality(results, labels, out_of_fold),
    }


def _labels_from(results: Sequence[ExampleResult]) -> str:
    gold = sum(1 for r in results if r.label is not None)
    if gold == len(results):
        return "gold"
    return "predicted" if gold == 0 else f"gold for {gold}, predicted for {len(results) - gold}"


def _class_words(results: Sequence[ExampleResult], labels: Sequence[str], methods: Sequence[dict]) -> dict[str, Any]:
    """The words with the most attribution toward each explained class, from the first signed method
    (Integrated Gradients when it ran): which words push the model to each of its answers."""
    method = next((m for m in methods if m["name"] == "integrated_gradients"), None) or next(
        (m for m in methods if m["signed"] and m["family"] != "reference"), None)
    if method is None:
        return {"skipped": "no signed attribution method was run"}
    readable = [r for r in results if not r.unreadable]
    return {
        "method": method["name"],
        "method_title": method["title"],
        "classes": [{"label": lab, "n": sum(1 for r in readable if r.target == lab),
                     "words": top_words([r for r in readable if r.target == lab], method["name"], True)}
                    for lab in labels],
    }
