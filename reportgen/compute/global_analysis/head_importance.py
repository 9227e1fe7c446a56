"""Head importance (Michel et al. 2019): the gradient of the loss with respect to a head mask, the effect
of ablating each head alone, and accuracy as the least important heads are pruned together."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from reportgen.compute.encode import EncodedExample, token_batches
from reportgen.compute.methods.base import padded_batch
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup

PRUNE_FRACTIONS = tuple(k / 10 for k in range(11))

@contextlib.contextmanager
def head_mask(adapter: ModelAdapter, mask: torch.Tensor) -> Iterator[None]:
    """Scale each head's output by mask (float[layers, heads], or float[batch, layers, heads]) for the
    duration of the block; 0 removes a head, and a mask that requires grad gives d(loss)/d(mask)."""
    projections = adapter.output_projections()
    if projections is None:
        raise RuntimeError("head_mask() needs one output projection per layer; see output_projections()")
    heads = adapter.num_heads
    handles = []
    for layer, linear in enumerate(projections):
        def scale(module: nn.Module, args: tuple, layer: int = layer) -> tuple:
            x = args[0]
            m = mask[..., layer, :]
            m = m.view(-1, 1, heads, 1) if m.dim() == 2 else m.view(1, 1, heads, 1)
            return ((x.view(*x.shape[:-1], heads, -1) * m.to(x.dtype)).view(x.shape), *args[1:])
        handles.append(linear.register_forward_pre_hook(scale))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def head_importance(
    adapter: ModelAdapter, encoded: Sequence[EncodedExample], labels: Sequence[int], batch_tokens: int,
    progress: Any, groups: Optional[Sequence[ProbeGroup]] = None,
) -> dict[str, Any]:
    """groups: which probe each example goes through (cross-fitting); None: the adapter's current head."""
    if adapter.output_projections() is None:
        why = adapter.blocks_problem() or f"the architecture table has no per-head output projection for " \
            f"{adapter.architecture.family}"
        return {"skipped": why}
    layers, heads = adapter.num_layers, adapter.num_heads
    y = torch.tensor(labels, device=adapter.device)
    lengths = [enc.length for enc in encoded]
    batches, probes = [], []
    for group in groups or [ProbeGroup(adapter.probe, list(range(len(encoded))))]:
        for batch in token_batches([lengths[i] for i in group.indices], batch_tokens):
            batches.append([group.indices[b] for b in batch])
            probes.append(group.probe)
    # The same padded inputs serve all 1 + heads + 11 passes: pad and embed them once.
    inputs = []
    with torch.no_grad():
        for batch in batches:
            ids, attn_mask, types = padded_batch(encoded, batch, adapter.device)
            inputs.append((adapter.embed(ids), attn_mask, types))

    def run(mask: torch.Tensor, k: int, grad: bool) -> torch.Tensor:
        embeddings, attn_mask, types = inputs[k]
        with adapter.using(probes[k]), head_mask(adapter, mask), torch.set_grad_enabled(grad):
            return adapter.logits_from_embeddings(embeddings, attn_mask, types)

    gradient = np.zeros((layers, heads))
    for k, batch in enumerate(batches):  # per-example masks: |gradient| is taken per example as Michel et al. do
        mask = torch.ones((len(batch), layers, heads), device=adapter.device, requires_grad=True)
        loss = nn.functional.cross_entropy(run(mask, k, True).float(), y[batch], reduction="sum")
        (grad,) = torch.autograd.grad(loss, mask)
        gradient += grad.abs().sum(0).cpu().numpy()
    gradient /= len(encoded)

    def accuracy_and_loss(mask: torch.Tensor) -> tuple[float, float]:
        correct, total_loss = 0, 0.0
        for k, batch in enumerate(batches):
            logits = run(mask, k, False).float()
            correct += int((logits.argmax(-1) == y[batch]).sum())
            total_loss += float(nn.functional.cross_entropy(logits, y[batch], reduction="sum"))
        return correct / len(encoded), total_loss / len(encoded)

    full = torch.ones((layers, heads), device=adapter.device)
    base_accuracy, base_loss = accuracy_and_loss(full)
    ablation_accuracy = np.zeros((layers, heads))
    ablation_loss = np.zeros((layers, heads))
    bar = progress("Head ablation", layers * heads)
    for layer in range(layers):
        for head in range(heads):
            mask = full.clone()
            mask[layer, head] = 0
            acc, loss = accuracy_and_loss(mask)
            ablation_accuracy[layer, head] = acc - base_accuracy
            ablation_loss[layer, head] = loss - base_loss
            bar.update(1)
    bar.close()

    order = np.argsort(gradient.ravel(), kind="stable")  # least important first
    pruning = []
    for fraction in PRUNE_FRACTIONS:
        count = int(round(fraction * layers * heads))
        mask = full.clone().view(-1)
        mask[torch.as_tensor(order[:count].copy(), device=adapter.device)] = 0
        acc, loss = accuracy_and_loss(mask.view(layers, heads))
        pruning.append({"fraction": fraction, "heads_removed": count, "accuracy": acc, "loss": loss})
    return {
        "gradient": gradient.tolist(),
        "ablation_accuracy": ablation_accuracy.tolist(),
        "ablation_loss": ablation_loss.tolist(),
        "accuracy": base_accuracy,
        "loss": base_loss,
        "pruning": pruning,
    }
