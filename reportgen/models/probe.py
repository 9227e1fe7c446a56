"""A linear probe on mean-pooled encoder states, for bare encoders that have no classification head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn


class LinearProbe(nn.Module):
    """logits = W @ pooled + b; the feature scaling is folded into W and b so gradients see one Linear."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        self.requires_grad_(False)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(pooled)


@dataclass(frozen=True)
class ProbeReport:
    n_examples: int
    train_accuracy: float
    cv_accuracy: Optional[float]  # None when some label has fewer than 2 examples
    cv_folds: int
    regularisation_c: float


def fit_probe(
    features: np.ndarray,  # float32[n, hidden], mean-pooled last layer
    labels: Sequence[str],
    label_order: Sequence[str],
    seed: int,
    c: float = 1.0,
) -> tuple[LinearProbe, ProbeReport, Optional[np.ndarray]]:
    """The probe fitted on every example, its report, and each example's out-of-fold probabilities
    (float[n, classes], from the cross-validation that gives the reported accuracy; None without it)."""
    y = np.array([label_order.index(lab) for lab in labels])
    x = features.astype(np.float64)
    smallest = int(np.bincount(y, minlength=len(label_order)).min())
    oof, cv_accuracy, folds = _cross_validate(x, y, len(label_order), seed, c) if smallest >= 2 else (None, None, 0)
    pipe = _pipeline(c, seed).fit(x, y)
    scaler, logreg = pipe[0], pipe[1]
    coef = logreg.coef_ / scaler.scale_  # fold the standardisation into the weights
    intercept = logreg.intercept_ - coef @ scaler.mean_
    if coef.shape[0] == 1:
        # Binary logistic regression has one score z; logits (-z/2, z/2) give the same softmax
        # probabilities and, unlike (0, z), a non-zero gradient for either target class.
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    train_accuracy = float((pipe.predict(x) == y).mean())
    probe = LinearProbe(coef, intercept)
    report = ProbeReport(len(y), train_accuracy, cv_accuracy, folds, c)
    return probe, report, oof


def out_of_fold_probabilities(
    features: np.ndarray, labels: Sequence[str], label_order: Sequence[str], seed: int, c: float = 1.0
) -> Optional[np.ndarray]:
    """float[n, classes]: each example's probabilities from the probe fitted on the other folds (columns of
    labels no example has stay 0), or None when a present label has fewer than 2 examples."""
    y = np.array([label_order.index(lab) for lab in labels])
    return _cross_validate(features.astype(np.float64), y, len(label_order), seed, c)[0]


def _pipeline(c: float, seed: int):  # noqa: ANN202 - an sklearn Pipeline, imported lazily
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))


def _cross_validate(
    x: np.ndarray, y: np.ndarray, n_classes: int, seed: int, c: float
) -> tuple[Optional[np.ndarray], Optional[float], int]:
    """One stratified k-fold pass (k = min(5, smallest class)): out-of-fold probabilities, the mean of the
    folds' accuracies (what cross_val_score reports) and k; (None, None, 0) when it cannot run."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    present = sorted(set(y.tolist()))
    folds = min(5, int(np.bincount(y)[present].min())) if present else 0
    if folds < 2 or len(present) < 2:
        return None, None, 0
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))
    proba = np.zeros((len(y), n_classes))
    proba[:, present] = cross_val_predict(_pipeline(c, seed), x, y, cv=splits, method="predict_proba")
    predicted = np.asarray(present)[np.argmax(proba[:, present], axis=1)]
    accuracy = float(np.mean([(predicted[test] == y[test]).mean() for _, test in splits]))
    return proba, accuracy, folds
