"""Gradient x Input on the word-piece embeddings, in length-sorted padded batches."""

from __future__ import annotations

import numpy as np

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.gradients import input_gradients
from reportgen.i18n import N_


@METHODS.register("gradient_x_input")
class GradientXInput(AttributionMethod):
    title = N_("Gradient × Input")
    plain = N_("A quick estimate of each word's push toward the answer from one gradient; it often disagrees with "
             "the slower methods.")
    family = "gradient"
    signed = True
    approximates = "integrated_gradients"  # IG with one point at the input (and a zero baseline)
    summary = N_("Gradient of the target logit times the input embedding (Shrikumar et al. 2016).")
    description = N_("""\
Gradient × Input multiplies the gradient of the target class logit with respect to each word-piece
embedding by that embedding and sums over dimensions. It is one backward pass, so it is cheap, but
it is a purely *local* (first-order) view: it can miss words whose effect saturates, and it is noisy
on deep networks. Compare it with Integrated Gradients, which integrates the same gradient along a path.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        return [MethodOutput((grad * x).sum(-1).astype(np.float32)) for grad, x in input_gradients(ctx)]
