"""A loaded model is checked before any example is computed: a broken config, head, vocabulary or set of weights
is one line naming the fix, instead of a traceback (or a NaN on every page) after minutes of compute."""

from __future__ import annotations

from typing import Any

import torch

from reportgen.errors import ModelLoadError

# The pages, the confusion matrix and the per-class tables are built for a classifier a reader can take in; a head
# of 100,000 classes would grow a classes x classes table past memory. A stated limit, refused in one line.
MAX_CLASSES = 1000
PROBE_TEXT = "The quick brown fox jumps over the lazy dog."


def check_config(config: Any, name: str) -> None:
    """Before the weights are read: what would make building the model itself fail or divide by zero."""
    heads, layers = getattr(config, "num_attention_heads", None), getattr(config, "num_hidden_layers", None)
    hidden = getattr(config, "hidden_size", None)
    for key, value in (("num_attention_heads", heads), ("num_hidden_layers", layers), ("hidden_size", hidden)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelLoadError(f"model {name!r}: config.json says {key} = {value!r}; an encoder needs at least one "
                                 "(the file is damaged or belongs to another kind of model)")
    if hidden % heads:
        raise ModelLoadError(f"model {name!r}: config.json's hidden_size {hidden} does not split into "
                             f"{heads} attention heads")
    labels = getattr(config, "id2label", None) or {}
    n = int(getattr(config, "num_labels", len(labels)) or 0)
    if n > MAX_CLASSES:
        raise ModelLoadError(f"model {name!r} has {n:,} classes; reportgen explains classifiers of at most "
                             f"{MAX_CLASSES:,} (its per-class tables and confusion matrix grow with the square)")
    if labels and sorted(labels) != list(range(len(labels))):
        ids = sorted(labels)
        raise ModelLoadError(f"model {name!r}: config.json's id2label numbers its classes {_few(ids)}; they must be "
                             f"0 to {len(labels) - 1}, one per output of the head")


def check_loaded(adapter: Any) -> None:
    """After loading, before the examples: the vocabulary fits the embedding, and one plain sentence gives finite
    outputs (broken weights give NaN on every example, and every page would be wrong)."""
    model, tokenizer, name = adapter.model, adapter.tokenizer, adapter.name
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise ModelLoadError(f"model {name!r}: the tokenizer has {len(tokenizer):,} tokens but the embedding only "
                             f"{rows:,} rows, so some words would index past it; the tokenizer belongs to another "
                             "model, or added tokens need model.resize_token_embeddings")
    encoded = tokenizer(PROBE_TEXT, return_tensors="pt")
    ids = encoded["input_ids"].to(adapter.device)
    mask = encoded["attention_mask"].to(adapter.device)
    types = encoded.get("token_type_ids")
    output = adapter.forward(ids, mask, None if types is None else types.to(adapter.device), attentions=False)
    outputs = [("pooled features", output.pooled)]
    if output.logits is not None:
        outputs.append(("logits", output.logits))
        if output.logits.shape[-1] != len(adapter.labels):
            raise ModelLoadError(f"model {name!r}: its head gives {output.logits.shape[-1]} logits but config.json "
                                 f"names {len(adapter.labels)} classes")
    for what, values in outputs:
        if not torch.isfinite(values).all():
            raise ModelLoadError(f"model {name!r} gives NaN or infinite {what} on a plain sentence ({PROBE_TEXT!r}); "
                                 "its weights are damaged (a diverged training run, or a bad conversion)")


def _few(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", ... ({len(values):,} in all)" if len(values) > limit else "")
