"""What each layer knows: a linear probe per layer (held-out accuracy) and a 2-D PCA projection."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from reportgen.bundle.reasons import Reason
from reportgen.models.crossfit import cross_fit, held_out_predictions


def layer_probing(
    layer_pooled: np.ndarray,  # float32[n, layers + 1, hidden]
    labels: Sequence[Optional[str]],
    label_order: Sequence[str],
    seed: int,
    progress: Any,
) -> dict[str, Any]:
    """Held-out accuracy of a logistic-regression probe on each layer's mean-pooled states (layer 0 = the
    embeddings), cross-fitted exactly as the explained probe is, so the last layer's figure is the headline
    accuracy of a bare encoder; and the majority-class rate it has to beat."""
    labelled = [i for i, lab in enumerate(labels) if lab is not None]
    present = sorted({labels[i] for i in labelled}, key=list(label_order).index)
    if len(present) < 2:
        return {"skipped": Reason("too_few_gold_classes")}
    y = np.array([label_order.index(labels[i]) for i in labelled])
    accuracies, train, folds = [], [], 0
    bar = progress("Layer probes", layer_pooled.shape[1])
    for layer in range(layer_pooled.shape[1]):
        features = layer_pooled[labelled, layer]
        fit = cross_fit(features, [labels[i] for i in labelled], [True] * len(labelled), label_order, seed)
        accuracies.append(float((held_out_predictions(fit, features) == y).mean()))
        train.append(fit.train_accuracy)
        folds = fit.folds
        bar.update(1)
    bar.close()
    counts = np.bincount(y)
    return {"cv_accuracy": accuracies, "train_accuracy": train, "folds": folds,
            "majority": float(counts.max() / counts.sum()), "n": len(labelled)}


def layer_projections(layer_pooled: np.ndarray) -> dict[str, Any]:
    """Per layer: the examples' coordinates on the first two principal components and the share of
    variance each explains."""
    coords, explained = [], []
    for layer in range(layer_pooled.shape[1]):
        x = layer_pooled[:, layer].astype(np.float64)
        x = x - x.mean(axis=0)
        if len(x) < 2:
            coords.append([[0.0, 0.0] for _ in range(len(x))])
            explained.append([0.0, 0.0])
            continue
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        k = min(2, len(s))
        xy = np.zeros((len(x), 2))
        xy[:, :k] = u[:, :k] * s[:k]
        # An SVD's signs are arbitrary: fix them so that rebuilds (and neighbouring layers) agree.
        for c in range(k):
            if xy[np.argmax(np.abs(xy[:, c])), c] < 0:
                xy[:, c] *= -1
        total = float((s**2).sum()) or 1.0
        coords.append([[round(float(a), 5), round(float(b), 5)] for a, b in xy])
        explained.append([float(s[c] ** 2 / total) if c < k else 0.0 for c in range(2)])
    return {"coords": coords, "explained": explained}
