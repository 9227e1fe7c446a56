"""ALTI (Ferrando et al., EMNLP 2022): how much each token contributes to each representation, layer by layer,
measured by distance, then rolled out through the layers."""

from __future__ import annotations

import torch

from reportgen.compute.methods.base import METHODS
from reportgen.compute.methods.bert_layout import LayerMixing, feed_forward, self_attention
from reportgen.i18n import N_


@METHODS.register("alti")
class ALTI(LayerMixing):
    title = N_("ALTI")
    plain = N_("How much of the model's final summary of the text comes from each word, following how the layers mix "
             "the words together.")
    summary = N_("Aggregation of layer-wise token-to-token interactions, by distance (Ferrando et al. 2022).")
    description = N_("""\
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
""")

    @staticmethod
    def layer_matrix(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return layer_contributions(layer, hidden)


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
