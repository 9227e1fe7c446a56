"""ALTI (Ferrando et al., EMNLP 2022): how much each token contributes to each representation, layer by layer,
measured by distance, then rolled out through the layers."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from reportgen.compute.methods.base import METHODS, AttributionMethod, MethodContext, MethodOutput
from reportgen.compute.methods.bert_layout import (
    bert_layout,
    equal_length_batches,
    feed_forward,
    layout_problem,
    self_attention,
)

# Vectors (positions x sources) per token of --batch-tokens: one layer's vectors are held at a time.
VECTORS_PER_TOKEN = 8


@METHODS.register("alti")
class ALTI(AttributionMethod):
    name = "alti"
    title = "ALTI"
    family = "decomposition"
    signed = False
    summary = "Aggregation of layer-wise token-to-token interactions, by distance (Ferrando et al. 2022)."
    description = """\
ALTI (Ferrando et al., EMNLP 2022) splits the output of each block's attention (after its residual and
LayerNorm) into one vector per input token: the attention-weighted, projected value vector of that token,
plus the residual for the token itself, centred and scaled as the LayerNorm scales the whole. A token's
contribution to a representation is how close its vector lies to that representation, in Manhattan
distance: max(0, ‖y‖₁ − ‖y − T(x)‖₁), normalised over the tokens. The layers' contribution matrices are
multiplied (rollout), and the row of the token the classifier reads is the score: `[CLS]` for a model with
its own head, the mean over all rows for a probe on mean-pooled states. The feed-forward half of each
block is left out, as in the paper. The scores are non-negative and **do not depend on the target class**:
like attention rollout, ALTI says where information came from, not whether it argued for the prediction.
It needs the BERT layout and costs one pass with length² vectors per layer.
"""

    @classmethod
    def does_not_apply(cls, adapter) -> Optional[str]:
        return layout_problem(adapter, head=False)

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        adapter = ctx.adapter
        base = bert_layout(adapter, self.name, head=False)
        outputs: list[MethodOutput | None] = [None] * len(ctx.encoded)
        bar = ctx.progress("ALTI", len(ctx.encoded))
        budget = ctx.config.batch_tokens * VECTORS_PER_TOKEN
        for batch in equal_length_batches(ctx.encoded, budget, lambda length: length * length):
            ids = torch.tensor([ctx.encoded[i].input_ids for i in batch], device=adapter.device)
            types = None
            if ctx.encoded[batch[0]].token_type_ids is not None:
                types = torch.tensor([ctx.encoded[i].token_type_ids for i in batch], device=adapter.device)
            with torch.no_grad():
                rollout = contribution_rollout(base, ids, types)  # [k, seq, seq]
            rows = rollout[:, 0] if adapter.head_kind == "classifier" else rollout.mean(dim=1)
            for j, i in enumerate(batch):
                outputs[i] = MethodOutput(rows[j].float().cpu().numpy().astype(np.float32))
            bar.update(len(batch))
        bar.close()
        return outputs  # type: ignore[return-value]


def contribution_rollout(base, ids: torch.Tensor, types) -> torch.Tensor:
    """float[k, seq, seq]: row i says how much each input token contributed to position i's last layer."""
    hidden = base.embeddings(input_ids=ids, token_type_ids=types)
    rolled = None
    for layer in base.encoder.layer:
        contributions, hidden = layer_contributions(layer, hidden)
        rolled = contributions if rolled is None else contributions @ rolled
    return rolled


def layer_contributions(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One block's normalised contribution matrix float[k, i, j] and its output."""
    batch, seq, width = hidden.shape
    probs, value, context = self_attention(layer, hidden)
    out = layer.attention.output
    heads, size = value.shape[1], value.shape[3]
    transformed = torch.einsum("bhjv,dhv->bhjd", value, out.dense.weight.view(width, heads, size))
    vectors = torch.einsum("bhij,bhjd->bijd", probs, transformed)  # summed over heads: [b, i, j, d]
    vectors = vectors + torch.diag_embed(hidden.transpose(1, 2)).permute(0, 2, 3, 1)  # the residual, j = i
    pre_ln = out.dense(context) + hidden
    # The LayerNorm's scale as the authors' code takes it: one over the standard deviation of the pre-norm vector
    # (their eps is added to the vector, which leaves the deviation as it is), so the scores match theirs.
    scale = 1.0 / pre_ln.std(-1, unbiased=False)  # [b, i]
    gamma = out.LayerNorm.weight

    def centred(v: torch.Tensor) -> torch.Tensor:  # the LayerNorm's linear part: centre, then scale by gamma
        return (v - v.mean(-1, keepdim=True)) * gamma

    parts = centred(vectors) * scale[:, :, None, None]
    resultant = (parts.sum(2) + centred(out.dense.bias) * scale[:, :, None]) + out.LayerNorm.bias  # [b, i, d]
    distance = (parts - resultant.unsqueeze(2)).abs().sum(-1)  # Manhattan, [b, i, j]
    closeness = torch.clamp(resultant.abs().sum(-1, keepdim=True) - distance, min=0)
    contributions = closeness / closeness.sum(-1, keepdim=True)
    hidden1 = out.LayerNorm(pre_ln)
    return contributions, feed_forward(layer, hidden1)[3]
