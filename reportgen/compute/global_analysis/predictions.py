"""How good and how calibrated the predictions are: confusion matrix, reliability diagram, ECE."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from reportgen.bundle import ExampleResult
from reportgen.bundle.reasons import Reason
from reportgen.compute.intervals import bootstrap, wilson

CALIBRATION_BINS = 10


def prediction_quality(results: Sequence[ExampleResult], labels: Sequence[str]) -> dict[str, Any]:
    """From the predictions the pages show, which are held out (a probe never predicts an example it was
    fitted on), so these numbers and the headline accuracy are one and the same."""
    labelled = [r for r in results if r.label is not None]
    if not labelled:
        return {"skipped": Reason("no_gold_labels")}
    probs = {r.slug: np.asarray(r.probabilities) for r in labelled}
    predicted = {slug: labels[int(np.argmax(p))] for slug, p in probs.items()}
    matrix = [[sum(1 for r in labelled if r.label == gold and predicted[r.slug] == pred) for pred in labels]
              for gold in labels]
    confidence = np.array([float(probs[r.slug].max()) for r in labelled])
    correct = np.array([predicted[r.slug] == r.label for r in labelled], dtype=float)
    bins = []
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    # Each example's bin: (low, high], the first one closed on the left.
    bin_of = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, CALIBRATION_BINS - 1)
    for k in range(CALIBRATION_BINS):
        inside = bin_of == k
        n = int(inside.sum())
        acc, conf = (float(correct[inside].mean()), float(confidence[inside].mean())) if n else (None, None)
        bins.append({"low": float(edges[k]), "high": float(edges[k + 1]), "n": n, "accuracy": acc, "confidence": conf})
    everyone = np.arange(len(labelled))[None, :]  # ECE has one definition: _ece, on the examples as they are
    wrong = sorted((r for r in labelled if predicted[r.slug] != r.label),
                   key=lambda r: (-float(probs[r.slug].max()), r.slug))
    gold_idx = np.array([labels.index(r.label) for r in labelled])
    pred_idx = np.array([labels.index(predicted[r.slug]) for r in labelled])
    per_class = []
    for k, lab in enumerate(labels):
        tp = matrix[k][k]
        predicted_as = sum(matrix[g][k] for g in range(len(labels)))
        actual = sum(matrix[k])
        precision = tp / predicted_as if predicted_as else None
        recall = tp / actual if actual else None
        f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (
            0.0 if precision is not None and recall is not None else None)
        per_class.append({"label": lab, "precision": precision, "recall": recall, "f1": f1, "support": actual,
                          "precision_interval": wilson(tp, predicted_as), "recall_interval": wilson(tp, actual),
                          "f1_interval": bootstrap(lambda idx, k=k: _f1(gold_idx[idx], pred_idx[idx], k), len(labelled))
                          if f1 is not None else None})
    return {
        "confusion": matrix,
        "calibration": bins,
        "ece": float(_ece(confidence[everyone], correct[everyone], bin_of[everyone])[0]),
        "ece_interval": bootstrap(lambda idx: _ece(confidence[idx], correct[idx], bin_of[idx]), len(labelled)),
        "accuracy": float(correct.mean()),
        "mean_confidence": float(confidence.mean()),
        "per_class": per_class,
        "misclassified": [{"slug": r.slug, "predicted": predicted[r.slug],
                           "confidence": float(probs[r.slug].max())} for r in wrong],
        "n": len(labelled),
    }


def _f1(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Class k's F1 on each resample (rows of gold and predicted indices); NaN where k is neither gold nor
    predicted in a resample."""
    tp = ((gold == k) & (predicted == k)).sum(axis=1)
    denominator = (gold == k).sum(axis=1) + (predicted == k).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def _ece(confidence: np.ndarray, correct: np.ndarray, bin_of: np.ndarray) -> np.ndarray:
    """ECE on each resample: the bins' |accuracy - confidence| weighted by their share of the examples."""
    n = confidence.shape[1]
    rows = np.arange(confidence.shape[0])[:, None] * CALIBRATION_BINS + bin_of
    size = CALIBRATION_BINS * confidence.shape[0]
    gap = (np.bincount(rows.ravel(), weights=correct.ravel(), minlength=size)
           - np.bincount(rows.ravel(), weights=confidence.ravel(), minlength=size))
    return np.abs(gap.reshape(-1, CALIBRATION_BINS)).sum(axis=1) / n
