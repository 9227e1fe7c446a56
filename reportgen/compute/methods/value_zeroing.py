"""Value zeroing (Mohebbi et al., EACL 2023): how much each block's output at a position changes when one token's
value vector is zeroed, rolled out through the layers."""

from __future__ import annotations

import torch

from reportgen.compute.methods.base import METHODS
from reportgen.compute.methods.bert_layout import LayerMixing, feed_forward, self_attention
from reportgen.i18n import N_

# Elements of the feed-forward activations (copies x positions x FFN width) computed at once.
COPY_BLOCK_ELEMENTS = 1 << 24


@METHODS.register("value_zeroing")
class ValueZeroing(LayerMixing):
    title = N_("Value zeroing")
    plain = N_("How much each word's content changes what the layers compute when it is blanked out.")
    costly = True  # one pass per token and layer
    summary = N_("Change in each block's output when one token's value vector is zeroed (Mohebbi et al. 2023).")
    description = N_("""\
Value zeroing (Mohebbi et al., EACL 2023) measures context mixing over the whole block, feed-forward network
included: in each layer, for each token j, the block is run again on its actual input with j's value vector
set to zero in every head (so no position can read j through attention, while j's own residual stays), and
the cosine distance between each position's new and original output is j's share of that position,
normalised over the tokens. The layers' matrices are multiplied (rollout, without an added identity, as in
the paper), and the row of the token the classifier reads is the score: `[CLS]` for a model with its own
head, the mean over rows for a probe on mean-pooled states. The scores are non-negative and **do not depend
on the target class**. It needs the BERT layout and runs each block once per token (length² positions per
layer, in batches).
""")

    @staticmethod
    def layer_matrix(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return zeroing_scores(layer, hidden)


def zeroing_scores(layer, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One block's normalised matrix float[k, i, j] (j's value zeroed, cosine distance at i) and its output."""
    batch, seq, width = hidden.shape
    probs, value, context = self_attention(layer, hidden)
    out = layer.attention.output
    output = feed_forward(layer, out.LayerNorm(out.dense(context) + hidden))[3]
    # Zeroing j's value removes alpha_ij v_j from every position's context: one subtraction per copy, with the
    # attention weights unchanged (queries and keys do not read values).
    # The copies (one per zeroed token j) go through the block in slices, so a long input's length^2 positions
    # never hold the feed-forward width all at once.
    step = max(1, COPY_BLOCK_ELEMENTS // max(1, batch * seq * layer.intermediate.dense.out_features))
    changed = torch.empty(batch, seq, seq, width, dtype=hidden.dtype, device=hidden.device)  # [b, j, i, d]
    for start in range(0, seq, step):
        copies = slice(start, min(seq, start + step))
        removed = torch.einsum("bhij,bhjv->bjihv", probs[..., copies], value[:, :, copies])
        count = removed.shape[1]
        zeroed = (context.unsqueeze(1) - removed.reshape(batch, count, seq, width)).reshape(-1, seq, width)
        repeated = hidden.repeat_interleave(count, dim=0)
        changed[:, copies] = feed_forward(layer, out.LayerNorm(out.dense(zeroed) + repeated))[3].view(
            batch, count, seq, width)
    # Cosine distance as half the squared distance of the unit vectors, in float64: zeroing one value often moves
    # an output by 1e-3 of its length, and 1 - cos of float32 vectors that close is mostly rounding.
    unit = torch.nn.functional.normalize(changed.double(), dim=-1)
    reference = torch.nn.functional.normalize(output.double(), dim=-1).unsqueeze(1)
    distance = 0.5 * (unit - reference).pow(2).sum(-1)  # [b, j, i]
    scores = distance.transpose(1, 2)  # [b, i, j]
    total = scores.sum(-1, keepdim=True)
    # A position no zeroing moves (its block reads nothing through attention) owes everything to itself. "No
    # zeroing moves it" is judged above rounding: the copies run in other batch shapes than the original pass, and
    # on some CPUs the kernels torch picks for them round differently, so an unmoved output can differ from the
    # original in its last bits. That noise is at most about width x eps^2 per copy (the unit vectors' rounding,
    # squared: 1e-15 to 1e-17 measured on a tiny model), far below what one zeroed value does (5e-7 for a move of
    # 1e-3 of the length); normalised, it would be a random row where the identity belongs.
    noise = seq * width * torch.finfo(hidden.dtype).eps ** 2
    own = torch.eye(seq, dtype=scores.dtype, device=scores.device).expand_as(scores)
    normalised = torch.where(total > noise, scores / total.clamp(min=torch.finfo(scores.dtype).tiny), own)
    return normalised, output  # the scores in float64, the output as the model runs
