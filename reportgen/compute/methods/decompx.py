"""DecompX (Modarressi et al., ACL 2023): each token's representation is kept as one vector per input token and
propagated through every layer and the classifier, so a word's score is its share of the target logit."""

from __future__ import annotations

from typing import Optional

import torch

from reportgen.bundle.reasons import Reason
from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.bert_layout import (
    bert_layout,
    feed_forward,
    layout_problem,
    self_attention,
    square_batches,
)
from reportgen.i18n import N_

EPS = 1e-12  # the reference implementation's guard in every ratio and normalisation
# Elements of the largest intermediate tensor (positions x sources x FFN width) built at once: bounds memory on
# long inputs, where one example's decomposition is seq^2 vectors.
FFN_BLOCK_ELEMENTS = 1 << 24


@METHODS.register("decompx")
class DecompX(AttributionMethod):
    title = N_("DecompX")
    plain = N_("The answer split into one share per word, carried through every layer and the classifier.")
    family = "decomposition"
    signed = True
    summary = N_("Token decomposition propagated through every layer and the classifier (Modarressi et al. 2023).")
    description = N_("""\
DecompX (Modarressi et al., ACL 2023) keeps every token's representation as a sum of one vector per input
token and carries that decomposition through the whole model in one pass: the attention mixing (with the
attention weights of the actual input), both residual connections, both LayerNorms (each component
centred and scaled by the standard deviation of the whole vector), the feed-forward network (its GELU
replaced, per unit, by the ratio GELU(a)/a at the actual pre-activation a, so the decomposition adds up
exactly) and the classification head: the pooler and classifier of a model's own head, or the mean pool
and linear probe fitted here. Every bias is shared out among the token vectors in proportion to the
absolute dot product of each with the bias (the authors' default). A word's score is its share of the
target logit: the shares of all word pieces and special tokens add up to the logit. It needs the BERT
layout (post-LayerNorm blocks with a self-attention, an intermediate and an output module); other
architectures are refused with the reason. Its cost grows with the square of the text's length, since
each of n tokens carries n vectors through every layer.
""")

    @classmethod
    def does_not_apply(cls, adapter) -> Optional[Reason]:
        return layout_problem(adapter, head=True)

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        layout = bert_layout(ctx.adapter, self.name, head=True)
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("DecompX", len(ctx.encoded))
        for batch, ids, types in square_batches(ctx):
            with torch.no_grad():
                shares = logit_shares(ctx.adapter, layout, ids, types)  # [k, seq, classes]
            for j, i in enumerate(batch):
                scores = shares[j, :, ctx.targets[i]].float().cpu().numpy()
                # The shares add up to the logit by construction; "sum" beside "logit" shows it per example.
                outputs[i] = MethodOutput(scores, {"sum": float(scores.sum()), "logit": float(ctx.target_logits[i])})
            bar.update(len(batch))
        bar.close()
        return outputs  # type: ignore[return-value]


def logit_shares(adapter, layout, ids: torch.Tensor, types) -> torch.Tensor:
    """float[k, seq, classes]: each input token's share of every logit, for k unpadded inputs of one length."""
    hidden = layout.embeddings(ids, types)
    components = None  # the first layer starts from each token's own embedding (its value bias included)
    for layer in layout.blocks:
        hidden, components = _layer(layer, hidden, components)
    if adapter.head.own:
        dense = layout.base.pooler.dense
        pre = dense(hidden[:, 0])
        pooled = _share_bias(torch.einsum("ld,bkd->bkl", dense.weight, components[:, 0]), dense.bias)
        pooled = pooled * (torch.tanh(pre) / (pre + EPS)).unsqueeze(1)  # tanh as the ratio at its input
        classifier = adapter.model.classifier
        return _share_bias(torch.einsum("ld,bkd->bkl", classifier.weight, pooled), classifier.bias)
    # A probe on the mean over positions (no padding here): the mean of each source's vectors, then the probe.
    linear = adapter.probe.linear
    mean = components.mean(dim=1)
    return _share_bias(torch.einsum("ld,bkd->bkl", linear.weight, mean), linear.bias)


def _layer(layer, hidden: torch.Tensor, components):
    batch, seq, width = hidden.shape
    heads = layer.attention.self.num_attention_heads
    size = width // heads
    probs, value, context = self_attention(layer, hidden)
    attention = layer.attention.self
    out = layer.attention.output
    pre_ln1 = out.dense(context) + hidden
    hidden1 = out.LayerNorm(pre_ln1)
    mixing = out.dense.weight.view(width, heads, size)  # W_O, split by head
    if components is None:
        # First layer: token j's whole value vector (bias included) is its own contribution.
        transformed = torch.einsum("bhjv,dhv->bhjd", value, mixing)
        mixed = torch.einsum("bhij,bhjd->bijd", probs, transformed)
        residual = mixed + torch.diag_embed(hidden.transpose(1, 2)).permute(0, 2, 3, 1)  # [b, i, k=i, d]
        bias = out.dense.bias
    else:
        values = torch.einsum("bjkd,vd->bjkv", components, attention.value.weight).view(batch, seq, seq, heads, size)
        mixed = torch.einsum("bhij,bjkhv->bikhv", probs, values)
        residual = torch.einsum("bikhv,dhv->bikd", mixed, mixing) + components
        bias = out.dense.weight @ attention.value.bias + out.dense.bias
    components = _layer_norm(_share_bias(residual, bias), pre_ln1, out.LayerNorm)

    intermediate, output = layer.intermediate, layer.output
    pre_act, act, pre_ln2, hidden2 = feed_forward(layer, hidden1)
    ratio = act / (pre_act + EPS)  # the activation as a per-unit gain at the actual input ("zero-origin")
    block = max(1, FFN_BLOCK_ELEMENTS // max(1, batch * seq * pre_act.shape[-1]))
    ffn = torch.empty_like(components)
    for start in range(0, seq, block):
        rows = slice(start, start + block)
        inner = _share_bias(torch.einsum("ld,bikd->bikl", intermediate.dense.weight, components[:, rows]),
                            intermediate.dense.bias)
        inner = inner * ratio[:, rows].unsqueeze(2)
        ffn[:, rows] = _share_bias(torch.einsum("bikl,dl->bikd", inner, output.dense.weight), output.dense.bias)
    components = _layer_norm(components + ffn, pre_ln2, output.LayerNorm)
    return hidden2, components


def _share_bias(components: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Add a bias to a sum of components, shared out in proportion to |component . bias| ("absdot")."""
    weights = torch.abs(components @ bias)
    weights = weights / (weights.sum(-1, keepdim=True) + EPS)
    return components + weights.unsqueeze(-1) * bias


def _layer_norm(components: torch.Tensor, total: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    """LayerNorm of a sum, per component: each centred on its own mean and divided by the whole vector's
    standard deviation (the whole sum's, measured on the actual input); gamma scales, beta is shared out."""
    variance = (total - total.mean(-1, keepdim=True)).pow(2).mean(-1, keepdim=True).unsqueeze(2)
    centred = components - components.mean(-1, keepdim=True)
    return _share_bias(centred / torch.sqrt(variance + norm.eps) * norm.weight, norm.bias)
