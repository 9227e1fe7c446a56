"""Gradients of the target logit with respect to the word-piece embeddings, one padded batch at a time.
Shared by the single-pass gradient methods so each needs one backward pass, not one per method."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from reportgen.compute.encode import token_batches
from reportgen.compute.methods.base import MethodContext, padded_batch


def input_gradients(ctx: MethodContext, description: str) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yields (example index, gradient float32[seq, hidden], embedding float32[seq, hidden])."""
    adapter = ctx.adapter
    lengths = [ex.length for ex in ctx.encoded]
    bar = ctx.progress(description, len(ctx.encoded))
    for batch in token_batches(lengths, ctx.config.batch_tokens):
        ids, mask, types = padded_batch(ctx.encoded, batch, adapter.device)
        x = adapter.embed(ids).detach().requires_grad_(True)
        logits = adapter.logits_from_embeddings(x, mask, types)
        target = torch.tensor([ctx.targets[i] for i in batch], device=adapter.device)
        (grads,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
        grads_np, x_np = grads.detach().cpu().numpy(), x.detach().cpu().numpy()
        for row, i in enumerate(batch):
            yield i, grads_np[row, : lengths[i]], x_np[row, : lengths[i]]
        bar.update(len(batch))
    bar.close()
