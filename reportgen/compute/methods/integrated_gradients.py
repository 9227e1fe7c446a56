"""Integrated Gradients on the word-piece embeddings, batched: all steps of an example in one pass."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput


def gauss_legendre(steps: int) -> tuple[list[float], list[float]]:
    """Nodes in (0, 1) and weights summing to 1 — the same rule as Captum's "gausslegendre" (checked in
    tests), computed here so a build does not import all of captum.attr for two arrays."""
    x, w = np.polynomial.legendre.leggauss(steps)
    return list(0.5 * x + 0.5), list(0.5 * w)


@METHODS.register("integrated_gradients")
class IntegratedGradients(AttributionMethod):
    name = "integrated_gradients"
    title = "Integrated Gradients"
    family = "gradient"
    signed = True
    summary = "Path integral of gradients from a [PAD] baseline to the input (Sundararajan et al. 2017)."
    description = """\
Integrated Gradients (Sundararajan et al., 2017) integrates the gradient of the target class logit
along a straight path from a **baseline** to the input, in the space of word-piece embeddings, and
multiplies by the difference between input and baseline. The baseline replaces every word piece by
`[PAD]` and keeps `[CLS]`/`[SEP]` and the positions, so only the words' identity is explained.
The integral uses Gauss-Legendre quadrature (Captum's default) with the configured number of steps;
each word piece's score is the sum over embedding dimensions, and a word's score is the sum of its
pieces.

**Completeness** says the scores add up to f(input) − f(baseline). The gap, the *convergence delta*,
is reported for every example: a delta that is large relative to f(input) − f(baseline) means the
integral was not resolved and the highlights should not be trusted as they are.
"""

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter, cfg = ctx.adapter, ctx.config
        steps = cfg.ig_steps
        nodes, weights = gauss_legendre(steps)
        alpha = torch.tensor(nodes, dtype=torch.float32, device=adapter.device)
        weight = torch.tensor(weights, dtype=torch.float32, device=adapter.device)
        pad_id = adapter.tokenizer.pad_token_id if adapter.tokenizer.pad_token_id is not None else 0
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("Integrated Gradients", len(ctx.encoded))
        # Examples of equal length share one batch, so there is no padding at all.
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, ex in enumerate(ctx.encoded):
            by_length[ex.length].append(i)
        for length in sorted(by_length):
            group = by_length[length]
            per_batch = max(1, cfg.batch_tokens // (steps * length))
            for start in range(0, len(group), per_batch):
                chunk = group[start : start + per_batch]
                for i, out in zip(chunk, self._chunk(ctx, chunk, alpha, weight, pad_id)):
                    outputs[i] = out
                bar.update(len(chunk))
        bar.close()
        return outputs  # type: ignore[return-value]

    def _chunk(self, ctx, chunk, alpha, weight, pad_id) -> list[MethodOutput]:
        """IG for examples of one length; the steps run in slices of at most batch_tokens tokens."""
        adapter = ctx.adapter
        device = adapter.device
        k, steps, length = len(chunk), alpha.shape[0], ctx.encoded[chunk[0]].length
        ids = torch.tensor([ctx.encoded[i].input_ids for i in chunk], device=device)
        special = torch.tensor([ctx.encoded[i].special_mask for i in chunk], device=device)
        base_ids = torch.where(special, ids, torch.full_like(ids, pad_id))
        x, x0 = adapter.embed(ids), adapter.embed(base_ids)  # [k, seq, hidden]
        diff = x - x0
        target = torch.tensor([ctx.targets[i] for i in chunk], device=device)
        types = self._types(ctx, chunk, device)
        total = torch.zeros_like(x)
        per_slice = max(1, ctx.config.batch_tokens // (k * length))
        for start in range(0, steps, per_slice):
            a, w = alpha[start : start + per_slice], weight[start : start + per_slice]
            path = (x0[:, None] + a[None, :, None, None] * diff[:, None]).reshape(-1, *x.shape[1:])
            path.requires_grad_(True)
            rows = a.shape[0]
            mask = torch.ones(path.shape[:2], dtype=torch.long, device=device)
            logits = adapter.logits_from_embeddings(
                path, mask, None if types is None else types.repeat_interleave(rows, dim=0)
            ).view(k, rows, -1)
            chosen = logits.gather(2, target.view(k, 1, 1).expand(k, rows, 1))
            (grads,) = torch.autograd.grad(chosen.sum(), path)
            total += (grads.view(k, rows, *x.shape[1:]) * w[None, :, None, None]).sum(1)
        with torch.no_grad():  # f(baseline), for the convergence delta: one row per example, no backward
            mask = torch.ones(x0.shape[:2], dtype=torch.long, device=device)
            f_base = adapter.logits_from_embeddings(x0, mask, types).gather(1, target[:, None])[:, 0]
        scores = (total * diff).sum(-1).detach().cpu().numpy()  # [k, seq]
        f_base = f_base.cpu().numpy()
        return [self._output(ctx, i, scores[j], float(f_base[j]), steps) for j, i in enumerate(chunk)]

    @staticmethod
    def _types(ctx, chunk, device):
        if ctx.encoded[chunk[0]].token_type_ids is None:
            return None
        return torch.tensor([ctx.encoded[i].token_type_ids for i in chunk], device=device)

    @staticmethod
    def _output(ctx, i, scores: np.ndarray, f_base: float, steps: int) -> MethodOutput:
        f_input = float(ctx.target_logits[i])
        gap = f_input - f_base
        delta = float(scores.sum()) - gap
        relative = abs(delta) / abs(gap) if abs(gap) > 1e-12 else float("inf") if delta else 0.0
        return MethodOutput(
            token_scores=scores.astype(np.float32),
            info={"delta": delta, "relative_delta": relative, "f_input": f_input, "f_baseline": f_base,
                  "steps": steps},
        )
