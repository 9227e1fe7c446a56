"""Attention arithmetic shared by methods and summaries: rollout and where attention mass goes."""

from __future__ import annotations

import numpy as np


def attention_rollout(attentions: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema (2020): mean over heads, add the residual (0.5 A + 0.5 I), renormalise rows,
    multiply through the layers. attentions: float[layers, heads, seq, seq] -> float32[seq, seq]."""
    mean = attentions.astype(np.float32).mean(axis=1)
    size = mean.shape[-1]
    rollout = np.eye(size, dtype=np.float32)
    for layer in mean:
        mixed = 0.5 * layer + 0.5 * np.eye(size, dtype=np.float32)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def special_token_mass(attentions: np.ndarray, special: np.ndarray) -> list[float]:
    """Per layer: the average share of attention (over heads and query tokens) that lands on
    special tokens such as [CLS] and [SEP]. special: bool[seq]."""
    on_special = attentions[..., special].astype(np.float32).sum(-1)  # [layers, heads, seq]
    return [float(v) for v in on_special.mean(axis=(1, 2))]
