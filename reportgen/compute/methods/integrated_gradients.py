"""Integrated Gradients on the word-piece embeddings, batched: all steps of an example in one pass."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Literal, Union

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
    padded_batch,
    pads_across_lengths,
    path_batches,
)
from reportgen.i18n import N_


def gauss_legendre(steps: int) -> tuple[list[float], list[float]]:
    """Nodes in (0, 1) and weights summing to 1 — the same rule as Captum's "gausslegendre" (checked in
    tests), computed here so a build does not import all of captum.attr for two arrays."""
    x, w = np.polynomial.legendre.leggauss(steps)
    return list(0.5 * x + 0.5), list(0.5 * w)


def clenshaw_curtis(intervals: int) -> tuple[list[float], list[float]]:
    """Clenshaw-Curtis rule on [0, 1] with intervals + 1 nodes (endpoints included), intervals even.
    Its nodes are nested: the rule for 2n intervals reuses every node of the rule for n, which is what
    lets the adaptive mode add steps without recomputing the gradients it already has."""
    n = intervals
    j = np.arange(n + 1)
    theta = np.pi * j / n
    weights = np.zeros(n + 1)
    for i in range(n + 1):
        total = 0.0
        for k in range(1, n // 2 + 1):
            b = 1.0 if k == n // 2 else 2.0
            total += b / (4 * k * k - 1) * np.cos(2 * k * theta[i])
        c = 1.0 if i in (0, n) else 2.0
        weights[i] = c / n * (1 - total)
    nodes = (1 - np.cos(theta)) / 2  # from 0 to 1
    return list(nodes), list(weights / 2)  # weights sum to 1 on [0, 1]


ADAPTIVE_LEVELS = (16, 32, 64, 128)  # Clenshaw-Curtis intervals tried in turn


@dataclass(frozen=True)
class IntegratedGradientsOptions:
    # "auto": nested Clenshaw-Curtis rules (17, 33, 65, 129 points) until each example's delta is within
    # tolerance, so easy examples cost few steps and hard ones get more; or a fixed Gauss-Legendre step count.
    steps: Annotated[Union[Literal["auto"], Annotated[int, Strict(), Field(ge=2, le=1000)]],
                     Field(description="'auto' or a whole number from 2 to 1000")] = "auto"
    # steps "auto": |delta| <= this share of |f(input) - f(baseline)|
    tolerance: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.01


@METHODS.register("integrated_gradients")
class IntegratedGradients(AttributionMethod):
    title = N_("Integrated Gradients")
    plain = N_("How much each word moves the answer as the text is faded in from nothing; the words' scores add up "
             "to the whole change, which the page checks.")
    family = "gradient"
    Options = IntegratedGradientsOptions
    settings = ("precision",)
    signed = True
    completeness = Completeness(end="input", steps_option="--ig-steps")
    # Below AttnLRP (3): as faithful on held-out data for a twentieth of the cost (docs/benchmarks.md); it leads
    # where no one-pass decomposition applies, its completeness check saying whether each path was resolved.
    lead = 2
    costly = True
    summary = N_("Path integral of gradients from a [PAD] baseline to the input (Sundararajan et al. 2017).")
    description = N_("""\
