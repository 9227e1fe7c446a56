"""Layer-wise relevance propagation in one backward pass: the model's own forward pass, with its nonlinear steps
given the LRP rules' gradients, so that Gradient x Input at the word-piece embeddings is the relevance the rules
propagate (the "Gradient*Input framework" of Achtibat et al. 2024). Shared by AttnLRP and CP-LRP; not a method:
nothing here registers.

Every forward value is the model's own (each rule changes only what flows backwards), so the logits are the
model's; only the gradient differs:
- LayerNorm: its standard deviation is a constant (the identity rule on normalisation; Ali et al. 2022's LN-rule);
- the feed-forward activation and the head's (the pooler's tanh): the gradient is the ratio act(a)/a at the
  actual input a (the identity rule: relevance passes through an element-wise function unchanged);
- a gated feed-forward (ModernBERT's GLU, act(a) x gate): each factor gets half the relevance;
- attention: "uniform" halves the relevance at both products of two activations (queries x keys, weights x
  values: AttnLRP's uniform rule, the softmax keeping its own gradient), "stop" lets none through the queries and
  keys (the attention weights are constants: CP-LRP's AH-rule).

Where each goes in a family's model is data in the architecture table (models/architecture.py RulePlaces): the
same code serves every family whose attention runs through transformers' attention interface."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np
import torch
from torch import nn

from reportgen.bundle.reasons import Reason
from reportgen.compute.methods.base import MethodContext, MethodOutput
from reportgen.compute.methods.gradients import target_gradients
from reportgen.models.architecture import module_at

EPSILON = 1e-10  # the reference implementation's guard in the identity rule's ratio
ATTENTION_RULES = ("uniform", "stop")


def rules_problem(adapter) -> Optional[Reason]:
    """Why the rules cannot be placed in this model, or None: the architecture table must say where they go, and
    every place it names must be there (a feed-forward activation as a module in each block; a head's)."""
    places = adapter.architecture.rules
    architecture = adapter.details.architecture
    if places is None:
        return Reason("rules_not_placed", {"architecture": architecture})
    if not all(isinstance(module_at(block, places.activation), nn.Module) for block in _blocks(adapter)):
        return Reason("activation_not_module", {"architecture": architecture})
    if adapter.head.own and _head_places(adapter, places) is None:
        return Reason("head_not_in_table", {"architecture": architecture})
    return None


def _blocks(adapter) -> list[nn.Module]:
    """Every distinct block module (one serves every layer in ALBERT)."""
    layers = adapter.architecture.layers
    found = module_at(adapter.model.base_model, layers) if layers else None
    return list(found) if isinstance(found, (nn.ModuleList, list)) and len(found) else []


def _head_places(adapter, places) -> Optional[list[nn.Module]]:
    """The own head's modules the table names (activation, or the two Linears around an inline one), or None
    when one is missing."""
    model = adapter.model
    paths = ([places.head_activation.format(base=model.base_model_prefix)] if places.head_activation else []) + \
        list(places.head_between or ())
    found = [module_at(model, path) for path in paths]
    return found if all(isinstance(f, nn.Module) for f in found) else None


def scaled_gradient(x: torch.Tensor, factor: float) -> torch.Tensor:
    """x itself, whose gradient is divided by factor (exactly x forwards: x - x.detach() is zero)."""
    return x.detach() + (x - x.detach()) / factor


def _attention(rule: str, inner):
    def attention(module, query, key, value, *args, **kwargs):
        if rule == "stop":
            query, key = query.detach(), key.detach()
        else:  # the uniform rule at weights x values (1/2) and, inside the weights, at queries x keys (1/4)
            query, key, value = scaled_gradient(query, 4), scaled_gradient(key, 4), scaled_gradient(value, 2)
        return inner(module, query, key, value, *args, **kwargs)
    return attention


def _layer_norm(module: nn.LayerNorm, args, output):
    x = args[0]
    centred = x - x.mean(-1, keepdim=True)
    std = torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + module.eps).detach()
    y = centred / std
    if module.weight is not None:
        y = y * module.weight
    if module.bias is not None:
        y = y + module.bias
    return y


def _identity_rule(module, args, output):
    x = args[0]
    ratio = (output / (x + EPSILON)).detach()
    return output.detach() + ratio * (x - x.detach())


def _halved(module, args, output):
    """Both factors of a gated product come out of this Linear: each gets half the gradient."""
    return scaled_gradient(output, 2)


def _between(first: nn.Module, second: nn.Module) -> list:
    """The identity rule for a function applied inline between two modules: second's input act(a) is given the
    gradient act(a)/a with respect to first's output a."""
    kept: dict[str, torch.Tensor] = {}

    def keep(module, args, output):
        kept["a"] = output

    def rule(module, args):
        y, a = args[0], kept.pop("a")
        return (y.detach() + (y / (a + EPSILON)).detach() * (a - a.detach()), *args[1:])

    return [first.register_forward_hook(keep), second.register_forward_pre_hook(rule)]


@contextmanager
def relevance_rules(adapter, attention_rule: str) -> Iterator[None]:
    """The adapter's model with the rules in place for the duration (hooks and an attention function), restored
    afterwards even on error."""
    if attention_rule not in ATTENTION_RULES:
        raise ValueError(f"attention rule {attention_rule!r}; one of {ATTENTION_RULES}")
    # Here, not at import: `reportgen methods` imports every method and should not load transformers' internals.
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    model = adapter.model
    original = adapter.details.attn_implementation
    inner = "sdpa" if original not in ALL_ATTENTION_FUNCTIONS else original
    name = f"reportgen_lrp_{attention_rule}_{inner}"
    AttentionInterface.register(name, _attention(attention_rule, ALL_ATTENTION_FUNCTIONS[inner]))
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS[inner])
    places = adapter.architecture.rules
    handles = [m.register_forward_hook(_layer_norm) for m in model.modules() if isinstance(m, nn.LayerNorm)]
    blocks = _blocks(adapter)
    activations = [module_at(block, places.activation) for block in blocks]
    if places.gate:
        handles += [module_at(block, places.gate).register_forward_hook(_halved) for block in blocks]
    if adapter.head.own:
        head = _head_places(adapter, places)
        if places.head_activation:
            activations.append(head[0])
        if places.head_between:
            handles += _between(*head[-2:])
    handles += [m.register_forward_hook(_identity_rule) for m in activations]
    model.set_attn_implementation(name)
    try:
        yield
    finally:
        model.set_attn_implementation(original)
        for handle in handles:
            handle.remove()


def relevance(ctx: MethodContext, attention_rule: str, title: str) -> list[MethodOutput]:
    """Per example: Gradient x Input at the word-piece embeddings under the rules, with the relevance's sum beside
    the target logit (they differ by what the biases and position embeddings absorb)."""
    outputs: list = [None] * len(ctx.encoded)
    with relevance_rules(ctx.adapter, attention_rule):
        for i, grads, x in target_gradients(ctx, title):
            own = (grads * x).sum(-1).astype(np.float32)
            outputs[i] = MethodOutput(own, {"sum": float(own.sum()), "logit": float(ctx.target_logits[i])})
    return outputs
