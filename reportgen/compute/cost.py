"""What each method costs, counted rather than timed.

Seconds depend on the machine, on what else it runs and on the cache, so they cannot go on a site that must be
the same bytes wherever and however it is built. The arithmetic a method asks of the model can: torch's FLOP
formulas add up every matrix product (forward and backward) while the method explains a fixed sample, the first
COST_EXAMPLES readable examples, and the page states it in forward passes of the same examples. Elementwise
work is not counted, so a method made of many small elementwise steps (the decomposition methods) takes longer
than its count says; benchmarks/one_pass.py measures the seconds."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from reportgen.compute.cache import ChunkCache, key_of
from reportgen.compute.encode import EncodedExample
from reportgen.compute.methods.base import AttributionMethod, MethodContext, padded_batch
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.models.crossfit import ProbeGroup
from reportgen.progress import quiet

COST_EXAMPLES = 8


def counted_costs(
    adapter: ModelAdapter,
    methods: Sequence[AttributionMethod],
    encoded: Sequence[EncodedExample],
    targets: Sequence[int],
    target_logits: Sequence[float],
    attentions: Sequence[Any],
    groups: Sequence[ProbeGroup],  # restricted to the sample: which probe each example goes through
    ccfg: ComputeConfig,
    cache: ChunkCache,
    key: dict[str, Any],  # what the counts depend on besides the methods' settings (weights, code, examples)
    progress: Callable[[str, int], Any] = quiet,
) -> Optional[dict[str, Any]]:
    """{"examples", "forward_flops" (one forward pass per example), "relative_to" (the first method with a
    completeness check and a count: Integrated Gradients by default, or None), "methods": {name: {"flops",
    "forward_passes", "share" (of relative_to's count)}}}, per example; cached like a chunk's parts. None without
    examples."""
    if not encoded:
        return None
    entry = key_of({**key, "kind": "cost", "methods": {m.name: m.key(ccfg) for m in methods}})
    stored = cache.get("cost", entry, parse=_counted)
    if stored is not None:
        return stored
    n = len(encoded)
    forward = _forward_flops(adapter, encoded) / n
    per_method = {}
    bar = progress("Counting each method's arithmetic", len(methods))
    for method in methods:
        flops = 0
        for group in groups:
            ctx = MethodContext(adapter, [encoded[i] for i in group.indices], [targets[i] for i in group.indices],
                                [target_logits[i] for i in group.indices], [attentions[i] for i in group.indices],
                                ccfg, quiet)
            with adapter.using(group.probe), MatmulFlops() as counter:
                method.attribute(ctx)
            flops += counter.total
        per_method[method.name] = {"flops": flops / n, "forward_passes": flops / n / forward if forward else None}
        bar.update(1)
    bar.close()
    anchor = next((m.name for m in methods if m.completeness and per_method[m.name]["flops"]), None)
    for counted in per_method.values():
        counted["share"] = counted["flops"] / per_method[anchor]["flops"] if anchor else None
    result = {"examples": n, "forward_flops": forward, "relative_to": anchor, "methods": per_method}
    cache.put("cost", entry, json.dumps(result, sort_keys=True).encode("utf-8"))
    return result


def _counted(data: bytes) -> dict[str, Any]:
    """A cached count, checked: every method's entry is there (a tampered cache is recomputed, not trusted)."""
    result = json.loads(data)
    if not isinstance(result, dict) or not isinstance(result.get("methods"), dict) or "examples" not in result:
        raise ValueError("not a counted cost")
    return result


def _forward_flops(adapter: ModelAdapter, encoded: Sequence[EncodedExample]) -> int:
    """One plain forward pass (no attention maps) of each example alone: no padding is counted."""
    with torch.no_grad(), MatmulFlops() as counter:
        for k in range(len(encoded)):
            ids, mask, types = padded_batch(encoded, [k], adapter.device)
            adapter.forward(ids, mask, types, attentions=False)
    return counter.total


class MatmulFlops(TorchDispatchMode):
    """torch's FLOP formulas (torch.utils.flop_counter), without FlopCounterMode's per-module tracking: its module
    hooks break autograd.grad on some encoders (DistilBERT's embeddings). An op without a formula is decomposed,
    as FlopCounterMode does, so a fused attention kernel is counted as its matrix products."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        formula = flop_registry.get(func._overloadpacket)
        if formula is None and func is not torch.ops.prim.device.default:
            with self:
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out
