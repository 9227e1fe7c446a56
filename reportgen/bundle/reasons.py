"""Why something could not run, as data: a code and its parameters. Render words each code
(render/wording.py REASON_WORDS); compute never writes the sentence, so a page in another language, or a
comparison of two reports, can say it."""

from __future__ import annotations

from dataclasses import field
from typing import Literal, Union

from reportgen.bundle.typed import section

ReasonCode = Literal[
    "layout_not_bert",  # the decomposition methods need BERT's blocks: params architecture, difference, model_type
    "head_not_bert",  # ... and BERT's pooler + classifier as the head: params architecture
    "activation_not_module",  # the LRP rules hook the feed-forward activation: params architecture
    "rules_not_placed",  # the architecture table has no place for the LRP rules: params architecture
    "head_not_in_table",  # the LRP rules' places in the own head are not there: params architecture
    "shared_layers",  # one block's weights serve every layer: params family
    "layers_unknown",  # the architecture table does not say where the blocks are: params architecture
    "no_head_projection",  # no per-head output projection to mask: params family
    "too_many_pieces",  # a method's length limit: params size, limit
    "outside_costly_sample",  # a costly method beside a one-pass lead ran on a sample without this example
    "too_few_gold_classes",  # a probe per layer needs gold labels of at least 2 classes
    "no_gold_labels",
    "no_signed_method",  # class words need a signed attribution method
]

# How a family's blocks differ from BERT's (models/architecture.py Architecture.not_bert_blocks): codes a
# reason's "difference" parameter takes.
BlockDifference = Literal[
    "projected_embeddings", "module_names", "shared_block", "relative_terms", "relative_bias", "rotary_local",
    "relative_positions", "parts_missing", "not_in_table",
]


@section
class Reason:
    code: ReasonCode
    params: dict[str, Union[int, str]] = field(default_factory=dict)
