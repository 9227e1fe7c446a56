"""Model-parameter randomisation (Adebayo et al. 2018), cascading from the top layer: an explanation
that barely changes when the weights it claims to explain are destroyed is not explaining the model."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from reportgen.compute.encode import EncodedExample
from reportgen.compute.forward import shared_forward
from reportgen.compute.methods.base import AttributionMethod, MethodContext
from reportgen.compute.metrics.agreement import spearman
from reportgen.compute.words import word_scores
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup
from reportgen.progress import quiet

log = logging.getLogger(__name__)
PASS_BELOW = 0.5  # mean rank correlation with the original map once every layer is randomised


def sanity_check(
    adapter: ModelAdapter,
    methods: Sequence[AttributionMethod],
    encoded: Sequence[EncodedExample],
    indices: Sequence[int],
    targets: Sequence[int],
    original: dict[str, Sequence[np.ndarray]],  # method -> token scores of every example
    ctx_template: MethodContext,
    progress: Callable[[str, int], Any],
    groups: Optional[Sequence[ProbeGroup]] = None,
) -> Optional[dict[str, Any]]:
    """groups: which probe each example goes through (cross-fitting); None: the adapter's current head."""
    layers = adapter.blocks()
    if layers is None:
        return {"skipped": adapter.blocks_problem()}  # a Reason; the summary parses it
    checked = [m for m in methods if m.family != "reference"]
    groups = groups or [ProbeGroup(adapter.probe, list(range(len(encoded))))]
    saved = copy.deepcopy(adapter.model.state_dict())
    generator = torch.Generator().manual_seed(ctx_template.config.seed)
    curves: dict[str, list[Optional[float]]] = {m.name: [] for m in checked}
    bar = progress("Sanity check (cascading randomisation)", len(layers))
    try:
        for layer in reversed(layers):  # top layer first, each one stays randomised (cascading)
            _randomise(layer, generator, float(getattr(adapter.model.config, "initializer_range", 0.02)))
            rhos: dict[str, list[Optional[float]]] = {m.name: [] for m in checked}
            for group in groups:  # each example through its own (cross-fitted) probe, as in the report
                mine = [i for i in indices if i in set(group.indices)]
                if not mine:
                    continue
                with adapter.using(group.probe):
                    for name, values in _layer_rhos(adapter, checked, encoded, mine, targets, original,
                                                    ctx_template).items():
                        rhos[name] += values
            for name, values in rhos.items():
                kept = [r for r in values if r is not None]
                # None: no example gave a finite correlation (the map became constant or overflowed).
                curves[name].append(float(np.mean(kept)) if kept else None)
            bar.update(1)
    finally:
        adapter.model.load_state_dict(saved)
        bar.close()
    return {
        "examples": len(indices),
        "threshold": PASS_BELOW,
        "layers": len(layers),
        "methods": {
            # passes None: inconclusive, the randomised map had no finite, non-constant scores to compare.
            name: {"curve": curve, "passes": None if not curve or curve[-1] is None else curve[-1] < PASS_BELOW}
            for name, curve in curves.items()
        },
    }


def _layer_rhos(adapter, checked, encoded, indices, targets, original, ctx_template) -> dict[str, list]:
    """Rank correlation of each method's map on the randomised model with its original map, per example."""
    sub = [encoded[i] for i in indices]
    sub_targets = [targets[i] for i in indices]
    shared = shared_forward(adapter, sub, ctx_template.config, quiet)
    logits, attentions = shared.logits, shared.attentions
    if not adapter.head.own:
        with torch.no_grad():
            logits = adapter.probe(torch.from_numpy(shared.pooled).to(adapter.device)).cpu().numpy()
    ctx = replace(ctx_template, encoded=sub, targets=sub_targets,
                  target_logits=[float(logits[k, t]) for k, t in enumerate(sub_targets)],
                  attentions=attentions, progress=quiet)
    return {method.name: [spearman(np.abs(word_scores(original[method.name][i], encoded[i])),
                                   np.abs(word_scores(out.token_scores, encoded[i])))
                          for i, out in zip(indices, method.attribute(ctx))]
            for method in checked}


def _randomise(layer: nn.Module, generator: torch.Generator, std: float) -> None:
    with torch.no_grad():
        for module in layer.modules():
            if isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:  # ModernBERT's LayerNorms have no bias
                    module.bias.zero_()
