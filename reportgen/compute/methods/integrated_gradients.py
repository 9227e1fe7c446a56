"""Integrated Gradients on the word-piece embeddings, batched: all steps of an example in one pass."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput


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
        step_sizes, alphas = approximation_parameters("gausslegendre")
        steps = cfg.ig_steps
        alpha = torch.tensor(alphas(steps), dtype=torch.float32, device=adapter.device)
        weight = torch.tensor(step_sizes(steps), dtype=torch.float32, device=adapter.device)
        pad_id = adapter.tokenizer.pad_token_id or 0
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("Integrated Gradients", len(ctx.encoded))
        # Examples of equal length share one batch (no padding at all); one extra row per example is
        # the baseline itself, so f(baseline) costs no separate forward pass.
        rows_per_example = steps + 1
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, ex in enumerate(ctx.encoded):
            by_length[ex.length].append(i)
        for length in sorted(by_length):
            group = by_length[length]
            per_batch = max(1, cfg.batch_tokens // (rows_per_example * length))
            for start in range(0, len(group), per_batch):
                chunk = group[start : start + per_batch]
                if per_batch == 1 and rows_per_example * length > cfg.batch_tokens:
                    results = [self._long_example(ctx, i, alpha, weight, pad_id) for i in chunk]
                else:
                    results = self._batch(ctx, chunk, alpha, weight, pad_id)
                for i, out in zip(chunk, results):
                    outputs[i] = out
                bar.update(len(chunk))
        bar.close()
        return outputs  # type: ignore[return-value]

    def _batch(self, ctx, chunk, alpha, weight, pad_id) -> list[MethodOutput]:
        adapter = ctx.adapter
        device = adapter.device
        steps = alpha.shape[0]
        ids = torch.tensor([ctx.encoded[i].input_ids for i in chunk], device=device)
        special = torch.tensor([ctx.encoded[i].special_mask for i in chunk], device=device)
        base_ids = torch.where(special, ids, torch.full_like(ids, pad_id))
        x, x0 = adapter.embed(ids), adapter.embed(base_ids)  # [k, seq, hidden]
        diff = x - x0
        a = torch.cat([alpha, alpha.new_zeros(1)])  # last row: the baseline
        path = (x0[:, None] + a[None, :, None, None] * diff[:, None]).reshape(-1, *x.shape[1:])
        path.requires_grad_(True)
        k, rows = len(chunk), steps + 1
        mask = torch.ones(path.shape[:2], dtype=torch.long, device=device)
        types = self._types(ctx, chunk, rows, device)
        logits = adapter.logits_from_embeddings(path, mask, types).view(k, rows, -1)
        target = torch.tensor([ctx.targets[i] for i in chunk], device=device)
        chosen = logits.gather(2, target.view(k, 1, 1).expand(k, rows, 1)).squeeze(2)  # [k, rows]
        (grads,) = torch.autograd.grad(chosen[:, :steps].sum(), path)
        grads = grads.view(k, rows, *x.shape[1:])[:, :steps]
        avg = (grads * weight[None, :, None, None]).sum(1)
        scores = (avg * diff).sum(-1).detach().cpu().numpy()  # [k, seq]
        f_base = chosen[:, steps].detach().cpu().numpy()
        return [self._output(ctx, i, scores[j], float(f_base[j]), steps) for j, i in enumerate(chunk)]

    def _long_example(self, ctx, i, alpha, weight, pad_id) -> MethodOutput:
        """An example too long for all steps in one batch: accumulate the steps in slices."""
        adapter, ex = ctx.adapter, ctx.encoded[i]
        device = adapter.device
        ids = torch.tensor([ex.input_ids], device=device)
        special = torch.tensor([ex.special_mask], device=device)
        base_ids = torch.where(special, ids, torch.full_like(ids, pad_id))
        x, x0 = adapter.embed(ids), adapter.embed(base_ids)
        diff = x - x0
        per_slice = max(1, ctx.config.batch_tokens // ex.length)
        total = torch.zeros_like(x)
        target = ctx.targets[i]
        a = torch.cat([alpha, alpha.new_zeros(1)])
        f_base = 0.0
        for start in range(0, a.shape[0], per_slice):
            part = a[start : start + per_slice]
            path = (x0 + part[:, None, None] * diff).requires_grad_(True)
            mask = torch.ones(path.shape[:2], dtype=torch.long, device=device)
            types = self._types(ctx, [i], part.shape[0], device)
            chosen = adapter.logits_from_embeddings(path, mask, types)[:, target]
            n_steps = max(0, min(part.shape[0], alpha.shape[0] - start))  # rows that are integration steps
            if n_steps < part.shape[0]:
                f_base = float(chosen[n_steps])  # the baseline row, alpha = 0
            if n_steps > 0:
                (grads,) = torch.autograd.grad(chosen[:n_steps].sum(), path)
                total += (grads[:n_steps] * weight[start : start + n_steps, None, None]).sum(0, keepdim=True)
        scores = (total * diff).sum(-1)[0].detach().cpu().numpy()
        return self._output(ctx, i, scores, f_base, alpha.shape[0])

    @staticmethod
    def _types(ctx, chunk, rows, device):
        if ctx.encoded[chunk[0]].token_type_ids is None:
            return None
        types = torch.tensor([ctx.encoded[i].token_type_ids for i in chunk], device=device)
        return types.repeat_interleave(rows, dim=0)

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
