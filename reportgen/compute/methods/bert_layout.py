"""What the decomposition methods (DecompX, ALTI, value zeroing) read inside a BERT-layout encoder: the layout
check, one block's self-attention and feed-forward half on the actual input, their batches, and the shared
shape of the context-mixing methods. Not a method: nothing here registers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np
import torch

from reportgen.bundle.reasons import Reason
from reportgen.compute.methods.base import (
    AttributionMethod,
    MethodContext,
    MethodOutput,
    equal_length_chunks,
    padded_batch,
)
from reportgen.errors import ConfigError
from reportgen.models.architecture import BERT_BLOCK_PARTS

# Vectors (positions x sources, or zeroed copies x positions) per token of --batch-tokens: such a vector costs
# about a tenth of what a token costs in a forward/backward pass (one hidden vector in a few live tensors,
# against a token's activations in every layer).
VECTORS_PER_TOKEN = 8


def layout_problem(adapter, head: bool) -> Optional[Reason]:
    """Why a decomposition method cannot read this model, or None when it can: its blocks must be BERT's
    (post-LayerNorm, absolute positions) and, with head, its classification head BERT's pooler + classifier (or a
    probe fitted here)."""
    base = adapter.model.base_model
    blocks = adapter.blocks()
    architecture = adapter.details.architecture
    difference = adapter.architecture.not_bert_blocks
    if not difference and (blocks is None or not all(_has(blocks[0], path) for path in BERT_BLOCK_PARTS)):
        difference = "parts_missing"  # the table's promise, checked
    if difference:
        return Reason("layout_not_bert", {"architecture": architecture, "difference": difference,
                                          "model_type": adapter.architecture.model_types[0]})
    if head and adapter.head.own and not (
            hasattr(adapter.model, "classifier") and getattr(base, "pooler", None) is not None):
        return Reason("head_not_bert", {"architecture": architecture})
    return None


@dataclass(frozen=True)
class BertLayout:
    """What the decomposition methods trace: the base model (its embeddings, and its pooler for a head) and its
    BERT blocks, bottom to top, where the architecture table says they are."""

    base: Any
    blocks: list

    def embeddings(self, ids: torch.Tensor, types: Optional[torch.Tensor]) -> torch.Tensor:
        return self.base.embeddings(input_ids=ids, token_type_ids=types)


def bert_layout(adapter, method: str, head: bool) -> BertLayout:
    """The model as BERT blocks, or a one-line refusal naming what does not fit."""
    problem = layout_problem(adapter, head)
    if problem:
        # build.py leaves such a method out before it runs, with the reason worded; reaching here is an API call.
        raise ConfigError(f"{method} does not apply to this model ({problem.code}: {problem.params}); leave "
                          f"{method} out of its methods")
    return BertLayout(adapter.model.base_model, adapter.blocks())


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


def square_batches(ctx: MethodContext) -> Iterator[tuple[list[int], torch.Tensor, Optional[torch.Tensor]]]:
    """Batches of examples of one length (no padding, so no masked positions to decompose) with their token ids
    and types: each example holds length x length vectors, VECTORS_PER_TOKEN of them per token of the budget."""
    budget = ctx.config.batch_tokens * VECTORS_PER_TOKEN
    for batch in equal_length_chunks(ctx.encoded, range(len(ctx.encoded)), lambda length: length, budget):
        ids, _, types = padded_batch(ctx.encoded, batch, ctx.adapter.device)
        yield batch, ids, types


class LayerMixing(AttributionMethod):
    """A context-mixing method (ALTI, value zeroing): one token-to-token matrix per block, multiplied through the
    layers, read at the token the classifier reads. A subclass defines layer_matrix."""

    family = "decomposition"
    signed = False

    @staticmethod
    def layer_matrix(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's normalised matrix float[k, i, j] (what position i owes token j) and the block's output."""
        raise NotImplementedError

    @classmethod
    def does_not_apply(cls, adapter) -> Optional[Reason]:
        return layout_problem(adapter, head=False)

    @classmethod
    def rollout(cls, layout: BertLayout, ids: torch.Tensor, types: Optional[torch.Tensor]) -> torch.Tensor:
        """float[k, seq, seq]: the layers' matrices multiplied, bottom layer first."""
        hidden = layout.embeddings(ids, types)
        rolled = None
        for layer in layout.blocks:
            matrix, hidden = cls.layer_matrix(layer, hidden)
            rolled = matrix if rolled is None else matrix @ rolled
        return rolled

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        layout = bert_layout(ctx.adapter, self.name, head=False)
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress(self.title, len(ctx.encoded))
        for batch, ids, types in square_batches(ctx):
            with torch.no_grad():
                rows = ctx.adapter.readout_row(self.rollout(layout, ids, types))
            for j, i in enumerate(batch):
                outputs[i] = MethodOutput(rows[j].float().cpu().numpy().astype(np.float32))
            bar.update(len(batch))
        bar.close()
        return outputs  # type: ignore[return-value]
