"""Head importance (Michel et al. 2019): the gradient of the loss with respect to a head mask, the effect
of ablating each head alone, and accuracy as the least important heads are pruned together.

The gradient takes one forward and one backward pass over the sample; ablating each head takes one pass per head
(layers x heads of them, 72 on a six-layer model) and pruning eleven more, so those two read a seeded part of the
sample (ABLATION_EXAMPLES), which the page states: at 200 examples they were most of a default build's time."""

from __future__ import annotations

import contextlib
import random
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from reportgen.bundle.reasons import Reason
from reportgen.compute.encode import EncodedExample, token_batches
from reportgen.compute.methods.base import padded_batch
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup

PRUNE_FRACTIONS = tuple(k / 10 for k in range(11))
# Examples the ablations and the pruning curve read (a seeded draw from the sample; all of it when smaller): on
# the default model each costs about 0.3 s of a 2-core CPU per ablation pass of 100 examples.
ABLATION_EXAMPLES = 48

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
        return {"skipped": adapter.blocks_problem() or Reason("no_head_projection",
                                                               {"family": adapter.architecture.family})}
    layers, heads = adapter.num_layers, adapter.num_heads
    y = torch.tensor(labels, device=adapter.device)
    every = groups or [ProbeGroup(adapter.probe, list(range(len(encoded))))]
    batches, probes, inputs = _batches(adapter, encoded, every, batch_tokens)

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
    # The ablations and the pruning read a seeded part of the sample, each example through its own probe.
    part = set(range(len(encoded)) if len(encoded) <= ABLATION_EXAMPLES
               else random.Random(0).sample(range(len(encoded)), ABLATION_EXAMPLES))
    batches, probes, inputs = _batches(adapter, encoded, [ProbeGroup(g.probe, [i for i in g.indices if i in part],
                                                                      g.fold) for g in every], batch_tokens)
    n_ablated = len(part)

    def scored(mask: torch.Tensor, k: int) -> np.ndarray:
        """[examples right, summed loss] of batch k under mask."""
        logits = run(mask, k, False).float()
        right = (logits.argmax(-1) == y[batches[k]]).sum()
        return np.array([int(right), float(nn.functional.cross_entropy(logits, y[batches[k]], reduction="sum"))])

    def accuracy_and_loss(mask: torch.Tensor) -> tuple[float, float]:
        totals = sum((scored(mask, k) for k in range(len(batches))), np.zeros(2))
        return totals[0] / n_ablated, totals[1] / n_ablated

    full = torch.ones((layers, heads), device=adapter.device)
    # Removing a head of layer L leaves every layer below L as it was, so each ablation starts from layer L's
    # input, recorded once per batch from the intact pass: about 21 of 36 layer passes on six layers, with the
    # same numbers (the intact pass is the one whose head mask is all ones).
    blocks = adapter.blocks()
    intact = np.zeros(2)
    ablated = np.zeros((layers, heads, 2))
    bar = progress("Head ablation passes (heads x batches)", layers * heads * len(batches))
    for k in range(len(batches)):
        with _recorded_blocks(blocks) as outputs:
            intact += scored(full, k)
        for layer in range(layers):
            with _replayed_below(blocks, layer, outputs):
                for head in range(heads):
                    mask = full.clone()
                    mask[layer, head] = 0
                    ablated[layer, head] += scored(mask, k)
                    bar.update(1)
        del outputs
    bar.close()
    base_accuracy, base_loss = (float(v) for v in intact / n_ablated)
    ablation_accuracy, ablation_loss = (ablated / n_ablated - intact / n_ablated).transpose(2, 0, 1)

    order = np.argsort(gradient.ravel(), kind="stable")  # least important first
    pruning = []
    for fraction in PRUNE_FRACTIONS:
        count = int(round(fraction * layers * heads))
        mask = full.clone().view(-1)
        mask[torch.as_tensor(order[:count].copy(), device=adapter.device)] = 0
        # Removing no head is the intact pass, already scored.
        acc, loss = (base_accuracy, base_loss) if count == 0 else accuracy_and_loss(mask.view(layers, heads))
        pruning.append({"fraction": fraction, "heads_removed": count, "accuracy": acc, "loss": loss})
    return {
        "gradient": gradient.tolist(),
        "ablation_accuracy": ablation_accuracy.tolist(),
        "ablation_loss": ablation_loss.tolist(),
        "accuracy": base_accuracy,
        "loss": base_loss,
        "pruning": pruning,
        "ablation_examples": n_ablated,
    }


def _batches(adapter: ModelAdapter, encoded: Sequence[EncodedExample], groups: Sequence[ProbeGroup],
             batch_tokens: int) -> tuple[list[list[int]], list, list]:
    """The examples' batches (within a probe group), each one's probe, and its inputs padded and embedded once:
    the same inputs serve every pass over them."""
    lengths = [enc.length for enc in encoded]
    batches, probes, inputs = [], [], []
    with torch.no_grad():
        for group in groups:
            for batch in token_batches([lengths[i] for i in group.indices], batch_tokens):
                members = [group.indices[b] for b in batch]
                ids, attn_mask, types = padded_batch(encoded, members, adapter.device)
                batches.append(members)
                probes.append(group.probe)
                inputs.append((adapter.embed(ids), attn_mask, types))
    return batches, probes, inputs


@contextlib.contextmanager
def _recorded_blocks(blocks: Optional[list[nn.Module]]) -> Iterator[list]:
    """What each block returned in the passes run inside (the last pass's, per block), whatever its form."""
    outputs: list = [None] * len(blocks or [])
    handles = []
    for index, block in enumerate(blocks or []):
        def keep(module: nn.Module, args: tuple, output: Any, index: int = index) -> None:
            outputs[index] = output
        handles.append(block.register_forward_hook(keep))
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _replayed_below(blocks: Optional[list[nn.Module]], layer: int, outputs: list) -> Iterator[None]:
    """The blocks below layer hand back their recorded outputs instead of computing them again. Without known
    blocks (a block shared by every layer) nothing is replayed and every pass runs whole."""
    replayed = [] if blocks is None else blocks[:layer]
    # A block may already carry its own forward (a hook library's wrapper): it is put back as it was.
    own = [block.__dict__.get("forward") for block in replayed]
    for index, block in enumerate(replayed):
        block.forward = lambda *args, _output=outputs[index], **kwargs: _output
    try:
        yield
    finally:
        for block, forward in zip(replayed, own):
            if forward is None:
                del block.forward  # the class's forward shows through again
            else:
                block.forward = forward
