"""Saliency: the L2 norm of the target logit's gradient at each word piece (unsigned)."""

from __future__ import annotations

import numpy as np

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.gradients import input_gradients
from reportgen.i18n import N_


@METHODS.register("saliency")
class Saliency(AttributionMethod):
    title = N_("Saliency (gradient norm)")
    plain = N_("How sensitive the answer is to each word, without saying in which direction.")
    family = "gradient"
    signed = False
    summary = N_("L2 norm of the gradient of the target logit at each word piece (Simonyan et al. 2014).")
    description = N_("""\
Saliency is the size (L2 norm over embedding dimensions) of the gradient of the target class logit
with respect to each word-piece embedding: how sensitive the score is to small changes of that piece.
It is **unsigned** (it cannot say whether a word argues for or against the class) and it measures
sensitivity, not contribution: a word the model ignores can still sit where the gradient is steep.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        # The norm in float64: a randomised model (the sanity check) can give gradients near 1e20, whose
        # squares overflow float32 although the norm itself fits.
        return [MethodOutput(np.linalg.norm(grad.astype(np.float64), axis=-1).astype(np.float32))
                for grad, _ in input_gradients(ctx)]
