"""Gradient x Input on the word-piece embeddings, in length-sorted padded batches."""

from __future__ import annotations

import numpy as np
import torch

from reportgen.compute.encode import token_batches
from reportgen.compute.methods.base import (
    METHODS,
    AttributionMethod,
    MethodContext,
    MethodOutput,
    padded_batch,
)


@METHODS.register("gradient_x_input")
class GradientXInput(AttributionMethod):
    name = "gradient_x_input"
    title = "Gradient × Input"
    family = "gradient"
    signed = True
    summary = "Gradient of the target logit times the input embedding (Shrikumar et al. 2016)."
    description = """\
Gradient × Input multiplies the gradient of the target class logit with respect to each word-piece
embedding by that embedding and sums over dimensions. It is one backward pass, so it is cheap, but
it is a purely *local* (first-order) view: it can miss words whose effect saturates, and it is noisy
on deep networks. Compare it with Integrated Gradients, which integrates the same gradient along a path.
"""

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter = ctx.adapter
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("Gradient x Input", len(ctx.encoded))
        lengths = [ex.length for ex in ctx.encoded]
        for batch in token_batches(lengths, ctx.config.batch_tokens):
            ids, mask, types = padded_batch(ctx.encoded, batch, adapter.device)
            x = adapter.embed(ids).detach().requires_grad_(True)
            logits = adapter.logits_from_embeddings(x, mask, types)
            target = torch.tensor([ctx.targets[i] for i in batch], device=adapter.device)
            (grads,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
            scores = (grads * x).sum(-1).detach().cpu().numpy()
            for row, i in enumerate(batch):
                outputs[i] = MethodOutput(scores[row, : lengths[i]].astype(np.float32))
            bar.update(len(batch))
        bar.close()
        return outputs  # type: ignore[return-value]
