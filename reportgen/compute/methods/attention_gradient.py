"""Gradient-weighted attention (Chefer, Gur & Wolf, ICCV 2021, the generic rule for encoders)."""

from __future__ import annotations

import numpy as np
import torch

from reportgen.compute.encode import token_batches
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput, padded_batch
from reportgen.i18n import N_


@METHODS.register("attention_gradient")
class GradientWeightedAttention(AttributionMethod):
    title = N_("Gradient-weighted attention")
    plain = N_("Attention that matters for this answer: where the model looks, weighted by how much looking there "
             "changes the answer.")
    family = "attention"
    signed = False
    summary = N_("Attention maps weighted by their gradient and propagated through layers (Chefer et al. 2021).")
    description = N_("""\
Gradient-weighted attention (Chefer, Gur & Wolf, 2021, the generic rule for self-attention encoders)
multiplies every head's attention map by the gradient of the target class logit with respect to it,
keeps the positive part, averages over heads and propagates the result through the layers with the
residual connection: R ← R + mean_h[(∇A ⊙ A)⁺] · R, starting from the identity. The score is the row
of the token the classifier reads (`[CLS]`, or the mean over rows for a mean-pooled probe). Unlike raw
attention or rollout it is **class-specific**, but it keeps only what pushes the class up.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter = ctx.adapter
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        lengths = [ex.length for ex in ctx.encoded]
        bar = ctx.progress("Gradient-weighted attention", len(ctx.encoded))
        for batch in token_batches(lengths, ctx.config.batch_tokens):
            ids, mask, types = padded_batch(ctx.encoded, batch, adapter.device)
            with torch.enable_grad():
                logits, attentions = adapter.logits_and_attentions(ids, mask, types)
                target = torch.tensor([ctx.targets[i] for i in batch], device=adapter.device)
                grads = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), attentions)
            weighted = [(g * a).clamp(min=0).mean(dim=1).detach() for g, a in zip(grads, attentions)]
            for row, i in enumerate(batch):
                n = lengths[i]
                # float64: the product over layers grows like (gradient scale)^layers, which overflows
                # float32 on a randomised model (the sanity check) although each factor is finite.
                relevance = torch.eye(n, dtype=torch.float64)
                for layer in weighted:
                    relevance = relevance + layer[row, :n, :n].double().cpu() @ relevance
                scores = adapter.readout_row(relevance).numpy()
                info = {}
                if np.isfinite(scores).all() and np.abs(scores).max() > np.finfo(np.float32).max:
                    info["rescaled_by"] = float(np.abs(scores).max())  # only the ranking survives; say so
                    scores = scores / info["rescaled_by"]
                outputs[i] = MethodOutput(scores.astype(np.float32), info)
            bar.update(len(batch))
        bar.close()
        return outputs  # type: ignore[return-value]
