"""Gradients of the target logit with respect to the word-piece embeddings, one padded batch at a time.
Computed once per context and shared, so Gradient x Input and saliency together cost one backward pass."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from reportgen.compute.encode import token_batches
from reportgen.compute.methods.base import MethodContext, padded_batch


def input_gradients(ctx: MethodContext) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per example: (gradient float32[seq, hidden], embedding float32[seq, hidden])."""
    if "input_gradients" not in ctx.shared:
        ctx.shared["input_gradients"] = _compute(ctx)
    return ctx.shared["input_gradients"]


def _compute(ctx: MethodContext) -> list[tuple[np.ndarray, np.ndarray]]:
    out: list = [None] * len(ctx.encoded)
    for i, grads, x in target_gradients(ctx, "Input gradients"):
        out[i] = (grads, x)
    return out


def target_gradients(ctx: MethodContext, title: str) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per example, in padded batches of about batch_tokens: (index, gradient of its target logit with respect to
    its word-piece embeddings float32[seq, hidden], those embeddings float32[seq, hidden]). Whatever hooks are in
    place on the model (the LRP rules) shape the gradient."""
    adapter = ctx.adapter
    lengths = [ex.length for ex in ctx.encoded]
    bar = ctx.progress(title, len(ctx.encoded))
    for batch in token_batches(lengths, ctx.config.batch_tokens):
        ids, mask, types = padded_batch(ctx.encoded, batch, adapter.device)
        x = adapter.embed(ids).detach().requires_grad_(True)
        logits = adapter.logits_from_embeddings(x, mask, types)
        target = torch.tensor([ctx.targets[i] for i in batch], device=adapter.device)
        (grads,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
        grads_np, x_np = grads.detach().float().cpu().numpy(), x.detach().float().cpu().numpy()
        for row, i in enumerate(batch):
            yield i, grads_np[row, : lengths[i]], x_np[row, : lengths[i]]
        bar.update(len(batch))
    bar.close()
