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
) -> tuple[LinearProbe, ProbeReport]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.array([label_order.index(lab) for lab in labels])
    x = features.astype(np.float64)

    def make() -> "object":
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))

    smallest = int(np.bincount(y, minlength=len(label_order)).min())
    folds = min(5, smallest)
    cv_accuracy = None
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        cv_accuracy = float(cross_val_score(make(), x, y, cv=splitter).mean())
    pipe = make().fit(x, y)
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
    report = ProbeReport(len(y), train_accuracy, cv_accuracy, folds if cv_accuracy is not None else 0, c)
    return probe, report


def out_of_fold_probabilities(
    features: np.ndarray, labels: Sequence[str], label_order: Sequence[str], seed: int, c: float = 1.0
) -> Optional[np.ndarray]:
    """float[n, classes]: each example's probabilities from the probe fitted on the other folds (the same
    folds and model as the reported cross-validated accuracy), or None when a label has < 2 examples.
    In-sample predictions of a probe say little; these are what its quality and calibration should use."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.array([label_order.index(lab) for lab in labels])
    present = sorted(set(y.tolist()))
    folds = min(5, int(np.bincount(y)[present].min()))
    if folds < 2 or len(present) < 2:
        return None
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(pipe, features.astype(np.float64), y, cv=splitter, method="predict_proba")
    out = np.zeros((len(y), len(label_order)))
    out[:, present] = proba
    return out
