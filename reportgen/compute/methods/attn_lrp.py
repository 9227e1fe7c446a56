"""AttnLRP (Achtibat et al., ICML 2024): layer-wise relevance propagation with rules for attention, in one
forward and one backward pass."""

from __future__ import annotations

from typing import Optional

from reportgen.bundle.reasons import Reason
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.lrp_rules import relevance, rules_problem
from reportgen.i18n import N_


@METHODS.register("attn_lrp")
class AttnLRP(AttributionMethod):
    title = N_("AttnLRP")
    plain = N_("How much each word contributes to the answer, traced back through the network in one pass; orange "
             "words push toward the answer, purple ones against it.")
    family = "decomposition"
    signed = True
    lead = 3  # the most faithful one-pass method (docs/benchmarks.md): every example, every report
    summary = N_("Relevance propagated by LRP rules for attention, in one backward pass (Achtibat et al. 2024).")
    description = N_("""\
AttnLRP (Achtibat et al., ICML 2024) propagates the target logit back to the word pieces layer by layer
with rules made for transformers, computed as Gradient × Input on the model's own forward pass whose
nonlinear steps are given the rules' gradients: LayerNorm's standard deviation is held constant, the
feed-forward activation and the head's (the pooler's tanh) pass relevance through unchanged (the gradient
is act(a)/a), and at each product of two activations (queries × keys, attention weights × values, a gated
feed-forward's two halves) the relevance is split evenly between the two, the softmax keeping its own
gradient. It costs what Gradient × Input costs (one
forward and one backward pass). The scores nearly add up to the target logit: the biases, the position
embeddings and the softmax absorb the rest (each example's "sum" is shown beside its "logit"). The
architecture table says where the rules go in each family; a family whose attention does not run through
transformers' attention interface is refused with the reason.
""")

    @classmethod
    def does_not_apply(cls, adapter) -> Optional[Reason]:
        return rules_problem(adapter)

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        return relevance(ctx, "uniform", self.title)
