"""Raw attention of the last layer, averaged over heads, read at the token(s) the classifier uses."""

from __future__ import annotations

import numpy as np

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.i18n import N_


@METHODS.register("attention_raw")
class RawAttention(AttributionMethod):
    title = N_("Raw attention (last layer)")
    plain = N_("Where the last layer looks when it summarises the text: not evidence of what decides the answer.")
    family = "attention"
    signed = False
    summary = N_("Last-layer attention averaged over heads, from [CLS] (or all tokens for a mean-pooled probe).")
    description = N_("""\
The attention weights of the last layer, averaged over heads, read from the `[CLS]` row for a model
with its own classification head, or averaged over all rows for a probe on mean-pooled states. It is
the quantity most attention visualisations show. It ignores every earlier layer and the value vectors,
is **not** class-specific, and is known to disagree with gradient-based importance (Jain & Wallace,
2019): treat it as a description of routing, not as evidence for a prediction.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        outputs = []
        for attn in ctx.attentions:
            last = attn[-1].astype(np.float32).mean(axis=0)  # [seq, seq]
            outputs.append(MethodOutput(ctx.adapter.readout_row(last).astype(np.float32)))
        return outputs
