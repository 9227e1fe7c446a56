"""A random attribution: the reference every quality metric is compared against."""

from __future__ import annotations

import hashlib

import numpy as np

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.i18n import N_


@METHODS.register("random")
class RandomAttribution(AttributionMethod):
    title = N_("Random (reference)")
    plain = N_("Random scores: what a method that knows nothing would show, the floor every method must beat.")
    family = "reference"
    signed = True
    summary = N_("Standard-normal scores per word piece: the floor any real method must beat.")
    description = N_("""\
Random scores, drawn from a standard normal distribution per word piece. They carry no information
about the model, so they are the **reference** for every quality number: a method whose faithfulness or
agreement with human rationales is no better than random's should not be trusted on these examples.
The draw depends only on the seed and the example's text, so rebuilds give the same scores.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        outputs = []
        for enc in ctx.encoded:
            digest = hashlib.sha256(f"{ctx.config.seed}:{enc.input_ids}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            scores = rng.standard_normal(enc.length).astype(np.float32)
            scores[np.array(enc.special_mask)] = 0.0
            outputs.append(MethodOutput(scores))
        return outputs
