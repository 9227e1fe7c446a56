"""CP-LRP (Ali et al., ICML 2022): conservative layer-wise relevance propagation, the attention weights and
LayerNorm scales held constant, in one forward and one backward pass."""

from __future__ import annotations

from typing import Optional

from reportgen.bundle.reasons import Reason
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.lrp_rules import relevance, rules_problem
from reportgen.i18n import N_


@METHODS.register("cp_lrp")
class ConservativeLRP(AttributionMethod):
    title = N_("CP-LRP")
    plain = N_("How much each word contributes to the answer, traced back through the network with the attention "
             "held fixed.")
    family = "decomposition"
    signed = True
    summary = N_("Conservative LRP: attention weights and LayerNorm scales held constant (Ali et al. 2022).")
    description = N_("""\
CP-LRP (Ali et al., ICML 2022, "XAI for Transformers: better explanations through conservative
propagation") propagates the target logit back to the word pieces through the value path only: the
attention weights and LayerNorm's standard deviation are held constant (its AH- and LN-rules), and the
feed-forward activation and the head's pass relevance through unchanged (the gradient is act(a)/a, as in
AttnLRP). The model is then linear in its word-piece embeddings for this input, so Gradient × Input on it
conserves relevance: the scores add up to the target logit less what the biases and position embeddings
carry (each example's "sum" is shown beside its "logit"). It costs one forward and one backward pass; the
architecture table says where its rules go in each family, and a family whose attention does not run
through transformers' attention interface is refused with the reason.
""")

    @classmethod
    def does_not_apply(cls, adapter) -> Optional[Reason]:
        return rules_problem(adapter)

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        return relevance(ctx, "stop", self.title)
