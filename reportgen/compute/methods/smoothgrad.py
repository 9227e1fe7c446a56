"""SmoothGrad × Input: gradients averaged over noisy copies of the embeddings, times the input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch
from pydantic import Field, Strict

from reportgen.compute.methods.base import (
    METHODS,
    AttributionMethod,
    MethodContext,
    MethodOutput,
    equal_length_chunks,
)
from reportgen.i18n import N_

NOISE_LEVEL = 0.1  # standard deviation as a share of the example's embedding range (Smilkov et al.: 10-20%)


@dataclass(frozen=True)
class SmoothGradOptions:
    samples: Annotated[int, Strict(), Field(ge=1)] = 20  # noisy copies per example


@METHODS.register("smoothgrad")
class SmoothGrad(AttributionMethod):
    title = N_("SmoothGrad × Input")
    plain = N_("Each word's push toward the answer, averaged over slightly blurred copies of the text.")
    family = "gradient"
    costly = True
    Options = SmoothGradOptions
    signed = True
    summary = N_("Gradient averaged over noisy copies of the embeddings, times the input (Smilkov et al. 2017).")
    facts = {"noise_percent": round(NOISE_LEVEL * 100), "samples": SmoothGradOptions().samples}
    description = N_("""\
SmoothGrad (Smilkov et al., 2017) averages the gradient of the target logit over copies of the
word-piece embeddings with Gaussian noise added (standard deviation %(noise_percent)s%% of the example's
embedding range, option `samples` copies, %(samples)s by default, seeded), then multiplies by the embedding
like Gradient × Input.
Averaging removes much of the gradient's local noise; the price is one backward pass per copy. It is
the NoiseTunnel "smoothgrad" rule applied to Gradient × Input.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter = ctx.adapter
        samples = self.options.samples
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("SmoothGrad", len(ctx.encoded))
        for chunk in equal_length_chunks(ctx.encoded, range(len(ctx.encoded)), samples, ctx.config.batch_tokens):
            ids = torch.tensor([ctx.encoded[i].input_ids for i in chunk], device=adapter.device)
            x = adapter.embed(ids).detach()  # [k, seq, hidden]
            noise = torch.stack([example_noise(ctx, i, samples, x.shape[1:]) for i in chunk]).to(x.device)
            spread = (x.amax(dim=(1, 2)) - x.amin(dim=(1, 2)))[:, None, None, None]
            noisy = (x[:, None] + NOISE_LEVEL * spread * noise).reshape(-1, *x.shape[1:]).requires_grad_(True)
            types = None
            if ctx.encoded[chunk[0]].token_type_ids is not None:
                types = torch.tensor([ctx.encoded[i].token_type_ids for i in chunk], device=adapter.device)
                types = types.repeat_interleave(samples, dim=0)
            logits = adapter.logits_from_embeddings(noisy, torch.ones(noisy.shape[:2], dtype=torch.long,
                                                                      device=adapter.device), types)
            target = torch.tensor([ctx.targets[i] for i in chunk], device=adapter.device)
            chosen = logits.view(len(chunk), samples, -1).gather(
                2, target.view(-1, 1, 1).expand(len(chunk), samples, 1))
            (grads,) = torch.autograd.grad(chosen.sum(), noisy)
            mean_grad = grads.view(len(chunk), samples, *x.shape[1:]).mean(dim=1)
            scores = (mean_grad * x).sum(-1).cpu().numpy()
            for j, i in enumerate(chunk):
                outputs[i] = MethodOutput(scores[j].astype(np.float32), {"samples": samples})
            bar.update(len(chunk))
        bar.close()
        return outputs  # type: ignore[return-value]



def example_noise(ctx: MethodContext, i: int, samples: int, shape: torch.Size) -> torch.Tensor:
    """Standard normal noise for example i, seeded by the build seed and the example's word pieces, so a
    result does not depend on batching or on which other examples are in the build."""
    digest = hashlib.sha256(f"{ctx.config.seed}:{ctx.encoded[i].input_ids}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    return torch.randn((samples, *shape), generator=generator)