Integrated Gradients (Sundararajan et al., 2017) integrates the gradient of the target class logit
along a straight path from a **baseline** to the input, in the space of word-piece embeddings, and
multiplies by the difference between input and baseline. The baseline replaces every word piece by
`[PAD]` and keeps `[CLS]`/`[SEP]` and the positions, so only the words' identity is explained.
With a fixed step count the integral uses Gauss-Legendre quadrature (Captum's default). With adaptive
steps (the default) it uses nested Clenshaw-Curtis rules (17, 33, 65, then 129 points) and stops, per
example, at the first rule whose convergence delta is within the tolerance (1% of
|f(input) − f(baseline)| by default): easy examples get few steps, hard ones more, and every gradient
already computed is reused. Each word piece's score is the sum over embedding dimensions, and a word's
score is the sum of its pieces.

**Completeness** says the scores add up to f(input) − f(baseline). The gap, the *convergence delta*,
is reported for every example: a delta that is large relative to f(input) − f(baseline) means the
integral was not resolved and the highlights should not be trusted as they are.
""")

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        precision = ctx.config.precision
        outputs = self._integrate(ctx, range(len(ctx.encoded)), precision)
        if precision == "fp32":
            return outputs
        # Reduced precision is trusted only where the completeness check passes: every other example is
        # computed again in fp32, so a flagged example is one that float32 could not resolve either.
        threshold = self.convergence_threshold()
        redo = [i for i, out in enumerate(outputs) if not out.info["relative_delta"] <= threshold]
        for out in outputs:
            out.info["precision"] = precision
        for i, out in zip(redo, self._integrate(ctx, redo, "fp32")):
            out.info["precision"] = "fp32"
            out.info["recomputed_from"] = precision
            outputs[i] = out
        return outputs

    def convergence_threshold(self) -> float:
        """The adaptive tolerance when steps are chosen per example, else the fixed-step warning threshold."""
        return self.options.tolerance if self.options.steps == "auto" else super().convergence_threshold()

    def _integrate(self, ctx: MethodContext, indices, precision: str) -> list[MethodOutput]:
        """Outputs of the examples at these indices, in that order."""
        indices = list(indices)
        if self.options.steps == "auto":
            found = self._adaptive(ctx, indices, precision)
        else:
            found = self._fixed(ctx, indices, precision)
        return [found[i] for i in indices]

    def _fixed(self, ctx: MethodContext, indices: list[int], precision: str) -> dict[int, MethodOutput]:
        nodes, weights = gauss_legendre(int(self.options.steps))
        w = np.asarray(weights)
        outputs: dict[int, MethodOutput] = {}
        bar = ctx.progress("Integrated Gradients", len(indices))
        for chunk in self._batches(ctx, indices, len(nodes)):
            terms, f_base = self._terms(ctx, chunk, nodes, precision=precision)
            for j, i in enumerate(chunk):
                scores = terms[j, :, : ctx.encoded[i].length].T @ w
                outputs[i] = self._output(ctx, i, scores, float(f_base[j]), len(nodes), "gauss-legendre")
            bar.update(len(chunk))
        bar.close()
        return outputs

    def _adaptive(self, ctx: MethodContext, indices: list[int], precision: str) -> dict[int, MethodOutput]:
        tolerance = self.options.tolerance
        finest = ADAPTIVE_LEVELS[-1]
        grid, _ = clenshaw_curtis(finest)
        terms: dict[int, np.ndarray] = {}  # example -> float64[finest + 1, seq], rows filled as computed
        f_base: dict[int, float] = {}
        outputs: dict[int, MethodOutput] = {}
        pending = indices
        bar = ctx.progress("Integrated Gradients (adaptive)", len(indices))
        previous = None
        for level in ADAPTIVE_LEVELS:
            stride = finest // level
            rows = list(range(0, finest + 1, stride))
            new_rows = [r for r in rows if previous is None or r % (finest // previous) != 0]
            for chunk in self._batches(ctx, pending, len(new_rows)):
                part, base = self._terms(ctx, chunk, [grid[r] for r in new_rows], precision=precision)
                for j, i in enumerate(chunk):
                    length = ctx.encoded[i].length
                    store = terms.setdefault(i, np.zeros((finest + 1, length)))
                    store[new_rows] = part[j, :, :length]
                    f_base.setdefault(i, float(base[j]))
            _, weights = clenshaw_curtis(level)
            still = []
            for i in pending:
                scores = terms[i][rows].T @ np.asarray(weights)
                out = self._output(ctx, i, scores, f_base[i], level + 1, "clenshaw-curtis (adaptive)")
                if out.info["relative_delta"] <= tolerance or level == ADAPTIVE_LEVELS[-1]:
                    out.info["converged"] = out.info["relative_delta"] <= tolerance
                    outputs[i] = out
                    terms.pop(i)
                    bar.update(1)
                else:
                    still.append(i)
            pending, previous = still, level
        bar.close()
        return outputs

    @staticmethod
    def _batches(ctx, indices, rows_per_example: int):
        pad = pads_across_lengths(ctx.adapter.device)
        return path_batches(ctx.encoded, indices, rows_per_example, ctx.config.batch_tokens, pad)

    def _terms(self, ctx, chunk, alphas, precision="fp32") -> tuple[np.ndarray, np.ndarray]:
        """grad(target logit) . (input - baseline) per word piece at each alpha: float64[k, n_alpha, width]
        (zero past an example's length), and f(baseline) float[k]."""
        x, x0, target, types, mask = self.endpoints(ctx, chunk)
        return integrate_paths(ctx.adapter, x, x0, target, types, alphas, ctx.config.batch_tokens, precision, mask)

    @staticmethod
    def endpoints(ctx, chunk):
        """Input and [PAD]-baseline embeddings (float[k, width, hidden]), targets, token types and attention
        mask of examples right-padded to the longest (width). A padded position holds [PAD] at both ends of
        the path, so it contributes nothing, and the mask hides it from every other position."""
        adapter = ctx.adapter
        device = adapter.device
        pad_id = adapter.pad_id
        ids, mask, types = padded_batch(ctx.encoded, chunk, device)
        keep = torch.zeros(mask.shape, dtype=torch.bool)  # [CLS], [SEP]: kept in the baseline (built on the host,
        for row, i in enumerate(chunk):                   # then one copy to the device)
            keep[row, : ctx.encoded[i].length] = torch.tensor(ctx.encoded[i].special_mask)
        keep = keep.to(device)
        padding = torch.full_like(ids, pad_id)
        ids = torch.where(mask.bool(), ids, padding)
        base_ids = torch.where(keep, ids, padding)
        target = torch.tensor([ctx.targets[i] for i in chunk], device=device)
        return adapter.embed(ids).detach(), adapter.embed(base_ids).detach(), target, types, mask

    @staticmethod
    def _output(ctx, i, scores: np.ndarray, f_base: float, steps: int, rule: str) -> MethodOutput:
        return MethodOutput(scores.astype(np.float32), completeness_check(
            float(scores.sum()), float(ctx.target_logits[i]), f_base, steps, rule))


def integrate_paths(adapter, x, x0, target, types, alphas, batch_tokens: int,
                    precision: str = "fp32", mask=None) -> tuple[np.ndarray, np.ndarray]:
    """For k straight paths x0 -> x (float[k, seq, hidden]): grad(target logit) . (x - x0) per word piece at
    each alpha, float64[k, n_alpha, seq], and f(x0) float[k]. mask (long[k, seq], default all ones) marks the
    real positions of padded paths. Every path's step runs in the same forward pass; the steps run in slices
    of about batch_tokens tokens. precision "bf16"/"fp16" runs the model's passes under autocast (the path,
    the gradients and the products stay float32)."""
    if mask is None:
        mask = torch.ones(x.shape[:2], dtype=torch.long, device=x.device)
    with reduced(device_type=x.device.type, precision=precision):
        return _integrate_paths(adapter, x, x0, target, types, alphas, batch_tokens, mask)


def reduced(device_type: str, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def _integrate_paths(adapter, x, x0, target, types, alphas, batch_tokens: int, mask) -> tuple[np.ndarray, np.ndarray]:
    device = x.device
    k, length = x.shape[0], x.shape[1]
    diff = x - x0
    alpha = torch.tensor(alphas, dtype=torch.float32, device=device)
    out = np.zeros((k, len(alphas), length))
    per_slice = max(1, batch_tokens // (k * length))
    for start in range(0, len(alphas), per_slice):
        a = alpha[start : start + per_slice]
        rows = a.shape[0]
        path = (x0[:, None] + a[None, :, None, None] * diff[:, None]).reshape(-1, *x.shape[1:])
        path.requires_grad_(True)
        logits = adapter.logits_from_embeddings(
            path, mask.repeat_interleave(rows, dim=0), None if types is None else types.repeat_interleave(rows, dim=0)
        ).view(k, rows, -1)
        chosen = logits.gather(2, target.view(k, 1, 1).expand(k, rows, 1))
        (grads,) = torch.autograd.grad(chosen.sum(), path)
        products = (grads.float().view(k, rows, *x.shape[1:]) * diff[:, None]).sum(-1)
        out[:, start : start + rows] = products.detach().cpu().numpy()
    with torch.no_grad():  # f(baseline), for the convergence delta: one row per path, no backward
        f_base = adapter.logits_from_embeddings(x0, mask, types).gather(1, target[:, None])[:, 0]
    return out, f_base.float().cpu().numpy()
