"""What the decomposition methods (DecompX, ALTI) read inside a BERT-layout encoder: the layout check and one
block's self-attention on the actual input. Not a method: nothing here registers."""

from __future__ import annotations

from typing import Optional

import torch

from reportgen.errors import ConfigError

NEEDED = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
          "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


def layout_problem(adapter, head: bool) -> Optional[str]:
    """Why a decomposition method cannot read this model, in one sentence, or None when it can: its blocks must
    be BERT's (post-LayerNorm, absolute positions) and, with head, its classification head BERT's pooler +
    classifier (or a probe fitted here)."""
    base = adapter.model.base_model
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    first = layers[0] if layers is not None and len(layers) else None
    has_all = first is not None and all(_has(first, path) for path in NEEDED)
    position = getattr(adapter.model.config, "position_embedding_type", "absolute")
    architecture = adapter.details.get("architecture")
    if not has_all or position != "absolute":
        return f"{architecture} is not laid out like BERT (post-LayerNorm blocks with absolute positions)"
    if head and adapter.head_kind == "classifier" and not (
            hasattr(adapter.model, "classifier") and getattr(base, "pooler", None) is not None):
        return f"the classification head of {architecture} is not BERT's pooler + classifier"
    return None


def bert_layout(adapter, method: str, head: bool):
    """The base model, or a one-line refusal naming what does not fit."""
    problem = layout_problem(adapter, head)
    if problem:
        raise ConfigError(f"{method}: {problem}; leave {method} out of --methods for this model")
    return adapter.model.base_model


def _has(module, path: str) -> bool:
    for name in path.split("."):
        module = getattr(module, name, None)
        if module is None:
            return False
    return True


def self_attention(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One block's attention weights float[b, heads, i, j], value vectors (bias included) float[b, heads, j, size]
    and context float[b, seq, width], for unpadded inputs."""
    attention = layer.attention.self
    batch, seq, width = hidden.shape
    heads = attention.num_attention_heads
    size = width // heads

    def split(t: torch.Tensor) -> torch.Tensor:  # [b, s, d] -> [b, h, s, size]
        return t.view(batch, seq, heads, size).transpose(1, 2)

    query, key, value = split(attention.query(hidden)), split(attention.key(hidden)), split(attention.value(hidden))
    probs = torch.softmax(query @ key.transpose(-1, -2) / size**0.5, dim=-1)
    context = (probs @ value).transpose(1, 2).reshape(batch, seq, width)
    return probs, value, context


def feed_forward(layer, hidden1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The block's feed-forward half: pre-activation, activation, the input of the second LayerNorm and the
    block's output."""
    pre_act = layer.intermediate.dense(hidden1)
    act = layer.intermediate.intermediate_act_fn(pre_act)
    pre_ln2 = layer.output.dense(act) + hidden1
    return pre_act, act, pre_ln2, layer.output.LayerNorm(pre_ln2)


def equal_length_batches(encoded, budget: int, cost) -> list[list[int]]:
    """Example indices grouped by exact length (no padding, so no masked positions to decompose), as many per
    batch as keep cost(length) summed within budget."""
    by_length: dict[int, list[int]] = {}
    for i, enc in enumerate(encoded):
        by_length.setdefault(enc.length, []).append(i)
    batches = []
    for length in sorted(by_length):
        size = max(1, budget // max(1, cost(length)))
        group = by_length[length]
        batches += [group[start : start + size] for start in range(0, len(group), size)]
    return batches
