"""Rank correlation of a method's word scores with leave-one-word-out (occlusion) drops."""

from __future__ import annotations

from typing import Optional

from reportgen.compute.metrics.agreement import spearman
from reportgen.compute.metrics.base import METRICS, Metric, MetricContext
from reportgen.compute.words import word_scores
from reportgen.i18n import N_


@METRICS.register("loo_correlation")
class LeaveOneOutCorrelation(Metric):
    title = N_("Rank correlation with leave-one-out")
    family = "faithfulness"
    low, high = -1.0, 1.0
    higher_is_better = True
    description = N_("""\
**Rank correlation with leave-one-out** is the Spearman correlation between a method's word scores and
the drop of the explained class's logit when each word alone is masked (the occlusion method's scores,
computed here if occlusion was not among the methods). A faithful method should rank words roughly as
their one-at-a-time effect does; occlusion itself scores 1 by construction.
""")

    def compute(self, ctx: MetricContext) -> dict[str, list[Optional[float]]]:
        from reportgen.compute.methods import METHODS, MethodContext

        loo = ctx.token_scores.get("occlusion")
        if loo is None:
            method_ctx = MethodContext(ctx.adapter, ctx.encoded, ctx.targets, ctx.target_logits, [], ctx.config,
                                       ctx.progress)
            loo = [o.token_scores for o in METHODS.get("occlusion")().attribute(method_ctx)]
        reference = [word_scores(s, enc) for s, enc in zip(loo, ctx.encoded)]
        return {
            method: [spearman(word_scores(s, enc), ref) for s, enc, ref in zip(per_example, ctx.encoded, reference)]
            for method, per_example in sorted(ctx.token_scores.items())
        }

