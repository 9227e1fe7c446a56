"""Attention flow (max-flow through the attention graph), from the shared attention pass."""

from __future__ import annotations

import numpy as np

from reportgen.attention import attention_flow
from reportgen.bundle.reasons import Reason
from reportgen.bundle.typed import plain
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.i18n import N_

# One max-flow problem per token over (layers + 1) x tokens nodes and layers x tokens^2 edges: cheap for
# sentences, minutes for a 512-token document. Longer inputs are skipped (scores left empty, said in info).
MAX_FLOW_TOKENS = 128


@METHODS.register("attention_flow")
class AttentionFlow(AttributionMethod):
    title = N_("Attention flow")
    plain = N_("How much attention can flow from the final summary back to each word through the layers, counted "
             "like water through pipes.")
    family = "attention"
    signed = False
    facts = {"limit": MAX_FLOW_TOKENS}
    summary = N_("Maximum flow from each token through the attention graph (Abnar & Zuidema 2020); "
                 "<= %(limit)s tokens.")
    description = N_("""\
Attention flow (Abnar & Zuidema, 2020) reads the layers' attention as a flow network: one node per
token and layer, an edge from each token to every token that attends to it in the next layer with
capacity equal to the head-averaged attention mixed half-and-half with the identity (the residual
connection, as in rollout). A token's score is the **maximum flow** from its input node to the output:
the `[CLS]` node of the last layer for a model with its own classification head, or all last-layer
tokens (capacity 1/n each, the mean pooling) for a probe; the flows are normalised to sum to 1 over
the input's tokens, as in the authors' code. Unlike rollout, which multiplies the
matrices, flow is limited by the narrowest path, so scores tend to be flatter and more stable across
layers. Exact max-flow is solved per token (scipy, capacities rounded to millionths); inputs longer
than %(limit)s word pieces are **skipped** and their pages say so. Like all attention views it
is not class-specific.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        outputs = []
        bar = ctx.progress("Attention flow", len(ctx.attentions))
        for attn in ctx.attentions:
            size = attn.shape[-1]
            if size > MAX_FLOW_TOKENS:
                outputs.append(MethodOutput(np.full(size, np.nan, dtype=np.float32),
                                            {"skipped": plain(Reason("too_many_pieces",
                                                                               {"size": size,
                                                                                "limit": MAX_FLOW_TOKENS}))}))
            else:
                sink = ctx.adapter.readout_row(np.eye(size))  # the first token, or every token equally
                outputs.append(MethodOutput(attention_flow(attn, sink)))
            bar.update(1)
        bar.close()
        return outputs
