"""A linear probe on mean-pooled encoder states, for bare encoders that have no classification head."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

ABSENT_LOGIT = -1e4  # a class a probe never saw: probability exactly 0 in float32


class LinearProbe(nn.Module):
    """logits = W @ pooled + b; the feature scaling is folded into W and b so gradients see one Linear."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(as_stored(weight)))
            self.linear.bias.copy_(torch.from_numpy(as_stored(bias)))
        self.requires_grad_(False)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(pooled)

    def predict(self, features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = self.linear(torch.as_tensor(features, dtype=torch.float32, device=self.linear.weight.device))
        return logits.argmax(-1).cpu().numpy()


def as_stored(values: Any) -> np.ndarray:
    """float32 values that the bundle's JSON (8 significant digits) holds exactly: a probe is rounded so once,
    before it predicts anything, so the weights in results.json are the very weights every prediction and
    explanation went through, and a probe read back from a report (--probe-from) is the same probe, bit for bit.
    Rounding a float32 to 8 digits and back moves it at most one unit in its last place (0.7% of the values of
    a fitted probe move), and a second rounding changes nothing."""
    array = np.asarray(values, dtype=np.float32)
    rounded = [float(f"{float(v):.8g}") for v in array.ravel()]
    return np.array(rounded, dtype=np.float32).reshape(array.shape)


def fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int, c: float = 1.0) -> LinearProbe:
    """A probe over all n_classes fitted on (x, y); classes absent from y can never be predicted."""
    present = np.unique(y)
    if len(present) == 1:  # a fold that saw one class: that class, always (no logistic regression to fit)
        weight = np.zeros((n_classes, x.shape[1]))
        bias = np.full(n_classes, ABSENT_LOGIT)
        bias[present[0]] = 0.0
        return LinearProbe(weight, bias)
    return _folded(_pipeline(c, seed).fit(x, y), present, n_classes)


def _folded(pipe: Any, present: np.ndarray, n_classes: int) -> LinearProbe:
    """One Linear over every class: the standardisation folded into the weights; absent classes get
    ABSENT_LOGIT, so their probability is 0 and they never win."""
    scaler, logreg = pipe[0], pipe[1]
    coef = logreg.coef_ / scaler.scale_  # fold the standardisation into the weights
    intercept = logreg.intercept_ - coef @ scaler.mean_
    if coef.shape[0] == 1:
        # Binary logistic regression has one score z; logits (-z/2, z/2) give the same softmax
        # probabilities and, unlike (0, z), a non-zero gradient for either target class.
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight = np.zeros((n_classes, coef.shape[1]))
    bias = np.full(n_classes, ABSENT_LOGIT)
    weight[present], bias[present] = coef, intercept
    return LinearProbe(weight, bias)


def _pipeline(c: float, seed: int):  # noqa: ANN202 - an sklearn Pipeline, imported lazily
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
