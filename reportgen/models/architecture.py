"""What reportgen knows about each encoder family, in one table: where its blocks are, which Linear mixes its
heads, whether its blocks are BERT's, how its attention reaches. compute/ asks the adapter, which reads this
table; no other module names an architecture or a module path inside a model.

A family that is not in the table (custom code, a new model type) is explained with what needs no knowledge of
its insides (gradients, perturbations, attention maps); what needs its layout says in one sentence that it
does not apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from torch import nn

from reportgen.bundle.reasons import BlockDifference

# The modules of a post-LayerNorm BERT block, which the decomposition methods read (checked on the model before
# they run): self-attention, its output projection and LayerNorm, the feed-forward pair and its LayerNorm.
BERT_BLOCK_PARTS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


@dataclass(frozen=True)
class RulePlaces:
    """Where the LRP rules go in a family's model (compute/methods/lrp_rules.py), as data: every LayerNorm is
    found by its type, the attention products through transformers' attention interface; the rest is here."""

    activation: str  # in a block: the feed-forward activation module (the identity rule)
    # In a block: the Linear whose output a gated feed-forward splits into two factors and multiplies (ModernBERT's
    # GLU): each factor gets half the relevance (the uniform rule at a product of two activations).
    gate: Optional[str] = None
    # The own head's nonlinearity (the identity rule): a module under the model ("{base}": the base model's
    # attribute), or a function applied between two Linears (RoBERTa's tanh). A ReLU needs neither: its gradient
    # already is the rule's ratio relu(a)/a (DistilBERT's head).
    head_activation: Optional[str] = None
    head_between: Optional[tuple[str, str]] = None


@dataclass(frozen=True)
class Architecture:
    family: str  # the name a page uses
    model_types: tuple[str, ...]  # transformers' config.model_type values
    layers: Optional[str]  # under the base model: the ModuleList of transformer blocks, bottom to top
    output_projection: Optional[str]  # inside a block: the Linear whose input is the heads side by side
    # Post-LayerNorm BERT blocks (attention.self.query/key/value, attention.output.dense/LayerNorm,
    # intermediate.dense, output.dense/LayerNorm) after absolute position embeddings: what the decomposition
    # methods (DecompX, ALTI, value zeroing) trace. None: they can; otherwise how they differ, a code that render
    # words (bundle/reasons.py BlockDifference).
    not_bert_blocks: Optional[BlockDifference] = None
    # One block's weights reused by every layer (ALBERT): a layer cannot be randomised or pruned on its own.
    shared_layers: bool = False
    attention: str = "full"  # "full" or "local": some layers attend only within a window
    # Where the LRP rules go (AttnLRP, CP-LRP); None: attention outside transformers' attention interface (DeBERTa's
    # disentangled terms, MPNet's relative bias), where the rule at the attention products cannot be placed.
    rules: Optional[RulePlaces] = None


ARCHITECTURES = (
    Architecture("BERT", ("bert",), "encoder.layer", "attention.output.dense",
                 rules=RulePlaces("intermediate.intermediate_act_fn", head_activation="{base}.pooler.activation")),
    Architecture("RoBERTa", ("roberta", "xlm-roberta", "camembert"), "encoder.layer", "attention.output.dense",
                 rules=RulePlaces("intermediate.intermediate_act_fn",
                                  head_between=("classifier.dense", "classifier.out_proj"))),
    Architecture("ELECTRA", ("electra",), "encoder.layer", "attention.output.dense",
                 not_bert_blocks="projected_embeddings",
                 rules=RulePlaces("intermediate.intermediate_act_fn", head_activation="classifier.activation")),
    Architecture("DistilBERT", ("distilbert",), "transformer.layer", "attention.out_lin",
                 not_bert_blocks="module_names",
                 rules=RulePlaces("ffn.activation")),
    Architecture("ALBERT", ("albert",), "encoder.albert_layer_groups.0.albert_layers", "attention.dense",
                 not_bert_blocks="shared_block",
                 shared_layers=True,
                 rules=RulePlaces("activation", head_activation="{base}.pooler_activation")),
    Architecture("DeBERTa", ("deberta", "deberta-v2"), "encoder.layer", "attention.output.dense",
                 not_bert_blocks="relative_terms"),
    Architecture("MPNet", ("mpnet",), "encoder.layer", "attention.attn.o",
                 not_bert_blocks="relative_bias"),
    Architecture("ModernBERT", ("modernbert",), "layers", "attn.Wo",
                 not_bert_blocks="rotary_local",
                 attention="local",
                 rules=RulePlaces("mlp.act", gate="mlp.Wi", head_activation="head.act")),
)
_BY_TYPE = {t: a for a in ARCHITECTURES for t in a.model_types}


def architecture_of(config: Any) -> Architecture:
    """The table's row for this config, or a row that knows nothing of the model's insides."""
    model_type = getattr(config, "model_type", None)
    known = _BY_TYPE.get(model_type)
    if known is None:
        return Architecture(str(model_type), (str(model_type),), None, None,
                            not_bert_blocks="not_in_table")
    if known.family == "BERT" and getattr(config, "position_embedding_type", "absolute") != "absolute":
        return Architecture(known.family, known.model_types, known.layers, known.output_projection,
                            not_bert_blocks="relative_positions")  # and no rules: its attention adds position terms
    return known


def readout_of(config: Any, has_head: bool) -> str:
    """Where the prediction reads the last layer: "first" (the first token, as the classification heads of this
    table do, or "mean" where a head pools every position), or "mean" for the probe fitted on a bare encoder."""
    if not has_head:
        return "mean"
    return "mean" if getattr(config, "classifier_pooling", "cls") == "mean" else "first"


def module_at(root: nn.Module, path: str) -> Optional[Any]:
    node: Any = root
    for part in path.split("."):
        node = getattr(node, part, None) if not part.isdigit() else _item(node, int(part))
        if node is None:
            return None
    return node


def _item(node: Any, k: int) -> Optional[Any]:
    try:
        return node[k]
    except (TypeError, IndexError, KeyError):
        return None
