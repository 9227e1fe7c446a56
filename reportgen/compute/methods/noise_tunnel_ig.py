"""NoiseTunnel (SmoothGrad rule) over Integrated Gradients: IG averaged over noisy copies of the input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch
from pydantic import Field, Strict

from reportgen.bundle.declarations import Completeness
from reportgen.compute.methods.base import (
    METHODS,
    AttributionMethod,
    MethodContext,
    MethodOutput,
    completeness_check,
    pads_across_lengths,
    path_batches,
)
from reportgen.compute.methods.integrated_gradients import IntegratedGradients, gauss_legendre, integrate_paths
from reportgen.compute.methods.smoothgrad import NOISE_LEVEL, example_noise
from reportgen.i18n import N_

# Each noisy copy gets a cheaper integral than plain IG: averaging over copies also averages the quadrature
# error, and samples x steps passes is the cost (8 x 16 = 128, about 2.5x plain IG at 50 steps).
STEPS_PER_SAMPLE = 16


@dataclass(frozen=True)
class NoiseTunnelOptions:
    samples: Annotated[int, Strict(), Field(ge=1)] = 8  # noisy copies per example (each a 16-step integral)


@METHODS.register("noise_tunnel_ig")
class NoiseTunnelIG(AttributionMethod):
    title = N_("NoiseTunnel IG")
    plain = N_("Integrated Gradients averaged over slightly blurred copies of the text, so one quirk of the input "
             "weighs less.")
    family = "gradient"
    costly = True
    Options = NoiseTunnelOptions
    signed = True
    completeness = Completeness(end="noisy_mean")
    summary = N_("Integrated Gradients averaged over noisy copies of the input (Captum NoiseTunnel, smoothgrad rule).")
    facts = {"noise_percent": round(NOISE_LEVEL * 100), "steps": STEPS_PER_SAMPLE,
             "samples": NoiseTunnelOptions().samples}
    description = N_("""\
Captum's `NoiseTunnel` with the `smoothgrad` rule wrapped around Integrated Gradients: Gaussian noise
(standard deviation %(noise_percent)s%% of the example's embedding range, seeded) is added to the
word-piece embeddings, IG is computed from the same `[PAD]` baseline to each noisy copy with
%(steps)s Gauss-Legendre steps, and the copies' attributions are averaged
(option `samples`, %(samples)s copies by default). The average is smoother than one IG map and less sensitive to where
exactly the input sits on the model's sharp regions (Smilkov et al., 2017). Completeness holds for the
average against the **mean of f over the noisy copies**, not against f(input): its reported delta is
measured that way.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        samples = self.options.samples
        nodes, weights = gauss_legendre(STEPS_PER_SAMPLE)
        w = np.asarray(weights)
        adapter = ctx.adapter
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("NoiseTunnel IG", len(ctx.encoded))
        rows = samples * STEPS_PER_SAMPLE
        pad = pads_across_lengths(adapter.device)
        for chunk in path_batches(ctx.encoded, range(len(ctx.encoded)), rows, ctx.config.batch_tokens, pad):
            x, x0, target, types, mask = IntegratedGradients.endpoints(ctx, chunk)
            k, shape = len(chunk), x.shape[1:]
            # The range of each example's own embeddings, padding left out.
            real = mask[:, :, None].bool()
            high = torch.where(real, x, torch.full_like(x, -torch.inf)).amax(dim=(1, 2))
            low = torch.where(real, x, torch.full_like(x, torch.inf)).amin(dim=(1, 2))
            spread = (high - low)[:, None, None, None]
            # Each example's noise is drawn at its own length (so it does not depend on its batch), then padded.
            noise = torch.zeros(k, samples, *shape)
            for j, i in enumerate(chunk):
                noise[j, :, : ctx.encoded[i].length] = example_noise(ctx, i, samples, (ctx.encoded[i].length, shape[1]))
            noise = noise.to(x.device) * mask[:, None, :, None]
            # Every (example, noisy copy) pair is one path, so all copies and steps share the forward passes.
            noisy = (x[:, None] + NOISE_LEVEL * spread * noise).reshape(k * samples, *shape)

            def repeat(t: torch.Tensor | None) -> torch.Tensor | None:
                return None if t is None else t.repeat_interleave(samples, dim=0)

            terms, f_base = integrate_paths(adapter, noisy, repeat(x0), repeat(target), repeat(types), nodes,
                                            ctx.config.batch_tokens, mask=repeat(mask))
            with torch.no_grad():
                f_noisy = adapter.logits_from_embeddings(noisy, repeat(mask), repeat(types)).gather(
                    1, repeat(target)[:, None])[:, 0].float().cpu().numpy().reshape(k, samples)
            scores_all = np.einsum("pas,a->ps", terms, w).reshape(k, samples, -1).mean(axis=1)
            for j, i in enumerate(chunk):
                scores = scores_all[j, : ctx.encoded[i].length]
                outputs[i] = MethodOutput(scores.astype(np.float32), completeness_check(
                    float(scores.sum()), float(f_noisy[j].mean()), float(f_base[j * samples]), STEPS_PER_SAMPLE,
                    "gauss-legendre", samples=samples))
            bar.update(len(chunk))
        bar.close()
        return outputs  # type: ignore[return-value]
