"""The shared forward pass: predictions, pooled features and every attention map, batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from reportgen.compute.encode import EncodedExample, token_batches
from reportgen.compute.methods.base import padded_batch
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter

Progress = Callable[[str, int], Any]


@dataclass
class SharedForward:
    pooled: np.ndarray  # float32[n, hidden]: masked mean of the last layer (the probe's features)
    layer_pooled: np.ndarray  # float32[n, layers + 1, hidden]: the same for the embeddings and every layer
    logits: Optional[np.ndarray]  # float32[n, classes] from the model's own head; None for a bare encoder
    attentions: list[np.ndarray]  # per example float16[layers, heads, seq, seq]


def shared_forward(
    adapter: ModelAdapter, encoded: Sequence[EncodedExample], cfg: ComputeConfig, progress: Progress
) -> SharedForward:
    """One eager pass per example for prediction, pooled features of every layer and all attention maps."""
    n = len(encoded)
    layer_pooled = np.zeros((n, adapter.num_layers + 1, adapter.details.hidden_size), dtype=np.float32)
    logits = np.zeros((n, len(adapter.labels)), dtype=np.float32) if adapter.head.own else None
    attentions: list[np.ndarray] = [np.empty(0)] * n
    bar = progress("Forward pass and attention", n)
    lengths = [ex.length for ex in encoded]
    for batch in token_batches(lengths, cfg.batch_tokens):
        ids, mask, types = padded_batch(encoded, batch, adapter.device)
        out = adapter.forward(ids, mask, types, attentions=True)
        layer_pooled[batch] = out.layer_pooled.float().cpu().numpy()
        if logits is not None:
            logits[batch] = out.logits.float().cpu().numpy()
        # Layer by layer to float16 on the host: no second float32 copy of every layer's maps on the device.
        stacked = np.stack([a.to(torch.float16).cpu().numpy() for a in out.attentions], axis=1)  # [b, L, H, T, T]
        for row, i in enumerate(batch):
            attentions[i] = np.ascontiguousarray(stacked[row, :, :, : lengths[i], : lengths[i]])
        bar.update(len(batch))
    bar.close()
    return SharedForward(np.ascontiguousarray(layer_pooled[:, -1]), layer_pooled, logits, attentions)


def pooled_features(
    adapter: ModelAdapter, encoded: Sequence[EncodedExample], cfg: ComputeConfig, progress: Progress
) -> np.ndarray:
    """float32[n, hidden]: the probe's features (masked mean of the last layer), without attention maps, for
    a training set that is only learnt from (--probe-train)."""
    pooled = np.zeros((len(encoded), adapter.details.hidden_size), dtype=np.float32)
    bar = progress("Probe training set: forward pass", len(encoded))
    for batch in token_batches([ex.length for ex in encoded], cfg.batch_tokens):
        ids, mask, types = padded_batch(encoded, batch, adapter.device)
        pooled[batch] = adapter.forward(ids, mask, types, attentions=False).pooled.float().cpu().numpy()
        bar.update(len(batch))
    bar.close()
    return pooled
