"""Attention rollout read out at the token(s) the classifier looks at, from the shared attention pass."""

from __future__ import annotations

import numpy as np

from reportgen.attention import attention_rollout
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.i18n import N_


@METHODS.register("attention_rollout")
class AttentionRollout(AttributionMethod):
    title = N_("Attention rollout")
    plain = N_("Where the model looks, followed through every layer: it says what the model reads, not what decides "
             "its answer.")
    family = "attention"
    signed = False
    summary = N_("Attention propagated through all layers with the residual stream (Abnar & Zuidema 2020).")
    description = N_("""\
Attention rollout (Abnar & Zuidema, 2020) multiplies the layers' attention matrices, each averaged
over heads and mixed half-and-half with the identity to account for the residual connection. The row
of the token the classifier reads is the score: the `[CLS]` row for a model with its own
classification head, the mean over all rows for a probe on mean-pooled states. The scores are
non-negative and **do not depend on the target class**: rollout says where information flowed, not
whether it argued for or against the prediction. Attention is not explanation (Jain & Wallace, 2019;
Wiegreffe & Pinter, 2019): use it as a view of the model's routing, not as evidence by itself.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        outputs = []
        for attn in ctx.attentions:
            outputs.append(MethodOutput(ctx.adapter.readout_row(attention_rollout(attn)).astype(np.float32)))
        return outputs
